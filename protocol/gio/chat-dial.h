/* Dialling a chat server as a client: resolve, connect, run the handshake
 * in the configured dialect, and check the server's key against the pin
 * (protocol/known-hosts.h) before anything is sent. chatctl and the GTK
 * client both use it. */
#pragma once

#include <gio/gio.h>

#include "protocol/dh-group.h"
#include "protocol/gio/chat-connection.h"
#include "protocol/keylog.h"
#include "protocol/known-hosts.h"
#include "protocol/message.h"

G_BEGIN_DECLS

#define CHAT_DIAL_ERROR (chat_dial_error_quark())
GQuark chat_dial_error_quark(void);

typedef enum {
  CHAT_DIAL_ERROR_CONNECT,            /* the server cannot be reached */
  CHAT_DIAL_ERROR_HANDSHAKE,          /* the handshake failed or timed out */
  CHAT_DIAL_ERROR_PINNING,            /* the server key is refused (message: both fingerprints) */
  CHAT_DIAL_ERROR_NEEDS_CONFIRMATION, /* policy ask, unknown server: ask the user, then
                                         chat_dial_trust() and dial again */
  CHAT_DIAL_ERROR_REFUSED,            /* v2: the server does not speak this protocol version
                                         (or suite); the message says which it speaks */
} ChatDialError;

/* Default time for connecting plus the handshake. */
#define CHAT_DIAL_DEFAULT_TIMEOUT_MS 10000u

typedef struct {
  const char *host;
  guint16 port;
  chat_dialect dialect;
  const chat_dh_group *seed_group; /* required for the seed dialect */
  chat_pin_policy pin_policy;      /* v2 */
  const char *pinned_key;          /* config: fingerprint or base64 key, or NULL */
  const char *known_hosts_path;    /* NULL: the default (XDG data dir) */
  chat_keylog *keylog;             /* optional */
  gsize max_message_bytes;         /* 0: default */
  guint timeout_ms;                /* 0: CHAT_DIAL_DEFAULT_TIMEOUT_MS */
  const char *client_name;         /* v2 client-info "client" ("chatctl 0.1.0"), or NULL */
  /* The known_hosts entry the server key is checked against and recorded
   * under, "host:port"; NULL: this server's own host:port. The servers of
   * one deployment share one key and one entry (client.servers: the first
   * server listed names it). */
  const char *pin_host_port;
} ChatDialOptions;

/* Connects and completes the handshake; the result is an established
 * ChatConnection (started; connect to its signals at once). For
 * CHAT_DIAL_ERROR_NEEDS_CONFIRMATION, chat_dial_error_fingerprint() gives
 * the server's fingerprint to show.
 * Errors: CHAT_DIAL_ERROR_*, G_IO_ERROR_CANCELLED. */
void chat_dial_async(const ChatDialOptions *options, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data);
ChatConnection *chat_dial_finish(GAsyncResult *result, GError **error);

/* The same, running the thread-default main context until done (for
 * command-line tools). */
ChatConnection *chat_dial_sync(const ChatDialOptions *options, GError **error);

/* The fingerprint of the server a NEEDS_CONFIRMATION or PINNING error was
 * about ("SHA256:..."), or NULL. The error carries it (copies of the error
 * too), so it is valid as long as the error. */
const char *chat_dial_error_fingerprint(const GError *error);

/* One server of a list (client.servers). */
typedef struct {
  const char *host;
  guint16 port;
} ChatDialServer;

/* Dials servers[first], then the next ones in order, wrapping around, until
 * one answers: each server gets the whole options->timeout_ms, and
 * options->host/port are not used. A server that cannot be reached, whose
 * handshake fails or times out, or that speaks another protocol version is
 * skipped; a pinning refusal or NEEDS_CONFIRMATION ends the attempt at once
 * (the servers share one key). chat_dial_any_finish() gives the index of
 * the server connected to (or of the one a pinning error is about). When
 * all fail with one server, its error; with several, one error naming each:
 * "none of the 3 servers could be reached: a:1 (connection refused), ...",
 * of code CONNECT when any could not be reached, else HANDSHAKE when any
 * handshake failed, else REFUSED. */
void chat_dial_any_async(const ChatDialOptions *options, const ChatDialServer *servers,
                         gsize n_servers, gsize first, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);
ChatConnection *chat_dial_any_finish(GAsyncResult *result, gsize *index, GError **error);
ChatConnection *chat_dial_any_sync(const ChatDialOptions *options, const ChatDialServer *servers,
                                   gsize n_servers, gsize first, gsize *index, GError **error);

/* Records fingerprint as the key of host:port (or of pin_host_port) in the
 * known-hosts file (after the user said yes). Errors: CHAT_DIAL_ERROR_PINNING. */
gboolean chat_dial_trust(const ChatDialOptions *options, const char *fingerprint, GError **error);

G_END_DECLS
