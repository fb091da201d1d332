/* The seed database importer (see import-seed.h).
 *
 * The one file outside the store that reads SQLite: it reads a foreign file,
 * read-only, in one read transaction (so both passes over chat_history see
 * the same rows). Everything it writes goes through the store's asynchronous
 * API; after each phase it flushes the store and runs the completions on the
 * calling thread's thread-default context, checking every one.
 *
 * Order: check the store is empty, open the seed, resolve every table and
 * column, read and validate all users (the only fatal data checks), check
 * that completions run here (a write that changes nothing), then write
 * users, friendships and requests, rooms, members, messages.
 *
 * Completions hold a reference to an ImportSink, not to the caller's stack,
 * so that even a completion that runs after the import gave up (wrong
 * context) touches valid memory. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/import-seed.h"

#include <sqlite3.h>
#include <string.h>

#include "common/username.h"
#include "protocol/arena.h"
#include "protocol/error.h"
#include "protocol/messages.h"
#include "protocol/value.h"

G_DEFINE_QUARK(chatd-import-error-quark, chatd_import_error)

/* How long a read of the seed file waits for a lock held by a running seed
 * server. */
#define SEED_BUSY_TIMEOUT_MS 5000
/* Writes submitted between two waits for their completions: bounds the
 * memory queued writes hold and stops an import soon after a write failed. */
#define IMPORT_WRITES_PER_SETTLE 4096
/* A seed password hash: unsalted MD5 as lowercase hex, the form
 * chatd_passwords_is_legacy_hash() recognises. */
#define LEGACY_HASH_HEX_LEN 32
/* Digest of a message body in the merge key. */
#define BODY_DIGEST_LEN 32
/* The write that changes nothing, used to check where completions run:
 * clearing offline deliveries of user 0 up to message 0 (no such rows). */
#define PROBE_USER_ID 0
#define PROBE_MESSAGE_ID 0
/* Members see every imported message. */
#define IMPORT_FIRST_MESSAGE_ID 1
/* Seed room rows have no creator. */
#define IMPORT_NO_CREATOR 0

/* Values inside a stored notice N (see seed-wire.md). */
enum { SEED_TARGET_USER = 0, SEED_TARGET_ROOM = 1 };
enum { SEED_BODY_TEXT = 0, SEED_BODY_IMAGE = 1 };

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* ---- the seed's schema ---- */

/* Spellings of one table or column, the seed's own first; NULL-terminated. */
typedef const char *const *SeedNames;

typedef struct {
  SeedNames names;
  gboolean optional; /* missing: read as NULL */
} SeedColumnSpec;

#define SEED_MAX_COLUMNS 4

typedef struct {
  SeedNames names;
  SeedColumnSpec columns[SEED_MAX_COLUMNS];
  int n_columns;
} SeedTableSpec;

#define SEED_NAMES(...) ((const char *const[]) { __VA_ARGS__, NULL })

enum { USER_ID, USER_NAME, USER_PASSWORD, USER_NICKNAME, USER_N_COLUMNS };
enum { FRIEND_FROM, FRIEND_TO, FRIEND_ACCEPTED, FRIEND_N_COLUMNS };
enum { ROOM_ID, ROOM_NAME, ROOM_N_COLUMNS };
enum { MEMBER_ROOM, MEMBER_USER, MEMBER_N_COLUMNS };
enum { HISTORY_ID, HISTORY_OWNER, HISTORY_DATA, HISTORY_SENT, HISTORY_N_COLUMNS };

static const SeedTableSpec users_spec = {
  SEED_NAMES("users", "user"),
  { { SEED_NAMES("id", "user_id", "uid"), FALSE },
    { SEED_NAMES("username", "user_name", "name"), FALSE },
    { SEED_NAMES("password", "password_hash", "passwd", "pwd"), FALSE },
    { SEED_NAMES("nickname", "nick_name", "nick"), TRUE } },
  USER_N_COLUMNS,
};

static const SeedTableSpec friends_spec = {
  SEED_NAMES("friends", "friend"),
  { { SEED_NAMES("from_user_id", "from_id", "from_user"), FALSE },
    { SEED_NAMES("to_user_id", "to_id", "to_user"), FALSE },
    { SEED_NAMES("accepted", "is_accepted"), FALSE } },
  FRIEND_N_COLUMNS,
};

static const SeedTableSpec rooms_spec = {
  SEED_NAMES("rooms", "room"),
  { { SEED_NAMES("id", "room_id"), FALSE },
    { SEED_NAMES("room_name", "roomname", "name"), FALSE } },
  ROOM_N_COLUMNS,
};

static const SeedTableSpec members_spec = {
  SEED_NAMES("room_user", "room_users", "room_members"),
  { { SEED_NAMES("room_id", "rid"), FALSE },
    { SEED_NAMES("user_id", "uid"), FALSE } },
  MEMBER_N_COLUMNS,
};

static const SeedTableSpec history_spec = {
  SEED_NAMES("chat_history"),
  { { SEED_NAMES("id", "history_id"), FALSE },
    { SEED_NAMES("user_id", "owner_id", "uid"), FALSE },
    { SEED_NAMES("data", "datas"), FALSE },
    { SEED_NAMES("sent"), FALSE } },
  HISTORY_N_COLUMNS,
};

/* A table as found in the seed: the names to put in SQL (our own spelling
 * constants; SQLite matches identifiers without regard to ASCII case), NULL
 * for a missing optional column. */
typedef struct {
  const char *table;
  const char *columns[SEED_MAX_COLUMNS];
  int n_columns;
} SeedTable;

/* ---- completions ---- */

typedef enum {
  COUNT_NONE = -1,
  COUNT_USERS,
  COUNT_FRIENDSHIPS,
  COUNT_REQUESTS,
  COUNT_ROOMS,
  COUNT_MEMBERS,
  COUNT_MESSAGES,
  COUNT_N,
} ImportCounter;

/* Shared by the import and its completions (atomic refcounted box). */
typedef struct {
  GMutex lock;
  guint outstanding;  /* submitted writes whose completion has not run */
  GError *error;      /* the first failure */
  guint64 counts[COUNT_N];
  guint64 offline_deliveries;
} ImportSink;

typedef enum {
  WRITE_PROBE,
  WRITE_USER,
  WRITE_FRIEND_REQUEST,
  WRITE_ACCEPT,
  WRITE_ROOM,
  WRITE_MEMBER,
  WRITE_MESSAGE,
} WriteKind;

/* One write to submit. a and b are the ids it names. */
typedef struct {
  WriteKind kind;
  gint64 a, b;
  ImportCounter counter;
  const char *username, *nickname, *password_hash; /* USER */
  const char *room_name;                           /* ROOM */
  const ChatdMessageRecord *record;                /* MESSAGE */
  const gint64 *offline;
  gsize n_offline;
} WriteOp;

/* A submitted write, until its completion ran. */
typedef struct {
  ImportSink *sink;
  WriteKind kind;
  gint64 a, b;
  ImportCounter counter;
  gsize n_offline;
} PendingWrite;

/* ---- the import ---- */

typedef struct {
  gint64 id;
  char *username; /* normalised */
  char *nickname;
  char *password_hash;
} SeedUser;

typedef struct {
  ChatdStore *store;
  GMainContext *context;
  ImportSink *sink;
  sqlite3 *seed;
  gboolean in_transaction;
  gint64 now_ms;
  guint since_settle;
  SeedTable users, friends, rooms, members, history;
  GArray *seed_users;     /* SeedUser, validated, in id order */
  GHashTable *user_ids;   /* gint64 * set: users being imported */
  GHashTable *room_ids;   /* gint64 * set: rooms being imported */
  ChatdImportReport report; /* the parts the import thread fills in */
} ImportState;

/* ---- report ---- */

void chatd_import_report_clear(ChatdImportReport *report) {
  if (report == NULL)
    return;
  g_clear_pointer(&report->skipped, g_ptr_array_unref);
  memset(report, 0, sizeof *report);
}

static void report_skip(ImportState *st, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void report_skip(ImportState *st, const char *format, ...) {
  va_list args;
  va_start(args, format);
  g_autofree char *why = g_strdup_vprintf(format, args);
  va_end(args);
  g_debug("seed import: skipped %s", why);
  st->report.rows_skipped++;
  if (st->report.skipped == NULL)
    st->report.skipped = g_ptr_array_new_with_free_func(g_free);
  if (st->report.skipped->len < CHATD_IMPORT_MAX_SKIP_REASONS)
    g_ptr_array_add(st->report.skipped, g_steal_pointer(&why));
}

/* ---- id sets ---- */

static GHashTable *id_set_new(void) {
  return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

static gboolean id_set_contains(GHashTable *set, gint64 id) {
  return g_hash_table_contains(set, &id);
}

/* FALSE when id was already there. */
static gboolean id_set_add(GHashTable *set, gint64 id) {
  return g_hash_table_add(set, g_memdup2(&id, sizeof id));
}

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
  IdPair pair = { first, second };
  return g_hash_table_add(set, g_memdup2(&pair, sizeof pair));
}

static gboolean pair_set_contains(GHashTable *set, gint64 first, gint64 second) {
  IdPair pair = { first, second };
  return g_hash_table_contains(set, &pair);
}

/* ---- the sink and completions ---- */

static void sink_clear(gpointer data) {
  ImportSink *sink = data;
  g_clear_error(&sink->error);
  g_mutex_clear(&sink->lock);
}

static void sink_unref(ImportSink *sink) {
  g_atomic_rc_box_release_full(sink, sink_clear);
}

static ImportSink *sink_new(void) {
  ImportSink *sink = g_atomic_rc_box_new0(ImportSink);
  g_mutex_init(&sink->lock);
  return sink;
}

static guint sink_outstanding(ImportSink *sink) {
  g_mutex_lock(&sink->lock);
  guint outstanding = sink->outstanding;
  g_mutex_unlock(&sink->lock);
  return outstanding;
}

static char *describe_write(WriteKind kind, gint64 a, gint64 b) {
  switch (kind) {
  case WRITE_PROBE:
    return g_strdup("checking where the store's completions run");
  case WRITE_USER:
    return g_strdup_printf("importing user %" G_GINT64_FORMAT, a);
  case WRITE_FRIEND_REQUEST:
    return g_strdup_printf("importing the friend request %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT,
                           a, b);
  case WRITE_ACCEPT:
    return g_strdup_printf("importing the friendship %" G_GINT64_FORMAT " <-> %" G_GINT64_FORMAT,
                           a, b);
  case WRITE_ROOM:
    return g_strdup_printf("importing room %" G_GINT64_FORMAT, a);
  case WRITE_MEMBER:
    return g_strdup_printf("importing member %" G_GINT64_FORMAT " of room %" G_GINT64_FORMAT, b,
                           a);
  case WRITE_MESSAGE:
    return g_strdup_printf("importing message %" G_GINT64_FORMAT, a);
  }
  return g_strdup("importing");
}

static PendingWrite *pending_new(ImportSink *sink, const WriteOp *op) {
  PendingWrite *p = g_new0(PendingWrite, 1);
  p->sink = g_atomic_rc_box_acquire(sink);
  p->kind = op->kind;
  p->a = op->a;
  p->b = op->b;
  p->counter = op->counter;
  p->n_offline = op->n_offline;
  g_mutex_lock(&sink->lock);
  sink->outstanding++;
  g_mutex_unlock(&sink->lock);
  return p;
}

/* Ends a pending write: its completion ran (error or not), or its
 * submission was refused (refused = TRUE: nothing is counted). */
static void pending_finish(PendingWrite *p, const GError *error, gboolean refused) {
  ImportSink *sink = p->sink;
  g_mutex_lock(&sink->lock);
  sink->outstanding--;
  if (error != NULL) {
    if (sink->error == NULL) {
      g_autofree char *what = describe_write(p->kind, p->a, p->b);
      sink->error = g_error_copy(error);
      g_prefix_error(&sink->error, "%s: ", what);
    }
  } else if (!refused && p->counter != COUNT_NONE) {
    sink->counts[p->counter]++;
    sink->offline_deliveries += p->n_offline;
  }
  g_mutex_unlock(&sink->lock);
  sink_unref(sink);
  g_free(p);
}

static void on_write_done(const GError *error, gpointer user_data) {
  pending_finish(user_data, error, FALSE);
}

static void on_message_done(const GError *error, gboolean inserted, gint64 stored_id,
                            gpointer user_data) {
  PendingWrite *p = user_data;
  if (error == NULL && (!inserted || stored_id != p->a)) {
    g_autoptr(GError) mismatch = g_error_new(
      CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA,
      "the store kept message %" G_GINT64_FORMAT " instead of inserting it", stored_id);
    pending_finish(p, mismatch, FALSE);
    return;
  }
  pending_finish(p, error, FALSE);
}

/* Hands one write to the store; FALSE when the store refused it (p is then
 * still ours). */
static gboolean try_submit(ImportState *st, const WriteOp *op, PendingWrite *p) {
  switch (op->kind) {
  case WRITE_PROBE:
    return chatd_store_clear_offline(st->store, PROBE_USER_ID, PROBE_MESSAGE_ID, on_write_done,
                                     p);
  case WRITE_USER:
    return chatd_store_add_user(st->store, op->a, op->username, op->nickname,
                                op->password_hash, st->now_ms, on_write_done, p);
  case WRITE_FRIEND_REQUEST:
    return chatd_store_add_friend_request(st->store, op->a, op->b, st->now_ms, on_write_done,
                                          p);
  case WRITE_ACCEPT:
    return chatd_store_accept_friend_request(st->store, op->a, op->b, st->now_ms,
                                             on_write_done, p);
  case WRITE_ROOM:
    return chatd_store_add_room(st->store, op->a, op->room_name, IMPORT_NO_CREATOR, st->now_ms,
                                on_write_done, p);
  case WRITE_MEMBER:
    return chatd_store_add_member(st->store, op->a, op->b, IMPORT_FIRST_MESSAGE_ID, st->now_ms,
                                  on_write_done, p);
  case WRITE_MESSAGE:
    return chatd_store_add_message(st->store, op->record, op->offline, op->n_offline,
                                   on_message_done, p);
  }
  return FALSE;
}

/* Waits until every submitted write has completed: flushes the store, then
 * runs the completions on the context. Fails with the first write's error,
 * or with CHATD_IMPORT_ERROR_CONTEXT when the completions do not run here
 * (after a flush they are all queued and the store's source is ready, so a
 * non-blocking iteration dispatches them, or nothing ever will). */
static gboolean settle(ImportState *st, GError **error) {
  chatd_store_flush(st->store);
  while (sink_outstanding(st->sink) > 0) {
    if (!g_main_context_iteration(st->context, FALSE)) {
      g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_CONTEXT,
                  "the store's completions do not run on this thread's thread-default main "
                  "context (%u still pending): open the store with that context, or push the "
                  "store's context with g_main_context_push_thread_default(), and import from "
                  "the thread that can run it",
                  sink_outstanding(st->sink));
      return FALSE;
    }
  }
  st->since_settle = 0;
  g_mutex_lock(&st->sink->lock);
  GError *failure = st->sink->error != NULL ? g_error_copy(st->sink->error) : NULL;
  g_mutex_unlock(&st->sink->lock);
  if (failure != NULL) {
    g_propagate_error(error, failure);
    return FALSE;
  }
  return TRUE;
}

/* Submits one write. A store that is saturated refuses it: the writes in
 * flight are then waited for (which makes room) and it is offered once
 * more. */
static gboolean submit(ImportState *st, const WriteOp *op, GError **error) {
  if (st->since_settle >= IMPORT_WRITES_PER_SETTLE && !settle(st, error))
    return FALSE;
  for (int attempt = 0;; attempt++) {
    PendingWrite *p = pending_new(st->sink, op);
    if (try_submit(st, op, p)) {
      st->since_settle++;
      return TRUE;
    }
    pending_finish(p, NULL, TRUE);
    if (attempt > 0) {
      g_autofree char *what = describe_write(op->kind, op->a, op->b);
      g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_REFUSED,
                  "%s: the store refused the write (it is closing)", what);
      return FALSE;
    }
    if (!settle(st, error))
      return FALSE;
  }
}

/* ---- reading the seed ---- */

static gboolean seed_error(ImportState *st, GError **error, const char *what) {
  g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_OPEN,
              "reading the seed database (%s): %s", what, sqlite3_errmsg(st->seed));
  return FALSE;
}

static sqlite3_stmt *seed_prepare(ImportState *st, const char *sql, GError **error) {
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(st->seed, sql, -1, &stmt, NULL) != SQLITE_OK) {
    seed_error(st, error, sql);
    sqlite3_finalize(stmt);
    return NULL;
  }
  return stmt;
}

/* TRUE with *row set, or FALSE with *error. */
static gboolean seed_step(ImportState *st, sqlite3_stmt *stmt, gboolean *row, GError **error) {
  int rc = sqlite3_step(stmt);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return TRUE;
  return seed_error(st, error, sqlite3_sql(stmt));
}

static gboolean column_integer(sqlite3_stmt *stmt, int column, gint64 *out) {
  if (sqlite3_column_type(stmt, column) != SQLITE_INTEGER)
    return FALSE;
  *out = sqlite3_column_int64(stmt, column);
  return TRUE;
}

/* The text of a column, or NULL for SQL NULL. Valid until the next step. */
static const char *column_text(sqlite3_stmt *stmt, int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
    return NULL;
  return (const char *) sqlite3_column_text(stmt, column);
}

static char *names_list(SeedNames names) {
  g_autoptr(GString) list = g_string_new(NULL);
  for (gsize i = 0; names[i] != NULL; i++)
    g_string_append_printf(list, "%s\"%s\"", i > 0 ? ", " : "", names[i]);
  return g_string_free(g_steal_pointer(&list), FALSE);
}

/* The first spelling of names that matches (ASCII case-insensitively) one of
 * found, or NULL. */
static const char *match_name(SeedNames names, GPtrArray *found) {
  for (gsize i = 0; names[i] != NULL; i++) {
    for (guint j = 0; j < found->len; j++) {
      if (g_ascii_strcasecmp(names[i], g_ptr_array_index(found, j)) == 0)
        return names[i];
    }
  }
  return NULL;
}

/* Strings of the first column of every row of sql, bound to ?1 = param. */
static GPtrArray *seed_list(ImportState *st, const char *sql, const char *param,
                            GError **error) {
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return NULL;
  if (param != NULL && sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC) != SQLITE_OK) {
    seed_error(st, error, sql);
    return NULL;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  for (;;) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return NULL;
    if (!row)
      return g_steal_pointer(&names);
    const char *name = column_text(stmt, 0);
    if (name != NULL)
      g_ptr_array_add(names, g_strdup(name));
  }
}

/* Finds a table and its columns; names the missing one in the error. */
static gboolean resolve_table(ImportState *st, const SeedTableSpec *spec, SeedTable *table,
                              GError **error) {
  g_autoptr(GPtrArray) tables = seed_list(
    st, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')", NULL, error);
  if (tables == NULL)
    return FALSE;
  table->table = match_name(spec->names, tables);
  if (table->table == NULL) {
    g_autofree char *spellings = names_list(spec->names);
    g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_SCHEMA,
                "the seed database has no table \"%s\" (looked for %s)", spec->names[0],
                spellings);
    return FALSE;
  }
  g_autoptr(GPtrArray) columns = seed_list(st, "SELECT name FROM pragma_table_info(?1)",
                                           table->table, error);
  if (columns == NULL)
    return FALSE;
  table->n_columns = spec->n_columns;
  for (int i = 0; i < spec->n_columns; i++) {
    const SeedColumnSpec *column = &spec->columns[i];
    table->columns[i] = match_name(column->names, columns);
    if (table->columns[i] == NULL && !column->optional) {
      g_autofree char *spellings = names_list(column->names);
      g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_SCHEMA,
                  "the seed table \"%s\" has no column \"%s\" (looked for %s)", table->table,
                  column->names[0], spellings);
      return FALSE;
    }
  }
  return TRUE;
}

/* SELECT of every column of table (NULL for a missing optional one), ordered
 * by the columns listed in order (indexes, -1 terminated). */
static char *select_sql(const SeedTable *table, const int *order) {
  g_autoptr(GString) sql = g_string_new("SELECT ");
  for (int i = 0; i < table->n_columns; i++) {
    if (table->columns[i] != NULL)
      g_string_append_printf(sql, "%s\"%s\"", i > 0 ? ", " : "", table->columns[i]);
    else
      g_string_append_printf(sql, "%sNULL", i > 0 ? ", " : "");
  }
  g_string_append_printf(sql, " FROM \"%s\" ORDER BY ", table->table);
  for (int i = 0; order[i] >= 0; i++)
    g_string_append_printf(sql, "%s\"%s\"", i > 0 ? ", " : "", table->columns[order[i]]);
  return g_string_free(g_steal_pointer(&sql), FALSE);
}

/* ---- users ---- */

static void seed_user_clear(gpointer data) {
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

static gboolean data_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean data_error(GError **error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error_literal(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA, message);
  return FALSE;
}

/* Reads and checks one users row into *user. */
static gboolean read_user(sqlite3_stmt *stmt, guint64 ordinal, SeedUser *user,
                          GError **error) {
  if (!column_integer(stmt, USER_ID, &user->id) || user->id <= 0)
    return data_error(error, "users row %" G_GUINT64_FORMAT " (in id order): the id is not a "
                      "positive integer", ordinal);
  const char *username = column_text(stmt, USER_NAME);
  if (username == NULL || !g_utf8_validate(username, -1, NULL))
    return data_error(error, "user %" G_GINT64_FORMAT ": the username is %s", user->id,
                      username == NULL ? "NULL" : "not valid UTF-8");
  /* The rule of login (common/username.h), so an imported user logs in
   * with the name they used in the seed. */
  user->username = chat_username_normalize(username, -1);
  if (user->username[0] == '\0')
    return data_error(error, "user %" G_GINT64_FORMAT ": the username is empty", user->id);
  const char *password = column_text(stmt, USER_PASSWORD);
  if (password == NULL || !is_legacy_hash(password))
    return data_error(error, "user %" G_GINT64_FORMAT " (\"%s\"): the stored password is not an "
                      "MD5 hash as the seed writes them (32 lowercase hexadecimal digits)",
                      user->id, user->username);
  user->password_hash = g_strdup(password);
  const char *nickname = column_text(stmt, USER_NICKNAME);
  if (nickname != NULL && !g_utf8_validate(nickname, -1, NULL))
    return data_error(error, "user %" G_GINT64_FORMAT " (\"%s\"): the nickname is not valid "
                      "UTF-8", user->id, user->username);
  /* the seed shows the username where there is no nickname */
  user->nickname = g_strdup(nickname != NULL ? nickname : user->username);
  return TRUE;
}

/* Reads every user and checks them all before anything is written. */
static gboolean load_users(ImportState *st, GError **error) {
  static const int order[] = { USER_ID, -1 };
  g_autofree char *sql = select_sql(&st->users, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  /* normalised username -> id */
  g_autoptr(GHashTable) by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return FALSE;
    if (!row)
      return TRUE;
    SeedUser user = { 0 };
    if (!read_user(stmt, ordinal, &user, error)) {
      seed_user_clear(&user);
      return FALSE;
    }
    const gint64 *other = g_hash_table_lookup(by_name, user.username);
    if (other != NULL || !id_set_add(st->user_ids, user.id)) {
      if (other != NULL)
        data_error(error, "users %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " both have the "
                   "username \"%s\" once trimmed and lower-cased", *other, user.id,
                   user.username);
      else
        data_error(error, "two users rows have the id %" G_GINT64_FORMAT, user.id);
      seed_user_clear(&user);
      return FALSE;
    }
    g_hash_table_insert(by_name, g_strdup(user.username), g_memdup2(&user.id, sizeof user.id));
    g_array_append_val(st->seed_users, user);
  }
}

static gboolean import_users(ImportState *st, GError **error) {
  for (guint i = 0; i < st->seed_users->len; i++) {
    const SeedUser *user = &g_array_index(st->seed_users, SeedUser, i);
    WriteOp op = { .kind = WRITE_USER, .a = user->id, .counter = COUNT_USERS,
                   .username = user->username, .nickname = user->nickname,
                   .password_hash = user->password_hash };
    if (!submit(st, &op, error))
      return FALSE;
  }
  return settle(st, error);
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
    g_autofree char *text = g_strstrip(g_strdup(column_text(stmt, column)));
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
static gboolean read_friend_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                                IdPair *pair, gboolean *accepted) {
  if (!column_integer(stmt, FRIEND_FROM, &pair->first) ||
      !column_integer(stmt, FRIEND_TO, &pair->second)) {
    report_skip(st, "friends row %" G_GUINT64_FORMAT ": a user id is not an integer", ordinal);
    return FALSE;
  }
  gboolean first_known = id_set_contains(st->user_ids, pair->first);
  if (!first_known || !id_set_contains(st->user_ids, pair->second)) {
    report_skip(st, "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": no user %"
                G_GINT64_FORMAT, pair->first, pair->second,
                first_known ? pair->second : pair->first);
    return FALSE;
  }
  if (pair->first == pair->second) {
    report_skip(st, "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": a user cannot "
                "befriend themself", pair->first, pair->second);
    return FALSE;
  }
  if (!read_accepted(stmt, FRIEND_ACCEPTED, accepted)) {
    const char *text = column_text(stmt, FRIEND_ACCEPTED);
    report_skip(st, "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": accepted is \"%s\", "
                "neither true nor false", pair->first, pair->second, text != NULL ? text : "");
    return FALSE;
  }
  return TRUE;
}

static gboolean import_friends(ImportState *st, GError **error) {
  static const int order[] = { FRIEND_FROM, FRIEND_TO, -1 };
  g_autofree char *sql = select_sql(&st->friends, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  g_autoptr(GHashTable) friends = pair_set_new();  /* (min, max) */
  g_autoptr(GHashTable) requests = pair_set_new(); /* (from, to) */
  g_autoptr(GArray) friend_list = g_array_new(FALSE, FALSE, sizeof(IdPair));
  g_autoptr(GArray) request_list = g_array_new(FALSE, FALSE, sizeof(IdPair));
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return FALSE;
    if (!row)
      break;
    IdPair pair;
    gboolean accepted = FALSE;
    if (!read_friend_row(st, stmt, ordinal, &pair, &accepted))
      continue;
    /* an accepted friendship is one pair, whichever rows the seed has */
    if (accepted && pair_set_add(friends, MIN(pair.first, pair.second),
                                 MAX(pair.first, pair.second)))
      g_array_append_val(friend_list, pair);
    else if (!accepted && pair_set_add(requests, pair.first, pair.second))
      g_array_append_val(request_list, pair);
  }

  for (guint i = 0; i < friend_list->len; i++) {
    const IdPair *pair = &g_array_index(friend_list, IdPair, i);
    WriteOp request = { .kind = WRITE_FRIEND_REQUEST, .a = pair->first, .b = pair->second,
                        .counter = COUNT_NONE };
    WriteOp accept = { .kind = WRITE_ACCEPT, .a = pair->first, .b = pair->second,
                       .counter = COUNT_FRIENDSHIPS };
    if (!submit(st, &request, error) || !submit(st, &accept, error))
      return FALSE;
  }
  for (guint i = 0; i < request_list->len; i++) {
    const IdPair *pair = &g_array_index(request_list, IdPair, i);
    if (pair_set_contains(friends, MIN(pair->first, pair->second),
                          MAX(pair->first, pair->second))) {
      report_skip(st, "friends row %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT ": pending, but "
                  "they are friends already", pair->first, pair->second);
      continue;
    }
    WriteOp request = { .kind = WRITE_FRIEND_REQUEST, .a = pair->first, .b = pair->second,
                        .counter = COUNT_REQUESTS };
    if (!submit(st, &request, error))
      return FALSE;
  }
  return settle(st, error);
}

/* ---- rooms and members ---- */

static gboolean import_rooms(ImportState *st, GError **error) {
  static const int order[] = { ROOM_ID, -1 };
  g_autofree char *sql = select_sql(&st->rooms, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return FALSE;
    if (!row)
      break;
    gint64 id = 0;
    if (!column_integer(stmt, ROOM_ID, &id) || id <= 0) {
      report_skip(st, "rooms row %" G_GUINT64_FORMAT " (in id order): the id is not a positive "
                  "integer", ordinal);
      continue;
    }
    const char *name = column_text(stmt, ROOM_NAME);
    if (name != NULL && !g_utf8_validate(name, -1, NULL)) {
      report_skip(st, "room %" G_GINT64_FORMAT ": the name is not valid UTF-8", id);
      continue;
    }
    if (!id_set_add(st->room_ids, id)) {
      report_skip(st, "room %" G_GINT64_FORMAT ": a second row with that id", id);
      continue;
    }
    WriteOp op = { .kind = WRITE_ROOM, .a = id, .counter = COUNT_ROOMS,
                   .room_name = name != NULL ? name : "" };
    if (!submit(st, &op, error))
      return FALSE;
  }
  return settle(st, error);
}

static gboolean import_members(ImportState *st, GError **error) {
  static const int order[] = { MEMBER_ROOM, MEMBER_USER, -1 };
  g_autofree char *sql = select_sql(&st->members, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  g_autoptr(GHashTable) seen = pair_set_new();
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return FALSE;
    if (!row)
      break;
    gint64 room = 0, user = 0;
    if (!column_integer(stmt, MEMBER_ROOM, &room) || !column_integer(stmt, MEMBER_USER, &user)) {
      report_skip(st, "%s row %" G_GUINT64_FORMAT ": an id is not an integer",
                  st->members.table, ordinal);
      continue;
    }
    if (!id_set_contains(st->room_ids, room) || !id_set_contains(st->user_ids, user)) {
      report_skip(st, "%s row (room %" G_GINT64_FORMAT ", user %" G_GINT64_FORMAT "): no such %s",
                  st->members.table, room, user,
                  !id_set_contains(st->room_ids, room) ? "room" : "user");
      continue;
    }
    if (!pair_set_add(seen, room, user)) {
      report_skip(st, "%s row (room %" G_GINT64_FORMAT ", user %" G_GINT64_FORMAT "): a second "
                  "row for that membership", st->members.table, room, user);
      continue;
    }
    WriteOp op = { .kind = WRITE_MEMBER, .a = room, .b = user, .counter = COUNT_MEMBERS };
    if (!submit(st, &op, error))
      return FALSE;
  }
  return settle(st, error);
}

/* ---- chat history ---- */

/* A stored notice N, as far as the import needs it. body and font_color
 * point into the row's data (valid until the next step). */
typedef struct {
  gint64 sender_id;
  int target_type;  /* SEED_TARGET_* */
  gint64 target_id; /* as stored: the receiver's copy names the sender */
  gint64 time_ms;
  int kind;         /* SEED_BODY_* */
  const guint8 *body;
  gsize body_len;
  int font_size;
  const char *font_color;
  gsize font_color_len;
} SeedNotice;

typedef struct {
  gint64 seed_id;
  gint64 owner;
  gboolean offline;   /* sent = 0 */
  gint64 target_id;   /* the receiver or the room */
  SeedNotice notice;
} HistoryRow;

/* Reads N, a @notice (protocol/messages.h), and checks what the import
 * needs of it: positive sender and target ids, a target_type 0 or 1, a
 * non-negative time, and M = {type: 0, data: str, fontsize, fontcolor} or
 * {type: 1, data: bytes}. Returns NULL, or why it does not fit (in err's
 * message when the notice does not read). */
static const char *parse_notice(const chat_value *value, SeedNotice *out, chat_error *err) {
  chat_msg_notice n;
  if (value->kind != CHAT_VALUE_DICT)
    return "the data is not a dict";
  if (chat_msg_notice_read(value, &n, err) != CHAT_OK)
    return err->message;
  if (n.sender_id < 1)
    return "no positive integer sender_id";
  if (n.target_type != SEED_TARGET_USER && n.target_type != SEED_TARGET_ROOM)
    return "no target_type 0 or 1";
  if (n.target_id < 1)
    return "no positive integer target_id";
  if (n.time < 0)
    return "no time (a non-negative integer)";
  out->sender_id = n.sender_id;
  out->target_type = (int) n.target_type;
  out->target_id = n.target_id;
  out->time_ms = n.time;
  if (n.message.type != SEED_BODY_TEXT && n.message.type != SEED_BODY_IMAGE)
    return "the message's type is not 0 or 1";
  out->kind = (int) n.message.type;
  out->body = (const guint8 *) n.message.data.ptr;
  out->body_len = n.message.data.len;
  if (out->kind == SEED_BODY_IMAGE)
    return n.message.form == CHAT_BODY_IMAGE ? NULL : "an image message without bytes data";
  if (n.message.form != CHAT_BODY_TEXT)
    return "a text message without str data, fontsize and fontcolor";
  if (n.message.font_size < 0 || n.message.font_size > G_MAXINT)
    return "a text message without a font size in 0 .. 2^31 - 1";
  out->font_size = (int) n.message.font_size;
  out->font_color = n.message.font_color.ptr;
  out->font_color_len = n.message.font_color.len;
  return NULL;
}

/* Reads and checks the current chat_history row; returns NULL, or why the
 * row cannot be imported ("chat_history row ...: ..."). arena holds the
 * decoded tree until its next use. */
static char *read_history_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                              chat_arena *arena, HistoryRow *row) {
  memset(row, 0, sizeof *row);
  if (!column_integer(stmt, HISTORY_ID, &row->seed_id))
    return g_strdup_printf("chat_history row %" G_GUINT64_FORMAT " (in id order): the id is not "
                           "an integer", ordinal);
  const char *prefix = "chat_history row";
  if (!column_integer(stmt, HISTORY_OWNER, &row->owner) ||
      !id_set_contains(st->user_ids, row->owner))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": the owner (user_id) is not a known user",
                           prefix, row->seed_id);
  /* sent: 1 delivered live, 0 received while offline; NULL counts as 1 */
  row->offline = sqlite3_column_type(stmt, HISTORY_SENT) != SQLITE_NULL &&
                 sqlite3_column_int64(stmt, HISTORY_SENT) == 0;

  const guint8 *data = sqlite3_column_blob(stmt, HISTORY_DATA);
  gsize len = (gsize) sqlite3_column_bytes(stmt, HISTORY_DATA);
  if (data == NULL || len == 0)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no data", prefix, row->seed_id);
  chat_arena_clear(arena);
  chat_value *value = NULL;
  chat_error decode_error = { 0 };
  int rc = chat_value_decode(data, len, NULL, CHAT_DECODE_BORROW, arena, &value, &decode_error);
  if (rc != CHAT_OK)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": the data does not decode: %s (at byte %zu)",
                           prefix, row->seed_id, decode_error.message, decode_error.offset);
  chat_error notice_error = { 0 };
  const char *shape = parse_notice(value, &row->notice, &notice_error);
  if (shape != NULL)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": %s", prefix, row->seed_id, shape);

  const SeedNotice *n = &row->notice;
  if (!id_set_contains(st->user_ids, n->sender_id))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no sender %" G_GINT64_FORMAT, prefix,
                           row->seed_id, n->sender_id);
  if (n->target_type == SEED_TARGET_ROOM) {
    if (!id_set_contains(st->room_ids, n->target_id))
      return g_strdup_printf("%s %" G_GINT64_FORMAT ": no room %" G_GINT64_FORMAT, prefix,
                             row->seed_id, n->target_id);
    row->target_id = n->target_id;
    return NULL;
  }
  /* 1:1: the sender's copy names the receiver, the receiver's copy the sender */
  if (row->owner == n->sender_id)
    row->target_id = n->target_id;
  else if (n->target_id == n->sender_id)
    row->target_id = row->owner;
  else
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": a 1:1 message of user %" G_GINT64_FORMAT
                           " to user %" G_GINT64_FORMAT " stored for user %" G_GINT64_FORMAT
                           ", who is neither", prefix, row->seed_id, n->sender_id,
                           n->target_id, row->owner);
  if (!id_set_contains(st->user_ids, row->target_id))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no receiver %" G_GINT64_FORMAT, prefix,
                           row->seed_id, row->target_id);
  return NULL;
}

/* What makes copies one message. extra is the owner in the occurrence
 * table and the occurrence number in the message table: each owner holds
 * one copy of a message, so a second copy of the same key for the same
 * owner is another message sent in the same millisecond. */
typedef struct {
  gint64 sender_id;
  gint64 target_id;
  gint64 time_ms;
  gint64 extra;
  int target_type;
  int kind;
  guint8 digest[BODY_DIGEST_LEN]; /* SHA-256 of the body bytes */
} MessageKey;

static guint message_key_hash(gconstpointer p) {
  const MessageKey *k = p;
  guint h;
  memcpy(&h, k->digest, sizeof h);
  const gint64 fields[] = { k->sender_id, k->target_id, k->time_ms, k->extra,
                            k->target_type, k->kind };
  for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
    h = h * 31u + g_int64_hash(&fields[i]);
  return h;
}

static gboolean message_key_equal(gconstpointer a, gconstpointer b) {
  const MessageKey *x = a, *y = b;
  return x->sender_id == y->sender_id && x->target_id == y->target_id &&
         x->time_ms == y->time_ms && x->extra == y->extra && x->target_type == y->target_type &&
         x->kind == y->kind && memcmp(x->digest, y->digest, sizeof x->digest) == 0;
}

/* One real message, merged from its copies. */
typedef struct {
  MessageKey key;
  gint64 seed_id;  /* the lowest seed row id of its copies */
  guint64 ordinal; /* that row's position in the history scan */
  gint64 new_id;
  GArray *offline; /* gint64: owners who received it offline */
} SeedMessage;

static void seed_message_free(gpointer data) {
  SeedMessage *message = data;
  g_array_unref(message->offline);
  g_free(message);
}

static gint seed_message_compare(gconstpointer a, gconstpointer b) {
  const SeedMessage *x = *(SeedMessage *const *) a, *y = *(SeedMessage *const *) b;
  if (x->key.time_ms != y->key.time_ms)
    return x->key.time_ms < y->key.time_ms ? -1 : 1;
  return x->seed_id < y->seed_id ? -1 : x->seed_id > y->seed_id ? 1 : 0;
}

static void key_from_row(const HistoryRow *row, GChecksum *checksum, MessageKey *key) {
  memset(key, 0, sizeof *key);
  key->sender_id = row->notice.sender_id;
  key->target_id = row->target_id;
  key->time_ms = row->notice.time_ms;
  key->target_type = row->notice.target_type;
  key->kind = row->notice.kind;
  g_checksum_reset(checksum);
  if (row->notice.body_len > 0)
    g_checksum_update(checksum, row->notice.body, (gssize) row->notice.body_len);
  gsize digest_len = sizeof key->digest;
  g_checksum_get_digest(checksum, key->digest, &digest_len);
}

/* Pass 1: reads every row, merges the copies into messages (in the order
 * their first copy appears, so their ordinals increase). */
static gboolean collect_messages(ImportState *st, sqlite3_stmt *stmt, GPtrArray *messages,
                                 GError **error) {
  g_autoptr(GHashTable) occurrences = g_hash_table_new_full(message_key_hash, message_key_equal,
                                                            g_free, NULL);
  g_autoptr(GHashTable) by_key = g_hash_table_new(message_key_hash, message_key_equal);
  g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
  chat_arena arena;
  chat_arena_init(&arena);
  gboolean ok = TRUE;
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean have_row = FALSE;
    if (!seed_step(st, stmt, &have_row, error)) {
      ok = FALSE;
      break;
    }
    if (!have_row)
      break;
    st->report.history_rows++;
    HistoryRow row;
    g_autofree char *why = read_history_row(st, stmt, ordinal, &arena, &row);
    if (why != NULL) {
      report_skip(st, "%s", why);
      continue;
    }
    MessageKey key;
    key_from_row(&row, checksum, &key);
    key.extra = row.owner;
    guint occurrence = GPOINTER_TO_UINT(g_hash_table_lookup(occurrences, &key));
    g_hash_table_replace(occurrences, g_memdup2(&key, sizeof key),
                         GUINT_TO_POINTER(occurrence + 1));
    key.extra = occurrence;
    SeedMessage *message = g_hash_table_lookup(by_key, &key);
    if (message == NULL) {
      message = g_new0(SeedMessage, 1);
      message->key = key;
      message->seed_id = row.seed_id;
      message->ordinal = ordinal;
      message->offline = g_array_new(FALSE, FALSE, sizeof(gint64));
      g_ptr_array_add(messages, message);
      g_hash_table_insert(by_key, &message->key, message);
    } else {
      st->report.copies_merged++;
      message->seed_id = MIN(message->seed_id, row.seed_id);
    }
    if (row.offline)
      g_array_append_val(message->offline, row.owner);
  }
  chat_arena_clear(&arena);
  return ok;
}

static gboolean submit_message(ImportState *st, const SeedMessage *message,
                               const HistoryRow *row, GError **error) {
  const SeedNotice *n = &row->notice;
  ChatdMessageRecord record = {
    .id = message->new_id,
    .sender_id = n->sender_id,
    .target_type = n->target_type == SEED_TARGET_ROOM ? CHATD_STORE_TARGET_ROOM
                                                      : CHATD_STORE_TARGET_USER,
    .target_id = row->target_id,
    .sent_ms = n->time_ms,
  };
  g_autofree char *font_color = NULL;
  g_autoptr(GBytes) image = NULL;
  if (n->kind == SEED_BODY_IMAGE) {
    record.kind = CHATD_STORE_KIND_IMAGE;
    image = g_bytes_new(n->body, n->body_len);
    record.image = image;
  } else {
    record.kind = CHATD_STORE_KIND_TEXT;
    record.text = n->body != NULL ? (const char *) n->body : "";
    record.text_len = n->body_len;
    record.font_size = n->font_size;
    font_color = g_strndup(n->font_color != NULL ? n->font_color : "", n->font_color_len);
    record.font_color = font_color;
  }
  WriteOp op = { .kind = WRITE_MESSAGE, .a = message->new_id, .counter = COUNT_MESSAGES,
                 .record = &record, .offline = (const gint64 *) message->offline->data,
                 .n_offline = message->offline->len };
  return submit(st, &op, error);
}

/* Pass 2: the same scan again (same read transaction, same rows); each
 * message is stored from its first copy. */
static gboolean store_messages(ImportState *st, sqlite3_stmt *stmt, GPtrArray *messages,
                               GError **error) {
  chat_arena arena;
  chat_arena_init(&arena);
  gboolean ok = TRUE;
  guint next = 0;
  for (guint64 ordinal = 1; ok && next < messages->len; ordinal++) {
    gboolean have_row = FALSE;
    if (!seed_step(st, stmt, &have_row, error)) {
      ok = FALSE;
      break;
    }
    const SeedMessage *message = g_ptr_array_index(messages, next);
    if (!have_row) {
      ok = data_error(error, "chat_history changed while it was read: row %" G_GINT64_FORMAT
                      " is gone", message->seed_id);
      break;
    }
    if (ordinal != message->ordinal)
      continue;
    next++;
    HistoryRow row;
    g_autofree char *why = read_history_row(st, stmt, ordinal, &arena, &row);
    if (why != NULL) {
      ok = data_error(error, "chat_history changed while it was read: %s", why);
      break;
    }
    ok = submit_message(st, message, &row, error);
  }
  chat_arena_clear(&arena);
  return ok;
}

static gboolean import_history(ImportState *st, GError **error) {
  static const int order[] = { HISTORY_ID, -1 };
  g_autofree char *sql = select_sql(&st->history, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(seed_message_free);
  if (!collect_messages(st, stmt, messages, error))
    return FALSE;

  /* ids 1..n in (time, seed id) order */
  g_autoptr(GPtrArray) by_time = g_ptr_array_sized_new(messages->len);
  for (guint i = 0; i < messages->len; i++)
    g_ptr_array_add(by_time, g_ptr_array_index(messages, i));
  g_ptr_array_sort(by_time, seed_message_compare);
  for (guint i = 0; i < by_time->len; i++)
    ((SeedMessage *) g_ptr_array_index(by_time, i))->new_id = (gint64) i + 1;

  sqlite3_reset(stmt);
  return store_messages(st, stmt, messages, error) && settle(st, error);
}

/* ---- the import ---- */

static gboolean check_store_empty(ImportState *st, GError **error) {
  gint64 max_user = 0, max_room = 0, max_message = 0;
  if (!chatd_store_max_ids(st->store, &max_user, &max_room, &max_message, error)) {
    g_prefix_error(error, "reading the target store: ");
    return FALSE;
  }
  if (max_user != 0 || max_room != 0 || max_message != 0) {
    g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_NOT_EMPTY,
                "the target database is not empty (largest user id %" G_GINT64_FORMAT
                ", room id %" G_GINT64_FORMAT ", message id %" G_GINT64_FORMAT "): the seed "
                "can only be imported into a new database", max_user, max_room, max_message);
    return FALSE;
  }
  return TRUE;
}

static gboolean open_seed(ImportState *st, const char *path, GError **error) {
  int rc = sqlite3_open_v2(path, &st->seed, SQLITE_OPEN_READONLY, NULL);
  if (rc != SQLITE_OK) {
    g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_OPEN,
                "cannot open the seed database %s: %s", path,
                st->seed != NULL ? sqlite3_errmsg(st->seed) : sqlite3_errstr(rc));
    return FALSE;
  }
  sqlite3_busy_timeout(st->seed, SEED_BUSY_TIMEOUT_MS);
  /* one snapshot for every read */
  if (sqlite3_exec(st->seed, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return seed_error(st, error, "BEGIN");
  st->in_transaction = TRUE;
  return TRUE;
}

static gboolean resolve_schema(ImportState *st, GError **error) {
  return resolve_table(st, &users_spec, &st->users, error) &&
         resolve_table(st, &friends_spec, &st->friends, error) &&
         resolve_table(st, &rooms_spec, &st->rooms, error) &&
         resolve_table(st, &members_spec, &st->members, error) &&
         resolve_table(st, &history_spec, &st->history, error);
}

static gboolean check_context(ImportState *st, GError **error) {
  WriteOp probe = { .kind = WRITE_PROBE, .counter = COUNT_NONE };
  return submit(st, &probe, error) && settle(st, error);
}

static void state_clear(ImportState *st) {
  if (st->in_transaction)
    sqlite3_exec(st->seed, "ROLLBACK", NULL, NULL, NULL);
  g_clear_pointer(&st->seed, sqlite3_close);
  g_clear_pointer(&st->seed_users, g_array_unref);
  g_clear_pointer(&st->user_ids, g_hash_table_unref);
  g_clear_pointer(&st->room_ids, g_hash_table_unref);
  g_clear_pointer(&st->sink, sink_unref);
  g_clear_pointer(&st->context, g_main_context_unref);
  chatd_import_report_clear(&st->report);
}

gboolean chatd_import_seed_db(ChatdStore *store, const char *seed_db_path,
                              ChatdImportReport *report, GError **error) {
  g_return_val_if_fail(store != NULL && seed_db_path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  ImportState st = {
    .store = store,
    .context = g_main_context_ref_thread_default(),
    .sink = sink_new(),
    .now_ms = g_get_real_time() / G_TIME_SPAN_MILLISECOND,
    .seed_users = g_array_new(FALSE, TRUE, sizeof(SeedUser)),
    .user_ids = id_set_new(),
    .room_ids = id_set_new(),
  };
  g_array_set_clear_func(st.seed_users, seed_user_clear);

  g_autoptr(GError) failure = NULL;
  gboolean ok = check_store_empty(&st, &failure) && open_seed(&st, seed_db_path, &failure) &&
                resolve_schema(&st, &failure) && load_users(&st, &failure) &&
                check_context(&st, &failure) && import_users(&st, &failure) &&
                import_friends(&st, &failure) && import_rooms(&st, &failure) &&
                import_members(&st, &failure) && import_history(&st, &failure);
  if (!ok && sink_outstanding(st.sink) > 0) {
    /* run what is still in flight before the report is read (best effort:
     * after a context error the completions cannot run here) */
    g_autoptr(GError) ignored = NULL;
    settle(&st, &ignored);
  }

  g_debug("seed import %s: %" G_GUINT64_FORMAT " history rows, %" G_GUINT64_FORMAT
          " copies merged, %" G_GUINT64_FORMAT " rows skipped", ok ? "done" : "failed",
          st.report.history_rows, st.report.copies_merged, st.report.rows_skipped);
  if (report != NULL) {
    *report = st.report;
    memset(&st.report, 0, sizeof st.report);
    g_mutex_lock(&st.sink->lock);
    report->users = st.sink->counts[COUNT_USERS];
    report->friendships = st.sink->counts[COUNT_FRIENDSHIPS];
    report->friend_requests = st.sink->counts[COUNT_REQUESTS];
    report->rooms = st.sink->counts[COUNT_ROOMS];
    report->members = st.sink->counts[COUNT_MEMBERS];
    report->messages = st.sink->counts[COUNT_MESSAGES];
    report->offline_deliveries = st.sink->offline_deliveries;
    g_mutex_unlock(&st.sink->lock);
  }
  state_clear(&st);
  if (!ok)
    g_propagate_error(error, g_steal_pointer(&failure));
  return ok;
}
