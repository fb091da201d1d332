/* chatctl forget-host HOST:PORT: remove a server's recorded key. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "protocol/known-hosts.h"

static int chatctl_forget_host(const chatctl_command *self, int argc, char **argv,
                               const chatctl_globals *globals) {
  const char *host_port;
  int status = chatctl_parse_operands(self, argc, argv, &host_port, 1);
  if (status)
    return status;
  if (!chat_host_port_valid(host_port))
    return chatctl_usage_error(self, "'%s' is not HOST:PORT (IPv6 as [ADDRESS]:PORT)", host_port);
  char path[CHAT_KNOWN_HOSTS_PATH_MAX];
  chat_error err;
  if (chat_known_hosts_default_path(path, sizeof path, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "no known_hosts file: %s", err.message);
  int rc = chat_known_hosts_remove(path, host_port, &err);
  if (rc < 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", err.message);
  if (globals->json) {
    const chatctl_field fields[] = {
        CHATCTL_STR("host", host_port),
        CHATCTL_BOOL("removed", rc == 1),
    };
    return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
  }
  if (rc == 1)
    chatctl_human_line("removed %s from %s", host_port, path);
  else
    chatctl_human_line("%s was not in %s", host_port, path);
  return 0;
}

const chatctl_command chatctl_command_forget_host = {
    "forget-host",
    chatctl_forget_host,
    "forget a server's recorded key (known_hosts)",
    "forget-host HOST:PORT",
    "Removes HOST:PORT from the known_hosts file ($XDG_DATA_HOME/chat/known_hosts),\n"
    "so that the next connection records the key the server offers then. Do this\n"
    "only after checking that the server's key was replaced on purpose (compare\n"
    "with chatctl fingerprint on the server): a changed key is what a man in the\n"
    "middle looks like. A host that is not recorded is not an error (exit 0).\n"
    "\n"
    "Options:\n"
    "  --json   print {\"host\": HOST:PORT, \"removed\": true|false}\n"
    "\n"
    "Example:\n"
    "  chatctl forget-host chat.example.org:8111\n"
    "  removed chat.example.org:8111 from /home/alice/.local/share/chat/known_hosts\n",
};
