/* ChatSession's contacts and conversations: the table of ContactState,
 * the sorted contacts list, unread counts, and turning notices into
 * conversation items (see chat-session-private.h). */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-private.h"

#include "gtk-client/core/chat-contact-private.h"
#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-preview.h"
#include "gtk-client/core/chat-sorted-store.h"
#include "gtk-client/core/chat-util-private.h"

static gint64 contact_key(ChatContactKind kind, gint64 id) {
  return id * 2 + (kind == CHAT_CONTACT_ROOM ? 1 : 0);
}

ContactState *chat_session_find_state(ChatSession *self, ChatContactKind kind, gint64 id) {
  gint64 key = contact_key(kind, id);
  return g_hash_table_lookup(self->states, &key);
}

ContactState *chat_session_state_of(ChatSession *self, ChatContact *contact) {
  if (!CHAT_IS_CONTACT(contact))
    return NULL;
  ContactState *st =
      chat_session_find_state(self, chat_contact_get_kind(contact), chat_contact_get_id(contact));
  return st && st->contact == contact ? st : NULL;
}

void chat_session_update_unread_total(ChatSession *self) {
  guint total = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    total += chat_contact_get_unread(((ContactState *)value)->contact);
  CHAT_NOTIFY_SET(self, unread_total, total, chat_session_properties[PROP_UNREAD_TOTAL]);
}

static void on_contact_sort_key(ChatContact *contact, GParamSpec *pspec, gpointer user_data) {
  ChatSession *self = user_data;
  (void)pspec;
  chat_sorted_store_reposition(self->contacts, contact, chat_contact_compare, NULL);
}

static void on_contact_unread(ChatContact *contact, GParamSpec *pspec, gpointer user_data) {
  (void)contact;
  (void)pspec;
  chat_session_update_unread_total(user_data);
}

static void watch_contact(ChatSession *self, ContactState *st) {
  st->in_store = TRUE;
  g_signal_connect(st->contact, "notify::last-time", G_CALLBACK(on_contact_sort_key), self);
  g_signal_connect(st->contact, "notify::name", G_CALLBACK(on_contact_sort_key), self);
  g_signal_connect(st->contact, "notify::unread", G_CALLBACK(on_contact_unread), self);
}

void chat_session_contact_state_free(gpointer data) {
  ContactState *st = data;
  g_clear_object(&st->conversation);
  g_clear_object(&st->contact);
  g_free(st);
}

static ContactState *new_state(ChatSession *self, ChatContact *contact) {
  ContactState *st = g_new0(ContactState, 1);
  st->contact = contact; /* takes the reference */
  gint64 *key = g_new(gint64, 1);
  *key = contact_key(chat_contact_get_kind(contact), chat_contact_get_id(contact));
  g_hash_table_replace(self->states, key, st);
  return st;
}

void chat_session_drop_state(ChatSession *self, ContactState *st) {
  guint position;
  if (st->in_store) {
    g_signal_handlers_disconnect_by_data(st->contact, self);
    if (g_list_store_find(self->contacts, st->contact, &position))
      g_list_store_remove(self->contacts, position);
  }
  gint64 key = contact_key(chat_contact_get_kind(st->contact), chat_contact_get_id(st->contact));
  g_hash_table_remove(self->states, &key);
}

ChatContact *chat_session_contact_from_user(const chat_msg_user *user) {
  g_autofree char *nickname = chat_wire_dup_span(user->nickname);
  g_autofree char *username = chat_wire_dup_span(user->username);
  ChatContact *contact = chat_contact_new(CHAT_CONTACT_FRIEND, user->id, nickname, username);
  chat_contact_set_online(contact, user->online);
  return contact;
}

/* The contact an @contact describes: its type says friend or room. */
static ChatContact *contact_from_msg(const chat_msg_contact *c) {
  if (c->type != CHAT_CONTACT_TYPE_ROOM)
    return chat_session_contact_from_user(&c->user);
  g_autofree char *name = c->is_room ? chat_wire_dup_span(c->room.room_name) : NULL;
  return chat_contact_new(CHAT_CONTACT_ROOM, c->is_room ? c->room.id : c->user.id, name, NULL);
}

ContactState *chat_session_upsert_contact(ChatSession *self, const chat_msg_contact *contact,
                                          GPtrArray *added) {
  g_autoptr(ChatContact) fresh = contact_from_msg(contact);
  ChatContactKind kind = chat_contact_get_kind(fresh);
  ContactState *st = chat_session_find_state(self, kind, chat_contact_get_id(fresh));
  if (st) {
    chat_contact_set_name(st->contact, chat_contact_get_name(fresh));
    if (kind == CHAT_CONTACT_FRIEND)
      chat_contact_set_online(st->contact, chat_contact_get_online(fresh));
  } else {
    st = new_state(self, g_steal_pointer(&fresh));
    if (added) {
      g_ptr_array_add(added, st);
    } else {
      g_list_store_insert_sorted(self->contacts, st->contact, chat_contact_compare, NULL);
      watch_contact(self, st);
    }
  }
  st->seen = TRUE;
  return st;
}

void chat_session_unwatch_all(ChatSession *self) {
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    if (((ContactState *)value)->in_store)
      g_signal_handlers_disconnect_by_data(((ContactState *)value)->contact, self);
}

void chat_session_begin_contact_merge(ChatSession *self) {
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    ((ContactState *)value)->seen = FALSE;
}

/* After a bundle: contacts it did not name are gone (unfriended, left);
 * the new ones join the list, in one emission when the list was empty. */
void chat_session_end_contact_merge(ChatSession *self, GPtrArray *added) {
  g_autoptr(GPtrArray) gone = g_ptr_array_new();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    if (!((ContactState *)value)->seen)
      g_ptr_array_add(gone, value);
  for (guint i = 0; i < gone->len; i++)
    chat_session_drop_state(self, gone->pdata[i]);

  if (g_list_model_get_n_items(G_LIST_MODEL(self->contacts)) == 0) {
    g_autoptr(GPtrArray) contacts = g_ptr_array_new();
    for (guint i = 0; i < added->len; i++)
      g_ptr_array_add(contacts, ((ContactState *)added->pdata[i])->contact);
    chat_sorted_store_replace_all(self->contacts, contacts, chat_contact_compare, NULL);
  } else {
    for (guint i = 0; i < added->len; i++)
      g_list_store_insert_sorted(self->contacts, ((ContactState *)added->pdata[i])->contact,
                                 chat_contact_compare, NULL);
  }
  for (guint i = 0; i < added->len; i++)
    watch_contact(self, added->pdata[i]);
  chat_session_update_unread_total(self);
}

ChatConversation *chat_session_ensure_conversation(ChatSession *self, ContactState *st) {
  if (st->conversation)
    return st->conversation;
  st->conversation = chat_conversation_new(st->contact);
  if (self->dialect == CHAT_DIALECT_SEED) {
    /* The seed's login_bundle carries the whole history. */
    chat_conversation_set_complete(st->conversation, TRUE);
  } else {
    chat_session_request_page(self, st, 0);
  }
  return st->conversation;
}

/* The username of a notice's sender when the notice does not carry it
 * (seed, an older chatd): the sender's id is the server's word, so the
 * account's own, a friend's or a known room member's username is theirs.
 * NULL when none of these. */
static char *known_username(ChatSession *self, const ChatWireNotice *n) {
  if (self->user_id != 0 && n->sender_id == self->user_id)
    return g_strdup(self->username);
  ContactState *friend = chat_session_find_state(self, CHAT_CONTACT_FRIEND, n->sender_id);
  if (friend)
    return g_strdup(chat_contact_get_username(friend->contact));
  if (n->target_kind != CHAT_CONTACT_ROOM)
    return NULL;
  ContactState *room = chat_session_find_state(self, CHAT_CONTACT_ROOM, n->target_id);
  if (!room)
    return NULL;
  GListModel *members = chat_contact_get_members(room->contact);
  for (guint i = 0; i < g_list_model_get_n_items(members); i++) {
    g_autoptr(ChatRoomMember) member = g_list_model_get_item(members, i);
    if (chat_room_member_get_user_id(member) == n->sender_id)
      return g_strdup(chat_room_member_get_username(member));
  }
  return NULL;
}

ChatMessageItem *chat_session_item_from_notice(ChatSession *self, const ChatWireNotice *n) {
  gboolean named = n->sender_username && *n->sender_username;
  g_autofree char *resolved = named ? NULL : known_username(self, n);
  ChatMessageItemFields fields = {
      .id = n->id,
      .sender_id = n->sender_id,
      .sender_name = n->sender_name,
      .sender_username = named ? n->sender_username : resolved,
      .outgoing = self->user_id != 0 && n->sender_id == self->user_id,
      .kind = n->kind,
      .text = n->text,
      .font_size = n->font_size,
      .font_color = n->font_color,
      .image = n->image,
      .image_format = n->image_format,
      .image_size = n->image_size,
      .time_ms = n->time_ms,
      .delivery = CHAT_DELIVERY_SENT,
  };
  return chat_message_item_new(&fields);
}

static char *preview_of_item(ContactState *st, ChatMessageItem *item) {
  return chat_preview_text(
      chat_contact_get_kind(st->contact), chat_message_item_get_sender_name(item),
      chat_message_item_get_sender_username(item),
      chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE, chat_message_item_get_text(item));
}

/* The contact's last message becomes item's (always for live messages;
 * only when newer for history). */
void chat_session_show_as_last(ContactState *st, ChatMessageItem *item, gboolean only_if_newer) {
  gint64 time = chat_message_item_get_time(item);
  gint64 last = chat_contact_get_last_time(st->contact);
  if (only_if_newer && last != 0 && time < last)
    return;
  g_autofree char *preview = preview_of_item(st, item);
  chat_contact_set_last(st->contact, time, preview);
}

/* The contact a notice belongs to, from this user's side: for a 1:1
 * message the other user (the sender's copy names the receiver), for a
 * room the room. */
ContactState *chat_session_state_of_notice(ChatSession *self, const ChatWireNotice *n) {
  gboolean outgoing = self->user_id != 0 && n->sender_id == self->user_id;
  gint64 other = n->target_kind == CHAT_CONTACT_FRIEND && !outgoing ? n->sender_id : n->target_id;
  return chat_session_find_state(self, n->target_kind, other);
}

void chat_session_send_mark_read(ChatSession *self, ContactState *st) {
  if (self->dialect != CHAT_DIALECT_V2)
    return;
  if (self->state != CHAT_SESSION_ONLINE) {
    st->read_pending = TRUE;
    return;
  }
  st->read_pending = FALSE;
  if (st->newest_id <= st->marked_id)
    return;
  ChatContactKind kind = chat_contact_get_kind(st->contact);
  gint64 id = chat_contact_get_id(st->contact);
  if (!chat_session_send_request(self, chat_wire_mark_read(self->dialect, kind, id, st->newest_id)))
    return;
  st->marked_id = st->newest_id;
  ReplyEntry *reply = chat_session_expect_reply(self, REPLY_MARK_READ);
  reply->target_kind = kind;
  reply->target_id = id;
}

void chat_session_request_page(ChatSession *self, ContactState *st, gint64 before_id) {
  if (self->dialect != CHAT_DIALECT_V2 || self->state != CHAT_SESSION_ONLINE || !st->conversation)
    return;
  ChatContactKind kind = chat_contact_get_kind(st->contact);
  gint64 id = chat_contact_get_id(st->contact);
  if (!chat_session_send_request(self, chat_wire_fetch_history(self->dialect, kind, id, before_id,
                                                               CHAT_HISTORY_PAGE_SIZE)))
    return;
  ReplyEntry *reply = chat_session_expect_reply(self, REPLY_FETCH_HISTORY);
  reply->target_kind = kind;
  reply->target_id = id;
  reply->before_id = before_id;
  chat_conversation_set_loading(st->conversation, TRUE);
}

/* ---- the outbox ---- */
