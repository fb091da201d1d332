#include "protocol/error.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct {
  int code;
  const char *name;
  const char *description;
} error_entry;

static const error_entry errors[] = {
  {CHAT_OK, "ok", "success"},
  {CHAT_ERR_TRUNCATED, "truncated", "truncated input"},
  {CHAT_ERR_UNKNOWN_TYPE, "unknown_type", "unknown value type"},
  {CHAT_ERR_DEPTH, "depth", "nesting too deep"},
  {CHAT_ERR_UTF8, "utf8", "invalid UTF-8"},
  {CHAT_ERR_DUPLICATE_KEY, "duplicate_key", "duplicate dict key"},
  {CHAT_ERR_TRAILING, "trailing", "trailing bytes after the value"},
  {CHAT_ERR_LIMIT, "limit", "size over the limit"},
  {CHAT_ERR_INT_RANGE, "int_range", "integer out of range"},
  {CHAT_ERR_NOT_CANONICAL, "not_canonical", "integer not minimally encoded"},
  {CHAT_ERR_BAD_BOOL, "bad_bool", "invalid bool"},
  {CHAT_ERR_BAD_FLOAT, "bad_float", "invalid float length"},
  {CHAT_ERR_NOMEM, "nomem", "out of memory"},
  {CHAT_ERR_BAD_MESSAGE, "bad_message", "message too short"},
  {CHAT_ERR_UNKNOWN_MESSAGE, "unknown_message", "unknown message type"},
  {CHAT_ERR_SHAPE, "shape", "parameters do not match the message type"},
  {CHAT_ERR_INVALID_ARGUMENT, "invalid_argument", "invalid argument"},
  {CHAT_ERR_SYNTAX, "syntax", "syntax error"},
};

static const error_entry *find(int code) {
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == code)
      return &errors[i];
  return NULL;
}

const char *chat_strerror(int code) {
  const error_entry *e = find(code);
  return e ? e->description : "unknown error";
}

const char *chat_error_name(int code) {
  const error_entry *e = find(code);
  return e ? e->name : NULL;
}

int chat_error_set(chat_error *err, int code, size_t offset, const char *fmt, ...) {
  if (err) {
    err->code = (chat_status)code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}
