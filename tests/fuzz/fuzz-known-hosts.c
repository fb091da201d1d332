/* Fuzz target: the known_hosts reader (protocol/known-hosts.h), through the
 * file it reads: lookups of a name, an IPv4 and an IPv6 host, then an add
 * and a remove (which rewrite the file). A malformed file fails closed: no
 * fingerprint comes out of it. A found fingerprint is well formed. */
#include <string.h>

#include "fuzz-util.h"
#include "protocol/known-hosts.h"
#include "protocol/server-key.h"

static const char *const hosts[] = {"example.org:8111", "127.0.0.1:8111", "[::1]:8111"};
static const char fingerprint[] = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_scratch_file("-known_hosts", data, size);
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
    char found[CHAT_FINGERPRINT_SIZE] = "";
    chat_error err;
    int rc = chat_known_hosts_lookup(path, hosts[i], found, &err);
    if (rc == 1)
      FUZZ_CHECK(chat_fingerprint_valid(found));
  }
  chat_error err;
  if (chat_known_hosts_add(path, "example.net:1", fingerprint, &err) == 0) {
    char found[CHAT_FINGERPRINT_SIZE] = "";
    FUZZ_CHECK(chat_known_hosts_lookup(path, "example.net:1", found, &err) == 1);
    FUZZ_CHECK(strcmp(found, fingerprint) == 0);
    FUZZ_CHECK(chat_known_hosts_remove(path, "example.net:1", &err) == 1);
  }
  return 0;
}
