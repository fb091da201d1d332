/* The client core's search (chat-search.h) against a real chatd: what a
 * search finds, how it pages, and loading history up to a found message. */
#include "client-core-fixture.h"

#include "gtk-client/core/chat-search.h"

/* Messages bob sends alice for the history test: more than two of the
 * core's pages. */
#define LONG_HISTORY 120

static chatd_instance chatd;

typedef struct {
  gint64 alice, bob, carol, room;
} accounts;

static accounts ids;

static void start(void) {
  setup_dir();
  chatd_start(&chatd, FALSE, NULL);
}

static void stop(void) {
  teardown();
  chatd_destroy(&chatd);
}

static void send_as(test_client *c, int target_type, gint64 to, const char *text) {
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": %d, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"%s\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      target_type, to, text);
  client_send(c, "send_message", params);
  g_free(client_expect_skipping(c, "on_new_message"));
}

typedef struct {
  test_client *alice, *bob, *carol;
} clients;

/* alice with friends bob and carol, all three in bob's room; carol and
 * bob are friends too. Messages, oldest first:
 *   bob -> alice    "Dinner at eight?"
 *   carol -> bob    "dinner without alice"      (not alice's)
 *   alice -> bob    "see you at dinner, DINNER!"
 *   bob -> room     "周末去爬山"
 *   carol -> alice  "lunch instead" */
static clients populate(void) {
  clients c;
  c.alice = client_connect(chatd.port, V2);
  ids.alice = client_register(c.alice, "alice", "secret", "Alice");
  c.bob = client_connect(chatd.port, V2);
  ids.bob = client_register(c.bob, "bob", "pw", "Bob");
  c.carol = client_connect(chatd.port, V2);
  ids.carol = client_register(c.carol, "carol", "pw", "Carol");
  befriend(c.alice, c.bob, "bob", ids.alice);
  befriend(c.alice, c.carol, "carol", ids.alice);
  befriend(c.carol, c.bob, "bob", ids.carol);
  g_free(client_ask(c.bob, "create_room", "\"Hikers\"", "contact_info"));
  ids.room = 1;
  client_send(c.alice, "join_room", "1");
  g_free(client_expect_skipping(c.alice, "contact_info"));
  send_as(c.bob, 0, ids.alice, "Dinner at eight?");
  send_as(c.carol, 0, ids.bob, "dinner without alice");
  send_as(c.alice, 0, ids.bob, "see you at dinner, DINNER!");
  send_as(c.bob, 1, ids.room, "周末去爬山");
  send_as(c.carol, 0, ids.alice, "lunch instead");
  return c;
}

static void free_clients(clients *c) {
  client_free(c->alice);
  client_free(c->bob);
  client_free(c->carol);
}

static gboolean in_state(gpointer data) {
  return chat_session_get_state(data) == CHAT_SESSION_ONLINE;
}

static void log_in_alice(void) {
  fx.dialect = V2;
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(in_state, fx.session, HARNESS_TIMEOUT_MS), "alice is online");
}

static void search(search_outcome *o, const char *query, ChatContact *conversation,
                   gint64 before_id, guint limit) {
  search_outcome_clear(o);
  chat_session_search_async(fx.session, query, conversation, before_id, limit, NULL,
                            search_outcome_on_search, o);
  cr_assert(test_spin_until(search_outcome_is_done, o, HARNESS_TIMEOUT_MS),
            "the search for %s ends", query);
}

static ChatSearchHit *hit_at(search_outcome *o, guint i) {
  cr_assert_not_null(o->results, "%s", o->error ? o->error->message : "no results");
  cr_assert_lt(i, o->results->hits->len);
  return g_ptr_array_index(o->results->hits, i);
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

Test(client_search_e2e, finds_the_users_own_messages_newest_first_with_their_matches, .init = start,
     .fini = stop) {
  clients c = populate();
  log_in_alice();
  search_outcome o = {0};
  search(&o, "dinner", NULL, 0, 10);
  cr_assert_eq(o.results->hits->len, 2, "carol's message to bob is not alice's");
  cr_assert_not(o.results->more);
  ChatSearchHit *newest = hit_at(&o, 0);
  cr_assert_str_eq(chat_search_hit_get_text(newest), "see you at dinner, DINNER!");
  cr_assert(chat_search_hit_get_outgoing(newest));
  cr_assert_eq(chat_search_hit_get_contact_kind(newest), CHAT_CONTACT_FRIEND);
  cr_assert_eq(chat_search_hit_get_target_id(newest), ids.bob);
  g_autofree char *spans = matches_of(newest);
  cr_assert_str_eq(spans, "11+6,19+6", "every occurrence, ASCII case ignored");
  ChatSearchHit *older = hit_at(&o, 1);
  cr_assert_str_eq(chat_search_hit_get_text(older), "Dinner at eight?");
  cr_assert_not(chat_search_hit_get_outgoing(older));
  cr_assert_eq(chat_search_hit_get_target_id(older), ids.bob, "the conversation, not the receiver");
  cr_assert_str_eq(chat_search_hit_get_sender_username(older), "bob");
  cr_assert_lt(chat_search_hit_get_message_id(older), chat_search_hit_get_message_id(newest));
  search_outcome_clear(&o);
  free_clients(&c);
}

Test(client_search_e2e, one_conversation_and_pages, .init = start, .fini = stop) {
  clients c = populate();
  log_in_alice();
  search_outcome o = {0};
  search(&o, "dinner", contact(CHAT_CONTACT_ROOM, ids.room), 0, 10);
  cr_assert_eq(o.results->hits->len, 0);
  search(&o, "a", contact(CHAT_CONTACT_FRIEND, ids.carol), 0, 10);
  cr_assert_eq(o.results->hits->len, 1);
  cr_assert_str_eq(chat_search_hit_get_text(hit_at(&o, 0)), "lunch instead");

  search(&o, "dinner", NULL, 0, 1);
  cr_assert_eq(o.results->hits->len, 1);
  cr_assert(o.results->more, "an older match remains");
  gint64 next = o.results->before_id;
  cr_assert_eq(next, chat_search_hit_get_message_id(hit_at(&o, 0)));
  search(&o, "dinner", NULL, next, 1);
  cr_assert_str_eq(chat_search_hit_get_text(hit_at(&o, 0)), "Dinner at eight?");
  cr_assert_not(o.results->more);
  search_outcome_clear(&o);
  free_clients(&c);
}

Test(client_search_e2e, chinese_queries_long_and_short, .init = start, .fini = stop) {
  clients c = populate();
  log_in_alice();
  search_outcome o = {0};
  search(&o, "周末去", NULL, 0, 10); /* three characters: the index */
  cr_assert_eq(o.results->hits->len, 1);
  ChatSearchHit *hit = hit_at(&o, 0);
  cr_assert_eq(chat_search_hit_get_contact_kind(hit), CHAT_CONTACT_ROOM);
  cr_assert_eq(chat_search_hit_get_target_id(hit), ids.room);
  g_autofree char *spans = matches_of(hit);
  cr_assert_str_eq(spans, "0+9", "byte offsets");
  search(&o, "爬山", NULL, 0, 10); /* two: a scan */
  cr_assert_eq(o.results->hits->len, 1);
  g_autofree char *short_spans = matches_of(hit_at(&o, 0));
  cr_assert_str_eq(short_spans, "9+6");
  search_outcome_clear(&o);
  free_clients(&c);
}

/* ---- loading history up to a message ---- */

static void on_loaded(GObject *source, GAsyncResult *result, gpointer data) {
  search_outcome *o = data;
  o->ok = chat_session_load_until_finish(CHAT_SESSION(source), result, &o->error);
  o->done = TRUE;
}

static void load_until(search_outcome *o, ChatConversation *conversation, gint64 id) {
  search_outcome_clear(o);
  chat_session_load_until_async(fx.session, conversation, id, NULL, on_loaded, o);
  cr_assert(test_spin_until(search_outcome_is_done, o, HARNESS_TIMEOUT_MS),
            "loading up to #%" G_GINT64_FORMAT, id);
}

static gboolean newest_page_loaded(gpointer data) {
  return message_count(data) > 0 && !chat_conversation_get_loading(data);
}

Test(client_search_e2e, load_until_pages_in_history_up_to_a_found_message, .init = start,
     .fini = stop) {
  clients c = populate();
  for (int i = 0; i < LONG_HISTORY; i++) {
    g_autofree char *text = g_strdup_printf("filler %d", i);
    send_as(c.bob, 0, ids.alice, text);
  }
  log_in_alice();
  search_outcome o = {0};
  search(&o, "Dinner at", NULL, 0, 10);
  gint64 wanted = chat_search_hit_get_message_id(hit_at(&o, 0));

  ChatConversation *conv =
      chat_session_get_conversation(fx.session, contact(CHAT_CONTACT_FRIEND, ids.bob));
  cr_assert(test_spin_until(newest_page_loaded, conv, HARNESS_TIMEOUT_MS));
  guint position;
  cr_assert_not(chat_conversation_find_position(conv, wanted, &position), "not on the first page");
  load_until(&o, conv, wanted);
  cr_assert(o.ok, "%s", o.error ? o.error->message : "");
  cr_assert(chat_conversation_find_position(conv, wanted, &position));
  ChatMessageItem *item = message_at(conv, position);
  cr_assert_str_eq(chat_message_item_get_text(item), "Dinner at eight?");

  /* Already there: at once. */
  load_until(&o, conv, wanted);
  cr_assert(o.ok);
  /* carol's message to bob is not in this conversation: the start of the
   * history ends the search for it. */
  load_until(&o, conv, wanted + 1);
  cr_assert(g_error_matches(o.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND), "%s",
            o.error ? o.error->message : "found");
  cr_assert(chat_conversation_get_complete(conv));
  search_outcome_clear(&o);
  free_clients(&c);
}
