/* chatd's store: schema and migrations, opening and refusing files, and the
 * batched asynchronous write path. Fixture: store-fixture.h (a database in a
 * temporary directory and a GMainContext per test). */
#include "store-fixture.h"

/* ---- schema and lifetime ---- */

Test(store, open_creates_schema_and_user_version) {
  cr_assert_eq(chatd_store_schema_version(store), CHATD_STORE_SCHEMA_VERSION);
  gint64 users = -1, rooms = -1, messages = -1;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, &users, &rooms, &messages, &error));
  cr_assert(users == 0 && rooms == 0 && messages == 0);
  /* every table of the schema answers */
  add_users();
  SUBMIT_OK(chatd_store_add_room, ROOM, "lobby", 0, T0);
  settle();
  g_clear_pointer(&store, chatd_store_close);
  if (STORE_ON_POSTGRESQL)
    return; /* the rest reads SQLite's file (store-pg-schema checks PostgreSQL's) */
  cr_assert_eq(header_user_version(db_path), CHATD_STORE_SCHEMA_VERSION);
  /* a clean close leaves no WAL behind */
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  cr_assert_not(g_file_test(wal, G_FILE_TEST_EXISTS));
}

Test(store, database_file_is_private) {
  SQLITE_ONLY("the database file and its WAL are private (mode 0600)");
  struct stat st;
  cr_assert_eq(g_stat(db_path, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
  add_users(); /* makes SQLite create the WAL */
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  cr_assert_eq(g_stat(wal, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "wal mode %o", st.st_mode & 0777);
}

Test(store, reopen_keeps_everything) {
  populate();
  SUBMIT_OK(chatd_store_add_friend_request, BOB, CAROL, T0 + 5);
  guint8 h[CHATD_STORE_TOKEN_HASH_LEN];
  hash_of(h, 0xa0);
  SUBMIT_OK(chatd_store_add_session, h, ALICE, T0 + 7);
  SUBMIT_OK(chatd_store_mark_read, BOB, CHATD_STORE_TARGET_USER, ALICE, 2);
  settle();

  chatd_store_close(store); /* a restart */
  store = open_store_at(db_path, context);

  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert_str_eq(s->str, "1:alice:Alice:hash-a:1;2:bob:Bob:hash-b:2;"
                           "3:carol:Carol:hash-c:3;4:dave:Dave:hash-d:4;");
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "1>2@1;1>3@1;1>4@1;2>1@1;3>1@1;4>1@1;");
  DUMP(chatd_store_foreach_friend_request, dump_pair, s);
  cr_assert_str_eq(s->str, "2>3@5;");
  DUMP(chatd_store_foreach_room, dump_room, s);
  cr_assert_str_eq(s->str, "10:lobby:1;");
  DUMP(chatd_store_foreach_member, dump_member, s);
  cr_assert_str_eq(s->str, "10/1>=1;10/2>=8;10/3>=1;");
  DUMP(chatd_store_foreach_session, dump_session, s);
  cr_assert_str_eq(s->str, "a0:1:7:7;");

  gint64 users = 0, rooms = 0, messages = 0;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, &users, &rooms, &messages, &error));
  cr_assert(users == DAVE && rooms == ROOM && messages == 10);

  GPtrArray *bob_history = full_history(BOB);
  g_autofree char *offline = offline_ids_of(bob_history);
  cr_assert_str_eq(offline, "4,8");
  assert_ids(bob_history, "1,2,4,5,7,8,9,10");
  g_autoptr(GPtrArray) convs = conversations(BOB);
  cr_assert_eq(convs->len, 2);
  const ChatdConversation *with_alice = g_ptr_array_index(convs, 1);
  cr_assert_eq(with_alice->target_id, ALICE);
  cr_assert_eq(with_alice->last_read_id, 2);
  cr_assert_eq(with_alice->unread, 1); /* 4; 1 is before the marker */
}

Test(store, newer_schema_is_refused) {
  SQLITE_ONLY("a file header with a newer user_version (store-pg-schema: refuses_a_newer_schema)");
  g_clear_pointer(&store, chatd_store_close);
  /* what a future chatd would leave: the same file, user_version + 1 */
  g_autofree char *contents = NULL;
  gsize len = 0;
  cr_assert(g_file_get_contents(db_path, &contents, &len, NULL));
  contents[SQLITE_HEADER_USER_VERSION_OFFSET + 3] = CHATD_STORE_SCHEMA_VERSION + 1;
  cr_assert(g_file_set_contents(db_path, contents, (gssize)len, NULL));

  g_autoptr(GError) error = NULL;
  ChatdStore *s = chatd_store_open(db_path, context, &error);
  cr_assert_null(s);
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_TOO_NEW), "%s",
            error != NULL ? error->message : "no error");
  g_autofree char *version = g_strdup_printf("%d", CHATD_STORE_SCHEMA_VERSION + 1);
  cr_assert(strstr(error->message, version) != NULL, "%s", error->message);
  /* refused without touching it */
  cr_assert_eq(header_user_version(db_path), CHATD_STORE_SCHEMA_VERSION + 1);
}

Test(store, a_file_that_is_not_a_database_is_refused) {
  SQLITE_ONLY("a file that is not a database");
  g_clear_pointer(&store, chatd_store_close);
  g_autofree char *path = g_build_filename(tmp_dir, "junk.db", NULL);
  g_autofree char *junk = g_strnfill(4096, 'x');
  cr_assert(g_file_set_contents(path, junk, -1, NULL));
  g_autoptr(GError) error = NULL;
  cr_assert_null(chatd_store_open(path, context, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CORRUPT), "%s",
            error != NULL ? error->message : "no error");
}

Test(store, missing_directory_fails_to_open) {
  SQLITE_ONLY("a database path in a missing directory");
  g_autofree char *path = g_build_filename(tmp_dir, "no", "such", "chatd.db", NULL);
  g_autoptr(GError) error = NULL;
  cr_assert_null(chatd_store_open(path, context, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN), "%s",
            error != NULL ? error->message : "no error");
}

/* ---- the write path ---- */

typedef struct {
  ChatdStore *other; /* a second store on the same file: another connection */
  GThread *test_thread;
  gboolean ran;
  gboolean seen_by_other;
} CommitProbe;

static void find_carol(const ChatdStoreUser *user, gpointer data) {
  if (user->id == CAROL)
    *(gboolean *)data = TRUE;
}

static void probe_done(const GError *error, gpointer data) {
  CommitProbe *probe = data;
  cr_assert_null(error);
  cr_assert_eq(g_thread_self(), probe->test_thread, "completion on another thread");
  cr_assert(g_main_context_is_owner(context), "completion outside the store's context");
  g_autoptr(GError) load_error = NULL;
  cr_assert(chatd_store_foreach_user(probe->other, find_carol, &probe->seen_by_other, &load_error));
  probe->ran = TRUE;
}

Test(store, completion_runs_on_the_context_after_commit) {
  g_autoptr(GMainContext) other_context = g_main_context_new();
  CommitProbe probe = {.test_thread = g_thread_self()};
  probe.other = open_store_at(db_path, other_context);

  cr_assert(chatd_store_add_user(store, CAROL, "carol", "Carol", "h", T0, probe_done, &probe));
  chatd_store_flush(store);
  /* committed, but callbacks only run when the store's context runs */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  while (g_main_context_iteration(other_context, FALSE))
    ;
  cr_assert_not(probe.ran);
  while (!probe.ran)
    g_main_context_iteration(context, TRUE);
  cr_assert(probe.seen_by_other, "the row was not committed when the callback ran");
  chatd_store_close(probe.other);
}

typedef struct {
  GArray *order;
} OrderProbe;

static void order_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  cr_assert_null(error);
  cr_assert(inserted);
  OrderProbe *probe = data;
  g_array_append_val(probe->order, stored_id);
  pending--;
}

Test(store, completions_run_in_submission_order) {
  add_users();
  enum { N = 3000 };
  OrderProbe probe = {.order = g_array_new(FALSE, FALSE, sizeof(gint64))};
  for (gint64 id = 1; id <= N; id++) {
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, "x");
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, order_done, &probe));
  }
  settle();
  cr_assert_eq(probe.order->len, N);
  for (guint i = 0; i < N; i++)
    cr_assert_eq(g_array_index(probe.order, gint64, i), (gint64)i + 1);
  g_array_unref(probe.order);
}

static void count_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  (void)stored_id;
  cr_assert_null(error, "%s", error != NULL ? error->message : "");
  cr_assert(inserted);
  (*(int *)data)++;
  pending--;
}

Test(store, writes_are_committed_in_batches) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  enum { N = 10000 };
  int completed = 0;
  for (gint64 id = 1; id <= N; id++) {
    g_autofree char *text = g_strdup_printf("message %" G_GINT64_FORMAT, id);
    g_autofree char *client_id = g_strdup_printf("c-%" G_GINT64_FORMAT, id);
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, text);
    r.client_msg_id = client_id;
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
  }
  chatd_store_flush(store);
  settle();
  cr_assert_eq(completed, N);
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  guint64 transactions = after.transactions - before.transactions;
  cr_log_info("%d messages committed in %" G_GUINT64_FORMAT
              " transactions (largest batch %" G_GUINT64_FORMAT ")",
              N, transactions, after.largest_batch);
  fprintf(stderr,
          "batching: %d messages committed in %" G_GUINT64_FORMAT
          " transactions (largest batch %" G_GUINT64_FORMAT ")\n",
          N, transactions, after.largest_batch);
  cr_assert_lt(transactions, N);
  cr_assert_leq(after.largest_batch, CHATD_STORE_MAX_BATCH_WRITES);

  gint64 max_message = 0;
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_max_ids(store, NULL, NULL, &max_message, &error));
  cr_assert_eq(max_message, N);
  g_autoptr(GPtrArray) all = full_history(BOB);
  cr_assert_eq(all->len, N);
}

/* The checkpointer has nothing left to do and copied the whole WAL back
 * (after the last write of a round the writer is idle and asks for it). */
static gboolean checkpointer_caught_up(guint64 checkpoints_before) {
  ChatdStoreStats stats;
  chatd_store_get_stats(store, &stats);
  return stats.checkpoints > checkpoints_before && !stats.checkpoint_pending &&
         stats.wal_frames > 0 && stats.wal_frames_checkpointed == stats.wal_frames;
}

static goffset file_size(const char *path) {
  GStatBuf st;
  return g_stat(path, &st) == 0 ? (goffset)st.st_size : 0;
}

Test(store, the_wal_is_checkpointed_by_its_own_thread_and_reused) {
  SQLITE_ONLY("WAL checkpoints");
  add_users();
  /* Images, not texts: a text also goes into the search index, whose
   * segment merges (FTS5 automerge) land in whichever round reaches them
   * and would blur what this measures. */
  enum { ROUNDS = 4, PER_ROUND = 2000, IMAGE_BYTES = 2048 };
  g_autofree char *wal = g_strconcat(db_path, "-wal", NULL);
  guint8 *bytes = g_malloc0(IMAGE_BYTES);
  memcpy(bytes, "\x89PNG\r\n\x1a\n", 8);
  g_autoptr(GBytes) image = g_bytes_new_take(bytes, IMAGE_BYTES);
  int completed = 0;
  gint64 id = 0;
  goffset largest_wal = 0;
  guint64 first_round_frames = 0;
  for (int round = 0; round < ROUNDS; round++) {
    ChatdStoreStats before;
    chatd_store_get_stats(store, &before);
    for (int i = 0; i < PER_ROUND; i++) {
      id++;
      ChatdMessageRecord r = image_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, image);
      pending++;
      cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
    }
    chatd_store_flush(store);
    settle();
    /* Each round writes more than STORE_CHECKPOINT_PAGES: the checkpointer
     * thread copies it all back without anyone waiting for it. */
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!checkpointer_caught_up(before.checkpoints) && g_get_monotonic_time() < deadline)
      g_usleep(1000);
    ChatdStoreStats now;
    chatd_store_get_stats(store, &now);
    cr_assert(checkpointer_caught_up(before.checkpoints),
              "round %d: the WAL was not copied back (%" G_GUINT64_FORMAT
              " checkpoints, %s, %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " copied)",
              round, now.checkpoints - before.checkpoints,
              now.checkpoint_pending ? "one pending" : "none pending", now.wal_frames,
              now.wal_frames_checkpointed);
    largest_wal = MAX(largest_wal, file_size(wal));
    if (round == 0) {
      ChatdStoreStats first;
      chatd_store_get_stats(store, &first);
      first_round_frames = first.wal_frames;
    }
  }
  cr_assert_eq(completed, ROUNDS * PER_ROUND);
  /* Copied back, the WAL is written again from its start: its file stays
   * the size of one round, not of all of them. */
  goffset wal_size = file_size(wal);
  cr_assert_leq(wal_size, largest_wal);
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  cr_assert_lt(after.wal_frames, first_round_frames * 3 / 2,
               "the WAL holds %" G_GUINT64_FORMAT " frames after %d rounds (%" G_GUINT64_FORMAT
               " after the first)",
               after.wal_frames, ROUNDS, first_round_frames);
}

Test(store, held_writes_form_full_batches) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  enum { N = 3000 };
  chatd_store_hold_writes(store);
  int completed = 0;
  for (gint64 id = 1; id <= N; id++) {
    ChatdMessageRecord r = text_record(id, BOB, CHATD_STORE_TARGET_USER, ALICE, "hi");
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
  }
  chatd_store_release_writes(store);
  chatd_store_flush(store);
  settle();
  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  /* 1024 + 1024 + 952 */
  cr_assert_eq(after.transactions - before.transactions,
               (N + CHATD_STORE_MAX_BATCH_WRITES - 1) / CHATD_STORE_MAX_BATCH_WRITES);
  cr_assert_eq(after.largest_batch, CHATD_STORE_MAX_BATCH_WRITES);
  cr_assert_eq(completed, N);
}

Test(store, a_failing_write_does_not_undo_its_batch) {
  add_users();
  ChatdStoreStats before;
  chatd_store_get_stats(store, &before);
  chatd_store_hold_writes(store); /* everything below is one batch */
  MessageOutcome ok1 = {0}, unknown_sender = {0}, bad_recipient = {0}, ok2 = {0};
  Outcome no_request = {0}, unknown_room = {0};
  ChatdMessageRecord m1 = text_record(1, ALICE, CHATD_STORE_TARGET_USER, BOB, "one");
  ChatdMessageRecord m2 = text_record(2, NOBODY, CHATD_STORE_TARGET_USER, BOB, "ghost");
  ChatdMessageRecord m3 = text_record(3, ALICE, CHATD_STORE_TARGET_USER, BOB, "three");
  ChatdMessageRecord m4 = text_record(4, BOB, CHATD_STORE_TARGET_USER, ALICE, "four");
  /* message 3's second offline recipient does not exist: the message row
   * inserted before it must go too */
  const gint64 recipients[] = {BOB, NOBODY};
  cr_assert(chatd_store_add_message(store, &m1, NULL, 0, message_done, &ok1));
  cr_assert(chatd_store_add_message(store, &m2, NULL, 0, message_done, &unknown_sender));
  cr_assert(chatd_store_accept_friend_request(store, CAROL, DAVE, T0, done_outcome, &no_request));
  cr_assert(chatd_store_add_message(store, &m3, recipients, 2, message_done, &bad_recipient));
  cr_assert(chatd_store_add_member(store, 77, ALICE, 1, T0, done_outcome, &unknown_room));
  cr_assert(chatd_store_add_message(store, &m4, NULL, 0, message_done, &ok2));
  chatd_store_release_writes(store);
  chatd_store_flush(store);
  wait_outcome(&unknown_room);

  ChatdStoreStats after;
  chatd_store_get_stats(store, &after);
  cr_assert_eq(after.transactions - before.transactions, 1);
  cr_assert(ok1.done && ok2.done && unknown_sender.done && bad_recipient.done);
  cr_assert_eq(ok1.code, -1);
  cr_assert_eq(ok2.code, -1);
  cr_assert_eq(unknown_sender.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert_not(unknown_sender.inserted);
  cr_assert_eq(bad_recipient.code, CHATD_STORE_ERROR_CONSTRAINT);
  cr_assert_eq(no_request.code, CHATD_STORE_ERROR_NOT_FOUND);
  cr_assert_eq(unknown_room.code, CHATD_STORE_ERROR_CONSTRAINT);
  g_autofree char *lower = g_ascii_strdown(unknown_room.message, -1);
  cr_assert(strstr(lower, "foreign key") != NULL, "%s", unknown_room.message);
  g_free(no_request.message);
  g_free(unknown_room.message);

  assert_ids(history(ALICE, CHATD_STORE_TARGET_USER, BOB, 0, 10), "4,1");
  GPtrArray *bob_all = full_history(BOB);
  g_autofree char *offline = offline_ids_of(bob_all);
  cr_assert_str_eq(offline, ""); /* message 3's offline row went with it */
  g_ptr_array_unref(bob_all);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_friend, dump_pair, s);
  cr_assert_str_eq(s->str, "");
}

Test(store, a_saturated_store_refuses_submissions) {
  add_users();
  chatd_store_hold_writes(store);
  for (int i = 0; i < CHATD_STORE_MAX_WRITES_IN_FLIGHT; i++) {
    pending++;
    cr_assert(
        chatd_store_mark_read(store, ALICE, CHATD_STORE_TARGET_USER, BOB, i, done_ok, "mark read"));
  }
  Outcome refused = {0};
  cr_assert_not(
      chatd_store_mark_read(store, ALICE, CHATD_STORE_TARGET_USER, BOB, 1, done_outcome, &refused));
  ChatdStoreStats stats;
  chatd_store_get_stats(store, &stats);
  cr_assert_eq(stats.writes_rejected, 1);
  chatd_store_release_writes(store);
  settle();
  cr_assert_not(refused.done, "a refused write's callback ran");
  /* room again once the completions ran */
  EXPECT_CODE(-1, chatd_store_mark_read, ALICE, CHATD_STORE_TARGET_USER, BOB, 1);
}

Test(store, close_commits_and_completes_pending_writes) {
  Outcome outcome = {0};
  cr_assert(chatd_store_add_user(store, ALICE, "alice", "Alice", "h", T0, done_outcome, &outcome));
  g_clear_pointer(&store, chatd_store_close); /* no iteration in between */
  cr_assert(outcome.done);
  cr_assert_eq(outcome.code, -1);
  store = open_store_at(db_path, context);
  g_autoptr(GString) s = g_string_new(NULL);
  DUMP(chatd_store_foreach_user, dump_user, s);
  cr_assert(g_str_has_prefix(s->str, "1:alice:"), "%s", s->str);
}

/* The loaders are not only for start-up: called again on a running store
 * (a node resynchronising), also while the writer commits, they see what
 * is committed and never fail for it. */
Test(store, loaders_run_again_while_writes_are_in_flight) {
  add_users();
  enum { N = 2000 };
  int completed = 0;
  for (gint64 id = 1; id <= N; id++) {
    ChatdMessageRecord r = text_record(id, ALICE, CHATD_STORE_TARGET_USER, BOB, "x");
    pending++;
    cr_assert(chatd_store_add_message(store, &r, NULL, 0, count_done, &completed));
  }
  gint64 seen = 0;
  guint calls = 0;
  g_autoptr(GString) s = g_string_new(NULL);
  while (seen < N) { /* no completion runs meanwhile: the context is not iterated */
    gint64 max_message = -1;
    g_autoptr(GError) error = NULL;
    cr_assert(chatd_store_max_ids(store, NULL, NULL, &max_message, &error), "%s",
              error ? error->message : "");
    cr_assert_geq(max_message, seen, "max message id went back");
    seen = max_message;
    DUMP(chatd_store_foreach_user, dump_user, s);
    cr_assert(g_str_has_prefix(s->str, "1:alice:"), "%s", s->str);
    calls++;
  }
  cr_log_info("%u loader rounds while %d messages were written", calls, N);
  settle();
  cr_assert_eq(completed, N);
}
