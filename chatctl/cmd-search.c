/* chatctl search: find the user's own messages that contain a text. */
#include <string.h>
#include <unistd.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/send-common.h"
#include "chatctl/session.h"
#include "protocol/chat-limits.h"

#define DEFAULT_LIMIT "20"
/* The server's page limit (spec: search). */
#define MAX_LIMIT CHAT_SEARCH_LIMIT_MAX
/* How a match is marked: bold on a terminal, else brackets. */
#define MARK_TTY_START "\033[1m"
#define MARK_TTY_END "\033[0m"
#define MARK_PLAIN_START "["
#define MARK_PLAIN_END "]"

typedef struct {
  const chatctl_command *command;
  const char *query;
  const char *friend_name; /* or has_target with the room */
  gboolean has_target;     /* target_type and target_id set */
  gint64 target_type, target_id;
  gint64 limit, before; /* before: 0 for from the newest */
} search_query;

typedef struct {
  const char *start, *end;
} match_marks;

static match_marks marks_for_stdout(void) {
  if (isatty(STDOUT_FILENO) && !g_getenv("NO_COLOR"))
    return (match_marks){MARK_TTY_START, MARK_TTY_END};
  return (match_marks){MARK_PLAIN_START, MARK_PLAIN_END};
}

/* text[from, to) escaped for a terminal line (chatctl_escape_text). */
static void append_escaped(GString *line, const char *text, size_t from, size_t to) {
  g_autofree char *safe = chatctl_escape_text(text + from, to - from);
  g_string_append(line, safe);
}

/* The text with every match between marks. Spans that overlap an earlier
 * one or leave the text are skipped: the line never shows a broken mark. */
static void append_marked(GString *line, chat_span text, const chat_msg_search_result *result,
                          match_marks marks) {
  size_t done = 0;
  for (size_t i = 0; i < result->matches.count; i++) {
    chat_msg_search_span match;
    chat_msg_search_span_at(&result->matches, i, &match);
    if (match.start < 0 || match.length <= 0 || (size_t)match.start < done ||
        (size_t)match.start > text.len || (size_t)match.length > text.len - (size_t)match.start)
      continue;
    size_t start = (size_t)match.start, end = start + (size_t)match.length;
    append_escaped(line, text.ptr, done, start);
    g_string_append(line, marks.start);
    append_escaped(line, text.ptr, start, end);
    g_string_append(line, marks.end);
    done = end;
  }
  append_escaped(line, text.ptr, done, text.len);
}

/* The conversation a notice belongs to, as the user sees it: "@bob" for
 * the 1:1 conversation with bob, "room 7 (Hikers)" for a room. */
static char *conversation_label(chatctl_session *session, const chat_msg_notice *n) {
  if (n->target_type == CHAT_TARGET_ROOM) {
    const char *name = chatctl_session_contact_name(session, CHAT_TARGET_ROOM, n->target_id);
    return name ? g_strdup_printf("room %" G_GINT64_FORMAT " (%s)", n->target_id, name)
                : g_strdup_printf("room %" G_GINT64_FORMAT, n->target_id);
  }
  gint64 other = n->target_id == chatctl_session_user_id(session) ? n->sender_id : n->target_id;
  const chat_value *bundle = chatctl_session_bundle(session);
  chat_msg_list friends;
  if (chatctl_bundle_contacts(bundle, FALSE, &friends)) {
    for (size_t i = 0; i < friends.count; i++) {
      chat_msg_contact c;
      chat_msg_contact_at(&friends, i, &c);
      if (!c.is_room && c.user.id == other)
        return g_strdup_printf("@%.*s", (int)c.user.username.len, c.user.username.ptr);
    }
  }
  return g_strdup_printf("user %" G_GINT64_FORMAT, other);
}

/* One hit: "DATE TIME #ID CONVERSATION | SENDER: TEXT" with the matches
 * marked. Everything the server sent is escaped. */
static void print_hit(chatctl_session *session, const chat_msg_search_result *result,
                      match_marks marks) {
  const chat_msg_notice *n = &result->notice;
  g_autofree char *when = chatctl_format_date_time(n->time);
  g_autofree char *where = conversation_label(session, n);
  g_autofree char *sender = chatctl_format_sender(n);
  g_autofree char *safe_where = chatctl_escape_text(where, strlen(where));
  g_autofree char *safe_sender = chatctl_escape_text(sender, strlen(sender));
  g_autoptr(GString) line = g_string_new(NULL);
  g_string_append_printf(line, "%s #%" G_GINT64_FORMAT " %s | %s: ", when, n->id, safe_where,
                         safe_sender);
  if (n->message.form == CHAT_BODY_TEXT)
    append_marked(line, n->message.data, result, marks);
  fputs(line->str, stdout);
  fputc('\n', stdout);
}

static int print_results(chatctl_session *session, const chatctl_globals *globals,
                         const chat_value *value) {
  if (globals->json)
    return chatctl_print_json(value, FALSE);
  chat_msg_search_results results;
  if (chat_msg_search_results_read(value, &results, NULL) != 0)
    return chatctl_fail(CHATCTL_EXIT_CONNECTION, "the server sent search results that do not read");
  match_marks marks = marks_for_stdout();
  /* Newest first, as the server ranks them. */
  gint64 oldest_id = 0;
  for (size_t i = 0; i < results.results.count; i++) {
    chat_msg_search_result result;
    chat_msg_search_result_at(&results.results, i, &result);
    print_hit(session, &result, marks);
    oldest_id = result.notice.id;
  }
  if (results.results.count == 0)
    chatctl_human_line("(no messages match)");
  else if (results.more)
    chatctl_human_line("(older matches remain: add --before %" G_GINT64_FORMAT ")", oldest_id);
  fflush(stdout);
  return 0;
}

static int search(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  search_query *q = data;
  if (q->friend_name) {
    if (!chatctl_session_find_friend(session, q->friend_name, &q->target_id))
      return chatctl_fail(CHATCTL_EXIT_REFUSED, "%s is not your friend", q->friend_name);
    q->target_type = CHAT_TARGET_USER;
    q->has_target = TRUE;
  }
  chat_msg_search request = {
      .query = chat_span_cstr(q->query),
      .before_id = q->before,
      .limit = q->limit,
      .has_target_type = q->has_target,
      .target_type = q->target_type,
      .has_target_id = q->has_target,
      .target_id = q->target_id,
  };
  chat_msg_search_write(chatctl_session_begin(session, CHAT_MSG_SEARCH), &request);
  g_autoptr(chatctl_message) reply = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_SEARCH_RESULTS, NULL, NULL, &reply);
  return status ? status : print_results(session, globals, reply->params);
}

/* The server's rules for the request (protocol/messages.h), checked
 * before connecting: a usage error, not a refusal. */
static int check_request(const search_query *q) {
  chat_msg_search request = {
      .query = chat_span_cstr(q->query),
      .before_id = q->before,
      .limit = q->limit,
  };
  const char *problem = chat_msg_search_problem(&request, NULL);
  return problem ? chatctl_usage_error(q->command, "%s", problem) : 0;
}

static int chatctl_search(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  const char *friend_name = NULL, *room = NULL, *limit = DEFAULT_LIMIT, *before = NULL;
  const chatctl_arg_option options[] = {
      {"--friend", &friend_name, NULL},
      {"--room", &room, NULL},
      {"--limit", &limit, NULL},
      {"--before", &before, NULL},
  };
  const char *query = NULL;
  int n;
  int status =
      chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), &query, 1, 1, &n);
  if (status)
    return status;
  search_query q = {.command = self, .query = query, .friend_name = friend_name};
  if (friend_name && room)
    return chatctl_usage_error(self, "give at most one of --friend NAME and --room ID");
  if ((status = chatctl_parse_int(self, "--limit", limit, 1, MAX_LIMIT, &q.limit)))
    return status;
  if (before && (status = chatctl_parse_int(self, "--before", before, 1, G_MAXINT64, &q.before)))
    return status;
  if (room) {
    if ((status = chatctl_parse_int(self, "--room", room, 1, G_MAXINT64, &q.target_id)))
      return status;
    q.has_target = TRUE;
    q.target_type = CHAT_TARGET_ROOM;
  }
  if ((status = check_request(&q)))
    return status;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN | CHATCTL_SESSION_V2_ONLY, search,
                             &q);
}

const chatctl_command chatctl_command_search = {
    "search",
    chatctl_search,
    "find your messages that contain a text (v2)",
    "search --user NAME QUERY [--friend FRIEND | --room ID] [--limit N] [--before ID]",
    "Searches the text messages of your own conversations (with your friends and\n"
    "in the rooms you belong to now), newest first. A message matches when it\n"
    "contains QUERY, ignoring the case of ASCII letters; other characters (e.g.\n"
    "Chinese) match exactly. One line per message:\n"
    "\"DATE TIME #ID CONVERSATION | SENDER: TEXT\", the conversation \"@friend\" or\n"
    "\"room ID (NAME)\", each match in TEXT between [ and ] (bold on a terminal,\n"
    "unless NO_COLOR is set). When older matches remain, a last line says which\n"
    "--before ID shows them.\n"
    "\n"
    "Options:\n"
    "  --friend FRIEND  only the conversation with this friend\n"
    "  --room ID        only the conversation of this room\n"
    "  --limit N        at most N messages, 1..50 (default 20)\n"
    "  --before ID      only messages older than message #ID (the next page)\n"
    "  --json           print the server's page: {\"query\": str, \"results\":\n"
    "                   [{\"notice\": notice, \"matches\": [[start, length], ...]}]\n"
    "                   (newest first), \"more\": bool}; start and length count\n"
    "                   bytes of the notice's message.data (UTF-8)\n"
    "\n"
    "QUERY: 1..256 bytes of UTF-8, not only white space. Queries of fewer than\n"
    "three characters work too (the server scans instead of using its index).\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice search dinner --limit 2\n"
    "  2024-05-01 20:15:40 #12 @bob | Alice (alice): [dinner] at 8?\n"
    "  2024-05-01 19:02:11 #9 room 7 (Hikers) | Bob (bob): [Dinner] after the hike\n"
    "  (older matches remain: add --before 9)\n",
};
