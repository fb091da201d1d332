/* The PostgreSQL store where it differs from one SQLite file: several
 * stores (chatd nodes) on one database choose message ids in commit order
 * and never twice, and a store outlives a restart of the server (writes
 * fail with UNAVAILABLE meanwhile, never with a false success, and succeed
 * again afterwards without reopening the store). A private server per test
 * (pg-fixture.h). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "chatd/store.h"
#include "pg-fixture.h"

#define T0 1700000000000

static PgFixture *pg;
static GMainContext *context;

static void setup(void) {
  if (!pg_fixture_available())
    cr_skip_test("PostgreSQL binaries not found (initdb, postgres): install postgresql");
  pg = pg_fixture_start();
  cr_assert_not_null(pg, "the PostgreSQL fixture did not start");
  context = g_main_context_new();
}

static void teardown(void) {
  g_clear_pointer(&context, g_main_context_unref);
  pg_fixture_stop(pg);
  pg = NULL;
}

TestSuite(store_pg, .init = setup, .fini = teardown, .timeout = 120);

static ChatdStore *open_store(void) {
  g_autoptr(GError) error = NULL;
  ChatdStore *s = chatd_store_open_postgresql(pg_fixture_conninfo(pg), context, &error);
  cr_assert_not_null(s, "open: %s", error != NULL ? error->message : "?");
  return s;
}

typedef struct {
  gboolean done;
  int code;
  gint64 id;
  char *message;
} Result;

static void id_done(const GError *error, gint64 id, gpointer data) {
  Result *r = data;
  r->done = TRUE;
  r->code = error != NULL ? error->code : -1;
  r->id = id;
  r->message = error != NULL ? g_strdup(error->message) : NULL;
}

static void message_done(const GError *error, gboolean inserted, gint64 id, gpointer data) {
  id_done(error, inserted ? id : -id, data);
}

static void wait_result(Result *r) {
  gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
  while (!r->done) {
    cr_assert_lt(g_get_monotonic_time(), deadline, "no completion within 30 s");
    g_main_context_iteration(context, TRUE);
  }
}

static gint64 create_user(ChatdStore *s, const char *name) {
  Result r = {0};
  cr_assert(chatd_store_create_user(s, name, name, "hash", T0, id_done, &r));
  wait_result(&r);
  cr_assert_eq(r.code, -1, "create user %s: %s", name, r.message);
  g_free(r.message);
  return r.id;
}

static ChatdMessageRecord text(gint64 sender, gint64 receiver) {
  return (ChatdMessageRecord){
      .sender_id = sender,
      .target_type = CHATD_STORE_TARGET_USER,
      .target_id = receiver,
      .sent_ms = T0,
      .kind = CHATD_STORE_KIND_TEXT,
      .text = "hello",
      .text_len = 5,
      .font_size = 12,
  };
}

/* Two stores on one database add messages at once: every id is distinct,
 * each store's ids grow in its commit order, and across both stores a
 * message committed later has a larger id (commit timestamps). */
Test(store_pg, two_stores_choose_ids_in_commit_order) {
  ChatdStore *a = open_store();
  ChatdStore *b = open_store();
  gint64 alice = create_user(a, "alice");
  gint64 bob = create_user(b, "bob");

  enum { N = 1500 };
  Result *results = g_new0(Result, 2 * N);
  ChatdStore *stores[2] = {a, b};
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < 2; k++) {
      ChatdMessageRecord r = k == 0 ? text(alice, bob) : text(bob, alice);
      cr_assert(chatd_store_add_message(stores[k], &r, NULL, 0, message_done, &results[2 * i + k]));
    }
  }
  for (int i = 0; i < 2 * N; i++)
    wait_result(&results[i]);

  GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
  gint64 last[2] = {0, 0};
  for (int i = 0; i < 2 * N; i++) {
    Result *r = &results[i];
    cr_assert_eq(r->code, -1, "message %d: %s", i, r->message);
    cr_assert_gt(r->id, 0, "message %d was not inserted", i);
    cr_assert_not(g_hash_table_contains(seen, &r->id), "id %" G_GINT64_FORMAT " given twice",
                  r->id);
    g_hash_table_add(seen, &r->id);
    int k = i % 2;
    cr_assert_gt(r->id, last[k], "store %d: id %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT, k,
                 r->id, last[k]);
    last[k] = r->id;
    g_free(r->message);
  }
  g_hash_table_unref(seen);
  g_free(results);
  chatd_store_close(a);
  chatd_store_close(b);

  /* both stores' batches interleaved, and ids follow the commits */
  PGconn *conn = PQconnectdb(pg_fixture_conninfo(pg));
  cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
  PGresult *res = PQexec(conn, "SELECT count(*), count(DISTINCT x),"
                               " count(*) FILTER (WHERE later < ts)"
                               " FROM (SELECT xmin::text AS x,"
                               "  pg_xact_commit_timestamp(xmin) AS ts,"
                               "  lead(pg_xact_commit_timestamp(xmin)) OVER (ORDER BY id) AS later"
                               "  FROM messages) t");
  cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
  cr_assert_str_eq(PQgetvalue(res, 0, 0), "3000");
  cr_assert_gt(atoi(PQgetvalue(res, 0, 1)), 2, "the messages went in %s transactions",
               PQgetvalue(res, 0, 1));
  cr_assert_str_eq(PQgetvalue(res, 0, 2), "0",
                   "%s messages have a larger id than one committed after them",
                   PQgetvalue(res, 0, 2));
  PQclear(res);
  PQfinish(conn);
}

static Result add_wait(ChatdStore *s, gint64 sender, gint64 receiver, const char *client_id) {
  Result r = {0};
  ChatdMessageRecord m = text(sender, receiver);
  m.client_msg_id = client_id;
  cr_assert(chatd_store_add_message(s, &m, NULL, 0, message_done, &r));
  wait_result(&r);
  return r;
}

static void count_records(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  (void)more;
  Result *r = data;
  r->done = TRUE;
  r->code = error != NULL ? error->code : -1;
  r->id = records != NULL ? (gint64)records->len : -1;
}

/* The server is killed: writes and reads fail with UNAVAILABLE (no false
 * success); it comes back: the same store writes and reads again, and the
 * write that failed is not stored. */
Test(store_pg, the_store_survives_a_server_restart) {
  ChatdStore *s = open_store();
  gint64 alice = create_user(s, "alice");
  gint64 bob = create_user(s, "bob");
  Result before = add_wait(s, alice, bob, "before");
  cr_assert_eq(before.code, -1);

  pg_fixture_kill(pg);
  Result during = add_wait(s, alice, bob, "during");
  cr_assert_eq(during.code, CHATD_STORE_ERROR_UNAVAILABLE, "a write during the outage: %d (%s)",
               during.code, during.message);
  g_free(during.message);
  Result read = {0};
  cr_assert(
      chatd_store_history(s, alice, CHATD_STORE_TARGET_USER, bob, 0, NULL, count_records, &read));
  wait_result(&read);
  cr_assert_eq(read.code, CHATD_STORE_ERROR_UNAVAILABLE, "a read during the outage: %d", read.code);
  g_autoptr(GError) load_error = NULL;
  cr_assert_not(chatd_store_max_ids(s, NULL, NULL, NULL, &load_error));
  cr_assert(g_error_matches(load_error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE), "%s",
            load_error->message);

  cr_assert(pg_fixture_restart(pg));
  /* The store reconnects by itself (backoff up to 2 s): a write succeeds
   * within a few seconds; until then it may only fail with UNAVAILABLE. */
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  Result after = {0};
  for (;;) {
    g_free(after.message);
    after = add_wait(s, alice, bob, "after");
    if (after.code == -1)
      break;
    cr_assert_eq(after.code, CHATD_STORE_ERROR_UNAVAILABLE, "%s", after.message);
    cr_assert_lt(g_get_monotonic_time(), deadline, "no successful write 10 s after the restart");
    g_usleep(20000); /* polling the condition "a write succeeds", bounded above */
  }
  g_free(after.message);
  cr_assert_gt(after.id, before.id);

  Result history = {0};
  cr_assert(chatd_store_history(s, alice, CHATD_STORE_TARGET_USER, bob, 0, NULL, count_records,
                                &history));
  wait_result(&history);
  cr_assert_eq(history.code, -1);
  cr_assert_eq(history.id, 2, "before and after are stored, not the write during the outage");
  chatd_store_close(s);
}
