/* Shared fixture of chatd's store tests (test-store-*.c): a database in a
 * temporary directory and a GMainContext per test, waiting for
 * completions, reads into strings and a small world.
 *
 * Built with STORE_FIXTURE_PG (meson tests store-*-pg, suite cluster), the
 * same tests run on PostgreSQL: one private server (pg-fixture.h) for the
 * whole run, a fresh database per test; open_store_at() ignores its path
 * and opens that database. Cases about SQLite's files skip there through
 * SQLITE_ONLY(reason). */
#pragma once

#include "chatd/store.h"
#include "protocol/image-format.h"
#include "test-util.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Offset and size of user_version in a SQLite file header (file format
 * spec, "The Database Header"). */
#define SQLITE_HEADER_USER_VERSION_OFFSET 60
#define SQLITE_HEADER_SIZE 100

enum { ALICE = 1, BOB = 2, CAROL = 3, DAVE = 4, NOBODY = 99 };

enum { ROOM = 10 };

#define T0 1700000000000 /* a plausible "now" in ms */

#ifdef STORE_FIXTURE_PG
#define STORE_ON_POSTGRESQL 1
/* Skips the case (with the reason in the report) on PostgreSQL. */
#define SQLITE_ONLY(reason) cr_skip_test("SQLite only: %s", (reason))
#else
#define STORE_ON_POSTGRESQL 0
#define SQLITE_ONLY(reason) ((void)0)
#endif

/* PostgreSQL: the test's database (NULL on SQLite). */
extern char *pg_conninfo;

extern char *tmp_dir;
extern char *db_path;
extern GMainContext *context;
extern ChatdStore *store;
extern int pending; /* completions expected by settle() */

ChatdStore *open_store_at(const char *path, GMainContext *ctx);

void setup(void);

void teardown(void);

void settle(void);

void done_ok(const GError *error, gpointer what);

/* Submits fn(store, args..., done_ok, "fn") and counts it as pending. */
#define SUBMIT_OK(fn, ...)                                                                         \
  do {                                                                                             \
    pending++;                                                                                     \
    cr_assert(fn(store, __VA_ARGS__, done_ok, (gpointer) #fn), #fn " was refused");                \
  } while (0)

typedef struct {
  gboolean done;
  int code; /* -1: no error */
  char *message;
} Outcome;

void done_outcome(const GError *error, gpointer data);

void wait_outcome(Outcome *outcome);

/* Submits fn(store, args..., done_outcome, &o), waits, and checks the error
 * code (-1: success). */
#define EXPECT_CODE(code_, fn, ...)                                                                \
  do {                                                                                             \
    Outcome o_ = {0};                                                                              \
    cr_assert(fn(store, __VA_ARGS__, done_outcome, &o_));                                          \
    wait_outcome(&o_);                                                                             \
    cr_assert_eq(o_.code, (code_), #fn ": got code %d (%s), want %d", o_.code,                     \
                 o_.message != NULL ? o_.message : "ok", (code_));                                 \
    g_free(o_.message);                                                                            \
  } while (0)

/* ---- messages ---- */

typedef struct {
  gboolean done;
  int code;
  gboolean inserted;
  gint64 stored_id;
} MessageOutcome;

void message_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data);

ChatdMessageRecord text_record(gint64 id, gint64 sender, int target_type, gint64 target,
                               const char *text);
/* An image message; image must outlive the record's use. */
ChatdMessageRecord image_record(gint64 id, gint64 sender, int target_type, gint64 target,
                                GBytes *image);

MessageOutcome add_message_wait(const ChatdMessageRecord *record, const gint64 *offline,
                                gsize n_offline);

void add_text(gint64 id, gint64 sender, int target_type, gint64 target, const gint64 *offline,
              gsize n_offline);

/* ---- reads ---- */

typedef struct {
  gboolean done;
  GPtrArray *items;
  gboolean more;
  ChatdMessageRecord *record;
} ReadOutcome;

void records_done(const GError *error, GPtrArray *records, gboolean more, gpointer data);

void conversations_done(const GError *error, GPtrArray *conversations, gpointer data);

void record_done(const GError *error, const ChatdMessageRecord *record, gpointer data);

void wait_read(ReadOutcome *outcome);

GPtrArray *history(gint64 viewer, int target_type, gint64 target, gint64 before, guint limit);

GPtrArray *full_history(gint64 user);

GPtrArray *conversations(gint64 user);

ChatdMessageRecord *message_by_id(gint64 id);

char *ids_of(GPtrArray *records);

char *offline_ids_of(GPtrArray *records);

void assert_ids(GPtrArray *records, const char *expected);

void dump_user(const ChatdStoreUser *u, gpointer data);

void dump_pair(gint64 a, gint64 b, gint64 ms, gpointer data);

void dump_room(const ChatdStoreRoom *r, gpointer data);

void dump_member(const ChatdStoreMember *m, gpointer data);

void dump_session(const ChatdStoreSession *s, gpointer data);

#define DUMP(loader, func, s_)                                                                     \
  do {                                                                                             \
    g_autoptr(GError) e_ = NULL;                                                                   \
    g_string_truncate((s_), 0);                                                                    \
    cr_assert(loader(store, func, (s_), &e_), #loader ": %s", e_ ? e_->message : "");              \
  } while (0)

void add_users(void);

void befriend(gint64 a, gint64 b);

void populate(void);

void hash_of(guint8 hash[CHATD_STORE_TOKEN_HASH_LEN], guint8 seed);

guint32 header_user_version(const char *path);

/* SQL that takes a SQLite database of schema 3 back to schema 2 but for
 * its user_version: the search index and what keeps it. */
#define UNDO_SCHEMA_3_SQL                                                                          \
  "DROP TRIGGER messages_fts_delete;"                                                              \
  "DROP TRIGGER messages_fts_update;"                                                              \
  "DROP TABLE messages_fts;"                                                                       \
  "DROP INDEX messages_with_nul;"
/* Runs sql on the SQLite database at path (no store may have it open). */
void sqlite_run(const char *path, const char *sql);
