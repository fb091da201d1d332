/* The directory: everything chatd knows about users, friendships, friend
 * requests, rooms and memberships, in memory.
 *
 * It is loaded from the store once at start and then changed by the
 * handlers, so that it never disagrees with the database: a new user, room,
 * nickname or password comes in once its write is committed; a change that
 * must be visible at once (a friend request, a membership, so that a second
 * request sees it) is made first and undone if its write fails. User and
 * room ids are chosen by the store (chatd_store_create_user); message ids
 * here (largest + 1) when chatd runs alone, by the store in a cluster. Lookups by id and by
 * username are hash lookups; a user's friends, requests and rooms and a room's members are small
 * sets, so no operation walks all users or all connections.
 *
 * Threads: the directory belongs to chatd's main thread, like the sessions
 * and the handlers that change it; the I/O threads never see it (they only
 * carry bytes, see session-io.h). Nothing here locks. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ChatdSession ChatdSession;

typedef struct {
  gint64 id;
  char *username; /* trimmed, lower-case */
  char *nickname;
  char *password_hash;       /* PHC string, or a legacy seed MD5 hex */
  GHashTable *friends;       /* set of friend ids (GINT64 keys, see directory.c) */
  GArray *incoming_requests; /* gint64 requester ids, oldest first */
  GHashTable *outgoing;      /* set of user ids this user asked to be friends */
  GArray *rooms;             /* gint64 room ids, in joining order */
  ChatdSession *session;     /* the logged-in connection, or NULL */
  const char *online_at;     /* in a cluster: the node (interned name) where the user is
                                logged in when it is not here, or NULL (cluster.h) */
  gint64 online_since_ms;    /* when that login happened */
  guint password_writes;     /* writes of password_hash not yet committed */
} ChatdUser;

typedef struct {
  gint64 id;
  char *name;
  GArray *members;           /* gint64 user ids, in joining order */
  GHashTable *first_message; /* user id -> first message id the member sees */
} ChatdRoom;

typedef struct _ChatdDirectory ChatdDirectory;

ChatdDirectory *chatd_directory_new(void);
void chatd_directory_free(ChatdDirectory *directory);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdDirectory, chatd_directory_free)

/* The username rule (common/username.h) for name[0..len): trimmed, lower
 * case. Returns a new string, or NULL when name holds a NUL: no username
 * does (it is a control character, names.h), and a C string would end
 * there, so "bob\0x" must not become "bob". */
char *chatd_normalize_username(const char *name, gsize len);

/* ---- users ---- */
ChatdUser *chatd_directory_user(ChatdDirectory *d, gint64 id);
ChatdUser *chatd_directory_user_by_name(ChatdDirectory *d, const char *username);
/* Adds a user with a given id (loading) or the next id (id = 0). The
 * username must not exist. */
ChatdUser *chatd_directory_add_user(ChatdDirectory *d, gint64 id, const char *username,
                                    const char *nickname, const char *password_hash);
void chatd_user_set_nickname(ChatdUser *user, const char *nickname);
void chatd_user_set_password_hash(ChatdUser *user, const char *password_hash);
guint chatd_directory_user_count(ChatdDirectory *d);
/* Every user (ChatdUser *), in no order; free the list with g_list_free. */
GList *chatd_directory_users(ChatdDirectory *d);
/* Every room (ChatdRoom *), in no order; free the list with g_list_free. */
GList *chatd_directory_rooms(ChatdDirectory *d);

/* ---- friends ---- */
gboolean chatd_user_is_friend(const ChatdUser *user, gint64 other_id);
gboolean chatd_user_has_asked(const ChatdUser *from, gint64 to_id);
/* Records a pending request from -> to. */
void chatd_directory_add_request(ChatdDirectory *d, ChatdUser *from, ChatdUser *to);
/* Drops the pending request from -> to; FALSE if there was none. */
gboolean chatd_directory_remove_request(ChatdDirectory *d, ChatdUser *from, ChatdUser *to);
/* Makes a and b friends both ways. */
void chatd_directory_add_friendship(ChatdDirectory *d, ChatdUser *a, ChatdUser *b);
/* Undoes chatd_directory_add_friendship (when the store refused it). */
void chatd_directory_remove_friendship(ChatdDirectory *d, ChatdUser *a, ChatdUser *b);

/* ---- rooms ---- */
ChatdRoom *chatd_directory_room(ChatdDirectory *d, gint64 id);
/* Adds a room with a given id (loading) or the next id (id = 0). */
ChatdRoom *chatd_directory_add_room(ChatdDirectory *d, gint64 id, const char *name);
gboolean chatd_room_has_member(const ChatdRoom *room, gint64 user_id);
/* The first message id the member sees (0 when not a member). */
gint64 chatd_room_first_message(const ChatdRoom *room, gint64 user_id);
void chatd_directory_add_member(ChatdDirectory *d, ChatdRoom *room, ChatdUser *user,
                                gint64 first_message_id);
/* FALSE when the user was not a member. */
gboolean chatd_directory_remove_member(ChatdDirectory *d, ChatdRoom *room, ChatdUser *user);

/* ---- message ids ---- */
/* The largest message id handed out (or loaded). */
gint64 chatd_directory_last_message_id(ChatdDirectory *d);
void chatd_directory_set_last_message_id(ChatdDirectory *d, gint64 id);
gint64 chatd_directory_next_message_id(ChatdDirectory *d);

G_END_DECLS
