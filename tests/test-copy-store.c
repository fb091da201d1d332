/* chatd --copy-store (chatd/copy-store.h), through the real chatd binary: an
 * SQLite database written with the store's API is copied into a private
 * PostgreSQL server (pg-fixture.h), then the PostgreSQL store must read back
 * exactly what the SQLite store read: the same rows through every loader,
 * the same history pages, conversations (unread counts), messages by id
 * (images byte for byte) and max ids, and it must go on with ids past the
 * copied ones. A non-empty target is refused and left as it was; a copy
 * that fails halfway leaves the target empty. Suite cluster. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include "chatd/search-match.h"
#include "chatd/store-pg.h"
#include "chatd/store.h"
#include "pg-fixture.h"
#include "run-program.h"
#include "test-util.h"

enum { ALICE = 1, BOB = 2, CAROL = 3, DAVE = 4 };
enum { ROOM = 10, QUIET_ROOM = 11 };
static const gint64 users[] = {ALICE, BOB, CAROL, DAVE};
/* Sizes of history pages read back (1: one message per page). */
static const guint page_sizes[] = {1, 2, 1000};

#define T0 1700000000000 /* a plausible "now" in ms */
/* A password given in the target's conninfo: the fixture trusts loopback
 * connections, so libpq carries it unused; chatd must never print it. */
#define CONNINFO_PASSWORD "not-to-be-printed-7f3a"
/* Every password hash starts with this, to find one in chatd's output. */
#define HASH_PREFIX "$argon2id$v=19$m=65536,t=3,p=1$"

static PgFixture *pg;

static void write_file(const char *path, const char *text) {
  g_autoptr(GError) error = NULL;
  cr_assert(g_file_set_contents(path, text, -1, &error), "%s: %s", path,
            error != NULL ? error->message : "");
}

static char *tmp_dir;
static char *source_db;
static char *source_config;
static GMainContext *context;

static void setup(void) {
  if (!pg_fixture_available())
    cr_skip_test("PostgreSQL binaries not found (initdb, postgres): install postgresql");
  pg = pg_fixture_start();
  cr_assert_not_null(pg, "the PostgreSQL fixture did not start");
  tmp_dir = test_make_tmp_dir("copy-store-XXXXXX");
  source_db = g_build_filename(tmp_dir, "data", "chatd.db", NULL);
  g_autofree char *data_dir = g_path_get_dirname(source_db);
  cr_assert_eq(g_mkdir_with_parents(data_dir, 0700), 0);
  source_config = g_build_filename(tmp_dir, "sqlite.json", NULL);
  /* relative to the config file, as an operator would write it */
  write_file(source_config, "{\"server\": {\"database\": \"data/chatd.db\"}}");
  context = g_main_context_new();
}

static void teardown(void) {
  pg_fixture_stop(pg);
  pg = NULL;
  if (tmp_dir != NULL)
    test_remove_tree(tmp_dir);
  g_clear_pointer(&tmp_dir, g_free);
  g_clear_pointer(&source_db, g_free);
  g_clear_pointer(&source_config, g_free);
  g_clear_pointer(&context, g_main_context_unref);
}

TestSuite(copy_store, .init = setup, .fini = teardown, .timeout = 180);

static char *hex_of(const guint8 *bytes, gsize len) {
  GString *out = g_string_new("");
  for (gsize i = 0; i < len; i++)
    g_string_append_printf(out, "%02x", bytes[i]);
  return g_string_free(out, FALSE);
}

/* ---- waiting for the store ---- */

typedef struct {
  gboolean done;
  char *error;
  gint64 id;
  gboolean inserted;
  GPtrArray *items;
  gboolean more;
  ChatdMessageRecord *record;
} Wait;

static void wait_done(Wait *w) {
  while (!w->done)
    g_main_context_iteration(context, TRUE);
}

static void on_done(const GError *error, gpointer data) {
  Wait *w = data;
  w->error = error != NULL ? g_strdup(error->message) : NULL;
  w->done = TRUE;
}

static void on_message(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  Wait *w = data;
  w->inserted = inserted;
  w->id = stored_id;
  on_done(error, data);
}

static void on_id(const GError *error, gint64 id, gpointer data) {
  Wait *w = data;
  w->id = id;
  on_done(error, data);
}

static void on_records(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  Wait *w = data;
  w->items = records != NULL ? g_ptr_array_ref(records) : NULL;
  w->more = more;
  on_done(error, data);
}

static void on_conversations(const GError *error, GPtrArray *conversations, gpointer data) {
  on_records(error, conversations, FALSE, data);
}

static void on_record(const GError *error, const ChatdMessageRecord *record, gpointer data) {
  Wait *w = data;
  w->record = record != NULL ? chatd_message_record_copy(record) : NULL;
  on_done(error, data);
}

/* Submits a write with on_done/&w, waits and asserts it succeeded. */
#define WRITE_OK(fn, ...)                                                                          \
  do {                                                                                             \
    Wait w_ = {0};                                                                                 \
    cr_assert(fn(__VA_ARGS__, on_done, &w_), #fn " was refused");                                  \
    wait_done(&w_);                                                                                \
    cr_assert_null(w_.error, #fn ": %s", w_.error);                                                \
  } while (0)

static void wait_ok(Wait *w, const char *what) {
  wait_done(w);
  cr_assert_null(w->error, "%s: %s", what, w->error);
}

/* ---- the source database ---- */

static void token_hash(guint8 hash[CHATD_STORE_TOKEN_HASH_LEN], guint8 seed) {
  for (int i = 0; i < CHATD_STORE_TOKEN_HASH_LEN; i++)
    hash[i] = (guint8)(seed * 31 + i * 7);
}

static gint64 add_message(ChatdStore *store, const ChatdMessageRecord *record,
                          const gint64 *offline, gsize n_offline) {
  Wait w = {0};
  cr_assert(chatd_store_add_message(store, record, offline, n_offline, on_message, &w));
  wait_ok(&w, "add_message");
  cr_assert(w.inserted);
  return w.id;
}

static void add_text(ChatdStore *store, gint64 id, gint64 sender, int target_type, gint64 target,
                     const char *text, gsize text_len, const char *client_msg_id,
                     const gint64 *offline, gsize n_offline) {
  ChatdMessageRecord r = {
      .id = id,
      .sender_id = sender,
      .target_type = target_type,
      .target_id = target,
      .sent_ms = T0 + id * 1000,
      .kind = CHATD_STORE_KIND_TEXT,
      .text = text,
      .text_len = text_len,
      .font_size = 12 + (int)id,
      .font_color = id % 2 ? "#102030" : NULL,
      .client_msg_id = client_msg_id,
  };
  cr_assert_eq(add_message(store, &r, offline, n_offline), id);
}

/* An image holding every byte value, the escapes of COPY's text format
 * among them, behind a PNG signature. */
static GBytes *test_image(void) {
  static const guint8 png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  GByteArray *bytes = g_byte_array_new();
  g_byte_array_append(bytes, png, sizeof png);
  for (int round = 0; round < 3; round++)
    for (int b = 0; b < 256; b++) {
      guint8 byte = (guint8)b;
      g_byte_array_append(bytes, &byte, 1);
    }
  return g_byte_array_free_to_bytes(bytes);
}

/* Users, a friendship, a pending request, two rooms with members, 1:1 and
 * room messages (texts that need escaping, an image, client_msg_ids),
 * offline deliveries, read markers and sessions, all with the store's
 * API. */
static void fill_source(ChatdStore *store) {
  static const char *const names[] = {"alice", "bob", "carol", "dave"};
  static const char *const nicknames[] = {"Alice", "Bob \\ the \"builder\"", "Carol\tTab",
                                          "Dave 😀 ünïcode"};
  for (gsize i = 0; i < G_N_ELEMENTS(users); i++) {
    g_autofree char *hash =
        g_strdup_printf(HASH_PREFIX "c2FsdC0lzu%dZWQ$aGFzaC1vZi0%d", (int)i, (int)i * 7);
    WRITE_OK(chatd_store_add_user, store, users[i], names[i], nicknames[i], hash,
             T0 - 1000000 + (gint64)i);
  }
  WRITE_OK(chatd_store_add_friend_request, store, ALICE, BOB, T0 + 1);
  WRITE_OK(chatd_store_accept_friend_request, store, ALICE, BOB, T0 + 2);
  WRITE_OK(chatd_store_add_friend_request, store, ALICE, CAROL, T0 + 3);
  WRITE_OK(chatd_store_add_friend_request, store, DAVE, CAROL, T0 + 4);
  WRITE_OK(chatd_store_add_friend_request, store, CAROL, DAVE, T0 + 5);
  WRITE_OK(chatd_store_accept_friend_request, store, CAROL, DAVE, T0 + 6);
  WRITE_OK(chatd_store_add_room, store, ROOM, "the room\\with\nodd name", ALICE, T0 + 7);
  WRITE_OK(chatd_store_add_room, store, QUIET_ROOM, "quiet", 0, T0 + 8);
  WRITE_OK(chatd_store_add_member, store, ROOM, ALICE, 1, T0 + 9);
  WRITE_OK(chatd_store_add_member, store, ROOM, BOB, 1, T0 + 10);
  WRITE_OK(chatd_store_add_member, store, QUIET_ROOM, DAVE, 1, T0 + 11);

  static const char escapes[] = "tab\there, newline\nthere, CR\r, backslash \\ and \\N, "
                                "\\x41 is not hex";
  gint64 bob[] = {BOB};
  gint64 alice[] = {ALICE};
  add_text(store, 1, ALICE, CHATD_STORE_TARGET_USER, BOB, escapes, strlen(escapes), "c-1", NULL, 0);
  g_autoptr(GBytes) image = test_image();
  ChatdMessageRecord picture = {
      .id = 2,
      .sender_id = BOB,
      .target_type = CHATD_STORE_TARGET_USER,
      .target_id = ALICE,
      .sent_ms = T0 + 2000,
      .kind = CHATD_STORE_KIND_IMAGE,
      .image = image,
      .client_msg_id = "img\\1\t",
  };
  cr_assert_eq(add_message(store, &picture, alice, 1), 2);
  add_text(store, 3, ALICE, CHATD_STORE_TARGET_ROOM, ROOM, "hi room", 7, NULL, bob, 1);
  add_text(store, 4, BOB, CHATD_STORE_TARGET_ROOM, ROOM, "hi all", 6, "c-1", NULL, 0);
  WRITE_OK(chatd_store_add_member, store, ROOM, CAROL, 5, T0 + 12);
  add_text(store, 5, CAROL, CHATD_STORE_TARGET_ROOM, ROOM, "late but here", 13, NULL, bob, 1);
  add_text(store, 6, ALICE, CHATD_STORE_TARGET_USER, BOB, "are you there?", 14, "c-2", bob, 1);
  add_text(store, 7, DAVE, CHATD_STORE_TARGET_USER, CAROL, "x", 1, NULL, NULL, 0);
  add_text(store, 8, BOB, CHATD_STORE_TARGET_USER, ALICE, "nul\0inside", 10, NULL, NULL, 0);
  /* ids need not be contiguous */
  add_text(store, 40, CAROL, CHATD_STORE_TARGET_USER, DAVE, "after a gap", 11, NULL, NULL, 0);
  WRITE_OK(chatd_store_remove_member, store, ROOM, BOB);
  WRITE_OK(chatd_store_add_member, store, ROOM, BOB, 41, T0 + 13);

  WRITE_OK(chatd_store_mark_read, store, BOB, CHATD_STORE_TARGET_USER, ALICE, 1);
  WRITE_OK(chatd_store_mark_read, store, ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 4);
  WRITE_OK(chatd_store_mark_read, store, CAROL, CHATD_STORE_TARGET_USER, DAVE, 7);
  WRITE_OK(chatd_store_clear_offline, store, ALICE, 2);

  guint8 hash[CHATD_STORE_TOKEN_HASH_LEN];
  for (guint8 i = 0; i < 3; i++) {
    token_hash(hash, i);
    WRITE_OK(chatd_store_add_session, store, hash, users[i], T0 + 100 + i);
  }
  token_hash(hash, 1);
  WRITE_OK(chatd_store_touch_session, store, hash, T0 + 500);
}

/* ---- everything a store reads, as text ---- */

static void append_record(GString *out, const ChatdMessageRecord *r) {
  /* hex: a text may hold U+0000 */
  g_autofree char *text =
      r->text != NULL ? hex_of((const guint8 *)r->text, r->text_len) : g_strdup("(null)");
  g_autofree char *image = NULL;
  if (r->image != NULL) {
    gsize len;
    const guint8 *data = g_bytes_get_data(r->image, &len);
    image = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
  }
  g_string_append_printf(
      out,
      "  msg %" G_GINT64_FORMAT " from %" G_GINT64_FORMAT " (%s) to %d:%" G_GINT64_FORMAT
      " at %" G_GINT64_FORMAT " kind %d text %s (%" G_GSIZE_FORMAT
      " bytes) font %d %s image %s size %" G_GSIZE_FORMAT " format %s cmid %s offline %d\n",
      r->id, r->sender_id, r->sender_nickname, r->target_type, r->target_id, r->sent_ms, r->kind,
      text, r->text_len, r->kind == CHATD_STORE_KIND_TEXT ? r->font_size : 0,
      r->font_color != NULL ? r->font_color : "(null)", image != NULL ? image : "(none)",
      r->image_size, r->image_format != NULL ? r->image_format : "(null)",
      r->client_msg_id != NULL ? r->client_msg_id : "(null)", r->offline);
}

static void dump_user(const ChatdStoreUser *u, gpointer data) {
  g_string_append_printf(data, "user %" G_GINT64_FORMAT " %s \"%s\" %s %" G_GINT64_FORMAT "\n",
                         u->id, u->username, u->nickname, u->password_hash, u->created_ms);
}

static void dump_friend(gint64 a, gint64 b, gint64 ms, gpointer data) {
  g_string_append_printf(
      data, "friend %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", a, b, ms);
}

static void dump_request(gint64 a, gint64 b, gint64 ms, gpointer data) {
  g_string_append_printf(
      data, "request %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", a, b, ms);
}

static void dump_room(const ChatdStoreRoom *r, gpointer data) {
  g_autofree char *name = g_strescape(r->room_name, NULL);
  g_string_append_printf(
      data, "room %" G_GINT64_FORMAT " \"%s\" by %" G_GINT64_FORMAT " at %" G_GINT64_FORMAT "\n",
      r->id, name, r->creator_id, r->created_ms);
}

static void dump_member(const ChatdStoreMember *m, gpointer data) {
  g_string_append_printf(data,
                         "member %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " from %" G_GINT64_FORMAT
                         " at %" G_GINT64_FORMAT "\n",
                         m->room_id, m->user_id, m->first_message_id, m->joined_ms);
}

static void dump_session(const ChatdStoreSession *s, gpointer data) {
  g_autofree char *hash = hex_of(s->token_hash, CHATD_STORE_TOKEN_HASH_LEN);
  g_string_append_printf(
      data, "session %s of %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", hash,
      s->user_id, s->created_ms, s->last_used_ms);
}

#define LOAD(loader, store, func, out)                                                             \
  do {                                                                                             \
    g_autoptr(GError) e_ = NULL;                                                                   \
    cr_assert(loader(store, func, out, &e_), #loader ": %s", e_ != NULL ? e_->message : "");       \
  } while (0)

/* Every page of one conversation, newest first, page_size at a time. */
static void dump_pages(ChatdStore *store, GString *out, gint64 viewer, int target_type,
                       gint64 target, guint page_size) {
  gint64 before = 0;
  for (int page = 0;; page++) {
    cr_assert_lt(page, 100, "history paging does not end");
    ChatdStorePageBound bound = {.limit = page_size, .max_image_bytes = G_MAXSIZE};
    Wait w = {0};
    cr_assert(
        chatd_store_history(store, viewer, target_type, target, before, &bound, on_records, &w));
    wait_ok(&w, "history");
    g_string_append_printf(
        out, " page %d of %" G_GINT64_FORMAT " in %d:%" G_GINT64_FORMAT " by %u (more %d)\n", page,
        viewer, target_type, target, page_size, w.more);
    for (guint i = 0; i < w.items->len; i++)
      append_record(out, g_ptr_array_index(w.items, i));
    gboolean more = w.more && w.items->len > 0;
    if (w.items->len > 0)
      before = ((ChatdMessageRecord *)g_ptr_array_index(w.items, w.items->len - 1))->id;
    g_ptr_array_unref(w.items);
    if (!more)
      break;
  }
}

/* What a user sees: conversations with unread counts, each one's history in
 * pages, the whole history with offline flags. */
static void dump_user_view(ChatdStore *store, GString *out, gint64 user) {
  Wait w = {0};
  cr_assert(chatd_store_conversations(store, user, on_conversations, &w));
  wait_ok(&w, "conversations");
  g_string_append_printf(out, "conversations of %" G_GINT64_FORMAT "\n", user);
  for (guint i = 0; i < w.items->len; i++) {
    const ChatdConversation *c = g_ptr_array_index(w.items, i);
    g_string_append_printf(
        out, " %d:%" G_GINT64_FORMAT " read %" G_GINT64_FORMAT " unread %" G_GINT64_FORMAT "\n",
        c->target_type, c->target_id, c->last_read_id, c->unread);
    if (c->last != NULL)
      append_record(out, c->last);
  }
  for (guint i = 0; i < w.items->len; i++) {
    const ChatdConversation *c = g_ptr_array_index(w.items, i);
    for (gsize p = 0; p < G_N_ELEMENTS(page_sizes); p++)
      dump_pages(store, out, user, c->target_type, c->target_id, page_sizes[p]);
  }
  g_ptr_array_unref(w.items);

  Wait all = {0};
  cr_assert(chatd_store_full_history(store, user, NULL, on_records, &all));
  wait_ok(&all, "full_history");
  g_string_append_printf(out, "full history of %" G_GINT64_FORMAT " (more %d)\n", user, all.more);
  for (guint i = 0; i < all.items->len; i++)
    append_record(out, g_ptr_array_index(all.items, i));
  g_ptr_array_unref(all.items);
}

static gboolean search_matches(const char *text, gsize len, gpointer matcher) {
  return chatd_search_matcher_found(matcher, text, len);
}

/* A user's search results for queries with and without SQLite's trigram
 * index (whose tables the copy leaves behind): the same on both stores. */
static void dump_searches(ChatdStore *store, GString *out, gint64 user) {
  static const char *const queries[] = {"e", "th", "there", "TAB", "backslash \\"};
  for (gsize q = 0; q < G_N_ELEMENTS(queries); q++) {
    g_autoptr(ChatdSearchMatcher) matcher =
        chatd_search_matcher_new(queries[q], strlen(queries[q]));
    ChatdStoreSearch search = {
        .user_id = user,
        .query = queries[q],
        .query_len = strlen(queries[q]),
        .bound = {.limit = 1000, .max_image_bytes = G_MAXSIZE},
        .accept = search_matches,
        .accept_data = matcher,
    };
    Wait w = {0};
    cr_assert(chatd_store_search(store, &search, on_records, &w));
    wait_ok(&w, "search");
    g_string_append_printf(out, "search of %" G_GINT64_FORMAT " for \"%s\" (more %d):", user,
                           queries[q], w.more);
    for (guint i = 0; i < w.items->len; i++)
      g_string_append_printf(out, " %" G_GINT64_FORMAT,
                             ((ChatdMessageRecord *)g_ptr_array_index(w.items, i))->id);
    g_string_append_c(out, '\n');
    g_ptr_array_unref(w.items);
  }
}

/* Everything the store gives back, as one text to compare. */
static char *dump_store(ChatdStore *store) {
  GString *out = g_string_new("");
  LOAD(chatd_store_foreach_user, store, dump_user, out);
  LOAD(chatd_store_foreach_friend, store, dump_friend, out);
  LOAD(chatd_store_foreach_friend_request, store, dump_request, out);
  LOAD(chatd_store_foreach_room, store, dump_room, out);
  LOAD(chatd_store_foreach_member, store, dump_member, out);
  LOAD(chatd_store_foreach_session, store, dump_session, out);
  gint64 max_user = -1, max_room = -1, max_message = -1;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, &max_user, &max_room, &max_message, &error), "max_ids: %s",
            error != NULL ? error->message : "");
  g_string_append_printf(out,
                         "max ids %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
                         max_user, max_room, max_message);
  for (gsize i = 0; i < G_N_ELEMENTS(users); i++) {
    dump_user_view(store, out, users[i]);
    dump_searches(store, out, users[i]);
  }
  for (gint64 id = 1; id <= max_message + 1; id++) {
    Wait w = {0};
    cr_assert(chatd_store_message(store, id, on_record, &w));
    wait_ok(&w, "message");
    if (w.record != NULL)
      append_record(out, w.record);
    chatd_message_record_free(w.record);
  }
  return g_string_free(out, FALSE);
}

/* ---- the target ---- */

static char *target_conninfo(const char *name) {
  g_autofree char *conninfo = NULL;
  cr_assert(pg_fixture_create_database(pg, name, &conninfo));
  return g_strdup_printf("%s password=" CONNINFO_PASSWORD, conninfo);
}

static char *write_target_config(const char *conninfo) {
  g_autofree char *escaped = g_strescape(conninfo, NULL);
  g_autofree char *text = g_strdup_printf("{\"server\": {\"postgresql\": \"%s\"}}", escaped);
  char *path = g_build_filename(tmp_dir, "postgresql.json", NULL);
  write_file(path, text);
  return path;
}

static void run_copy(const char *from, const char *to, program_result *result) {
  const char *argv[] = {CHATD_PATH, "--copy-store", "--config", from, "--to", to, NULL};
  run_program(argv, NULL, 0, NULL, result);
}

/* Runs one statement on conninfo; fails the test if it fails. */
static void query(const char *conninfo, const char *sql) {
  PGconn *conn = PQconnectdb(conninfo);
  cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
  PGresult *res = PQexec(conn, sql);
  cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
            "%s: %s", sql, PQresultErrorMessage(res));
  PQclear(res);
  PQfinish(conn);
}

/* The rows of every table of the target, as "table=count ...". */
static char *target_counts(const char *conninfo) {
  static const char *const tables[] = {
      "users",    "friend_requests",    "friends",      "rooms",   "room_members",
      "messages", "offline_deliveries", "read_markers", "sessions"};
  PGconn *conn = PQconnectdb(conninfo);
  cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
  GString *out = g_string_new("");
  for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
    g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", tables[i]);
    PGresult *res = PQexec(conn, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
    g_string_append_printf(out, "%s%s=%s", i > 0 ? " " : "", tables[i], PQgetvalue(res, 0, 0));
    PQclear(res);
  }
  PQfinish(conn);
  return g_string_free(out, FALSE);
}

static ChatdStore *open_sqlite(void) {
  g_autoptr(GError) error = NULL;
  ChatdStore *store = chatd_store_open(source_db, context, &error);
  cr_assert_not_null(store, "open %s: %s", source_db, error != NULL ? error->message : "");
  return store;
}

static ChatdStore *open_postgresql(const char *conninfo) {
  g_autoptr(GError) error = NULL;
  ChatdStore *store = chatd_store_open_postgresql(conninfo, context, &error);
  cr_assert_not_null(store, "open PostgreSQL: %s", error != NULL ? error->message : "");
  return store;
}

static void assert_no_secret(const char *output) {
  cr_assert_null(strstr(output, CONNINFO_PASSWORD), "the conninfo's password was printed:\n%s",
                 output);
  cr_assert_null(strstr(output, HASH_PREFIX), "a password hash was printed:\n%s", output);
  cr_assert_null(strstr(output, "password="), "the conninfo was printed:\n%s", output);
}

/* ---- tests ---- */

Test(copy_store, copies_everything_and_postgresql_reads_it_back_alike) {
  ChatdStore *sqlite_store = open_sqlite();
  fill_source(sqlite_store);
  g_autofree char *expected = dump_store(sqlite_store);
  cr_assert(strstr(expected, "search of 1 for \"there\" (more 0): 6 1\n") != NULL,
            "the searches compared find something");
  g_autofree char *conninfo = target_conninfo("copy_target");
  g_autofree char *target_config = write_target_config(conninfo);

  /* The source stays open with its writer and checkpointer threads, as
   * under a running chatd: the copy reads it through the WAL. */
  program_result run = {0};
  run_copy(source_config, target_config, &run);
  cr_assert_eq(run.status, 0, "chatd --copy-store failed:\n%s", run.err);
  chatd_store_close(sqlite_store);

  static const char *const lines[] = {
      "users",    "friend_requests",    "friends",      "rooms",   "room_members",
      "messages", "offline_deliveries", "read_markers", "sessions"};
  for (gsize i = 0; i < G_N_ELEMENTS(lines); i++)
    cr_assert_not_null(strstr(run.err, lines[i]), "no progress line for %s:\n%s", lines[i],
                       run.err);
  cr_assert_not_null(strstr(run.err, "messages"), "%s", run.err);
  cr_assert_not_null(strstr(run.err, "copied 34 rows of 9 tables"), "no summary:\n%s", run.err);
  assert_no_secret(run.err);
  cr_assert(run.out == NULL || run.out[0] == '\0', "stdout is not for progress: %s", run.out);

  ChatdStore *pg_store = open_postgresql(conninfo);
  g_autofree char *got = dump_store(pg_store);
  cr_assert_str_eq(got, expected, "PostgreSQL reads back differently");

  /* The store goes on past the copied ids. */
  Wait message = {0};
  ChatdMessageRecord next = {
      .sender_id = ALICE,
      .target_type = CHATD_STORE_TARGET_USER,
      .target_id = BOB,
      .sent_ms = T0 + 99000,
      .kind = CHATD_STORE_KIND_TEXT,
      .text = "after the move",
      .text_len = 14,
      .font_size = 12,
      .client_msg_id = "c-3",
  };
  cr_assert(chatd_store_add_message(pg_store, &next, NULL, 0, on_message, &message));
  wait_ok(&message, "add_message");
  cr_assert(message.inserted);
  cr_assert_eq(message.id, 41, "a new message got id %" G_GINT64_FORMAT ", not 41", message.id);
  Wait again = {0};
  cr_assert(chatd_store_add_message(pg_store,
                                    &(ChatdMessageRecord){.sender_id = ALICE,
                                                          .target_type = 0,
                                                          .target_id = BOB,
                                                          .sent_ms = T0,
                                                          .kind = 0,
                                                          .text = "again",
                                                          .text_len = 5,
                                                          .font_size = 12,
                                                          .client_msg_id = "c-1"},
                                    NULL, 0, on_message, &again));
  wait_ok(&again, "add_message");
  cr_assert_not(again.inserted, "a copied client_msg_id was stored again");
  cr_assert_eq(again.id, 1);
  Wait user = {0};
  cr_assert(chatd_store_create_user(pg_store, "erin", "Erin", HASH_PREFIX "x", T0, on_id, &user));
  wait_ok(&user, "create_user");
  cr_assert_eq(user.id, DAVE + 1);
  Wait room = {0};
  cr_assert(chatd_store_create_room(pg_store, "new room", ALICE, T0, on_id, &room));
  wait_ok(&room, "create_room");
  cr_assert_eq(room.id, QUIET_ROOM + 1);
  chatd_store_close(pg_store);
  program_result_clear(&run);
}

Test(copy_store, refuses_a_target_that_is_not_empty_and_leaves_it_unchanged) {
  ChatdStore *sqlite_store = open_sqlite();
  fill_source(sqlite_store);
  chatd_store_close(sqlite_store);
  g_autofree char *conninfo = target_conninfo("copy_twice");
  g_autofree char *target_config = write_target_config(conninfo);
  program_result first = {0};
  run_copy(source_config, target_config, &first);
  cr_assert_eq(first.status, 0, "%s", first.err);
  g_autofree char *before = target_counts(conninfo);

  program_result second = {0};
  run_copy(source_config, target_config, &second);
  cr_assert_eq(second.status, 1, "a second copy into the same database: status %d\n%s",
               second.status, second.err);
  cr_assert_not_null(strstr(second.err, "not empty"), "%s", second.err);
  cr_assert_not_null(strstr(second.err, "users has 4 rows"), "%s", second.err);
  cr_assert_not_null(strstr(second.err, "messages has 9 rows"), "%s", second.err);
  assert_no_secret(second.err);
  g_autofree char *after = target_counts(conninfo);
  cr_assert_str_eq(after, before);

  /* One row in one table is enough to refuse. */
  g_autofree char *one_row = target_conninfo("one_row");
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_pg_migrate(one_row, NULL, &error), "%s",
            error != NULL ? error->message : "");
  query(one_row, "INSERT INTO users (username, nickname, password_hash, created_ms) "
                 "VALUES ('zed', 'Zed', '" HASH_PREFIX "z', 1)");
  g_autofree char *one_row_config = write_target_config(one_row);
  program_result third = {0};
  run_copy(source_config, one_row_config, &third);
  cr_assert_eq(third.status, 1, "%s", third.err);
  cr_assert_not_null(strstr(third.err, "users has 1 row)"), "%s", third.err);
  g_autofree char *counts = target_counts(one_row);
  cr_assert_str_eq(counts, "users=1 friend_requests=0 friends=0 rooms=0 room_members=0 "
                           "messages=0 offline_deliveries=0 read_markers=0 sessions=0");
  program_result_clear(&first);
  program_result_clear(&second);
  program_result_clear(&third);
}

Test(copy_store, a_copy_that_fails_halfway_leaves_the_target_empty) {
  ChatdStore *sqlite_store = open_sqlite();
  fill_source(sqlite_store);
  chatd_store_close(sqlite_store);
  /* A read marker of a user that does not exist (SQLite checks foreign
   * keys only when asked): PostgreSQL refuses it, after users, rooms and
   * messages were copied. */
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(source_db, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db,
                            "PRAGMA foreign_keys = OFF; "
                            "INSERT INTO read_markers VALUES (99, 0, 1, 1)",
                            NULL, NULL, NULL),
               SQLITE_OK, "%s", sqlite3_errmsg(db));
  sqlite3_close(db);
  g_autofree char *conninfo = target_conninfo("copy_fails");
  g_autofree char *target_config = write_target_config(conninfo);
  program_result run = {0};
  run_copy(source_config, target_config, &run);
  cr_assert_eq(run.status, 1, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "nothing was copied: copying read_markers: "), "%s", run.err);
  cr_assert_not_null(strstr(run.err, "foreign key"), "%s", run.err);
  g_autofree char *counts = target_counts(conninfo);
  cr_assert_str_eq(counts,
                   "users=0 friend_requests=0 friends=0 rooms=0 room_members=0 "
                   "messages=0 offline_deliveries=0 read_markers=0 sessions=0",
                   "the tables copied before read_markers failed must be undone");
  program_result_clear(&run);
}

Test(copy_store, needs_sqlite_on_one_side_and_postgresql_on_the_other) {
  ChatdStore *sqlite_store = open_sqlite();
  fill_source(sqlite_store);
  chatd_store_close(sqlite_store);

  /* a target config without server.postgresql */
  g_autofree char *sqlite_target = g_build_filename(tmp_dir, "other-sqlite.json", NULL);
  write_file(sqlite_target, "{\"server\": {\"database\": \"other.db\"}}");
  program_result run = {0};
  run_copy(source_config, sqlite_target, &run);
  cr_assert_eq(run.status, 1, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "no server.postgresql"), "%s", run.err);
  g_autofree char *other_db = g_build_filename(tmp_dir, "other.db", NULL);
  cr_assert_not(g_file_test(other_db, G_FILE_TEST_EXISTS), "the target config's database "
                                                           "was created");
  program_result_clear(&run);

  /* a source config that is already on PostgreSQL */
  g_autofree char *conninfo = target_conninfo("pg_source");
  g_autofree char *target_config = write_target_config(conninfo);
  run_copy(target_config, target_config, &run);
  cr_assert_eq(run.status, 1, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "server.postgresql is set"), "%s", run.err);
  assert_no_secret(run.err);
  program_result_clear(&run);

  /* --copy-store without --to, --to without --copy-store */
  const char *no_to[] = {CHATD_PATH, "--copy-store", "--config", source_config, NULL};
  run_program(no_to, NULL, 0, NULL, &run);
  cr_assert_eq(run.status, 2, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "--copy-store needs --to"), "%s", run.err);
  program_result_clear(&run);
  const char *no_copy[] = {CHATD_PATH, "--to", target_config, NULL};
  run_program(no_copy, NULL, 0, NULL, &run);
  cr_assert_eq(run.status, 2, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "--to goes with --copy-store"), "%s", run.err);
  program_result_clear(&run);
  const char *both[] = {CHATD_PATH,    "--copy-store",     "--config", source_config, "--to",
                        target_config, "--import-seed-db", source_db,  NULL};
  run_program(both, NULL, 0, NULL, &run);
  cr_assert_eq(run.status, 2, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "one at a time"), "%s", run.err);
  program_result_clear(&run);

  /* a source database that does not exist is not created */
  g_autofree char *missing_config = g_build_filename(tmp_dir, "missing.json", NULL);
  write_file(missing_config, "{\"server\": {\"database\": \"missing.db\"}}");
  run_copy(missing_config, target_config, &run);
  cr_assert_eq(run.status, 1, "%s", run.err);
  cr_assert_not_null(strstr(run.err, "no such database file"), "%s", run.err);
  g_autofree char *missing_db = g_build_filename(tmp_dir, "missing.db", NULL);
  cr_assert_not(g_file_test(missing_db, G_FILE_TEST_EXISTS));
  program_result_clear(&run);
}
