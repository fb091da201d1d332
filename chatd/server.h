/* chatd's server: the listening socket, the connections, and the parts
 * they share (store, directory, password hasher). */
#pragma once

#include <glib.h>

#include "chatd/config.h"

G_BEGIN_DECLS

typedef struct _ChatdServer ChatdServer;

/* Opens the database, loads the directory, loads (or creates) the server key
 * and, when the seed dialect is allowed, the DH group. config is copied
 * (the caller keeps its own). Errors: those of the store, the key file and
 * the group, in domain CHATD_SERVER_ERROR with a message naming the file or
 * the config key. */
ChatdServer *chatd_server_new(const ChatdConfig *config, GError **error);

/* Listens on the configured address. Fails (G_IO_ERROR_ADDRESS_IN_USE, ...)
 * with a message naming the address. */
gboolean chatd_server_start(ChatdServer *server, GError **error);

/* The port listened on (useful with bind_port 0 in tests). */
guint16 chatd_server_port(ChatdServer *server);

/* Stops listening, closes every connection gracefully and commits every
 * queued write. */
void chatd_server_stop(ChatdServer *server);

/* The server key's fingerprint ("SHA256:..."). */
const char *chatd_server_fingerprint(ChatdServer *server);

/* Stops (if needed) and frees. NULL is allowed. */
void chatd_server_free(ChatdServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdServer, chatd_server_free)

#define CHATD_SERVER_ERROR (chatd_server_error_quark())
GQuark chatd_server_error_quark(void);

typedef enum {
  CHATD_SERVER_ERROR_DATA_DIR, /* the key file's directory cannot be created */
  CHATD_SERVER_ERROR_KEY,      /* the server key cannot be loaded or created */
  CHATD_SERVER_ERROR_CRYPTO,   /* the seed dialect's DH group is missing or invalid */
  CHATD_SERVER_ERROR_KEYLOG,   /* CHAT_KEYLOGFILE cannot be opened */
  CHATD_SERVER_ERROR_CLUSTER,  /* the cluster's bus (server.nats) cannot be set up */
} ChatdServerError;

G_END_DECLS
