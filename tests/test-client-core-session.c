/* The client core's session: the outbox, history, rooms, requests, login and options. */
#include "client-core-fixture.h"

/* Opens a conversation whose history turns out to be empty. */
static ChatConversation *open_empty_conversation(ChatContact *friend) {
  ChatConversation *conv = chat_session_get_conversation(fx.session, friend);
  g_free(expect_sent("fetch_history"));
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT
                                          ", \"messages\": [], \"more\": false}",
                                          chat_contact_get_id(friend));
  feed("history_page", page);
  return conv;
}

Test(client_outbox, an_ack_marks_the_item_sent_and_copies_are_dropped, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_autofree char *fetch = expect_sent("fetch_history");
  cr_assert_str_eq(fetch,
                   "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, \"limit\": 50}");
  cr_assert(chat_conversation_get_loading(conv));

  chat_session_send_text(fx.session, bob, "hello\nbob", 14, "#ff0000");
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert(chat_message_item_get_outgoing(item));
  cr_assert_eq(chat_message_item_get_id(item), 0);
  cr_assert_str_eq(chat_contact_get_preview(bob), "hello bob");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(g_str_has_prefix(send,
                             "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, "
                             "\"data\": \"hello\\nbob\", \"fontsize\": 14, \"fontcolor\": "
                             "\"#ff0000\"}, \"client_msg_id\": \""),
            "%s", send);
  g_autofree char *cmid = client_msg_id_of(send);
  cr_assert_gt(strlen(cmid), 0);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 1);

  feed_notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", cmid);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_id(item), 40);
  cr_assert_eq(chat_message_item_get_time(item), 7000);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
  cr_assert_eq(message_count(conv), 1);

  /* The same acknowledgement again (a resend's): nothing new. */
  feed_notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", cmid);
  cr_assert_eq(message_count(conv), 1);

  /* The first page arrives: it shows 40 (already there) and bob's 39. */
  g_autofree char *m40 = notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", NULL);
  g_autofree char *m39 = notice(39, BOB, "Bob", 0, ALICE, 6900, "hi", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, "
                                          "\"messages\": [%s, %s], \"more\": false}",
                                          m40, m39);
  feed("history_page", page);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_id(message_at(conv, 0)), 39);
  cr_assert_eq(message_at(conv, 1), item);
  cr_assert(chat_conversation_get_complete(conv));
  cr_assert_not(chat_conversation_get_loading(conv));

  /* A live copy of a message already shown: not shown twice, not unread. */
  feed_notice(39, BOB, "Bob", 0, ALICE, 6900, "hi", NULL);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  expect_nothing_sent();
}

Test(client_outbox, an_image_reports_queued_and_acknowledged, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  ChatConversation *conv = chat_session_get_conversation(fx.session, room);
  g_free(expect_sent("fetch_history"));
  recorder progress = {0};
  g_signal_connect(fx.session, "transfer-progress", G_CALLBACK(on_progress), &progress);
  const guint8 png[] = {0x89, 'P', 'N', 'G', 0, 1, 2};
  g_autoptr(GBytes) image = g_bytes_new(png, sizeof png);
  chat_session_send_image(fx.session, room, image);
  cr_assert_eq(progress.count, 1);
  cr_assert_eq(progress.fraction, 0.0);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(progress.object, item);
  cr_assert_eq(chat_message_item_get_kind(item), CHAT_MESSAGE_IMAGE);
  cr_assert_str_eq(chat_contact_get_preview(room), "Alice (alice): [Image]");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"message\": {\"type\": 1, \"data\": {\"$bytes_len\": 7}}"), "%s", send);
  g_autofree char *cmid = client_msg_id_of(send);
  g_autofree char *ack = g_strdup_printf(
      "{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"iVBORwABAg==\"}}, \"sender_id\": 1, "
      "\"sender_name\": \"Alice\", \"target_type\": 1, \"time\": 8000, \"target_id\": 7, "
      "\"id\": 50, \"client_msg_id\": \"%s\"}",
      cmid);
  feed("on_new_message", ack);
  cr_assert_eq(progress.count, 2);
  cr_assert_eq(progress.fraction, 1.0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_SENT);
  recorder_clear(&progress);
}

Test(client_outbox, a_refused_send_fails_with_the_reason_and_can_be_retried, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  recorder notices = {0};
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_string), &notices);
  ChatContact *dave = contact(CHAT_CONTACT_FRIEND, DAVE);
  ChatConversation *conv = chat_session_get_conversation(fx.session, dave);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 0, \"target_id\": 4, \"messages\": [], \"more\": false}");
  chat_session_join_room(fx.session, 12);
  chat_session_send_text(fx.session, dave, "still friends?", 0, NULL);
  g_free(expect_sent("join_room"));
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"fontsize\": 12, \"fontcolor\": \"#000000\""), "defaults: %s", send);
  g_autofree char *cmid = client_msg_id_of(send);

  /* Answers come in order: the first failure is the join's. */
  feed("general_failure", "\"there is no such room\"");
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert_str_eq(notices.text, "there is no such room");
  feed("general_failure", "\"you can only send messages to your friends\"");
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), "you can only send messages to your friends");
  cr_assert_eq(chat_message_item_get_error_code(item), CHAT_REQUEST_ERROR_UNKNOWN, "seed: no code");
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Retry: the same message, the same idempotency key. */
  chat_session_retry(fx.session, item);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert_null(chat_message_item_get_error(item));
  g_autofree char *again = expect_sent("send_message");
  g_autofree char *cmid2 = client_msg_id_of(again);
  cr_assert_str_eq(cmid2, cmid);
  cr_assert_eq(message_count(conv), 1);
  recorder_clear(&notices);
}

/* A notice and the failure code the session reports with it. */
typedef struct {
  guint count;
  char *text;
  chat_request_error code;
} coded_notice;

static void on_coded_notice(ChatSession *session, const char *text, gpointer user_data) {
  coded_notice *r = user_data;
  r->count++;
  g_free(r->text);
  r->text = g_strdup(text);
  r->code = chat_session_get_failure_code(session);
}

/* v2 (spec/protocol.md 5.7): every request carries an id and a failure
 * settles the request of its id, whatever the order. */
Test(client_outbox, a_v2_failure_settles_the_request_of_its_id, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  coded_notice notices = {0};
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_coded_notice), &notices);
  ChatContact *dave = contact(CHAT_CONTACT_FRIEND, DAVE);
  ChatConversation *conv = chat_session_get_conversation(fx.session, dave);
  guint32 fetch_id, join_id, send_id;
  g_free(expect_sent_with_id("fetch_history", &fetch_id));
  chat_session_join_room(fx.session, 12);
  chat_session_send_text(fx.session, dave, "still friends?", 0, NULL);
  g_free(expect_sent_with_id("join_room", &join_id));
  g_free(expect_sent_with_id("send_message", &send_id));
  cr_assert(fetch_id != join_id && join_id != send_id, "ids %u %u %u", fetch_id, join_id, send_id);

  /* The send's failure first: it is the send that fails, not the join. */
  feed_with_id("request_failed",
               "{\"error\": \"not_friend\", \"text\": \"you can only send messages to your "
               "friends\"}",
               send_id);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), "you can only send messages to your friends");
  cr_assert_eq(chat_message_item_get_error_code(item), CHAT_REQUEST_ERROR_NOT_FRIEND,
               "the row translates the code, not the English text");
  cr_assert_eq(notices.count, 1);
  cr_assert_eq(notices.code, CHAT_REQUEST_ERROR_NOT_FRIEND);
  cr_assert_eq(chat_session_get_failure_code(fx.session), CHAT_REQUEST_ERROR_UNKNOWN,
               "the code is the failure's, during its signals only");

  /* The history page answers its own request although it comes later. */
  feed_with_id("history_page",
               "{\"target_type\": 0, \"target_id\": 4, \"messages\": [], \"more\": false}",
               fetch_id);
  feed_with_id("request_failed",
               "{\"error\": \"no_such_room\", \"text\": \"there is no such room\"}", join_id);
  cr_assert_eq(notices.count, 2);
  cr_assert_eq(notices.code, CHAT_REQUEST_ERROR_NO_SUCH_ROOM);
  /* A code this client does not know still reaches the user with its text. */
  feed("request_failed", "{\"error\": \"from_the_future\", \"text\": \"new rule\"}");
  cr_assert_eq(notices.count, 3);
  cr_assert_str_eq(notices.text, "new rule");
  cr_assert_eq(notices.code, CHAT_REQUEST_ERROR_UNKNOWN);
  g_free(notices.text);
}

static void on_bool_and_string(ChatSession *session, gboolean ok, const char *text,
                               gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->number = ok;
  g_free(r->text);
  r->text = g_strdup(text);
}

Test(client_outbox, a_v2_add_friend_refusal_is_its_result, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder results = {0};
  g_signal_connect(fx.session, "add-friend-result", G_CALLBACK(on_bool_and_string), &results);
  chat_session_add_friend(fx.session, "nobody");
  guint32 id;
  g_free(expect_sent_with_id("add_friend", &id));
  feed_with_id("request_failed", "{\"error\": \"no_such_user\", \"text\": \"no such user\"}", id);
  cr_assert_eq(results.count, 1);
  cr_assert_eq(results.number, 0, "not ok");
  cr_assert_str_eq(results.text, "no such user");
  recorder_clear(&results);
}

Test(client_outbox, after_a_reconnect_unacknowledged_sends_go_out_again_once, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = open_empty_conversation(bob);
  chat_session_send_text(fx.session, bob, "in flight", 0, NULL);
  g_autofree char *first = expect_sent("send_message");
  g_autofree char *cmid = client_msg_id_of(first);

  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), CHAT_RECONNECT_INITIAL_MS);
  /* Queued while offline: waits. */
  chat_session_send_text(fx.session, bob, "queued offline", 0, NULL);
  expect_nothing_sent();
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 2);

  /* The attempt logs in with the resume token, not a password. */
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_autofree char *resume = expect_sent("resume");
  cr_assert_str_eq(resume, "{\"username\": \"alice\", \"token\": {\"$bytes_len\": 32}}");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  /* It fails too: the next delay doubles. */
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 2 * CHAT_RECONNECT_INITIAL_MS);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));

  feed_login_with_an_empty_bundle();
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);
  /* Both go out, in order, the first with its old key; then the
   * conversation's newest page is asked for again. */
  g_autofree char *resent = expect_sent("send_message");
  g_autofree char *resent_id = client_msg_id_of(resent);
  cr_assert_str_eq(resent_id, cmid);
  g_autofree char *second = expect_sent("send_message");
  cr_assert(strstr(second, "queued offline"), "%s", second);
  g_autofree char *second_id = client_msg_id_of(second);
  g_free(expect_sent("fetch_history"));
  expect_nothing_sent();

  feed_notice(60, ALICE, "Alice", 0, BOB, 9000, "in flight", cmid);
  feed_notice(61, ALICE, "Alice", 0, BOB, 9001, "queued offline", second_id);
  feed_notice(60, ALICE, "Alice", 0, BOB, 9000, "in flight", cmid);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 1)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Success resets the delay. */
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), CHAT_RECONNECT_INITIAL_MS);
}

Test(client_outbox, an_ack_after_a_page_that_showed_the_message_leaves_one_copy, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = open_empty_conversation(bob);
  chat_session_send_text(fx.session, bob, "did it arrive?", 0, NULL);
  g_autofree char *send = expect_sent("send_message");
  g_autofree char *cmid = client_msg_id_of(send);
  /* The connection drops before the acknowledgement; after the resume a
   * page shows the stored message before the resend's acknowledgement. */
  chat_session_test_drop_connection(fx.session);
  resume_with_an_empty_bundle();
  g_free(expect_sent("send_message"));
  g_free(expect_sent("fetch_history"));
  g_autofree char *stored = notice(70, ALICE, "Alice", 0, BOB, 9500, "did it arrive?", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, "
                                          "\"messages\": [%s], \"more\": false}",
                                          stored);
  feed("history_page", page);
  feed_notice(70, ALICE, "Alice", 0, BOB, 9500, "did it arrive?", cmid);
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *only = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_id(only), 70);
  cr_assert_eq(chat_message_item_get_delivery(only), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
}

Test(client_history, a_gap_after_a_long_absence_shows_the_newest_page_alone, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  g_free(expect_sent("fetch_history"));
  g_autofree char *m5 = notice(5, CAROL, "Carol", 0, ALICE, 2000, "five", NULL);
  g_autofree char *first = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s], \"more\": false}",
                                           m5);
  feed("history_page", first);
  cr_assert(chat_conversation_get_complete(conv));

  chat_session_test_drop_connection(fx.session);
  resume_with_an_empty_bundle();
  g_autofree char *refresh = expect_sent("fetch_history");
  cr_assert_str_eq(refresh,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 0, \"limit\": 50}");
  /* 60 messages came meanwhile: the newest page does not reach 5. */
  g_autofree char *m61 = notice(61, CAROL, "Carol", 0, ALICE, 9100, "sixty-one", NULL);
  g_autofree char *m60 = notice(60, CAROL, "Carol", 0, ALICE, 9000, "sixty", NULL);
  g_autofree char *newest = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                            "\"messages\": [%s, %s], \"more\": true}",
                                            m61, m60);
  feed("history_page", newest);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_id(message_at(conv, 0)), 60);
  cr_assert_not(chat_conversation_get_complete(conv), "older pages load on demand again");
  cr_assert_str_eq(chat_contact_get_preview(carol), "sixty-one");
  chat_session_load_older(fx.session, conv);
  g_autofree char *older = expect_sent("fetch_history");
  cr_assert(strstr(older, "\"before_id\": 60"), "%s", older);
}

Test(client_outbox, an_expired_token_asks_for_the_password, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder failed = {0};
  g_signal_connect(fx.session, "login-failed", G_CALLBACK(on_string), &failed);
  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_failed", "null");
  cr_assert_eq(failed.count, 1);
  cr_assert(strstr(failed.text, "expired"), "%s", failed.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTED);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0);
  cr_assert_not(chat_session_resume(fx.session, "alice"), "the saved token is forgotten");
  recorder_clear(&failed);
}

/* Offline mode: the server-info of the "next" handshake. */
static void set_server_info(const char *json) {
  g_autoptr(GBytes) info = encode_value(json);
  gsize len;
  const guint8 *data = g_bytes_get_data(info, &len);
  chat_session_test_set_server_info(fx.session, data, len);
}

#define IMAGE_LIMIT_INFO                                                                           \
  "{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216, \"max_image\": 16}"
#define IMAGE_LIMIT_REASON "The image is larger than the server accepts (16 bytes)."

Test(client_outbox, an_image_over_the_announced_max_image_is_refused_here, .init = setup_v2,
     .fini = teardown) {
  set_server_info(IMAGE_LIMIT_INFO);
  cr_assert_eq(chat_session_get_max_image(fx.session), 16);
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  const guint8 bytes[17] = {0x89, 'P', 'N', 'G'};
  g_autoptr(GBytes) too_large = g_bytes_new(bytes, 17);
  chat_session_send_image(fx.session, bob, too_large);
  expect_nothing_sent();
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), IMAGE_LIMIT_REASON);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
  /* Retrying cannot help. */
  chat_session_retry(fx.session, item);
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);

  /* One at the limit goes. */
  g_autoptr(GBytes) at_limit = g_bytes_new(bytes, 16);
  chat_session_send_image(fx.session, bob, at_limit);
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"data\": {\"$bytes_len\": 16}"), "%s", send);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 1)), CHAT_DELIVERY_PENDING);
}

/* Logs in to a v2 server announcing server_info and sends Bob an image one
 * byte over CHAT_MAX_IMAGE_DEFAULT; returns Bob's conversation. */
static ChatConversation *send_image_over_the_default(const char *server_info) {
  set_server_info(server_info);
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  guint8 *big = g_malloc0(CHAT_MAX_IMAGE_DEFAULT + 1);
  big[0] = 0x89;
  g_autoptr(GBytes) over_default = g_bytes_new_take(big, CHAT_MAX_IMAGE_DEFAULT + 1);
  chat_session_send_image(fx.session, bob, over_default);
  return conv;
}

/* Without an announced max_image the core falls back to the one default
 * (protocol/chat-limits.h: chatd's server.max_image_size default). */
Test(client_outbox, without_an_announced_max_image_the_default_applies, .init = setup_v2,
     .fini = teardown) {
  ChatConversation *conv =
      send_image_over_the_default("{\"server\": \"chatd 0.1.0\", \"max_message\": 33554432}");
  cr_assert_eq(chat_session_get_max_image(fx.session), 0);
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(message_at(conv, 0)),
                   "The image is too large to send.");
}

/* An announced limit above the default is used as it is. */
Test(client_outbox, an_announced_max_image_above_the_default_is_used, .init = setup_v2,
     .fini = teardown) {
  ChatConversation *conv = send_image_over_the_default(
      "{\"server\": \"chatd 0.1.0\", \"max_message\": 33554432, \"max_image\": 16777216}");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"data\": {\"$bytes_len\": 8388609}"), "%.200s", send);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_PENDING);
}

Test(client_outbox, an_image_queued_before_the_limit_was_known_fails_instead_of_going,
     .init = setup_v2, .fini = teardown) {
  login_v2();
  cr_assert_eq(chat_session_get_max_image(fx.session), 0, "not announced: no check");
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = open_empty_conversation(bob);
  chat_session_test_drop_connection(fx.session);
  const guint8 bytes[17] = {0x89, 'P', 'N', 'G'};
  g_autoptr(GBytes) image = g_bytes_new(bytes, sizeof bytes);
  chat_session_send_image(fx.session, bob, image);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  expect_nothing_sent();

  /* The next connection's server announces 16 bytes. */
  set_server_info(IMAGE_LIMIT_INFO);
  resume_with_an_empty_bundle();
  g_free(expect_sent("fetch_history"));
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), IMAGE_LIMIT_REASON);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
}

/* ======================================================================
 * History pages
 * ====================================================================== */

Test(client_history, pages_load_on_open_and_on_demand, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  cr_assert_eq(chat_session_get_conversation(fx.session, carol), conv, "one per contact");
  g_autofree char *fetch = expect_sent("fetch_history");
  cr_assert_str_eq(fetch,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 0, \"limit\": 50}");
  expect_nothing_sent();
  /* A message arrives before the page. */
  feed_notice(6, CAROL, "Carol", 0, ALICE, 2100, "six", NULL);

  g_autofree char *m6 = notice(6, CAROL, "Carol", 0, ALICE, 2100, "six", NULL);
  g_autofree char *m5 = notice(5, CAROL, "Carol", 0, ALICE, 2000, "five", NULL);
  g_autofree char *m4 = notice(4, ALICE, "Alice", 0, CAROL, 1900, "four", NULL);
  g_autofree char *page1 = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s, %s, %s], \"more\": true}",
                                           m6, m5, m4);
  g_autoptr(GString) changes = g_string_new(NULL);
  g_signal_connect(chat_conversation_get_messages(conv), "items-changed",
                   G_CALLBACK(record_items_changed), changes);
  feed("history_page", page1);
  cr_assert_eq(message_count(conv), 3);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "four");
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 2)), "six");
  cr_assert(chat_message_item_get_outgoing(message_at(conv, 0)));
  cr_assert_str_eq(changes->str, "0,0,2;", "the older part in one emission");
  cr_assert_not(chat_conversation_get_complete(conv));
  cr_assert_not(chat_conversation_get_loading(conv));

  chat_session_load_older(fx.session, conv);
  g_autofree char *older = expect_sent("fetch_history");
  cr_assert_str_eq(older,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 4, \"limit\": 50}");
  cr_assert(chat_conversation_get_loading(conv));
  chat_session_load_older(fx.session, conv);
  expect_nothing_sent(); /* one at a time */

  g_autofree char *m3 = notice(3, CAROL, "Carol", 0, ALICE, 1800, "three", NULL);
  g_autofree char *page2 = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s], \"more\": false}",
                                           m3);
  feed("history_page", page2);
  cr_assert_eq(message_count(conv), 4);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "three");
  cr_assert(chat_conversation_get_complete(conv));
  chat_session_load_older(fx.session, conv);
  expect_nothing_sent();
  cr_assert_eq(chat_contact_get_unread(carol), 3, "2 from the bundle, 1 live; pages do not count");
}

Test(client_history, an_image_preview_in_a_page_or_live_is_a_placeholder, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  g_free(expect_sent("fetch_history"));
  /* A legacy image too large to send: its format and size only. */
  g_autofree char *m7 = preview_notice(7, CAROL, "Carol", 0, ALICE, 2200, "png", 48213);
  g_autofree char *m6 = notice(6, ALICE, "Alice", 0, CAROL, 2100, "send me the photo", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                          "\"messages\": [%s, %s], \"more\": false}",
                                          m7, m6);
  feed("history_page", page);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_not(chat_message_item_is_image_preview(message_at(conv, 0)));
  ChatMessageItem *item = message_at(conv, 1);
  cr_assert_eq(chat_message_item_get_id(item), 7);
  cr_assert_eq(chat_message_item_get_kind(item), CHAT_MESSAGE_IMAGE);
  cr_assert(chat_message_item_is_image_preview(item));
  cr_assert_null(chat_message_item_get_image(item));
  cr_assert_str_eq(chat_message_item_get_image_format(item), "png");
  cr_assert_eq(chat_message_item_get_image_size(item), 48213);
  g_autofree char *format = NULL;
  gint64 size = 0;
  g_object_get(item, "image-format", &format, "image-size", &size, NULL);
  cr_assert_str_eq(format, "png");
  cr_assert_eq(size, 48213);
  g_autofree char *placeholder = chat_image_preview_text(format, size);
  cr_assert_str_eq(placeholder, "Image (PNG, 48.2" NBSP "kB) – too large to show");
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");

  /* Live, of no known format: counted and previewed like any image. */
  g_autofree char *m8 = preview_notice(8, CAROL, "Carol", 0, ALICE, 2300, "", 20000000);
  feed("on_new_message", m8);
  cr_assert_eq(message_count(conv), 3);
  ChatMessageItem *live = message_at(conv, 2);
  cr_assert(chat_message_item_is_image_preview(live));
  cr_assert_str_eq(chat_message_item_get_image_format(live), "");
  cr_assert_eq(chat_message_item_get_image_size(live), 20000000);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");

  /* An image with its bytes is no preview. */
  feed("on_new_message", "{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"AAEC\"}}, "
                         "\"sender_id\": 3, \"sender_name\": \"Carol\", \"target_type\": 0, "
                         "\"time\": 2400, \"target_id\": 1, \"id\": 9}");
  ChatMessageItem *full = message_at(conv, 3);
  cr_assert_not(chat_message_item_is_image_preview(full));
  cr_assert_null(chat_message_item_get_image_format(full));
  cr_assert_eq(chat_message_item_get_image_size(full), 3);
}

/* ======================================================================
 * Senders: the nickname and, beside it, the username
 * ====================================================================== */

Test(client_senders, the_username_is_read_exposed_and_shown_beside_the_nickname, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  ChatConversation *conv = chat_session_get_conversation(fx.session, room);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 1, \"target_id\": 7, \"messages\": [], \"more\": false}");

  /* A v2 notice names the sender's username: a stranger calling himself
   * Bob is shown as who he is. */
  g_autofree char *plain = notice(30, 9, "Bob", 1, ROOM, 6000, "it is me, Bob", NULL);
  g_autofree char *fake = with_username(plain, "mallory");
  feed("on_new_message", fake);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_str_eq(chat_message_item_get_sender_name(item), "Bob");
  cr_assert_str_eq(chat_message_item_get_sender_username(item), "mallory");
  g_autofree char *property = NULL;
  g_object_get(item, "sender-username", &property, NULL);
  cr_assert_str_eq(property, "mallory");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (mallory): it is me, Bob");

  /* The same text once. */
  g_autofree char *same_plain = notice(31, 12, "erin", 1, ROOM, 6050, "hi", NULL);
  g_autofree char *same = with_username(same_plain, "erin");
  feed("on_new_message", same);
  cr_assert_str_eq(chat_contact_get_preview(room), "erin: hi");

  /* Without it (seed, an older chatd): a friend's username, by id... */
  feed_notice(32, BOB, "Bob", 1, ROOM, 6100, "the real one", NULL);
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 2)), "bob");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): the real one");
  /* ... a known room member's... */
  chat_session_query_members(fx.session, room);
  g_free(expect_sent("query_room_users"));
  feed("query_room_users_result", "[[[9, \"Bob\", true, \"mallory\"], [2, \"Bob\", true, \"bob\"], "
                                  "[1, \"Alice\", true, \"alice\"]], 7]");
  feed_notice(33, 9, "Bob", 1, ROOM, 6200, "again", NULL);
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 3)), "mallory");
  /* ... or nothing: the nickname alone, as before. */
  feed_notice(34, 11, "Zed", 1, ROOM, 6300, "hello", NULL);
  cr_assert_null(chat_message_item_get_sender_username(message_at(conv, 4)));
  cr_assert_str_eq(chat_contact_get_preview(room), "Zed: hello");

  /* Our own messages: the account's. */
  chat_session_send_text(fx.session, room, "mine", 0, NULL);
  g_free(expect_sent("send_message"));
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 5)), "alice");
  cr_assert_str_eq(chat_contact_get_preview(room), "Alice (alice): mine");
}

/* ======================================================================
 * Rooms and friend requests
 * ====================================================================== */

Test(client_rooms, members_are_online_first_then_by_name, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  chat_session_query_members(fx.session, room);
  g_autofree char *query = expect_sent("query_room_users");
  cr_assert_str_eq(query, "7");
  feed("query_room_users_result",
       "[[[2, \"Bob\", false, \"bob\"], [3, \"Carol\", true, \"carol\"], "
       "[1, \"Alice\", true, \"alice\"], [4, \"Dave\", false, \"dave\"]], 7]");
  GListModel *members = chat_contact_get_members(room);
  const char *expected[][4] = {
      {"Alice", "Carol", "Bob", "Dave"},
      {"Alice", "Carol", "Dave", "Bob"},
      {"Carol", "Dave", "Alice", "Bob"},
  };
  const char *updates[] = {NULL, "[7, 4, true]", "[7, 1, false]"};
  for (gsize step = 0; step < G_N_ELEMENTS(updates); step++) {
    if (updates[step])
      feed("room_user_on_off_line", updates[step]);
    cr_assert_eq(g_list_model_get_n_items(members), 4);
    for (guint i = 0; i < 4; i++) {
      g_autoptr(ChatRoomMember) m = g_list_model_get_item(members, i);
      cr_assert_str_eq(chat_room_member_get_nickname(m), expected[step][i], "step %zu, row %u",
                       step, i);
    }
  }
  g_autoptr(ChatRoomMember) first = g_list_model_get_item(members, 0);
  cr_assert_str_eq(chat_room_member_get_username(first), "carol");
  cr_assert_eq(chat_room_member_get_user_id(first), CAROL);
  cr_assert(chat_room_member_get_online(first));
}

Test(client_rooms, a_created_room_is_announced, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder created = {0}, notices = {0};
  g_signal_connect(fx.session, "room-created", G_CALLBACK(on_object), &created);
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_string), &notices);
  chat_session_join_room(fx.session, 9);
  chat_session_create_room(fx.session, "技术交流");
  g_autofree char *join = expect_sent("join_room");
  cr_assert_str_eq(join, "9");
  g_autofree char *create = expect_sent("create_room");
  cr_assert_str_eq(create, "\"技术交流\"");
  feed("contact_info", "{\"id\": 9, \"room_name\": \"Joined\", \"type\": 1}");
  cr_assert_eq(created.count, 0, "that one answered the join");
  feed("contact_info", "{\"id\": 10, \"room_name\": \"技术交流\", \"type\": 1}");
  feed("general_msg", "\"the room is created; its number is 10\"");
  cr_assert_eq(created.count, 1);
  cr_assert_eq(created.object, chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, 10));
  cr_assert_str_eq(notices.text, "the room is created; its number is 10");
  cr_assert_not_null(chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, 9));
  recorder_clear(&notices);
}

/* A join's own answer, for a dialog that waits for it: the room number,
 * whether it worked and why not; the failure's notice says it is one. */
typedef struct {
  guint count;
  gint64 room_id;
  gboolean ok;
  char *reason;
  chat_request_error code;
} join_results;

static void on_join_result(ChatSession *session, gint64 room_id, gboolean ok, const char *reason,
                           gpointer user_data) {
  join_results *r = user_data;
  r->count++;
  r->room_id = room_id;
  r->ok = ok;
  g_free(r->reason);
  r->reason = g_strdup(reason);
  r->code = chat_session_get_failure_code(session);
}

static void on_notice_failure(ChatSession *session, const char *text, gpointer user_data) {
  recorder *r = user_data;
  r->count++;
  r->number = chat_session_is_reporting_failure(session);
}

Test(client_rooms, a_join_reports_its_own_result, .init = setup_v2, .fini = teardown) {
  login_v2();
  join_results results = {0};
  recorder notices = {0};
  g_signal_connect(fx.session, "join-room-result", G_CALLBACK(on_join_result), &results);
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_notice_failure), &notices);
  chat_session_join_room(fx.session, 99);
  guint32 id;
  g_free(expect_sent_with_id("join_room", &id));
  feed_with_id("request_failed",
               "{\"error\": \"no_such_room\", \"text\": \"there is no such room\"}", id);
  cr_assert_eq(results.count, 1);
  cr_assert_eq(results.room_id, 99);
  cr_assert_not(results.ok);
  cr_assert_str_eq(results.reason, "there is no such room");
  cr_assert_eq(results.code, CHAT_REQUEST_ERROR_NO_SUCH_ROOM);
  cr_assert_eq(notices.count, 1);
  cr_assert(notices.number, "the notice is a failure");
  cr_assert_not(chat_session_is_reporting_failure(fx.session), "only during the signals");

  chat_session_join_room(fx.session, 9);
  g_free(expect_sent("join_room"));
  feed("contact_info", "{\"id\": 9, \"room_name\": \"Joined\", \"type\": 1}");
  cr_assert_eq(results.count, 2);
  cr_assert_eq(results.room_id, 9);
  cr_assert(results.ok);
  cr_assert_str_eq(results.reason, "");

  /* A server's message is a notice, not a failure. */
  feed("general_msg", "\"maintenance at 10\"");
  cr_assert_eq(notices.count, 2);
  cr_assert_not(notices.number);
  g_free(results.reason);
}

Test(client_requests, requests_arrive_are_answered_or_wait_for_the_next_login, .init = setup_v2,
     .fini = teardown) {
  recorder asked = {0};
  g_signal_connect(fx.session, "friend-request", G_CALLBACK(on_object), &asked);
  login_v2();
  GListModel *requests = chat_session_get_friend_requests(fx.session);
  feed("incoming_friend_request", "{\"id\": 5, \"username\": \"eve\", \"nickname\": \"Eve\", "
                                  "\"online\": true}");
  feed("incoming_friend_request", "{\"id\": 6, \"username\": \"frank\", \"nickname\": \"Frank\", "
                                  "\"online\": false}");
  cr_assert_eq(asked.count, 2);
  cr_assert_eq(g_list_model_get_n_items(requests), 2);
  g_autoptr(ChatContact) eve = g_list_model_get_item(requests, 0);
  cr_assert_str_eq(chat_contact_get_username(eve), "eve");

  chat_session_answer_friend_request(fx.session, eve, TRUE);
  cr_assert_eq(g_list_model_get_n_items(requests), 1);
  g_autofree char *resolve = expect_sent("resolve_friend_request");
  cr_assert_str_eq(resolve, "[5, true]");
  g_free(expect_sent("client_echo"));
  feed("contact_info", "{\"id\": 5, \"username\": \"eve\", \"nickname\": \"Eve\", "
                       "\"online\": true, \"type\": 0}");
  feed("server_echo", "\"fence\"");
  cr_assert_not_null(chat_session_find_contact(fx.session, CHAT_CONTACT_FRIEND, 5));

  /* Frank is "later": at the next login the server asks again, and the
   * list holds him once. */
  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_successful", USER_ALICE);
  cr_assert_eq(g_list_model_get_n_items(requests), 0);
  feed("incoming_friend_request", "{\"id\": 6, \"username\": \"frank\", \"nickname\": \"Frank\", "
                                  "\"online\": false}");
  feed_empty_bundle();
  cr_assert_eq(g_list_model_get_n_items(requests), 1);
  /* Eve is not in this bundle's friends: she is gone again. */
  cr_assert_null(chat_session_find_contact(fx.session, CHAT_CONTACT_FRIEND, 5));
}

/* ======================================================================
 * Login replies, kicks, bad input
 * ====================================================================== */

Test(client_login, failures_and_registration, .init = setup_v2, .fini = teardown) {
  recorder failed = {0}, registered = {0};
  g_signal_connect(fx.session, "login-failed", G_CALLBACK(on_string), &failed);
  g_signal_connect(fx.session, "register-done", G_CALLBACK(on_int64), &registered);
  chat_session_login(fx.session, "alice", "wrong");
  g_free(expect_sent("login"));
  feed("login_failed", "null");
  cr_assert_eq(failed.count, 1);
  cr_assert_str_eq(failed.text, "Wrong username or password.");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTED);

  chat_session_register(fx.session, "alice", "pw", "Alice");
  g_autofree char *reg = expect_sent("register");
  cr_assert_str_eq(reg, "[\"alice\", \"pw\", \"Alice\"]");
  feed("username_taken", "null");
  cr_assert_eq(failed.count, 2);
  cr_assert_str_eq(failed.text, "That username is already taken.");

  chat_session_register(fx.session, "alice2", "pw", "Alice");
  g_free(expect_sent("register"));
  feed("register_successful", "42");
  cr_assert_eq(registered.count, 1);
  cr_assert_eq(registered.number, 42);

  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("general_failure", "\"too many login attempts; try again later\"");
  cr_assert_eq(failed.count, 3);
  cr_assert_str_eq(failed.text, "too many login attempts; try again later");

  /* v2 servers say it with request_failed and a code. */
  chat_session_login(fx.session, "alice", "wrong");
  guint32 id;
  g_free(expect_sent_with_id("login", &id));
  feed_with_id("request_failed",
               "{\"error\": \"login_failed\", \"text\": \"wrong username or password\"}", id);
  cr_assert_eq(failed.count, 4);
  cr_assert_str_eq(failed.text, "Wrong username or password.");
  chat_session_register(fx.session, "alice", "pw", "Alice");
  g_free(expect_sent_with_id("register", &id));
  feed_with_id("request_failed",
               "{\"error\": \"username_taken\", \"text\": \"the username is taken\"}", id);
  cr_assert_eq(failed.count, 5);
  cr_assert_str_eq(failed.text, "That username is already taken.");
  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent_with_id("login", &id));
  feed_with_id("request_failed",
               "{\"error\": \"too_many_attempts\", \"text\": \"too many failed attempts from "
               "your address; try again in 60 s\"}",
               id);
  cr_assert_eq(failed.count, 6);
  cr_assert_str_eq(failed.text, "too many failed attempts from your address; try again in 60 s");
  recorder_clear(&failed);
}

Test(client_login, a_v2_kick_says_why_and_does_not_reconnect, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder kicked = {0};
  g_signal_connect(fx.session, "kicked", G_CALLBACK(on_kicked), &kicked);
  feed("server_kick", "{\"reason\": \"logged in elsewhere\", \"address\": \"10.0.0.2:5555\", "
                      "\"time\": 1700000000000}");
  cr_assert_eq(kicked.count, 1);
  cr_assert_str_eq(kicked.text, "logged in elsewhere");
  cr_assert_str_eq(kicked.text2, "10.0.0.2:5555");
  cr_assert_eq(kicked.number, 1700000000000);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0, "no automatic reconnect");
  recorder_clear(&kicked);
}

Test(client_login, a_seed_kick_has_no_address, .init = setup_seed, .fini = teardown) {
  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  feed("login_bundle", "{\"rooms\": [], \"friends\": [], \"messages\": []}");
  recorder kicked = {0};
  g_signal_connect(fx.session, "kicked", G_CALLBACK(on_kicked), &kicked);
  feed("server_kick", "null");
  cr_assert_eq(kicked.count, 1);
  cr_assert_str_eq(kicked.text, "logged in elsewhere");
  cr_assert_null(kicked.text2);
  cr_assert_eq(kicked.number, 0);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  recorder_clear(&kicked);
}

Test(client_login, malformed_server_messages_are_refused, .init = setup_v2, .fini = teardown) {
  const guint8 garbage[] = {0, 0, 0, 109, 4, 0, 0, 0, 9};
  cr_assert_not(chat_session_test_feed(fx.session, V2, garbage, sizeof garbage));
  g_autoptr(GBytes) shape = encode(V2, "friend_on_off_line", "[\"yes\", 2]");
  cr_assert_not(chat_session_test_feed(fx.session, V2, g_bytes_get_data(shape, NULL),
                                       g_bytes_get_size(shape)));
  /* A request code coming from the server, and a v2-only reply on seed. */
  g_autoptr(GBytes) request = encode(V2, "login", "[\"a\", \"b\"]");
  cr_assert_not(chat_session_test_feed(fx.session, V2, g_bytes_get_data(request, NULL),
                                       g_bytes_get_size(request)));
  const guint8 seed_session_bundle[] = {114, 0};
  cr_assert_not(
      chat_session_test_feed(fx.session, SEED, seed_session_bundle, sizeof seed_session_bundle));
}

/* ======================================================================
 * Seed: the login bundle carries the whole history
 * ====================================================================== */

/* The layer-3 encoding of a JSON value, as {"$bytes": base64}. */
static char *encoded_value(const char *json) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(json, strlen(json), &arena, &value, &err), 0, "%s",
               err.message);
  chat_buffer buf;
  chat_buffer_init(&buf);
  cr_assert_eq(chat_value_encode(value, &buf), 0);
  g_autofree char *b64 = g_base64_encode(buf.data, buf.len);
  chat_buffer_clear(&buf);
  chat_arena_clear(&arena);
  return g_strdup_printf("{\"$bytes\": \"%s\"}", b64);
}

Test(client_seed, the_bundle_fills_conversations_unread_and_previews, .init = setup_seed,
     .fini = teardown) {
  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  g_autofree char *n1 = notice(0, BOB, "Bob", 0, ALICE, 1000, "hi\\nalice", NULL);
  g_autofree char *n2 = notice(0, ALICE, "Alice", 0, BOB, 2000, "yo", NULL);
  g_autofree char *n3 =
      g_strdup("{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"AAEC\"}}, \"sender_id\": 3, "
               "\"sender_name\": \"Carol\", \"target_type\": 0, \"time\": 1500, \"target_id\": 1}");
  g_autofree char *n4 = notice(0, CAROL, "Carol", 0, ALICE, 1600, "again", NULL);
  g_autofree char *n5 = notice(0, BOB, "Bob", 1, ROOM, 1700, "room\\ttalk", NULL);
  g_autofree char *e1 = encoded_value(n1), *e2 = encoded_value(n2), *e3 = encoded_value(n3),
                  *e4 = encoded_value(n4), *e5 = encoded_value(n5);
  g_autofree char *bundle = g_strdup_printf("{\"rooms\": " ROOMS ", \"friends\": " FRIENDS
                                            ", \"messages\": [[%s, 0], [%s, 1], [%s, 0], "
                                            "[%s, 1], [%s, 0]]}",
                                            e1, e2, e3, e4, e5);
  feed("login_bundle", bundle);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);

  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  cr_assert_eq(chat_contact_get_unread(bob), 1, "sent = 0 from bob; ours never count");
  cr_assert_eq(chat_contact_get_unread(carol), 1);
  cr_assert_eq(chat_contact_get_unread(room), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);
  cr_assert_str_eq(chat_contact_get_preview(bob), "yo");
  cr_assert_str_eq(chat_contact_get_preview(carol), "again");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): room talk");
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Bob,Hikers,Carol,Dave");

  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  expect_nothing_sent(); /* no fetch_history in seed */
  cr_assert(chat_conversation_get_complete(conv));
  cr_assert_eq(message_count(conv), 2);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "hi\nalice");
  cr_assert(chat_message_item_get_outgoing(message_at(conv, 1)));
  ChatConversation *carol_conv = chat_session_get_conversation(fx.session, carol);
  cr_assert_eq(chat_message_item_get_kind(message_at(carol_conv, 0)), CHAT_MESSAGE_IMAGE);
  cr_assert_eq(g_bytes_get_size(chat_message_item_get_image(message_at(carol_conv, 0))), 3);

  /* Sending: no client_msg_id; the own copy acknowledges it. */
  chat_session_send_text(fx.session, bob, "seed text", 0, NULL);
  g_autofree char *send = expect_sent("send_message");
  cr_assert(!strstr(send, "client_msg_id"), "%s", send);
  feed_notice(0, BOB, "Bob", 0, ALICE, 2500, "crossing", NULL);
  feed_notice(0, ALICE, "Alice", 0, BOB, 2600, "seed text", NULL);
  cr_assert_eq(message_count(conv), 4);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 2)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_time(message_at(conv, 2)), 2600);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 3)), "crossing");
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Seed has no idempotency: a send in flight when the connection drops
   * fails rather than risk a duplicate. */
  chat_session_send_text(fx.session, bob, "lost?", 0, NULL);
  g_free(expect_sent("send_message"));
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(errors.count, 1);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 4)), CHAT_DELIVERY_FAILED);
  recorder_clear(&errors);
}

/* ======================================================================
 * Options, the saved token
 * ====================================================================== */

static char *write_config(const char *text) {
  g_autofree char *path = g_build_filename(fx.dir, "config.json", NULL);
  cr_assert(g_file_set_contents(path, text, -1, NULL));
  return g_steal_pointer(&path);
}

Test(client_options, the_config_file_is_read_and_errors_name_the_key, .init = setup_dir,
     .fini = teardown) {
  g_autofree char *good = write_config(
      "{\"crypto\": {\"base\": 2, \"modulus\": 340282366920938463463374607431768211507},\n"
      " \"client\": {\"server_ip\": \"10.1.2.3\", \"server_port\": 8111, \"dialect\": \"seed\",\n"
      "  \"pin\": \"strict\", \"server_key\": \"SHA256:abc\"}}");
  ChatSessionOptions options;
  g_autoptr(GError) error = NULL;
  cr_assert(chat_session_options_load(&options, good, &error), "%s", error ? error->message : "?");
  cr_assert_str_eq(options.host, "10.1.2.3");
  cr_assert_eq(options.port, 8111);
  cr_assert_eq(options.dialect, SEED);
  cr_assert_eq(options.pin_policy, CHAT_PIN_STRICT);
  cr_assert_str_eq(options.pinned_key, "SHA256:abc");
  cr_assert_str_eq(options.crypto_modulus, "340282366920938463463374607431768211507");
  chat_session_options_clear(&options);

  g_autofree char *defaults =
      write_config("{\"client\": {\"server_ip\": \"::1\", \"server_port\": 7}}");
  cr_assert(chat_session_options_load(&options, defaults, NULL));
  cr_assert_eq(options.dialect, V2);
  cr_assert_eq(options.pin_policy, CHAT_PIN_ASK, "the GUI asks by default");
  chat_session_options_clear(&options);

  /* client.servers: the list, and host/port the first of it. */
  g_autofree char *listed = write_config(
      "{\"client\": {\"servers\": [\"[::1]:8111\", \"b.example:8112\"], \"server_port\": 9}}");
  cr_assert(chat_session_options_load(&options, listed, NULL));
  cr_assert_str_eq(options.host, "::1");
  cr_assert_eq(options.port, 8111);
  cr_assert_not_null(options.servers);
  cr_assert_eq(g_strv_length(options.servers), 2);
  cr_assert_str_eq(options.servers[0], "[::1]:8111");
  cr_assert_str_eq(options.servers[1], "b.example:8112");
  chat_session_options_clear(&options);

  const char *bad[][2] = {
      {"{\"client\": {\"servers\": [\"::1:8111\"]}}", "client.servers"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 70000}}", "client.server_port"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"dialect\": \"v3\"}}",
       "client.dialect"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"pin\": \"maybe\"}}",
       "client.pin"},
      {"{\"client\": {\"server_port\": 1}}", "client.server_ip"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"dialect\": \"seed\"}}", "crypto"},
      {"{\"client\": {\"server_ip\": \"h\",, }}", "line 1 column"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *path = write_config(bad[i][0]);
    g_autoptr(GError) e = NULL;
    cr_assert_not(chat_session_options_load(&options, path, &e), "%s", bad[i][0]);
    cr_assert(g_error_matches(e, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG), "%s", e->message);
    cr_assert(strstr(e->message, bad[i][1]), "%s lacks %s", e->message, bad[i][1]);
    cr_assert_null(options.host);
  }
  g_autofree char *missing = g_build_filename(fx.dir, "nope.json", NULL);
  g_autoptr(GError) e = NULL;
  cr_assert_not(chat_session_options_load(&options, missing, &e));
  cr_assert(g_error_matches(e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
}

static char *only_file_in(const char *dir) {
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  cr_assert_not_null(d, "no %s", dir);
  const char *name = g_dir_read_name(d);
  cr_assert_not_null(name, "%s is empty", dir);
  char *path = g_build_filename(dir, name, NULL);
  cr_assert_null(g_dir_read_name(d), "one file only in %s", dir);
  return path;
}

Test(client_options, the_resume_token_is_kept_private_and_logout_forgets_it, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_autofree char *state = g_build_filename(fx.dir, "state", NULL);
  struct stat st;
  cr_assert_eq(g_stat(state, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  g_autofree char *file = only_file_in(state);
  cr_assert_eq(g_stat(file, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(file, &text, NULL, NULL));
  cr_assert(strstr(text, TOKEN_B64), "%s", text);

  chat_session_logout(fx.session);
  g_autofree char *logout = expect_sent("logout");
  cr_assert_str_eq(logout, "null");
  cr_assert_not(g_file_test(file, G_FILE_TEST_EXISTS), "the token is forgotten");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(g_list_model_get_n_items(chat_session_get_contacts(fx.session)), 0);
  cr_assert_eq(chat_session_get_user_id(fx.session), 0);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 0);
}

Test(client_options, a_saved_token_logs_in_without_the_password, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  fx.session = new_session(V2, "chat.example", 7000, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, TRUE);
  cr_assert_not(chat_session_resume(fx.session, "bob"), "no token for bob");
  cr_assert(chat_session_resume(fx.session, " Alice "));
  g_autofree char *resume = expect_sent("resume");
  cr_assert_str_eq(resume, "{\"username\": \"alice\", \"token\": {\"$bytes_len\": 32}}");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_LOGGING_IN);
}

/* ======================================================================
 * Against a real chatd
 * ====================================================================== */
