/* gtk-client/core/chat-settings.c: the client's preferences come from its
 * GSettings schema, found in the build tree when the client runs from it
 * (this test does), with the keys, defaults and ranges the client relies
 * on; a value written is read back by the next user of the settings (as by
 * the next launch). Run with GSETTINGS_BACKEND=memory. */
#include <criterion/criterion.h>

#include "build-config.h"

#include "gtk-client/core/chat-build-tree.h"
#include "gtk-client/core/chat-settings.h"
#include "protocol/chat-limits.h"

/* The composer's font sizes (gtk-client/chat-message-row.h). */
#define COMPOSER_FONT_SIZE_MIN 6
#define COMPOSER_FONT_SIZE_MAX 48

static void require_memory_backend(void) {
  cr_assert_str_eq(g_getenv("GSETTINGS_BACKEND"), "memory",
                   "run with GSETTINGS_BACKEND=memory (tests/meson.build)");
}

static GSettings *open_settings(void) {
  require_memory_backend();
  GError *error = NULL;
  GSettings *settings = chat_settings_new(&error);
  cr_assert_not_null(settings, "%s", error ? error->message : "");
  return settings;
}

static gboolean in_range(GSettings *settings, const char *key, GVariant *value) {
  GSettingsSchema *schema = NULL;
  g_object_get(settings, "settings-schema", &schema, NULL);
  GSettingsSchemaKey *schema_key = g_settings_schema_get_key(schema, key);
  g_variant_ref_sink(value);
  gboolean ok = g_settings_schema_key_range_check(schema_key, value);
  g_variant_unref(value);
  g_settings_schema_key_unref(schema_key);
  g_settings_schema_unref(schema);
  return ok;
}

Test(client_settings, the_build_tree_schema_is_used_uninstalled) {
  cr_assert(chat_build_tree_is_running_uninstalled(), "this test runs from the build tree");
  cr_assert_str_eq(chat_settings_schema_dir(), CHAT_BUILD_SCHEMA_DIR);
  GSettings *settings = open_settings();
  g_object_unref(settings);
}

Test(client_settings, defaults) {
  GSettings *settings = open_settings();
  cr_assert_eq(g_settings_get_int(settings, CHAT_SETTINGS_FONT_SIZE), CHAT_FONT_SIZE_DEFAULT);
  ChatColor color = chat_settings_get_font_color(settings);
  cr_assert(color.red == 0 && color.green == 0 && color.blue == 0, "not black");
  char *text = g_settings_get_string(settings, CHAT_SETTINGS_LAST_USERNAME);
  cr_assert_str_eq(text, "");
  g_free(text);
  text = g_settings_get_string(settings, CHAT_SETTINGS_COLOR_SCHEME);
  cr_assert_str_eq(text, CHAT_COLOR_SCHEME_DEFAULT);
  g_free(text);
  const char *sizes[] = {CHAT_SETTINGS_CONTACTS_WINDOW_WIDTH, CHAT_SETTINGS_CONTACTS_WINDOW_HEIGHT,
                         CHAT_SETTINGS_CHAT_WINDOW_WIDTH, CHAT_SETTINGS_CHAT_WINDOW_HEIGHT};
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
    cr_assert_geq(g_settings_get_int(settings, sizes[i]), 200, "%s", sizes[i]);
  g_object_unref(settings);
}

Test(client_settings, ranges) {
  GSettings *settings = open_settings();
  cr_assert(
      in_range(settings, CHAT_SETTINGS_FONT_SIZE, g_variant_new_int32(COMPOSER_FONT_SIZE_MIN)));
  cr_assert(
      in_range(settings, CHAT_SETTINGS_FONT_SIZE, g_variant_new_int32(COMPOSER_FONT_SIZE_MAX)));
  cr_assert_not(
      in_range(settings, CHAT_SETTINGS_FONT_SIZE, g_variant_new_int32(COMPOSER_FONT_SIZE_MIN - 1)));
  cr_assert_not(
      in_range(settings, CHAT_SETTINGS_FONT_SIZE, g_variant_new_int32(COMPOSER_FONT_SIZE_MAX + 1)));
  const char *schemes[] = {CHAT_COLOR_SCHEME_DEFAULT, CHAT_COLOR_SCHEME_LIGHT,
                           CHAT_COLOR_SCHEME_DARK};
  for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++)
    cr_assert(in_range(settings, CHAT_SETTINGS_COLOR_SCHEME, g_variant_new_string(schemes[i])));
  cr_assert_not(in_range(settings, CHAT_SETTINGS_COLOR_SCHEME, g_variant_new_string("purple")));
  cr_assert_not(in_range(settings, CHAT_SETTINGS_CHAT_WINDOW_WIDTH, g_variant_new_int32(0)));
  cr_assert_not(in_range(settings, CHAT_SETTINGS_CHAT_WINDOW_HEIGHT, g_variant_new_int32(-5)));
  cr_assert_not(
      in_range(settings, CHAT_SETTINGS_CONTACTS_WINDOW_WIDTH, g_variant_new_int32(1 << 20)));
  g_object_unref(settings);
}

/* The next GSettings object (the next launch, against a real backend) reads
 * what this one wrote. */
Test(client_settings, written_values_are_read_back) {
  GSettings *writer = open_settings();
  cr_assert(g_settings_set_string(writer, CHAT_SETTINGS_LAST_USERNAME, "alice"));
  cr_assert(g_settings_set_int(writer, CHAT_SETTINGS_FONT_SIZE, 20));
  cr_assert(g_settings_set_string(writer, CHAT_SETTINGS_FONT_COLOR, "#c01c28"));
  cr_assert(g_settings_set_int(writer, CHAT_SETTINGS_CHAT_WINDOW_WIDTH, 900));
  cr_assert(g_settings_set_string(writer, CHAT_SETTINGS_COLOR_SCHEME, CHAT_COLOR_SCHEME_DARK));
  g_settings_sync();
  g_object_unref(writer);

  GSettings *reader = open_settings();
  char *username = g_settings_get_string(reader, CHAT_SETTINGS_LAST_USERNAME);
  cr_assert_str_eq(username, "alice");
  g_free(username);
  cr_assert_eq(g_settings_get_int(reader, CHAT_SETTINGS_FONT_SIZE), 20);
  ChatColor color = chat_settings_get_font_color(reader);
  cr_assert(color.red == 0xc0 && color.green == 0x1c && color.blue == 0x28);
  cr_assert_eq(g_settings_get_int(reader, CHAT_SETTINGS_CHAT_WINDOW_WIDTH), 900);
  char *scheme = g_settings_get_string(reader, CHAT_SETTINGS_COLOR_SCHEME);
  cr_assert_str_eq(scheme, CHAT_COLOR_SCHEME_DARK);
  g_free(scheme);
  g_object_unref(reader);
}

Test(client_settings, a_font_color_that_is_not_rrggbb_falls_back_to_black) {
  GSettings *settings = open_settings();
  const char *bad[] = {"red", "", "#12", "#gggggg"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    cr_assert(g_settings_set_string(settings, CHAT_SETTINGS_FONT_COLOR, bad[i]));
    ChatColor color = chat_settings_get_font_color(settings);
    cr_assert(color.red == 0 && color.green == 0 && color.blue == 0, "\"%s\" not black", bad[i]);
  }
  g_object_unref(settings);
}

Test(client_settings, the_shared_settings_are_opened_once) {
  require_memory_backend();
  GSettings *first = chat_settings_get_default();
  cr_assert_not_null(first);
  cr_assert_eq(chat_settings_get_default(), first);
}
