/* Internals shared by chatd/store*.c; with import-seed-private.h, the only
 * headers that include sqlite3.h. store.c owns the lifetime and the
 * completions, store-writer.c the write queue, the writer and checkpointer
 * threads, store-reader.c the read queue, the reader thread and the
 * loaders; they reach the database through a StoreBackend
 * (store-backend.h). SQLite's: store-schema.c opens connections and
 * migrates, store-statements.c holds every SQL statement and runs the
 * requests; PostgreSQL's: store-pg-*.c. */
#pragma once

#include <sqlite3.h>

#include "chatd/store.h"

G_BEGIN_DECLS

/* ---- errors (store-schema.c) ---- */

/* Sets *error from a SQLite result code and the connection's message:
 * "what: sqlite message". db may be NULL. */
void chatd_store_set_sqlite_error(GError **error, sqlite3 *db, int rc, const char *what);
/* The CHATD_STORE_ERROR code for a SQLite result code. */
ChatdStoreError chatd_store_error_from_sqlite(int rc);

/* ---- connections and schema (store-schema.c) ---- */

/* Opens the read-write connection: creates the file with mode 0600 when
 * missing, sets WAL, synchronous (FULL or NORMAL), foreign_keys=ON and the busy
 * timeout, then migrates. *version gets the schema version. */
sqlite3 *chatd_store_schema_open_writer(const char *path, ChatdStoreDurability durability,
                                        int *version, GError **error);
/* Opens a read-only connection on a database the writer has set up. */
sqlite3 *chatd_store_schema_open_reader(const char *path, GError **error);
/* Opens the checkpointer's connection (read-write, no schema work). */
sqlite3 *chatd_store_schema_open_checkpointer(const char *path, GError **error);
/* Brings db from its user_version to CHATD_STORE_SCHEMA_VERSION, one
 * transaction per migration. */
gboolean chatd_store_schema_migrate(sqlite3 *db, int *version, GError **error);

/* ---- prepared statements (store-statements.c) ---- */

typedef enum {
  /* writer */
  STORE_STMT_BEGIN,
  STORE_STMT_COMMIT,
  STORE_STMT_ROLLBACK,
  STORE_STMT_SAVEPOINT,
  STORE_STMT_RELEASE,
  STORE_STMT_ROLLBACK_TO,
  STORE_STMT_INSERT_USER,
  STORE_STMT_UPDATE_PASSWORD_HASH,
  STORE_STMT_UPDATE_NICKNAME,
  STORE_STMT_INSERT_FRIEND_REQUEST,
  STORE_STMT_DELETE_FRIEND_REQUEST,
  STORE_STMT_INSERT_FRIEND,
  STORE_STMT_INSERT_ROOM,
  STORE_STMT_INSERT_MEMBER,
  STORE_STMT_DELETE_MEMBER,
  STORE_STMT_INSERT_SESSION,
  STORE_STMT_TOUCH_SESSION,
  STORE_STMT_REVOKE_SESSION,
  STORE_STMT_REVOKE_USER_SESSIONS,
  STORE_STMT_FORGET_SESSIONS_BEFORE,
  STORE_STMT_UPSERT_READ_MARKER,
  STORE_STMT_DELETE_OFFLINE,
  STORE_STMT_FIND_CLIENT_MSG,
  STORE_STMT_INSERT_MESSAGE,
  STORE_STMT_INDEX_MESSAGE,
  STORE_STMT_INSERT_OFFLINE,
  STORE_STMT_N_WRITER,
  /* reader */
  STORE_STMT_SELECT_USERS = STORE_STMT_N_WRITER,
  STORE_STMT_SELECT_FRIENDS,
  STORE_STMT_SELECT_FRIEND_REQUESTS,
  STORE_STMT_SELECT_ROOMS,
  STORE_STMT_SELECT_MEMBERS,
  STORE_STMT_SELECT_SESSIONS,
  STORE_STMT_SELECT_MAX_IDS,
  STORE_STMT_HISTORY_DIRECT,
  STORE_STMT_HISTORY_ROOM,
  STORE_STMT_FULL_HISTORY,
  STORE_STMT_CONVERSATIONS,
  STORE_STMT_MESSAGE_BY_ID,
  STORE_STMT_MESSAGE_META_BY_ID,
  STORE_STMT_SEARCH_INDEXED,
  STORE_STMT_SEARCH_SCAN,
  STORE_STMT_COUNT,
} StoreStmtId;

typedef enum {
  STORE_ROLE_WRITER,
  STORE_ROLE_READER,
} StoreRole;

/* A connection and its statements, prepared once and reused; used by one
 * thread at a time. */
typedef struct {
  sqlite3 *db;
  StoreRole role;
  sqlite3_stmt *stmts[STORE_STMT_COUNT];
} StoreConnection;

/* Prepares the statements of conn->role. Error: CHATD_STORE_ERROR_SCHEMA. */
gboolean chatd_store_sql_prepare(StoreConnection *conn, GError **error);
/* Finalizes the statements and closes the connection. */
void chatd_store_sql_close(StoreConnection *conn);

/* ---- requests ---- */

typedef enum {
  STORE_JOB_WRITE,
  STORE_JOB_READ,
} StoreJobType;

/* Common head of StoreWrite and StoreRead: they travel through the store's
 * queues on the embedded link (no allocation per queue operation). */
typedef struct {
  GList link;
  StoreJobType type;
} StoreJob;

typedef enum {
  STORE_WRITE_ADD_USER,
  STORE_WRITE_SET_PASSWORD_HASH,
  STORE_WRITE_SET_NICKNAME,
  STORE_WRITE_ADD_FRIEND_REQUEST,
  STORE_WRITE_ACCEPT_FRIEND_REQUEST,
  STORE_WRITE_DELETE_FRIEND_REQUEST,
  STORE_WRITE_ADD_ROOM,
  STORE_WRITE_ADD_MEMBER,
  STORE_WRITE_REMOVE_MEMBER,
  STORE_WRITE_ADD_SESSION,
  STORE_WRITE_TOUCH_SESSION,
  STORE_WRITE_REVOKE_SESSION,
  STORE_WRITE_REVOKE_USER_SESSIONS,
  STORE_WRITE_ROTATE_SESSION,
  STORE_WRITE_FORGET_SESSIONS_BEFORE,
  STORE_WRITE_MARK_READ,
  STORE_WRITE_CLEAR_OFFLINE,
  STORE_WRITE_ADD_MESSAGE,
} StoreWriteKind;

typedef struct {
  StoreJob job;
  StoreWriteKind kind;
  guint64 seq;      /* submission number, for chatd_store_flush() */
  gsize cost_bytes; /* payload bytes counted against the in-flight bound */
  union {
    struct {
      gint64 id;
      char *username, *nickname, *password_hash;
      gint64 created_ms;
    } add_user;
    struct {
      gint64 user_id;
      char *value;
    } set_user_text; /* SET_PASSWORD_HASH, SET_NICKNAME */
    struct {
      gint64 from_user_id, to_user_id, ms;
    } friend_request; /* ADD_, ACCEPT_, DELETE_FRIEND_REQUEST */
    struct {
      gint64 id;
      char *room_name;
      gint64 creator_id, created_ms;
    } add_room;
    struct {
      gint64 room_id, user_id, first_message_id, joined_ms;
    } member; /* ADD_MEMBER, REMOVE_MEMBER */
    struct {
      guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN];
      guint8 old_hash[CHATD_STORE_TOKEN_HASH_LEN]; /* ROTATE_SESSION: the one replaced */
      gint64 user_id, ms;
    } session; /* ADD_, TOUCH_, REVOKE_, ROTATE_SESSION, REVOKE_USER_SESSIONS,
                  FORGET_SESSIONS_BEFORE (ms) */
    struct {
      gint64 user_id;
      int target_type;
      gint64 target_id, last_read_id;
    } mark_read;
    struct {
      gint64 user_id, up_to_message_id;
    } clear_offline;
    struct {
      ChatdMessageRecord *record;
      gint64 *offline_recipients;
      gsize n_offline;
    } message;
  } op;
  ChatdStoreDone done;
  ChatdStoreMessageDone message_done;
  ChatdStoreIdDone id_done; /* ADD_USER, ADD_ROOM from chatd_store_create_*() */
  gpointer user_data;
  /* results, set by the writer thread */
  GError *error;
  gboolean inserted;
  gint64 stored_id; /* ADD_MESSAGE, ADD_USER, ADD_ROOM: the row's id */
} StoreWrite;

typedef enum {
  STORE_READ_HISTORY,
  STORE_READ_FULL_HISTORY,
  STORE_READ_CONVERSATIONS,
  STORE_READ_MESSAGE,
  STORE_READ_SEARCH,
} StoreReadKind;

typedef struct {
  StoreJob job;
  StoreReadKind kind;
  gint64 viewer_id;          /* HISTORY, FULL_HISTORY, CONVERSATIONS: the user */
  int target_type;           /* HISTORY */
  gint64 target_id;          /* HISTORY */
  gint64 before_id;          /* HISTORY, 0 = newest */
  ChatdStorePageBound bound; /* HISTORY, FULL_HISTORY */
  gint64 message_id;         /* MESSAGE */
  ChatdStoreSearch search;   /* SEARCH: query points to query_copy */
  char *query_copy;          /* SEARCH */
  union {
    ChatdStoreMessagesDone messages;
    ChatdStoreConversationsDone conversations;
    ChatdStoreRecordDone record;
  } callback;
  gpointer user_data;
  /* results, set by the reader thread */
  GError *error;
  GPtrArray *results;         /* of ChatdMessageRecord * or ChatdConversation * */
  gboolean more;              /* HISTORY, FULL_HISTORY: the bound left some out */
  ChatdMessageRecord *record; /* MESSAGE */
} StoreRead;

/* Runs one write on the writer connection, inside the caller's
 * transaction (the caller wraps a write of several modifying statements in
 * a savepoint). On success the message results (inserted, stored_id) are
 * set. */
gboolean chatd_store_sql_apply_write(StoreConnection *conn, StoreWrite *write, GError **error);
/* Runs one read on the reader connection and sets its results. */
gboolean chatd_store_sql_run_read(StoreConnection *conn, StoreRead *read, GError **error);
/* Runs a statement that returns no rows (BEGIN, SAVEPOINT, ...). */
gboolean chatd_store_sql_exec(StoreConnection *conn, StoreStmtId id, GError **error);

/* Loader backends: run on the reader connection by the caller thread. */
typedef enum {
  STORE_LOAD_USERS,           /* ChatdStoreUserFunc */
  STORE_LOAD_FRIENDS,         /* ChatdStorePairFunc */
  STORE_LOAD_FRIEND_REQUESTS, /* ChatdStorePairFunc */
  STORE_LOAD_ROOMS,           /* ChatdStoreRoomFunc */
  STORE_LOAD_MEMBERS,         /* ChatdStoreMemberFunc */
  STORE_LOAD_SESSIONS,        /* ChatdStoreSessionFunc */
  STORE_LOAD_COUNT,
} StoreLoad;

/* Any of the loader callbacks (ChatdStoreUserFunc, ...), as one type. */
typedef void (*StoreLoadFunc)(void);

/* Calls func (of the type listed with load, cast to StoreLoadFunc) once per
 * row, in the order of the loader's statement. */
gboolean chatd_store_sql_load(StoreConnection *conn, StoreLoad load, StoreLoadFunc func,
                              gpointer user_data, GError **error);
gboolean chatd_store_sql_max_ids(StoreConnection *conn, gint64 *max_user_id, gint64 *max_room_id,
                                 gint64 *max_message_id, GError **error);

/* Frees a ChatdConversation made by the reader (GPtrArray free func). */
void chatd_store_conversation_free(gpointer conversation);

/* ---- the store ---- */

typedef struct _StoreBackend StoreBackend;

struct _ChatdStore {
  const StoreBackend *backend;
  gpointer writer_conn; /* the backend's connections: &writer, &reader for SQLite */
  gpointer reader_conn;
  GMainContext *context;
  GSource *completion_source;
  int wake_fd; /* eventfd: the workers wake the context through it */
  int schema_version;

  StoreConnection writer; /* SQLite: the writer thread's */
  StoreConnection reader; /* SQLite: the reader thread's and the loaders', under reader_lock */
  GMutex reader_lock;
  GThread *writer_thread;
  GThread *reader_thread;
  sqlite3 *checkpoint_db; /* SQLite: the checkpointer thread's */
  GThread *checkpoint_thread;
  gint wal_pages;           /* the WAL's size after the last commit (written by the writer,
                             * read atomically by get_stats) */
  int wal_pages_at_request; /* writer thread only: its size when a checkpoint was asked for */
  gboolean dispatching;     /* context thread only: callbacks are running */
  gint64 failure_logged_us; /* context thread only: the last failure logged */
  guint failures_unlogged;

  GMutex lock; /* guards every field below */
  GCond writer_cond;
  GCond reader_cond;
  GCond finished_cond; /* last_finished_seq moved */
  GCond checkpoint_cond;
  gboolean checkpoint_wanted;
  gboolean checkpoint_running;
  GQueue writes;      /* StoreWrite waiting for the writer */
  GQueue reads;       /* StoreRead waiting for the reader */
  GQueue completions; /* StoreJob waiting for the context */
  gboolean writer_waiting;
  gboolean reader_waiting;
  gboolean closing;  /* refuse submissions */
  gboolean stopping; /* the threads exit once their queue is empty */
  guint hold_count;
  guint64 last_submitted_seq;
  guint64 last_finished_seq; /* every write up to it is committed or failed */
  gsize writes_in_flight;    /* submitted, completion not yet taken by the context */
  gsize write_bytes_in_flight;
  gsize reads_in_flight;
  ChatdStoreStats stats;
};

/* store.c: appends a finished job to the completions and wakes the
 * context when the queue was empty. store->lock held. */
void chatd_store_push_completion_locked(ChatdStore *store, StoreJob *job);

/* store-writer.c */
void chatd_store_write_free(StoreWrite *w);
/* The writer thread: commits queued writes in batches until stopping. */
gpointer chatd_store_writer_main(gpointer store);
/* The checkpointer thread. */
gpointer chatd_store_checkpoint_main(gpointer store);
/* SQLite's WAL hook on the writer connection (data: the store). */
int chatd_store_on_wal_commit(void *data, sqlite3 *db, const char *name, int pages);

/* store-reader.c */
void chatd_store_read_free(StoreRead *r);

/* How far one search read has got (each backend's read_search). */
typedef struct {
  guint examined;       /* candidates looked at */
  gsize examined_bytes; /* and their text */
  gsize used;           /* the cost of the records taken */
} StoreSearchTally;

typedef enum {
  STORE_SEARCH_SKIP, /* not a match: read the next candidate */
  STORE_SEARCH_TAKE, /* a match within the page's bound: add its record */
  STORE_SEARCH_STOP, /* the work bound or the page's bound is reached: read->more is set */
} StoreSearchVerdict;

/* The one rule for each candidate a search reads, newest first: its text
 * (len bytes), what its record costs on the page (row_cost) and how many
 * records the page has. Both backends call it, so they stop and match
 * alike. */
StoreSearchVerdict chatd_store_search_consider(StoreRead *read, StoreSearchTally *tally,
                                               guint taken, const char *text, gsize len,
                                               gsize cost);
/* The reader thread: runs queued reads until stopping. */
gpointer chatd_store_reader_main(gpointer store);

G_END_DECLS
