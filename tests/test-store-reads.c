/* chatd's store: the semantics the server builds on (idempotent messages,
 * history paging, offline deliveries, unread counts, atomic friend acceptance,
 * sessions, images) and the read path. Fixture: store-fixture.h. */
#include "store-fixture.h"

/* ---- messages ---- */

Test(store, add_message_is_idempotent_per_sender_and_client_id) {
  add_users();
  ChatdMessageRecord first = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  first.client_msg_id = "client-1";
  MessageOutcome o = add_message_wait(&first, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 1);

  /* a retransmission under a new server id: nothing stored, the old id */
  ChatdMessageRecord again = text_record(2, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  again.client_msg_id = "client-1";
  const gint64 bob[] = {BOB};
  o = add_message_wait(&again, bob, 1);
  cr_assert_eq(o.code, -1);
  cr_assert_not(o.inserted);
  cr_assert_eq(o.stored_id, 1);

  /* another sender may use the same client id */
  ChatdMessageRecord other = text_record(3, BOB, CHATD_STORE_TARGET_USER, ALICE, "hi");
  other.client_msg_id = "client-1";
  o = add_message_wait(&other, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 3);

  /* no client id: no deduplication */
  ChatdMessageRecord plain = text_record(4, ALICE, CHATD_STORE_TARGET_USER, BOB, "hello");
  o = add_message_wait(&plain, NULL, 0);
  cr_assert(o.code == -1 && o.inserted && o.stored_id == 4);

  GPtrArray *all = full_history(BOB);
  g_autofree char *offline = offline_ids_of(all);
  cr_assert_str_eq(offline, ""); /* the retransmission added no offline row */
  assert_ids(all, "1,3,4");

  /* a reused server id is an error, not a duplicate */
  ChatdMessageRecord clash = text_record(4, CAROL, CHATD_STORE_TARGET_USER, DAVE, "clash");
  o = add_message_wait(&clash, NULL, 0);
  cr_assert_eq(o.code, CHATD_STORE_ERROR_CONSTRAINT);
}

Test(store, message_fields_round_trip) {
  add_users();
  /* text with an embedded NUL, copied at submission */
  char *text = g_memdup2("a\0b", 4);
  ChatdMessageRecord r = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, text);
  r.text_len = 3;
  r.font_size = 18;
  g_autofree char *color = g_strdup("#abcdef");
  r.font_color = color;
  MessageOutcome first = {0};
  cr_assert(chatd_store_add_message(store, &r, NULL, 0, message_done, &first));
  g_free(text); /* the caller may free at once */

  static const guint8 png[] = {0x89, 'P', 'N', 'G', 0, 0, 0x0d, 0x0a};
  g_autoptr(GBytes) image = g_bytes_new(png, sizeof png);
  ChatdMessageRecord img = {
      .id = 2,
      .sender_id = BOB,
      .target_type = CHATD_STORE_TARGET_USER,
      .target_id = ALICE,
      .sent_ms = T0 + 2,
      .kind = CHATD_STORE_KIND_IMAGE,
      .image = image,
  };
  MessageOutcome o = add_message_wait(&img, NULL, 0);
  cr_assert_eq(o.code, -1);
  cr_assert_eq(first.code, -1);

  g_autoptr(ChatdMessageRecord) got_text = message_by_id(1);
  cr_assert_not_null(got_text);
  cr_assert_eq(got_text->kind, CHATD_STORE_KIND_TEXT);
  cr_assert_eq(got_text->text_len, 3);
  cr_assert_eq(memcmp(got_text->text, "a\0b", 3), 0);
  cr_assert_eq(got_text->font_size, 18);
  cr_assert_str_eq(got_text->font_color, "#abcdef");
  cr_assert_str_eq(got_text->sender_nickname, "Alice");
  cr_assert_eq(got_text->sent_ms, T0 + 1);
  cr_assert_null(got_text->image);

  g_autoptr(ChatdMessageRecord) got_image = message_by_id(2);
  cr_assert_not_null(got_image);
  cr_assert_eq(got_image->kind, CHATD_STORE_KIND_IMAGE);
  cr_assert_null(got_image->text);
  cr_assert(g_bytes_equal(got_image->image, image));
  cr_assert_eq(got_image->target_id, ALICE);

  cr_assert_null(message_by_id(3));

  /* kind and payload must agree */
  ChatdMessageRecord bad = img;
  bad.id = 5;
  bad.kind = CHATD_STORE_KIND_TEXT;
  o = add_message_wait(&bad, NULL, 0);
  cr_assert_eq(o.code, CHATD_STORE_ERROR_CONSTRAINT);
}

/* ---- reads ---- */

Test(store, history_pages_both_directions_of_a_conversation) {
  populate();
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 3), "7,5,4");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 4, 3), "2,1");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 1, 3), "");
  /* the same conversation seen from the other side */
  assert_ids(history(BOB, CHATD_STORE_TARGET_USER, ALICE, 0, 100), "7,5,4,2,1");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, CAROL, 0, 100), "3");
  assert_ids(history(BOB, CHATD_STORE_TARGET_USER, CAROL, 0, 100), "");

  g_autoptr(GPtrArray) page = history(BOB, CHATD_STORE_TARGET_USER, ALICE, 0, 2);
  const ChatdMessageRecord *newest = g_ptr_array_index(page, 0);
  cr_assert_str_eq(newest->text, "m7");
  cr_assert_str_eq(newest->sender_nickname, "Bob");
  cr_assert_eq(newest->target_id, ALICE);
  const ChatdMessageRecord *second = g_ptr_array_index(page, 1);
  cr_assert_str_eq(second->text, "m5");

  /* the nickname is the sender's current one */
  SUBMIT_OK(chatd_store_set_nickname, BOB, "Bobby");
  settle();
  g_autoptr(GPtrArray) renamed = history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 1);
  cr_assert_str_eq(((ChatdMessageRecord *)g_ptr_array_index(renamed, 0))->sender_nickname, "Bobby");
}

Test(store, room_history_starts_at_the_members_first_message) {
  populate();
  assert_ids(history(BOB, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), "10,9,8");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 0, 2), "10,9");
  assert_ids(history(ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 9, 2), "8,6");
  assert_ids(history(DAVE, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), ""); /* not a member */

  SUBMIT_OK(chatd_store_remove_member, ROOM, BOB);
  settle();
  assert_ids(history(BOB, CHATD_STORE_TARGET_ROOM, ROOM, 0, 100), "");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_remove_member, ROOM, BOB);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_member, ROOM, CAROL, 1, T0);
}

Test(store, full_history_flags_offline_deliveries) {
  populate();
  GPtrArray *bob = full_history(BOB);
  g_autofree char *bob_offline = offline_ids_of(bob);
  cr_assert_str_eq(bob_offline, "4,8");
  assert_ids(bob, "1,2,4,5,7,8,9,10");

  GPtrArray *alice = full_history(ALICE);
  g_autofree char *alice_offline = offline_ids_of(alice);
  cr_assert_str_eq(alice_offline, ""); /* offline is per recipient */
  assert_ids(alice, "1,2,3,4,5,6,7,8,9,10");

  assert_ids(full_history(CAROL), "3,6,8,9,10");

  SUBMIT_OK(chatd_store_clear_offline, BOB, 4);
  settle();
  GPtrArray *after = full_history(BOB);
  g_autofree char *after_offline = offline_ids_of(after);
  cr_assert_str_eq(after_offline, "8");
  g_ptr_array_unref(after);

  SUBMIT_OK(chatd_store_clear_offline, BOB, 10);
  settle();
  GPtrArray *cleared = full_history(BOB);
  g_autofree char *cleared_offline = offline_ids_of(cleared);
  cr_assert_str_eq(cleared_offline, "");
  g_ptr_array_unref(cleared);
}

/* Moves a read marker and waits for it to be written. */
static void mark_read_and_settle(gint64 user, int target_type, gint64 target, gint64 upto) {
  SUBMIT_OK(chatd_store_mark_read, user, target_type, target, upto);
  settle();
}

/* "type:id:last:marker:unread;" per conversation. */
static char *describe_conversations(gint64 user) {
  g_autoptr(GPtrArray) convs = conversations(user);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < convs->len; i++) {
    const ChatdConversation *c = g_ptr_array_index(convs, i);
    g_string_append_printf(s,
                           "%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                           ":%" G_GINT64_FORMAT ";",
                           c->target_type, c->target_id, c->last != NULL ? c->last->id : 0,
                           c->last_read_id, c->unread);
  }
  return g_string_free(s, FALSE);
}

#define ASSERT_CONVERSATIONS(user, expected)                                                       \
  do {                                                                                             \
    g_autofree char *got_ = describe_conversations(user);                                          \
    cr_assert_str_eq(got_, (expected));                                                            \
  } while (0)

Test(store, conversations_count_unread_and_markers_only_move_forward) {
  populate();
  /* alice: the room (last 10; 6, 9, 10 from others), bob (last 7; 2, 5, 7
   * from bob), carol (last 3, sent by alice); dave has no message */
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:0:3;0:2:7:0:3;0:3:3:0:0;");
  /* bob joined the room at 8: 8 and 10 count, his own 9 does not; from
   * alice, 1 and 4 */
  ASSERT_CONVERSATIONS(BOB, "1:10:10:0:2;0:1:7:0:2;");

  SUBMIT_OK(chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 5);
  mark_read_and_settle(ALICE, CHATD_STORE_TARGET_ROOM, ROOM, 9);
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:5:1;0:3:3:0:0;");

  /* backwards is ignored */
  mark_read_and_settle(ALICE, CHATD_STORE_TARGET_USER, BOB, 2);
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:5:1;0:3:3:0:0;");

  mark_read_and_settle(ALICE, CHATD_STORE_TARGET_USER, BOB, 7);
  ASSERT_CONVERSATIONS(ALICE, "1:10:10:9:1;0:2:7:7:0;0:3:3:0:0;");

  /* a marker before the member's first message does not count older ones */
  mark_read_and_settle(BOB, CHATD_STORE_TARGET_ROOM, ROOM, 3);
  ASSERT_CONVERSATIONS(BOB, "1:10:10:3:2;0:1:7:0:2;");

  g_autoptr(GPtrArray) convs = conversations(ALICE);
  const ChatdConversation *room = g_ptr_array_index(convs, 0);
  cr_assert_str_eq(room->last->text, "m10");
  cr_assert_str_eq(room->last->sender_nickname, "Carol");

  /* a room without messages is listed, last */
  SUBMIT_OK(chatd_store_add_room, 11, "quiet", DAVE, T0);
  SUBMIT_OK(chatd_store_add_member, 11, DAVE, 11, T0);
  settle();
  ASSERT_CONVERSATIONS(DAVE, "1:11:0:0:0;");
}

/* ---- friends, users, sessions ---- */

Test(store, accepting_a_friend_request_is_atomic) {
  add_users();
  SUBMIT_OK(chatd_store_add_friend_request, ALICE, BOB, T0);
  SUBMIT_OK(chatd_store_add_friend_request, BOB, ALICE, T0 + 1);
  settle();
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, BOB, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, ALICE, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_friend_request, ALICE, NOBODY, T0);

  EXPECT_CODE(-1, chatd_store_accept_friend_request, ALICE, BOB, T0 + 2);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>1@1;");

  /* the reverse request cannot be accepted (already friends): its deletion
   * is undone with the failed inserts */
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_accept_friend_request, BOB, ALICE, T0 + 3);
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>1@1;");
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");

  /* no request, no friendship */
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_accept_friend_request, CAROL, DAVE, T0);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@2;2>1@2;");

  /* reject */
  EXPECT_CODE(-1, chatd_store_delete_friend_request, BOB, ALICE);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_delete_friend_request, BOB, ALICE);
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "");
}

Test(store, users_are_unique_and_updatable) {
  add_users();
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, 5, "alice", "A2", "h", T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, ALICE, "alice2", "A2", "h", T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_user, 6, "nonick", NULL, "h", T0);
  EXPECT_CODE(-1, chatd_store_set_password_hash, ALICE, "new-hash");
  EXPECT_CODE(-1, chatd_store_set_nickname, ALICE, "Ally");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_set_nickname, NOBODY, "x");
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_set_password_hash, NOBODY, "x");
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert(g_str_has_prefix(s->str, "1:alice:Ally:new-hash:1;2:bob:"), "%s", s->str);
}

Test(store, sessions_are_added_touched_revoked_and_loaded) {
  add_users();
  guint8 a1[CHATD_STORE_TOKEN_HASH_LEN], a2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 b1[CHATD_STORE_TOKEN_HASH_LEN], b2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 unknown[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(a1, 0x10);
  hash_of(a2, 0x20);
  hash_of(b1, 0x30);
  hash_of(b2, 0x40);
  hash_of(unknown, 0x50);
  SUBMIT_OK(chatd_store_add_session, a1, ALICE, T0 + 1);
  SUBMIT_OK(chatd_store_add_session, a2, ALICE, T0 + 2);
  SUBMIT_OK(chatd_store_add_session, b1, BOB, T0 + 3);
  SUBMIT_OK(chatd_store_add_session, b2, BOB, T0 + 4);
  settle();
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "10:1:1:1;20:1:2:2;30:2:3:3;40:2:4:4;");

  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_session, a1, BOB, T0);
  EXPECT_CODE(CHATD_STORE_ERROR_CONSTRAINT, chatd_store_add_session, unknown, NOBODY, T0);
  EXPECT_CODE(-1, chatd_store_touch_session, a1, T0 + 50);
  EXPECT_CODE(-1, chatd_store_revoke_session, a2);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_touch_session, a2, T0 + 60);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_revoke_session, unknown);
  EXPECT_CODE(-1, chatd_store_revoke_user_sessions, BOB);
  EXPECT_CODE(-1, chatd_store_revoke_user_sessions, CAROL); /* none: fine */
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "10:1:1:50;");
}

static void add_image(gint64 id, const guint8 *data, gsize len) {
  g_autoptr(GBytes) image = g_bytes_new(data, len);
  ChatdMessageRecord r = image_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, image);
  MessageOutcome o = add_message_wait(&r, NULL, 0);
  cr_assert_eq(o.code, -1);
}

/* Images carry their size and format (for previews), from the store's
 * writes and, for a database of schema 1, from the migration: both name the
 * same formats. */
Test(store, images_have_a_size_and_format_after_a_write_or_the_migration) {
  add_users();
  static const struct {
    const char *bytes;
    gsize len;
  } images[] = {
      {"\x89PNG\r\n\x1a\n....", 12},
      {"\xff\xd8\xff\xe0....", 8},
      {"GIF89a..", 8},
      {"RIFF\0\0\0\0WEBPVP8 ", 16},
      {"BM......", 8},
      {"plain bytes", 11},
      {"RIFF....AVI ", 12},
  };
  for (guint i = 0; i < G_N_ELEMENTS(images); i++)
    add_image(i + 1, (const guint8 *)images[i].bytes, images[i].len);
  for (int round = 0; round < 2; round++) {
    g_autoptr(GPtrArray) page = history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 50);
    cr_assert_eq(page->len, G_N_ELEMENTS(images));
    for (guint i = 0; i < page->len; i++) {
      const ChatdMessageRecord *r = g_ptr_array_index(page, i);
      guint k = (guint)r->id - 1;
      cr_assert_eq(r->image_size, images[k].len, "round %d, image %u", round, k);
      cr_assert_str_eq(r->image_format,
                       chat_image_format((const guint8 *)images[k].bytes, images[k].len),
                       "round %d, image %u", round, k);
    }
    if (round == 1)
      break;
    if (STORE_ON_POSTGRESQL)
      break; /* the migration from schema 1 is SQLite's (a file an older chatd left) */
    /* Back to schema 1, as an older chatd left it; the next open migrates. */
    g_clear_pointer(&store, chatd_store_close);
    sqlite_run(db_path, UNDO_SCHEMA_3_SQL "ALTER TABLE messages DROP COLUMN image_size;"
                                          "ALTER TABLE messages DROP COLUMN image_format;"
                                          "PRAGMA user_version = 1;");
    store = open_store_at(db_path, context);
  }
}

/* A page holds what fits: each record costs the overhead plus its text or
 * (when not left out) its image; the first always goes. */
Test(store, a_history_page_is_bounded_in_bytes) {
  add_users();
  guint8 big[1000];
  memset(big, 'x', sizeof big);
  for (gint64 id = 1; id <= 4; id++)
    add_image(id, big, sizeof big);
  ChatdStorePageBound bound = {
      .limit = 50, .max_bytes = 2500, .record_overhead = 100, .max_image_bytes = G_MAXSIZE};
  ReadOutcome o = {0};
  cr_assert(
      chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound, records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 2, "2 × 1100 fit in 2500, not 3");
  cr_assert(o.more);
  g_ptr_array_unref(o.items);
  /* Images over max_image_bytes are left out and cost only the overhead. */
  bound.max_image_bytes = 999;
  o = (ReadOutcome){0};
  cr_assert(
      chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound, records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 4);
  cr_assert_not(o.more);
  const ChatdMessageRecord *r = g_ptr_array_index(o.items, 0);
  cr_assert_null(r->image);
  cr_assert_eq(r->image_size, 1000);
  g_ptr_array_unref(o.items);
  /* The first always goes, however large. */
  bound = (ChatdStorePageBound){.limit = 50, .max_bytes = 10, .max_image_bytes = G_MAXSIZE};
  o = (ReadOutcome){0};
  cr_assert(
      chatd_store_history(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 0, &bound, records_done, &o));
  wait_read(&o);
  cr_assert_eq(o.items->len, 1);
  cr_assert(o.more);
  g_ptr_array_unref(o.items);
}

/* A resume replaces its token in one step: the old one is gone the moment
 * the new one exists, and a token that is already gone is not replaced. */
Test(store, a_session_is_rotated_and_old_ones_are_forgotten) {
  add_users();
  guint8 a1[CHATD_STORE_TOKEN_HASH_LEN], a2[CHATD_STORE_TOKEN_HASH_LEN];
  guint8 a3[CHATD_STORE_TOKEN_HASH_LEN], b1[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(a1, 0x10);
  hash_of(a2, 0x20);
  hash_of(a3, 0x30);
  hash_of(b1, 0x40);
  SUBMIT_OK(chatd_store_add_session, a1, ALICE, T0 + 1);
  SUBMIT_OK(chatd_store_add_session, b1, BOB, T0 + 2);
  settle();
  EXPECT_CODE(-1, chatd_store_rotate_session, a1, a2, ALICE, T0 + 10);
  EXPECT_CODE(CHATD_STORE_ERROR_NOT_FOUND, chatd_store_rotate_session, a1, a3, ALICE, T0 + 11);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "20:1:10:10;40:2:2:2;");
  /* Issued at or before T0 + 2: forgotten. */
  EXPECT_CODE(-1, chatd_store_forget_sessions_before, T0 + 2);
  g_string_truncate(s, 0);
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "20:1:10:10;");
}

Test(store, a_read_after_a_completion_sees_the_write) {
  add_users();
  for (gint64 id = 1; id <= 50; id++) {
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, "x");
    MessageOutcome o = add_message_wait(&r, NULL, 0);
    cr_assert_eq(o.code, -1);
    g_autoptr(ChatdMessageRecord) got = message_by_id(id);
    cr_assert_not_null(got, "message %" G_GINT64_FORMAT " not visible", id);
  }
}

/* ---- ids chosen by the store ---- */

typedef struct {
  gboolean done;
  int code;
  gint64 id;
} IdOutcome;

static void id_done(const GError *error, gint64 id, gpointer data) {
  IdOutcome *outcome = data;
  outcome->done = TRUE;
  outcome->code = error != NULL ? error->code : -1;
  outcome->id = id;
}

static IdOutcome create_user_wait(const char *username) {
  IdOutcome o = {0};
  cr_assert(chatd_store_create_user(store, username, username, "hash", T0, id_done, &o));
  while (!o.done)
    g_main_context_iteration(context, TRUE);
  return o;
}

/* create_user, create_room and add_message with id 0: the store picks
 * growing ids, reports them, and the rows are stored under them (offline
 * deliveries included). On PostgreSQL they come from the sequences, on
 * SQLite from the largest id. */
Test(store, the_store_chooses_ids_for_users_rooms_and_messages) {
  IdOutcome erin = create_user_wait("erin");
  IdOutcome frank = create_user_wait("frank");
  cr_assert(erin.code == -1 && frank.code == -1);
  cr_assert_gt(erin.id, 0);
  cr_assert_gt(frank.id, erin.id);
  IdOutcome taken = create_user_wait("erin");
  cr_assert_eq(taken.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert_eq(taken.id, 0);

  IdOutcome room = {0};
  cr_assert(chatd_store_create_room(store, "den", erin.id, T0, id_done, &room));
  while (!room.done)
    g_main_context_iteration(context, TRUE);
  cr_assert_eq(room.code, -1);
  cr_assert_gt(room.id, 0);
  IdOutcome no_creator = {0};
  cr_assert(chatd_store_create_room(store, "void", NOBODY * 1000, T0, id_done, &no_creator));
  while (!no_creator.done)
    g_main_context_iteration(context, TRUE);
  cr_assert_eq(no_creator.code, CHATD_STORE_ERROR_CONSTRAINT);

  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  g_autofree char *users = g_strdup_printf("%" G_GINT64_FORMAT ":erin:erin:hash:0;%" G_GINT64_FORMAT
                                           ":frank:frank:hash:0;",
                                           erin.id, frank.id);
  cr_assert_str_eq(s->str, users);
  DUMP(chatd_store_foreach_room, dump_room, s);
  g_autofree char *rooms =
      g_strdup_printf("%" G_GINT64_FORMAT ":den:%" G_GINT64_FORMAT ";", room.id, erin.id);
  cr_assert_str_eq(s->str, rooms);

  /* messages: ids grow in submission (commit) order */
  const gint64 offline[] = {frank.id};
  gint64 ids[3] = {0};
  for (int i = 0; i < 3; i++) {
    ChatdMessageRecord r = text_record(0, erin.id, CHATD_STORE_TARGET_USER, frank.id, "hey");
    r.client_msg_id = i == 0 ? "first" : NULL;
    MessageOutcome o = add_message_wait(&r, i == 2 ? offline : NULL, i == 2 ? 1 : 0);
    cr_assert_eq(o.code, -1);
    cr_assert(o.inserted);
    cr_assert_gt(o.stored_id, i > 0 ? ids[i - 1] : 0);
    ids[i] = o.stored_id;
  }
  /* a retransmission of an id-0 message: the id it got */
  ChatdMessageRecord again = text_record(0, erin.id, CHATD_STORE_TARGET_USER, frank.id, "hey");
  again.client_msg_id = "first";
  MessageOutcome o = add_message_wait(&again, NULL, 0);
  cr_assert_eq(o.code, -1);
  cr_assert_not(o.inserted);
  cr_assert_eq(o.stored_id, ids[0]);

  GPtrArray *all = full_history(frank.id);
  g_autofree char *expected_offline = g_strdup_printf("%" G_GINT64_FORMAT, ids[2]);
  g_autofree char *got_offline = offline_ids_of(all);
  cr_assert_str_eq(got_offline, expected_offline);
  g_autofree char *expected_ids = g_strdup_printf(
      "%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT, ids[0], ids[1], ids[2]);
  assert_ids(all, expected_ids);
  gint64 max_message = 0;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, NULL, NULL, &max_message, &error));
  cr_assert_eq(max_message, ids[2]);
}
