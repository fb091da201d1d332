/* The client core against a real chatd. */
#include "client-core-fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static chatd_instance chatd;

static void start_v2_server(void) {
  setup_dir();
  chatd_start(&chatd, FALSE, NULL);
}

static void start_legacy_server(void) {
  setup_dir();
  chatd_start(&chatd, TRUE, NULL);
}

static void stop_server(void) {
  teardown();
  chatd_destroy(&chatd);
}

typedef struct {
  ChatSession *session;
  ChatSessionState state;
} state_wait;

static gboolean in_state(gpointer data) {
  state_wait *w = data;
  return chat_session_get_state(w->session) == w->state;
}

static void wait_state(ChatSession *session, ChatSessionState state) {
  state_wait w = {session, state};
  cr_assert(test_spin_until(in_state, &w, HARNESS_TIMEOUT_MS), "state %d, waited for %d (%s)",
            chat_session_get_state(session), state,
            chat_session_get_last_error(session) ? chat_session_get_last_error(session) : "");
}

static gboolean recorded(gpointer data) {
  return ((recorder *)data)->count > 0;
}

static gboolean has_unread(gpointer data) {
  return chat_contact_get_unread(data) > 0;
}

static gboolean is_sent(gpointer data) {
  return chat_message_item_get_delivery(data) == CHAT_DELIVERY_SENT;
}

static void send_text_as(test_client *c, gint64 to, const char *text) {
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"%s\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      to, text);
  client_send(c, "send_message", params);
  g_free(client_expect_skipping(c, "on_new_message"));
}

/* Restarts a stopped chatd (same config, database and key) on port. */
static void restart_on_port(guint16 port) {
  g_autofree char *config = NULL;
  cr_assert(g_file_get_contents(chatd.config_path, &config, NULL, NULL));
  g_autofree char *fixed = g_strdup_printf("\"bind_port\": %u,", port);
  g_autoptr(GRegex) bind_port = g_regex_new("\"bind_port\": [0-9]+,", 0, 0, NULL);
  g_autofree char *text = g_regex_replace_literal(bind_port, config, -1, 0, fixed, 0, NULL);
  cr_assert(g_regex_match(bind_port, config, 0, NULL), "no bind_port in %s", config);
  cr_assert(g_file_set_contents(chatd.config_path, text, -1, NULL));
  chatd_restart(&chatd);
  cr_assert_eq(chatd.port, port);
}

/* Restarts chatd on the port it had (the harness picks a new ephemeral
 * port each start; the session keeps dialling the old one). */
static void restart_on_same_port(void) {
  guint16 port = chatd.port;
  chatd_stop(&chatd);
  restart_on_port(port);
}

static gboolean sent_queue_has(const char *name) {
  const chat_message_info *info = chat_catalogue_by_name(name);
  for (GList *l = fx.sent.head; l; l = l->next) {
    gsize len;
    const guint8 *data = g_bytes_get_data(l->data, &len);
    if (len >= 4 && (chat_load_u32be(data) & CHAT_MESSAGE_TYPE_MASK) == info->code)
      return TRUE;
  }
  return FALSE;
}

Test(client_e2e, live_messages_then_a_restart_and_resume_deliver_once, .init = start_v2_server,
     .fini = stop_server) {
  test_client *bob = client_connect(chatd.port, V2);
  gint64 bob_id = client_register(bob, "bob", "pw", "Bob");
  test_client *carol = client_connect(chatd.port, V2);
  gint64 carol_id = client_register(carol, "carol", "pw", "Carol");
  test_client *setup = client_connect(chatd.port, V2);
  gint64 alice_id = client_register(setup, "alice", "secret", "Alice");
  befriend(setup, bob, "bob", alice_id);
  befriend(setup, carol, "carol", alice_id);
  send_text_as(carol, alice_id, "earlier");
  client_free(setup);

  fx.dialect = V2;
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE); /* a tap on the wire */
  chat_session_test_set_backoff(fx.session, TEST_BACKOFF_INITIAL_MS, TEST_BACKOFF_MAX_MS);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_eq(chat_session_get_user_id(fx.session), alice_id);

  ChatContact *c_bob = contact(CHAT_CONTACT_FRIEND, bob_id);
  ChatContact *c_carol = contact(CHAT_CONTACT_FRIEND, carol_id);
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Carol,Bob");
  cr_assert_eq(chat_contact_get_unread(c_carol), 1);
  cr_assert_str_eq(chat_contact_get_preview(c_carol), "earlier");
  cr_assert(chat_contact_get_online(c_bob));

  send_text_as(bob, alice_id, "hello\\nthere");
  cr_assert(test_spin_until(has_unread, c_bob, HARNESS_TIMEOUT_MS), "bob's message arrives");
  g_autofree char *order2 = contact_order();
  cr_assert_str_eq(order2, "Bob,Carol");
  cr_assert_str_eq(chat_contact_get_preview(c_bob), "hello there");
  cr_assert_eq(chat_session_get_unread_total(fx.session), 2);
  chat_session_mark_read(fx.session, c_carol);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 1);

  ChatConversation *conv = chat_session_get_conversation(fx.session, c_bob);
  client_free(bob);
  client_free(carol);

  /* The server goes away; a message is written meanwhile. */
  guint16 port = chatd.port;
  chatd_stop(&chatd);
  wait_state(fx.session, CHAT_SESSION_RECONNECTING);
  harness_spin(2 * TEST_BACKOFF_INITIAL_MS); /* a few refused attempts */
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  chat_session_send_text(fx.session, c_bob, "written while offline", 0, NULL);
  guint n = message_count(conv);
  ChatMessageItem *offline = message_at(conv, n - 1);
  cr_assert_eq(chat_message_item_get_delivery(offline), CHAT_DELIVERY_PENDING);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);

  chatd.port = port;
  restart_on_same_port();
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert(sent_queue_has("resume"), "the session resumed with its token");
  cr_assert_not(sent_queue_has("login"), "no password was sent again");
  cr_assert(test_spin_until(is_sent, offline, HARNESS_TIMEOUT_MS),
            "the queued message is acknowledged");
  cr_assert_gt(chat_message_item_get_id(offline), 0);

  /* Bob sees it exactly once. */
  bob = client_connect(chatd.port, V2);
  client_login(bob, "bob", "pw");
  g_autofree char *fetch = g_strdup_printf("{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT
                                           ", \"before_id\": 0, \"limit\": 50}",
                                           alice_id);
  client_send(bob, "fetch_history", fetch);
  g_autofree char *page = client_expect_skipping(bob, "history_page");
  const char *first = strstr(page, "written while offline");
  cr_assert_not_null(first, "%s", page);
  cr_assert_null(strstr(first + 1, "written while offline"), "stored twice: %s", page);
  guint copies = 0;
  for (guint i = 0; i < message_count(conv); i++)
    if (g_strcmp0(chat_message_item_get_text(message_at(conv, i)), "written while offline") == 0)
      copies++;
  cr_assert_eq(copies, 1);
  client_free(bob);
}

/* chatd replaces the token at every resume: the session (and the file the
 * next start reads) must follow, or the second reconnect would need the
 * password. */
Test(client_e2e, each_resume_keeps_the_token_the_server_just_gave, .init = start_v2_server,
     .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);

  fx.dialect = V2;
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE);
  chat_session_test_set_backoff(fx.session, TEST_BACKOFF_INITIAL_MS, TEST_BACKOFF_MAX_MS);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  for (int round = 0; round < 3; round++) {
    g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
    chat_session_test_drop_connection(fx.session);
    cr_assert(chat_session_test_reconnect_now(fx.session));
    wait_state(fx.session, CHAT_SESSION_ONLINE);
    cr_assert(sent_queue_has("resume"), "round %d: no resume", round);
    cr_assert_not(sent_queue_has("login"), "round %d: the password was needed", round);
  }
  /* A new start of the client resumes from the saved (newest) token. */
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE);
  cr_assert(chat_session_resume(fx.session, "alice"));
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_eq(chatd_log_contains(&chatd, "resume of alice refused"), FALSE, "%s", chatd.log->str);
}

Test(client_e2e, policy_ask_confirms_the_key_then_logs_in, .init = start_v2_server,
     .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);

  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ASK);
  recorder confirm = {0};
  g_signal_connect(fx.session, "confirm-server-key", G_CALLBACK(on_two_strings), &confirm);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &confirm, HARNESS_TIMEOUT_MS), "confirm-server-key");
  g_autofree char *host_port = g_strdup_printf("127.0.0.1:%u", chatd.port);
  cr_assert_str_eq(confirm.text, host_port);
  cr_assert(g_str_has_prefix(confirm.text2, "SHA256:"), "%s", confirm.text2);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);

  chat_session_trust_server(fx.session, confirm.text2, TRUE);
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  g_autofree char *known_hosts = g_build_filename(fx.dir, "known_hosts", NULL);
  g_autofree char *recorded_keys = NULL;
  cr_assert(g_file_get_contents(known_hosts, &recorded_keys, NULL, NULL));
  cr_assert(strstr(recorded_keys, confirm.text2), "%s", recorded_keys);

  /* Another key recorded for this server: refused, with both keys. */
  g_autofree char *other = g_strdup(confirm.text2);
  char *last = other + strlen(other) - 2;
  *last = *last == 'A' ? 'B' : 'A';
  g_autofree char *line = g_strdup_printf("%s %s\n", host_port, other);
  cr_assert(g_file_set_contents(known_hosts, line, -1, NULL));
  g_clear_object(&fx.session);
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  recorder changed = {0};
  g_signal_connect(fx.session, "server-key-changed", G_CALLBACK(on_string), &changed);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &changed, HARNESS_TIMEOUT_MS), "server-key-changed");
  cr_assert(strstr(changed.text, other) && strstr(changed.text, confirm.text2), "%s", changed.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  recorder_clear(&confirm);
  recorder_clear(&changed);
}

Test(client_e2e, an_unreachable_server_is_reported, .init = setup_dir, .fini = teardown) {
  /* A port nobody listens on: bind one, note it, close it. */
  g_autoptr(GSocketListener) listener = g_socket_listener_new();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  cr_assert(g_socket_listener_add_address(listener, any, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
  guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_socket_listener_close(listener);

  fx.session = new_session(V2, "127.0.0.1", port, CHAT_PIN_ACCEPT_NEW);
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTING);
  cr_assert(test_spin_until(recorded, &errors, HARNESS_TIMEOUT_MS), "error");
  cr_assert(g_str_has_prefix(errors.text, "Cannot reach the server"), "%s", errors.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_str_eq(chat_session_get_last_error(fx.session), errors.text);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0, "the user retries");
  recorder_clear(&errors);
}

Test(client_e2e, a_seed_login_shows_offline_messages_as_unread, .init = start_legacy_server,
     .fini = stop_server) {
  test_client *bob = client_connect(chatd.port, SEED);
  gint64 bob_id = client_register(bob, "bob", "pw", "Bob");
  test_client *setup = client_connect(chatd.port, SEED);
  gint64 alice_id = client_register(setup, "alice", "secret", "Alice");
  befriend(setup, bob, "bob", alice_id);
  client_free(setup);
  /* Only once chatd knows alice is gone is the message stored as unsent
   * (sent = 0), the seed's unread mark. */
  g_autofree char *offline = g_strdup_printf("[false, %" G_GINT64_FORMAT "]", alice_id);
  g_autofree char *presence = client_expect_skipping(bob, "friend_on_off_line");
  cr_assert_str_eq(presence, offline);
  send_text_as(bob, alice_id, "while you\\nwere out");

  /* The repository's config.json gives the seed DH group. */
  ChatSessionOptions options;
  g_autoptr(GError) error = NULL;
  cr_assert(chat_session_options_load(&options, CHAT_SOURCE_ROOT "/config.json", &error), "%s",
            error ? error->message : "?");
  g_free(options.host);
  options.host = g_strdup("127.0.0.1");
  options.port = chatd.port;
  options.dialect = SEED;
  options.state_dir = g_build_filename(fx.dir, "state", NULL);
  options.known_hosts_path = g_build_filename(fx.dir, "known_hosts", NULL);
  fx.session = chat_session_new(&options);
  chat_session_options_clear(&options);
  fx.dialect = SEED;

  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  ChatContact *c_bob = contact(CHAT_CONTACT_FRIEND, bob_id);
  cr_assert_eq(chat_contact_get_unread(c_bob), 1);
  cr_assert_str_eq(chat_contact_get_preview(c_bob), "while you were out");
  ChatConversation *conv = chat_session_get_conversation(fx.session, c_bob);
  cr_assert_eq(message_count(conv), 1);
  cr_assert(chat_conversation_get_complete(conv));

  chat_session_send_text(fx.session, c_bob, "back now", 0, NULL);
  ChatMessageItem *item = message_at(conv, 1);
  cr_assert(test_spin_until(is_sent, item, HARNESS_TIMEOUT_MS), "acknowledged by the own copy");
  g_autofree char *got = client_expect_skipping(bob, "on_new_message");
  cr_assert(strstr(got, "\"data\": \"back now\""), "%s", got);
  cr_assert_eq(message_count(conv), 2);
  client_free(bob);
}

/* ---- a server of another protocol version (spec 7.7) ---- */

/* Accepts one connection, answers the refusal of a server that speaks
 * version 7 at most, and closes. */
static gpointer refuse_one(gpointer data) {
  int listen_fd = GPOINTER_TO_INT(data);
  int fd = accept(listen_fd, NULL, NULL);
  if (fd < 0)
    return NULL;
  guint8 hello[64];
  (void)!recv(fd, hello, sizeof hello, 0);
  static const guint8 refusal[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x07, 0x00, 0x01};
  (void)!send(fd, refusal, sizeof refusal, MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  struct timeval two_seconds = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
  while (recv(fd, hello, sizeof hello, 0) > 0)
    ;
  close(fd);
  return NULL;
}

Test(client_e2e, a_server_of_another_version_is_reported_and_not_retried, .init = setup_dir,
     .fini = teardown) {
  int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(listen_fd, 1), 0);
  socklen_t addr_len = sizeof addr;
  cr_assert_eq(getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len), 0);
  GThread *thread = g_thread_new("refusing-server", refuse_one, GINT_TO_POINTER(listen_fd));

  fx.session = new_session(V2, "127.0.0.1", ntohs(addr.sin_port), CHAT_PIN_ACCEPT_NEW);
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &errors, HARNESS_TIMEOUT_MS), "an error is reported");
  g_thread_join(thread);
  close(listen_fd);
  cr_assert(strstr(errors.text, "The server does not speak this program's protocol") &&
                strstr(errors.text, "the server speaks protocol version 7; this program speaks 2"),
            "%s", errors.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  recorder_clear(&errors);
}

/* ---- client.servers: several servers of one deployment ---- */

/* A loopback port nobody listens on: bound, noted, closed. */
static guint16 closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  socklen_t len = sizeof addr;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

/* A listener on port that never accepts: a client dialling it would wait
 * for a handshake that never comes; readable once one has connected. */
static int silent_listener(guint16 port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {
      .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0, "port %u: %s", port,
               g_strerror(errno));
  cr_assert_eq(listen(fd, 4), 0);
  return fd;
}

static gboolean someone_connected(int listen_fd) {
  struct pollfd p = {.fd = listen_fd, .events = POLLIN};
  return poll(&p, 1, 0) == 1;
}

static ChatSession *new_session_on(guint16 first, guint16 second) {
  g_autofree char *state = g_build_filename(fx.dir, "state", NULL);
  g_autofree char *known_hosts = g_build_filename(fx.dir, "known_hosts", NULL);
  g_autofree char *a = g_strdup_printf("127.0.0.1:%u", first);
  g_autofree char *b = g_strdup_printf("127.0.0.1:%u", second);
  char *servers[] = {a, b, NULL};
  ChatSessionOptions options = {
      .servers = servers,
      .dialect = V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .state_dir = state,
  };
  return chat_session_new(&options);
}

Test(client_e2e, a_list_of_servers_skips_one_that_is_down, .init = start_v2_server,
     .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);
  guint16 dead = closed_port(), other = closed_port();

  /* None answering: one error naming each. */
  fx.session = new_session_on(dead, other);
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &errors, HARNESS_TIMEOUT_MS), "error");
  g_autofree char *expected = g_strdup_printf(
      "Cannot reach the server: none of the 2 servers could be reached: 127.0.0.1:%u (connection "
      "refused), 127.0.0.1:%u (connection refused)",
      dead, other);
  cr_assert_str_eq(errors.text, expected);
  recorder_clear(&errors);
  g_clear_object(&fx.session);

  fx.session = new_session_on(dead, chatd.port);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  g_autofree char *live = g_strdup_printf("127.0.0.1:%u", chatd.port);
  cr_assert_str_eq(chat_session_get_server_address(fx.session), live);
  /* One deployment, one key: pinned under the first server listed. */
  g_autofree char *known_hosts = g_build_filename(fx.dir, "known_hosts", NULL);
  g_autofree char *pins = NULL;
  cr_assert(g_file_get_contents(known_hosts, &pins, NULL, NULL));
  g_autofree char *entry = g_strdup_printf("127.0.0.1:%u SHA256:", dead);
  cr_assert(g_str_has_prefix(pins, entry), "%s", pins);
}

/* The server the session is on stops; the same deployment answers on the
 * second server (here: the same chatd, config and database, started again
 * on the other port, since two chatd cannot share one SQLite database).
 * The session reconnects there first, not to the server it lost, and
 * resumes with its token; when that one stops in turn, it wraps around to
 * the first. */
Test(client_e2e, a_lost_server_is_followed_by_the_next_one_and_the_session_resumes,
     .init = start_v2_server, .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);
  guint16 first = chatd.port, second = closed_port();
  g_autofree char *first_text = g_strdup_printf("127.0.0.1:%u", first);
  g_autofree char *second_text = g_strdup_printf("127.0.0.1:%u", second);

  fx.dialect = V2;
  fx.session = new_session_on(first, second);
  chat_session_test_capture(fx.session, &fx.sent, FALSE);
  /* Reconnects happen when the test says (chat_session_test_reconnect_now). */
  chat_session_test_set_backoff(fx.session, 600000, 600000);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_str_eq(chat_session_get_server_address(fx.session), first_text);

  chatd_stop(&chatd);
  wait_state(fx.session, CHAT_SESSION_RECONNECTING);
  /* The lost server's port now holds a listener that never answers: a dial
   * there would show, and would wait for the handshake's timeout. */
  int silent = silent_listener(first);
  restart_on_port(second);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_str_eq(chat_session_get_server_address(fx.session), second_text);
  cr_assert_not(someone_connected(silent), "the lost server was tried first");
  cr_assert(sent_queue_has("resume"), "the session resumed with its token");
  cr_assert_not(sent_queue_has("login"), "no password was sent again");
  close(silent);

  /* The second server stops: the next after it is the first again. */
  chatd_stop(&chatd);
  wait_state(fx.session, CHAT_SESSION_RECONNECTING);
  silent = silent_listener(second);
  restart_on_port(first);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_str_eq(chat_session_get_server_address(fx.session), first_text);
  cr_assert_not(someone_connected(silent), "the lost server was tried first");
  cr_assert(sent_queue_has("resume"));
  cr_assert_not(sent_queue_has("login"));
  close(silent);
}
