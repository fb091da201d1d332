/* Small text helpers shared by the windows: times. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A last-message time for the contacts list: "14:05" today, "Yesterday",
 * the weekday within a week, else the date. "" for 0 (no message). */
char *chat_format_list_time(gint64 time_ms);
/* A message time: "14:05" today, else date and time. */
char *chat_format_message_time(gint64 time_ms);
/* A full date and time for dialogs ("2024-05-01 14:05:09"). */
char *chat_format_full_time(gint64 time_ms);

/* The core's last-message preview (already in the user's language, see
 * core/chat-preview.h) ready to show: "" for NULL. */
char *chat_format_preview(const char *preview);

G_END_DECLS
