/* What follows a successful login (password or resume): the replies, the
 * bundle, presence. */
#pragma once

#include "chatd/session.h"

G_BEGIN_DECLS

/* Attaches the user (kicking an older connection), sends login_successful,
 * the pending friend requests and then the dialect's bundle (login_bundle
 * with the whole history for seed; session_bundle with a resume token and
 * conversations for v2), and announces the user online. `token` is the
 * resume token to put in the v2 bundle, already stored (NULL: issue a new
 * one). */
void chatd_login_complete(ChatdSession *session, ChatdUser *user, const guint8 *token);

G_END_DECLS
