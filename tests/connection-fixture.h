/* Shared fixture of the ChatConnection tests (test-connection-*.c, one executable):
 * the loop, loopback sockets, keys, recorded events and connected pairs. */
#pragma once

#include "protocol/gio/chat-connection.h"
#include "protocol/keylog.h"
#include "protocol/known-hosts.h"
#include "protocol/noise.h"
#include "protocol/server-key.h"
#include "protocol/v2-channel.h"
#include <criterion/criterion.h>
#include <gio/gio.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* RFC 3526 group 14 (2048-bit MODP), the seed's config.json group. */
#define SEED_GROUP_BASE "2"
#define SEED_GROUP_MODULUS                                                                         \
  "323170060713110073003389139264238282488179412411402391128420097514007417066343542226196894"     \
  "173635693471179017379097041917546058732091950288537589861856221532121754125149017745202702"     \
  "357960782362488842461894775876411059286460994117232454266225221932305409190376805242355191"     \
  "256797158701170010580558776510388618472802579760549035697325615261670813393617995413364765"     \
  "591603683178967290731783845896806396719009772021941686472258710314113364293195361934716365"     \
  "332097170774482279885885653692086452966360772502689555059283627511211740969729980684105543"     \
  "59584866583291642136218231078990999448652468262416972035911852507045361090559"

#define LOOPBACK "127.0.0.1"
#define LISTEN_BACKLOG 4096
/* Longest wait for anything in a test; the loop wakes at least this often. */
#define WAIT_MS 60000u
#define WAKE_MS 20u
#define SHORT_HANDSHAKE_TIMEOUT_MS 300u
#define BIG_MESSAGE ((gsize)5 << 20)
#define SMALL_MESSAGES 400u
#define BATCH_MESSAGES 1000u
#define BATCH_MESSAGE_BYTES 48u
/* 1000 small messages must leave in at most this many writes (about
 * 70 KB in 16 KB batches is 5). */
#define BATCH_MAX_WRITES 12u
#define CLOSE_MESSAGES 50u
#define SLOW_QUEUE_BYTES ((gsize)1 << 20)
#define SLOW_CHUNK_BYTES ((gsize)256 << 10)
#define SLOW_CHUNKS_PER_TICK 4u
#define SLOW_CLIENT_RCVBUF 4096
#define TICK_MS 5u
/* The loop must never stall this long (generous: sanitizers, a busy CI). */
#define MAX_LOOP_GAP_US (G_USEC_PER_SEC)
#define MEMORY_CONNECTIONS 2000u
/* The adapter's own share (object, read source, GIO socket objects) of an
 * idle established server connection must stay under this. */
#define ADAPTER_SHARE_BOUND 8192.0
/* The whole server side (with the channel core) of an idle established v2
 * connection (AES-GCM, the default suite) under this: the goal of 19,000
 * logged-in idle connections at under 8 KiB of user-space memory each. */
#define SERVER_SIDE_BOUND 8192.0

extern GMainContext *ctx;

void setup(void);

void teardown(void);

/* ---- running the loop ---------------------------------------------------- */

typedef gboolean (*Predicate)(gpointer data);

gboolean wake(gpointer data);

gboolean run_until(Predicate done, gpointer data, guint timeout_ms);

void spin(guint turns);

/* ---- sockets ------------------------------------------------------------- */

typedef struct {
  GSocket *socket;
  guint16 port;
} Listener;

void listener_open(Listener *l);

void listener_close(Listener *l);

GSocket *raw_connect(guint16 port, int rcvbuf);

GSocketConnection *connect_stream(guint16 port);

GSocketConnection *accept_stream(Listener *l);

void raw_send_all(GSocket *s, const void *data, gsize len);

/* ---- keys and security ----------------------------------------------------- */

typedef struct {
  guint8 priv[CHAT_V2_KEY_LEN];
  guint8 pub[CHAT_V2_KEY_LEN];
} KeyPair;

void keypair_make(KeyPair *k);

extern chat_dh_group seed_group;
extern gboolean seed_group_ready;

const chat_dh_group *group(void);

void group_clear(void);

#define SERVER_INFO_TEXT "test server info"
extern const guint8 server_info_blob[sizeof SERVER_INFO_TEXT];

ChatServerSecurity server_security(const KeyPair *key, gboolean allow_legacy);

gboolean verify_equals(ChatConnection *c, const guint8 key[CHAT_V2_KEY_LEN], const guint8 *info,
                       gsize info_len, gpointer user_data, GError **error);

ChatClientSecurity client_security(chat_dialect dialect, const KeyPair *server);

/* ---- recording a connection's events ---------------------------------------- */

/* What one side expects to receive: the sizes in send order; message i has
 * the bytes pattern(i, j). v2 keeps the order of whole messages among
 * themselves and of fragmented ones among themselves (a whole message may
 * overtake a fragmented one); seed keeps the total order. */
typedef struct {
  const gsize *sizes;
  guint count;
  gboolean per_kind_order;
  guint next_whole;
  guint next_fragmented;
  guint next;
  guint mismatches;
  char first_mismatch[256];
} Expect;

typedef struct {
  ChatConnection *conn;
  gboolean established;
  guint closed_count;
  GError *closed_error;
  guint64 messages;
  guint64 bytes;
  Expect *expect;
} Peer;

guint8 pattern(guint index, gsize offset);

void fill_pattern(guint8 *buf, guint index, gsize len);

gboolean is_fragmented(gsize len);

guint next_of_kind(const Expect *e, guint from, gboolean fragmented);

void expect_check(Expect *e, const guint8 *data, gsize len);

void on_established(ChatConnection *c, gpointer data);

void on_message(ChatConnection *c, gconstpointer msg, gsize len, gpointer data);

void on_closed(ChatConnection *c, const GError *error, gpointer data);

void peer_attach(Peer *p, ChatConnection *c);

void peer_clear(Peer *p);

typedef struct {
  Peer *a;
  Peer *b;
  guint64 target;
} PeerPair;

gboolean both_established(gpointer data);

gboolean both_closed(gpointer data);

gboolean a_closed(gpointer data);

gboolean both_received(gpointer data);

gboolean b_received(gpointer data);

void store_result(GObject *source, GAsyncResult *result, gpointer data);

void make_pair(Listener *l, const ChatServerSecurity *ss, const ChatClientSecurity *cs,
               Peer *server, Peer *client);

void establish_pair(Listener *l, const ChatServerSecurity *ss, const ChatClientSecurity *cs,
                    Peer *server, Peer *client);

/* Opens l, makes the server's key and establishes a pair in the dialect with
 * the default securities (legacy clients allowed or not). */
void establish_plain(Listener *l, KeyPair *key, chat_dialect dialect, gboolean allow_legacy,
                     Peer *server, Peer *client);

void close_pair(Peer *server, Peer *client);
void send_all(ChatConnection *c, const gsize *sizes, guint count);
