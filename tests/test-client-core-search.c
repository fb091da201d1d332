/* The client core's search (chat-search.h) without a network: what the
 * session sends, how search_results, a refusal and a lost connection end
 * the search, and which match spans a hit keeps. */
#include "client-core-fixture.h"

#include "gtk-client/core/chat-search.h"

static void wait_done(search_outcome *o) {
  cr_assert(test_spin_until(search_outcome_is_done, o, HARNESS_TIMEOUT_MS), "the search ends");
}

/* "start+length,..." of a hit's matches. */
static char *matches_of(ChatSearchHit *hit) {
  guint n = 0;
  const guint *pairs = chat_search_hit_get_matches(hit, &n);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%s%u+%u", i ? "," : "", pairs[2 * i], pairs[2 * i + 1]);
  return g_string_free(s, FALSE);
}

static char *result_json(const char *notice_json, const char *matches) {
  return g_strdup_printf("{\"notice\": %s, \"matches\": %s}", notice_json, matches);
}

Test(client_search, a_search_is_a_request_its_results_answer, .init = setup_v2, .fini = teardown) {
  login_v2();
  search_outcome o = {0};
  chat_session_search_async(fx.session, "dinner", contact(CHAT_CONTACT_FRIEND, BOB), 0, 20, NULL,
                            search_outcome_on_search, &o);
  guint32 id;
  g_autofree char *sent = expect_sent_with_id("search", &id);
  cr_assert_str_eq(sent, "{\"query\": \"dinner\", \"before_id\": 0, \"limit\": 20, "
                         "\"target_type\": 0, \"target_id\": 2}");
  g_autofree char *from_bob_plain = notice(12, BOB, "Bob", 0, ALICE, 5000, "Dinner? dinner!", NULL);
  g_autofree char *from_bob = with_username(from_bob_plain, "bob");
  g_autofree char *from_alice = notice(9, ALICE, "Alice", 0, BOB, 4000, "no dinner", NULL);
  g_autofree char *first = result_json(from_bob, "[[0, 6], [8, 6]]");
  g_autofree char *second = result_json(from_alice, "[[3, 6]]");
  g_autofree char *page = g_strdup_printf(
      "{\"query\": \"dinner\", \"results\": [%s, %s], \"more\": true}", first, second);
  /* Another request's answer does not end it. */
  feed_with_id("search_results", "{\"query\": \"x\", \"results\": [], \"more\": false}", id + 1);
  harness_spin(10);
  cr_assert_not(o.done);
  feed_with_id("search_results", page, id);
  wait_done(&o);
  cr_assert_not_null(o.results, "%s", o.error ? o.error->message : "");
  cr_assert_str_eq(o.results->query, "dinner");
  cr_assert(o.results->more);
  cr_assert_eq(o.results->before_id, 9, "the next page starts below the oldest hit");
  cr_assert_eq(o.results->hits->len, 2);
  ChatSearchHit *hit = g_ptr_array_index(o.results->hits, 0);
  cr_assert_eq(chat_search_hit_get_message_id(hit), 12);
  cr_assert_eq(chat_search_hit_get_contact_kind(hit), CHAT_CONTACT_FRIEND);
  cr_assert_eq(chat_search_hit_get_target_id(hit), BOB, "from bob: the conversation with bob");
  cr_assert_not(chat_search_hit_get_outgoing(hit));
  cr_assert_str_eq(chat_search_hit_get_sender_name(hit), "Bob");
  cr_assert_str_eq(chat_search_hit_get_sender_username(hit), "bob");
  cr_assert_eq(chat_search_hit_get_time(hit), 5000);
  cr_assert_str_eq(chat_search_hit_get_text(hit), "Dinner? dinner!");
  g_autofree char *spans = matches_of(hit);
  cr_assert_str_eq(spans, "0+6,8+6");
  ChatSearchHit *mine = g_ptr_array_index(o.results->hits, 1);
  cr_assert(chat_search_hit_get_outgoing(mine));
  cr_assert_eq(chat_search_hit_get_target_id(mine), BOB, "to bob: the conversation with bob");
  search_outcome_clear(&o);
}

Test(client_search, a_hit_keeps_only_spans_a_display_can_use, .init = setup_v2, .fini = teardown) {
  login_v2();
  search_outcome o = {0};
  chat_session_search_async(fx.session, "x", NULL, 0, 20, NULL, search_outcome_on_search, &o);
  guint32 id;
  g_free(expect_sent_with_id("search", &id));
  /* "a爬山b": 爬 at 1..4, 山 at 4..7. */
  g_autofree char *n = notice(3, BOB, "Bob", 1, ROOM, 1000, "a爬山b", NULL);
  g_autofree char *result =
      result_json(n, "[[1, 3], [2, 3], [0, 1], [4, 100], [-1, 2], [4, 0], [5, 2], [7, 1]]");
  g_autofree char *page =
      g_strdup_printf("{\"query\": \"x\", \"results\": [%s], \"more\": false}", result);
  feed_with_id("search_results", page, id);
  wait_done(&o);
  ChatSearchHit *hit = g_ptr_array_index(o.results->hits, 0);
  cr_assert_eq(chat_search_hit_get_contact_kind(hit), CHAT_CONTACT_ROOM);
  cr_assert_eq(chat_search_hit_get_target_id(hit), ROOM);
  g_autofree char *spans = matches_of(hit);
  cr_assert_str_eq(spans, "1+3,7+1",
                   "overlapping, out of order, outside the text, empty or inside a "
                   "character: left out");
  search_outcome_clear(&o);
}

static void on_notice(ChatSession *session, const char *text, gpointer data) {
  (*(guint *)data)++;
}

Test(client_search, a_refusal_fails_the_search_with_its_code_not_as_a_notice, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  guint notices = 0;
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_notice), &notices);
  search_outcome o = {0};
  chat_session_search_async(fx.session, "dinner", NULL, 0, 20, NULL, search_outcome_on_search, &o);
  guint32 id;
  g_free(expect_sent_with_id("search", &id));
  feed_with_id("request_failed", "{\"error\": \"server_busy\", \"text\": \"busy\"}", id);
  wait_done(&o);
  cr_assert_null(o.results);
  cr_assert(g_error_matches(o.error, CHAT_REQUEST_FAILED_ERROR, CHAT_REQUEST_ERROR_SERVER_BUSY));
  cr_assert_eq(chat_search_error_get_code(o.error), CHAT_REQUEST_ERROR_SERVER_BUSY);
  cr_assert_str_eq(o.error->message, "busy");
  cr_assert_eq(notices, 0, "the search panel tells it, not the whole application");
  search_outcome_clear(&o);
}

Test(client_search, a_lost_connection_fails_a_waiting_search, .init = setup_v2, .fini = teardown) {
  login_v2();
  search_outcome o = {0};
  chat_session_search_async(fx.session, "dinner", NULL, 0, 20, NULL, search_outcome_on_search, &o);
  g_free(expect_sent("search"));
  chat_session_test_drop_connection(fx.session);
  wait_done(&o);
  cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED), "%s",
            o.error ? o.error->message : "no error");
  /* Offline, a new one fails at once. */
  search_outcome_clear(&o);
  chat_session_search_async(fx.session, "dinner", NULL, 0, 20, NULL, search_outcome_on_search, &o);
  wait_done(&o);
  cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED));
  expect_nothing_sent();
  search_outcome_clear(&o);
}

Test(client_search, a_cancelled_search_ignores_its_late_results, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  search_outcome o = {0};
  g_autoptr(GCancellable) cancellable = g_cancellable_new();
  chat_session_search_async(fx.session, "dinner", NULL, 0, 20, cancellable,
                            search_outcome_on_search, &o);
  guint32 id;
  g_free(expect_sent_with_id("search", &id));
  g_cancellable_cancel(cancellable);
  feed_with_id("search_results", "{\"query\": \"dinner\", \"results\": [], \"more\": false}", id);
  wait_done(&o);
  cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  search_outcome_clear(&o);
}

Test(client_search, what_the_server_would_refuse_is_not_sent, .init = setup_v2, .fini = teardown) {
  login_v2();
  search_outcome o = {0};
  g_autofree char *too_long = g_strnfill(CHAT_SEARCH_QUERY_MAX + 1, 'a');
  const char *queries[] = {"", " \t\n", too_long, "ok", "ok"};
  const guint limits[] = {20, 20, 20, 0, CHAT_SEARCH_LIMIT_MAX + 1};
  for (guint i = 0; i < G_N_ELEMENTS(queries); i++) {
    search_outcome_clear(&o);
    chat_session_search_async(fx.session, queries[i], NULL, 0, limits[i], NULL,
                              search_outcome_on_search, &o);
    wait_done(&o);
    cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT), "case %u", i);
  }
  expect_nothing_sent();
  search_outcome_clear(&o);
}

Test(client_search, the_seed_dialect_cannot_search, .init = setup_seed, .fini = teardown) {
  search_outcome o = {0};
  chat_session_search_async(fx.session, "dinner", NULL, 0, 20, NULL, search_outcome_on_search, &o);
  wait_done(&o);
  cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED));
  expect_nothing_sent();
  search_outcome_clear(&o);
}

/* ---- loading history up to a message ---- */

typedef struct {
  gboolean done, ok;
  GError *error;
} loaded;

static void on_loaded(GObject *source, GAsyncResult *result, gpointer data) {
  loaded *l = data;
  l->ok = chat_session_load_until_finish(CHAT_SESSION(source), result, &l->error);
  l->done = TRUE;
}

static gboolean load_done(gpointer data) {
  return ((loaded *)data)->done;
}

/* A history page of bob's messages first..last (newest first). */
static void feed_page(guint32 request_id, gint64 first, gint64 last, gboolean more) {
  g_autoptr(GString) messages = g_string_new(NULL);
  for (gint64 id = last; id >= first; id--) {
    g_autofree char *n = notice(id, BOB, "Bob", 0, ALICE, 1000 + id, "filler", NULL);
    g_string_append_printf(messages, "%s%s", id == last ? "" : ", ", n);
  }
  g_autofree char *page =
      g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"messages\": [%s], \"more\": %s}",
                      messages->str, more ? "true" : "false");
  feed_with_id("history_page", page, request_id);
}

static gboolean something_sent(gpointer data) {
  return fx.sent.length > 0;
}

/* The fetch_history the session sends next; its before_id must be before. */
static guint32 expect_fetch(gint64 before) {
  guint32 id;
  g_autofree char *sent = expect_sent_with_id("fetch_history", &id);
  g_autofree char *wanted = g_strdup_printf("\"before_id\": %" G_GINT64_FORMAT ",", before);
  cr_assert(strstr(sent, wanted), "expected before_id %" G_GINT64_FORMAT ": %s", before, sent);
  return id;
}

Test(client_search, load_until_pages_in_history_until_the_message_is_there, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatConversation *conv =
      chat_session_get_conversation(fx.session, contact(CHAT_CONTACT_FRIEND, BOB));
  guint32 newest = expect_fetch(0);
  loaded l = {0};
  /* Asked while the newest page is still on its way: it waits for it. */
  chat_session_load_until_async(fx.session, conv, 3, NULL, on_loaded, &l);
  expect_nothing_sent();
  feed_page(newest, 10, 11, TRUE);
  cr_assert(test_spin_until(something_sent, NULL, HARNESS_TIMEOUT_MS));
  guint32 older = expect_fetch(10);
  feed_page(older, 5, 9, TRUE);
  cr_assert(test_spin_until(something_sent, NULL, HARNESS_TIMEOUT_MS));
  older = expect_fetch(5);
  cr_assert_not(l.done);
  feed_page(older, 3, 4, FALSE);
  cr_assert(test_spin_until(load_done, &l, HARNESS_TIMEOUT_MS));
  cr_assert(l.ok, "%s", l.error ? l.error->message : "");
  guint position;
  cr_assert(chat_conversation_find_position(conv, 3, &position));
  cr_assert_eq(position, 0);
  cr_assert_eq(chat_message_item_get_id(message_at(conv, position)), 3);

  /* The start of the history is loaded: a message before it is gone. */
  loaded gone = {0};
  chat_session_load_until_async(fx.session, conv, 2, NULL, on_loaded, &gone);
  cr_assert(test_spin_until(load_done, &gone, HARNESS_TIMEOUT_MS));
  cr_assert(g_error_matches(gone.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
  expect_nothing_sent();
  g_clear_error(&gone.error);
}

Test(client_search, load_until_fails_when_the_connection_is_lost, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatConversation *conv =
      chat_session_get_conversation(fx.session, contact(CHAT_CONTACT_FRIEND, BOB));
  guint32 newest = expect_fetch(0);
  feed_page(newest, 10, 11, TRUE);
  loaded l = {0};
  chat_session_load_until_async(fx.session, conv, 3, NULL, on_loaded, &l);
  expect_fetch(10);
  chat_session_test_drop_connection(fx.session);
  cr_assert(test_spin_until(load_done, &l, HARNESS_TIMEOUT_MS));
  cr_assert(g_error_matches(l.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED), "%s",
            l.error ? l.error->message : "no error");
  g_clear_error(&l.error);
}
