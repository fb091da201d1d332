/* chatctl keygen FILE: create a server key file; chatctl fingerprint FILE:
 * the fingerprint of one. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "protocol/server-key.h"

/* Reads the server key in path (create: creates it, and fails when it was
 * there) and prints its fingerprint. */
static int print_key_file(const chatctl_globals *globals, const char *path, bool create) {
  uint8_t priv[CHAT_SERVER_KEY_LEN], pub[CHAT_SERVER_KEY_LEN];
  bool created = false;
  chat_error err;
  int rc = create ? chat_server_key_load_or_create(path, priv, pub, &created, &err)
                  : chat_server_key_load(path, priv, pub, &err);
  explicit_bzero(priv, sizeof priv);
  if (rc != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", err.message);
  if (create && !created) /* made by someone else in the meantime: it was only read */
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s exists: not overwritten", path);
  return chatctl_print_fingerprint(globals->json, path, pub);
}

static int chatctl_keygen(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  const char *path;
  int status = chatctl_parse_operands(self, argc, argv, &path, 1);
  if (status)
    return status;
  struct stat st;
  if (lstat(path, &st) == 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "%s exists: not overwritten (a server key is not "
                        "replaced by accident)",
                        path);
  if (errno != ENOENT)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", path, g_strerror(errno));
  return print_key_file(globals, path, true);
}

static int chatctl_fingerprint_run(const chatctl_command *self, int argc, char **argv,
                                   const chatctl_globals *globals) {
  const char *path;
  int status = chatctl_parse_operands(self, argc, argv, &path, 1);
  return status ? status : print_key_file(globals, path, false);
}

const chatctl_command chatctl_command_keygen = {
    "keygen",
    chatctl_keygen,
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

const chatctl_command chatctl_command_fingerprint = {
    "fingerprint",
    chatctl_fingerprint_run,
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
