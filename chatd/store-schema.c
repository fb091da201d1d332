/* Connections and schema: SQLite result codes become CHATD_STORE_ERROR here,
 * connections are opened and configured here, and the schema is migrated
 * here with PRAGMA user_version.
 *
 * Durability: with synchronous=FULL (CHATD_STORE_DURABILITY_FSYNC, the
 * default) every commit fsyncs the WAL, so a completed write survives a power
 * cut; the writer commits a batch at a time, so that is one fsync per batch.
 * With synchronous=NORMAL (_OS) the WAL is fsync'ed only at checkpoints: a
 * commit survives a crash of chatd (the data is in the file, only the
 * kernel's cache is between it and the disk), but a power loss or kernel
 * crash may undo the last transactions (never corrupting the database). */
#define G_LOG_DOMAIN "chatd-store"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chatd/store-private.h"

/* Mode of a database file the store creates: the owner only, it holds
 * password hashes and private messages. */
#define STORE_FILE_MODE 0600
/* Page cache of each connection, in KiB (negative cache_size = KiB). */
#define STORE_CACHE_KIB "16384"

ChatdStoreError chatd_store_error_from_sqlite(int rc) {
  switch (rc & 0xff) { /* the primary code of an extended code */
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_TOOBIG:
    return CHATD_STORE_ERROR_CONSTRAINT;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return CHATD_STORE_ERROR_BUSY;
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_PROTOCOL:
  case SQLITE_CANTOPEN:
    return CHATD_STORE_ERROR_IO;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return CHATD_STORE_ERROR_CORRUPT;
  case SQLITE_SCHEMA:
    return CHATD_STORE_ERROR_SCHEMA;
  default:
    return CHATD_STORE_ERROR_FAILED;
  }
}

void chatd_store_set_sqlite_error(GError **error, sqlite3 *db, int rc, const char *what) {
  const char *message = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  g_set_error(error, CHATD_STORE_ERROR, chatd_store_error_from_sqlite(rc), "%s: %s", what, message);
}

/* ---- migrations ----
 * migrations[i] takes a database from version i to i + 1 and ends by setting
 * user_version to i + 1 (a literal: no SQL is ever built from values).
 * Append new migrations; never edit a released one. */

static const char migration_1[] =
    "CREATE TABLE users (\n"
    "  id            INTEGER PRIMARY KEY,\n"
    "  username      TEXT    NOT NULL UNIQUE,\n"
    "  nickname      TEXT    NOT NULL,\n"
    "  password_hash TEXT    NOT NULL,\n"
    "  created_ms    INTEGER NOT NULL\n"
    ");\n"
    /* Pending, directional requests (the seed's friends row with accepted
     * unset); accepting one deletes it and adds both rows of friends. */
    "CREATE TABLE friend_requests (\n"
    "  from_user_id INTEGER NOT NULL REFERENCES users (id),\n"
    "  to_user_id   INTEGER NOT NULL REFERENCES users (id),\n"
    "  created_ms   INTEGER NOT NULL,\n"
    "  PRIMARY KEY (from_user_id, to_user_id),\n"
    "  CHECK (from_user_id <> to_user_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE friends (\n"
    "  user_id   INTEGER NOT NULL REFERENCES users (id),\n"
    "  friend_id INTEGER NOT NULL REFERENCES users (id),\n"
    "  since_ms  INTEGER NOT NULL,\n"
    "  PRIMARY KEY (user_id, friend_id),\n"
    "  CHECK (user_id <> friend_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE rooms (\n"
    "  id         INTEGER PRIMARY KEY,\n"
    "  room_name  TEXT    NOT NULL,\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  creator_id INTEGER REFERENCES users (id)\n"
    ");\n"
    "CREATE TABLE room_members (\n"
    "  room_id          INTEGER NOT NULL REFERENCES rooms (id),\n"
    "  user_id          INTEGER NOT NULL REFERENCES users (id),\n"
    "  joined_ms        INTEGER NOT NULL,\n"
    "  first_message_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY (room_id, user_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX room_members_by_user ON room_members (user_id, room_id);\n"
    /* For 1:1 messages target_id is the receiver; for rooms the room. */
    "CREATE TABLE messages (\n"
    "  id            INTEGER PRIMARY KEY,\n"
    "  sender_id     INTEGER NOT NULL REFERENCES users (id),\n"
    "  target_type   INTEGER NOT NULL CHECK (target_type IN (0, 1)),\n"
    "  target_id     INTEGER NOT NULL,\n"
    "  sent_ms       INTEGER NOT NULL,\n"
    "  kind          INTEGER NOT NULL CHECK (kind IN (0, 1)),\n"
    "  text          TEXT,\n"
    "  font_size     INTEGER,\n"
    "  font_color    TEXT,\n"
    "  image         BLOB,\n"
    "  client_msg_id TEXT,\n"
    "  UNIQUE (sender_id, client_msg_id),\n"
    "  CHECK ((kind = 0 AND text IS NOT NULL AND image IS NULL)\n"
    "      OR (kind = 1 AND image IS NOT NULL AND text IS NULL))\n"
    ");\n"
    /* 1:1 paging, one range per direction (receiver, sender, id), unread
     * counts of a conversation (covering) and "everything user X received".
     * "Everything X sent" uses the UNIQUE (sender_id, client_msg_id) index. */
    "CREATE INDEX messages_direct ON messages (target_id, sender_id, id)\n"
    "  WHERE target_type = 0;\n"
    /* Room paging and room unread counts (covering: sender_id included). */
    "CREATE INDEX messages_room ON messages (target_id, id, sender_id)\n"
    "  WHERE target_type = 1;\n"
    /* Messages that reached a user while offline (the seed's sent = 0). */
    "CREATE TABLE offline_deliveries (\n"
    "  user_id    INTEGER NOT NULL REFERENCES users (id),\n"
    "  message_id INTEGER NOT NULL REFERENCES messages (id),\n"
    "  PRIMARY KEY (user_id, message_id)\n"
    ") WITHOUT ROWID;\n"
    /* For 1:1 conversations target_id is the other user. */
    "CREATE TABLE read_markers (\n"
    "  user_id      INTEGER NOT NULL REFERENCES users (id),\n"
    "  target_type  INTEGER NOT NULL CHECK (target_type IN (0, 1)),\n"
    "  target_id    INTEGER NOT NULL,\n"
    "  last_read_id INTEGER NOT NULL,\n"
    "  PRIMARY KEY (user_id, target_type, target_id)\n"
    ") WITHOUT ROWID;\n"
    /* token_hash is SHA-256 of a resume token; the token is never stored. */
    "CREATE TABLE sessions (\n"
    "  token_hash   BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),\n"
    "  user_id      INTEGER NOT NULL REFERENCES users (id),\n"
    "  created_ms   INTEGER NOT NULL,\n"
    "  last_used_ms INTEGER NOT NULL,\n"
    "  revoked      INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX sessions_by_user ON sessions (user_id);\n"
    "PRAGMA user_version = 1;\n";

/* Images get their size and format (protocol/image-format.h: the same
 * signatures) so that previews need not read the bytes. */
static const char migration_2[] =
    "ALTER TABLE messages ADD COLUMN image_size INTEGER;\n"
    "ALTER TABLE messages ADD COLUMN image_format TEXT;\n"
    "UPDATE messages SET image_size = length(image), image_format = CASE\n"
    "  WHEN substr(image, 1, 8) = x'89504E470D0A1A0A' THEN 'png'\n"
    "  WHEN substr(image, 1, 3) = x'FFD8FF' THEN 'jpeg'\n"
    "  WHEN substr(image, 1, 4) = x'47494638' THEN 'gif'\n"
    "  WHEN substr(image, 1, 4) = x'52494646' AND substr(image, 9, 4) = x'57454250' THEN 'webp'\n"
    "  WHEN substr(image, 1, 2) = x'424D' THEN 'bmp'\n"
    "  ELSE '' END\n"
    "WHERE kind = 1;\n"
    "PRAGMA user_version = 2;\n";

/* Search: a trigram index (FTS5, the trigram tokenizer, which finds any
 * substring of 3 or more code points: Chinese as well as English) over the
 * text of text messages, as an external-content table on messages (the
 * text is stored once), kept by triggers; the existing texts are indexed
 * here. chatd matches the candidates itself (search-match.h): the
 * tokenizer's Unicode case folding only widens them. A new text message
 * is indexed by the writer itself, in the statement after its insert
 * (STORE_STMT_INDEX_MESSAGE), not by an AFTER INSERT trigger: measured
 * with tests/bench-store, the trigger made every insert about three times
 * dearer than the same FTS5 insert run as its own statement. Messages are
 * never edited; the delete and update triggers keep the index right if
 * one ever is. */
static const char migration_3[] =
    "CREATE VIRTUAL TABLE messages_fts USING fts5(\n"
    "  text, content = 'messages', content_rowid = 'id',\n"
    "  tokenize = 'trigram case_sensitive 0');\n"
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.kind = 0 BEGIN\n"
    "  INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);\n"
    "END;\n"
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF kind, text ON messages BEGIN\n"
    "  INSERT INTO messages_fts (messages_fts, rowid, text)\n"
    "    SELECT 'delete', old.id, old.text WHERE old.kind = 0;\n"
    "  INSERT INTO messages_fts (rowid, text) SELECT new.id, new.text WHERE new.kind = 0;\n"
    "END;\n"
    "INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE kind = 0;\n"
    /* FTS5 reads a text up to its first U+0000 (a str may hold one): the
     * few texts that hold one are always candidates, from this index. */
    "CREATE INDEX messages_with_nul ON messages (id)\n"
    "  WHERE kind = 0 AND instr(CAST(text AS BLOB), x'00') > 0;\n"
    "PRAGMA user_version = 3;\n";

static const char *const migrations[] = {
    migration_1,
    migration_2,
    migration_3,
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == CHATD_STORE_SCHEMA_VERSION);

/* Runs a statement returning one integer (a PRAGMA query). */
static gboolean query_int(sqlite3 *db, const char *sql, int *value, GError **error) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      *value = sqlite3_column_int(stmt, 0);
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK)
    chatd_store_set_sqlite_error(error, db, rc, sql);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

/* Runs a statement whose only output, if any, is a text value that must be
 * expected (case-insensitive; NULL: no check). */
static gboolean exec_expect(sqlite3 *db, const char *sql, const char *expected, GError **error) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK) {
    chatd_store_set_sqlite_error(error, db, rc, sql);
    return FALSE;
  }
  rc = sqlite3_step(stmt);
  gboolean ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
  if (!ok) {
    chatd_store_set_sqlite_error(error, db, rc, sql);
  } else if (expected != NULL) {
    const char *got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
    if (got == NULL || g_ascii_strcasecmp(got, expected) != 0) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "%s: got \"%s\", need \"%s\"",
                  sql, got != NULL ? got : "", expected);
      ok = FALSE;
    }
  }
  sqlite3_finalize(stmt);
  return ok;
}

/* Creates the file with STORE_FILE_MODE if it does not exist, so SQLite
 * (which creates files 0644) never makes it readable by others; SQLite gives
 * the -wal and -shm files the mode of the database file. */
static gboolean create_private_file(const char *path, GError **error) {
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
  if (fd < 0) {
    if (errno == EEXIST)
      return TRUE;
    int saved = errno;
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot create %s: %s", path,
                g_strerror(saved));
    return FALSE;
  }
  /* open() applied the umask; the mode must be exactly owner read/write. */
  if (fchmod(fd, STORE_FILE_MODE) != 0) {
    int saved = errno;
    close(fd);
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot chmod %s: %s", path,
                g_strerror(saved));
    return FALSE;
  }
  close(fd);
  return TRUE;
}

static sqlite3 *open_connection(const char *path, int flags, GError **error) {
  sqlite3 *db = NULL;
  /* NOMUTEX: each connection is used by one thread at a time (the store's
   * locks guarantee it), so SQLite's own per-call mutex is not needed. */
  int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK) {
    g_set_error(error, CHATD_STORE_ERROR,
                rc == SQLITE_NOTADB ? CHATD_STORE_ERROR_CORRUPT : CHATD_STORE_ERROR_OPEN,
                "cannot open %s: %s", path, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, CHATD_STORE_BUSY_TIMEOUT_MS);
  return db;
}

gboolean chatd_store_schema_migrate(sqlite3 *db, int *version, GError **error) {
  int current = 0;
  if (!query_int(db, "PRAGMA user_version", &current, error))
    return FALSE;
  if (current > CHATD_STORE_SCHEMA_VERSION) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_TOO_NEW,
                "the database has schema version %d, newer than version %d that this chatd "
                "knows; use a newer chatd",
                current, CHATD_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  if (current < 0) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_SCHEMA,
                "the database has an invalid schema version %d", current);
    return FALSE;
  }
  while (current < CHATD_STORE_SCHEMA_VERSION) {
    char *message = NULL;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &message);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(db, migrations[current], NULL, NULL, &message);
    int reached = current;
    GError *check_error = NULL;
    if (rc == SQLITE_OK && !query_int(db, "PRAGMA user_version", &reached, &check_error)) {
      rc = SQLITE_ERROR;
      message = sqlite3_mprintf("%s", check_error->message);
      g_error_free(check_error);
    } else if (rc == SQLITE_OK && reached != current + 1) {
      rc = SQLITE_ERROR;
      message = sqlite3_mprintf("migration %d left user_version at %d", current + 1, reached);
    }
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &message);
    if (rc != SQLITE_OK) {
      ChatdStoreError code = chatd_store_error_from_sqlite(rc);
      g_set_error(error, CHATD_STORE_ERROR,
                  code == CHATD_STORE_ERROR_FAILED ? CHATD_STORE_ERROR_SCHEMA : code,
                  "migration to schema version %d failed: %s", current + 1,
                  message != NULL ? message : sqlite3_errstr(rc));
      sqlite3_free(message);
      if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
    current++;
    g_debug("migrated the database to schema version %d", current);
  }
  *version = current;
  return TRUE;
}

sqlite3 *chatd_store_schema_open_writer(const char *path, ChatdStoreDurability durability,
                                        int *version, GError **error) {
  if (!create_private_file(path, error))
    return NULL;
  sqlite3 *db = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);
  if (db == NULL)
    return NULL;
  /* SQLite falls back to read-only when it may not write the file: every
   * write would then fail later. Say so now. */
  if (sqlite3_db_readonly(db, "main") == 1) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN,
                "cannot write %s (check its permissions and its directory's): chatd needs "
                "to write its database",
                path);
    sqlite3_close(db);
    return NULL;
  }
  /* journal_mode answers the mode it is in: "wal" or the failure to switch. */
  if (!exec_expect(db, "PRAGMA journal_mode = WAL", "wal", error) ||
      !exec_expect(db,
                   durability == CHATD_STORE_DURABILITY_OS ? "PRAGMA synchronous = NORMAL"
                                                           : "PRAGMA synchronous = FULL",
                   NULL, error) ||
      !exec_expect(db, "PRAGMA foreign_keys = ON", NULL, error) ||
      !exec_expect(db, "PRAGMA foreign_keys", "1", error) ||
      /* savepoint journals and sorts stay in memory: one per write */
      !exec_expect(db, "PRAGMA temp_store = MEMORY", NULL, error) ||
      !exec_expect(db, "PRAGMA cache_size = -" STORE_CACHE_KIB, NULL, error) ||
      !chatd_store_schema_migrate(db, version, error)) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

sqlite3 *chatd_store_schema_open_checkpointer(const char *path, GError **error) {
  sqlite3 *db = open_connection(path, SQLITE_OPEN_READWRITE, error);
  /* A connection learns that the database is in WAL mode when it first
   * reads it; until then a checkpoint does nothing. */
  if (db != NULL && !exec_expect(db, "PRAGMA journal_mode", "wal", error)) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

sqlite3 *chatd_store_schema_open_reader(const char *path, GError **error) {
  sqlite3 *db = open_connection(path, SQLITE_OPEN_READONLY, error);
  if (db == NULL)
    return NULL;
  if (!exec_expect(db, "PRAGMA temp_store = MEMORY", NULL, error) ||
      !exec_expect(db, "PRAGMA cache_size = -" STORE_CACHE_KIB, NULL, error)) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}
