/* ChatConnection: the GIO adapter over the sans-IO secure channels.
 *
 * After BearSSL: the channel engines (protocol/seed-channel.h,
 * protocol/v2-channel.h) only move bytes between buffers; this object is the
 * optional I/O layer that moves them between a GIOStream and the engine, on
 * a GMainContext, without ever blocking the loop.
 *
 *  - Reading: a pollable source on the input stream; each readiness gives
 *    one non-blocking read into a buffer shared by all connections of the
 *    thread (CHAT_CONNECTION_READ_BUFFER_BYTES), fed straight to the
 *    channel, which keeps only partial records. Messages come out through
 *    the `message` signal, pointing into the channel's memory: nothing is
 *    allocated per message on the read path.
 *  - Writing (after Redis): chat_connection_send only queues (into the
 *    channel's queue, or for the seed dialect into the adapter's own bounded
 *    queue of plaintexts). The bytes are written once per loop turn by a
 *    flusher shared by every connection of the GMainContext. A connection
 *    whose peer does not read is given max_queue_bytes, then dropped:
 *    send fails with CHAT_CONNECTION_ERROR_QUEUE_FULL and the connection is
 *    closed with the reason "peer does not read".
 *  - Server side: the dialect is told by the first byte: 0x00 starts the v2
 *    preamble; anything else is a seed client's DH value, refused (with
 *    CHAT_CONNECTION_ERROR_LEGACY_REFUSED) unless allow_legacy. Client side:
 *    the dialect is configured; there is never an automatic fallback.
 *  - Signals, all emitted from the connection's GMainContext, never from
 *    inside a call into the connection:
 *      established (void)        the handshake is complete (for a v2
 *                                client: and the server key was accepted).
 *      message (gconstpointer data, gsize len)
 *                                one received message (the layer-2
 *                                plaintext); the bytes are valid only during
 *                                the emission. Not emitted after
 *                                chat_connection_close.
 *      closed (const GError *reason)
 *                                emitted exactly once, when the connection is
 *                                over; reason is NULL for a clean close (the
 *                                peer's v2 CLOSE, a seed peer's EOF, or
 *                                chat_connection_close), else a
 *                                CHAT_CONNECTION_ERROR whose message names the
 *                                peer and the channel's reason: that is the
 *                                line a server logs. Drop the connection here.
 *
 * Threading: a connection belongs to the thread-default GMainContext of the
 * thread that created it; call it only from that thread.
 *
 * Secrets: the channels wipe their keys and plaintexts; the adapter's seed
 * queue is wiped as it drains. The connection owns its channel until it is
 * finalized.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "protocol/dh-group.h"
#include "protocol/keylog.h"
#include "protocol/v2-channel.h"

G_BEGIN_DECLS

/* ---- Limits and defaults ------------------------------------------------- */

/* Every numeric field of the security structs may be 0 for its default. */
#define CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES CHAT_V2_DEFAULT_MAX_MESSAGE
#define CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES CHAT_V2_DEFAULT_MAX_QUEUE_BYTES
#define CHAT_CONNECTION_DEFAULT_REKEY_BYTES CHAT_V2_DEFAULT_REKEY_BYTES
#define CHAT_CONNECTION_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
/* Largest max_message_bytes: the smaller of the two channels' limits. */
#define CHAT_CONNECTION_MAX_MESSAGE_LIMIT CHAT_V2_MAX_MESSAGE_LIMIT
/* A graceful close waits this long for the queue to drain and for the
 * peer's end of the stream, then aborts. */
#define CHAT_CONNECTION_CLOSE_TIMEOUT_MS 5000u
/* Size of the read buffer shared by the connections of one thread, and so
 * the most bytes one read takes. */
#define CHAT_CONNECTION_READ_BUFFER_BYTES 65536u
/* Longest "ip:port" / "[ipv6]:port" peer address, with its NUL. */
#define CHAT_CONNECTION_PEER_ADDRESS_MAX 64u
/* The reason given when a peer is dropped because its queue is full. */
#define CHAT_CONNECTION_SLOW_PEER_REASON "peer does not read"

/* ---- Errors -------------------------------------------------------------- */

#define CHAT_CONNECTION_ERROR (chat_connection_error_quark ())
GQuark chat_connection_error_quark (void);

typedef enum {
  CHAT_CONNECTION_ERROR_HANDSHAKE,       /* the handshake failed (the channel's reason) */
  CHAT_CONNECTION_ERROR_TIMEOUT,         /* handshake (or graceful close) took too long */
  CHAT_CONNECTION_ERROR_PROTOCOL,        /* the peer broke the channel after the handshake */
  CHAT_CONNECTION_ERROR_LEGACY_REFUSED,  /* a seed-dialect client, allow_legacy is off */
  CHAT_CONNECTION_ERROR_QUEUE_FULL,      /* outgoing queue over max_queue_bytes: peer dropped */
  CHAT_CONNECTION_ERROR_CLOSED,          /* send or close on a closed/closing connection */
  CHAT_CONNECTION_ERROR_TRUNCATED,       /* v2 stream ended without a CLOSE record */
  CHAT_CONNECTION_ERROR_PINNING,         /* verify_server_key refused the server's key */
  CHAT_CONNECTION_ERROR_IO,              /* the stream failed (the GIO error's message) */
  CHAT_CONNECTION_ERROR_NOT_ESTABLISHED, /* send before the handshake completed */
  CHAT_CONNECTION_ERROR_MESSAGE_SIZE,    /* send of 0 bytes or over max_message_bytes */
} ChatConnectionError;

/* ---- Configuration ------------------------------------------------------- */

typedef enum {
  CHAT_CONNECTION_DIALECT_UNKNOWN = 0, /* server, before the first byte */
  CHAT_CONNECTION_DIALECT_SEED = 1,
  CHAT_CONNECTION_DIALECT_V2 = 2,
} ChatConnectionDialect;

typedef struct _ChatConnection ChatConnection;

/* Called on a v2 client right after the handshake, before `established` and
 * before anything can be sent: return TRUE to accept server_key (checked
 * against the pin, protocol/known-hosts.h), FALSE (with error set, or not)
 * to refuse it; the connection is then closed with
 * CHAT_CONNECTION_ERROR_PINNING carrying error's message. */
typedef gboolean (*ChatVerifyServerKeyFunc) (ChatConnection *connection,
                                             const guint8 server_key[CHAT_V2_KEY_LEN],
                                             const guint8 *server_info, gsize server_info_len,
                                             gpointer user_data, GError **error);

/* The struct is copied by chat_connection_new_server; what its pointers
 * point to (group, key, info, keylog) must stay valid and unchanged for the
 * life of every connection made with it. */
typedef struct {
  gboolean allow_legacy;               /* accept seed-dialect clients */
  const chat_dh_group *seed_group;     /* required when allow_legacy */
  const guint8 *static_private_key;    /* CHAT_V2_KEY_LEN bytes, X25519 (protocol/server-key.h) */
  const guint8 *server_info;           /* v2 handshake payload, may be NULL */
  gsize server_info_len;               /* 0 .. CHAT_V2_MAX_SERVER_INFO */
  guint8 v2_suite;                     /* the accepted suite, CHAT_V2_SUITE_ANY for both */
  gsize max_message_bytes;             /* largest message either way; 0: default */
  gsize max_queue_bytes;               /* outgoing bound (>= max_message_bytes); 0: default */
  guint handshake_timeout_ms;          /* 0: default */
  guint64 rekey_bytes;                 /* v2; 0: default */
  chat_keylog *keylog;                 /* optional: session keys are appended to it */
} ChatServerSecurity;

/* The struct is copied by chat_connection_new_client; what its pointers
 * point to must stay valid for the life of the connection. */
typedef struct {
  ChatConnectionDialect dialect;       /* SEED or V2: the only one tried */
  const chat_dh_group *seed_group;     /* required for SEED */
  guint8 v2_suite;                     /* CHAT_V2_SUITE_ANY: CHAT_V2_SUITE_DEFAULT */
  gsize max_message_bytes;             /* 0: default */
  gsize max_queue_bytes;               /* 0: default */
  guint handshake_timeout_ms;          /* 0: default */
  guint64 rekey_bytes;                 /* v2; 0: default */
  chat_keylog *keylog;                 /* optional */
  ChatVerifyServerKeyFunc verify_server_key; /* v2: strongly recommended */
  gpointer verify_user_data;
} ChatClientSecurity;

/* ---- The object ---------------------------------------------------------- */

#define CHAT_TYPE_CONNECTION (chat_connection_get_type ())
G_DECLARE_FINAL_TYPE (ChatConnection, chat_connection, CHAT, CONNECTION, GObject)

/* A server-side connection over stream (a connected GSocketConnection, or
 * any GIOStream whose streams are pollable). It does nothing until
 * chat_connection_start. Returns NULL (with a critical) when stream is not
 * pollable or security is invalid: no static key, allow_legacy without a
 * group, server_info over CHAT_V2_MAX_SERVER_INFO, max_message_bytes over
 * CHAT_CONNECTION_MAX_MESSAGE_LIMIT, max_queue_bytes below max_message_bytes.
 * Errors: none (programmer errors only, as criticals). */
ChatConnection *chat_connection_new_server (GIOStream *stream, const ChatServerSecurity *security);

/* A client-side connection over a connected stream, speaking exactly
 * security->dialect. Returns NULL (with a critical) on a non-pollable stream
 * or invalid security (dialect not SEED/V2, SEED without a group, bad
 * limits, unknown suite).
 * Errors: none (programmer errors only, as criticals). */
ChatConnection *chat_connection_new_client (GIOStream *stream, const ChatClientSecurity *security);

/* Starts the connection: arms the handshake timeout and the read source; a
 * client queues its first handshake bytes (written on the next loop turn).
 * Calling it again does nothing. A failure to create the channel (out of
 * memory, random source) is reported through `closed` (HANDSHAKE).
 * Errors: none. */
void chat_connection_start (ChatConnection *self);

/* Starts the connection if needed and completes when it is established
 * (TRUE) or closed first (FALSE with the `closed` reason). Only one may be
 * pending at a time.
 * Errors (of _finish): CHAT_CONNECTION_ERROR_HANDSHAKE, _TIMEOUT,
 * _LEGACY_REFUSED, _PINNING, _TRUNCATED, _IO, _CLOSED (closed before the
 * handshake ended, or already closed), G_IO_ERROR_CANCELLED,
 * G_IO_ERROR_PENDING (another handshake_async is pending). */
void chat_connection_handshake_async (ChatConnection *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
gboolean chat_connection_handshake_finish (ChatConnection *self, GAsyncResult *result,
                                           GError **error);

/* Queues one message (the layer-2 plaintext, copied) for the peer; it is
 * written on a later loop turn. Never blocks.
 * Errors: CHAT_CONNECTION_ERROR_NOT_ESTABLISHED (before `established`),
 * CHAT_CONNECTION_ERROR_CLOSED (after close or `closed`),
 * CHAT_CONNECTION_ERROR_MESSAGE_SIZE (len 0 or over max_message_bytes; the
 * connection is unchanged), CHAT_CONNECTION_ERROR_QUEUE_FULL (the queue
 * would exceed max_queue_bytes: the connection is closed with the reason
 * CHAT_CONNECTION_SLOW_PEER_REASON, `closed` follows from the loop),
 * CHAT_CONNECTION_ERROR_PROTOCOL (the channel failed, e.g. out of memory:
 * the connection is closed). */
gboolean chat_connection_send (ChatConnection *self, const uint8_t *plaintext, gsize len,
                               GError **error);

/* Closes the connection. graceful: queued messages are still written, then
 * (v2) a CLOSE record, then the write side is shut down and the stream is
 * closed once the peer has closed too (or after
 * CHAT_CONNECTION_CLOSE_TIMEOUT_MS). Not graceful: the stream is closed at
 * once and the queue dropped. Either way no `message` is emitted any more
 * and `closed` follows from the loop (reason NULL, or TIMEOUT when a
 * graceful close could not drain its queue in time). A graceful close
 * during the handshake aborts. Closing again only turns a graceful close
 * into an abort.
 * Errors: none. */
void chat_connection_close (ChatConnection *self, gboolean graceful);

/* ---- Getters ------------------------------------------------------------- */

/* The dialect: configured (client), or known from the first byte (server;
 * UNKNOWN before). Errors: none. */
ChatConnectionDialect chat_connection_get_dialect (ChatConnection *self);

/* "ip:port" ("[ip]:port" for IPv6) of the peer, for logs; "unknown" when
 * the stream is not a socket connection. Valid while the connection lives.
 * Errors: none. */
const char *chat_connection_get_peer_address (ChatConnection *self);

/* Whether the handshake is complete and the connection not closing or
 * closed. Errors: none. */
gboolean chat_connection_is_established (ChatConnection *self);

/* Whether the connection is server-side. Errors: none. */
gboolean chat_connection_is_server (ChatConnection *self);

/* The v2 server's static public key (client: as proved in the handshake;
 * server: its own). Returns FALSE for seed, before the handshake and after
 * `closed`. Errors: none. */
gboolean chat_connection_get_server_key (ChatConnection *self, guint8 out[CHAT_V2_KEY_LEN]);

/* The server-info blob of the v2 handshake (client: as received; server: as
 * configured); *len may be 0. NULL (and *len 0) for seed, before the
 * handshake and after `closed`. Valid until `closed`. Errors: none. */
const guint8 *chat_connection_get_server_info (ChatConnection *self, gsize *len);

/* TESTS AND DIAGNOSTICS: write calls made on the output stream so far (each
 * g_pollable_output_stream_write_nonblocking, including ones that would
 * block), and loop turns in which the flusher visited the connection.
 * Errors: none. */
guint64 chat_connection_get_write_calls (ChatConnection *self);
guint64 chat_connection_get_flushes (ChatConnection *self);

G_END_DECLS
