/* ChatSession: see chat-session.h.
 *
 * The session is a state machine driven by three inputs: the user's
 * actions (the public functions), the server's messages (handle_plaintext,
 * also reached by chat_session_test_feed) and the connection's life
 * (dial results, `closed`, the reconnect timer).
 *
 * Replies. The server answers a connection's requests in the order it got
 * them (chatd holds later output behind a pending reply; the seed server
 * handles one request at a time). The session keeps the requests that
 * expect an answer in a FIFO (`replies`), so a general_failure, which
 * names no request, is charged to the oldest unanswered one: a refused
 * send_message is marked FAILED with the server's reason. Answers that
 * carry their subject (history_page, read_marker, the acknowledgement of a
 * send) settle their own entry. resolve_friend_request is the one request
 * that may get no answer at all (a rejection succeeds silently), so a
 * client_echo follows it as a fence: its server_echo settles both.
 *
 * Outbox. Every outgoing message is an item of its conversation at once
 * (PENDING) and an entry of the outbox. Entries go out in order while
 * ONLINE. v2: each carries a random client_msg_id; the sender's copy of the
 * message with that id is the acknowledgement (SENT, with the server id);
 * after a lost connection, entries sent but not acknowledged go out again
 * with the same id, which the server never stores twice. Seed: there are
 * no ids; the sender's own copy acknowledges the oldest send in flight to
 * the same target, and a send in flight when the connection drops is
 * marked FAILED (it may or may not have been stored; resending could
 * duplicate it).
 *
 * Dedup. A message with a server id is shown once: a live copy or a
 * repeated acknowledgement of an id the conversation already shows, or
 * not newer than the newest id seen for that contact, is dropped before it
 * can count as unread. */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session.h"

#include "build-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "common/username.h"
#include "gtk-client/core/chat-backoff.h"
#include "gtk-client/core/chat-contact-private.h"
#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-preview.h"
#include "gtk-client/core/chat-resume-store.h"
#include "gtk-client/core/chat-session-private.h"
#include "gtk-client/core/chat-sorted-store.h"
#include "gtk-client/core/chat-util-private.h"
#include "gtk-client/core/chat-wire.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"
#include "protocol/gio/chat-dial.h"
#include "protocol/host-port.h"

/* Messages per fetch_history page. */
#define CHAT_HISTORY_PAGE_SIZE 50u
/* What the fence after resolve_friend_request echoes. */
#define CHAT_FENCE_TEXT "fence"
/* server_kick in the seed dialect says nothing; this is its meaning. */
#define CHAT_SEED_KICK_REASON "logged in elsewhere"
/* Room for "[host]:port". */
#define CHAT_HOST_PORT_BUFFER (CHAT_HOST_PORT_MAX + 1u)

G_DEFINE_ENUM_TYPE(ChatSessionState, chat_session_state,
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_DISCONNECTED, "disconnected"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_CONNECTING, "connecting"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_CONNECTED, "connected"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_LOGGING_IN, "logging-in"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_ONLINE, "online"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_RECONNECTING, "reconnecting"))

/* What to do once connected. */
typedef enum {
  ACTION_NONE,
  ACTION_LOGIN,
  ACTION_REGISTER,
  ACTION_RESUME,
} ActionKind;

typedef struct {
  ActionKind kind;
  char *username;
  char *password;  /* wiped when cleared */
  char *nickname;
} PendingAction;

/* Which login-phase request is waiting for its answer. */
typedef enum {
  PHASE_NONE,
  PHASE_LOGIN,
  PHASE_REGISTER,
  PHASE_RESUME,
} LoginPhase;

/* The session's record of one contact. */
typedef struct {
  ChatContact *contact;
  ChatConversation *conversation;  /* NULL until used */
  gboolean in_store;               /* in the contacts list (and watched) */
  gboolean seen;                   /* named by the bundle being merged */
  gboolean open;                   /* chat_session_set_conversation_open */
  gboolean read_pending;           /* marked read while offline (v2) */
  gint64 newest_id;                /* v2: newest server id seen */
  gint64 marked_id;                /* v2: read marker, or the last mark_read sent */
} ContactState;

typedef struct {
  ChatMessageItem *item;
  gboolean in_flight;  /* sent on the current connection */
} OutboxEntry;

typedef enum {
  REPLY_SEND,
  REPLY_JOIN_ROOM,
  REPLY_CREATE_ROOM,
  REPLY_QUERY_MEMBERS,
  REPLY_FETCH_HISTORY,
  REPLY_MARK_READ,
  REPLY_ADD_FRIEND,
  REPLY_RESOLVE,
  REPLY_FENCE,
} ReplyKind;

typedef struct {
  ReplyKind kind;
  OutboxEntry *send;       /* REPLY_SEND */
  ChatContactKind target_kind;
  gint64 target_id;
  gint64 before_id;        /* REPLY_FETCH_HISTORY */
} ReplyEntry;

struct _ChatSession {
  GObject parent_instance;

  ChatSessionOptions options;
  chat_dh_group seed_group;
  gboolean have_seed_group;
  chat_dialect dialect;
  char host_port[CHAT_HOST_PORT_BUFFER];
  char *state_dir;

  ChatSessionState state;
  char *last_error;

  /* the connection */
  ChatConnection *connection;
  GCancellable *dial_cancellable;
  PendingAction pending;
  LoginPhase phase;
  gboolean kicked;
  ChatBackoff backoff;
  guint reconnect_source;
  guint reconnect_delay;
  GBytes *resume_token;  /* v2, from the last session_bundle */
  gsize max_image;       /* v2 server-info max_image, last connection; 0: not said */

  /* tests */
  GQueue *test_outgoing;
  gboolean test_offline;
  gboolean test_connected;

  /* the account */
  gint64 user_id;
  char *username;
  char *nickname;

  /* the models */
  GListStore *contacts;          /* ChatContact, sorted by chat_contact_compare */
  GHashTable *states;            /* gint64 key (contact_key) -> ContactState */
  GListStore *friend_requests;   /* ChatContact */
  guint unread_total;

  GQueue outbox;                 /* OutboxEntry, oldest first */
  GHashTable *outbox_by_id;      /* client_msg_id -> OutboxEntry */
  GQueue replies;                /* ReplyEntry, oldest first */
};

G_DEFINE_FINAL_TYPE(ChatSession, chat_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_USER_ID,
  PROP_USERNAME,
  PROP_NICKNAME,
  PROP_UNREAD_TOTAL,
  PROP_LAST_ERROR,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_LOGIN_FAILED,
  SIGNAL_REGISTER_DONE,
  SIGNAL_CONFIRM_SERVER_KEY,
  SIGNAL_SERVER_KEY_CHANGED,
  SIGNAL_KICKED,
  SIGNAL_FRIEND_REQUEST,
  SIGNAL_ROOM_CREATED,
  SIGNAL_NOTICE,
  SIGNAL_NEW_MESSAGE,
  SIGNAL_TRANSFER_PROGRESS,
  SIGNAL_ERROR,
  SIGNAL_ADD_FRIEND_RESULT,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void start_dial(ChatSession *self);
static void lost_connection(ChatSession *self, const char *reason, gboolean may_reconnect);
static void flush_outbox(ChatSession *self);
static void request_page(ChatSession *self, ContactState *st, gint64 before_id);

/* ======================================================================
 * Small helpers
 * ====================================================================== */

static gint64 now_ms(void) {
  return g_get_real_time() / 1000;
}

static gint64 contact_key(ChatContactKind kind, gint64 id) {
  return id * 2 + (kind == CHAT_CONTACT_ROOM ? 1 : 0);
}

static ContactState *find_state(ChatSession *self, ChatContactKind kind, gint64 id) {
  gint64 key = contact_key(kind, id);
  return g_hash_table_lookup(self->states, &key);
}

static ContactState *state_of(ChatSession *self, ChatContact *contact) {
  if (!CHAT_IS_CONTACT(contact))
    return NULL;
  ContactState *st =
      find_state(self, chat_contact_get_kind(contact), chat_contact_get_id(contact));
  return st && st->contact == contact ? st : NULL;
}

static void set_state(ChatSession *self, ChatSessionState state) {
  if (self->state == state)
    return;
  g_debug("state %d -> %d", self->state, state);
  self->state = state;
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_STATE]);
  g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
}

static void set_last_error(ChatSession *self, const char *message) {
  if (chat_set_str(&self->last_error, message))
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_LAST_ERROR]);
}

static void pending_clear(PendingAction *pending) {
  if (pending->password) {
    explicit_bzero(pending->password, strlen(pending->password));
    g_free(pending->password);
  }
  g_free(pending->username);
  g_free(pending->nickname);
  memset(pending, 0, sizeof *pending);
}

static void pending_set(ChatSession *self, ActionKind kind, const char *username,
                        const char *password, const char *nickname) {
  pending_clear(&self->pending);
  self->pending.kind = kind;
  self->pending.username = g_strdup(username);
  self->pending.password = g_strdup(password);
  self->pending.nickname = g_strdup(nickname);
}

static gboolean is_connected(ChatSession *self) {
  return self->test_offline ? self->test_connected : self->connection != NULL;
}

static void clear_resume_token(ChatSession *self) {
  g_clear_pointer(&self->resume_token, g_bytes_unref);
}

/* ======================================================================
 * Sending
 * ====================================================================== */

/* Hands one plaintext to the connection (or the test capture). */
static gboolean transport_send(ChatSession *self, GBytes *message, GError **error) {
  if (!message) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the message cannot be encoded");
    return FALSE;
  }
  if (self->test_outgoing && (!self->test_offline || self->test_connected))
    g_queue_push_tail(self->test_outgoing, g_bytes_ref(message));
  if (self->test_offline) {
    if (self->test_connected)
      return TRUE;
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "not connected");
    return FALSE;
  }
  if (!self->connection) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "not connected");
    return FALSE;
  }
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  return chat_connection_send(self->connection, data, len, error);
}

/* Sends a request, taking the message. A failure is only logged: the
 * connection's `closed` follows and handles it. */
static gboolean send_request(ChatSession *self, GBytes *message) {
  g_autoptr(GError) error = NULL;
  gboolean ok = transport_send(self, message, &error);
  if (!ok)
    g_debug("cannot send a request: %s", error->message);
  if (message)
    g_bytes_unref(message);
  return ok;
}

static ReplyEntry *expect_reply(ChatSession *self, ReplyKind kind) {
  ReplyEntry *reply = g_new0(ReplyEntry, 1);
  reply->kind = kind;
  g_queue_push_tail(&self->replies, reply);
  return reply;
}

/* Removes and returns the oldest expected reply of a kind (for a target
 * when target_id is not 0), or NULL. */
static ReplyEntry *settle_reply(ChatSession *self, ReplyKind kind, ChatContactKind target_kind,
                                gint64 target_id) {
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *reply = l->data;
    if (reply->kind != kind)
      continue;
    if (target_id != 0 && (reply->target_kind != target_kind || reply->target_id != target_id))
      continue;
    g_queue_delete_link(&self->replies, l);
    return reply;
  }
  return NULL;
}

static void clear_replies(ChatSession *self) {
  ReplyEntry *reply;
  while ((reply = g_queue_pop_head(&self->replies))) {
    if (reply->kind == REPLY_FETCH_HISTORY) {
      ContactState *st = find_state(self, reply->target_kind, reply->target_id);
      if (st && st->conversation)
        chat_conversation_set_loading(st->conversation, FALSE);
    }
    g_free(reply);
  }
}

/* Only when logged in; otherwise tells the user. */
static gboolean require_online(ChatSession *self) {
  if (self->state == CHAT_SESSION_ONLINE)
    return TRUE;
  g_signal_emit(self, signals[SIGNAL_NOTICE], 0, _("You are not connected to the server."));
  return FALSE;
}

/* ======================================================================
 * Contacts
 * ====================================================================== */

static void update_unread_total(ChatSession *self) {
  guint total = 0;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    total += chat_contact_get_unread(((ContactState *)value)->contact);
  if (total == self->unread_total)
    return;
  self->unread_total = total;
  g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_UNREAD_TOTAL]);
}

static void on_contact_sort_key(ChatContact *contact, GParamSpec *pspec, gpointer user_data) {
  ChatSession *self = user_data;
  (void)pspec;
  chat_sorted_store_reposition(self->contacts, contact, chat_contact_compare, NULL);
}

static void on_contact_unread(ChatContact *contact, GParamSpec *pspec, gpointer user_data) {
  (void)contact;
  (void)pspec;
  update_unread_total(user_data);
}

static void watch_contact(ChatSession *self, ContactState *st) {
  st->in_store = TRUE;
  g_signal_connect(st->contact, "notify::last-time", G_CALLBACK(on_contact_sort_key), self);
  g_signal_connect(st->contact, "notify::name", G_CALLBACK(on_contact_sort_key), self);
  g_signal_connect(st->contact, "notify::unread", G_CALLBACK(on_contact_unread), self);
}

static void contact_state_free(gpointer data) {
  ContactState *st = data;
  g_clear_object(&st->conversation);
  g_clear_object(&st->contact);
  g_free(st);
}

static ContactState *new_state(ChatSession *self, ChatContact *contact) {
  ContactState *st = g_new0(ContactState, 1);
  st->contact = contact;  /* takes the reference */
  gint64 *key = g_new(gint64, 1);
  *key = contact_key(chat_contact_get_kind(contact), chat_contact_get_id(contact));
  g_hash_table_replace(self->states, key, st);
  return st;
}

/* Takes a contact out of the session (the list, the table). */
static void drop_state(ChatSession *self, ContactState *st) {
  guint position;
  if (st->in_store) {
    g_signal_handlers_disconnect_by_data(st->contact, self);
    if (g_list_store_find(self->contacts, st->contact, &position))
      g_list_store_remove(self->contacts, position);
  }
  gint64 key = contact_key(chat_contact_get_kind(st->contact), chat_contact_get_id(st->contact));
  g_hash_table_remove(self->states, &key);
}

/* Reads an @contact / @user value. */
static ChatContact *contact_from_value(const chat_value *value, ChatContactKind kind) {
  int64_t id = 0;
  chat_value_get_i64(chat_value_dict_get(value, "id"), &id);
  if (kind == CHAT_CONTACT_ROOM) {
    g_autofree char *name = chat_wire_dup_str(chat_value_dict_get(value, "room_name"));
    return chat_contact_new(CHAT_CONTACT_ROOM, id, name, NULL);
  }
  g_autofree char *nickname = chat_wire_dup_str(chat_value_dict_get(value, "nickname"));
  g_autofree char *username = chat_wire_dup_str(chat_value_dict_get(value, "username"));
  ChatContact *contact = chat_contact_new(CHAT_CONTACT_FRIEND, id, nickname, username);
  const chat_value *online = chat_value_dict_get(value, "online");
  chat_contact_set_online(contact, online && online->kind == CHAT_VALUE_BOOL && online->as.boolean);
  return contact;
}

static ChatContactKind contact_kind_of(const chat_value *value) {
  int64_t type = 0;
  chat_value_get_i64(chat_value_dict_get(value, "type"), &type);
  return type == CHAT_CONTACT_ROOM ? CHAT_CONTACT_ROOM : CHAT_CONTACT_FRIEND;
}

/* Adds or updates a contact from an @contact value. A new one is not yet in
 * the list: it goes to `added` when given, else into the list at once. */
static ContactState *upsert_contact(ChatSession *self, const chat_value *value,
                                    GPtrArray *added) {
  ChatContactKind kind = contact_kind_of(value);
  g_autoptr(ChatContact) fresh = contact_from_value(value, kind);
  ContactState *st = find_state(self, kind, chat_contact_get_id(fresh));
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

static void begin_contact_merge(ChatSession *self) {
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    ((ContactState *)value)->seen = FALSE;
}

/* After a bundle: contacts it did not name are gone (unfriended, left);
 * the new ones join the list, in one emission when the list was empty. */
static void end_contact_merge(ChatSession *self, GPtrArray *added) {
  g_autoptr(GPtrArray) gone = g_ptr_array_new();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value))
    if (!((ContactState *)value)->seen)
      g_ptr_array_add(gone, value);
  for (guint i = 0; i < gone->len; i++)
    drop_state(self, gone->pdata[i]);

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
  update_unread_total(self);
}

static void set_account(ChatSession *self, gint64 user_id, const char *username,
                        const char *nickname) {
  g_object_freeze_notify(G_OBJECT(self));
  if (self->user_id != user_id) {
    self->user_id = user_id;
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_USER_ID]);
  }
  if (chat_set_str(&self->username, username))
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_USERNAME]);
  if (chat_set_str(&self->nickname, nickname))
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_NICKNAME]);
  g_object_thaw_notify(G_OBJECT(self));
}

static void outbox_entry_free(OutboxEntry *entry) {
  g_object_unref(entry->item);
  g_free(entry);
}

static void clear_outbox(ChatSession *self) {
  g_hash_table_remove_all(self->outbox_by_id);
  OutboxEntry *entry;
  while ((entry = g_queue_pop_head(&self->outbox)))
    outbox_entry_free(entry);
}

/* Forgets everything about the logged-in account: another account logs in,
 * or the user logged out. */
static void reset_account(ChatSession *self) {
  clear_replies(self);
  clear_outbox(self);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    ContactState *st = value;
    if (st->in_store)
      g_signal_handlers_disconnect_by_data(st->contact, self);
  }
  g_list_store_remove_all(self->contacts);
  g_hash_table_remove_all(self->states);
  g_list_store_remove_all(self->friend_requests);
  clear_resume_token(self);
  set_account(self, 0, NULL, NULL);
  update_unread_total(self);
}

/* ======================================================================
 * Messages and conversations
 * ====================================================================== */

static ChatConversation *ensure_conversation(ChatSession *self, ContactState *st) {
  if (st->conversation)
    return st->conversation;
  st->conversation = chat_conversation_new(st->contact);
  if (self->dialect == CHAT_DIALECT_SEED) {
    /* The seed's login_bundle carries the whole history. */
    chat_conversation_set_complete(st->conversation, TRUE);
  } else {
    request_page(self, st, 0);
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
  ContactState *friend = find_state(self, CHAT_CONTACT_FRIEND, n->sender_id);
  if (friend)
    return g_strdup(chat_contact_get_username(friend->contact));
  if (n->target_kind != CHAT_CONTACT_ROOM)
    return NULL;
  ContactState *room = find_state(self, CHAT_CONTACT_ROOM, n->target_id);
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

static ChatMessageItem *item_from_notice(ChatSession *self, const ChatWireNotice *n) {
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
  return chat_preview_text(chat_contact_get_kind(st->contact),
                           chat_message_item_get_sender_name(item),
                           chat_message_item_get_sender_username(item),
                           chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE,
                           chat_message_item_get_text(item));
}

/* The contact's last message becomes item's (always for live messages;
 * only when newer for history). */
static void show_as_last(ContactState *st, ChatMessageItem *item, gboolean only_if_newer) {
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
static ContactState *state_of_notice(ChatSession *self, const ChatWireNotice *n) {
  gboolean outgoing = self->user_id != 0 && n->sender_id == self->user_id;
  gint64 other = n->target_kind == CHAT_CONTACT_FRIEND && !outgoing ? n->sender_id : n->target_id;
  return find_state(self, n->target_kind, other);
}

static void send_mark_read(ChatSession *self, ContactState *st) {
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
  if (!send_request(self, chat_wire_mark_read(self->dialect, kind, id, st->newest_id)))
    return;
  st->marked_id = st->newest_id;
  ReplyEntry *reply = expect_reply(self, REPLY_MARK_READ);
  reply->target_kind = kind;
  reply->target_id = id;
}

static void request_page(ChatSession *self, ContactState *st, gint64 before_id) {
  if (self->dialect != CHAT_DIALECT_V2 || self->state != CHAT_SESSION_ONLINE || !st->conversation)
    return;
  ChatContactKind kind = chat_contact_get_kind(st->contact);
  gint64 id = chat_contact_get_id(st->contact);
  if (!send_request(self, chat_wire_fetch_history(self->dialect, kind, id, before_id,
                                                  CHAT_HISTORY_PAGE_SIZE)))
    return;
  ReplyEntry *reply = expect_reply(self, REPLY_FETCH_HISTORY);
  reply->target_kind = kind;
  reply->target_id = id;
  reply->before_id = before_id;
  chat_conversation_set_loading(st->conversation, TRUE);
}

/* ---- the outbox ---- */

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
  outbox_entry_free(entry);
}

static void fail_entry(ChatSession *self, OutboxEntry *entry, const char *reason) {
  chat_message_item_set_failed(entry->item, reason);
  remove_entry(self, entry);
}

static void queue_item(ChatSession *self, ChatMessageItem *item) {
  OutboxEntry *entry = g_new0(OutboxEntry, 1);
  entry->item = g_object_ref(item);
  g_queue_push_tail(&self->outbox, entry);
  g_hash_table_replace(self->outbox_by_id, (gpointer)chat_message_item_get_client_msg_id(item),
                       entry);
  flush_outbox(self);
}

/* An image over the server's announced limit: chatd would refuse it. */
static gboolean over_server_limit(ChatSession *self, ChatMessageItem *item) {
  GBytes *image = chat_message_item_get_image(item);
  return chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE && image &&
         self->max_image > 0 && g_bytes_get_size(image) > self->max_image;
}

/* An image over CHAT_MAX_IMAGE_DEFAULT when the server announced no limit
 * of its own (seed, an older server). */
static gboolean over_default_limit(ChatSession *self, ChatMessageItem *item) {
  GBytes *image = chat_message_item_get_image(item);
  return chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE && image &&
         self->max_image == 0 && g_bytes_get_size(image) > CHAT_MAX_IMAGE_DEFAULT;
}

static char *server_limit_reason(ChatSession *self) {
  g_autofree char *limit = g_format_size(self->max_image);
  /* Translators: %s is the server's limit, as in "8.4 MB". */
  return g_strdup_printf(_("The image is larger than the server accepts (%s)."), limit);
}

static void send_entry(ChatSession *self, OutboxEntry *entry) {
  ChatMessageItem *item = entry->item;
  if (over_server_limit(self, item)) {
    /* Queued before this server's limit was known. */
    g_autofree char *reason = server_limit_reason(self);
    fail_entry(self, entry, reason);
    return;
  }
  GBytes *message = chat_wire_send_message(
      self->dialect, chat_message_item_get_target_kind(item),
      chat_message_item_get_target_id(item), chat_message_item_get_kind(item),
      chat_message_item_get_text(item), chat_message_item_get_font_size(item),
      chat_message_item_get_font_color(item), chat_message_item_get_image(item),
      self->dialect == CHAT_DIALECT_V2 ? chat_message_item_get_client_msg_id(item) : NULL);
  g_autoptr(GError) error = NULL;
  gboolean sent = transport_send(self, message, &error);
  if (message)
    g_bytes_unref(message);
  if (sent) {
    entry->in_flight = TRUE;
    expect_reply(self, REPLY_SEND)->send = entry;
  } else if (!message || g_error_matches(error, CHAT_CONNECTION_ERROR,
                                         CHAT_CONNECTION_ERROR_MESSAGE_SIZE)) {
    fail_entry(self, entry, _("The message is too large to send."));
  } else {
    g_debug("a message waits in the outbox: %s", error->message);
  }
}

static void flush_outbox(ChatSession *self) {
  if (self->state != CHAT_SESSION_ONLINE)
    return;
  for (GList *l = self->outbox.head; l;) {
    GList *next = l->next;
    OutboxEntry *entry = l->data;
    if (!entry->in_flight)
      send_entry(self, entry);
    if (!is_connected(self))
      break;
    l = next;
  }
}

/* The sender's copy of an outbox entry arrived: the server stored it. */
static void acknowledge(ChatSession *self, OutboxEntry *entry, const ChatWireNotice *n) {
  g_autoptr(ChatMessageItem) item = g_object_ref(entry->item);
  ContactState *st = find_state(self, chat_message_item_get_target_kind(item),
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
      show_as_last(st, item, FALSE);
    }
  }
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE)
    g_signal_emit(self, signals[SIGNAL_TRANSFER_PROGRESS], 0, item, 1.0);
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

static void handle_live_notice(ChatSession *self, const ChatWireNotice *n) {
  gboolean outgoing = self->user_id != 0 && n->sender_id == self->user_id;
  if (outgoing) {
    OutboxEntry *entry = NULL;
    if (n->client_msg_id)
      entry = g_hash_table_lookup(self->outbox_by_id, n->client_msg_id);
    else if (self->dialect == CHAT_DIALECT_SEED)
      entry = seed_entry_for(self, n);
    if (entry) {
      acknowledge(self, entry, n);
      return;
    }
  }
  ContactState *st = state_of_notice(self, n);
  if (!st) {
    g_debug("a message for an unknown contact (type %d, id %" G_GINT64_FORMAT ")",
            n->target_kind, n->target_id);
    return;
  }
  if (n->id > 0 && (n->id <= st->newest_id ||
                    (st->conversation && chat_conversation_lookup(st->conversation, n->id)))) {
    g_debug("message %" G_GINT64_FORMAT " is shown already", n->id);
    return;
  }
  g_autoptr(ChatMessageItem) item = item_from_notice(self, n);
  if (st->conversation)
    chat_conversation_append(st->conversation, item);
  if (n->id > 0)
    st->newest_id = n->id;
  show_as_last(st, item, FALSE);
  if (outgoing)
    return;
  if (st->open)
    send_mark_read(self, st);
  else
    chat_contact_set_unread(st->contact, chat_contact_get_unread(st->contact) + 1);
  g_signal_emit(self, signals[SIGNAL_NEW_MESSAGE], 0, st->contact, item);
}

/* ======================================================================
 * The server's messages
 * ====================================================================== */

static const chat_value *list_at(const chat_value *list, size_t i) {
  return list && list->kind == CHAT_VALUE_LIST && i < list->as.list.count ? &list->as.list.items[i]
                                                                          : NULL;
}

static gint64 int_of(const chat_value *value) {
  int64_t v = 0;
  chat_value_get_i64(value, &v);
  return v;
}

static gboolean bool_of(const chat_value *value) {
  return value && value->kind == CHAT_VALUE_BOOL && value->as.boolean;
}

static void went_online(ChatSession *self) {
  self->phase = PHASE_NONE;
  chat_backoff_reset(&self->backoff);
  set_last_error(self, NULL);
  set_state(self, CHAT_SESSION_ONLINE);
  /* Acknowledgements of resent messages come before the history pages
   * asked for below, so a page never shows them a second time. */
  flush_outbox(self);
  if (self->dialect != CHAT_DIALECT_V2)
    return;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    ContactState *st = value;
    if (st->conversation)
      request_page(self, st, 0);
    if (st->open || st->read_pending)
      send_mark_read(self, st);
  }
}

static void handle_login_successful(ChatSession *self, const chat_value *user) {
  gint64 id = int_of(chat_value_dict_get(user, "id"));
  g_autofree char *username = chat_wire_dup_str(chat_value_dict_get(user, "username"));
  g_autofree char *nickname = chat_wire_dup_str(chat_value_dict_get(user, "nickname"));
  if (self->user_id != 0 && self->user_id != id)
    reset_account(self);
  set_account(self, id, username, nickname);
  /* Pending requests come again after every login. */
  g_list_store_remove_all(self->friend_requests);
}

static void handle_seed_bundle(ChatSession *self, const chat_value *bundle) {
  g_autoptr(GPtrArray) added = g_ptr_array_new();
  begin_contact_merge(self);
  const char *lists[] = {"rooms", "friends"};
  for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
    const chat_value *list = chat_value_dict_get(bundle, lists[l]);
    for (size_t i = 0; list_at(list, i); i++)
      upsert_contact(self, list_at(list, i), added);
  }
  /* The history comes whole: start every conversation over. */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    ContactState *st = value;
    if (st->conversation)
      chat_conversation_drop_history(st->conversation);
    chat_contact_set_unread(st->contact, 0);
  }
  const chat_value *messages = chat_value_dict_get(bundle, "messages");
  for (size_t i = 0; list_at(messages, i); i++) {
    const chat_value *pair = list_at(messages, i);
    const chat_value *data = list_at(pair, 0);
    ChatWireNotice n;
    if (!chat_wire_notice_decode(data->as.blob.data, data->as.blob.len, &n))
      continue;
    ContactState *st = state_of_notice(self, &n);
    if (st) {
      g_autoptr(ChatMessageItem) item = item_from_notice(self, &n);
      chat_conversation_append(ensure_conversation(self, st), item);
      show_as_last(st, item, TRUE);
      if (int_of(list_at(pair, 1)) == 0 && !chat_message_item_get_outgoing(item) && !st->open)
        chat_contact_set_unread(st->contact, chat_contact_get_unread(st->contact) + 1);
    }
    chat_wire_notice_clear(&n);
  }
  g_hash_table_iter_init(&it, self->states);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    ContactState *st = value;
    if (st->conversation)
      chat_conversation_set_complete(st->conversation, TRUE);
  }
  end_contact_merge(self, added);
  went_online(self);
}

static void save_resume_token(ChatSession *self, const chat_value *token) {
  clear_resume_token(self);
  if (!token || token->kind != CHAT_VALUE_BYTES || token->as.blob.len == 0 || !self->username)
    return;
  self->resume_token = chat_secret_bytes_new(token->as.blob.data, token->as.blob.len);
  g_autoptr(GError) error = NULL;
  if (!chat_resume_store_save(self->state_dir, self->host_port, self->username,
                              self->resume_token, &error))
    g_message("cannot save the resume token: %s", error->message);
}

static void handle_session_bundle(ChatSession *self, const chat_value *bundle) {
  save_resume_token(self, chat_value_dict_get(bundle, "token"));
  g_autoptr(GPtrArray) added = g_ptr_array_new();
  begin_contact_merge(self);
  const char *lists[] = {"rooms", "friends"};
  for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
    const chat_value *list = chat_value_dict_get(bundle, lists[l]);
    for (size_t i = 0; list_at(list, i); i++)
      upsert_contact(self, list_at(list, i), added);
  }
  g_autoptr(GHashTable) with_conversation = g_hash_table_new(NULL, NULL);
  const chat_value *conversations = chat_value_dict_get(bundle, "conversations");
  for (size_t i = 0; list_at(conversations, i); i++) {
    const chat_value *c = list_at(conversations, i);
    gint64 type = int_of(chat_value_dict_get(c, "target_type"));
    ContactState *st = find_state(self, type == CHAT_CONTACT_ROOM ? CHAT_CONTACT_ROOM
                                                                  : CHAT_CONTACT_FRIEND,
                                  int_of(chat_value_dict_get(c, "target_id")));
    if (!st)
      continue;
    g_hash_table_add(with_conversation, st);
    ChatWireNotice n;
    if (chat_wire_notice_read(chat_value_dict_get(c, "last"), &n)) {
      g_autoptr(ChatMessageItem) item = item_from_notice(self, &n);
      st->newest_id = MAX(st->newest_id, n.id);
      show_as_last(st, item, TRUE);
      chat_wire_notice_clear(&n);
    }
    st->marked_id = MAX(st->marked_id, int_of(chat_value_dict_get(c, "last_read_id")));
    gint64 unread = int_of(chat_value_dict_get(c, "unread"));
    gboolean read_here = st->open || st->read_pending;
    chat_contact_set_unread(st->contact, read_here ? 0 : (guint)CLAMP(unread, 0, G_MAXUINT));
  }
  for (guint i = 0; i < added->len; i++)
    if (!g_hash_table_contains(with_conversation, added->pdata[i]))
      chat_contact_set_unread(((ContactState *)added->pdata[i])->contact, 0);
  end_contact_merge(self, added);
  went_online(self);
}

static void handle_history_page(ChatSession *self, const chat_value *page) {
  gint64 type = int_of(chat_value_dict_get(page, "target_type"));
  ChatContactKind kind = type == CHAT_CONTACT_ROOM ? CHAT_CONTACT_ROOM : CHAT_CONTACT_FRIEND;
  gint64 id = int_of(chat_value_dict_get(page, "target_id"));
  gboolean more = bool_of(chat_value_dict_get(page, "more"));
  ReplyEntry *reply = settle_reply(self, REPLY_FETCH_HISTORY, kind, id);
  gint64 before_id = reply ? reply->before_id : 0;
  g_free(reply);
  ContactState *st = find_state(self, kind, id);
  if (!st || !st->conversation)
    return;
  ChatConversation *conv = st->conversation;
  gboolean still_loading = FALSE;
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *other = l->data;
    if (other->kind == REPLY_FETCH_HISTORY && other->target_kind == kind && other->target_id == id)
      still_loading = TRUE;
  }
  chat_conversation_set_loading(conv, still_loading);

  /* The page is newest first; the conversation oldest first. */
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_object_unref);
  const chat_value *messages = chat_value_dict_get(page, "messages");
  gint64 page_oldest = 0;
  for (size_t i = messages ? messages->as.list.count : 0; i > 0; i--) {
    ChatWireNotice n;
    if (!chat_wire_notice_read(list_at(messages, i - 1), &n))
      continue;
    if (n.id > 0) {
      g_ptr_array_add(items, item_from_notice(self, &n));
      page_oldest = page_oldest == 0 ? n.id : MIN(page_oldest, n.id);
      st->newest_id = MAX(st->newest_id, n.id);
    }
    chat_wire_notice_clear(&n);
  }
  if (before_id == 0) {
    gint64 known_newest = chat_conversation_get_newest_id(conv);
    /* Messages missed while away that do not reach what is shown: show
     * the newest page alone rather than with a hole in it. */
    if (known_newest > 0 && more && page_oldest > known_newest)
      chat_conversation_drop_history(conv);
    chat_conversation_merge_history(conv, items);
    if (!more)
      chat_conversation_set_complete(conv, TRUE);
  } else {
    chat_conversation_merge_history(conv, items);
    chat_conversation_set_complete(conv, !more);
  }
  if (items->len > 0)
    show_as_last(st, items->pdata[items->len - 1], TRUE);
}

static void handle_read_marker(ChatSession *self, const chat_value *marker) {
  gint64 type = int_of(chat_value_dict_get(marker, "target_type"));
  ChatContactKind kind = type == CHAT_CONTACT_ROOM ? CHAT_CONTACT_ROOM : CHAT_CONTACT_FRIEND;
  gint64 id = int_of(chat_value_dict_get(marker, "target_id"));
  g_free(settle_reply(self, REPLY_MARK_READ, kind, id));
  ContactState *st = find_state(self, kind, id);
  if (!st)
    return;
  st->marked_id = MAX(st->marked_id, int_of(chat_value_dict_get(marker, "last_read_id")));
  /* While the user looks at it, it stays read (newer messages are being
   * marked as they come). */
  if (!st->open) {
    gint64 unread = int_of(chat_value_dict_get(marker, "unread"));
    chat_contact_set_unread(st->contact, (guint)CLAMP(unread, 0, G_MAXUINT));
  }
}

static void handle_contact_info(ChatSession *self, const chat_value *contact) {
  ContactState *st = upsert_contact(self, contact, NULL);
  ChatContactKind kind = chat_contact_get_kind(st->contact);
  if (kind == CHAT_CONTACT_FRIEND) {
    /* An accepted request is answered by the new friend's contact_info. */
    guint n = g_list_model_get_n_items(G_LIST_MODEL(self->friend_requests));
    for (guint i = 0; i < n; i++) {
      g_autoptr(ChatContact) request =
          g_list_model_get_item(G_LIST_MODEL(self->friend_requests), i);
      if (chat_contact_get_id(request) == chat_contact_get_id(st->contact)) {
        g_list_store_remove(self->friend_requests, i);
        break;
      }
    }
    return;
  }
  /* A room: the answer to the oldest create_room or join_room. */
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *reply = l->data;
    if (reply->kind != REPLY_CREATE_ROOM && reply->kind != REPLY_JOIN_ROOM)
      continue;
    gboolean created = reply->kind == REPLY_CREATE_ROOM;
    g_queue_delete_link(&self->replies, l);
    g_free(reply);
    if (created)
      g_signal_emit(self, signals[SIGNAL_ROOM_CREATED], 0, st->contact);
    break;
  }
}

static void handle_friend_request(ChatSession *self, const chat_value *user) {
  g_autoptr(ChatContact) requester = contact_from_value(user, CHAT_CONTACT_FRIEND);
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->friend_requests));
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatContact) known = g_list_model_get_item(G_LIST_MODEL(self->friend_requests), i);
    if (chat_contact_get_id(known) == chat_contact_get_id(requester))
      return;
  }
  g_list_store_append(self->friend_requests, requester);
  g_signal_emit(self, signals[SIGNAL_FRIEND_REQUEST], 0, requester);
}

static void handle_members(ChatSession *self, const chat_value *params) {
  const chat_value *members = list_at(params, 0);
  gint64 room_id = int_of(list_at(params, 1));
  g_free(settle_reply(self, REPLY_QUERY_MEMBERS, CHAT_CONTACT_ROOM, room_id));
  ContactState *st = find_state(self, CHAT_CONTACT_ROOM, room_id);
  if (!st)
    return;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_object_unref);
  for (size_t i = 0; list_at(members, i); i++) {
    const chat_value *m = list_at(members, i);
    g_autofree char *nickname = chat_wire_dup_str(list_at(m, 1));
    g_autofree char *username = chat_wire_dup_str(list_at(m, 3));
    g_ptr_array_add(list, chat_room_member_new(int_of(list_at(m, 0)), nickname, username,
                                               bool_of(list_at(m, 2))));
  }
  chat_contact_set_members(st->contact, list);
}

/* A general_failure names no request: it answers the oldest one waiting. */
static void handle_general_failure(ChatSession *self, const char *reason) {
  ReplyEntry *head = g_queue_peek_head(&self->replies);
  if (head && head->kind != REPLY_FENCE) {
    g_queue_pop_head(&self->replies);
    if (head->kind == REPLY_SEND && head->send) {
      OutboxEntry *entry = head->send;
      head->send = NULL;
      fail_entry(self, entry, reason);
    } else if (head->kind == REPLY_FETCH_HISTORY) {
      ContactState *st = find_state(self, head->target_kind, head->target_id);
      if (st && st->conversation)
        chat_conversation_set_loading(st->conversation, FALSE);
    }
    g_free(head);
  }
  g_signal_emit(self, signals[SIGNAL_NOTICE], 0, reason);
}

static void handle_server_echo(ChatSession *self) {
  ReplyEntry *reply;
  while ((reply = g_queue_pop_head(&self->replies))) {
    gboolean fence = reply->kind == REPLY_FENCE;
    g_free(reply);
    if (fence)
      break;
  }
}

static gboolean do_nothing(gpointer data) {
  (void)data;
  return G_SOURCE_REMOVE;
}

/* Drops a reference from the main loop: not from inside one of the
 * object's own signal emissions. */
static void unref_later(gpointer object) {
  g_idle_add_full(G_PRIORITY_DEFAULT, do_nothing, object, g_object_unref);
}

/* Drops the connection we hold, without hearing from it again. */
static void release_connection(ChatSession *self) {
  if (!self->connection)
    return;
  g_signal_handlers_disconnect_by_data(self->connection, self);
  chat_connection_close(self->connection, FALSE);
  unref_later(g_steal_pointer(&self->connection));
}

static void on_retired_closed(ChatConnection *connection, const GError *reason,
                              gpointer user_data) {
  (void)reason;
  (void)user_data;
  unref_later(connection);
}

static void handle_kick(ChatSession *self, const chat_value *params) {
  g_autofree char *reason = NULL;
  g_autofree char *address = NULL;
  gint64 time = 0;
  if (params->kind == CHAT_VALUE_DICT) {
    reason = chat_wire_dup_str(chat_value_dict_get(params, "reason"));
    address = chat_wire_dup_str(chat_value_dict_get(params, "address"));
    time = int_of(chat_value_dict_get(params, "time"));
  } else {
    reason = g_strdup(CHAT_SEED_KICK_REASON);
  }
  self->kicked = TRUE;
  g_signal_emit(self, signals[SIGNAL_KICKED], 0, reason, address, time);
  release_connection(self);
  self->test_connected = FALSE;
  lost_connection(self, NULL, FALSE);
}

static void handle_login_failed(ChatSession *self, const char *reason) {
  LoginPhase phase = self->phase;
  self->phase = PHASE_NONE;
  if (phase == PHASE_RESUME) {
    if (self->username)
      chat_resume_store_forget(self->state_dir, self->host_port, self->username);
    clear_resume_token(self);
    reason = _("The saved login has expired; log in with your password.");
  }
  set_state(self, is_connected(self) ? CHAT_SESSION_CONNECTED : CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, signals[SIGNAL_LOGIN_FAILED], 0, reason);
}

static void dispatch(ChatSession *self, guint32 type, const chat_value *params) {
  switch (type) {
  case CHAT_MSG_LOGIN_SUCCESSFUL:
    handle_login_successful(self, params);
    break;
  case CHAT_MSG_REGISTER_SUCCESSFUL:
    self->phase = PHASE_NONE;
    g_signal_emit(self, signals[SIGNAL_REGISTER_DONE], 0, int_of(params));
    break;
  case CHAT_MSG_LOGIN_FAILED:
    handle_login_failed(self, _("Wrong username or password."));
    break;
  case CHAT_MSG_USERNAME_TAKEN:
    handle_login_failed(self, _("That username is already taken."));
    break;
  case CHAT_MSG_GENERAL_FAILURE: {
    g_autofree char *reason = chat_wire_dup_str(params);
    if (self->phase == PHASE_RESUME && self->state == CHAT_SESSION_RECONNECTING) {
      /* e.g. too many attempts: try again later. */
      g_message("resume refused: %s", reason);
      release_connection(self);
      self->test_connected = FALSE;
      lost_connection(self, reason, TRUE);
    } else if (self->phase != PHASE_NONE) {
      handle_login_failed(self, reason);
    } else {
      handle_general_failure(self, reason);
    }
    break;
  }
  case CHAT_MSG_GENERAL_MSG: {
    g_autofree char *text = chat_wire_dup_str(params);
    g_signal_emit(self, signals[SIGNAL_NOTICE], 0, text);
    break;
  }
  case CHAT_MSG_INCOMING_FRIEND_REQUEST:
    handle_friend_request(self, params);
    break;
  case CHAT_MSG_CONTACT_INFO:
    handle_contact_info(self, params);
    break;
  case CHAT_MSG_ADD_FRIEND_RESULT: {
    gboolean ok = bool_of(list_at(params, 0));
    g_autofree char *reason = chat_wire_dup_str(list_at(params, 1));
    g_free(settle_reply(self, REPLY_ADD_FRIEND, CHAT_CONTACT_FRIEND, 0));
    g_signal_emit(self, signals[SIGNAL_ADD_FRIEND_RESULT], 0, ok, reason);
    g_signal_emit(self, signals[SIGNAL_NOTICE], 0, ok ? _("The friend request was sent.") : reason);
    break;
  }
  case CHAT_MSG_FRIEND_ON_OFF_LINE: {
    ContactState *st = find_state(self, CHAT_CONTACT_FRIEND, int_of(list_at(params, 1)));
    if (st)
      chat_contact_set_online(st->contact, bool_of(list_at(params, 0)));
    break;
  }
  case CHAT_MSG_ON_NEW_MESSAGE: {
    ChatWireNotice n;
    if (chat_wire_notice_read(params, &n)) {
      handle_live_notice(self, &n);
      chat_wire_notice_clear(&n);
    }
    break;
  }
  case CHAT_MSG_SERVER_KICK:
    handle_kick(self, params);
    break;
  case CHAT_MSG_QUERY_ROOM_USERS_RESULT:
    handle_members(self, params);
    break;
  case CHAT_MSG_ROOM_USER_ON_OFF_LINE: {
    ContactState *st = find_state(self, CHAT_CONTACT_ROOM, int_of(list_at(params, 0)));
    if (st)
      chat_contact_set_member_online(st->contact, int_of(list_at(params, 1)),
                                     bool_of(list_at(params, 2)));
    break;
  }
  case CHAT_MSG_LOGIN_BUNDLE:
    handle_seed_bundle(self, params);
    break;
  case CHAT_MSG_SESSION_BUNDLE:
    handle_session_bundle(self, params);
    break;
  case CHAT_MSG_HISTORY_PAGE:
    handle_history_page(self, params);
    break;
  case CHAT_MSG_READ_MARKER:
    handle_read_marker(self, params);
    break;
  case CHAT_MSG_LEFT_ROOM: {
    ContactState *st = find_state(self, CHAT_CONTACT_ROOM, int_of(params));
    if (st) {
      drop_state(self, st);
      update_unread_total(self);
    }
    break;
  }
  case CHAT_MSG_PROFILE_UPDATED: {
    g_autofree char *nickname = chat_wire_dup_str(chat_value_dict_get(params, "nickname"));
    set_account(self, self->user_id, self->username, nickname);
    break;
  }
  case CHAT_MSG_PASSWORD_CHANGED:
    g_signal_emit(self, signals[SIGNAL_NOTICE], 0, _("Your password was changed."));
    break;
  case CHAT_MSG_SERVER_ECHO:
    handle_server_echo(self);
    break;
  case CHAT_MSG_LOGGED_OUT:
  case CHAT_MSG_CHAT_HISTORY:
  case CHAT_MSG_NOTIFY_CHAT_HISTORY:
  default:
    break;
  }
}

/* One message from the server. FALSE when it must not be acted on (the
 * connection is then dropped: spec/protocol.md section 6). */
static gboolean handle_plaintext(ChatSession *self, chat_dialect dialect, const guint8 *data,
                                 gsize len) {
  chat_arena arena;
  chat_arena_init(&arena);
  guint32 type = 0;
  chat_value *params = NULL;
  chat_error err;
  gboolean ok = FALSE;
  const chat_message_info *info = NULL;
  /* Borrowed: strings and bytes stay in the channel's (wiped) buffer. */
  if (chat_message_decode(dialect, data, len, NULL, CHAT_DECODE_BORROW, &arena, &type, &params,
                          &err) != 0) {
    g_message("the server sent a message that does not decode: %s at offset %zu",
              chat_error_name(err.code), err.offset);
  } else if (!(info = chat_catalogue_lookup(type, dialect, CHAT_TO_CLIENT))) {
    g_message("the server sent message type %u, not a reply of the %s dialect", type,
              chat_dialect_name(dialect));
  } else if (chat_catalogue_check(type, params, &err) != 0) {
    g_message("the server sent %s with wrong parameters: %s", info->name, err.message);
  } else {
    dispatch(self, type, params);
    ok = TRUE;
  }
  chat_arena_clear(&arena);
  return ok;
}

/* ======================================================================
 * The connection's life
 * ====================================================================== */

static void on_reconnect_due(gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data);  /* handlers may drop theirs */
  self->reconnect_source = 0;
  self->reconnect_delay = 0;
  pending_set(self, ACTION_RESUME, self->username, NULL, NULL);
  start_dial(self);
}

static void schedule_reconnect(ChatSession *self) {
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  self->reconnect_delay = chat_backoff_next(&self->backoff);
  g_debug("reconnecting in %u ms", self->reconnect_delay);
  self->reconnect_source = g_timeout_add_once(self->reconnect_delay, on_reconnect_due, self);
}

static void cancel_reconnect(ChatSession *self) {
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  self->reconnect_delay = 0;
}

/* The connection is gone (closed by the server, lost, kicked, refused).
 * may_reconnect: FALSE when the server broke the protocol. */
static void lost_connection(ChatSession *self, const char *reason, gboolean may_reconnect) {
  gboolean was_logged_in = self->state == CHAT_SESSION_ONLINE || self->phase == PHASE_RESUME;
  clear_replies(self);
  self->phase = PHASE_NONE;
  for (GList *l = self->outbox.head; l;) {
    GList *next = l->next;
    OutboxEntry *entry = l->data;
    if (entry->in_flight) {
      entry->in_flight = FALSE;
      if (self->dialect == CHAT_DIALECT_SEED)
        fail_entry(self, entry,
                   _("The connection was lost before the server confirmed this message."));
    }
    l = next;
  }
  if (self->kicked) {
    set_state(self, CHAT_SESSION_DISCONNECTED);
    return;
  }
  if (may_reconnect && was_logged_in && self->dialect == CHAT_DIALECT_V2 && self->resume_token &&
      self->username) {
    g_message("the connection was lost (%s); reconnecting", reason ? reason : "closed");
    set_state(self, CHAT_SESSION_RECONNECTING);
    schedule_reconnect(self);
    return;
  }
  g_autofree char *message = reason ? g_strdup_printf(_("The connection to the server was lost: %s"),
                                                      reason)
                                    : g_strdup(_("The connection to the server was lost."));
  set_last_error(self, message);
  set_state(self, CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, signals[SIGNAL_ERROR], 0, message);
}

static void on_connection_message(ChatConnection *connection, gconstpointer data, gsize len,
                                  gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data);  /* handlers may drop theirs */
  (void)connection;
  if (handle_plaintext(self, self->dialect, data, len))
    return;
  release_connection(self);
  lost_connection(self, _("the server sent a malformed message"), FALSE);
}

static void on_connection_closed(ChatConnection *connection, const GError *reason,
                                 gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data);  /* handlers may drop theirs */
  (void)connection;
  g_autofree char *message = reason ? g_strdup(reason->message) : NULL;
  release_connection(self);
  lost_connection(self, message, TRUE);
}

static void run_pending(ChatSession *self) {
  PendingAction *p = &self->pending;
  switch (p->kind) {
  case ACTION_LOGIN:
    self->phase = PHASE_LOGIN;
    set_state(self, CHAT_SESSION_LOGGING_IN);
    send_request(self, chat_wire_login(self->dialect, p->username, p->password));
    break;
  case ACTION_REGISTER:
    self->phase = PHASE_REGISTER;
    set_state(self, CHAT_SESSION_CONNECTED);
    send_request(self, chat_wire_register(self->dialect, p->username, p->password, p->nickname));
    break;
  case ACTION_RESUME:
    if (!self->resume_token) {
      set_state(self, CHAT_SESSION_CONNECTED);
      break;
    }
    self->phase = PHASE_RESUME;
    if (self->state != CHAT_SESSION_RECONNECTING)
      set_state(self, CHAT_SESSION_LOGGING_IN);
    send_request(self, chat_wire_resume(self->dialect, p->username, self->resume_token));
    break;
  case ACTION_NONE:
  default:
    set_state(self, CHAT_SESSION_CONNECTED);
    break;
  }
  pending_clear(p);
}

static void connection_ready(ChatSession *self) {
  if (self->state != CHAT_SESSION_RECONNECTING)
    set_state(self, CHAT_SESSION_CONNECTED);
  run_pending(self);
}

/* A dial failed: ask, refuse, retry later, or give up. */
static void dial_failed(ChatSession *self, const GError *error) {
  gboolean automatic = self->state == CHAT_SESSION_RECONNECTING;
  if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_NEEDS_CONFIRMATION)) {
    if (automatic && self->pending.kind == ACTION_NONE)
      pending_set(self, ACTION_RESUME, self->username, NULL, NULL);
    set_state(self, CHAT_SESSION_DISCONNECTED);
    const char *fingerprint = chat_dial_error_fingerprint(error);
    g_signal_emit(self, signals[SIGNAL_CONFIRM_SERVER_KEY], 0, self->host_port,
                  fingerprint ? fingerprint : "");
    return;
  }
  if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_PINNING)) {
    pending_clear(&self->pending);
    set_last_error(self, error->message);
    set_state(self, CHAT_SESSION_DISCONNECTED);
    g_signal_emit(self, signals[SIGNAL_SERVER_KEY_CHANGED], 0, error->message);
    return;
  }
  if (automatic) {
    g_debug("reconnect failed: %s", error->message);
    schedule_reconnect(self);
    return;
  }
  pending_clear(&self->pending);
  g_autofree char *message =
      g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_CONNECT)
          ? g_strdup_printf(_("Cannot reach the server: %s"), error->message)
          : g_strdup_printf(_("Cannot talk to the server: %s"), error->message);
  set_last_error(self, message);
  set_state(self, CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, signals[SIGNAL_ERROR], 0, message);
}

static void on_dial_done(GObject *source, GAsyncResult *result, gpointer user_data) {
  (void)source;
  g_autoptr(GError) error = NULL;
  ChatConnection *connection = chat_dial_finish(result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;  /* the session may be gone */
  g_autoptr(ChatSession) self = g_object_ref(user_data);  /* handlers may drop theirs */
  g_clear_object(&self->dial_cancellable);
  if (!connection) {
    dial_failed(self, error);
    return;
  }
  self->connection = connection;
  gsize info_len = 0;
  const guint8 *info = chat_connection_get_server_info(connection, &info_len);
  self->max_image = chat_wire_server_info_max_image(info, info_len);
  g_signal_connect(connection, "message", G_CALLBACK(on_connection_message), self);
  g_signal_connect(connection, "closed", G_CALLBACK(on_connection_closed), self);
  connection_ready(self);
}

static void fill_dial_options(ChatSession *self, ChatDialOptions *o) {
  memset(o, 0, sizeof *o);
  o->host = self->options.host;
  o->port = self->options.port;
  o->dialect = self->options.dialect;
  o->seed_group = self->have_seed_group ? &self->seed_group : NULL;
  o->pin_policy = self->options.pin_policy ? self->options.pin_policy : CHAT_PIN_ASK;
  o->pinned_key = self->options.pinned_key;
  o->known_hosts_path = self->options.known_hosts_path;
  o->max_message_bytes =
      self->options.dialect == CHAT_DIALECT_SEED ? CHAT_SEED_MAX_MESSAGE_RECEIVED : 0;
}

static void start_dial(ChatSession *self) {
  cancel_reconnect(self);
  if (self->dial_cancellable)
    return;  /* dialling already: the pending action waits for it */
  if (self->state != CHAT_SESSION_RECONNECTING)
    set_state(self, CHAT_SESSION_CONNECTING);
  self->dialect = self->options.dialect;
  if (self->test_offline) {
    self->test_connected = TRUE;
    connection_ready(self);
    return;
  }
  if (!self->options.host || (self->dialect == CHAT_DIALECT_SEED && !self->have_seed_group)) {
    GError *error = g_error_new_literal(
        CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_HANDSHAKE,
        !self->options.host ? "no server is configured"
                            : "the seed dialect needs a valid crypto.base and crypto.modulus");
    set_state(self, CHAT_SESSION_CONNECTING);  /* not an automatic attempt */
    dial_failed(self, error);
    g_error_free(error);
    return;
  }
  ChatDialOptions o;
  fill_dial_options(self, &o);
  self->dial_cancellable = g_cancellable_new();
  chat_dial_async(&o, self->dial_cancellable, on_dial_done, self);
}

/* The user asked for something that needs the server: connects if
 * needed, then runs the pending action. */
static void go(ChatSession *self) {
  self->kicked = FALSE;
  cancel_reconnect(self);
  if (is_connected(self) && !self->dial_cancellable) {
    run_pending(self);
    return;
  }
  /* No longer an automatic attempt: failures are reported. */
  set_state(self, CHAT_SESSION_CONNECTING);
  start_dial(self);  /* when already dialling, the action waits for it */
}

/* ======================================================================
 * GObject
 * ====================================================================== */

static void chat_session_dispose(GObject *object) {
  ChatSession *self = CHAT_SESSION(object);
  if (self->dial_cancellable) {
    g_cancellable_cancel(self->dial_cancellable);
    g_clear_object(&self->dial_cancellable);
  }
  cancel_reconnect(self);
  if (self->connection) {
    g_signal_handlers_disconnect_by_data(self->connection, self);
    chat_connection_close(self->connection, FALSE);
    g_clear_object(&self->connection);
  }
  /* Quietly: no signals from an object going away. */
  g_queue_clear_full(&self->replies, g_free);
  if (self->outbox_by_id)
    g_hash_table_remove_all(self->outbox_by_id);
  g_queue_clear_full(&self->outbox, (GDestroyNotify)outbox_entry_free);
  if (self->states) {
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, self->states);
    while (g_hash_table_iter_next(&it, NULL, &value))
      if (((ContactState *)value)->in_store)
        g_signal_handlers_disconnect_by_data(((ContactState *)value)->contact, self);
  }
  g_clear_object(&self->contacts);
  g_clear_object(&self->friend_requests);
  g_clear_pointer(&self->states, g_hash_table_unref);
  g_clear_pointer(&self->outbox_by_id, g_hash_table_unref);
  G_OBJECT_CLASS(chat_session_parent_class)->dispose(object);
}

static void chat_session_finalize(GObject *object) {
  ChatSession *self = CHAT_SESSION(object);
  pending_clear(&self->pending);
  clear_resume_token(self);
  if (self->have_seed_group)
    chat_dh_group_clear(&self->seed_group);
  chat_session_options_clear(&self->options);
  g_free(self->state_dir);
  g_free(self->last_error);
  g_free(self->username);
  g_free(self->nickname);
  G_OBJECT_CLASS(chat_session_parent_class)->finalize(object);
}

static void chat_session_get_property(GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec) {
  ChatSession *self = CHAT_SESSION(object);
  switch (prop_id) {
  case PROP_STATE:
    g_value_set_enum(value, self->state);
    break;
  case PROP_USER_ID:
    g_value_set_int64(value, self->user_id);
    break;
  case PROP_USERNAME:
    g_value_set_string(value, self->username);
    break;
  case PROP_NICKNAME:
    g_value_set_string(value, self->nickname);
    break;
  case PROP_UNREAD_TOTAL:
    g_value_set_uint(value, self->unread_total);
    break;
  case PROP_LAST_ERROR:
    g_value_set_string(value, self->last_error);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_session_class_init(ChatSessionClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = chat_session_dispose;
  object_class->finalize = chat_session_finalize;
  object_class->get_property = chat_session_get_property;

  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_STATE] = g_param_spec_enum("state", NULL, NULL, CHAT_TYPE_SESSION_STATE,
                                             CHAT_SESSION_DISCONNECTED, flags);
  properties[PROP_USER_ID] =
      g_param_spec_int64("user-id", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_USERNAME] = g_param_spec_string("username", NULL, NULL, NULL, flags);
  properties[PROP_NICKNAME] = g_param_spec_string("nickname", NULL, NULL, NULL, flags);
  properties[PROP_UNREAD_TOTAL] =
      g_param_spec_uint("unread-total", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_LAST_ERROR] = g_param_spec_string("last-error", NULL, NULL, NULL, flags);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  GType type = G_TYPE_FROM_CLASS(klass);
  signals[SIGNAL_STATE_CHANGED] = g_signal_new("state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                               NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_LOGIN_FAILED] = g_signal_new("login-failed", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                              NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_REGISTER_DONE] = g_signal_new("register-done", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                               NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[SIGNAL_CONFIRM_SERVER_KEY] =
      g_signal_new("confirm-server-key", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                   G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_SERVER_KEY_CHANGED] =
      g_signal_new("server-key-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                   G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_KICKED] = g_signal_new("kicked", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING,
                                        G_TYPE_INT64);
  signals[SIGNAL_FRIEND_REQUEST] = g_signal_new("friend-request", type, G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 1,
                                                CHAT_TYPE_CONTACT);
  signals[SIGNAL_ROOM_CREATED] = g_signal_new("room-created", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                              NULL, NULL, G_TYPE_NONE, 1, CHAT_TYPE_CONTACT);
  signals[SIGNAL_NOTICE] = g_signal_new("notice", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_NEW_MESSAGE] =
      g_signal_new("new-message", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                   CHAT_TYPE_CONTACT, CHAT_TYPE_MESSAGE_ITEM);
  signals[SIGNAL_TRANSFER_PROGRESS] =
      g_signal_new("transfer-progress", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                   G_TYPE_NONE, 2, CHAT_TYPE_MESSAGE_ITEM, G_TYPE_DOUBLE);
  signals[SIGNAL_ERROR] = g_signal_new("error", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_ADD_FRIEND_RESULT] =
      g_signal_new("add-friend-result", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                   G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void chat_session_init(ChatSession *self) {
  self->contacts = g_list_store_new(CHAT_TYPE_CONTACT);
  self->friend_requests = g_list_store_new(CHAT_TYPE_CONTACT);
  self->states = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, contact_state_free);
  self->outbox_by_id = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&self->outbox);
  g_queue_init(&self->replies);
  chat_backoff_init(&self->backoff, CHAT_RECONNECT_INITIAL_MS, CHAT_RECONNECT_MAX_MS);
}

ChatSession *chat_session_new(const ChatSessionOptions *options) {
  g_return_val_if_fail(options != NULL, NULL);
  ChatSession *self = g_object_new(CHAT_TYPE_SESSION, NULL);
  ChatSessionOptions *o = &self->options;
  o->host = g_strdup(options->host);
  o->port = options->port;
  o->dialect = options->dialect;
  o->crypto_base = g_strdup(options->crypto_base);
  o->crypto_modulus = g_strdup(options->crypto_modulus);
  o->pin_policy = options->pin_policy ? options->pin_policy : CHAT_PIN_ASK;
  o->pinned_key = g_strdup(options->pinned_key);
  o->known_hosts_path = g_strdup(options->known_hosts_path);
  o->state_dir = g_strdup(options->state_dir);
  self->dialect = o->dialect;
  self->state_dir = o->state_dir ? g_strdup(o->state_dir)
                                 : g_build_filename(g_get_user_data_dir(),
                                                    CHAT_STATE_DIR_RELATIVE, NULL);
  const char *host = o->host ? o->host : "";
  chat_host_port_format(host, o->port, self->host_port, sizeof self->host_port);
  if (o->crypto_base && o->crypto_modulus) {
    chat_error err;
    if (chat_dh_group_init(&self->seed_group, o->crypto_base, o->crypto_modulus, &err) == 0)
      self->have_seed_group = TRUE;
    else
      g_message("the configured DH group is unusable: %s", err.message);
  }
  return self;
}

/* ======================================================================
 * Public API
 * ====================================================================== */

void chat_session_login(ChatSession *self, const char *username, const char *password) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(username != NULL && password != NULL);
  if (self->state == CHAT_SESSION_ONLINE || self->phase != PHASE_NONE) {
    g_debug("login ignored: already logged in or logging in");
    return;
  }
  pending_set(self, ACTION_LOGIN, username, password, NULL);
  go(self);
}

void chat_session_register(ChatSession *self, const char *username, const char *password,
                           const char *nickname) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(username != NULL && password != NULL && nickname != NULL);
  if (self->state == CHAT_SESSION_ONLINE || self->phase != PHASE_NONE) {
    g_debug("register ignored: logged in or busy");
    return;
  }
  pending_set(self, ACTION_REGISTER, username, password, nickname);
  go(self);
}

gboolean chat_session_resume(ChatSession *self, const char *username) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  g_return_val_if_fail(username != NULL, FALSE);
  if (self->options.dialect != CHAT_DIALECT_V2 || self->state == CHAT_SESSION_ONLINE ||
      self->phase != PHASE_NONE)
    return FALSE;
  /* The name as the server keeps it (common/username.h). */
  g_autofree char *normalized = chat_username_normalize(username, -1);
  g_autoptr(GError) error = NULL;
  GBytes *token = chat_resume_store_load(self->state_dir, self->host_port, normalized, &error);
  if (!token) {
    if (error)
      g_message("cannot read the saved login: %s", error->message);
    return FALSE;
  }
  clear_resume_token(self);
  self->resume_token = token;
  if (g_strcmp0(self->username, normalized) != 0 && self->user_id == 0)
    set_account(self, 0, normalized, NULL);
  pending_set(self, ACTION_RESUME, normalized, NULL, NULL);
  go(self);
  return TRUE;
}

void chat_session_trust_server(ChatSession *self, const char *fingerprint, gboolean accept) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (!accept || !fingerprint) {
    pending_clear(&self->pending);
    set_state(self, CHAT_SESSION_DISCONNECTED);
    return;
  }
  ChatDialOptions o;
  fill_dial_options(self, &o);
  g_autoptr(GError) error = NULL;
  if (!chat_dial_trust(&o, fingerprint, &error)) {
    pending_clear(&self->pending);
    set_last_error(self, error->message);
    set_state(self, CHAT_SESSION_DISCONNECTED);
    g_signal_emit(self, signals[SIGNAL_ERROR], 0, error->message);
    return;
  }
  go(self);
}

void chat_session_logout(ChatSession *self) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (self->dial_cancellable) {
    g_cancellable_cancel(self->dial_cancellable);
    g_clear_object(&self->dial_cancellable);
  }
  cancel_reconnect(self);
  pending_clear(&self->pending);
  if (self->username)
    chat_resume_store_forget(self->state_dir, self->host_port, self->username);
  if (is_connected(self) && self->dialect == CHAT_DIALECT_V2 && self->state == CHAT_SESSION_ONLINE)
    send_request(self, chat_wire_null(self->dialect, CHAT_MSG_LOGOUT));
  if (self->connection && self->dialect == CHAT_DIALECT_V2) {
    /* Let the logout go out, then close; the connection lives on by
     * itself until it is closed. (A seed connection is simply dropped:
     * it has nothing to flush, and it must not outlive the DH group.) */
    ChatConnection *connection = g_steal_pointer(&self->connection);
    g_signal_handlers_disconnect_by_data(connection, self);
    g_signal_connect(connection, "closed", G_CALLBACK(on_retired_closed), NULL);
    chat_connection_close(connection, TRUE);
  }
  release_connection(self);
  self->test_connected = FALSE;
  self->phase = PHASE_NONE;
  reset_account(self);
  set_state(self, CHAT_SESSION_DISCONNECTED);
}

ChatSessionState chat_session_get_state(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), CHAT_SESSION_DISCONNECTED);
  return self->state;
}

const char *chat_session_get_last_error(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->last_error;
}

gint64 chat_session_get_user_id(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->user_id;
}

const char *chat_session_get_username(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->user_id ? self->username : NULL;
}

const char *chat_session_get_nickname(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->user_id ? self->nickname : NULL;
}

GListModel *chat_session_get_contacts(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return G_LIST_MODEL(self->contacts);
}

ChatContact *chat_session_find_contact(ChatSession *self, ChatContactKind kind, gint64 id) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  ContactState *st = find_state(self, kind, id);
  return st ? st->contact : NULL;
}

guint chat_session_get_unread_total(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->unread_total;
}

ChatConversation *chat_session_get_conversation(ChatSession *self, ChatContact *contact) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  g_return_val_if_fail(CHAT_IS_CONTACT(contact), NULL);
  ContactState *st = state_of(self, contact);
  if (!st) {
    g_debug("no conversation with a contact the session does not know");
    return NULL;
  }
  return ensure_conversation(self, st);
}

gsize chat_session_get_max_image(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->max_image;
}

GListModel *chat_session_get_friend_requests(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return G_LIST_MODEL(self->friend_requests);
}

/* Puts a new outgoing item in its conversation and the outbox. */
static void send_item(ChatSession *self, ContactState *st, ChatMessageItem *item) {
  g_autofree char *client_msg_id = g_uuid_string_random();
  chat_message_item_set_target(item, chat_contact_get_kind(st->contact),
                               chat_contact_get_id(st->contact), client_msg_id);
  chat_conversation_append(ensure_conversation(self, st), item);
  show_as_last(st, item, FALSE);
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE)
    g_signal_emit(self, signals[SIGNAL_TRANSFER_PROGRESS], 0, item, 0.0);
  queue_item(self, item);
}

void chat_session_send_text(ChatSession *self, ChatContact *to, const char *text, int font_size,
                            const char *font_color) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(to));
  g_return_if_fail(text != NULL);
  ContactState *st = state_of(self, to);
  if (!st || !*text || !g_utf8_validate(text, -1, NULL))
    return;
  ChatMessageItemFields fields = {
    .sender_id = self->user_id,
    .sender_name = self->nickname,
    .sender_username = self->username,
    .outgoing = TRUE,
    .kind = CHAT_MESSAGE_TEXT,
    .text = text,
    .font_size = font_size > 0 ? font_size : CHAT_FONT_SIZE_DEFAULT,
    .font_color = font_color && *font_color ? font_color : CHAT_FONT_COLOR_DEFAULT,
    .time_ms = now_ms(),
    .delivery = CHAT_DELIVERY_PENDING,
  };
  g_autoptr(ChatMessageItem) item = chat_message_item_new(&fields);
  send_item(self, st, item);
}

void chat_session_send_image(ChatSession *self, ChatContact *to, GBytes *image) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(to));
  g_return_if_fail(image != NULL);
  ContactState *st = state_of(self, to);
  if (!st || g_bytes_get_size(image) == 0)
    return;
  ChatMessageItemFields fields = {
    .sender_id = self->user_id,
    .sender_name = self->nickname,
    .sender_username = self->username,
    .outgoing = TRUE,
    .kind = CHAT_MESSAGE_IMAGE,
    .image = image,
    .time_ms = now_ms(),
    .delivery = CHAT_DELIVERY_PENDING,
  };
  g_autoptr(ChatMessageItem) item = chat_message_item_new(&fields);
  g_autofree char *refused = NULL;
  if (over_server_limit(self, item))
    refused = server_limit_reason(self);
  else if (over_default_limit(self, item))
    refused = g_strdup(_("The image is too large to send."));
  if (refused) {
    chat_message_item_set_failed(item, refused);
    chat_conversation_append(ensure_conversation(self, st), item);
    return;
  }
  send_item(self, st, item);
}

void chat_session_retry(ChatSession *self, ChatMessageItem *item) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(item));
  if (!chat_message_item_get_outgoing(item) ||
      chat_message_item_get_delivery(item) != CHAT_DELIVERY_FAILED ||
      !chat_message_item_get_client_msg_id(item) ||
      g_hash_table_contains(self->outbox_by_id, chat_message_item_get_client_msg_id(item)))
    return;
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE &&
      (over_default_limit(self, item) || over_server_limit(self, item)))
    return;
  chat_message_item_set_pending(item);
  queue_item(self, item);
}

void chat_session_load_older(ChatSession *self, ChatConversation *conversation) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONVERSATION(conversation));
  if (chat_conversation_get_complete(conversation) || chat_conversation_get_loading(conversation))
    return;
  ContactState *st = state_of(self, chat_conversation_get_contact(conversation));
  if (!st || st->conversation != conversation)
    return;
  request_page(self, st, chat_conversation_get_oldest_id(conversation));
}

void chat_session_mark_read(ChatSession *self, ChatContact *contact) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(contact));
  ContactState *st = state_of(self, contact);
  if (!st)
    return;
  chat_contact_set_unread(contact, 0);
  send_mark_read(self, st);
}

void chat_session_set_conversation_open(ChatSession *self, ChatContact *contact, gboolean open) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(contact));
  ContactState *st = state_of(self, contact);
  if (!st)
    return;
  st->open = !!open;
  if (open)
    chat_session_mark_read(self, contact);
}

void chat_session_add_friend(ChatSession *self, const char *username) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(username != NULL);
  if (!require_online(self))
    return;
  if (send_request(self, chat_wire_str(self->dialect, CHAT_MSG_ADD_FRIEND, username)))
    expect_reply(self, REPLY_ADD_FRIEND);
}

void chat_session_answer_friend_request(ChatSession *self, ChatContact *requester,
                                        gboolean accept) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(requester));
  if (!require_online(self))
    return;
  guint position;
  if (g_list_store_find(self->friend_requests, requester, &position))
    g_list_store_remove(self->friend_requests, position);
  if (!send_request(self, chat_wire_resolve_friend_request(
                              self->dialect, chat_contact_get_id(requester), accept)))
    return;
  expect_reply(self, REPLY_RESOLVE);
  if (send_request(self, chat_wire_str(self->dialect, CHAT_MSG_CLIENT_ECHO, CHAT_FENCE_TEXT)))
    expect_reply(self, REPLY_FENCE);
}

void chat_session_join_room(ChatSession *self, gint64 room_id) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (!require_online(self))
    return;
  if (send_request(self, chat_wire_int(self->dialect, CHAT_MSG_JOIN_ROOM, room_id)))
  {
    ReplyEntry *reply = expect_reply(self, REPLY_JOIN_ROOM);
    reply->target_kind = CHAT_CONTACT_ROOM;
    reply->target_id = room_id;
  }
}

void chat_session_create_room(ChatSession *self, const char *name) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(name != NULL);
  if (!require_online(self))
    return;
  if (send_request(self, chat_wire_str(self->dialect, CHAT_MSG_CREATE_ROOM, name)))
    expect_reply(self, REPLY_CREATE_ROOM);
}

void chat_session_query_members(ChatSession *self, ChatContact *room) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(room));
  if (chat_contact_get_kind(room) != CHAT_CONTACT_ROOM || !require_online(self))
    return;
  gint64 id = chat_contact_get_id(room);
  if (!send_request(self, chat_wire_int(self->dialect, CHAT_MSG_QUERY_ROOM_USERS, id)))
    return;
  ReplyEntry *reply = expect_reply(self, REPLY_QUERY_MEMBERS);
  reply->target_kind = CHAT_CONTACT_ROOM;
  reply->target_id = id;
}

/* ======================================================================
 * Tests
 * ====================================================================== */

gboolean chat_session_test_feed(ChatSession *self, chat_dialect dialect,
                                const guint8 *plaintext, gsize len) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  g_autoptr(ChatSession) keep = g_object_ref(self);
  self->dialect = dialect;
  return handle_plaintext(self, dialect, plaintext, len);
}

void chat_session_test_capture(ChatSession *self, GQueue *outgoing, gboolean offline) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  self->test_outgoing = outgoing;
  self->test_offline = offline;
}

void chat_session_test_drop_connection(ChatSession *self) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (self->test_offline) {
    if (!self->test_connected)
      return;
    self->test_connected = FALSE;
    lost_connection(self, "dropped by the test", TRUE);
    return;
  }
  if (!self->connection)
    return;
  release_connection(self);
  lost_connection(self, "dropped by the test", TRUE);
}

gboolean chat_session_test_reconnect_now(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  if (!self->reconnect_source)
    return FALSE;
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  on_reconnect_due(self);
  return TRUE;
}

void chat_session_test_set_backoff(ChatSession *self, guint initial_ms, guint max_ms) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  chat_backoff_init(&self->backoff, initial_ms, max_ms);
}

guint chat_session_test_get_reconnect_delay(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->reconnect_source ? self->reconnect_delay : 0;
}

void chat_session_test_set_server_info(ChatSession *self, const guint8 *info, gsize len) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  self->max_image = chat_wire_server_info_max_image(info, len);
}

guint chat_session_test_get_outbox_length(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return g_queue_get_length(&self->outbox);
}
