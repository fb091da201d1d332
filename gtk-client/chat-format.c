#include "gtk-client/chat-format.h"

#include <glib/gi18n.h>

#define DAYS_SHOWN_AS_WEEKDAY 6

static GDateTime *local_time(gint64 time_ms) {
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(time_ms / 1000);
  return utc ? g_date_time_to_local(utc) : NULL;
}

/* Whole calendar days between then and now (0 = today). */
static int days_ago(GDateTime *then) {
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  GDate a, b;
  g_date_clear(&a, 1);
  g_date_clear(&b, 1);
  g_date_set_dmy(&a, (GDateDay)g_date_time_get_day_of_month(then),
                 (GDateMonth)g_date_time_get_month(then), (GDateYear)g_date_time_get_year(then));
  g_date_set_dmy(&b, (GDateDay)g_date_time_get_day_of_month(now),
                 (GDateMonth)g_date_time_get_month(now), (GDateYear)g_date_time_get_year(now));
  return g_date_days_between(&a, &b);
}

char *chat_format_list_time(gint64 time_ms) {
  if (time_ms <= 0)
    return g_strdup("");
  g_autoptr(GDateTime) then = local_time(time_ms);
  if (!then)
    return g_strdup("");
  int days = days_ago(then);
  if (days <= 0)
    return g_date_time_format(then, "%H:%M");
  if (days == 1)
    return g_strdup(_("Yesterday"));
  if (days <= DAYS_SHOWN_AS_WEEKDAY)
    return g_date_time_format(then, "%a");
  return g_date_time_format(then, "%Y-%m-%d");
}

char *chat_format_message_time(gint64 time_ms) {
  if (time_ms <= 0)
    return g_strdup("");
  g_autoptr(GDateTime) then = local_time(time_ms);
  if (!then)
    return g_strdup("");
  if (days_ago(then) <= 0)
    return g_date_time_format(then, "%H:%M");
  return g_date_time_format(then, "%Y-%m-%d %H:%M");
}

char *chat_format_full_time(gint64 time_ms) {
  g_autoptr(GDateTime) then = local_time(time_ms);
  if (!then)
    return g_strdup("");
  return g_date_time_format(then, "%Y-%m-%d %H:%M:%S");
}

char *chat_format_preview(const char *preview) {
  return g_strdup(preview ? preview : "");
}
