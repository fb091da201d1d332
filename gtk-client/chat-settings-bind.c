#include "gtk-client/chat-settings-bind.h"

#include <math.h>

#include "gtk-client/core/chat-settings.h"

void chat_settings_bind_font_size(GSettings *settings, GtkSpinButton *spin) {
  if (settings)
    g_settings_bind(settings, CHAT_SETTINGS_FONT_SIZE, spin, "value", G_SETTINGS_BIND_DEFAULT);
}

/* "#rrggbb" -> GdkRGBA; anything else is black (no colour of one's own). */
static gboolean color_from_setting(GValue *value, GVariant *variant, gpointer data) {
  ChatColor color = {0, 0, 0};
  if (!chat_color_parse(g_variant_get_string(variant, NULL), &color))
    chat_color_parse(CHAT_SETTINGS_FONT_COLOR_FALLBACK, &color);
  GdkRGBA rgba = {color.red / 255.f, color.green / 255.f, color.blue / 255.f, 1};
  g_value_set_boxed(value, &rgba);
  return TRUE;
}

static guint8 channel_to_8_bits(float channel) {
  return (guint8)lroundf(CLAMP(channel, 0.f, 1.f) * 255);
}

static GVariant *color_to_setting(const GValue *value, const GVariantType *type, gpointer data) {
  const GdkRGBA *rgba = g_value_get_boxed(value);
  if (rgba == NULL)
    return NULL;
  ChatColor color = {channel_to_8_bits(rgba->red), channel_to_8_bits(rgba->green),
                     channel_to_8_bits(rgba->blue)};
  g_autofree char *text = chat_color_to_string(color);
  return g_variant_new_string(text);
}

void chat_settings_bind_font_color(GSettings *settings, GtkColorChooser *chooser) {
  if (settings)
    g_settings_bind_with_mapping(settings, CHAT_SETTINGS_FONT_COLOR, chooser, "rgba",
                                 G_SETTINGS_BIND_DEFAULT, color_from_setting, color_to_setting,
                                 NULL, NULL);
}
