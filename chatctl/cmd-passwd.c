/* chatctl passwd: change one's password (v2 set_password). */
#include "chatctl/args.h"
#include "chatctl/client-config.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/password.h"
#include "chatctl/session.h"
#include "protocol/messages.h"

static int read_passwords(const chatctl_globals *globals, const char *new_file, char **old,
                          char **new_password) {
  g_autofree char *old_prompt = g_strdup_printf("Current password of %s: ", globals->user);
  chatctl_password_source new_source = {
      .file = new_file,
      .file_option = "--new-password-file",
      .env = CHATCTL_NEW_PASSWORD_ENV,
      .prompt = "New password: ",
      .confirm = true,
  };
  int status = chatctl_password_read_account(globals->password_file, old_prompt, false, old);
  if (status == 0)
    status = chatctl_password_read(&new_source, new_password);
  return status;
}

static int chatctl_passwd(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  const char *new_file = NULL;
  const chatctl_arg_option options[] = {{"--new-password-file", &new_file, NULL}};
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), NULL, 0, 0, &n);
  if (status)
    return status;
  if (!globals->user)
    return chatctl_usage_error(self, "say who you are with --user NAME");
  /* Check the dialect before asking for anything. */
  chatctl_client_config config;
  status = chatctl_client_config_load(self, globals, &config);
  gboolean seed = config.dialect == CHAT_DIALECT_SEED;
  chatctl_client_config_clear(&config);
  if (status)
    return status;
  if (seed)
    return chatctl_usage_error(self, "needs the v2 dialect; the seed dialect has no passwd");

  char *old = NULL, *new_password = NULL;
  status = read_passwords(globals, new_file, &old, &new_password);
  chatctl_session *session = NULL;
  if (status == 0)
    status = chatctl_session_open_with_password(
        self, globals, CHATCTL_SESSION_LOGIN | CHATCTL_SESSION_V2_ONLY, old, &session);
  if (status == 0) {
    chat_msg_set_password request = {chat_span_cstr(old), chat_span_cstr(new_password)};
    chat_msg_set_password_write(chatctl_session_begin(session, CHAT_MSG_SET_PASSWORD), &request);
    status = chatctl_session_send(session);
  }
  chatctl_password_free(old);
  chatctl_password_free(new_password);
  g_autoptr(chatctl_message) reply = NULL;
  if (status == 0) {
    static const guint32 answers[] = {CHAT_MSG_PASSWORD_CHANGED};
    status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), NULL, NULL, &reply);
  }
  if (status == 0) {
    if (globals->json) {
      const chatctl_field fields[] = {
          CHATCTL_STR("username", chatctl_session_username(session)),
          CHATCTL_BOOL("password_changed", TRUE),
      };
      status = chatctl_print_fields(fields, G_N_ELEMENTS(fields));
    } else {
      chatctl_human_line("password of %s changed; its other sessions are logged out",
                         chatctl_session_username(session));
    }
  }
  chatctl_session_close(session);
  return status;
}

const chatctl_command chatctl_command_passwd = {
    "passwd",
    chatctl_passwd,
    "change your password (v2)",
    "passwd --user NAME [--password-file FILE] [--new-password-file FILE]",
    "Changes the password of --user. The server checks the current password and\n"
    "revokes every resume token of the account except this session's (the cached\n"
    "one stays valid). Needs the v2 dialect.\n"
    "\n"
    "The current password: --password-file FILE, else CHAT_PASSWORD, else a prompt.\n"
    "The new password: --new-password-file FILE, else CHAT_NEW_PASSWORD, else a\n"
    "prompt asked twice. Passwords are never taken from the command line.\n"
    "\n"
    "Options:\n"
    "  --password-file FILE      the current password (first line of FILE)\n"
    "  --new-password-file FILE  the new password (first line of FILE)\n"
    "  --json                    print {\"username\": ..., \"password_changed\": true}\n"
    "\n"
    "Exit status: 1 when the current password is wrong (the server's reason on stderr).\n"
    "\n"
    "Example:\n"
    "  CHAT_PASSWORD=old CHAT_NEW_PASSWORD=new chatctl --user alice passwd\n",
};
