/* Fuzz target: the server key file's text (protocol/server-key.h,
 * chat_server_key_parse). A key that parses is 32 bytes; the parse does not
 * depend on bytes after the text it was given. */
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "protocol/server-key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t priv[CHAT_SERVER_KEY_LEN];
  chat_error err;
  int rc = chat_server_key_parse((const char *)data, size, priv, &err);
  /* The same text with bytes after it that must not be read. */
  char *padded = malloc(size + 8);
  FUZZ_CHECK(padded != NULL);
  if (size)
    memcpy(padded, data, size);
  memset(padded + size, 'A', 8);
  uint8_t again[CHAT_SERVER_KEY_LEN];
  FUZZ_CHECK(chat_server_key_parse(padded, size, again, &err) == rc);
  if (rc == 0)
    FUZZ_CHECK(memcmp(priv, again, sizeof priv) == 0);
  free(padded);
  return 0;
}
