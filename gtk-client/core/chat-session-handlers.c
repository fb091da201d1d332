/* ChatSession: the server's messages. Each is decoded, checked against
 * the catalogue and read into its typed struct (protocol/messages.h)
 * once, in chat_session_handle_plaintext; the handlers below only see
 * those structs. */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-private.h"

#include <glib/gi18n-lib.h>

#include "gtk-client/core/chat-contact-private.h"
#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-resume-store.h"
#include "gtk-client/core/chat-search-private.h"
#include "gtk-client/core/chat-util-private.h"
#include "protocol/catalogue.h"

/* The parameters of any message a client receives, as read. */
typedef union {
  chat_msg_null null;
  chat_msg_any any;
  chat_msg_int integer;
  chat_msg_str str;
  chat_msg_user user;
  chat_msg_contact contact;
  chat_msg_notice notice;
  chat_msg_add_friend_result add_friend_result;
  chat_msg_friend_on_off_line friend_on_off_line;
  chat_msg_server_kick server_kick;
  chat_msg_query_room_users_result query_room_users_result;
  chat_msg_room_user_on_off_line room_user_on_off_line;
  chat_msg_login_bundle login_bundle;
  chat_msg_session_bundle session_bundle;
  chat_msg_history_page history_page;
  chat_msg_read_marker read_marker;
  chat_msg_request_failed request_failed;
  chat_msg_search_results search_results;
} ServerMessage;

/* A target_type as a contact kind (anything but a room is a user). */
static ChatContactKind kind_of_target(gint64 target_type) {
  return target_type == CHAT_TARGET_ROOM ? CHAT_CONTACT_ROOM : CHAT_CONTACT_FRIEND;
}

static guint clamp_unread(gint64 unread) {
  return (guint)CLAMP(unread, 0, G_MAXUINT);
}

static void handle_live_notice(ChatSession *self, const ChatWireNotice *n) {
  gboolean outgoing = self->user_id != 0 && n->sender_id == self->user_id;
  if (outgoing) {
    OutboxEntry *entry = chat_session_sent_entry(self, n);
    if (entry) {
      chat_session_acknowledge(self, entry, n);
      return;
    }
  }
  ContactState *st = chat_session_state_of_notice(self, n);
  if (!st) {
    g_debug("a message for an unknown contact (type %d, id %" G_GINT64_FORMAT ")", n->target_kind,
            n->target_id);
    return;
  }
  if (n->id > 0 && (n->id <= st->newest_id ||
                    (st->conversation && chat_conversation_lookup(st->conversation, n->id)))) {
    g_debug("message %" G_GINT64_FORMAT " is shown already", n->id);
    return;
  }
  g_autoptr(ChatMessageItem) item = chat_session_item_from_notice(self, n);
  if (st->conversation)
    chat_conversation_append(st->conversation, item);
  if (n->id > 0)
    st->newest_id = n->id;
  chat_session_show_as_last(st, item, FALSE);
  if (outgoing)
    return;
  if (st->open)
    chat_session_send_mark_read(self, st);
  else
    chat_contact_set_unread(st->contact, chat_contact_get_unread(st->contact) + 1);
  g_signal_emit(self, chat_session_signals[SIGNAL_NEW_MESSAGE], 0, st->contact, item);
}

static void handle_new_message(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_notice *notice = &msg->notice;
  ChatWireNotice n;
  if (!chat_wire_notice_from_msg(notice, &n))
    return;
  handle_live_notice(self, &n);
  chat_wire_notice_clear(&n);
}

/* v2, online again: a shown conversation fetches its newest page, a read
 * one sends its marker. */
static void catch_up(gpointer key, gpointer value, gpointer user_data) {
  ContactState *st = value;
  (void)key;
  if (st->conversation)
    chat_session_request_page(user_data, st, 0);
  if (st->open || st->read_pending)
    chat_session_send_mark_read(user_data, st);
}

static void went_online(ChatSession *self) {
  self->phase = PHASE_NONE;
  chat_backoff_reset(&self->backoff);
  chat_session_set_last_error(self, NULL);
  chat_session_set_state(self, CHAT_SESSION_ONLINE);
  /* Acknowledgements of resent messages come before the history pages
   * asked for below, so a page never shows them a second time. */
  chat_session_flush_outbox(self);
  if (self->dialect != CHAT_DIALECT_V2)
    return;
  g_hash_table_foreach(self->states, catch_up, self);
}

static void handle_login_successful(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_user *user = &msg->user;
  g_autofree char *username = chat_wire_dup_span(user->username);
  g_autofree char *nickname = chat_wire_dup_span(user->nickname);
  if (self->user_id != 0 && self->user_id != user->id)
    chat_session_reset_account(self);
  chat_session_set_account(self, user->id, username, nickname);
  /* Pending requests come again after every login. */
  g_list_store_remove_all(self->friend_requests);
}

/* A bundle's rooms, then its friends: starts the merge (the caller ends
 * it with `added`). */
static void merge_contacts(ChatSession *self, const chat_msg_list *rooms,
                           const chat_msg_list *friends, GPtrArray *added) {
  chat_session_begin_contact_merge(self);
  const chat_msg_list *lists[] = {rooms, friends};
  for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
    for (size_t i = 0; i < lists[l]->count; i++) {
      chat_msg_contact contact;
      chat_msg_contact_at(lists[l], i, &contact);
      chat_session_upsert_contact(self, &contact, added);
    }
  }
}

/* Seed: the login_bundle carries the whole history. */
static void start_over(gpointer key, gpointer value, gpointer user_data) {
  ContactState *st = value;
  (void)key;
  (void)user_data;
  if (st->conversation)
    chat_conversation_drop_history(st->conversation);
  chat_contact_set_unread(st->contact, 0);
}

static void complete_history(gpointer key, gpointer value, gpointer user_data) {
  ContactState *st = value;
  (void)key;
  (void)user_data;
  if (st->conversation)
    chat_conversation_set_complete(st->conversation, TRUE);
}

static void handle_seed_bundle(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_login_bundle *bundle = &msg->login_bundle;
  g_autoptr(GPtrArray) added = g_ptr_array_new();
  merge_contacts(self, &bundle->rooms, &bundle->friends, added);
  /* The history comes whole: start every conversation over. */
  g_hash_table_foreach(self->states, start_over, NULL);
  for (size_t i = 0; i < bundle->messages.count; i++) {
    chat_msg_stored_message stored;
    chat_msg_stored_message_at(&bundle->messages, i, &stored);
    ChatWireNotice n;
    if (!chat_wire_notice_decode((const guint8 *)stored.data.ptr, stored.data.len, &n))
      continue;
    ContactState *st = chat_session_state_of_notice(self, &n);
    if (st) {
      g_autoptr(ChatMessageItem) item = chat_session_item_from_notice(self, &n);
      chat_conversation_append(chat_session_ensure_conversation(self, st), item);
      chat_session_show_as_last(st, item, TRUE);
      if (stored.sent == 0 && !chat_message_item_get_outgoing(item) && !st->open)
        chat_contact_set_unread(st->contact, chat_contact_get_unread(st->contact) + 1);
    }
    chat_wire_notice_clear(&n);
  }
  g_hash_table_foreach(self->states, complete_history, NULL);
  chat_session_end_contact_merge(self, added);
  went_online(self);
}

static void save_resume_token(ChatSession *self, chat_span token) {
  chat_session_clear_resume_token(self);
  if (token.len == 0 || !self->username)
    return;
  self->resume_token = chat_secret_bytes_new(token.ptr, token.len);
  g_autoptr(GError) error = NULL;
  if (!chat_resume_store_save(self->state_dir, self->host_port, self->username, self->resume_token,
                              &error))
    g_message("cannot save the resume token: %s", error->message);
}

/* One @conversation of a session_bundle: the contact's last message,
 * read marker and unread count. Returns the contact's state, or NULL. */
static ContactState *apply_conversation(ChatSession *self, const chat_msg_conversation *c) {
  ContactState *st = chat_session_find_state(self, kind_of_target(c->target_type), c->target_id);
  if (!st)
    return NULL;
  ChatWireNotice n;
  if (c->has_last && chat_wire_notice_from_msg(&c->last, &n)) {
    g_autoptr(ChatMessageItem) item = chat_session_item_from_notice(self, &n);
    st->newest_id = MAX(st->newest_id, n.id);
    chat_session_show_as_last(st, item, TRUE);
    chat_wire_notice_clear(&n);
  }
  st->marked_id = MAX(st->marked_id, c->last_read_id);
  gboolean read_here = st->open || st->read_pending;
  chat_contact_set_unread(st->contact, read_here ? 0 : clamp_unread(c->unread));
  return st;
}

static void handle_session_bundle(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_session_bundle *bundle = &msg->session_bundle;
  save_resume_token(self, bundle->token);
  g_autoptr(GPtrArray) added = g_ptr_array_new();
  merge_contacts(self, &bundle->rooms, &bundle->friends, added);
  g_autoptr(GHashTable) with_conversation = g_hash_table_new(NULL, NULL);
  for (size_t i = 0; i < bundle->conversations.count; i++) {
    chat_msg_conversation c;
    chat_msg_conversation_at(&bundle->conversations, i, &c);
    ContactState *st = apply_conversation(self, &c);
    if (st)
      g_hash_table_add(with_conversation, st);
  }
  for (guint i = 0; i < added->len; i++)
    if (!g_hash_table_contains(with_conversation, added->pdata[i]))
      chat_contact_set_unread(((ContactState *)added->pdata[i])->contact, 0);
  chat_session_end_contact_merge(self, added);
  went_online(self);
}

/* Whether another fetch_history for the same contact is still waiting. */
static gboolean page_pending(ChatSession *self, ChatContactKind kind, gint64 id) {
  for (GList *l = self->replies.head; l; l = l->next) {
    ReplyEntry *other = l->data;
    if (other->kind == REPLY_FETCH_HISTORY && other->target_kind == kind && other->target_id == id)
      return TRUE;
  }
  return FALSE;
}

static void handle_history_page(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_history_page *page = &msg->history_page;
  ChatContactKind kind = kind_of_target(page->target_type);
  gint64 id = page->target_id;
  ReplyEntry *reply = chat_session_settle_reply(self, REPLY_FETCH_HISTORY, kind, id);
  gint64 before_id = reply ? reply->before_id : 0;
  g_free(reply);
  ContactState *st = chat_session_find_state(self, kind, id);
  if (!st || !st->conversation)
    return;
  ChatConversation *conv = st->conversation;
  chat_conversation_set_loading(conv, page_pending(self, kind, id));

  /* The page is newest first; the conversation oldest first. */
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_object_unref);
  gint64 page_oldest = 0;
  for (size_t i = page->messages.count; i > 0; i--) {
    chat_msg_notice notice;
    chat_msg_notice_at(&page->messages, i - 1, &notice);
    ChatWireNotice n;
    if (!chat_wire_notice_from_msg(&notice, &n))
      continue;
    if (n.id > 0) {
      g_ptr_array_add(items, chat_session_item_from_notice(self, &n));
      page_oldest = page_oldest == 0 ? n.id : MIN(page_oldest, n.id);
      st->newest_id = MAX(st->newest_id, n.id);
    }
    chat_wire_notice_clear(&n);
  }
  if (before_id == 0) {
    gint64 known_newest = chat_conversation_get_newest_id(conv);
    /* Messages missed while away that do not reach what is shown: show
     * the newest page alone rather than with a hole in it. */
    if (known_newest > 0 && page->more && page_oldest > known_newest)
      chat_conversation_drop_history(conv);
    chat_conversation_merge_history(conv, items);
    if (!page->more)
      chat_conversation_set_complete(conv, TRUE);
  } else {
    chat_conversation_merge_history(conv, items);
    chat_conversation_set_complete(conv, !page->more);
  }
  if (items->len > 0)
    chat_session_show_as_last(st, items->pdata[items->len - 1], TRUE);
}

static void handle_read_marker(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_read_marker *marker = &msg->read_marker;
  ChatContactKind kind = kind_of_target(marker->target_type);
  g_free(chat_session_settle_reply(self, REPLY_MARK_READ, kind, marker->target_id));
  ContactState *st = chat_session_find_state(self, kind, marker->target_id);
  if (!st)
    return;
  st->marked_id = MAX(st->marked_id, marker->last_read_id);
  /* While the user looks at it, it stays read (newer messages are being
   * marked as they come). */
  if (!st->open)
    chat_contact_set_unread(st->contact, clamp_unread(marker->unread));
}

/* The position of the friend request from user_id, or -1. */
static gint find_request(ChatSession *self, gint64 user_id) {
  GListModel *requests = G_LIST_MODEL(self->friend_requests);
  guint n = g_list_model_get_n_items(requests);
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatContact) request = g_list_model_get_item(requests, i);
    if (chat_contact_get_id(request) == user_id)
      return (gint)i;
  }
  return -1;
}

static void handle_contact_info(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_contact *contact = &msg->contact;
  ContactState *st = chat_session_upsert_contact(self, contact, NULL);
  ChatContactKind kind = chat_contact_get_kind(st->contact);
  if (kind == CHAT_CONTACT_FRIEND) {
    /* An accepted request is answered by the new friend's contact_info. */
    gint position = find_request(self, chat_contact_get_id(st->contact));
    if (position >= 0)
      g_list_store_remove(self->friend_requests, (guint)position);
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
      g_signal_emit(self, chat_session_signals[SIGNAL_ROOM_CREATED], 0, st->contact);
    else
      g_signal_emit(self, chat_session_signals[SIGNAL_JOIN_ROOM_RESULT], 0,
                    chat_contact_get_id(st->contact), TRUE, "");
    break;
  }
}

static void handle_friend_request(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_user *user = &msg->user;
  if (find_request(self, user->id) >= 0)
    return;
  g_autoptr(ChatContact) requester = chat_session_contact_from_user(user);
  g_list_store_append(self->friend_requests, requester);
  g_signal_emit(self, chat_session_signals[SIGNAL_FRIEND_REQUEST], 0, requester);
}

static void handle_members(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_query_room_users_result *result = &msg->query_room_users_result;
  g_free(chat_session_settle_reply(self, REPLY_QUERY_MEMBERS, CHAT_CONTACT_ROOM, result->room_id));
  ContactState *st = chat_session_find_state(self, CHAT_CONTACT_ROOM, result->room_id);
  if (!st)
    return;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_object_unref);
  for (size_t i = 0; i < result->members.count; i++) {
    chat_msg_room_member m;
    chat_msg_room_member_at(&result->members, i, &m);
    g_autofree char *nickname = chat_wire_dup_span(m.nickname);
    g_autofree char *username = chat_wire_dup_span(m.username);
    g_ptr_array_add(list, chat_room_member_new(m.user_id, nickname, username, m.online));
  }
  chat_contact_set_members(st->contact, list);
}

/* The request of reply (taken off the queue, or NULL) failed: a send is
 * marked FAILED; with tell_add_friend an add_friend gets its
 * add-friend-result (a seed server says that with add_friend_result
 * itself); the user gets the reason as a notice. */
static void fail_reply(ChatSession *self, ReplyEntry *reply, const char *reason,
                       gboolean tell_add_friend) {
  gboolean add_friend = tell_add_friend && reply && reply->kind == REPLY_ADD_FRIEND;
  gboolean join = reply && reply->kind == REPLY_JOIN_ROOM;
  gint64 room_id = join ? reply->target_id : 0;
  if (reply && reply->kind == REPLY_SEARCH) {
    /* The search's caller shows it: not a notice for the whole app. */
    chat_session_search_reply_failed(reply, self->failure_code, reason);
    g_free(reply);
    return;
  }
  if (reply) {
    if (reply->kind == REPLY_SEND && reply->send) {
      OutboxEntry *entry = reply->send;
      reply->send = NULL;
      chat_session_fail_entry(self, entry, reason);
    }
    chat_session_abandon_reply(self, reply);
  }
  if (add_friend)
    g_signal_emit(self, chat_session_signals[SIGNAL_ADD_FRIEND_RESULT], 0, FALSE, reason);
  if (join)
    g_signal_emit(self, chat_session_signals[SIGNAL_JOIN_ROOM_RESULT], 0, room_id, FALSE, reason);
  self->reporting_failure = TRUE;
  g_signal_emit(self, chat_session_signals[SIGNAL_NOTICE], 0, reason);
  self->reporting_failure = FALSE;
}

/* A failure that names no request (seed general_failure, or a v2 one
 * without an id): it answers the oldest one waiting. */
static void handle_general_failure(ChatSession *self, const char *reason) {
  ReplyEntry *head = g_queue_peek_head(&self->replies);
  if (head && head->kind != REPLY_FENCE)
    g_queue_pop_head(&self->replies);
  else
    head = NULL;
  fail_reply(self, head, reason, FALSE);
}

static void handle_server_echo(ChatSession *self) {
  ReplyEntry *reply;
  while ((reply = g_queue_pop_head(&self->replies))) {
    gboolean fence = reply->kind == REPLY_FENCE;
    chat_session_abandon_reply(self, reply);
    if (fence)
      break;
  }
}

static void handle_kick(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_server_kick *kick = &msg->server_kick;
  g_autofree char *reason =
      kick->has_details ? chat_wire_dup_span(kick->reason) : g_strdup(CHAT_SEED_KICK_REASON);
  g_autofree char *address = kick->has_details ? chat_wire_dup_span(kick->address) : NULL;
  self->kicked = TRUE;
  g_signal_emit(self, chat_session_signals[SIGNAL_KICKED], 0, reason, address, kick->time);
  chat_session_release_connection(self);
  chat_session_lost_connection(self, NULL, FALSE);
}

static void handle_login_failed(ChatSession *self, const char *reason) {
  LoginPhase phase = self->phase;
  self->phase = PHASE_NONE;
  if (phase == PHASE_RESUME) {
    if (self->username)
      chat_resume_store_forget(self->state_dir, self->host_port, self->username);
    chat_session_clear_resume_token(self);
    reason = _("The saved login has expired; log in with your password.");
  }
  chat_session_set_state(self, chat_session_is_connected(self) ? CHAT_SESSION_CONNECTED
                                                               : CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, chat_session_signals[SIGNAL_LOGIN_FAILED], 0, reason);
}

static void handle_failure(ChatSession *self, const char *reason) {
  if (self->phase == PHASE_RESUME && self->state == CHAT_SESSION_RECONNECTING) {
    /* e.g. too many attempts: try again later. */
    g_message("resume refused: %s", reason);
    chat_session_release_connection(self);
    chat_session_lost_connection(self, reason, TRUE);
  } else if (self->phase != PHASE_NONE) {
    handle_login_failed(self, reason);
  } else {
    handle_general_failure(self, reason);
  }
}

static void handle_add_friend_result(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_add_friend_result *r = &msg->add_friend_result;
  g_autofree char *reason = chat_wire_dup_span(r->reason);
  g_free(chat_session_settle_reply(self, REPLY_ADD_FRIEND, CHAT_CONTACT_FRIEND, 0));
  g_signal_emit(self, chat_session_signals[SIGNAL_ADD_FRIEND_RESULT], 0, r->ok, reason);
  self->reporting_failure = !r->ok;
  g_signal_emit(self, chat_session_signals[SIGNAL_NOTICE], 0,
                r->ok ? _("The friend request was sent.") : reason);
  self->reporting_failure = FALSE;
}

static void handle_friend_on_off_line(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_friend_on_off_line *m = &msg->friend_on_off_line;
  ContactState *st = chat_session_find_state(self, CHAT_CONTACT_FRIEND, m->user_id);
  if (st)
    chat_contact_set_online(st->contact, m->online);
}

static void handle_room_user_on_off_line(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_room_user_on_off_line *m = &msg->room_user_on_off_line;
  ContactState *st = chat_session_find_state(self, CHAT_CONTACT_ROOM, m->room_id);
  if (st)
    chat_contact_set_member_online(st->contact, m->user_id, m->online);
}

static void handle_left_room(ChatSession *self, const ServerMessage *msg) {
  gint64 room_id = msg->integer.value;
  ContactState *st = chat_session_find_state(self, CHAT_CONTACT_ROOM, room_id);
  if (!st)
    return;
  chat_session_drop_state(self, st);
  chat_session_update_unread_total(self);
}

static void handle_profile_updated(ChatSession *self, const ServerMessage *msg) {
  const chat_msg_user *user = &msg->user;
  g_autofree char *nickname = chat_wire_dup_span(user->nickname);
  chat_session_set_account(self, self->user_id, self->username, nickname);
}

static void handle_general_msg(ChatSession *self, const ServerMessage *msg) {
  g_autofree char *text = chat_wire_dup_span(msg->str.value);
  g_signal_emit(self, chat_session_signals[SIGNAL_NOTICE], 0, text);
}

static void handle_register_successful(ChatSession *self, const ServerMessage *msg) {
  self->phase = PHASE_NONE;
  g_signal_emit(self, chat_session_signals[SIGNAL_REGISTER_DONE], 0, msg->integer.value);
}

static void handle_wrong_password(ChatSession *self, const ServerMessage *msg) {
  (void)msg;
  handle_login_failed(self, _("Wrong username or password."));
}

static void handle_username_taken(ChatSession *self, const ServerMessage *msg) {
  (void)msg;
  handle_login_failed(self, _("That username is already taken."));
}

static void handle_general_failure_msg(ChatSession *self, const ServerMessage *msg) {
  g_autofree char *reason = chat_wire_dup_span(msg->str.value);
  handle_failure(self, reason);
}

/* v2: a request failed, with its code (spec/protocol.md 5.7); the UI reads
 * the code with chat_session_get_failure_code while the signals run. */
static void handle_request_failed(ChatSession *self, const ServerMessage *msg) {
  chat_request_error code = chat_msg_request_failed_code(&msg->request_failed);
  g_autofree char *reason = chat_wire_dup_span(msg->request_failed.text);
  self->failure_code = code;
  if (self->phase != PHASE_NONE) {
    if (code == CHAT_REQUEST_ERROR_LOGIN_FAILED)
      handle_login_failed(self, _("Wrong username or password."));
    else if (code == CHAT_REQUEST_ERROR_USERNAME_TAKEN)
      handle_login_failed(self, _("That username is already taken."));
    else if (chat_request_error_info_of(code)->error_class ==
             CHAT_REQUEST_ERROR_CLASS_BAD_CREDENTIALS)
      handle_login_failed(self, reason);
    else
      handle_failure(self, reason);
  } else if (self->answer_has_id) {
    fail_reply(self, chat_session_take_reply_by_id(self, self->answer_id), reason, TRUE);
  } else {
    handle_general_failure(self, reason);
  }
  self->failure_code = CHAT_REQUEST_ERROR_UNKNOWN;
}

static void handle_password_changed(ChatSession *self, const ServerMessage *msg) {
  (void)msg;
  g_signal_emit(self, chat_session_signals[SIGNAL_NOTICE], 0, _("Your password was changed."));
}

static void handle_search_results(ChatSession *self, const ServerMessage *msg) {
  chat_session_handle_search_results(self, &msg->search_results);
}

static void handle_echo(ChatSession *self, const ServerMessage *msg) {
  (void)msg;
  handle_server_echo(self);
}

/* What each message does; the others (logged_out, chat_history,
 * notify_chat_history) need nothing. */
static const struct {
  guint32 type;
  void (*handle)(ChatSession *self, const ServerMessage *msg);
} handlers[] = {
    {CHAT_MSG_LOGIN_SUCCESSFUL, handle_login_successful},
    {CHAT_MSG_REGISTER_SUCCESSFUL, handle_register_successful},
    {CHAT_MSG_LOGIN_FAILED, handle_wrong_password},
    {CHAT_MSG_USERNAME_TAKEN, handle_username_taken},
    {CHAT_MSG_GENERAL_FAILURE, handle_general_failure_msg},
    {CHAT_MSG_REQUEST_FAILED, handle_request_failed},
    {CHAT_MSG_GENERAL_MSG, handle_general_msg},
    {CHAT_MSG_INCOMING_FRIEND_REQUEST, handle_friend_request},
    {CHAT_MSG_CONTACT_INFO, handle_contact_info},
    {CHAT_MSG_ADD_FRIEND_RESULT, handle_add_friend_result},
    {CHAT_MSG_FRIEND_ON_OFF_LINE, handle_friend_on_off_line},
    {CHAT_MSG_ON_NEW_MESSAGE, handle_new_message},
    {CHAT_MSG_SERVER_KICK, handle_kick},
    {CHAT_MSG_QUERY_ROOM_USERS_RESULT, handle_members},
    {CHAT_MSG_ROOM_USER_ON_OFF_LINE, handle_room_user_on_off_line},
    {CHAT_MSG_LOGIN_BUNDLE, handle_seed_bundle},
    {CHAT_MSG_SESSION_BUNDLE, handle_session_bundle},
    {CHAT_MSG_HISTORY_PAGE, handle_history_page},
    {CHAT_MSG_READ_MARKER, handle_read_marker},
    {CHAT_MSG_LEFT_ROOM, handle_left_room},
    {CHAT_MSG_PROFILE_UPDATED, handle_profile_updated},
    {CHAT_MSG_PASSWORD_CHANGED, handle_password_changed},
    {CHAT_MSG_SERVER_ECHO, handle_echo},
    {CHAT_MSG_SEARCH_RESULTS, handle_search_results},
};

static void dispatch(ChatSession *self, guint32 type, const ServerMessage *msg) {
  for (gsize i = 0; i < G_N_ELEMENTS(handlers); i++) {
    if (handlers[i].type == type) {
      handlers[i].handle(self, msg);
      return;
    }
  }
}

gboolean chat_session_handle_plaintext(ChatSession *self, chat_dialect dialect, const guint8 *data,
                                       gsize len) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_message_header header = {0};
  chat_value *params = NULL;
  chat_error err;
  gboolean ok = FALSE;
  const chat_message_info *info = NULL;
  const chat_msg_codec *codec = NULL;
  ServerMessage m;
  /* Borrowed: strings and bytes stay in the channel's (wiped) buffer. */
  int rc = chat_message_decode_with_id(dialect, data, len, NULL, CHAT_DECODE_BORROW, &arena,
                                       &header, &params, &err);
  guint32 type = header.type;
  if (rc != 0) {
    g_message("the server sent a message that does not decode: %s at offset %zu",
              chat_error_name(err.code), err.offset);
  } else if (!(info = chat_catalogue_lookup(type, dialect, CHAT_TO_CLIENT))) {
    g_message("the server sent message type %u, not a reply of the %s dialect", type,
              chat_dialect_name(dialect));
  } else if (chat_catalogue_check(type, params, &err) != 0) {
    g_message("the server sent %s with wrong parameters: %s", info->name, err.message);
  } else if (!(codec = chat_msg_codec_by_code(type)) || codec->size > sizeof m ||
             codec->read(params, &m, &err) != 0) {
    /* The catalogue accepted it: only an int past int64 gets here. */
    g_message("the server sent %s with parameters out of range: %s", info->name,
              codec ? err.message : "no reader");
  } else {
    /* The request this answers, when it says (v2). */
    self->answer_has_id = header.has_request_id;
    self->answer_id = header.request_id;
    dispatch(self, type, &m);
    self->answer_has_id = FALSE;
    ok = TRUE;
  }
  chat_arena_clear(&arena);
  return ok;
}
