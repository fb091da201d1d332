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

/* Before connecting: exactly one of --to-user / --to-room, the room a
 * positive number. Returns 0 or a usage error. */
int chatctl_target_check(const chatctl_command *command, const char *to_user, const char *to_room);

typedef struct {
  const char *to_user; /* a friend's username ... */
  const char *to_room; /* ... or a room ID (checked by chatctl_target_check) */
  const chat_msg_body *body;
  const char *what;       /* for the size errors: "the text", "the image x.png (...)" */
  const char *image_path; /* an image: its file, named when over the server's max_image */
} chatctl_send_request;

/* Connects and logs in, checks an image against the server's max_image
 * (v2 server-info; a usage error), resolves the target (a user must be a
 * friend, else CHATCTL_EXIT_REFUSED, "NAME is not your friend"), and sends
 * send_message with the body (v2: with a random client_msg_id), refusing it
 * when it is larger than the server takes (a usage error that names
 * `what`). Then waits for the acknowledgement: in v2 the server's copy
 * carrying the client_msg_id, in seed the sender's own on_new_message copy,
 * and prints the result (--json: the acknowledged notice). Returns 0 or an
 * exit status. */
int chatctl_send_body(const chatctl_command *command, const chatctl_globals *globals,
                      const chatctl_send_request *request);

#endif
