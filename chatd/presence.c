#define G_LOG_DOMAIN "chatd"

#include "chatd/presence.h"

#include "chatd/session.h"
#include "protocol/catalogue.h"

/* Encodes a message once per dialect (lazily) and sends it to sessions. */
typedef struct {
  guint32 type;
  gint64 a, b;
  gboolean online;
  gboolean is_room;
} presence_note;

static void send_note(ChatdSession *to, const presence_note *note) {
  chat_writer *w = chatd_session_begin(to, note->type);
  chat_write_list_begin(w);
  if (note->is_room) {
    chat_write_int(w, note->a);
    chat_write_int(w, note->b);
    chat_write_bool(w, note->online);
  } else {
    chat_write_bool(w, note->online);
    chat_write_int(w, note->a);
  }
  chat_write_list_end(w);
  chatd_reply_send(to);
}

void chatd_presence_announce(ChatdServer *server, ChatdUser *user, gboolean online) {
  GHashTableIter it;
  gpointer key;
  presence_note note = {.type = CHAT_MSG_FRIEND_ON_OFF_LINE, .a = user->id, .online = online};
  g_hash_table_iter_init(&it, user->friends);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    ChatdUser *friend = chatd_directory_user(server->directory, (gint64)(gintptr)key);
    if (friend && friend->session)
      send_note(friend->session, &note);
  }
  for (guint i = 0; i < user->rooms->len; i++) {
    ChatdRoom *room = chatd_directory_room(server->directory, g_array_index(user->rooms, gint64, i));
    if (!room)
      continue;
    presence_note r = {.type = CHAT_MSG_ROOM_USER_ON_OFF_LINE, .a = room->id, .b = user->id,
                       .online = online, .is_room = TRUE};
    for (guint k = 0; k < room->members->len; k++) {
      gint64 member_id = g_array_index(room->members, gint64, k);
      if (member_id == user->id)
        continue;
      ChatdUser *member = chatd_directory_user(server->directory, member_id);
      if (member && member->session)
        send_note(member->session, &r);
    }
  }
}
