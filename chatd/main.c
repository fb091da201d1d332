/* chatd: the chat server. */
#define G_LOG_DOMAIN "chatd"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "build-config.h"
#include "chatd/config.h"
#include "chatd/copy-store.h"
#include "chatd/import-seed.h"
#include "chatd/server.h"
#include "chatd/store.h"
#include "protocol/io/io-loop.h"

#define DEFAULT_CONFIG "config.json"

/* FOR TESTS ONLY: with CHATD_TEST_CLOCK_STEP_MS=N in the environment, each
 * SIGUSR1 moves the timers' clock (chat_io_clock_advance_for_tests) N ms
 * forward and logs "test clock advanced to +T ms", so a test sees a timeout
 * fire without waiting for it. Without the variable SIGUSR1 keeps its
 * default action (it ends the process). */
#define TEST_CLOCK_ENV "CHATD_TEST_CLOCK_STEP_MS"
#define TEST_CLOCK_MAX_STEP_MS (7 * 24 * 3600 * 1000u)

typedef struct {
  gint64 step_us;
  gint64 total_us;
} test_clock;

typedef struct {
  GMainLoop *loop;
  ChatdServer *server;
  gboolean stopping;
} running;

/* The handlers stay installed while chatd stops: a second SIGTERM (from an
 * impatient service manager) must not kill it halfway through. */
static gboolean on_signal(gpointer data) {
  running *r = data;
  if (r->stopping)
    return G_SOURCE_CONTINUE;
  r->stopping = TRUE;
  g_message("stopping");
  chatd_server_stop(r->server);
  g_main_loop_quit(r->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean on_test_clock_signal(gpointer data) {
  test_clock *clock = data;
  chat_io_clock_advance_for_tests(clock->step_us);
  clock->total_us += clock->step_us;
  g_message("test clock advanced to +%" G_GINT64_FORMAT " ms", clock->total_us / 1000);
  return G_SOURCE_CONTINUE;
}

/* Reads TEST_CLOCK_ENV into *clock; FALSE when it is set but not a step. */
static gboolean read_test_clock(test_clock *clock) {
  const char *step = g_getenv(TEST_CLOCK_ENV);
  guint64 ms = 0;
  if (step && !g_ascii_string_to_unsigned(step, 10, 1, TEST_CLOCK_MAX_STEP_MS, &ms, NULL)) {
    fprintf(stderr, "chatd: %s: expected 1..%u, got %s\n", TEST_CLOCK_ENV, TEST_CLOCK_MAX_STEP_MS,
            step);
    return FALSE;
  }
  clock->step_us = (gint64)ms * 1000;
  if (step)
    g_warning("%s is set: each SIGUSR1 moves the timers %s ms forward (for tests only: "
              "timeouts fire early)",
              TEST_CLOCK_ENV, step);
  return TRUE;
}

static int import_seed(const ChatdConfig *config, const char *seed_path) {
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname(config->database);
  g_mkdir_with_parents(dir, 0700);
  g_autoptr(ChatdStore) store = chatd_store_open(config->database, NULL, &error);
  if (!store) {
    fprintf(stderr, "chatd: %s\n", error->message);
    return 1;
  }
  ChatdImportReport report;
  if (!chatd_import_seed_db(store, seed_path, &report, &error)) {
    fprintf(stderr, "chatd: import of %s failed: %s\n", seed_path, error->message);
    chatd_import_report_clear(&report);
    return 1;
  }
  printf("imported %s into %s: %" G_GUINT64_FORMAT " users, %" G_GUINT64_FORMAT
         " friendships, %" G_GUINT64_FORMAT " friend requests, %" G_GUINT64_FORMAT
         " rooms, %" G_GUINT64_FORMAT " memberships, %" G_GUINT64_FORMAT
         " messages (%" G_GUINT64_FORMAT " copies merged), %" G_GUINT64_FORMAT " rows skipped\n",
         seed_path, config->database, report.users, report.friendships, report.friend_requests,
         report.rooms, report.members, report.messages, report.copies_merged, report.rows_skipped);
  for (guint i = 0; report.skipped && i < report.skipped->len; i++)
    printf("  skipped: %s\n", (const char *)g_ptr_array_index(report.skipped, i));
  chatd_import_report_clear(&report);
  return 0;
}

static void on_copy_started(const char *source, const char *target, gpointer data) {
  fprintf(stderr, "chatd: copying %s into PostgreSQL %s\n", source, target);
}

static void on_copy_table_done(const char *table, guint64 rows, gint64 elapsed_us, gpointer data) {
  fprintf(stderr, "chatd:   %-18s %10" G_GUINT64_FORMAT " row%s in %.3f s\n", table, rows,
          rows == 1 ? " " : "s", (double)elapsed_us / G_USEC_PER_SEC);
}

/* chatd --copy-store --config SRC --to DST: source's SQLite database into
 * the PostgreSQL database of to_path's config. */
static int copy_store(const char *source_path, const ChatdConfig *source, const char *to_path) {
  g_autoptr(GError) error = NULL;
  if (source->postgresql != NULL) {
    fprintf(stderr,
            "chatd: %s: server.postgresql is set: --copy-store copies the SQLite database "
            "(server.database) of --config into the PostgreSQL database of --to\n",
            source_path);
    return 1;
  }
  ChatdConfig target;
  chatd_config_init_defaults(&target);
  if (!chatd_config_load(&target, to_path, &error)) {
    fprintf(stderr, "chatd: %s\n", error->message);
    chatd_config_clear(&target);
    return 1;
  }
  if (target.postgresql == NULL) {
    fprintf(stderr,
            "chatd: %s: no server.postgresql: --copy-store needs the PostgreSQL database to "
            "copy into\n",
            to_path);
    chatd_config_clear(&target);
    return 1;
  }
  static const ChatdCopyStoreProgress progress = {
      .started = on_copy_started,
      .table_done = on_copy_table_done,
  };
  ChatdCopyStoreReport report;
  gboolean ok =
      chatd_copy_store(source->database, target.postgresql, &progress, NULL, &report, &error);
  chatd_config_clear(&target);
  if (!ok) {
    fprintf(stderr, "chatd: nothing was copied: %s\n", error->message);
    return 1;
  }
  fprintf(stderr,
          "chatd: copied %" G_GUINT64_FORMAT " rows of %u tables in %.3f s; the id sequences "
          "continue past the copied ids\n",
          report.rows, report.tables, (double)report.elapsed_us / G_USEC_PER_SEC);
  return 0;
}

int main(int argc, char **argv) {
  setlocale(LC_ALL, "");
  /* Past RLIMIT_FSIZE a write fails with EFBIG, which the store reports
   * like a full disk; the signal would kill chatd instead. */
  signal(SIGXFSZ, SIG_IGN);
  g_autofree char *config_path = NULL;
  g_autofree char *database = NULL;
  g_autofree char *key_file = NULL;
  g_autofree char *import_path = NULL;
  g_autofree char *copy_to = NULL;
  gboolean copy = FALSE;
  int port = -1;
  gboolean verbose = FALSE, version = FALSE;
  GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
       "The configuration file (default ./config.json)", "PATH"},
      {"database", 0, 0, G_OPTION_ARG_FILENAME, &database,
       "The SQLite database (overrides server.database)", "PATH"},
      {"key-file", 0, 0, G_OPTION_ARG_FILENAME, &key_file,
       "The server key file (overrides server.key_file)", "PATH"},
      {"port", 'p', 0, G_OPTION_ARG_INT, &port,
       "The port (overrides server.bind_port; 0 picks one)", "PORT"},
      {"import-seed-db", 0, 0, G_OPTION_ARG_FILENAME, &import_path,
       "Import a seed server's database.db into the (empty) database, then exit", "FILE"},
      {"copy-store", 0, 0, G_OPTION_ARG_NONE, &copy,
       "Copy the SQLite database of --config into the (empty) PostgreSQL database of --to, "
       "then exit",
       NULL},
      {"to", 0, 0, G_OPTION_ARG_FILENAME, &copy_to,
       "With --copy-store: the configuration whose server.postgresql receives the copy", "PATH"},
      {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages too", NULL},
      {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
      {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  g_autoptr(GOptionContext) options = g_option_context_new("- the chat server");
  g_option_context_add_main_entries(options, entries, NULL);
  g_option_context_set_description(
      options, "chatd serves chat clients of the v2 dialect (Noise, authenticated) and, with\n"
               "server.allow_legacy, of the seed dialect, on one port. Everything is kept in\n"
               "an SQLite database (server.database), or in PostgreSQL (server.postgresql).\n"
               "With server.nats too, the node joins a cluster: several chatd nodes on one\n"
               "PostgreSQL database, talking over NATS (README, \"Running a cluster\").\n"
               "Logs go to stderr (or the journal).\n"
               "\n"
               "Exit status: 0 stopped cleanly; 1 could not start (bad configuration, port in\n"
               "use, unreadable database or key file).\n"
               "\n"
               "Moving to PostgreSQL: chatd --copy-store --config OLD.json --to NEW.json copies\n"
               "every user (with password hashes), friendship, request, room, member, message\n"
               "(with its id), read marker and session from OLD's SQLite database (a snapshot:\n"
               "a chatd may keep running on it) into NEW's server.postgresql, in one\n"
               "transaction, and refuses a target that holds any row. Exit status 0 copied, 1\n"
               "nothing copied.\n"
               "\n"
               "Examples:\n"
               "  chatd --config /etc/chatd/chatd.json\n"
               "  chatd --copy-store --config /etc/chatd/chatd.json --to /etc/chatd/pg.json\n");
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(options, &argc, &argv, &error)) {
    fprintf(stderr, "chatd: %s (see chatd --help)\n", error->message);
    return 2;
  }
  if (version) {
    printf("chatd %s\n", CHAT_VERSION);
    return 0;
  }
  if (verbose)
    g_log_set_debug_enabled(TRUE);
  if (copy != (copy_to != NULL) || (copy && import_path)) {
    fprintf(stderr, "chatd: %s (see chatd --help)\n",
            !copy             ? "--to goes with --copy-store"
            : copy_to == NULL ? "--copy-store needs --to PATH"
                              : "--copy-store and --import-seed-db: one at a time");
    return 2;
  }

  ChatdConfig config;
  chatd_config_init_defaults(&config);
  if (!chatd_config_load(&config, config_path ? config_path : DEFAULT_CONFIG, &error)) {
    fprintf(stderr, "chatd: %s\n", error->message);
    chatd_config_clear(&config);
    return 1;
  }
  if (database) {
    g_free(config.database);
    config.database = g_canonicalize_filename(database, NULL);
  }
  if (key_file) {
    g_free(config.key_file);
    config.key_file = g_canonicalize_filename(key_file, NULL);
  }
  if (port >= 0) {
    if (port > 65535) {
      fprintf(stderr, "chatd: --port: expected 0..65535, got %d\n", port);
      chatd_config_clear(&config);
      return 2;
    }
    config.bind_port = (guint16)port;
  }

  int status = 0;
  if (copy) {
    status = copy_store(config_path ? config_path : DEFAULT_CONFIG, &config, copy_to);
    chatd_config_clear(&config);
    return status;
  }
  if (import_path) {
    status = import_seed(&config, import_path);
    chatd_config_clear(&config);
    return status;
  }

  test_clock clock = {0};
  if (!read_test_clock(&clock)) {
    chatd_config_clear(&config);
    return 1;
  }
  /* The handlers go in before chatd says it is listening: a SIGTERM sent
   * the moment that line appears must stop it cleanly, not kill it. */
  running r = {.loop = g_main_loop_new(NULL, FALSE)};
  guint sigint_source = g_unix_signal_add(SIGINT, on_signal, &r);
  guint sigterm_source = g_unix_signal_add(SIGTERM, on_signal, &r);
  guint clock_source =
      clock.step_us > 0 ? g_unix_signal_add(SIGUSR1, on_test_clock_signal, &clock) : 0;
  ChatdServer *server = chatd_server_new(&config, &error);
  if (!server || !chatd_server_start(server, &error)) {
    fprintf(stderr, "chatd: %s\n", error->message);
    g_source_remove(sigint_source);
    g_source_remove(sigterm_source);
    if (clock_source)
      g_source_remove(clock_source);
    g_main_loop_unref(r.loop);
    chatd_server_free(server);
    chatd_config_clear(&config);
    return 1;
  }
  r.server = server;
  g_main_loop_run(r.loop);
  g_main_loop_unref(r.loop);
  chatd_server_free(server);
  chatd_config_clear(&config);
  g_message("stopped");
  return status;
}
