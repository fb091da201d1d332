/* chatd end to end: the rules a peer would otherwise guess (spec/protocol.md
 * 5.5 "One connection per account", 5.8 "Sessions, timeouts and field
 * limits", 7 "known_hosts"): presence on a kick and on a disconnect, what
 * works before login and while logged in, the login timeout, every field
 * limit at its bound (accepted) and one past it (refused), and the host
 * form known_hosts keeps.
 *
 * A refusal is general_failure in the seed dialect; in v2 it may be
 * request_failed (spec 5.4, code 205): expect_refused takes either and
 * looks for the reason in its parameters. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd-harness.h"
#include "protocol/gio/chat-dial.h"

static chatd_instance chatd;

#define SEED CHAT_DIALECT_SEED
#define V2 CHAT_DIALECT_V2

static void start_legacy(void) {
  chatd_start(&chatd, TRUE, NULL);
}
static void finish(void) {
  chatd_destroy(&chatd);
}

static void expect_eq(test_client *c, const char *name, const char *params) {
  g_autofree char *got = client_expect(c, name);
  cr_assert_str_eq(got, params, "%s", name);
}

static void ask_eq(test_client *c, const char *name, const char *params, const char *reply,
                   const char *expected) {
  client_send(c, name, params);
  expect_eq(c, reply, expected);
}

/* The next message is one of the names given (NULL-terminated) and its
 * parameters contain needle (may be NULL). */
static void expect_one_of(test_client *c, const char *const *names, const char *needle) {
  g_autofree char *next = client_next(c, HARNESS_TIMEOUT_MS);
  cr_assert_not_null(next, "expected %s, got nothing", names[0]);
  gboolean named = FALSE;
  for (const char *const *n = names; *n && !named; n++) {
    size_t len = strlen(*n);
    named = strncmp(next, *n, len) == 0 && next[len] == ' ';
  }
  cr_assert(named, "expected %s, got %s", names[0], next);
  cr_assert(!needle || strstr(next, needle), "%s lacks %s", next, needle);
}

/* A failed request: general_failure, or v2's request_failed. */
static void expect_refused(test_client *c, const char *needle) {
  static const char *const names[] = {"general_failure", "request_failed", NULL};
  expect_one_of(c, names, needle);
}

static void ask_refused(test_client *c, const char *name, const char *params, const char *needle) {
  client_send(c, name, params);
  expect_refused(c, needle);
}

/* A failed login: login_failed, or v2's request_failed. */
static void expect_login_refused(test_client *c) {
  static const char *const names[] = {"login_failed", "request_failed", NULL};
  expect_one_of(c, names, NULL);
}

static test_client *registered(chat_dialect dialect, const char *user, const char *nickname) {
  test_client *c = client_connect(chatd.port, dialect);
  client_register(c, user, "pw", nickname);
  return c;
}

/* alice (1) and bob (2), friends, both logged in. */
static void friends(chat_dialect dialect, test_client **alice, test_client **bob) {
  *alice = registered(dialect, "alice", "Alice");
  *bob = registered(dialect, "bob", "Bob");
  g_free(client_ask(*alice, "add_friend", "\"bob\"", "add_friend_result"));
  g_free(client_expect(*bob, "incoming_friend_request"));
  g_free(client_ask(*bob, "resolve_friend_request", "[1, true]", "contact_info"));
  g_free(client_expect(*alice, "contact_info"));
}

/* send_message parameters: a text to user 2 with a size and a colour. */
static char *text_to_bob(const char *text, const char *fontsize, const char *fontcolor) {
  return g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, "
                         "\"data\": \"%s\", \"fontsize\": %s, \"fontcolor\": %s}}",
                         text, fontsize, fontcolor);
}

/* ---- presence: a kick is not a disconnect (spec 5.5) ---- */

static void kick_keeps_presence(chat_dialect dialect) {
  test_client *a, *b;
  friends(dialect, &a, &b);
  g_free(client_ask(a, "create_room", "\"walks\"", "contact_info"));
  g_free(client_expect(a, "general_msg"));
  g_free(client_ask(b, "join_room", "1", "contact_info"));

  /* alice logs in again elsewhere: the old connection is kicked, and bob
   * sees her come online again, never go offline. */
  test_client *again = client_connect(chatd.port, dialect);
  client_login(again, "alice", "pw");
  g_free(client_expect_skipping(a, "server_kick"));
  cr_assert(client_wait_closed(a, HARNESS_TIMEOUT_MS), "the kicked connection is closed");
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  expect_eq(b, "room_user_on_off_line", "[1, 1, true]");
  cr_assert(client_quiet_for(b, 300), "bob got more than alice's new login");

  /* Her connection ends for real: now she is offline. */
  client_free(again);
  expect_eq(b, "friend_on_off_line", "[false, 1]");
  expect_eq(b, "room_user_on_off_line", "[1, 1, false]");
  client_free(a);
  client_free(b);
}

Test(chatd_rules, seed_a_kick_keeps_the_user_online_a_disconnect_does_not, .init = start_legacy,
     .fini = finish) {
  kick_keeps_presence(SEED);
}

Test(chatd_rules, v2_a_kick_keeps_the_user_online_a_disconnect_does_not, .init = start_legacy,
     .fini = finish) {
  kick_keeps_presence(V2);
}

/* ---- before login ---- */

typedef struct {
  const char *name;
  const char *params;
  gboolean v2_only;
} login_request;

/* Every request that needs a login, with parameters of the right shape. */
static const login_request needs_login[] = {
    {"add_friend", "\"bob\"", FALSE},
    {"resolve_friend_request", "[1, true]", FALSE},
    {"send_message",
     "{\"target_type\": 0, \"target_id\": 1, \"message\": {\"type\": 0, \"data\": \"x\", "
     "\"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
     FALSE},
    {"join_room", "1", FALSE},
    {"create_room", "\"r\"", FALSE},
    {"query_room_users", "1", FALSE},
    {"logout", "null", TRUE},
    {"fetch_history", "{\"target_type\": 0, \"target_id\": 1, \"before_id\": 0, \"limit\": 1}",
     TRUE},
    {"mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 1}", TRUE},
    {"leave_room", "1", TRUE},
    {"set_nickname", "\"x\"", TRUE},
    {"set_password", "[\"a\", \"b\"]", TRUE},
};

static void before_login(chat_dialect dialect) {
  test_client *c = client_connect(chatd.port, dialect);
  for (gsize i = 0; i < G_N_ELEMENTS(needs_login); i++) {
    if (needs_login[i].v2_only && dialect == SEED)
      continue;
    ask_refused(c, needs_login[i].name, needs_login[i].params, "log in first");
  }
  /* The connection stays open, and these work without a login. */
  ask_eq(c, "client_echo", "[1]", "server_echo", "[1]");
  ask_refused(c, "bad", "null", "bad request");
  if (dialect == V2) {
    client_send(c, "resume", "{\"username\": \"alice\", \"token\": {\"$bytes\": \"AAAA\"}}");
    expect_login_refused(c);
  }
  client_send(c, "login", "[\"alice\", \"pw\"]");
  expect_login_refused(c);
  ask_eq(c, "register", "[\"alice\", \"pw\", \"Alice\"]", "register_successful", "1");
  g_free(client_ask(c, "login", "[\"alice\", \"pw\"]", "login_successful"));
  client_free(c);
}

Test(chatd_rules, seed_only_login_register_echo_and_bad_work_before_login, .init = start_legacy,
     .fini = finish) {
  before_login(SEED);
}

Test(chatd_rules, v2_only_login_register_resume_echo_and_bad_work_before_login,
     .init = start_legacy, .fini = finish) {
  before_login(V2);
}

/* ---- register and login while logged in ---- */

Test(chatd_rules, register_and_login_while_logged_in, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(SEED, &a, &b);
  /* register creates another account; the connection stays alice's. */
  ask_eq(a, "register", "[\"carol\", \"pw\", \"Carol\"]", "register_successful", "3");
  g_autofree char *hi = text_to_bob("hi", "12", "\"#000000\"");
  g_autofree char *mine = client_ask(a, "send_message", hi, "on_new_message");
  cr_assert(strstr(mine, "\"sender_id\": 1"), "%s", mine);
  g_free(client_expect(b, "on_new_message"));
  cr_assert(client_quiet_for(b, 200), "a register announces nothing");

  /* login as the same account again: the whole login answer again; bob
   * sees her online again (never offline). */
  g_free(client_ask(a, "login", "[\"alice\", \"pw\"]", "login_successful"));
  g_free(client_expect(a, "login_bundle"));
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  cr_assert(client_quiet_for(b, 200));

  /* A failed login of another account changes nothing. */
  ask_eq(a, "login", "[\"carol\", \"wrong\"]", "login_failed", "null");
  g_autofree char *still = client_ask(a, "send_message", hi, "on_new_message");
  cr_assert(strstr(still, "\"sender_id\": 1"), "still alice: %s", still);
  g_free(client_expect(b, "on_new_message"));

  /* login as another account: alice's session ends (bob sees her go
   * offline), and the connection is carol's. */
  ask_eq(a, "login", "[\"carol\", \"pw\"]", "login_successful",
         "{\"id\": 3, \"username\": \"carol\", \"nickname\": \"Carol\", \"online\": true}");
  g_free(client_expect(a, "login_bundle"));
  expect_eq(b, "friend_on_off_line", "[false, 1]");
  ask_eq(a, "add_friend", "\"bob\"", "add_friend_result", "[true, \"\"]");
  g_autofree char *request = client_expect(b, "incoming_friend_request");
  cr_assert(strstr(request, "\"username\": \"carol\""), "%s", request);
  client_free(a);
  client_free(b);
}

/* The resume token of the session_bundle that comes next, in base64. */
static char *bundle_token(test_client *c) {
  g_autofree char *next = client_next_full(c, HARNESS_TIMEOUT_MS);
  cr_assert(next && g_str_has_prefix(next, "session_bundle "), "%s", next);
  const char *key = "\"token\": {\"$bytes\": \"";
  const char *at = strstr(next, key);
  cr_assert_not_null(at, "%s", next);
  at += strlen(key);
  return g_strndup(at, strcspn(at, "\""));
}

static char *resume_params(const char *token) {
  return g_strdup_printf("{\"username\": \"alice\", \"token\": {\"$bytes\": \"%s\"}}", token);
}

Test(chatd_rules, v2_login_and_resume_while_logged_in, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(V2, &a, &b);
  /* Each login of the same account on the connection answers in full with
   * a new token; bob only ever sees her online. */
  g_free(client_ask(a, "login", "[\"alice\", \"pw\"]", "login_successful"));
  g_autofree char *t1 = bundle_token(a);
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  g_free(client_ask(a, "login", "[\"alice\", \"pw\"]", "login_successful"));
  g_autofree char *t2 = bundle_token(a);
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  g_autofree char *with_t2 = resume_params(t2);
  g_free(client_ask(a, "resume", with_t2, "login_successful"));
  g_autofree char *t3 = bundle_token(a);
  cr_assert(strcmp(t1, t2) != 0 && strcmp(t2, t3) != 0 && strcmp(t1, t3) != 0);
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  cr_assert(client_quiet_for(b, 200), "bob saw more than her logins");
  /* The later logins did not revoke t1: it logs in elsewhere (a kick). t2
   * was used by the resume: refused. */
  test_client *other = client_connect(chatd.port, V2);
  g_autofree char *with_t1 = resume_params(t1);
  g_free(client_ask(other, "resume", with_t1, "login_successful"));
  g_free(client_expect_skipping(a, "server_kick"));
  expect_eq(b, "friend_on_off_line", "[true, 1]");
  test_client *late = client_connect(chatd.port, V2);
  client_send(late, "resume", with_t2);
  expect_login_refused(late);
  client_free(late);
  client_free(other);
  client_free(a);
  client_free(b);
}

/* ---- the login timeout ---- */

static void start_login_timeout(void) {
  chatd_start(&chatd, TRUE, "\"login_timeout\": 2");
}

Test(chatd_rules, no_login_within_login_timeout_closes_without_a_message,
     .init = start_login_timeout, .fini = finish) {
  test_client *seed = client_connect(chatd.port, SEED);
  test_client *v2 = client_connect(chatd.port, V2);
  test_client *in = registered(V2, "alice", "Alice");
  cr_assert(client_wait_closed(seed, HARNESS_TIMEOUT_MS), "seed connection still open");
  cr_assert(client_wait_closed(v2, HARNESS_TIMEOUT_MS), "v2 connection still open");
  cr_assert(g_queue_is_empty(&seed->inbox) && g_queue_is_empty(&v2->inbox),
            "a message came before the close");
  cr_assert(chatd_log_contains(&chatd, "no login within 2 s"), "%s", chatd.log->str);
  /* A logged-in connection is not touched. */
  ask_eq(in, "client_echo", "\"still here\"", "server_echo", "\"still here\"");
  client_free(seed);
  client_free(v2);
  client_free(in);
}

/* ---- field limits (spec 5.8) ---- */

/* A string of n copies of the UTF-8 character c. */
static char *repeat(const char *c, int n) {
  GString *s = g_string_new(NULL);
  for (int i = 0; i < n; i++)
    g_string_append(s, c);
  return g_string_free(s, FALSE);
}

static void register_refused(test_client *c, const char *user, const char *password,
                             const char *nickname, const char *needle) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\", \"%s\"]", user, password, nickname);
  ask_refused(c, "register", params, needle);
}

static void register_ok(test_client *c, const char *user, const char *password,
                        const char *nickname) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\", \"%s\"]", user, password, nickname);
  g_free(client_ask(c, "register", params, "register_successful"));
}

Test(chatd_rules, usernames_are_1_to_32_bytes_after_normalisation, .init = start_legacy,
     .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  /* 32 bytes once trimmed and lower-cased. */
  g_autofree char *a32 = repeat("A", 32);
  g_autofree char *padded = g_strdup_printf("  %s \\t", a32);
  register_ok(c, padded, "pw", "n");
  g_autofree char *a33 = repeat("a", 33);
  register_refused(c, a33, "pw", "n", "the username is longer than 32 bytes");
  /* Bytes, not characters: 16 x U+00E9 is 32 bytes, one more is 34. */
  g_autofree char *e16 = repeat("é", 16);
  register_ok(c, e16, "pw", "n");
  g_autofree char *e17 = repeat("é", 17);
  register_refused(c, e17, "pw", "n", "longer than 32 bytes");
  /* U+00C9 lower-cases to U+00E9 before the check: the same account. */
  g_autofree char *upper16 = repeat("É", 16);
  g_autofree char *upper = g_strdup_printf("[\"%s\", \"pw\", \"n\"]", upper16);
  ask_eq(c, "register", upper, "username_taken", "null");
  register_refused(c, "   ", "pw", "n", "the username is empty");
  register_refused(c, "a b", "pw", "n", "spaces or control characters");
  register_refused(c, "a\\u3000b", "pw", "n", "spaces or control characters");
  register_refused(c, "a\\u0000b", "pw", "n", "spaces or control characters");
  register_refused(c, "a\\u202eb", "pw", "n", "spaces or control characters");
  /* A name with a NUL is nobody's: it does not log in as its prefix. */
  client_send(c, "login", "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\u0000x\", \"pw\"]");
  expect_login_refused(c);
  g_autofree char *login = g_strdup_printf("[\"%s\", \"pw\"]", a33 + 1);
  g_free(client_ask(c, "login", login, "login_successful"));
  client_free(c);
}

Test(chatd_rules, passwords_are_1_to_1024_bytes_without_nul, .init = start_legacy, .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  g_autofree char *p1024 = repeat("p", 1024);
  register_ok(c, "alice", p1024, "n");
  g_autofree char *p1025 = repeat("p", 1025);
  register_refused(c, "bob", p1025, "n", "the password must be 1 to 1024 bytes");
  register_refused(c, "bob", "", "n", "the password must be 1 to 1024 bytes");
  register_refused(c, "bob", "pw\\u0000more", "n", "the password contains a NUL");
  register_ok(c, "bob", "x", "n");
  /* A NUL never matches: "x\0y" is not "x". */
  ask_eq(c, "login", "[\"bob\", \"x\\u0000y\"]", "login_failed", "null");
  g_autofree char *login = g_strdup_printf("[\"alice\", \"%s\"]", p1024);
  g_free(client_ask(c, "login", login, "login_successful"));
  g_free(client_expect(c, "login_bundle"));
  client_free(c);

  c = registered(V2, "carol", "Carol");
  ask_refused(c, "set_password", "[\"pw\", \"\"]", "the password must be 1 to 1024 bytes");
  g_autofree char *too_long = g_strdup_printf("[\"pw\", \"%s\"]", p1025);
  ask_refused(c, "set_password", too_long, "the password must be 1 to 1024 bytes");
  ask_refused(c, "set_password", "[\"pw\", \"a\\u0000b\"]", "the password contains a NUL");
  g_autofree char *at_limit = g_strdup_printf("[\"pw\", \"%s\"]", p1024);
  ask_eq(c, "set_password", at_limit, "password_changed", "null");
  client_free(c);
}

Test(chatd_rules, nicknames_and_room_names_are_1_to_64_bytes_after_trimming, .init = start_legacy,
     .fini = finish) {
  test_client *c = client_connect(chatd.port, V2);
  /* 21 x U+4F60 is 63 bytes; with one ASCII letter 64. */
  g_autofree char *ni21 = repeat("你", 21);
  g_autofree char *n64 = g_strdup_printf("  %sa ", ni21);
  g_autofree char *n65 = g_strdup_printf("%sab", ni21);
  register_refused(c, "alice", "pw", n65, "the nickname is longer than 64 bytes");
  register_refused(c, "alice", "pw", "  ", "the nickname is empty");
  register_refused(c, "alice", "pw", "a\\nb", "the nickname contains a line break");
  register_ok(c, "alice", "pw", n64);
  g_free(client_ask(c, "login", "[\"alice\", \"pw\"]", "login_successful"));
  g_free(client_expect_skipping(c, "session_bundle"));
  g_autofree char *nick_long = g_strdup_printf("\"%s\"", n65);
  ask_refused(c, "set_nickname", nick_long, "the nickname is longer than 64 bytes");
  ask_refused(c, "set_nickname", "\"\"", "the nickname is empty");
  g_autofree char *nick_ok = g_strdup_printf("\"%s\"", n64);
  g_autofree char *profile = client_ask(c, "set_nickname", nick_ok, "profile_updated");
  g_autofree char *trimmed = g_strdup_printf("\"nickname\": \"%sa\"", ni21);
  cr_assert(strstr(profile, trimmed), "%s", profile);
  ask_refused(c, "create_room", nick_long, "the room name is longer than 64 bytes");
  ask_refused(c, "create_room", "\" \"", "the room name is empty");
  ask_refused(c, "create_room", "\"a\\u2028b\"", "the room name contains a line break");
  g_autofree char *room = client_ask(c, "create_room", nick_ok, "contact_info");
  cr_assert(strstr(room, trimmed + strlen("\"nickname\": ")), "%s", room);
  client_free(c);
}

/* The longest text: CHAT_TEXT_MAX (1 MiB). */
#define TEXT_MAX (1024 * 1024)

Test(chatd_rules, a_text_is_1_byte_to_1_mib, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(SEED, &a, &b);
  g_autofree char *longest = g_strnfill(TEXT_MAX, 'x');
  g_autofree char *at_limit = text_to_bob(longest, "12", "\"#000000\"");
  g_autofree char *mine = client_ask(a, "send_message", at_limit, "on_new_message");
  g_free(client_expect(b, "on_new_message"));
  g_autofree char *over = g_strnfill(TEXT_MAX + 1, 'x');
  g_autofree char *past = text_to_bob(over, "12", "\"#000000\"");
  ask_refused(a, "send_message", past, "the text is longer than 1 MiB");
  g_autofree char *empty = text_to_bob("", "12", "\"#000000\"");
  ask_refused(a, "send_message", empty, "the message is empty");
  /* Anything a str holds: lines, a NUL, kept whole. */
  g_autofree char *odd = text_to_bob("a\\nb\\u0000c", "12", "\"#000000\"");
  g_autofree char *copy = client_ask(a, "send_message", odd, "on_new_message");
  cr_assert(strstr(copy, "\"data\": \"a\\nb\\u0000c\""), "%s", copy);
  g_autofree char *got = client_expect(b, "on_new_message");
  cr_assert(strstr(got, "\"data\": \"a\\nb\\u0000c\""), "%s", got);
  cr_assert(client_quiet_for(b, 200), "bob got a refused text");
  client_free(a);
  client_free(b);
}

Test(chatd_rules, font_sizes_are_1_to_1000, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(SEED, &a, &b);
  static const char *const ok[] = {"1", "1000"};
  for (gsize i = 0; i < G_N_ELEMENTS(ok); i++) {
    g_autofree char *params = text_to_bob("hi", ok[i], "\"#000000\"");
    g_free(client_ask(a, "send_message", params, "on_new_message"));
    g_free(client_expect(b, "on_new_message"));
  }
  static const char *const refused[] = {"0", "1001", "-1"};
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autofree char *params = text_to_bob("hi", refused[i], "\"#000000\"");
    ask_refused(a, "send_message", params, "the font size must be 1 to 1000");
  }
  client_free(a);
  client_free(b);
}

/* A body is text (type 0) or an image (type 1, bytes); a preview or a
 * type that does not match its keys is refused, and so is a target_type
 * other than 0 and 1. */
Test(chatd_rules, a_body_is_text_or_image_to_a_user_or_a_room, .init = start_legacy,
     .fini = finish) {
  test_client *a, *b;
  friends(SEED, &a, &b);
  static const char *const bodies[] = {
      "{\"type\": 1, \"format\": \"png\", \"size\": 3}",
      "{\"type\": 0, \"data\": {\"$bytes\": \"AAE=\"}}",
      "{\"type\": 1, \"data\": \"hi\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}",
      "{\"type\": 2, \"data\": {\"$bytes\": \"AAE=\"}}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bodies); i++) {
    g_autofree char *params =
        g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"message\": %s}", bodies[i]);
    ask_refused(a, "send_message", params, "a message body is text (type 0) or an image (type 1)");
  }
  ask_refused(a, "send_message",
              "{\"target_type\": 2, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": "
              "\"hi\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
              "target_type must be 0 (a user) or 1 (a room)");
  cr_assert(client_quiet_for(b, 200), "bob got a refused message");
  client_free(a);
  client_free(b);
}

/* What real clients send ("#rrggbb": the GTK client and the seed write
 * lower case, chatctl passes on what the user typed) is accepted; the rest
 * is refused. */
Test(chatd_rules, a_font_colour_is_hash_and_six_hex_digits, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(SEED, &a, &b);
  static const char *const ok[] = {"\"#000000\"", "\"#ff00aa\"", "\"#A0b1C2\""};
  for (gsize i = 0; i < G_N_ELEMENTS(ok); i++) {
    g_autofree char *params = text_to_bob("hi", "12", ok[i]);
    g_autofree char *copy = client_ask(a, "send_message", params, "on_new_message");
    cr_assert(strstr(copy, ok[i]), "the colour is kept as sent: %s", copy);
    g_free(client_expect(b, "on_new_message"));
  }
  static const char *const refused[] = {"\"red\"",     "\"\"",       "\"#12345\"", "\"#1234567\"",
                                        "\"#12345g\"", "\"000000\"", "\"#fff\"",   "\" #000000\""};
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autofree char *params = text_to_bob("hi", "12", refused[i]);
    ask_refused(a, "send_message", params, "the font colour must be");
  }
  cr_assert(client_quiet_for(b, 200), "bob got a refused text");
  client_free(a);
  client_free(b);
}

/* max_message_size 64 KiB: max_image is half of it, 32 KiB. */
static void start_small_messages(void) {
  chatd_start(&chatd, TRUE, "\"max_message_size\": 65536");
}

static char *image_to_bob(gsize size) {
  g_autofree guint8 *image = g_malloc0(size ? size : 1);
  g_autofree char *b64 = g_base64_encode(image, size);
  return g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 1, "
                         "\"data\": {\"$bytes\": \"%s\"}}}",
                         b64);
}

Test(chatd_rules, an_image_is_1_byte_to_max_image, .init = start_small_messages, .fini = finish) {
  test_client *a, *b;
  friends(V2, &a, &b);
  g_autofree char *at_limit = image_to_bob(32768);
  g_autofree char *copy = client_ask(a, "send_message", at_limit, "on_new_message");
  cr_assert(strstr(copy, "{\"$bytes_len\": 32768}"), "%s", copy);
  g_free(client_expect(b, "on_new_message"));
  g_autofree char *past = image_to_bob(32769);
  ask_refused(a, "send_message", past, "the image is larger than the server accepts");
  g_autofree char *empty = image_to_bob(0);
  ask_refused(a, "send_message", empty, "the image is empty");
  cr_assert(client_quiet_for(b, 200), "bob got a refused image");
  client_free(a);
  client_free(b);
}

Test(chatd_rules, a_client_msg_id_is_1_to_64_bytes, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(V2, &a, &b);
  static const char body[] =
      "{\"type\": 0, \"data\": \"hi\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}";
  g_autofree char *id64 = g_strnfill(64, 'i');
  g_autofree char *id65 = g_strnfill(65, 'i');
  const char *refused[] = {id65, ""};
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autofree char *params = g_strdup_printf(
        "{\"target_type\": 0, \"target_id\": 2, \"message\": %s, \"client_msg_id\": \"%s\"}", body,
        refused[i]);
    ask_refused(a, "send_message", params, "client_msg_id must be 1 to 64 bytes");
  }
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": 2, \"message\": %s, \"client_msg_id\": \"%s\"}", body,
      id64);
  g_autofree char *ack = client_ask(a, "send_message", params, "on_new_message");
  cr_assert(strstr(ack, id64), "%s", ack);
  client_free(a);
  client_free(b);
}

static void start_fast_store(void) {
  chatd_start(&chatd, TRUE, "\"durability\": \"os\"");
}

/* fetch_history's page from alice's side: "n<count> <ids...> more". */
static char *page_of(test_client *a, const char *before_id, const char *limit) {
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": 2, \"before_id\": %s, \"limit\": %s}", before_id, limit);
  g_autofree char *page = client_ask(a, "fetch_history", params, "history_page");
  GString *out = g_string_new(NULL);
  int n = 0;
  for (const char *p = page; (p = strstr(p, "\"id\": ")); p += 6)
    n++;
  g_string_append_printf(out, "n%d", n);
  const char *first = strstr(page, "\"id\": ");
  if (first)
    g_string_append_printf(out, " first %ld", strtol(first + 6, NULL, 10));
  g_string_append(out, g_str_has_suffix(page, "\"more\": true}") ? " more" : " end");
  return g_string_free(out, FALSE);
}

#define PAGE_MAX 200

Test(chatd_rules, history_limit_and_before_id_bounds, .init = start_fast_store, .fini = finish) {
  test_client *a, *b;
  friends(V2, &a, &b);
  /* PAGE_MAX + 1 messages, sent back to back, then their copies. */
  for (int i = 0; i <= PAGE_MAX; i++) {
    g_autofree char *params = text_to_bob("m", "12", "\"#000000\"");
    client_send(a, "send_message", params);
  }
  for (int i = 0; i <= PAGE_MAX; i++)
    g_free(client_expect(a, "on_new_message"));
  const int newest = PAGE_MAX + 1;
  g_autofree char *expect_one = g_strdup_printf("n1 first %d more", newest);
  /* limit: 1 and 200 as asked; 0 and negative give 1; over 200 gives 200. */
  g_autofree char *one = page_of(a, "0", "1");
  cr_assert_str_eq(one, expect_one);
  g_autofree char *zero = page_of(a, "0", "0");
  cr_assert_str_eq(zero, expect_one);
  g_autofree char *negative = page_of(a, "0", "-5");
  cr_assert_str_eq(negative, expect_one);
  g_autofree char *expect_max = g_strdup_printf("n%d first %d more", PAGE_MAX, newest);
  g_autofree char *max = page_of(a, "0", "200");
  cr_assert_str_eq(max, expect_max);
  g_autofree char *over = page_of(a, "0", "201");
  cr_assert_str_eq(over, expect_max);
  /* before_id: ids below it; 0 or negative is "from the newest"; past the
   * newest is the same. */
  g_autofree char *below3 = page_of(a, "3", "200");
  cr_assert_str_eq(below3, "n2 first 2 end");
  g_autofree char *below1 = page_of(a, "1", "200");
  cr_assert_str_eq(below1, "n0 end");
  g_autofree char *before_negative = page_of(a, "-1", "1");
  cr_assert_str_eq(before_negative, expect_one);
  g_autofree char *past_newest = page_of(a, "1000000", "1");
  cr_assert_str_eq(past_newest, expect_one);
  client_free(a);
  client_free(b);
}

/* bob's read marker of his conversation with alice. */
#define MARKER "{\"target_type\": 0, \"target_id\": 1, \"last_read_id\": %d, \"unread\": %d}"

Test(chatd_rules, mark_read_is_bounded_by_the_newest_id_and_never_goes_back, .init = start_legacy,
     .fini = finish) {
  test_client *a, *b;
  friends(V2, &a, &b);
  for (int i = 0; i < 3; i++) {
    g_autofree char *params = text_to_bob("m", "12", "\"#000000\"");
    g_free(client_ask(a, "send_message", params, "on_new_message"));
    g_free(client_expect(b, "on_new_message"));
  }
  g_autofree char *none = g_strdup_printf(MARKER, 0, 3);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 0}", "read_marker",
         none);
  g_autofree char *at1 = g_strdup_printf(MARKER, 1, 2);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 1}", "read_marker",
         at1);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 0}", "read_marker",
         at1);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": -7}", "read_marker",
         at1);
  /* Past the newest id: the newest id (3). */
  g_autofree char *all = g_strdup_printf(MARKER, 3, 0);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 1000}",
         "read_marker", all);
  /* A message sent after that is unread: the marker did not run ahead. */
  g_autofree char *params = text_to_bob("later", "12", "\"#000000\"");
  g_free(client_ask(a, "send_message", params, "on_new_message"));
  g_free(client_expect(b, "on_new_message"));
  g_autofree char *later = g_strdup_printf(MARKER, 3, 1);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 0}", "read_marker",
         later);
  client_free(a);
  client_free(b);
}

/* ---- known_hosts keeps the host as typed (spec 7, "Server key pinning") ---- */

static void dial(const char *host, const char *known_hosts) {
  ChatDialOptions options = {
      .host = host,
      .port = chatd.port,
      .dialect = V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .timeout_ms = HARNESS_TIMEOUT_MS,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatConnection) connection = chat_dial_sync(&options, &error);
  cr_assert_not_null(connection, "%s: %s", host, error ? error->message : "?");
  chat_connection_close(connection, FALSE);
}

Test(chatd_rules, known_hosts_keys_the_host_as_typed_not_as_resolved, .init = start_legacy,
     .fini = finish) {
  g_autofree char *known_hosts = g_build_filename(chatd.dir, "known_hosts", NULL);
  dial("127.0.0.1", known_hosts);
  dial("localhost", known_hosts);
  dial("LocalHost", known_hosts);
  dial("127.0.0.1", known_hosts);
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(known_hosts, &text, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  cr_assert_eq(g_strv_length(lines), 4, "three entries and the final new line:\n%s", text);
  const char *hosts[] = {"127.0.0.1:", "localhost:", "LocalHost:"};
  for (int i = 0; i < 3; i++)
    cr_assert(g_str_has_prefix(lines[i], hosts[i]), "line %d: %s", i + 1, lines[i]);
}
