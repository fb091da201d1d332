/* Latency of search (chatd_store_search() with the server's matcher) over
 * one user's history of N text messages (default 200,000) in a SQLite
 * store: a rare query the trigram index narrows to one message, a common
 * one (a page of 50), a miss the index answers alone, a Chinese query of
 * two characters (too short for trigrams: a scan, newest first, until the
 * page is full) and a two-character miss (the worst case: a scan up to the
 * store's bound on examined candidates). Prints the median and the slowest
 * of R runs of each (default 21).
 *
 *   bench-search [N] [--runs R] [--dir DIR]
 *
 * Built by meson, not run by meson test. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd/search-match.h"
#include "chatd/store.h"

#define BENCH_DEFAULT_MESSAGES 200000
#define BENCH_DEFAULT_RUNS 21
#define BENCH_PAGE 50
#define BENCH_ALICE 1
#define BENCH_BOB 2
#define BENCH_T0 1700000000000

static const char *const topics[] = {"dinner at eight", "the book club", "周末一起去爬山吗",
                                     "rain all day", "the late train"};

typedef struct {
  gboolean done;
  guint found;
  gboolean more;
  gint64 failed;
} Reply;

static void write_done(const GError *error, gboolean inserted, gint64 stored_id, gpointer data) {
  (void)inserted;
  (void)stored_id;
  Reply *reply = data;
  reply->found++;
  if (error != NULL && reply->failed++ == 0)
    g_printerr("bench-search: %s\n", error->message);
}

static void setup_done(const GError *error, gpointer data) {
  if (error != NULL)
    g_printerr("bench-search: setup: %s\n", error->message);
  (*(int *)data)--;
}

static void search_done(const GError *error, GPtrArray *records, gboolean more, gpointer data) {
  Reply *reply = data;
  if (error != NULL) {
    g_printerr("bench-search: %s\n", error->message);
    reply->failed++;
  } else {
    reply->found = records->len;
    reply->more = more;
  }
  reply->done = TRUE;
}

static gboolean accept_text(const char *text, gsize len, gpointer matcher) {
  return chatd_search_matcher_found(matcher, text, len);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Runs one query `runs` times; prints the median and slowest in ms. */
static gboolean time_query(ChatdStore *store, GMainContext *context, const char *what,
                           const char *query, int runs) {
  g_autoptr(ChatdSearchMatcher) matcher = chatd_search_matcher_new(query, strlen(query));
  g_autofree double *ms = g_new(double, runs);
  Reply reply = {0};
  for (int run = 0; run < runs; run++) {
    ChatdStoreSearch search = {
        .user_id = BENCH_ALICE,
        .query = query,
        .query_len = strlen(query),
        .bound = {.limit = BENCH_PAGE},
        .accept = accept_text,
        .accept_data = matcher,
    };
    reply = (Reply){0};
    gint64 start = g_get_monotonic_time();
    if (!chatd_store_search(store, &search, search_done, &reply)) {
      g_printerr("bench-search: the store refused the search\n");
      return FALSE;
    }
    while (!reply.done)
      g_main_context_iteration(context, TRUE);
    ms[run] = (double)(g_get_monotonic_time() - start) / 1000.0;
    if (reply.failed > 0)
      return FALSE;
  }
  qsort(ms, runs, sizeof *ms, compare_doubles);
  printf("bench-search: %-34s %-16s %2u found%s  median %8.3f ms  slowest %8.3f ms\n", what, query,
         reply.found, reply.more ? " (more)" : "       ", ms[runs / 2], ms[runs - 1]);
  return TRUE;
}

int main(int argc, char **argv) {
  gint64 n = BENCH_DEFAULT_MESSAGES;
  int runs = BENCH_DEFAULT_RUNS;
  const char *dir_arg = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      dir_arg = argv[++i];
    else
      n = g_ascii_strtoll(argv[i], NULL, 10);
  }
  if (n <= 0 || runs <= 0) {
    g_printerr("usage: bench-search [N] [--runs R] [--dir DIR]\n");
    return 2;
  }

  g_autoptr(GError) error = NULL;
  g_autofree char *dir =
      dir_arg != NULL ? g_strdup(dir_arg) : g_dir_make_tmp("chatd-bench-XXXXXX", &error);
  if (dir == NULL) {
    g_printerr("bench-search: %s\n", error->message);
    return 1;
  }
  g_autofree char *path = g_build_filename(dir, "bench.db", NULL);
  g_autofree char *wal = g_strconcat(path, "-wal", NULL);
  g_autofree char *shm = g_strconcat(path, "-shm", NULL);
  g_unlink(path);

  GMainContext *context = g_main_context_new();
  ChatdStore *store = chatd_store_open(path, context, &error);
  if (store == NULL) {
    g_printerr("bench-search: %s\n", error->message);
    return 1;
  }
  int setup_pending = 2;
  chatd_store_add_user(store, BENCH_ALICE, "alice", "Alice", "h", BENCH_T0, setup_done,
                       &setup_pending);
  chatd_store_add_user(store, BENCH_BOB, "bob", "Bob", "h", BENCH_T0, setup_done, &setup_pending);
  while (setup_pending > 0)
    g_main_context_iteration(context, TRUE);

  Reply writes = {0};
  const gint64 alice[] = {BENCH_ALICE}, bob[] = {BENCH_BOB};
  gint64 start = g_get_monotonic_time();
  for (gint64 id = 1; id <= n; id++) {
    char text[128];
    g_snprintf(text, sizeof text, "message number %" G_GINT64_FORMAT " is about %s", id,
               topics[id % G_N_ELEMENTS(topics)]);
    gboolean from_alice = id % 2 == 0;
    ChatdMessageRecord record = {
        .id = id,
        .sender_id = from_alice ? BENCH_ALICE : BENCH_BOB,
        .target_type = CHATD_STORE_TARGET_USER,
        .target_id = from_alice ? BENCH_BOB : BENCH_ALICE,
        .sent_ms = BENCH_T0 + id,
        .kind = CHATD_STORE_KIND_TEXT,
        .text = text,
        .text_len = strlen(text),
        .font_size = 12,
        .font_color = "#000000",
    };
    while (
        !chatd_store_add_message(store, &record, from_alice ? bob : alice, 0, write_done, &writes))
      g_main_context_iteration(context, TRUE);
  }
  while (writes.found < n)
    g_main_context_iteration(context, TRUE);
  printf("bench-search: %" G_GINT64_FORMAT " messages written in %.3f s (with the trigram "
         "index)\n",
         n, (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);

  g_autofree char *rare = g_strdup_printf("number %" G_GINT64_FORMAT " is", n / 2);
  gboolean ok = writes.failed == 0 &&
                time_query(store, context, "rare (index: one candidate)", rare, runs) &&
                time_query(store, context, "common (index, a page of 50)", "DINNER", runs) &&
                time_query(store, context, "miss (index: no candidate)", "xyzzy", runs) &&
                time_query(store, context, "2 characters (scan, page fills)", "爬山", runs) &&
                time_query(store, context, "2-character miss (scan to bound)", "qz", runs);

  chatd_store_close(store);
  g_main_context_unref(context);
  g_unlink(path);
  g_unlink(wal);
  g_unlink(shm);
  if (dir_arg == NULL)
    g_rmdir(dir);
  return ok ? 0 : 1;
}
