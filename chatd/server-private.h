/* What the server's parts share: the server object's fields. Only chatd's
 * own files include this. */
#pragma once

#include <gio/gio.h>

#include "chatd/config.h"
#include "chatd/directory.h"
#include "chatd/passwords.h"
#include "chatd/rate-limit.h"
#include "chatd/server.h"
#include "chatd/store.h"
#include "protocol/arena.h"
#include "protocol/dh-group.h"
#include "protocol/gio/chat-connection.h"
#include "protocol/keylog.h"
#include "protocol/server-key.h"
#include "protocol/value.h"

G_BEGIN_DECLS

/* Length of a resume token, and of its SHA-256. */
#define CHATD_TOKEN_LEN 32

struct _ChatdServer {
  ChatdConfig *config;           /* our copy */
  GMainContext *context;
  GSocketService *service;
  guint16 port;
  ChatdStore *store;
  ChatdPasswords *passwords;
  ChatdDirectory *directory;
  ChatdRateLimit *login_limit;
  chat_dh_group group;
  gboolean have_group;
  guint8 server_private_key[32];
  guint8 server_public_key[32];
  char fingerprint[CHAT_FINGERPRINT_SIZE];
  chat_buffer server_info;       /* the v2 handshake's server-info value */
  ChatServerSecurity security;
  chat_keylog *keylog;
  GHashTable *tokens;            /* token hash (32 bytes, GBytes) -> user id */
  GHashTable *pending_usernames; /* usernames being registered right now */
  GQueue sessions;               /* ChatdSession*, via their link */
  chat_arena arena;              /* for decoding one request at a time */
  chat_limits limits;
  gboolean stopping;
  GSource *idle_sweep;           /* closes idle sessions (server.idle_timeout) */
};

G_END_DECLS
