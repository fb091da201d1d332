/* Reading the seed database (see import-seed-private.h).
 *
 * The one file of chatd outside the store that reads SQLite: it reads a
 * foreign file, read-only, in one read transaction (so both passes over
 * chat_history see the same rows). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/import-seed-private.h"

/* How long a read of the seed file waits for a lock held by a running seed
 * server. */
#define SEED_BUSY_TIMEOUT_MS 5000

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* Spellings of one table or column, the seed's own first; NULL-terminated. */
typedef const char *const *SeedNames;

typedef struct {
  SeedNames names;
  gboolean optional; /* missing: read as NULL */
} SeedColumnSpec;

typedef struct {
  SeedNames names;
  SeedColumnSpec columns[SEED_MAX_COLUMNS];
  int n_columns;
} SeedTableSpec;

#define SEED_NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const SeedTableSpec users_spec = {
    SEED_NAMES("users", "user"),
    {{SEED_NAMES("id", "user_id", "uid"), FALSE},
     {SEED_NAMES("username", "user_name", "name"), FALSE},
     {SEED_NAMES("password", "password_hash", "passwd", "pwd"), FALSE},
     {SEED_NAMES("nickname", "nick_name", "nick"), TRUE}},
    USER_N_COLUMNS,
};

static const SeedTableSpec friends_spec = {
    SEED_NAMES("friends", "friend"),
    {{SEED_NAMES("from_user_id", "from_id", "from_user"), FALSE},
     {SEED_NAMES("to_user_id", "to_id", "to_user"), FALSE},
     {SEED_NAMES("accepted", "is_accepted"), FALSE}},
    FRIEND_N_COLUMNS,
};

static const SeedTableSpec rooms_spec = {
    SEED_NAMES("rooms", "room"),
    {{SEED_NAMES("id", "room_id"), FALSE}, {SEED_NAMES("room_name", "roomname", "name"), FALSE}},
    ROOM_N_COLUMNS,
};

static const SeedTableSpec members_spec = {
    SEED_NAMES("room_user", "room_users", "room_members"),
    {{SEED_NAMES("room_id", "rid"), FALSE}, {SEED_NAMES("user_id", "uid"), FALSE}},
    MEMBER_N_COLUMNS,
};

static const SeedTableSpec history_spec = {
    SEED_NAMES("chat_history"),
    {{SEED_NAMES("id", "history_id"), FALSE},
     {SEED_NAMES("user_id", "owner_id", "uid"), FALSE},
     {SEED_NAMES("data", "datas"), FALSE},
     {SEED_NAMES("sent"), FALSE}},
    HISTORY_N_COLUMNS,
};

/* ---- reading ---- */

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
static GPtrArray *seed_list(ImportState *st, const char *sql, const char *param, GError **error) {
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
    const char *name = seed_column_text(stmt, 0);
    if (name != NULL)
      g_ptr_array_add(names, g_strdup(name));
  }
}

/* Finds a table and its columns; names the missing one in the error. */
static gboolean resolve_table(ImportState *st, const SeedTableSpec *spec, SeedTable *table,
                              GError **error) {
  g_autoptr(GPtrArray) tables =
      seed_list(st, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')", NULL, error);
  if (tables == NULL)
    return FALSE;
  table->table = match_name(spec->names, tables);
  if (table->table == NULL) {
    g_autofree char *spellings = names_list(spec->names);
    g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_SCHEMA,
                "the seed database has no table \"%s\" (looked for %s)", spec->names[0], spellings);
    return FALSE;
  }
  g_autoptr(GPtrArray) columns =
      seed_list(st, "SELECT name FROM pragma_table_info(?1)", table->table, error);
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

gboolean import_seed_open(ImportState *st, const char *path, GError **error) {
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

gboolean import_resolve_schema(ImportState *st, GError **error) {
  return resolve_table(st, &users_spec, &st->users, error) &&
         resolve_table(st, &friends_spec, &st->friends, error) &&
         resolve_table(st, &rooms_spec, &st->rooms, error) &&
         resolve_table(st, &members_spec, &st->members, error) &&
         resolve_table(st, &history_spec, &st->history, error);
}

void import_seed_close(ImportState *st) {
  if (st->in_transaction)
    sqlite3_exec(st->seed, "ROLLBACK", NULL, NULL, NULL);
  st->in_transaction = FALSE;
  g_clear_pointer(&st->seed, sqlite3_close);
}

gboolean import_seed_scan(ImportState *st, const SeedTable *table, const int *order,
                          SeedRowFunc func, gpointer data, GError **error) {
  g_autofree char *sql = select_sql(table, order);
  g_autoptr(sqlite3_stmt) stmt = seed_prepare(st, sql, error);
  if (stmt == NULL)
    return FALSE;
  for (guint64 ordinal = 1;; ordinal++) {
    gboolean row = FALSE;
    if (!seed_step(st, stmt, &row, error))
      return FALSE;
    if (!row)
      return TRUE;
    if (!func(st, stmt, ordinal, data, error))
      return FALSE;
  }
}
