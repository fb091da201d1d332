#include "gtk-client/chat-color-scheme.h"

#include <adwaita.h>

#include "gtk-client/core/chat-settings.h"

/* "default" is libadwaita's advice for a switcher's "follow the system":
 * light unless the system prefers dark. */
static AdwColorScheme scheme_from_name(const char *name) {
  if (g_strcmp0(name, CHAT_COLOR_SCHEME_LIGHT) == 0)
    return ADW_COLOR_SCHEME_FORCE_LIGHT;
  if (g_strcmp0(name, CHAT_COLOR_SCHEME_DARK) == 0)
    return ADW_COLOR_SCHEME_FORCE_DARK;
  return ADW_COLOR_SCHEME_PREFER_LIGHT;
}

static void apply(GSettings *settings) {
  g_autofree char *name = g_settings_get_string(settings, CHAT_SETTINGS_COLOR_SCHEME);
  adw_style_manager_set_color_scheme(adw_style_manager_get_default(), scheme_from_name(name));
}

static void on_color_scheme_changed(GSettings *settings, const char *key, gpointer data) {
  apply(settings);
}

void chat_color_scheme_follow_settings(GSettings *settings) {
  adw_init();
  if (settings == NULL)
    return;
  g_signal_connect(settings, "changed::" CHAT_SETTINGS_COLOR_SCHEME,
                   G_CALLBACK(on_color_scheme_changed), NULL);
  apply(settings);
}
