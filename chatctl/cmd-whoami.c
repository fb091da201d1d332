/* chatctl whoami: log in and print the user. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

static int chatctl_whoami(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  int n;
  int status = chatctl_parse_args(self, argc, argv, NULL, 0, NULL, 0, 0, &n);
  if (status)
    return status;
  chatctl_session *session = NULL;
  status = chatctl_session_open(self, globals, CHATCTL_SESSION_LOGIN, &session);
  if (status)
    return status;
  const chat_value *user = chatctl_session_user(session);
  if (globals->json) {
    status = chatctl_print_json(user, FALSE);
  } else {
    g_autofree char *line = chatctl_format_user(user);
    chatctl_human_line("%s", line);
  }
  chatctl_session_close(session);
  return status;
}

const chatctl_command chatctl_command_whoami = {
    "whoami", chatctl_whoami,
    "log in and print the user",
    "whoami --user NAME",
    "Logs in as --user (with the cached resume token of an earlier v2 login, else\n"
    "the password) and prints the user as the server knows it.\n"
    "\n"
    "Options:\n"
    "  --json   print the user: {\"id\": 1, \"username\": ..., \"nickname\": ..., \"online\": true}\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice whoami\n"
    "  alice (id 1, nickname \"Alice A.\", online)\n",
};
