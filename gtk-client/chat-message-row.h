/* ChatMessageRow: one row of a chat: a message bubble (text in its
 * sender's font size and colour, or an image scaled down, clickable), its
 * sender and time, and its delivery state; or, for the first row, the
 * history marker ("Beginning of the conversation", "Loading…", or a button
 * to load older messages). */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-conversation.h"

G_BEGIN_DECLS

/* Images are shown at most this large in a chat (pixels). */
#define CHAT_IMAGE_THUMBNAIL_MAX 280
/* Received font sizes are kept within these points. */
#define CHAT_FONT_SIZE_MIN 6
#define CHAT_FONT_SIZE_MAX 48

#define CHAT_TYPE_MESSAGE_ROW (chat_message_row_get_type())
G_DECLARE_FINAL_TYPE(ChatMessageRow, chat_message_row, CHAT, MESSAGE_ROW, GtkWidget)

ChatMessageRow *chat_message_row_new(void);
/* Shows a message; show_sender names the sender of incoming messages
 * (rooms); continued hides the sender and time line under a message of
 * the same sender sent just before. */
void chat_message_row_set_message(ChatMessageRow *self, ChatMessageItem *item, gboolean show_sender,
                                  gboolean continued);
/* Shows the history marker of a conversation. */
void chat_message_row_set_marker(ChatMessageRow *self, ChatConversation *conversation);
/* Shows nothing (unbound). */
void chat_message_row_clear(ChatMessageRow *self);
/* The message shown, or NULL (a marker, or nothing bound). */
ChatMessageItem *chat_message_row_get_item(ChatMessageRow *self);

/* The decoded image of an image message, cached on the item; NULL when it
 * does not decode. thumbnail: scaled to fit CHAT_IMAGE_THUMBNAIL_MAX. */
GdkTexture *chat_message_row_get_texture(ChatMessageItem *item, gboolean thumbnail);

/* Signals:
 *  retry-requested (ChatMessageItem *item)   a failed message's Retry
 *  image-activated (ChatMessageItem *item)   an image was clicked
 *  load-older-requested ()                   the marker's button */

G_END_DECLS
