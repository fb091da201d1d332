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

/* Records fingerprint as the key of host:port in the known-hosts file
 * (after the user said yes). Errors: CHAT_DIAL_ERROR_PINNING. */
gboolean chat_dial_trust(const ChatDialOptions *options, const char *fingerprint, GError **error);

G_END_DECLS
