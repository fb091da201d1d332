/* chatd under abuse (suite `abuse`): what a hostile peer does must not lock
 * other users out, fill chatd's tables or its log, or cost it much. A real
 * chatd; the attackers and the victims connect from different loopback
 * addresses (127.0.0.2, 127.0.0.3, ...), which chatd sees as different
 * peers. Each test states the attack at a small scale and checks that a
 * probe user still logs in. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sqlite3.h>

#include "chatd-harness.h"
#include "protocol/catalogue.h"

#define ATTACKER "127.0.0.2"
#define VICTIM "127.0.0.3"
#define OTHER "127.0.0.4"
#define PASSWORD "right password"
/* The failure budget these tests give chatd: 5 wrong passwords per address
 * and account, 20 per address. */
#define TIGHT_LOGIN_RATE "\"login_rate\": {\"per_minute\": 1, \"burst\": 5}"
#define ACCOUNT_BUDGET 5
#define ADDRESS_BUDGET 20

/* The reply to a login: "login_successful ..." or "request_failed {error,
 * text}". Reads past a successful login's bundle. */
static char *try_login(test_client *c, const char *user, const char *password) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, password);
  client_send(c, "login", params);
  char *reply = client_next(c, HARNESS_TIMEOUT_MS);
  cr_assert_not_null(reply, "no answer to a login");
  if (g_str_has_prefix(reply, "login_successful ")) {
    g_autofree char *bundle = client_next(c, HARNESS_TIMEOUT_MS);
    cr_assert(bundle && g_str_has_prefix(bundle, "session_bundle "), "%s", bundle);
  }
  return reply;
}

static void register_user(guint16 port, const char *user) {
  test_client *c = client_connect_from(OTHER, port, CHAT_DIALECT_V2);
  client_register(c, user, PASSWORD, user);
  client_free(c);
}

static gboolean logs_in(guint16 port, const char *from, const char *user) {
  test_client *c = client_connect_from(from, port, CHAT_DIALECT_V2);
  g_autofree char *reply = try_login(c, user, PASSWORD);
  client_free(c);
  return g_str_has_prefix(reply, "login_successful ");
}

static guint count_in_log(chatd_instance *chatd, const char *text) {
  chatd_log_contains(chatd, "");
  guint n = 0;
  for (const char *p = chatd->log->str; (p = strstr(p, text)) != NULL; p += strlen(text))
    n++;
  return n;
}

/* Item 1: wrong passwords from one address made chatd refuse the real
 * user's right password from another address. */
Test(abuse, wrong_passwords_from_one_address_do_not_lock_the_account_elsewhere) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, TIGHT_LOGIN_RATE);
  register_user(chatd.port, "alice");

  test_client *attacker = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  guint wrong = 0, refused = 0;
  for (int i = 0; i < 2 * ACCOUNT_BUDGET; i++) {
    g_autofree char *reply = try_login(attacker, "alice", "guess");
    if (g_str_has_prefix(reply, "request_failed {\"error\": \"login_failed\""))
      wrong++;
    else if (strstr(reply, "too many failed attempts from your address"))
      refused++;
    else
      cr_assert_fail("unexpected reply %s", reply);
  }
  cr_assert_eq(wrong, ACCOUNT_BUDGET, "the attacker's guesses were checked %u times", wrong);
  cr_assert_eq(refused, ACCOUNT_BUDGET);
  /* Even the right password is not checked for the attacker's address. */
  g_autofree char *again = try_login(attacker, "alice", PASSWORD);
  cr_assert(strstr(again, "too many failed attempts"), "%s", again);
  client_free(attacker);

  cr_assert(logs_in(chatd.port, VICTIM, "alice"), "alice was locked out by someone else");
  chatd_destroy(&chatd);
}

/* Item 2: one address sending logins for ever new usernames filled the
 * limiter's table, then users nobody attacked were refused, and each
 * refusal was a log line. */
Test(abuse, a_flood_of_usernames_from_one_address_costs_nobody_else_and_the_log_stays_short,
     .timeout = 120) {
  /* A refused attempt pauses its connection for a second: the flood comes
   * over many connections, one attempt in flight on each. */
  enum { CONNECTIONS = 100, ROUNDS = 4, ATTEMPTS = CONNECTIONS * ROUNDS };
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, TIGHT_LOGIN_RATE);
  register_user(chatd.port, "bob");
  test_client *attackers[CONNECTIONS];
  for (int i = 0; i < CONNECTIONS; i++)
    attackers[i] = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  guint checked = 0;
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < CONNECTIONS; i++) {
      g_autofree char *params = g_strdup_printf("[\"nobody%d-%d\", \"guess\"]", round, i);
      client_send(attackers[i], "login", params);
    }
    for (int i = 0; i < CONNECTIONS; i++) {
      g_autofree char *reply = client_next(attackers[i], HARNESS_TIMEOUT_MS);
      cr_assert_not_null(reply, "no answer to a login");
      checked += g_str_has_prefix(reply, "request_failed {\"error\": \"login_failed\"");
    }
  }
  for (int i = 0; i < CONNECTIONS; i++)
    client_free(attackers[i]);
  cr_assert_eq(checked, ADDRESS_BUDGET, "%u passwords were checked for the flooding address",
               checked);
  cr_assert(logs_in(chatd.port, VICTIM, "bob"), "bob was refused after the flood");
  /* A few lines and a summary, not one line per attempt. */
  guint lines = count_in_log(&chatd, "too many failures from this address");
  cr_assert_leq(lines, 25, "%u log lines for %d refused attempts", lines, ATTEMPTS);
  /* The rest is summed up at the end of the period. */
  gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
  while (!chatd_log_contains(&chatd, "left out of the log") && g_get_monotonic_time() < deadline)
    harness_spin(100);
  cr_assert(chatd_log_contains(&chatd, "more lines like"), "no summary:\n%s", chatd.log->str);
  chatd_destroy(&chatd);
}

/* Item 3: four connections created 144,692 accounts in 25 s. */
Test(abuse, new_accounts_are_limited_per_address_and_in_total) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE,
              "\"register_rate\": {\"per_hour\": 1, \"burst\": 3, \"total_per_minute\": 5}");
  test_client *flood = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  guint created = 0;
  for (int i = 0; i < 10; i++) {
    char params[64];
    g_snprintf(params, sizeof params, "[\"flood%d\", \"pw\", \"flood\"]", i);
    client_send(flood, "register", params);
    g_autofree char *reply = client_next(flood, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(reply);
    if (g_str_has_prefix(reply, "register_successful "))
      created++;
    else
      cr_assert(strstr(reply, "too many new accounts from your address"), "%s", reply);
  }
  client_free(flood);
  cr_assert_eq(created, 3, "one address created %u accounts", created);
  /* Other addresses still can, until the server's total for the minute. */
  test_client *a = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
  g_free(client_ask(a, "register", "[\"carol\", \"pw\", \"Carol\"]", "register_successful"));
  g_free(client_ask(a, "register", "[\"dave\", \"pw\", \"Dave\"]", "register_successful"));
  g_autofree char *full =
      client_ask(a, "register", "[\"erin\", \"pw\", \"Erin\"]", "request_failed");
  cr_assert(strstr(full, "too many new accounts right now"), "%s", full);
  client_free(a);
  chatd_destroy(&chatd);
}

/* Item 2 at full size: 80 connections from one address sent 24,000 refused
 * logins a second, and the probe user's logins took seconds. A refused
 * attempt pauses its connection: the next request waits REFUSED_PAUSE_MS. */
Test(abuse, a_refused_attempt_pauses_the_connection) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, TIGHT_LOGIN_RATE);
  test_client *attacker = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  for (int i = 0; i < ADDRESS_BUDGET; i++)
    g_free(try_login(attacker, "nobody", "guess"));
  enum { MORE = 3 };
  gint64 start = g_get_monotonic_time();
  for (int i = 0; i < MORE; i++)
    client_send(attacker, "login", "[\"nobody\", \"guess\"]");
  for (int i = 0; i < MORE; i++) {
    g_autofree char *reply = client_next(attacker, 10000);
    cr_assert(reply && strstr(reply, "too many failed attempts"), "%s", reply);
  }
  gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
  cr_assert_geq(took_ms, 2000, "3 refused requests answered in %" G_GINT64_FORMAT " ms", took_ms);
  /* Another address is not slowed down. */
  register_user(chatd.port, "kate");
  cr_assert(logs_in(chatd.port, VICTIM, "kate"));
  client_free(attacker);
  chatd_destroy(&chatd);
}

/* Item 4: set_password checked every wrong old password: a stolen session
 * could try passwords without a limit. */
Test(abuse, wrong_old_passwords_count_like_failed_logins) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, TIGHT_LOGIN_RATE);
  register_user(chatd.port, "frank");
  test_client *thief = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  client_login(thief, "frank", PASSWORD);
  guint wrong = 0, refused = 0;
  for (int i = 0; i < 2 * ACCOUNT_BUDGET; i++) {
    g_autofree char *reply =
        client_ask(thief, "set_password", "[\"guess\", \"new password\"]", "request_failed");
    if (strstr(reply, "the old password is wrong"))
      wrong++;
    else if (strstr(reply, "too many failed attempts"))
      refused++;
    else
      cr_assert_fail("unexpected reply %s", reply);
  }
  cr_assert_eq(wrong, ACCOUNT_BUDGET);
  cr_assert_eq(refused, ACCOUNT_BUDGET);
  client_free(thief);
  cr_assert(logs_in(chatd.port, VICTIM, "frank"));
  chatd_destroy(&chatd);
}

/* ---- resume tokens ---- */

/* The resume token (base64) in the session_bundle that comes next. */
static char *bundle_token(test_client *c) {
  g_autofree char *bundle = client_next_full(c, HARNESS_TIMEOUT_MS);
  cr_assert(bundle && g_str_has_prefix(bundle, "session_bundle "), "%s", bundle);
  static const char key[] = "\"token\": {\"$bytes\": \"";
  const char *start = strstr(bundle, key);
  cr_assert_not_null(start, "%s", bundle);
  start += strlen(key);
  const char *end = strchr(start, '"');
  cr_assert_not_null(end);
  return g_strndup(start, (gsize)(end - start));
}

static char *login_for_token(guint16 port, const char *user) {
  test_client *c = client_connect_from(VICTIM, port, CHAT_DIALECT_V2);
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, PASSWORD);
  g_free(client_ask(c, "login", params, "login_successful"));
  char *token = bundle_token(c);
  client_free(c);
  return token;
}

/* The next token when chatd accepts the resume, NULL when it answers
 * login_failed. */
static char *resume_with(guint16 port, const char *user, const char *token) {
  test_client *c = client_connect_from(VICTIM, port, CHAT_DIALECT_V2);
  g_autofree char *params =
      g_strdup_printf("{\"username\": \"%s\", \"token\": {\"$bytes\": \"%s\"}}", user, token);
  client_send(c, "resume", params);
  g_autofree char *reply = client_next(c, HARNESS_TIMEOUT_MS);
  cr_assert_not_null(reply, "no answer to a resume");
  char *next = NULL;
  if (g_str_has_prefix(reply, "login_successful "))
    next = bundle_token(c);
  else
    cr_assert(g_str_has_prefix(reply, "request_failed {\"error\": \"token_refused\""), "%s", reply);
  client_free(c);
  return next;
}

/* Item 5: a resume token worked for ever, and the bundle gave back the
 * same one. */
Test(abuse, a_resume_token_works_once_and_the_bundle_carries_the_next) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, NULL);
  register_user(chatd.port, "gina");
  g_autofree char *first = login_for_token(chatd.port, "gina");
  g_autofree char *second = resume_with(chatd.port, "gina", first);
  cr_assert_not_null(second, "a fresh token was refused");
  cr_assert_str_neq(first, second, "the resume gave back the same token");
  g_autofree char *again = resume_with(chatd.port, "gina", first);
  cr_assert_null(again, "a used token worked a second time");
  g_autofree char *third = resume_with(chatd.port, "gina", second);
  cr_assert_not_null(third, "the token of the last bundle was refused");
  chatd_destroy(&chatd);
}

/* Shifts a token's issue time back by `days` in chatd's database (chatd
 * stopped). */
static void age_token(chatd_instance *chatd, const char *token_b64, int days) {
  gsize len = 0;
  g_autofree guchar *token = g_base64_decode(token_b64, &len);
  guint8 hash[32];
  gsize hash_len = sizeof hash;
  g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sha, token, len);
  g_checksum_get_digest(sha, hash, &hash_len);
  g_autofree char *path = g_build_filename(chatd->dir, "chat.db", NULL);
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db,
                                  "UPDATE sessions SET created_ms = created_ms - ?2, "
                                  "last_used_ms = last_used_ms - ?2 WHERE token_hash = ?1",
                                  -1, &stmt, NULL),
               SQLITE_OK, "%s", sqlite3_errmsg(db));
  sqlite3_bind_blob(stmt, 1, hash, sizeof hash, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 2, (sqlite3_int64)days * 24 * 3600 * 1000);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
  cr_assert_eq(sqlite3_changes(db), 1, "the token is not in the database");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

static int count_sessions(chatd_instance *chatd) {
  g_autofree char *path = g_build_filename(chatd->dir, "chat.db", NULL);
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &stmt, NULL), SQLITE_OK);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
  int n = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

/* Item 5: resume tokens never expired. */
Test(abuse, resume_tokens_expire_after_resume_token_days) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, "\"resume_token_days\": 2");
  register_user(chatd.port, "hilda");
  g_autofree char *old = login_for_token(chatd.port, "hilda");
  g_autofree char *recent = login_for_token(chatd.port, "hilda");
  chatd_stop(&chatd);
  age_token(&chatd, old, 2);
  age_token(&chatd, recent, 1);
  chatd_restart(&chatd);
  g_autofree char *refused = resume_with(chatd.port, "hilda", old);
  cr_assert_null(refused, "a token issued 2 days ago worked with resume_token_days 2");
  g_autofree char *next = resume_with(chatd.port, "hilda", recent);
  cr_assert_not_null(next, "a token issued a day ago was refused");
  chatd_stop(&chatd);
  /* Left: the token of register_user's login, and the one that replaced
   * `recent`. */
  int stored = count_sessions(&chatd);
  cr_assert_eq(stored, 2, "%d tokens stored: the expired one (or the used one) is still there",
               stored);
  chatd_destroy(&chatd);
}

/* Item 5 (a limit on every table): each password login adds a token, so an
 * account keeps only its newest CHATD_RESUME_TOKENS_PER_USER. */
Test(abuse, an_account_keeps_its_16_newest_resume_tokens) {
  enum { PER_USER = 16 };
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, NULL);
  register_user(chatd.port, "ida");
  char *tokens[PER_USER + 1];
  for (int i = 0; i <= PER_USER; i++)
    tokens[i] = login_for_token(chatd.port, "ida");
  /* register_user logged in once too: 18 tokens issued, the 2 oldest went. */
  g_autofree char *oldest = resume_with(chatd.port, "ida", tokens[0]);
  cr_assert_null(oldest, "18 logins left the second oldest token working");
  g_autofree char *second = resume_with(chatd.port, "ida", tokens[1]);
  cr_assert_not_null(second, "the second oldest token was refused");
  for (int i = 0; i <= PER_USER; i++)
    g_free(tokens[i]);
  chatd_stop(&chatd);
  cr_assert_eq(count_sessions(&chatd), PER_USER);
  chatd_destroy(&chatd);
}

/* ---- connection slots ---- */

/* A TCP connection from source_ip that says nothing. */
static int raw_connect_from(const char *source_ip, guint16 port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in local = {.sin_family = AF_INET};
  inet_pton(AF_INET, source_ip, &local.sin_addr);
  cr_assert_eq(bind(fd, (struct sockaddr *)&local, sizeof local), 0, "bind: %s", g_strerror(errno));
  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  cr_assert_eq(connect(fd, (struct sockaddr *)&server, sizeof server), 0, "connect: %s",
               g_strerror(errno));
  return fd;
}

/* Whether chatd has closed fd (within timeout_ms). */
static gboolean closed_by_server(int fd, guint timeout_ms) {
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char byte;
  ssize_t n = recv(fd, &byte, 1, 0);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Item 7: connections from one address are capped. */
Test(abuse, one_address_holds_at_most_max_connections_per_address) {
  enum { CAP = 10 };
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, "\"max_connections_per_address\": 10");
  register_user(chatd.port, "gina");
  int fds[CAP + 2];
  for (int i = 0; i < CAP + 2; i++)
    fds[i] = raw_connect_from(ATTACKER, chatd.port);
  for (int i = 0; i < CAP; i++)
    cr_assert_not(closed_by_server(fds[i], 50), "connection %d was refused", i);
  cr_assert(closed_by_server(fds[CAP], 5000), "the 11th connection from one address was kept");
  cr_assert(closed_by_server(fds[CAP + 1], 5000));
  cr_assert(logs_in(chatd.port, VICTIM, "gina"));
  cr_assert(chatd_log_contains(&chatd, "server.max_connections_per_address"));
  for (int i = 0; i < CAP + 2; i++)
    close(fds[i]);
  chatd_destroy(&chatd);
}

/* Item 7: 498 idle connections that never logged in, against a limit of
 * 500, made most real logins fail. */
Test(abuse, a_crowd_that_never_logs_in_does_not_keep_users_out) {
  enum { LIMIT = 30 };
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, "\"max_connections\": 30");
  register_user(chatd.port, "hank");
  int fds[LIMIT];
  for (int i = 0; i < LIMIT; i++)
    fds[i] = raw_connect_from(ATTACKER, chatd.port);
  /* Every slot is taken by a connection that has not logged in... */
  for (int round = 0; round < 3; round++)
    cr_assert(logs_in(chatd.port, VICTIM, "hank"), "round %d: hank could not log in", round);
  /* ...and the oldest of them made room, one per newcomer. */
  cr_assert(closed_by_server(fds[0], 5000), "the oldest idle connection is still open");
  cr_assert(chatd_log_contains(&chatd, "makes room for a new one"));
  for (int i = 0; i < LIMIT; i++)
    close(fds[i]);
  chatd_destroy(&chatd);
}

/* Item 8: with a file limit of 256 and max_connections 20000 chatd started
 * silently, then spun on accept and logged 200,000 lines. */
Test(abuse, max_connections_is_fitted_to_the_file_limit, .timeout = 120) {
  enum { FD_LIMIT = 256, FLOOD = 300 };
  chatd_instance chatd;
  chatd_start_with_fd_limit(&chatd, FALSE, NULL, FD_LIMIT);
  cr_assert(chatd_log_contains(&chatd, "server.max_connections is lowered from 20000 to"), "%s",
            chatd.log->str);
  register_user(chatd.port, "iris");
  int fds[FLOOD];
  for (int i = 0; i < FLOOD; i++)
    fds[i] = raw_connect_from(ATTACKER, chatd.port);
  cr_assert(logs_in(chatd.port, VICTIM, "iris"), "iris could not log in past the flood");
  cr_assert_not(chatd_log_contains(&chatd, "cannot accept connections"),
                "chatd ran out of file descriptors:\n%s", chatd.log->str);
  for (int i = 0; i < FLOOD; i++)
    close(fds[i]);
  chatd_destroy(&chatd);
}

/* ---- memory ---- */

/* A client_echo of a string of n bytes. */
static void send_echo(test_client *c, gsize n) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_message_begin(&w, CHAT_DIALECT_V2, CHAT_MSG_CLIENT_ECHO);
  char *text = g_malloc(n);
  memset(text, 'e', n);
  chat_write_str(&w, text, n);
  g_free(text);
  cr_assert_eq(chat_writer_finish(&w), 0);
  client_send_raw(c, buf.data, buf.len);
  chat_buffer_clear(&buf);
}

/* Item 6: before login one connection made chatd hold 16 MiB with a single
 * MESSAGE_BEGIN. Before login messages are at most 64 KiB; after it the
 * configured limit applies. */
Test(abuse, before_login_a_message_is_at_most_64_kib_after_it_the_configured_size) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, NULL);
  register_user(chatd.port, "jack");

  test_client *stranger = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  send_echo(stranger, 100 * 1024);
  cr_assert(client_wait_closed(stranger, HARNESS_TIMEOUT_MS), "a 100 KiB message before login");
  cr_assert(chatd_log_contains(&chatd, "announces 102"), "%s", chatd.log->str);
  cr_assert(chatd_log_contains(&chatd, "the limit is 65536"));
  client_free(stranger);

  test_client *user = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
  send_echo(user, 1000);
  g_free(client_expect(user, "server_echo"));
  client_login(user, "jack", PASSWORD);
  send_echo(user, 1024 * 1024);
  g_autofree char *echo = client_expect(user, "server_echo");
  cr_assert_gt(strlen(echo), 1000, "the echo of 1 MiB after the login");
  client_free(user);
  chatd_destroy(&chatd);
}

/* ---- sizes: a server never stores what it could not send back ---- */

#define KIB 1024
/* chatd with 1 MiB messages: images up to 512 KiB. */
#define SMALL_MESSAGES "\"max_message_size\": 1048576"

/* A send_message of an image of n bytes (a PNG signature, then filler). */
static void send_image(test_client *c, int target_type, gint64 target_id, gsize n) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_message_begin(&w, CHAT_DIALECT_V2, CHAT_MSG_SEND_MESSAGE);
  guint8 *image = g_malloc(n);
  memset(image, 0x42, n);
  memcpy(image, "\x89PNG\r\n\x1a\n", MIN(n, 8));
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "target_type");
  chat_write_int(&w, target_type);
  chat_write_key_cstr(&w, "target_id");
  chat_write_int(&w, target_id);
  chat_write_key_cstr(&w, "message");
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "type");
  chat_write_int(&w, 1);
  chat_write_key_cstr(&w, "data");
  chat_write_bytes(&w, image, n);
  chat_write_dict_end(&w);
  chat_write_dict_end(&w);
  g_free(image);
  cr_assert_eq(chat_writer_finish(&w), 0);
  client_send_raw(c, buf.data, buf.len);
  chat_buffer_clear(&buf);
}

/* The next message that is not presence or a friend's profile. */
static char *next_skipping_presence(test_client *c) {
  for (;;) {
    char *next = client_next(c, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "nothing came");
    if (!g_str_has_prefix(next, "friend_on_off_line ") && !g_str_has_prefix(next, "contact_info "))
      return next;
    g_free(next);
  }
}

/* alice and bob, friends, both logged in (ids 1 and 2). */
static void two_friends(guint16 port, test_client **alice, test_client **bob) {
  *alice = client_connect_from(VICTIM, port, CHAT_DIALECT_V2);
  client_register(*alice, "alice", PASSWORD, "Alice");
  *bob = client_connect_from(OTHER, port, CHAT_DIALECT_V2);
  client_register(*bob, "bob", PASSWORD, "Bob");
  g_free(client_ask(*alice, "add_friend", "\"bob\"", "add_friend_result"));
  g_free(client_expect(*bob, "incoming_friend_request"));
  g_free(client_ask(*bob, "resolve_friend_request", "[1, true]", "contact_info"));
  g_free(client_expect(*alice, "contact_info"));
}

/* bob sends alice (user 1) n images of size bytes, each acknowledged. */
static void bob_sends_images(test_client *bob, int n, gsize size) {
  for (int i = 0; i < n; i++) {
    send_image(bob, 0, 1, size);
    g_autofree char *ack = next_skipping_presence(bob);
    cr_assert(g_str_has_prefix(ack, "on_new_message "), "%s", ack);
  }
}

/* Item 9: a 16 MiB send_message was stored, then could not be sent back. */
Test(abuse, an_image_over_max_image_size_is_refused_and_not_stored) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, SMALL_MESSAGES);
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  send_image(bob, 0, 1, 600 * KIB);
  g_autofree char *refused = next_skipping_presence(bob);
  cr_assert(g_str_has_prefix(refused, "request_failed {\"error\": \"message_too_large\"") &&
                strstr(refused, "the image is larger than the server accepts"),
            "%s", refused);
  cr_assert(client_quiet_for(alice, 200), "alice got the refused image");
  send_image(bob, 0, 1, 500 * KIB);
  g_autofree char *copy = next_skipping_presence(bob);
  cr_assert(g_str_has_prefix(copy, "on_new_message "), "%s", copy);
  g_autofree char *delivered = next_skipping_presence(alice);
  cr_assert(strstr(delivered, "\"$bytes_len\": 512000"), "%s", delivered);
  g_autofree char *page = client_ask(
      alice, "fetch_history",
      "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, \"limit\": 50}", "history_page");
  cr_assert(strstr(page, "\"$bytes_len\": 512000") && !strstr(page, "614400"), "%s", page);
  client_free(alice);
  client_free(bob);
  chatd_destroy(&chatd);
}

/* Item 9: a text whose notice would not fit in a message is refused. */
Test(abuse, a_text_too_large_to_send_back_is_refused) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, "\"max_message_size\": 65536");
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  g_autofree char *text = g_strnfill(63 * KIB, 'x');
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": 1, \"message\": {\"type\": 0, \"data\": \"%s\", "
      "\"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      text);
  client_send(bob, "send_message", params);
  g_autofree char *refused = next_skipping_presence(bob);
  cr_assert(strstr(refused, "the message is larger than the server accepts"), "%.200s", refused);
  client_free(alice);
  client_free(bob);
  chatd_destroy(&chatd);
}

/* Item 9: two 9 MiB images made every later session_bundle of the receiver
 * 18.9 MB: it never logged in again. Bundles carry previews. */
Test(abuse, a_session_bundle_carries_image_previews_not_images) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, SMALL_MESSAGES);
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  bob_sends_images(bob, 3, 500 * KIB);
  client_free(alice);
  client_free(bob);
  for (int round = 0; round < 2; round++) {
    test_client *c = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
    g_free(client_ask(c, "login", "[\"alice\", \"" PASSWORD "\"]", "login_successful"));
    g_autofree char *bundle = client_expect(c, "session_bundle");
    cr_assert(strstr(bundle, "\"message\": {\"type\": 1, \"format\": \"png\", \"size\": 512000}"),
              "%s", bundle);
    cr_assert_lt(strlen(bundle), 4096, "%s", bundle);
    client_free(c);
  }
  chatd_destroy(&chatd);
}

/* Item 9: a history page of 200 messages could overflow a message. Pages
 * hold what fits, and `more` brings the rest. */
Test(abuse, history_pages_are_bounded_in_bytes) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, SMALL_MESSAGES);
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  enum { IMAGES = 5 };
  bob_sends_images(bob, IMAGES, 400 * KIB);
  gint64 before = 0;
  guint seen = 0, pages = 0;
  for (;;) {
    g_autofree char *ask =
        g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"before_id\": %" G_GINT64_FORMAT
                        ", \"limit\": 200}",
                        before);
    client_send(alice, "fetch_history", ask);
    g_autofree char *page = NULL;
    while (!page) {
      char *next = next_skipping_presence(alice);
      if (g_str_has_prefix(next, "history_page "))
        page = next;
      else
        g_free(next);
    }
    pages++;
    guint in_page = 0;
    for (const char *p = page; (p = strstr(p, "\"id\": ")) != NULL; p++) {
      before = g_ascii_strtoll(p + 6, NULL, 10);
      in_page++;
    }
    cr_assert_leq(in_page, 2, "a page of 1 MiB holds two images of 400 KiB: %u", in_page);
    seen += in_page;
    if (strstr(page, "\"more\": false"))
      break;
    cr_assert(strstr(page, "\"more\": true"), "%s", page);
    cr_assert_lt(pages, 10);
  }
  cr_assert_eq(seen, IMAGES);
  cr_assert_eq(pages, 3);
  client_free(alice);
  client_free(bob);
  chatd_destroy(&chatd);
}

/* Item 9: a message stored before the limits (a 900 KiB image, over the
 * 512 KiB limit) goes as a preview, and logins still work. */
Test(abuse, a_legacy_image_too_large_to_send_goes_as_a_preview) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, SMALL_MESSAGES);
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  client_free(alice);
  client_free(bob);
  chatd_stop(&chatd);
  g_autofree char *path = g_build_filename(chatd.dir, "chat.db", NULL);
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db,
                            "INSERT INTO messages (id, sender_id, target_type, target_id, sent_ms,"
                            " kind, image, image_size, image_format)"
                            " VALUES (1, 2, 0, 1, 0, 1, zeroblob(921600), 921600, 'jpeg')",
                            NULL, NULL, NULL),
               SQLITE_OK, "%s", sqlite3_errmsg(db));
  sqlite3_close(db);
  chatd_restart(&chatd);
  alice = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
  client_login(alice, "alice", PASSWORD);
  g_autofree char *page = client_ask(
      alice, "fetch_history",
      "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, \"limit\": 50}", "history_page");
  cr_assert(strstr(page, "{\"type\": 1, \"format\": \"jpeg\", \"size\": 921600}"), "%s", page);
  client_free(alice);
  chatd_destroy(&chatd);
}

/* Item 9: the seed dialect's login_bundle has no paging: it carries the
 * newest messages that fit in one message. */
Test(abuse, a_seed_login_bundle_carries_the_newest_messages_that_fit) {
  chatd_instance chatd;
  chatd_start(&chatd, TRUE, SMALL_MESSAGES);
  test_client *alice, *bob;
  two_friends(chatd.port, &alice, &bob);
  enum { IMAGES = 5 };
  bob_sends_images(bob, IMAGES, 400 * KIB);
  client_free(alice);
  client_free(bob);
  test_client *seed = client_connect(chatd.port, CHAT_DIALECT_SEED);
  g_free(client_ask(seed, "login", "[\"alice\", \"" PASSWORD "\"]", "login_successful"));
  g_autofree char *bundle = client_expect(seed, "login_bundle");
  guint carried = 0;
  for (const char *p = bundle; (p = strstr(p, "$bytes_len")) != NULL; p++)
    carried++;
  cr_assert_eq(carried, 2, "two 400 KiB images fit in 1 MiB: %s", bundle);
  cr_assert(chatd_log_contains(&chatd, "carries its newest 2 messages"), "%s", chatd.log->str);
  client_free(seed);
  chatd_destroy(&chatd);
}

/* ---- names ---- */

/* Item 13: the nickname "x: ok\n2026-12-03 09:00:00 #9 Admin" forged lines
 * wherever it was printed. Names that break or reorder a line are refused. */
Test(abuse, nicknames_and_room_names_cannot_break_lines) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, NULL);
  test_client *c = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
  g_autofree char *refused =
      client_ask(c, "register", "[\"mallory\", \"pw\", \"x: ok\\n2026-12-03 09:00:00 #9 Admin\"]",
                 "request_failed");
  cr_assert_str_eq(refused, "{\"error\": \"invalid_nickname\", \"text\": \"the nickname contains a "
                            "line break or control character\"}");
  client_register(c, "mallory", PASSWORD, "Mallory");
  static const char *const bad[] = {"\"a\\rb\"", "\"\\u202eevil\"", "\"tab\\there\"",
                                    "\"esc\\u001b[31m\""};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *answer = client_ask(c, "set_nickname", bad[i], "request_failed");
    cr_assert(strstr(answer, "line break or control character"), "%s: %s", bad[i], answer);
    g_autofree char *room = client_ask(c, "create_room", bad[i], "request_failed");
    cr_assert(strstr(room, "the room name contains"), "%s: %s", bad[i], room);
  }
  g_autofree char *updated =
      client_ask(c, "set_nickname", "\"  Mallory 🙂  \"", "profile_updated");
  cr_assert(strstr(updated, "\"nickname\": \"Mallory 🙂\""), "%s", updated);
  client_free(c);
  chatd_destroy(&chatd);
}

/* Item 6 at full size: 80 connections that never logged in had chatd echo
 * 5,700 messages of 60 KiB a second. Before login an echo pauses its
 * connection (100 ms, and a millisecond per 64 bytes); after it, none. */
Test(abuse, echoes_before_login_are_paced) {
  chatd_instance chatd;
  chatd_start(&chatd, FALSE, NULL);
  register_user(chatd.port, "lena");
  test_client *stranger = client_connect_from(ATTACKER, chatd.port, CHAT_DIALECT_V2);
  enum { ECHOES = 3, SIZE = 60 * 1024 };
  gint64 start = g_get_monotonic_time();
  for (int i = 0; i < ECHOES; i++)
    send_echo(stranger, SIZE);
  for (int i = 0; i < ECHOES; i++)
    g_free(client_expect(stranger, "server_echo"));
  gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
  cr_assert_geq(took_ms, 2 * SIZE / 64, "%d echoes of 60 KiB in %" G_GINT64_FORMAT " ms", ECHOES,
                took_ms);
  client_free(stranger);
  test_client *user = client_connect_from(VICTIM, chatd.port, CHAT_DIALECT_V2);
  client_login(user, "lena", PASSWORD);
  start = g_get_monotonic_time();
  for (int i = 0; i < ECHOES; i++)
    send_echo(user, SIZE);
  for (int i = 0; i < ECHOES; i++)
    g_free(client_expect(user, "server_echo"));
  took_ms = (g_get_monotonic_time() - start) / 1000;
  cr_assert_lt(took_ms, 2 * SIZE / 64, "a logged-in user's echoes were paced too");
  client_free(user);
  chatd_destroy(&chatd);
}
