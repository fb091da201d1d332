/* ChatIoConnection: one connection's socket, driven by a ChatIoLoop, over a
 * secure channel of either dialect (protocol/channel.h).
 *
 * After BearSSL: the channel only moves bytes between buffers; this is the
 * I/O layer that moves them between a non-blocking socket and the channel.
 *
 *  - Reading: when the socket is readable, one read into a buffer shared by
 *    every connection of the thread (CHAT_IO_READ_BUFFER_BYTES), fed
 *    straight to the channel, which keeps only partial records. Messages go
 *    out through the message callback, pointing into the channel's memory:
 *    nothing is allocated per message on the read path.
 *  - Writing (after Redis): chat_io_connection_send only queues into the
 *    channel. The bytes are written at the end of the loop turn, once per
 *    connection however many messages the turn queued (at most
 *    CHAT_IO_FLUSH_BYTES_PER_TURN, the rest next turn). A peer that does not
 *    read is given the channel's max_queue, then dropped: send fails with
 *    CHAT_CONNECTION_ERROR_QUEUE_FULL and the connection closes with the
 *    reason CHAT_CONNECTION_SLOW_PEER_REASON.
 *  - Timers (handshake, graceful close) live in the loop's timer heap.
 *  - Callbacks come from the loop, never from inside a call into the
 *    connection: established, message (the bytes are valid during the call
 *    only), closed (exactly once, when the connection is over; reason NULL
 *    for a clean end, else a CHAT_CONNECTION_ERROR whose message starts with
 *    the peer's address: the line a server logs).
 *
 * Threading: chat_io_connection_new_* may run on any thread; everything
 * else on the loop's thread. The reference count is atomic.
 *
 * Lifetime: a started connection keeps itself alive until its closed
 * callback has run, so the owner may drop its reference at any time (after
 * chat_io_connection_detach if it no longer wants callbacks).
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "protocol/channel.h"
#include "protocol/io/io-loop.h"
#include "protocol/keylog.h"

G_BEGIN_DECLS

/* ---- limits ---- */

#define CHAT_IO_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
/* A graceful close waits this long for the queue to drain and for the
 * peer's end of the stream, then aborts. */
#define CHAT_IO_CLOSE_TIMEOUT_MS 5000u
/* Size of the read buffer shared by the connections of one thread, and so
 * the most bytes one read takes. */
#define CHAT_IO_READ_BUFFER_BYTES 65536u
/* Most bytes written for one connection in one turn; the rest goes on the
 * next turn, so one fast bulk transfer does not starve the others. */
#define CHAT_IO_FLUSH_BYTES_PER_TURN ((gsize)1 << 20)
/* Longest "ip:port" / "[ipv6]:port" peer address, with its NUL. */
#define CHAT_IO_PEER_ADDRESS_MAX 64u
/* The reason given when a peer is dropped because its queue is full. */
#define CHAT_CONNECTION_SLOW_PEER_REASON "peer does not read"
/* ...and when the process's budget of messages in transit is used up. */
#define CHAT_CONNECTION_TRANSIT_REASON "the memory for messages in transit is used up"

/* ---- errors ---- */

#define CHAT_CONNECTION_ERROR (chat_connection_error_quark())
GQuark chat_connection_error_quark(void);

typedef enum {
  CHAT_CONNECTION_ERROR_HANDSHAKE,       /* the handshake failed (the channel's reason) */
  CHAT_CONNECTION_ERROR_TIMEOUT,         /* handshake (or graceful close) took too long */
  CHAT_CONNECTION_ERROR_PROTOCOL,        /* the peer broke the channel after the handshake */
  CHAT_CONNECTION_ERROR_LEGACY_REFUSED,  /* a seed-dialect client, allow_legacy is off */
  CHAT_CONNECTION_ERROR_QUEUE_FULL,      /* outgoing queue over max_queue_bytes: peer dropped */
  CHAT_CONNECTION_ERROR_CLOSED,          /* send or close on a closed/closing connection */
  CHAT_CONNECTION_ERROR_TRUNCATED,       /* v2 stream ended without a CLOSE record */
  CHAT_CONNECTION_ERROR_PINNING,         /* verify_server_key refused the server's key */
  CHAT_CONNECTION_ERROR_IO,              /* the socket failed (the system's message) */
  CHAT_CONNECTION_ERROR_NOT_ESTABLISHED, /* send before the handshake completed */
  CHAT_CONNECTION_ERROR_MESSAGE_SIZE,    /* send of 0 bytes or over max_message_bytes */
  CHAT_CONNECTION_ERROR_REFUSED, /* v2: the server refused the version, suite or reserved byte */
} ChatConnectionError;

/* ---- the object ---- */

typedef struct _ChatIoConnection ChatIoConnection;

/* Shared by many connections; the caller keeps it alive and unchanged for
 * the life of every connection made with it. */
typedef struct {
  chat_channel_config channel; /* see protocol/channel.h */
  guint handshake_timeout_ms;  /* 0: CHAT_IO_DEFAULT_HANDSHAKE_TIMEOUT_MS */
  chat_keylog *keylog;         /* optional: session keys are appended to it */
} ChatIoSettings;

typedef struct {
  void (*established)(ChatIoConnection *connection, gpointer user_data);
  void (*message)(ChatIoConnection *connection, const guint8 *data, gsize len, gpointer user_data);
  void (*closed)(ChatIoConnection *connection, const GError *reason, gpointer user_data);
  /* A v2 client, right after the handshake: TRUE accepts server_key (to be
   * checked against the pin), FALSE (with error, or not) refuses it and the
   * connection closes with CHAT_CONNECTION_ERROR_PINNING. NULL: accept. */
  gboolean (*verify_server_key)(ChatIoConnection *connection, const guint8 *server_key,
                                const guint8 *server_info, gsize server_info_len,
                                gpointer user_data, GError **error);
  /* For a connection that does not own its file descriptor: the transport
   * is over, close it now. */
  void (*transport_closed)(ChatIoConnection *connection, gpointer user_data);
} ChatIoCallbacks;

/* A connection over fd (a connected, non-blocking stream socket) on loop.
 * owns_fd: close fd when done (else callbacks->transport_closed is called).
 * peer: "ip:port" for logs, or NULL to ask the socket. settings and
 * callbacks must outlive the connection. NULL when the channel cannot be
 * made (invalid settings, out of memory). */
ChatIoConnection *chat_io_connection_new_server(ChatIoLoop *loop, int fd, gboolean owns_fd,
                                                const char *peer, const ChatIoSettings *settings,
                                                const ChatIoCallbacks *callbacks,
                                                gpointer user_data);
ChatIoConnection *chat_io_connection_new_client(ChatIoLoop *loop, int fd, gboolean owns_fd,
                                                chat_dialect dialect,
                                                const ChatIoSettings *settings,
                                                const ChatIoCallbacks *callbacks,
                                                gpointer user_data);

ChatIoConnection *chat_io_connection_ref(ChatIoConnection *connection);
void chat_io_connection_unref(ChatIoConnection *connection);

/* Starts: watches the socket, arms the handshake timeout; a client queues
 * its first bytes. Again: nothing. A socket the loop cannot watch is
 * reported through closed (IO). */
void chat_io_connection_start(ChatIoConnection *connection);

/* No more callbacks, from now on. */
void chat_io_connection_detach(ChatIoConnection *connection);

/* Queues one message (copied); it is written at the end of the turn.
 * Errors: CHAT_CONNECTION_ERROR_NOT_ESTABLISHED, _CLOSED, _MESSAGE_SIZE (the
 * connection is unchanged), _QUEUE_FULL (the connection is closed as a slow
 * reader, or because the process's transit budget is used up; closed
 * follows), _PROTOCOL (the channel failed: closed follows). */
gboolean chat_io_connection_send(ChatIoConnection *connection, const guint8 *data, gsize len,
                                 GError **error);

/* Changes the largest message either way and the send queue's bound (see
 * chat_channel_set_limits); e.g. raised once the peer has logged in.
 * FALSE for invalid values. */
gboolean chat_io_connection_set_limits(ChatIoConnection *connection, gsize max_message,
                                       gsize max_queue);

/* Closes. graceful: what is queued is still written, then (v2) a CLOSE
 * record, then the write side is shut down and the socket closed once the
 * peer has closed too (or after CHAT_IO_CLOSE_TIMEOUT_MS). Not graceful: at
 * once. Closing again only turns a graceful close into an abort. closed
 * follows from the loop. */
void chat_io_connection_close(ChatIoConnection *connection, gboolean graceful);

/* ---- getters ---- */

chat_dialect chat_io_connection_get_dialect(ChatIoConnection *connection);
const char *chat_io_connection_get_peer_address(ChatIoConnection *connection);
gboolean chat_io_connection_is_established(ChatIoConnection *connection);
/* Closing or closed (after chat_io_connection_close, the peer's CLOSE, or
 * the end). */
gboolean chat_io_connection_is_closing(ChatIoConnection *connection);
gboolean chat_io_connection_is_server(ChatIoConnection *connection);
ChatIoLoop *chat_io_connection_get_loop(ChatIoConnection *connection);
/* v2 only, established and not closed: the server's key / server info
 * (see chat_channel_server_key). */
gboolean chat_io_connection_get_server_key(ChatIoConnection *connection,
                                           guint8 out[CHAT_V2_KEY_LEN]);
const guint8 *chat_io_connection_get_server_info(ChatIoConnection *connection, gsize *len);
/* The same for the client-info of handshake message 1 (a server: what the
 * client sent, authenticated by the handshake but not encrypted). */
const guint8 *chat_io_connection_get_client_info(ChatIoConnection *connection, gsize *len);

/* TESTS AND DIAGNOSTICS: write system calls made (including ones that
 * would block), and turns in which the connection was flushed. */
guint64 chat_io_connection_get_write_calls(ChatIoConnection *connection);
guint64 chat_io_connection_get_flushes(ChatIoConnection *connection);

/* "ip:port" ("[ip]:port" for IPv6) of a socket address, into out. */
void chat_io_format_address(const struct sockaddr *address, char out[CHAT_IO_PEER_ADDRESS_MAX]);

G_END_DECLS
