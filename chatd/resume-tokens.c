/* The live resume tokens (see resume-tokens.h). */
#include "chatd/resume-tokens.h"

#include <string.h>

typedef struct {
  guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN];
  gint64 user_id;
  gint64 issued_ms;
} Token;

struct _ChatdResumeTokens {
  gint64 lifetime_ms;
  guint max_per_user;
  GHashTable *by_hash; /* Token.hash -> Token (owned) */
  GHashTable *by_user; /* user id (gint64 *) -> GPtrArray of Token (not owned), few each */
};

/* The key is a SHA-256 output: its first bytes are as good a hash as any. */
static guint hash_key(gconstpointer key) {
  guint h;
  memcpy(&h, key, sizeof h);
  return h;
}

static gboolean hash_equal(gconstpointer a, gconstpointer b) {
  return memcmp(a, b, CHATD_RESUME_TOKEN_HASH_LEN) == 0;
}

ChatdResumeTokens *chatd_resume_tokens_new(gint64 lifetime_ms, guint max_per_user) {
  g_return_val_if_fail(lifetime_ms > 0 && max_per_user > 0, NULL);
  ChatdResumeTokens *tokens = g_new0(ChatdResumeTokens, 1);
  tokens->lifetime_ms = lifetime_ms;
  tokens->max_per_user = max_per_user;
  tokens->by_hash = g_hash_table_new_full(hash_key, hash_equal, NULL, g_free);
  tokens->by_user =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  return tokens;
}

void chatd_resume_tokens_free(ChatdResumeTokens *tokens) {
  if (!tokens)
    return;
  g_hash_table_unref(tokens->by_user);
  g_hash_table_unref(tokens->by_hash);
  g_free(tokens);
}

gint64 chatd_resume_tokens_lifetime_ms(const ChatdResumeTokens *tokens) {
  return tokens->lifetime_ms;
}

static void unlink_from_user(ChatdResumeTokens *tokens, Token *token) {
  GPtrArray *list = g_hash_table_lookup(tokens->by_user, &token->user_id);
  if (!list)
    return;
  g_ptr_array_remove_fast(list, token);
  if (list->len == 0)
    g_hash_table_remove(tokens->by_user, &token->user_id);
}

void chatd_resume_tokens_add(ChatdResumeTokens *tokens,
                             const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN], gint64 user_id,
                             gint64 issued_ms) {
  chatd_resume_tokens_remove(tokens, hash);
  Token *token = g_new(Token, 1);
  memcpy(token->hash, hash, sizeof token->hash);
  token->user_id = user_id;
  token->issued_ms = issued_ms;
  g_hash_table_insert(tokens->by_hash, token->hash, token);
  GPtrArray *list = g_hash_table_lookup(tokens->by_user, &user_id);
  if (!list) {
    list = g_ptr_array_new();
    g_hash_table_insert(tokens->by_user, g_memdup2(&user_id, sizeof user_id), list);
  }
  g_ptr_array_add(list, token);
}

static gboolean expired(const ChatdResumeTokens *tokens, const Token *token, gint64 now_ms) {
  return now_ms - token->issued_ms >= tokens->lifetime_ms;
}

gint64 chatd_resume_tokens_owner(const ChatdResumeTokens *tokens,
                                 const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN], gint64 now_ms) {
  const Token *token = g_hash_table_lookup(tokens->by_hash, hash);
  return token && !expired(tokens, token, now_ms) ? token->user_id : 0;
}

gint64 chatd_resume_tokens_issued_ms(const ChatdResumeTokens *tokens,
                                     const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN]) {
  const Token *token = g_hash_table_lookup(tokens->by_hash, hash);
  return token ? token->issued_ms : 0;
}

gboolean chatd_resume_tokens_remove(ChatdResumeTokens *tokens,
                                    const guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN]) {
  Token *token = g_hash_table_lookup(tokens->by_hash, hash);
  if (!token)
    return FALSE;
  unlink_from_user(tokens, token);
  g_hash_table_remove(tokens->by_hash, token->hash); /* frees token */
  return TRUE;
}

static gint by_issued(gconstpointer a, gconstpointer b) {
  const Token *x = *(const Token *const *)a;
  const Token *y = *(const Token *const *)b;
  if (x->issued_ms != y->issued_ms)
    return x->issued_ms < y->issued_ms ? -1 : 1;
  return memcmp(x->hash, y->hash, sizeof x->hash);
}

guint8 *chatd_resume_tokens_of_user(const ChatdResumeTokens *tokens, gint64 user_id, guint *n_out) {
  GPtrArray *list = g_hash_table_lookup(tokens->by_user, &user_id);
  guint n = list ? list->len : 0;
  *n_out = n;
  if (n == 0)
    return NULL;
  g_ptr_array_sort(list, by_issued);
  guint8 *out = g_malloc((gsize)n * CHATD_RESUME_TOKEN_HASH_LEN);
  for (guint i = 0; i < n; i++) {
    const Token *token = g_ptr_array_index(list, i);
    memcpy(out + (gsize)i * CHATD_RESUME_TOKEN_HASH_LEN, token->hash, CHATD_RESUME_TOKEN_HASH_LEN);
  }
  return out;
}

guint chatd_resume_tokens_excess(const ChatdResumeTokens *tokens, gint64 user_id) {
  GPtrArray *list = g_hash_table_lookup(tokens->by_user, &user_id);
  guint n = list ? list->len : 0;
  return n < tokens->max_per_user ? 0 : n - tokens->max_per_user + 1;
}

guint chatd_resume_tokens_remove_expired(ChatdResumeTokens *tokens, gint64 now_ms) {
  guint removed = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, tokens->by_hash);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    Token *token = value;
    if (!expired(tokens, token, now_ms))
      continue;
    unlink_from_user(tokens, token);
    g_hash_table_iter_remove(&it); /* frees token */
    removed++;
  }
  return removed;
}

guint chatd_resume_tokens_count(const ChatdResumeTokens *tokens) {
  return g_hash_table_size(tokens->by_hash);
}
