/* Importing the seed's users, friendships and friend requests, rooms and
 * members (see import-seed-private.h). Users are read and checked in full
 * before anything is written: their checks are the only fatal ones. Rows of
 * the other tables that cannot be imported are skipped and reported. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/import-seed-private.h"
#include "common/username.h"

/* A seed password hash: unsalted MD5 as lowercase hex, the form
 * chatd_passwords_is_legacy_hash() recognises. */
#define LEGACY_HASH_HEX_LEN 32

/* ---- pair sets ---- */

/* Ordered pairs of ids (friend rows, memberships). */
typedef struct {
  gint64 first, second;
} IdPair;

static guint id_pair_hash(gconstpointer p) {
  const IdPair *pair = p;
  return g_int64_hash(&pair->first) * 31u + g_int64_hash(&pair->second);
}

static gboolean id_pair_equal(gconstpointer a, gconstpointer b) {
  const IdPair *x = a, *y = b;
  return x->first == y->first && x->second == y->second;
}

static GHashTable *pair_set_new(void) {
  return g_hash_table_new_full(id_pair_hash, id_pair_equal, g_free, NULL);
}

static gboolean pair_set_add(GHashTable *set, gint64 first, gint64 second) {
  IdPair pair = {first, second};
  return g_hash_table_add(set, g_memdup2(&pair, sizeof pair));
}

static gboolean pair_set_contains(GHashTable *set, gint64 first, gint64 second) {
  IdPair pair = {first, second};
  return g_hash_table_contains(set, &pair);
}

/* ---- users ---- */

void import_seed_user_clear(gpointer data) {
  SeedUser *user = data;
  g_free(user->username);
  g_free(user->nickname);
  g_free(user->password_hash);
}

/* Exactly 32 lowercase hexadecimal digits: the rule of
 * chatd_passwords_is_legacy_hash() (passwords.c), which the server applies
 * when it verifies the imported hash. */
static gboolean is_legacy_hash(const char *hash) {
  gsize i;
  for (i = 0; hash[i] != '\0'; i++) {
    gboolean lower_hex = g_ascii_isdigit(hash[i]) || (hash[i] >= 'a' && hash[i] <= 'f');
    if (i >= LEGACY_HASH_HEX_LEN || !lower_hex)
      return FALSE;
  }
  return i == LEGACY_HASH_HEX_LEN;
}

/* Reads and checks one users row into *user. */
static gboolean read_user(sqlite3_stmt *stmt, guint64 ordinal, SeedUser *user, GError **error) {
  if (!seed_column_integer(stmt, USER_ID, &user->id) || user->id <= 0)
    return import_data_error(error,
                             "users row %" G_GUINT64_FORMAT " (in id order): the id "
                             "is not a positive integer",
                             ordinal);
  const char *username = seed_column_text(stmt, USER_NAME);
  if (username == NULL || !g_utf8_validate(username, -1, NULL))
    return import_data_error(error, "user %" G_GINT64_FORMAT ": the username is %s", user->id,
                             username == NULL ? "NULL" : "not valid UTF-8");
  /* The rule of login (common/username.h), so an imported user logs in
   * with the name they used in the seed. */
  user->username = chat_username_normalize(username, -1);
  if (user->username[0] == '\0')
    return import_data_error(error, "user %" G_GINT64_FORMAT ": the username is empty", user->id);
  const char *password = seed_column_text(stmt, USER_PASSWORD);
  if (password == NULL || !is_legacy_hash(password))
    return import_data_error(error,
                             "user %" G_GINT64_FORMAT " (\"%s\"): the stored password "
                             "is not an MD5 hash as the seed writes them (32 lowercase "
                             "hexadecimal digits)",
                             user->id, user->username);
  user->password_hash = g_strdup(password);
  const char *nickname = seed_column_text(stmt, USER_NICKNAME);
  if (nickname != NULL && !g_utf8_validate(nickname, -1, NULL))
    return import_data_error(error,
                             "user %" G_GINT64_FORMAT " (\"%s\"): the nickname is not "
                             "valid UTF-8",
                             user->id, user->username);
  /* the seed shows the username where there is no nickname */
  user->nickname = g_strdup(nickname != NULL ? nickname : user->username);
  return TRUE;
}

/* Reads one users row into st->seed_users; by_name maps each normalised
 * username to its id. */
static gboolean load_user_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                              gpointer by_name, GError **error) {
  SeedUser user = {0};
  if (!read_user(stmt, ordinal, &user, error)) {
    import_seed_user_clear(&user);
    return FALSE;
  }
  const gint64 *other = g_hash_table_lookup(by_name, user.username);
  if (other != NULL || !id_set_add(st->user_ids, user.id)) {
    if (other != NULL)
      import_data_error(error,
                        "users %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " both have "
                        "the username \"%s\" once trimmed and lower-cased",
                        *other, user.id, user.username);
    else
      import_data_error(error, "two users rows have the id %" G_GINT64_FORMAT, user.id);
    import_seed_user_clear(&user);
    return FALSE;
  }
  g_hash_table_insert(by_name, g_strdup(user.username), g_memdup2(&user.id, sizeof user.id));
  g_array_append_val(st->seed_users, user);
  return TRUE;
}

gboolean import_load_users(ImportState *st, GError **error) {
  static const int order[] = {USER_ID, -1};
  /* normalised username -> id */
  g_autoptr(GHashTable) by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return import_seed_scan(st, &st->users, order, load_user_row, by_name, error);
}

gboolean import_users(ImportState *st, GError **error) {
  for (guint i = 0; i < st->seed_users->len; i++) {
    const SeedUser *user = &g_array_index(st->seed_users, SeedUser, i);
    WriteOp op = {.kind = WRITE_USER,
                  .a = user->id,
                  .counter = COUNT_USERS,
                  .username = user->username,
                  .nickname = user->nickname,
                  .password_hash = user->password_hash};
    if (!import_submit(st, &op, error))
      return FALSE;
  }
  return import_settle(st, error);
}

/* ---- friends ---- */

/* The seed's accepted column: "1"/"true" (TEXT, any case) or integer 1 is
 * accepted; "0"/"false", integer 0 and NULL are pending. FALSE for anything
 * else. */
static gboolean read_accepted(sqlite3_stmt *stmt, int column, gboolean *accepted) {
  switch (sqlite3_column_type(stmt, column)) {
  case SQLITE_NULL:
    *accepted = FALSE;
    return TRUE;
  case SQLITE_INTEGER: {
    gint64 value = sqlite3_column_int64(stmt, column);
    *accepted = value == 1;
    return value == 0 || value == 1;
  }
  case SQLITE_TEXT: {
    g_autofree char *text = g_strstrip(g_strdup(seed_column_text(stmt, column)));
    if (strcmp(text, "1") == 0 || g_ascii_strcasecmp(text, "true") == 0) {
      *accepted = TRUE;
      return TRUE;
    }
    if (strcmp(text, "0") == 0 || g_ascii_strcasecmp(text, "false") == 0) {
      *accepted = FALSE;
      return TRUE;
    }
    return FALSE;
  }
  default:
    return FALSE;
  }
}

/* Checks one friends row; FALSE (reported) when it is skipped. */
static gboolean read_friend_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal, IdPair *pair,
                                gboolean *accepted) {
  if (!seed_column_integer(stmt, FRIEND_FROM, &pair->first) ||
      !seed_column_integer(stmt, FRIEND_TO, &pair->second)) {
    import_report_skip(st, "friends row %" G_GUINT64_FORMAT ": a user id is not an integer",
                       ordinal);
    return FALSE;
  }
  gboolean first_known = id_set_contains(st->user_ids, pair->first);
  if (!first_known || !id_set_contains(st->user_ids, pair->second)) {
    import_report_skip(
        st, "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": no user %" G_GINT64_FORMAT,
        pair->first, pair->second, first_known ? pair->second : pair->first);
    return FALSE;
  }
  if (pair->first == pair->second) {
    import_report_skip(st,
                       "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": a user "
                       "cannot befriend themself",
                       pair->first, pair->second);
    return FALSE;
  }
  if (!read_accepted(stmt, FRIEND_ACCEPTED, accepted)) {
    const char *text = seed_column_text(stmt, FRIEND_ACCEPTED);
    import_report_skip(st,
                       "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": accepted "
                       "is \"%s\", neither true nor false",
                       pair->first, pair->second, text != NULL ? text : "");
    return FALSE;
  }
  return TRUE;
}

/* The friends rows to import, each once. */
typedef struct {
  GHashTable *friends;  /* (min, max) */
  GHashTable *requests; /* (from, to) */
  GArray *friend_list;  /* IdPair */
  GArray *request_list; /* IdPair */
} FriendRows;

static gboolean collect_friend_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                                   gpointer data, GError **error) {
  (void)error;
  FriendRows *rows = data;
  IdPair pair;
  gboolean accepted = FALSE;
  if (!read_friend_row(st, stmt, ordinal, &pair, &accepted))
    return TRUE;
  /* an accepted friendship is one pair, whichever rows the seed has */
  if (accepted &&
      pair_set_add(rows->friends, MIN(pair.first, pair.second), MAX(pair.first, pair.second)))
    g_array_append_val(rows->friend_list, pair);
  else if (!accepted && pair_set_add(rows->requests, pair.first, pair.second))
    g_array_append_val(rows->request_list, pair);
  return TRUE;
}

gboolean import_friends(ImportState *st, GError **error) {
  static const int order[] = {FRIEND_FROM, FRIEND_TO, -1};
  g_autoptr(GHashTable) friends = pair_set_new();
  g_autoptr(GHashTable) requests = pair_set_new();
  g_autoptr(GArray) friend_list = g_array_new(FALSE, FALSE, sizeof(IdPair));
  g_autoptr(GArray) request_list = g_array_new(FALSE, FALSE, sizeof(IdPair));
  FriendRows rows = {friends, requests, friend_list, request_list};
  if (!import_seed_scan(st, &st->friends, order, collect_friend_row, &rows, error))
    return FALSE;

  for (guint i = 0; i < friend_list->len; i++) {
    const IdPair *pair = &g_array_index(friend_list, IdPair, i);
    WriteOp request = {
        .kind = WRITE_FRIEND_REQUEST, .a = pair->first, .b = pair->second, .counter = COUNT_NONE};
    WriteOp accept = {
        .kind = WRITE_ACCEPT, .a = pair->first, .b = pair->second, .counter = COUNT_FRIENDSHIPS};
    if (!import_submit(st, &request, error) || !import_submit(st, &accept, error))
      return FALSE;
  }
  for (guint i = 0; i < request_list->len; i++) {
    const IdPair *pair = &g_array_index(request_list, IdPair, i);
    if (pair_set_contains(friends, MIN(pair->first, pair->second),
                          MAX(pair->first, pair->second))) {
      import_report_skip(st,
                         "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": pending, "
                         "but they are friends already",
                         pair->first, pair->second);
      continue;
    }
    WriteOp request = {.kind = WRITE_FRIEND_REQUEST,
                       .a = pair->first,
                       .b = pair->second,
                       .counter = COUNT_REQUESTS};
    if (!import_submit(st, &request, error))
      return FALSE;
  }
  return import_settle(st, error);
}

/* ---- rooms and members ---- */

static gboolean import_room_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal, gpointer data,
                                GError **error) {
  (void)data;
  gint64 id = 0;
  if (!seed_column_integer(stmt, ROOM_ID, &id) || id <= 0) {
    import_report_skip(st,
                       "rooms row %" G_GUINT64_FORMAT " (in id order): the id is not a "
                       "positive integer",
                       ordinal);
    return TRUE;
  }
  const char *name = seed_column_text(stmt, ROOM_NAME);
  if (name != NULL && !g_utf8_validate(name, -1, NULL)) {
    import_report_skip(st, "room %" G_GINT64_FORMAT ": the name is not valid UTF-8", id);
    return TRUE;
  }
  if (!id_set_add(st->room_ids, id)) {
    import_report_skip(st, "room %" G_GINT64_FORMAT ": a second row with that id", id);
    return TRUE;
  }
  WriteOp op = {
      .kind = WRITE_ROOM, .a = id, .counter = COUNT_ROOMS, .room_name = name != NULL ? name : ""};
  return import_submit(st, &op, error);
}

gboolean import_rooms(ImportState *st, GError **error) {
  static const int order[] = {ROOM_ID, -1};
  return import_seed_scan(st, &st->rooms, order, import_room_row, NULL, error) &&
         import_settle(st, error);
}

/* seen: the (room, user) pairs imported so far. */
static gboolean import_member_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                                  gpointer seen, GError **error) {
  gint64 room = 0, user = 0;
  if (!seed_column_integer(stmt, MEMBER_ROOM, &room) ||
      !seed_column_integer(stmt, MEMBER_USER, &user)) {
    import_report_skip(st, "%s row %" G_GUINT64_FORMAT ": an id is not an integer",
                       st->members.table, ordinal);
    return TRUE;
  }
  if (!id_set_contains(st->room_ids, room) || !id_set_contains(st->user_ids, user)) {
    import_report_skip(st,
                       "%s row (room %" G_GINT64_FORMAT ", user %" G_GINT64_FORMAT "): no "
                       "such %s",
                       st->members.table, room, user,
                       !id_set_contains(st->room_ids, room) ? "room" : "user");
    return TRUE;
  }
  if (!pair_set_add(seen, room, user)) {
    import_report_skip(st,
                       "%s row (room %" G_GINT64_FORMAT ", user %" G_GINT64_FORMAT "): a "
                       "second row for that membership",
                       st->members.table, room, user);
    return TRUE;
  }
  WriteOp op = {.kind = WRITE_MEMBER, .a = room, .b = user, .counter = COUNT_MEMBERS};
  return import_submit(st, &op, error);
}

gboolean import_members(ImportState *st, GError **error) {
  static const int order[] = {MEMBER_ROOM, MEMBER_USER, -1};
  g_autoptr(GHashTable) seen = pair_set_new();
  return import_seed_scan(st, &st->members, order, import_member_row, seen, error) &&
         import_settle(st, error);
}
