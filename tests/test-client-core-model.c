/* The client core: previews, names, backoff, the contact list and unread counts. */
#include "client-core-fixture.h"

Test(client_preview, a_room_shows_the_sender_a_friend_does_not) {
  expect_preview(CHAT_CONTACT_ROOM, "Bob", NULL, FALSE, "hi there", "Bob: hi there");
  expect_preview(CHAT_CONTACT_FRIEND, "Bob", NULL, FALSE, "hi there", "hi there");
  expect_preview(CHAT_CONTACT_ROOM, "小明", NULL, FALSE, "你好", "小明: 你好");
}

Test(client_preview, an_image_is_shown_as_a_marker) {
  /* C locale: the untranslated marker (zh_CN.po makes it [图片消息]). */
  expect_preview(CHAT_CONTACT_FRIEND, "Bob", NULL, TRUE, "ignored", "[Image]");
  expect_preview(CHAT_CONTACT_ROOM, "Bob", NULL, TRUE, NULL, "Bob: [Image]");
}

Test(client_preview, line_breaks_and_tabs_fold_into_one_space) {
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, "  line one\n\n line two\r\n\tend  ",
                 "line one line two end");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, "你好\n世界", "你好 世界");
  expect_preview(CHAT_CONTACT_ROOM, "Bob\nB.", NULL, FALSE, "\n\nhi\n", "Bob B.: hi");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, NULL, "");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, " \n\t ", "");
}

Test(client_preview, long_text_is_cut_with_an_ellipsis) {
  g_autofree char *exact = g_strnfill(CHAT_PREVIEW_MAX_CHARS, 'a');
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, exact, exact);

  g_autofree char *longer = g_strnfill(CHAT_PREVIEW_MAX_CHARS + 1, 'a');
  g_autofree char *cut = chat_preview_text(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, longer);
  cr_assert_eq(g_utf8_strlen(cut, -1), CHAT_PREVIEW_MAX_CHARS);
  cr_assert(g_str_has_suffix(cut, CHAT_PREVIEW_ELLIPSIS), "%s", cut);
  cr_assert(strncmp(cut, longer, CHAT_PREVIEW_MAX_CHARS - 1) == 0, "%s", cut);

  /* Characters, not bytes: 3-byte Chinese characters are never split. */
  g_autoptr(GString) chinese = g_string_new(NULL);
  for (int i = 0; i < 2 * CHAT_PREVIEW_MAX_CHARS; i++)
    g_string_append(chinese, "中");
  g_autofree char *cut_zh = chat_preview_text(CHAT_CONTACT_ROOM, "小明", NULL, FALSE, chinese->str);
  cr_assert(g_utf8_validate(cut_zh, -1, NULL));
  cr_assert_eq(g_utf8_strlen(cut_zh, -1), CHAT_PREVIEW_MAX_CHARS, "%s", cut_zh);
  cr_assert(g_str_has_prefix(cut_zh, "小明: 中中"), "%s", cut_zh);
  cr_assert(g_str_has_suffix(cut_zh, "中" CHAT_PREVIEW_ELLIPSIS), "%s", cut_zh);

  /* No space left dangling before the ellipsis. */
  g_autofree char *run = g_strnfill(CHAT_PREVIEW_MAX_CHARS - 2, 'a');
  g_autofree char *words = g_strdup_printf("%s b", run);
  g_autofree char *cut_words = chat_preview_text(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, words);
  cr_assert(!strstr(cut_words, " " CHAT_PREVIEW_ELLIPSIS), "%s", cut_words);
}

Test(client_preview, a_room_message_names_its_sender_by_nickname_and_username) {
  expect_preview(CHAT_CONTACT_ROOM, "Alice", "alice", FALSE, "hi", "Alice (alice): hi");
  /* Taking alice's nickname does not make mallory pass for her. */
  expect_preview(CHAT_CONTACT_ROOM, "Alice", "mallory", FALSE, "hi", "Alice (mallory): hi");
  /* The same text once. */
  expect_preview(CHAT_CONTACT_ROOM, "alice", "alice", TRUE, NULL, "alice: [Image]");
  expect_preview(CHAT_CONTACT_ROOM, "", "bob", FALSE, "yo", "bob: yo");
  expect_preview(CHAT_CONTACT_FRIEND, "Alice", "alice", FALSE, "hi", "hi");
  /* A nickname can neither break the line nor reorder what follows it. */
  expect_preview(CHAT_CONTACT_ROOM,
                 "Eve\n\xe2\x80\xae"
                 "ecila",
                 "eve", FALSE, "hi",
                 "Eve \xef\xbf\xbd"
                 "ecila (eve): hi");
}

/* ======================================================================
 * Names and image previews as the windows show them
 * ====================================================================== */

static void expect_single_line(const char *name, const char *expected) {
  g_autofree char *got = chat_name_single_line(name);
  cr_assert_str_eq(got, expected, "one line of \"%s\"", name ? name : "(null)");
}

Test(client_names, a_sender_is_the_nickname_beside_the_username_once) {
  const char *cases[][3] = {
      {"Alice", "alice", "Alice (alice)"},
      {"alice", "alice", "alice"},
      {"Alice", NULL, "Alice"},
      {"Alice", "", "Alice"},
      {"", "alice", "alice"},
      {NULL, "alice", "alice"},
      {NULL, NULL, ""},
      {"小明", "xiaoming", "小明 (xiaoming)"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = chat_sender_label(cases[i][0], cases[i][1]);
    cr_assert_str_eq(got, cases[i][2], "case %zu", i);
  }
}

Test(client_names, a_name_on_one_line_shows_what_would_break_or_reorder_it) {
  expect_single_line("Alice", "Alice");
  expect_single_line("小明 (xiaoming) 🙂", "小明 (xiaoming) 🙂");
  expect_single_line(NULL, "");
  expect_single_line("Bob\nThe server says: hi", "Bob" FFFD "The server says: hi");
  expect_single_line("a\r\tb\x7f"
                     "c",
                     "a" FFFD FFFD "b" FFFD "c");
  /* C1 controls (NEL), line and paragraph separators. */
  expect_single_line("a\xc2\x85"
                     "b\xe2\x80\xa8"
                     "c\xe2\x80\xa9"
                     "d",
                     "a" FFFD "b" FFFD "c" FFFD "d");
  /* Bidi controls: RLO, LRM, RLI, PDI. */
  expect_single_line("\xe2\x80\xae"
                     "ecila",
                     FFFD "ecila");
  expect_single_line("x\xe2\x80\x8e"
                     "y\xe2\x81\xa7"
                     "z\xe2\x81\xa9",
                     "x" FFFD "y" FFFD "z" FFFD);
  /* Invalid UTF-8 is repaired. */
  expect_single_line("ab\xff"
                     "cd",
                     "ab" FFFD "cd");
}

Test(client_names, an_image_preview_says_its_format_and_size) {
  /* C locale: the untranslated text. */
  const struct {
    const char *format;
    gint64 size;
    const char *expected;
  } cases[] = {
      {"png", 48213, "Image (PNG, 48.2" NBSP "kB) – too large to show"},
      {"jpeg", 9000000, "Image (JPEG, 9.0" NBSP "MB) – too large to show"},
      {"", 48213, "Image (48.2" NBSP "kB) – too large to show"},
      {NULL, 1, "Image (1 byte) – too large to show"},
      /* Not a plain name: not shown. */
      {"p\nng", 1000, "Image (1.0" NBSP "kB) – too large to show"},
      {"averyveryverylongformat", 1000, "Image (1.0" NBSP "kB) – too large to show"},
      {"webp", -5, "Image (WEBP, 0 bytes) – too large to show"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = chat_image_preview_text(cases[i].format, cases[i].size);
    cr_assert_str_eq(got, cases[i].expected, "case %zu", i);
  }
}

static gsize max_image_of(const char *json) {
  g_autoptr(GBytes) info = encode_value(json);
  gsize len;
  const guint8 *data = g_bytes_get_data(info, &len);
  return chat_wire_server_info_max_image(data, len);
}

Test(client_names, the_server_info_says_the_largest_image_or_nothing) {
  cr_assert_eq(max_image_of("{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216, "
                            "\"max_image\": 8388608}"),
               8388608);
  cr_assert_eq(max_image_of("{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216}"), 0,
               "not announced: no check");
  cr_assert_eq(max_image_of("{\"max_image\": -1}"), 0);
  cr_assert_eq(max_image_of("{\"max_image\": \"8 MB\"}"), 0);
  cr_assert_eq(max_image_of("[1, 2]"), 0);
  cr_assert_eq(chat_wire_server_info_max_image(NULL, 0), 0, "seed: no server info");
  const guint8 garbage[] = {0xff, 0x00, 0x13};
  cr_assert_eq(chat_wire_server_info_max_image(garbage, sizeof garbage), 0);
}

/* ======================================================================
 * Reconnect delays
 * ====================================================================== */

Test(client_backoff, doubles_from_one_second_to_thirty_and_starts_over) {
  ChatBackoff b;
  chat_backoff_init(&b, CHAT_RECONNECT_INITIAL_MS, CHAT_RECONNECT_MAX_MS);
  const guint expected[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
  for (gsize i = 0; i < G_N_ELEMENTS(expected); i++)
    cr_assert_eq(chat_backoff_next(&b), expected[i], "attempt %zu", i);
  chat_backoff_reset(&b);
  cr_assert_eq(chat_backoff_next(&b), 1000);
}

/* ======================================================================
 * Contacts: order, presence
 * ====================================================================== */

Test(client_contacts, order_newest_first_then_no_messages_by_name) {
  g_autoptr(ChatContact) a = chat_contact_new(CHAT_CONTACT_FRIEND, 1, "Anna", "anna");
  g_autoptr(ChatContact) b = chat_contact_new(CHAT_CONTACT_FRIEND, 2, "Bert", "bert");
  g_autoptr(ChatContact) room = chat_contact_new(CHAT_CONTACT_ROOM, 1, "Anna", NULL);
  g_autoptr(ChatContact) quiet = chat_contact_new(CHAT_CONTACT_FRIEND, 3, "Aaron", "aaron");
  chat_contact_set_last(a, 100, "x");
  chat_contact_set_last(b, 200, "y");
  chat_contact_set_last(room, 100, "z");
  cr_assert_lt(chat_contact_compare(b, a, NULL), 0, "newer first");
  cr_assert_lt(chat_contact_compare(a, quiet, NULL), 0, "without messages last");
  cr_assert_lt(chat_contact_compare(a, room, NULL), 0, "same time, same name: friend first");
  chat_contact_set_last(b, 100, "y");
  cr_assert_lt(chat_contact_compare(a, b, NULL), 0, "same time: by name");
  cr_assert_eq(chat_contact_compare(a, a, NULL), 0);
}

Test(client_contacts, the_bundle_sorts_and_new_messages_move_one_item, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave");
  /* The bundle's notice names no username: bob's comes from the friends. */
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_ROOM, ROOM)),
                   "Bob (bob): hey all");
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_FRIEND, CAROL)), "see you");
  cr_assert_eq(chat_contact_get_last_time(contact(CHAT_CONTACT_FRIEND, BOB)), 0);

  g_autoptr(GString) changes = g_string_new(NULL);
  g_signal_connect(chat_session_get_contacts(fx.session), "items-changed",
                   G_CALLBACK(record_items_changed), changes);

  /* Dave writes: he moves from the bottom to the top, as one remove and
   * one insert. */
  feed_notice(20, DAVE, "Dave", 0, ALICE, 4000, "first line\\nsecond", NULL);
  g_autofree char *order2 = contact_order();
  cr_assert_str_eq(order2, "Dave,Hikers,Carol,Bob");
  cr_assert_str_eq(changes->str, "3,1,0;0,0,1;");
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_FRIEND, DAVE)),
                   "first line second");

  /* Again: already first, nothing moves. */
  g_string_truncate(changes, 0);
  feed_notice(21, DAVE, "Dave", 0, ALICE, 4100, "more", NULL);
  cr_assert_str_eq(changes->str, "");

  /* A tie on the time goes by name: Bob before Dave. */
  feed_notice(22, BOB, "Bob", 0, ALICE, 4100, "me too", NULL);
  g_autofree char *order3 = contact_order();
  cr_assert_str_eq(order3, "Bob,Dave,Hikers,Carol");
  cr_assert_str_eq(changes->str, "3,1,0;0,0,1;");

  /* A room message shows its sender. */
  feed_notice(23, DAVE, "Dave", 1, ROOM, 5000, "multi\\n\\tline", NULL);
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_ROOM, ROOM)),
                   "Dave (dave): multi line");
  g_autofree char *order4 = contact_order();
  cr_assert_str_eq(order4, "Hikers,Bob,Dave,Carol");
}

Test(client_contacts, presence_updates_live, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  cr_assert(chat_contact_get_online(bob));
  cr_assert_not(chat_contact_get_online(carol));
  guint notified = 0;
  g_signal_connect(bob, "notify::online", G_CALLBACK(count_notify), &notified);
  feed("friend_on_off_line", "[false, 2]");
  cr_assert_not(chat_contact_get_online(bob));
  cr_assert_eq(notified, 1);
  feed("friend_on_off_line", "[false, 2]");
  cr_assert_eq(notified, 1, "no change, no notification");
  feed("friend_on_off_line", "[true, 3]");
  cr_assert(chat_contact_get_online(carol));
  feed("friend_on_off_line", "[true, 99]"); /* not a friend: ignored */
}

Test(client_contacts, contact_info_adds_and_left_room_removes, .init = setup_v2, .fini = teardown) {
  login_v2();
  feed("contact_info", "{\"id\": 9, \"username\": \"erin\", \"nickname\": \"Erin\", "
                       "\"online\": true, \"type\": 0}");
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave,Erin");
  feed("contact_info", "{\"id\": 9, \"username\": \"erin\", \"nickname\": \"Aaa\", "
                       "\"online\": true, \"type\": 0}");
  g_autofree char *renamed = contact_order();
  cr_assert_str_eq(renamed, "Hikers,Carol,Aaa,Bob,Dave");
  feed("left_room", "7");
  g_autofree char *left = contact_order();
  cr_assert_str_eq(left, "Carol,Aaa,Bob,Dave");
  cr_assert_null(chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, ROOM));
  cr_assert_eq(chat_session_get_unread_total(fx.session), 2, "the room's unread went with it");
}

Test(client_contacts, a_bundle_whose_last_message_is_an_image_preview_keeps_it, .init = setup_v2,
     .fini = teardown) {
  chat_session_login(fx.session, "alice", "secret");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  /* chatd puts every image in a bundle as a preview (format and size). */
  g_autofree char *last_carol = preview_notice(5, CAROL, "Carol", 0, ALICE, 2000, "png", 48213);
  g_autofree char *room_plain = preview_notice(6, BOB, "Bob", 1, ROOM, 3000, "", 123);
  g_autofree char *last_room = with_username(room_plain, "bob");
  feed_bundle(last_carol, last_room);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);

  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave", "the previews' times order the list");
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");
  cr_assert_eq(chat_contact_get_last_time(carol), 2000);
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): [Image]");
  cr_assert_eq(chat_contact_get_unread(carol), 2);
  cr_assert_eq(chat_contact_get_unread(room), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);

  /* Its id counts as seen: reading marks up to it. */
  chat_session_mark_read(fx.session, carol);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 3, \"up_to_id\": 5}");
}

/* ======================================================================
 * Unread counts
 * ====================================================================== */

Test(client_unread, counts_from_the_bundle_and_live_messages, .init = setup_v2, .fini = teardown) {
  guint total_notified = 0;
  g_signal_connect(fx.session, "notify::unread-total", G_CALLBACK(count_notify), &total_notified);
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  cr_assert_eq(chat_contact_get_unread(carol), 2);
  cr_assert_eq(chat_contact_get_unread(contact(CHAT_CONTACT_ROOM, ROOM)), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);
  cr_assert_eq(total_notified, 1);

  recorder incoming = {0};
  g_signal_connect(fx.session, "new-message", G_CALLBACK(on_new_message), &incoming);
  feed_notice(22, CAROL, "Carol", 0, ALICE, 5000, "are you there?", NULL);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 4);
  cr_assert_eq(incoming.count, 1);
  cr_assert_eq(incoming.object, carol);

  /* Our own messages never count. */
  feed_notice(23, ALICE, "Alice", 0, CAROL, 5100, "yes", NULL);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_eq(incoming.count, 1);

  /* mark_read: the badge goes at once; the server is told up to the
   * newest message. */
  chat_session_mark_read(fx.session, carol);
  cr_assert_eq(chat_contact_get_unread(carol), 0);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 1);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 3, \"up_to_id\": 23}");
  feed("read_marker",
       "{\"target_type\": 0, \"target_id\": 3, \"last_read_id\": 23, \"unread\": 0}");
  cr_assert_eq(chat_contact_get_unread(carol), 0);
  /* Nothing new: nothing to tell. */
  chat_session_mark_read(fx.session, carol);
  expect_nothing_sent();
  cr_assert_eq(total_notified, 3);
  recorder_clear(&incoming);
}

Test(client_unread, an_open_conversation_does_not_count, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  chat_session_set_conversation_open(fx.session, bob, TRUE);
  expect_nothing_sent(); /* nothing to mark yet */
  feed_notice(30, BOB, "Bob", 0, ALICE, 6000, "look", NULL);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 2, \"up_to_id\": 30}");
  /* The marker comes back with messages counted meanwhile: still open,
   * still read. */
  feed("read_marker",
       "{\"target_type\": 0, \"target_id\": 2, \"last_read_id\": 30, \"unread\": 1}");
  cr_assert_eq(chat_contact_get_unread(bob), 0);

  chat_session_set_conversation_open(fx.session, bob, FALSE);
  feed_notice(31, BOB, "Bob", 0, ALICE, 6100, "hello?", NULL);
  cr_assert_eq(chat_contact_get_unread(bob), 1);
  expect_nothing_sent();
  /* Opening it marks it read. */
  chat_session_set_conversation_open(fx.session, bob, TRUE);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  g_autofree char *mark2 = expect_sent("mark_read");
  cr_assert_str_eq(mark2, "{\"target_type\": 0, \"target_id\": 2, \"up_to_id\": 31}");
}

/* ======================================================================
 * Sending: the outbox, acknowledgements, dedup, failures
 * ====================================================================== */
