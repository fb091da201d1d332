/* The resume-token cache (see token-cache.h). */
#include "chatctl/token-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Permission bits a secret file must not have. */
#define FORBIDDEN_MODE_BITS 0077
#define PERMISSION_BITS 0777

char *chatctl_token_cache_path(const char *host, guint16 port, const char *username) {
  g_autofree char *user = g_uri_escape_string(username, NULL, FALSE);
  g_autofree char *where = g_uri_escape_string(host, NULL, FALSE);
  g_autofree char *name = g_strdup_printf("%s@%s:%u", user, where, (unsigned)port);
  return g_build_filename(g_get_user_cache_dir(), CHATCTL_TOKEN_CACHE_SUBDIR,
                          CHATCTL_TOKEN_CACHE_TOKENS, name, NULL);
}

void chatctl_token_clear(chatctl_token *token) {
  if (token->data) {
    explicit_bzero(token->data, token->len);
    g_free(token->data);
  }
  token->data = NULL;
  token->len = 0;
}

gboolean chatctl_token_cache_load(const char *path, chatctl_token *token) {
  token->data = NULL;
  token->len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno != ENOENT)
      fprintf(stderr, "chatctl: cannot read the cached token %s: %s\n", path, g_strerror(errno));
    return FALSE;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CHATCTL_TOKEN_FILE_MAX) {
    fprintf(stderr, "chatctl: ignoring the cached token %s: not a small regular file\n", path);
    close(fd);
    return FALSE;
  }
  if (st.st_mode & FORBIDDEN_MODE_BITS) {
    fprintf(stderr,
            "chatctl: ignoring the cached token %s: group or others may read it "
            "(chmod 600, or remove it)\n",
            path);
    close(fd);
    return FALSE;
  }
  char text[CHATCTL_TOKEN_FILE_MAX + 1];
  size_t len = 0;
  ssize_t n;
  while (len < CHATCTL_TOKEN_FILE_MAX &&
         (n = read(fd, text + len, CHATCTL_TOKEN_FILE_MAX - len)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  text[len] = '\0';
  g_strstrip(text);
  gsize token_len = 0;
  guchar *decoded = text[0] ? g_base64_decode(text, &token_len) : NULL;
  explicit_bzero(text, sizeof text);
  if (!decoded || token_len == 0 || token_len > CHATCTL_TOKEN_MAX) {
    if (decoded) {
      explicit_bzero(decoded, token_len);
      g_free(decoded);
    }
    fprintf(stderr, "chatctl: ignoring the cached token %s: it does not parse\n", path);
    return FALSE;
  }
  token->data = decoded;
  token->len = token_len;
  return TRUE;
}

/* Makes dir (and its parents) and gives it mode 0700 if it is ours. */
static gboolean make_private_dir(const char *dir) {
  if (g_mkdir_with_parents(dir, CHATCTL_TOKEN_CACHE_DIR_MODE) != 0)
    return FALSE;
  struct stat st;
  if (stat(dir, &st) != 0)
    return FALSE;
  if ((st.st_mode & PERMISSION_BITS) != CHATCTL_TOKEN_CACHE_DIR_MODE && st.st_uid == getuid())
    return chmod(dir, CHATCTL_TOKEN_CACHE_DIR_MODE) == 0;
  return TRUE;
}

gboolean chatctl_token_cache_store(const char *path, const guint8 *token, gsize len) {
  g_autofree char *tokens_dir = g_path_get_dirname(path);
  g_autofree char *chat_dir = g_path_get_dirname(tokens_dir);
  if (!make_private_dir(chat_dir) || !make_private_dir(tokens_dir)) {
    fprintf(stderr, "chatctl: cannot create %s (the token is not cached): %s\n", tokens_dir,
            g_strerror(errno));
    return FALSE;
  }
  char *text = g_base64_encode(token, len);
  size_t text_len = strlen(text);
  char *line = g_strconcat(text, "\n", NULL);
  int rc = chat_secret_file_write(path, line, text_len + 1, 0);
  explicit_bzero(text, text_len);
  explicit_bzero(line, text_len + 1);
  g_free(text);
  g_free(line);
  if (rc != 0)
    fprintf(stderr, "chatctl: cannot cache the token in %s: %s\n", path, g_strerror(-rc));
  return rc == 0;
}

gboolean chatctl_token_cache_remove(const char *path) {
  return g_unlink(path) == 0;
}

gboolean chatctl_token_cache_remove_if(const char *path, const chatctl_token *token) {
  chatctl_token cached;
  if (!chatctl_token_cache_load(path, &cached))
    return FALSE;
  gboolean same = cached.len == token->len && memeql_sec(cached.data, token->data, token->len);
  chatctl_token_clear(&cached);
  return same && chatctl_token_cache_remove(path);
}
