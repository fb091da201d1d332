#include "chatd-harness.h"

#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nats-fixture.h"
#include "pg-fixture.h"
#include "protocol/catalogue.h"
#include "protocol/json.h"
#include "test-util.h"

#ifndef CHATD_PATH
#error "meson passes CHATD_PATH"
#endif
#ifndef CHAT_SOURCE_ROOT
#error "meson passes CHAT_SOURCE_ROOT"
#endif

/* ---- CHATD_TEST_STORE=postgresql: chatd on a private PostgreSQL ---- */

/* Hands the server to the test processes (each test runs in a process of
 * its own, which inherits the environment). */
#define PG_SERVER_ENV "CHATD_TEST_PG_SERVER"
#define NATS_SERVER_ENV "CHATD_TEST_NATS_SERVER"

static PgFixture *pg_server;     /* the runner process's */
static NatsFixture *nats_server; /* the runner process's */

guint harness_cluster_nodes(void) {
  const char *n = g_getenv("CHATD_TEST_CLUSTER");
  return n ? (guint)CLAMP(g_ascii_strtoull(n, NULL, 10), 1, 8) : 1;
}

gboolean harness_uses_postgresql(void) {
  return g_strcmp0(g_getenv("CHATD_TEST_STORE"), "postgresql") == 0;
}

/* One server for the run, started before the first test and stopped after
 * the last. */
ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  if (!harness_uses_postgresql() || g_getenv(PG_SERVER_ENV) != NULL)
    return;
  pg_server = pg_fixture_start();
  if (pg_server != NULL) {
    g_autofree char *server = g_strdup_printf("host=127.0.0.1 port=%d user=chat connect_timeout=5",
                                              pg_fixture_port(pg_server));
    g_setenv(PG_SERVER_ENV, server, TRUE);
  }
  if (harness_cluster_nodes() > 1 && nats_fixture_available()) {
    nats_server = nats_fixture_start();
    g_setenv(NATS_SERVER_ENV, nats_fixture_url(nats_server), TRUE);
  }
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  g_clear_pointer(&pg_server, pg_fixture_stop);
  g_clear_pointer(&nats_server, nats_fixture_stop);
}

/* A fresh database for one chatd; its conninfo. */
static char *create_database(void) {
  const char *server = g_getenv(PG_SERVER_ENV);
  cr_assert_not_null(server, "CHATD_TEST_STORE=postgresql, but PostgreSQL did not start "
                             "(ci/setup installs it)");
  char *conninfo = pg_fixture_new_database(server, "chatd");
  cr_assert_not_null(conninfo, "cannot create a database for chatd");
  return conninfo;
}

/* ---- the repository's DH group (config.json) ---- */

static chat_dh_group repo_group;
static gboolean have_repo_group;
static char *repo_base, *repo_modulus;

static void load_repo_crypto(void) {
  if (have_repo_group)
    return;
  size_t len;
  char *text = read_whole_file(CHAT_SOURCE_ROOT "/config.json", &len);
  cr_assert_not_null(text, "cannot read config.json");
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *doc;
  chat_error err;
  cr_assert_eq(chat_json_parse(text, len, &arena, &doc, &err), 0, "%s", err.message);
  const chat_json *crypto = chat_json_object_get(doc, "crypto");
  const chat_json *base = chat_json_object_get(crypto, "base");
  const chat_json *modulus = chat_json_object_get(crypto, "modulus");
  repo_base = g_strndup(base->as.number.text, base->as.number.len);
  repo_modulus = g_strndup(modulus->as.number.text, modulus->as.number.len);
  cr_assert_eq(chat_dh_group_init(&repo_group, repo_base, repo_modulus, &err), 0, "%s",
               err.message);
  have_repo_group = TRUE;
  chat_arena_clear(&arena);
  free(text);
}

char *harness_repo_crypto_json(void) {
  load_repo_crypto();
  return g_strdup_printf("{\"base\": %s, \"modulus\": %s}", repo_base, repo_modulus);
}

void harness_spin(guint ms) {
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < end) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
  }
}

/* ---- chatd ---- */

static void on_read(GObject *source, GAsyncResult *result, gpointer data) {
  harness_reader *reader = data;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);
  if (n <= 0) {
    reader->done = TRUE;
    return;
  }
  if (reader->text)
    g_string_append_len(reader->text, (const char *)reader->buffer, n);
  g_input_stream_read_async(reader->stream, reader->buffer, sizeof reader->buffer,
                            G_PRIORITY_DEFAULT, NULL, on_read, reader);
}

harness_reader *harness_reader_start(GInputStream *stream, GString *text) {
  harness_reader *reader = g_new0(harness_reader, 1);
  reader->text = text;
  reader->stream = stream;
  g_input_stream_read_async(reader->stream, reader->buffer, sizeof reader->buffer,
                            G_PRIORITY_DEFAULT, NULL, on_read, reader);
  return reader;
}

static gboolean process_exited(gpointer data) {
  chatd_instance *chatd = data;
  return g_subprocess_get_identifier(chatd->process) == NULL;
}

static gboolean listening(gpointer data) {
  chatd_instance *chatd = data;
  return strstr(chatd->log->str, "listening on 127.0.0.1:") != NULL || process_exited(data);
}

/* In the child, before chatd runs: its file limit, when the test set one. */
static void set_child_limits(gpointer data) {
  chatd_instance *chatd = data;
  if (chatd->fd_limit > 0) {
    struct rlimit limit = {chatd->fd_limit, chatd->fd_limit};
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (chatd->file_size_limit > 0) {
    struct rlimit limit = {chatd->file_size_limit, chatd->file_size_limit};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  if (chatd->run_as_uid > 0 && getuid() == 0) {
    if (setgid(chatd->run_as_uid) != 0 || setuid(chatd->run_as_uid) != 0)
      _exit(126);
  }
}

static void launch(chatd_instance *chatd) {
  const char *argv[] = {CHATD_PATH, "--config", chatd->config_path, NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup(launcher, set_child_limits, chatd, NULL);
  g_subprocess_launcher_unsetenv(launcher, "CHAT_KEYLOGFILE");
  /* chatd warns on purpose (allow_legacy, refused peers): the tests' fatal
   * warnings are for the test process. */
  g_subprocess_launcher_unsetenv(launcher, "G_DEBUG");
  if (chatd->clock_step_ms > 0) {
    g_autofree char *step = g_strdup_printf("%u", chatd->clock_step_ms);
    g_subprocess_launcher_setenv(launcher, "CHATD_TEST_CLOCK_STEP_MS", step, TRUE);
  } else {
    g_subprocess_launcher_unsetenv(launcher, "CHATD_TEST_CLOCK_STEP_MS");
  }
  chatd->process = g_subprocess_launcher_spawnv(launcher, argv, &error);
  cr_assert_not_null(chatd->process, "cannot start chatd: %s", error ? error->message : "?");
  g_string_truncate(chatd->log, 0);
  chatd->clock_steps = 0; /* a new process starts its clock afresh */
  /* until the pipe ends */
  chatd->reader = harness_reader_start(g_subprocess_get_stderr_pipe(chatd->process), chatd->log);
  cr_assert(test_spin_until(listening, chatd, HARNESS_TIMEOUT_MS), "chatd did not start; log:\n%s",
            chatd->log->str);
  const char *at = strstr(chatd->log->str, "listening on 127.0.0.1:");
  cr_assert_not_null(at, "chatd exited; log:\n%s", chatd->log->str);
  chatd->port = (guint16)g_ascii_strtoull(at + strlen("listening on 127.0.0.1:"), NULL, 10);
  cr_assert_gt(chatd->port, 0);
}

static void start_one(chatd_instance *chatd, gboolean allow_legacy, const char *extra_server_json,
                      guint fd_limit, guint clock_step_ms);

typedef struct {
  chatd_instance *chatd;
  const char *text;
} log_wait;

static gboolean logged_or_exited(gpointer data) {
  log_wait *wait = data;
  return strstr(wait->chatd->log->str, wait->text) != NULL || process_exited(wait->chatd);
}

/* The started clusters, to send a client of one to its nodes in turn. */
static GPtrArray *clusters;

static void register_cluster(chatd_instance *chatd) {
  if (!clusters)
    clusters = g_ptr_array_new();
  g_ptr_array_add(clusters, chatd);
}

/* The port a new client of `port` uses: the next node's, in a cluster. */
static guint16 node_port(guint16 port) {
  for (guint i = 0; clusters && i < clusters->len; i++) {
    chatd_instance *c = g_ptr_array_index(clusters, i);
    if (c->port != port || c->n_peers == 0)
      continue;
    guint k = c->next_node++ % (c->n_peers + 1);
    return k == 0 ? c->port : ((chatd_instance *)c->peers)[k - 1].port;
  }
  return port;
}

/* Every node of the cluster has heard of every other one. */
static void wait_for_mesh(chatd_instance *chatd) {
  chatd_instance *peers = chatd->peers;
  guint n = chatd->n_peers + 1;
  for (guint i = 0; i < n; i++) {
    chatd_instance *node = i == 0 ? chatd : &peers[i - 1];
    for (guint k = 0; k < n; k++) {
      if (k == i)
        continue;
      g_autofree char *line = g_strdup_printf("node n%u joined the cluster", k + 1);
      log_wait wait = {node, line};
      cr_assert(test_spin_until(logged_or_exited, &wait, HARNESS_TIMEOUT_MS) &&
                    strstr(node->log->str, line) != NULL,
                "node n%u never heard of n%u; log:\n%s", i + 1, k + 1, node->log->str);
    }
  }
}

static void start(chatd_instance *chatd, gboolean allow_legacy, const char *extra_server_json,
                  guint fd_limit, guint clock_step_ms) {
  guint nodes = harness_cluster_nodes();
  if (nodes == 1 || !harness_uses_postgresql()) {
    start_one(chatd, allow_legacy, extra_server_json, fd_limit, clock_step_ms);
    return;
  }
  const char *nats = g_getenv(NATS_SERVER_ENV);
  cr_assert_not_null(nats, "CHATD_TEST_CLUSTER, but nats-server did not start");
  g_autofree char *conninfo = create_database();
  g_autofree char *first = g_strdup_printf(
      "\"postgresql\": \"%s\", \"nats\": \"%s\", \"node_name\": \"n1\"%s%s", conninfo, nats,
      extra_server_json ? ", " : "", extra_server_json ? extra_server_json : "");
  start_one(chatd, allow_legacy, first, fd_limit, clock_step_ms);
  chatd_instance *peers = g_new0(chatd_instance, nodes - 1);
  for (guint i = 1; i < nodes; i++) {
    g_autofree char *json =
        g_strdup_printf("\"postgresql\": \"%s\", \"nats\": \"%s\", \"node_name\": \"n%u\", "
                        "\"key_file\": \"%s/server.key\"%s%s",
                        conninfo, nats, i + 1, chatd->dir, extra_server_json ? ", " : "",
                        extra_server_json ? extra_server_json : "");
    start_one(&peers[i - 1], allow_legacy, json, fd_limit, clock_step_ms);
  }
  chatd->peers = peers;
  chatd->n_peers = nodes - 1;
  register_cluster(chatd);
  wait_for_mesh(chatd);
}

static void start_one(chatd_instance *chatd, gboolean allow_legacy, const char *extra_server_json,
                      guint fd_limit, guint clock_step_ms) {
  load_repo_crypto();
  memset(chatd, 0, sizeof *chatd);
  chatd->fd_limit = fd_limit;
  chatd->clock_step_ms = clock_step_ms;
  g_autoptr(GError) error = NULL;
  chatd->dir = test_make_tmp_dir("chatd-test-XXXXXX");
  chatd->config_path = g_build_filename(chatd->dir, "config.json", NULL);
  chatd->allow_legacy = allow_legacy;
  chatd->log = g_string_new(NULL);
  /* The tests log in and register often: generous limits unless a test
   * sets its own.
   * CHATD_TEST_IO_THREADS runs chatd with that many I/O threads (meson
   * runs the end-to-end suites with 1 and with 2). */
  g_autoptr(GString) keys = g_string_new(NULL);
  if (!extra_server_json || !strstr(extra_server_json, "\"login_rate\""))
    g_string_append(keys, ", \"login_rate\": {\"per_minute\": 600, \"burst\": 100}");
  if (!extra_server_json || !strstr(extra_server_json, "\"register_rate\""))
    g_string_append(keys, ", \"register_rate\": {\"per_hour\": 100000, \"burst\": 10000, "
                          "\"total_per_minute\": 100000}");
  if (!extra_server_json || !strstr(extra_server_json, "\"max_connections_per_address\""))
    g_string_append(keys, ", \"max_connections_per_address\": 100000");
  const char *io_threads = g_getenv("CHATD_TEST_IO_THREADS");
  if (io_threads && (!extra_server_json || !strstr(extra_server_json, "\"io_threads\"")))
    g_string_append_printf(keys, ", \"io_threads\": %s", io_threads);
  if (harness_uses_postgresql() &&
      (!extra_server_json || !strstr(extra_server_json, "\"postgresql\""))) {
    g_autofree char *conninfo = create_database();
    g_string_append_printf(keys, ", \"postgresql\": \"%s\"", conninfo);
  }
  /* A cluster's nodes share one key: a test names the first node's. */
  if (!extra_server_json || !strstr(extra_server_json, "\"key_file\""))
    g_string_append(keys, ", \"key_file\": \"server.key\"");
  if (extra_server_json)
    g_string_append_printf(keys, ", %s", extra_server_json);
  g_autofree char *config = g_strdup_printf(
      "{\"crypto\": {\"base\": %s, \"modulus\": %s},\n"
      " \"server\": {\"bind_ip\": \"127.0.0.1\", \"bind_port\": 0,\n"
      "   \"database\": \"chat.db\",\n"
      "   \"allow_legacy\": %s,\n"
      "   \"password_hash\": {\"t_cost\": 1, \"m_cost_kib\": 64, \"parallelism\": 1}\n"
      "   %s}}\n",
      repo_base, repo_modulus, allow_legacy ? "true" : "false", keys->str);
  cr_assert(g_file_set_contents(chatd->config_path, config, -1, &error), "%s",
            error ? error->message : "?");
  launch(chatd);
}

void chatd_start(chatd_instance *chatd, gboolean allow_legacy, const char *extra_server_json) {
  start(chatd, allow_legacy, extra_server_json, 0, 0);
}

void chatd_start_with_fd_limit(chatd_instance *chatd, gboolean allow_legacy,
                               const char *extra_server_json, guint fd_limit) {
  start(chatd, allow_legacy, extra_server_json, fd_limit, 0);
}

void chatd_start_with_test_clock(chatd_instance *chatd, gboolean allow_legacy,
                                 const char *extra_server_json, guint step_ms) {
  start(chatd, allow_legacy, extra_server_json, 0, step_ms);
}

void chatd_advance_clock(chatd_instance *chatd) {
  cr_assert_gt(chatd->clock_step_ms, 0, "chatd was not started with a test clock");
  chatd->clock_steps++;
  g_autofree char *line = g_strdup_printf("test clock advanced to +%" G_GUINT64_FORMAT " ms\n",
                                          (guint64)chatd->clock_steps * chatd->clock_step_ms);
  g_subprocess_send_signal(chatd->process, SIGUSR1);
  log_wait wait = {chatd, line};
  cr_assert(test_spin_until(logged_or_exited, &wait, HARNESS_TIMEOUT_MS) &&
                strstr(chatd->log->str, line) != NULL,
            "chatd did not log \"%s\"; log:\n%s", line, chatd->log->str);
}

static gboolean reader_done(gpointer data) {
  return ((harness_reader *)data)->done;
}

/* Waits for the end of chatd's stderr (it has exited) and frees the reader. */
static void finish_reader(chatd_instance *chatd) {
  harness_reader *reader = chatd->reader;
  if (!reader)
    return;
  test_spin_until(reader_done, reader, HARNESS_TIMEOUT_MS);
  if (reader->done)
    g_free(reader);
  else
    reader->text = NULL; /* still reading: let it run out on its own */
  chatd->reader = NULL;
}

void chatd_restart(chatd_instance *chatd) {
  chatd_stop(chatd);
  launch(chatd);
  chatd_instance *peers = chatd->peers;
  for (guint i = 0; i < chatd->n_peers; i++)
    launch(&peers[i]);
  if (chatd->n_peers > 0)
    wait_for_mesh(chatd);
}

static void stop_one(chatd_instance *chatd);

void chatd_stop(chatd_instance *chatd) {
  chatd_instance *peers = chatd->peers;
  for (guint i = 0; i < chatd->n_peers; i++)
    stop_one(&peers[i]);
  stop_one(chatd);
}

static void stop_one(chatd_instance *chatd) {
  if (!chatd->process)
    return;
  g_subprocess_send_signal(chatd->process, SIGTERM);
  g_autoptr(GError) error = NULL;
  gboolean exited = g_subprocess_wait(chatd->process, NULL, &error);
  cr_assert(exited, "%s", error ? error->message : "?");
  finish_reader(chatd); /* collects the last log lines */
  gboolean exited_cleanly = g_subprocess_get_if_exited(chatd->process) &&
                            g_subprocess_get_exit_status(chatd->process) == 0;
  cr_assert(exited_cleanly, "chatd did not stop cleanly (%s %d); log:\n%s",
            g_subprocess_get_if_exited(chatd->process) ? "exit status" : "signal",
            g_subprocess_get_if_exited(chatd->process)
                ? g_subprocess_get_exit_status(chatd->process)
                : g_subprocess_get_term_sig(chatd->process),
            chatd->log->str);
  g_clear_object(&chatd->process);
}

static void destroy_one(chatd_instance *chatd);

void chatd_destroy(chatd_instance *chatd) {
  chatd_instance *peers = chatd->peers;
  for (guint i = 0; i < chatd->n_peers; i++)
    destroy_one(&peers[i]);
  g_free(peers);
  if (clusters)
    g_ptr_array_remove(clusters, chatd);
  destroy_one(chatd);
}

static void destroy_one(chatd_instance *chatd) {
  if (chatd->process) {
    g_subprocess_force_exit(chatd->process);
    g_subprocess_wait(chatd->process, NULL, NULL);
    finish_reader(chatd);
    g_clear_object(&chatd->process);
  }
  test_remove_tree(chatd->dir);
  g_free(chatd->dir);
  g_free(chatd->config_path);
  if (chatd->log)
    g_string_free(chatd->log, TRUE);
  memset(chatd, 0, sizeof *chatd);
}

gboolean chatd_log_contains(chatd_instance *chatd, const char *text) {
  harness_spin(20);
  if (strstr(chatd->log->str, text) != NULL)
    return TRUE;
  chatd_instance *peers = chatd->peers;
  for (guint i = 0; i < chatd->n_peers; i++)
    if (strstr(peers[i].log->str, text) != NULL)
      return TRUE;
  return FALSE;
}

/* ---- clients ---- */

chat_keylog *harness_client_keylog;

static gboolean accept_key(ChatConnection *connection, const guint8 key[CHAT_V2_KEY_LEN],
                           const guint8 *info, gsize info_len, gpointer data, GError **error) {
  test_client *client = data;
  (void)connection;
  (void)info;
  (void)info_len;
  (void)error;
  memcpy(client->server_key, key, sizeof client->server_key);
  client->have_server_key = TRUE;
  return TRUE;
}

static void on_client_message(ChatConnection *connection, gconstpointer data, gsize len,
                              gpointer user_data) {
  test_client *client = user_data;
  (void)connection;
  g_queue_push_tail(&client->inbox, g_bytes_new(data, len));
}

static void on_client_closed(ChatConnection *connection, const GError *reason, gpointer user_data) {
  test_client *client = user_data;
  (void)connection;
  client->closed = TRUE;
  if (reason)
    client->close_reason = g_error_copy(reason);
}

static gboolean established_or_closed(gpointer data) {
  test_client *client = data;
  return client->closed || chat_connection_is_established(client->connection);
}

test_client *client_try_connect(guint16 port, chat_dialect dialect, GError **error) {
  return client_try_connect_from(NULL, port, dialect, error);
}

test_client *client_try_connect_from(const char *source_ip, guint16 port, chat_dialect dialect,
                                     GError **error) {
  load_repo_crypto();
  port = node_port(port);
  g_autoptr(GSocketClient) sockets = g_socket_client_new();
  if (source_ip) {
    g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string(source_ip, 0);
    g_socket_client_set_local_address(sockets, local);
  }
  g_autoptr(GSocketConnection) socket =
      g_socket_client_connect_to_host(sockets, "127.0.0.1", port, NULL, error);
  if (!socket)
    return NULL;
  test_client *client = g_new0(test_client, 1);
  client->dialect = dialect;
  g_queue_init(&client->inbox);
  ChatClientSecurity security = {
      .dialect = dialect,
      .seed_group = &repo_group,
      .verify_server_key = accept_key,
      .verify_user_data = client,
      .keylog = harness_client_keylog,
  };
  client->connection = chat_connection_new_client(G_IO_STREAM(socket), &security);
  g_signal_connect(client->connection, "message", G_CALLBACK(on_client_message), client);
  g_signal_connect(client->connection, "closed", G_CALLBACK(on_client_closed), client);
  chat_connection_start(client->connection);
  test_spin_until(established_or_closed, client, HARNESS_TIMEOUT_MS);
  if (!chat_connection_is_established(client->connection)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "handshake failed: %s",
                client->close_reason ? client->close_reason->message : "timeout");
    client_free(client);
    return NULL;
  }
  return client;
}

test_client *client_connect(guint16 port, chat_dialect dialect) {
  return client_connect_from(NULL, port, dialect);
}

test_client *client_connect_from(const char *source_ip, guint16 port, chat_dialect dialect) {
  g_autoptr(GError) error = NULL;
  test_client *client = client_try_connect_from(source_ip, port, dialect, &error);
  cr_assert_not_null(client, "cannot connect (%s) from %s: %s", chat_dialect_name(dialect),
                     source_ip ? source_ip : "127.0.0.1", error ? error->message : "?");
  return client;
}

void client_free(test_client *client) {
  if (!client)
    return;
  g_signal_handlers_disconnect_by_data(client->connection, client);
  chat_connection_close(client->connection, FALSE);
  g_object_unref(client->connection);
  GBytes *b;
  while ((b = g_queue_pop_head(&client->inbox)))
    g_bytes_unref(b);
  g_clear_error(&client->close_reason);
  g_free(client);
}

void client_send_raw(test_client *client, const guint8 *data, gsize len) {
  g_autoptr(GError) error = NULL;
  cr_assert(chat_connection_send(client->connection, data, len, &error), "send: %s",
            error ? error->message : "?");
}

static GBytes *encode_with_header(chat_dialect dialect, const char *name, const char *params_json,
                                  gboolean has_id, guint32 id) {
  const chat_message_info *info = chat_catalogue_by_name(name);
  cr_assert_not_null(info, "unknown message %s", name);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(params_json, strlen(params_json), &arena, &params, &err), 0,
               "%s: %s", params_json, err.message);
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_message_header header = {.type = info->code, .has_request_id = has_id, .request_id = id};
  cr_assert_eq(chat_message_encode_with_id(dialect, &header, params, &buf), 0);
  GBytes *bytes = g_bytes_new(buf.data, buf.len);
  chat_buffer_clear(&buf);
  chat_arena_clear(&arena);
  return bytes;
}

GBytes *harness_encode(chat_dialect dialect, const char *name, const char *params_json) {
  return encode_with_header(dialect, name, params_json, FALSE, 0);
}

GBytes *harness_encode_with_id(chat_dialect dialect, const char *name, const char *params_json,
                               guint32 request_id) {
  return encode_with_header(dialect, name, params_json, TRUE, request_id);
}

void client_send_with_id(test_client *client, const char *name, const char *params_json,
                         guint32 request_id) {
  g_autoptr(GBytes) message =
      encode_with_header(client->dialect, name, params_json, TRUE, request_id);
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  client_send_raw(client, data, len);
}

void client_send(test_client *client, const char *name, const char *params_json) {
  g_autoptr(GBytes) message = harness_encode(client->dialect, name, params_json);
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  client_send_raw(client, data, len);
}

static gboolean has_message(gpointer data) {
  test_client *client = data;
  return !g_queue_is_empty(&client->inbox) || client->closed;
}

char *harness_describe(chat_dialect dialect, chat_direction direction, const guint8 *data,
                       gsize len, int json_flags) {
  const char *who = direction == CHAT_TO_CLIENT ? "the server" : "the client";
  chat_arena arena;
  chat_arena_init(&arena);
  guint32 type;
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_message_decode(dialect, data, len, NULL, 0, &arena, &type, &params, &err), 0,
               "%s sent a bad message: %s", who, err.message);
  const chat_message_info *info = chat_catalogue_lookup(type, dialect, direction);
  cr_assert_not_null(info, "%s sent unknown type %u", who, type);
  cr_assert_eq(chat_catalogue_check(type, params, &err), 0, "%s's %s: %s", who, info->name,
               err.message);
  chat_buffer json;
  chat_buffer_init(&json);
  cr_assert_eq(chat_value_write_json(params, json_flags, &json), 0);
  char *out = g_strdup_printf("%s %.*s", info->name, (int)json.len, json.data);
  chat_buffer_clear(&json);
  chat_arena_clear(&arena);
  return out;
}

static char *next_message(test_client *client, guint timeout_ms, int json_flags) {
  test_spin_until(has_message, client, timeout_ms);
  g_autoptr(GBytes) message = g_queue_pop_head(&client->inbox);
  if (!message)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  return harness_describe(client->dialect, CHAT_TO_CLIENT, data, len, json_flags);
}

GBytes *client_next_raw(test_client *client, guint timeout_ms) {
  test_spin_until(has_message, client, timeout_ms);
  return g_queue_pop_head(&client->inbox);
}

char *client_next_with_id(test_client *client, guint timeout_ms, gboolean *has_id, guint32 *id) {
  test_spin_until(has_message, client, timeout_ms);
  g_autoptr(GBytes) message = g_queue_pop_head(&client->inbox);
  *has_id = FALSE;
  *id = 0;
  if (!message)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  chat_message_header header;
  size_t size;
  chat_error err;
  cr_assert_eq(chat_message_header_read(client->dialect, data, len, &header, &size, &err), 0,
               "the server sent a bad header: %s", err.message);
  *has_id = header.has_request_id;
  *id = header.request_id;
  return harness_describe(client->dialect, CHAT_TO_CLIENT, data, len, CHAT_JSON_BYTES_SUMMARY);
}

char *client_next(test_client *client, guint timeout_ms) {
  return next_message(client, timeout_ms, CHAT_JSON_BYTES_SUMMARY);
}

char *client_next_full(test_client *client, guint timeout_ms) {
  return next_message(client, timeout_ms, 0);
}

char *client_expect(test_client *client, const char *name) {
  char *next = client_next(client, HARNESS_TIMEOUT_MS);
  cr_assert_not_null(next, "expected %s, got nothing (closed: %s)", name,
                     client->close_reason ? client->close_reason->message
                     : client->closed     ? "yes"
                                          : "no");
  size_t n = strlen(name);
  cr_assert(strncmp(next, name, n) == 0 && next[n] == ' ', "expected %s, got %s", name, next);
  char *params = g_strdup(next + n + 1);
  g_free(next);
  return params;
}

char *client_expect_skipping(test_client *client, const char *name) {
  size_t len = strlen(name);
  for (int i = 0; i < 100; i++) {
    char *next = client_next(client, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "no %s", name);
    if (strncmp(next, name, len) == 0 && next[len] == ' ') {
      char *params = g_strdup(next + len + 1);
      g_free(next);
      return params;
    }
    g_free(next);
  }
  cr_assert_fail("no %s in 100 messages", name);
  return NULL;
}

char *client_ask(test_client *client, const char *name, const char *params_json,
                 const char *reply) {
  client_send(client, name, params_json);
  return client_expect(client, reply);
}

static gboolean is_closed(gpointer data) {
  return ((test_client *)data)->closed;
}

gboolean client_wait_closed(test_client *client, guint timeout_ms) {
  return test_spin_until(is_closed, client, timeout_ms);
}

gboolean client_quiet_for(test_client *client, guint ms) {
  harness_spin(ms);
  return g_queue_is_empty(&client->inbox);
}

gint64 client_register(test_client *client, const char *user, const char *password,
                       const char *nickname) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\", \"%s\"]", user, password, nickname);
  g_autofree char *id = client_ask(client, "register", params, "register_successful");
  client_login(client, user, password);
  return g_ascii_strtoll(id, NULL, 10);
}

void client_login(test_client *client, const char *user, const char *password) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, password);
  g_free(client_ask(client, "login", params, "login_successful"));
  for (;;) {
    char *next = client_next(client, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "no bundle after login");
    gboolean bundle =
        g_str_has_prefix(next, "login_bundle ") || g_str_has_prefix(next, "session_bundle ");
    g_free(next);
    if (bundle)
      break;
  }
}
