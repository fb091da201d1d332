/* Bounded log lines; see log-limit.h. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/log-limit.h"

/* Limits with lines left out and not reported yet, and the one timer that
 * writes their summaries. */
static GPtrArray *pending_summaries;
static guint summary_timer;

static gboolean write_summaries(gpointer data) {
  (void)data;
  for (guint i = 0; i < pending_summaries->len; i++) {
    ChatdLogLimit *limit = g_ptr_array_index(pending_summaries, i);
    if (limit->suppressed > 0)
      g_log(G_LOG_DOMAIN, limit->level,
            "%u more lines like \"%s\" left out of the log in the last %d s", limit->suppressed,
            limit->format, CHATD_LOG_LIMIT_PERIOD_S);
    limit->suppressed = 0;
    limit->pending = FALSE;
  }
  g_ptr_array_set_size(pending_summaries, 0);
  summary_timer = 0;
  return G_SOURCE_REMOVE;
}

static void summarize_later(ChatdLogLimit *limit) {
  if (limit->pending)
    return;
  limit->pending = TRUE;
  if (!pending_summaries)
    pending_summaries = g_ptr_array_new();
  g_ptr_array_add(pending_summaries, limit);
  if (summary_timer == 0)
    summary_timer = g_timeout_add_seconds(CHATD_LOG_LIMIT_PERIOD_S, write_summaries, NULL);
}

gboolean chatd_log_limited(ChatdLogLimit *limit, GLogLevelFlags level, const char *format, ...) {
  gint64 now = g_get_monotonic_time();
  if (limit->period_start_us == 0 ||
      now - limit->period_start_us >= (gint64)CHATD_LOG_LIMIT_PERIOD_S * G_USEC_PER_SEC) {
    limit->period_start_us = now;
    limit->written = 0;
  }
  limit->format = format;
  limit->level = level;
  if (limit->written >= CHATD_LOG_LIMIT_BURST) {
    limit->suppressed++;
    summarize_later(limit);
    return FALSE;
  }
  limit->written++;
  va_list args;
  va_start(args, format);
  g_autofree char *line = g_strdup_vprintf(format, args);
  va_end(args);
  if (limit->suppressed > 0) {
    g_log(G_LOG_DOMAIN, level, "%s (and %u more like it left out of the log)", line,
          limit->suppressed);
    limit->suppressed = 0;
  } else {
    g_log(G_LOG_DOMAIN, level, "%s", line);
  }
  return TRUE;
}
