/* What `send` and `send-image` share: the target (a friend or a room), the
 * send_message request around a body, and waiting for its acknowledgement. */
#ifndef CHATCTL_SEND_COMMON_H
#define CHATCTL_SEND_COMMON_H

#include <glib.h>

#include "chatctl/command.h"
#include "chatctl/session.h"
#include "protocol/messages.h"

/* target_type values of spec/protocol.md 5.2. */
#define CHATCTL_TARGET_USER CHAT_TARGET_USER
#define CHATCTL_TARGET_ROOM CHAT_TARGET_ROOM

typedef struct {
  gint64 type;   /* CHATCTL_TARGET_USER or _ROOM */
  gint64 id;
  char *label;   /* "bob", "room 3" */
} chatctl_target;

/* Before connecting: exactly one of --to-user / --to-room, the room a
 * positive number. Returns 0 or a usage error. */
int chatctl_target_check(const chatctl_command *command, const char *to_user,
                         const char *to_room);

/* After the login: the user must be a friend (else CHATCTL_EXIT_REFUSED,
 * "NAME is not your friend"). Returns 0 or the status. */
int chatctl_target_resolve(const chatctl_command *command, chatctl_session *session,
                           const char *to_user, const char *to_room, chatctl_target *target);
void chatctl_target_clear(chatctl_target *target);

/* Sends send_message with body to the target (v2: with a random
 * client_msg_id), refusing it when it is larger than the server takes (a
 * usage error that names `what`), and waits for the acknowledgement: in v2
 * the server's copy carrying the client_msg_id, in seed the sender's own
 * on_new_message copy. Prints the result (--json: the acknowledged
 * notice). */
int chatctl_send_message(const chatctl_command *command, chatctl_session *session,
                         const chatctl_target *target, const chat_msg_body *body,
                         const chatctl_globals *globals, const char *what);

#endif
