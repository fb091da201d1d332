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

/* Property setters that notify: each stores value in *slot and notifies
 * pspec on object when the value changed. TRUE when it did. */
static inline gboolean chat_notify_str(gpointer object, char **slot, const char *value,
                                       GParamSpec *pspec) {
  if (!chat_set_str(slot, value))
    return FALSE;
  g_object_notify_by_pspec(G_OBJECT(object), pspec);
  return TRUE;
}

/* The same for a scalar field (evaluates its arguments more than once). */
#define CHAT_NOTIFY_SET(object, field, value, pspec)                                               \
  G_STMT_START {                                                                                   \
    if ((object)->field != (value)) {                                                              \
      (object)->field = (value);                                                                   \
      g_object_notify_by_pspec(G_OBJECT(object), (pspec));                                         \
    }                                                                                              \
  }                                                                                                \
  G_STMT_END

/* The tail of the lists' orders: by name (g_utf8_collate), then by id. */
static inline int chat_compare_name_then_id(const char *name_a, gint64 id_a, const char *name_b,
                                            gint64 id_b) {
  int by_name = g_utf8_collate(name_a, name_b);
  if (by_name != 0)
    return by_name;
  return (id_a > id_b) - (id_a < id_b);
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
