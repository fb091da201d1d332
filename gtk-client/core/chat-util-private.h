/* Small helpers shared by the core's files (not for the UI). */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* Replaces *slot with a copy of value (NULL stays NULL); TRUE when the
 * text changed. (g_set_str arrives only in GLib 2.76.) */
static inline gboolean chat_set_str(char **slot, const char *value) {
  if (g_strcmp0(*slot, value) == 0)
    return FALSE;
  char *copy = g_strdup(value);
  g_free(*slot);
  *slot = copy;
  return TRUE;
}

typedef struct {
  gpointer data;
  gsize len;
} ChatSecretBlock;

static inline void chat_secret_block_free(gpointer user_data) {
  ChatSecretBlock *block = user_data;
  explicit_bzero(block->data, block->len);
  g_free(block->data);
  g_free(block);
}

/* A copy of data in a GBytes that wipes it when the last reference goes
 * (passwords, resume tokens). */
static inline GBytes *chat_secret_bytes_new(gconstpointer data, gsize len) {
  ChatSecretBlock *block = g_new(ChatSecretBlock, 1);
  block->data = g_memdup2(data, len);
  block->len = len;
  return g_bytes_new_with_free_func(block->data, len, chat_secret_block_free, block);
}

G_END_DECLS
