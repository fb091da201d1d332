/* What the session does to conversations and message items: the UI only
 * reads them. */
#pragma once

#include "gtk-client/core/chat-contact.h"
#include "gtk-client/core/chat-conversation.h"

G_BEGIN_DECLS

/* The fields of a new item; strings and image are copied / referenced. */
typedef struct {
  gint64 id; /* server id; 0 while pending (and in the seed dialect) */
  gint64 sender_id;
  const char *sender_name;
  const char *sender_username; /* NULL when unknown */
  gboolean outgoing;
  ChatMessageKind kind;
  const char *text; /* text messages */
  int font_size;
  const char *font_color;
  GBytes *image;            /* image messages; NULL for a preview */
  const char *image_format; /* image previews: "png", ... or "" */
  gint64 image_size;        /* image previews (taken from image otherwise) */
  gint64 time_ms;
  ChatDelivery delivery;
} ChatMessageItemFields;

ChatMessageItem *chat_message_item_new(const ChatMessageItemFields *fields);
/* The server acknowledged it: delivery SENT, its id (0 in seed) and the
 * server's time. */
void chat_message_item_set_sent(ChatMessageItem *self, gint64 id, gint64 time_ms);
/* Delivery FAILED with the server's text and code (CHAT_REQUEST_ERROR_UNKNOWN:
 * none). */
void chat_message_item_set_failed(ChatMessageItem *self, chat_request_error code,
                                  const char *error);
/* Back in the outbox (a retry): delivery PENDING, no error. */
void chat_message_item_set_pending(ChatMessageItem *self);

/* An outgoing item remembers where it goes and its idempotency key, so a
 * retry can queue it again. */
void chat_message_item_set_target(ChatMessageItem *self, ChatContactKind kind, gint64 target_id,
                                  const char *client_msg_id);
ChatContactKind chat_message_item_get_target_kind(ChatMessageItem *self);
gint64 chat_message_item_get_target_id(ChatMessageItem *self);
const char *chat_message_item_get_client_msg_id(ChatMessageItem *self);

ChatConversation *chat_conversation_new(ChatContact *contact);
/* Appends an item at the end. FALSE (nothing added) when an item with the
 * same server id is already there. */
gboolean chat_conversation_append(ChatConversation *self, ChatMessageItem *item);
/* Merges a page of history (items with server ids, oldest first): items
 * whose id is already shown are skipped, the rest go to their place by id
 * (before pending items). Returns how many were added. */
guint chat_conversation_merge_history(ChatConversation *self, GPtrArray *items);
/* The item with a server id, or NULL. */
ChatMessageItem *chat_conversation_lookup(ChatConversation *self, gint64 id);
/* Indexes an item that just got its server id (an acknowledgement). FALSE
 * when another item already has that id: the caller drops this one. */
gboolean chat_conversation_index(ChatConversation *self, ChatMessageItem *item);
void chat_conversation_remove(ChatConversation *self, ChatMessageItem *item);
/* Forgets the history (every item but the outgoing ones not yet sent),
 * before it is loaded again; complete becomes FALSE. */
void chat_conversation_drop_history(ChatConversation *self);
/* The smallest / largest server id shown; 0 when none. */
gint64 chat_conversation_get_oldest_id(ChatConversation *self);
gint64 chat_conversation_get_newest_id(ChatConversation *self);
/* TRUE when the last item of the list is item. */
gboolean chat_conversation_is_last(ChatConversation *self, ChatMessageItem *item);
void chat_conversation_set_complete(ChatConversation *self, gboolean complete);
void chat_conversation_set_loading(ChatConversation *self, gboolean loading);

G_END_DECLS
