/* ChatConnection: a GObject face on ChatIoConnection (protocol/io/), for
 * programs built on a GMainContext (chatctl, the desktop client, tests).
 *
 * The connection runs on the ChatIoLoop attached to the thread-default
 * GMainContext of the thread that creates it (one epoll set per context,
 * shared by all its connections, one GSource in all); see
 * protocol/io/io-connection.h for reading, writing, the slow-reader drop
 * and the graceful close. The stream must be a GSocketConnection (its
 * socket is what the loop watches); the stream is closed when the
 * connection ends.
 *
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
 * Threading: call a connection only from the thread that runs the
 * GMainContext it was made in.
 *
 * Secrets: the channels wipe their keys and plaintexts. The connection owns
 * its channel until it is finalized.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "protocol/dh-group.h"
#include "protocol/io/io-connection.h"
#include "protocol/keylog.h"
#include "protocol/v2-channel.h"

G_BEGIN_DECLS

/* ---- Limits and defaults ------------------------------------------------- */

/* Every numeric field of the security structs may be 0 for its default. */
#define CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES CHAT_V2_DEFAULT_MAX_MESSAGE
#define CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES CHAT_V2_DEFAULT_MAX_QUEUE_BYTES
#define CHAT_CONNECTION_DEFAULT_REKEY_BYTES CHAT_V2_DEFAULT_REKEY_BYTES
#define CHAT_CONNECTION_DEFAULT_HANDSHAKE_TIMEOUT_MS CHAT_IO_DEFAULT_HANDSHAKE_TIMEOUT_MS
/* Largest max_message_bytes: the smaller of the two channels' limits. */
#define CHAT_CONNECTION_MAX_MESSAGE_LIMIT CHAT_V2_MAX_MESSAGE_LIMIT
#define CHAT_CONNECTION_CLOSE_TIMEOUT_MS CHAT_IO_CLOSE_TIMEOUT_MS
#define CHAT_CONNECTION_READ_BUFFER_BYTES CHAT_IO_READ_BUFFER_BYTES
#define CHAT_CONNECTION_PEER_ADDRESS_MAX CHAT_IO_PEER_ADDRESS_MAX
/* Longest client_name announced in the client-info. */
#define CHAT_CONNECTION_MAX_CLIENT_NAME 256u

/* ---- Errors -------------------------------------------------------------- */

/* CHAT_CONNECTION_ERROR and its codes: protocol/io/io-connection.h. */

/* ---- Configuration ------------------------------------------------------- */

typedef struct _ChatConnection ChatConnection;

/* Called on a v2 client right after the handshake, before `established` and
 * before anything can be sent: return TRUE to accept server_key (checked
 * against the pin, protocol/known-hosts.h), FALSE (with error set, or not)
 * to refuse it; the connection is then closed with
 * CHAT_CONNECTION_ERROR_PINNING carrying error's message. */
typedef gboolean (*ChatVerifyServerKeyFunc)(ChatConnection *connection,
                                            const guint8 server_key[CHAT_V2_KEY_LEN],
                                            const guint8 *server_info, gsize server_info_len,
                                            gpointer user_data, GError **error);

/* The struct is copied by chat_connection_new_server; what its pointers
 * point to (group, key, info, keylog) must stay valid and unchanged for the
 * life of every connection made with it. */
typedef struct {
  gboolean allow_legacy;            /* accept seed-dialect clients */
  const chat_dh_group *seed_group;  /* required when allow_legacy */
  const guint8 *static_private_key; /* CHAT_V2_KEY_LEN bytes, X25519 (protocol/server-key.h) */
  const guint8 *server_info;        /* v2 handshake payload, may be NULL */
  gsize server_info_len;            /* 0 .. CHAT_V2_MAX_SERVER_INFO */
  guint8 v2_suite;                  /* the accepted suite, CHAT_V2_SUITE_ANY for both */
  gsize max_message_bytes;          /* largest message either way; 0: default */
  gsize max_queue_bytes;            /* outgoing bound (>= max_message_bytes); 0: default */
  guint handshake_timeout_ms;       /* 0: default */
  guint64 rekey_bytes;              /* v2; 0: default */
  chat_keylog *keylog;              /* optional: session keys are appended to it */
} ChatServerSecurity;

/* The struct is copied by chat_connection_new_client; what its pointers
 * point to must stay valid for the life of the connection. */
typedef struct {
  chat_dialect dialect;                      /* SEED or V2: the only one tried */
  const chat_dh_group *seed_group;           /* required for SEED */
  guint8 v2_suite;                           /* CHAT_V2_SUITE_ANY: CHAT_V2_SUITE_DEFAULT */
  gsize max_message_bytes;                   /* 0: default */
  gsize max_queue_bytes;                     /* 0: default */
  guint handshake_timeout_ms;                /* 0: default */
  guint64 rekey_bytes;                       /* v2; 0: default */
  chat_keylog *keylog;                       /* optional */
  ChatVerifyServerKeyFunc verify_server_key; /* v2: strongly recommended */
  gpointer verify_user_data;
  /* v2: the program announced in the client-info ("chatctl 0.1.0"), at
   * most CHAT_CONNECTION_MAX_CLIENT_NAME bytes of UTF-8, or NULL. The
   * client-info always announces max_message_bytes. */
  const char *client_name;
} ChatClientSecurity;

/* ---- The object ---------------------------------------------------------- */

#define CHAT_TYPE_CONNECTION (chat_connection_get_type())
G_DECLARE_FINAL_TYPE(ChatConnection, chat_connection, CHAT, CONNECTION, GObject)

/* A server-side connection over stream (a connected GSocketConnection). It
 * does nothing until chat_connection_start. Returns NULL (with a critical)
 * when stream is not a socket connection or security is invalid: no static key, allow_legacy
 * without a group, server_info over CHAT_V2_MAX_SERVER_INFO, max_message_bytes over
 * CHAT_CONNECTION_MAX_MESSAGE_LIMIT, max_queue_bytes below max_message_bytes.
 * Errors: none (programmer errors only, as criticals). */
ChatConnection *chat_connection_new_server(GIOStream *stream, const ChatServerSecurity *security);

/* A client-side connection over a connected GSocketConnection, speaking
 * exactly security->dialect. Returns NULL (with a critical) on another stream
 * or invalid security (dialect not SEED/V2, SEED without a group, bad
 * limits, unknown suite).
 * Errors: none (programmer errors only, as criticals). */
ChatConnection *chat_connection_new_client(GIOStream *stream, const ChatClientSecurity *security);

/* Starts the connection: arms the handshake timeout and the read source; a
 * client queues its first handshake bytes (written on the next loop turn).
 * Calling it again does nothing. A failure to create the channel (out of
 * memory, random source) is reported through `closed` (HANDSHAKE).
 * Errors: none. */
void chat_connection_start(ChatConnection *self);

/* Starts the connection if needed and completes when it is established
 * (TRUE) or closed first (FALSE with the `closed` reason). Only one may be
 * pending at a time.
 * Errors (of _finish): CHAT_CONNECTION_ERROR_HANDSHAKE, _TIMEOUT,
 * _LEGACY_REFUSED, _PINNING, _TRUNCATED, _IO, _CLOSED (closed before the
 * handshake ended, or already closed), G_IO_ERROR_CANCELLED,
 * G_IO_ERROR_PENDING (another handshake_async is pending). */
void chat_connection_handshake_async(ChatConnection *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean chat_connection_handshake_finish(ChatConnection *self, GAsyncResult *result,
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
gboolean chat_connection_send(ChatConnection *self, const uint8_t *plaintext, gsize len,
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
void chat_connection_close(ChatConnection *self, gboolean graceful);

/* ---- Getters ------------------------------------------------------------- */

/* The dialect: configured (client), or known from the first byte (server;
 * UNKNOWN before). Errors: none. */
chat_dialect chat_connection_get_dialect(ChatConnection *self);

/* "ip:port" ("[ip]:port" for IPv6) of the peer, for logs; "unknown" when
 * the stream is not a socket connection. Valid while the connection lives.
 * Errors: none. */
const char *chat_connection_get_peer_address(ChatConnection *self);

/* Whether the handshake is complete and the connection not closing or
 * closed. Errors: none. */
gboolean chat_connection_is_established(ChatConnection *self);

/* Whether the connection is server-side. Errors: none. */
gboolean chat_connection_is_server(ChatConnection *self);

/* The v2 server's static public key (client: as proved in the handshake;
 * server: its own). Returns FALSE for seed, before the handshake and after
 * `closed`. Errors: none. */
gboolean chat_connection_get_server_key(ChatConnection *self, guint8 out[CHAT_V2_KEY_LEN]);

/* The server-info blob of the v2 handshake (client: as received; server: as
 * configured); *len may be 0. NULL (and *len 0) for seed, before the
 * handshake and after `closed`. Valid until `closed`. Errors: none. */
const guint8 *chat_connection_get_server_info(ChatConnection *self, gsize *len);

/* TESTS AND DIAGNOSTICS: write system calls made on the socket so far
 * (including ones that would block), and loop turns in which the
 * connection was flushed.
 * Errors: none. */
guint64 chat_connection_get_write_calls(ChatConnection *self);
guint64 chat_connection_get_flushes(ChatConnection *self);

G_END_DECLS
