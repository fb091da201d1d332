/* chatd when its database cannot be written (issue 9, items 10-11): what it
 * answers must agree with what it stored, before and after a restart, for
 * every kind of write; a database it cannot write is refused at start; the
 * file size limit makes writes fail like a full disk instead of killing it.
 *
 * A real chatd. The writes fail because chatd runs under RLIMIT_FSIZE: once
 * its write-ahead log cannot grow (and its checkpoints cannot extend the
 * database), every commit fails, like on a full disk. */
#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chatd-harness.h"
#include "run-program.h"

#define PASSWORD "pw"
/* The file size limit: the database's size plus a few pages, and never
 * under the 32 KiB of SQLite's shared memory file. */
#define FULL_DISK_SLACK (12 * 1024)
#define FULL_DISK_MIN (40 * 1024)
#define FILL_TEXT_BYTES 3000
#define FILL_ATTEMPTS 200
#define FULL_FAILURES_IN_A_ROW 3
#define FULL_CHECK_PAUSE_MS 300
#define NOBODY_UID 65534

static chatd_instance chatd;

static void finish(void) {
  chatd_destroy(&chatd);
}

/* A client logged in as user (fails the test when it cannot). */
static test_client *login(const char *user, const char *password) {
  test_client *c = client_connect(chatd.port, CHAT_DIALECT_V2);
  client_login(c, user, password);
  return c;
}

/* The answer to a login: TRUE when it worked. */
static gboolean can_log_in(const char *user, const char *password) {
  test_client *c = client_connect(chatd.port, CHAT_DIALECT_V2);
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, password);
  client_send(c, "login", params);
  g_autofree char *reply = client_next(c, HARNESS_TIMEOUT_MS);
  client_free(c);
  return reply && g_str_has_prefix(reply, "login_successful ");
}

/* Everything a fresh login of user is told, as one string of JSON lines. */
static char *login_view(const char *user) {
  test_client *c = client_connect(chatd.port, CHAT_DIALECT_V2);
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, PASSWORD);
  client_send(c, "login", params);
  GString *view = g_string_new(NULL);
  for (;;) {
    char *next = client_next(c, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "no bundle for %s", user);
    /* The resume token is new at each login; the rest must not change. */
    gboolean bundle = g_str_has_prefix(next, "session_bundle ");
    if (!g_str_has_prefix(next, "friend_on_off_line") &&
        !g_str_has_prefix(next, "room_user_on_off_line")) {
      char *token = strstr(next, "\"token\"");
      if (token)
        *token = '\0';
      g_string_append_printf(view, "%s\n", next);
    }
    g_free(next);
    if (bundle)
      break;
  }
  client_free(c);
  return g_string_free(view, FALSE);
}

/* A request_failed's parameters (or the whole reply) say the database
 * refused the write. */
static gboolean failed_to_save(const char *reply) {
  return strstr(reply, "\"error\": \"storage_failed\"") != NULL &&
         (strstr(reply, "could not be saved") != NULL ||
          strstr(reply, "could not be created") != NULL);
}

static gint64 register_user(const char *user) {
  test_client *c = client_connect(chatd.port, CHAT_DIALECT_V2);
  gint64 id = client_register(c, user, PASSWORD, user);
  client_free(c);
  return id;
}

Test(store_faults, what_chatd_answers_while_writes_fail_is_what_it_stored, .fini = finish,
     .timeout = 180) {
  chatd_start(&chatd, FALSE, NULL);
  gint64 alice_id = register_user("alice");
  gint64 bob_id = register_user("bob");
  register_user("dave");
  gint64 erin_id = register_user("erin");
  (void)alice_id;
  test_client *a = login("alice", PASSWORD);
  client_send(a, "add_friend", "\"bob\"");
  g_free(client_expect(a, "add_friend_result"));
  client_free(a);
  test_client *b = login("bob", PASSWORD);
  g_autofree char *accept_alice = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", alice_id);
  client_send(b, "resolve_friend_request", accept_alice);
  g_free(client_expect(b, "contact_info"));
  client_free(b);
  test_client *e = login("erin", PASSWORD);
  client_send(e, "add_friend", "\"alice\"");
  g_free(client_expect(e, "add_friend_result"));
  client_free(e);
  a = login("alice", PASSWORD);
  client_send(a, "create_room", "\"book club\"");
  g_autofree char *room = client_expect(a, "contact_info");
  gint64 room_id = g_ascii_strtoll(strstr(room, "\"id\": ") + 6, NULL, 10);
  client_free(a);

  /* The disk is full from now on: chatd may write its files a few pages
   * past the database's size, no further. Once the committed pages reach
   * past that limit, no checkpoint can copy them back, so the write-ahead
   * log can never start over, and fills: every later commit fails. */
  chatd_stop(&chatd);
  g_autofree char *db = g_build_filename(chatd.dir, "chat.db", NULL);
  GStatBuf st;
  cr_assert_eq(g_stat(db, &st), 0);
  chatd.file_size_limit = MAX((gulong)st.st_size + FULL_DISK_SLACK, (gulong)FULL_DISK_MIN);
  chatd_restart(&chatd);
  test_client *filler = login("bob", PASSWORD);
  char filling[FILL_TEXT_BYTES + 1];
  memset(filling, 'f', FILL_TEXT_BYTES);
  filling[FILL_TEXT_BYTES] = '\0';
  g_autofree char *to_alice = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"%s\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      alice_id, filling);
  guint failed_in_a_row = 0;
  for (int i = 0; i < FILL_ATTEMPTS && failed_in_a_row < FULL_FAILURES_IN_A_ROW; i++) {
    client_send(filler, "send_message", to_alice);
    char *reply = client_next(filler, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(reply);
    gboolean failed = g_str_has_prefix(reply, "request_failed") && failed_to_save(reply);
    g_free(reply);
    failed_in_a_row = failed ? failed_in_a_row + 1 : 0;
    /* Give the checkpointer time to try (and fail): the writer asks for
     * one when it has been idle 100 ms. */
    if (failed)
      harness_spin(FULL_CHECK_PAUSE_MS);
  }
  gboolean full = failed_in_a_row >= FULL_FAILURES_IN_A_ROW;
  client_free(filler);
  cr_assert(full, "the writes never failed");
  (void)bob_id;
  g_autofree char *alice_before = login_view("alice");
  g_autofree char *dave_before = login_view("dave");
  a = login("alice", PASSWORD);

  /* Each kind of write fails, and memory does not move. */
  test_client *c = client_connect(chatd.port, CHAT_DIALECT_V2);
  client_send(c, "register", "[\"carol\", \"pw\", \"Carol\"]");
  g_autofree char *registered = client_expect(c, "request_failed");
  cr_assert(failed_to_save(registered), "%s", registered);
  client_free(c);
  cr_assert_not(can_log_in("carol", PASSWORD), "carol's account exists in memory only");

  client_send(a, "set_nickname", "\"Alice the Second\"");
  g_autofree char *nick = client_expect(a, "request_failed");
  cr_assert(failed_to_save(nick), "%s", nick);

  client_send(a, "add_friend", "\"dave\"");
  g_autofree char *asked = client_expect(a, "request_failed");
  cr_assert(failed_to_save(asked), "%s", asked);
  client_send(a, "add_friend", "\"dave\"");
  g_autofree char *again = client_expect(a, "request_failed");
  cr_assert(failed_to_save(again), "the failed request stayed in memory: %s", again);

  g_autofree char *accept_erin = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", erin_id);
  client_send(a, "resolve_friend_request", accept_erin);
  g_autofree char *resolved = client_expect(a, "request_failed");
  cr_assert(failed_to_save(resolved), "%s", resolved);

  client_send(a, "create_room", "\"never\"");
  g_autofree char *created = client_expect(a, "request_failed");
  cr_assert(failed_to_save(created), "%s", created);

  g_autofree char *room_text = g_strdup_printf("%" G_GINT64_FORMAT, room_id);
  client_send(a, "leave_room", room_text);
  g_autofree char *left = client_expect(a, "request_failed");
  cr_assert(failed_to_save(left), "%s", left);

  client_send(a, "set_password", "[\"pw\", \"new password\"]");
  g_autofree char *changed = client_expect(a, "request_failed");
  cr_assert(failed_to_save(changed), "%s", changed);
  client_free(a);
  cr_assert(can_log_in("alice", PASSWORD), "the old password stopped working");
  cr_assert_not(can_log_in("alice", "new password"), "the new password works in memory only");

  test_client *d = login("dave", PASSWORD);
  client_send(d, "join_room", room_text);
  g_autofree char *joined = client_expect(d, "request_failed");
  cr_assert(failed_to_save(joined), "%s", joined);
  client_free(d);

  /* Memory says what it said before the failed writes... */
  g_autofree char *alice_after = login_view("alice");
  g_autofree char *dave_after = login_view("dave");
  cr_assert_str_eq(alice_after, alice_before);
  cr_assert_str_eq(dave_after, dave_before);

  /* ...and the database agrees: a restart with room to write shows the same. */
  chatd.file_size_limit = 0;
  chatd_restart(&chatd);
  g_autofree char *alice_restarted = login_view("alice");
  g_autofree char *dave_restarted = login_view("dave");
  cr_assert_str_eq(alice_restarted, alice_before);
  cr_assert_str_eq(dave_restarted, dave_before);
  cr_assert_not(can_log_in("carol", PASSWORD));
}

Test(store_faults, a_database_chatd_cannot_write_is_refused_at_start, .fini = finish) {
  chatd_start(&chatd, FALSE, NULL);
  chatd_stop(&chatd);
  g_autofree char *db = g_build_filename(chatd.dir, "chat.db", NULL);
  if (getuid() == 0) {
    /* root may write anything: chatd runs as nobody for this test */
    g_autofree char *chown_cmd = g_strdup_printf("chown -R %d %s", NOBODY_UID, chatd.dir);
    cr_assert_eq(system(chown_cmd), 0);
    chatd.run_as_uid = NOBODY_UID;
  }
  cr_assert_eq(g_chmod(db, 0400), 0);
  const char *argv[] = {CHATD_PATH, "--config", chatd.config_path, NULL};
  program_result r = {0};
  run_program_as(argv, chatd.run_as_uid, &r);
  cr_assert_eq(r.status, 1, "chatd started on a read-only database; stderr: %s", r.err);
  cr_assert(strstr(r.err, "cannot write") && strstr(r.err, "chat.db"), "%s", r.err);
  program_result_clear(&r);
}
