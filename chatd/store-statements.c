/* Every SQL statement of the store, prepared once per connection and reused
 * with bound parameters, and the code that runs one write or one read on a
 * connection. Threads and queues are the business of store.c, store-writer.c
 * and store-reader.c. */
#define G_LOG_DOMAIN "chatd-store"

#include <string.h>

#include "chatd/store-backend.h"
#include "chatd/store-message-columns.h"
#include "protocol/image-format.h"

typedef struct {
  const char *name; /* for error messages: "insert message: ..." */
  const char *sql;
} StoreStmtDef;

/* A message record without the image's bytes. */
#define MESSAGE_META_COLUMNS MESSAGE_COLUMNS_WITH_IMAGE("NULL")

static const StoreStmtDef statement_defs[STORE_STMT_COUNT] = {
    [STORE_STMT_BEGIN] = {"begin", "BEGIN IMMEDIATE"},
    [STORE_STMT_COMMIT] = {"commit", "COMMIT"},
    [STORE_STMT_ROLLBACK] = {"rollback", "ROLLBACK"},
    [STORE_STMT_SAVEPOINT] = {"savepoint", "SAVEPOINT store_write"},
    [STORE_STMT_RELEASE] = {"release savepoint", "RELEASE store_write"},
    [STORE_STMT_ROLLBACK_TO] = {"rollback to savepoint", "ROLLBACK TO store_write"},
    [STORE_STMT_INSERT_USER] =
        {"add user", "INSERT INTO users (id, username, nickname, password_hash, created_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)"},
    [STORE_STMT_UPDATE_PASSWORD_HASH] = {"set password hash",
                                         "UPDATE users SET password_hash = ?2 WHERE id = ?1"},
    [STORE_STMT_UPDATE_NICKNAME] = {"set nickname", "UPDATE users SET nickname = ?2 WHERE id = ?1"},
    [STORE_STMT_INSERT_FRIEND_REQUEST] =
        {"add friend request",
         "INSERT INTO friend_requests (from_user_id, to_user_id, created_ms) VALUES (?1, ?2, ?3)"},
    [STORE_STMT_DELETE_FRIEND_REQUEST] =
        {"delete friend request",
         "DELETE FROM friend_requests WHERE from_user_id = ?1 AND to_user_id = ?2"},
    [STORE_STMT_INSERT_FRIEND] =
        {"add friend", "INSERT INTO friends (user_id, friend_id, since_ms) VALUES (?1, ?2, ?3)"},
    [STORE_STMT_INSERT_ROOM] =
        {"add room",
         "INSERT INTO rooms (id, room_name, created_ms, creator_id) VALUES (?1, ?2, ?3, ?4)"},
    [STORE_STMT_INSERT_MEMBER] =
        {"add member", "INSERT INTO room_members (room_id, user_id, joined_ms, first_message_id) "
                       "VALUES (?1, ?2, ?3, ?4)"},
    [STORE_STMT_DELETE_MEMBER] = {"remove member",
                                  "DELETE FROM room_members WHERE room_id = ?1 AND user_id = ?2"},
    [STORE_STMT_INSERT_SESSION] =
        {"add session", "INSERT INTO sessions (token_hash, user_id, created_ms, last_used_ms) "
                        "VALUES (?1, ?2, ?3, ?3)"},
    [STORE_STMT_TOUCH_SESSION] =
        {"touch session",
         "UPDATE sessions SET last_used_ms = ?2 WHERE token_hash = ?1 AND revoked = 0"},
    /* A revoked session serves nothing: its row goes. (Rows of older chatds
     * may still carry revoked = 1; they are never loaded and are forgotten.) */
    [STORE_STMT_REVOKE_SESSION] = {"revoke session",
                                   "DELETE FROM sessions WHERE token_hash = ?1 AND revoked = 0"},
    [STORE_STMT_REVOKE_USER_SESSIONS] = {"revoke user sessions",
                                         "DELETE FROM sessions WHERE user_id = ?1"},
    [STORE_STMT_FORGET_SESSIONS_BEFORE] =
        {"forget old sessions", "DELETE FROM sessions WHERE revoked = 1 OR created_ms <= ?1"},
    [STORE_STMT_UPSERT_READ_MARKER] =
        {"mark read", "INSERT INTO read_markers (user_id, target_type, target_id, last_read_id) "
                      "VALUES (?1, ?2, ?3, ?4) "
                      "ON CONFLICT (user_id, target_type, target_id) "
                      "DO UPDATE SET last_read_id = max(last_read_id, excluded.last_read_id)"},
    [STORE_STMT_DELETE_OFFLINE] =
        {"clear offline", "DELETE FROM offline_deliveries WHERE user_id = ?1 AND message_id <= ?2"},
    [STORE_STMT_FIND_CLIENT_MSG] =
        {"find message by client id",
         "SELECT id FROM messages WHERE sender_id = ?1 AND client_msg_id = ?2"},
    [STORE_STMT_INSERT_MESSAGE] =
        {"add message",
         "INSERT INTO messages (id, sender_id, target_type, target_id, sent_ms, kind, text, "
         "font_size, font_color, image, client_msg_id, image_size, image_format) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
    /* the search index (messages_fts) of a text message just inserted */
    [STORE_STMT_INDEX_MESSAGE] = {"index message",
                                  "INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)"},
    [STORE_STMT_INSERT_OFFLINE] =
        {"add offline delivery",
         "INSERT INTO offline_deliveries (user_id, message_id) VALUES (?1, ?2) "
         "ON CONFLICT DO NOTHING"},

    [STORE_STMT_SELECT_USERS] =
        {"load users",
         "SELECT id, username, nickname, password_hash, created_ms FROM users ORDER BY id"},
    [STORE_STMT_SELECT_FRIENDS] =
        {"load friends",
         "SELECT user_id, friend_id, since_ms FROM friends ORDER BY user_id, friend_id"},
    [STORE_STMT_SELECT_FRIEND_REQUESTS] =
        {"load friend requests", "SELECT from_user_id, to_user_id, created_ms FROM friend_requests "
                                 "ORDER BY from_user_id, to_user_id"},
    [STORE_STMT_SELECT_ROOMS] =
        {"load rooms",
         "SELECT id, room_name, coalesce(creator_id, 0), created_ms FROM rooms ORDER BY id"},
    [STORE_STMT_SELECT_MEMBERS] =
        {"load members", "SELECT room_id, user_id, first_message_id, joined_ms FROM room_members "
                         "ORDER BY room_id, user_id"},
    [STORE_STMT_SELECT_SESSIONS] =
        {"load sessions", "SELECT token_hash, user_id, created_ms, last_used_ms FROM sessions "
                          "WHERE revoked = 0 ORDER BY user_id, token_hash"},
    [STORE_STMT_SELECT_MAX_IDS] = {"load max ids",
                                   "SELECT (SELECT coalesce(max(id), 0) FROM users), "
                                   "(SELECT coalesce(max(id), 0) FROM rooms), "
                                   "(SELECT coalesce(max(id), 0) FROM messages)"},
    /* ?1 viewer, ?2 other user, ?3 before id, ?4 limit: the newest ?4 of each
     * direction (two index ranges of messages_direct), merged. */
    [STORE_STMT_HISTORY_DIRECT] =
        {"history",
         "SELECT " MESSAGE_COLUMNS " FROM messages m JOIN users u ON u.id = m.sender_id "
         "WHERE m.id IN ("
         " SELECT id FROM (SELECT id FROM messages WHERE target_type = 0 AND target_id = ?2"
         "  AND sender_id = ?1 AND id < ?3 ORDER BY id DESC LIMIT ?4)"
         " UNION ALL"
         " SELECT id FROM (SELECT id FROM messages WHERE target_type = 0 AND target_id = ?1"
         "  AND sender_id = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4)) "
         "ORDER BY m.id DESC LIMIT ?4"},
    /* ?1 viewer, ?2 room, ?3 before id, ?4 limit; nothing if not a member. */
    [STORE_STMT_HISTORY_ROOM] = {"room history",
                                 "SELECT " MESSAGE_COLUMNS " FROM room_members rm "
                                 "JOIN messages m ON m.target_type = 1 AND m.target_id = rm.room_id"
                                 " AND m.id >= rm.first_message_id AND m.id < ?3 "
                                 "JOIN users u ON u.id = m.sender_id "
                                 "WHERE rm.room_id = ?2 AND rm.user_id = ?1 "
                                 "ORDER BY m.id DESC LIMIT ?4"},
    /* ?1 user; the extra column is the offline flag. */
    [STORE_STMT_FULL_HISTORY] =
        {"full history", "SELECT " MESSAGE_COLUMNS ", EXISTS (SELECT 1 FROM offline_deliveries o"
                         " WHERE o.user_id = ?1 AND o.message_id = m.id) "
                         "FROM messages m JOIN users u ON u.id = m.sender_id "
                         "WHERE m.id IN ("
                         " SELECT id FROM messages WHERE sender_id = ?1 AND target_type = 0"
                         " UNION ALL"
                         " SELECT id FROM messages WHERE target_type = 0 AND target_id = ?1"
                         " UNION ALL"
                         " SELECT m2.id FROM room_members rm JOIN messages m2 ON m2.target_type = 1"
                         "  AND m2.target_id = rm.room_id AND m2.id >= rm.first_message_id"
                         "  WHERE rm.user_id = ?1) "
                         "ORDER BY m.id DESC"},
    /* ?1 user. Per friend: the newest message of each direction and the
     * incoming ones past the marker; per room: the newest visible message and
     * the others' messages past max(marker, first_message_id - 1). All index
     * seeks or covering index ranges; MATERIALIZED keeps each subquery from
     * being evaluated once per reference. */
    [STORE_STMT_CONVERSATIONS] =
        {"conversations",
         "WITH peers AS MATERIALIZED ("
         " SELECT f.friend_id AS peer,"
         "  (SELECT max(id) FROM messages WHERE target_type = 0 AND target_id = f.friend_id"
         "   AND sender_id = ?1) AS last_out,"
         "  (SELECT max(id) FROM messages WHERE target_type = 0 AND target_id = ?1"
         "   AND sender_id = f.friend_id) AS last_in,"
         "  coalesce((SELECT last_read_id FROM read_markers WHERE user_id = ?1"
         "   AND target_type = 0 AND target_id = f.friend_id), 0) AS marker"
         " FROM friends f WHERE f.user_id = ?1), "
         "joined AS MATERIALIZED ("
         " SELECT rm.room_id, rm.first_message_id,"
         "  coalesce((SELECT last_read_id FROM read_markers WHERE user_id = ?1"
         "   AND target_type = 1 AND target_id = rm.room_id), 0) AS marker"
         " FROM room_members rm WHERE rm.user_id = ?1) "
         "SELECT 0 AS target_type, peer AS target_id,"
         " max(coalesce(last_out, 0), coalesce(last_in, 0)) AS last_id, marker,"
         " CASE WHEN last_in > marker THEN (SELECT count(*) FROM messages WHERE target_type = 0"
         "  AND target_id = ?1 AND sender_id = peer AND id > marker) ELSE 0 END "
         "FROM peers WHERE last_out IS NOT NULL OR last_in IS NOT NULL "
         "UNION ALL "
         "SELECT 1, room_id,"
         " coalesce((SELECT max(id) FROM messages WHERE target_type = 1 AND target_id = room_id"
         "  AND id >= first_message_id), 0),"
         " marker,"
         " (SELECT count(*) FROM messages WHERE target_type = 1 AND target_id = room_id"
         "  AND id > max(first_message_id - 1, marker) AND sender_id <> ?1) "
         "FROM joined "
         "ORDER BY last_id DESC, target_type, target_id"},
    [STORE_STMT_MESSAGE_BY_ID] = {"message", "SELECT " MESSAGE_COLUMNS
                                             " FROM messages m JOIN users u ON u.id = m.sender_id "
                                             "WHERE m.id = ?1"},
    [STORE_STMT_MESSAGE_META_BY_ID] = {"message without its image",
                                       "SELECT " MESSAGE_META_COLUMNS
                                       " FROM messages m JOIN users u ON u.id = m.sender_id "
                                       "WHERE m.id = ?1"},
    /* Search candidates. ?1 user, ?2 before id, ?3 target type (-1: every
     * conversation), ?4 target id, ?5 the query as an FTS5 phrase: the ids
     * the trigram index gives (and texts holding U+0000, which it reads
     * only up to there: messages_with_nul), newest first, those of the
     * user's conversations. */
    [STORE_STMT_SEARCH_INDEXED] =
        {"search by the trigram index",
         "SELECT " MESSAGE_COLUMNS " FROM messages m JOIN users u ON u.id = m.sender_id "
         "WHERE m.id IN ("
         " SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?5 AND rowid < ?2"
         " UNION ALL"
         " SELECT id FROM messages WHERE kind = 0 AND instr(CAST(text AS BLOB), x'00') > 0"
         "  AND id < ?2) "
         "AND m.kind = 0 AND ("
         " (m.target_type = 0 AND ?3 IN (-1, 0) AND ("
         "  (m.sender_id = ?1 AND (?3 = -1 OR m.target_id = ?4))"
         "  OR (m.target_id = ?1 AND (?3 = -1 OR m.sender_id = ?4))))"
         " OR (m.target_type = 1 AND ?3 IN (-1, 1) AND (?3 = -1 OR m.target_id = ?4)"
         "  AND EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = m.target_id"
         "   AND rm.user_id = ?1 AND rm.first_message_id <= m.id))) "
         "ORDER BY m.id DESC"},
    /* The same without the index (a query under 3 code points): every text
     * message of the user's conversations, by the indexes of history. */
    [STORE_STMT_SEARCH_SCAN] =
        {"search by reading the conversations",
         "SELECT " MESSAGE_COLUMNS " FROM messages m JOIN users u ON u.id = m.sender_id "
         "WHERE m.id IN ("
         " SELECT id FROM messages WHERE sender_id = ?1 AND target_type = 0 AND kind = 0"
         "  AND id < ?2 AND ?3 IN (-1, 0) AND (?3 = -1 OR target_id = ?4)"
         " UNION ALL"
         " SELECT id FROM messages WHERE target_type = 0 AND target_id = ?1 AND kind = 0"
         "  AND id < ?2 AND ?3 IN (-1, 0) AND (?3 = -1 OR sender_id = ?4)"
         " UNION ALL"
         " SELECT m2.id FROM room_members rm JOIN messages m2 ON m2.target_type = 1"
         "  AND m2.target_id = rm.room_id AND m2.id >= rm.first_message_id AND m2.id < ?2"
         "  AND m2.kind = 0"
         "  WHERE rm.user_id = ?1 AND ?3 IN (-1, 1) AND (?3 = -1 OR rm.room_id = ?4)) "
         "ORDER BY m.id DESC"},
};

/* Columns of STORE_STMT_CONVERSATIONS. */
enum { CONV_TARGET_TYPE, CONV_TARGET_ID, CONV_LAST_ID, CONV_MARKER, CONV_UNREAD };

/* ---- statement use ---- */

/* A statement in use, from call_start(): it collects the first bind
 * failure, so a run of binds is checked once, and g_auto(StoreCall) resets
 * the statement and clears its bindings on every way out of the scope, so
 * no statement keeps a read transaction open or a pointer to freed
 * parameters. */
typedef struct {
  StoreConnection *conn;
  StoreStmtId id;
  sqlite3_stmt *stmt;
  int rc; /* the first bind failure */
} StoreCall;

static void call_release(StoreCall *call) {
  if (call->stmt == NULL)
    return;
  sqlite3_reset(call->stmt);
  sqlite3_clear_bindings(call->stmt);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(StoreCall, call_release)

static StoreCall call_start(StoreConnection *conn, StoreStmtId id) {
  g_assert((guint)id < STORE_STMT_COUNT && conn->stmts[id] != NULL);
  return (StoreCall){conn, id, conn->stmts[id], SQLITE_OK};
}

static void bind_int64(StoreCall *call, int index, gint64 value) {
  if (call->rc == SQLITE_OK)
    call->rc = sqlite3_bind_int64(call->stmt, index, value);
}

/* Binds NULL for 0: optional references such as a room's creator. */
static void bind_id_or_null(StoreCall *call, int index, gint64 value) {
  if (call->rc == SQLITE_OK)
    call->rc = value != 0 ? sqlite3_bind_int64(call->stmt, index, value)
                          : sqlite3_bind_null(call->stmt, index);
}

/* The statement runs (and is reset) before the bound memory is freed, so
 * SQLITE_STATIC: no copy. NULL binds NULL. */
static void bind_text(StoreCall *call, int index, const char *text, gsize len) {
  if (call->rc != SQLITE_OK)
    return;
  if (text == NULL)
    call->rc = sqlite3_bind_null(call->stmt, index);
  else
    call->rc = sqlite3_bind_text64(call->stmt, index, text, len, SQLITE_STATIC, SQLITE_UTF8);
}

static void bind_string(StoreCall *call, int index, const char *text) {
  bind_text(call, index, text, text != NULL ? strlen(text) : 0);
}

static void bind_blob(StoreCall *call, int index, gconstpointer data, gsize len) {
  if (call->rc != SQLITE_OK)
    return;
  if (data == NULL)
    call->rc = sqlite3_bind_null(call->stmt, index);
  else
    call->rc = sqlite3_bind_blob64(call->stmt, index, data, len, SQLITE_STATIC);
}

/* "name: sqlite message" for result code rc. */
static gboolean call_fail(const StoreCall *call, int rc, GError **error) {
  chatd_store_set_sqlite_error(error, call->conn->db, rc, statement_defs[call->id].name);
  return FALSE;
}

typedef enum {
  STEP_FAILED, /* *error is set */
  STEP_DONE,
  STEP_ROW,
} StepResult;

/* Steps a query (after checking its binds). */
static StepResult call_step(StoreCall *call, GError **error) {
  int rc = call->rc != SQLITE_OK ? call->rc : sqlite3_step(call->stmt);
  if (rc == SQLITE_ROW)
    return STEP_ROW;
  if (rc == SQLITE_DONE)
    return STEP_DONE;
  call_fail(call, rc, error);
  return STEP_FAILED;
}

/* Runs a statement that returns no row to completion. */
static gboolean call_done(StoreCall *call, GError **error) {
  StepResult step = call_step(call, error);
  if (step == STEP_ROW)
    return call_fail(call, SQLITE_MISUSE, error);
  return step == STEP_DONE;
}

/* Fails with NOT_FOUND unless the statement just run changed a row. */
static gboolean require_changes(StoreConnection *conn, StoreStmtId id, GError **error) {
  if (sqlite3_changes(conn->db) > 0)
    return TRUE;
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND, "%s: no such row",
              statement_defs[id].name);
  return FALSE;
}

gboolean chatd_store_sql_exec(StoreConnection *conn, StoreStmtId id, GError **error) {
  g_auto(StoreCall) call = call_start(conn, id);
  return call_done(&call, error);
}

/* ---- preparing ---- */

gboolean chatd_store_sql_prepare(StoreConnection *conn, GError **error) {
  int first = conn->role == STORE_ROLE_WRITER ? 0 : STORE_STMT_N_WRITER;
  int end = conn->role == STORE_ROLE_WRITER ? STORE_STMT_N_WRITER : STORE_STMT_COUNT;
  for (int id = first; id < end; id++) {
    const StoreStmtDef *def = &statement_defs[id];
    if (def->sql == NULL) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_SCHEMA, "statement %d has no SQL",
                  id);
      return FALSE;
    }
    int rc = sqlite3_prepare_v3(conn->db, def->sql, -1, SQLITE_PREPARE_PERSISTENT, &conn->stmts[id],
                                NULL);
    if (rc != SQLITE_OK) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_SCHEMA, "cannot prepare \"%s\": %s",
                  def->name, sqlite3_errmsg(conn->db));
      return FALSE;
    }
  }
  return TRUE;
}

void chatd_store_sql_close(StoreConnection *conn) {
  for (int id = 0; id < STORE_STMT_COUNT; id++) {
    sqlite3_finalize(conn->stmts[id]);
    conn->stmts[id] = NULL;
  }
  if (conn->db != NULL) {
    int rc = sqlite3_close(conn->db);
    if (rc != SQLITE_OK)
      g_warning("closing the database: %s", sqlite3_errstr(rc));
    conn->db = NULL;
  }
}

/* ---- writes: one function per kind ---- */

/* Runs statement id with the integer parameters values[0 .. n - 1] (as
 * ?1 .. ?n); INTS(a, b, ...) gives both. */
static gboolean run_ints(StoreConnection *conn, StoreStmtId id, const gint64 *values, gsize n,
                         GError **error) {
  g_auto(StoreCall) call = call_start(conn, id);
  for (gsize i = 0; i < n; i++)
    bind_int64(&call, (int)i + 1, values[i]);
  return call_done(&call, error);
}

#define INTS(...) ((const gint64[]){__VA_ARGS__}), G_N_ELEMENTS(((const gint64[]){__VA_ARGS__}))

/* The id of the row an INSERT of id (0: chosen by SQLite, the largest
 * rowid + 1, as the column is an INTEGER PRIMARY KEY without
 * AUTOINCREMENT) just stored. */
static gint64 inserted_id(StoreConnection *conn, gint64 id) {
  return id != 0 ? id : sqlite3_last_insert_rowid(conn->db);
}

static gboolean write_add_user(StoreConnection *conn, StoreWrite *w, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_INSERT_USER);
  bind_id_or_null(&call, 1, w->op.add_user.id);
  bind_string(&call, 2, w->op.add_user.username);
  bind_string(&call, 3, w->op.add_user.nickname);
  bind_string(&call, 4, w->op.add_user.password_hash);
  bind_int64(&call, 5, w->op.add_user.created_ms);
  if (!call_done(&call, error))
    return FALSE;
  w->stored_id = inserted_id(conn, w->op.add_user.id);
  return TRUE;
}

static gboolean write_set_user_text(StoreConnection *conn, StoreStmtId id, StoreWrite *w,
                                    GError **error) {
  g_auto(StoreCall) call = call_start(conn, id);
  bind_int64(&call, 1, w->op.set_user_text.user_id);
  bind_string(&call, 2, w->op.set_user_text.value);
  return call_done(&call, error) && require_changes(conn, id, error);
}

static gboolean write_accept_friend_request(StoreConnection *conn, StoreWrite *w, GError **error) {
  gint64 from = w->op.friend_request.from_user_id;
  gint64 to = w->op.friend_request.to_user_id;
  gint64 ms = w->op.friend_request.ms;
  /* The caller's savepoint makes the three statements one step. */
  return run_ints(conn, STORE_STMT_DELETE_FRIEND_REQUEST, INTS(from, to), error) &&
         require_changes(conn, STORE_STMT_DELETE_FRIEND_REQUEST, error) &&
         run_ints(conn, STORE_STMT_INSERT_FRIEND, INTS(from, to, ms), error) &&
         run_ints(conn, STORE_STMT_INSERT_FRIEND, INTS(to, from, ms), error);
}

static gboolean write_add_room(StoreConnection *conn, StoreWrite *w, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_INSERT_ROOM);
  bind_id_or_null(&call, 1, w->op.add_room.id);
  bind_string(&call, 2, w->op.add_room.room_name);
  bind_int64(&call, 3, w->op.add_room.created_ms);
  bind_id_or_null(&call, 4, w->op.add_room.creator_id);
  if (!call_done(&call, error))
    return FALSE;
  w->stored_id = inserted_id(conn, w->op.add_room.id);
  return TRUE;
}

/* ADD_SESSION, TOUCH_SESSION (the hash, then ms) and REVOKE_SESSION. */
static gboolean write_session(StoreConnection *conn, StoreStmtId id, StoreWrite *w,
                              GError **error) {
  g_auto(StoreCall) call = call_start(conn, id);
  bind_blob(&call, 1, w->op.session.token_hash, sizeof w->op.session.token_hash);
  if (id == STORE_STMT_INSERT_SESSION) {
    bind_int64(&call, 2, w->op.session.user_id);
    bind_int64(&call, 3, w->op.session.ms);
  } else if (id == STORE_STMT_TOUCH_SESSION) {
    bind_int64(&call, 2, w->op.session.ms);
  }
  if (!call_done(&call, error))
    return FALSE;
  return id == STORE_STMT_INSERT_SESSION || require_changes(conn, id, error);
}

/* The old session goes (NOT_FOUND when it already has) and the new one
 * takes its place, in one step. */
static gboolean write_rotate_session(StoreConnection *conn, StoreWrite *w, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_REVOKE_SESSION);
  bind_blob(&call, 1, w->op.session.old_hash, sizeof w->op.session.old_hash);
  if (!call_done(&call, error) || !require_changes(conn, STORE_STMT_REVOKE_SESSION, error))
    return FALSE;
  return write_session(conn, STORE_STMT_INSERT_SESSION, w, error);
}

/* The id stored under (sender, client_msg_id), or 0. */
static gboolean find_client_message(StoreConnection *conn, const ChatdMessageRecord *r,
                                    gint64 *existing_id, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_FIND_CLIENT_MSG);
  bind_int64(&call, 1, r->sender_id);
  bind_string(&call, 2, r->client_msg_id);
  StepResult step = call_step(&call, error);
  if (step == STEP_FAILED)
    return FALSE;
  *existing_id = step == STEP_ROW ? sqlite3_column_int64(call.stmt, 0) : 0;
  return TRUE;
}

/* Adds the text message r, stored as id, to the search index. */
static gboolean index_message(StoreConnection *conn, gint64 id, const ChatdMessageRecord *r,
                              GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_INDEX_MESSAGE);
  bind_int64(&call, 1, id);
  bind_text(&call, 2, r->text, r->text_len);
  return call_done(&call, error);
}

/* Stores r; *id gets its id (chosen by SQLite when r->id is 0: the
 * largest + 1, so in commit order, the writer being the only one). */
static gboolean insert_message(StoreConnection *conn, const ChatdMessageRecord *r, gint64 *id,
                               GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_INSERT_MESSAGE);
  bind_id_or_null(&call, 1, r->id);
  bind_int64(&call, 2, r->sender_id);
  bind_int64(&call, 3, r->target_type);
  bind_int64(&call, 4, r->target_id);
  bind_int64(&call, 5, r->sent_ms);
  bind_int64(&call, 6, r->kind);
  bind_text(&call, 7, r->text, r->text_len);
  if (r->kind == CHATD_STORE_KIND_TEXT)
    bind_int64(&call, 8, r->font_size);
  bind_string(&call, 9, r->font_color);
  if (r->image != NULL) {
    gsize size = 0;
    gconstpointer data = g_bytes_get_data(r->image, &size);
    /* an empty image still has to be a (zero-length) blob, not NULL */
    bind_blob(&call, 10, data != NULL ? data : "", size);
    bind_int64(&call, 12, (gint64)size);
    bind_string(&call, 13, chat_image_format(data, size));
  }
  bind_string(&call, 11, r->client_msg_id);
  if (!call_done(&call, error))
    return FALSE;
  *id = inserted_id(conn, r->id);
  return r->kind != CHATD_STORE_KIND_TEXT || index_message(conn, *id, r, error);
}

static gboolean write_add_message(StoreConnection *conn, StoreWrite *w, GError **error) {
  const ChatdMessageRecord *r = w->op.message.record;
  if (r->client_msg_id != NULL) {
    gint64 existing = 0;
    if (!find_client_message(conn, r, &existing, error))
      return FALSE;
    if (existing != 0) { /* a retransmission: already stored and delivered */
      w->inserted = FALSE;
      w->stored_id = existing;
      return TRUE;
    }
  }
  gint64 id = 0;
  if (!insert_message(conn, r, &id, error))
    return FALSE;
  for (gsize i = 0; i < w->op.message.n_offline; i++) {
    if (!run_ints(conn, STORE_STMT_INSERT_OFFLINE, INTS(w->op.message.offline_recipients[i], id),
                  error))
      return FALSE;
  }
  w->inserted = TRUE;
  w->stored_id = id;
  return TRUE;
}

gboolean chatd_store_sql_apply_write(StoreConnection *conn, StoreWrite *w, GError **error) {
  switch (w->kind) {
  case STORE_WRITE_ADD_USER:
    return write_add_user(conn, w, error);
  case STORE_WRITE_SET_PASSWORD_HASH:
    return write_set_user_text(conn, STORE_STMT_UPDATE_PASSWORD_HASH, w, error);
  case STORE_WRITE_SET_NICKNAME:
    return write_set_user_text(conn, STORE_STMT_UPDATE_NICKNAME, w, error);
  case STORE_WRITE_ADD_FRIEND_REQUEST:
    return run_ints(conn, STORE_STMT_INSERT_FRIEND_REQUEST,
                    INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id,
                         w->op.friend_request.ms),
                    error);
  case STORE_WRITE_ACCEPT_FRIEND_REQUEST:
    return write_accept_friend_request(conn, w, error);
  case STORE_WRITE_DELETE_FRIEND_REQUEST:
    return run_ints(conn, STORE_STMT_DELETE_FRIEND_REQUEST,
                    INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id),
                    error) &&
           require_changes(conn, STORE_STMT_DELETE_FRIEND_REQUEST, error);
  case STORE_WRITE_ADD_ROOM:
    return write_add_room(conn, w, error);
  case STORE_WRITE_ADD_MEMBER:
    return run_ints(conn, STORE_STMT_INSERT_MEMBER,
                    INTS(w->op.member.room_id, w->op.member.user_id, w->op.member.joined_ms,
                         w->op.member.first_message_id),
                    error);
  case STORE_WRITE_REMOVE_MEMBER:
    return run_ints(conn, STORE_STMT_DELETE_MEMBER,
                    INTS(w->op.member.room_id, w->op.member.user_id), error) &&
           require_changes(conn, STORE_STMT_DELETE_MEMBER, error);
  case STORE_WRITE_ADD_SESSION:
    return write_session(conn, STORE_STMT_INSERT_SESSION, w, error);
  case STORE_WRITE_TOUCH_SESSION:
    return write_session(conn, STORE_STMT_TOUCH_SESSION, w, error);
  case STORE_WRITE_REVOKE_SESSION:
    return write_session(conn, STORE_STMT_REVOKE_SESSION, w, error);
  case STORE_WRITE_REVOKE_USER_SESSIONS:
    return run_ints(conn, STORE_STMT_REVOKE_USER_SESSIONS, INTS(w->op.session.user_id), error);
  case STORE_WRITE_ROTATE_SESSION:
    return write_rotate_session(conn, w, error);
  case STORE_WRITE_FORGET_SESSIONS_BEFORE:
    return run_ints(conn, STORE_STMT_FORGET_SESSIONS_BEFORE, INTS(w->op.session.ms), error);
  case STORE_WRITE_MARK_READ:
    return run_ints(conn, STORE_STMT_UPSERT_READ_MARKER,
                    INTS(w->op.mark_read.user_id, w->op.mark_read.target_type,
                         w->op.mark_read.target_id, w->op.mark_read.last_read_id),
                    error);
  case STORE_WRITE_CLEAR_OFFLINE:
    return run_ints(conn, STORE_STMT_DELETE_OFFLINE,
                    INTS(w->op.clear_offline.user_id, w->op.clear_offline.up_to_message_id), error);
  case STORE_WRITE_ADD_MESSAGE:
    return write_add_message(conn, w, error);
  }
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "unknown write kind %d",
              (int)w->kind);
  return FALSE;
}

/* ---- reads ---- */

static const char *column_string(sqlite3_stmt *stmt, int column) {
  return (const char *)sqlite3_column_text(stmt, column);
}

/* A record from the MESSAGE_COLUMNS (or MESSAGE_META_COLUMNS) of the
 * current row; an image larger than max_image_bytes is left out. */
static ChatdMessageRecord *record_from_row(sqlite3_stmt *stmt, gsize max_image_bytes) {
  ChatdMessageRecord row = {
      .id = sqlite3_column_int64(stmt, COL_ID),
      .sender_id = sqlite3_column_int64(stmt, COL_SENDER_ID),
      .target_type = sqlite3_column_int(stmt, COL_TARGET_TYPE),
      .target_id = sqlite3_column_int64(stmt, COL_TARGET_ID),
      .sent_ms = sqlite3_column_int64(stmt, COL_SENT_MS),
      .kind = sqlite3_column_int(stmt, COL_KIND),
      .font_size = sqlite3_column_int(stmt, COL_FONT_SIZE),
      .font_color = column_string(stmt, COL_FONT_COLOR),
      .client_msg_id = column_string(stmt, COL_CLIENT_MSG_ID),
      .sender_nickname = column_string(stmt, COL_SENDER_NICKNAME),
      .image_size = (gsize)sqlite3_column_int64(stmt, COL_IMAGE_SIZE),
      .image_format = column_string(stmt, COL_IMAGE_FORMAT),
  };
  /* text before bytes: the pointer stays valid (SQLite's documented order) */
  row.text = column_string(stmt, COL_TEXT);
  row.text_len = row.text != NULL ? (gsize)sqlite3_column_bytes(stmt, COL_TEXT) : 0;
  g_autoptr(GBytes) image = NULL;
  if (sqlite3_column_type(stmt, COL_IMAGE) != SQLITE_NULL && row.image_size <= max_image_bytes) {
    gconstpointer data = sqlite3_column_blob(stmt, COL_IMAGE);
    image = g_bytes_new(data, (gsize)sqlite3_column_bytes(stmt, COL_IMAGE));
  }
  row.image = image;
  return chatd_message_record_copy(&row);
}

static void conversation_free(ChatdConversation *conversation) {
  chatd_message_record_free((ChatdMessageRecord *)conversation->last);
  g_free(conversation);
}

void chatd_store_conversation_free(gpointer conversation) {
  conversation_free(conversation);
}

/* What a row costs against a ChatdStorePageBound. */
static gsize row_cost(sqlite3_stmt *stmt, const ChatdStorePageBound *bound) {
  gsize cost = bound->record_overhead;
  if (sqlite3_column_int(stmt, COL_KIND) == CHATD_STORE_KIND_TEXT)
    return cost + (gsize)sqlite3_column_bytes(stmt, COL_TEXT);
  gsize image = (gsize)sqlite3_column_int64(stmt, COL_IMAGE_SIZE);
  return image <= bound->max_image_bytes ? cost + image : cost;
}

/* Appends the rows of a message query (newest first) to records while they
 * fit the bound; *more when one was left out. offline_column >= 0 reads the
 * offline flag from that column. */
static gboolean collect_page(StoreCall *call, int offline_column, const ChatdStorePageBound *bound,
                             GPtrArray *records, gboolean *more, GError **error) {
  gsize used = 0;
  *more = FALSE;
  StepResult step;
  while ((step = call_step(call, error)) == STEP_ROW) {
    gsize cost = row_cost(call->stmt, bound);
    if ((bound->limit > 0 && records->len >= bound->limit) ||
        (bound->max_bytes > 0 && records->len > 0 && used + cost > bound->max_bytes)) {
      *more = TRUE;
      return TRUE;
    }
    used += cost;
    ChatdMessageRecord *record = record_from_row(call->stmt, bound->max_image_bytes);
    if (offline_column >= 0)
      record->offline = sqlite3_column_int(call->stmt, offline_column) != 0;
    g_ptr_array_add(records, record);
  }
  return step == STEP_DONE;
}

static GPtrArray *new_record_array(void) {
  return g_ptr_array_new_with_free_func((GDestroyNotify)chatd_message_record_free);
}

static gboolean read_history(StoreConnection *conn, StoreRead *read, GError **error) {
  StoreStmtId id = read->target_type == CHATD_STORE_TARGET_ROOM ? STORE_STMT_HISTORY_ROOM
                                                                : STORE_STMT_HISTORY_DIRECT;
  g_auto(StoreCall) call = call_start(conn, id);
  bind_int64(&call, 1, read->viewer_id);
  bind_int64(&call, 2, read->target_id);
  bind_int64(&call, 3, read->before_id > 0 ? read->before_id : G_MAXINT64);
  /* One more than the limit: whether older ones remain. */
  bind_int64(&call, 4, (gint64)read->bound.limit + 1);
  g_autoptr(GPtrArray) records = new_record_array();
  if (!collect_page(&call, -1, &read->bound, records, &read->more, error))
    return FALSE;
  read->results = g_steal_pointer(&records);
  return TRUE;
}

static gboolean read_full_history(StoreConnection *conn, StoreRead *read, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_FULL_HISTORY);
  bind_int64(&call, 1, read->viewer_id);
  g_autoptr(GPtrArray) records = new_record_array();
  if (!collect_page(&call, COL_AFTER_MESSAGE, &read->bound, records, &read->more, error))
    return FALSE;
  /* Read newest first (the ones that fit), handed out oldest first. */
  for (guint i = 0, j = records->len; i + 1 < j; i++, j--) {
    gpointer t = records->pdata[i];
    records->pdata[i] = records->pdata[j - 1];
    records->pdata[j - 1] = t;
  }
  read->results = g_steal_pointer(&records);
  return TRUE;
}

/* The message with that id into *record (NULL if none); id is
 * STORE_STMT_MESSAGE_BY_ID or (without the image) _META_BY_ID. */
static gboolean read_message_by_id(StoreConnection *conn, StoreStmtId id, gint64 message_id,
                                   ChatdMessageRecord **record, GError **error) {
  g_auto(StoreCall) call = call_start(conn, id);
  bind_int64(&call, 1, message_id);
  StepResult step = call_step(&call, error);
  if (step == STEP_FAILED)
    return FALSE;
  *record = step == STEP_ROW ? record_from_row(call.stmt, G_MAXSIZE) : NULL;
  return TRUE;
}

static gboolean read_conversations(StoreConnection *conn, StoreRead *read, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_CONVERSATIONS);
  bind_int64(&call, 1, read->viewer_id);
  g_autoptr(GPtrArray) conversations =
      g_ptr_array_new_with_free_func(chatd_store_conversation_free);
  StepResult step;
  while ((step = call_step(&call, error)) == STEP_ROW) {
    sqlite3_stmt *stmt = call.stmt;
    ChatdConversation *conversation = g_new0(ChatdConversation, 1);
    conversation->target_type = sqlite3_column_int(stmt, CONV_TARGET_TYPE);
    conversation->target_id = sqlite3_column_int64(stmt, CONV_TARGET_ID);
    conversation->last_read_id = sqlite3_column_int64(stmt, CONV_MARKER);
    conversation->unread = sqlite3_column_int64(stmt, CONV_UNREAD);
    g_ptr_array_add(conversations, conversation);
    gint64 last_id = sqlite3_column_int64(stmt, CONV_LAST_ID);
    ChatdMessageRecord *last = NULL;
    /* same read transaction: the statement above is still active */
    if (last_id > 0 &&
        !read_message_by_id(conn, STORE_STMT_MESSAGE_META_BY_ID, last_id, &last, error))
      return FALSE;
    conversation->last = last;
  }
  if (step == STEP_FAILED)
    return FALSE;
  read->results = g_steal_pointer(&conversations);
  return TRUE;
}

/* The number of code points of the UTF-8 text (its bytes that do not
 * continue a sequence). */
static gsize code_points(const char *text, gsize len) {
  gsize n = 0;
  for (gsize i = 0; i < len; i++)
    n += ((guchar)text[i] & 0xc0) != 0x80;
  return n;
}

/* Whether the trigram index can find the query's candidates. */
static gboolean search_uses_index(const ChatdStoreSearch *search) {
  return code_points(search->query, search->query_len) >= CHATD_STORE_SEARCH_TRIGRAM &&
         memchr(search->query, '\0', search->query_len) == NULL;
}

/* The query as one FTS5 string (a phrase: with the trigram tokenizer, a
 * substring): in double quotes, each double quote doubled. */
static char *fts_phrase(const char *query, gsize len) {
  GString *phrase = g_string_sized_new(len + 2);
  g_string_append_c(phrase, '"');
  for (gsize i = 0; i < len; i++) {
    if (query[i] == '"')
      g_string_append_c(phrase, '"');
    g_string_append_c(phrase, query[i]);
  }
  g_string_append_c(phrase, '"');
  return g_string_free(phrase, FALSE);
}

static gboolean read_search(StoreConnection *conn, StoreRead *read, GError **error) {
  const ChatdStoreSearch *search = &read->search;
  gboolean indexed = search_uses_index(search);
  g_autofree char *phrase = indexed ? fts_phrase(search->query, search->query_len) : NULL;
  g_auto(StoreCall) call =
      call_start(conn, indexed ? STORE_STMT_SEARCH_INDEXED : STORE_STMT_SEARCH_SCAN);
  bind_int64(&call, 1, search->user_id);
  bind_int64(&call, 2, search->before_id);
  bind_int64(&call, 3, search->has_target ? search->target_type : -1);
  bind_int64(&call, 4, search->has_target ? search->target_id : 0);
  if (indexed)
    bind_string(&call, 5, phrase);
  g_autoptr(GPtrArray) records = new_record_array();
  const ChatdStorePageBound *bound = &search->bound;
  StoreSearchTally tally = {0};
  StoreSearchVerdict verdict = STORE_SEARCH_SKIP;
  read->more = FALSE;
  StepResult step;
  while (verdict != STORE_SEARCH_STOP && (step = call_step(&call, error)) == STEP_ROW) {
    const char *text = column_string(call.stmt, COL_TEXT);
    gsize len = text != NULL ? (gsize)sqlite3_column_bytes(call.stmt, COL_TEXT) : 0;
    verdict = chatd_store_search_consider(read, &tally, records->len, text, len,
                                          row_cost(call.stmt, bound));
    if (verdict == STORE_SEARCH_TAKE)
      g_ptr_array_add(records, record_from_row(call.stmt, bound->max_image_bytes));
  }
  if (step == STEP_FAILED)
    return FALSE;
  read->results = g_steal_pointer(&records);
  return TRUE;
}

gboolean chatd_store_sql_run_read(StoreConnection *conn, StoreRead *read, GError **error) {
  switch (read->kind) {
  case STORE_READ_HISTORY:
    return read_history(conn, read, error);
  case STORE_READ_FULL_HISTORY:
    return read_full_history(conn, read, error);
  case STORE_READ_CONVERSATIONS:
    return read_conversations(conn, read, error);
  case STORE_READ_MESSAGE:
    return read_message_by_id(conn, STORE_STMT_MESSAGE_BY_ID, read->message_id, &read->record,
                              error);
  case STORE_READ_SEARCH:
    return read_search(conn, read, error);
  }
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "unknown read kind %d",
              (int)read->kind);
  return FALSE;
}

/* ---- start-up loaders ---- */

/* Hands the current row of a loader's statement to the caller's func (of
 * the loader's type); FALSE with *error when the row is damaged. */
typedef gboolean (*LoadRowFunc)(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                                GError **error);

static gboolean load_user(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                          GError **error) {
  ChatdStoreUser user = {
      .id = sqlite3_column_int64(stmt, 0),
      .username = column_string(stmt, 1),
      .nickname = column_string(stmt, 2),
      .password_hash = column_string(stmt, 3),
      .created_ms = sqlite3_column_int64(stmt, 4),
  };
  ((ChatdStoreUserFunc)func)(&user, user_data);
  return TRUE;
}

static gboolean load_pair(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                          GError **error) {
  ((ChatdStorePairFunc)func)(sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                             sqlite3_column_int64(stmt, 2), user_data);
  return TRUE;
}

static gboolean load_room(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                          GError **error) {
  ChatdStoreRoom room = {
      .id = sqlite3_column_int64(stmt, 0),
      .room_name = column_string(stmt, 1),
      .creator_id = sqlite3_column_int64(stmt, 2),
      .created_ms = sqlite3_column_int64(stmt, 3),
  };
  ((ChatdStoreRoomFunc)func)(&room, user_data);
  return TRUE;
}

static gboolean load_member(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                            GError **error) {
  ChatdStoreMember member = {
      .room_id = sqlite3_column_int64(stmt, 0),
      .user_id = sqlite3_column_int64(stmt, 1),
      .first_message_id = sqlite3_column_int64(stmt, 2),
      .joined_ms = sqlite3_column_int64(stmt, 3),
  };
  ((ChatdStoreMemberFunc)func)(&member, user_data);
  return TRUE;
}

static gboolean load_session(sqlite3_stmt *stmt, StoreLoadFunc func, gpointer user_data,
                             GError **error) {
  ChatdStoreSession session = {
      .user_id = sqlite3_column_int64(stmt, 1),
      .created_ms = sqlite3_column_int64(stmt, 2),
      .last_used_ms = sqlite3_column_int64(stmt, 3),
  };
  const void *hash = sqlite3_column_blob(stmt, 0);
  if (hash == NULL || sqlite3_column_bytes(stmt, 0) != CHATD_STORE_TOKEN_HASH_LEN) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CORRUPT,
                "load sessions: a token hash is not %d bytes", CHATD_STORE_TOKEN_HASH_LEN);
    return FALSE;
  }
  memcpy(session.token_hash, hash, CHATD_STORE_TOKEN_HASH_LEN);
  ((ChatdStoreSessionFunc)func)(&session, user_data);
  return TRUE;
}

static const struct {
  StoreStmtId id;
  LoadRowFunc row;
} loaders[STORE_LOAD_COUNT] = {
    [STORE_LOAD_USERS] = {STORE_STMT_SELECT_USERS, load_user},
    [STORE_LOAD_FRIENDS] = {STORE_STMT_SELECT_FRIENDS, load_pair},
    [STORE_LOAD_FRIEND_REQUESTS] = {STORE_STMT_SELECT_FRIEND_REQUESTS, load_pair},
    [STORE_LOAD_ROOMS] = {STORE_STMT_SELECT_ROOMS, load_room},
    [STORE_LOAD_MEMBERS] = {STORE_STMT_SELECT_MEMBERS, load_member},
    [STORE_LOAD_SESSIONS] = {STORE_STMT_SELECT_SESSIONS, load_session},
};

gboolean chatd_store_sql_load(StoreConnection *conn, StoreLoad load, StoreLoadFunc func,
                              gpointer user_data, GError **error) {
  g_assert((guint)load < STORE_LOAD_COUNT);
  g_auto(StoreCall) call = call_start(conn, loaders[load].id);
  StepResult step;
  while ((step = call_step(&call, error)) == STEP_ROW) {
    if (!loaders[load].row(call.stmt, func, user_data, error))
      return FALSE;
  }
  return step == STEP_DONE;
}

gboolean chatd_store_sql_max_ids(StoreConnection *conn, gint64 *max_user_id, gint64 *max_room_id,
                                 gint64 *max_message_id, GError **error) {
  g_auto(StoreCall) call = call_start(conn, STORE_STMT_SELECT_MAX_IDS);
  StepResult step = call_step(&call, error);
  if (step == STEP_FAILED)
    return FALSE;
  if (step == STEP_DONE) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "load max ids: no row");
    return FALSE;
  }
  if (max_user_id != NULL)
    *max_user_id = sqlite3_column_int64(call.stmt, 0);
  if (max_room_id != NULL)
    *max_room_id = sqlite3_column_int64(call.stmt, 1);
  if (max_message_id != NULL)
    *max_message_id = sqlite3_column_int64(call.stmt, 2);
  return TRUE;
}

/* ---- the SQLite backend (store-backend.h) ---- */

static gboolean sqlite_txn(gpointer conn, StoreTxnOp op, GError **error) {
  static const StoreStmtId statements[] = {
      [STORE_TXN_BEGIN] = STORE_STMT_BEGIN,       [STORE_TXN_COMMIT] = STORE_STMT_COMMIT,
      [STORE_TXN_ROLLBACK] = STORE_STMT_ROLLBACK, [STORE_TXN_SAVEPOINT] = STORE_STMT_SAVEPOINT,
      [STORE_TXN_RELEASE] = STORE_STMT_RELEASE,   [STORE_TXN_ROLLBACK_TO] = STORE_STMT_ROLLBACK_TO,
  };
  return chatd_store_sql_exec(conn, statements[op], error);
}

static gboolean sqlite_in_transaction(gpointer conn) {
  return !sqlite3_get_autocommit(((StoreConnection *)conn)->db);
}

/* Whether w changes the database with more than one statement. SQLite
 * backs out a failing statement by itself and leaves the transaction open
 * (or rolls the whole transaction back, which run_batch() detects), so a
 * write of one modifying statement is already atomic; the others need a
 * savepoint. Skipping it for single statements is worth ~30% of message
 * throughput (tests/bench-store.c). */
static gboolean sqlite_needs_savepoint(const StoreWrite *w) {
  switch (w->kind) {
  case STORE_WRITE_ACCEPT_FRIEND_REQUEST:
    return TRUE;
  case STORE_WRITE_ADD_MESSAGE:
    return w->op.message.n_offline > 0;
  default:
    return FALSE;
  }
}

static gboolean sqlite_apply_write(gpointer conn, StoreWrite *w, GError **error) {
  return chatd_store_sql_apply_write(conn, w, error);
}

static gboolean sqlite_run_read(gpointer conn, StoreRead *r, GError **error) {
  return chatd_store_sql_run_read(conn, r, error);
}

static gboolean sqlite_load(gpointer conn, StoreLoad load, StoreLoadFunc func, gpointer user_data,
                            GError **error) {
  return chatd_store_sql_load(conn, load, func, user_data, error);
}

static gboolean sqlite_max_ids(gpointer conn, gint64 *max_user_id, gint64 *max_room_id,
                               gint64 *max_message_id, GError **error) {
  return chatd_store_sql_max_ids(conn, max_user_id, max_room_id, max_message_id, error);
}

static void sqlite_close(gpointer conn) {
  chatd_store_sql_close(conn);
}

const StoreBackend chatd_store_sqlite_backend = {
    .name = "sqlite",
    .txn = sqlite_txn,
    .in_transaction = sqlite_in_transaction,
    .needs_savepoint = sqlite_needs_savepoint,
    .apply_write = sqlite_apply_write,
    .run_read = sqlite_run_read,
    .load = sqlite_load,
    .max_ids = sqlite_max_ids,
    .close = sqlite_close,
};
