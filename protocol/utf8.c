#include "protocol/utf8.h"

bool chat_utf8_valid(const uint8_t *s, size_t len) {
  size_t bad;
  return chat_utf8_check(s, len, &bad);
}

static bool is_continuation(uint8_t b) {
  return (b & 0xC0) == 0x80;
}

bool chat_utf8_check(const uint8_t *s, size_t len, size_t *bad) {
  size_t i = 0;
  while (i < len) {
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0)
        lo = 0xA0; /* no overlongs */
      else if (b == 0xED)
        hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0)
        lo = 0x90; /* no overlongs */
      else if (b == 0xF4)
        hi = 0x8F; /* nothing above U+10FFFF */
    } else {
      *bad = i;
      return false;
    }
    if (len - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi) {
      *bad = i;
      return false;
    }
    for (size_t k = 2; k <= need; k++) {
      if (!is_continuation(s[i + k])) {
        *bad = i;
        return false;
      }
    }
    i += need + 1;
  }
  return true;
}
