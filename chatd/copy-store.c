/* chatd --copy-store (copy-store.h): SQLite rows streamed into PostgreSQL
 * with COPY FROM STDIN, text format.
 *
 * The columns of each table are the source's own (PRAGMA table_info), so a
 * column added to both schemas is copied without a change here; each must
 * exist in the target, whose type (from information_schema) decides how a
 * value is written: integers in decimal, text escaped for COPY, bytea as
 * hex. A source table this file does not list is an error, never silently
 * left behind. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/copy-store.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include "chatd/store-pg.h"
#include "chatd/store.h"

/* clang-format off */
G_DEFINE_QUARK(chatd-copy-store-error-quark, chatd_copy_store_error)
/* clang-format on */

/* How long the source's connection waits for a lock (a running chatd's
 * checkpoint or WAL recovery), in ms. */
#define SOURCE_BUSY_TIMEOUT_MS 10000

/* Tables in foreign-key order, each with the key it is read in. */
typedef struct {
  const char *name;
  const char *order_by;
} TableSpec;

static const TableSpec tables[] = {
    {"users", "id"},
    {"friend_requests", "from_user_id, to_user_id"},
    {"friends", "user_id, friend_id"},
    {"rooms", "id"},
    {"room_members", "room_id, user_id"},
    {"messages", "id"},
    {"offline_deliveries", "user_id, message_id"},
    {"read_markers", "user_id, target_type, target_id"},
    {"sessions", "token_hash"},
};

/* How the target stores a column. */
typedef enum {
  COLUMN_INTEGER,
  COLUMN_TEXT,
  COLUMN_BYTES,
} ColumnKind;

typedef struct {
  char *name;
  ColumnKind kind;
} Column;

typedef struct {
  sqlite3 *source;
  PGconn *target;
  const char *source_path;
  const ChatdCopyStoreProgress *progress;
  gpointer user_data;
  GString *buffer; /* COPY data not sent yet */
} Copy;

/* ---- errors ---- */

static gboolean source_error(GError **error, Copy *c, const char *what) {
  g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SOURCE, "%s: %s: %s",
              c->source_path, what, sqlite3_errmsg(c->source));
  return FALSE;
}

/* The first line of a libpq message, without its trailing newline. */
static char *first_line(const char *message) {
  if (message == NULL || message[0] == '\0')
    return g_strdup("unknown error");
  const char *end = strchr(message, '\n');
  return end != NULL ? g_strndup(message, (gsize)(end - message)) : g_strdup(message);
}

/* A failed result: its primary message only (the detail and context may
 * quote row values, such as a hash). */
static gboolean result_error(GError **error, const PGresult *result, const char *what) {
  const char *primary = result != NULL ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  g_autofree char *message = first_line(primary);
  g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET, "%s: %s", what,
              message);
  return FALSE;
}

static gboolean connection_error(GError **error, PGconn *conn, const char *what) {
  g_autofree char *message = first_line(PQerrorMessage(conn));
  g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET, "%s: %s", what,
              message);
  return FALSE;
}

/* ---- the target ---- */

/* Runs a statement without parameters that returns no rows. */
static gboolean target_exec(Copy *c, const char *sql, const char *what, GError **error) {
  PGresult *result = PQexec(c->target, sql);
  gboolean ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  if (!ok)
    result_error(error, result, what);
  PQclear(result);
  return ok;
}

/* "database "chat" on host:port": no user, no password. */
static char *describe_target(PGconn *conn) {
  const char *host = PQhost(conn);
  const char *port = PQport(conn);
  return g_strdup_printf("database \"%s\" on %s%s%s", PQdb(conn),
                         host != NULL && host[0] != '\0' ? host : "the local socket",
                         port != NULL && port[0] != '\0' ? ":" : "", port != NULL ? port : "");
}

/* PostgreSQL's notices ("relation ... already exists, skipping") are for
 * debugging, not for the operator's terminal. */
static void on_notice(void *data, const char *message) {
  g_debug("PostgreSQL: %s", message);
}

static PGconn *target_connect(const char *conninfo, GError **error) {
  PGconn *conn = PQconnectdb(conninfo);
  if (conn == NULL) {
    g_set_error_literal(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET,
                        "cannot connect to PostgreSQL: out of memory");
    return NULL;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    connection_error(error, conn, "cannot connect to PostgreSQL");
    PQfinish(conn);
    return NULL;
  }
  PQsetNoticeProcessor(conn, on_notice, NULL);
  if (PQsetClientEncoding(conn, "UTF8") != 0) {
    connection_error(error, conn, "cannot set the client encoding to UTF8");
    PQfinish(conn);
    return NULL;
  }
  return conn;
}

/* The kind of each column of a target table, by name. */
static GHashTable *target_columns(Copy *c, const char *table, GError **error) {
  const char *params[] = {table};
  PGresult *result = PQexecParams(c->target,
                                  "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = current_schema() AND table_name = $1",
                                  1, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(result) != PGRES_TUPLES_OK) {
    g_autofree char *what = g_strdup_printf("cannot read the columns of the target's %s", table);
    result_error(error, result, what);
    PQclear(result);
    return NULL;
  }
  GHashTable *kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < PQntuples(result); i++) {
    const char *type = PQgetvalue(result, i, 1);
    ColumnKind kind;
    if (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
        strcmp(type, "smallint") == 0)
      kind = COLUMN_INTEGER;
    else if (strcmp(type, "bytea") == 0)
      kind = COLUMN_BYTES;
    else if (strcmp(type, "text") == 0 || strcmp(type, "character varying") == 0)
      kind = COLUMN_TEXT;
    else {
      g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SCHEMA,
                  "the target's %s.%s has type %s, which --copy-store does not know", table,
                  PQgetvalue(result, i, 0), type);
      g_hash_table_unref(kinds);
      PQclear(result);
      return NULL;
    }
    g_hash_table_insert(kinds, g_strdup(PQgetvalue(result, i, 0)), GINT_TO_POINTER(kind + 1));
  }
  PQclear(result);
  if (g_hash_table_size(kinds) == 0) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SCHEMA,
                "the target has no table %s", table);
    g_hash_table_unref(kinds);
    return NULL;
  }
  return kinds;
}

/* Locks the target's tables against writers until the commit, and checks
 * that every one is empty. */
static gboolean target_lock_and_check_empty(Copy *c, GError **error) {
  g_autoptr(GString) lock = g_string_new("LOCK TABLE ");
  for (gsize i = 0; i < G_N_ELEMENTS(tables); i++)
    g_string_append_printf(lock, "%s%s", i > 0 ? ", " : "", tables[i].name);
  g_string_append(lock, " IN EXCLUSIVE MODE");
  if (!target_exec(c, lock->str, "cannot lock the target's tables", error))
    return FALSE;
  g_autoptr(GString) counts = g_string_new("");
  for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
    g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", tables[i].name);
    PGresult *result = PQexec(c->target, sql);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
      g_autofree char *what =
          g_strdup_printf("cannot count the rows of the target's %s", tables[i].name);
      result_error(error, result, what);
      PQclear(result);
      return FALSE;
    }
    const char *count = PQgetvalue(result, 0, 0);
    if (strcmp(count, "0") != 0)
      g_string_append_printf(counts, "%s%s has %s row%s", counts->len > 0 ? ", " : "",
                             tables[i].name, count, strcmp(count, "1") == 0 ? "" : "s");
    PQclear(result);
  }
  if (counts->len > 0) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_NOT_EMPTY,
                "the target database \"%s\" is not empty (%s): --copy-store writes only "
                "into an empty database",
                PQdb(c->target), counts->str);
    return FALSE;
  }
  return TRUE;
}

/* ---- the source ---- */

static gboolean source_open(Copy *c, GError **error) {
  if (!g_file_test(c->source_path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SOURCE,
                "%s: no such database file", c->source_path);
    return FALSE;
  }
  int rc = sqlite3_open_v2(c->source_path, &c->source, SQLITE_OPEN_READONLY, NULL);
  if (rc != SQLITE_OK)
    return source_error(error, c, "cannot open");
  sqlite3_busy_timeout(c->source, SOURCE_BUSY_TIMEOUT_MS);
  /* One read transaction for every table: a snapshot, whatever a running
   * chatd commits meanwhile. */
  if (sqlite3_exec(c->source, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return source_error(error, c, "cannot begin a read transaction");
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(c->source, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_ROW) {
    sqlite3_finalize(stmt);
    return source_error(error, c, "cannot read the schema version");
  }
  int version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version != CHATD_STORE_SCHEMA_VERSION) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SOURCE,
                version == 0 ? "%s: not a chatd database (schema version %d)"
                : version < CHATD_STORE_SCHEMA_VERSION
                    ? "%s: schema version %d, older than this chatd's %d: start this chatd on it "
                      "once (it migrates the database), then copy"
                    : "%s: schema version %d, newer than this chatd's %d: use a newer chatd",
                c->source_path, version, CHATD_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  return TRUE;
}

/* SQLite tables made from the others, which PostgreSQL does without (it
 * has no search index, store-pg-schema.c): the FTS5 trigram index of
 * messages' texts (store-schema.c, migration 3) and its shadow tables.
 * They are not copied. */
static const char *const derived_tables[] = {
    "messages_fts",         "messages_fts_data",   "messages_fts_idx",
    "messages_fts_docsize", "messages_fts_config",
};

static gboolean known_table(const char *name) {
  for (gsize i = 0; i < G_N_ELEMENTS(tables); i++)
    if (strcmp(tables[i].name, name) == 0)
      return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS(derived_tables); i++)
    if (strcmp(derived_tables[i], name) == 0)
      return TRUE;
  return FALSE;
}

/* Every table of the source must be one this file copies (or a derived
 * one it leaves behind). */
static gboolean source_check_tables(Copy *c, GError **error) {
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(c->source,
                         "SELECT name FROM sqlite_schema WHERE type = 'table' "
                         "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                         -1, &stmt, NULL) != SQLITE_OK)
    return source_error(error, c, "cannot list the tables");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(stmt, 0);
    if (!known_table(name)) {
      g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SCHEMA,
                  "%s: table %s is not one --copy-store knows", c->source_path, name);
      sqlite3_finalize(stmt);
      return FALSE;
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE)
    return source_error(error, c, "cannot list the tables");
  return TRUE;
}

static void column_clear(gpointer data) {
  g_free(((Column *)data)->name);
}

/* The source's columns of a table, each with the kind the target gives it. */
static GArray *table_columns(Copy *c, const char *table, GError **error) {
  g_autoptr(GHashTable) kinds = target_columns(c, table, error);
  if (kinds == NULL)
    return NULL;
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(c->source, "SELECT name FROM pragma_table_info(?) ORDER BY cid", -1, &stmt,
                         NULL) != SQLITE_OK) {
    source_error(error, c, "cannot read a table's columns");
    return NULL;
  }
  sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
  g_autoptr(GArray) columns = g_array_new(FALSE, FALSE, sizeof(Column));
  g_array_set_clear_func(columns, column_clear);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(stmt, 0);
    gpointer kind = g_hash_table_lookup(kinds, name);
    if (kind == NULL) {
      g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SCHEMA,
                  "the target's table %s has no column %s", table, name);
      break;
    }
    Column column = {g_strdup(name), (ColumnKind)(GPOINTER_TO_INT(kind) - 1)};
    g_array_append_val(columns, column);
  }
  if (rc == SQLITE_DONE && columns->len == 0)
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_SCHEMA, "%s: no table %s",
                c->source_path, table);
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    source_error(error, c, "cannot read a table's columns");
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE || columns->len == 0)
    return NULL;
  return g_steal_pointer(&columns);
}

/* ---- COPY text format ---- */

/* A text value: backslash, newline, carriage return and tab escaped (COPY's
 * text format; the other bytes go as they are). */
static void append_text(GString *out, const char *text, gsize len) {
  for (gsize i = 0; i < len; i++) {
    char ch = text[i];
    switch (ch) {
    case '\\':
      g_string_append(out, "\\\\");
      break;
    case '\n':
      g_string_append(out, "\\n");
      break;
    case '\r':
      g_string_append(out, "\\r");
      break;
    case '\t':
      g_string_append(out, "\\t");
      break;
    default:
      g_string_append_c(out, ch);
    }
  }
}

/* A bytea value in hex ("\x0a1b"), its backslash escaped for COPY. */
static void append_bytes(GString *out, const guint8 *bytes, gsize len) {
  static const char digits[] = "0123456789abcdef";
  gsize at = out->len;
  g_string_set_size(out, at + 3 + 2 * len);
  char *p = out->str + at;
  *p++ = '\\';
  *p++ = '\\';
  *p++ = 'x';
  for (gsize i = 0; i < len; i++) {
    *p++ = digits[bytes[i] >> 4];
    *p++ = digits[bytes[i] & 0x0f];
  }
}

/* Where a row is, for messages: its id when the table has one (the rows of
 * the other tables are named by number, since their keys may be hashes). */
static char *row_label(sqlite3_stmt *stmt, const GArray *columns, guint64 row) {
  for (guint i = 0; i < columns->len; i++)
    if (strcmp(g_array_index(columns, Column, i).name, "id") == 0 &&
        sqlite3_column_type(stmt, (int)i) == SQLITE_INTEGER)
      return g_strdup_printf("id %" G_GINT64_FORMAT, (gint64)sqlite3_column_int64(stmt, (int)i));
  return g_strdup_printf("row %" G_GUINT64_FORMAT, row);
}

static gboolean data_error(GError **error, const char *table, sqlite3_stmt *stmt,
                           const GArray *columns, guint64 row, const char *column,
                           const char *problem) {
  g_autofree char *label = row_label(stmt, columns, row);
  g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_DATA, "%s, %s: %s %s", table,
              label, column, problem);
  return FALSE;
}

/* Appends the current row of stmt as one COPY line. */
static gboolean append_row(GString *out, const char *table, sqlite3_stmt *stmt,
                           const GArray *columns, guint64 row, GError **error) {
  for (guint i = 0; i < columns->len; i++) {
    const Column *column = &g_array_index(columns, Column, i);
    if (i > 0)
      g_string_append_c(out, '\t');
    int type = sqlite3_column_type(stmt, (int)i);
    if (type == SQLITE_NULL) {
      g_string_append(out, "\\N");
      continue;
    }
    switch (column->kind) {
    case COLUMN_INTEGER:
      if (type != SQLITE_INTEGER)
        return data_error(error, table, stmt, columns, row, column->name, "is not an integer");
      g_string_append_printf(out, "%" G_GINT64_FORMAT, (gint64)sqlite3_column_int64(stmt, (int)i));
      break;
    case COLUMN_TEXT: {
      const char *text = (const char *)sqlite3_column_text(stmt, (int)i);
      gsize len = (gsize)sqlite3_column_bytes(stmt, (int)i);
      if (memchr(text, '\0', len) != NULL)
        return data_error(error, table, stmt, columns, row, column->name,
                          "holds a NUL character, which a PostgreSQL text cannot");
      if (!g_utf8_validate_len(text, len, NULL))
        return data_error(error, table, stmt, columns, row, column->name, "is not valid UTF-8");
      append_text(out, text, len);
      break;
    }
    case COLUMN_BYTES:
      append_bytes(out, sqlite3_column_blob(stmt, (int)i),
                   (gsize)sqlite3_column_bytes(stmt, (int)i));
      break;
    }
  }
  g_string_append_c(out, '\n');
  return TRUE;
}

static gboolean send_buffer(Copy *c, const char *table, GError **error) {
  if (c->buffer->len == 0)
    return TRUE;
  if (PQputCopyData(c->target, c->buffer->str, (int)c->buffer->len) != 1) {
    g_autofree char *what = g_strdup_printf("copying %s", table);
    return connection_error(error, c->target, what);
  }
  g_string_truncate(c->buffer, 0);
  return TRUE;
}

/* A failed COPY: its primary message and the row it stopped at (the
 * context names it as "COPY table, line N: ..." followed by the row's values,
 * which stay out). */
static gboolean copy_error(GError **error, const PGresult *result, const char *table) {
  const char *context = PQresultErrorField(result, PG_DIAG_CONTEXT);
  g_autofree char *prefix = g_strdup_printf("COPY %s, line ", table);
  const char *at = context != NULL ? strstr(context, prefix) : NULL;
  guint64 line = 0;
  if (at != NULL) {
    g_autofree char *digits =
        g_strndup(at + strlen(prefix), strspn(at + strlen(prefix), "0123456789"));
    g_ascii_string_to_unsigned(digits, 10, 1, G_MAXUINT64, &line, NULL);
  }
  g_autofree char *what = line > 0
                              ? g_strdup_printf("copying %s, row %" G_GUINT64_FORMAT, table, line)
                              : g_strdup_printf("copying %s", table);
  return result_error(error, result, what);
}

/* Ends the COPY (failed: with that reason, which makes the server undo it)
 * and reads its outcome; *copied gets the rows the server took. */
static gboolean end_copy(Copy *c, const char *table, const char *failed, guint64 *copied,
                         GError **error) {
  g_autofree char *what = g_strdup_printf("copying %s", table);
  gboolean ok = TRUE;
  if (PQputCopyEnd(c->target, failed) != 1)
    ok = connection_error(failed == NULL ? error : NULL, c->target, what);
  PGresult *result;
  while ((result = PQgetResult(c->target)) != NULL) {
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
      g_ascii_string_to_unsigned(PQcmdTuples(result), 10, 0, G_MAXUINT64, copied, NULL);
    } else if (ok) {
      ok = FALSE;
      if (failed == NULL)
        copy_error(error, result, table);
    }
    PQclear(result);
  }
  return ok && failed == NULL;
}

/* Copies one table; *rows gets its row count. */
static gboolean copy_table(Copy *c, const TableSpec *table, guint64 *rows, GError **error) {
  g_autoptr(GArray) columns = table_columns(c, table->name, error);
  if (columns == NULL)
    return FALSE;
  g_autoptr(GString) names = g_string_new("");
  for (guint i = 0; i < columns->len; i++)
    g_string_append_printf(names, "%s%s", i > 0 ? ", " : "",
                           g_array_index(columns, Column, i).name);

  g_autofree char *select =
      g_strdup_printf("SELECT %s FROM %s ORDER BY %s", names->str, table->name, table->order_by);
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(c->source, select, -1, &stmt, NULL) != SQLITE_OK) {
    g_autofree char *what = g_strdup_printf("cannot read %s", table->name);
    return source_error(error, c, what);
  }
  g_autofree char *copy = g_strdup_printf("COPY %s (%s) FROM STDIN", table->name, names->str);
  PGresult *result = PQexec(c->target, copy);
  if (PQresultStatus(result) != PGRES_COPY_IN) {
    g_autofree char *what = g_strdup_printf("cannot start copying %s", table->name);
    result_error(error, result, what);
    PQclear(result);
    sqlite3_finalize(stmt);
    return FALSE;
  }
  PQclear(result);

  guint64 row = 0;
  int rc;
  gboolean ok = TRUE;
  g_string_truncate(c->buffer, 0);
  while (ok && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    row++;
    ok = append_row(c->buffer, table->name, stmt, columns, row, error) &&
         (c->buffer->len < CHATD_COPY_STORE_CHUNK_BYTES || send_buffer(c, table->name, error));
  }
  if (ok && rc != SQLITE_DONE) {
    g_autofree char *what = g_strdup_printf("cannot read %s", table->name);
    ok = source_error(error, c, what);
  }
  sqlite3_finalize(stmt);
  ok = ok && send_buffer(c, table->name, error);
  guint64 copied = 0;
  if (!end_copy(c, table->name, ok ? NULL : "chatd --copy-store failed", &copied, error))
    return FALSE;
  if (copied != row) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET,
                "copying %s: PostgreSQL took %" G_GUINT64_FORMAT " rows of %" G_GUINT64_FORMAT,
                table->name, copied, row);
    return FALSE;
  }
  *rows = row;
  return TRUE;
}

/* ---- the copy ---- */

static gboolean copy_all(Copy *c, const char *conninfo, ChatdCopyStoreReport *report,
                         gint64 start_us, GError **error) {
  if (!source_open(c, error) || !source_check_tables(c, error))
    return FALSE;
  c->target = target_connect(conninfo, error);
  if (c->target == NULL)
    return FALSE;
  g_autoptr(GError) migrate_error = NULL;
  if (!chatd_store_pg_migrate_connection(c->target, NULL, &migrate_error)) {
    g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET,
                "cannot create the target's schema: %s", migrate_error->message);
    return FALSE;
  }
  if (c->progress != NULL && c->progress->started != NULL) {
    g_autofree char *target = describe_target(c->target);
    c->progress->started(c->source_path, target, c->user_data);
  }

  if (!target_exec(c, "BEGIN", "cannot begin the transaction", error))
    return FALSE;
  gboolean ok = target_lock_and_check_empty(c, error);
  for (gsize i = 0; ok && i < G_N_ELEMENTS(tables); i++) {
    gint64 table_start_us = g_get_monotonic_time();
    guint64 rows = 0;
    ok = copy_table(c, &tables[i], &rows, error);
    if (!ok)
      break;
    report->tables++;
    report->rows += rows;
    if (c->progress != NULL && c->progress->table_done != NULL)
      c->progress->table_done(tables[i].name, rows, g_get_monotonic_time() - table_start_us,
                              c->user_data);
  }
  if (ok) {
    g_autoptr(GError) sequence_error = NULL;
    ok = chatd_store_pg_reset_sequences(c->target, &sequence_error);
    if (!ok)
      g_set_error(error, CHATD_COPY_STORE_ERROR, CHATD_COPY_STORE_ERROR_TARGET,
                  "cannot set the id sequences: %s", sequence_error->message);
  }
  ok = ok && target_exec(c, "COMMIT", "cannot commit the copy", error);
  if (!ok) {
    /* An error inside the transaction has aborted it already; ROLLBACK
     * ends it either way (its own failure changes nothing). */
    PQclear(PQexec(c->target, "ROLLBACK"));
    report->tables = 0;
    report->rows = 0;
    return FALSE;
  }
  report->elapsed_us = g_get_monotonic_time() - start_us;
  /* Fresh statistics for the planner; a failure here loses nothing. */
  for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
    g_autofree char *sql = g_strdup_printf("ANALYZE %s", tables[i].name);
    PQclear(PQexec(c->target, sql));
  }
  return TRUE;
}

gboolean chatd_copy_store(const char *sqlite_path, const char *conninfo,
                          const ChatdCopyStoreProgress *progress, gpointer user_data,
                          ChatdCopyStoreReport *report, GError **error) {
  g_return_val_if_fail(sqlite_path != NULL, FALSE);
  g_return_val_if_fail(conninfo != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  ChatdCopyStoreReport local_report;
  if (report == NULL)
    report = &local_report;
  memset(report, 0, sizeof *report);
  Copy c = {
      .source_path = sqlite_path,
      .progress = progress,
      .user_data = user_data,
      .buffer = g_string_sized_new(CHATD_COPY_STORE_CHUNK_BYTES),
  };
  gboolean ok = copy_all(&c, conninfo, report, g_get_monotonic_time(), error);
  if (c.source != NULL) {
    sqlite3_exec(c.source, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c.source);
  }
  if (c.target != NULL)
    PQfinish(c.target);
  g_string_free(c.buffer, TRUE);
  return ok;
}
