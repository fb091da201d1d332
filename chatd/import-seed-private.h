/* Internals shared by chatd/import-seed*.c (see import-seed.h).
 *
 * import-seed.c runs the import: the entry point, the report and its skip
 * reasons, the order of the phases. import-seed-reader.c reads the seed file
 * (opening it, resolving the schema, scanning a table);
 * import-seed-writer.c submits writes to the store and waits for their
 * completions; import-seed-tables.c imports users, friendships, rooms and
 * members; import-seed-history.c merges and imports the chat history. */
#pragma once

#include <sqlite3.h>

#include "chatd/import-seed.h"

G_BEGIN_DECLS

/* ---- the seed's schema (import-seed-reader.c resolves it) ---- */

#define SEED_MAX_COLUMNS 4

enum { USER_ID, USER_NAME, USER_PASSWORD, USER_NICKNAME, USER_N_COLUMNS };
enum { FRIEND_FROM, FRIEND_TO, FRIEND_ACCEPTED, FRIEND_N_COLUMNS };
enum { ROOM_ID, ROOM_NAME, ROOM_N_COLUMNS };
enum { MEMBER_ROOM, MEMBER_USER, MEMBER_N_COLUMNS };
enum { HISTORY_ID, HISTORY_OWNER, HISTORY_DATA, HISTORY_SENT, HISTORY_N_COLUMNS };

/* A table as found in the seed: the names to put in SQL (our own spelling
 * constants; SQLite matches identifiers without regard to ASCII case), NULL
 * for a missing optional column. */
typedef struct {
  const char *table;
  const char *columns[SEED_MAX_COLUMNS];
  int n_columns;
} SeedTable;

/* ---- writes (import-seed-writer.c) ---- */

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
typedef struct _ImportSink ImportSink;

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
  GArray *seed_users;       /* SeedUser, validated, in id order */
  GHashTable *user_ids;     /* gint64 * set: users being imported */
  GHashTable *room_ids;     /* gint64 * set: rooms being imported */
  ChatdImportReport report; /* the parts the import thread fills in */
} ImportState;

/* ---- import-seed.c ---- */

/* Counts a skipped row and keeps why (the first few reasons). */
void import_report_skip(ImportState *st, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* Sets a CHATD_IMPORT_ERROR_DATA error; returns FALSE. */
gboolean import_data_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* ---- import-seed-writer.c ---- */

ImportSink *import_sink_new(void);
void import_sink_unref(ImportSink *sink);
/* Submitted writes whose completion has not run. */
guint import_sink_outstanding(ImportSink *sink);
/* Copies the counts of committed writes into report. */
void import_sink_fill_report(ImportSink *sink, ChatdImportReport *report);

/* Submits one write (waiting for the writes in flight first when there are
 * many, or when the store is saturated). CHATD_IMPORT_ERROR_REFUSED when the
 * store refuses it twice, or the error of settling. */
gboolean import_submit(ImportState *st, const WriteOp *op, GError **error);
/* Waits until every submitted write has completed; fails with the first
 * write's error, or CHATD_IMPORT_ERROR_CONTEXT when the completions do not
 * run on st->context. */
gboolean import_settle(ImportState *st, GError **error);

/* ---- import-seed-reader.c ---- */

/* Opens the seed read-only and starts the read transaction every read
 * shares. CHATD_IMPORT_ERROR_OPEN. */
gboolean import_seed_open(ImportState *st, const char *path, GError **error);
/* Ends the read transaction and closes the seed (if open). */
void import_seed_close(ImportState *st);
/* Finds every table and column the import needs.
 * CHATD_IMPORT_ERROR_SCHEMA names the missing one. */
gboolean import_resolve_schema(ImportState *st, GError **error);

/* One row of a scan; ordinal counts rows from 1. FALSE (with *error) stops
 * the scan and fails it. */
typedef gboolean (*SeedRowFunc)(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal, gpointer data,
                                GError **error);
/* Calls func for every row of table (every column, NULL for a missing
 * optional one), ordered by the columns listed in order (indexes, -1
 * terminated). CHATD_IMPORT_ERROR_OPEN when reading fails. */
gboolean import_seed_scan(ImportState *st, const SeedTable *table, const int *order,
                          SeedRowFunc func, gpointer data, GError **error);

static inline gboolean seed_column_integer(sqlite3_stmt *stmt, int column, gint64 *out) {
  if (sqlite3_column_type(stmt, column) != SQLITE_INTEGER)
    return FALSE;
  *out = sqlite3_column_int64(stmt, column);
  return TRUE;
}

/* The text of a column, or NULL for SQL NULL. Valid until the next step. */
static inline const char *seed_column_text(sqlite3_stmt *stmt, int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
    return NULL;
  return (const char *)sqlite3_column_text(stmt, column);
}

/* ---- import-seed-tables.c ---- */

/* Reads every user and checks them all before anything is written. */
gboolean import_load_users(ImportState *st, GError **error);
/* Clears a SeedUser (the GArray's clear func). */
void import_seed_user_clear(gpointer user);
gboolean import_users(ImportState *st, GError **error);
gboolean import_friends(ImportState *st, GError **error);
gboolean import_rooms(ImportState *st, GError **error);
gboolean import_members(ImportState *st, GError **error);

/* ---- import-seed-history.c ---- */

gboolean import_history(ImportState *st, GError **error);

/* ---- id sets ---- */

static inline GHashTable *id_set_new(void) {
  return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

static inline gboolean id_set_contains(GHashTable *set, gint64 id) {
  return g_hash_table_contains(set, &id);
}

/* FALSE when id was already there. */
static inline gboolean id_set_add(GHashTable *set, gint64 id) {
  return g_hash_table_add(set, g_memdup2(&id, sizeof id));
}

G_END_DECLS
