/* Importing the seed system's SQLite database into a fresh chatd store.
 *
 * The seed (a Python chat server) keeps users, friendships, rooms, room
 * members and a per-owner chat history in one SQLite file. The importer
 * reads that file read-only and writes everything through the store's
 * asynchronous API:
 *
 *  - users keep their ids; usernames are trimmed and lower-cased as the seed
 *    (and chatd) do at login; the seed's unsalted MD5 hex password hashes are
 *    stored as they are (chatd accepts them once at the next login and
 *    replaces them with Argon2id);
 *  - friends rows: accepted -> one friendship stored both ways (once, even
 *    when the seed has both directions), pending -> a friend request;
 *  - rooms and room_user -> rooms and members (members see all imported
 *    history: first_message_id 1);
 *  - chat_history: the seed stores one row per owner per message (a 1:1
 *    message twice, a room message once per member). The copies are merged
 *    into one stored message each, keyed by (sender, target type, receiver or
 *    room, time, body); message ids 1..n follow (time, seed row id). A row
 *    with sent = 0 becomes an offline delivery for its owner.
 *
 * Rows that cannot be imported without guessing (undecodable or misshapen
 * history data, references to unknown users or rooms) are skipped and
 * reported; inconsistencies that would change who can log in as whom
 * (username clashes, unreadable password hashes) fail the import.
 *
 * Seed schema (introspected; a few spellings of each name are accepted):
 *   users(id, username, password, nickname)        nickname optional
 *   friends(from_user_id, to_user_id, accepted)    accepted TEXT "1"/"0"/NULL
 *   rooms(id, room_name)
 *   room_user(room_id, user_id)
 *   chat_history(id, user_id, data, sent)          target_id, target_type
 *                                                  are not needed: the
 *                                                  stored notice has them */
#pragma once

#include <glib.h>

#include "chatd/store.h"

G_BEGIN_DECLS

#define CHATD_IMPORT_ERROR (chatd_import_error_quark())

typedef enum {
  CHATD_IMPORT_ERROR_OPEN,      /* the seed file cannot be opened or read */
  CHATD_IMPORT_ERROR_SCHEMA,    /* a table or column the import needs is missing */
  CHATD_IMPORT_ERROR_DATA,      /* seed data that cannot be imported faithfully */
  CHATD_IMPORT_ERROR_NOT_EMPTY, /* the target store already holds data */
  CHATD_IMPORT_ERROR_CONTEXT,   /* the store's completions do not run on this thread's
                                   thread-default GMainContext */
  CHATD_IMPORT_ERROR_REFUSED,   /* the store refused a write (it is closing) */
} ChatdImportError;

GQuark chatd_import_error_quark(void);

/* Skip reasons kept as text in ChatdImportReport.skipped, at most. */
#define CHATD_IMPORT_MAX_SKIP_REASONS 16

/* What an import did. Counts of stored things count writes the store
 * committed. */
typedef struct {
  guint64 users;
  guint64 friendships;     /* pairs of users, each stored in both directions */
  guint64 friend_requests; /* pending requests */
  guint64 rooms;
  guint64 members;
  guint64 messages;           /* stored messages */
  guint64 offline_deliveries; /* (message, user) pairs marked as received offline */
  guint64 history_rows;       /* chat_history rows read */
  guint64 copies_merged;      /* history rows folded into a message stored from another row */
  guint64 rows_skipped;       /* rows of any table left out */
  GPtrArray *skipped;         /* (char *) why, for the first CHATD_IMPORT_MAX_SKIP_REASONS
                                 skipped rows; NULL when none */
} ChatdImportReport;

/* Frees report->skipped and zeroes the counts. */
void chatd_import_report_clear(ChatdImportReport *report);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ChatdImportReport, chatd_import_report_clear)

/* Imports the seed database at seed_db_path (opened read-only, read in one
 * read transaction) into store, which must be empty (no users, rooms or
 * messages).
 *
 * Blocks until every write it submitted has completed: it calls
 * chatd_store_flush() and then iterates the calling thread's thread-default
 * GMainContext (g_main_context_ref_thread_default(): the global default
 * context unless one was pushed), which must be the context the store was
 * opened with and must be free for this thread to acquire. Must not be
 * called from a store callback, nor while chatd_store_hold_writes() is in
 * effect. Before any real write it checks that with a
 * write that changes nothing, and fails with CHATD_IMPORT_ERROR_CONTEXT
 * instead of waiting forever.
 *
 * report (may be NULL) is overwritten — pass it zeroed or cleared with
 * chatd_import_report_clear() — and filled in on failure too.
 *
 * Errors: CHATD_IMPORT_ERROR_OPEN (cannot open or read the seed file),
 * _SCHEMA (the message names the missing table or column), _DATA (the
 * message names the user: a username clash after normalisation, a password
 * that is not 32 lowercase hex digits, a bad id or name), _NOT_EMPTY,
 * _CONTEXT, _REFUSED; a CHATD_STORE_ERROR from a loader or from a write's
 * completion, its message prefixed with the write. The import is not one
 * transaction: after a failure past the first write the store holds part of
 * the seed — delete the database and import again. */
gboolean chatd_import_seed_db(ChatdStore *store, const char *seed_db_path,
                              ChatdImportReport *report, GError **error);

G_END_DECLS
