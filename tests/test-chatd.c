/* chatd end to end: a real chatd process, real sockets, the protocol
 * library as the client, in both dialects. Each test states one behaviour a
 * client relies on (spec/protocol.md 5.5 and 5.6). */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "chatd-harness.h"
#include "protocol/gio/chat-dial.h"
#include "protocol/messages.h"
#include "protocol/v2-channel.h"
#include "run-program.h"

static chatd_instance chatd;

static void start_legacy(void) {
  chatd_start(&chatd, TRUE, NULL);
}
static void start_v2_only(void) {
  chatd_start(&chatd, FALSE, NULL);
}
static void finish(void) {
  chatd_destroy(&chatd);
}

#define SEED CHAT_DIALECT_SEED
#define V2 CHAT_DIALECT_V2

static void expect_eq(test_client *c, const char *name, const char *params) {
  g_autofree char *got = client_expect(c, name);
  cr_assert_str_eq(got, params, "%s", name);
}

static void expect_contains(test_client *c, const char *name, const char *needle) {
  g_autofree char *got = client_expect(c, name);
  cr_assert(strstr(got, needle) != NULL, "%s %s lacks %s", name, got, needle);
}

/* A new seed-dialect or v2 client, registered and logged in as user (password "pw"). */
static test_client *registered(chat_dialect dialect, const char *user, const char *nickname) {
  test_client *c = client_connect(chatd.port, dialect);
  client_register(c, user, "pw", nickname);
  return c;
}

/* A new seed client that logs in again as user (password "pw"); the caller
 * takes what follows login_successful (the bundle). */
static test_client *logged_in_again(const char *user) {
  test_client *c = client_connect(chatd.port, SEED);
  g_autofree char *params = g_strdup_printf("[\"%s\", \"pw\"]", user);
  g_free(client_ask(c, "login", params, "login_successful"));
  return c;
}

/* Sends one request and expects the answer to equal / contain the text given. */
static void ask_eq(test_client *c, const char *name, const char *params, const char *reply,
                   const char *expected) {
  client_send(c, name, params);
  expect_eq(c, reply, expected);
}

static void ask_contains(test_client *c, const char *name, const char *params, const char *reply,
                         const char *needle) {
  client_send(c, name, params);
  expect_contains(c, reply, needle);
}

/* Two friends, alice (1) and bob (2), both logged in. */
static void make_friends(test_client *alice, test_client *bob) {
  ask_eq(alice, "add_friend", "\"bob\"", "add_friend_result", "[true, \"\"]");
  expect_contains(bob, "incoming_friend_request", "\"username\": \"alice\"");
  ask_contains(bob, "resolve_friend_request", "[1, true]", "contact_info",
               "\"username\": \"alice\"");
  expect_contains(alice, "contact_info", "\"username\": \"bob\"");
}

/* alice (1) and bob (2) registered in the dialect given and made friends. */
static void friends(chat_dialect dialect, test_client **alice, test_client **bob) {
  *alice = registered(dialect, "alice", "Alice");
  *bob = registered(dialect, "bob", "Bob");
  make_friends(*alice, *bob);
}

/* ---- accounts ---- */

Test(chatd_seed, register_login_and_the_bundle, .init = start_legacy, .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  ask_eq(c, "register", "[\"  Alice \", \"pw\", \"Alice A.\"]", "register_successful", "1");
  ask_eq(c, "register", "[\"alice\", \"other\", \"x\"]", "username_taken", "null");
  ask_eq(c, "login", "[\"alice\", \"wrong\"]", "login_failed", "null");
  /* The connection stays open: try again, with the name as typed. */
  ask_eq(c, "login", "[\" ALICE\", \"pw\"]", "login_successful",
         "{\"id\": 1, \"username\": \"alice\", \"nickname\": \"Alice A.\", \"online\": true}");
  expect_eq(c, "login_bundle", "{\"rooms\": [], \"friends\": [], \"messages\": []}");
  client_free(c);
}

Test(chatd_seed, requests_before_login_are_refused, .init = start_legacy, .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  ask_eq(c, "add_friend", "\"bob\"", "general_failure", "\"log in first\"");
  ask_eq(c, "client_echo", "{\"still\": \"here\"}", "server_echo", "{\"still\": \"here\"}");
  client_free(c);
}

Test(chatd_seed, echo_returns_the_value_unchanged, .init = start_legacy, .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  ask_eq(c, "client_echo", "[1, \"二\", {\"three\": [true, {\"$bytes\": \"AAE=\"}]}]",
         "server_echo", "[1, \"二\", {\"three\": [true, {\"$bytes_len\": 2}]}]");
  client_free(c);
}

Test(chatd_seed, bad_and_wrong_shapes_answer_general_failure, .init = start_legacy,
     .fini = finish) {
  test_client *c = client_connect(chatd.port, SEED);
  ask_eq(c, "bad", "null", "general_failure", "\"bad request\"");
  ask_contains(c, "login", "[\"alice\"]", "general_failure",
               "login: params: expected a list of 2 items");
  ask_eq(c, "client_echo", "\"still open\"", "server_echo", "\"still open\"");
  client_free(c);
}

/* ---- friends ---- */

Test(chatd_seed, add_friend_refusals, .init = start_legacy, .fini = finish) {
  test_client *a = registered(SEED, "alice", "Alice");
  test_client *b = registered(SEED, "bob", "Bob");
  ask_eq(a, "add_friend", "\"nobody\"", "add_friend_result", "[false, \"no such user\"]");
  ask_eq(a, "add_friend", "\" Alice\"", "add_friend_result",
         "[false, \"you cannot add yourself\"]");
  ask_eq(a, "add_friend", "\"BOB\"", "add_friend_result", "[true, \"\"]");
  ask_eq(a, "add_friend", "\"bob\"", "add_friend_result",
         "[false, \"a request is already waiting for an answer\"]");
  expect_contains(b, "incoming_friend_request", "\"id\": 1");
  client_free(a);
  client_free(b);
}

Test(chatd_seed, accepting_makes_both_sides_friends, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_SEED, &a, &b);
  ask_eq(a, "add_friend", "\"bob\"", "add_friend_result", "[false, \"you are already friends\"]");
  client_free(a);
  client_free(b);
}

Test(chatd_seed, unanswered_requests_are_asked_again_at_login, .init = start_legacy,
     .fini = finish) {
  test_client *a = registered(SEED, "alice", "Alice");
  test_client *b = registered(SEED, "bob", "Bob");
  ask_eq(a, "add_friend", "\"bob\"", "add_friend_result", "[true, \"\"]");
  expect_contains(b, "incoming_friend_request", "\"alice\"");
  client_free(b); /* "ask me later": no answer */
  b = logged_in_again("bob");
  expect_contains(b, "incoming_friend_request", "\"username\": \"alice\"");
  g_free(client_expect(b, "login_bundle"));
  /* Rejecting deletes it: nothing is sent, and it is not asked again. */
  client_send(b, "resolve_friend_request", "[1, false]");
  ask_eq(b, "client_echo", "1", "server_echo", "1");
  client_free(b);
  b = logged_in_again("bob");
  g_free(client_expect(b, "login_bundle"));
  client_free(a);
  client_free(b);
}

/* ---- messages ---- */

Test(chatd_seed, messages_need_friendship, .init = start_legacy, .fini = finish) {
  test_client *a = registered(SEED, "alice", "Alice");
  test_client *b = registered(SEED, "bob", "Bob");
  ask_eq(a, "send_message",
         "{\"target_type\": 0, \"target_id\": 2, \"message\": "
         "{\"type\": 0, \"data\": \"hi\", \"fontsize\": 12, "
         "\"fontcolor\": \"#000000\"}}",
         "general_failure", "\"you can only send messages to your friends\"");
  cr_assert(client_quiet_for(b, 200));
  client_free(a);
  client_free(b);
}

Test(chatd_seed, a_text_reaches_both_sides_with_their_own_target, .init = start_legacy,
     .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_SEED, &a, &b);
  g_autofree char *mine = client_ask(a, "send_message",
                                     "{\"target_type\": 0, \"target_id\": 2, \"message\": "
                                     "{\"type\": 0, \"data\": \"hi\\nthere\", \"fontsize\": 14, "
                                     "\"fontcolor\": \"#ff0000\"}}",
                                     "on_new_message");
  g_autofree char *theirs = client_expect(b, "on_new_message");
  const char *body = "{\"message\": {\"type\": 0, \"data\": \"hi\\nthere\", \"fontsize\": 14, "
                     "\"fontcolor\": \"#ff0000\"}, \"sender_id\": 1, \"sender_name\": \"Alice\", "
                     "\"target_type\": 0, \"time\": ";
  cr_assert(g_str_has_prefix(mine, body), "%s", mine);
  cr_assert(g_str_has_prefix(theirs, body), "%s", theirs);
  cr_assert(g_str_has_suffix(mine, "\"target_id\": 2}"), "the sender's copy names bob: %s", mine);
  cr_assert(g_str_has_suffix(theirs, "\"target_id\": 1}"), "bob's copy names alice: %s", theirs);
  client_free(a);
  client_free(b);
}

Test(chatd_seed, an_image_of_300_kb_goes_through, .init = start_legacy, .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_SEED, &a, &b);
  const gsize size = 300 * 1024;
  g_autofree guint8 *image = g_malloc(size);
  for (gsize i = 0; i < size; i++)
    image[i] = (guint8)(i * 31);
  g_autofree char *b64 = g_base64_encode(image, size);
  g_autofree char *params =
      g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 1, \"data\": "
                      "{\"$bytes\": \"%s\"}}}",
                      b64);
  ask_contains(a, "send_message", params, "on_new_message", "{\"$bytes_len\": 307200}");
  expect_contains(b, "on_new_message", "{\"$bytes_len\": 307200}");
  client_free(a);
  client_free(b);
}

Test(chatd_seed, offline_messages_come_in_the_bundle_as_unread_once, .init = start_legacy,
     .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_SEED, &a, &b);
  client_free(b);
  expect_eq(a, "friend_on_off_line", "[false, 2]");
  g_free(client_ask(a, "send_message",
                    "{\"target_type\": 0, \"target_id\": 2, \"message\": "
                    "{\"type\": 0, \"data\": \"while you were out\", "
                    "\"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
                    "on_new_message"));
  b = logged_in_again("bob");
  g_autofree char *bundle = client_expect(b, "login_bundle");
  cr_assert(strstr(bundle, "\"friends\": [{\"id\": 1, \"username\": \"alice\", \"nickname\": "
                           "\"Alice\", \"online\": true, \"type\": 0}]") != NULL,
            "%s", bundle);
  cr_assert(strstr(bundle, "\"messages\": [[{\"$bytes_len\": ") != NULL, "%s", bundle);
  cr_assert(g_str_has_suffix(bundle, ", 0]]}"), "unread (sent = 0): %s", bundle);
  expect_eq(a, "friend_on_off_line", "[true, 2]");
  client_free(b);
  g_free(client_expect(a, "friend_on_off_line"));
  /* The second time it counts as delivered. */
  b = logged_in_again("bob");
  g_autofree char *again = client_expect(b, "login_bundle");
  cr_assert(g_str_has_suffix(again, ", 1]]}"), "delivered (sent = 1): %s", again);
  client_free(a);
  client_free(b);
}

/* ---- rooms ---- */

Test(chatd_seed, rooms_create_join_members_and_messages, .init = start_legacy, .fini = finish) {
  test_client *a = registered(SEED, "alice", "Alice");
  test_client *b = registered(SEED, "bob", "Bob");
  ask_eq(a, "create_room", "\"技术交流\"", "contact_info",
         "{\"id\": 1, \"room_name\": \"技术交流\", \"type\": 1}");
  expect_contains(a, "general_msg", "its number is 1");
  ask_eq(b, "query_room_users", "1", "general_failure", "\"you are not a member of this room\"");
  ask_eq(b, "join_room", "7", "general_failure", "\"there is no such room\"");
  ask_eq(b, "join_room", "1", "contact_info",
         "{\"id\": 1, \"room_name\": \"技术交流\", \"type\": 1}");
  ask_eq(b, "join_room", "1", "general_failure", "\"you are already a member of this room\"");
  ask_eq(b, "query_room_users", "1", "query_room_users_result",
         "[[[1, \"Alice\", true, \"alice\"], [2, \"Bob\", true, \"bob\"]], 1]");
  ask_contains(b, "send_message",
               "{\"target_type\": 1, \"target_id\": 1, \"message\": "
               "{\"type\": 0, \"data\": \"大家好\", \"fontsize\": 12, "
               "\"fontcolor\": \"#000000\"}}",
               "on_new_message", "\"target_type\": 1");
  g_autofree char *got = client_expect(a, "on_new_message");
  cr_assert(strstr(got, "\"sender_name\": \"Bob\"") && g_str_has_suffix(got, "\"target_id\": 1}"),
            "%s", got);
  /* Presence in the room. */
  client_free(b);
  expect_eq(a, "room_user_on_off_line", "[1, 2, false]");
  client_free(a);
}

/* ---- one login per account ---- */

Test(chatd_seed, a_second_login_kicks_the_first, .init = start_legacy, .fini = finish) {
  test_client *first = registered(SEED, "alice", "Alice");
  test_client *second = client_connect(chatd.port, SEED);
  client_login(second, "alice", "pw");
  expect_eq(first, "server_kick", "null");
  cr_assert(client_wait_closed(first, HARNESS_TIMEOUT_MS), "the old connection is closed");
  ask_eq(second, "client_echo", "\"alive\"", "server_echo", "\"alive\"");
  client_free(first);
  client_free(second);
}

Test(chatd_v2, a_kick_says_why_from_where_and_when, .init = start_v2_only, .fini = finish) {
  test_client *first = registered(V2, "alice", "Alice");
  test_client *second = client_connect(chatd.port, V2);
  client_login(second, "alice", "pw");
  g_autofree char *kick = client_expect(first, "server_kick");
  cr_assert(g_str_has_prefix(kick, "{\"reason\": \"logged in elsewhere\", \"address\": "
                                   "\"127.0.0.1:"),
            "%s", kick);
  cr_assert(strstr(kick, "\"time\": ") != NULL, "%s", kick);
  client_free(first);
  client_free(second);
}

/* ---- dialects and bad peers ---- */

Test(chatd_v2, seed_clients_are_refused_without_allow_legacy, .init = start_v2_only,
     .fini = finish) {
  g_autoptr(GError) error = NULL;
  test_client *c = client_try_connect(chatd.port, SEED, &error);
  cr_assert_null(c, "a seed client got in");
  cr_assert(chatd_log_contains(&chatd, "seed"), "the refusal is logged:\n%s", chatd.log->str);
  test_client *v2 = client_connect(chatd.port, V2);
  client_free(v2);
}

Test(chatd_v2, garbage_on_the_port_does_not_touch_other_clients, .init = start_legacy,
     .fini = finish) {
  test_client *a = registered(V2, "alice", "Alice");
  g_autoptr(GSocketClient) sockets = g_socket_client_new();
  g_autoptr(GSocketConnection) raw =
      g_socket_client_connect_to_host(sockets, "127.0.0.1", chatd.port, NULL, NULL);
  cr_assert_not_null(raw);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(raw));
  const char junk[] = "\x00CHAT\x02\x01\x00 this is not a handshake at all";
  g_output_stream_write_all(out, junk, sizeof junk, NULL, NULL, NULL);
  harness_spin(300);
  ask_eq(a, "client_echo", "\"fine\"", "server_echo", "\"fine\"");
  client_free(a);
}

/* Everything chatd sends on a raw connection after `bytes`, until it
 * closes (at most 5 s). */
static GByteArray *raw_exchange(const guint8 *bytes, gsize len) {
  g_autoptr(GSocketClient) sockets = g_socket_client_new();
  g_autoptr(GSocketConnection) raw =
      g_socket_client_connect_to_host(sockets, "127.0.0.1", chatd.port, NULL, NULL);
  cr_assert_not_null(raw);
  GSocket *socket = g_socket_connection_get_socket(raw);
  g_socket_set_timeout(socket, 5);
  cr_assert(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(raw)), bytes, len,
                                      NULL, NULL, NULL));
  GByteArray *got = g_byte_array_new();
  for (;;) {
    guint8 buf[4096];
    g_autoptr(GError) error = NULL;
    gssize n = g_socket_receive(socket, (gchar *)buf, sizeof buf, NULL, &error);
    cr_assert_geq(n, 0, "the server did not close: %s", error ? error->message : "?");
    if (n == 0)
      break;
    g_byte_array_append(got, buf, (guint)n);
  }
  return got;
}

/* Spec 7.7: the magic with a version, suite or reserved byte chatd does not
 * accept is answered with 8 bytes (the highest version it speaks, the
 * reason), then the connection is closed. */
Test(chatd_v2, a_preamble_it_does_not_accept_is_answered_with_the_refusal, .init = start_v2_only,
     .fini = finish) {
  static const struct {
    guint8 preamble[8];
    guint8 reason;
    const char *logged;
  } cases[] = {
      {{0x00, 'C', 'H', 'A', 'T', 3, 1, 0}, 1, "version 3"},
      {{0x00, 'C', 'H', 'A', 'T', 2, 9, 0}, 2, "suite 0x09"},
      {{0x00, 'C', 'H', 'A', 'T', 2, 1, 7}, 3, "reserved byte is 0x07"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    /* The preamble and a message 1, as a v3 client would send them. */
    guint8 hello[8 + 2 + 32] = {0};
    memcpy(hello, cases[i].preamble, 8);
    hello[9] = 32;
    g_autoptr(GByteArray) got = raw_exchange(hello, sizeof hello);
    const guint8 want[8] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, cases[i].reason};
    cr_assert_eq(got->len, 8, "case %zu: %u bytes", i, got->len);
    cr_assert_eq(memcmp(got->data, want, 8), 0, "case %zu", i);
    cr_assert(chatd_log_contains(&chatd, cases[i].logged), "case %zu:\n%s", i, chatd.log->str);
  }
  /* The log line names the peer once: "PEER: closed: v2 handshake failed: ...". */
  cr_assert(chatd_log_contains(&chatd, ": closed: v2 handshake failed: preamble"), "%s",
            chatd.log->str);
  /* A wrong magic is not a chat client at all: closed without a word. */
  static const guint8 http[] = "\x00GET / HTTP/1.0\r\n\r\n";
  g_autoptr(GByteArray) got = raw_exchange(http, sizeof http - 1);
  cr_assert_eq(got->len, 0);
  /* And a v2 client still gets in. */
  test_client *v2 = client_connect(chatd.port, V2);
  client_free(v2);
}

/* Spec 7.3: a client that accepts smaller messages than chatd may send
 * (client-info max_message under server.max_message_size) is refused: chatd
 * completes the handshake and sends a CLOSE record at once. */
Test(chatd_v2, a_client_whose_max_message_is_too_small_is_refused, .init = start_v2_only,
     .fini = finish) {
  /* {"client": "tiny", "max_message": 1000} */
  chat_buffer info;
  chat_buffer_init(&info);
  chat_writer w;
  chat_writer_init(&w, &info);
  chat_msg_client_info ci = {.has_client = true,
                             .client = chat_span_cstr("tiny"),
                             .has_max_message = true,
                             .max_message = 1000};
  chat_msg_client_info_write(&w, &ci);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_v2_config config;
  chat_v2_config_init(&config);
  config.client_info = info.data;
  config.client_info_len = info.len;
  chat_v2_channel *ch = NULL;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &config, &ch), 0);
  cr_assert_eq(chat_v2_channel_start(ch), 0);
  const uint8_t *out;
  size_t out_len;
  cr_assert_eq(chat_v2_channel_output(ch, &out, &out_len), 0);
  g_autoptr(GByteArray) got = raw_exchange(out, out_len);
  size_t used = 0;
  while (used < got->len) {
    ptrdiff_t n = chat_v2_channel_feed(ch, got->data + used, got->len - used);
    cr_assert_geq(n, 0, "%s", chat_v2_channel_error_message(ch));
    const uint8_t *m;
    size_t m_len;
    cr_assert_eq(chat_v2_channel_next_message(ch, &m, &m_len), 0, "no message before the CLOSE");
    used += (size_t)n;
  }
  cr_assert(chat_v2_channel_is_established(ch));
  cr_assert(chat_v2_channel_peer_closed(ch), "the refusal is a CLOSE record");
  cr_assert(
      chatd_log_contains(&chatd, "refused: the client accepts messages of at most 1000 bytes"),
      "%s", chatd.log->str);
  chat_v2_channel_free(ch);
  chat_buffer_clear(&info);

  /* ChatConnection (chatctl, the GTK client) refuses such a server itself,
   * from the server-info, and says why. */
  g_autofree char *known_hosts = g_build_filename(chatd.dir, "known_hosts", NULL);
  ChatDialOptions options = {
      .host = "127.0.0.1",
      .port = chatd.port,
      .dialect = CHAT_DIALECT_V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .max_message_bytes = 65536,
      .client_name = "test",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatConnection) connection = chat_dial_sync(&options, &error);
  cr_assert_null(connection);
  cr_assert(g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_HANDSHAKE));
  cr_assert(strstr(error->message,
                   "the server sends messages of up to 16777216 bytes; this program accepts at "
                   "most 65536"),
            "%s", error->message);
}

/* Spec 7.3 and the vectors agree with chatd: the server-info chatd sends
 * with its default limits is byte for byte the one of v2-channel.json. */
Test(chatd_v2, the_server_info_is_the_one_of_the_spec_and_the_vectors, .init = start_v2_only,
     .fini = finish) {
  test_client *c = client_connect(chatd.port, V2);
  gsize len = 0;
  const guint8 *info = chat_connection_get_server_info(c->connection, &len);
  cr_assert_not_null(info);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_server_info m;
  cr_assert(chat_msg_server_info_decode(info, len, &arena, &m));
  cr_assert(m.has_server && m.server.len > 6 && memcmp(m.server.ptr, "chatd ", 6) == 0);
  cr_assert(m.has_max_message && m.max_message == 16777216);
  cr_assert(m.has_max_image && m.max_image == 8388608);
  chat_arena_clear(&arena);

  const char *dir = g_getenv("CHAT_SPEC_VECTORS_DIR");
  cr_assert_not_null(dir);
  g_autofree char *path = g_build_filename(dir, "v2-channel.json", NULL);
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(path, &text, NULL, NULL));
  const char *key = "\"server_info\": \"";
  const char *at = strstr(text, key);
  cr_assert_not_null(at);
  at += strlen(key);
  g_autofree char *hex = g_strndup(at, (gsize)(strchr(at, '"') - at));
  GString *want = g_string_new(NULL);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf(want, "%02x", info[i]);
  cr_assert_str_eq(hex, want->str,
                   "chatd's server-info differs from the vector's: "
                   "regenerate v2-channel.json");
  g_string_free(want, TRUE);
  client_free(c);
}

/* A v2 client made of the bare channel over a blocking socket, to see what
 * chatd sends when it closes: a CLOSE record, or only the end of TCP. */
typedef struct {
  GSocketConnection *connection;
  GSocket *socket;
  chat_v2_channel *channel;
  gboolean saw_close; /* a CLOSE record came before the end */
  gsize messages;     /* messages that came */
} raw_v2;

static void raw_v2_write(raw_v2 *r) {
  const uint8_t *out;
  size_t len;
  cr_assert_eq(chat_v2_channel_output(r->channel, &out, &len), 0);
  if (len == 0)
    return;
  cr_assert(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(r->connection)),
                                      out, len, NULL, NULL, NULL));
  cr_assert_eq(chat_v2_channel_output_consumed(r->channel, len), 0);
}

/* Reads once (5 s at most); FALSE at the end of the stream. */
static gboolean raw_v2_read(raw_v2 *r) {
  guint8 buf[4096];
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive(r->socket, (gchar *)buf, sizeof buf, NULL, &error);
  cr_assert_geq(n, 0, "no end within 5 s: %s", error ? error->message : "?");
  size_t used = 0;
  while (used < (size_t)n) {
    ptrdiff_t k = chat_v2_channel_feed(r->channel, buf + used, (size_t)n - used);
    cr_assert_geq(k, 0, "%s", chat_v2_channel_error_message(r->channel));
    used += (size_t)k;
    const uint8_t *m;
    size_t m_len;
    while (chat_v2_channel_next_message(r->channel, &m, &m_len) == 1)
      r->messages++;
  }
  r->saw_close = chat_v2_channel_peer_closed(r->channel);
  return n > 0;
}

static void raw_v2_open(raw_v2 *r) {
  memset(r, 0, sizeof *r);
  g_autoptr(GSocketClient) sockets = g_socket_client_new();
  r->connection = g_socket_client_connect_to_host(sockets, "127.0.0.1", chatd.port, NULL, NULL);
  cr_assert_not_null(r->connection);
  r->socket = g_socket_connection_get_socket(r->connection);
  g_socket_set_timeout(r->socket, 5);
  chat_v2_config config;
  chat_v2_config_init(&config);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &config, &r->channel), 0);
  cr_assert_eq(chat_v2_channel_start(r->channel), 0);
  raw_v2_write(r);
  while (!chat_v2_channel_is_established(r->channel))
    cr_assert(raw_v2_read(r), "chatd closed during the handshake");
}

/* Reads until chatd ends the stream. */
static void raw_v2_until_end(raw_v2 *r) {
  while (raw_v2_read(r))
    ;
}

static void raw_v2_close(raw_v2 *r) {
  chat_v2_channel_free(r->channel);
  g_object_unref(r->connection);
}

/* Spec 6 and 7.6: a message that does not decode ends the connection with
 * a CLOSE record (after what was queued); a record that fails ends it
 * with only the end of TCP. */
Test(chatd_v2, an_undecodable_message_gets_a_close_record_a_bad_record_does_not,
     .init = start_v2_only, .fini = finish) {
  raw_v2 r;
  raw_v2_open(&r);
  /* client_echo (3) whose value is a str with a bad UTF-8 byte. */
  static const uint8_t bad[] = {0, 0, 0, 3, 0x03, 0, 0, 0, 1, 0xff};
  cr_assert_eq(chat_v2_channel_send(r.channel, bad, sizeof bad), 0);
  raw_v2_write(&r);
  raw_v2_until_end(&r);
  cr_assert(r.saw_close, "chatd ended the session with a CLOSE record");
  raw_v2_close(&r);

  raw_v2_open(&r);
  /* A record whose tag cannot verify: 17 bytes of zeros. */
  static const uint8_t forged[] = {0x00, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  cr_assert(g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(r.connection)),
                                      forged, sizeof forged, NULL, NULL, NULL));
  raw_v2_until_end(&r);
  cr_assert_not(r.saw_close, "a failed record is answered by closing TCP only");
  cr_assert(chatd_log_contains(&chatd, "failed authentication"), "%s", chatd.log->str);
  raw_v2_close(&r);

  /* A CLOSE is answered with a CLOSE. */
  raw_v2_open(&r);
  cr_assert_eq(chat_v2_channel_close(r.channel), 0);
  raw_v2_write(&r);
  raw_v2_until_end(&r);
  cr_assert(r.saw_close, "chatd answers a CLOSE with its own");
  raw_v2_close(&r);
}

/* Spec 7.4.4: chatd accepts a small message in fragments of any size. */
Test(chatd_v2, a_small_message_in_small_fragments_is_accepted, .init = start_v2_only,
     .fini = finish) {
  raw_v2 r;
  raw_v2_open(&r);
  /* client_echo "hi": 00000003 03 00000002 6869, 11 bytes, in 3 records. */
  static const uint8_t begin[] = {0, 0, 0, 11, 0, 0, 0};
  static const uint8_t middle[] = {3, 0x03, 0, 0};
  static const uint8_t end[] = {0, 2, 'h', 'i'};
  cr_assert_eq(chat_v2_channel_test_send_record(r.channel, CHAT_V2_RECORD_MESSAGE_BEGIN, begin,
                                                sizeof begin),
               0);
  cr_assert_eq(chat_v2_channel_test_send_record(r.channel, CHAT_V2_RECORD_MESSAGE_CONTINUE, middle,
                                                sizeof middle),
               0);
  cr_assert_eq(
      chat_v2_channel_test_send_record(r.channel, CHAT_V2_RECORD_MESSAGE_END, end, sizeof end), 0);
  raw_v2_write(&r);
  while (r.messages == 0)
    cr_assert(raw_v2_read(&r), "chatd closed instead of answering");
  cr_assert_eq(r.messages, 1, "the server_echo came back");
  cr_assert_not(r.saw_close);
  raw_v2_close(&r);
}

/* Spec 7.6 row 37: a shutdown ends every session with a CLOSE record. */
Test(chatd_v2, a_shutdown_ends_sessions_with_a_close_record, .init = start_v2_only,
     .fini = finish) {
  raw_v2 r;
  raw_v2_open(&r);
  g_subprocess_send_signal(chatd.process, SIGTERM);
  raw_v2_until_end(&r);
  cr_assert(r.saw_close, "the session ended with a CLOSE record");
  raw_v2_close(&r);
  chatd_stop(&chatd);
  cr_assert(chatd_log_contains(&chatd, "the server is shutting down"), "%s", chatd.log->str);
}

static void start_short_timeouts(void) {
  chatd_start(&chatd, FALSE, "\"handshake_timeout\": 1, \"login_timeout\": 1");
}

/* Spec 7.8: no handshake within server.handshake_timeout: chatd closes TCP
 * without a byte; no login within server.login_timeout: a CLOSE record. */
Test(chatd_v2, what_a_peer_sees_of_the_handshake_and_login_timeouts, .init = start_short_timeouts,
     .fini = finish) {
  /* Half a preamble, then nothing. */
  static const guint8 half[] = {0x00, 'C', 'H', 'A'};
  g_autoptr(GByteArray) got = raw_exchange(half, sizeof half);
  cr_assert_eq(got->len, 0, "nothing is sent before the close");
  cr_assert(chatd_log_contains(&chatd, "handshake not completed within 1000 ms"), "%s",
            chatd.log->str);

  raw_v2 r;
  raw_v2_open(&r);
  raw_v2_until_end(&r);
  cr_assert(r.saw_close, "the login timeout ends the session with a CLOSE record");
  cr_assert_eq(r.messages, 0);
  cr_assert(chatd_log_contains(&chatd, "no login within 1 s"), "%s", chatd.log->str);
  raw_v2_close(&r);
}

/* ---- v2 additions ---- */

Test(chatd_v2, resume_with_the_token_and_logout_revokes_it, .init = start_v2_only, .fini = finish) {
  test_client *c = client_connect(chatd.port, V2);
  g_free(client_ask(c, "register", "[\"alice\", \"pw\", \"Alice\"]", "register_successful"));
  g_free(client_ask(c, "login", "[\"alice\", \"pw\"]", "login_successful"));
  /* Take the bundle raw to get the token. */
  harness_spin(100);
  char *raw = NULL;
  GBytes *bundle = NULL;
  for (int i = 0; i < 100 && !bundle; i++) {
    bundle = g_queue_pop_head(&c->inbox);
    if (!bundle)
      harness_spin(20);
  }
  cr_assert_not_null(bundle);
  gsize len;
  const guint8 *data = g_bytes_get_data(bundle, &len);
  chat_arena arena;
  chat_arena_init(&arena);
  guint32 type;
  chat_value *params;
  chat_error err;
  cr_assert_eq(
      chat_message_decode(CHAT_DIALECT_V2, data, len, NULL, 0, &arena, &type, &params, &err), 0);
  cr_assert_eq(type, 114, "session_bundle");
  const chat_value *token = chat_value_dict_get(params, "token");
  cr_assert(token && token->kind == CHAT_VALUE_BYTES && token->as.blob.len == 32);
  g_autofree char *b64 = g_base64_encode(token->as.blob.data, token->as.blob.len);
  g_bytes_unref(bundle);
  chat_arena_clear(&arena);
  (void)raw;
  client_free(c);

  g_autofree char *resume =
      g_strdup_printf("{\"username\": \"alice\", \"token\": {\"$bytes\": \"%s\"}}", b64);
  c = client_connect(chatd.port, V2);
  ask_contains(c, "resume", resume, "login_successful", "\"username\": \"alice\"");
  expect_contains(c, "session_bundle", "\"token\": {\"$bytes_len\": 32}");
  ask_eq(c, "logout", "null", "logged_out", "null");
  cr_assert(client_wait_closed(c, HARNESS_TIMEOUT_MS));
  client_free(c);

  c = client_connect(chatd.port, V2);
  ask_contains(c, "resume", resume, "request_failed", "\"error\": \"token_refused\"");
  ask_contains(c, "resume", "{\"username\": \"alice\", \"token\": {\"$bytes\": \"AAAA\"}}",
               "request_failed", "\"error\": \"token_refused\"");
  client_free(c);
}

static const char *text(const char *s) {
  static char buf[512];
  g_snprintf(buf, sizeof buf,
             "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": \"%s\", "
             "\"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
             s);
  return buf;
}

Test(chatd_v2, a_resent_message_is_stored_and_delivered_once, .init = start_v2_only,
     .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_V2, &a, &b);
  const char *once =
      "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": \"once\", "
      "\"fontsize\": 12, \"fontcolor\": \"#000000\"}, \"client_msg_id\": \"m-1\"}";
  g_autofree char *ack = client_ask(a, "send_message", once, "on_new_message");
  cr_assert(g_str_has_suffix(ack, "\"id\": 1, \"client_msg_id\": \"m-1\", "
                                  "\"sender_username\": \"alice\"}"),
            "%s", ack);
  g_autofree char *got = client_expect(b, "on_new_message");
  cr_assert(g_str_has_suffix(got, "\"target_id\": 1, \"id\": 1, \"sender_username\": \"alice\"}"),
            "no client id for bob: %s", got);
  /* The ack was lost; the client sends again. */
  g_autofree char *ack2 = client_ask(a, "send_message", once, "on_new_message");
  cr_assert(g_str_has_suffix(ack2, "\"id\": 1, \"client_msg_id\": \"m-1\", "
                                   "\"sender_username\": \"alice\"}"),
            "%s", ack2);
  cr_assert(client_quiet_for(b, 300), "bob does not get it twice");
  g_autofree char *page = client_ask(a, "fetch_history",
                                     "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, "
                                     "\"limit\": 10}",
                                     "history_page");
  cr_assert(strstr(page, "\"id\": 1") && !strstr(page, "\"id\": 2"), "stored once: %s", page);
  client_free(a);
  client_free(b);
}

Test(chatd_v2, history_pages_and_unread_counts_survive_a_restart, .init = start_v2_only,
     .fini = finish) {
  test_client *a, *b;
  friends(CHAT_DIALECT_V2, &a, &b);
  client_free(b);
  g_free(client_expect(a, "friend_on_off_line"));
  for (int i = 1; i <= 5; i++) {
    char s[16];
    g_snprintf(s, sizeof s, "n%d", i);
    g_free(client_ask(a, "send_message", text(s), "on_new_message"));
  }
  client_free(a);
  chatd_restart(&chatd);

  b = client_connect(chatd.port, V2);
  g_free(client_ask(b, "login", "[\"bob\", \"pw\"]", "login_successful"));
  g_autofree char *bundle = client_expect(b, "session_bundle");
  cr_assert(strstr(bundle, "\"conversations\": [{\"target_type\": 0, \"target_id\": 1, "
                           "\"last\": {\"message\": {\"type\": 0, \"data\": \"n5\"") != NULL,
            "%s", bundle);
  cr_assert(strstr(bundle, "\"unread\": 5, \"last_read_id\": 0}") != NULL, "%s", bundle);
  g_autofree char *page1 = client_ask(b, "fetch_history",
                                      "{\"target_type\": 0, \"target_id\": 1, \"before_id\": 0, "
                                      "\"limit\": 2}",
                                      "history_page");
  cr_assert(strstr(page1, "\"data\": \"n5\"") && strstr(page1, "\"data\": \"n4\"") &&
                g_str_has_suffix(page1, "\"more\": true}"),
            "%s", page1);
  g_autofree char *page3 = client_ask(b, "fetch_history",
                                      "{\"target_type\": 0, \"target_id\": 1, \"before_id\": 2, "
                                      "\"limit\": 2}",
                                      "history_page");
  cr_assert(strstr(page3, "\"data\": \"n1\"") && g_str_has_suffix(page3, "\"more\": false}"), "%s",
            page3);
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 3}", "read_marker",
         "{\"target_type\": 0, \"target_id\": 1, \"last_read_id\": 3, \"unread\": 2}");
  ask_eq(b, "mark_read", "{\"target_type\": 0, \"target_id\": 1, \"up_to_id\": 1}", "read_marker",
         "{\"target_type\": 0, \"target_id\": 1, \"last_read_id\": 3, \"unread\": 2}");
  client_free(b);

  chatd_restart(&chatd);
  b = client_connect(chatd.port, V2);
  g_free(client_ask(b, "login", "[\"bob\", \"pw\"]", "login_successful"));
  g_autofree char *again = client_expect(b, "session_bundle");
  cr_assert(strstr(again, "\"unread\": 2, \"last_read_id\": 3}") != NULL, "%s", again);
  client_free(b);
}

Test(chatd_v2, leave_room_nickname_and_password, .init = start_v2_only, .fini = finish) {
  test_client *a = registered(V2, "alice", "Alice");
  g_free(client_ask(a, "create_room", "\"hikes\"", "contact_info"));
  g_free(client_expect(a, "general_msg"));
  ask_eq(a, "leave_room", "1", "left_room", "1");
  ask_contains(a, "leave_room", "1", "request_failed", "\"error\": \"not_member\"");
  ask_eq(a, "set_nickname", "\"  爱丽丝 \"", "profile_updated",
         "{\"id\": 1, \"username\": \"alice\", \"nickname\": \"爱丽丝\", \"online\": true}");
  ask_contains(a, "set_password", "[\"wrong\", \"new\"]", "request_failed",
               "\"error\": \"wrong_password\"");
  ask_eq(a, "set_password", "[\"pw\", \"new\"]", "password_changed", "null");
  client_free(a);
  a = client_connect(chatd.port, V2);
  ask_contains(a, "login", "[\"alice\", \"pw\"]", "request_failed", "\"error\": \"login_failed\"");
  client_login(a, "alice", "new");
  client_free(a);
}

Test(chatd_v2, v2_only_requests_are_refused_on_seed_connections, .init = start_legacy,
     .fini = finish) {
  test_client *c = registered(SEED, "alice", "Alice");
  /* Code 21 (logout) in the seed dialect: not a seed request; the
   * connection is dropped as malformed. */
  const guint8 logout[] = {21, 0};
  client_send_raw(c, logout, sizeof logout);
  cr_assert(client_wait_closed(c, HARNESS_TIMEOUT_MS));
  cr_assert(chatd_log_contains(&chatd, "type 21 is not a request of the seed dialect"), "%s",
            chatd.log->str);
  client_free(c);
}

/* ---- running chatd ---- */

Test(chatd_process, a_taken_port_is_a_clear_error_and_status_1, .init = start_v2_only,
     .fini = finish) {
  g_autofree char *config = NULL;
  g_assert_true(g_file_get_contents(chatd.config_path, &config, NULL, NULL));
  g_autofree char *port = g_strdup_printf("\"bind_port\": %u", chatd.port);
  GString *second = g_string_new(config);
  g_string_replace(second, "\"bind_port\": 0", port, 1);
  g_string_replace(second, "\"database\": \"chat.db\"", "\"database\": \"other.db\"", 1);
  g_autofree char *path = g_build_filename(chatd.dir, "second.json", NULL);
  g_assert_true(g_file_set_contents(path, second->str, -1, NULL));
  g_string_free(second, TRUE);
  const char *argv[] = {CHATD_PATH, "--config", path, NULL};
  program_result r = {0};
  run_program(argv, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 1, "status %d; %s", r.status, r.err);
  g_autofree char *expected = g_strdup_printf("cannot listen on 127.0.0.1:%u", chatd.port);
  cr_assert(strstr(r.err, expected) != NULL, "%s", r.err);
  program_result_clear(&r);
}

Test(chatd_process, durability_is_fsync_unless_configured_and_says_so) {
  if (harness_uses_postgresql())
    cr_skip_test("server.durability is SQLite's: PostgreSQL's own settings rule there");
  chatd_start(&chatd, FALSE, NULL);
  cr_assert(chatd_log_contains(&chatd, "every acknowledged message is on disk"), "%s",
            chatd.log->str);
  chatd_destroy(&chatd);
  chatd_start(&chatd, FALSE, "\"durability\": \"os\"");
  cr_assert(chatd_log_contains(&chatd, "acknowledged messages are lost if the machine loses power"),
            "%s", chatd.log->str);
  chatd_destroy(&chatd);
}

Test(chatd_process, a_bad_config_value_names_the_key) {
  g_autofree char *dir = g_dir_make_tmp("chatd-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "config.json", NULL);
  g_assert_true(
      g_file_set_contents(path, "{\"server\": {\"max_connections\": \"many\"}}", -1, NULL));
  const char *argv[] = {CHATD_PATH, "--config", path, NULL};
  program_result r = {0};
  run_program(argv, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 1);
  cr_assert(strstr(r.err, "server.max_connections") != NULL, "%s", r.err);
  program_result_clear(&r);
  g_unlink(path);
  g_rmdir(dir);
}

Test(chatd_process, help_and_version) {
  const char *help[] = {CHATD_PATH, "--help", NULL};
  program_result r = {0};
  run_program(help, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "--config") && strstr(r.out, "--import-seed-db") &&
                strstr(r.out, "Exit status"),
            "%s", r.out);
  program_result_clear(&r);
  const char *version[] = {CHATD_PATH, "--version", NULL};
  run_program(version, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 0);
  cr_assert(g_str_has_prefix(r.out, "chatd "));
  program_result_clear(&r);
}

static void start_default_login_rate(void) {
  chatd_start(&chatd, FALSE, "\"login_rate\": {\"per_minute\": 10, \"burst\": 3}");
}

Test(chatd_v2, only_failed_logins_count_against_the_rate_limit, .init = start_default_login_rate,
     .fini = finish) {
  test_client *c = registered(V2, "alice", "Alice");
  client_free(c);
  for (int i = 0; i < 10; i++) {
    c = client_connect(chatd.port, V2);
    client_login(c, "alice", "pw");
    client_free(c);
  }
  c = client_connect(chatd.port, V2);
  for (int i = 0; i < 3; i++) {
    ask_contains(c, "login", "[\"alice\", \"wrong\"]", "request_failed",
                 "\"error\": \"login_failed\"");
  }
  g_autofree char *refused = client_ask(c, "login", "[\"alice\", \"pw\"]", "request_failed");
  cr_assert(g_str_has_prefix(refused, "{\"error\": \"too_many_attempts\", \"text\": \"too many "
                                      "failed attempts from your address; try again in "),
            "%s", refused);
  client_free(c);
}

/* chatd's timers run on a test clock that the test moves forward by
 * IDLE_CLOCK_STEP_MS at a time (chatd_advance_clock): 2 steps pass the idle
 * timeout, 1 step (plus the real time the test takes, far below the margin
 * of 20 s) does not. */
#define IDLE_TIMEOUT_S 60
#define IDLE_CLOCK_STEP_MS 40000

static void start_idle_timeout(void) {
  g_autofree char *keys = g_strdup_printf("\"idle_timeout\": %d", IDLE_TIMEOUT_S);
  chatd_start_with_test_clock(&chatd, FALSE, keys, IDLE_CLOCK_STEP_MS);
}

Test(chatd_v2, idle_logged_in_clients_are_dropped_after_idle_timeout, .init = start_idle_timeout,
     .fini = finish) {
  test_client *quiet = registered(V2, "alice", "Alice");
  test_client *busy = registered(V2, "bob", "Bob");
  chatd_advance_clock(&chatd); /* 40 s: both quiet so far, neither dropped */
  g_free(client_ask(busy, "client_echo", "1", "server_echo"));
  cr_assert_not(quiet->closed, "alice was dropped before idle_timeout");
  chatd_advance_clock(&chatd); /* 80 s: alice quiet for 80 s, bob for 40 s */
  cr_assert(client_wait_closed(quiet, HARNESS_TIMEOUT_MS), "alice said nothing for 80 s");
  g_free(client_ask(busy, "client_echo", "2", "server_echo"));
  cr_assert_not(busy->closed, "bob spoke 40 s ago");
  cr_assert(chatd_log_contains(&chatd, "server.idle_timeout"), "%s", chatd.log->str);
  client_free(quiet);
  client_free(busy);
}

/* chat-dial (the clients' dialer): a quiet connection outlives the dial
 * timeout, which bounds connecting only. */
static void on_dial_message(ChatConnection *connection, gconstpointer data, gsize len,
                            gpointer user_data) {
  (void)connection;
  (void)data;
  (void)len;
  (*(int *)user_data)++;
}

Test(chatd_v2, a_dialled_connection_stays_up_past_the_dial_timeout, .init = start_v2_only,
     .fini = finish) {
  g_autofree char *known_hosts = g_build_filename(chatd.dir, "known_hosts", NULL);
  ChatDialOptions options = {
      .host = "127.0.0.1",
      .port = chatd.port,
      .dialect = CHAT_DIALECT_V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .timeout_ms = 500,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatConnection) connection = chat_dial_sync(&options, &error);
  cr_assert_not_null(connection, "%s", error ? error->message : "?");
  int received = 0;
  g_signal_connect(connection, "message", G_CALLBACK(on_dial_message), &received);
  harness_spin(1500);
  const guint8 echo[] = {0, 0, 0, 3, 0}; /* v2 client_echo null */
  cr_assert(chat_connection_send(connection, echo, sizeof echo, &error), "%s",
            error ? error->message : "?");
  for (int i = 0; i < 200 && received == 0; i++)
    harness_spin(10);
  cr_assert_eq(received, 1, "the echo came back after 1.5 s of quiet");
  chat_connection_close(connection, FALSE);
}
