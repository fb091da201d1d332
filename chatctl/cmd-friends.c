/* chatctl friends list | requests | add NAME | accept NAME | reject NAME. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

/* Prints @user values, one per line, or as one JSON array. */
static int print_users(const chatctl_globals *globals, const chat_value *const *users,
                       size_t count) {
  if (!globals->json) {
    for (size_t i = 0; i < count; i++)
      chatctl_print_user(FALSE, users[i]);
    return 0;
  }
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *list = chatctl_new_list(&arena);
  for (size_t i = 0; i < count; i++)
    chatctl_list_add(&arena, list, users[i]);
  int status = chatctl_print_json(list, FALSE);
  chat_arena_clear(&arena);
  return status;
}

static int list_friends(chatctl_session *session, const chatctl_globals *globals) {
  chat_msg_list friends;
  g_autoptr(GPtrArray) users = g_ptr_array_new();
  if (chatctl_bundle_contacts(chatctl_session_bundle(session), FALSE, &friends))
    for (size_t i = 0; i < friends.count; i++)
      g_ptr_array_add(users, &friends.decoded->as.list.items[i]);
  return print_users(globals, (const chat_value *const *)users->pdata, users->len);
}

static int list_requests(chatctl_session *session, const chatctl_globals *globals) {
  GPtrArray *requests = chatctl_session_friend_requests(session);
  return print_users(globals, (const chat_value *const *)requests->pdata, requests->len);
}

static int add_friend(chatctl_session *session, const chatctl_globals *globals, const char *name) {
  chat_msg_str request = {chat_span_cstr(name)};
  chat_msg_str_write(chatctl_session_begin(session, CHAT_MSG_ADD_FRIEND), &request);
  g_autoptr(chatctl_message) reply = NULL;
  int status = chatctl_session_send(session);
  static const guint32 answers[] = {CHAT_MSG_ADD_FRIEND_RESULT, CHAT_MSG_REQUEST_FAILED};
  if (status == 0)
    status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), NULL, NULL, &reply);
  if (status)
    return status;
  if (reply->type == CHAT_MSG_REQUEST_FAILED) {
    g_autofree char *what = g_strdup_printf("cannot add %s", name);
    return chatctl_session_refused(session, reply, what);
  }
  chat_msg_add_friend_result result;
  chat_msg_add_friend_result_read(reply->params, &result, NULL);
  if (!result.ok)
    return chatctl_fail(CHATCTL_EXIT_REFUSED, "cannot add %s: %.*s", name, (int)result.reason.len,
                        result.reason.ptr);
  if (globals->json) {
    const chatctl_field fields[] = {CHATCTL_STR("requested", name)};
    return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
  }
  chatctl_human_line("friend request sent to %s", name);
  return 0;
}

/* The id of the pending request from `name` (received at login). */
static gboolean find_request(chatctl_session *session, const char *name, gint64 *id) {
  g_autofree char *wanted = chatctl_normalize_username(name);
  GPtrArray *requests = chatctl_session_friend_requests(session);
  for (guint i = 0; wanted && i < requests->len; i++) {
    chat_msg_user user;
    if (chat_msg_user_read(g_ptr_array_index(requests, i), &user, NULL) == 0 &&
        chat_span_eq(user.username, wanted)) {
      *id = user.id;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean is_new_friend(const chatctl_message *m, gpointer data) {
  const gint64 *id = data;
  chat_msg_contact contact;
  return chat_msg_contact_read(m->params, &contact, NULL) == 0 &&
         contact.type == CHAT_CONTACT_TYPE_FRIEND && !contact.is_room && contact.user.id == *id;
}

static int resolve_request(chatctl_session *session, const chatctl_globals *globals,
                           const char *name, gboolean accept) {
  gint64 id = 0;
  if (!find_request(session, name, &id))
    return chatctl_fail(CHATCTL_EXIT_REFUSED,
                        "there is no friend request from %s (see chatctl friends requests)", name);
  chat_msg_resolve_friend_request request = {id, accept};
  chat_msg_resolve_friend_request_write(
      chatctl_session_begin(session, CHAT_MSG_RESOLVE_FRIEND_REQUEST), &request);
  int status = chatctl_session_send(session);
  if (status)
    return status;
  if (!accept) {
    /* A rejection has no answer: the echo after it says it is done. */
    status = chatctl_session_barrier(session);
    if (status)
      return status;
    if (!globals->json) {
      chatctl_human_line("rejected the friend request from %s", name);
      return 0;
    }
    const chatctl_field fields[] = {CHATCTL_STR("rejected", name), CHATCTL_INT("id", id)};
    return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
  }
  static const guint32 answers[] = {CHAT_MSG_CONTACT_INFO};
  g_autoptr(chatctl_message) contact = NULL;
  status =
      chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), is_new_friend, &id, &contact);
  if (status)
    return status;
  if (globals->json)
    return chatctl_print_json(contact->params, FALSE);
  g_autofree char *line = chatctl_format_user(contact->params);
  chatctl_human_line("now friends with %s", line);
  return 0;
}

enum { VERB_LIST, VERB_REQUESTS, VERB_ADD, VERB_ACCEPT, VERB_REJECT };

static const chatctl_verb verbs[] = {
    [VERB_LIST] = {"list", NULL},
    [VERB_REQUESTS] = {"requests", NULL},
    [VERB_ADD] = {"add", "a username"},
    [VERB_ACCEPT] = {"accept", "a username"},
    [VERB_REJECT] = {"reject", "a username"},
};

typedef struct {
  size_t verb;
  const char *name;
} friends_request;

static int run_verb(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  const friends_request *r = data;
  switch (r->verb) {
  case VERB_LIST:
    return list_friends(session, globals);
  case VERB_REQUESTS:
    return list_requests(session, globals);
  case VERB_ADD:
    return add_friend(session, globals, r->name);
  default:
    return resolve_request(session, globals, r->name, r->verb == VERB_ACCEPT);
  }
}

static int chatctl_friends(const chatctl_command *self, int argc, char **argv,
                           const chatctl_globals *globals) {
  friends_request r;
  int status = chatctl_parse_verb(self, argc, argv, verbs, G_N_ELEMENTS(verbs), &r.verb, &r.name);
  if (status)
    return status;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN, run_verb, &r);
}

const chatctl_command chatctl_command_friends = {
    "friends",
    chatctl_friends,
    "list friends and requests; add, accept or reject friends",
    "friends --user NAME list | requests | add USER | accept USER | reject USER",
    "Verbs:\n"
    "  list          your friends (from the login), with their online state\n"
    "  requests      the friend requests waiting for your answer\n"
    "  add USER      ask USER to be your friend; refused (exit 1, the server's\n"
    "                reason) for an unknown user, yourself, a friend, or a request\n"
    "                already waiting\n"
    "  accept USER   accept USER's request (USER as listed by requests)\n"
    "  reject USER   reject it; the request is deleted\n"
    "\n"
    "Options:\n"
    "  --json        list, requests: a JSON array of users; add: {\"requested\": USER};\n"
    "                accept: the new friend; reject: {\"rejected\": USER, \"id\": N}\n"
    "\n"
    "Examples:\n"
    "  chatctl --user alice friends add bob\n"
    "  chatctl --user bob friends accept alice\n"
    "  now friends with alice (id 1, nickname \"Alice\", online)\n",
};
