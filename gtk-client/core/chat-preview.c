#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-preview.h"

#include "build-config.h"

#include "gtk-client/core/chat-names.h"

#include <glib/gi18n-lib.h>

/* Appends text with every run of white space / control characters folded
 * into one space. *pending_space carries a run across calls; a space is
 * only written before the next visible character, so the result is never
 * padded at either end. name: a bidi control shows as U+FFFD (a name must
 * not reorder what follows it). */
static void append_folded(GString *out, const char *text, gboolean name, gboolean *pending_space) {
  g_autofree char *valid = g_utf8_make_valid(text, -1);
  for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_isspace(c) || g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029) {
      *pending_space = TRUE;
      continue;
    }
    if (name && chat_unichar_is_bidi_control(c))
      c = 0xFFFD;
    if (*pending_space && out->len > 0)
      g_string_append_c(out, ' ');
    *pending_space = FALSE;
    g_string_append_unichar(out, c);
  }
}

char *chat_preview_text(ChatContactKind kind, const char *sender_name, const char *sender_username,
                        gboolean image, const char *text) {
  g_autoptr(GString) out = g_string_new(NULL);
  gboolean pending_space = FALSE;
  append_folded(out, image ? _("[Image]") : (text ? text : ""), FALSE, &pending_space);
  g_autofree char *sender = chat_sender_label(sender_name, sender_username);
  if (kind == CHAT_CONTACT_ROOM && *sender) {
    g_autoptr(GString) name = g_string_new(NULL);
    pending_space = FALSE;
    append_folded(name, sender, TRUE, &pending_space);
    if (name->len > 0) {
      /* Translators: a room's last message in the contacts list, "sender: message"
         (Chinese uses a full-width colon). */
      g_autofree char *joined = g_strdup_printf(_("%s: %s"), name->str, out->str);
      g_string_assign(out, g_strchomp(joined));
    }
  }

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
