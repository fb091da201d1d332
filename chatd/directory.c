/* The in-memory directory. Ids are gint64 in the store; in hash tables they
 * are stored as pointers, which holds on the 64-bit hosts chatd targets (a
 * static assertion checks it). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/directory.h"

#include <string.h>

#include "common/username.h"

G_STATIC_ASSERT(sizeof(gpointer) >= sizeof(gint64));

#define ID_KEY(id) ((gpointer)(gintptr)(id))
#define KEY_ID(p) ((gint64)(gintptr)(p))

struct _ChatdDirectory {
  GHashTable *users_by_id;   /* id -> ChatdUser* (owned) */
  GHashTable *users_by_name; /* username -> ChatdUser* */
  GHashTable *rooms;         /* id -> ChatdRoom* (owned) */
  gint64 last_user_id;
  gint64 last_room_id;
  gint64 last_message_id;
};

static void user_free(gpointer p) {
  ChatdUser *u = p;
  g_free(u->username);
  g_free(u->nickname);
  if (u->password_hash)
    memset(u->password_hash, 0, strlen(u->password_hash));
  g_free(u->password_hash);
  g_hash_table_unref(u->friends);
  g_hash_table_unref(u->outgoing);
  g_array_unref(u->incoming_requests);
  g_array_unref(u->rooms);
  g_free(u);
}

static void room_free(gpointer p) {
  ChatdRoom *r = p;
  g_free(r->name);
  g_array_unref(r->members);
  g_hash_table_unref(r->first_message);
  g_free(r);
}

ChatdDirectory *chatd_directory_new(void) {
  ChatdDirectory *d = g_new0(ChatdDirectory, 1);
  d->users_by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, user_free);
  d->users_by_name = g_hash_table_new(g_str_hash, g_str_equal);
  d->rooms = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, room_free);
  return d;
}

void chatd_directory_free(ChatdDirectory *d) {
  if (!d)
    return;
  g_hash_table_unref(d->users_by_name);
  g_hash_table_unref(d->users_by_id);
  g_hash_table_unref(d->rooms);
  g_free(d);
}

char *chatd_normalize_username(const char *name, gsize len) {
  if (name && memchr(name, '\0', len))
    return NULL;
  return chat_username_normalize(name, (gssize)len);
}

ChatdUser *chatd_directory_user(ChatdDirectory *d, gint64 id) {
  return g_hash_table_lookup(d->users_by_id, ID_KEY(id));
}

ChatdUser *chatd_directory_user_by_name(ChatdDirectory *d, const char *username) {
  return g_hash_table_lookup(d->users_by_name, username);
}

ChatdUser *chatd_directory_add_user(ChatdDirectory *d, gint64 id, const char *username,
                                    const char *nickname, const char *password_hash) {
  g_return_val_if_fail(!chatd_directory_user_by_name(d, username), NULL);
  if (id == 0)
    id = d->last_user_id + 1;
  if (id > d->last_user_id)
    d->last_user_id = id;
  ChatdUser *u = g_new0(ChatdUser, 1);
  u->id = id;
  u->username = g_strdup(username);
  u->nickname = g_strdup(nickname);
  u->password_hash = g_strdup(password_hash);
  u->friends = g_hash_table_new(g_direct_hash, g_direct_equal);
  u->outgoing = g_hash_table_new(g_direct_hash, g_direct_equal);
  u->incoming_requests = g_array_new(FALSE, FALSE, sizeof(gint64));
  u->rooms = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_hash_table_insert(d->users_by_id, ID_KEY(id), u);
  g_hash_table_insert(d->users_by_name, u->username, u);
  return u;
}

void chatd_user_set_nickname(ChatdUser *user, const char *nickname) {
  g_free(user->nickname);
  user->nickname = g_strdup(nickname);
}

void chatd_user_set_password_hash(ChatdUser *user, const char *password_hash) {
  if (user->password_hash)
    memset(user->password_hash, 0, strlen(user->password_hash));
  g_free(user->password_hash);
  user->password_hash = g_strdup(password_hash);
}

guint chatd_directory_user_count(ChatdDirectory *d) {
  return g_hash_table_size(d->users_by_id);
}

gboolean chatd_user_is_friend(const ChatdUser *user, gint64 other_id) {
  return g_hash_table_contains(user->friends, ID_KEY(other_id));
}

gboolean chatd_user_has_asked(const ChatdUser *from, gint64 to_id) {
  return g_hash_table_contains(from->outgoing, ID_KEY(to_id));
}

void chatd_directory_add_request(ChatdDirectory *d, ChatdUser *from, ChatdUser *to) {
  (void)d;
  if (chatd_user_has_asked(from, to->id))
    return;
  g_hash_table_add(from->outgoing, ID_KEY(to->id));
  g_array_append_val(to->incoming_requests, from->id);
}

gboolean chatd_directory_remove_request(ChatdDirectory *d, ChatdUser *from, ChatdUser *to) {
  (void)d;
  if (!g_hash_table_remove(from->outgoing, ID_KEY(to->id)))
    return FALSE;
  for (guint i = 0; i < to->incoming_requests->len; i++) {
    if (g_array_index(to->incoming_requests, gint64, i) == from->id) {
      g_array_remove_index(to->incoming_requests, i);
      break;
    }
  }
  return TRUE;
}

void chatd_directory_add_friendship(ChatdDirectory *d, ChatdUser *a, ChatdUser *b) {
  (void)d;
  g_hash_table_add(a->friends, ID_KEY(b->id));
  g_hash_table_add(b->friends, ID_KEY(a->id));
}

void chatd_directory_remove_friendship(ChatdDirectory *d, ChatdUser *a, ChatdUser *b) {
  (void)d;
  g_hash_table_remove(a->friends, ID_KEY(b->id));
  g_hash_table_remove(b->friends, ID_KEY(a->id));
}

ChatdRoom *chatd_directory_room(ChatdDirectory *d, gint64 id) {
  return g_hash_table_lookup(d->rooms, ID_KEY(id));
}

ChatdRoom *chatd_directory_add_room(ChatdDirectory *d, gint64 id, const char *name) {
  if (id == 0)
    id = d->last_room_id + 1;
  g_return_val_if_fail(!chatd_directory_room(d, id), NULL);
  if (id > d->last_room_id)
    d->last_room_id = id;
  ChatdRoom *r = g_new0(ChatdRoom, 1);
  r->id = id;
  r->name = g_strdup(name);
  r->members = g_array_new(FALSE, FALSE, sizeof(gint64));
  r->first_message = g_hash_table_new(g_direct_hash, g_direct_equal);
  g_hash_table_insert(d->rooms, ID_KEY(id), r);
  return r;
}

gboolean chatd_room_has_member(const ChatdRoom *room, gint64 user_id) {
  return g_hash_table_contains(room->first_message, ID_KEY(user_id));
}

gint64 chatd_room_first_message(const ChatdRoom *room, gint64 user_id) {
  return KEY_ID(g_hash_table_lookup(room->first_message, ID_KEY(user_id)));
}

void chatd_directory_add_member(ChatdDirectory *d, ChatdRoom *room, ChatdUser *user,
                                gint64 first_message_id) {
  (void)d;
  if (chatd_room_has_member(room, user->id))
    return;
  g_hash_table_insert(room->first_message, ID_KEY(user->id), ID_KEY(first_message_id));
  g_array_append_val(room->members, user->id);
  g_array_append_val(user->rooms, room->id);
}

static void remove_id(GArray *ids, gint64 id) {
  for (guint i = 0; i < ids->len; i++) {
    if (g_array_index(ids, gint64, i) == id) {
      g_array_remove_index(ids, i);
      return;
    }
  }
}

gboolean chatd_directory_remove_member(ChatdDirectory *d, ChatdRoom *room, ChatdUser *user) {
  (void)d;
  if (!g_hash_table_remove(room->first_message, ID_KEY(user->id)))
    return FALSE;
  remove_id(room->members, user->id);
  remove_id(user->rooms, room->id);
  return TRUE;
}

gint64 chatd_directory_last_message_id(ChatdDirectory *d) {
  return d->last_message_id;
}

void chatd_directory_set_last_message_id(ChatdDirectory *d, gint64 id) {
  if (id > d->last_message_id)
    d->last_message_id = id;
}

gint64 chatd_directory_next_message_id(ChatdDirectory *d) {
  return ++d->last_message_id;
}

GList *chatd_directory_users(ChatdDirectory *d) {
  return g_hash_table_get_values(d->users_by_id);
}

GList *chatd_directory_rooms(ChatdDirectory *d) {
  return g_hash_table_get_values(d->rooms);
}
