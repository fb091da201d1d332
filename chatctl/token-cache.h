/* The cache of v2 resume tokens, so that one login lets later invocations
 * resume without a password.
 *
 * One file per server and user:
 *   $XDG_CACHE_HOME/chat/tokens/<user>@<host>:<port>
 * (user and host percent-encoded, so any name is one safe file name). The
 * directories are made 0700, the file is written atomically with mode 0600
 * and holds the token in base64 on one line. A token file that group or
 * others may read, or that does not parse, is ignored (and reported): it is
 * a password equivalent. */
#ifndef CHATCTL_TOKEN_CACHE_H
#define CHATCTL_TOKEN_CACHE_H

#include <glib.h>

#include "protocol/secret-file.h"

#define CHATCTL_TOKEN_CACHE_SUBDIR "chat"
#define CHATCTL_TOKEN_CACHE_TOKENS "tokens"
#define CHATCTL_TOKEN_CACHE_DIR_MODE CHAT_SECRET_DIR_MODE
#define CHATCTL_TOKEN_CACHE_FILE_MODE CHAT_SECRET_FILE_MODE
/* Longest token kept (the server's are 32 bytes). */
#define CHATCTL_TOKEN_MAX 256
/* Larger token files are not read. */
#define CHATCTL_TOKEN_FILE_MAX 1024

/* The cache file for a user of host:port (normalised username). Free it. */
char *chatctl_token_cache_path(const char *host, guint16 port, const char *username);

/* A token in memory. */
typedef struct {
  guint8 *data;
  gsize len;
} chatctl_token;

/* Reads the cached token: TRUE and *token (clear it with
 * chatctl_token_clear), or FALSE when there is none (or it is unusable: then
 * a one-line note is printed on stderr). */
gboolean chatctl_token_cache_load(const char *path, chatctl_token *token);

/* Stores a token. Returns FALSE (with a note on stderr) when it cannot: the
 * login still worked, only the next one will ask for a password. */
gboolean chatctl_token_cache_store(const char *path, const guint8 *token, gsize len);

/* Removes the file; TRUE when there was one. */
gboolean chatctl_token_cache_remove(const char *path);

/* Removes the file if it still holds `token` (another chatctl may have
 * replaced it with a newer one meanwhile); TRUE when it was removed. */
gboolean chatctl_token_cache_remove_if(const char *path, const chatctl_token *token);

/* Wipes and frees a token; a zeroed one is fine. */
void chatctl_token_clear(chatctl_token *token);

#endif
