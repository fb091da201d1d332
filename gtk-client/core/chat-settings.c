#include "gtk-client/core/chat-settings.h"

#include "build-config.h"

#include "gtk-client/core/chat-build-tree.h"

const char *chat_settings_schema_dir(void) {
  return chat_build_tree_is_running_uninstalled() ? CHAT_BUILD_SCHEMA_DIR : NULL;
}

GSettings *chat_settings_new(GError **error) {
  const char *directory = chat_settings_schema_dir();
  g_autoptr(GSettingsSchemaSource) source = NULL;
  GSettingsSchemaSource *default_source = g_settings_schema_source_get_default();
  if (directory) {
    source = g_settings_schema_source_new_from_directory(directory, default_source, FALSE, error);
    if (source == NULL)
      return NULL;
  } else if (default_source) {
    source = g_settings_schema_source_ref(default_source);
  }
  g_autoptr(GSettingsSchema) schema =
      source ? g_settings_schema_source_lookup(source, CHAT_SETTINGS_SCHEMA_ID, TRUE) : NULL;
  if (schema == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                "the settings schema %s is not installed%s%s", CHAT_SETTINGS_SCHEMA_ID,
                directory ? " in " : "", directory ? directory : "");
    return NULL;
  }
  return g_settings_new_full(schema, NULL, NULL);
}

GSettings *chat_settings_get_default(void) {
  static GSettings *settings;
  static gboolean tried;
  if (!tried) {
    tried = TRUE;
    g_autoptr(GError) error = NULL;
    settings = chat_settings_new(&error);
    if (settings == NULL)
      g_warning("Preferences are not kept: %s", error->message);
  }
  return settings;
}

ChatColor chat_settings_get_font_color(GSettings *settings) {
  ChatColor color = {0, 0, 0};
  g_autofree char *text = g_settings_get_string(settings, CHAT_SETTINGS_FONT_COLOR);
  if (!chat_color_parse(text, &color))
    chat_color_parse(CHAT_SETTINGS_FONT_COLOR_FALLBACK, &color);
  return color;
}
