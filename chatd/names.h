/* What chatd accepts as a username, a nickname or a room name: one rule
 * each, used by every request that sets one (register, set_nickname,
 * create_room).
 *
 * A username is 1..32 bytes, without white space or control characters.
 * Nicknames and room names are shown to other people next to each other's
 * words, so besides their length (1..64 bytes after trimming) they may not
 * hold anything that breaks or reorders a line of text: control characters
 * (Unicode Cc), line and paragraph separators (U+2028, U+2029) and bidi
 * controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069). */
#pragma once

#include <glib.h>

#include "protocol/chat-limits.h"

G_BEGIN_DECLS

#define CHATD_USERNAME_MAX CHAT_USERNAME_MAX
#define CHATD_DISPLAY_NAME_MAX CHAT_DISPLAY_NAME_MAX

typedef enum {
  CHATD_NAME_NICKNAME,
  CHATD_NAME_ROOM,
} ChatdNameKind;

/* NULL when the (already normalised) username is acceptable, else why not. */
const char *chatd_username_problem(const char *username);

/* Trims white space around name (len bytes, any content) into a new string
 * (free it); *problem is NULL when the result is an acceptable name of that
 * kind, else the reason, for the peer. */
char *chatd_display_name_clean(const char *name, gsize len, ChatdNameKind kind,
                               const char **problem);

G_END_DECLS
