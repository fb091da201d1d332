/* The live resume tokens, in memory: which account each token hash belongs
 * to, when it was issued, and how many each account holds.
 *
 * A token is 32 random bytes a client presents with `resume` instead of a
 * password; only its SHA-256 (the "hash") is kept here and in the database.
 * A token lives until it is used (a resume replaces it with a fresh one),
 * revoked (logout, a password change), pushed out by a newer one of the same
 * account (at most max_per_user live at once), or `lifetime_ms` after it
 * was issued. This table only answers and records; the caller writes the
 * database first and changes the table once the write has committed.
 *
 * One thread (chatd's main loop). */
#pragma once

#include <glib.h>

#define CHATD_RESUME_TOKEN_HASH_LEN 32

typedef struct _ChatdResumeTokens ChatdResumeTokens;

ChatdResumeTokens *chatd_resume_tokens_new(gint64 lifetime_ms, guint max_per_user);
void chatd_resume_tokens_free(ChatdResumeTokens *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdResumeTokens, chatd_resume_tokens_free)

gint64 chatd_resume_tokens_lifetime_ms(const ChatdResumeTokens *tokens);

/* Records a token issued at issued_ms (a hash already present is
 * replaced). */
void chatd_resume_tokens_add(ChatdResumeTokens *tokens,
                             const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN], gint64 user_id,
                             gint64 issued_ms);

/* The account a token belongs to, or 0 when it is unknown or expired at
 * now_ms. */
gint64 chatd_resume_tokens_owner(const ChatdResumeTokens *tokens,
                                 const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN], gint64 now_ms);

/* When a live token was issued (0 when unknown). */
gint64 chatd_resume_tokens_issued_ms(const ChatdResumeTokens *tokens,
                                     const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN]);

/* Forgets a token; FALSE when it was not there. */
gboolean chatd_resume_tokens_remove(ChatdResumeTokens *tokens,
                                    const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN]);

/* The hashes of the account's tokens, oldest first, as one array of
 * n × CHATD_RESUME_TOKEN_HASH_LEN bytes (free with g_free); *n_out is set. */
guint8 *chatd_resume_tokens_of_user(const ChatdResumeTokens *tokens, gint64 user_id, guint *n_out);

/* How many of the account's tokens must go before one more fits
 * (0 when there is room). They are the first ones of _of_user. */
guint chatd_resume_tokens_excess(const ChatdResumeTokens *tokens, gint64 user_id);

/* Forgets every token issued at or before now_ms - lifetime_ms; returns how
 * many. */
guint chatd_resume_tokens_remove_expired(ChatdResumeTokens *tokens, gint64 now_ms);

guint chatd_resume_tokens_count(const ChatdResumeTokens *tokens);
