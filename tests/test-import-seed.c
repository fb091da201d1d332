/* The seed database importer: a seed SQLite file built here with the seed's
 * schema and its stored-notice encoding, imported into a fresh store, and
 * checked through the store's loaders and reads. Each test has its own
 * temporary directory and its own GMainContext, pushed as the thread-default
 * context (where the importer runs the store's completions). */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "chatd/import-seed.h"
#include "chatd/store.h"
#include "protocol/buffer.h"
#include "protocol/value.h"
#include "test-util.h"

/* The seed's tables as its README gives them, with the columns the README
 * cuts off (users, room_user) as the seed's code uses them. */
static const char seed_schema[] = "CREATE TABLE \"chat_history\" (\n"
                                  "\"id\" INTEGER NOT NULL,\n"
                                  "\"user_id\" INTEGER,\n"
                                  "\"target_id\" INTEGER,\n"
                                  "\"target_type\" TEXT,\n"
                                  "\"data\" BLOB,\n"
                                  "\"sent\" INTEGER,\n"
                                  "PRIMARY KEY (\"id\" ASC)\n"
                                  ");\n"
                                  "CREATE TABLE \"friends\" (\n"
                                  "\"from_user_id\" INTEGER NOT NULL,\n"
                                  "\"to_user_id\" INTEGER NOT NULL,\n"
                                  "\"accepted\" TEXT,\n"
                                  "PRIMARY KEY (\"from_user_id\" ASC, \"to_user_id\")\n"
                                  ");\n"
                                  "CREATE TABLE \"rooms\" (\n"
                                  "\"id\" INTEGER NOT NULL,\n"
                                  "\"room_name\" TEXT,\n"
                                  "PRIMARY KEY (\"id\")\n"
                                  ");\n"
                                  "CREATE TABLE \"room_user\" (\n"
                                  "\"id\" INTEGER,\n"
                                  "\"room_id\" INTEGER,\n"
                                  "\"user_id\" INTEGER,\n"
                                  "PRIMARY KEY (\"id\")\n"
                                  ");\n"
                                  "CREATE TABLE \"users\" (\n"
                                  "\"id\" INTEGER NOT NULL,\n"
                                  "\"username\" TEXT,\n"
                                  "\"password\" TEXT,\n"
                                  "\"nickname\" TEXT,\n"
                                  "PRIMARY KEY (\"id\")\n"
                                  ");\n";

enum { ALICE = 1, BOB = 2, CAROL = 3 };
enum { LOBBY = 7 };
#define T_IMAGE 1700000001000 /* the room image: earlier ... */
#define T_TEXT 1700000005000  /* ... than the 1:1 text, though stored after it */
#define TEXT_BODY "hello bob"
#define TEXT_FONT_SIZE 14
#define TEXT_FONT_COLOR "#112233"
#define HISTORY_PAGE 50

static const guint8 image_body[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0};
/* A str header whose length runs past the end: does not decode. */
static const guint8 garbage_data[] = {CHAT_WIRE_STR, 0, 0, 0, 9, 'x'};

static char *tmp_dir;
static char *store_path;
static char *seed_path;
static GMainContext *context;
static ChatdStore *store;

static void setup(void) {
  g_autoptr(GError) error = NULL;
  tmp_dir = test_make_tmp_dir("chatd-import-XXXXXX");
  store_path = g_build_filename(tmp_dir, "chatd.db", NULL);
  seed_path = g_build_filename(tmp_dir, "database.db", NULL);
  context = g_main_context_new();
  g_main_context_push_thread_default(context);
  store = chatd_store_open(store_path, context, &error);
  cr_assert_not_null(store, "open: %s", error != NULL ? error->message : "?");
}

static void teardown(void) {
  g_clear_pointer(&store, chatd_store_close);
  g_main_context_pop_thread_default(context);
  g_clear_pointer(&context, g_main_context_unref);
  test_remove_tree(tmp_dir);
  g_clear_pointer(&store_path, g_free);
  g_clear_pointer(&seed_path, g_free);
  g_clear_pointer(&tmp_dir, g_free);
}

TestSuite(import_seed, .init = setup, .fini = teardown);

/* ---- building a seed database ---- */

static sqlite3 *seed_create(const char *schema) {
  sqlite3 *db = NULL;
  cr_assert_eq(sqlite3_open(seed_path, &db), SQLITE_OK);
  char *message = NULL;
  cr_assert_eq(sqlite3_exec(db, schema, NULL, NULL, &message), SQLITE_OK, "%s", message);
  return db;
}

static void seed_close(sqlite3 *db) {
  cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

static void seed_exec(sqlite3 *db, const char *sql) {
  char *message = NULL;
  cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &message), SQLITE_OK, "%s: %s", sql, message);
}

/* The seed's stored password: unsalted MD5, lowercase hex. */
static char *seed_md5(const char *password) {
  return g_compute_checksum_for_string(G_CHECKSUM_MD5, password, -1);
}

static void seed_add_user_hash(sqlite3 *db, gint64 id, const char *username,
                               const char *password_hash, const char *nickname) {
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db,
                                  "INSERT INTO users (id, username, password, nickname) "
                                  "VALUES (?1, ?2, ?3, ?4)",
                                  -1, &stmt, NULL),
               SQLITE_OK);
  sqlite3_bind_int64(stmt, 1, id);
  sqlite3_bind_text(stmt, 2, username, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, password_hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 4, nickname, -1, SQLITE_STATIC);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
}

static void seed_add_user(sqlite3 *db, gint64 id, const char *username, const char *password,
                          const char *nickname) {
  g_autofree char *hash = seed_md5(password);
  seed_add_user_hash(db, id, username, hash, nickname);
}

/* accepted: the seed's TEXT value, or NULL. */
static void seed_add_friend(sqlite3 *db, gint64 from, gint64 to, const char *accepted) {
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db,
                                  "INSERT INTO friends (from_user_id, to_user_id, accepted) "
                                  "VALUES (?1, ?2, ?3)",
                                  -1, &stmt, NULL),
               SQLITE_OK);
  sqlite3_bind_int64(stmt, 1, from);
  sqlite3_bind_int64(stmt, 2, to);
  if (accepted != NULL)
    sqlite3_bind_text(stmt, 3, accepted, -1, SQLITE_STATIC);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
}

/* A history row as the seed's add_to_chat_history writes it (target_type is
 * a Python int in a TEXT column). */
static void seed_add_history(sqlite3 *db, gint64 id, gint64 owner, gint64 target_id,
                             int target_type, const guint8 *data, gsize len, int sent) {
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_prepare_v2(db,
                                  "INSERT INTO chat_history "
                                  "(id, user_id, target_id, target_type, data, sent) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                  -1, &stmt, NULL),
               SQLITE_OK);
  sqlite3_bind_int64(stmt, 1, id);
  sqlite3_bind_int64(stmt, 2, owner);
  sqlite3_bind_int64(stmt, 3, target_id);
  sqlite3_bind_int(stmt, 4, target_type);
  sqlite3_bind_blob(stmt, 5, data, (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_int(stmt, 6, sent);
  cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
}

/* A message body M: text (image == NULL) or image. */
typedef struct {
  const char *text;
  const guint8 *image;
  gsize image_len;
} Body;

/* Encodes N = {message: M, sender_id, sender_name, target_type, time,
 * target_id} in the seed's key order (spec/protocol.md 5.9). */
static GBytes *encode_notice(const Body *body, gint64 sender_id, const char *sender_name,
                             int target_type, gint64 time_ms, gint64 target_id) {
  chat_buffer buffer;
  chat_buffer_init(&buffer);
  chat_writer w;
  chat_writer_init(&w, &buffer);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "message");
  chat_write_dict_begin(&w);
  if (body->image == NULL) {
    chat_write_key_cstr(&w, "type");
    chat_write_int(&w, 0);
    chat_write_key_cstr(&w, "data");
    chat_write_cstr(&w, body->text);
    chat_write_key_cstr(&w, "fontsize");
    chat_write_int(&w, TEXT_FONT_SIZE);
    chat_write_key_cstr(&w, "fontcolor");
    chat_write_cstr(&w, TEXT_FONT_COLOR);
  } else {
    chat_write_key_cstr(&w, "type");
    chat_write_int(&w, 1);
    chat_write_key_cstr(&w, "data");
    chat_write_bytes(&w, body->image, body->image_len);
  }
  chat_write_dict_end(&w);
  chat_write_key_cstr(&w, "sender_id");
  chat_write_int(&w, sender_id);
  chat_write_key_cstr(&w, "sender_name");
  chat_write_cstr(&w, sender_name);
  chat_write_key_cstr(&w, "target_type");
  chat_write_int(&w, target_type);
  chat_write_key_cstr(&w, "time");
  chat_write_int(&w, time_ms);
  chat_write_key_cstr(&w, "target_id");
  chat_write_int(&w, target_id);
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  size_t len = 0;
  uint8_t *data = chat_buffer_steal(&buffer, &len);
  GBytes *bytes = g_bytes_new(data, len);
  free(data);
  chat_buffer_clear(&buffer);
  return bytes;
}

/* Stores a 1:1 message the way the seed does: the sender's copy (target =
 * receiver, sent) and the receiver's copy (target = sender). */
static void seed_add_direct(sqlite3 *db, gint64 *next_row, const Body *body, gint64 sender,
                            const char *sender_name, gint64 receiver, gint64 time_ms,
                            int receiver_sent) {
  g_autoptr(GBytes) own = encode_notice(body, sender, sender_name, 0, time_ms, receiver);
  g_autoptr(GBytes) theirs = encode_notice(body, sender, sender_name, 0, time_ms, sender);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(own, &len);
  seed_add_history(db, (*next_row)++, sender, receiver, 0, data, len, 1);
  data = g_bytes_get_data(theirs, &len);
  seed_add_history(db, (*next_row)++, receiver, sender, 0, data, len, receiver_sent);
}

/* The scenario of the main test. */
static void build_seed(void) {
  sqlite3 *db = seed_create(seed_schema);
  seed_add_user(db, ALICE, "  Alice ", "alice-pw", "Alice A.");
  seed_add_user(db, BOB, "bob", "bob-pw", "Bob");
  seed_add_user(db, CAROL, "carol", "carol-pw", "Carol");
  /* accepted: the seed stores both directions */
  seed_add_friend(db, ALICE, BOB, "1");
  seed_add_friend(db, BOB, ALICE, "1");
  seed_add_friend(db, CAROL, ALICE, "0");
  seed_exec(db, "INSERT INTO rooms (id, room_name) VALUES (7, 'lobby')");
  seed_exec(db, "INSERT INTO room_user (id, room_id, user_id) VALUES (1, 7, 1), (2, 7, 3)");

  /* rows 1, 2: Alice -> Bob, Bob was offline */
  gint64 row = 1;
  Body text = {.text = TEXT_BODY};
  seed_add_direct(db, &row, &text, ALICE, "Alice A.", BOB, T_TEXT, 0);
  /* rows 3, 4: Carol's image in the lobby, one row per member; Alice was offline */
  Body image = {.image = image_body, .image_len = sizeof image_body};
  g_autoptr(GBytes) notice = encode_notice(&image, CAROL, "Carol", 1, T_IMAGE, LOBBY);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(notice, &len);
  seed_add_history(db, row++, ALICE, LOBBY, 1, data, len, 0);
  seed_add_history(db, row++, CAROL, LOBBY, 1, data, len, 1);
  /* row 5: garbage */
  seed_add_history(db, row++, BOB, ALICE, 0, garbage_data, sizeof garbage_data, 1);
  seed_close(db);
}

/* ---- reading the store back ---- */

typedef struct {
  gint64 id;
  char *username, *nickname, *password_hash;
} LoadedUser;

static void loaded_user_clear(gpointer data) {
  LoadedUser *user = data;
  g_free(user->username);
  g_free(user->nickname);
  g_free(user->password_hash);
}

static void collect_user(const ChatdStoreUser *user, gpointer data) {
  LoadedUser copy = {user->id, g_strdup(user->username), g_strdup(user->nickname),
                     g_strdup(user->password_hash)};
  g_array_append_val((GArray *)data, copy);
}

static GArray *load_users(void) {
  GArray *users = g_array_new(FALSE, TRUE, sizeof(LoadedUser));
  g_array_set_clear_func(users, loaded_user_clear);
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_foreach_user(store, collect_user, users, &error), "%s",
            error != NULL ? error->message : "");
  return users;
}

typedef struct {
  gint64 first, second;
} Pair;

static void collect_pair(gint64 first, gint64 second, gint64 ms, gpointer data) {
  (void)ms;
  Pair pair = {first, second};
  g_array_append_val((GArray *)data, pair);
}

static GArray *load_friends(void) {
  GArray *pairs = g_array_new(FALSE, FALSE, sizeof(Pair));
  cr_assert(chatd_store_foreach_friend(store, collect_pair, pairs, NULL));
  return pairs;
}

static GArray *load_requests(void) {
  GArray *pairs = g_array_new(FALSE, FALSE, sizeof(Pair));
  cr_assert(chatd_store_foreach_friend_request(store, collect_pair, pairs, NULL));
  return pairs;
}

static void collect_room(const ChatdStoreRoom *room, gpointer data) {
  g_ptr_array_add(data, g_strdup_printf("%" G_GINT64_FORMAT ":%s:%" G_GINT64_FORMAT, room->id,
                                        room->room_name, room->creator_id));
}

static void collect_member(const ChatdStoreMember *member, gpointer data) {
  g_ptr_array_add(data,
                  g_strdup_printf("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                                  member->room_id, member->user_id, member->first_message_id));
}

typedef struct {
  gboolean done;
  GPtrArray *records;
} Records;

static void on_records(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  (void)more;
  Records *r = data;
  cr_assert_null(error, "%s", error != NULL ? error->message : "");
  r->records = g_ptr_array_ref(records);
  r->done = TRUE;
}

static GPtrArray *wait_records(Records *r) {
  while (!r->done)
    g_main_context_iteration(context, TRUE);
  return r->records;
}

static GPtrArray *full_history(gint64 user_id) {
  Records r = {0};
  cr_assert(chatd_store_full_history(store, user_id, NULL, on_records, &r));
  return wait_records(&r);
}

static GPtrArray *history(gint64 viewer_id, int target_type, gint64 target_id) {
  Records r = {0};
  ChatdStorePageBound bound = {.limit = HISTORY_PAGE, .max_image_bytes = G_MAXSIZE};
  cr_assert(
      chatd_store_history(store, viewer_id, target_type, target_id, 0, &bound, on_records, &r));
  return wait_records(&r);
}

static const ChatdMessageRecord *record_at(GPtrArray *records, guint i) {
  return g_ptr_array_index(records, i);
}

static void assert_store_empty(void) {
  gint64 users = -1, rooms = -1, messages = -1;
  cr_assert(chatd_store_max_ids(store, &users, &rooms, &messages, NULL));
  cr_assert(users == 0 && rooms == 0 && messages == 0, "the store was written to");
}

static void import_ok(ChatdImportReport *report) {
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_import_seed_db(store, seed_path, report, &error), "import: %s",
            error != NULL ? error->message : "");
}

/* Imports and expects a failure with that domain and code, whose message
 * contains each of the NULL-terminated strings. */
static void import_fails(GQuark domain, int code, ...) {
  g_auto(ChatdImportReport) report = {0};
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_import_seed_db(store, seed_path, &report, &error), "the import succeeded");
  cr_assert_not_null(error);
  cr_assert(g_error_matches(error, domain, code), "got %s %d: %s", g_quark_to_string(error->domain),
            error->code, error->message);
  va_list args;
  va_start(args, code);
  const char *needle;
  while ((needle = va_arg(args, const char *)) != NULL)
    cr_assert_not_null(strstr(error->message, needle), "\"%s\" does not name \"%s\"",
                       error->message, needle);
  va_end(args);
}

/* ---- tests ---- */

Test(import_seed, imports_everything_once) {
  build_seed();
  g_auto(ChatdImportReport) report = {0};
  import_ok(&report);

  cr_assert_eq(report.users, 3);
  cr_assert_eq(report.friendships, 1);
  cr_assert_eq(report.friend_requests, 1);
  cr_assert_eq(report.rooms, 1);
  cr_assert_eq(report.members, 2);
  cr_assert_eq(report.messages, 2);
  cr_assert_eq(report.offline_deliveries, 2);
  cr_assert_eq(report.history_rows, 5);
  cr_assert_eq(report.copies_merged, 2);
  cr_assert_eq(report.rows_skipped, 1);
  cr_assert_not_null(report.skipped);
  cr_assert_eq(report.skipped->len, 1);
  const char *why = g_ptr_array_index(report.skipped, 0);
  cr_assert_not_null(strstr(why, "chat_history row 5"), "%s", why);
  cr_assert_not_null(strstr(why, "does not decode"), "%s", why);

  /* users: same ids, normalised names, the MD5 hashes as they were */
  g_autoptr(GArray) users = load_users();
  cr_assert_eq(users->len, 3);
  static const char *const names[] = {"alice", "bob", "carol"};
  static const char *const passwords[] = {"alice-pw", "bob-pw", "carol-pw"};
  for (guint i = 0; i < users->len; i++) {
    const LoadedUser *user = &g_array_index(users, LoadedUser, i);
    g_autofree char *hash = seed_md5(passwords[i]);
    cr_assert_eq(user->id, (gint64)i + 1);
    cr_assert_str_eq(user->username, names[i]);
    cr_assert_str_eq(user->password_hash, hash);
  }
  cr_assert_str_eq(g_array_index(users, LoadedUser, 0).nickname, "Alice A.");

  /* the friendship once (both directions of one pair), the request */
  g_autoptr(GArray) friends = load_friends();
  cr_assert_eq(friends->len, 2);
  cr_assert(g_array_index(friends, Pair, 0).first == ALICE &&
            g_array_index(friends, Pair, 0).second == BOB);
  cr_assert(g_array_index(friends, Pair, 1).first == BOB &&
            g_array_index(friends, Pair, 1).second == ALICE);
  g_autoptr(GArray) requests = load_requests();
  cr_assert_eq(requests->len, 1);
  cr_assert(g_array_index(requests, Pair, 0).first == CAROL &&
            g_array_index(requests, Pair, 0).second == ALICE);

  g_autoptr(GPtrArray) rooms = g_ptr_array_new_with_free_func(g_free);
  cr_assert(chatd_store_foreach_room(store, collect_room, rooms, NULL));
  cr_assert_eq(rooms->len, 1);
  cr_assert_str_eq(g_ptr_array_index(rooms, 0), "7:lobby:0");
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func(g_free);
  cr_assert(chatd_store_foreach_member(store, collect_member, members, NULL));
  cr_assert_eq(members->len, 2);
  cr_assert_str_eq(g_ptr_array_index(members, 0), "7:1:1");
  cr_assert_str_eq(g_ptr_array_index(members, 1), "7:3:1");

  gint64 max_message = 0;
  cr_assert(chatd_store_max_ids(store, NULL, NULL, &max_message, NULL));
  cr_assert_eq(max_message, 2);

  /* ids follow time: the image (earlier) is 1 though stored after the text */
  g_autoptr(GPtrArray) alice = full_history(ALICE);
  cr_assert_eq(alice->len, 2);
  const ChatdMessageRecord *image = record_at(alice, 0);
  cr_assert_eq(image->id, 1);
  cr_assert_eq(image->kind, CHATD_STORE_KIND_IMAGE);
  cr_assert_eq(image->sender_id, CAROL);
  cr_assert_eq(image->target_type, CHATD_STORE_TARGET_ROOM);
  cr_assert_eq(image->target_id, LOBBY);
  cr_assert_eq(image->sent_ms, T_IMAGE);
  cr_assert(image->offline, "Alice's copy of the image had sent = 0");
  const ChatdMessageRecord *text = record_at(alice, 1);
  cr_assert_eq(text->id, 2);
  cr_assert_eq(text->kind, CHATD_STORE_KIND_TEXT);
  cr_assert_eq(text->sender_id, ALICE);
  cr_assert_eq(text->target_type, CHATD_STORE_TARGET_USER);
  cr_assert_eq(text->target_id, BOB, "1:1 records name the receiver");
  cr_assert_eq(text->sent_ms, T_TEXT);
  cr_assert_not(text->offline);

  g_autoptr(GPtrArray) bob = full_history(BOB);
  cr_assert_eq(bob->len, 1);
  cr_assert_eq(record_at(bob, 0)->id, 2);
  cr_assert(record_at(bob, 0)->offline, "Bob's copy had sent = 0");

  g_autoptr(GPtrArray) carol = full_history(CAROL);
  cr_assert_eq(carol->len, 1);
  cr_assert_eq(record_at(carol, 0)->id, 1);
  cr_assert_not(record_at(carol, 0)->offline);

  /* bodies */
  g_autoptr(GPtrArray) chat = history(BOB, CHATD_STORE_TARGET_USER, ALICE);
  cr_assert_eq(chat->len, 1);
  const ChatdMessageRecord *stored_text = record_at(chat, 0);
  cr_assert_eq(stored_text->text_len, strlen(TEXT_BODY));
  cr_assert_str_eq(stored_text->text, TEXT_BODY);
  cr_assert_eq(stored_text->font_size, TEXT_FONT_SIZE);
  cr_assert_str_eq(stored_text->font_color, TEXT_FONT_COLOR);
  cr_assert_str_eq(stored_text->sender_nickname, "Alice A.");
  g_autoptr(GPtrArray) lobby = history(CAROL, CHATD_STORE_TARGET_ROOM, LOBBY);
  cr_assert_eq(lobby->len, 1);
  gsize image_len = 0;
  const guint8 *image_data = g_bytes_get_data(record_at(lobby, 0)->image, &image_len);
  cr_assert_eq(image_len, sizeof image_body);
  cr_assert_arr_eq(image_data, image_body, sizeof image_body);
}

Test(import_seed, refuses_a_store_that_is_not_empty) {
  build_seed();
  import_ok(NULL);
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_NOT_EMPTY, "not empty", NULL);
  g_autoptr(GArray) users = load_users();
  cr_assert_eq(users->len, 3, "the failed import changed the store");
  g_autoptr(GPtrArray) bob = full_history(BOB);
  cr_assert_eq(bob->len, 1);
}

Test(import_seed, a_missing_table_is_named) {
  sqlite3 *db = seed_create(seed_schema);
  seed_exec(db, "DROP TABLE room_user");
  seed_close(db);
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_SCHEMA, "room_user", NULL);
  assert_store_empty();
}

Test(import_seed, a_missing_column_is_named) {
  sqlite3 *db = seed_create(seed_schema);
  seed_exec(db, "DROP TABLE users; CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, "
                "nickname TEXT)");
  seed_close(db);
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_SCHEMA, "users", "password", NULL);
  assert_store_empty();
}

Test(import_seed, column_name_variants_are_accepted) {
  sqlite3 *db = seed_create(seed_schema);
  /* another spelling and case; no nickname column: the username is shown */
  seed_exec(db, "DROP TABLE users; CREATE TABLE Users (ID INTEGER PRIMARY KEY, UserName TEXT, "
                "pwd TEXT)");
  g_autofree char *hash = seed_md5("pw");
  g_autofree char *insert = g_strdup_printf("INSERT INTO users VALUES (4, 'Dave', '%s')", hash);
  seed_exec(db, insert);
  seed_close(db);
  import_ok(NULL);
  g_autoptr(GArray) users = load_users();
  cr_assert_eq(users->len, 1);
  cr_assert_eq(g_array_index(users, LoadedUser, 0).id, 4);
  cr_assert_str_eq(g_array_index(users, LoadedUser, 0).username, "dave");
  cr_assert_str_eq(g_array_index(users, LoadedUser, 0).nickname, "dave");
}

Test(import_seed, a_username_clash_names_both_users) {
  sqlite3 *db = seed_create(seed_schema);
  seed_add_user(db, 4, "Bob", "a", "B1");
  seed_add_user(db, 9, " bob\t", "b", "B2");
  seed_close(db);
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA, "4", "9", "\"bob\"", NULL);
  assert_store_empty();
}

Test(import_seed, a_password_that_is_not_md5_hex_names_the_user) {
  sqlite3 *db = seed_create(seed_schema);
  seed_add_user(db, 1, "alice", "a", "A");
  g_autofree char *hash = seed_md5("b");
  g_autofree char *upper = g_ascii_strup(hash, -1);
  seed_add_user_hash(db, 5, "eve", upper, "E");
  seed_close(db);
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA, "user 5", "eve", NULL);
  assert_store_empty();
}

Test(import_seed, accepted_spellings) {
  sqlite3 *db = seed_create(seed_schema);
  for (gint64 id = 1; id <= 5; id++) {
    g_autofree char *name = g_strdup_printf("user%" G_GINT64_FORMAT, id);
    seed_add_user(db, id, name, "pw", name);
  }
  seed_add_friend(db, 1, 2, "true"); /* one direction only: still mutual */
  seed_add_friend(db, 3, 1, "True");
  seed_add_friend(db, 1, 3, "1");
  seed_add_friend(db, 4, 1, NULL);    /* pending */
  seed_add_friend(db, 5, 1, "false"); /* pending */
  seed_add_friend(db, 2, 1, "0");     /* pending, but 1 and 2 are friends: dropped */
  seed_add_friend(db, 1, 5, "maybe"); /* neither: skipped */
  seed_close(db);
  g_auto(ChatdImportReport) report = {0};
  import_ok(&report);
  cr_assert_eq(report.friendships, 2);
  cr_assert_eq(report.friend_requests, 2);
  cr_assert_eq(report.rows_skipped, 2);
  g_autoptr(GArray) friends = load_friends();
  cr_assert_eq(friends->len, 4);
  static const Pair expected_friends[] = {{1, 2}, {1, 3}, {2, 1}, {3, 1}};
  for (guint i = 0; i < friends->len; i++)
    cr_assert(g_array_index(friends, Pair, i).first == expected_friends[i].first &&
                  g_array_index(friends, Pair, i).second == expected_friends[i].second,
              "friend pair %u", i);
  g_autoptr(GArray) requests = load_requests();
  cr_assert_eq(requests->len, 2);
  cr_assert(g_array_index(requests, Pair, 0).first == 4 &&
            g_array_index(requests, Pair, 0).second == 1);
  cr_assert(g_array_index(requests, Pair, 1).first == 5 &&
            g_array_index(requests, Pair, 1).second == 1);
}

Test(import_seed, two_sends_in_one_millisecond_stay_two_messages) {
  sqlite3 *db = seed_create(seed_schema);
  seed_add_user(db, ALICE, "alice", "a", "A");
  seed_add_user(db, BOB, "bob", "b", "B");
  seed_add_friend(db, ALICE, BOB, "1");
  seed_add_friend(db, BOB, ALICE, "1");
  gint64 row = 1;
  Body text = {.text = "twice"};
  seed_add_direct(db, &row, &text, ALICE, "A", BOB, T_TEXT, 1);
  seed_add_direct(db, &row, &text, ALICE, "A", BOB, T_TEXT, 0);
  seed_close(db);
  g_auto(ChatdImportReport) report = {0};
  import_ok(&report);
  cr_assert_eq(report.messages, 2);
  cr_assert_eq(report.copies_merged, 2);
  g_autoptr(GPtrArray) bob = full_history(BOB);
  cr_assert_eq(bob->len, 2);
  cr_assert_not(record_at(bob, 0)->offline);
  cr_assert(record_at(bob, 1)->offline);
}

/* More messages than the importer submits between two waits, and rows
 * pointing at users or rooms that do not exist. */
#define MANY_MESSAGES 4500

Test(import_seed, many_messages_and_dangling_rows) {
  sqlite3 *db = seed_create(seed_schema);
  seed_exec(db, "BEGIN");
  seed_add_user(db, ALICE, "alice", "a", "A");
  seed_add_user(db, BOB, "bob", "b", "B");
  seed_add_friend(db, ALICE, BOB, "1");
  seed_add_friend(db, BOB, ALICE, "1");
  seed_add_friend(db, ALICE, 42, "0");
  seed_exec(db, "INSERT INTO rooms (id, room_name) VALUES (7, 'lobby')");
  seed_exec(db, "INSERT INTO room_user (id, room_id, user_id) VALUES (1, 7, 1), (2, 8, 1), "
                "(3, 7, 42), (4, 7, 1)");
  gint64 row = 1;
  for (int i = 0; i < MANY_MESSAGES; i++) {
    g_autofree char *body = g_strdup_printf("message %d", i);
    Body text = {.text = body};
    gint64 sender = i % 2 == 0 ? ALICE : BOB;
    seed_add_direct(db, &row, &text, sender, "x", sender == ALICE ? BOB : ALICE,
                    T_TEXT + MANY_MESSAGES - i, 1);
  }
  Body stray = {.text = "to room 8"};
  g_autoptr(GBytes) notice = encode_notice(&stray, ALICE, "A", 1, T_TEXT, 8);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(notice, &len);
  seed_add_history(db, row++, ALICE, 8, 1, data, len, 1);
  seed_exec(db, "COMMIT");
  seed_close(db);

  g_auto(ChatdImportReport) report = {0};
  import_ok(&report);
  cr_assert_eq(report.messages, MANY_MESSAGES);
  cr_assert_eq(report.copies_merged, MANY_MESSAGES);
  cr_assert_eq(report.members, 1);
  /* friend to 42, member of room 8, member 42, the second (7, 1), the room 8 message */
  cr_assert_eq(report.rows_skipped, 5);
  cr_assert_eq(report.skipped->len, 5);
  g_autoptr(GPtrArray) chat = history(ALICE, CHATD_STORE_TARGET_USER, BOB);
  cr_assert_eq(chat->len, HISTORY_PAGE);
  /* newest first: the smallest time is the last message stored in the seed */
  cr_assert_eq(record_at(chat, 0)->id, MANY_MESSAGES);
  g_autofree char *first = g_strdup_printf("message %d", 0);
  cr_assert_str_eq(record_at(chat, 0)->text, first);
}

/* The importer runs completions on the thread-default context; a store
 * whose completions go elsewhere is detected before anything is written. */
Test(import_seed, a_store_on_another_context_is_refused) {
  build_seed();
  g_autoptr(GError) error = NULL;
  g_autofree char *other_path = g_build_filename(tmp_dir, "other.db", NULL);
  GMainContext *other_context = g_main_context_new();
  ChatdStore *other = chatd_store_open(other_path, other_context, &error);
  cr_assert_not_null(other, "%s", error != NULL ? error->message : "");
  cr_assert_not(chatd_import_seed_db(other, seed_path, NULL, &error));
  cr_assert(g_error_matches(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_CONTEXT), "%s",
            error->message);
  gint64 users = -1;
  cr_assert(chatd_store_max_ids(other, &users, NULL, NULL, NULL));
  cr_assert_eq(users, 0);
  /* runs the check's completion late: it must find valid memory */
  chatd_store_close(other);
  g_main_context_unref(other_context);
}

Test(import_seed, a_file_that_is_not_a_database) {
  cr_assert(g_file_set_contents(seed_path, "not a database, not at all", -1, NULL));
  import_fails(CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_OPEN, NULL);
  g_autofree char *missing = g_build_filename(tmp_dir, "missing.db", NULL);
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_import_seed_db(store, missing, NULL, &error));
  cr_assert(g_error_matches(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_OPEN), "%s",
            error->message);
  assert_store_empty();
}
