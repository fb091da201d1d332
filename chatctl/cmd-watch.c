/* chatctl watch: stay logged in and print every event as it arrives. */
#include <glib-unix.h>
#include <signal.h>
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/send-common.h"
#include "chatctl/session.h"
#include "protocol/json.h"

/* --count and --timeout bounds. */
#define MAX_COUNT G_MAXINT32
#define MAX_TIMEOUT_S (7 * 24 * 3600)
#define US_PER_S G_USEC_PER_SEC

static char *describe_message(chatctl_session *session, const chat_value *params) {
  chat_msg_notice notice;
  if (chat_msg_notice_read(params, &notice, NULL) != 0)
    memset(&notice, 0, sizeof notice);
  g_autofree char *body = chatctl_format_body(&notice.message);
  g_autofree char *where = NULL;
  if (notice.target_type == CHATCTL_TARGET_ROOM)
    where = g_strdup_printf("in room %" G_GINT64_FORMAT, notice.target_id);
  else if (notice.sender_id == chatctl_session_user_id(session))
    where = g_strdup_printf("to user %" G_GINT64_FORMAT, notice.target_id);
  else
    where = g_strdup("to you");
  g_autofree char *number =
      notice.has_id ? g_strdup_printf(" #%" G_GINT64_FORMAT, notice.id) : g_strdup("");
  g_autofree char *from = chatctl_format_sender(&notice);
  return g_strdup_printf("message%s from %s %s: %s", number, from, where, body);
}

/* A human line for an event (without the time). */
static char *describe_event(chatctl_session *session, const chatctl_message *m) {
  const chat_value *p = m->params;
  switch (m->type) {
  case CHAT_MSG_ON_NEW_MESSAGE:
    return describe_message(session, p);
  case CHAT_MSG_FRIEND_ON_OFF_LINE: {
    chat_msg_friend_on_off_line note;
    chat_msg_friend_on_off_line_read(p, &note, NULL);
    const char *name = chatctl_session_contact_name(session, CHATCTL_TARGET_USER, note.user_id);
    return g_strdup_printf("friend %s (id %" G_GINT64_FORMAT ") is %s", name ? name : "?",
                           note.user_id, note.online ? "online" : "offline");
  }
  case CHAT_MSG_ROOM_USER_ON_OFF_LINE: {
    chat_msg_room_user_on_off_line note;
    chat_msg_room_user_on_off_line_read(p, &note, NULL);
    return g_strdup_printf("user %" G_GINT64_FORMAT " is %s in room %" G_GINT64_FORMAT,
                           note.user_id, note.online ? "online" : "offline", note.room_id);
  }
  case CHAT_MSG_INCOMING_FRIEND_REQUEST: {
    g_autofree char *user = chatctl_format_user(p);
    return g_strdup_printf("friend request from %s", user);
  }
  case CHAT_MSG_CONTACT_INFO: {
    chat_msg_contact contact;
    if (chat_msg_contact_read(p, &contact, NULL) == 0 && contact.is_room)
      return g_strdup_printf("new room %" G_GINT64_FORMAT " (%.*s)", contact.room.id,
                             (int)contact.room.room_name.len, contact.room.room_name.ptr);
    g_autofree char *user = chatctl_format_user(p);
    return g_strdup_printf("contact %s", user);
  }
  case CHAT_MSG_REQUEST_FAILED: {
    chat_msg_request_failed failed;
    chat_msg_request_failed_read(p, &failed, NULL);
    return g_strdup_printf("request_failed: %.*s (%.*s)", (int)failed.text.len, failed.text.ptr,
                           (int)failed.error.len, failed.error.ptr);
  }
  case CHAT_MSG_GENERAL_MSG:
  case CHAT_MSG_GENERAL_FAILURE: {
    chat_msg_str text;
    chat_msg_str_read(p, &text, NULL);
    return g_strdup_printf("%s: %.*s", m->info->name, (int)text.value.len, text.value.ptr);
  }
  default: {
    chat_buffer json;
    chat_buffer_init(&json);
    chat_value_write_json(p, CHAT_JSON_BYTES_SUMMARY, &json);
    char *line = g_strdup_printf("%s %.*s", m->info->name, (int)json.len,
                                 json.data ? (const char *)json.data : "");
    chat_buffer_clear(&json);
    return line;
  }
  }
}

static int print_event(chatctl_session *session, const chatctl_globals *globals,
                       const chatctl_message *m, gboolean with_data) {
  if (globals->json) {
    chat_arena arena;
    chat_arena_init(&arena);
    chat_value *doc = chatctl_new_dict(&arena);
    chatctl_dict_add_int(&arena, doc, "type", m->type);
    chatctl_dict_add_str(&arena, doc, "name", m->info->name);
    chatctl_dict_add(&arena, doc, "params", m->params);
    chatctl_dict_add_int(&arena, doc, "time", m->received_ms);
    int status = chatctl_print_json(doc, with_data);
    chat_arena_clear(&arena);
    return status;
  }
  g_autofree char *when = chatctl_format_time(m->received_ms);
  g_autofree char *line = describe_event(session, m);
  chatctl_human_line("%s %s", when, line);
  fflush(stdout);
  return 0;
}

static gboolean on_stop_signal(gpointer data) {
  *(gboolean *)data = TRUE;
  return G_SOURCE_CONTINUE;
}

typedef struct {
  gint64 count, timeout_s;
  gboolean with_data;
} watch_options;

static int watch(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  const watch_options *o = data;
  gint64 count = o->count, timeout_s = o->timeout_s;
  gboolean stop = FALSE;
  guint sigint = g_unix_signal_add(SIGINT, on_stop_signal, &stop);
  guint sigterm = g_unix_signal_add(SIGTERM, on_stop_signal, &stop);
  gint64 deadline = timeout_s ? g_get_monotonic_time() + timeout_s * US_PER_S : CHATCTL_NO_DEADLINE;
  gint64 seen = 0;
  int status = 0;
  while (status == 0 && (count == 0 || seen < count)) {
    g_autoptr(chatctl_message) event = NULL;
    status = chatctl_session_next_event(session, deadline, &stop, &event);
    if (status == 0 && !event)
      break; /* a signal: a normal end */
    if (status == 0) {
      status = print_event(session, globals, event, o->with_data);
      seen++;
    }
  }
  if (status == CHATCTL_EXIT_TIMEOUT && count == 0)
    status = CHATCTL_EXIT_OK; /* --timeout alone: watch for that long */
  else if (status == CHATCTL_EXIT_TIMEOUT)
    chatctl_fail(
        status, "%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " events within %" G_GINT64_FORMAT " s",
        seen, count, timeout_s);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  return status;
}

static int chatctl_watch(const chatctl_command *self, int argc, char **argv,
                         const chatctl_globals *globals) {
  const char *count_text = NULL, *timeout_text = NULL;
  bool with_data = false;
  const chatctl_arg_option options[] = {
      {"--count", &count_text, NULL},
      {"--timeout", &timeout_text, NULL},
      {"--with-data", NULL, &with_data},
  };
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), NULL, 0, 0, &n);
  watch_options o = {.with_data = with_data};
  if (status == 0 && count_text)
    status = chatctl_parse_int(self, "--count", count_text, 1, MAX_COUNT, &o.count);
  if (status == 0 && timeout_text)
    status = chatctl_parse_int(self, "--timeout", timeout_text, 1, MAX_TIMEOUT_S, &o.timeout_s);
  if (status)
    return status;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN, watch, &o);
}

const chatctl_command chatctl_command_watch = {
    "watch",
    chatctl_watch,
    "stay logged in and print events as they come",
    "watch --user NAME [--count N] [--timeout S] [--with-data]",
    "Logs in, then prints every message the server sends (new messages, friends\n"
    "and room members coming and going, friend requests, new contacts, ...) as it\n"
    "arrives, one line per event: \"HH:MM:SS description\". With --json, one JSON\n"
    "object per line: {\"type\": 109, \"name\": \"on_new_message\", \"params\": ...,\n"
    "\"time\": ms since the epoch (when it arrived)}. Output is flushed per event.\n"
    "\n"
    "It ends after N events with --count N (exit 0); after S seconds with\n"
    "--timeout S: exit 0 without --count, exit 4 when --count N was given and\n"
    "fewer than N events came. Without either it runs until interrupted (SIGINT\n"
    "or SIGTERM: exit 0) or until the server closes the connection (exit 3; a\n"
    "login of the same account elsewhere kicks this one).\n"
    "\n"
    "Options:\n"
    "  --count N     stop after N events\n"
    "  --timeout S   stop after S seconds\n"
    "  --with-data   with --json, images as {\"$bytes\": base64} (default: their size)\n"
    "  --json        one JSON object per event\n"
    "\n"
    "Example:\n"
    "  chatctl --user bob watch --json --count 1\n"
    "  {\"type\": 109, \"name\": \"on_new_message\", \"params\": {...}, \"time\": 1714587302123}\n",
};
