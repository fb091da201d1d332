#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-util-private.h"

struct _ChatConversation {
  GObject parent_instance;
  ChatContact *contact;
  GListStore *messages; /* ChatMessageItem, oldest first */
  GHashTable *by_id;    /* gint64 server id -> ChatMessageItem (owned by messages) */
  gboolean complete;
  gboolean loading;
};

G_DEFINE_FINAL_TYPE(ChatConversation, chat_conversation, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONTACT,
  PROP_COMPLETE,
  PROP_LOADING,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void chat_conversation_dispose(GObject *object) {
  ChatConversation *self = CHAT_CONVERSATION(object);
  g_clear_object(&self->contact);
  g_clear_object(&self->messages);
  g_clear_pointer(&self->by_id, g_hash_table_unref);
  G_OBJECT_CLASS(chat_conversation_parent_class)->dispose(object);
}

static void chat_conversation_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec) {
  ChatConversation *self = CHAT_CONVERSATION(object);
  switch (prop_id) {
  case PROP_CONTACT:
    g_value_set_object(value, self->contact);
    break;
  case PROP_COMPLETE:
    g_value_set_boolean(value, self->complete);
    break;
  case PROP_LOADING:
    g_value_set_boolean(value, self->loading);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_conversation_class_init(ChatConversationClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = chat_conversation_dispose;
  object_class->get_property = chat_conversation_get_property;
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_CONTACT] = g_param_spec_object("contact", NULL, NULL, CHAT_TYPE_CONTACT, flags);
  properties[PROP_COMPLETE] = g_param_spec_boolean("complete", NULL, NULL, FALSE, flags);
  properties[PROP_LOADING] = g_param_spec_boolean("loading", NULL, NULL, FALSE, flags);
  g_object_class_install_properties(object_class, N_PROPS, properties);
}

static void chat_conversation_init(ChatConversation *self) {
  self->messages = g_list_store_new(CHAT_TYPE_MESSAGE_ITEM);
  self->by_id = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

ChatConversation *chat_conversation_new(ChatContact *contact) {
  g_return_val_if_fail(CHAT_IS_CONTACT(contact), NULL);
  ChatConversation *self = g_object_new(CHAT_TYPE_CONVERSATION, NULL);
  self->contact = g_object_ref(contact);
  return self;
}

ChatContact *chat_conversation_get_contact(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), NULL);
  return self->contact;
}

GListModel *chat_conversation_get_messages(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), NULL);
  return G_LIST_MODEL(self->messages);
}

gboolean chat_conversation_get_complete(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), FALSE);
  return self->complete;
}

gboolean chat_conversation_get_loading(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), FALSE);
  return self->loading;
}

void chat_conversation_set_complete(ChatConversation *self, gboolean complete) {
  g_return_if_fail(CHAT_IS_CONVERSATION(self));
  CHAT_NOTIFY_SET(self, complete, !!complete, properties[PROP_COMPLETE]);
}

void chat_conversation_set_loading(ChatConversation *self, gboolean loading) {
  g_return_if_fail(CHAT_IS_CONVERSATION(self));
  CHAT_NOTIFY_SET(self, loading, !!loading, properties[PROP_LOADING]);
}

ChatMessageItem *chat_conversation_lookup(ChatConversation *self, gint64 id) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), NULL);
  return id > 0 ? g_hash_table_lookup(self->by_id, &id) : NULL;
}

static void add_to_index(ChatConversation *self, ChatMessageItem *item) {
  gint64 id = chat_message_item_get_id(item);
  if (id > 0)
    g_hash_table_insert(self->by_id, g_memdup2(&id, sizeof id), item);
}

gboolean chat_conversation_index(ChatConversation *self, ChatMessageItem *item) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), FALSE);
  ChatMessageItem *known = chat_conversation_lookup(self, chat_message_item_get_id(item));
  if (known && known != item)
    return FALSE;
  add_to_index(self, item);
  return TRUE;
}

gboolean chat_conversation_append(ChatConversation *self, ChatMessageItem *item) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), FALSE);
  if (chat_conversation_lookup(self, chat_message_item_get_id(item)))
    return FALSE;
  g_list_store_append(self->messages, item);
  add_to_index(self, item);
  return TRUE;
}

/* Where an item with server id `id` goes: before the first item that is
 * newer or has no id yet (pending outgoing messages stay at the end). */
static guint position_for(ChatConversation *self, gint64 id) {
  GListModel *model = G_LIST_MODEL(self->messages);
  guint n = g_list_model_get_n_items(model);
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatMessageItem) item = g_list_model_get_item(model, i);
    gint64 other = chat_message_item_get_id(item);
    if (other == 0 || other > id)
      return i;
  }
  return n;
}

static int compare_ids(gconstpointer a, gconstpointer b) {
  gint64 x = chat_message_item_get_id(*(ChatMessageItem *const *)a);
  gint64 y = chat_message_item_get_id(*(ChatMessageItem *const *)b);
  return (x > y) - (x < y);
}

guint chat_conversation_merge_history(ChatConversation *self, GPtrArray *items) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), 0);
  g_autoptr(GPtrArray) fresh = g_ptr_array_new();
  for (guint i = 0; i < items->len; i++) {
    ChatMessageItem *item = items->pdata[i];
    gint64 id = chat_message_item_get_id(item);
    if (id > 0 && !chat_conversation_lookup(self, id)) {
      g_ptr_array_add(fresh, item);
      add_to_index(self, item); /* also drops a duplicate inside the page */
    }
  }
  if (fresh->len == 0)
    return 0;
  g_ptr_array_sort(fresh, compare_ids);
  gint64 first = chat_message_item_get_id(fresh->pdata[0]);
  gint64 last = chat_message_item_get_id(fresh->pdata[fresh->len - 1]);
  guint at = position_for(self, first);
  if (position_for(self, last) == at) {
    /* The usual case (an older page, or the first one): one emission. */
    g_list_store_splice(self->messages, at, 0, fresh->pdata, fresh->len);
    return fresh->len;
  }
  for (guint i = 0; i < fresh->len; i++) {
    gint64 id = chat_message_item_get_id(fresh->pdata[i]);
    g_list_store_insert(self->messages, position_for(self, id), fresh->pdata[i]);
  }
  return fresh->len;
}

void chat_conversation_remove(ChatConversation *self, ChatMessageItem *item) {
  g_return_if_fail(CHAT_IS_CONVERSATION(self));
  guint position;
  if (!g_list_store_find(self->messages, item, &position))
    return;
  gint64 id = chat_message_item_get_id(item);
  if (chat_conversation_lookup(self, id) == item)
    g_hash_table_remove(self->by_id, &id);
  g_list_store_remove(self->messages, position);
}

void chat_conversation_drop_history(ChatConversation *self) {
  g_return_if_fail(CHAT_IS_CONVERSATION(self));
  GListModel *model = G_LIST_MODEL(self->messages);
  guint n = g_list_model_get_n_items(model);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_object_unref);
  for (guint i = 0; i < n; i++) {
    ChatMessageItem *item = g_list_model_get_item(model, i);
    if (chat_message_item_get_outgoing(item) &&
        chat_message_item_get_delivery(item) != CHAT_DELIVERY_SENT)
      g_ptr_array_add(keep, item);
    else
      g_object_unref(item);
  }
  g_hash_table_remove_all(self->by_id);
  if (keep->len != n)
    g_list_store_splice(self->messages, 0, n, keep->pdata, keep->len);
  chat_conversation_set_complete(self, FALSE);
}

static gint64 extreme_id(ChatConversation *self, gboolean newest) {
  gint64 found = 0;
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, self->by_id);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    gint64 id = *(gint64 *)key;
    if (found == 0 || (newest ? id > found : id < found))
      found = id;
  }
  return found;
}

gint64 chat_conversation_get_oldest_id(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), 0);
  return extreme_id(self, FALSE);
}

gint64 chat_conversation_get_newest_id(ChatConversation *self) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), 0);
  return extreme_id(self, TRUE);
}

gboolean chat_conversation_is_last(ChatConversation *self, ChatMessageItem *item) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(self), FALSE);
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->messages));
  if (n == 0)
    return FALSE;
  g_autoptr(ChatMessageItem) last = g_list_model_get_item(G_LIST_MODEL(self->messages), n - 1);
  return last == item;
}
