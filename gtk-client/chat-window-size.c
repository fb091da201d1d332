#include "gtk-client/chat-window-size.h"

#define WIDTH_KEY "chat-window-size-width-key"
#define HEIGHT_KEY "chat-window-size-height-key"
#define SETTINGS_KEY "chat-window-size-settings"

/* Writes a size only when it lies in the key's range (a window made smaller
 * than the schema allows keeps the last size that fits). */
static void save_int(GSettings *settings, const char *key, int value) {
  g_autoptr(GSettingsSchema) schema = NULL;
  g_object_get(settings, "settings-schema", &schema, NULL);
  g_autoptr(GSettingsSchemaKey) schema_key = g_settings_schema_get_key(schema, key);
  g_autoptr(GVariant) variant = g_variant_ref_sink(g_variant_new_int32(value));
  if (g_settings_schema_key_range_check(schema_key, variant))
    g_settings_set_int(settings, key, value);
}

static void on_unmap(GtkWidget *widget, gpointer data) {
  GtkWindow *window = GTK_WINDOW(widget);
  GSettings *settings = g_object_get_data(G_OBJECT(window), SETTINGS_KEY);
  if (gtk_window_is_maximized(window) || gtk_window_is_fullscreen(window))
    return;
  int width = 0, height = 0;
  gtk_window_get_default_size(window, &width, &height);
  if (width > 0)
    save_int(settings, g_object_get_data(G_OBJECT(window), WIDTH_KEY), width);
  if (height > 0)
    save_int(settings, g_object_get_data(G_OBJECT(window), HEIGHT_KEY), height);
}

void chat_window_size_remember(GtkWindow *window, GSettings *settings, const char *width_key,
                               const char *height_key) {
  g_return_if_fail(GTK_IS_WINDOW(window));
  if (settings == NULL)
    return;
  gtk_window_set_default_size(window, g_settings_get_int(settings, width_key),
                              g_settings_get_int(settings, height_key));
  g_object_set_data_full(G_OBJECT(window), SETTINGS_KEY, g_object_ref(settings), g_object_unref);
  g_object_set_data_full(G_OBJECT(window), WIDTH_KEY, g_strdup(width_key), g_free);
  g_object_set_data_full(G_OBJECT(window), HEIGHT_KEY, g_strdup(height_key), g_free);
  g_signal_connect(window, "unmap", G_CALLBACK(on_unmap), NULL);
}
