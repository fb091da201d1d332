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
 *  - a room's message starts with its sender, the nickname beside the
 *    username as chat_sender_label() writes them, and ": "
 *    ("Bob (bob): hi"; "bob: hi" when they are the same; "Bob: hi" when
 *    the username is unknown); a friend's does not;
 *  - an image (its bytes or, from a v2 server, only its format and size)
 *    is shown as _("[Image]") (zh_CN: "[图片消息]"), its text is
 *    ignored;
 *  - every run of white space or control characters (line breaks, tabs)
 *    becomes one space, and the line is trimmed; in the sender, a bidi
 *    control shows as U+FFFD (chat_unichar_is_bidi_control);
 *  - a line over CHAT_PREVIEW_MAX_CHARS characters is cut to that many,
 *    the last one being CHAT_PREVIEW_ELLIPSIS.
 * sender_name, sender_username and text may be NULL (empty). Invalid
 * UTF-8 is repaired (U+FFFD). Returns a newly allocated string. */
char *chat_preview_text(ChatContactKind kind, const char *sender_name, const char *sender_username,
                        gboolean image, const char *text);

G_END_DECLS
