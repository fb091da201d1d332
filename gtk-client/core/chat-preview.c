#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-preview.h"

#include <glib/gi18n-lib.h>

/* Appends text with every run of white space / control characters folded
 * into one space. *pending_space carries a run across calls; a space is
 * only written before the next visible character, so the result is never
 * padded at either end. */
static void append_folded(GString *out, const char *text, gboolean *pending_space) {
  g_autofree char *valid = g_utf8_make_valid(text, -1);
  for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_isspace(c) || g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029) {
      *pending_space = TRUE;
      continue;
    }
    if (*pending_space && out->len > 0)
      g_string_append_c(out, ' ');
    *pending_space = FALSE;
    g_string_append_unichar(out, c);
  }
}

char *chat_preview_text(ChatContactKind kind, const char *sender_name, gboolean image,
                        const char *text) {
  g_autoptr(GString) out = g_string_new(NULL);
  gboolean pending_space = FALSE;
  if (kind == CHAT_CONTACT_ROOM && sender_name && *sender_name) {
    append_folded(out, sender_name, &pending_space);
    if (out->len > 0) {
      g_string_append_c(out, ':');
      pending_space = TRUE;
    }
  }
  append_folded(out, image ? _("[Image]") : (text ? text : ""), &pending_space);

  if (g_utf8_strlen(out->str, -1) <= CHAT_PREVIEW_MAX_CHARS)
    return g_string_free(g_steal_pointer(&out), FALSE);

  glong keep = CHAT_PREVIEW_MAX_CHARS - g_utf8_strlen(CHAT_PREVIEW_ELLIPSIS, -1);
  const char *cut = g_utf8_offset_to_pointer(out->str, keep);
  g_string_truncate(out, (gsize)(cut - out->str));
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate(out, out->len - 1);
  g_string_append(out, CHAT_PREVIEW_ELLIPSIS);
  return g_string_free(g_steal_pointer(&out), FALSE);
}
