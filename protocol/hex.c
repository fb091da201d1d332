/* Hexadecimal text <-> bytes. See hex.h. */
#include "protocol/hex.h"

#include <stdbool.h>

/* Bytes converted in a local array between appends. */
#define HEX_CHUNK 256

int chat_hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

static bool is_hex_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int chat_hex_decode(const char *text, size_t len, chat_buffer *out, chat_error *err) {
  /* First pass: check every character and count the digits, so that a bad
   * input appends nothing. */
  size_t digits = 0;
  size_t last_digit = 0;
  for (size_t i = 0; i < len; i++) {
    if (is_hex_space(text[i])) {
      continue;
    }
    if (chat_hex_digit(text[i]) < 0) {
      unsigned char b = (unsigned char)text[i];
      if (b > 0x20 && b < 0x7F) {
        return chat_error_set(err, CHAT_ERR_SYNTAX, i, "invalid hex character '%c' at offset %zu",
                              (char)b, i);
      }
      return chat_error_set(err, CHAT_ERR_SYNTAX, i,
                            "invalid hex character (byte 0x%02X) at offset %zu", (unsigned)b, i);
    }
    digits++;
    last_digit = i;
  }
  if (digits % 2 != 0) {
    return chat_error_set(err, CHAT_ERR_SYNTAX, last_digit,
                          "odd number of hex digits (%zu): the last one, at offset %zu, "
                          "has no pair",
                          digits, last_digit);
  }
  uint8_t chunk[HEX_CHUNK];
  size_t filled = 0;
  int high = -1; /* the first digit of the byte being read */
  for (size_t i = 0; i < len; i++) {
    if (is_hex_space(text[i])) {
      continue;
    }
    int d = chat_hex_digit(text[i]);
    if (high < 0) {
      high = d;
      continue;
    }
    chunk[filled++] = (uint8_t)((high << 4) | d);
    high = -1;
    if (filled == sizeof chunk) {
      int rc = chat_buffer_append(out, chunk, filled);
      if (rc != 0) {
        return chat_error_set(err, rc, i, "cannot append decoded hex to the buffer");
      }
      filled = 0;
    }
  }
  int rc = chat_buffer_append(out, chunk, filled);
  if (rc != 0) {
    return chat_error_set(err, rc, len, "cannot append decoded hex to the buffer");
  }
  return 0;
}

void chat_hex_format(char *out, const uint8_t *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0F];
  }
}

void chat_hex_encode(const uint8_t *data, size_t len, chat_buffer *out) {
  char chunk[2 * HEX_CHUNK];
  size_t done = 0;
  do {
    size_t n = len - done < HEX_CHUNK ? len - done : HEX_CHUNK;
    chat_hex_format(chunk, data + done, n);
    chat_buffer_append(out, chunk, 2 * n);
    done += n;
  } while (done < len);
}
