/* chatctl fingerprint FILE: the fingerprint of a server key file. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "protocol/server-key.h"

static int chatctl_fingerprint_run(const chatctl_command *self, int argc, char **argv,
                                   const chatctl_globals *globals) {
  const char *path;
  int status = chatctl_parse_operands(self, argc, argv, &path, 1);
  if (status)
    return status;
  uint8_t priv[CHAT_SERVER_KEY_LEN], pub[CHAT_SERVER_KEY_LEN];
  chat_error err;
  int rc = chat_server_key_load(path, priv, pub, &err);
  explicit_bzero(priv, sizeof priv);
  if (rc != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", err.message);
  return chatctl_print_fingerprint(globals->json, path, pub);
}

const chatctl_command chatctl_command_fingerprint = {
    "fingerprint", chatctl_fingerprint_run,
    "print the fingerprint of a server key file",
    "fingerprint FILE",
    "Prints the fingerprint (\"SHA256:\" and 43 base64 characters) of the server key\n"
    "in FILE, as clients see it. Run it on the server to compare with what a\n"
    "client reports. A key file readable by group or others is refused, as chatd\n"
    "refuses it.\n"
    "\n"
    "Options:\n"
    "  --json   print {\"file\": FILE, \"fingerprint\": \"SHA256:...\"}\n"
    "\n"
    "Example:\n"
    "  chatctl fingerprint ~/.local/share/chat/server.key\n"
    "  SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
};
