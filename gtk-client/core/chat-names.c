#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-names.h"

#include "build-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#define REPLACEMENT_CHARACTER 0xFFFD

char *chat_sender_label(const char *nickname, const char *username) {
  const char *nick = nickname ? nickname : "";
  if (!username || !*username || g_strcmp0(nick, username) == 0)
    return g_strdup(nick);
  if (!*nick)
    return g_strdup(username);
  /* The nickname is chosen freely; the username is unique. */
  /* Translators: who sent a message: "nickname (username)". */
  return g_strdup_printf(_("%s (%s)"), nick, username);
}

gboolean chat_unichar_is_bidi_control(gunichar c) {
  return c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/* Characters that break a line or change the order text is shown in. */
static gboolean breaks_a_line(gunichar c) {
  return g_unichar_type(c) == G_UNICODE_CONTROL || c == 0x2028 || c == 0x2029 ||
         chat_unichar_is_bidi_control(c);
}

char *chat_name_single_line(const char *name) {
  g_autofree char *valid = g_utf8_make_valid(name ? name : "", -1);
  GString *out = g_string_sized_new(strlen(valid));
  for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    g_string_append_unichar(out, breaks_a_line(c) ? REPLACEMENT_CHARACTER : c);
  }
  return g_string_free(out, FALSE);
}

/* "PNG" for "png"; NULL for "" or anything but a short plain name. */
static char *format_name(const char *format) {
  if (!format || !*format || strlen(format) > CHAT_IMAGE_FORMAT_MAX_CHARS)
    return NULL;
  for (const char *p = format; *p; p++)
    if (!g_ascii_isalnum(*p))
      return NULL;
  return g_ascii_strup(format, -1);
}

char *chat_image_preview_text(const char *format, gint64 size) {
  g_autofree char *size_text = g_format_size((guint64)MAX(size, 0));
  g_autofree char *name = format_name(format);
  if (name)
    /* Translators: an image kept by the server: its format ("PNG") and size ("48.2 kB"). */
    return g_strdup_printf(_("Image (%s, %s) – too large to show"), name, size_text);
  /* Translators: an image kept by the server: its size ("48.2 kB"). */
  return g_strdup_printf(_("Image (%s) – too large to show"), size_text);
}
