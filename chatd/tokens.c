/* Resume tokens at the server (see tokens.h). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/tokens.h"

#include <nettle/sha2.h>
#include <string.h>
#include <sys/random.h>

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/login.h"
#include "chatd/resume-tokens.h"
#include "chatd/server-private.h"
#include "protocol/catalogue.h"

G_STATIC_ASSERT(CHATD_TOKEN_LEN == CHATD_RESUME_TOKEN_HASH_LEN);
G_STATIC_ASSERT(CHATD_TOKEN_LEN == CHATD_STORE_TOKEN_HASH_LEN);

void chatd_token_hash(const guint8 *token, gsize len, guint8 hash[CHATD_TOKEN_LEN]) {
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, len, token);
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, hash);
}

static gboolean random_token(guint8 token[CHATD_TOKEN_LEN]) {
  gsize done = 0;
  while (done < CHATD_TOKEN_LEN) {
    ssize_t n = getrandom(token + done, CHATD_TOKEN_LEN - done, 0);
    if (n < 0)
      return FALSE;
    done += (gsize)n;
  }
  return TRUE;
}

/* ---- revoking ---- */

typedef struct {
  ChatdServer *server;
  guint8 hash[CHATD_TOKEN_LEN];
} revoke_job;

static void on_revoked(const GError *error, gpointer user_data) {
  revoke_job *job = user_data;
  /* NOT_FOUND: the database no longer had it either. */
  if (!error || g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND)) {
    chatd_resume_tokens_remove(job->server->tokens, job->hash);
    chatd_cluster_token(job->server->cluster, job->hash, 0, 0);
  }
  g_free(job);
}

static void revoke_token(ChatdServer *server, const guint8 hash[CHATD_TOKEN_LEN]) {
  revoke_job *job = g_new0(revoke_job, 1);
  job->server = server;
  memcpy(job->hash, hash, sizeof job->hash);
  if (!chatd_store_revoke_session(server->store, job->hash, on_revoked, job))
    g_free(job);
}

void chatd_tokens_revoke_except(ChatdServer *server, gint64 user_id, const guint8 *keep) {
  guint n = 0;
  g_autofree guint8 *hashes = chatd_resume_tokens_of_user(server->tokens, user_id, &n);
  for (guint i = 0; i < n; i++) {
    const guint8 *hash = hashes + (gsize)i * CHATD_TOKEN_LEN;
    if (!keep || memcmp(hash, keep, CHATD_TOKEN_LEN) != 0)
      revoke_token(server, hash);
  }
}

/* ---- issuing ---- */

typedef struct {
  ChatdServer *server;
  gint64 user_id;
  gint64 issued_ms;
  guint8 hash[CHATD_TOKEN_LEN];
} issue_job;

static void on_issued(const GError *error, gpointer user_data) {
  issue_job *job = user_data;
  if (error)
    g_warning("cannot store a resume token: %s", error->message);
  else {
    chatd_resume_tokens_add(job->server->tokens, job->hash, job->user_id, job->issued_ms);
    chatd_cluster_token(job->server->cluster, job->hash, job->user_id, job->issued_ms);
  }
  g_free(job);
}

gboolean chatd_tokens_issue(ChatdServer *server, gint64 user_id, guint8 token[CHATD_TOKEN_LEN]) {
  if (!random_token(token))
    return FALSE;
  /* The oldest go first: a revocation is submitted, and so committed,
   * before the new token. */
  guint excess = chatd_resume_tokens_excess(server->tokens, user_id);
  if (excess > 0) {
    guint n = 0;
    g_autofree guint8 *hashes = chatd_resume_tokens_of_user(server->tokens, user_id, &n);
    for (guint i = 0; i < excess && i < n; i++)
      revoke_token(server, hashes + (gsize)i * CHATD_TOKEN_LEN);
  }
  issue_job *job = g_new0(issue_job, 1);
  job->server = server;
  job->user_id = user_id;
  job->issued_ms = chatd_now_ms();
  chatd_token_hash(token, CHATD_TOKEN_LEN, job->hash);
  if (!chatd_store_add_session(server->store, job->hash, user_id, job->issued_ms, on_issued, job))
    g_free(job);
  return TRUE;
}

/* ---- resuming ---- */

typedef struct {
  ChatdSession *session;
  gint64 user_id;
  gint64 old_issued_ms;
  gint64 new_issued_ms;
  guint8 old_hash[CHATD_TOKEN_LEN];
  guint8 new_hash[CHATD_TOKEN_LEN];
  guint8 token[CHATD_TOKEN_LEN];
} resume_job;

static void resume_job_free(resume_job *job) {
  explicit_bzero(job->token, sizeof job->token);
  chatd_session_unref(job->session);
  g_free(job);
}

static void on_rotated(const GError *error, gpointer user_data) {
  resume_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  gboolean gone = error && g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND);
  if (error && !gone) {
    /* Rolled back: the old token is still stored, so it works again. */
    chatd_resume_tokens_add(server->tokens, job->old_hash, job->user_id, job->old_issued_ms);
  } else if (!error) {
    chatd_resume_tokens_add(server->tokens, job->new_hash, job->user_id, job->new_issued_ms);
    chatd_cluster_token(server->cluster, job->old_hash, 0, 0);
    chatd_cluster_token(server->cluster, job->new_hash, job->user_id, job->new_issued_ms);
  }
  if (gone)
    chatd_cluster_token(server->cluster, job->old_hash, 0, 0);
  if (s->closed) {
    /* nothing to answer; a new token nobody received lives until it expires */
  } else if (gone || !user) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_TOKEN_REFUSED, NULL);
  } else if (error) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                               "the session could not be resumed; try again");
  } else {
    chatd_login_complete(s, user, job->token);
  }
  chatd_session_unblock(s);
  resume_job_free(job);
}

void chatd_tokens_resume(ChatdSession *s, ChatdUser *user, const guint8 hash[CHATD_TOKEN_LEN]) {
  ChatdServer *server = s->server;
  resume_job *job = g_new0(resume_job, 1);
  if (!random_token(job->token)) {
    g_free(job);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_SERVER_ERROR,
                               "the server cannot make a resume token; try again");
    return;
  }
  job->session = chatd_session_ref(s);
  job->user_id = user->id;
  memcpy(job->old_hash, hash, sizeof job->old_hash);
  job->old_issued_ms = chatd_resume_tokens_issued_ms(server->tokens, hash);
  job->new_issued_ms = chatd_now_ms();
  chatd_token_hash(job->token, CHATD_TOKEN_LEN, job->new_hash);
  /* Used up now: a second resume with it, racing this one, is refused. */
  chatd_resume_tokens_remove(server->tokens, hash);
  chatd_session_block(s);
  if (!chatd_store_rotate_session(server->store, job->old_hash, job->new_hash, job->user_id,
                                  job->new_issued_ms, on_rotated, job)) {
    chatd_resume_tokens_add(server->tokens, job->old_hash, job->user_id, job->old_issued_ms);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_SERVER_BUSY, NULL);
    chatd_session_unblock(s);
    resume_job_free(job);
  }
}

/* ---- expiry ---- */

static void on_swept(const GError *error, gpointer user_data) {
  (void)user_data;
  if (error)
    g_message("cannot forget expired resume tokens: %s", error->message);
}

static gboolean sweep(gpointer data) {
  ChatdServer *server = data;
  gint64 now = chatd_now_ms();
  guint removed = chatd_resume_tokens_remove_expired(server->tokens, now);
  if (removed > 0)
    g_message("%u resume token%s expired", removed, removed == 1 ? "" : "s");
  chatd_store_forget_sessions_before(
      server->store, now - chatd_resume_tokens_lifetime_ms(server->tokens), on_swept, NULL);
  return G_SOURCE_CONTINUE;
}

guint chatd_tokens_start_sweeping(ChatdServer *server) {
  sweep(server);
  GSource *source = g_timeout_source_new_seconds(CHATD_TOKEN_SWEEP_INTERVAL_S);
  g_source_set_callback(source, sweep, server, NULL);
  g_source_set_name(source, "chatd resume token sweep");
  guint id = g_source_attach(source, server->context);
  g_source_unref(source);
  return id;
}
