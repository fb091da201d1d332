/* Throughput of the store's write path: inserts N text messages (default
 * 200,000) through chatd_store_add_message() as fast as the store accepts
 * them, and prints messages per second from the first submission to the
 * last completion. When the store is saturated the benchmark runs the main
 * context (delivering completions) and submits again, as the server would.
 *
 *   bench-store [N] [--offline] [--dir DIR]
 *
 * --offline records every message as an offline delivery too; --dir puts
 * the database in DIR instead of a new temporary directory. Built by meson,
 * not run by meson test. */
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

int main(int argc, char **argv) {
  gint64 n = BENCH_DEFAULT_MESSAGES;
  gboolean offline = FALSE;
  const char *dir_arg = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--offline") == 0)
      offline = TRUE;
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      dir_arg = argv[++i];
    else
      n = g_ascii_strtoll(argv[i], NULL, 10);
  }
  if (n <= 0) {
    g_printerr("usage: bench-store [N] [--offline] [--dir DIR]\n");
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
  ChatdStore *store = chatd_store_open(path, bench.context, &error);
  if (store == NULL) {
    g_printerr("bench-store: %s\n", error->message);
    return 1;
  }
  int setup_pending = 2;
  chatd_store_add_user(store, BENCH_SENDER, "sender", "Sender", "h", BENCH_T0, setup_done,
                       &setup_pending);
  chatd_store_add_user(store, BENCH_RECEIVER, "receiver", "Receiver", "h", BENCH_T0, setup_done,
                       &setup_pending);
  while (setup_pending > 0)
    g_main_context_iteration(bench.context, TRUE);

  const gint64 recipients[] = {BENCH_RECEIVER};
  gint64 start = g_get_monotonic_time();
  for (gint64 id = 1; id <= n; id++) {
    char text[64], client_id[32];
    g_snprintf(text, sizeof text, "message number %" G_GINT64_FORMAT " from the bench", id);
    g_snprintf(client_id, sizeof client_id, "c-%" G_GINT64_FORMAT, id);
    gboolean forward = id % 2 == 0;
    ChatdMessageRecord record = {
        .id = id,
        .sender_id = forward ? BENCH_SENDER : BENCH_RECEIVER,
        .target_type = CHATD_STORE_TARGET_USER,
        .target_id = forward ? BENCH_RECEIVER : BENCH_SENDER,
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

  chatd_store_close(store);
  g_main_context_unref(bench.context);
  g_unlink(path);
  g_unlink(wal);
  g_unlink(shm);
  if (dir_arg == NULL)
    g_rmdir(dir);
  return bench.failed == 0 ? 0 : 1;
}
