/* chatctl history: a conversation's messages. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/seed-history.h"
#include "chatctl/send-common.h"
#include "chatctl/session.h"
#include "protocol/chat-limits.h"

#define DEFAULT_LIMIT "20"
/* The server's largest page. */
#define MAX_LIMIT CHAT_HISTORY_PAGE_MAX

typedef struct {
  const chatctl_command *command;
  const char *with_user; /* or target_id is the room */
  gint64 target_type, target_id;
  gint64 limit, before; /* before: 0 for none */
  gboolean with_data;
} history_query;

/* Prints a history_page (messages newest first). */
static int print_page(const chatctl_globals *globals, const history_query *q,
                      const chat_value *value) {
  if (globals->json)
    return chatctl_print_json(value, q->with_data);
  chat_msg_history_page page;
  if (chat_msg_history_page_read(value, &page, NULL) != 0)
    return 0;
  const chat_value *messages = page.messages.decoded;
  /* Oldest first, as a conversation reads. */
  for (size_t i = page.messages.count; i > 0; i--) {
    g_autofree char *line = chatctl_format_notice(&messages->as.list.items[i - 1]);
    chatctl_human_line("%s", line);
  }
  if (page.more && page.messages.count > 0) {
    chat_msg_notice oldest;
    chat_msg_notice_at(&page.messages, page.messages.count - 1, &oldest);
    if (oldest.has_id)
      chatctl_human_line("(older messages remain: add --before %" G_GINT64_FORMAT ")", oldest.id);
    else
      chatctl_human_line("(older messages remain: raise --limit)");
  }
  return 0;
}

static gboolean is_our_page(const chatctl_message *m, gpointer data) {
  const history_query *q = data;
  chat_msg_history_page page;
  return chat_msg_history_page_read(m->params, &page, NULL) == 0 &&
         page.target_type == q->target_type && page.target_id == q->target_id;
}

static int fetch_v2(chatctl_session *session, const chatctl_globals *globals,
                    const history_query *q) {
  chat_msg_fetch_history request = {q->target_type, q->target_id, q->before, q->limit};
  chat_msg_fetch_history_write(chatctl_session_begin(session, CHAT_MSG_FETCH_HISTORY), &request);
  g_autoptr(chatctl_message) page = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_HISTORY_PAGE, is_our_page, (gpointer)q, &page);
  return status ? status : print_page(globals, q, page->params);
}

/* Item i of a page built from stored notices (newest first). */
static void write_stored_notice(chat_writer *w, size_t i, const void *data) {
  const GPtrArray *newest_first = data;
  chat_msg_any notice = {g_ptr_array_index(newest_first, i)};
  chat_msg_any_write(w, &notice);
}

/* Seed: the login bundle's messages of the conversation, as a v2 page. */
static int filter_seed(chatctl_session *session, const chatctl_globals *globals,
                       const history_query *q) {
  chat_arena arena;
  chat_arena_init(&arena);
  g_autoptr(GArray) stored = g_array_new(FALSE, FALSE, sizeof(chatctl_stored_message));
  int status = chatctl_seed_stored_messages(chatctl_session_bundle(session), &arena, stored);
  if (status == 0) {
    /* Each copy names the other side (or the room) in target_id. */
    g_autoptr(GPtrArray) matching = g_ptr_array_new();
    for (guint i = 0; i < stored->len; i++) {
      const chat_value *notice = g_array_index(stored, chatctl_stored_message, i).notice;
      chat_msg_notice n;
      if (chat_msg_notice_read(notice, &n, NULL) == 0 && n.target_type == q->target_type &&
          n.target_id == q->target_id)
        g_ptr_array_add(matching, (gpointer)notice);
    }
    guint shown = MIN(matching->len, (guint)q->limit);
    g_autoptr(GPtrArray) newest_first = g_ptr_array_new();
    for (guint i = 0; i < shown; i++)
      g_ptr_array_add(newest_first, g_ptr_array_index(matching, matching->len - 1 - i));
    chat_msg_history_page page = {
        .target_type = q->target_type,
        .target_id = q->target_id,
        .messages = {.count = shown, .write_item = write_stored_notice, .data = newest_first},
        .more = matching->len > shown,
    };
    /* Written and read back: the page is printed as a v2 server's would be. */
    chat_buffer encoded;
    chat_buffer_init(&encoded);
    chat_writer w;
    chat_writer_init(&w, &encoded);
    chat_msg_history_page_write(&w, &page);
    chat_value *value = NULL;
    chat_error err;
    if (chat_writer_finish(&w) != 0 ||
        chat_value_decode(encoded.data, encoded.len, NULL, 0, &arena, &value, &err) != 0)
      status = chatctl_fail(CHATCTL_EXIT_USAGE, "cannot build the history page");
    else
      status = print_page(globals, q, value);
    chat_buffer_clear(&encoded);
  }
  chat_arena_clear(&arena);
  return status;
}

static int fetch(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  history_query *q = data;
  gboolean seed = chatctl_session_dialect(session) == CHAT_DIALECT_SEED;
  if (q->with_user && !chatctl_session_find_friend(session, q->with_user, &q->target_id))
    return chatctl_fail(CHATCTL_EXIT_REFUSED, "%s is not your friend", q->with_user);
  if (seed && q->before)
    return chatctl_usage_error(q->command, "--before needs the v2 dialect (seed messages have "
                                           "no ids)");
  if (seed)
    return filter_seed(session, globals, q);
  return fetch_v2(session, globals, q);
}

static int chatctl_history(const chatctl_command *self, int argc, char **argv,
                           const chatctl_globals *globals) {
  const char *with_user = NULL, *room = NULL, *limit = DEFAULT_LIMIT, *before = NULL;
  bool with_data = false;
  const chatctl_arg_option options[] = {
      {"--with-user", &with_user, NULL}, {"--room", &room, NULL},
      {"--limit", &limit, NULL},         {"--before", &before, NULL},
      {"--with-data", NULL, &with_data},
  };
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), NULL, 0, 0, &n);
  if (status)
    return status;
  history_query q = {.command = self, .with_user = with_user, .with_data = with_data};
  if ((with_user == NULL) == (room == NULL))
    return chatctl_usage_error(self, "give exactly one of --with-user NAME and --room ID");
  if ((status = chatctl_parse_int(self, "--limit", limit, 1, MAX_LIMIT, &q.limit)))
    return status;
  if (before && (status = chatctl_parse_int(self, "--before", before, 1, G_MAXINT64, &q.before)))
    return status;
  if (room && (status = chatctl_parse_int(self, "--room", room, 1, G_MAXINT64, &q.target_id)))
    return status;
  q.target_type = room ? CHATCTL_TARGET_ROOM : CHATCTL_TARGET_USER;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN, fetch, &q);
}

const chatctl_command chatctl_command_history = {
    "history",
    chatctl_history,
    "print a conversation's messages",
    "history --user NAME (--with-user FRIEND | --room ID) [--limit N] [--before ID]\n"
    "       [--with-data]",
    "Prints the newest messages of the conversation with a friend or in a room,\n"
    "oldest first: \"DATE TIME #ID SENDER: TEXT\" (images as \"[image, N bytes]\").\n"
    "In v2 the server pages the history (fetch_history); in seed the messages come\n"
    "from the login bundle, which carries the whole history (and no message ids).\n"
    "\n"
    "Options:\n"
    "  --with-user FRIEND  the conversation with a friend\n"
    "  --room ID           the conversation of a room you are a member of\n"
    "  --limit N           at most N messages, 1..200 (default 20)\n"
    "  --before ID         only messages older than message #ID (v2; page backwards)\n"
    "  --with-data         with --json, images as {\"$bytes\": base64} (default: their\n"
    "                      size, {\"$bytes_len\": N})\n"
    "  --json              print the page: {\"target_type\": 0|1, \"target_id\": N,\n"
    "                      \"messages\": [notice, ...] (newest first), \"more\": bool}\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice history --with-user bob --limit 2\n"
    "  2024-05-01 20:15:02 #11 Bob: dinner?\n"
    "  2024-05-01 20:15:40 #12 Alice: see you at 8\n"
    "  (older messages remain: add --before 11)\n",
};
