/* chatd's store: schema and migrations, the batched asynchronous write path,
 * the read path, and the semantics the server builds on (idempotent
 * messages, history paging, offline deliveries, unread counts, atomic friend
 * acceptance, sessions). Each test has its own database in a temporary
 * directory and its own GMainContext, iterated here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "chatd/store.h"
#include "protocol/image-format.h"
#include "test-util.h"

/* Offset and size of user_version in a SQLite file header (file format
 * spec, "The Database Header"). */
#define SQLITE_HEADER_USER_VERSION_OFFSET 60
#define SQLITE_HEADER_SIZE 100

enum { ALICE = 1, BOB = 2, CAROL = 3, DAVE = 4, NOBODY = 99 };
enum { ROOM = 10 };
#define T0 1700000000000 /* a plausible "now" in ms */

static char *tmp_dir;
static char *db_path;
static GMainContext *context;
static ChatdStore *store;
static int pending; /* completions expected by settle() */

static ChatdStore *open_store_at(const char *path, GMainContext *ctx) {
  g_autoptr(GError) error = NULL;
  ChatdStore *s = chatd_store_open(path, ctx, &error);
  cr_assert_not_null(s, "open %s: %s", path, error != NULL ? error->message : "?");
  return s;
}

static void setup(void) {
  g_autoptr(GError) error = NULL;
  tmp_dir = test_make_tmp_dir("chatd-store-XXXXXX");
  db_path = g_build_filename(tmp_dir, "chatd.db", NULL);
  context = g_main_context_new();
  store = open_store_at(db_path, context);
  pending = 0;
}

static void teardown(void) {
  g_clear_pointer(&store, chatd_store_close);
  g_clear_pointer(&context, g_main_context_unref);
  test_remove_tree(tmp_dir);
  g_clear_pointer(&db_path, g_free);
  g_clear_pointer(&tmp_dir, g_free);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- waiting for completions ---- */

static void settle(void) {
  while (pending > 0)
    g_main_context_iteration(context, TRUE);
}

static void done_ok(const GError *error, gpointer what) {
  cr_assert_null(error, "%s: %s", (const char *) what, error != NULL ? error->message : "");
  pending--;
}

/* Submits fn(store, args..., done_ok, "fn") and counts it as pending. */
#define SUBMIT_OK(fn, ...)                                                  \
  do {                                                                      \
    pending++;                                                              \
    cr_assert(fn(store, __VA_ARGS__, done_ok, (gpointer) #fn), #fn " was refused"); \
  } while (0)

typedef struct {
  gboolean done;
  int code; /* -1: no error */
  char *message;
} Outcome;

static void done_outcome(const GError *error, gpointer data) {
  Outcome *outcome = data;
  outcome->done = TRUE;
  outcome->code = error != NULL ? error->code : -1;
  if (error != NULL) {
    cr_assert_eq(error->domain, CHATD_STORE_ERROR);
    outcome->message = g_strdup(error->message);
  }
}

static void wait_outcome(Outcome *outcome) {
  while (!outcome->done)
    g_main_context_iteration(context, TRUE);
}

/* Submits fn(store, args..., done_outcome, &o), waits, and checks the error
 * code (-1: success). */
#define EXPECT_CODE(code_, fn, ...)                                         \
  do {                                                                      \
    Outcome o_ = { 0 };                                                     \
    cr_assert(fn(store, __VA_ARGS__, done_outcome, &o_));                   \
    wait_outcome(&o_);                                                      \
    cr_assert_eq(o_.code, (code_), #fn ": got code %d (%s), want %d", o_.code, \
                 o_.message != NULL ? o_.message : "ok", (code_));          \
    g_free(o_.message);                                                     \
  } while (0)

/* ---- messages ---- */

typedef struct {
  gboolean done;
  int code;
  gboolean inserted;
  gint64 stored_id;
} MessageOutcome;

static void message_done(const GError *error, gboolean inserted, gint64 stored_id,
                         gpointer data) {
  MessageOutcome *outcome = data;
  outcome->done = TRUE;
  outcome->code = error != NULL ? error->code : -1;
  outcome->inserted = inserted;
  outcome->stored_id = stored_id;
}

static ChatdMessageRecord text_record(gint64 id, gint64 sender, int target_type, gint64 target,
                                      const char *text) {
  ChatdMessageRecord r = {
    .id = id,
    .sender_id = sender,
    .target_type = target_type,
    .target_id = target,
    .sent_ms = T0 + id,
    .kind = CHATD_STORE_KIND_TEXT,
    .text = text,
    .text_len = strlen(text),
    .font_size = 12,
    .font_color = "#102030",
  };
  return r;
}

/* Stores a message and waits; returns the outcome. */
static MessageOutcome add_message_wait(const ChatdMessageRecord *record, const gint64 *offline,
                                       gsize n_offline) {
  MessageOutcome outcome = { 0 };
  cr_assert(chatd_store_add_message(store, record, offline, n_offline, message_done, &outcome));
  while (!outcome.done)
    g_main_context_iteration(context, TRUE);
  return outcome;
}

static void add_text(gint64 id, gint64 sender, int target_type, gint64 target,
                     const gint64 *offline, gsize n_offline) {
  g_autofree char *text = g_strdup_printf("m%" G_GINT64_FORMAT, id);
  ChatdMessageRecord r = text_record(id, sender, target_type, target, text);
  MessageOutcome o = add_message_wait(&r, offline, n_offline);
  cr_assert_eq(o.code, -1, "message %" G_GINT64_FORMAT " failed", id);
  cr_assert(o.inserted);
  cr_assert_eq(o.stored_id, id);
}

/* ---- reads ---- */

typedef struct {
  gboolean done;
  GPtrArray *items;
  gboolean more;
  ChatdMessageRecord *record;
} ReadOutcome;

static void records_done(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  ReadOutcome *outcome = data;
  cr_assert_null(error, "read: %s", error != NULL ? error->message : "");
  outcome->items = g_ptr_array_ref(records);
  outcome->more = more;
  outcome->done = TRUE;
}

static void conversations_done(const GError *error, GPtrArray *conversations, gpointer data) {
  records_done(error, conversations, FALSE, data);
}

static void record_done(const GError *error, const ChatdMessageRecord *record, gpointer data) {
  ReadOutcome *outcome = data;
  cr_assert_null(error, "read: %s", error != NULL ? error->message : "");
  outcome->record = record != NULL ? chatd_message_record_copy(record) : NULL;
  outcome->done = TRUE;
}

static void wait_read(ReadOutcome *outcome) {
  while (!outcome->done)
    g_main_context_iteration(context, TRUE);
}

static GPtrArray *history(gint64 viewer, int target_type, gint64 target, gint64 before,
                          guint limit) {
  ReadOutcome o = { 0 };
  ChatdStorePageBound bound = {.limit = limit, .max_image_bytes = G_MAXSIZE};
  cr_assert(chatd_store_history(store, viewer, target_type, target, before, &bound,
                                records_done, &o));
  wait_read(&o);
  return o.items;
}

static GPtrArray *full_history(gint64 user) {
  ReadOutcome o = { 0 };
  cr_assert(chatd_store_full_history(store, user, NULL, records_done, &o));
  wait_read(&o);
  return o.items;
}

static GPtrArray *conversations(gint64 user) {
  ReadOutcome o = { 0 };
  cr_assert(chatd_store_conversations(store, user, conversations_done, &o));
  wait_read(&o);
  return o.items;
}

static ChatdMessageRecord *message_by_id(gint64 id) {
  ReadOutcome o = { 0 };
  cr_assert(chatd_store_message(store, id, record_done, &o));
  wait_read(&o);
  return o.record;
}

/* "1,2,3": the ids of a record array, in order. */
static char *ids_of(GPtrArray *records) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < records->len; i++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, i);
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? "," : "", r->id);
  }
  return g_string_free(s, FALSE);
}

/* "4,8": the ids flagged offline. */
static char *offline_ids_of(GPtrArray *records) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < records->len; i++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, i);
    if (r->offline)
      g_string_append_printf(s, "%s%" G_GINT64_FORMAT, s->len ? "," : "", r->id);
  }
  return g_string_free(s, FALSE);
}

static void assert_ids(GPtrArray *records, const char *expected) {
  g_autofree char *got = ids_of(records);
  cr_assert_str_eq(got, expected);
  g_ptr_array_unref(records);
}

/* ---- loaders into strings ---- */

static void dump_user(const ChatdStoreUser *u, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ":%s:%s:%s:%" G_GINT64_FORMAT ";", u->id,
                         u->username, u->nickname, u->password_hash, u->created_ms - T0);
}

static void dump_pair(gint64 a, gint64 b, gint64 ms, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ">%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT ";",
                         a, b, ms - T0);
}

static void dump_room(const ChatdStoreRoom *r, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ":%s:%" G_GINT64_FORMAT ";", r->id,
                         r->room_name, r->creator_id);
}

static void dump_member(const ChatdStoreMember *m, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ">=%" G_GINT64_FORMAT ";",
                         m->room_id, m->user_id, m->first_message_id);
}

static void dump_session(const ChatdStoreSession *s, gpointer data) {
  g_string_append_printf(data, "%02x:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                         s->token_hash[0], s->user_id, s->created_ms - T0,
                         s->last_used_ms - T0);
}

#define DUMP(loader, func, s_)                                               \
  do {                                                                       \
    g_autoptr(GError) e_ = NULL;                                             \
    g_string_truncate((s_), 0);                                              \
    cr_assert(loader(store, func, (s_), &e_), #loader ": %s", e_ ? e_->message : ""); \
  } while (0)

/* ---- a small world ---- */

static void add_users(void) {
  SUBMIT_OK(chatd_store_add_user, ALICE, "alice", "Alice", "hash-a", T0 + 1);
  SUBMIT_OK(chatd_store_add_user, BOB, "bob", "Bob", "hash-b", T0 + 2);
  SUBMIT_OK(chatd_store_add_user, CAROL, "carol", "Carol", "hash-c", T0 + 3);
  SUBMIT_OK(chatd_store_add_user, DAVE, "dave", "Dave", "hash-d", T0 + 4);
  settle();
}

static void befriend(gint64 a, gint64 b) {
  SUBMIT_OK(chatd_store_add_friend_request, a, b, T0);
  SUBMIT_OK(chatd_store_accept_friend_request, a, b, T0 + 1);
  settle();
}

/* alice-bob, alice-carol, alice-dave are friends; room 10 has alice and
 * carol from message 1 and bob from message 8. Messages:
 *   1 a>b  2 b>a  3 a>c  4 a>b (bob offline)  5 b>a  6 room (carol)
 *   7 b>a  8 room (alice, bob offline)  9 room (bob)  10 room (carol) */
static void populate(void) {
  add_users();
  befriend(ALICE, BOB);
  befriend(ALICE, CAROL);
  befriend(ALICE, DAVE);
  SUBMIT_OK(chatd_store_add_room, ROOM, "lobby", ALICE, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, ALICE, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, CAROL, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, BOB, 8, T0);
  settle();
  const gint64 bob[] = { BOB };
  add_text(1, ALICE, CHATD_STORE_TARGET_USER, BOB, NULL, 0);
  add_text(2, BOB, CHATD_STORE_TARGET_USER, ALICE, NULL, 0);
  add_text(3, ALICE, CHATD_STORE_TARGET_USER, CAROL, NULL, 0);
  add_text(4, ALICE, CHATD_STORE_TARGET_USER, BOB, bob, 1);
  add_text(5, BOB, CHATD_STORE_TARGET_USER, ALICE, NULL, 0);
  add_text(6, CAROL, CHATD_STORE_TARGET_ROOM, ROOM, NULL, 0);
  add_text(7, BOB, CHATD_STORE_TARGET_USER, ALICE, NULL, 0);
  add_text(8, ALICE, CHATD_STORE_TARGET_ROOM, ROOM, bob, 1);
  add_text(9, BOB, CHATD_STORE_TARGET_ROOM, ROOM, NULL, 0);
  add_text(10, CAROL, CHATD_STORE_TARGET_ROOM, ROOM, NULL, 0);
}

static void hash_of(guint8 hash[CHATD_STORE_TOKEN_HASH_LEN], guint8 seed) {
  for (int i = 0; i < CHATD_STORE_TOKEN_HASH_LEN; i++)
    hash[i] = (guint8) (seed + i);
}

/* user_version as stored in the file header (big-endian u32). */
static guint32 header_user_version(const char *path) {
  g_autofree char *contents = NULL;
  gsize len = 0;
  cr_assert(g_file_get_contents(path, &contents, &len, NULL));
  cr_assert_geq(len, SQLITE_HEADER_SIZE);
  const guint8 *p = (const guint8 *) contents + SQLITE_HEADER_USER_VERSION_OFFSET;
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* ---- schema and lifetime ---- */

Test(store, open_creates_schema_and_user_version) {
  cr_assert_eq(chatd_store_schema_version(store), CHATD_STORE_SCHEMA_VERSION);
  gint64 users = -1, rooms = -1, messages = -1;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, &users, &rooms, &messages, &error));
  cr_assert(users == 0 && rooms == 0 && messages == 0);
  /* every table of the schema answers */
  add_users();
  SUBMIT_OK(chatd_store_add_room, ROOM, "lobby", 0, T0);
  settle();
  g_clear_pointer(&store, chatd_store_close);
  cr_assert_eq(header_user_version(db_path), CHATD_STORE_SCHEMA_VERSION);
  /* a clean close leaves no WAL behind */
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  cr_assert_not(g_file_test(wal, G_FILE_TEST_EXISTS));
}

Test(store, database_file_is_private) {
  struct stat st;
  cr_assert_eq(g_stat(db_path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
  add_users(); /* makes SQLite create the WAL */
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  cr_assert_eq(g_stat(wal, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "wal mode %o", st.st_mode & 0777);
}

Test(store, reopen_keeps_everything) {
  populate();
  SUBMIT_OK(chatd_store_add_friend_request, BOB, CAROL, T0 + 5);
  guint8 h[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(h, 0xa0);
  SUBMIT_OK(chatd_store_add_session, h, ALICE, T0 + 7);
  SUBMIT_OK(chatd_store_mark_read, BOB, CHATD_STORE_TARGET_USER, ALICE, 2);
  settle();

  chatd_store_close(store); /* a restart */
  store = open_store_at(db_path, context);

  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert_str_eq(s->str, "1:alice:Alice:hash-a:1;2:bob:Bob:hash-b:2;"
                           "3:carol:Carol:hash-c:3;4:dave:Dave:hash-d:4;");
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@1;1>3@1;1>4@1;2>1@1;3>1@1;4>1@1;");
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>3@5;");
  DUMP(chatd_store_foreach_room, dump_room, s);
  cr_assert_str_eq(s->str, "10:lobby:1;");
  DUMP(chatd_store_foreach_member, dump_member, s);
  cr_assert_str_eq(s->str, "10/1>=1;10/2>=8;10/3>=1;");
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "a0:1:7:7;");

  gint64 users = 0, rooms = 0, messages = 0;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, &users, &rooms, &messages, &error));
  cr_assert(users == DAVE && rooms == ROOM && messages == 10);

  GPtrArray *bob_history = full_history(BOB);
  g_autofree char *offline = offline_ids_of(bob_history);
  cr_assert_str_eq(offline, "4,8");
  assert_ids(bob_history, "1,2,4,5,7,8,9,10");
  g_autoptr(GPtrArray) convs = conversations(BOB);
  cr_assert_eq(convs->len, 2);
  const ChatdConversation *with_alice = g_ptr_array_index(convs, 1);
  cr_assert_eq(with_alice->target_id, ALICE);
  cr_assert_eq(with_alice->last_read_id, 2);
  cr_assert_eq(with_alice->unread, 1); /* 4; 1 is before the marker */
}

Test(store, newer_schema_is_refused) {
  g_clear_pointer(&store, chatd_store_close);
  /* what a future chatd would leave: the same file, user_version + 1 */
  g_autofree char *contents = NULL;
  gsize len = 0;
  cr_assert(g_file_get_contents(db_path, &contents, &len, NULL));
  contents[SQLITE_HEADER_USER_VERSION_OFFSET + 3] = CHATD_STORE_SCHEMA_VERSION + 1;
  cr_assert(g_file_set_contents(db_path, contents, (gssize) len, NULL));

  g_autoptr(GError) error = NULL;
  ChatdStore *s = chatd_store_open(db_path, context, &error);
  cr_assert_null(s);
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_TOO_NEW), "%s",
            error != NULL ? error->message : "no error");
  g_autofree char *version = g_strdup_printf("%d", CHATD_STORE_SCHEMA_VERSION + 1);
  cr_assert(strstr(error->message, version) != NULL, "%s", error->message);
  /* refused without touching it */
  cr_assert_eq(header_user_version(db_path), CHATD_STORE_SCHEMA_VERSION + 1);
}

Test(store, a_file_that_is_not_a_database_is_refused) {
  g_clear_pointer(&store, chatd_store_close);
  g_autofree char *path = g_build_filename(tmp_dir, "junk.db", NULL);
  g_autofree char *junk = g_strnfill(4096, 'x');
  cr_assert(g_file_set_contents(path, junk, -1, NULL));
  g_autoptr(GError) error = NULL;
  cr_assert_null(chatd_store_open(path, context, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CORRUPT), "%s",
            error != NULL ? error->message : "no error");
}

Test(store, missing_directory_fails_to_open) {
  g_autofree char *path = g_build_filename(tmp_dir, "no", "such", "chatd.db", NULL);
  g_autoptr(GError) error = NULL;
  cr_assert_null(chatd_store_open(path, context, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN), "%s",
            error != NULL ? error->message : "no error");
}

/* ---- the write path ---- */

typedef struct {
  ChatdStore *other; /* a second store on the same file: another connection */
  GThread *test_thread;
  gboolean ran;
  gboolean seen_by_other;
} CommitProbe;

static void find_carol(const ChatdStoreUser *user, gpointer data) {
  if (user->id == CAROL)
    *(gboolean *) data = TRUE;
}

static void probe_done(const GError *error, gpointer data) {
  CommitProbe *probe = data;
  cr_assert_null(error);
  cr_assert_eq(g_thread_self(), probe->test_thread, "completion on another thread");
  cr_assert(g_main_context_is_owner(context), "completion outside the store's context");
  g_autoptr(GError) load_error = NULL;
  cr_assert(chatd_store_foreach_user(probe->other, find_carol, &probe->seen_by_other,
                                     &load_error));
  probe->ran = TRUE;
}

Test(store, completion_runs_on_the_context_after_commit) {
  g_autoptr(GMainContext) other_context = g_main_context_new();
  CommitProbe probe = { .test_thread = g_thread_self() };
  probe.other = open_store_at(db_path, other_context);

  cr_assert(chatd_store_add_user(store, CAROL, "carol", "Carol", "h", T0, probe_done, &probe));
  chatd_store_flush(store);
  /* committed, but callbacks only run when the store's context runs */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  while (g_main_context_iteration(other_context, FALSE))
    ;
  cr_assert_not(probe.ran);
  while (!probe.ran)
    g_main_context_iteration(context, TRUE);
  cr_assert(probe.seen_by_other, "the row was not committed when the callback ran");
  chatd_store_close(probe.other);
}

typedef struct {
  GArray *order;
} OrderProbe;

static void order_done(const GError *error, gboolean inserted, gint64 stored_id,
                       gpointer data) {
  cr_assert_null(error);
  cr_assert(inserted);
  OrderProbe *probe = data;
  g_array_append_val(probe->order, stored_id);
  pending--;
}

Test(store, completions_run_in_submission_order) {
  add_users();
  enum { N = 3000 };
  OrderProbe probe = { .order = g_array_new(FALSE, FALSE, sizeof(gint64)) };
  for (gint64 id = 1; id <= N; id++) {
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, "x");
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, order_done, &probe));
  }
  settle();
  cr_assert_eq(probe.order->len, N);
  for (guint i = 0; i < N; i++)
    cr_assert_eq(g_array_index(probe.order, gint64, i), (gint64) i + 1);
  g_array_unref(probe.order);
}

static void count_done(const GError *error, gboolean inserted, gint64 stored_id,
                       gpointer data) {
  (void) stored_id;
  cr_assert_null(error, "%s", error != NULL ? error->message : "");
  cr_assert(inserted);
  (*(int *) data)++;
  pending--;
}

Test(store, writes_are_committed_in_batches) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  enum { N = 10000 };
  int completed = 0;
  for (gint64 id = 1; id <= N; id++) {
    g_autofree char *text = g_strdup_printf("message %" G_GINT64_FORMAT, id);
    g_autofree char *client_id = g_strdup_printf("c-%" G_GINT64_FORMAT, id);
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, text);
    r.client_msg_id = client_id;
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
  }
  chatd_store_flush(store);
  settle();
  cr_assert_eq(completed, N);
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  guint64 transactions = after.transactions - before.transactions;
  cr_log_info("%d messages committed in %" G_GUINT64_FORMAT " transactions (largest batch %"
              G_GUINT64_FORMAT ")", N, transactions, after.largest_batch);
  fprintf(stderr, "batching: %d messages committed in %" G_GUINT64_FORMAT
          " transactions (largest batch %" G_GUINT64_FORMAT ")\n",
          N, transactions, after.largest_batch);
  cr_assert_lt(transactions, N);
  cr_assert_leq(after.largest_batch, CHATD_STORE_MAX_BATCH_WRITES);

  gint64 max_message = 0;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, NULL, NULL, &max_message, &error));
  cr_assert_eq(max_message, N);
  g_autoptr(GPtrArray) all = full_history(BOB);
  cr_assert_eq(all->len, N);
}

/* The checkpointer has nothing left to do and copied the whole WAL back
 * (after the last write of a round the writer is idle and asks for it). */
static gboolean checkpointer_caught_up(guint64 checkpoints_before) {
  ChatdStoreStats stats;
  chatd_store_get_stats(store, &stats);
  return stats.checkpoints > checkpoints_before && !stats.checkpoint_pending &&
         stats.wal_frames > 0 && stats.wal_frames_checkpointed == stats.wal_frames;
}

static goffset file_size(const char *path) {
  GStatBuf st;
  return g_stat(path, &st) == 0 ? (goffset)st.st_size : 0;
}

Test(store, the_wal_is_checkpointed_by_its_own_thread_and_reused) {
  add_users();
  enum { ROUNDS = 4, PER_ROUND = 2000, TEXT_BYTES = 2048 };
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  char *text = g_malloc(TEXT_BYTES + 1);
  memset(text, 'x', TEXT_BYTES);
  text[TEXT_BYTES] = '\0';
  int completed = 0;
  gint64 id = 0;
  goffset largest_wal = 0;
  guint64 first_round_frames = 0;
  for (int round = 0; round < ROUNDS; round++) {
    ChatdStoreStats before;
    chatd_store_get_stats(store, &before);
    for (int i = 0; i < PER_ROUND; i++) {
      id++;
      ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, text);
      pending++;
      cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
    }
    chatd_store_flush(store);
    settle();
    /* Each round writes more than STORE_CHECKPOINT_PAGES: the checkpointer
     * thread copies it all back without anyone waiting for it. */
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!checkpointer_caught_up(before.checkpoints) && g_get_monotonic_time() < deadline)
      g_usleep(1000);
    ChatdStoreStats now;
    chatd_store_get_stats(store, &now);
    cr_assert(checkpointer_caught_up(before.checkpoints),
              "round %d: the WAL was not copied back (%" G_GUINT64_FORMAT " checkpoints, %s, %"
              G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " copied)",
              round, now.checkpoints - before.checkpoints,
              now.checkpoint_pending ? "one pending" : "none pending", now.wal_frames,
              now.wal_frames_checkpointed);
    largest_wal = MAX(largest_wal, file_size(wal));
    if (round == 0) {
      ChatdStoreStats first;
      chatd_store_get_stats(store, &first);
      first_round_frames = first.wal_frames;
    }
  }
  cr_assert_eq(completed, ROUNDS * PER_ROUND);
  /* Copied back, the WAL is written again from its start: its file stays
   * the size of one round, not of all of them. */
  goffset wal_size = file_size(wal);
  cr_assert_leq(wal_size, largest_wal);
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  cr_assert_lt(after.wal_frames, first_round_frames * 3 / 2,
               "the WAL holds %" G_GUINT64_FORMAT " frames after %d rounds (%" G_GUINT64_FORMAT
               " after the first)", after.wal_frames, ROUNDS, first_round_frames);
  g_free(text);
}

Test(store, held_writes_form_full_batches) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  enum { N = 3000 };
  chatd_store_hold_writes(store);
  int completed = 0;
  for (gint64 id = 1; id <= N; id++) {
    ChatdMessageRecord r = text_record(id, BOB, CHATD_STORE_TARGET_USER, ALICE, "hi");
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
  }
  chatd_store_release_writes(store);
  chatd_store_flush(store);
  settle();
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  /* 1024 + 1024 + 952 */
  cr_assert_eq(after.transactions - before.transactions,
               (N + CHATD_STORE_MAX_BATCH_WRITES - 1) / CHATD_STORE_MAX_BATCH_WRITES);
  cr_assert_eq(after.largest_batch, CHATD_STORE_MAX_BATCH_WRITES);
  cr_assert_eq(completed, N);
}

Test(store, a_failing_write_does_not_undo_its_batch) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  chatd_store_hold_writes(store); /* everything below is one batch */
  MessageOutcome ok1 = { 0 }, unknown_sender = { 0 }, bad_recipient = { 0 }, ok2 = { 0 };
  Outcome no_request = { 0 }, unknown_room = { 0 };
  ChatdMessageRecord m1 = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "one");
  ChatdMessageRecord m2 = text_record(2, NOBODY, CHATD_STORE_TARGET_USER, BOB, "ghost");
  ChatdMessageRecord m3 = text_record(3, ALICE, CHATD_STORE_TARGET_USER, BOB, "three");
  ChatdMessageRecord m4 = text_record(4, BOB, CHATD_STORE_TARGET_USER, ALICE, "four");
  /* message 3's second offline recipient does not exist: the message row
   * inserted before it must go too */
  const gint64 recipients[] = { BOB, NOBODY };
  cr_assert(chatd_store_add_message(store, &m1, NULL, 0, message_done, &ok1));
  cr_assert(chatd_store_add_message(store, &m2, NULL, 0, message_done, &unknown_sender));
  cr_assert(chatd_store_accept_friend_request(store, CAROL, DAVE, T0, done_outcome,
                                              &no_request));
  cr_assert(chatd_store_add_message(store, &m3, recipients, 2, message_done, &bad_recipient));
  cr_assert(chatd_store_add_member(store, 77, ALICE, 1, T0, done_outcome, &unknown_room));
  cr_assert(chatd_store_add_message(store, &m4, NULL, 0, message_done, &ok2));
  chatd_store_release_writes(store);
  chatd_store_flush(store);
  wait_outcome(&unknown_room);

  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  cr_assert_eq(after.transactions - before.transactions, 1);
  cr_assert(ok1.done && ok2.done && unknown_sender.done && bad_recipient.done);
  cr_assert_eq(ok1.code, -1);
  cr_assert_eq(ok2.code, -1);
  cr_assert_eq(unknown_sender.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert_not(unknown_sender.inserted);
  cr_assert_eq(bad_recipient.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert_eq(no_request.code, CHATD_STORE_ERROR_NOT_FOUND);
  cr_assert_eq(unknown_room.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert(strstr(unknown_room.message, "FOREIGN KEY") != NULL, "%s", unknown_room.message);
  g_free(no_request.message);
  g_free(unknown_room.message);

  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 10), "4,1");
  GPtrArray *bob_all = full_history(BOB);
  g_autofree char *offline = offline_ids_of(bob_all);
  cr_assert_str_eq(offline, ""); /* message 3's offline row went with it */
  g_ptr_array_unref(bob_all);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "");
}

Test(store, a_saturated_store_refuses_submissions) {
  add_users();
  chatd_store_hold_writes(store);
  for (int i = 0; i < CHATD_STORE_MAX_WRITES_IN_FLIGHT; i++) {
    pending++;
    cr_assert(chatd_store_mark_read(store, ALICE, CHATD_STORE_TARGET_USER, BOB, i, done_ok,
                                    "mark read"));
  }
  Outcome refused = { 0 };
  cr_assert_not(chatd_store_mark_read(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 1,
                                      done_outcome, &refused));
  ChatdStoreStats stats;
  chatd_store_get_stats(store, &stats);
  cr_assert_eq(stats.writes_rejected, 1);
  chatd_store_release_writes(store);
  settle();
  cr_assert_not(refused.done, "a refused write's callback ran");
  /* room again once the completions ran */
  EXPECT_CODE(-1, chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 1);
}

Test(store, close_commits_and_completes_pending_writes) {
  Outcome outcome = { 0 };
  cr_assert(chatd_store_add_user(store, ALICE, "alice", "Alice", "h", T0, done_outcome,
                                 &outcome));
  g_clear_pointer(&store, chatd_store_close); /* no iteration in between */
  cr_assert(outcome.done);
  cr_assert_eq(outcome.code, -1);
  store = open_store_at(db_path, context);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert(g_str_has_prefix(s->str, "1:alice:"), "%s", s->str);
}

/* ---- messages ---- */

Test(store, add_message_is_idempotent_per_sender_and_client_id) {
  add_users();
  ChatdMessageRecord first = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  first.client_msg_id = "client-1";
  MessageOutcome o = add_message_wait(&first, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 1);

  /* a retransmission under a new server id: nothing stored, the old id */
  ChatdMessageRecord again = text_record(2, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  again.client_msg_id = "client-1";
  const gint64 bob[] = { BOB };
  o = add_message_wait(&again, bob, 1);
  cr_assert_eq(o.code, -1);
  cr_assert_not(o.inserted);
  cr_assert_eq(o.stored_id, 1);

  /* another sender may use the same client id */
  ChatdMessageRecord other = text_record(3, BOB, CHATD_STORE_TARGET_USER, ALICE, "hi");
  other.client_msg_id = "client-1";
  o = add_message_wait(&other, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 3);

  /* no client id: no deduplication */
  ChatdMessageRecord plain = text_record(4, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  o = add_message_wait(&plain, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 4);

  GPtrArray *all = full_history(BOB);
  g_autofree char *offline = offline_ids_of(all);
  cr_assert_str_eq(offline, ""); /* the retransmission added no offline row */
  assert_ids(all, "1,3,4");

  /* a reused server id is an error, not a duplicate */
  ChatdMessageRecord clash = text_record(4, CAROL, CHATD_STORE_TARGET_USER, DAVE, "clash");
  o = add_message_wait(&clash, NULL, 0);
  cr_assert_eq(o.code, CHATD_STORE_ERROR_CONSTRAINT);
}

Test(store, message_fields_round_trip) {
  add_users();
  /* text with an embedded NUL, copied at submission */
  char *text = g_memdup2("a\0b", 4);
  ChatdMessageRecord r = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, text);
  r.text_len = 3;
  r.font_size = 18;
  g_autofree char *color = g_strdup("#abcdef");
  r.font_color = color;
  MessageOutcome first = { 0 };
  cr_assert(chatd_store_add_message(store, &r, NULL, 0, message_done, &first));
  g_free(text); /* the caller may free at once */

  static const guint8 png[] = { 0x89, 'P', 'N', 'G', 0, 0, 0x0d, 0x0a };
  g_autoptr(GBytes) image = g_bytes_new(png, sizeof png);
  ChatdMessageRecord img = {
    .id = 2, .sender_id = BOB, .target_type = CHATD_STORE_TARGET_USER, .target_id = ALICE,
    .sent_ms = T0 + 2, .kind = CHATD_STORE_KIND_IMAGE, .image = image,
  };
  MessageOutcome o = add_message_wait(&img, NULL, 0);
  cr_assert_eq(o.code, -1);
  cr_assert_eq(first.code, -1);

  g_autoptr(ChatdMessageRecord) got_text = message_by_id(1);
  cr_assert_not_null(got_text);
  cr_assert_eq(got_text->kind, CHATD_STORE_KIND_TEXT);
  cr_assert_eq(got_text->text_len, 3);
  cr_assert_eq(memcmp(got_text->text, "a\0b", 3), 0);
  cr_assert_eq(got_text->font_size, 18);
  cr_assert_str_eq(got_text->font_color, "#abcdef");
  cr_assert_str_eq(got_text->sender_nickname, "Alice");
  cr_assert_eq(got_text->sent_ms, T0 + 1);
  cr_assert_null(got_text->image);

  g_autoptr(ChatdMessageRecord) got_image = message_by_id(2);
  cr_assert_not_null(got_image);
  cr_assert_eq(got_image->kind, CHATD_STORE_KIND_IMAGE);
  cr_assert_null(got_image->text);
  cr_assert(g_bytes_equal(got_image->image, image));
  cr_assert_eq(got_image->target_id, ALICE);

  cr_assert_null(message_by_id(3));

  /* kind and payload must agree */
  ChatdMessageRecord bad = img;
  bad.id = 5;
  bad.kind = CHATD_STORE_KIND_TEXT;
  o = add_message_wait(&bad, NULL, 0);
  cr_assert_eq(o.code, CHATD_STORE_ERROR_CONSTRAINT);
}

/* ---- reads ---- */

Test(store, history_pages_both_directions_of_a_conversation) {
  populate();
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 3), "7,5,4");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 4, 3), "2,1");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 1, 3), "");
  /* the same conversation seen from the other side */
  assert_ids(history(BOB, CHATD_STORE_TARGET_USER, ALICE, 0, 100), "7,5,4,2,1");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, CAROL, 0, 100), "3");
  assert_ids(history(BOB, CHATD_STORE_TARGET_USER, CAROL, 0, 100), "");

  g_autoptr(GPtrArray) page = history(BOB, CHATD_STORE_TARGET_USER, ALICE, 0, 2);
  const ChatdMessageRecord *newest = g_ptr_array_index(page, 0);
  cr_assert_str_eq(newest->text, "m7");
  cr_assert_str_eq(newest->sender_nickname, "Bob");
  cr_assert_eq(newest->target_id, ALICE);
  const ChatdMessageRecord *second = g_ptr_array_index(page, 1);
  cr_assert_str_eq(second->text, "m5");

  /* the nickname is the sender's current one */
  SUBMIT_OK(chatd_store_set_nickname, BOB, "Bobby");
  settle();
  g_autoptr(GPtrArray) renamed = history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 1);
  cr_assert_str_eq(((ChatdMessageRecord *) g_ptr_array_index(renamed, 0))->sender_nickname,
                   "Bobby");
}

Test(store, room_history_starts_at_the_members_first_message) {
  populate();
  assert_ids(history(BOB, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), "10,9,8");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 0, 2), "10,9");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 9, 2), "8,6");
  assert_ids(history(DAVE, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), ""); /* not a member */

  SUBMIT_OK(chatd_store_remove_member, ROOM, BOB);
  settle();
  assert_ids(history(BOB, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), "");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_remove_member, ROOM, BOB);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_member, ROOM, CAROL, 1, T0);
}

Test(store, full_history_flags_offline_deliveries) {
  populate();
  GPtrArray *bob = full_history(BOB);
  g_autofree char *bob_offline = offline_ids_of(bob);
  cr_assert_str_eq(bob_offline, "4,8");
  assert_ids(bob, "1,2,4,5,7,8,9,10");

  GPtrArray *alice = full_history(ALICE);
  g_autofree char *alice_offline = offline_ids_of(alice);
  cr_assert_str_eq(alice_offline, ""); /* offline is per recipient */
  assert_ids(alice, "1,2,3,4,5,6,7,8,9,10");

  assert_ids(full_history(CAROL), "3,6,8,9,10");

  SUBMIT_OK(chatd_store_clear_offline, BOB, 4);
  settle();
  GPtrArray *after = full_history(BOB);
  g_autofree char *after_offline = offline_ids_of(after);
  cr_assert_str_eq(after_offline, "8");
  g_ptr_array_unref(after);

  SUBMIT_OK(chatd_store_clear_offline, BOB, 10);
  settle();
  GPtrArray *cleared = full_history(BOB);
  g_autofree char *cleared_offline = offline_ids_of(cleared);
  cr_assert_str_eq(cleared_offline, "");
  g_ptr_array_unref(cleared);
}

/* "type:id:last:marker:unread;" per conversation. */
static char *describe_conversations(gint64 user) {
  g_autoptr(GPtrArray) convs = conversations(user);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < convs->len; i++) {
    const ChatdConversation *c = g_ptr_array_index(convs, i);
    g_string_append_printf(s, "%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                           ":%" G_GINT64_FORMAT ";",
                           c->target_type, c->target_id, c->last != NULL ? c->last->id : 0,
                           c->last_read_id, c->unread);
  }
  return g_string_free(s, FALSE);
}

#define ASSERT_CONVERSATIONS(user, expected)                    \
  do {                                                          \
    g_autofree char *got_ = describe_conversations(user);       \
    cr_assert_str_eq(got_, (expected));                         \
  } while (0)

Test(store, conversations_count_unread_and_markers_only_move_forward) {
  populate();
  /* alice: the room (last 10; 6, 9, 10 from others), bob (last 7; 2, 5, 7
   * from bob), carol (last 3, sent by alice); dave has no message */
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:0:3;0:2:7:0:3;0:3:3:0:0;");
  /* bob joined the room at 8: 8 and 10 count, his own 9 does not; from
   * alice, 1 and 4 */
  ASSERT_CONVERSATIONS(BOB, "1:10:10:0:2;0:1:7:0:2;");

  SUBMIT_OK(chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 5);
  SUBMIT_OK(chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 9);
  settle();
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:5:1;0:3:3:0:0;");

  /* backwards is ignored */
  SUBMIT_OK(chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 2);
  settle();
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:5:1;0:3:3:0:0;");

  SUBMIT_OK(chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 7);
  settle();
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:7:0;0:3:3:0:0;");

  /* a marker before the member's first message does not count older ones */
  SUBMIT_OK(chatd_store_mark_read, BOB, CHATD_STORE_TARGET_ROOM, ROOM, 3);
  settle();
  ASSERT_CONVERSATIONS(BOB, "1:10:10:3:2;0:1:7:0:2;");

  g_autoptr(GPtrArray) convs = conversations(ALICE);
  const ChatdConversation *room = g_ptr_array_index(convs, 0);
  cr_assert_str_eq(room->last->text, "m10");
  cr_assert_str_eq(room->last->sender_nickname, "Carol");

  /* a room without messages is listed, last */
  SUBMIT_OK(chatd_store_add_room, 11, "quiet", DAVE, T0);
  SUBMIT_OK(chatd_store_add_member, 11, DAVE, 11, T0);
  settle();
  ASSERT_CONVERSATIONS(DAVE, "1:11:0:0:0;");
}

/* ---- friends, users, sessions ---- */

Test(store, accepting_a_friend_request_is_atomic) {
  add_users();
  SUBMIT_OK(chatd_store_add_friend_request, ALICE, BOB, T0);
  SUBMIT_OK(chatd_store_add_friend_request, BOB, ALICE, T0 + 1);
  settle();
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, BOB, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, ALICE, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, NOBODY, T0);

  EXPECT_CODE(-1, chatd_store_accept_friend_request, ALICE, BOB, T0 + 2);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>1@1;");

  /* the reverse request cannot be accepted (already friends): its deletion
   * is undone with the failed inserts */
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_accept_friend_request, BOB, ALICE,
              T0 + 3);
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>1@1;");
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");

  /* no request, no friendship */
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_accept_friend_request, CAROL, DAVE, T0);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");

  /* reject */
  EXPECT_CODE(-1, chatd_store_delete_friend_request, BOB, ALICE);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_delete_friend_request, BOB, ALICE);
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "");
}

Test(store, users_are_unique_and_updatable) {
  add_users();
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, 5, "alice", "A2", "h", T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, ALICE, "alice2", "A2", "h",
              T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, 6, "nonick", NULL, "h", T0);
  EXPECT_CODE(-1, chatd_store_set_password_hash, ALICE, "new-hash");
  EXPECT_CODE(-1, chatd_store_set_nickname, ALICE, "Ally");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_set_nickname, NOBODY, "x");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_set_password_hash, NOBODY, "x");
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert(g_str_has_prefix(s->str, "1:alice:Ally:new-hash:1;2:bob:"), "%s", s->str);
}

Test(store, sessions_are_added_touched_revoked_and_loaded) {
  add_users();
  guint8 a1[CHATD_STORE_TOKEN_HASH_LEN], a2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 b1[CHATD_STORE_TOKEN_HASH_LEN], b2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 unknown[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(a1, 0x10);
  hash_of(a2, 0x20);
  hash_of(b1, 0x30);
  hash_of(b2, 0x40);
  hash_of(unknown, 0x50);
  SUBMIT_OK(chatd_store_add_session, a1, ALICE, T0 + 1);
  SUBMIT_OK(chatd_store_add_session, a2, ALICE, T0 + 2);
  SUBMIT_OK(chatd_store_add_session, b1, BOB, T0 + 3);
  SUBMIT_OK(chatd_store_add_session, b2, BOB, T0 + 4);
  settle();
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "10:1:1:1;20:1:2:2;30:2:3:3;40:2:4:4;");

  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_session, a1, BOB, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_session, unknown, NOBODY, T0);
  EXPECT_CODE(-1, chatd_store_touch_session, a1, T0 + 50);
  EXPECT_CODE(-1, chatd_store_revoke_session, a2);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_touch_session, a2, T0 + 60);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_revoke_session, unknown);
  EXPECT_CODE(-1, chatd_store_revoke_user_sessions, BOB);
  EXPECT_CODE(-1, chatd_store_revoke_user_sessions, CAROL); /* none: fine */
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "10:1:1:50;");
}

static void add_image(gint64 id, const guint8 *data, gsize len) {
  g_autoptr(GBytes) image = g_bytes_new(data, len);
  ChatdMessageRecord r = {
    .id = id, .sender_id = ALICE, .target_type = CHATD_STORE_TARGET_USER, .target_id = BOB,
    .sent_ms = T0 + id, .kind = CHATD_STORE_KIND_IMAGE, .image = image,
  };
  MessageOutcome o = add_message_wait(&r, NULL, 0);
  cr_assert_eq(o.code, -1);
}

/* Images carry their size and format (for previews), from the store's
 * writes and, for a database of schema 1, from the migration: both name the
 * same formats. */
Test(store, images_have_a_size_and_format_after_a_write_or_the_migration) {
  add_users();
  static const struct { const char *bytes; gsize len; } images[] = {
    {"\x89PNG\r\n\x1a\n....", 12}, {"\xff\xd8\xff\xe0....", 8}, {"GIF89a..", 8},
    {"RIFF\0\0\0\0WEBPVP8 ", 16}, {"BM......", 8}, {"plain bytes", 11}, {"RIFF....AVI ", 12},
  };
  for (guint i = 0; i < G_N_ELEMENTS(images); i++)
    add_image(i + 1, (const guint8 *)images[i].bytes, images[i].len);
  for (int round = 0; round < 2; round++) {
    g_autoptr(GPtrArray) page = history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 50);
    cr_assert_eq(page->len, G_N_ELEMENTS(images));
    for (guint i = 0; i < page->len; i++) {
      const ChatdMessageRecord *r = g_ptr_array_index(page, i);
      guint k = (guint)r->id - 1;
      cr_assert_eq(r->image_size, images[k].len, "round %d, image %u", round, k);
      cr_assert_str_eq(r->image_format,
                       chat_image_format((const guint8 *)images[k].bytes, images[k].len),
                       "round %d, image %u", round, k);
    }
    if (round == 1)
      break;
    /* Back to schema 1, as an older chatd left it; the next open migrates. */
    g_clear_pointer(&store, chatd_store_close);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "ALTER TABLE messages DROP COLUMN image_size;"
                              "ALTER TABLE messages DROP COLUMN image_format;"
                              "PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    store = open_store_at(db_path, context);
  }
}

/* A page holds what fits: each record costs the overhead plus its text or
 * (when not left out) its image; the first always goes. */
Test(store, a_history_page_is_bounded_in_bytes) {
  add_users();
  guint8 big[1000];
  memset(big, 'x', sizeof big);
  for (gint64 id = 1; id <= 4; id++)
    add_image(id, big, sizeof big);
  ChatdStorePageBound bound = {.limit = 50, .max_bytes = 2500, .record_overhead = 100,
                               .max_image_bytes = G_MAXSIZE};
  ReadOutcome o = {0};
  cr_assert(chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound,
                                records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 2, "2 × 1100 fit in 2500, not 3");
  cr_assert(o.more);
  g_ptr_array_unref(o.items);
  /* Images over max_image_bytes are left out and cost only the overhead. */
  bound.max_image_bytes = 999;
  o = (ReadOutcome){0};
  cr_assert(chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound,
                                records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 4);
  cr_assert_not(o.more);
  const ChatdMessageRecord *r = g_ptr_array_index(o.items, 0);
  cr_assert_null(r->image);
  cr_assert_eq(r->image_size, 1000);
  g_ptr_array_unref(o.items);
  /* The first always goes, however large. */
  bound = (ChatdStorePageBound){.limit = 50, .max_bytes = 10, .max_image_bytes = G_MAXSIZE};
  o = (ReadOutcome){0};
  cr_assert(chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound,
                                records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 1);
  cr_assert(o.more);
  g_ptr_array_unref(o.items);
}

/* A resume replaces its token in one step: the old one is gone the moment
 * the new one exists, and a token that is already gone is not replaced. */
Test(store, a_session_is_rotated_and_old_ones_are_forgotten) {
  add_users();
  guint8 a1[CHATD_STORE_TOKEN_HASH_LEN], a2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 a3[CHATD_STORE_TOKEN_HASH_LEN], b1[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(a1, 0x10);
  hash_of(a2, 0x20);
  hash_of(a3, 0x30);
  hash_of(b1, 0x40);
  SUBMIT_OK(chatd_store_add_session, a1, ALICE, T0 + 1);
  SUBMIT_OK(chatd_store_add_session, b1, BOB, T0 + 2);
  settle();
  EXPECT_CODE(-1, chatd_store_rotate_session, a1, a2, ALICE, T0 + 10);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_rotate_session, a1, a3, ALICE, T0 + 11);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "20:1:10:10;40:2:2:2;");
  /* Issued at or before T0 + 2: forgotten. */
  EXPECT_CODE(-1, chatd_store_forget_sessions_before, T0 + 2);
  g_string_truncate(s, 0);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "20:1:10:10;");
}

Test(store, a_read_after_a_completion_sees_the_write) {
  add_users();
  for (gint64 id = 1; id <= 50; id++) {
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, "x");
    MessageOutcome o = add_message_wait(&r, NULL, 0);
    cr_assert_eq(o.code, -1);
    g_autoptr(ChatdMessageRecord) got = message_by_id(id);
    cr_assert_not_null(got, "message %" G_GINT64_FORMAT " not visible", id);
  }
}
