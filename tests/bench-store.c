/* Throughput of the store's write path: inserts N text messages (default
 * 200,000) through chatd_store_add_message() as fast as the store accepts
 * them, and prints messages per second from the first submission to the
 * last completion. When the store is saturated the benchmark runs the main
 * context (delivering completions) and submits again, as the server would.
 *
 *   bench-store [N] [--offline] [--dir DIR] [--postgresql CONNINFO]
 *
 * --offline records every message as an offline delivery too; --dir puts
 * the database in DIR instead of a new temporary directory; --postgresql
 * runs on that (empty) PostgreSQL database instead, with users and message
 * ids chosen by the store (the cluster's way). Built by meson, not run by
 * meson test. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd/store.h"

#define BENCH_DEFAULT_MESSAGES 200000
#define BENCH_SENDER 1
#define BENCH_RECEIVER 2
#define BENCH_T0 1700000000000

typedef struct {
  GMainContext *context;
  gint64 completed;
  gint64 failed;
} Bench;

static void message_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  (void)inserted;
  (void)stored_id;
  Bench *bench = data;
  bench->completed++;
  if (error != NULL && bench->failed++ == 0)
    g_printerr("bench-store: %s\n", error->message);
}

static void setup_done(const GError *error, gpointer data) {
  if (error != NULL)
    g_printerr("bench-store: setup: %s\n", error->message);
  (*(int *)data)--;
}

typedef struct {
  int pending;
  gint64 ids[2];
} UserSetup;

static void user_created(const GError *error, gint64 id, gpointer data) {
  UserSetup *setup = data;
  if (error != NULL)
    g_printerr("bench-store: setup: %s\n", error->message);
  setup->ids[2 - setup->pending] = id;
  setup->pending--;
}

int main(int argc, char **argv) {
  gint64 n = BENCH_DEFAULT_MESSAGES;
  gboolean offline = FALSE;
  const char *dir_arg = NULL;
  const char *conninfo = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--offline") == 0)
      offline = TRUE;
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      dir_arg = argv[++i];
    else if (strcmp(argv[i], "--postgresql") == 0 && i + 1 < argc)
      conninfo = argv[++i];
    else
      n = g_ascii_strtoll(argv[i], NULL, 10);
  }
  if (n <= 0) {
    g_printerr("usage: bench-store [N] [--offline] [--dir DIR] [--postgresql CONNINFO]\n");
    return 2;
  }

  g_autoptr(GError) error = NULL;
  g_autofree char *dir =
      dir_arg != NULL ? g_strdup(dir_arg) : g_dir_make_tmp("chatd-bench-XXXXXX", &error);
  if (dir == NULL) {
    g_printerr("bench-store: %s\n", error->message);
    return 1;
  }
  g_autofree char *path = g_build_filename(dir, "bench.db", NULL);
  g_autofree char *wal = g_strconcat(path, "-wal", NULL);
  g_autofree char *shm = g_strconcat(path, "-shm", NULL);
  g_unlink(path);

  Bench bench = {.context = g_main_context_new()};
  ChatdStore *store = conninfo != NULL
                          ? chatd_store_open_postgresql(conninfo, bench.context, &error)
                          : chatd_store_open(path, bench.context, &error);
  if (store == NULL) {
    g_printerr("bench-store: %s\n", error->message);
    return 1;
  }
  gint64 sender = BENCH_SENDER, receiver = BENCH_RECEIVER;
  if (conninfo != NULL) {
    UserSetup setup = {.pending = 2};
    chatd_store_create_user(store, "sender", "Sender", "h", BENCH_T0, user_created, &setup);
    chatd_store_create_user(store, "receiver", "Receiver", "h", BENCH_T0, user_created, &setup);
    while (setup.pending > 0)
      g_main_context_iteration(bench.context, TRUE);
    sender = setup.ids[0];
    receiver = setup.ids[1];
  } else {
    int setup_pending = 2;
    chatd_store_add_user(store, BENCH_SENDER, "sender", "Sender", "h", BENCH_T0, setup_done,
                         &setup_pending);
    chatd_store_add_user(store, BENCH_RECEIVER, "receiver", "Receiver", "h", BENCH_T0, setup_done,
                         &setup_pending);
    while (setup_pending > 0)
      g_main_context_iteration(bench.context, TRUE);
  }

  const gint64 recipients[] = {receiver};
  gint64 start = g_get_monotonic_time();
  for (gint64 id = 1; id <= n; id++) {
    char text[64], client_id[32];
    g_snprintf(text, sizeof text, "message number %" G_GINT64_FORMAT " from the bench", id);
    g_snprintf(client_id, sizeof client_id, "c-%" G_GINT64_FORMAT, id);
    gboolean forward = id % 2 == 0;
    ChatdMessageRecord record = {
        .id = conninfo != NULL ? 0 : id,
        .sender_id = forward ? sender : receiver,
        .target_type = CHATD_STORE_TARGET_USER,
        .target_id = forward ? receiver : sender,
        .sent_ms = BENCH_T0 + id,
        .kind = CHATD_STORE_KIND_TEXT,
        .text = text,
        .text_len = strlen(text),
        .font_size = 12,
        .font_color = "#000000",
        .client_msg_id = client_id,
    };
    /* saturated: let completions run, as the server's loop would */
    while (!chatd_store_add_message(store, &record, recipients, offline && forward ? 1 : 0,
                                    message_done, &bench))
      g_main_context_iteration(bench.context, TRUE);
  }
  while (bench.completed < n)
    g_main_context_iteration(bench.context, TRUE);
  gint64 elapsed_us = g_get_monotonic_time() - start;

  ChatdStoreStats stats;
  chatd_store_get_stats(store, &stats);
  double seconds = (double)elapsed_us / G_USEC_PER_SEC;
  printf("bench-store: %" G_GINT64_FORMAT " messages in %.3f s: %.0f messages/s "
         "(%" G_GUINT64_FORMAT " transactions, largest batch %" G_GUINT64_FORMAT
         ", %" G_GUINT64_FORMAT " refused submissions, %" G_GINT64_FORMAT " failed)%s\n",
         n, seconds, (double)n / seconds, stats.transactions, stats.largest_batch,
         stats.writes_rejected, bench.failed, offline ? " [with offline rows]" : "");
  if (conninfo != NULL)
    printf("bench-store: on PostgreSQL\n");

  chatd_store_close(store);
  g_main_context_unref(bench.context);
  g_unlink(path);
  g_unlink(wal);
  g_unlink(shm);
  if (dir_arg == NULL)
    g_rmdir(dir);
  return bench.failed == 0 ? 0 : 1;
}
