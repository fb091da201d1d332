/* The client's preferences in GSettings (schema io.github.chatd.Chat,
 * gtk-client/data/io.github.chatd.Chat.gschema.xml): from the installed
 * schemas, or from the build tree's compiled schema when the program runs
 * uninstalled (chat-build-tree.h), so ./build/gtk-client/chat-client works
 * without an install or GSETTINGS_SCHEMA_DIR. */
#pragma once

#include <gio/gio.h>

#include "gtk-client/core/chat-color-contrast.h"

G_BEGIN_DECLS

#define CHAT_SETTINGS_SCHEMA_ID "io.github.chatd.Chat"

#define CHAT_SETTINGS_FONT_SIZE "font-size"
#define CHAT_SETTINGS_FONT_COLOR "font-color"
#define CHAT_SETTINGS_LAST_USERNAME "last-username"
#define CHAT_SETTINGS_CONTACTS_WINDOW_WIDTH "contacts-window-width"
#define CHAT_SETTINGS_CONTACTS_WINDOW_HEIGHT "contacts-window-height"
#define CHAT_SETTINGS_CHAT_WINDOW_WIDTH "chat-window-width"
#define CHAT_SETTINGS_CHAT_WINDOW_HEIGHT "chat-window-height"
#define CHAT_SETTINGS_COLOR_SCHEME "color-scheme"

/* The values of color-scheme. */
#define CHAT_COLOR_SCHEME_DEFAULT "default"
#define CHAT_COLOR_SCHEME_LIGHT "light"
#define CHAT_COLOR_SCHEME_DARK "dark"

/* The colour font-color falls back to when it holds no "#rrggbb". */
#define CHAT_SETTINGS_FONT_COLOR_FALLBACK "#000000"

/* The directory whose gschemas.compiled the settings come from: the build
 * tree's (CHAT_BUILD_SCHEMA_DIR) when running uninstalled, else NULL (the
 * installed schemas, GSettings' default lookup). */
const char *chat_settings_schema_dir(void);

/* The settings, or NULL with error set when the schema is not there (an
 * install without its schema, a build tree whose schema was not compiled). */
GSettings *chat_settings_new(GError **error);

/* The program's settings, opened once with chat_settings_new; NULL (after
 * one warning) when the schema is missing: callers then keep their
 * built-in defaults. */
GSettings *chat_settings_get_default(void);

/* font-color, parsed; CHAT_SETTINGS_FONT_COLOR_FALLBACK when the key
 * holds anything other than "#rrggbb" (it is a free string to GSettings). */
ChatColor chat_settings_get_font_color(GSettings *settings);

G_END_DECLS
