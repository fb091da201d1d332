/* Every statement of the PostgreSQL store, prepared once per connection
 * (PQprepare) and run with PQexecPrepared, and the code that runs one write
 * or one read on a connection: chatd_store_pg_backend. Parameters go as
 * text for integers and as binary for text and BYTEA (no escaping, no NUL
 * termination needed); results come back binary (integers are decoded by
 * their type, BYTEA and TEXT are raw bytes).
 *
 * Same semantics as store-statements.c (SQLite) for every request; what
 * differs:
 *  - any failed statement aborts a PostgreSQL transaction: a batch runs
 *    without savepoints (each costs a round trip) and, when one of its
 *    writes fails, is rolled back and run again with a savepoint per write
 *    (savepoints_on_failure_only);
 *  - a message with a client_msg_id is inserted with ON CONFLICT DO
 *    NOTHING and looked up only when that inserted nothing (one round trip
 *    instead of two, and right when two stores race on a retransmission);
 *  - ids chosen by the store come from the sequences; message ids are
 *    taken under one transaction-scoped advisory lock per batch, so that
 *    they follow the commit order across every store on the database;
 *  - a read, a loader or a BEGIN that finds the connection lost reconnects
 *    and runs once more (nothing of it ran); anything else fails with
 *    CHATD_STORE_ERROR_UNAVAILABLE. */
#define G_LOG_DOMAIN "chatd-store"

#include <stdlib.h>
#include <string.h>

#include "chatd/store-message-columns.h"
#include "chatd/store-pg-private.h"
#include "protocol/image-format.h"

/* pg_advisory_xact_lock key of message ids (any constant, shared by every
 * chatd on the database). */
#define STORE_PG_MESSAGE_LOCK "7254823315012"

/* Type oids of the results decoded (pg_type.h). */
enum { OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23 };

typedef enum {
  /* writer */
  PG_INSERT_USER,
  PG_UPDATE_PASSWORD_HASH,
  PG_UPDATE_NICKNAME,
  PG_INSERT_FRIEND_REQUEST,
  PG_DELETE_FRIEND_REQUEST,
  PG_INSERT_FRIEND,
  PG_INSERT_ROOM,
  PG_INSERT_MEMBER,
  PG_DELETE_MEMBER,
  PG_INSERT_SESSION,
  PG_TOUCH_SESSION,
  PG_REVOKE_SESSION,
  PG_REVOKE_USER_SESSIONS,
  PG_FORGET_SESSIONS_BEFORE,
  PG_UPSERT_READ_MARKER,
  PG_DELETE_OFFLINE,
  PG_FIND_CLIENT_MSG,
  PG_LOCK_MESSAGE_IDS,
  PG_INSERT_MESSAGE,
  PG_INSERT_OFFLINE,
  PG_INSERT_MESSAGE_WITH_OFFLINE,
  PG_N_WRITER,
  /* reader */
  PG_SELECT_USERS = PG_N_WRITER,
  PG_SELECT_FRIENDS,
  PG_SELECT_FRIEND_REQUESTS,
  PG_SELECT_ROOMS,
  PG_SELECT_MEMBERS,
  PG_SELECT_SESSIONS,
  PG_SELECT_MAX_IDS,
  PG_HISTORY_DIRECT,
  PG_HISTORY_ROOM,
  PG_FULL_HISTORY,
  PG_CONVERSATIONS,
  PG_MESSAGE_BY_ID,
  PG_SEARCH_SCAN,
  PG_COUNT,
} PgStmtId;

typedef struct {
  const char *name; /* for error messages */
  const char *sql;
} PgStmtDef;

/* A message record without the image's bytes. */
#define MESSAGE_META_COLUMNS MESSAGE_COLUMNS_WITH_IMAGE("NULL::bytea")

/* Columns of PG_CONVERSATIONS before the last message's. */
enum { CONV_TARGET_TYPE, CONV_TARGET_ID, CONV_LAST_ID, CONV_MARKER, CONV_UNREAD, CONV_MESSAGE };

static const PgStmtDef statement_defs[PG_COUNT] = {
    [PG_INSERT_USER] = {"add user",
                        "INSERT INTO users (id, username, nickname, password_hash, created_ms) "
                        "VALUES (coalesce(nullif($1::bigint, 0), nextval('users_id_seq')),"
                        " $2, $3, $4, $5) RETURNING id"},
    [PG_UPDATE_PASSWORD_HASH] = {"set password hash",
                                 "UPDATE users SET password_hash = $2 WHERE id = $1"},
    [PG_UPDATE_NICKNAME] = {"set nickname", "UPDATE users SET nickname = $2 WHERE id = $1"},
    [PG_INSERT_FRIEND_REQUEST] =
        {"add friend request",
         "INSERT INTO friend_requests (from_user_id, to_user_id, created_ms) VALUES ($1, $2, $3)"},
    [PG_DELETE_FRIEND_REQUEST] =
        {"delete friend request",
         "DELETE FROM friend_requests WHERE from_user_id = $1 AND to_user_id = $2"},
    [PG_INSERT_FRIEND] = {"add friend",
                          "INSERT INTO friends (user_id, friend_id, since_ms) VALUES ($1, $2, $3)"},
    [PG_INSERT_ROOM] = {"add room",
                        "INSERT INTO rooms (id, room_name, created_ms, creator_id) "
                        "VALUES (coalesce(nullif($1::bigint, 0), nextval('rooms_id_seq')),"
                        " $2, $3, $4) RETURNING id"},
    [PG_INSERT_MEMBER] =
        {"add member", "INSERT INTO room_members (room_id, user_id, joined_ms, first_message_id) "
                       "VALUES ($1, $2, $3, $4)"},
    [PG_DELETE_MEMBER] = {"remove member",
                          "DELETE FROM room_members WHERE room_id = $1 AND user_id = $2"},
    [PG_INSERT_SESSION] = {"add session",
                           "INSERT INTO sessions (token_hash, user_id, created_ms, last_used_ms) "
                           "VALUES ($1, $2, $3, $3)"},
    [PG_TOUCH_SESSION] = {"touch session", "UPDATE sessions SET last_used_ms = $2 "
                                           "WHERE token_hash = $1 AND revoked = 0"},
    [PG_REVOKE_SESSION] = {"revoke session",
                           "DELETE FROM sessions WHERE token_hash = $1 AND revoked = 0"},
    [PG_REVOKE_USER_SESSIONS] = {"revoke user sessions", "DELETE FROM sessions WHERE user_id = $1"},
    [PG_FORGET_SESSIONS_BEFORE] = {"forget old sessions",
                                   "DELETE FROM sessions WHERE revoked = 1 OR created_ms <= $1"},
    [PG_UPSERT_READ_MARKER] =
        {"mark read",
         "INSERT INTO read_markers (user_id, target_type, target_id, last_read_id) "
         "VALUES ($1, $2, $3, $4) "
         "ON CONFLICT (user_id, target_type, target_id) "
         "DO UPDATE SET last_read_id = GREATEST(read_markers.last_read_id, excluded.last_read_id)"},
    [PG_DELETE_OFFLINE] =
        {"clear offline", "DELETE FROM offline_deliveries WHERE user_id = $1 AND message_id <= $2"},
    [PG_FIND_CLIENT_MSG] = {"find message by client id",
                            "SELECT id FROM messages WHERE sender_id = $1 AND client_msg_id = $2"},
    [PG_LOCK_MESSAGE_IDS] = {"lock message ids",
                             "SELECT pg_advisory_xact_lock(" STORE_PG_MESSAGE_LOCK ")"},
    /* A retransmission stored meanwhile by another store: no row. */
    [PG_INSERT_MESSAGE] =
        {"add message",
         "INSERT INTO messages (id, sender_id, target_type, target_id, sent_ms, kind, text, "
         "font_size, font_color, image, client_msg_id, image_size, image_format) "
         "VALUES (coalesce(nullif($1::bigint, 0), nextval('messages_id_seq')),"
         " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
         "ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id"},
    [PG_INSERT_OFFLINE] = {"add offline delivery",
                           "INSERT INTO offline_deliveries (user_id, message_id) VALUES ($1, $2) "
                           "ON CONFLICT DO NOTHING"},
    /* The message and its offline rows in one statement (pipelined
     * batches): its id and TRUE, or the id stored earlier under the same
     * (sender, client_msg_id) and FALSE; no row when another store's
     * insert of it committed meanwhile (not in this statement's snapshot). */
    [PG_INSERT_MESSAGE_WITH_OFFLINE] =
        {"add message",
         "WITH m AS ("
         " INSERT INTO messages (id, sender_id, target_type, target_id, sent_ms, kind, text,"
         "  font_size, font_color, image, client_msg_id, image_size, image_format)"
         " VALUES (coalesce(nullif($1::bigint, 0), nextval('messages_id_seq')),"
         "  $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
         " ON CONFLICT (sender_id, client_msg_id) DO NOTHING RETURNING id), "
         "o AS ("
         " INSERT INTO offline_deliveries (user_id, message_id)"
         " SELECT DISTINCT r, m.id FROM m, unnest($14::bigint[]) AS r ON CONFLICT DO NOTHING) "
         "SELECT id, TRUE FROM m "
         "UNION ALL "
         "SELECT id, FALSE FROM messages WHERE sender_id = $2 AND client_msg_id = $11"
         " AND NOT EXISTS (SELECT 1 FROM m)"},

    [PG_SELECT_USERS] = {"load users", "SELECT id, username, nickname, password_hash, created_ms "
                                       "FROM users ORDER BY id"},
    [PG_SELECT_FRIENDS] = {"load friends", "SELECT user_id, friend_id, since_ms FROM friends "
                                           "ORDER BY user_id, friend_id"},
    [PG_SELECT_FRIEND_REQUESTS] =
        {"load friend requests", "SELECT from_user_id, to_user_id, created_ms FROM friend_requests "
                                 "ORDER BY from_user_id, to_user_id"},
    [PG_SELECT_ROOMS] =
        {"load rooms",
         "SELECT id, room_name, coalesce(creator_id, 0), created_ms FROM rooms ORDER BY id"},
    [PG_SELECT_MEMBERS] = {"load members",
                           "SELECT room_id, user_id, first_message_id, joined_ms FROM room_members "
                           "ORDER BY room_id, user_id"},
    [PG_SELECT_SESSIONS] = {"load sessions",
                            "SELECT token_hash, user_id, created_ms, last_used_ms FROM sessions "
                            "WHERE revoked = 0 ORDER BY user_id, token_hash"},
    [PG_SELECT_MAX_IDS] = {"load max ids", "SELECT (SELECT coalesce(max(id), 0) FROM users), "
                                           "(SELECT coalesce(max(id), 0) FROM rooms), "
                                           "(SELECT coalesce(max(id), 0) FROM messages)"},
    /* $1 viewer, $2 other user, $3 before id, $4 limit. */
    [PG_HISTORY_DIRECT] = {"history",
                           "SELECT " MESSAGE_COLUMNS
                           " FROM messages m JOIN users u ON u.id = m.sender_id "
                           "WHERE m.id IN ("
                           " (SELECT id FROM messages WHERE target_type = 0 AND target_id = $2"
                           "  AND sender_id = $1 AND id < $3 ORDER BY id DESC LIMIT $4)"
                           " UNION ALL"
                           " (SELECT id FROM messages WHERE target_type = 0 AND target_id = $1"
                           "  AND sender_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4)) "
                           "ORDER BY m.id DESC LIMIT $4"},
    [PG_HISTORY_ROOM] = {"room history",
                         "SELECT " MESSAGE_COLUMNS " FROM room_members rm "
                         "JOIN messages m ON m.target_type = 1 AND m.target_id = rm.room_id"
                         " AND m.id >= rm.first_message_id AND m.id < $3 "
                         "JOIN users u ON u.id = m.sender_id "
                         "WHERE rm.room_id = $2 AND rm.user_id = $1 "
                         "ORDER BY m.id DESC LIMIT $4"},
    [PG_FULL_HISTORY] = {"full history",
                         "SELECT " MESSAGE_COLUMNS ", EXISTS (SELECT 1 FROM offline_deliveries o"
                         " WHERE o.user_id = $1 AND o.message_id = m.id) "
                         "FROM messages m JOIN users u ON u.id = m.sender_id "
                         "WHERE m.id IN ("
                         " SELECT id FROM messages WHERE sender_id = $1 AND target_type = 0"
                         " UNION ALL"
                         " SELECT id FROM messages WHERE target_type = 0 AND target_id = $1"
                         " UNION ALL"
                         " SELECT m2.id FROM room_members rm JOIN messages m2 ON m2.target_type = 1"
                         "  AND m2.target_id = rm.room_id AND m2.id >= rm.first_message_id"
                         "  WHERE rm.user_id = $1) "
                         "ORDER BY m.id DESC"},
    /* As SQLite's, with the last message (without its image) joined in, so
     * that one statement (one snapshot) gives everything. */
    [PG_CONVERSATIONS] =
        {"conversations",
         "WITH peers AS MATERIALIZED ("
         " SELECT f.friend_id AS peer,"
         "  (SELECT max(id) FROM messages WHERE target_type = 0 AND target_id = f.friend_id"
         "   AND sender_id = $1) AS last_out,"
         "  (SELECT max(id) FROM messages WHERE target_type = 0 AND target_id = $1"
         "   AND sender_id = f.friend_id) AS last_in,"
         "  coalesce((SELECT last_read_id FROM read_markers WHERE user_id = $1"
         "   AND target_type = 0 AND target_id = f.friend_id), 0) AS marker"
         " FROM friends f WHERE f.user_id = $1), "
         "joined AS MATERIALIZED ("
         " SELECT rm.room_id, rm.first_message_id,"
         "  coalesce((SELECT last_read_id FROM read_markers WHERE user_id = $1"
         "   AND target_type = 1 AND target_id = rm.room_id), 0) AS marker"
         " FROM room_members rm WHERE rm.user_id = $1), "
         "conversations AS ("
         " SELECT 0 AS target_type, peer AS target_id,"
         "  GREATEST(coalesce(last_out, 0), coalesce(last_in, 0)) AS last_id, marker,"
         "  CASE WHEN last_in > marker THEN (SELECT count(*) FROM messages WHERE target_type = 0"
         "   AND target_id = $1 AND sender_id = peer AND id > marker) ELSE 0 END AS unread"
         " FROM peers WHERE last_out IS NOT NULL OR last_in IS NOT NULL"
         " UNION ALL"
         " SELECT 1, room_id,"
         "  coalesce((SELECT max(id) FROM messages WHERE target_type = 1 AND target_id = room_id"
         "   AND id >= first_message_id), 0),"
         "  marker,"
         "  (SELECT count(*) FROM messages WHERE target_type = 1 AND target_id = room_id"
         "   AND id > GREATEST(first_message_id - 1, marker) AND sender_id <> $1)"
         " FROM joined) "
         "SELECT c.target_type, c.target_id, c.last_id, c.marker, c.unread, " MESSAGE_META_COLUMNS
         " FROM conversations c LEFT JOIN messages m ON m.id = c.last_id"
         " LEFT JOIN users u ON u.id = m.sender_id "
         "ORDER BY c.last_id DESC, c.target_type, c.target_id"},
    [PG_MESSAGE_BY_ID] = {"message", "SELECT " MESSAGE_COLUMNS
                                     " FROM messages m JOIN users u ON u.id = m.sender_id "
                                     "WHERE m.id = $1"},
    /* Search candidates: $1 user, $2 before id, $3 target type (-1: every
     * conversation), $4 target id, $5 limit. The newest $5 text messages
     * of the user's conversations, each part an index range read newest
     * first (messages_sent, messages_received, messages_room). */
    [PG_SEARCH_SCAN] =
        {"search by reading the conversations",
         "SELECT " MESSAGE_COLUMNS " FROM messages m JOIN users u ON u.id = m.sender_id "
         "WHERE m.id IN ("
         " (SELECT id FROM messages WHERE sender_id = $1 AND target_type = 0 AND kind = 0"
         "  AND id < $2 AND $3::int IN (-1, 0) AND ($3::int = -1 OR target_id = $4)"
         "  ORDER BY id DESC LIMIT $5)"
         " UNION ALL"
         " (SELECT id FROM messages WHERE target_type = 0 AND target_id = $1 AND kind = 0"
         "  AND id < $2 AND $3::int IN (-1, 0) AND ($3::int = -1 OR sender_id = $4)"
         "  ORDER BY id DESC LIMIT $5)"
         " UNION ALL"
         " (SELECT m2.id FROM room_members rm JOIN messages m2 ON m2.target_type = 1"
         "  AND m2.target_id = rm.room_id AND m2.id >= rm.first_message_id AND m2.id < $2"
         "  AND m2.kind = 0"
         "  WHERE rm.user_id = $1 AND $3::int IN (-1, 1) AND ($3::int = -1 OR rm.room_id = $4)"
         "  ORDER BY m2.id DESC LIMIT $5)) "
         "ORDER BY m.id DESC LIMIT $5"},
};

static void statement_name(PgStmtId id, char name[16]) {
  g_snprintf(name, 16, "chatd_%d", (int)id);
}

gboolean chatd_store_pg_prepare(StorePgConnection *c, GError **error) {
  int first = c->role == STORE_ROLE_WRITER ? 0 : PG_N_WRITER;
  int end = c->role == STORE_ROLE_WRITER ? PG_N_WRITER : PG_COUNT;
  for (int id = first; id < end; id++) {
    char name[16];
    statement_name(id, name);
    PGresult *res = PQprepare(c->conn, name, statement_defs[id].sql, 0, NULL);
    gboolean ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
      g_autofree char *what = g_strdup_printf("cannot prepare \"%s\"", statement_defs[id].name);
      GError *local = NULL;
      chatd_store_pg_set_error(&local, c->conn, res, what);
      if (local->code == CHATD_STORE_ERROR_FAILED)
        local->code = CHATD_STORE_ERROR_SCHEMA;
      g_propagate_error(error, local);
    }
    PQclear(res);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* ---- parameters ---- */

#define PG_MAX_PARAMS 14

typedef struct {
  int n;
  const char *values[PG_MAX_PARAMS];
  int lengths[PG_MAX_PARAMS];
  int formats[PG_MAX_PARAMS];
  char ints[PG_MAX_PARAMS][24];
  gboolean is_int[PG_MAX_PARAMS]; /* values[i] is ints[i] (set when run: PgParams are copied) */
} PgParams;

static void param_int(PgParams *p, gint64 value) {
  g_assert(p->n < PG_MAX_PARAMS);
  g_snprintf(p->ints[p->n], sizeof p->ints[p->n], "%" G_GINT64_FORMAT, value);
  p->is_int[p->n] = TRUE;
  p->lengths[p->n] = 0;
  p->formats[p->n] = 0;
  p->n++;
}

/* Bytes (TEXT or BYTEA) sent as binary: NULL sends NULL. */
static void param_bytes(PgParams *p, gconstpointer data, gsize len) {
  g_assert(p->n < PG_MAX_PARAMS && len <= G_MAXINT);
  p->values[p->n] = data;
  p->lengths[p->n] = (int)len;
  p->formats[p->n] = 1;
  p->n++;
}

static void param_string(PgParams *p, const char *s) {
  param_bytes(p, s, s != NULL ? strlen(s) : 0);
}

/* NULL for 0: optional references such as a room's creator. */
static void param_id_or_null(PgParams *p, gint64 value) {
  if (value != 0) {
    param_int(p, value);
  } else {
    g_assert(p->n < PG_MAX_PARAMS);
    p->values[p->n] = NULL;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 0;
    p->n++;
  }
}

/* Parameters $1 .. $n of integers: PARAMS_INTS(a, b, ...). */
static PgParams params_ints(const gint64 *values, gsize n) {
  PgParams p = {0};
  for (gsize i = 0; i < n; i++)
    param_int(&p, values[i]);
  return p;
}

#define PARAMS_INTS(...)                                                                           \
  params_ints((const gint64[]){__VA_ARGS__}, G_N_ELEMENTS(((const gint64[]){__VA_ARGS__})))

/* ---- running statements ---- */

/* Runs statement id; the result (PQclear it) or NULL with *error. A lost
 * connection is dropped (the next ensure reconnects). */
static PGresult *run_once(StorePgConnection *c, PgStmtId id, const PgParams *p, GError **error) {
  if (!chatd_store_pg_connection_ensure(c, error))
    return NULL;
  char name[16];
  statement_name(id, name);
  const char *values[PG_MAX_PARAMS];
  for (int i = 0; i < p->n; i++)
    values[i] = p->is_int[i] ? p->ints[i] : p->values[i];
  PGresult *res =
      PQexecPrepared(c->conn, name, p->n, values, p->lengths, p->formats, 1 /* binary */);
  ExecStatusType status = PQresultStatus(res);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
    return res;
  chatd_store_pg_set_error(error, c->conn, res, statement_defs[id].name);
  PQclear(res);
  chatd_store_pg_connection_lost(c);
  return NULL;
}

/* run_once(), and once more when it found the connection lost (for a
 * statement that is a unit of its own: a read, a loader). */
static PGresult *run_retrying(StorePgConnection *c, PgStmtId id, const PgParams *p,
                              GError **error) {
  gboolean was_up = chatd_store_pg_connection_ok(c);
  GError *local = NULL;
  PGresult *res = run_once(c, id, p, &local);
  if (res == NULL && was_up &&
      g_error_matches(local, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE)) {
    g_clear_error(&local);
    res = run_once(c, id, p, &local);
  }
  if (res == NULL)
    g_propagate_error(error, local);
  return res;
}

static gboolean run_done(StorePgConnection *c, PgStmtId id, const PgParams *p, GError **error) {
  PGresult *res = run_once(c, id, p, error);
  PQclear(res);
  return res != NULL;
}

/* Runs a modifying statement; NOT_FOUND unless it changed a row. */
static gboolean run_changing(StorePgConnection *c, PgStmtId id, const PgParams *p, GError **error) {
  PGresult *res = run_once(c, id, p, error);
  if (res == NULL)
    return FALSE;
  gboolean changed = atoi(PQcmdTuples(res)) > 0;
  PQclear(res);
  if (!changed)
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND, "%s: no such row",
                statement_defs[id].name);
  return changed;
}

/* ---- results ---- */

static guint64 be_uint(const guint8 *b, int n) {
  guint64 v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | b[i];
  return v;
}

/* An integer (or boolean) column of a binary result; 0 for NULL. */
static gint64 get_int(const PGresult *res, int row, int col) {
  if (PQgetisnull(res, row, col))
    return 0;
  const guint8 *v = (const guint8 *)PQgetvalue(res, row, col);
  int len = PQgetlength(res, row, col);
  switch (PQftype(res, col)) {
  case OID_INT8:
    return len == 8 ? (gint64)be_uint(v, 8) : 0;
  case OID_INT4:
    return len == 4 ? (gint64)(gint32)(guint32)be_uint(v, 4) : 0;
  case OID_INT2:
    return len == 2 ? (gint64)(gint16)(guint16)be_uint(v, 2) : 0;
  case OID_BOOL:
    return len == 1 && v[0] != 0;
  default:
    g_warning("column %d has the unexpected type %u", col, PQftype(res, col));
    return 0;
  }
}

/* A TEXT column (NUL-terminated by libpq), NULL for NULL. */
static const char *get_text(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* A record from the message columns starting at base. */
static ChatdMessageRecord *record_from_row(const PGresult *res, int row, int base,
                                           gsize max_image_bytes) {
  ChatdMessageRecord r = {
      .id = get_int(res, row, base + COL_ID),
      .sender_id = get_int(res, row, base + COL_SENDER_ID),
      .target_type = (int)get_int(res, row, base + COL_TARGET_TYPE),
      .target_id = get_int(res, row, base + COL_TARGET_ID),
      .sent_ms = get_int(res, row, base + COL_SENT_MS),
      .kind = (int)get_int(res, row, base + COL_KIND),
      .text = get_text(res, row, base + COL_TEXT),
      .font_size = (int)get_int(res, row, base + COL_FONT_SIZE),
      .font_color = get_text(res, row, base + COL_FONT_COLOR),
      .client_msg_id = get_text(res, row, base + COL_CLIENT_MSG_ID),
      .sender_nickname = get_text(res, row, base + COL_SENDER_NICKNAME),
      .image_size = (gsize)get_int(res, row, base + COL_IMAGE_SIZE),
      .image_format = get_text(res, row, base + COL_IMAGE_FORMAT),
  };
  r.text_len = r.text != NULL ? (gsize)PQgetlength(res, row, base + COL_TEXT) : 0;
  g_autoptr(GBytes) image = NULL;
  if (!PQgetisnull(res, row, base + COL_IMAGE) && r.image_size <= max_image_bytes)
    image = g_bytes_new(PQgetvalue(res, row, base + COL_IMAGE),
                        (gsize)PQgetlength(res, row, base + COL_IMAGE));
  r.image = image;
  return chatd_message_record_copy(&r);
}

/* ---- writes ---- */

static gboolean write_add_user(StorePgConnection *c, StoreWrite *w, GError **error) {
  PgParams p = {0};
  param_int(&p, w->op.add_user.id);
  param_string(&p, w->op.add_user.username);
  param_string(&p, w->op.add_user.nickname);
  param_string(&p, w->op.add_user.password_hash);
  param_int(&p, w->op.add_user.created_ms);
  PGresult *res = run_once(c, PG_INSERT_USER, &p, error);
  if (res == NULL)
    return FALSE;
  w->stored_id = PQntuples(res) == 1 ? get_int(res, 0, 0) : w->op.add_user.id;
  PQclear(res);
  return TRUE;
}

static gboolean write_set_user_text(StorePgConnection *c, PgStmtId id, StoreWrite *w,
                                    GError **error) {
  PgParams p = {0};
  param_int(&p, w->op.set_user_text.user_id);
  param_string(&p, w->op.set_user_text.value);
  return run_changing(c, id, &p, error);
}

static gboolean write_accept_friend_request(StorePgConnection *c, StoreWrite *w, GError **error) {
  gint64 from = w->op.friend_request.from_user_id;
  gint64 to = w->op.friend_request.to_user_id;
  gint64 ms = w->op.friend_request.ms;
  PgParams del = PARAMS_INTS(from, to);
  PgParams one = PARAMS_INTS(from, to, ms);
  PgParams other = PARAMS_INTS(to, from, ms);
  return run_changing(c, PG_DELETE_FRIEND_REQUEST, &del, error) &&
         run_done(c, PG_INSERT_FRIEND, &one, error) && run_done(c, PG_INSERT_FRIEND, &other, error);
}

static gboolean write_add_room(StorePgConnection *c, StoreWrite *w, GError **error) {
  PgParams p = {0};
  param_int(&p, w->op.add_room.id);
  param_string(&p, w->op.add_room.room_name);
  param_int(&p, w->op.add_room.created_ms);
  param_id_or_null(&p, w->op.add_room.creator_id);
  PGresult *res = run_once(c, PG_INSERT_ROOM, &p, error);
  if (res == NULL)
    return FALSE;
  w->stored_id = PQntuples(res) == 1 ? get_int(res, 0, 0) : w->op.add_room.id;
  PQclear(res);
  return TRUE;
}

/* ADD_SESSION, TOUCH_SESSION and REVOKE_SESSION of hash. */
static gboolean write_session(StorePgConnection *c, PgStmtId id, const guint8 *hash, StoreWrite *w,
                              GError **error) {
  PgParams p = {0};
  param_bytes(&p, hash, CHATD_STORE_TOKEN_HASH_LEN);
  if (id == PG_INSERT_SESSION) {
    param_int(&p, w->op.session.user_id);
    param_int(&p, w->op.session.ms);
    return run_done(c, id, &p, error);
  }
  if (id == PG_TOUCH_SESSION)
    param_int(&p, w->op.session.ms);
  return run_changing(c, id, &p, error);
}

/* The id stored under (sender, client_msg_id), or 0. */
static gboolean find_client_message(StorePgConnection *c, const ChatdMessageRecord *r,
                                    gint64 *existing_id, GError **error) {
  PgParams p = {0};
  param_int(&p, r->sender_id);
  param_string(&p, r->client_msg_id);
  PGresult *res = run_once(c, PG_FIND_CLIENT_MSG, &p, error);
  if (res == NULL)
    return FALSE;
  *existing_id = PQntuples(res) > 0 ? get_int(res, 0, 0) : 0;
  PQclear(res);
  return TRUE;
}

/* Message ids chosen by the sequence are taken under the lock, held until
 * the batch commits: a batch that commits later has larger ids. */
static gboolean lock_message_ids(StorePgConnection *c, GError **error) {
  if (c->message_lock_held)
    return TRUE;
  PgParams none = {0};
  if (!run_done(c, PG_LOCK_MESSAGE_IDS, &none, error))
    return FALSE;
  c->message_lock_held = TRUE;
  c->lock_in_savepoint = TRUE; /* every write runs in a savepoint */
  return TRUE;
}

/* The parameters $1 .. $13 of r's insert. */
static void message_params(const ChatdMessageRecord *r, PgParams *p) {
  param_int(p, r->id);
  param_int(p, r->sender_id);
  param_int(p, r->target_type);
  param_int(p, r->target_id);
  param_int(p, r->sent_ms);
  param_int(p, r->kind);
  param_bytes(p, r->text, r->text_len);
  if (r->kind == CHATD_STORE_KIND_TEXT)
    param_int(p, r->font_size);
  else
    param_id_or_null(p, 0);
  param_string(p, r->font_color);
  gsize size = 0;
  gconstpointer data = r->image != NULL ? g_bytes_get_data(r->image, &size) : NULL;
  /* an empty image still has to be a (zero-length) value, not NULL */
  param_bytes(p, r->image != NULL ? (data != NULL ? data : "") : NULL, size);
  param_string(p, r->client_msg_id);
  if (r->image != NULL) {
    param_int(p, (gint64)size);
    param_string(p, chat_image_format(data, size));
  } else {
    param_id_or_null(p, 0);
    param_string(p, NULL);
  }
}

/* Inserts r: *id gets its id, or 0 when another store stored the same
 * (sender, client_msg_id) meanwhile. */
static gboolean insert_message(StorePgConnection *c, const ChatdMessageRecord *r, gint64 *id,
                               GError **error) {
  PgParams p = {0};
  message_params(r, &p);
  PGresult *res = run_once(c, PG_INSERT_MESSAGE, &p, error);
  if (res == NULL)
    return FALSE;
  *id = PQntuples(res) == 1 ? get_int(res, 0, 0) : 0;
  PQclear(res);
  return TRUE;
}

static gboolean write_add_message(StorePgConnection *c, StoreWrite *w, GError **error) {
  const ChatdMessageRecord *r = w->op.message.record;
  gint64 id = 0;
  if ((r->id == 0 && !lock_message_ids(c, error)) || !insert_message(c, r, &id, error))
    return FALSE;
  if (id == 0) { /* a retransmission: already stored (ON CONFLICT DO NOTHING) */
    gint64 existing = 0;
    if (!find_client_message(c, r, &existing, error))
      return FALSE;
    if (existing == 0) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED,
                  "add message: neither inserted nor found");
      return FALSE;
    }
    w->inserted = FALSE;
    w->stored_id = existing;
    return TRUE;
  }
  for (gsize i = 0; i < w->op.message.n_offline; i++) {
    PgParams p = PARAMS_INTS(w->op.message.offline_recipients[i], id);
    if (!run_done(c, PG_INSERT_OFFLINE, &p, error))
      return FALSE;
  }
  w->inserted = TRUE;
  w->stored_id = id;
  return TRUE;
}

static gboolean pg_apply_write(gpointer conn, StoreWrite *w, GError **error) {
  StorePgConnection *c = conn;
  switch (w->kind) {
  case STORE_WRITE_ADD_USER:
    return write_add_user(c, w, error);
  case STORE_WRITE_SET_PASSWORD_HASH:
    return write_set_user_text(c, PG_UPDATE_PASSWORD_HASH, w, error);
  case STORE_WRITE_SET_NICKNAME:
    return write_set_user_text(c, PG_UPDATE_NICKNAME, w, error);
  case STORE_WRITE_ADD_FRIEND_REQUEST: {
    PgParams p = PARAMS_INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id,
                             w->op.friend_request.ms);
    return run_done(c, PG_INSERT_FRIEND_REQUEST, &p, error);
  }
  case STORE_WRITE_ACCEPT_FRIEND_REQUEST:
    return write_accept_friend_request(c, w, error);
  case STORE_WRITE_DELETE_FRIEND_REQUEST: {
    PgParams p = PARAMS_INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id);
    return run_changing(c, PG_DELETE_FRIEND_REQUEST, &p, error);
  }
  case STORE_WRITE_ADD_ROOM:
    return write_add_room(c, w, error);
  case STORE_WRITE_ADD_MEMBER: {
    PgParams p = PARAMS_INTS(w->op.member.room_id, w->op.member.user_id, w->op.member.joined_ms,
                             w->op.member.first_message_id);
    return run_done(c, PG_INSERT_MEMBER, &p, error);
  }
  case STORE_WRITE_REMOVE_MEMBER: {
    PgParams p = PARAMS_INTS(w->op.member.room_id, w->op.member.user_id);
    return run_changing(c, PG_DELETE_MEMBER, &p, error);
  }
  case STORE_WRITE_ADD_SESSION:
    return write_session(c, PG_INSERT_SESSION, w->op.session.token_hash, w, error);
  case STORE_WRITE_TOUCH_SESSION:
    return write_session(c, PG_TOUCH_SESSION, w->op.session.token_hash, w, error);
  case STORE_WRITE_REVOKE_SESSION:
    return write_session(c, PG_REVOKE_SESSION, w->op.session.token_hash, w, error);
  case STORE_WRITE_REVOKE_USER_SESSIONS: {
    PgParams p = PARAMS_INTS(w->op.session.user_id);
    return run_done(c, PG_REVOKE_USER_SESSIONS, &p, error);
  }
  case STORE_WRITE_ROTATE_SESSION:
    /* the old one goes (NOT_FOUND when it already has), the new one comes */
    return write_session(c, PG_REVOKE_SESSION, w->op.session.old_hash, w, error) &&
           write_session(c, PG_INSERT_SESSION, w->op.session.token_hash, w, error);
  case STORE_WRITE_FORGET_SESSIONS_BEFORE: {
    PgParams p = PARAMS_INTS(w->op.session.ms);
    return run_done(c, PG_FORGET_SESSIONS_BEFORE, &p, error);
  }
  case STORE_WRITE_MARK_READ: {
    PgParams p = PARAMS_INTS(w->op.mark_read.user_id, w->op.mark_read.target_type,
                             w->op.mark_read.target_id, w->op.mark_read.last_read_id);
    return run_done(c, PG_UPSERT_READ_MARKER, &p, error);
  }
  case STORE_WRITE_CLEAR_OFFLINE: {
    PgParams p = PARAMS_INTS(w->op.clear_offline.user_id, w->op.clear_offline.up_to_message_id);
    return run_done(c, PG_DELETE_OFFLINE, &p, error);
  }
  case STORE_WRITE_ADD_MESSAGE:
    return write_add_message(c, w, error);
  }
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "unknown write kind %d",
              (int)w->kind);
  return FALSE;
}

/* ---- transactions ---- */

/* Runs a transaction command (no parameters). */
static gboolean exec_command(StorePgConnection *c, const char *sql, GError **error) {
  if (!chatd_store_pg_connection_ensure(c, error))
    return FALSE;
  PGresult *res = PQexec(c->conn, sql);
  gboolean ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  if (!ok) {
    chatd_store_pg_set_error(error, c->conn, res, sql);
    chatd_store_pg_connection_lost(c);
  }
  PQclear(res);
  return ok;
}

static gboolean pg_txn(gpointer conn, StoreTxnOp op, GError **error) {
  StorePgConnection *c = conn;
  switch (op) {
  case STORE_TXN_BEGIN: {
    c->message_lock_held = FALSE;
    c->lock_in_savepoint = FALSE;
    /* nothing ran yet: a connection found lost is retried once */
    gboolean was_up = chatd_store_pg_connection_ok(c);
    GError *local = NULL;
    gboolean ok = exec_command(c, "BEGIN", &local);
    if (!ok && was_up && g_error_matches(local, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE)) {
      g_clear_error(&local);
      ok = exec_command(c, "BEGIN", &local);
    }
    if (!ok)
      g_propagate_error(error, local);
    return ok;
  }
  case STORE_TXN_COMMIT: {
    /* COMMIT of an aborted transaction "succeeds" as a ROLLBACK */
    if (!chatd_store_pg_connection_ok(c)) {
      chatd_store_pg_set_error(error, c->conn, NULL, "commit");
      return FALSE;
    }
    if (PQtransactionStatus(c->conn) != PQTRANS_INTRANS) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED,
                  "commit: the transaction was aborted");
      return FALSE;
    }
    c->message_lock_held = FALSE;
    return exec_command(c, "COMMIT", error);
  }
  case STORE_TXN_ROLLBACK:
    c->message_lock_held = FALSE;
    return exec_command(c, "ROLLBACK", error);
  case STORE_TXN_SAVEPOINT:
    c->lock_in_savepoint = FALSE;
    return exec_command(c, "SAVEPOINT store_write", error);
  case STORE_TXN_RELEASE:
    c->lock_in_savepoint = FALSE; /* the lock now belongs to the transaction */
    return exec_command(c, "RELEASE store_write", error);
  case STORE_TXN_ROLLBACK_TO:
    if (c->lock_in_savepoint)
      c->message_lock_held = FALSE; /* released with the savepoint */
    c->lock_in_savepoint = FALSE;
    return exec_command(c, "ROLLBACK TO store_write", error);
  }
  return FALSE;
}

static gboolean pg_in_transaction(gpointer conn) {
  StorePgConnection *c = conn;
  if (!chatd_store_pg_connection_ok(c))
    return FALSE;
  PGTransactionStatusType status = PQtransactionStatus(c->conn);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

/* Any failed statement aborts the whole transaction: in a batch that
 * must run again after a failure, every write gets a savepoint. */
static gboolean pg_needs_savepoint(const StoreWrite *w) {
  (void)w;
  return TRUE;
}

/* ---- pipelined batches ----
 * The fast way to run a batch (StoreBackend.run_batch_fast): BEGIN and every
 * write's statements go in pipeline mode, PG_PIPELINE_CHUNK writes per
 * round trip, and the results are checked as they come. When anything is
 * not as the plain path would have it (an error, no row changed where one
 * must be, a retransmission stored by another store meanwhile), the batch
 * is rolled back and the writer runs it again the plain way, with a
 * savepoint per write, which gives each write its own answer. Nothing is
 * committed before every result was checked. */

/* Writes sent per round trip: their results stay far below any socket
 * buffer, so sending never waits for the server's answers to be read. */
#define PG_PIPELINE_CHUNK 64
/* Statements of one write, at most (accepting a friend request). */
#define PG_MAX_STEPS 3

typedef enum {
  CHECK_NONE,    /* it ran */
  CHECK_CHANGED, /* it changed a row (else the plain path says NOT_FOUND) */
  CHECK_ID,      /* the id it returned is the write's stored_id */
  CHECK_MESSAGE, /* PG_INSERT_MESSAGE_WITH_OFFLINE: id and inserted */
} StepCheck;

typedef struct {
  PgStmtId id;
  PgParams params;
  StepCheck check;
} PgStep;

typedef struct {
  StoreWrite *write; /* NULL: the BEGIN */
  StepCheck check;
} PgSent;

static PgStep step(PgStmtId id, PgParams params, StepCheck check) {
  return (PgStep){id, params, check};
}

/* The statements of w into steps; *array keeps the text of an array
 * parameter alive until they are sent. */
static int plan_write(StorePgConnection *c, StoreWrite *w, PgStep *steps, GString *array) {
  PgParams p = {0};
  switch (w->kind) {
  case STORE_WRITE_ADD_USER:
    param_int(&p, w->op.add_user.id);
    param_string(&p, w->op.add_user.username);
    param_string(&p, w->op.add_user.nickname);
    param_string(&p, w->op.add_user.password_hash);
    param_int(&p, w->op.add_user.created_ms);
    steps[0] = step(PG_INSERT_USER, p, CHECK_ID);
    return 1;
  case STORE_WRITE_SET_PASSWORD_HASH:
  case STORE_WRITE_SET_NICKNAME:
    param_int(&p, w->op.set_user_text.user_id);
    param_string(&p, w->op.set_user_text.value);
    steps[0] =
        step(w->kind == STORE_WRITE_SET_NICKNAME ? PG_UPDATE_NICKNAME : PG_UPDATE_PASSWORD_HASH, p,
             CHECK_CHANGED);
    return 1;
  case STORE_WRITE_ADD_FRIEND_REQUEST:
    steps[0] = step(PG_INSERT_FRIEND_REQUEST,
                    PARAMS_INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id,
                                w->op.friend_request.ms),
                    CHECK_NONE);
    return 1;
  case STORE_WRITE_ACCEPT_FRIEND_REQUEST: {
    gint64 from = w->op.friend_request.from_user_id;
    gint64 to = w->op.friend_request.to_user_id;
    gint64 ms = w->op.friend_request.ms;
    steps[0] = step(PG_DELETE_FRIEND_REQUEST, PARAMS_INTS(from, to), CHECK_CHANGED);
    steps[1] = step(PG_INSERT_FRIEND, PARAMS_INTS(from, to, ms), CHECK_NONE);
    steps[2] = step(PG_INSERT_FRIEND, PARAMS_INTS(to, from, ms), CHECK_NONE);
    return 3;
  }
  case STORE_WRITE_DELETE_FRIEND_REQUEST:
    steps[0] = step(PG_DELETE_FRIEND_REQUEST,
                    PARAMS_INTS(w->op.friend_request.from_user_id, w->op.friend_request.to_user_id),
                    CHECK_CHANGED);
    return 1;
  case STORE_WRITE_ADD_ROOM:
    param_int(&p, w->op.add_room.id);
    param_string(&p, w->op.add_room.room_name);
    param_int(&p, w->op.add_room.created_ms);
    param_id_or_null(&p, w->op.add_room.creator_id);
    steps[0] = step(PG_INSERT_ROOM, p, CHECK_ID);
    return 1;
  case STORE_WRITE_ADD_MEMBER:
    steps[0] = step(PG_INSERT_MEMBER,
                    PARAMS_INTS(w->op.member.room_id, w->op.member.user_id, w->op.member.joined_ms,
                                w->op.member.first_message_id),
                    CHECK_NONE);
    return 1;
  case STORE_WRITE_REMOVE_MEMBER:
    steps[0] = step(PG_DELETE_MEMBER, PARAMS_INTS(w->op.member.room_id, w->op.member.user_id),
                    CHECK_CHANGED);
    return 1;
  case STORE_WRITE_ADD_SESSION:
  case STORE_WRITE_ROTATE_SESSION: {
    int n = 0;
    if (w->kind == STORE_WRITE_ROTATE_SESSION) {
      PgParams old = {0};
      param_bytes(&old, w->op.session.old_hash, CHATD_STORE_TOKEN_HASH_LEN);
      steps[n++] = step(PG_REVOKE_SESSION, old, CHECK_CHANGED);
    }
    param_bytes(&p, w->op.session.token_hash, CHATD_STORE_TOKEN_HASH_LEN);
    param_int(&p, w->op.session.user_id);
    param_int(&p, w->op.session.ms);
    steps[n++] = step(PG_INSERT_SESSION, p, CHECK_NONE);
    return n;
  }
  case STORE_WRITE_TOUCH_SESSION:
    param_bytes(&p, w->op.session.token_hash, CHATD_STORE_TOKEN_HASH_LEN);
    param_int(&p, w->op.session.ms);
    steps[0] = step(PG_TOUCH_SESSION, p, CHECK_CHANGED);
    return 1;
  case STORE_WRITE_REVOKE_SESSION:
    param_bytes(&p, w->op.session.token_hash, CHATD_STORE_TOKEN_HASH_LEN);
    steps[0] = step(PG_REVOKE_SESSION, p, CHECK_CHANGED);
    return 1;
  case STORE_WRITE_REVOKE_USER_SESSIONS:
    steps[0] = step(PG_REVOKE_USER_SESSIONS, PARAMS_INTS(w->op.session.user_id), CHECK_NONE);
    return 1;
  case STORE_WRITE_FORGET_SESSIONS_BEFORE:
    steps[0] = step(PG_FORGET_SESSIONS_BEFORE, PARAMS_INTS(w->op.session.ms), CHECK_NONE);
    return 1;
  case STORE_WRITE_MARK_READ:
    steps[0] = step(PG_UPSERT_READ_MARKER,
                    PARAMS_INTS(w->op.mark_read.user_id, w->op.mark_read.target_type,
                                w->op.mark_read.target_id, w->op.mark_read.last_read_id),
                    CHECK_NONE);
    return 1;
  case STORE_WRITE_CLEAR_OFFLINE:
    steps[0] = step(PG_DELETE_OFFLINE,
                    PARAMS_INTS(w->op.clear_offline.user_id, w->op.clear_offline.up_to_message_id),
                    CHECK_NONE);
    return 1;
  case STORE_WRITE_ADD_MESSAGE: {
    const ChatdMessageRecord *r = w->op.message.record;
    int n = 0;
    if (r->id == 0 && !c->message_lock_held) {
      PgParams none = {0};
      steps[n++] = step(PG_LOCK_MESSAGE_IDS, none, CHECK_NONE);
      c->message_lock_held = TRUE;
    }
    message_params(r, &p);
    g_string_assign(array, "{");
    for (gsize i = 0; i < w->op.message.n_offline; i++)
      g_string_append_printf(array, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                             w->op.message.offline_recipients[i]);
    g_string_append_c(array, '}');
    param_bytes(&p, array->str, array->len);
    p.formats[p.n - 1] = 0; /* an array in its text form */
    steps[n++] = step(PG_INSERT_MESSAGE_WITH_OFFLINE, p, CHECK_MESSAGE);
    return n;
  }
  }
  return -1;
}

static gboolean send_step(StorePgConnection *c, const PgStep *s) {
  char name[16];
  statement_name(s->id, name);
  const PgParams *p = &s->params;
  const char *values[PG_MAX_PARAMS];
  for (int i = 0; i < p->n; i++)
    values[i] = p->is_int[i] ? p->ints[i] : p->values[i];
  return PQsendQueryPrepared(c->conn, name, p->n, values, p->lengths, p->formats, 1) == 1;
}

/* Whether res is what the plain path would have accepted; sets the
 * write's results. */
static gboolean check_result(const PGresult *res, const PgSent *sent) {
  ExecStatusType status = PQresultStatus(res);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return FALSE;
  StoreWrite *w = sent->write;
  switch (sent->check) {
  case CHECK_NONE:
    return TRUE;
  case CHECK_CHANGED:
    return atoi(PQcmdTuples((PGresult *)res)) > 0;
  case CHECK_ID:
    if (PQntuples(res) != 1)
      return FALSE;
    w->stored_id = get_int(res, 0, 0);
    return TRUE;
  case CHECK_MESSAGE:
    if (PQntuples(res) != 1)
      return FALSE;
    w->stored_id = get_int(res, 0, 0);
    w->inserted = get_int(res, 0, 1) != 0;
    return TRUE;
  }
  return FALSE;
}

/* Reads the results of sent[0 .. n - 1] and the sync that follows them;
 * *good stays TRUE while every result checks. FALSE when the pipeline
 * cannot be read to its end (the connection is then unusable). */
static gboolean read_chunk(StorePgConnection *c, const PgSent *sent, int n, gboolean *good) {
  int next = 0;
  for (int guard = 0; guard < 2 * n + 4; guard++) {
    PGresult *res = PQgetResult(c->conn);
    if (res == NULL) {
      if (PQstatus(c->conn) != CONNECTION_OK)
        return FALSE;
      continue; /* the end of one statement's results */
    }
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(res);
      if (next != n)
        *good = FALSE;
      return TRUE;
    }
    if (next < n && *good && !check_result(res, &sent[next]))
      *good = FALSE;
    next++;
    PQclear(res);
  }
  return FALSE;
}

/* Drops a connection whose pipeline is in an unknown state. */
static void drop_connection(StorePgConnection *c) {
  PQfinish(c->conn);
  c->conn = NULL;
  c->next_attempt_us = 0;
  c->message_lock_held = FALSE;
  c->lock_in_savepoint = FALSE;
}

static int pg_run_batch_fast(gpointer conn, GQueue *batch) {
  StorePgConnection *c = conn;
  if (!chatd_store_pg_connection_ok(c) || PQenterPipelineMode(c->conn) != 1)
    return -1; /* the plain path reconnects and reports */
  c->message_lock_held = FALSE;
  c->lock_in_savepoint = FALSE;
  PgSent *sent = g_new(PgSent, PG_PIPELINE_CHUNK * PG_MAX_STEPS + 1);
  g_autoptr(GString) array = g_string_new(NULL);
  gboolean good = TRUE;
  gboolean first = TRUE;
  GList *l = batch->head;
  while (good && (l != NULL || first)) {
    int n = 0;
    gboolean sending = TRUE;
    if (first) {
      sending = PQsendQueryParams(c->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 1) == 1;
      sent[n++] = (PgSent){NULL, CHECK_NONE};
      first = FALSE;
    }
    for (int k = 0; sending && k < PG_PIPELINE_CHUNK && l != NULL; k++, l = l->next) {
      PgStep steps[PG_MAX_STEPS];
      int n_steps = plan_write(c, l->data, steps, array);
      for (int i = 0; sending && i < n_steps; i++) {
        sending = send_step(c, &steps[i]);
        sent[n++] = (PgSent){l->data, steps[i].check};
      }
      sending = sending && n_steps > 0;
    }
    if (!sending || PQpipelineSync(c->conn) != 1 || !read_chunk(c, sent, n, &good)) {
      g_free(sent);
      drop_connection(c); /* nothing was committed: the plain path runs it all */
      return -1;
    }
  }
  g_free(sent);
  PQexitPipelineMode(c->conn);
  if (!good) {
    pg_txn(c, STORE_TXN_ROLLBACK, NULL);
    return -1;
  }
  GError *error = NULL;
  if (!pg_txn(c, STORE_TXN_COMMIT, &error)) {
    if (pg_in_transaction(c))
      pg_txn(c, STORE_TXN_ROLLBACK, NULL);
    for (GList *k = batch->head; k != NULL; k = k->next)
      ((StoreWrite *)k->data)->error = g_error_copy(error);
    g_error_free(error);
    return 0;
  }
  return 1;
}

/* ---- reads ---- */

static gsize row_cost(const PGresult *res, int row, const ChatdStorePageBound *bound) {
  gsize cost = bound->record_overhead;
  if (get_int(res, row, COL_KIND) == CHATD_STORE_KIND_TEXT)
    return cost + (gsize)PQgetlength(res, row, COL_TEXT);
  gsize image = (gsize)get_int(res, row, COL_IMAGE_SIZE);
  return image <= bound->max_image_bytes ? cost + image : cost;
}

/* The rows of a message query (newest first) that fit the bound;
 * offline_column >= 0 reads the offline flag from that column. */
static GPtrArray *collect_page(const PGresult *res, int offline_column,
                               const ChatdStorePageBound *bound, gboolean *more) {
  GPtrArray *records = g_ptr_array_new_with_free_func((GDestroyNotify)chatd_message_record_free);
  gsize used = 0;
  *more = FALSE;
  for (int row = 0; row < PQntuples(res); row++) {
    gsize cost = row_cost(res, row, bound);
    if ((bound->limit > 0 && records->len >= bound->limit) ||
        (bound->max_bytes > 0 && records->len > 0 && used + cost > bound->max_bytes)) {
      *more = TRUE;
      break;
    }
    used += cost;
    ChatdMessageRecord *record = record_from_row(res, row, 0, bound->max_image_bytes);
    if (offline_column >= 0)
      record->offline = get_int(res, row, offline_column) != 0;
    g_ptr_array_add(records, record);
  }
  return records;
}

static gboolean read_history(StorePgConnection *c, StoreRead *read, GError **error) {
  PgStmtId id = read->target_type == CHATD_STORE_TARGET_ROOM ? PG_HISTORY_ROOM : PG_HISTORY_DIRECT;
  /* one more than the limit: whether older ones remain */
  PgParams p = PARAMS_INTS(read->viewer_id, read->target_id,
                           read->before_id > 0 ? read->before_id : G_MAXINT64,
                           (gint64)read->bound.limit + 1);
  PGresult *res = run_retrying(c, id, &p, error);
  if (res == NULL)
    return FALSE;
  read->results = collect_page(res, -1, &read->bound, &read->more);
  PQclear(res);
  return TRUE;
}

static gboolean read_full_history(StorePgConnection *c, StoreRead *read, GError **error) {
  PgParams p = PARAMS_INTS(read->viewer_id);
  PGresult *res = run_retrying(c, PG_FULL_HISTORY, &p, error);
  if (res == NULL)
    return FALSE;
  GPtrArray *records = collect_page(res, COL_AFTER_MESSAGE, &read->bound, &read->more);
  PQclear(res);
  /* read newest first (the ones that fit), handed out oldest first */
  for (guint i = 0, j = records->len; i + 1 < j; i++, j--) {
    gpointer t = records->pdata[i];
    records->pdata[i] = records->pdata[j - 1];
    records->pdata[j - 1] = t;
  }
  read->results = records;
  return TRUE;
}

static gboolean read_conversations(StorePgConnection *c, StoreRead *read, GError **error) {
  PgParams p = PARAMS_INTS(read->viewer_id);
  PGresult *res = run_retrying(c, PG_CONVERSATIONS, &p, error);
  if (res == NULL)
    return FALSE;
  GPtrArray *conversations = g_ptr_array_new_with_free_func(chatd_store_conversation_free);
  for (int row = 0; row < PQntuples(res); row++) {
    ChatdConversation *conversation = g_new0(ChatdConversation, 1);
    conversation->target_type = (int)get_int(res, row, CONV_TARGET_TYPE);
    conversation->target_id = get_int(res, row, CONV_TARGET_ID);
    conversation->last_read_id = get_int(res, row, CONV_MARKER);
    conversation->unread = get_int(res, row, CONV_UNREAD);
    if (get_int(res, row, CONV_LAST_ID) > 0 && !PQgetisnull(res, row, CONV_MESSAGE + COL_ID))
      conversation->last = record_from_row(res, row, CONV_MESSAGE, G_MAXSIZE);
    g_ptr_array_add(conversations, conversation);
  }
  PQclear(res);
  read->results = conversations;
  return TRUE;
}

static gboolean read_message(StorePgConnection *c, StoreRead *read, GError **error) {
  PgParams p = PARAMS_INTS(read->message_id);
  PGresult *res = run_retrying(c, PG_MESSAGE_BY_ID, &p, error);
  if (res == NULL)
    return FALSE;
  read->record = PQntuples(res) > 0 ? record_from_row(res, 0, 0, G_MAXSIZE) : NULL;
  PQclear(res);
  return TRUE;
}

/* Candidates per round trip of a search: a page of rows at most this long
 * is in memory at once (texts are at most 1 MiB each). */
#define PG_SEARCH_CHUNK 128

/* A search reads the candidates in chunks, newest first, and keeps those
 * search->accept takes, within the bound and max_examined (store.h). */
static gboolean read_search(StorePgConnection *c, StoreRead *read, GError **error) {
  const ChatdStoreSearch *search = &read->search;
  const ChatdStorePageBound *bound = &search->bound;
  g_autoptr(GPtrArray) records =
      g_ptr_array_new_with_free_func((GDestroyNotify)chatd_message_record_free);
  gint64 cursor = search->before_id;
  StoreSearchTally tally = {0};
  read->more = FALSE;
  for (;;) {
    gint64 chunk =
        MIN((gint64)PG_SEARCH_CHUNK, (gint64)(search->max_examined - tally.examined) + 1);
    PgParams p = PARAMS_INTS(search->user_id, cursor, search->has_target ? search->target_type : -1,
                             search->has_target ? search->target_id : 0, chunk);
    PGresult *res = run_retrying(c, PG_SEARCH_SCAN, &p, error);
    if (res == NULL)
      return FALSE;
    int rows = PQntuples(res);
    StoreSearchVerdict verdict = STORE_SEARCH_SKIP;
    for (int row = 0; row < rows && verdict != STORE_SEARCH_STOP; row++) {
      cursor = get_int(res, row, COL_ID);
      const char *text = get_text(res, row, COL_TEXT);
      gsize len = text != NULL ? (gsize)PQgetlength(res, row, COL_TEXT) : 0;
      verdict = chatd_store_search_consider(read, &tally, records->len, text, len,
                                            row_cost(res, row, bound));
      if (verdict == STORE_SEARCH_TAKE)
        g_ptr_array_add(records, record_from_row(res, row, 0, bound->max_image_bytes));
    }
    PQclear(res);
    if (rows < chunk || verdict == STORE_SEARCH_STOP)
      break;
  }
  read->results = g_steal_pointer(&records);
  return TRUE;
}

static gboolean pg_run_read(gpointer conn, StoreRead *read, GError **error) {
  StorePgConnection *c = conn;
  switch (read->kind) {
  case STORE_READ_HISTORY:
    return read_history(c, read, error);
  case STORE_READ_FULL_HISTORY:
    return read_full_history(c, read, error);
  case STORE_READ_CONVERSATIONS:
    return read_conversations(c, read, error);
  case STORE_READ_MESSAGE:
    return read_message(c, read, error);
  case STORE_READ_SEARCH:
    return read_search(c, read, error);
  }
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "unknown read kind %d",
              (int)read->kind);
  return FALSE;
}

/* ---- loaders ---- */

static gboolean load_row(StoreLoad load, const PGresult *res, int row, StoreLoadFunc func,
                         gpointer user_data, GError **error) {
  switch (load) {
  case STORE_LOAD_USERS: {
    ChatdStoreUser user = {
        .id = get_int(res, row, 0),
        .username = get_text(res, row, 1),
        .nickname = get_text(res, row, 2),
        .password_hash = get_text(res, row, 3),
        .created_ms = get_int(res, row, 4),
    };
    ((ChatdStoreUserFunc)func)(&user, user_data);
    return TRUE;
  }
  case STORE_LOAD_FRIENDS:
  case STORE_LOAD_FRIEND_REQUESTS:
    ((ChatdStorePairFunc)func)(get_int(res, row, 0), get_int(res, row, 1), get_int(res, row, 2),
                               user_data);
    return TRUE;
  case STORE_LOAD_ROOMS: {
    ChatdStoreRoom room = {
        .id = get_int(res, row, 0),
        .room_name = get_text(res, row, 1),
        .creator_id = get_int(res, row, 2),
        .created_ms = get_int(res, row, 3),
    };
    ((ChatdStoreRoomFunc)func)(&room, user_data);
    return TRUE;
  }
  case STORE_LOAD_MEMBERS: {
    ChatdStoreMember member = {
        .room_id = get_int(res, row, 0),
        .user_id = get_int(res, row, 1),
        .first_message_id = get_int(res, row, 2),
        .joined_ms = get_int(res, row, 3),
    };
    ((ChatdStoreMemberFunc)func)(&member, user_data);
    return TRUE;
  }
  case STORE_LOAD_SESSIONS: {
    ChatdStoreSession session = {
        .user_id = get_int(res, row, 1),
        .created_ms = get_int(res, row, 2),
        .last_used_ms = get_int(res, row, 3),
    };
    if (PQgetisnull(res, row, 0) || PQgetlength(res, row, 0) != CHATD_STORE_TOKEN_HASH_LEN) {
      g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CORRUPT,
                  "load sessions: a token hash is not %d bytes", CHATD_STORE_TOKEN_HASH_LEN);
      return FALSE;
    }
    memcpy(session.token_hash, PQgetvalue(res, row, 0), CHATD_STORE_TOKEN_HASH_LEN);
    ((ChatdStoreSessionFunc)func)(&session, user_data);
    return TRUE;
  }
  case STORE_LOAD_COUNT:
    break;
  }
  g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "unknown loader %d", (int)load);
  return FALSE;
}

static gboolean pg_load(gpointer conn, StoreLoad load, StoreLoadFunc func, gpointer user_data,
                        GError **error) {
  static const PgStmtId statements[STORE_LOAD_COUNT] = {
      [STORE_LOAD_USERS] = PG_SELECT_USERS,
      [STORE_LOAD_FRIENDS] = PG_SELECT_FRIENDS,
      [STORE_LOAD_FRIEND_REQUESTS] = PG_SELECT_FRIEND_REQUESTS,
      [STORE_LOAD_ROOMS] = PG_SELECT_ROOMS,
      [STORE_LOAD_MEMBERS] = PG_SELECT_MEMBERS,
      [STORE_LOAD_SESSIONS] = PG_SELECT_SESSIONS,
  };
  g_assert((guint)load < STORE_LOAD_COUNT);
  PgParams none = {0};
  PGresult *res = run_retrying(conn, statements[load], &none, error);
  if (res == NULL)
    return FALSE;
  gboolean ok = TRUE;
  for (int row = 0; ok && row < PQntuples(res); row++)
    ok = load_row(load, res, row, func, user_data, error);
  PQclear(res);
  return ok;
}

static gboolean pg_max_ids(gpointer conn, gint64 *max_user_id, gint64 *max_room_id,
                           gint64 *max_message_id, GError **error) {
  PgParams none = {0};
  PGresult *res = run_retrying(conn, PG_SELECT_MAX_IDS, &none, error);
  if (res == NULL)
    return FALSE;
  if (PQntuples(res) != 1) {
    PQclear(res);
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_FAILED, "load max ids: no row");
    return FALSE;
  }
  if (max_user_id != NULL)
    *max_user_id = get_int(res, 0, 0);
  if (max_room_id != NULL)
    *max_room_id = get_int(res, 0, 1);
  if (max_message_id != NULL)
    *max_message_id = get_int(res, 0, 2);
  PQclear(res);
  return TRUE;
}

/* ---- connections ---- */

static gint64 pg_reconnect_at(gpointer conn) {
  StorePgConnection *c = conn;
  if (chatd_store_pg_connection_ok(c))
    return 0;
  return MAX(c->next_attempt_us, 1);
}

static gboolean pg_reconnect(gpointer conn, GError **error) {
  return chatd_store_pg_connection_ensure(conn, error);
}

static void pg_close(gpointer conn) {
  chatd_store_pg_connection_close(conn);
}

const StoreBackend chatd_store_pg_backend = {
    .name = "postgresql",
    .txn = pg_txn,
    .in_transaction = pg_in_transaction,
    .needs_savepoint = pg_needs_savepoint,
    .savepoints_on_failure_only = TRUE,
    .run_batch_fast = pg_run_batch_fast,
    .apply_write = pg_apply_write,
    .run_read = pg_run_read,
    .load = pg_load,
    .max_ids = pg_max_ids,
    .reconnect_at = pg_reconnect_at,
    .reconnect = pg_reconnect,
    .close = pg_close,
};
