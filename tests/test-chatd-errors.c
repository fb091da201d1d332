/* chatd end to end: request ids and error codes (spec/protocol.md 5.7).
 * v2 answers echo the request's id, notifications never carry one, every
 * failure is a request_failed with its code; the seed dialect's failures
 * are byte for byte what they always were. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd-harness.h"
#include "protocol/hex.h"

static chatd_instance chatd;

#define SEED CHAT_DIALECT_SEED
#define V2 CHAT_DIALECT_V2

static void start(void) {
  chatd_start(&chatd, TRUE, NULL);
}

static void finish(void) {
  chatd_destroy(&chatd);
}

/* The next message, which must be `name` with request id `id` (has_id
 * FALSE: none); returns its parameters as JSON. */
static char *expect_with_id(test_client *c, const char *name, gboolean has_id, guint32 id) {
  gboolean got_has_id;
  guint32 got_id;
  char *next = client_next_with_id(c, HARNESS_TIMEOUT_MS, &got_has_id, &got_id);
  cr_assert_not_null(next, "expected %s, got nothing", name);
  size_t n = strlen(name);
  cr_assert(strncmp(next, name, n) == 0 && next[n] == ' ', "expected %s, got %s", name, next);
  cr_assert_eq(got_has_id, has_id, "%s: request id %s, expected %s", next,
               got_has_id ? "present" : "absent", has_id ? "present" : "absent");
  if (has_id)
    cr_assert_eq(got_id, id, "%s: request id %u, expected %u", next, got_id, id);
  char *params = g_strdup(next + n + 1);
  g_free(next);
  return params;
}

/* The next message is request_failed with this code and request id. */
static void expect_failure(test_client *c, guint32 id, const char *code) {
  g_autofree char *params = expect_with_id(c, "request_failed", TRUE, id);
  g_autofree char *want = g_strdup_printf("{\"error\": \"%s\", \"text\": \"", code);
  cr_assert(g_str_has_prefix(params, want), "request %u: expected %s, got %s", id, code, params);
}

static void ask_failure(test_client *c, guint32 id, const char *name, const char *params,
                        const char *code) {
  client_send_with_id(c, name, params, id);
  expect_failure(c, id, code);
}

static test_client *registered(chat_dialect dialect, const char *user) {
  test_client *c = client_connect(chatd.port, dialect);
  client_register(c, user, "pw", user);
  return c;
}

/* alice and bob, friends, both logged in (v2). */
static void friends(test_client **alice, test_client **bob) {
  *alice = registered(V2, "alice");
  *bob = registered(V2, "bob");
  g_free(client_ask(*alice, "add_friend", "\"bob\"", "add_friend_result"));
  g_free(client_expect(*bob, "incoming_friend_request"));
  g_free(client_ask(*bob, "resolve_friend_request", "[1, true]", "contact_info"));
  g_free(client_expect(*alice, "contact_info"));
}

Test(chatd_request_ids, a_login_with_an_id_gets_it_on_each_answer, .init = start, .fini = finish) {
  test_client *a = registered(V2, "alice");
  test_client *b = registered(V2, "bob");
  g_free(client_ask(a, "add_friend", "\"bob\"", "add_friend_result"));
  g_free(client_expect(b, "incoming_friend_request"));
  client_free(b);
  /* Bob logs in again with an id: his waiting friend request and the bundle
   * answer the login; alice's notice that he is online is not an answer. */
  b = client_connect(chatd.port, V2);
  client_send_with_id(b, "login", "[\"bob\", \"pw\"]", 0xfffffffe);
  g_free(expect_with_id(b, "login_successful", TRUE, 0xfffffffe));
  g_free(expect_with_id(b, "incoming_friend_request", TRUE, 0xfffffffe));
  g_free(expect_with_id(b, "session_bundle", TRUE, 0xfffffffe));
  g_free(client_ask(b, "resolve_friend_request", "[1, true]", "contact_info"));
  g_free(expect_with_id(a, "contact_info", FALSE, 0));
  client_free(b);
  g_free(expect_with_id(a, "friend_on_off_line", FALSE, 0));
  client_free(a);
}

/* Several requests in flight, answered at once or after the database:
 * each answer carries its own request's id, in request order. */
Test(chatd_request_ids, requests_in_flight_are_answered_each_with_its_id, .init = start,
     .fini = finish) {
  test_client *a, *b;
  friends(&a, &b);
  client_send_with_id(a, "client_echo", "\"one\"", 1);
  client_send_with_id(a, "create_room", "\"hikes\"", 2);
  client_send_with_id(a, "join_room", "99", 3);
  client_send(a, "client_echo", "\"no id\"");
  client_send_with_id(a, "send_message",
                      "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, "
                      "\"data\": \"hi\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}, "
                      "\"client_msg_id\": \"m1\"}",
                      4);
  client_send_with_id(a, "fetch_history",
                      "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, \"limit\": 10}", 5);
  client_send_with_id(a, "add_friend", "\"bob\"", 6);
  client_send_with_id(a, "mark_read", "{\"target_type\": 1, \"target_id\": 77, \"up_to_id\": 1}",
                      0);

  g_autofree char *echo = expect_with_id(a, "server_echo", TRUE, 1);
  cr_assert_str_eq(echo, "\"one\"");
  g_free(expect_with_id(a, "contact_info", TRUE, 2));
  g_free(expect_with_id(a, "general_msg", TRUE, 2));
  expect_failure(a, 3, "no_such_room");
  g_autofree char *plain = expect_with_id(a, "server_echo", FALSE, 0);
  cr_assert_str_eq(plain, "\"no id\"");
  g_free(expect_with_id(a, "on_new_message", TRUE, 4));
  g_free(expect_with_id(a, "history_page", TRUE, 5));
  expect_failure(a, 6, "already_friends");
  expect_failure(a, 0, "not_member");
  /* The receiver's copy is a notification. */
  g_free(expect_with_id(b, "on_new_message", FALSE, 0));
  client_free(a);
  client_free(b);
}

/* Every code chatd sends for a request's own fault, with the id. */
Test(chatd_request_ids, every_refusal_has_its_code, .init = start, .fini = finish) {
  test_client *c = client_connect(chatd.port, V2);
  ask_failure(c, 1, "add_friend", "\"bob\"", "not_logged_in");
  ask_failure(c, 2, "bad", "null", "bad_request");
  ask_failure(c, 3, "login", "[\"alice\"]", "bad_request");
  ask_failure(c, 4, "register", "[\"a b\", \"pw\", \"A\"]", "invalid_username");
  ask_failure(c, 5, "register", "[\"alice\", \"pw\", \"\"]", "invalid_nickname");
  ask_failure(c, 6, "register", "[\"alice\", \"\", \"Alice\"]", "invalid_password");
  ask_failure(c, 7, "login", "[\"nobody\", \"pw\"]", "login_failed");
  ask_failure(c, 8, "resume", "{\"username\": \"nobody\", \"token\": {\"$bytes\": \"AAAA\"}}",
              "token_refused");
  client_free(c);

  test_client *a, *b;
  friends(&a, &b);
  test_client *x = client_connect(chatd.port, V2);
  ask_failure(x, 9, "register", "[\"alice\", \"pw\", \"Alice\"]", "username_taken");
  client_free(x);
  ask_failure(a, 10, "add_friend", "\"nobody\"", "no_such_user");
  ask_failure(a, 11, "add_friend", "\"alice\"", "cannot_add_self");
  ask_failure(a, 12, "add_friend", "\"bob\"", "already_friends");
  test_client *carol = registered(V2, "carol");
  g_free(client_ask(a, "add_friend", "\"carol\"", "add_friend_result"));
  ask_failure(a, 13, "add_friend", "\"carol\"", "request_pending");
  ask_failure(a, 14, "resolve_friend_request", "[3, true]", "no_such_friend_request");
  const char *text = "\"message\": {\"type\": 0, \"data\": \"hi\", \"fontsize\": 12, "
                     "\"fontcolor\": \"#000000\"}";
  g_autofree char *to_carol = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, %s}", text);
  ask_failure(a, 15, "send_message", to_carol, "not_friend");
  g_autofree char *to_room = g_strdup_printf("{\"target_type\": 1, \"target_id\": 9, %s}", text);
  ask_failure(a, 16, "send_message", to_room, "not_member");
  g_autofree char *to_what = g_strdup_printf("{\"target_type\": 2, \"target_id\": 2, %s}", text);
  ask_failure(a, 17, "send_message", to_what, "invalid_target");
  ask_failure(a, 18, "send_message",
              "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": \"\", "
              "\"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
              "invalid_message");
  ask_failure(a, 19, "send_message",
              "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 1, \"format\": "
              "\"png\", \"size\": 3}}",
              "invalid_message");
  ask_failure(a, 20, "create_room", "\"  \"", "invalid_room_name");
  ask_failure(a, 21, "join_room", "42", "no_such_room");
  g_free(client_ask(a, "create_room", "\"hikes\"", "contact_info"));
  g_free(client_expect(a, "general_msg"));
  ask_failure(a, 22, "join_room", "1", "already_member");
  ask_failure(b, 23, "query_room_users", "1", "not_member");
  ask_failure(b, 24, "leave_room", "1", "not_member");
  ask_failure(a, 25, "fetch_history",
              "{\"target_type\": 0, \"target_id\": 1, \"before_id\": 0, \"limit\": 5}",
              "no_such_user");
  ask_failure(a, 26, "mark_read", "{\"target_type\": 5, \"target_id\": 1, \"up_to_id\": 0}",
              "invalid_target");
  ask_failure(a, 27, "set_nickname", "\"a\\nb\"", "invalid_nickname");
  ask_failure(a, 28, "set_password", "[\"pw\", \"\"]", "invalid_password");
  ask_failure(a, 29, "set_password", "[\"wrong\", \"new\"]", "wrong_password");
  client_free(carol);
  client_free(a);
  client_free(b);
}

Test(chatd_request_ids, a_too_large_image_is_message_too_large, .fini = finish) {
  chatd_start(&chatd, FALSE, "\"max_image_size\": 1024");
  test_client *a, *b;
  friends(&a, &b);
  GString *params = g_string_new("{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": "
                                 "1, \"data\": {\"$bytes\": \"");
  for (int i = 0; i < 2048 / 3; i++)
    g_string_append(params, "AAAA");
  g_string_append(params, "\"}}}");
  ask_failure(a, 7, "send_message", params->str, "message_too_large");
  g_string_free(params, TRUE);
  client_free(a);
  client_free(b);
}

Test(chatd_request_ids, rate_limits_are_retry_later_codes, .fini = finish) {
  chatd_start(&chatd, FALSE,
              "\"login_rate\": {\"per_minute\": 10, \"burst\": 1}, "
              "\"register_rate\": {\"per_hour\": 1, \"burst\": 1, \"total_per_minute\": 50}");
  test_client *c = client_connect(chatd.port, V2);
  g_free(client_ask(c, "register", "[\"alice\", \"pw\", \"Alice\"]", "register_successful"));
  ask_failure(c, 1, "register", "[\"bob\", \"pw\", \"Bob\"]", "too_many_accounts");
  ask_failure(c, 2, "login", "[\"alice\", \"wrong\"]", "login_failed");
  ask_failure(c, 3, "login", "[\"alice\", \"wrong\"]", "too_many_attempts");
  client_free(c);
}

/* The seed dialect: the same refusals are the seed's messages, byte for
 * byte as before request ids and codes existed. */
static void expect_bytes(test_client *c, const char *hex) {
  g_autoptr(GBytes) got = client_next_raw(c, HARNESS_TIMEOUT_MS);
  cr_assert_not_null(got, "expected %s, got nothing", hex);
  gsize len;
  const guint8 *data = g_bytes_get_data(got, &len);
  chat_buffer got_hex;
  chat_buffer_init(&got_hex);
  chat_hex_encode(data, len, &got_hex);
  cr_assert(got_hex.len == strlen(hex) && memcmp(got_hex.data, hex, got_hex.len) == 0,
            "expected %s, got %.*s", hex, (int)got_hex.len, got_hex.data);
  chat_buffer_clear(&got_hex);
}

Test(chatd_seed_failures, are_the_bytes_the_seed_sends, .init = start, .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  client_send(c, "add_friend", "\"bob\"");
  /* general_failure "log in first" */
  expect_bytes(c, "cb030000000c6c6f6720696e206669727374");
  client_send(c, "bad", "null");
  /* general_failure "bad request" */
  expect_bytes(c, "cb030000000b6261642072657175657374");
  client_send(c, "login", "[\"nobody\", \"pw\"]");
  expect_bytes(c, "c900"); /* login_failed null */
  client_register(c, "alice", "pw", "Alice");
  test_client *d = client_connect(chatd.port, SEED);
  client_send(d, "register", "[\"alice\", \"pw\", \"Alice\"]");
  expect_bytes(d, "ca00"); /* username_taken null */
  client_free(d);
  client_send(c, "add_friend", "\"nobody\"");
  /* add_friend_result [false, "no such user"] */
  expect_bytes(c, "6a0400000017060000000100030000000c6e6f20737563682075736572");
  client_send(c, "join_room", "5");
  /* general_failure "there is no such room" */
  expect_bytes(c, "cb03000000157468657265206973206e6f207375636820726f6f6d");
  client_free(c);
}
