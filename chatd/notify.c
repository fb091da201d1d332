/* What this node's connections are told about others' changes (notify.h). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/notify.h"

#include "chatd/encode.h"
#include "chatd/session.h"
#include "protocol/catalogue.h"

/* Does `user` get a message live here? Logged in here, and logged in before
 * the message got its id (else the login bundle carries it). */
static gboolean gets_live(const ChatdUser *user, gint64 message_id) {
  return user && user->session && user->session->user == user &&
         user->session->history_cutoff < message_id;
}

/* A seed login in a cluster whose bundle is not sent yet keeps the message
 * for then (login.c); TRUE when it did. */
static gboolean held(ChatdSession *to, const ChatdMessageRecord *r) {
  if (!to->held)
    return FALSE;
  g_ptr_array_add(to->held, chatd_message_record_copy(r));
  return TRUE;
}

void chatd_deliver_message(ChatdServer *server, const ChatdMessageRecord *r) {
  const ChatdUser *sender = chatd_directory_user(server->directory, r->sender_id);
  if (r->target_type == CHATD_STORE_TARGET_USER) {
    ChatdUser *receiver = chatd_directory_user(server->directory, r->target_id);
    if (gets_live(receiver, r->id) && !held(receiver->session, r)) {
      ChatdSession *to = receiver->session;
      chatd_write_notice(chatd_session_begin(to, CHAT_MSG_ON_NEW_MESSAGE), to->dialect, r, sender,
                         receiver->id, CHATD_BODY_FULL);
      chatd_notify_send(to);
    }
    return;
  }
  ChatdRoom *room = chatd_directory_room(server->directory, r->target_id);
  if (!room)
    return;
  GBytes *encoded[CHAT_DIALECT_COUNT] = {NULL};
  for (guint i = 0; i < room->members->len; i++) {
    gint64 member_id = g_array_index(room->members, gint64, i);
    if (member_id == r->sender_id)
      continue;
    ChatdUser *member = chatd_directory_user(server->directory, member_id);
    if (!gets_live(member, r->id) || chatd_room_first_message(room, member_id) > r->id ||
        held(member->session, r))
      continue;
    chat_dialect d = member->session->dialect;
    if (!encoded[d]) {
      chatd_write_notice(chatd_reply_begin(d, CHAT_MSG_ON_NEW_MESSAGE), d, r, sender, member_id,
                         CHATD_BODY_FULL);
      const guint8 *data;
      gsize len;
      if (!chatd_reply_bytes(&data, &len))
        break;
      encoded[d] = g_bytes_new(data, len);
    }
    chatd_session_send_shared(member->session, encoded[d]);
  }
  for (int d = 0; d < CHAT_DIALECT_COUNT; d++)
    g_clear_pointer(&encoded[d], g_bytes_unref);
}

void chatd_deliver_to(ChatdSession *to, const ChatdMessageRecord *r) {
  ChatdServer *server = to->server;
  const ChatdUser *sender = chatd_directory_user(server->directory, r->sender_id);
  chatd_write_notice(chatd_session_begin(to, CHAT_MSG_ON_NEW_MESSAGE), to->dialect, r, sender,
                     to->user ? to->user->id : 0, CHATD_BODY_FULL);
  chatd_notify_send(to);
}

void chatd_notify_friend_request(ChatdServer *server, const ChatdUser *from, const ChatdUser *to) {
  (void)server;
  if (!to->session)
    return;
  chatd_write_user(chatd_session_begin(to->session, CHAT_MSG_INCOMING_FRIEND_REQUEST), from);
  chatd_notify_send(to->session);
}

void chatd_notify_friend_accepted(ChatdServer *server, const ChatdUser *requester,
                                  const ChatdUser *accepter) {
  (void)server;
  if (!requester->session)
    return;
  chatd_write_friend_contact(chatd_session_begin(requester->session, CHAT_MSG_CONTACT_INFO),
                             accepter);
  chatd_notify_send(requester->session);
}

void chatd_notify_contact_changed(ChatdServer *server, const ChatdUser *user) {
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, user->friends);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    ChatdUser *friend = chatd_directory_user(server->directory, (gint64)(gintptr)key);
    if (friend && friend->session) {
      chatd_write_friend_contact(chatd_session_begin(friend->session, CHAT_MSG_CONTACT_INFO), user);
      chatd_notify_send(friend->session);
    }
  }
}

void chatd_notify_member_left(ChatdServer *server, const ChatdRoom *room, gint64 user_id) {
  for (guint i = 0; i < room->members->len; i++) {
    ChatdUser *member =
        chatd_directory_user(server->directory, g_array_index(room->members, gint64, i));
    if (!member || !member->session)
      continue;
    chat_msg_room_user_on_off_line note = {.room_id = room->id, .user_id = user_id};
    chat_msg_room_user_on_off_line_write(
        chatd_session_begin(member->session, CHAT_MSG_ROOM_USER_ON_OFF_LINE), &note);
    chatd_notify_send(member->session);
  }
}
