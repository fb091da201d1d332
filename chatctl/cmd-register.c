/* chatctl register USER NICKNAME: create an account. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/password.h"
#include "chatctl/session.h"
#include "protocol/messages.h"

static int chatctl_register(const chatctl_command *self, int argc, char **argv,
                            const chatctl_globals *globals) {
  const char *args[2];
  int status = chatctl_parse_operands(self, argc, argv, args, 2);
  if (status)
    return status;
  g_autofree char *username = chatctl_normalize_username(args[0]);
  if (!username)
    return chatctl_usage_error(self, "USER must be a name in UTF-8");
  if (!g_utf8_validate(args[1], -1, NULL))
    return chatctl_usage_error(self, "NICKNAME must be UTF-8 text");

  /* The password first: a prompt does not keep a connection waiting. */
  g_autofree char *prompt = g_strdup_printf("Password for the new account %s: ", username);
  char *password = NULL;
  status = chatctl_password_read_account(globals->password_file, prompt, true, &password);
  if (status)
    return status;

  chatctl_session *session = NULL;
  status = chatctl_session_open(self, globals, 0, &session);
  if (status == 0) {
    chat_msg_register request = {chat_span_cstr(username), chat_span_cstr(password),
                                 chat_span_cstr(args[1])};
    chat_msg_register_write(chatctl_session_begin(session, CHAT_MSG_REGISTER), &request);
    status = chatctl_session_send(session);
  }
  chatctl_password_free(password);
  g_autoptr(chatctl_message) reply = NULL;
  if (status == 0) {
    static const guint32 answers[] = {CHAT_MSG_REGISTER_SUCCESSFUL, CHAT_MSG_USERNAME_TAKEN,
                                      CHAT_MSG_REQUEST_FAILED};
    status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), NULL, NULL, &reply);
  }
  gboolean taken =
      status == 0 && (reply->type == CHAT_MSG_USERNAME_TAKEN ||
                      chatctl_message_error(reply) == CHAT_REQUEST_ERROR_USERNAME_TAKEN);
  if (taken) {
    if (reply->type == CHAT_MSG_REQUEST_FAILED)
      chatctl_session_print_refusal(session, reply);
    status = chatctl_fail(CHATCTL_EXIT_REFUSED, "username taken: %s", username);
  } else if (status == 0 && reply->type == CHAT_MSG_REQUEST_FAILED) {
    status = chatctl_session_refused(session, reply, "cannot register");
  } else if (status == 0) {
    chat_msg_int registered;
    chat_msg_int_read(reply->params, &registered, NULL);
    gint64 id = registered.value;
    if (globals->json) {
      const chatctl_field fields[] = {
          CHATCTL_INT("id", id),
          CHATCTL_STR("username", username),
          CHATCTL_STR("nickname", args[1]),
      };
      status = chatctl_print_fields(fields, G_N_ELEMENTS(fields));
    } else {
      chatctl_human_line("%" G_GINT64_FORMAT, id);
    }
  }
  chatctl_session_close(session);
  return status;
}

const chatctl_command chatctl_command_register = {
    "register",
    chatctl_register,
    "create an account and print its user id",
    "register [--password-file FILE] USER NICKNAME",
    "Creates the account USER (the server trims it and makes it lower case) with\n"
    "the display name NICKNAME, and prints the new user id. It does not log in.\n"
    "\n"
    "The password comes from --password-file FILE (its first line), else from\n"
    "CHAT_PASSWORD, else from a prompt (asked twice) when standard input is a\n"
    "terminal. It is never taken from the command line.\n"
    "\n"
    "Options:\n"
    "  --password-file FILE  read the password from FILE\n"
    "  --json                print {\"id\": N, \"username\": ..., \"nickname\": ...}\n"
    "\n"
    "Exit status: 0 created; 1 the username is taken (\"username taken\" on stderr)\n"
    "or the server refused (its reason); 2 usage or no password; 3 connection; 4 timeout.\n"
    "\n"
    "Example:\n"
    "  CHAT_PASSWORD=secret chatctl register alice 'Alice A.'\n"
    "  1\n",
};
