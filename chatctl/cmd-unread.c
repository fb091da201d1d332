/* chatctl unread: the conversations with unread messages. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/output.h"
#include "chatctl/seed-history.h"
#include "chatctl/send-common.h"
#include "chatctl/session.h"

typedef struct {
  gint64 target_type, target_id, unread;
} unread_count;

static void add_count(GArray *counts, gint64 target_type, gint64 target_id, gint64 n) {
  for (guint i = 0; i < counts->len; i++) {
    unread_count *c = &g_array_index(counts, unread_count, i);
    if (c->target_type == target_type && c->target_id == target_id) {
      c->unread += n;
      return;
    }
  }
  unread_count c = {target_type, target_id, n};
  g_array_append_val(counts, c);
}

/* v2: the session_bundle counts them against the stored read markers. */
static void count_v2(chatctl_session *session, GArray *counts) {
  chat_msg_session_bundle bundle;
  if (chat_msg_session_bundle_read(chatctl_session_bundle(session), &bundle, NULL) != 0)
    return;
  for (size_t i = 0; i < bundle.conversations.count; i++) {
    chat_msg_conversation c;
    chat_msg_conversation_at(&bundle.conversations, i, &c);
    if (c.unread > 0)
      add_count(counts, c.target_type, c.target_id, c.unread);
  }
}

/* Seed: the bundle's messages that arrived while offline (sent = 0). */
static int count_seed(chatctl_session *session, chat_arena *arena, GArray *counts) {
  g_autoptr(GArray) stored = g_array_new(FALSE, FALSE, sizeof(chatctl_stored_message));
  int status = chatctl_seed_stored_messages(chatctl_session_bundle(session), arena, stored);
  for (guint i = 0; status == 0 && i < stored->len; i++) {
    const chatctl_stored_message *m = &g_array_index(stored, chatctl_stored_message, i);
    chat_msg_notice n;
    if (!m->delivered && chat_msg_notice_read(m->notice, &n, NULL) == 0)
      add_count(counts, n.target_type, n.target_id, 1);
  }
  return status;
}

static int print_counts(chatctl_session *session, const chatctl_globals *globals, chat_arena *arena,
                        GArray *counts) {
  chat_value *list = chatctl_new_list(arena);
  for (guint i = 0; i < counts->len; i++) {
    const unread_count *c = &g_array_index(counts, unread_count, i);
    const char *name = chatctl_session_contact_name(session, c->target_type, c->target_id);
    if (!globals->json) {
      if (c->target_type == CHATCTL_TARGET_ROOM)
        chatctl_human_line("room %" G_GINT64_FORMAT " (%s): %" G_GINT64_FORMAT " unread",
                           c->target_id, name ? name : "?", c->unread);
      else
        chatctl_human_line("%s (user %" G_GINT64_FORMAT "): %" G_GINT64_FORMAT " unread",
                           name ? name : "?", c->target_id, c->unread);
      continue;
    }
    chat_value *item = chatctl_new_dict(arena);
    chatctl_dict_add_int(arena, item, "target_type", c->target_type);
    chatctl_dict_add_int(arena, item, "target_id", c->target_id);
    chatctl_dict_add_str(arena, item, "name", name ? name : "");
    chatctl_dict_add_int(arena, item, "unread", c->unread);
    chatctl_list_add(arena, list, item);
  }
  if (globals->json)
    return chatctl_print_json(list, FALSE);
  if (counts->len == 0)
    chatctl_human_line("no unread messages");
  return 0;
}

static int count_and_print(chatctl_session *session, const chatctl_globals *globals,
                           gpointer data) {
  (void)data;
  chat_arena arena;
  chat_arena_init(&arena);
  g_autoptr(GArray) counts = g_array_new(FALSE, FALSE, sizeof(unread_count));
  int status = 0;
  if (chatctl_session_dialect(session) == CHAT_DIALECT_V2)
    count_v2(session, counts);
  else
    status = count_seed(session, &arena, counts);
  if (status == 0)
    status = print_counts(session, globals, &arena, counts);
  chat_arena_clear(&arena);
  return status;
}

static int chatctl_unread(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  int status = chatctl_parse_operands(self, argc, argv, NULL, 0);
  if (status)
    return status;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN, count_and_print, NULL);
}

const chatctl_command chatctl_command_unread = {
    "unread",
    chatctl_unread,
    "list the conversations with unread messages",
    "unread --user NAME",
    "Logs in and prints, per conversation, how many messages are unread.\n"
    "v2: the login's session_bundle counts the messages others sent above your\n"
    "read marker (reading them elsewhere moves it; unread does not).\n"
    "seed: the login bundle's messages that arrived while you were offline\n"
    "(sent = 0). The seed server counts them as delivered once a login bundle\n"
    "has carried them, so a second `unread` shows them no more.\n"
    "\n"
    "Options:\n"
    "  --json   [{\"target_type\": 0|1, \"target_id\": N, \"name\": ..., \"unread\": N}, ...]\n"
    "\n"
    "Example:\n"
    "  chatctl --user bob unread\n"
    "  alice (user 1): 2 unread\n"
    "  room 3 (book club): 5 unread\n",
};
