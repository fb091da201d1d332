#include "chatctl/input.h"

#include <string.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "protocol/error.h"

#define READ_CHUNK 65536

int chatctl_read_all(FILE *f, chat_buffer *out, const char **reason) {
  out->max_len = CHATCTL_MAX_INPUT;
  char chunk[READ_CHUNK];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (chat_buffer_append(out, chunk, n) != 0) {
      *reason = out->failure == CHAT_ERR_LIMIT ? "input is larger than 64 MiB" : "out of memory";
      return -1;
    }
  }
  if (ferror(f)) {
    *reason = "read error on standard input";
    return -1;
  }
  return 0;
}

int chatctl_read_stdin(chat_buffer *out) {
  const char *reason;
  if (chatctl_read_all(stdin, out, &reason) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", reason);
  return 0;
}
