/* ChatSession's sending: requests, the FIFO of expected replies, and the
 * outbox of outgoing messages (see chat-session.c for how they work). */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-private.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-search-private.h"
#include "gtk-client/core/chat-util-private.h"
#include "protocol/chat-limits.h"

/* message (a v2 request, built without an id) with the next request id:
 * a copy, wiped when freed as requests may hold a password. */
static GBytes *with_request_id(ChatSession *self, GBytes *message) {
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  guint8 *copy = g_malloc(len + CHAT_MESSAGE_REQUEST_ID_SIZE);
  memcpy(copy + CHAT_MESSAGE_REQUEST_ID_SIZE, data, len);
  self->sent_has_id = TRUE;
  self->sent_request_id = self->next_request_id++;
  chat_message_insert_request_id(copy + CHAT_MESSAGE_REQUEST_ID_SIZE, self->sent_request_id);
  GBytes *stamped = chat_secret_bytes_new(copy, len + CHAT_MESSAGE_REQUEST_ID_SIZE);
  explicit_bzero(copy, len + CHAT_MESSAGE_REQUEST_ID_SIZE);
  g_free(copy);
  return stamped;
}

/* Hands one plaintext to the connection (or the test capture); in v2 with
 * the next request id. */
static gboolean transport_send(ChatSession *self, GBytes *message, GError **error) {
  if (!message) {
    g_set_error_literal(error, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_ENCODE,
                        "the message cannot be encoded");
    return FALSE;
  }
  self->sent_has_id = FALSE;
  g_autoptr(GBytes) stamped = NULL;
  if (self->dialect == CHAT_DIALECT_V2)
    message = stamped = with_request_id(self, message);
  gboolean ok;
  if (self->test && chat_session_test_intercept(self, message, &ok, error))
    return ok;
  if (!self->connection) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "not connected");
    return FALSE;
  }
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  return chat_connection_send(self->connection, data, len, error);
}

gboolean chat_session_send_request(ChatSession *self, GBytes *message) {
  g_autoptr(GError) error = NULL;
  gboolean ok = transport_send(self, message, &error);
  if (!ok)
    g_debug("cannot send a request: %s", error->message);
  if (message)
    g_bytes_unref(message);
  return ok;
}

ReplyEntry *chat_session_expect_reply(ChatSession *self, ReplyKind kind) {
  ReplyEntry *reply = g_new0(ReplyEntry, 1);
  reply->kind = kind;
  reply->has_request_id = self->sent_has_id;
  reply->request_id = self->sent_request_id;
  g_queue_push_tail(&self->replies, reply);
  return reply;
}

ReplyEntry *chat_session_settle_reply(ChatSession *self, ReplyKind kind,
                                      ChatContactKind target_kind, gint64 target_id) {
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *reply = l->data;
    if (reply->kind != kind)
      continue;
    if (self->answer_has_id) {
      /* v2: the answer names its request. */
      if (!reply->has_request_id || reply->request_id != self->answer_id)
        continue;
    } else if (target_id != 0 &&
               (reply->target_kind != target_kind || reply->target_id != target_id)) {
      continue;
    }
    g_queue_delete_link(&self->replies, l);
    return reply;
  }
  return NULL;
}

ReplyEntry *chat_session_take_reply_by_id(ChatSession *self, guint32 request_id) {
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *reply = l->data;
    if (reply->has_request_id && reply->request_id == request_id) {
      g_queue_delete_link(&self->replies, l);
      return reply;
    }
  }
  return NULL;
}

void chat_session_abandon_reply(ChatSession *self, ReplyEntry *reply) {
  if (reply->kind == REPLY_FETCH_HISTORY) {
    ContactState *st = chat_session_find_state(self, reply->target_kind, reply->target_id);
    if (st && st->conversation)
      chat_conversation_set_loading(st->conversation, FALSE);
  }
  if (reply->kind == REPLY_SEARCH)
    chat_session_search_reply_failed(reply, CHAT_REQUEST_ERROR_UNKNOWN, NULL);
  g_free(reply);
}

void chat_session_clear_replies(ChatSession *self) {
  ReplyEntry *reply;
  while ((reply = g_queue_pop_head(&self->replies)))
    chat_session_abandon_reply(self, reply);
}

gboolean chat_session_require_online(ChatSession *self) {
  if (self->state == CHAT_SESSION_ONLINE)
    return TRUE;
  g_signal_emit(self, chat_session_signals[SIGNAL_NOTICE], 0,
                _("You are not connected to the server."));
  return FALSE;
}

void chat_session_outbox_entry_free(OutboxEntry *entry) {
  g_object_unref(entry->item);
  g_free(entry);
}

void chat_session_clear_outbox(ChatSession *self) {
  g_hash_table_remove_all(self->outbox_by_id);
  OutboxEntry *entry;
  while ((entry = g_queue_pop_head(&self->outbox)))
    chat_session_outbox_entry_free(entry);
}

static void remove_entry(ChatSession *self, OutboxEntry *entry) {
  for (GList *l = self->replies.head; l;) {
    GList *next = l->next;
    ReplyEntry *reply = l->data;
    if (reply->send == entry) {
      g_queue_delete_link(&self->replies, l);
      g_free(reply);
    }
    l = next;
  }
  const char *id = chat_message_item_get_client_msg_id(entry->item);
  if (id && g_hash_table_lookup(self->outbox_by_id, id) == entry)
    g_hash_table_remove(self->outbox_by_id, id);
  g_queue_remove(&self->outbox, entry);
  chat_session_outbox_entry_free(entry);
}

void chat_session_fail_entry(ChatSession *self, OutboxEntry *entry, const char *reason) {
  /* failure_code is the code of the request_failed being handled, if any. */
  chat_message_item_set_failed(entry->item, self->failure_code, reason);
  remove_entry(self, entry);
}

void chat_session_queue_item(ChatSession *self, ChatMessageItem *item) {
  OutboxEntry *entry = g_new0(OutboxEntry, 1);
  entry->item = g_object_ref(item);
  g_queue_push_tail(&self->outbox, entry);
  g_hash_table_replace(self->outbox_by_id, (gpointer)chat_message_item_get_client_msg_id(item),
                       entry);
  chat_session_flush_outbox(self);
}

/* An image over the server's announced limit: chatd would refuse it. */
static gboolean over_server_limit(ChatSession *self, ChatMessageItem *item) {
  GBytes *image = chat_message_item_get_image(item);
  return chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE && image && self->max_image > 0 &&
         g_bytes_get_size(image) > self->max_image;
}

/* An image over CHAT_MAX_IMAGE_DEFAULT when the server announced no limit
 * of its own (seed, an older server). */
static gboolean over_default_limit(ChatSession *self, ChatMessageItem *item) {
  GBytes *image = chat_message_item_get_image(item);
  return chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE && image && self->max_image == 0 &&
         g_bytes_get_size(image) > CHAT_MAX_IMAGE_DEFAULT;
}

static char *server_limit_reason(ChatSession *self) {
  g_autofree char *limit = g_format_size(self->max_image);
  /* Translators: %s is the server's limit, as in "8.4 MB". */
  return g_strdup_printf(_("The image is larger than the server accepts (%s)."), limit);
}

char *chat_session_refuse_image(ChatSession *self, ChatMessageItem *item) {
  if (over_server_limit(self, item))
    return server_limit_reason(self);
  if (over_default_limit(self, item))
    return g_strdup(_("The image is too large to send."));
  return NULL;
}

static void send_entry(ChatSession *self, OutboxEntry *entry) {
  ChatMessageItem *item = entry->item;
  if (over_server_limit(self, item)) {
    /* Queued before this server's limit was known. */
    g_autofree char *reason = server_limit_reason(self);
    chat_session_fail_entry(self, entry, reason);
    return;
  }
  GBytes *message = chat_wire_send_message(
      self->dialect, chat_message_item_get_target_kind(item), chat_message_item_get_target_id(item),
      chat_message_item_get_kind(item), chat_message_item_get_text(item),
      chat_message_item_get_font_size(item), chat_message_item_get_font_color(item),
      chat_message_item_get_image(item),
      self->dialect == CHAT_DIALECT_V2 ? chat_message_item_get_client_msg_id(item) : NULL);
  g_autoptr(GError) error = NULL;
  gboolean sent = transport_send(self, message, &error);
  if (message)
    g_bytes_unref(message);
  if (sent) {
    entry->in_flight = TRUE;
    chat_session_expect_reply(self, REPLY_SEND)->send = entry;
  } else if (!message ||
             g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE)) {
    chat_session_fail_entry(self, entry, _("The message is too large to send."));
  } else {
    g_debug("a message waits in the outbox: %s", error->message);
  }
}

void chat_session_flush_outbox(ChatSession *self) {
  if (self->state != CHAT_SESSION_ONLINE)
    return;
  for (GList *l = self->outbox.head; l;) {
    GList *next = l->next;
    OutboxEntry *entry = l->data;
    if (!entry->in_flight)
      send_entry(self, entry);
    if (!chat_session_is_connected(self))
      break;
    l = next;
  }
}

void chat_session_acknowledge(ChatSession *self, OutboxEntry *entry, const ChatWireNotice *n) {
  g_autoptr(ChatMessageItem) item = g_object_ref(entry->item);
  ContactState *st = chat_session_find_state(self, chat_message_item_get_target_kind(item),
                                             chat_message_item_get_target_id(item));
  remove_entry(self, entry);
  chat_message_item_set_sent(item, n->id, n->time_ms);
  if (st) {
    if (n->id > 0)
      st->newest_id = MAX(st->newest_id, n->id);
    ChatConversation *conv = st->conversation;
    if (conv && n->id > 0 && !chat_conversation_index(conv, item)) {
      /* A history page showed it already (its acknowledgement was lost
       * with a connection): keep that one. */
      chat_conversation_remove(conv, item);
    } else if (!conv || chat_conversation_is_last(conv, item)) {
      chat_session_show_as_last(st, item, FALSE);
    }
  }
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE)
    g_signal_emit(self, chat_session_signals[SIGNAL_TRANSFER_PROGRESS], 0, item, 1.0);
}

/* Seed: the sender's copy has no id; it acknowledges the oldest send in
 * flight to the same target (the server answers in order). */
static OutboxEntry *seed_entry_for(ChatSession *self, const ChatWireNotice *n) {
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *reply = l->data;
    if (reply->kind != REPLY_SEND || !reply->send)
      continue;
    ChatMessageItem *item = reply->send->item;
    if (chat_message_item_get_target_kind(item) == n->target_kind &&
        chat_message_item_get_target_id(item) == n->target_id)
      return reply->send;
  }
  return NULL;
}

OutboxEntry *chat_session_sent_entry(ChatSession *self, const ChatWireNotice *n) {
  if (n->client_msg_id)
    return g_hash_table_lookup(self->outbox_by_id, n->client_msg_id);
  if (self->dialect == CHAT_DIALECT_SEED)
    return seed_entry_for(self, n);
  return NULL;
}

void chat_session_outbox_connection_lost(ChatSession *self) {
  for (GList *l = self->outbox.head; l;) {
    GList *next = l->next;
    OutboxEntry *entry = l->data;
    if (entry->in_flight) {
      entry->in_flight = FALSE;
      if (self->dialect == CHAT_DIALECT_SEED)
        chat_session_fail_entry(
            self, entry, _("The connection was lost before the server confirmed this message."));
    }
    l = next;
  }
}

void chat_session_send_item(ChatSession *self, ContactState *st, ChatMessageItem *item) {
  g_autofree char *client_msg_id = g_uuid_string_random();
  chat_message_item_set_target(item, chat_contact_get_kind(st->contact),
                               chat_contact_get_id(st->contact), client_msg_id);
  chat_conversation_append(chat_session_ensure_conversation(self, st), item);
  chat_session_show_as_last(st, item, FALSE);
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE)
    g_signal_emit(self, chat_session_signals[SIGNAL_TRANSFER_PROGRESS], 0, item, 0.0);
  chat_session_queue_item(self, item);
}
