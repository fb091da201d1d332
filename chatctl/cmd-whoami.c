/* chatctl whoami: log in and print the user. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

static int print_self(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  (void)data;
  return chatctl_print_user(globals->json, chatctl_session_user(session));
}

static int chatctl_whoami(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  int status = chatctl_parse_operands(self, argc, argv, NULL, 0);
  if (status)
    return status;
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN, print_self, NULL);
}

const chatctl_command chatctl_command_whoami = {
    "whoami",
    chatctl_whoami,
    "log in and print the user",
    "whoami --user NAME",
    "Logs in as --user (with the cached resume token of an earlier v2 login, else\n"
    "the password) and prints the user as the server knows it.\n"
    "\n"
    "Options:\n"
    "  --json   print the user: {\"id\": 1, \"username\": ..., \"nickname\": ..., \"online\": "
    "true}\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice whoami\n"
    "  alice (id 1, nickname \"Alice A.\", online)\n",
};
