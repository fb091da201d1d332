/* Fuzz target: importing a seed database (chatd/import-seed*.c). The input
 * is written to a scratch file and imported, as `chatd --import-seed` does,
 * into a fresh empty store. Whatever the file holds, the import succeeds or
 * fails with an error; it never crashes. Seeds: a small seed database made
 * by make-seeds.py (Python's sqlite3) with the seed's schema and rows whose
 * history holds notices from spec/vectors/messages.json. */
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "chatd/import-seed.h"
#include "chatd/store.h"
#include "fuzz-util.h"

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                      gpointer user) {
  (void)domain;
  (void)level;
  (void)message;
  (void)user;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool logs_silenced;
  if (!logs_silenced) {
    g_log_set_default_handler(quiet_log, NULL);
    logs_silenced = true;
  }
  const char *seed_path = fuzz_scratch_file("-seed.db", data, size);
  char store_path[4200];
  snprintf(store_path, sizeof store_path, "%s/chatd.db", fuzz_scratch_dir());
  const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    char path[4300];
    snprintf(path, sizeof path, "%s%s", store_path, suffixes[i]);
    unlink(path);
  }
  GMainContext *context = g_main_context_new();
  g_main_context_push_thread_default(context);
  GError *error = NULL;
  ChatdStore *store = chatd_store_open_with(store_path, context, CHATD_STORE_DURABILITY_OS, &error);
  FUZZ_CHECK(store != NULL);
  ChatdImportReport report = {0};
  if (!chatd_import_seed_db(store, seed_path, &report, &error)) {
    FUZZ_CHECK(error != NULL);
    g_clear_error(&error);
  }
  chatd_import_report_clear(&report);
  chatd_store_close(store);
  g_main_context_pop_thread_default(context);
  g_main_context_unref(context);
  return 0;
}
