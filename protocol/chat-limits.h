/* The limits and defaults more than one program uses: what chatd accepts
 * and announces, and what chatctl and the desktop client check before
 * sending or assume when the server says nothing. Each is written here once
 * (README "Limits", spec/protocol.md); a program's own limits stay in its
 * own headers. Plain C: no GLib. (Not named limits.h: meson puts protocol/
 * on the include path of its own files, where it would hide <limits.h>.) */
#ifndef CHAT_PROTOCOL_CHAT_LIMITS_H
#define CHAT_PROTOCOL_CHAT_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

/* ---- connections ---- */

/* The port chatd listens on and clients dial unless config.json says
 * otherwise (the seed's config.json). */
#define CHAT_DEFAULT_PORT 8111

/* ---- message sizes ---- */

/* The largest message, unless the server announces another (v2
 * server-info max_message; chatd's server.max_message_size default). */
#define CHAT_MAX_MESSAGE_DEFAULT ((size_t)16 << 20)
/* The largest image a client sends when the server announces nothing (seed,
 * an older server): chatd's server.max_image_size default. A v2 chatd
 * announces its own (server-info max_image), and that one decides. */
#define CHAT_MAX_IMAGE_DEFAULT ((size_t)8 << 20)
/* The largest message a client takes from a seed server: its login_bundle
 * carries the whole history, images included. */
#define CHAT_SEED_MAX_MESSAGE_RECEIVED ((size_t)256 << 20)

/* ---- text messages ---- */

/* The font size of a text message when the sender picks none (points; the
 * seed's and the spec's examples use 12). */
#define CHAT_FONT_SIZE_DEFAULT 12
/* The font sizes the server accepts. */
#define CHAT_FONT_SIZE_LOWEST 1
#define CHAT_FONT_SIZE_HIGHEST 1000
/* The font colour when the sender picks none. */
#define CHAT_FONT_COLOR_DEFAULT "#000000"
/* A font colour is "#rrggbb": '#' and six hexadecimal digits, either case
 * (what the seed and the GTK client write, and what chatctl lets a user
 * type); chat_font_color_valid checks it. */
#define CHAT_FONT_COLOR_LEN 7
/* The longest text of a text message, in bytes: a client's decoder takes
 * no longer str by default (spec/protocol.md 2.4, max_str_len). */
#define CHAT_TEXT_MAX ((size_t)1 << 20)
/* Longest client_msg_id the server accepts, in bytes. */
#define CHAT_CLIENT_MSG_ID_MAX 64
/* The most messages in one history page. */
#define CHAT_HISTORY_PAGE_MAX 200

/* ---- search (v2) ---- */

/* A search query: 1..this many bytes of UTF-8, not only white space. */
#define CHAT_SEARCH_QUERY_MAX 256
/* The most results a search asks for (limit 1..this). */
#define CHAT_SEARCH_LIMIT_MAX 50
/* The most match spans a result carries for one message: the first ones in
 * the text; a message with more occurrences still is a result. */
#define CHAT_SEARCH_SPANS_MAX 1000

/* ---- accounts and names ---- */

/* Usernames: 1..this many bytes (after normalisation). */
#define CHAT_USERNAME_MAX 32
/* Nicknames and room names: 1..this many bytes after trimming. */
#define CHAT_DISPLAY_NAME_MAX 64
/* Passwords: 1..this many bytes. */
#define CHAT_PASSWORD_MAX 1024

/* ---- checks ---- */

/* Whether the len bytes at color are a font colour ("#rrggbb", above). */
static inline bool chat_font_color_valid(const char *color, size_t len) {
  if (len != CHAT_FONT_COLOR_LEN || color[0] != '#')
    return false;
  for (size_t i = 1; i < len; i++) {
    char c = color[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

#endif
