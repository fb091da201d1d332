/* Small text helpers shared by the windows: times, avatars. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How many avatar colours style.css defines (.avatar.color-0 ...). */
#define CHAT_AVATAR_COLORS 8

/* A last-message time for the contacts list: "14:05" today, "Yesterday",
 * the weekday within a week, else the date. "" for 0 (no message). */
char *chat_format_list_time(gint64 time_ms);
/* A message time: "14:05" today, else date and time. */
char *chat_format_message_time(gint64 time_ms);
/* A full date and time for dialogs ("2024-05-01 14:05:09"). */
char *chat_format_full_time(gint64 time_ms);
/* The first character of a name, upper-cased, for an avatar ("?" if none). */
char *chat_format_initial(const char *name);
/* The style class of an avatar for an id: "color-0" ... */
const char *chat_format_avatar_class(gint64 id);

/* The core's last-message preview (already in the user's language, see
 * core/chat-preview.h) ready to show: "" for NULL. */
char *chat_format_preview(const char *preview);

G_END_DECLS
