/* Writing JSON: strings with their escapes, and numbers in the shortest
 * form that reads back as the same double or float. See json.h. */
#include "protocol/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/hex.h"
#include "protocol/json-internal.h"
#include "protocol/utf8.h"

/* Most significant digits a binary64 / binary32 needs to round-trip. */
#define JSON_DOUBLE_MAX_PRECISION 17
#define JSON_FLOAT_MAX_PRECISION 9
/* Largest decimal exponent written in fixed notation ("1000000000000000.0");
 * from 10^16 on numbers get an exponent ("1e+16"), as in Python's repr. */
#define JSON_FIXED_EXPONENT_MAX 15
/* Unescaped bytes written to the buffer in one append by write_string. */
#define JSON_WRITE_RUN_MAX 4096

/* ---- Writing ------------------------------------------------------------ */

int chat_json_write_string(chat_buffer *out, const char *s, size_t len) {
  if (!chat_utf8_valid((const uint8_t *)s, len)) {
    return CHAT_ERR_UTF8;
  }
  int rc = chat_buffer_append_byte(out, '"');
  const char *run = s; /* start of bytes not yet written */
  for (size_t i = 0; i < len && rc == 0; i++) {
    uint8_t b = (uint8_t)s[i];
    char esc[6];
    size_t esc_len = 2;
    esc[0] = '\\';
    switch (b) {
    case '"':
      esc[1] = '"';
      break;
    case '\\':
      esc[1] = '\\';
      break;
    case '\b':
      esc[1] = 'b';
      break;
    case '\f':
      esc[1] = 'f';
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
    default:
      if (b >= 0x20) {
        if ((size_t)(s + i + 1 - run) >= JSON_WRITE_RUN_MAX) {
          rc = chat_buffer_append(out, run, (size_t)(s + i + 1 - run));
          run = s + i + 1;
        }
        continue;
      }
      memcpy(esc, "\\u00", 4);
      chat_hex_format(esc + 4, &b, 1);
      esc_len = 6;
      break;
    }
    if (s + i > run) {
      rc = chat_buffer_append(out, run, (size_t)(s + i - run));
    }
    if (rc == 0) {
      rc = chat_buffer_append(out, esc, esc_len);
    }
    run = s + i + 1;
  }
  if (rc == 0 && s + len > run) {
    rc = chat_buffer_append(out, run, (size_t)(s + len - run));
  }
  if (rc == 0) {
    rc = chat_buffer_append_byte(out, '"');
  }
  return rc;
}

/* Writes the shortest "%.*g" form of d (at most max_precision digits) that
 * reads back as the same double, or with `single` as the same float once
 * rounded by strtof; then picks the notation and makes sure it reads as a
 * float (".0"). */
static size_t format_shortest(double d, int max_precision, bool single,
                              char out[CHAT_JSON_NUMBER_BUFFER_SIZE]) {
  if (isnan(d)) {
    return (size_t)snprintf(out, CHAT_JSON_NUMBER_BUFFER_SIZE, "NaN");
  }
  if (isinf(d)) {
    return (size_t)snprintf(out, CHAT_JSON_NUMBER_BUFFER_SIZE, "%s",
                            d < 0 ? "-Infinity" : "Infinity");
  }
  chat_json_c_locale scope;
  chat_json_c_locale_enter(&scope);
  int n = 0;
  for (int precision = 1; precision <= max_precision; precision++) {
    n = snprintf(out, CHAT_JSON_NUMBER_BUFFER_SIZE, "%.*g", precision, d);
    bool same;
    if (single) {
      float back = strtof(out, NULL);
      float want = (float)d;
      same = memcmp(&back, &want, sizeof back) == 0;
    } else {
      double back = strtod(out, NULL);
      same = memcmp(&back, &d, sizeof back) == 0;
    }
    if (same) {
      break;
    }
  }
  /* "%g" switches to an exponent as soon as the exponent reaches the number
   * of digits ("1e+02"); write fixed notation for exponents up to
   * JSON_FIXED_EXPONENT_MAX, as Python's repr does ("100.0"). Here the value
   * is an integer below 10^16 that "%.0f" prints exactly. */
  const char *e = strchr(out, 'e');
  if (e != NULL) {
    long exponent = strtol(e + 1, NULL, 10);
    if (exponent >= 0 && exponent <= JSON_FIXED_EXPONENT_MAX) {
      n = snprintf(out, CHAT_JSON_NUMBER_BUFFER_SIZE, "%.0f", d);
    }
  }
  chat_json_c_locale_leave(&scope);
  if (strpbrk(out, ".e") == NULL && n + 2 < CHAT_JSON_NUMBER_BUFFER_SIZE) {
    memcpy(out + n, ".0", 3);
    n += 2;
  }
  return (size_t)n;
}

size_t chat_json_format_double(double d, char out[CHAT_JSON_NUMBER_BUFFER_SIZE]) {
  return format_shortest(d, JSON_DOUBLE_MAX_PRECISION, false, out);
}

size_t chat_json_format_float32(float f, char out[CHAT_JSON_NUMBER_BUFFER_SIZE]) {
  return format_shortest((double)f, JSON_FLOAT_MAX_PRECISION, true, out);
}
