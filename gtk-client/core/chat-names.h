/* How the client shows what the server says about people and images: a
 * message's sender (a nickname, which anyone may pick, beside the unique
 * username), a name on one line whatever it holds, and an image the server
 * sent only as a preview. Pure functions, so the rules are tested alone. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An image preview's format is shown (upper-cased) only when it is this
 * short and only letters and digits ("png", "jpeg"); else as unknown. */
#define CHAT_IMAGE_FORMAT_MAX_CHARS 8

/* Who sent a message: _("%s (%s)") of the nickname and the username
 * ("Alice (alice)"); the nickname alone when the username is unknown
 * (NULL or empty) or the same text; the username alone when the nickname
 * is empty. Not made safe for one line: pass it to chat_name_single_line
 * (or the preview's folding). Returns a newly allocated string. */
char *chat_sender_label(const char *nickname, const char *username);

/* A name (nickname, room name, username, or a sender label) made safe for
 * a one-line label: invalid UTF-8 repaired, and every character that
 * breaks or reorders a line - control characters (Cc: U+0000..U+001F,
 * U+007F..U+009F), line and paragraph separators (U+2028, U+2029), bidi
 * controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) - replaced
 * by U+FFFD, so it shows instead of acting. NULL is "". Returns a newly
 * allocated string. */
char *chat_name_single_line(const char *name);

/* TRUE for the bidi controls above (U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069): in a name they could make the text around it read
 * differently. */
gboolean chat_unichar_is_bidi_control(gunichar c);

/* What stands for an image the server sent only as its format and size
 * (a v2 image preview): "Image (PNG, 48.2 kB) – too large to show", or
 * "Image (48.2 kB) – too large to show" when the format is empty or not
 * a plain name. Translated. Returns a newly allocated string. */
char *chat_image_preview_text(const char *format, gint64 size);

G_END_DECLS
