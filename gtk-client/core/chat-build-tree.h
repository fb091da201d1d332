/* Whether this program runs from the meson build tree it was built in
 * (./build/gtk-client/chat-client, the tests) rather than from an install:
 * then its translations and its settings schema are the build tree's
 * (build-config.h names the directories), so a newcomer's first run needs
 * no install and no environment variable. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when path is directory itself or inside it (directory names compared
 * whole: /a/build does not contain /a/build-other). Both absolute, without
 * symbolic links. */
gboolean chat_build_tree_contains(const char *directory, const char *path);

/* TRUE when the running program (/proc/self/exe) lies inside the build
 * tree it was built in (CHAT_BUILD_ROOT). Worked out once. */
gboolean chat_build_tree_is_running_uninstalled(void);

G_END_DECLS
