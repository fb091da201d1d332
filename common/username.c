/* The username rule. See common/username.h. */
#include "common/username.h"

char *chat_username_normalize(const char *name, gssize len) {
  if (name == NULL)
    name = "";
  g_autofree char *copy = len < 0 ? g_strdup(name) : g_strndup(name, (gsize)len);
  g_strstrip(copy);
  return g_utf8_strdown(copy, -1);
}
