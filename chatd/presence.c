#define G_LOG_DOMAIN "chatd"

#include "chatd/presence.h"

#include "chatd/session.h"
#include "protocol/catalogue.h"

/* One presence note, encoded at most once per dialect (when the first
 * recipient of that dialect needs it) and then shared by every recipient:
 * only the encryption is per recipient. */
typedef struct {
  guint32 type;
  gint64 a, b;
  gboolean online;
  gboolean is_room;
  GBytes *encoded[CHAT_DIALECT_COUNT];
} presence_note;

static GBytes *encode_note(presence_note *note, chat_dialect dialect) {
  if (note->encoded[dialect])
    return note->encoded[dialect];
  chat_writer *w = chatd_reply_begin(dialect, note->type);
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
  const guint8 *data;
  gsize len;
  if (!chatd_reply_bytes(&data, &len))
    return NULL;
  note->encoded[dialect] = g_bytes_new(data, len);
  return note->encoded[dialect];
}

static void send_note(ChatdSession *to, presence_note *note) {
  GBytes *message = encode_note(note, to->dialect);
  if (message)
    chatd_session_send_shared(to, message);
}

static void note_clear(presence_note *note) {
  for (int d = 0; d < CHAT_DIALECT_COUNT; d++)
    g_clear_pointer(&note->encoded[d], g_bytes_unref);
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
  note_clear(&note);
  for (guint i = 0; i < user->rooms->len; i++) {
    ChatdRoom *room =
        chatd_directory_room(server->directory, g_array_index(user->rooms, gint64, i));
    if (!room)
      continue;
    presence_note r = {.type = CHAT_MSG_ROOM_USER_ON_OFF_LINE,
                       .a = room->id,
                       .b = user->id,
                       .online = online,
                       .is_room = TRUE};
    for (guint k = 0; k < room->members->len; k++) {
      gint64 member_id = g_array_index(room->members, gint64, k);
      if (member_id == user->id)
        continue;
      ChatdUser *member = chatd_directory_user(server->directory, member_id);
      if (member && member->session)
        send_note(member->session, &r);
    }
    note_clear(&r);
  }
}
