/* chatd end to end: search (spec/protocol.md 5.6, "Search"). A user finds
 * the text of their own 1:1 conversations and of the rooms they are in now,
 * never anyone else's; newest first, paged with before_id and more; one
 * conversation at a time; Chinese with the trigram index (3 code points
 * and more) and without (1 and 2); and the requests that are refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd-harness.h"

static chatd_instance chatd;

#define V2 CHAT_DIALECT_V2

static void start(void) {
  chatd_start(&chatd, FALSE, NULL);
}

static void finish(void) {
  chatd_destroy(&chatd);
}

static test_client *registered(const char *user) {
  test_client *c = client_connect(chatd.port, V2);
  client_register(c, user, "pw", user);
  return c;
}

static void expect_contains(test_client *c, const char *name, const char *needle) {
  g_autofree char *got = client_expect(c, name);
  cr_assert(strstr(got, needle) != NULL, "%s %s lacks %s", name, got, needle);
}

/* a asks b to be friends and b accepts; a's user id is a_id. */
static void make_friends(test_client *a, gint64 a_id, test_client *b, const char *b_name) {
  g_autofree char *add = g_strdup_printf("\"%s\"", b_name);
  g_free(client_ask(a, "add_friend", add, "add_friend_result"));
  g_free(client_expect(b, "incoming_friend_request"));
  g_autofree char *accept = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", a_id);
  g_free(client_ask(b, "resolve_friend_request", accept, "contact_info"));
  g_free(client_expect(a, "contact_info"));
}

/* from says text to a user or room; to (NULL: nobody else online there)
 * gets it. */
static void say(test_client *from, int target_type, gint64 target_id, const char *text,
                test_client *to) {
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": %d, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"%s\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      target_type, target_id, text);
  g_free(client_ask(from, "send_message", params, "on_new_message"));
  if (to)
    expect_contains(to, "on_new_message", text);
}

/* The message ids of a search_results' notices, in order: "4,2,1". */
static char *ids_in(const char *results) {
  GString *ids = g_string_new(NULL);
  for (const char *p = strstr(results, "\"id\": "); p; p = strstr(p + 1, "\"id\": "))
    g_string_append_printf(ids, "%s%ld", ids->len ? "," : "", strtol(p + 6, NULL, 10));
  return g_string_free(ids, FALSE);
}

/* Searches and returns the answer's JSON; *ids the result ids. */
static char *search(test_client *c, const char *query, const char *extra, char **ids) {
  g_autofree char *params = g_strdup_printf(
      "{\"query\": \"%s\", \"before_id\": 0, \"limit\": 50%s}", query, extra ? extra : "");
  char *got = client_ask(c, "search", params, "search_results");
  g_autofree char *echo = g_strdup_printf("{\"query\": \"%s\", \"results\": [", query);
  cr_assert(g_str_has_prefix(got, echo), "%s", got);
  if (ids)
    *ids = ids_in(got);
  return got;
}

static void assert_found(test_client *c, const char *query, const char *extra, const char *want) {
  g_autofree char *ids = NULL;
  g_autofree char *got = search(c, query, extra, &ids);
  cr_assert_str_eq(ids, want, "\"%s\"%s: %s", query, extra ? extra : "", got);
  if (!*want)
    cr_assert(g_str_has_suffix(got, "], \"more\": false}"), "%s", got);
}

Test(chatd_search, own_conversations_only_and_rooms_one_is_in_now, .init = start, .fini = finish) {
  test_client *alice = registered("alice"); /* 1 */
  test_client *bob = registered("bob");     /* 2 */
  test_client *carol = registered("carol"); /* 3 */
  test_client *dave = registered("dave");   /* 4 */
  make_friends(alice, 1, bob, "bob");
  make_friends(carol, 3, dave, "dave");
  g_free(client_ask(alice, "create_room", "\"hikes\"", "contact_info")); /* room 1 */
  g_free(client_expect(alice, "general_msg"));
  g_free(client_ask(carol, "join_room", "1", "contact_info"));
  g_free(client_ask(dave, "create_room", "\"secret\"", "contact_info")); /* room 2 */
  g_free(client_expect(dave, "general_msg"));

  say(alice, 0, 2, "Hello Bob, 明天见", bob);           /* 1 */
  say(bob, 0, 1, "hello again 你好", alice);            /* 2 */
  say(carol, 0, 4, "hello dave, 明天 is secret", dave); /* 3 */
  say(carol, 1, 1, "HELLO hikers 明天见", alice);       /* 4 */
  say(dave, 1, 2, "hello nobody", NULL);                /* 5 */

  assert_found(alice, "hello", NULL, "4,2,1");
  g_autofree char *spans = search(alice, "hello", NULL, NULL);
  cr_assert(strstr(spans, "\"data\": \"Hello Bob, 明天见\"") != NULL, "%s", spans);
  cr_assert(strstr(spans, "\"matches\": [[0, 5]]") != NULL, "%s", spans);
  assert_found(alice, "he", NULL, "4,2,1");
  assert_found(bob, "hello", NULL, "2,1");
  assert_found(carol, "hello", NULL, "4,3");
  assert_found(dave, "hello", NULL, "5,3");
  assert_found(dave, "o", NULL, "5,3");

  /* Chinese: 3 code points use the trigram index, 1 or 2 a scan */
  assert_found(alice, "明天见", NULL, "4,1");
  assert_found(alice, "明天", NULL, "4,1");
  assert_found(alice, "天", NULL, "4,1");
  assert_found(alice, "你好", NULL, "2");
  assert_found(bob, "明天", NULL, "1");
  g_autofree char *chinese = search(alice, "明天见", NULL, NULL);
  /* "HELLO hikers " is 13 bytes; 明天见 is 9 */
  cr_assert(strstr(chinese, "\"matches\": [[13, 9]]") != NULL, "%s", chinese);

  /* one conversation; one that is not the user's is empty, not an error */
  assert_found(alice, "hello", ", \"target_type\": 0, \"target_id\": 2", "2,1");
  assert_found(alice, "hello", ", \"target_type\": 1, \"target_id\": 1", "4");
  assert_found(alice, "hello", ", \"target_type\": 1, \"target_id\": 2", "");
  assert_found(alice, "hello", ", \"target_type\": 0, \"target_id\": 3", "");
  assert_found(alice, "hello", ", \"target_type\": 0, \"target_id\": 99", "");
  assert_found(alice, "hello", ", \"target_type\": 1, \"target_id\": 99", "");
  assert_found(alice, "hello", ", \"target_type\": 0, \"target_id\": 1", "");

  /* a room left is no longer searched */
  g_free(client_ask(carol, "leave_room", "1", "left_room"));
  g_free(client_expect(alice, "room_user_on_off_line"));
  assert_found(carol, "hello", NULL, "3");
  assert_found(carol, "明天", NULL, "3");
  assert_found(carol, "hello", ", \"target_type\": 1, \"target_id\": 1", "");
  assert_found(alice, "hello", NULL, "4,2,1");

  client_free(alice);
  client_free(bob);
  client_free(carol);
  client_free(dave);
}

Test(chatd_search, pages_newest_first_with_before_id_and_more, .init = start, .fini = finish) {
  test_client *alice = registered("alice");
  test_client *bob = registered("bob");
  make_friends(alice, 1, bob, "bob");
  for (int i = 1; i <= 5; i++) {
    char text[32];
    g_snprintf(text, sizeof text, "note %d 哈哈哈", i);
    say(alice, 0, 2, text, bob);
  }
  say(bob, 0, 1, "no match here", alice); /* 6 */
  static const char *const queries[] = {"note", "哈哈"};
  /* three pages of 2, each starting below the last id of the one before */
  static const struct {
    int before_id;
    const char *ids;
    const char *ending;
  } pages[] = {
      {0, "5,4", "\"more\": true}"}, {4, "3,2", "\"more\": true}"}, {2, "1", "\"more\": false}"}};
  for (guint q = 0; q < G_N_ELEMENTS(queries); q++) {
    for (guint p = 0; p < G_N_ELEMENTS(pages); p++) {
      g_autofree char *params = g_strdup_printf(
          "{\"query\": \"%s\", \"before_id\": %d, \"limit\": 2}", queries[q], pages[p].before_id);
      g_autofree char *page = client_ask(bob, "search", params, "search_results");
      g_autofree char *ids = ids_in(page);
      cr_assert_str_eq(ids, pages[p].ids, "%s", page);
      cr_assert(g_str_has_suffix(page, pages[p].ending), "%s", page);
    }
  }
  /* every occurrence, overlapping ones too: "note 1 " is 7 bytes */
  g_autofree char *laughs = search(bob, "哈哈", ", \"target_type\": 0, \"target_id\": 1", NULL);
  cr_assert(strstr(laughs, "\"matches\": [[7, 6], [10, 6]]") != NULL, "%s", laughs);
  client_free(alice);
  client_free(bob);
}

/* The next message is request_failed with this code and request id. */
static void ask_failure(test_client *c, guint32 id, const char *params, const char *code,
                        const char *words) {
  client_send_with_id(c, "search", params, id);
  gboolean has_id = FALSE;
  guint32 got_id = 0;
  g_autofree char *next = client_next_with_id(c, HARNESS_TIMEOUT_MS, &has_id, &got_id);
  cr_assert_not_null(next, "no answer to %s", params);
  g_autofree char *want = g_strdup_printf("request_failed {\"error\": \"%s\", \"text\": \"", code);
  cr_assert(g_str_has_prefix(next, want), "%s: %s", params, next);
  cr_assert(strstr(next, words) != NULL, "%s: %s lacks %s", params, next, words);
  cr_assert(has_id && got_id == id, "%s: request id", next);
}

Test(chatd_search, refused_requests, .init = start, .fini = finish) {
  test_client *c = client_connect(chatd.port, V2);
  ask_failure(c, 1, "{\"query\": \"hi\", \"before_id\": 0, \"limit\": 1}", "not_logged_in",
              "log in");
  client_register(c, "alice", "pw", "Alice");
  ask_failure(c, 2, "{\"query\": \"\", \"before_id\": 0, \"limit\": 1}", "bad_request",
              "1 to 256 bytes");
  char query[258];
  memset(query, 'q', 257);
  query[257] = '\0';
  g_autofree char *long_query =
      g_strdup_printf("{\"query\": \"%s\", \"before_id\": 0, \"limit\": 1}", query);
  ask_failure(c, 3, long_query, "bad_request", "1 to 256 bytes");
  ask_failure(c, 4, "{\"query\": \" \\t\\n \", \"before_id\": 0, \"limit\": 1}", "bad_request",
              "white space");
  ask_failure(c, 5, "{\"query\": \"hi\", \"before_id\": 0, \"limit\": 0}", "bad_request",
              "limit must be 1 to 50");
  ask_failure(c, 6, "{\"query\": \"hi\", \"before_id\": 0, \"limit\": 51}", "bad_request",
              "limit must be 1 to 50");
  ask_failure(c, 7, "{\"query\": \"hi\", \"before_id\": 0, \"limit\": 5, \"target_type\": 0}",
              "bad_request", "go together");
  ask_failure(c, 8,
              "{\"query\": \"hi\", \"before_id\": 0, \"limit\": 5, \"target_type\": 2, "
              "\"target_id\": 1}",
              "invalid_target", "target_type");
  ask_failure(c, 9, "{\"query\": \"hi\", \"before_id\": 0}", "bad_request", "");
  /* at the bounds: accepted */
  query[256] = '\0';
  g_autofree char *longest =
      g_strdup_printf("{\"query\": \"%s\", \"before_id\": -5, \"limit\": 50}", query);
  g_autofree char *fine = client_ask(c, "search", longest, "search_results");
  cr_assert(g_str_has_suffix(fine, "\"results\": [], \"more\": false}"), "%s", fine);
  client_send_with_id(c, "search", "{\"query\": \"a\", \"before_id\": 0, \"limit\": 1}", 10);
  gboolean has_id = FALSE;
  guint32 id = 0;
  g_autofree char *answer = client_next_with_id(c, HARNESS_TIMEOUT_MS, &has_id, &id);
  cr_assert(g_str_has_prefix(answer, "search_results "), "%s", answer);
  cr_assert(has_id && id == 10);
  client_free(c);
}

static void start_small_messages(void) {
  chatd_start(&chatd, FALSE, "\"max_message_size\": 65536");
}

/* A page holds the results that fit in one message (here 64 KiB, less the
 * page's 4 KiB of room): two texts of 25,000 bytes, not three; and a text
 * with more occurrences than that carries the first 1000 spans. */
Test(chatd_search, a_page_fits_one_message_and_spans_are_capped, .init = start_small_messages,
     .fini = finish) {
  test_client *alice = registered("alice");
  test_client *bob = registered("bob");
  make_friends(alice, 1, bob, "bob");
  g_autofree char *big = g_malloc(25001);
  memset(big, 'x', 25000);
  big[25000] = '\0';
  memcpy(big + 100, "needle", 6);
  for (int i = 1; i <= 4; i++)
    say(alice, 0, 2, big, bob);
  g_autofree char *page1 = client_ask(
      bob, "search", "{\"query\": \"needle\", \"before_id\": 0, \"limit\": 50}", "search_results");
  g_autofree char *ids1 = ids_in(page1);
  cr_assert_str_eq(ids1, "4,3");
  cr_assert(g_str_has_suffix(page1, "\"more\": true}"));
  cr_assert(strstr(page1, "\"matches\": [[100, 6]]") != NULL);
  g_autofree char *page2 = client_ask(
      bob, "search", "{\"query\": \"needle\", \"before_id\": 3, \"limit\": 50}", "search_results");
  g_autofree char *ids2 = ids_in(page2);
  cr_assert_str_eq(ids2, "2,1");
  cr_assert(g_str_has_suffix(page2, "\"more\": false}"));

  g_autofree char *many = g_malloc(3001);
  memset(many, 'a', 3000);
  many[3000] = '\0';
  say(bob, 0, 1, many, alice); /* 5 */
  g_autofree char *capped = client_ask(
      alice, "search", "{\"query\": \"A\", \"before_id\": 0, \"limit\": 1}", "search_results");
  guint spans = 0;
  for (const char *p = strstr(capped, "], ["); p; p = strstr(p + 1, "], ["))
    spans++;
  cr_assert_eq(spans + 1, 1000, "%u spans", spans + 1);
  cr_assert(strstr(capped, "[999, 1]]") != NULL && strstr(capped, "[1000, 1]") == NULL);
  client_free(alice);
  client_free(bob);
}
