/* chatctl logout: revoke the cached resume token and delete it (v2). */
#include "chatctl/args.h"
#include "chatctl/client-config.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/session.h"
#include "chatctl/token-cache.h"

static int print_result(const chatctl_globals *globals, const char *username, gboolean revoked,
                        const char *human) {
  if (!globals->json) {
    chatctl_human_line("%s", human);
    return 0;
  }
  const chatctl_field fields[] = {
      CHATCTL_STR("username", username),
      CHATCTL_BOOL("revoked", revoked),
  };
  return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
}

/* The cache file of --user at the configured server, or an exit status. */
static int token_path(const chatctl_command *self, const chatctl_globals *globals, char **path,
                      char **username) {
  chatctl_client_config config;
  int status = chatctl_client_config_load(self, globals, &config);
  if (status == 0 && config.dialect != CHAT_DIALECT_V2)
    status = chatctl_usage_error(self, "needs the v2 dialect; the seed dialect has no logout");
  if (status == 0) {
    *username = chatctl_normalize_username(globals->user);
    if (!*username)
      status = chatctl_usage_error(self, "--user needs a name in UTF-8");
    else
      *path = chatctl_token_cache_path(config.host, config.port, *username);
  }
  chatctl_client_config_clear(&config);
  return status;
}

static int chatctl_logout(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  int status = chatctl_parse_operands(self, argc, argv, NULL, 0);
  if (status)
    return status;
  if (!globals->user)
    return chatctl_usage_error(self, "say who you are with --user NAME");
  g_autofree char *path = NULL;
  g_autofree char *username = NULL;
  status = token_path(self, globals, &path, &username);
  if (status)
    return status;
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_autofree char *text =
        g_strdup_printf("no cached session of %s: nothing to log out", username);
    return print_result(globals, username, FALSE, text);
  }

  chatctl_session *session = NULL;
  status = chatctl_session_open(self, globals, CHATCTL_SESSION_NEED_USER | CHATCTL_SESSION_V2_ONLY,
                                &session);
  gboolean resumed = FALSE;
  if (status == 0)
    status = chatctl_session_resume(session, &resumed);
  if (status == 0 && !resumed) {
    /* The server no longer knew the token; resume removed the file. */
    status =
        print_result(globals, username, FALSE, "the cached session had already ended; removed it");
  } else if (status == 0) {
    chat_msg_null request = {0};
    chat_msg_null_write(chatctl_session_begin(session, CHAT_MSG_LOGOUT), &request);
    g_autoptr(chatctl_message) reply = NULL;
    status = chatctl_session_ask(session, CHAT_MSG_LOGGED_OUT, NULL, NULL, &reply);
    if (status == 0) {
      chatctl_token_cache_remove(path);
      g_autofree char *text =
          g_strdup_printf("logged out %s; the resume token is revoked", username);
      status = print_result(globals, username, TRUE, text);
    }
  }
  chatctl_session_close(session);
  return status;
}

const chatctl_command chatctl_command_logout = {
    "logout",
    chatctl_logout,
    "revoke and forget the cached login (v2)",
    "logout --user NAME",
    "Resumes the cached session of --user, asks the server to revoke its token\n"
    "(v2 logout) and deletes the cache file. Without a cached session there is\n"
    "nothing to do (exit 0); no password is ever asked. Needs the v2 dialect.\n"
    "\n"
    "Options:\n"
    "  --json   print {\"username\": ..., \"revoked\": true|false}\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice logout\n"
    "  logged out alice; the resume token is revoked\n",
};
