/* chatctl keygen FILE: create a server key file. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "protocol/server-key.h"

static int chatctl_keygen(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  const char *path;
  int status = chatctl_parse_operands(self, argc, argv, &path, 1);
  if (status)
    return status;
  struct stat st;
  if (lstat(path, &st) == 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s exists: not overwritten (a server key is not "
                                            "replaced by accident)",
                        path);
  if (errno != ENOENT)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", path, g_strerror(errno));
  uint8_t priv[CHAT_SERVER_KEY_LEN], pub[CHAT_SERVER_KEY_LEN];
  bool created = false;
  chat_error err;
  int rc = chat_server_key_load_or_create(path, priv, pub, &created, &err);
  explicit_bzero(priv, sizeof priv);
  if (rc != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", err.message);
  if (!created) /* made by someone else in the meantime: it was only read */
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s exists: not overwritten", path);
  return chatctl_print_fingerprint(globals->json, path, pub);
}

const chatctl_command chatctl_command_keygen = {
    "keygen", chatctl_keygen,
    "create a server key file and print its fingerprint",
    "keygen FILE",
    "Creates FILE with a new X25519 server key (mode 0600; the directory must\n"
    "exist) and prints its fingerprint, which clients pin (client.server_key, or\n"
    "known_hosts). An existing FILE is never overwritten (exit 2). Point chatd at\n"
    "it with server.key_file or --key-file.\n"
    "\n"
    "Options:\n"
    "  --json   print {\"file\": FILE, \"fingerprint\": \"SHA256:...\"}\n"
    "\n"
    "Example:\n"
    "  chatctl keygen /etc/chatd/server.key\n"
    "  SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
};
