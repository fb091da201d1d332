/* ChatConnection tests (protocol/gio/chat-connection.h) on loopback sockets:
 * round trips in both dialects, refusals and a slow reader. Fixture:
 * connection-fixture.h. */
#include "connection-fixture.h"

/* ---- round trips ---------------------------------------------------------- */

static gsize *round_trip_sizes(guint *count) {
  static const gsize edges[] = {
      1,
      2,
      15,
      16,
      17,
      31,
      32,
      33,
      255,
      1000,
      4096,
      16384,
      CHAT_V2_MAX_RECORD_BODY - 1,
      CHAT_V2_MAX_RECORD_BODY,
      CHAT_V2_MAX_RECORD_BODY + 1,
      65536,
      100000,
      (gsize)1 << 20,
      BIG_MESSAGE,
  };
  const guint n = G_N_ELEMENTS(edges) + SMALL_MESSAGES;
  const guint stride = SMALL_MESSAGES / G_N_ELEMENTS(edges);
  gsize *sizes = g_new(gsize, n);
  guint k = 0;
  /* Small messages of 1..300 bytes, with an edge size after every stride. */
  for (guint i = 0; i < SMALL_MESSAGES; i++) {
    sizes[k++] = 1 + (i * 37u) % 300u;
    if (i % stride == 0 && i / stride < G_N_ELEMENTS(edges))
      sizes[k++] = edges[i / stride];
  }
  cr_assert_eq(k, n);
  *count = k;
  return sizes;
}

static void round_trip(chat_dialect dialect, guint8 suite) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};
  guint count;
  gsize *sizes = round_trip_sizes(&count);
  gsize total = 0;
  for (guint i = 0; i < count; i++)
    total += sizes[i];

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, TRUE);
  ss.v2_suite = suite;
  ChatClientSecurity cs = client_security(dialect, &key);
  cs.v2_suite = suite;
  establish_pair(&l, &ss, &cs, &server, &client);
  cr_assert_eq(chat_connection_get_dialect(server.conn), dialect);
  cr_assert_eq(chat_connection_get_dialect(client.conn), dialect);

  gboolean v2 = dialect == CHAT_DIALECT_V2;
  Expect to_server = {.sizes = sizes, .count = count, .per_kind_order = v2};
  Expect to_client = {.sizes = sizes, .count = count, .per_kind_order = v2};
  server.expect = &to_server;
  client.expect = &to_client;

  /* The seed server may send only after the client's first frame: its
   * messages wait in the adapter's queue meanwhile. */
  send_all(server.conn, sizes, count);
  send_all(client.conn, sizes, count);

  PeerPair pp = {&server, &client, count};
  cr_assert(run_until(both_received, &pp, WAIT_MS),
            "got %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT " of %u messages", server.messages,
            client.messages, count);
  cr_assert_null(server.closed_error, "%s",
                 server.closed_error ? server.closed_error->message : "");
  cr_assert_null(client.closed_error, "%s",
                 client.closed_error ? client.closed_error->message : "");
  cr_assert_eq(server.messages, count);
  cr_assert_eq(client.messages, count);
  cr_assert_eq(server.bytes, total);
  cr_assert_eq(client.bytes, total);
  cr_assert_eq(to_server.mismatches, 0, "%s", to_server.first_mismatch);
  cr_assert_eq(to_client.mismatches, 0, "%s", to_client.first_mismatch);

  close_pair(&server, &client);
  listener_close(&l);
  g_free(sizes);
  group_clear();
}

Test(connection, seed_round_trip_both_ways_1_byte_to_5_mb) {
  round_trip(CHAT_DIALECT_SEED, CHAT_V2_SUITE_ANY);
}

Test(connection, v2_round_trip_both_ways_1_byte_to_5_mb) {
  round_trip(CHAT_DIALECT_V2, CHAT_V2_SUITE_ANY);
}

Test(connection, v2_chachapoly_round_trip) {
  round_trip(CHAT_DIALECT_V2, CHAT_V2_SUITE_CHACHAPOLY);
}

Test(connection, handshake_async_getters_and_caller_errors) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};
  GError *error = NULL;
  guint8 got[CHAT_V2_KEY_LEN];
  gsize info_len = 0;

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, FALSE);
  ChatClientSecurity cs = client_security(CHAT_DIALECT_V2, &key);
  cs.max_message_bytes = 1000;
  make_pair(&l, &ss, &cs, &server, &client);

  /* Nothing can be sent before the handshake. */
  cr_assert_not(chat_connection_send(client.conn, (const guint8 *)"x", 1, &error));
  cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_NOT_ESTABLISHED));
  g_clear_error(&error);
  cr_assert_not(chat_connection_get_server_key(client.conn, got));
  cr_assert_eq(chat_connection_get_dialect(server.conn), CHAT_DIALECT_UNKNOWN);

  GAsyncResult *result = NULL;
  chat_connection_handshake_async(client.conn, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration(ctx, TRUE);
  cr_assert(chat_connection_handshake_finish(client.conn, result, &error), "%s",
            error ? error->message : "");
  g_object_unref(result);
  PeerPair pp = {&server, &client, 0};
  cr_assert(run_until(both_established, &pp, WAIT_MS));

  cr_assert(chat_connection_is_established(client.conn));
  cr_assert(chat_connection_is_server(server.conn));
  cr_assert_not(chat_connection_is_server(client.conn));
  cr_assert_eq(chat_connection_get_dialect(server.conn), CHAT_DIALECT_V2);
  cr_assert(chat_connection_get_server_key(client.conn, got));
  cr_assert_eq(memcmp(got, key.pub, sizeof got), 0);
  const guint8 *info = chat_connection_get_server_info(client.conn, &info_len);
  cr_assert_not_null(info);
  cr_assert_eq(info_len, sizeof server_info_blob);
  cr_assert_eq(memcmp(info, server_info_blob, info_len), 0);

  /* "127.0.0.1:port" on both sides, each naming the other end. */
  char expected[CHAT_CONNECTION_PEER_ADDRESS_MAX];
  g_snprintf(expected, sizeof expected, LOOPBACK ":%u", l.port);
  cr_assert_str_eq(chat_connection_get_peer_address(client.conn), expected);
  cr_assert(g_str_has_prefix(chat_connection_get_peer_address(server.conn), LOOPBACK ":"));

  /* Size limits are caller errors; the connection goes on. */
  cr_assert_not(chat_connection_send(client.conn, (const guint8 *)"", 0, &error));
  cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE));
  g_clear_error(&error);
  guint8 big[1001] = {0};
  cr_assert_not(chat_connection_send(client.conn, big, sizeof big, &error));
  cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE));
  g_clear_error(&error);
  cr_assert(chat_connection_send(client.conn, big, 1000, &error));
  PeerPair one = {&client, &server, 1};
  cr_assert(run_until(b_received, &one, WAIT_MS));
  cr_assert_eq(server.messages, 1);

  /* A second handshake wait on an established connection returns at once. */
  result = NULL;
  chat_connection_handshake_async(client.conn, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration(ctx, TRUE);
  cr_assert(chat_connection_handshake_finish(client.conn, result, NULL));
  g_object_unref(result);

  close_pair(&server, &client);
  listener_close(&l);
}

/* ---- refusals ------------------------------------------------------------- */

static GString *captured_log;

static GLogWriterOutput capture_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                                       gpointer user_data) {
  const char *domain = NULL, *message = NULL;
  for (gsize i = 0; i < n; i++) {
    if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (strcmp(fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  }
  if (captured_log != NULL && domain != NULL && message != NULL &&
      strcmp(domain, "chat-connection") == 0) {
    g_string_append(captured_log, message);
    g_string_append_c(captured_log, '\n');
  }
  if (level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default(level, fields, n, user_data);
}

Test(connection, seed_client_refused_when_legacy_is_off_with_logged_reason) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};

  g_setenv("G_MESSAGES_DEBUG", "chat-connection", TRUE);
  captured_log = g_string_new(NULL);
  g_log_set_writer_func(capture_writer, NULL, NULL);

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, FALSE);
  ChatClientSecurity cs = client_security(CHAT_DIALECT_SEED, &key);
  make_pair(&l, &ss, &cs, &server, &client);
  PeerPair pp = {&server, &client, 0};
  cr_assert(run_until(both_closed, &pp, WAIT_MS));

  cr_assert_not(server.established);
  cr_assert_not(client.established);
  cr_assert(g_error_matches(server.closed_error, CHAT_CONNECTION_ERROR,
                            CHAT_CONNECTION_ERROR_LEGACY_REFUSED));
  const char *reason = server.closed_error->message;
  cr_assert(strstr(reason, "allow_legacy") != NULL, "%s", reason);
  cr_assert(g_str_has_prefix(reason, chat_connection_get_peer_address(server.conn)), "%s", reason);
  cr_assert_eq(chat_connection_get_dialect(server.conn), CHAT_DIALECT_SEED);
  /* The adapter logged exactly that message. */
  cr_assert(strstr(captured_log->str, reason) != NULL, "log: %s", captured_log->str);
  /* The client never got B: its handshake failed. */
  cr_assert(
      g_error_matches(client.closed_error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_HANDSHAKE),
      "%s", client.closed_error ? client.closed_error->message : "no error");

  peer_clear(&server);
  peer_clear(&client);
  listener_close(&l);
  group_clear();
  g_string_free(captured_log, TRUE);
  captured_log = NULL;
}

typedef struct {
  Peer *peers;
  guint count;
} PeerSet;

static gboolean all_closed(gpointer data) {
  PeerSet *s = data;
  for (guint i = 0; i < s->count; i++)
    if (s->peers[i].closed_count == 0)
      return FALSE;
  return TRUE;
}

Test(connection, garbage_is_refused_and_other_connections_are_unaffected) {
  static const char http[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
  static const guint8 bad_magic[] = {0x00, 'C', 'H', 'A', 'X', 2, 1, 0, 0, 32};
  static const guint8 bad_version[] = {0x00, 'C', 'H', 'A', 'T', 9, 1, 0};
  static const guint8 zeros[64] = {0};
  guint8 long_value[2000];
  Listener l, l_legacy;
  KeyPair key;
  Peer good_server = {0}, good_client = {0};

  for (gsize i = 0; i < sizeof long_value; i++)
    long_value[i] = (guint8)(0x80 | (i * 13));

  listener_open(&l);
  listener_open(&l_legacy);
  keypair_make(&key);
  ChatServerSecurity strict = server_security(&key, FALSE);
  ChatServerSecurity legacy = server_security(&key, TRUE);
  ChatClientSecurity cs = client_security(CHAT_DIALECT_V2, &key);
  establish_pair(&l, &strict, &cs, &good_server, &good_client);

  struct {
    Listener *listener;
    const ChatServerSecurity *security;
    const void *bytes;
    gsize len;
    ChatConnectionError expected;
  } cases[] = {
      {&l, &strict, http, sizeof http - 1, CHAT_CONNECTION_ERROR_LEGACY_REFUSED},
      {&l, &strict, bad_magic, sizeof bad_magic, CHAT_CONNECTION_ERROR_HANDSHAKE},
      {&l, &strict, bad_version, sizeof bad_version, CHAT_CONNECTION_ERROR_HANDSHAKE},
      {&l, &strict, zeros, sizeof zeros, CHAT_CONNECTION_ERROR_HANDSHAKE},
      /* With the legacy dialect on, garbage is a seed DH value: too long. */
      {&l_legacy, &legacy, long_value, sizeof long_value, CHAT_CONNECTION_ERROR_HANDSHAKE},
      /* A value of 1 is outside 2..p-2. */
      {&l_legacy, &legacy, "\x01", 1, CHAT_CONNECTION_ERROR_HANDSHAKE},
  };
  enum { N_CASES = G_N_ELEMENTS(cases) };
  Peer bad[N_CASES];
  GSocket *raw[N_CASES];
  memset(bad, 0, sizeof bad);

  for (guint i = 0; i < N_CASES; i++) {
    raw[i] = raw_connect(cases[i].listener->port, 0);
    GSocketConnection *s = accept_stream(cases[i].listener);
    peer_attach(&bad[i], chat_connection_new_server(G_IO_STREAM(s), cases[i].security));
    g_object_unref(s);
    chat_connection_start(bad[i].conn);
    raw_send_all(raw[i], cases[i].bytes, cases[i].len);
  }
  /* Meanwhile the good connection goes on. */
  cr_assert(chat_connection_send(good_client.conn, (const guint8 *)"hello", 5, NULL));
  cr_assert(chat_connection_send(good_server.conn, (const guint8 *)"world", 5, NULL));

  PeerSet set = {bad, N_CASES};
  cr_assert(run_until(all_closed, &set, WAIT_MS));
  for (guint i = 0; i < N_CASES; i++) {
    cr_assert(g_error_matches(bad[i].closed_error, CHAT_CONNECTION_ERROR, cases[i].expected),
              "case %u: %s", i, bad[i].closed_error ? bad[i].closed_error->message : "no error");
    cr_assert_not(bad[i].established, "case %u", i);
    cr_assert(strstr(bad[i].closed_error->message, LOOPBACK ":") != NULL, "%s",
              bad[i].closed_error->message);
  }

  PeerPair pp = {&good_server, &good_client, 1};
  cr_assert(run_until(both_received, &pp, WAIT_MS));
  cr_assert_eq(good_server.closed_count, 0);
  cr_assert_eq(good_client.closed_count, 0);
  cr_assert_eq(good_server.messages, 1);
  cr_assert_eq(good_client.messages, 1);

  for (guint i = 0; i < N_CASES; i++) {
    peer_clear(&bad[i]);
    g_socket_close(raw[i], NULL);
    g_object_unref(raw[i]);
  }
  close_pair(&good_server, &good_client);
  listener_close(&l);
  listener_close(&l_legacy);
  group_clear();
}

Test(connection, handshake_timeout_closes_a_silent_client) {
  Listener l;
  KeyPair key;
  Peer server = {0};

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, TRUE);
  ss.handshake_timeout_ms = SHORT_HANDSHAKE_TIMEOUT_MS;
  GSocket *raw = raw_connect(l.port, 0);
  GSocketConnection *s = accept_stream(&l);
  peer_attach(&server, chat_connection_new_server(G_IO_STREAM(s), &ss));
  g_object_unref(s);
  gint64 start = g_get_monotonic_time();
  chat_connection_start(server.conn);
  PeerPair pp = {&server, &server, 0};
  cr_assert(run_until(a_closed, &pp, WAIT_MS));
  gint64 elapsed_ms = (g_get_monotonic_time() - start) / 1000;

  cr_assert(
      g_error_matches(server.closed_error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_TIMEOUT));
  cr_assert(strstr(server.closed_error->message, "handshake") != NULL, "%s",
            server.closed_error->message);
  cr_assert_geq(elapsed_ms, SHORT_HANDSHAKE_TIMEOUT_MS - WAKE_MS);
  cr_assert_lt(elapsed_ms, 10 * SHORT_HANDSHAKE_TIMEOUT_MS + 2000);
  cr_assert_eq(server.closed_count, 1);

  /* The raw client sees the server's end of the stream. */
  char byte;
  g_socket_set_timeout(raw, 5);
  cr_assert_eq(g_socket_receive(raw, &byte, 1, NULL, NULL), 0);

  peer_clear(&server);
  g_socket_close(raw, NULL);
  g_object_unref(raw);
  listener_close(&l);
  group_clear();
}

/* ---- a slow reader ---------------------------------------------------------- */

typedef struct {
  gint64 last;
  gint64 max_gap;
} Ticker;

static gboolean tick(gpointer data) {
  Ticker *t = data;
  gint64 now = g_get_monotonic_time();
  if (t->last != 0 && now - t->last > t->max_gap)
    t->max_gap = now - t->last;
  t->last = now;
  return G_SOURCE_CONTINUE;
}

/* A v2 client run by hand over a raw socket: it completes the handshake,
 * then never reads again. */
static chat_v2_channel *raw_v2_handshake(GSocket *raw, Peer *server) {
  chat_v2_config config;
  chat_v2_channel *ch = NULL;
  chat_v2_config_init(&config);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &config, &ch), 0);
  cr_assert_eq(chat_v2_channel_start(ch), 0);
  const uint8_t *out;
  size_t out_len;
  cr_assert_eq(chat_v2_channel_output(ch, &out, &out_len), 0);
  raw_send_all(raw, out, out_len);
  cr_assert_eq(chat_v2_channel_output_consumed(ch, out_len), 0);

  gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
  while (!chat_v2_channel_is_established(ch) && g_get_monotonic_time() < deadline) {
    guint8 buf[CHAT_V2_HANDSHAKE2_MAX_LEN + CHAT_V2_LENGTH_PREFIX_LEN];
    g_main_context_iteration(ctx, FALSE);
    gssize n = g_socket_receive_with_blocking(raw, (gchar *)buf, sizeof buf, FALSE, NULL, NULL);
    if (n > 0)
      cr_assert_geq(chat_v2_channel_feed(ch, buf, (size_t)n), 0);
    else
      g_usleep(1000);
  }
  cr_assert(chat_v2_channel_is_established(ch));
  return ch;
}

typedef struct {
  Peer *server;
  guint8 *chunk;
  guint64 sent;
  gboolean refused;
  GError *send_error;
} Flood;

static gboolean flood(gpointer data) {
  Flood *f = data;
  if (f->refused || f->server->closed_count > 0 || !f->server->established)
    return G_SOURCE_CONTINUE;
  for (guint i = 0; i < SLOW_CHUNKS_PER_TICK && !f->refused; i++) {
    if (chat_connection_send(f->server->conn, f->chunk, SLOW_CHUNK_BYTES, &f->send_error))
      f->sent += SLOW_CHUNK_BYTES;
    else
      f->refused = TRUE;
  }
  return G_SOURCE_CONTINUE;
}

Test(connection, slow_reader_is_dropped_with_queue_full_and_the_loop_never_blocks) {
  Listener l;
  KeyPair key;
  Peer server = {0};
  Ticker ticker = {0};

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, FALSE);
  ss.max_message_bytes = SLOW_CHUNK_BYTES;
  ss.max_queue_bytes = SLOW_QUEUE_BYTES;
  GSocket *raw = raw_connect(l.port, SLOW_CLIENT_RCVBUF);
  GSocketConnection *s = accept_stream(&l);
  peer_attach(&server, chat_connection_new_server(G_IO_STREAM(s), &ss));
  g_object_unref(s);
  chat_connection_start(server.conn);
  chat_v2_channel *client = raw_v2_handshake(raw, &server);
  PeerPair pp = {&server, &server, 0};
  cr_assert(run_until(both_established, &pp, WAIT_MS));

  Flood f = {.server = &server, .chunk = g_malloc0(SLOW_CHUNK_BYTES)};
  GSource *ticks = g_timeout_source_new(TICK_MS);
  g_source_set_callback(ticks, tick, &ticker, NULL);
  g_source_attach(ticks, ctx);
  GSource *sender = g_timeout_source_new(TICK_MS);
  g_source_set_callback(sender, flood, &f, NULL);
  g_source_attach(sender, ctx);

  gint64 worst_turn = 0;
  gint64 deadline = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
  while (server.closed_count == 0 && g_get_monotonic_time() < deadline) {
    gint64 before = g_get_monotonic_time();
    g_main_context_iteration(ctx, TRUE);
    gint64 turn = g_get_monotonic_time() - before;
    if (turn > worst_turn)
      worst_turn = turn;
  }
  g_source_destroy(ticks);
  g_source_unref(ticks);
  g_source_destroy(sender);
  g_source_unref(sender);

  cr_log_info("slow reader: %" G_GUINT64_FORMAT " bytes accepted before the drop; worst loop gap "
              "%" G_GINT64_FORMAT " us, worst turn %" G_GINT64_FORMAT " us",
              f.sent, ticker.max_gap, worst_turn);
  fprintf(stderr,
          "slow reader: %" G_GUINT64_FORMAT
          " bytes queued before the drop, worst loop gap %" G_GINT64_FORMAT " us\n",
          f.sent, ticker.max_gap);
  cr_assert(f.refused);
  cr_assert_gt(f.sent, SLOW_QUEUE_BYTES, "megabytes were sent before the drop");
  cr_assert(g_error_matches(f.send_error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_QUEUE_FULL),
            "%s", f.send_error ? f.send_error->message : "no error");
  cr_assert(g_error_matches(server.closed_error, CHAT_CONNECTION_ERROR,
                            CHAT_CONNECTION_ERROR_QUEUE_FULL));
  cr_assert(strstr(server.closed_error->message, CHAT_CONNECTION_SLOW_PEER_REASON) != NULL, "%s",
            server.closed_error->message);
  cr_assert_eq(server.closed_count, 1);
  cr_assert_lt(ticker.max_gap, MAX_LOOP_GAP_US);
  cr_assert_lt(worst_turn, MAX_LOOP_GAP_US);

  /* After the drop, sends fail with CLOSED. */
  GError *error = NULL;
  cr_assert_not(chat_connection_send(server.conn, f.chunk, 1, &error));
  cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED));
  g_clear_error(&error);

  g_clear_error(&f.send_error);
  g_free(f.chunk);
  chat_v2_channel_free(client);
  peer_clear(&server);
  g_socket_close(raw, NULL);
  g_object_unref(raw);
  listener_close(&l);
}
