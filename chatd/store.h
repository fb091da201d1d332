/* chatd's persistent store: users, friendships, rooms, messages, read state
 * and resume sessions in one SQLite database, or in PostgreSQL.
 *
 * The server keeps users, friendships, rooms and memberships in memory and
 * chooses ids itself (max id + 1), or, when several nodes share a
 * PostgreSQL database, lets the store choose them (chatd_store_create_*,
 * message id 0). The store has these parts:
 *
 *  - synchronous loaders (chatd_store_foreach_*, chatd_store_max_ids),
 *    called before serving and again whenever the server resynchronises;
 *  - an asynchronous write path: one writer thread with its own connection
 *    takes every queued write and commits them in one transaction per batch
 *    (at most CHATD_STORE_MAX_BATCH_WRITES); a write that fails is undone
 *    alone (its own SAVEPOINT when it has several statements, SQLite's
 *    statement rollback otherwise; on PostgreSQL the batch runs again with
 *    a savepoint per write) and never undoes the others of its batch;
 *  - an asynchronous read path: one reader thread with its own read-only
 *    connection (WAL: readers never block the writer);
 *  - SQLite only: a checkpointer thread that copies the WAL back into the
 *    database (PASSIVE checkpoints), so that commits never wait for one.
 *
 * Completions (ChatdStoreDone & co.) run on the GMainContext given to
 * chatd_store_open(), in the order the store finished the requests; a write's
 * completion runs only after its batch's COMMIT succeeded (error == NULL) or
 * with the error that made it fail. A read submitted after a write's
 * completion ran sees that write.
 *
 * Every submission function returns TRUE when the request was queued (its
 * callback will run exactly once) and FALSE, without running the callback,
 * when the store is saturated (CHATD_STORE_MAX_WRITES_IN_FLIGHT,
 * CHATD_STORE_MAX_WRITE_BYTES_IN_FLIGHT, CHATD_STORE_MAX_READS_IN_FLIGHT) or
 * closing: the server answers "busy" instead of growing a queue without bound.
 *
 * Errors are GErrors in the CHATD_STORE_ERROR domain; nothing above the store
 * sees SQLite or libpq. The same interface runs on PostgreSQL
 * (chatd_store_open_postgresql(), for several chatd nodes on one database),
 * with the same guarantees; what differs is said where it does. Durability: the database runs in
 * WAL mode; ChatdStoreDurability says what a completed write survives (by default everything: an
 * fsync per batch). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- errors ---- */

#define CHATD_STORE_ERROR (chatd_store_error_quark())

typedef enum {
  CHATD_STORE_ERROR_FAILED,  /* anything not listed below (out of memory, internal) */
  CHATD_STORE_ERROR_OPEN,    /* the database file cannot be created or opened */
  CHATD_STORE_ERROR_SCHEMA,  /* a migration failed, or the schema is not what this code expects */
  CHATD_STORE_ERROR_TOO_NEW, /* the database was written by a newer chatd (user_version too high) */
  CHATD_STORE_ERROR_CONSTRAINT,  /* a unique, primary key, foreign key, check or not-null rule */
  CHATD_STORE_ERROR_NOT_FOUND,   /* an update or delete named a row that does not exist */
  CHATD_STORE_ERROR_BUSY,        /* another process held a lock past CHATD_STORE_BUSY_TIMEOUT_MS */
  CHATD_STORE_ERROR_IO,          /* read/write failure, disk full, read-only file */
  CHATD_STORE_ERROR_CORRUPT,     /* the file is not a database, or is damaged */
  CHATD_STORE_ERROR_UNAVAILABLE, /* PostgreSQL: the server cannot be reached (connection lost or
                                    refused); the store reconnects by itself, try again later */
} ChatdStoreError;

GQuark chatd_store_error_quark(void);

/* ---- limits ---- */

/* The schema version this code writes (PRAGMA user_version). */
#define CHATD_STORE_SCHEMA_VERSION 3
/* Writes committed in one transaction, at most. */
#define CHATD_STORE_MAX_BATCH_WRITES 1024
/* Writes submitted whose completion has not run yet, at most (about one
 * second of traffic at 50,000 messages/s). */
#define CHATD_STORE_MAX_WRITES_IN_FLIGHT 65536
/* Payload bytes (text, images, strings) of those writes, at most. */
#define CHATD_STORE_MAX_WRITE_BYTES_IN_FLIGHT (256u * 1024u * 1024u)
/* Reads submitted whose completion has not run yet, at most. */
#define CHATD_STORE_MAX_READS_IN_FLIGHT 4096
/* Records one chatd_store_history() call returns, at most. */
#define CHATD_STORE_MAX_HISTORY_PAGE 1000
/* Candidates one chatd_store_search() examines, at most (and when it
 * names no bound of its own). */
#define CHATD_STORE_MAX_SEARCH_EXAMINED 100000
/* Bytes of candidates' text one chatd_store_search() reads, at most (and
 * when it names no bound of its own): a candidate is looked at only while
 * those before it came to less. */
#define CHATD_STORE_MAX_SEARCH_EXAMINED_BYTES ((gsize)64 << 20)
/* A search query of this many code points or more has trigrams: SQLite
 * finds its candidates in the FTS5 trigram index (messages_fts). */
#define CHATD_STORE_SEARCH_TRIGRAM 3
/* How long a connection waits for a lock held by another process. */
#define CHATD_STORE_BUSY_TIMEOUT_MS 5000
/* Length of a session token hash (SHA-256). */
#define CHATD_STORE_TOKEN_HASH_LEN 32

/* ---- values ---- */

typedef enum {
  CHATD_STORE_TARGET_USER = 0, /* a 1:1 conversation; target_id is the receiver */
  CHATD_STORE_TARGET_ROOM = 1, /* a room; target_id is the room id */
} ChatdStoreTargetType;

typedef enum {
  CHATD_STORE_KIND_TEXT = 0,  /* text (+ font_size, font_color) */
  CHATD_STORE_KIND_IMAGE = 1, /* image bytes */
} ChatdStoreMessageKind;

/* One stored message. For a 1:1 message target_id is always the receiver
 * (the seed's "receiver's copy", whose target_id is the sender, is made by
 * the server when it sends). text holds text_len bytes and is
 * NUL-terminated in records the store hands out. */
typedef struct {
  gint64 id;
  gint64 sender_id;
  int target_type; /* ChatdStoreTargetType */
  gint64 target_id;
  gint64 sent_ms;   /* ms since the Unix epoch */
  int kind;         /* ChatdStoreMessageKind */
  const char *text; /* kind TEXT: required; kind IMAGE: NULL */
  gsize text_len;
  int font_size;             /* kind TEXT */
  const char *font_color;    /* kind TEXT, "#rrggbb", may be NULL */
  GBytes *image;             /* kind IMAGE: required to add; in records read, NULL
                                when the read left the bytes out (see image_size) */
  const char *client_msg_id; /* the sender's retransmission key, may be NULL */
  /* Filled by reads, ignored by chatd_store_add_message(): */
  const char *sender_nickname; /* the sender's current nickname */
  gsize image_size;            /* kind IMAGE: the image's size, even when left out */
  const char *image_format;    /* kind IMAGE: chat_image_format() of it, "" if unknown */
  gboolean offline;            /* chatd_store_full_history(): the viewer got it while offline */
} ChatdMessageRecord;

/* A deep copy (strings copied, image ref'd); free with
 * chatd_message_record_free(). */
ChatdMessageRecord *chatd_message_record_copy(const ChatdMessageRecord *record);
/* Frees a record made by the store or by chatd_message_record_copy(). NULL is
 * allowed. */
void chatd_message_record_free(ChatdMessageRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdMessageRecord, chatd_message_record_free)

/* One conversation of a user (chatd_store_conversations()). */
typedef struct {
  int target_type;                /* ChatdStoreTargetType */
  gint64 target_id;               /* the friend's user id, or the room id */
  const ChatdMessageRecord *last; /* the newest message the user sees in it, or NULL */
  gint64 last_read_id;            /* the user's read marker, 0 if none */
  gint64 unread;                  /* messages with id > marker, not sent by the user */
} ChatdConversation;

/* Start-up rows. Strings belong to the store and are valid during the call. */
typedef struct {
  gint64 id;
  const char *username;
  const char *nickname;
  const char *password_hash;
  gint64 created_ms;
} ChatdStoreUser;

typedef struct {
  gint64 id;
  const char *room_name;
  gint64 creator_id; /* 0 when unknown */
  gint64 created_ms;
} ChatdStoreRoom;

typedef struct {
  gint64 room_id;
  gint64 user_id;
  gint64 first_message_id; /* the member sees room messages with id >= this */
  gint64 joined_ms;
} ChatdStoreMember;

typedef struct {
  guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN];
  gint64 user_id;
  gint64 created_ms;
  gint64 last_used_ms;
} ChatdStoreSession;

/* Counters, for logs and tests. */
typedef struct {
  guint64 transactions;            /* batches committed */
  guint64 writes_committed;        /* writes whose completion reported success */
  guint64 writes_failed;           /* writes whose completion reported an error */
  guint64 writes_rejected;         /* submissions refused because the store was saturated */
  guint64 largest_batch;           /* writes in the largest batch so far */
  guint64 reads;                   /* reads completed */
  guint64 checkpoints;             /* WAL checkpoints run by the checkpointer thread */
  gboolean checkpoint_pending;     /* one is asked for or running */
  guint64 wal_frames;              /* the WAL's frames now */
  guint64 wal_frames_checkpointed; /* frames the last checkpoint had copied back */
} ChatdStoreStats;

/* ---- callbacks (all run on the store's GMainContext) ---- */

/* A write finished; error is NULL when it was committed. */
typedef void (*ChatdStoreDone)(const GError *error, gpointer user_data);
/* chatd_store_add_message() finished. On success, inserted is TRUE and
 * stored_id the record's id, or inserted is FALSE and stored_id the id of
 * the message already stored under the same (sender_id, client_msg_id). */
typedef void (*ChatdStoreMessageDone)(const GError *error, gboolean inserted, gint64 stored_id,
                                      gpointer user_data);
/* chatd_store_create_user() or _create_room() finished: id is the new
 * row's id (0 on error). */
typedef void (*ChatdStoreIdDone)(const GError *error, gint64 id, gpointer user_data);
/* A list of messages (ChatdMessageRecord *). The array is freed when the
 * callback returns unless the callback takes a reference. NULL on error.
 * more: the bound (ChatdStorePageBound) left older messages out. */
typedef void (*ChatdStoreMessagesDone)(const GError *error, GPtrArray *records, gboolean more,
                                       gpointer user_data);

/* How much one history read returns: the newest messages that fit.
 * A message costs record_overhead plus its text, or plus its image when the
 * image is at most max_image_bytes (a larger one is left out of the record:
 * image NULL, image_size and image_format set, and it costs only the
 * overhead). The first message always goes. */
typedef struct {
  guint limit;           /* messages, at most; 0: no limit (full history only) */
  gsize max_bytes;       /* their cost, at most; 0: no limit */
  gsize record_overhead; /* what each costs besides its text or image */
  gsize max_image_bytes; /* larger images are left out; G_MAXSIZE: none is */
} ChatdStorePageBound;
/* Whether the text of a search candidate matches (chatd_store_search). It
 * runs on the store's reader thread, so it and its data must be safe
 * there; it must not call the store. */
typedef gboolean (*ChatdStoreSearchFilter)(const char *text, gsize len, gpointer data);

/* A search of one user's text messages (chatd_store_search()). */
typedef struct {
  gint64 user_id;
  gboolean has_target; /* restrict to one conversation of the user: */
  int target_type;     /* ChatdStoreTargetType */
  gint64 target_id;    /* the other user, or the room */
  const char *query;   /* query_len bytes, copied at submission; the index's hint */
  gsize query_len;
  gint64 before_id;         /* only ids below it; 0 (or negative): from the newest */
  guint max_examined;       /* candidates to look at, at most; 0: CHATD_STORE_MAX_SEARCH_EXAMINED */
  gsize max_examined_bytes; /* and their text; 0: CHATD_STORE_MAX_SEARCH_EXAMINED_BYTES */
  ChatdStorePageBound bound;     /* the matches returned (limit 0: CHATD_STORE_MAX_HISTORY_PAGE) */
  ChatdStoreSearchFilter accept; /* NULL: every candidate matches */
  gpointer accept_data;          /* must live until the callback runs */
} ChatdStoreSearch;

/* The conversations (ChatdConversation *), same ownership rule. */
typedef void (*ChatdStoreConversationsDone)(const GError *error, GPtrArray *conversations,
                                            gpointer user_data);
/* One message, or NULL when there is none with that id (error stays NULL).
 * The record is freed when the callback returns; copy it to keep it. */
typedef void (*ChatdStoreRecordDone)(const GError *error, const ChatdMessageRecord *record,
                                     gpointer user_data);

typedef void (*ChatdStoreUserFunc)(const ChatdStoreUser *user, gpointer user_data);
/* (first, second, ms): friends (user_id, friend_id, since_ms) or friend
 * requests (from_user_id, to_user_id, created_ms). */
typedef void (*ChatdStorePairFunc)(gint64 first_id, gint64 second_id, gint64 ms,
                                   gpointer user_data);
typedef void (*ChatdStoreRoomFunc)(const ChatdStoreRoom *room, gpointer user_data);
typedef void (*ChatdStoreMemberFunc)(const ChatdStoreMember *member, gpointer user_data);
typedef void (*ChatdStoreSessionFunc)(const ChatdStoreSession *session, gpointer user_data);

typedef struct _ChatdStore ChatdStore;

/* ---- lifetime ---- */

/* What an acknowledged write survives. */
typedef enum {
  /* FULL: each batch's commit is fsync'ed before its completions run: a
   * write that completed survives a power cut or a kernel crash. One fsync
   * per batch (group commit) keeps the rate high. The default. */
  CHATD_STORE_DURABILITY_FSYNC,
  /* NORMAL: commits reach the kernel, not the disk, until a checkpoint: a
   * completed write survives a crash of chatd, but a power cut or kernel
   * crash may undo the last transactions (never corrupting the database). */
  CHATD_STORE_DURABILITY_OS,
} ChatdStoreDurability;

/* Opens (creating it with mode 0600 if missing) the database at path,
 * migrates it to CHATD_STORE_SCHEMA_VERSION and starts the writer and
 * reader threads. Completions run on context (NULL: the global default
 * context).
 * Errors: CHATD_STORE_ERROR_OPEN (cannot create/open the file, or a thread),
 * _TOO_NEW (the file's schema is newer than this code), _SCHEMA (a migration
 * or a statement failed to compile), _CORRUPT (not a database), _BUSY, _IO. */
ChatdStore *chatd_store_open(const char *path, GMainContext *context, GError **error);
/* The same with another durability than CHATD_STORE_DURABILITY_FSYNC. */
ChatdStore *chatd_store_open_with(const char *path, GMainContext *context,
                                  ChatdStoreDurability durability, GError **error);

/* Connects to the PostgreSQL database conninfo (a libpq connection
 * string), migrates it to CHATD_STORE_SCHEMA_VERSION (chatd/store-pg.h) and
 * starts the writer and reader threads (each with its own connection; no
 * checkpointer). Same rules as chatd_store_open() for batching, completions
 * and bounds; durability is PostgreSQL's own (synchronous_commit as the
 * server has it). When the server goes away, the threads reconnect by
 * themselves (an immediate retry, then every 100 ms doubling up to 2 s)
 * and fail the requests they cannot run meanwhile with
 * CHATD_STORE_ERROR_UNAVAILABLE; a write whose COMMIT was cut off fails
 * with UNAVAILABLE as well, even though the server may have committed it.
 * Several stores (nodes) may share one database: ids chosen by the store
 * come from the database's sequences. Unless conninfo says otherwise, a
 * connection attempt gives up after 5 s and a server that stops answering
 * is noticed within about 10 s (tcp_user_timeout, keepalives). Errors: UNAVAILABLE (cannot
 * connect), OPEN (the server refused the connection), TOO_NEW, SCHEMA, and those of
 * chatd_store_open(). */
ChatdStore *chatd_store_open_postgresql(const char *conninfo, GMainContext *context,
                                        GError **error);

/* Commits every queued write, stops the threads, runs the completions still
 * pending (on the calling thread, which must own or be able to acquire the
 * store's context; submissions from those callbacks are refused), and
 * closes the database. Releases a chatd_store_hold_writes(). Must not be
 * called from a store callback. NULL is allowed. */
void chatd_store_close(ChatdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdStore, chatd_store_close)

/* Blocks until every write submitted so far has been committed (or has
 * failed). Their completions run at the next iteration of the store's
 * context. Must not be called while writes are held. */
void chatd_store_flush(ChatdStore *store);

/* Stops the writer from starting a new batch until
 * chatd_store_release_writes(); writes keep queueing (within the bounds).
 * For online backups of the file and for tests that need one batch. */
void chatd_store_hold_writes(ChatdStore *store);
/* Undoes one chatd_store_hold_writes(). */
void chatd_store_release_writes(ChatdStore *store);

/* The schema version of the open database (CHATD_STORE_SCHEMA_VERSION). */
int chatd_store_schema_version(ChatdStore *store);

/* Copies the counters into *stats. */
void chatd_store_get_stats(ChatdStore *store, ChatdStoreStats *stats);

/* ---- loaders (synchronous; they see committed writes only) ----
 * Each calls func once per row, in id order, on the calling thread, and
 * returns FALSE with CHATD_STORE_ERROR_IO, _CORRUPT, _BUSY, _UNAVAILABLE or
 * _FAILED when reading fails (func may then have seen some rows). func may
 * submit writes but must not call a loader. They may be called again at
 * any time on a running store (to resynchronise), also while writes are in
 * flight: they share the reader's connection and wait for its current
 * read. */

gboolean chatd_store_foreach_user(ChatdStore *store, ChatdStoreUserFunc func, gpointer user_data,
                                  GError **error);
/* Friendships, once per direction: (a, b) and (b, a). */
gboolean chatd_store_foreach_friend(ChatdStore *store, ChatdStorePairFunc func, gpointer user_data,
                                    GError **error);
/* Pending friend requests (from, to, created_ms). */
gboolean chatd_store_foreach_friend_request(ChatdStore *store, ChatdStorePairFunc func,
                                            gpointer user_data, GError **error);
gboolean chatd_store_foreach_room(ChatdStore *store, ChatdStoreRoomFunc func, gpointer user_data,
                                  GError **error);
gboolean chatd_store_foreach_member(ChatdStore *store, ChatdStoreMemberFunc func,
                                    gpointer user_data, GError **error);
/* Sessions that were not revoked. */
gboolean chatd_store_foreach_session(ChatdStore *store, ChatdStoreSessionFunc func,
                                     gpointer user_data, GError **error);
/* The largest user, room and message ids (0 when a table is empty); any
 * out pointer may be NULL. Same errors as the loaders. */
gboolean chatd_store_max_ids(ChatdStore *store, gint64 *max_user_id, gint64 *max_room_id,
                             gint64 *max_message_id, GError **error);

/* ---- writes ----
 * Each returns TRUE if queued (done, which may be NULL, will run once) and
 * FALSE if the store is saturated or closing (done will not run).
 * Errors given to done: CHATD_STORE_ERROR_CONSTRAINT (duplicate key, unknown
 * user/room, check failed), _NOT_FOUND (where stated), _IO, _BUSY,
 * _CORRUPT, _UNAVAILABLE (PostgreSQL), _FAILED. */

/* Inserts a user with the given id. CONSTRAINT: id or username taken.
 * On PostgreSQL, explicit ids do not move users_id_seq: a store that
 * shares its database with others (or uses chatd_store_create_user())
 * must let the store choose (id 0 here is the same as create_user). */
gboolean chatd_store_add_user(ChatdStore *store, gint64 id, const char *username,
                              const char *nickname, const char *password_hash, gint64 created_ms,
                              ChatdStoreDone done, gpointer user_data);
/* Inserts a user whose id the store chooses (SQLite: the largest id + 1;
 * PostgreSQL: users_id_seq) and gives it to done. CONSTRAINT: username
 * taken. */
gboolean chatd_store_create_user(ChatdStore *store, const char *username, const char *nickname,
                                 const char *password_hash, gint64 created_ms,
                                 ChatdStoreIdDone done, gpointer user_data);
/* NOT_FOUND: no such user. */
gboolean chatd_store_set_password_hash(ChatdStore *store, gint64 user_id, const char *password_hash,
                                       ChatdStoreDone done, gpointer user_data);
/* NOT_FOUND: no such user. */
gboolean chatd_store_set_nickname(ChatdStore *store, gint64 user_id, const char *nickname,
                                  ChatdStoreDone done, gpointer user_data);
/* A pending request from -> to. CONSTRAINT: already pending, unknown user,
 * or from == to. */
gboolean chatd_store_add_friend_request(ChatdStore *store, gint64 from_user_id, gint64 to_user_id,
                                        gint64 created_ms, ChatdStoreDone done, gpointer user_data);
/* In one step: deletes the request from -> to and stores the friendship in
 * both directions with since_ms. Nothing changes if any part fails.
 * NOT_FOUND: no such pending request. CONSTRAINT: already friends. A
 * request in the other direction, if any, is left alone. */
gboolean chatd_store_accept_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, gint64 since_ms, ChatdStoreDone done,
                                           gpointer user_data);
/* Deletes (rejects) the request from -> to. NOT_FOUND: no such request. */
gboolean chatd_store_delete_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, ChatdStoreDone done,
                                           gpointer user_data);
/* Inserts a room with the given id; creator_id 0 means none.
 * CONSTRAINT: id taken, unknown creator. */
gboolean chatd_store_add_room(ChatdStore *store, gint64 id, const char *room_name,
                              gint64 creator_id, gint64 created_ms, ChatdStoreDone done,
                              gpointer user_data);
/* Inserts a room whose id the store chooses (as create_user, with
 * rooms_id_seq) and gives it to done. CONSTRAINT: unknown creator. */
gboolean chatd_store_create_room(ChatdStore *store, const char *room_name, gint64 creator_id,
                                 gint64 created_ms, ChatdStoreIdDone done, gpointer user_data);
/* Makes user a member of room; they will see room messages with
 * id >= first_message_id. CONSTRAINT: already a member, unknown room/user. */
gboolean chatd_store_add_member(ChatdStore *store, gint64 room_id, gint64 user_id,
                                gint64 first_message_id, gint64 joined_ms, ChatdStoreDone done,
                                gpointer user_data);
/* NOT_FOUND: not a member. */
gboolean chatd_store_remove_member(ChatdStore *store, gint64 room_id, gint64 user_id,
                                   ChatdStoreDone done, gpointer user_data);
/* Stores a resume session: the SHA-256 of the token, never the token.
 * CONSTRAINT: hash already present, unknown user. */
gboolean chatd_store_add_session(ChatdStore *store,
                                 const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                 gint64 user_id, gint64 created_ms, ChatdStoreDone done,
                                 gpointer user_data);
/* Sets a live session's last_used_ms. NOT_FOUND: unknown or revoked. */
gboolean chatd_store_touch_session(ChatdStore *store,
                                   const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                   gint64 last_used_ms, ChatdStoreDone done, gpointer user_data);
/* Replaces a session with a new one of the same user, created at
 * created_ms, in one step. NOT_FOUND: old_hash is unknown or revoked (the
 * new one is not stored). */
gboolean chatd_store_rotate_session(ChatdStore *store,
                                    const guint8 old_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    const guint8 new_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    gint64 user_id, gint64 created_ms, ChatdStoreDone done,
                                    gpointer user_data);
/* Forgets every session created at or before created_ms (expired), and any
 * revoked row an older chatd kept. */
gboolean chatd_store_forget_sessions_before(ChatdStore *store, gint64 created_ms,
                                            ChatdStoreDone done, gpointer user_data);
/* Revokes (deletes) one session. NOT_FOUND: unknown hash. */
gboolean chatd_store_revoke_session(ChatdStore *store,
                                    const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    ChatdStoreDone done, gpointer user_data);
/* Revokes every session of a user (none is not an error). */
gboolean chatd_store_revoke_user_sessions(ChatdStore *store, gint64 user_id, ChatdStoreDone done,
                                          gpointer user_data);
/* Moves user's read marker of a conversation to last_read_id, never
 * backwards. For a 1:1 conversation target_id is the other user. */
gboolean chatd_store_mark_read(ChatdStore *store, gint64 user_id, int target_type, gint64 target_id,
                               gint64 last_read_id, ChatdStoreDone done, gpointer user_data);
/* Forgets that user got messages with id <= up_to_message_id while offline
 * (the seed client has counted them as unread). */
gboolean chatd_store_clear_offline(ChatdStore *store, gint64 user_id, gint64 up_to_message_id,
                                   ChatdStoreDone done, gpointer user_data);
/* Stores a message (copied now: the caller may free its strings at once;
 * the image is ref'd) and records it as an offline delivery for each of
 * offline_recipients (duplicates ignored). Idempotent on (sender_id,
 * client_msg_id): when that pair exists, nothing is stored and done gets
 * inserted = FALSE with the existing id. record->id 0: the store chooses
 * the id (SQLite: the largest + 1 in the writer; PostgreSQL:
 * messages_id_seq under one transaction-scoped advisory lock per batch, so
 * that ids follow the commit order across every store on the database: a
 * message committed later has a larger id) and gives it as stored_id.
 * CONSTRAINT: id taken, unknown sender or recipient, bad target_type/kind,
 * text/image missing. */
gboolean chatd_store_add_message(ChatdStore *store, const ChatdMessageRecord *record,
                                 const gint64 *offline_recipients, gsize n_offline,
                                 ChatdStoreMessageDone done, gpointer user_data);

/* ---- reads ----
 * Each returns TRUE if queued (callback will run once) and FALSE if the
 * store is saturated or closing. Errors given to the callback: _IO, _BUSY,
 * _CORRUPT, _UNAVAILABLE (PostgreSQL), _FAILED. */

/* The newest messages of one conversation of viewer with id < before_id
 * (0: from the newest) that fit the bound (limit clamped to
 * CHATD_STORE_MAX_HISTORY_PAGE), newest first; more when older ones remain.
 * A 1:1 conversation holds both directions; a room only messages with id >=
 * the viewer's first_message_id (none if not a member). */
gboolean chatd_store_history(ChatdStore *store, gint64 viewer_id, int target_type, gint64 target_id,
                             gint64 before_id, const ChatdStorePageBound *bound,
                             ChatdStoreMessagesDone callback, gpointer user_data);
/* The newest messages of user's whole history that fit the bound, oldest
 * first (more: older ones were left out): 1:1 messages sent or received,
 * room messages since first_message_id of each room the user is in; each
 * record's offline flag says whether it is an offline delivery of the user
 * (the seed's login_bundle messages, sent = !offline). */
gboolean chatd_store_full_history(ChatdStore *store, gint64 user_id,
                                  const ChatdStorePageBound *bound, ChatdStoreMessagesDone callback,
                                  gpointer user_data);
/* The user's conversations: each friend with at least one message, each room
 * the user is in; newest activity first, rooms without messages last. The
 * last messages leave their images out (image NULL, image_size and
 * image_format set). */
gboolean chatd_store_conversations(ChatdStore *store, gint64 user_id,
                                   ChatdStoreConversationsDone callback, gpointer user_data);
/* The text messages (kind TEXT only) of search->user_id's conversations
 * that search->accept takes, newest first, with ids below before_id, as
 * many as fit the bound. The conversations: 1:1 messages the user sent or
 * received, and messages of the rooms the user is a member of now with ids
 * >= the user's first_message_id there; or only the conversation
 * has_target names (a room the user is not in gives nothing). Candidates
 * are read newest first: SQLite takes them from the trigram index when the
 * query has CHATD_STORE_SEARCH_TRIGRAM code points or more (and no NUL),
 * else, and on PostgreSQL always, every text message of those
 * conversations; accept decides. more: the bound left a match out, or
 * max_examined candidates (or max_examined_bytes of their text) were
 * examined and older ones remain. */
gboolean chatd_store_search(ChatdStore *store, const ChatdStoreSearch *search,
                            ChatdStoreMessagesDone callback, gpointer user_data);
/* The message with that id, or NULL. */
gboolean chatd_store_message(ChatdStore *store, gint64 message_id, ChatdStoreRecordDone callback,
                             gpointer user_data);

G_END_DECLS
