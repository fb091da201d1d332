/* chatd's store: search (chatd_store_search) on SQLite (the trigram index
 * and the scan of short queries) and, built as store-search-pg, PostgreSQL.
 * What a user may see and no more, newest first, paging, the bounds, and
 * the index's upgrade of an older database. The filter is chatd's matcher
 * (search-match.h), as the server uses it. Fixture: store-fixture.h. */
#include "chatd/search-match.h"
#include "store-fixture.h"

enum { ROOM_ELSEWHERE = 11 };

static gboolean matches(const char *text, gsize len, gpointer matcher) {
  return chatd_search_matcher_found(matcher, text, len);
}

typedef struct {
  gint64 user;
  const char *query;
  gsize query_len; /* 0: strlen(query) */
  gboolean has_target;
  int target_type;
  gint64 target_id;
  gint64 before;
  guint limit;
  guint max_examined;
  gsize max_examined_bytes;
} Ask;

/* The matches of a search, as "id,id,..." newest first; *more as the
 * store says. */
static char *search_ids(Ask ask, gboolean *more) {
  gsize len = ask.query_len ? ask.query_len : strlen(ask.query);
  g_autoptr(ChatdSearchMatcher) matcher = chatd_search_matcher_new(ask.query, len);
  ChatdStoreSearch search = {
      .user_id = ask.user,
      .has_target = ask.has_target,
      .target_type = ask.target_type,
      .target_id = ask.target_id,
      .query = ask.query,
      .query_len = len,
      .before_id = ask.before,
      .max_examined = ask.max_examined,
      .max_examined_bytes = ask.max_examined_bytes,
      .bound = {.limit = ask.limit ? ask.limit : 50, .max_image_bytes = G_MAXSIZE},
      .accept = matches,
      .accept_data = matcher,
  };
  ReadOutcome o = {0};
  cr_assert(chatd_store_search(store, &search, records_done, &o));
  wait_read(&o);
  for (guint i = 0; i < o.items->len; i++)
    cr_assert_eq(((ChatdMessageRecord *)g_ptr_array_index(o.items, i))->kind,
                 CHATD_STORE_KIND_TEXT);
  if (more)
    *more = o.more;
  char *ids = ids_of(o.items);
  g_ptr_array_unref(o.items);
  return ids;
}

static void assert_found(Ask ask, const char *want) {
  gboolean more = FALSE;
  g_autofree char *got = search_ids(ask, &more);
  cr_assert_str_eq(got, want, "user %" G_GINT64_FORMAT " searching \"%s\": %s, want %s", ask.user,
                   ask.query, got, want);
}

static void add_said(gint64 id, gint64 sender, int target_type, gint64 target, const char *text) {
  ChatdMessageRecord r = text_record(id, sender, target_type, target, text);
  MessageOutcome o = add_message_wait(&r, NULL, 0);
  cr_assert(o.code == -1 && o.inserted, "message %" G_GINT64_FORMAT, id);
}

static void add_picture(gint64 id, gint64 sender, gint64 target) {
  static const guint8 png[] = {0x89, 'P', 'N', 'G', 'h', 'e', 'l', 'l', 'o'};
  g_autoptr(GBytes) image = g_bytes_new_static(png, sizeof png);
  ChatdMessageRecord r = image_record(id, sender, CHATD_STORE_TARGET_USER, target, image);
  MessageOutcome o = add_message_wait(&r, NULL, 0);
  cr_assert(o.code == -1 && o.inserted);
}

/* alice-bob and carol-dave are friends; alice and carol are in ROOM from
 * message 1, bob from message 6; dave alone in ROOM_ELSEWHERE. */
static void world(void) {
  add_users();
  befriend(ALICE, BOB);
  befriend(CAROL, DAVE);
  SUBMIT_OK(chatd_store_add_room, ROOM, "lobby", ALICE, T0);
  SUBMIT_OK(chatd_store_add_room, ROOM_ELSEWHERE, "elsewhere", DAVE, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, ALICE, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, CAROL, 1, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM, BOB, 6, T0);
  SUBMIT_OK(chatd_store_add_member, ROOM_ELSEWHERE, DAVE, 1, T0);
  settle();
  add_said(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "Hello Bob, 明天见");
  add_said(2, BOB, CHATD_STORE_TARGET_USER, ALICE, "hello again");
  add_said(3, CAROL, CHATD_STORE_TARGET_USER, DAVE, "hello dave, a secret 明天");
  add_said(4, CAROL, CHATD_STORE_TARGET_ROOM, ROOM, "HELLO room, 明天见");
  add_said(5, DAVE, CHATD_STORE_TARGET_ROOM, ROOM_ELSEWHERE, "hello nobody");
  add_picture(6, ALICE, BOB);
  add_said(7, BOB, CHATD_STORE_TARGET_ROOM, ROOM, "hello everybody");
  add_said(8, ALICE, CHATD_STORE_TARGET_USER, BOB, "nothing to see");
}

Test(store_search, only_the_users_own_conversations, .init = setup, .fini = teardown) {
  world();
  /* the index (5 code points) and the scan (2) find the same */
  assert_found((Ask){.user = ALICE, .query = "hello"}, "7,4,2,1");
  assert_found((Ask){.user = ALICE, .query = "he"}, "7,4,2,1");
  assert_found((Ask){.user = BOB, .query = "hello"}, "7,2,1");
  assert_found((Ask){.user = CAROL, .query = "hello"}, "7,4,3");
  assert_found((Ask){.user = DAVE, .query = "hello"}, "5,3");
  assert_found((Ask){.user = DAVE, .query = "h"}, "5,3");
}

Test(store_search, chinese_with_and_without_the_index, .init = setup, .fini = teardown) {
  world();
  assert_found((Ask){.user = ALICE, .query = "明天见"}, "4,1");
  assert_found((Ask){.user = ALICE, .query = "明天"}, "4,1");
  assert_found((Ask){.user = ALICE, .query = "天"}, "4,1");
  assert_found((Ask){.user = DAVE, .query = "明天"}, "3");
  assert_found((Ask){.user = ALICE, .query = "明天见！"}, "");
}

/* The index folds Unicode case; the matcher only ASCII: "É" is not "é". */
Test(store_search, the_matcher_decides_case, .init = setup, .fini = teardown) {
  add_users();
  befriend(ALICE, BOB);
  add_said(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "ÉCOLE");
  add_said(2, ALICE, CHATD_STORE_TARGET_USER, BOB, "école");
  assert_found((Ask){.user = BOB, .query = "école"}, "2");
  assert_found((Ask){.user = BOB, .query = "ÉCOLE"}, "1");
  assert_found((Ask){.user = BOB, .query = "ÉCO"}, "1");
  assert_found((Ask){.user = BOB, .query = "éco"}, "2");
  assert_found((Ask){.user = BOB, .query = "COLE"}, "2,1");
}

Test(store_search, a_room_left_is_no_longer_searched, .init = setup, .fini = teardown) {
  world();
  SUBMIT_OK(chatd_store_remove_member, ROOM, CAROL);
  settle();
  assert_found((Ask){.user = CAROL, .query = "hello"}, "3");
  assert_found((Ask){.user = CAROL, .query = "h"}, "3");
}

Test(store_search, restricted_to_one_conversation, .init = setup, .fini = teardown) {
  world();
  Ask ask = {.user = ALICE, .query = "hello", .has_target = TRUE};
  ask.target_type = CHATD_STORE_TARGET_USER;
  ask.target_id = BOB;
  assert_found(ask, "2,1");
  ask.target_type = CHATD_STORE_TARGET_ROOM;
  ask.target_id = ROOM;
  assert_found(ask, "7,4");
  /* not a member there, not a conversation of hers: nothing */
  ask.target_id = ROOM_ELSEWHERE;
  assert_found(ask, "");
  ask.target_type = CHATD_STORE_TARGET_USER;
  ask.target_id = DAVE;
  assert_found(ask, "");
  ask.query = "he";
  assert_found(ask, "");
  ask.target_id = BOB;
  assert_found(ask, "2,1");
}

Test(store_search, pages_newest_first, .init = setup, .fini = teardown) {
  world();
  gboolean more = FALSE;
  for (int scan = 0; scan < 2; scan++) {
    const char *query = scan ? "l" : "hello";
    g_autofree char *first = search_ids((Ask){.user = ALICE, .query = query, .limit = 2}, &more);
    cr_assert_str_eq(first, "7,4");
    cr_assert(more);
    g_autofree char *second =
        search_ids((Ask){.user = ALICE, .query = query, .before = 4, .limit = 2}, &more);
    cr_assert_str_eq(second, "2,1");
    cr_assert_not(more);
    g_autofree char *last =
        search_ids((Ask){.user = ALICE, .query = query, .before = 1, .limit = 2}, &more);
    cr_assert_str_eq(last, "");
    cr_assert_not(more);
  }
}

/* max_examined counts candidates, matching or not; more says some remain.
 * (Short queries: the same candidates on both backends.) */
Test(store_search, examines_at_most_max_examined, .init = setup, .fini = teardown) {
  world();
  gboolean more = FALSE;
  g_autofree char *some = search_ids((Ask){.user = ALICE, .query = "e", .max_examined = 2}, &more);
  cr_assert_str_eq(some, "8,7");
  cr_assert(more);
  /* "nothing to see" (8, the newest) is the only candidate examined */
  g_autofree char *none = search_ids((Ask){.user = ALICE, .query = "ll", .max_examined = 1}, &more);
  cr_assert_str_eq(none, "");
  cr_assert(more);
  g_autofree char *all = search_ids((Ask){.user = ALICE, .query = "ll", .max_examined = 5}, &more);
  cr_assert_str_eq(all, "7,4,2,1");
  cr_assert_not(more);
  /* and their text: once 14 bytes are read ("nothing to see"), no more */
  g_autofree char *by_bytes =
      search_ids((Ask){.user = ALICE, .query = "e", .max_examined_bytes = 14}, &more);
  cr_assert_str_eq(by_bytes, "8");
  cr_assert(more);
  g_autofree char *one_more =
      search_ids((Ask){.user = ALICE, .query = "e", .max_examined_bytes = 15}, &more);
  cr_assert_str_eq(one_more, "8,7");
  cr_assert(more);
}

Test(store_search, texts_with_nul_are_searched, .init = setup, .fini = teardown) {
  add_users();
  befriend(ALICE, BOB);
  static const char text[] = "abc\0def";
  ChatdMessageRecord r = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "");
  r.text = text;
  r.text_len = sizeof text - 1;
  cr_assert(add_message_wait(&r, NULL, 0).inserted);
  assert_found((Ask){.user = BOB, .query = "def"}, "1");
  assert_found((Ask){.user = BOB, .query = "c\0d", .query_len = 3}, "1");
  assert_found((Ask){.user = BOB, .query = "abcdef"}, "");
}

/* A database of schema 2 (no index yet) gets one on opening, with the
 * texts it holds. */
Test(store_search, the_upgrade_indexes_existing_messages, .init = setup, .fini = teardown) {
  SQLITE_ONLY("the trigram index is SQLite's");
  world();
  g_clear_pointer(&store, chatd_store_close);
  sqlite_run(db_path, UNDO_SCHEMA_3_SQL "PRAGMA user_version = 2;");
  store = open_store_at(db_path, context);
  cr_assert_eq(chatd_store_schema_version(store), CHATD_STORE_SCHEMA_VERSION);
  assert_found((Ask){.user = ALICE, .query = "hello"}, "7,4,2,1");
  add_said(9, BOB, CHATD_STORE_TARGET_USER, ALICE, "hello once more");
  assert_found((Ask){.user = ALICE, .query = "hello"}, "9,7,4,2,1");
}
