/* send_message and its acknowledgement (see send-common.h). */
#include "chatctl/send-common.h"

#include <string.h>

#include "chatctl/args.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"

int chatctl_target_check(const chatctl_command *command, const char *to_user, const char *to_room) {
  if ((to_user == NULL) == (to_room == NULL))
    return chatctl_usage_error(command, "give exactly one of --to-user NAME and --to-room ID");
  gint64 id;
  if (to_room)
    return chatctl_parse_int(command, "--to-room", to_room, 1, G_MAXINT64, &id);
  return 0;
}

typedef struct {
  gint64 type; /* CHATCTL_TARGET_USER or _ROOM */
  gint64 id;
  char *label; /* "bob", "room 3" */
} chatctl_target;

/* After the login: the user must be a friend. Returns 0 or the status. */
static int target_resolve(const chatctl_command *command, chatctl_session *session,
                          const char *to_user, const char *to_room, chatctl_target *target) {
  memset(target, 0, sizeof *target);
  if (to_room) {
    target->type = CHATCTL_TARGET_ROOM;
    int status = chatctl_parse_int(command, "--to-room", to_room, 1, G_MAXINT64, &target->id);
    target->label = g_strdup_printf("room %" G_GINT64_FORMAT, target->id);
    return status;
  }
  target->type = CHATCTL_TARGET_USER;
  target->label = g_strdup(to_user);
  if (!chatctl_session_find_friend(session, to_user, &target->id))
    return chatctl_fail(CHATCTL_EXIT_REFUSED,
                        "%s is not your friend: messages go to friends only "
                        "(chatctl friends add %s)",
                        to_user, to_user);
  return 0;
}

static void target_clear(chatctl_target *target) {
  g_free(target->label);
  memset(target, 0, sizeof *target);
}

typedef struct {
  const char *client_msg_id; /* v2 */
  gint64 sender_id;          /* seed */
  const chatctl_target *target;
} ack_key;

static gboolean is_acknowledgement(const chatctl_message *m, gpointer data) {
  const ack_key *key = data;
  chat_msg_notice n;
  if (chat_msg_notice_read(m->params, &n, NULL) != 0)
    return FALSE;
  if (key->client_msg_id)
    return n.has_client_msg_id && chat_span_eq(n.client_msg_id, key->client_msg_id);
  /* Seed: one connection per account, one send in flight: the sender's own
   * copy of a message to this target is ours. */
  return n.sender_id == key->sender_id && n.target_type == key->target->type &&
         n.target_id == key->target->id;
}

static int send_message(chatctl_session *session, const chatctl_target *target,
                        const chat_msg_body *body, const chatctl_globals *globals,
                        const char *what) {
  gboolean v2 = chatctl_session_dialect(session) == CHAT_DIALECT_V2;
  g_autofree char *client_msg_id = v2 ? g_uuid_string_random() : NULL;
  chat_msg_send_message request = {
      .target_type = target->type,
      .target_id = target->id,
      .message = *body,
      .has_client_msg_id = client_msg_id != NULL,
      .client_msg_id = chat_span_cstr(client_msg_id),
  };
  chat_msg_send_message_write(chatctl_session_begin(session, CHAT_MSG_SEND_MESSAGE), &request);
  gsize len = chatctl_session_request_len(session);
  gsize max = chatctl_session_max_message(session);
  if (len > max)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "%s is too large: the message would be %zu bytes, over the server's "
                        "limit of %zu bytes",
                        what, len, max);
  ack_key key = {client_msg_id, chatctl_session_user_id(session), target};
  g_autoptr(chatctl_message) ack = NULL;
  int status =
      chatctl_session_ask(session, CHAT_MSG_ON_NEW_MESSAGE, is_acknowledgement, &key, &ack);
  if (status)
    return status;
  if (globals->json)
    return chatctl_print_json(ack->params, FALSE);
  chat_msg_notice n;
  if (v2 && chat_msg_notice_read(ack->params, &n, NULL) == 0)
    chatctl_human_line("sent message #%" G_GINT64_FORMAT " to %s", n.id, target->label);
  else if (v2)
    chatctl_human_line("sent message #0 to %s", target->label);
  else
    chatctl_human_line("sent to %s", target->label);
  return 0;
}

typedef struct {
  const chatctl_command *command;
  const chatctl_send_request *request;
} send_job;

static int run_send(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  const send_job *job = data;
  const chatctl_send_request *r = job->request;
  gsize max_image = chatctl_session_max_image(session);
  if (r->image_path && max_image > 0 && r->body->data.len > max_image)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "%s is %zu bytes, over the server's image limit of %zu bytes",
                        r->image_path, r->body->data.len, max_image);
  chatctl_target target;
  int status = target_resolve(job->command, session, r->to_user, r->to_room, &target);
  if (status == 0)
    status = send_message(session, &target, r->body, globals, r->what);
  target_clear(&target);
  return status;
}

int chatctl_send_body(const chatctl_command *command, const chatctl_globals *globals,
                      const chatctl_send_request *request) {
  send_job job = {command, request};
  return chatctl_session_run(command, globals, CHATCTL_SESSION_LOGIN, run_send, &job);
}
