/* chatctl echo JSON: client_echo round trip. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/output.h"
#include "chatctl/session.h"
#include "protocol/gio/chat-autocleanups.h"
#include "protocol/json.h"

typedef struct {
  const chatctl_command *command;
  const chat_value *value;
  bool with_data;
} echo_request;

static int echo(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  (void)globals;
  const echo_request *r = data;
  chat_writer *w = chatctl_session_begin(session, CHAT_MSG_CLIENT_ECHO);
  int rc = chat_value_encode(r->value, w->out);
  if (rc)
    return chatctl_usage_error(r->command, "JSON: cannot encode it: %s", chat_strerror(rc));
  g_autoptr(chatctl_message) reply = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_SERVER_ECHO, NULL, NULL, &reply);
  return status ? status : chatctl_print_json(reply->params, r->with_data);
}

static int chatctl_echo(const chatctl_command *self, int argc, char **argv,
                        const chatctl_globals *globals) {
  const char *args[1];
  bool with_data = false;
  const chatctl_arg_option options[] = {{"--with-data", NULL, &with_data}};
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), args, 1, 1, &n);
  if (status)
    return status;
  g_auto(chat_arena) arena = {0};
  chat_value *value = NULL;
  chat_error err;
  if (chat_value_parse_json(args[0], strlen(args[0]), &arena, &value, &err) != 0)
    return chatctl_usage_error(self, "JSON: %s", err.message);
  echo_request r = {self, value, with_data};
  return chatctl_session_run(self, globals, 0, echo, &r);
}

const chatctl_command chatctl_command_echo = {
    "echo",
    chatctl_echo,
    "send a value with client_echo and print what comes back",
    "echo [--with-data] JSON",
    "Connects (no login needed), sends client_echo with the value JSON (in the\n"
    "project's JSON mapping: {\"$bytes\": base64} for bytes, {\"$float32\": x}, ...)\n"
    "and prints the server_echo value as JSON. A quick check that the server is\n"
    "up, the key is trusted and values survive the trip.\n"
    "\n"
    "Options:\n"
    "  --with-data   print bytes as {\"$bytes\": base64} (default: {\"$bytes_len\": N})\n"
    "\n"
    "Example:\n"
    "  chatctl echo '{\"ping\": [1, -2, 3.5, null]}'\n"
    "  {\"ping\": [1, -2, 3.5, null]}\n",
};
