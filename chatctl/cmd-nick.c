/* chatctl nick NEW: change one's nickname (v2 set_nickname). */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

static int set_nickname(chatctl_session *session, const chatctl_globals *globals,
                        gpointer nickname) {
  chat_msg_str request = {chat_span_cstr(nickname)};
  chat_msg_str_write(chatctl_session_begin(session, CHAT_MSG_SET_NICKNAME), &request);
  g_autoptr(chatctl_message) reply = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_PROFILE_UPDATED, NULL, NULL, &reply);
  return status ? status : chatctl_print_user(globals->json, reply->params);
}

static int chatctl_nick(const chatctl_command *self, int argc, char **argv,
                        const chatctl_globals *globals) {
  const char *nickname;
  int status = chatctl_parse_operands(self, argc, argv, &nickname, 1);
  if (status)
    return status;
  if (!g_utf8_validate(nickname, -1, NULL))
    return chatctl_usage_error(self, "NEW must be UTF-8 text");
  return chatctl_session_run(self, globals, CHATCTL_SESSION_LOGIN | CHATCTL_SESSION_V2_ONLY,
                             set_nickname, (gpointer)nickname);
}

const chatctl_command chatctl_command_nick = {
    "nick",
    chatctl_nick,
    "change your nickname (v2)",
    "nick --user NAME NEW",
    "Sets the display name of --user to NEW (1 to 64 bytes once trimmed) and\n"
    "prints the updated user. Online friends see the new name at once.\n"
    "Needs the v2 dialect.\n"
    "\n"
    "Options:\n"
    "  --json   print the user as JSON\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice nick 'Alice in Chains'\n"
    "  alice (id 1, nickname \"Alice in Chains\", online)\n",
};
