/* ChatConversation: the messages exchanged with one contact, oldest first,
 * as a GListModel of ChatMessageItem; older pages are prepended as they
 * load. */
#pragma once

#include <gio/gio.h>

#include "protocol/request-error.h"

G_BEGIN_DECLS

typedef struct _ChatContact ChatContact;

typedef enum {
  CHAT_MESSAGE_TEXT = 0,
  CHAT_MESSAGE_IMAGE = 1,
} ChatMessageKind;

typedef enum {
  CHAT_DELIVERY_PENDING, /* in the outbox, not acknowledged */
  CHAT_DELIVERY_SENT,    /* acknowledged by the server (stored) */
  CHAT_DELIVERY_FAILED,  /* refused by the server (reason in "error") */
} ChatDelivery;

#define CHAT_TYPE_MESSAGE_KIND (chat_message_kind_get_type())
GType chat_message_kind_get_type(void);
#define CHAT_TYPE_DELIVERY (chat_delivery_get_type())
GType chat_delivery_get_type(void);

#define CHAT_TYPE_MESSAGE_ITEM (chat_message_item_get_type())
G_DECLARE_FINAL_TYPE(ChatMessageItem, chat_message_item, CHAT, MESSAGE_ITEM, GObject)

/* Properties: id (gint64, 0 while pending), sender-id, sender-name,
 * sender-username, outgoing (gboolean), kind, text, font-size, font-color,
 * image (GBytes), image-format, image-size (gint64), time (ms), delivery
 * (ChatDelivery), error (string). */
gint64 chat_message_item_get_id(ChatMessageItem *self);
gint64 chat_message_item_get_sender_id(ChatMessageItem *self);
/* The sender's nickname: chosen freely, so not unique. */
const char *chat_message_item_get_sender_name(ChatMessageItem *self);
/* The sender's username (unique): from the message (a v2 server sends it)
 * or, when it does not say, from the contacts and room members the
 * session knows; NULL when unknown. Show it beside the nickname
 * (chat_sender_label in chat-names.h) wherever a message is attributed. */
const char *chat_message_item_get_sender_username(ChatMessageItem *self);
gboolean chat_message_item_get_outgoing(ChatMessageItem *self);
ChatMessageKind chat_message_item_get_kind(ChatMessageItem *self);
const char *chat_message_item_get_text(ChatMessageItem *self);
int chat_message_item_get_font_size(ChatMessageItem *self);
const char *chat_message_item_get_font_color(ChatMessageItem *self);
/* An image message's bytes; NULL for an image preview. */
GBytes *chat_message_item_get_image(ChatMessageItem *self);
/* An image preview: the server sent only the image's format and size
 * (v2: an image too large to send); the item stands for it with
 * chat_image_preview_text (chat-names.h). */
gboolean chat_message_item_is_image_preview(ChatMessageItem *self);
/* An image preview's format as the server named it ("png", "jpeg", "gif",
 * "webp", "bmp", or "" when unknown); NULL for other messages. */
const char *chat_message_item_get_image_format(ChatMessageItem *self);
/* An image's size in bytes (a preview's as the server announced it); 0
 * for text. */
gint64 chat_message_item_get_image_size(ChatMessageItem *self);
gint64 chat_message_item_get_time(ChatMessageItem *self);
ChatDelivery chat_message_item_get_delivery(ChatMessageItem *self);
/* Why the server refused it (delivery FAILED), else NULL. */
const char *chat_message_item_get_error(ChatMessageItem *self);
/* The error code of that refusal (v2, spec/protocol.md 5.7), so a display
 * can word it in the user's language; CHAT_REQUEST_ERROR_UNKNOWN when the
 * server gave none (seed) or the item did not fail. */
chat_request_error chat_message_item_get_error_code(ChatMessageItem *self);

#define CHAT_TYPE_CONVERSATION (chat_conversation_get_type())
G_DECLARE_FINAL_TYPE(ChatConversation, chat_conversation, CHAT, CONVERSATION, GObject)

/* The contact this conversation is with. */
ChatContact *chat_conversation_get_contact(ChatConversation *self);
/* The messages (ChatMessageItem), oldest first. */
GListModel *chat_conversation_get_messages(ChatConversation *self);
/* TRUE once the start of the history is loaded ("history ends here"). */
gboolean chat_conversation_get_complete(ChatConversation *self);
/* TRUE while an older page is being fetched. */
gboolean chat_conversation_get_loading(ChatConversation *self);

G_END_DECLS
