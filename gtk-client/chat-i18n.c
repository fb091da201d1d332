#include "gtk-client/chat-i18n.h"

#include "build-config.h"

#include <glib/gi18n.h>
#include <locale.h>

void chat_i18n_init(void) {
  setlocale(LC_ALL, "");
  const char *localedir = g_getenv(CHAT_LOCALEDIR_ENV);
  if (localedir == NULL || *localedir == '\0')
    localedir = LOCALEDIR;
  bindtextdomain(GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);
}
