/* Log lines a peer can cause, in bounded numbers.
 *
 * A peer must not be able to fill the log (a flood of bad logins, of
 * connections, of refused registrations). Each kind of such line has a
 * ChatdLogLimit: at most CHATD_LOG_LIMIT_BURST lines per
 * CHATD_LOG_LIMIT_PERIOD_S seconds; the lines past that are counted, and
 * the next line that is written says how many were left out ("... (and 314
 * more like it left out of the log)"); if no such line comes, a summary
 * line says it at the end of the period ("314 more lines like \"%s: login
 * refused\" left out of the log in the last 10 s").
 *
 *   static ChatdLogLimit refused = CHATD_LOG_LIMIT_INIT;
 *   chatd_log_limited(&refused, G_LOG_LEVEL_MESSAGE, "%s: login refused", peer);
 *
 * Main thread only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_LOG_LIMIT_BURST 20
#define CHATD_LOG_LIMIT_PERIOD_S 10

typedef struct {
  gint64 period_start_us;
  guint written;      /* lines written in this period */
  guint suppressed;   /* lines left out since the last one written */
  const char *format; /* the last format, for the summary */
  GLogLevelFlags level;
  gboolean pending; /* on the list of summaries to write */
} ChatdLogLimit;

#define CHATD_LOG_LIMIT_INIT                                                                       \
  { 0, 0, 0, NULL, 0, FALSE }

/* Logs the line at level (in G_LOG_DOMAIN "chatd") unless the limit is
 * reached; returns whether it was written. */
G_GNUC_PRINTF(3, 4)
gboolean chatd_log_limited(ChatdLogLimit *limit, GLogLevelFlags level, const char *format, ...);

G_END_DECLS
