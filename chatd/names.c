/* What chatd accepts as a name (see names.h). */
#include "chatd/names.h"

#include <string.h>

/* Characters that reorder text around them (bidi marks, embeddings,
 * overrides and isolates). */
static gboolean is_bidi_control(gunichar c) {
  return c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/* Anything that breaks, hides or reorders a line of text. */
static gboolean breaks_a_line(gunichar c) {
  return g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029 || is_bidi_control(c);
}

const char *chatd_username_problem(const char *name) {
  if (name[0] == '\0')
    return "the username is empty";
  if (strlen(name) > CHATD_USERNAME_MAX)
    return "the username is longer than 32 bytes";
  if (!g_utf8_validate(name, -1, NULL))
    return "the username is not valid UTF-8";
  for (const char *p = name; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_isspace(c) || breaks_a_line(c))
      return "the username contains spaces or control characters";
  }
  return NULL;
}

static const char *display_problem(const char *name, gsize len, ChatdNameKind kind) {
  gboolean room = kind == CHATD_NAME_ROOM;
  if (!g_utf8_validate_len(name, len, NULL))
    return room ? "the room name is not valid UTF-8" : "the nickname is not valid UTF-8";
  if (len == 0)
    return room ? "the room name is empty" : "the nickname is empty";
  if (len > CHATD_DISPLAY_NAME_MAX)
    return room ? "the room name is longer than 64 bytes" : "the nickname is longer than 64 bytes";
  for (const char *p = name; p < name + len; p = g_utf8_next_char(p)) {
    if (breaks_a_line(g_utf8_get_char(p)))
      return room ? "the room name contains a line break or control character"
                  : "the nickname contains a line break or control character";
  }
  return NULL;
}

char *chatd_display_name_clean(const char *name, gsize len, ChatdNameKind kind,
                               const char **problem) {
  /* Trimmed by hand: name may hold a NUL, which g_strstrip would stop at. */
  const char *start = name, *end = name + len;
  while (start < end && g_ascii_isspace(*start))
    start++;
  while (end > start && g_ascii_isspace(end[-1]))
    end--;
  *problem = display_problem(start, (gsize)(end - start), kind);
  return g_strndup(start, (gsize)(end - start));
}
