/* Translations: the gettext domain "chat-client" bound to LOCALEDIR, or to
 * $CHAT_LOCALEDIR when it is set (running from the build tree, where the
 * .mo files are in <builddir>/gtk-client/po). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHAT_LOCALEDIR_ENV "CHAT_LOCALEDIR"

/* Sets the locale from the environment and binds the text domain. */
void chat_i18n_init(void);

G_END_DECLS
