#include "gtk-client/core/chat-build-tree.h"

#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#define SELF_EXE_PATH "/proc/self/exe"

gboolean chat_build_tree_contains(const char *directory, const char *path) {
  g_return_val_if_fail(directory != NULL && path != NULL, FALSE);
  size_t length = strlen(directory);
  while (length > 1 && directory[length - 1] == '/')
    length--;
  if (strncmp(directory, path, length) != 0)
    return FALSE;
  return path[length] == '\0' || path[length] == '/' || (length == 1 && directory[0] == '/');
}

static gboolean running_uninstalled(void) {
  g_autofree char *self = realpath(SELF_EXE_PATH, NULL);
  g_autofree char *build_root = realpath(CHAT_BUILD_ROOT, NULL);
  if (self == NULL || build_root == NULL)
    return FALSE; /* no /proc, or the build tree is gone: installed */
  return chat_build_tree_contains(build_root, self);
}

gboolean chat_build_tree_is_running_uninstalled(void) {
  static gsize answer; /* 1: installed, 2: uninstalled */
  if (g_once_init_enter(&answer))
    g_once_init_leave(&answer, running_uninstalled() ? 2 : 1);
  return answer == 2;
}
