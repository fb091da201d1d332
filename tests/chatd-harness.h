/* Starting a real chatd process for a test, and talking to it as a client
 * through the protocol library. */
#ifndef CHAT_TESTS_CHATD_HARNESS_H
#define CHAT_TESTS_CHATD_HARNESS_H

#include <gio/gio.h>

#include "protocol/catalogue.h"
#include "protocol/dh-group.h"
#include "protocol/gio/chat-connection.h"
#include "protocol/message.h"

/* How long a test waits for something before failing. */
#define HARNESS_TIMEOUT_MS 10000

/* Reads a stream to its end in the background (on the thread-default
 * context), appending what it reads to text; set text to NULL to let it run
 * out unheard. done is set at the end of the stream or an error; then free
 * the reader with g_free. */
typedef struct {
  GString *text;
  GInputStream *stream;
  guint8 buffer[4096];
  gboolean done;
} harness_reader;

harness_reader *harness_reader_start(GInputStream *stream, GString *text);

typedef struct {
  GSubprocess *process;
  char *dir; /* temp dir: config, database, key */
  char *config_path;
  guint16 port;
  gboolean allow_legacy;
  GString *log;           /* chatd's stderr so far */
  gpointer reader;        /* reads the stderr pipe into log */
  guint fd_limit;         /* RLIMIT_NOFILE given to chatd, 0: inherited */
  gulong file_size_limit; /* RLIMIT_FSIZE given to chatd (set before a restart), 0: none */
  guint run_as_uid;       /* when the tests run as root: chatd runs as this user (0: root) */
  guint clock_step_ms;    /* chatd's test clock step (CHATD_TEST_CLOCK_STEP_MS), 0: none */
  guint clock_steps;      /* how many times chatd_advance_clock moved it */
  /* CHATD_TEST_CLUSTER=N: the other N - 1 nodes of this chatd's cluster
   * (chatd_instance each); clients of `port` go to the nodes in turn. */
  gpointer peers;
  guint n_peers;
  guint next_node;
} chatd_instance;

/* The number of nodes each chatd_start starts (CHATD_TEST_CLUSTER=N, with
 * CHATD_TEST_STORE=postgresql: N chatd nodes on one database and a private
 * nats-server, and client_connect(chatd.port) goes to each node in turn, so
 * a test's users are spread over the nodes). 1 without it. */
guint harness_cluster_nodes(void);

/* TRUE when the run's chatd stores in PostgreSQL (CHATD_TEST_STORE=postgresql:
 * one private server for the run, a fresh database per chatd_start). */
gboolean harness_uses_postgresql(void);

/* Writes a config (cheap password hashing, the repository's DH group) into
 * a new temp dir and starts chatd on an ephemeral port. extra_server_json
 * (may be NULL) is spliced into the "server" object, e.g. "\"login_timeout\": 2". */
void chatd_start(chatd_instance *chatd, gboolean allow_legacy, const char *extra_server_json);
/* The same with chatd's file limit (ulimit -n) set to fd_limit. */
void chatd_start_with_fd_limit(chatd_instance *chatd, gboolean allow_legacy,
                               const char *extra_server_json, guint fd_limit);
/* The same with chatd's test clock (chatd/main.c): each chatd_advance_clock
 * moves chatd's timers step_ms forward. */
void chatd_start_with_test_clock(chatd_instance *chatd, gboolean allow_legacy,
                                 const char *extra_server_json, guint step_ms);
/* Moves chatd's test clock one step forward; returns once chatd has (its
 * timers due by then fire right after). */
void chatd_advance_clock(chatd_instance *chatd);
/* Starts it again on the same dir (same database and key). */
void chatd_restart(chatd_instance *chatd);
/* SIGTERM, then waits; the exit status must be 0. */
void chatd_stop(chatd_instance *chatd);
/* Stops (if running) and removes the temp dir. */
void chatd_destroy(chatd_instance *chatd);
/* TRUE when chatd's log so far contains text. Reads what is available. */
gboolean chatd_log_contains(chatd_instance *chatd, const char *text);

/* ---- a client ---- */

typedef struct {
  ChatConnection *connection;
  chat_dialect dialect;
  GQueue inbox; /* GBytes* messages received, not yet taken */
  gboolean closed;
  GError *close_reason;
  guint8 server_key[32];
  gboolean have_server_key;
} test_client;

/* When set, clients made by client_connect append their session keys to it
 * (protocol/keylog.h), e.g. to decrypt a capture. NULL by default. */
extern chat_keylog *harness_client_keylog;

/* Connects to 127.0.0.1:port in a dialect and completes the handshake. */
test_client *client_connect(guint16 port, chat_dialect dialect);
/* Same, without failing the test: NULL with *error when it fails. */
test_client *client_try_connect(guint16 port, chat_dialect dialect, GError **error);
/* The same from another loopback address (127.0.0.2, ...): chatd sees
 * another peer address. */
test_client *client_connect_from(const char *source_ip, guint16 port, chat_dialect dialect);
test_client *client_try_connect_from(const char *source_ip, guint16 port, chat_dialect dialect,
                                     GError **error);
void client_free(test_client *client);

/* Sends a message given as JSON parameters ("[\"alice\", \"pw\"]"). */
/* A message as "name params-json" (params written with json_flags), after
 * checking it decodes and fits the catalogue in that direction. */
char *harness_describe(chat_dialect dialect, chat_direction direction, const guint8 *data,
                       gsize len, int json_flags);
/* One message, its parameters given as JSON, encoded in a dialect. */
GBytes *harness_encode(chat_dialect dialect, const char *name, const char *params_json);
/* The same with a request id in the header (v2). */
GBytes *harness_encode_with_id(chat_dialect dialect, const char *name, const char *params_json,
                               guint32 request_id);
void client_send(test_client *client, const char *name, const char *params_json);
/* The same with a request id in the v2 header (spec/protocol.md 5.7). */
void client_send_with_id(test_client *client, const char *name, const char *params_json,
                         guint32 request_id);
/* Sends raw plaintext bytes. */
void client_send_raw(test_client *client, const guint8 *data, gsize len);
/* Waits for the next message; fails the test when it is not `name`. Returns
 * its parameters as JSON (compact form; free it). */
char *client_expect(test_client *client, const char *name);
/* Takes messages until one named `name`, skipping others (presence, ...);
 * fails the test when none comes in time or within 100 messages. Returns
 * its parameters as client_expect does. */
char *client_expect_skipping(test_client *client, const char *name);
/* Sends one request and takes the next message, which must be named reply:
 * returns its params as client_expect does. */
char *client_ask(test_client *client, const char *name, const char *params_json, const char *reply);
/* Waits for the next message and returns "name params-json" (free it), or
 * NULL when none comes within timeout_ms. */
char *client_next(test_client *client, guint timeout_ms);
/* The same with bytes in full ({"$bytes": "<base64>"}). */
char *client_next_full(test_client *client, guint timeout_ms);
/* As client_next, and the message's request id: *has_id FALSE when it has
 * none. */
char *client_next_with_id(test_client *client, guint timeout_ms, gboolean *has_id, guint32 *id);
/* The next message's bytes as received (unref it), or NULL on timeout. */
GBytes *client_next_raw(test_client *client, guint timeout_ms);
/* Waits until the server closes the connection; FALSE on timeout. */
gboolean client_wait_closed(test_client *client, guint timeout_ms);
/* TRUE when no message arrives within ms. */
gboolean client_quiet_for(test_client *client, guint ms);

/* Registers and logs in (v2 or seed), consuming the login replies up to and
 * including the bundle. Returns the user id. */
gint64 client_register(test_client *client, const char *user, const char *password,
                       const char *nickname);
void client_login(test_client *client, const char *user, const char *password);

/* Runs the default main context for ms milliseconds. */
void harness_spin(guint ms);

/* The repository's DH group (config.json) as a "crypto" object:
 * {"base": ..., "modulus": ...} (free it). */
char *harness_repo_crypto_json(void);

#endif
