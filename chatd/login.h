/* What follows a successful login (password or resume): the replies, the
 * bundle, presence. */
#pragma once

#include "chatd/session.h"

G_BEGIN_DECLS

/* Attaches the user (kicking an older connection), sends login_successful,
 * the pending friend requests and then the dialect's bundle (login_bundle
 * with the whole history for seed; session_bundle with a resume token and
 * conversations for v2), and announces the user online. `token` is the
 * resume token to put in the v2 bundle (NULL: issue a new one). */
void chatd_login_complete(ChatdSession *session, ChatdUser *user, const guint8 *token);

/* Stores the SHA-256 of a token into hash. */
void chatd_token_hash(const guint8 *token, gsize len, guint8 hash[32]);

G_END_DECLS
