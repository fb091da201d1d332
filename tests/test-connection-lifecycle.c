/* ChatConnection tests (protocol/gio/chat-connection.h) on loopback sockets:
 * closing, pinning, write batching, the key log and memory per connection.
 * Fixture: connection-fixture.h. */
#include "connection-fixture.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>

#include "protocol/gio/chat-dial.h"

/* ---- closing ---------------------------------------------------------------- */

static void send_numbered(ChatConnection *c, guint count) {
  for (guint i = 0; i < count; i++) {
    guint8 msg[8];
    fill_pattern(msg, i, sizeof msg);
    cr_assert(chat_connection_send(c, msg, sizeof msg, NULL));
  }
}

static void graceful_close(chat_dialect dialect, gboolean server_closes) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};

  establish_plain(&l, &key, dialect, TRUE, &server, &client);

  Peer *closer = server_closes ? &server : &client;
  Peer *other = server_closes ? &client : &server;
  if (server_closes && dialect == CHAT_DIALECT_SEED) {
    /* A seed server speaks only after the client's first frame. */
    cr_assert(chat_connection_send(client.conn, (const guint8 *)"hi", 2, NULL));
    PeerPair first = {&client, &server, 1};
    cr_assert(run_until(b_received, &first, WAIT_MS));
    server.messages = 0;
  }
  /* Queue messages and close in the same turn: they must all arrive. */
  send_numbered(closer->conn, CLOSE_MESSAGES);
  chat_connection_close(closer->conn, TRUE);
  GError *error = NULL;
  cr_assert_not(chat_connection_send(closer->conn, (const guint8 *)"late", 4, &error));
  cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED));
  g_clear_error(&error);

  PeerPair pp = {&server, &client, 0};
  cr_assert(run_until(both_closed, &pp, WAIT_MS));
  cr_assert_eq(other->messages, CLOSE_MESSAGES);
  cr_assert_null(other->closed_error, "%s",
                 other->closed_error ? other->closed_error->message : "");
  cr_assert_null(closer->closed_error, "%s",
                 closer->closed_error ? closer->closed_error->message : "");
  spin(10);
  cr_assert_eq(server.closed_count, 1);
  cr_assert_eq(client.closed_count, 1);
  cr_assert_not(chat_connection_is_established(server.conn));

  peer_clear(&server);
  peer_clear(&client);
  listener_close(&l);
  group_clear();
}

Test(connection, v2_graceful_close_by_client_is_clean_on_both_ends) {
  graceful_close(CHAT_DIALECT_V2, FALSE);
}

Test(connection, v2_graceful_close_by_server_is_clean_on_both_ends) {
  graceful_close(CHAT_DIALECT_V2, TRUE);
}

Test(connection, seed_graceful_close_is_clean_on_both_ends) {
  graceful_close(CHAT_DIALECT_SEED, FALSE);
  graceful_close(CHAT_DIALECT_SEED, TRUE);
}

Test(connection, v2_abrupt_close_is_truncated_on_the_peer) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};

  establish_plain(&l, &key, CHAT_DIALECT_V2, FALSE, &server, &client);

  chat_connection_close(client.conn, FALSE);
  PeerPair pp = {&server, &client, 0};
  cr_assert(run_until(both_closed, &pp, WAIT_MS));
  cr_assert_null(client.closed_error);
  cr_assert(
      g_error_matches(server.closed_error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_TRUNCATED),
      "%s", server.closed_error ? server.closed_error->message : "no error");
  cr_assert(strstr(server.closed_error->message, "truncated") != NULL, "%s",
            server.closed_error->message);
  cr_assert(g_str_has_prefix(server.closed_error->message,
                             chat_connection_get_peer_address(server.conn)));

  peer_clear(&server);
  peer_clear(&client);
  listener_close(&l);
}

/* ---- pinning --------------------------------------------------------------- */

typedef struct {
  char host_port[CHAT_HOST_PORT_MAX + 1];
  char pinned[CHAT_FINGERPRINT_SIZE];
  guint calls;
} Pin;

/* What a client does: the strict pin check of protocol/known-hosts.h. */
static gboolean verify_pin(ChatConnection *c, const guint8 key[CHAT_V2_KEY_LEN], const guint8 *info,
                           gsize info_len, gpointer user_data, GError **error) {
  Pin *pin = user_data;
  char offered[CHAT_FINGERPRINT_SIZE];
  chat_pin_result result;
  pin->calls++;
  chat_fingerprint(key, offered);
  if (chat_pin_check(CHAT_PIN_STRICT, pin->host_port, offered, pin->pinned, NULL, &result) == 0)
    return TRUE;
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", result.message);
  return FALSE;
}

static void send_secret_on_established(ChatConnection *c, gpointer data) {
  gboolean *sent = data;
  *sent = chat_connection_send(c, (const guint8 *)"secret", 6, NULL);
}

static void pinned_client(const KeyPair *server_key, const KeyPair *pinned_key,
                          gboolean expect_ok) {
  Listener l;
  Peer server = {0}, client = {0};
  Pin pin = {0};
  gboolean sent = FALSE;

  listener_open(&l);
  g_snprintf(pin.host_port, sizeof pin.host_port, LOOPBACK ":%u", l.port);
  chat_fingerprint(pinned_key->pub, pin.pinned);
  ChatServerSecurity ss = server_security(server_key, FALSE);
  ChatClientSecurity cs = {
      .dialect = CHAT_DIALECT_V2, .verify_server_key = verify_pin, .verify_user_data = &pin};
  make_pair(&l, &ss, &cs, &server, &client);
  g_signal_connect(client.conn, "established", G_CALLBACK(send_secret_on_established), &sent);

  GAsyncResult *result = NULL;
  GError *error = NULL;
  chat_connection_handshake_async(client.conn, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration(ctx, TRUE);
  gboolean ok = chat_connection_handshake_finish(client.conn, result, &error);
  g_object_unref(result);
  cr_assert_eq(pin.calls, 1);

  if (expect_ok) {
    cr_assert(ok, "%s", error ? error->message : "");
    cr_assert(sent);
    PeerPair pp = {&client, &server, 1};
    cr_assert(run_until(b_received, &pp, WAIT_MS));
    cr_assert_eq(server.messages, 1);
    close_pair(&server, &client);
  } else {
    cr_assert_not(ok);
    cr_assert(g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_PINNING), "%s",
              error->message);
    cr_assert(strstr(error->message, pin.pinned) != NULL, "names the pinned key: %s",
              error->message);
    cr_assert_not(sent);
    cr_assert_not(client.established);
    GError *send_error = NULL;
    cr_assert_not(chat_connection_send(client.conn, (const guint8 *)"secret", 6, &send_error));
    g_clear_error(&send_error);
    /* The man in the middle saw the handshake end, then nothing. */
    PeerPair pp = {&server, &client, 0};
    cr_assert(run_until(both_closed, &pp, WAIT_MS));
    cr_assert_eq(server.messages, 0);
    cr_assert(
        g_error_matches(client.closed_error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_PINNING));
    peer_clear(&server);
    peer_clear(&client);
  }
  g_clear_error(&error);
  listener_close(&l);
}

Test(connection, v2_client_refusing_the_server_key_never_sends_application_data) {
  KeyPair real, mitm;
  keypair_make(&real);
  keypair_make(&mitm);
  pinned_client(&mitm, &real, FALSE);
}

Test(connection, v2_client_accepting_the_pinned_key_sends) {
  KeyPair real;
  keypair_make(&real);
  pinned_client(&real, &real, TRUE);
}

/* ---- batching ----------------------------------------------------------------- */

static void batching(chat_dialect dialect) {
  Listener l;
  KeyPair key;
  Peer server = {0}, client = {0};
  gsize sizes[BATCH_MESSAGES];

  establish_plain(&l, &key, dialect, TRUE, &server, &client);
  spin(10);

  for (guint i = 0; i < BATCH_MESSAGES; i++)
    sizes[i] = BATCH_MESSAGE_BYTES;
  Expect expect = {.sizes = sizes, .count = BATCH_MESSAGES};
  server.expect = &expect;
  guint64 writes_before = chat_connection_get_write_calls(client.conn);
  guint64 flushes_before = chat_connection_get_flushes(client.conn);

  /* 1000 sends in one loop turn ... */
  send_all(client.conn, sizes, BATCH_MESSAGES);
  cr_assert_eq(chat_connection_get_write_calls(client.conn), writes_before, "send only queues");

  PeerPair pp = {&client, &server, BATCH_MESSAGES};
  cr_assert(run_until(b_received, &pp, WAIT_MS));
  cr_assert_eq(server.messages, BATCH_MESSAGES);
  cr_assert_eq(expect.mismatches, 0, "%s", expect.first_mismatch);
  guint64 writes = chat_connection_get_write_calls(client.conn) - writes_before;
  guint64 flushes = chat_connection_get_flushes(client.conn) - flushes_before;
  fprintf(stderr,
          "%s: %u messages of %u bytes left in %" G_GUINT64_FORMAT " writes, %" G_GUINT64_FORMAT
          " flush(es)\n",
          chat_dialect_name(dialect), BATCH_MESSAGES, BATCH_MESSAGE_BYTES, writes, flushes);
  /* ... leave in a few writes, not 1000. */
  cr_assert_leq(writes, BATCH_MAX_WRITES);
  cr_assert_geq(writes, 1);
  cr_assert_leq(flushes, 2);

  close_pair(&server, &client);
  listener_close(&l);
  group_clear();
}

Test(connection, v2_writes_are_batched_once_per_loop_turn) {
  batching(CHAT_DIALECT_V2);
}

Test(connection, seed_writes_are_batched_once_per_loop_turn) {
  batching(CHAT_DIALECT_SEED);
}

/* ---- key log ------------------------------------------------------------------ */

Test(connection, keylog_lines_are_written_for_both_dialects) {
  Listener l;
  KeyPair key;
  chat_keylog *log = NULL;
  chat_error err;
  GError *error = NULL;

  char *dir = g_dir_make_tmp("chat-keylog-XXXXXX", &error);
  cr_assert_not_null(dir);
  char *path = g_build_filename(dir, "keys.log", NULL);
  cr_assert_eq(chat_keylog_open(path, &log, &err), 0, "%s", err.message);

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, TRUE);
  ss.keylog = log;
  for (int dialect = CHAT_DIALECT_SEED; dialect <= CHAT_DIALECT_V2; dialect++) {
    Peer server = {0}, client = {0};
    ChatClientSecurity cs = client_security((chat_dialect)dialect, &key);
    cs.keylog = log;
    establish_pair(&l, &ss, &cs, &server, &client);
    close_pair(&server, &client);
  }
  chat_keylog_close(log);

  char *text = NULL;
  gsize len = 0;
  cr_assert(g_file_get_contents(path, &text, &len, NULL));
  char **lines = g_strsplit(text, "\n", -1);
  chat_keylog_entry entries[8];
  guint n = 0, seed = 0, c2s = 0, s2c = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    if (lines[i][0] == '\0')
      continue;
    cr_assert_lt(n, G_N_ELEMENTS(entries));
    cr_assert_eq(chat_keylog_parse_line(lines[i], strlen(lines[i]), i + 1, &entries[n], &err), 1,
                 "%s", lines[i]);
    seed += entries[n].label == CHAT_KEYLOG_SEED;
    c2s += entries[n].label == CHAT_KEYLOG_V2_C2S;
    s2c += entries[n].label == CHAT_KEYLOG_V2_S2C;
    n++;
  }
  /* Both ends log each session; their lines agree. */
  cr_assert_eq(seed, 2, "%s", text);
  cr_assert_eq(c2s, 2, "%s", text);
  cr_assert_eq(s2c, 2, "%s", text);
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n; j++)
      if (entries[i].label == entries[j].label) {
        cr_assert_eq(memcmp(entries[i].id, entries[j].id, CHAT_KEYLOG_ID_LEN), 0);
        cr_assert_eq(memcmp(entries[i].secret, entries[j].secret, CHAT_KEYLOG_SECRET_LEN), 0);
      }

  g_strfreev(lines);
  g_free(text);
  unlink(path);
  rmdir(dir);
  g_free(path);
  g_free(dir);
  listener_close(&l);
  group_clear();
}

/* ---- memory ------------------------------------------------------------------- */

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

typedef struct {
  GPtrArray *conns;
  guint target;
} AllEstablished;

static gboolean all_established(gpointer data) {
  AllEstablished *a = data;
  if (a->conns->len < a->target)
    return FALSE;
  for (guint i = 0; i < a->conns->len; i++)
    if (!chat_connection_is_established(a->conns->pdata[i]))
      return FALSE;
  return TRUE;
}

/* The client ends live in a child process, so the parent's heap holds only
 * the server side. */
G_GNUC_NORETURN static void memory_client_process(guint16 port, int command_fd, int report_fd) {
  GMainContext *child_ctx = g_main_context_new();
  g_main_context_push_thread_default(child_ctx);
  ctx = child_ctx;
  GPtrArray *conns = g_ptr_array_new();
  ChatClientSecurity cs = {.dialect = CHAT_DIALECT_V2, .v2_suite = CHAT_V2_SUITE_AESGCM};
  for (guint i = 0; i < MEMORY_CONNECTIONS; i++) {
    GSocketConnection *s = connect_stream(port);
    ChatConnection *c = chat_connection_new_client(G_IO_STREAM(s), &cs);
    g_object_unref(s);
    chat_connection_start(c);
    g_ptr_array_add(conns, c);
  }
  AllEstablished all = {conns, MEMORY_CONNECTIONS};
  char ok = run_until(all_established, &all, WAIT_MS) ? 'y' : 'n';
  if (ok != 'y') {
    guint n_ok = 0;
    for (guint i = 0; i < conns->len; i++)
      n_ok += chat_connection_is_established(conns->pdata[i]);
    fprintf(stderr, "client process: %u of %u established\n", n_ok, conns->len);
  }
  if (write(report_fd, &ok, 1) != 1)
    _exit(1);
  char byte;
  if (read(command_fd, &byte, 1) < 0)
    _exit(1);
  _exit(0);
}

typedef struct {
  Listener *listener;
  const ChatServerSecurity *security;
  GPtrArray *conns;
} Acceptor;

static gboolean accept_ready(GSocket *socket, GIOCondition condition, gpointer data) {
  Acceptor *a = data;
  for (;;) {
    GSocket *s = g_socket_accept(socket, NULL, NULL);
    if (s == NULL)
      return G_SOURCE_CONTINUE;
    GSocketConnection *c = g_socket_connection_factory_create_connection(s);
    g_object_unref(s);
    ChatConnection *conn = chat_connection_new_server(G_IO_STREAM(c), a->security);
    g_object_unref(c);
    chat_connection_start(conn);
    g_ptr_array_add(a->conns, conn);
  }
}

typedef struct {
  int fd;
  char answer;
} ChildReport;

static gboolean child_reported(gpointer data) {
  ChildReport *r = data;
  struct pollfd p = {.fd = r->fd, .events = POLLIN};
  if (r->answer == 0 && poll(&p, 1, 0) == 1 && read(r->fd, &r->answer, 1) != 1)
    r->answer = 'n';
  return r->answer != 0;
}

/* Heap of n established in-memory v2 channel pairs, for the share of the
 * channel core: returns the server channels' bytes per channel. */
static double server_channel_bytes(const KeyPair *key, guint n) {
  chat_v2_channel **servers = g_new0(chat_v2_channel *, n);
  chat_v2_channel **clients = g_new0(chat_v2_channel *, n);
  chat_v2_config sc, cc;
  chat_v2_config_init(&sc);
  chat_v2_config_init(&cc);
  sc.server_private_key = key->priv;
  sc.server_info = server_info_blob;
  sc.server_info_len = sizeof server_info_blob;
  size_t before = heap_in_use();
  for (guint i = 0; i < n; i++) {
    cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &cc, &clients[i]), 0);
    cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &sc, &servers[i]), 0);
    cr_assert_eq(chat_v2_channel_start(clients[i]), 0);
    /* Shuttle the handshake until both ends are established. */
    for (int round = 0; round < 4; round++) {
      chat_v2_channel *from = round % 2 == 0 ? clients[i] : servers[i];
      chat_v2_channel *to = round % 2 == 0 ? servers[i] : clients[i];
      const uint8_t *out;
      size_t len;
      cr_assert_eq(chat_v2_channel_output(from, &out, &len), 0);
      size_t done = 0;
      while (done < len) {
        ptrdiff_t used = chat_v2_channel_feed(to, out + done, len - done);
        cr_assert_gt(used, 0);
        done += (size_t)used;
      }
      cr_assert_eq(chat_v2_channel_output_consumed(from, len), 0);
    }
    cr_assert(chat_v2_channel_is_established(servers[i]));
    cr_assert(chat_v2_channel_is_established(clients[i]));
    cr_assert_eq(chat_v2_channel_suite(servers[i]), CHAT_V2_SUITE_AESGCM);
  }
  for (guint i = 0; i < n; i++)
    chat_v2_channel_free(clients[i]);
  size_t with_servers = heap_in_use();
  for (guint i = 0; i < n; i++)
    chat_v2_channel_free(servers[i]);
  g_free(servers);
  g_free(clients);
  return ((double)with_servers - (double)before) / n;
}

/* Heap of n accepted GSocketConnections (server ends only; the client ends
 * are raw GSockets freed before the measurement). */
static double socket_end_bytes(Listener *l, guint n) {
  GSocket **raw = g_new0(GSocket *, n);
  GSocketConnection **ends = g_new0(GSocketConnection *, n);
  for (guint i = 0; i < n; i++)
    raw[i] = raw_connect(l->port, 0);
  size_t before = heap_in_use();
  for (guint i = 0; i < n; i++)
    ends[i] = accept_stream(l);
  size_t after = heap_in_use();
  for (guint i = 0; i < n; i++) {
    g_object_unref(ends[i]);
    g_socket_close(raw[i], NULL);
    g_object_unref(raw[i]);
  }
  g_free(raw);
  g_free(ends);
  return ((double)after - (double)before) / n;
}

#define MEMORY_TEST_FILTER "--filter=connection/memory_of_2000_idle_established_v2_connections"

/* GLib 2.74 allocates objects with GSlice, whose magazines keep freed chunks
 * and hand them out again unseen by mallinfo2; G_SLICE=always-malloc makes
 * every object a malloc. It must be set when the process starts, so the
 * measurement re-runs itself in a fresh process when it is not. */
static gboolean rerun_with_plain_malloc(void) {
#if defined(__SANITIZE_ADDRESS__)
  return FALSE; /* nothing to measure: mallinfo2 does not see ASan's heap */
#else
  if (g_strcmp0(g_getenv("G_SLICE"), "always-malloc") == 0)
    return FALSE;
  GError *error = NULL;
  char *self = g_file_read_link("/proc/self/exe", &error);
  cr_assert_not_null(self, "%s", error ? error->message : "");
  char *argv[] = {self, MEMORY_TEST_FILTER, NULL};
  char **envp = g_environ_setenv(g_get_environ(), "G_SLICE", "always-malloc", TRUE);
  /* Criterion marks its workers with BXFI_MAP: the re-run is a runner. */
  envp = g_environ_unsetenv(envp, "BXFI_MAP");
  char *out = NULL, *err = NULL;
  int status = 0;
  cr_assert(
      g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error),
      "%s", error ? error->message : "");
  /* Its figure goes to our stderr (our stdout is the TAP report); its
   * report only when it failed (it would repeat ours). */
  fputs(out, stderr);
  gboolean passed = g_spawn_check_wait_status(status, NULL) && strstr(err, "Passing: 1") != NULL;
  if (!passed)
    fputs(err, stderr);
  g_free(out);
  g_free(err);
  g_strfreev(envp);
  g_free(self);
  cr_assert(passed, "the measurement with G_SLICE=always-malloc failed (see above)");
  return TRUE;
#endif
}

Test(connection, memory_of_2000_idle_established_v2_connections) {
  if (rerun_with_plain_malloc())
    return;
  Listener l;
  KeyPair key;
  Peer warm_server = {0}, warm_client = {0};
  int command[2], report[2];

  listener_open(&l);
  keypair_make(&key);
  ChatServerSecurity ss = server_security(&key, FALSE);
  ss.v2_suite = CHAT_V2_SUITE_AESGCM; /* the default suite, and the larger cipher state */
  ChatClientSecurity cs = client_security(CHAT_DIALECT_V2, &key);
  /* Warm up: types, quarks and GLib's first allocations are not counted. */
  establish_pair(&l, &ss, &cs, &warm_server, &warm_client);
  close_pair(&warm_server, &warm_client);
  spin(10);

  double channel = server_channel_bytes(&key, MEMORY_CONNECTIONS);
  double socket_end = socket_end_bytes(&l, MEMORY_CONNECTIONS);

  GPtrArray *conns = g_ptr_array_new_full(MEMORY_CONNECTIONS, NULL);
  Acceptor acceptor = {&l, &ss, conns};
  g_socket_set_blocking(l.socket, FALSE);
  GSource *accepting = g_socket_create_source(l.socket, G_IO_IN, NULL);
  g_source_set_callback(accepting, G_SOURCE_FUNC(accept_ready), &acceptor, NULL);
  g_source_attach(accepting, ctx);

  cr_assert_eq(pipe(command), 0);
  cr_assert_eq(pipe(report), 0);
  fflush(NULL);
  size_t before = heap_in_use();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(command[1]);
    close(report[0]);
    memory_client_process(l.port, command[0], report[1]);
  }
  close(command[0]);
  close(report[1]);

  /* Keep the loop running until the client process has all its
   * connections established (the server still has to write message 2). */
  AllEstablished all = {conns, MEMORY_CONNECTIONS};
  ChildReport child = {report[0], 0};
  gboolean established = run_until(all_established, &all, WAIT_MS);
  run_until(child_reported, &child, WAIT_MS);
  char child_ok = child.answer;
  spin(20);
  size_t after = heap_in_use();

  double per_connection = ((double)after - (double)before) / MEMORY_CONNECTIONS;
  double adapter = per_connection - channel - socket_end;
#if defined(__SANITIZE_ADDRESS__)
  gboolean measured = FALSE; /* mallinfo2 does not see ASan's allocator */
#else
  gboolean measured = TRUE;
#endif
  if (measured)
    fprintf(stderr,
            "memory: %u idle established v2 connections, server side: %.0f bytes each "
            "(v2 channel core %.0f, accepted GSocketConnection %.0f, adapter object + read "
            "source %.0f; bound %.0f)\n",
            MEMORY_CONNECTIONS, per_connection, channel, socket_end, adapter, SERVER_SIDE_BOUND);
  else
    fprintf(stderr,
            "memory: %u idle established v2 connections; not measured under AddressSanitizer "
            "(mallinfo2 does not see its heap)\n",
            MEMORY_CONNECTIONS);
  cr_log_info("server side per connection: %.0f bytes (channel %.0f, socket %.0f, adapter %.0f)",
              per_connection, channel, socket_end, adapter);

  char byte = 'q';
  cr_assert_eq(write(command[1], &byte, 1), 1);
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  close(command[1]);
  close(report[0]);

  cr_assert(established, "the server side did not establish all connections");
  cr_assert_eq(child_ok, 'y', "the client process did not establish all connections");
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (measured) {
    cr_assert_lt(adapter, ADAPTER_SHARE_BOUND);
    cr_assert_lt(per_connection, SERVER_SIDE_BOUND,
                 "%.0f bytes per idle established v2 connection (AES-GCM), the bound is %.0f",
                 per_connection, SERVER_SIDE_BOUND);
  }

  g_source_destroy(accepting);
  g_source_unref(accepting);
  g_ptr_array_set_free_func(conns, g_object_unref);
  g_ptr_array_free(conns, TRUE);
  spin(50);
  listener_close(&l);
}

/* ---- a server of another version (spec 7.7) ------------------------------ */

typedef struct {
  int listen_fd;
  guint8 hello[64]; /* what the client sent first */
  gssize hello_len;
} refusing_server;

/* Accepts one connection, reads the client's first bytes, answers the
 * refusal of a server that speaks version 7 at most, and closes. */
static gpointer refuse_one(gpointer data) {
  refusing_server *r = data;
  int fd = accept(r->listen_fd, NULL, NULL);
  if (fd < 0)
    return NULL;
  r->hello_len = recv(fd, r->hello, sizeof r->hello, 0);
  static const guint8 refusal[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x07, 0x00, 0x01};
  (void)!send(fd, refusal, sizeof refusal, MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  /* Read what else comes, until the client closes or for 2 s at most. */
  struct timeval two_seconds = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &two_seconds, sizeof two_seconds);
  guint8 sink[256];
  while (recv(fd, sink, sizeof sink, 0) > 0)
    ;
  close(fd);
  return NULL;
}

Test(connection, v2_client_reports_the_version_a_refusing_server_speaks) {
  refusing_server r = {0};
  r.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(r.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(r.listen_fd, 1), 0);
  socklen_t addr_len = sizeof addr;
  cr_assert_eq(getsockname(r.listen_fd, (struct sockaddr *)&addr, &addr_len), 0);
  GThread *thread = g_thread_new("refusing-server", refuse_one, &r);

  g_autofree char *dir = g_dir_make_tmp("chat-refusal-XXXXXX", NULL);
  g_autofree char *known_hosts = g_build_filename(dir, "known_hosts", NULL);
  ChatDialOptions options = {
      .host = LOOPBACK,
      .port = ntohs(addr.sin_port),
      .dialect = CHAT_DIALECT_V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .client_name = "test-connection",
      .timeout_ms = 10000,
  };
  g_autoptr(GError) error = NULL;
  /* chat_dial_sync runs the global default context, as chatctl does. */
  g_main_context_pop_thread_default(ctx);
  g_autoptr(ChatConnection) connection = chat_dial_sync(&options, &error);
  g_main_context_push_thread_default(ctx);
  g_thread_join(thread);
  close(r.listen_fd);
  g_rmdir(dir);
  cr_assert_null(connection);
  cr_assert(g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_REFUSED), "%s",
            error ? error->message : "?");
  cr_assert(strstr(error->message, "the server speaks protocol version 7; this program speaks 2"),
            "%s", error->message);

  /* What the client had sent: the v2 preamble, then message 1 with the
   * client-info in the clear. */
  cr_assert_geq(r.hello_len, 8 + 2 + 32);
  static const guint8 preamble[] = {0x00, 'C', 'H', 'A', 'T', 2, 1, 0};
  cr_assert_eq(memcmp(r.hello, preamble, sizeof preamble), 0);
}

/* ---- several servers (client.servers) ------------------------------------- */

/* chat_dial_any: starts at `first`, wraps around, moves on from a server
 * that is down, one that never answers the handshake and one of another
 * version, and names each in the one error. */
Test(connection, dial_any_tries_each_server_from_the_first_given_and_names_each) {
  Listener silent; /* accepts in the kernel's backlog, never answers */
  listener_open(&silent);
  refusing_server r = {0};
  r.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(r.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(r.listen_fd, 1), 0);
  socklen_t addr_len = sizeof addr;
  cr_assert_eq(getsockname(r.listen_fd, (struct sockaddr *)&addr, &addr_len), 0);
  GThread *thread = g_thread_new("refusing-server", refuse_one, &r);
  Listener closed;
  listener_open(&closed);
  guint16 closed_port = closed.port;
  listener_close(&closed);

  g_autofree char *dir = g_dir_make_tmp("chat-dial-any-XXXXXX", NULL);
  g_autofree char *known_hosts = g_build_filename(dir, "known_hosts", NULL);
  ChatDialOptions options = {
      .dialect = CHAT_DIALECT_V2,
      .pin_policy = CHAT_PIN_ACCEPT_NEW,
      .known_hosts_path = known_hosts,
      .client_name = "test-connection",
      .timeout_ms = SHORT_HANDSHAKE_TIMEOUT_MS,
  };
  const ChatDialServer servers[] = {
      {LOOPBACK, silent.port},
      {LOOPBACK, closed_port},
      {LOOPBACK, ntohs(addr.sin_port)},
  };
  g_autoptr(GError) error = NULL;
  gsize index = 99;
  g_main_context_pop_thread_default(ctx);
  g_autoptr(ChatConnection) connection =
      chat_dial_any_sync(&options, servers, G_N_ELEMENTS(servers), 1, &index, &error);
  g_main_context_push_thread_default(ctx);
  g_thread_join(thread);
  close(r.listen_fd);
  listener_close(&silent);
  g_rmdir(dir);
  cr_assert_null(connection);
  cr_assert(g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_CONNECT), "%s",
            error ? error->message : "?");
  g_autofree char *expected = g_strdup_printf(
      "none of the 3 servers could be reached: 127.0.0.1:%u (connection refused), 127.0.0.1:%u "
      "(the server speaks protocol version 7; this program speaks 2), 127.0.0.1:%u (handshake "
      "failed: ",
      closed_port, ntohs(addr.sin_port), silent.port);
  cr_assert(g_str_has_prefix(error->message, expected), "%s\nexpected %s...", error->message,
            expected);
  cr_assert_eq(index, 0, "the last one tried");
}
