/* Resume tokens at the server: issued at a password login, replaced at
 * every resume, revoked by logout and password changes, capped per account
 * and expired after server.resume_token_days. Each change is written to the
 * database first and reaches the in-memory table (server->tokens,
 * chatd/resume-tokens.h) once it has committed. Main thread. */
#pragma once

#include "chatd/session.h"

G_BEGIN_DECLS

/* Length of a resume token, and of its SHA-256. */
#define CHATD_TOKEN_LEN 32

/* At most this many live tokens per account (one per device or script that
 * stays logged in); a login past it revokes the oldest. */
#define CHATD_RESUME_TOKENS_PER_USER 16

/* How often expired tokens are swept from memory and the database. */
#define CHATD_TOKEN_SWEEP_INTERVAL_S 3600

/* Stores the SHA-256 of a token into hash. */
void chatd_token_hash(const guint8 *token, gsize len, guint8 hash[CHATD_TOKEN_LEN]);

/* A new token for a password login: fills token (FALSE when the system has
 * no randomness to give) and stores its hash; it is usable once committed,
 * which is before any completion submitted after this call. Revokes the
 * account's oldest tokens past CHATD_RESUME_TOKENS_PER_USER. */
gboolean chatd_tokens_issue(ChatdServer *server, gint64 user_id, guint8 token[CHATD_TOKEN_LEN]);

/* Answers a `resume` whose token (hash) is live for user: replaces it with a
 * new token in the database, then completes the login with the new one. The
 * old token stops working at once, even before the commit; if the write
 * fails, it works again and the peer is told to retry. */
void chatd_tokens_resume(ChatdSession *session, ChatdUser *user,
                         const guint8 hash[CHATD_TOKEN_LEN]);

/* Revokes every token of the account except keep (NULL: all); each leaves
 * memory once its revocation has committed. */
void chatd_tokens_revoke_except(ChatdServer *server, gint64 user_id, const guint8 *keep);

/* Forgets expired tokens now and every CHATD_TOKEN_SWEEP_INTERVAL_S (the
 * returned source id is the timer's). */
guint chatd_tokens_start_sweeping(ChatdServer *server);

G_END_DECLS
