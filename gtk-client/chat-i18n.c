#include "gtk-client/chat-i18n.h"

#include "build-config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "gtk-client/core/chat-build-tree.h"

const char *chat_i18n_localedir(void) {
  const char *localedir = g_getenv(CHAT_LOCALEDIR_ENV);
  if (localedir != NULL && *localedir != '\0')
    return localedir;
  return chat_build_tree_is_running_uninstalled() ? CHAT_BUILD_LOCALEDIR : LOCALEDIR;
}

void chat_i18n_init(void) {
  setlocale(LC_ALL, "");
  bindtextdomain(GETTEXT_PACKAGE, chat_i18n_localedir());
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
}
