/* The colour scheme preference (settings key color-scheme: "default" follows
 * the system, "light", "dark") applied to libadwaita's style manager, now
 * and whenever the key changes (the preferences window, another instance). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Applies color-scheme and follows its changes. Needs libadwaita
 * initialised (AdwApplication's startup; adw_init is called otherwise).
 * settings may be NULL (no schema): the system's choice then. */
void chat_color_scheme_follow_settings(GSettings *settings);

G_END_DECLS
