#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-resume-store.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gtk-client/core/chat-util-private.h"

#define GROUP "resume"

char *chat_resume_store_path(const char *state_dir, const char *host_port, const char *username) {
  g_autofree char *key = g_strdup_printf("%s\n%s", host_port, username);
  g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
  g_autofree char *name = g_strdup_printf("resume-%s", digest);
  return g_build_filename(state_dir, name, NULL);
}

gboolean chat_resume_store_save(const char *state_dir, const char *host_port, const char *username,
                                GBytes *token, GError **error) {
  if (g_mkdir_with_parents(state_dir, CHAT_STATE_DIR_MODE) != 0 ||
      g_chmod(state_dir, CHAT_STATE_DIR_MODE) != 0) {
    int saved = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot create %s: %s",
                state_dir, g_strerror(saved));
    return FALSE;
  }
  gsize len;
  const guint8 *data = g_bytes_get_data(token, &len);
  g_autoptr(GKeyFile) file = g_key_file_new();
  g_key_file_set_string(file, GROUP, "server", host_port);
  g_key_file_set_string(file, GROUP, "username", username);
  char *encoded = g_base64_encode(data, len);
  g_key_file_set_string(file, GROUP, "token", encoded);
  explicit_bzero(encoded, strlen(encoded));
  g_free(encoded);
  gsize text_len;
  char *text = g_key_file_to_data(file, &text_len, NULL);
  g_autofree char *path = chat_resume_store_path(state_dir, host_port, username);
  int rc = chat_secret_file_write(path, text, text_len, 0);
  explicit_bzero(text, text_len);
  g_free(text);
  if (rc != 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-rc), "cannot write %s: %s", path,
                g_strerror(-rc));
    return FALSE;
  }
  return TRUE;
}

GBytes *chat_resume_store_load(const char *state_dir, const char *host_port, const char *username,
                               GError **error) {
  g_autofree char *path = chat_resume_store_path(state_dir, host_port, username);
  char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;
  if (!g_file_get_contents(path, &text, &len, &local)) {
    if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  GBytes *token = NULL;
  g_autoptr(GKeyFile) file = g_key_file_new();
  if (len > CHAT_RESUME_FILE_MAX) {
    g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "%s is too large", path);
  } else if (g_key_file_load_from_data(file, text, len, G_KEY_FILE_NONE, error)) {
    g_autofree char *server = g_key_file_get_string(file, GROUP, "server", NULL);
    g_autofree char *user = g_key_file_get_string(file, GROUP, "username", NULL);
    char *encoded = g_key_file_get_string(file, GROUP, "token", error);
    if (encoded && g_strcmp0(server, host_port) == 0 && g_strcmp0(user, username) == 0) {
      gsize token_len;
      guchar *raw = g_base64_decode(encoded, &token_len);
      if (token_len > 0)
        token = chat_secret_bytes_new(raw, token_len);
      explicit_bzero(raw, token_len);
      g_free(raw);
    }
    if (encoded) {
      explicit_bzero(encoded, strlen(encoded));
      g_free(encoded);
    }
    if (!token && error && !*error)
      g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                  "%s does not hold a token for %s at %s", path, username, host_port);
  }
  explicit_bzero(text, len);
  g_free(text);
  return token;
}

void chat_resume_store_forget(const char *state_dir, const char *host_port, const char *username) {
  g_autofree char *path = chat_resume_store_path(state_dir, host_port, username);
  if (g_remove(path) != 0 && errno != ENOENT)
    g_message("cannot remove %s: %s", path, g_strerror(errno));
}
