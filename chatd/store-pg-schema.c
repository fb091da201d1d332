/* The PostgreSQL store's connections and schema: SQLSTATEs become
 * CHATD_STORE_ERROR here, connections are opened and re-opened (with a
 * backoff) here, and the schema is migrated here, with its version in the
 * one-row table schema_version.
 *
 * The tables, columns and meanings are those of the SQLite schema
 * (store-schema.c), with PostgreSQL types: BIGINT ids and times, TEXT,
 * BYTEA; small enumerations (target_type, kind, font_size, revoked) are
 * INTEGER, so a generic copy of the rows works both ways. One exception:
 * messages.text is BYTEA, not TEXT, because a message's text may hold
 * U+0000 (spec: a str may), which a PostgreSQL TEXT cannot; it holds the
 * UTF-8 bytes as they are (a copy binds them as bytes). Ids come from
 * the sequences users_id_seq, rooms_id_seq and messages_id_seq (the
 * columns' defaults) when the store chooses them.
 *
 * Durability: PostgreSQL's own (synchronous_commit as the server has it). */
#define G_LOG_DOMAIN "chatd-store"

#include <stdlib.h>
#include <string.h>

#include "chatd/store-pg-private.h"

/* pg_advisory_xact_lock key of migrations (any constant, distinct from the
 * message id lock of store-pg-statements.c). */
#define STORE_PG_MIGRATION_LOCK "7254823315011"

/* ---- errors ---- */

ChatdStoreError chatd_store_error_from_sqlstate(const char *state) {
  if (state == NULL || strlen(state) != 5)
    return CHATD_STORE_ERROR_FAILED;
  if (g_str_has_prefix(state, "23") || g_str_has_prefix(state, "22"))
    return CHATD_STORE_ERROR_CONSTRAINT; /* integrity rules, bad data (encoding, range) */
  if (g_str_has_prefix(state, "08") || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
      strcmp(state, "57P03") == 0 || strcmp(state, "53300") == 0)
    return CHATD_STORE_ERROR_UNAVAILABLE; /* connection, shutdown, starting, too many clients */
  if (g_str_has_prefix(state, "40") || strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
    return CHATD_STORE_ERROR_BUSY; /* serialization, deadlock, lock or statement timeout */
  if (g_str_has_prefix(state, "53") || g_str_has_prefix(state, "58"))
    return CHATD_STORE_ERROR_IO; /* disk full, out of memory, system errors */
  if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0)
    return CHATD_STORE_ERROR_CORRUPT;
  if (g_str_has_prefix(state, "42"))
    return CHATD_STORE_ERROR_SCHEMA; /* undefined table or column, syntax */
  if (g_str_has_prefix(state, "28") || strcmp(state, "3D000") == 0)
    return CHATD_STORE_ERROR_OPEN; /* authentication, no such database */
  return CHATD_STORE_ERROR_FAILED;
}

void chatd_store_pg_set_error(GError **error, PGconn *conn, const PGresult *res, const char *what) {
  ChatdStoreError code;
  const char *message;
  if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
    code = CHATD_STORE_ERROR_UNAVAILABLE;
    message = conn != NULL ? PQerrorMessage(conn) : "not connected";
  } else {
    code = chatd_store_error_from_sqlstate(res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                                       : NULL);
    message = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  }
  if (message == NULL || *message == '\0')
    message = "unknown error";
  g_autofree char *trimmed = g_strchomp(g_strdup(message));
  g_set_error(error, CHATD_STORE_ERROR, code, "%s: %s", what, trimmed);
}

/* ---- connections ---- */

/* Notices ("relation already exists, skipping") are not for chatd's log. */
static void ignore_notice(void *data, const char *message) {
  (void)data, (void)message;
}

PGconn *chatd_store_pg_connect(const char *conninfo, GError **error) {
  /* Defaults that conninfo may override (it comes last): a server that
   * vanishes without closing the connection (a host down, a partition) is
   * noticed within seconds, not at the kernel's TCP timeout. */
  static const char *const keywords[] = {
      "connect_timeout",
      "tcp_user_timeout",
      "keepalives",
      "keepalives_idle",
      "keepalives_interval",
      "keepalives_count",
      "application_name",
      "dbname",
      NULL,
  };
  const char *values[] = {
      "5", "10000", "1", "10", "5", "3", "chatd", conninfo, NULL,
  };
  PGconn *conn = PQconnectdbParams(keywords, values, 1 /* expand dbname */);
  if (conn == NULL) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED,
                "cannot connect to PostgreSQL: out of memory");
    return NULL;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    /* libpq gives no SQLSTATE here: a refusal by the server names itself */
    const char *message = PQerrorMessage(conn);
    gboolean refused_by_server = strstr(message, "FATAL:") != NULL &&
                                 strstr(message, "the database system is") == NULL &&
                                 strstr(message, "too many clients") == NULL;
    g_autofree char *trimmed = g_strchomp(g_strdup(message));
    g_set_error(error, CHATD_STORE_ERROR,
                refused_by_server ? CHATD_STORE_ERROR_OPEN : CHATD_STORE_ERROR_UNAVAILABLE,
                "cannot connect to PostgreSQL: %s", trimmed);
    PQfinish(conn);
    return NULL;
  }
  PQsetNoticeProcessor(conn, ignore_notice, NULL);
  if (PQsetClientEncoding(conn, "UTF8") != 0) {
    chatd_store_pg_set_error(error, conn, NULL, "set client encoding");
    PQfinish(conn);
    return NULL;
  }
  return conn;
}

/* Runs sql (no parameters, possibly several statements) expecting no rows. */
static gboolean exec_sql(PGconn *conn, const char *sql, const char *what, GError **error) {
  PGresult *res = PQexec(conn, sql);
  ExecStatusType status = PQresultStatus(res);
  gboolean ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  if (!ok)
    chatd_store_pg_set_error(error, conn, res, what);
  PQclear(res);
  return ok;
}

StorePgConnection *chatd_store_pg_connection_open(const char *conninfo, StoreRole role,
                                                  int *version, GError **error) {
  PGconn *conn = chatd_store_pg_connect(conninfo, error);
  if (conn == NULL)
    return NULL;
  StorePgConnection *c = g_new0(StorePgConnection, 1);
  c->conn = conn;
  c->conninfo = g_strdup(conninfo);
  c->role = role;
  c->backoff_us = STORE_PG_BACKOFF_MIN_US;
  if ((role == STORE_ROLE_WRITER && !chatd_store_pg_migrate_connection(conn, version, error)) ||
      !chatd_store_pg_prepare(c, error)) {
    chatd_store_pg_connection_close(c);
    return NULL;
  }
  return c;
}

gpointer chatd_store_pg_open_connection(const char *conninfo, StoreRole role, int *version,
                                        GError **error) {
  return chatd_store_pg_connection_open(conninfo, role, version, error);
}

gboolean chatd_store_pg_connection_ok(const StorePgConnection *c) {
  return c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK;
}

void chatd_store_pg_connection_lost(StorePgConnection *c) {
  if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
    return;
  if (c->conn != NULL) {
    g_message("lost the PostgreSQL connection (%s): reconnecting",
              c->role == STORE_ROLE_WRITER ? "writer" : "reader");
    PQfinish(c->conn);
    c->conn = NULL;
    /* the first attempt at once: the server may only have dropped us */
    c->next_attempt_us = 0;
    c->backoff_us = STORE_PG_BACKOFF_MIN_US;
  }
  c->message_lock_held = FALSE;
  c->lock_in_savepoint = FALSE;
}

gboolean chatd_store_pg_connection_ensure(StorePgConnection *c, GError **error) {
  chatd_store_pg_connection_lost(c); /* drops a connection libpq knows is bad */
  if (c->conn != NULL)
    return TRUE;
  gint64 now = g_get_monotonic_time();
  if (now < c->next_attempt_us) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE,
                "PostgreSQL is unavailable (next reconnection attempt in %" G_GINT64_FORMAT " ms)",
                (c->next_attempt_us - now) / 1000);
    return FALSE;
  }
  g_autoptr(GError) local = NULL;
  c->conn = chatd_store_pg_connect(c->conninfo, &local);
  if (c->conn != NULL && !chatd_store_pg_prepare(c, &local)) {
    PQfinish(c->conn);
    c->conn = NULL;
  }
  if (c->conn == NULL) {
    c->next_attempt_us = g_get_monotonic_time() + c->backoff_us;
    c->backoff_us = MIN(c->backoff_us * 2, STORE_PG_BACKOFF_MAX_US);
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE,
                "PostgreSQL is unavailable: %s", local->message);
    return FALSE;
  }
  g_message("reconnected to PostgreSQL (%s)", c->role == STORE_ROLE_WRITER ? "writer" : "reader");
  c->backoff_us = STORE_PG_BACKOFF_MIN_US;
  c->next_attempt_us = 0;
  return TRUE;
}

void chatd_store_pg_connection_close(StorePgConnection *c) {
  if (c == NULL)
    return;
  if (c->conn != NULL)
    PQfinish(c->conn);
  g_free(c->conninfo);
  g_free(c);
}

/* ---- migrations ----
 * migrations[i] takes a database from version i to i + 1; the caller sets
 * schema_version in the same transaction. Append new migrations; never edit
 * a released one. Numbered like the SQLite ones (same meaning per version). */

static const char migration_1[] =
    "CREATE SEQUENCE users_id_seq;\n"
    "CREATE TABLE users (\n"
    "  id            BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),\n"
    "  username      TEXT   NOT NULL UNIQUE,\n"
    "  nickname      TEXT   NOT NULL,\n"
    "  password_hash TEXT   NOT NULL,\n"
    "  created_ms    BIGINT NOT NULL\n"
    ");\n"
    "ALTER SEQUENCE users_id_seq OWNED BY users.id;\n"
    "CREATE TABLE friend_requests (\n"
    "  from_user_id BIGINT NOT NULL REFERENCES users (id),\n"
    "  to_user_id   BIGINT NOT NULL REFERENCES users (id),\n"
    "  created_ms   BIGINT NOT NULL,\n"
    "  PRIMARY KEY (from_user_id, to_user_id),\n"
    "  CHECK (from_user_id <> to_user_id)\n"
    ");\n"
    "CREATE TABLE friends (\n"
    "  user_id   BIGINT NOT NULL REFERENCES users (id),\n"
    "  friend_id BIGINT NOT NULL REFERENCES users (id),\n"
    "  since_ms  BIGINT NOT NULL,\n"
    "  PRIMARY KEY (user_id, friend_id),\n"
    "  CHECK (user_id <> friend_id)\n"
    ");\n"
    "CREATE SEQUENCE rooms_id_seq;\n"
    "CREATE TABLE rooms (\n"
    "  id         BIGINT PRIMARY KEY DEFAULT nextval('rooms_id_seq'),\n"
    "  room_name  TEXT   NOT NULL,\n"
    "  created_ms BIGINT NOT NULL,\n"
    "  creator_id BIGINT REFERENCES users (id)\n"
    ");\n"
    "ALTER SEQUENCE rooms_id_seq OWNED BY rooms.id;\n"
    "CREATE TABLE room_members (\n"
    "  room_id          BIGINT NOT NULL REFERENCES rooms (id),\n"
    "  user_id          BIGINT NOT NULL REFERENCES users (id),\n"
    "  joined_ms        BIGINT NOT NULL,\n"
    "  first_message_id BIGINT NOT NULL,\n"
    "  PRIMARY KEY (room_id, user_id)\n"
    ");\n"
    "CREATE INDEX room_members_by_user ON room_members (user_id, room_id);\n"
    "CREATE SEQUENCE messages_id_seq;\n"
    "CREATE TABLE messages (\n"
    "  id            BIGINT  PRIMARY KEY DEFAULT nextval('messages_id_seq'),\n"
    "  sender_id     BIGINT  NOT NULL REFERENCES users (id),\n"
    "  target_type   INTEGER NOT NULL CHECK (target_type IN (0, 1)),\n"
    "  target_id     BIGINT  NOT NULL,\n"
    "  sent_ms       BIGINT  NOT NULL,\n"
    "  kind          INTEGER NOT NULL CHECK (kind IN (0, 1)),\n"
    "  text          BYTEA,\n"
    "  font_size     INTEGER,\n"
    "  font_color    TEXT,\n"
    "  image         BYTEA,\n"
    "  client_msg_id TEXT,\n"
    "  UNIQUE (sender_id, client_msg_id),\n"
    "  CHECK ((kind = 0 AND text IS NOT NULL AND image IS NULL)\n"
    "      OR (kind = 1 AND image IS NOT NULL AND text IS NULL))\n"
    ");\n"
    "ALTER SEQUENCE messages_id_seq OWNED BY messages.id;\n"
    "CREATE INDEX messages_direct ON messages (target_id, sender_id, id)\n"
    "  WHERE target_type = 0;\n"
    "CREATE INDEX messages_room ON messages (target_id, id, sender_id)\n"
    "  WHERE target_type = 1;\n"
    "CREATE TABLE offline_deliveries (\n"
    "  user_id    BIGINT NOT NULL REFERENCES users (id),\n"
    "  message_id BIGINT NOT NULL REFERENCES messages (id),\n"
    "  PRIMARY KEY (user_id, message_id)\n"
    ");\n"
    "CREATE TABLE read_markers (\n"
    "  user_id      BIGINT  NOT NULL REFERENCES users (id),\n"
    "  target_type  INTEGER NOT NULL CHECK (target_type IN (0, 1)),\n"
    "  target_id    BIGINT  NOT NULL,\n"
    "  last_read_id BIGINT  NOT NULL,\n"
    "  PRIMARY KEY (user_id, target_type, target_id)\n"
    ");\n"
    "CREATE TABLE sessions (\n"
    "  token_hash   BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(token_hash) = 32),\n"
    "  user_id      BIGINT  NOT NULL REFERENCES users (id),\n"
    "  created_ms   BIGINT  NOT NULL,\n"
    "  last_used_ms BIGINT  NOT NULL,\n"
    "  revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))\n"
    ");\n"
    "CREATE INDEX sessions_by_user ON sessions (user_id);\n";

/* Images get their size and format (as SQLite's migration 2). */
static const char migration_2[] =
    "ALTER TABLE messages ADD COLUMN image_size BIGINT;\n"
    "ALTER TABLE messages ADD COLUMN image_format TEXT;\n"
    "UPDATE messages SET image_size = octet_length(image), image_format = CASE\n"
    "  WHEN substr(image, 1, 8) = '\\x89504E470D0A1A0A'::bytea THEN 'png'\n"
    "  WHEN substr(image, 1, 3) = '\\xFFD8FF'::bytea THEN 'jpeg'\n"
    "  WHEN substr(image, 1, 4) = '\\x47494638'::bytea THEN 'gif'\n"
    "  WHEN substr(image, 1, 4) = '\\x52494646'::bytea\n"
    "   AND substr(image, 9, 4) = '\\x57454250'::bytea THEN 'webp'\n"
    "  WHEN substr(image, 1, 2) = '\\x424D'::bytea THEN 'bmp'\n"
    "  ELSE '' END\n"
    "WHERE kind = 1;\n";

/* Search (SQLite's migration 3 adds a trigram index): PostgreSQL has none
 * (the pg_trgm extension may be missing, its trigrams depend on the
 * database's locale, and messages.text is BYTEA); it reads the user's 1:1
 * messages newest first instead, which these index ranges give without a
 * sort. */
static const char migration_3[] =
    "CREATE INDEX messages_sent ON messages (sender_id, id) WHERE target_type = 0;\n"
    "CREATE INDEX messages_received ON messages (target_id, id) WHERE target_type = 0;\n";

static const char *const migrations[] = {
    migration_1,
    migration_2,
    migration_3,
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == CHATD_STORE_SCHEMA_VERSION);

/* In an open transaction holding the migration lock: the version, after
 * creating the table (version 0) if missing. */
static gboolean read_version(PGconn *conn, int *version, GError **error) {
  if (!exec_sql(conn,
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);\n"
                "INSERT INTO schema_version (version) SELECT 0\n"
                "  WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
                "create schema_version", error))
    return FALSE;
  PGresult *res = PQexec(conn, "SELECT version FROM schema_version");
  gboolean ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
  if (ok)
    *version = atoi(PQgetvalue(res, 0, 0));
  else if (PQresultStatus(res) == PGRES_TUPLES_OK)
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_SCHEMA,
                "schema_version has %d rows, not one", PQntuples(res));
  else
    chatd_store_pg_set_error(error, conn, res, "read schema_version");
  PQclear(res);
  return ok;
}

gboolean chatd_store_pg_migrate_connection(PGconn *conn, int *version, GError **error) {
  for (;;) {
    int current = 0;
    gboolean ok = exec_sql(conn, "BEGIN", "begin migration", error) &&
                  exec_sql(conn, "SELECT pg_advisory_xact_lock(" STORE_PG_MIGRATION_LOCK ")",
                           "lock for migration", error) &&
                  read_version(conn, &current, error);
    if (ok && current > CHATD_STORE_SCHEMA_VERSION) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_TOO_NEW,
                  "the database has schema version %d, newer than version %d that this chatd "
                  "knows; use a newer chatd",
                  current, CHATD_STORE_SCHEMA_VERSION);
      ok = FALSE;
    } else if (ok && current < 0) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_SCHEMA,
                  "the database has an invalid schema version %d", current);
      ok = FALSE;
    }
    if (ok && current == CHATD_STORE_SCHEMA_VERSION) {
      if (!exec_sql(conn, "COMMIT", "commit", error))
        return FALSE;
      if (version != NULL)
        *version = current;
      return TRUE;
    }
    if (ok) {
      g_autofree char *set_version =
          g_strdup_printf("UPDATE schema_version SET version = %d", current + 1);
      g_autofree char *what = g_strdup_printf("migration to schema version %d", current + 1);
      GError *local = NULL;
      ok = exec_sql(conn, migrations[current], what, &local) &&
           exec_sql(conn, set_version, what, &local) && exec_sql(conn, "COMMIT", what, &local);
      if (ok) {
        g_debug("migrated the PostgreSQL database to schema version %d", current + 1);
      } else {
        if (local->code == CHATD_STORE_ERROR_FAILED)
          local->code = CHATD_STORE_ERROR_SCHEMA;
        g_propagate_error(error, local);
      }
    }
    if (!ok) {
      if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        exec_sql(conn, "ROLLBACK", "rollback", NULL);
      return FALSE;
    }
  }
}

gboolean chatd_store_pg_migrate(const char *conninfo, int *version, GError **error) {
  g_return_val_if_fail(conninfo != NULL, FALSE);
  PGconn *conn = chatd_store_pg_connect(conninfo, error);
  if (conn == NULL)
    return FALSE;
  gboolean ok = chatd_store_pg_migrate_connection(conn, version, error);
  PQfinish(conn);
  return ok;
}

gboolean chatd_store_pg_reset_sequences(PGconn *conn, GError **error) {
  g_return_val_if_fail(conn != NULL, FALSE);
  /* setval(seq, max + 1, false): the next nextval() gives max + 1 */
  return exec_sql(conn,
                  "SELECT setval('users_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM users),"
                  " false),"
                  " setval('rooms_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM rooms), false),"
                  " setval('messages_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM messages),"
                  " false)",
                  "reset id sequences", error);
}
