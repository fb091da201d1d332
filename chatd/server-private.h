/* What the server's parts share: the server object's fields. Only chatd's
 * own files include this.
 *
 * Threads: everything here belongs to chatd's main thread (the directory,
 * the sessions, the tokens, the arena, the rate limiter), except
 *  - io_loops[1..]: each runs on a thread of its own with its share of the
 *    connections (session-io.h says how sessions reach them);
 *  - io_settings: read by every I/O thread, never changed after start-up;
 *  - the store's and the password pool's worker threads, which report back
 *    through the main context (store.h, passwords.h). */
#pragma once

#include <gio/gio.h>

#include "chatd/attempts.h"
#include "chatd/config.h"
#include "chatd/directory.h"
#include "chatd/passwords.h"
#include "chatd/resume-tokens.h"
#include "chatd/server.h"
#include "chatd/store.h"
#include "protocol/arena.h"
#include "protocol/dh-group.h"
#include "protocol/io/io-connection.h"
#include "protocol/io/io-listener.h"
#include "protocol/io/io-loop.h"
#include "protocol/keylog.h"
#include "protocol/server-key.h"
#include "protocol/value.h"

G_BEGIN_DECLS

typedef struct _ChatdCluster ChatdCluster;

struct _ChatdServer {
  ChatdConfig *config; /* our copy */
  GMainContext *context;
  ChatIoLoop *main_loop; /* attached to context: I/O thread 0, timers, mailbox */
  ChatIoLoop **io_loops; /* [0] is main_loop, the others run threads */
  guint n_io_loops;
  guint next_io_loop; /* round robin over io_loops */
  ChatIoListener *listener;
  guint16 port;
  ChatdStore *store;
  ChatdCluster *cluster; /* NULL unless server.nats is set (cluster.h) */
  ChatdPasswords *passwords;
  ChatdDirectory *directory;
  ChatdAttempts *attempts; /* password guesses, new accounts */
  chat_dh_group group;
  gboolean have_group;
  guint8 server_private_key[32];
  guint8 server_public_key[32];
  char fingerprint[CHAT_FINGERPRINT_SIZE];
  chat_buffer server_info;    /* the v2 handshake's server-info value */
  ChatIoSettings io_settings; /* of every connection */
  chat_transit *transit;      /* server.max_transit_bytes, shared by the I/O threads */
  chat_keylog *keylog;
  ChatdResumeTokens *tokens;          /* the live resume tokens */
  guint token_sweep;                  /* source id of the expiry sweep */
  GHashTable *pending_usernames;      /* usernames being registered right now */
  GQueue sessions;                    /* ChatdSession* not closed, via their link */
  GQueue live;                        /* ChatdSession* whose connection has not ended */
  GQueue prelogin;                    /* ChatdSession* not closed and not logged in, oldest first */
  GHashTable *connections_by_address; /* address key -> live connections (GUINT) */
  chat_arena arena;                   /* for decoding one request at a time */
  chat_limits limits;
  gboolean stopping;
};

/* Until a connection has logged in: the largest message either way, and
 * its send queue (server.max_message_size and max_queue_bytes apply from
 * the login on). */
#define CHATD_PRELOGIN_MAX_MESSAGE (64u * 1024u)
#define CHATD_PRELOGIN_MAX_QUEUE (256u * 1024u)

/* A server this full (percent of max_connections) gives a new connection
 * CHATD_CROWDED_LOGIN_TIMEOUT_S to log in, not server.login_timeout. */
#define CHATD_CROWDED_PERCENT 90
#define CHATD_CROWDED_LOGIN_TIMEOUT_S 5

/* Room kept, in a message of notices (a history page, a login bundle), for
 * what surrounds them: keys, ids, the `more` flag. */
#define CHATD_PAGE_HEADER_BOUND 4096

/* How many bytes of notices one message may carry (history_page); a stored
 * message's notice never needs more (spec 5.6, "Sizes"). */
static inline gsize chatd_page_budget(const ChatdServer *server) {
  return server->config->max_message_size - CHATD_PAGE_HEADER_BOUND;
}

gboolean chatd_server_crowded(ChatdServer *server);
/* Brings the directory and the resume tokens in memory up to what the store
 * holds (a cluster node after missing events): adds what is missing,
 * updates names and password hashes, drops requests and memberships the
 * store no longer has. */
gboolean chatd_server_reload_directory(ChatdServer *server, GError **error);
/* A session's connection ended: its slot of its address is free. */
void chatd_server_connection_ended(ChatdServer *server, ChatdSession *session);

G_END_DECLS
