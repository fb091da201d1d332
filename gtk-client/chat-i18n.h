/* Translations: the gettext domain "chat-client" bound to $CHAT_LOCALEDIR
 * when it is set; else, running from the build tree, to the .mo files built
 * there (<builddir>/gtk-client/po); else to the installed LOCALEDIR. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHAT_LOCALEDIR_ENV "CHAT_LOCALEDIR"

/* The directory the text domain is bound to (see above). */
const char *chat_i18n_localedir(void);

/* Sets the locale from the environment and binds the text domain. */
void chat_i18n_init(void);

G_END_DECLS
