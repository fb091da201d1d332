/* The system's random bytes. See protocol/random.h. */
#include "protocol/random.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

int chat_random_bytes(void *buf, size_t len) {
  uint8_t *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom(p + got, len - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int saved = n < 0 ? errno : EIO;
      explicit_bzero(buf, len);
      errno = saved;
      return -1;
    }
    got += (size_t)n;
  }
  return 0;
}
