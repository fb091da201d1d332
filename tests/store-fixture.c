/* Shared fixture of the test-store-*.c tests. */
#include "store-fixture.h"

#ifdef STORE_FIXTURE_PG
#include "pg-fixture.h"

/* The environment variable that hands the server to the test processes. */
#define PG_SERVER_ENV "CHAT_TEST_STORE_PG_SERVER"

static PgFixture *pg_server; /* the runner process's */

/* One server for the run, started before the first test (in Criterion's
 * runner: each test runs in a process of its own, which inherits the
 * environment) and stopped after the last. */
ReportHook(PRE_ALL)(struct criterion_test_set *set) {
  (void)set;
  if (g_getenv(PG_SERVER_ENV) != NULL || !pg_fixture_available())
    return;
  pg_server = pg_fixture_start();
  if (pg_server == NULL)
    return;
  g_autofree char *server = g_strdup_printf("host=127.0.0.1 port=%d user=chat connect_timeout=5",
                                            pg_fixture_port(pg_server));
  g_setenv(PG_SERVER_ENV, server, TRUE);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
  (void)stats;
  g_clear_pointer(&pg_server, pg_fixture_stop);
}

/* A fresh database for this test; its conninfo. */
static char *create_test_database(void) {
  const char *server = g_getenv(PG_SERVER_ENV);
  if (server == NULL)
    cr_skip_test("PostgreSQL binaries not found (initdb, postgres): install postgresql");
  char *conninfo = pg_fixture_new_database(server, "store");
  cr_assert_not_null(conninfo, "cannot create a database for the test");
  return conninfo;
}
#endif

char *pg_conninfo;

char *tmp_dir;

char *db_path;

GMainContext *context;

ChatdStore *store;

int pending; /* completions expected by settle() */

ChatdStore *open_store_at(const char *path, GMainContext *ctx) {
  g_autoptr(GError) error = NULL;
#ifdef STORE_FIXTURE_PG
  ChatdStore *s = chatd_store_open_postgresql(pg_conninfo, ctx, &error);
#else
  ChatdStore *s = chatd_store_open(path, ctx, &error);
#endif
  cr_assert_not_null(s, "open %s: %s", path, error != NULL ? error->message : "?");
  return s;
}

void setup(void) {
  g_autoptr(GError) error = NULL;
  tmp_dir = test_make_tmp_dir("chatd-store-XXXXXX");
  db_path = g_build_filename(tmp_dir, "chatd.db", NULL);
  context = g_main_context_new();
#ifdef STORE_FIXTURE_PG
  pg_conninfo = create_test_database();
#endif
  store = open_store_at(db_path, context);
  pending = 0;
}

void teardown(void) {
  g_clear_pointer(&store, chatd_store_close);
  g_clear_pointer(&context, g_main_context_unref);
  test_remove_tree(tmp_dir);
  g_clear_pointer(&db_path, g_free);
  g_clear_pointer(&tmp_dir, g_free);
  g_clear_pointer(&pg_conninfo, g_free);
}

TestSuite(store, .init = setup, .fini = teardown);

/* ---- waiting for completions ---- */

void settle(void) {
  while (pending > 0)
    g_main_context_iteration(context, TRUE);
}

void done_ok(const GError *error, gpointer what) {
  cr_assert_null(error, "%s: %s", (const char *)what, error != NULL ? error->message : "");
  pending--;
}

void done_outcome(const GError *error, gpointer data) {
  Outcome *outcome = data;
  outcome->done = TRUE;
  outcome->code = error != NULL ? error->code : -1;
  if (error != NULL) {
    cr_assert_eq(error->domain, CHATD_STORE_ERROR);
    outcome->message = g_strdup(error->message);
  }
}

void wait_outcome(Outcome *outcome) {
  while (!outcome->done)
    g_main_context_iteration(context, TRUE);
}

void message_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  MessageOutcome *outcome = data;
  outcome->done = TRUE;
  outcome->code = error != NULL ? error->code : -1;
  outcome->inserted = inserted;
  outcome->stored_id = stored_id;
}

ChatdMessageRecord text_record(gint64 id, gint64 sender, int target_type, gint64 target,
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

ChatdMessageRecord image_record(gint64 id, gint64 sender, int target_type, gint64 target,
                                GBytes *image) {
  ChatdMessageRecord r = {
      .id = id,
      .sender_id = sender,
      .target_type = target_type,
      .target_id = target,
      .sent_ms = T0 + id,
      .kind = CHATD_STORE_KIND_IMAGE,
      .image = image,
  };
  return r;
}

/* Stores a message and waits; returns the outcome. */
MessageOutcome add_message_wait(const ChatdMessageRecord *record, const gint64 *offline,
                                gsize n_offline) {
  MessageOutcome outcome = {0};
  cr_assert(chatd_store_add_message(store, record, offline, n_offline, message_done, &outcome));
  while (!outcome.done)
    g_main_context_iteration(context, TRUE);
  return outcome;
}

void add_text(gint64 id, gint64 sender, int target_type, gint64 target, const gint64 *offline,
              gsize n_offline) {
  g_autofree char *text = g_strdup_printf("m%" G_GINT64_FORMAT, id);
  ChatdMessageRecord r = text_record(id, sender, target_type, target, text);
  MessageOutcome o = add_message_wait(&r, offline, n_offline);
  cr_assert_eq(o.code, -1, "message %" G_GINT64_FORMAT " failed", id);
  cr_assert(o.inserted);
  cr_assert_eq(o.stored_id, id);
}

void records_done(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  ReadOutcome *outcome = data;
  cr_assert_null(error, "read: %s", error != NULL ? error->message : "");
  outcome->items = g_ptr_array_ref(records);
  outcome->more = more;
  outcome->done = TRUE;
}

void conversations_done(const GError *error, GPtrArray *conversations, gpointer data) {
  records_done(error, conversations, FALSE, data);
}

void record_done(const GError *error, const ChatdMessageRecord *record, gpointer data) {
  ReadOutcome *outcome = data;
  cr_assert_null(error, "read: %s", error != NULL ? error->message : "");
  outcome->record = record != NULL ? chatd_message_record_copy(record) : NULL;
  outcome->done = TRUE;
}

void wait_read(ReadOutcome *outcome) {
  while (!outcome->done)
    g_main_context_iteration(context, TRUE);
}

GPtrArray *history(gint64 viewer, int target_type, gint64 target, gint64 before, guint limit) {
  ReadOutcome o = {0};
  ChatdStorePageBound bound = {.limit = limit, .max_image_bytes = G_MAXSIZE};
  cr_assert(
      chatd_store_history(store, viewer, target_type, target, before, &bound, records_done, &o));
  wait_read(&o);
  return o.items;
}

GPtrArray *full_history(gint64 user) {
  ReadOutcome o = {0};
  cr_assert(chatd_store_full_history(store, user, NULL, records_done, &o));
  wait_read(&o);
  return o.items;
}

GPtrArray *conversations(gint64 user) {
  ReadOutcome o = {0};
  cr_assert(chatd_store_conversations(store, user, conversations_done, &o));
  wait_read(&o);
  return o.items;
}

ChatdMessageRecord *message_by_id(gint64 id) {
  ReadOutcome o = {0};
  cr_assert(chatd_store_message(store, id, record_done, &o));
  wait_read(&o);
  return o.record;
}

/* "1,2,3": the ids of a record array, in order. */
char *ids_of(GPtrArray *records) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < records->len; i++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, i);
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? "," : "", r->id);
  }
  return g_string_free(s, FALSE);
}

/* "4,8": the ids flagged offline. */
char *offline_ids_of(GPtrArray *records) {
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < records->len; i++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, i);
    if (r->offline)
      g_string_append_printf(s, "%s%" G_GINT64_FORMAT, s->len ? "," : "", r->id);
  }
  return g_string_free(s, FALSE);
}

void assert_ids(GPtrArray *records, const char *expected) {
  g_autofree char *got = ids_of(records);
  cr_assert_str_eq(got, expected);
  g_ptr_array_unref(records);
}

/* ---- loaders into strings ---- */

void dump_user(const ChatdStoreUser *u, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ":%s:%s:%s:%" G_GINT64_FORMAT ";", u->id,
                         u->username, u->nickname, u->password_hash, u->created_ms - T0);
}

void dump_pair(gint64 a, gint64 b, gint64 ms, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ">%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT ";", a,
                         b, ms - T0);
}

void dump_room(const ChatdStoreRoom *r, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT ":%s:%" G_GINT64_FORMAT ";", r->id, r->room_name,
                         r->creator_id);
}

void dump_member(const ChatdStoreMember *m, gpointer data) {
  g_string_append_printf(data, "%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ">=%" G_GINT64_FORMAT ";",
                         m->room_id, m->user_id, m->first_message_id);
}

void dump_session(const ChatdStoreSession *s, gpointer data) {
  g_string_append_printf(data,
                         "%02x:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                         s->token_hash[0], s->user_id, s->created_ms - T0, s->last_used_ms - T0);
}

/* ---- a small world ---- */

void add_users(void) {
  SUBMIT_OK(chatd_store_add_user, ALICE, "alice", "Alice", "hash-a", T0 + 1);
  SUBMIT_OK(chatd_store_add_user, BOB, "bob", "Bob", "hash-b", T0 + 2);
  SUBMIT_OK(chatd_store_add_user, CAROL, "carol", "Carol", "hash-c", T0 + 3);
  SUBMIT_OK(chatd_store_add_user, DAVE, "dave", "Dave", "hash-d", T0 + 4);
  settle();
}

void befriend(gint64 a, gint64 b) {
  SUBMIT_OK(chatd_store_add_friend_request, a, b, T0);
  SUBMIT_OK(chatd_store_accept_friend_request, a, b, T0 + 1);
  settle();
}

/* alice-bob, alice-carol, alice-dave are friends; room 10 has alice and
 * carol from message 1 and bob from message 8. Messages:
 *   1 a>b  2 b>a  3 a>c  4 a>b (bob offline)  5 b>a  6 room (carol)
 *   7 b>a  8 room (alice, bob offline)  9 room (bob)  10 room (carol) */
void populate(void) {
  add_users();
  befriend(ALICE, BOB);
  befriend(ALICE, CAROL);
  befriend(ALICE, DAVE);
  SUBMIT_OK(chatd_store_add_room, ROOM, "lobby", ALICE, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, ALICE, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, CAROL, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, BOB, 8, T0);
  settle();
  const gint64 bob[] = {BOB};
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

void hash_of(guint8 hash[CHATD_STORE_TOKEN_HASH_LEN], guint8 seed) {
  for (int i = 0; i < CHATD_STORE_TOKEN_HASH_LEN; i++)
    hash[i] = (guint8)(seed + i);
}

/* user_version as stored in the file header (big-endian u32). */
guint32 header_user_version(const char *path) {
  g_autofree char *contents = NULL;
  gsize len = 0;
  cr_assert(g_file_get_contents(path, &contents, &len, NULL));
  cr_assert_geq(len, SQLITE_HEADER_SIZE);
  const guint8 *p = (const guint8 *)contents + SQLITE_HEADER_USER_VERSION_OFFSET;
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

void sqlite_run(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
  sqlite3_close(db);
}
