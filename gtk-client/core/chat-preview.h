/* The QQ-style one-line preview of a conversation's last message, as the
 * contacts list shows it under a contact's name. A pure function, so the
 * rules are tested on their own. */
#pragma once

#include <glib.h>

#include "gtk-client/core/chat-contact.h"

G_BEGIN_DECLS

/* The longest preview, in characters (Unicode code points), "…" included. */
#define CHAT_PREVIEW_MAX_CHARS 40
/* What a cut preview ends with. */
#define CHAT_PREVIEW_ELLIPSIS "…"

/* The preview line of a message:
 *  - a room's message starts with the sender's nickname and ": "
 *    ("Bob: hi"); a friend's does not;
 *  - an image is shown as _("[Image]") (zh_CN: "[图片消息]"), its text is
 *    ignored;
 *  - every run of white space or control characters (line breaks, tabs)
 *    becomes one space, and the line is trimmed;
 *  - a line over CHAT_PREVIEW_MAX_CHARS characters is cut to that many,
 *    the last one being CHAT_PREVIEW_ELLIPSIS.
 * sender_name and text may be NULL (empty). Invalid UTF-8 is repaired
 * (U+FFFD). Returns a newly allocated string. */
char *chat_preview_text(ChatContactKind kind, const char *sender_name, gboolean image,
                        const char *text);

G_END_DECLS
