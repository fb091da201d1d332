/* The seed database importer (see import-seed.h): the entry point, the
 * report, and the order of the phases. The pieces are described in
 * import-seed-private.h.
 *
 * Order: check the store is empty, open the seed, resolve every table and
 * column, read and validate all users (the only fatal data checks), check
 * that completions run here (a write that changes nothing), then write
 * users, friendships and requests, rooms, members, messages. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/import-seed-private.h"

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chatd-import-error-quark, chatd_import_error)
/* clang-format on */

/* ---- report ---- */

void chatd_import_report_clear(ChatdImportReport *report) {
  if (report == NULL)
    return;
  g_clear_pointer(&report->skipped, g_ptr_array_unref);
  memset(report, 0, sizeof *report);
}

void import_report_skip(ImportState *st, const char *format, ...) {
  va_list args;
  va_start(args, format);
  g_autofree char *why = g_strdup_vprintf(format, args);
  va_end(args);
  g_debug("seed import: skipped %s", why);
  st->report.rows_skipped++;
  if (st->report.skipped == NULL)
    st->report.skipped = g_ptr_array_new_with_free_func(g_free);
  if (st->report.skipped->len < CHATD_IMPORT_MAX_SKIP_REASONS)
    g_ptr_array_add(st->report.skipped, g_steal_pointer(&why));
}

gboolean import_data_error(GError **error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error_literal(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA, message);
  return FALSE;
}

/* ---- the import ---- */

static gboolean check_store_empty(ImportState *st, GError **error) {
  gint64 max_user = 0, max_room = 0, max_message = 0;
  if (!chatd_store_max_ids(st->store, &max_user, &max_room, &max_message, error)) {
    g_prefix_error(error, "reading the target store: ");
    return FALSE;
  }
  if (max_user != 0 || max_room != 0 || max_message != 0) {
    g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_NOT_EMPTY,
                "the target database is not empty (largest user id %" G_GINT64_FORMAT
                ", room id %" G_GINT64_FORMAT ", message id %" G_GINT64_FORMAT "): the seed "
                "can only be imported into a new database",
                max_user, max_room, max_message);
    return FALSE;
  }
  return TRUE;
}

static gboolean check_context(ImportState *st, GError **error) {
  WriteOp probe = {.kind = WRITE_PROBE, .counter = COUNT_NONE};
  return import_submit(st, &probe, error) && import_settle(st, error);
}

static void state_clear(ImportState *st) {
  import_seed_close(st);
  g_clear_pointer(&st->seed_users, g_array_unref);
  g_clear_pointer(&st->user_ids, g_hash_table_unref);
  g_clear_pointer(&st->room_ids, g_hash_table_unref);
  g_clear_pointer(&st->sink, import_sink_unref);
  g_clear_pointer(&st->context, g_main_context_unref);
  chatd_import_report_clear(&st->report);
}

gboolean chatd_import_seed_db(ChatdStore *store, const char *seed_db_path,
                              ChatdImportReport *report, GError **error) {
  g_return_val_if_fail(store != NULL && seed_db_path != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  ImportState st = {
      .store = store,
      .context = g_main_context_ref_thread_default(),
      .sink = import_sink_new(),
      .now_ms = g_get_real_time() / G_TIME_SPAN_MILLISECOND,
      .seed_users = g_array_new(FALSE, TRUE, sizeof(SeedUser)),
      .user_ids = id_set_new(),
      .room_ids = id_set_new(),
  };
  g_array_set_clear_func(st.seed_users, import_seed_user_clear);

  g_autoptr(GError) failure = NULL;
  gboolean ok = check_store_empty(&st, &failure) && import_seed_open(&st, seed_db_path, &failure) &&
                import_resolve_schema(&st, &failure) && import_load_users(&st, &failure) &&
                check_context(&st, &failure) && import_users(&st, &failure) &&
                import_friends(&st, &failure) && import_rooms(&st, &failure) &&
                import_members(&st, &failure) && import_history(&st, &failure);
  if (!ok && import_sink_outstanding(st.sink) > 0) {
    /* run what is still in flight before the report is read (best effort:
     * after a context error the completions cannot run here) */
    g_autoptr(GError) ignored = NULL;
    import_settle(&st, &ignored);
  }

  g_debug("seed import %s: %" G_GUINT64_FORMAT " history rows, %" G_GUINT64_FORMAT
          " copies merged, %" G_GUINT64_FORMAT " rows skipped",
          ok ? "done" : "failed", st.report.history_rows, st.report.copies_merged,
          st.report.rows_skipped);
  if (report != NULL) {
    *report = st.report;
    memset(&st.report, 0, sizeof st.report);
    import_sink_fill_report(st.sink, report);
  }
  state_clear(&st);
  if (!ok)
    g_propagate_error(error, g_steal_pointer(&failure));
  return ok;
}
