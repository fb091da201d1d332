/* register, login, resume, logout, set_nickname, set_password. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/attempts.h"
#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/log-limit.h"
#include "chatd/login.h"
#include "chatd/names.h"
#include "chatd/notify.h"
#include "chatd/server-private.h"
#include "chatd/tokens.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"

/* Peers cause these lines: their number is bounded (log-limit.h). */
static ChatdLogLimit refused_guesses = CHATD_LOG_LIMIT_INIT;
static ChatdLogLimit failed_logins = CHATD_LOG_LIMIT_INIT;
static ChatdLogLimit refused_accounts = CHATD_LOG_LIMIT_INIT;

/* The longest password, in bytes (names: names.h). */
#define PASSWORD_MAX CHAT_PASSWORD_MAX
/* A connection whose attempt was refused (too many failures or new
 * accounts from its address) waits this long before its next request is
 * handled: a flood of refused attempts costs one request per connection
 * per pause. */
#define REFUSED_PAUSE_MS 1000

/* A nickname from a request, trimmed; *problem as in names.h. */
static char *clean_nickname(chat_span nickname, const char **problem) {
  return chatd_display_name_clean(nickname.ptr ? nickname.ptr : "", nickname.len,
                                  CHATD_NAME_NICKNAME, problem);
}

/* NULL when a new password is acceptable, else why not. A NUL would end
 * the password for the hasher, which takes C strings: "a\0b" would be "a". */
static const char *password_problem(chat_span password) {
  if (password.len == 0 || password.len > PASSWORD_MAX)
    return "the password must be 1 to 1024 bytes";
  if (memchr(password.ptr, '\0', password.len))
    return "the password contains a NUL character";
  return NULL;
}

/* A password given at a login holds a NUL: no password does, so it is wrong. */
static gboolean has_nul(chat_span text) {
  return text.len > 0 && memchr(text.ptr, '\0', text.len) != NULL;
}

/* ---- register ---- */

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
  char *username;
  char *nickname;
  char *password_hash;
  gint64 user_id;
} register_job;

static void register_job_free(register_job *job) {
  g_hash_table_remove(job->session->server->pending_usernames, job->username);
  chatd_session_unref(job->session);
  g_free(job->username);
  g_free(job->nickname);
  g_free(job->password_hash);
  g_free(job);
}

/* The registering session waits until the account exists (or not), so a
 * login right behind the register finds it. */
static void register_done(register_job *job) {
  ChatdSession *s = chatd_session_ref(job->session);
  chatd_session_release(s, job->slot);
  register_job_free(job);
  chatd_session_unblock(s);
  chatd_session_unref(s);
}

static void on_user_stored(const GError *error, gint64 user_id, gpointer user_data) {
  register_job *job = user_data;
  job->user_id = user_id;
  ChatdSession *s = job->session;
  if (error) {
    g_warning("%s: cannot store user %s: %s", s->peer, job->username, error->message);
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the account could not be saved; try again");
  } else {
    /* Committed: now the account exists for everyone. */
    ChatdUser *user = chatd_directory_add_user(s->server->directory, job->user_id, job->username,
                                               job->nickname, job->password_hash);
    chatd_cluster_user_added(s->server->cluster, user);
    g_message("%s: registered %s (id %" G_GINT64_FORMAT ")", s->peer, job->username, job->user_id);
    chat_write_int(chatd_session_begin(s, CHAT_MSG_REGISTER_SUCCESSFUL), job->user_id);
    chatd_reply_send_to_slot(s, job->slot);
  }
  register_done(job);
}

static void on_register_hashed(const char *phc, const GError *error, gpointer user_data) {
  register_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  if (!phc) {
    gboolean busy = error && error->code == CHATD_PASSWORDS_ERROR_BUSY;
    chatd_slot_send_failure(s, job->slot,
                            busy ? CHAT_REQUEST_ERROR_SERVER_BUSY : CHAT_REQUEST_ERROR_SERVER_ERROR,
                            busy ? NULL : "the account could not be created");
    register_done(job);
    return;
  }
  job->password_hash = g_strdup(phc);
  if (!chatd_store_create_user(server->store, job->username, job->nickname, phc, chatd_now_ms(),
                               on_user_stored, job)) {
    chatd_reply_busy(s, job->slot);
    register_done(job);
  }
}

void chatd_handle_register(ChatdSession *s, const chat_value *params, const guint8 *raw,
                           gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_register req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_register_read(params, &req, &err), &err))
    return;
  g_autofree char *username = chatd_normalize_username(req.username.ptr, req.username.len);
  const char *problem = username ? chatd_username_problem(username)
                                 : "the username contains spaces or control characters";
  const char *nick_problem;
  g_autofree char *nickname = clean_nickname(req.nickname, &nick_problem);
  const char *pass_problem = password_problem(req.password);
  if (problem || nick_problem || pass_problem) {
    if (problem)
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_USERNAME, problem);
    else if (nick_problem)
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_NICKNAME, nick_problem);
    else
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_PASSWORD, pass_problem);
    return;
  }
  if (chatd_directory_user_by_name(server->directory, username) ||
      g_hash_table_contains(server->pending_usernames, username)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_USERNAME_TAKEN, NULL);
    return;
  }
  guint retry_s = 0;
  ChatdAttemptVerdict verdict = chatd_attempts_register(server->attempts, s->peer, &retry_s);
  if (verdict != CHATD_ATTEMPT_ALLOWED) {
    gboolean total = verdict == CHATD_ATTEMPT_TOTAL_LIMIT;
    chatd_log_limited(&refused_accounts, G_LOG_LEVEL_MESSAGE,
                      "%s: registration of %s refused: too many new accounts %s", s->peer, username,
                      total ? "on the server (server.register_rate.total_per_minute)"
                            : "from this address (server.register_rate)");
    g_autofree char *reason = g_strdup_printf("too many new accounts %s; try again in %u s",
                                              total ? "right now" : "from your address", retry_s);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_TOO_MANY_ACCOUNTS, reason);
    chatd_session_pause(s, REFUSED_PAUSE_MS);
    return;
  }
  register_job *job = g_new0(register_job, 1);
  job->session = chatd_session_ref(s);
  job->slot = chatd_session_reserve(s);
  job->username = g_steal_pointer(&username);
  job->nickname = g_steal_pointer(&nickname);
  g_hash_table_add(server->pending_usernames, g_strdup(job->username));
  g_autofree char *password = g_strndup(req.password.ptr, req.password.len);
  chatd_session_block(s);
  g_autofree char *who = chatd_attempts_address_key(s->peer);
  chatd_passwords_hash_for(server->passwords, who, password, on_register_hashed, job);
  explicit_bzero(password, strlen(password));
}

/* ---- login ---- */

typedef struct {
  ChatdSession *session;
  char *username;
  char *password; /* kept for a rehash; wiped */
  gint64 user_id; /* 0 when unknown */
} login_job;

static void login_job_free(login_job *job) {
  chatd_session_unref(job->session);
  g_free(job->username);
  if (job->password) {
    explicit_bzero(job->password, strlen(job->password));
    g_free(job->password);
  }
  g_free(job);
}

/* Whether the session's address may guess username's password now; when
 * not, the session is told why and when to try again. */
static gboolean guess_allowed(ChatdSession *s, const char *username) {
  guint retry_s = 0;
  ChatdAttemptVerdict verdict =
      chatd_attempts_password_begin(s->server->attempts, s->peer, username, &retry_s);
  if (verdict == CHATD_ATTEMPT_ALLOWED)
    return TRUE;
  chatd_log_limited(&refused_guesses, G_LOG_LEVEL_MESSAGE,
                    "%s: password of %s not checked: too many failures from this address%s",
                    s->peer, username,
                    verdict == CHATD_ATTEMPT_ACCOUNT_LIMIT ? " for this account" : "");
  g_autofree char *reason =
      g_strdup_printf("too many failed attempts from your address; try again in %u s", retry_s);
  chatd_session_send_failure(s, CHAT_REQUEST_ERROR_TOO_MANY_ATTEMPTS, reason);
  chatd_session_pause(s, REFUSED_PAUSE_MS);
  return FALSE;
}

/* A guess that guess_allowed charged did not count: the password was
 * right, or it was never checked. */
static void guess_refund(ChatdSession *s, const char *username) {
  chatd_attempts_password_refund(s->server->attempts, s->peer, username);
}

typedef struct {
  ChatdServer *server;
  gint64 user_id;
  char *old_hash; /* the hash being replaced */
  char *new_hash;
} rehash_job;

static void rehash_job_free(rehash_job *job) {
  g_free(job->old_hash);
  g_free(job->new_hash);
  g_free(job);
}

static void on_upgrade_stored(const GError *error, gpointer user_data) {
  rehash_job *job = user_data;
  ChatdUser *user = chatd_directory_user(job->server->directory, job->user_id);
  if (user)
    user->password_writes--;
  if (error) {
    g_message("cannot store an upgraded password hash: %s", error->message);
  } else if (user && g_strcmp0(user->password_hash, job->old_hash) == 0) {
    chatd_user_set_password_hash(user, job->new_hash);
    chatd_cluster_password(job->server->cluster, user);
    g_message("%s: password hash upgraded", user->username);
  }
  rehash_job_free(job);
}

/* The same password at the configured cost: stored, then in memory, unless
 * the password changed meanwhile (a change in flight wins). */
static void on_upgrade_hashed(const char *phc, const GError *error, gpointer user_data) {
  rehash_job *job = user_data;
  ChatdServer *server = job->server;
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  if (!phc || !user || user->password_writes > 0 ||
      g_strcmp0(user->password_hash, job->old_hash) != 0) {
    if (error)
      g_message("cannot upgrade a password hash: %s", error->message);
    rehash_job_free(job);
    return;
  }
  job->new_hash = g_strdup(phc);
  user->password_writes++;
  if (!chatd_store_set_password_hash(server->store, user->id, phc, on_upgrade_stored, job)) {
    user->password_writes--;
    rehash_job_free(job);
  }
}

static void on_login_verified(gboolean ok, gboolean needs_rehash, const GError *error,
                              gpointer user_data) {
  login_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  ChatdUser *user = job->user_id ? chatd_directory_user(server->directory, job->user_id) : NULL;
  if (s->closed) {
    /* nothing to answer */
  } else if (error && error->code == CHATD_PASSWORDS_ERROR_BUSY) {
    guess_refund(s, job->username);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_SERVER_BUSY, NULL);
  } else if (!ok || !user) {
    chatd_log_limited(&failed_logins, G_LOG_LEVEL_MESSAGE, "%s: login of %s failed", s->peer,
                      job->username);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_LOGIN_FAILED, NULL);
  } else {
    guess_refund(s, job->username);
    if (needs_rehash) {
      rehash_job *r = g_new0(rehash_job, 1);
      r->server = server;
      r->user_id = user->id;
      r->old_hash = g_strdup(user->password_hash);
      chatd_passwords_hash(server->passwords, job->password, on_upgrade_hashed, r);
    }
    chatd_login_complete(s, user, NULL);
  }
  chatd_session_unblock(s);
  login_job_free(job);
}

void chatd_handle_login(ChatdSession *s, const chat_value *params, const guint8 *raw,
                        gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_login req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_login_read(params, &req, &err), &err))
    return;
  g_autofree char *username = chatd_normalize_username(req.username.ptr, req.username.len);
  if (!username || has_nul(req.password)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_LOGIN_FAILED, NULL);
    return;
  }
  if (!guess_allowed(s, username))
    return;
  ChatdUser *user = chatd_directory_user_by_name(server->directory, username);
  login_job *job = g_new0(login_job, 1);
  job->session = chatd_session_ref(s);
  job->username = g_steal_pointer(&username);
  job->password = g_strndup(req.password.ptr, req.password.len);
  job->user_id = user ? user->id : 0;
  chatd_session_block(s);
  /* An unknown user costs the same: the hasher verifies against a dummy. */
  g_autofree char *who = chatd_attempts_address_key(s->peer);
  chatd_passwords_verify_for(server->passwords, who, user ? user->password_hash : NULL,
                             job->password, on_login_verified, job);
}

/* ---- resume (v2) ---- */

void chatd_handle_resume(ChatdSession *s, const chat_value *params, const guint8 *raw,
                         gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_resume req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_resume_read(params, &req, &err), &err))
    return;
  g_autofree char *username = chatd_normalize_username(req.username.ptr, req.username.len);
  if (!username) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_TOKEN_REFUSED, NULL);
    return;
  }
  if (!guess_allowed(s, username))
    return;
  ChatdUser *user = chatd_directory_user_by_name(server->directory, username);
  guint8 hash[CHATD_TOKEN_LEN];
  chatd_token_hash((const guint8 *)req.token.ptr, req.token.len, hash);
  if (!user || req.token.len != CHATD_TOKEN_LEN ||
      chatd_resume_tokens_owner(server->tokens, hash, chatd_now_ms()) != user->id) {
    chatd_log_limited(&failed_logins, G_LOG_LEVEL_MESSAGE, "%s: resume of %s refused", s->peer,
                      username);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_TOKEN_REFUSED, NULL);
    return;
  }
  guess_refund(s, username);
  chatd_tokens_resume(s, user, hash);
}

/* ---- logout (v2) ---- */

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
  guint8 token_hash[CHATD_TOKEN_LEN];
} logout_job;

static void on_logout_stored(const GError *error, gpointer user_data) {
  logout_job *job = user_data;
  ChatdSession *s = job->session;
  /* NOT_FOUND: revoked already (a password change elsewhere). */
  if (error && g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND))
    error = NULL;
  if (error) {
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the logout could not be saved; try again");
  } else {
    /* Revoked in the database: now in memory too. */
    chatd_resume_tokens_remove(s->server->tokens, job->token_hash);
    chatd_cluster_token(s->server->cluster, job->token_hash, 0, 0);
    chat_write_null(chatd_session_begin(s, CHAT_MSG_LOGGED_OUT));
    chatd_reply_send_to_slot(s, job->slot);
  }
  chatd_session_release(s, job->slot);
  if (!error && !s->closed) {
    g_autofree char *reason = g_strdup_printf("%s logged out", s->user->username);
    chatd_session_close(s, reason);
  }
  chatd_session_unref(s);
  g_free(job);
}

void chatd_handle_logout(ChatdSession *s, const chat_value *params, const guint8 *raw,
                         gsize raw_len) {
  (void)params;
  (void)raw;
  (void)raw_len;
  if (!s->has_token) {
    chatd_session_send_null(s, CHAT_MSG_LOGGED_OUT);
    g_autofree char *reason = g_strdup_printf("%s logged out", s->user->username);
    chatd_session_close(s, reason);
    return;
  }
  logout_job *job = g_new0(logout_job, 1);
  job->session = chatd_session_ref(s);
  job->slot = chatd_session_reserve(s);
  memcpy(job->token_hash, s->token_hash, sizeof job->token_hash);
  s->has_token = FALSE;
  if (!chatd_store_revoke_session(s->server->store, job->token_hash, on_logout_stored, job)) {
    s->has_token = TRUE;
    chatd_reply_busy(s, job->slot);
    chatd_session_release(s, job->slot);
    chatd_session_unref(s);
    g_free(job);
  }
}

/* ---- set_nickname (v2) ---- */

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
} slot_job;

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
  gint64 user_id;
  char *nickname;
} nickname_job;

static void on_nickname_stored(const GError *error, gpointer user_data) {
  nickname_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  if (error || !user) {
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the nickname could not be saved");
  } else {
    chatd_user_set_nickname(user, job->nickname); /* committed: now in memory */
    chatd_write_user(chatd_session_begin(s, CHAT_MSG_PROFILE_UPDATED), user);
    chatd_reply_send_to_slot(s, job->slot);
    /* Friends see the new name in their contact lists. */
    chatd_notify_contact_changed(server, user);
    chatd_cluster_nickname(server->cluster, user);
  }
  chatd_session_release(s, job->slot);
  chatd_session_unref(s);
  g_free(job->nickname);
  g_free(job);
}

void chatd_handle_set_nickname(ChatdSession *s, const chat_value *params, const guint8 *raw,
                               gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_str req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_str_read(params, &req, &err), &err))
    return;
  const char *problem;
  g_autofree char *nickname = clean_nickname(req.value, &problem);
  if (problem) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_NICKNAME, problem);
    return;
  }
  nickname_job *job = g_new0(nickname_job, 1);
  job->session = chatd_session_ref(s);
  job->slot = chatd_session_reserve(s);
  job->user_id = s->user->id;
  job->nickname = g_steal_pointer(&nickname);
  if (!chatd_store_set_nickname(s->server->store, s->user->id, job->nickname, on_nickname_stored,
                                job)) {
    chatd_reply_busy(s, job->slot);
    chatd_session_release(s, job->slot);
    chatd_session_unref(s);
    g_free(job->nickname);
    g_free(job);
  }
}

/* ---- set_password (v2) ---- */

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
  gint64 user_id;
  char *new_password;
  char *new_hash;
} password_job;

static void password_job_free(password_job *job) {
  if (job->new_password) {
    explicit_bzero(job->new_password, strlen(job->new_password));
    g_free(job->new_password);
  }
  g_free(job->new_hash);
  chatd_session_unref(job->session);
  g_free(job);
}

static void on_password_stored(const GError *error, gpointer user_data) {
  password_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  if (user)
    user->password_writes--;
  if (error || !user) {
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the password could not be saved");
  } else {
    /* Committed: the new password works from now on, and the other
     * sessions' resume tokens go. */
    chatd_user_set_password_hash(user, job->new_hash);
    chatd_cluster_password(server->cluster, user);
    chatd_tokens_revoke_except(server, user->id, s->has_token ? s->token_hash : NULL);
    chat_write_null(chatd_session_begin(s, CHAT_MSG_PASSWORD_CHANGED));
    chatd_reply_send_to_slot(s, job->slot);
  }
  chatd_session_release(s, job->slot);
  password_job_free(job);
}

static void on_new_password_hashed(const char *phc, const GError *error, gpointer user_data) {
  password_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  chatd_session_ref(s);
  if (!phc || !user) {
    gboolean busy = error && error->code == CHATD_PASSWORDS_ERROR_BUSY;
    chatd_slot_send_failure(s, job->slot,
                            busy ? CHAT_REQUEST_ERROR_SERVER_BUSY : CHAT_REQUEST_ERROR_SERVER_ERROR,
                            busy ? NULL : "the password could not be changed");
    chatd_session_release(s, job->slot);
    password_job_free(job);
  } else {
    job->new_hash = g_strdup(phc);
    user->password_writes++;
    if (!chatd_store_set_password_hash(server->store, user->id, phc, on_password_stored, job)) {
      user->password_writes--;
      chatd_reply_busy(s, job->slot);
      chatd_session_release(s, job->slot);
      password_job_free(job);
    }
  }
  chatd_session_unblock(s);
  chatd_session_unref(s);
}

static void on_old_password_checked(gboolean ok, gboolean needs_rehash, const GError *error,
                                    gpointer user_data) {
  password_job *job = user_data;
  ChatdSession *s = job->session;
  (void)needs_rehash;
  if (!ok || s->closed) {
    gboolean busy = error && error->code == CHATD_PASSWORDS_ERROR_BUSY;
    /* A wrong old password is a guess like a failed login (charged when
     * it started): a stolen session must not be a way to try passwords
     * without a limit. One the busy server never checked is given back. */
    if (busy && s->user)
      guess_refund(s, s->user->username);
    chatd_slot_send_failure(
        s, job->slot, busy ? CHAT_REQUEST_ERROR_SERVER_BUSY : CHAT_REQUEST_ERROR_WRONG_PASSWORD,
        NULL);
    chatd_session_release(s, job->slot);
    chatd_session_unblock(s);
    password_job_free(job);
    return;
  }
  if (s->user)
    guess_refund(s, s->user->username);
  /* Still blocked: the hash of the new password comes next. */
  g_autofree char *who = chatd_attempts_address_key(s->peer);
  chatd_passwords_hash_for(s->server->passwords, who, job->new_password, on_new_password_hashed,
                           job);
}

void chatd_handle_set_password(ChatdSession *s, const chat_value *params, const guint8 *raw,
                               gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_set_password req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_set_password_read(params, &req, &err), &err))
    return;
  const char *problem = password_problem(req.new_password);
  if (problem) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_PASSWORD, problem);
    return;
  }
  if (has_nul(req.old_password)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_WRONG_PASSWORD, NULL);
    return;
  }
  if (!guess_allowed(s, s->user->username))
    return;
  password_job *job = g_new0(password_job, 1);
  job->session = chatd_session_ref(s);
  job->slot = chatd_session_reserve(s);
  job->user_id = s->user->id;
  job->new_password = g_strndup(req.new_password.ptr, req.new_password.len);
  g_autofree char *old = g_strndup(req.old_password.ptr, req.old_password.len);
  chatd_session_block(s);
  g_autofree char *who = chatd_attempts_address_key(s->peer);
  chatd_passwords_verify_for(s->server->passwords, who, s->user->password_hash, old,
                             on_old_password_checked, job);
  explicit_bzero(old, strlen(old));
}
