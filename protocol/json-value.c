/* The lossless mapping between JSON text and chat_value trees (see json.h for
 * the mapping itself). */
#include "protocol/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <nettle/base64.h>

/* Tags of tagged values: objects with one member whose key starts with '$'. */
#define TAG_PREFIX '$'
#define TAG_BYTES "$bytes"
#define TAG_BYTES_LEN "$bytes_len"
#define TAG_FLOAT "$float"
#define TAG_FLOAT32 "$float32"
#define TAG_DICT "$dict"

/* The strings that stand for non-finite floats. */
#define JSON_NAN "NaN"
#define JSON_INFINITY "Infinity"
#define JSON_NEG_INFINITY "-Infinity"

/* Bytes of input base64-encoded per append (a multiple of 3, so chunks
 * concatenate into one valid encoding). */
#define BASE64_CHUNK_INPUT (3 * 256)
/* Characters per base64 quantum. */
#define BASE64_QUANTUM_CHARS 4
/* Longest piece of a key or lexeme quoted in an error message. */
#define QUOTE_MAX 40
/* Spaces per level of CHAT_JSON_PRETTY. */
#define PRETTY_INDENT 2
/* Digits of 2^64 - 1, plus a sign and a NUL. */
#define INT_TEXT_SIZE 22

/* ---- JSON -> value ------------------------------------------------------ */

typedef struct {
  chat_arena *arena;
  chat_error *err;
} converter;

static bool key_is(const chat_json_member *m, const char *tag) {
  size_t n = strlen(tag);
  return m->key_len == n && memcmp(m->key, tag, n) == 0;
}

static bool string_is(const chat_json *j, const char *s) {
  size_t n = strlen(s);
  return j->kind == CHAT_JSON_STRING && j->as.string.len == n &&
         memcmp(j->as.string.data, s, n) == 0;
}

/* Copies up to QUOTE_MAX bytes of s into buf for a message, control
 * characters replaced by '?', cut on a UTF-8 boundary, "..." when cut. */
static const char *quote_for_message(const char *s, size_t len, char buf[QUOTE_MAX + 4]) {
  size_t n = len;
  if (n > QUOTE_MAX) {
    n = QUOTE_MAX;
    while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80) {
      n--;
    }
  }
  for (size_t i = 0; i < n; i++) {
    buf[i] = (uint8_t)s[i] < 0x20 ? '?' : s[i];
  }
  if (n < len) {
    memcpy(buf + n, "...", 3);
    n += 3;
  }
  buf[n] = '\0';
  return buf;
}

static int convert_nomem(converter *c, const chat_json *j) {
  return chat_error_set(c->err, CHAT_ERR_NOMEM, j->offset,
                        "out of memory while converting JSON to a value");
}

static int convert_number(converter *c, const chat_json *j, chat_value *v) {
  char quoted[QUOTE_MAX + 4];
  if (chat_json_number_is_integer(j)) {
    bool negative;
    uint64_t magnitude;
    if (!chat_json_get_integer(j, &negative, &magnitude)) {
      return chat_error_set(c->err, CHAT_ERR_INT_RANGE, j->offset,
                            "integer %s is outside -2^63 .. 2^64-1",
                            quote_for_message(j->as.number.text, j->as.number.len, quoted));
    }
    v->kind = CHAT_VALUE_INT;
    v->as.integer.negative = negative;
    v->as.integer.magnitude = magnitude;
    return 0;
  }
  double d;
  if (!chat_json_get_double(j, &d)) {
    return chat_error_set(c->err, CHAT_ERR_SYNTAX, j->offset,
                          "number %s overflows a double (write {\"$float\": "
                          "\"Infinity\"} for infinity)",
                          quote_for_message(j->as.number.text, j->as.number.len, quoted));
  }
  v->kind = CHAT_VALUE_FLOAT;
  v->as.real.value = d;
  v->as.real.width = 8;
  return 0;
}

/* "NaN" / "Infinity" / "-Infinity" -> true and *d. */
static bool read_non_finite(const chat_json *j, double *d) {
  if (string_is(j, JSON_NAN)) {
    *d = NAN;
  } else if (string_is(j, JSON_INFINITY)) {
    *d = INFINITY;
  } else if (string_is(j, JSON_NEG_INFINITY)) {
    *d = -INFINITY;
  } else {
    return false;
  }
  return true;
}

static int convert_float_tag(converter *c, const chat_json_member *tag, chat_value *v,
                             uint8_t width) {
  const chat_json *payload = &tag->value;
  double d;
  /* A finite double is a plain JSON number, so "$float" takes only the
   * non-finite strings; "$float32" also takes a number. */
  if (width == 4 && payload->kind == CHAT_JSON_NUMBER) {
    float f;
    if (!chat_json_get_float32(payload, &f)) {
      char quoted[QUOTE_MAX + 4];
      return chat_error_set(
          c->err, CHAT_ERR_SYNTAX, payload->offset, "%s value %s overflows a binary32 float",
          TAG_FLOAT32, quote_for_message(payload->as.number.text, payload->as.number.len, quoted));
    }
    d = (double)f;
  } else if (!read_non_finite(payload, &d)) {
    return chat_error_set(c->err, CHAT_ERR_SYNTAX, payload->offset,
                          "expected %s\"NaN\", \"Infinity\" or \"-Infinity\" as the value "
                          "of %s, got %s",
                          width == 4 ? "a number, " : "", width == 4 ? TAG_FLOAT32 : TAG_FLOAT,
                          chat_json_kind_name(payload->kind));
  }
  v->kind = CHAT_VALUE_FLOAT;
  v->as.real.value = d;
  v->as.real.width = width;
  return 0;
}

static int base64_value(char ch) {
  if (ch >= 'A' && ch <= 'Z') {
    return ch - 'A';
  }
  if (ch >= 'a' && ch <= 'z') {
    return ch - 'a' + 26;
  }
  if (ch >= '0' && ch <= '9') {
    return ch - '0' + 52;
  }
  if (ch == '+') {
    return 62;
  }
  if (ch == '/') {
    return 63;
  }
  return -1;
}

/* Checks s is canonical standard base64 with padding: whole quanta, only
 * alphabet characters, '=' only as the last one or two, and zero bits in the
 * unused low bits of the last character (so each byte string has one form). */
static int check_base64(converter *c, const chat_json *j) {
  const char *s = j->as.string.data;
  size_t len = j->as.string.len;
  if (len % BASE64_QUANTUM_CHARS != 0) {
    return chat_error_set(c->err, CHAT_ERR_SYNTAX, j->offset,
                          "invalid base64 in %s: length %zu is not a multiple of 4", TAG_BYTES,
                          len);
  }
  size_t padding = 0;
  if (len > 0 && s[len - 1] == '=') {
    padding = (len > 1 && s[len - 2] == '=') ? 2 : 1;
  }
  for (size_t i = 0; i < len - padding; i++) {
    if (base64_value(s[i]) < 0) {
      uint8_t b = (uint8_t)s[i];
      if (b > 0x20 && b < 0x7F) {
        return chat_error_set(c->err, CHAT_ERR_SYNTAX, j->offset,
                              "invalid base64 in %s: character '%c' at position %zu", TAG_BYTES,
                              (char)b, i);
      }
      return chat_error_set(c->err, CHAT_ERR_SYNTAX, j->offset,
                            "invalid base64 in %s: byte 0x%02X at position %zu", TAG_BYTES,
                            (unsigned)b, i);
    }
  }
  if (padding > 0) {
    /* One '=': the last character carries 2 unused bits; two: 4. */
    int last = base64_value(s[len - padding - 1]);
    int unused_mask = padding == 1 ? 0x03 : 0x0F;
    if ((last & unused_mask) != 0) {
      return chat_error_set(c->err, CHAT_ERR_SYNTAX, j->offset,
                            "invalid base64 in %s: non-zero bits before the padding "
                            "(not the canonical encoding)",
                            TAG_BYTES);
    }
  }
  return 0;
}

static int convert_bytes_tag(converter *c, const chat_json_member *tag, chat_value *v) {
  const chat_json *payload = &tag->value;
  if (payload->kind != CHAT_JSON_STRING) {
    return chat_error_set(c->err, CHAT_ERR_SYNTAX, payload->offset,
                          "expected a base64 string as the value of %s, got %s", TAG_BYTES,
                          chat_json_kind_name(payload->kind));
  }
  int rc = check_base64(c, payload);
  if (rc != 0) {
    return rc;
  }
  size_t src_len = payload->as.string.len;
  uint8_t *data = chat_arena_alloc(c->arena, BASE64_DECODE_LENGTH(src_len) + 1, 1);
  if (data == NULL) {
    return convert_nomem(c, payload);
  }
  struct base64_decode_ctx ctx;
  size_t decoded = 0;
  base64_decode_init(&ctx);
  if (!base64_decode_update(&ctx, &decoded, data, src_len, payload->as.string.data) ||
      !base64_decode_final(&ctx)) {
    /* check_base64 accepted it: nettle disagreeing would be a bug. */
    return chat_error_set(c->err, CHAT_ERR_SYNTAX, payload->offset, "invalid base64 in %s",
                          TAG_BYTES);
  }
  v->kind = CHAT_VALUE_BYTES;
  v->as.blob.data = data;
  v->as.blob.len = decoded;
  return 0;
}

static int convert(converter *c, const chat_json *j, chat_value *v, unsigned depth);

/* depth: the lists and dicts around the container at j. It is one more
 * level (spec section 2.3: tag objects and "$dict" wrappers do not count). */
static int check_depth(converter *c, const chat_json *j, unsigned depth) {
  if (depth < CHAT_JSON_MAX_VALUE_DEPTH) {
    return 0;
  }
  return chat_error_set(c->err, CHAT_ERR_DEPTH, j->offset,
                        "lists and dicts nested deeper than %d levels", CHAT_JSON_MAX_VALUE_DEPTH);
}

/* The members of an object as dict entries (no tag interpretation at this
 * level: used for plain objects and for the payload of "$dict"). */
static int convert_members(converter *c, const chat_json *j, chat_value *v, unsigned depth) {
  int rc = check_depth(c, j, depth);
  if (rc != 0) {
    return rc;
  }
  size_t count = j->as.object.count;
  chat_dict_entry *entries = NULL;
  if (count > 0) {
    entries = chat_arena_alloc(c->arena, count, sizeof *entries);
    if (entries == NULL) {
      return convert_nomem(c, j);
    }
  }
  for (size_t i = 0; i < count; i++) {
    const chat_json_member *m = &j->as.object.members[i];
    if (m->key_len > CHAT_DICT_KEY_MAX) {
      char quoted[QUOTE_MAX + 4];
      return chat_error_set(
          c->err, CHAT_ERR_LIMIT, m->key_offset, "object key \"%s\" is %zu bytes, longer than %d",
          quote_for_message(m->key, m->key_len, quoted), m->key_len, CHAT_DICT_KEY_MAX);
    }
    char *key = chat_arena_copy(c->arena, m->key, m->key_len);
    if (key == NULL) {
      return convert_nomem(c, j);
    }
    entries[i].key = key;
    entries[i].key_len = m->key_len;
    rc = convert(c, &m->value, &entries[i].value, depth + 1);
    if (rc != 0) {
      return rc;
    }
  }
  v->kind = CHAT_VALUE_DICT;
  v->as.dict.entries = entries;
  v->as.dict.count = count;
  return 0;
}

static int convert_object(converter *c, const chat_json *j, chat_value *v, unsigned depth) {
  if (j->as.object.count != 1 || j->as.object.members[0].key_len == 0 ||
      j->as.object.members[0].key[0] != TAG_PREFIX) {
    return convert_members(c, j, v, depth);
  }
  const chat_json_member *tag = &j->as.object.members[0];
  if (key_is(tag, TAG_BYTES)) {
    return convert_bytes_tag(c, tag, v);
  }
  if (key_is(tag, TAG_FLOAT)) {
    return convert_float_tag(c, tag, v, 8);
  }
  if (key_is(tag, TAG_FLOAT32)) {
    return convert_float_tag(c, tag, v, 4);
  }
  if (key_is(tag, TAG_DICT)) {
    if (tag->value.kind != CHAT_JSON_OBJECT) {
      return chat_error_set(c->err, CHAT_ERR_SYNTAX, tag->value.offset,
                            "expected an object as the value of %s, got %s", TAG_DICT,
                            chat_json_kind_name(tag->value.kind));
    }
    return convert_members(c, &tag->value, v, depth);
  }
  char quoted[QUOTE_MAX + 4];
  return chat_error_set(c->err, CHAT_ERR_SYNTAX, tag->key_offset,
                        "unknown tag \"%s\" (expected %s, %s, %s or %s; write "
                        "{\"%s\": {...}} for a dict with this one key)",
                        quote_for_message(tag->key, tag->key_len, quoted), TAG_BYTES, TAG_FLOAT,
                        TAG_FLOAT32, TAG_DICT, TAG_DICT);
}

static int convert(converter *c, const chat_json *j, chat_value *v, unsigned depth) {
  memset(v, 0, sizeof *v);
  switch (j->kind) {
  case CHAT_JSON_NULL:
    v->kind = CHAT_VALUE_NULL;
    return 0;
  case CHAT_JSON_BOOL:
    v->kind = CHAT_VALUE_BOOL;
    v->as.boolean = j->as.boolean;
    return 0;
  case CHAT_JSON_NUMBER:
    return convert_number(c, j, v);
  case CHAT_JSON_STRING: {
    const uint8_t *data = chat_arena_copy(c->arena, j->as.string.data, j->as.string.len);
    if (data == NULL) {
      return convert_nomem(c, j);
    }
    v->kind = CHAT_VALUE_STR;
    v->as.blob.data = data;
    v->as.blob.len = j->as.string.len;
    return 0;
  }
  case CHAT_JSON_ARRAY: {
    int depth_rc = check_depth(c, j, depth);
    if (depth_rc != 0) {
      return depth_rc;
    }
    size_t count = j->as.array.count;
    chat_value *items = NULL;
    if (count > 0) {
      items = chat_arena_alloc(c->arena, count, sizeof *items);
      if (items == NULL) {
        return convert_nomem(c, j);
      }
    }
    for (size_t i = 0; i < count; i++) {
      int rc = convert(c, &j->as.array.items[i], &items[i], depth + 1);
      if (rc != 0) {
        return rc;
      }
    }
    v->kind = CHAT_VALUE_LIST;
    v->as.list.items = items;
    v->as.list.count = count;
    return 0;
  }
  case CHAT_JSON_OBJECT:
    return convert_object(c, j, v, depth);
  }
  return chat_error_set(c->err, CHAT_ERR_INVALID_ARGUMENT, j->offset, "unknown JSON node kind %d",
                        (int)j->kind);
}

int chat_json_to_value(const chat_json *json, chat_arena *arena, chat_value **out,
                       chat_error *err) {
  converter c = {arena, err};
  if (json == NULL) {
    return chat_error_set(err, CHAT_ERR_INVALID_ARGUMENT, 0, "no JSON value to convert");
  }
  chat_value *root = chat_arena_alloc(arena, 1, sizeof *root);
  if (root == NULL) {
    return convert_nomem(&c, json);
  }
  int rc = convert(&c, json, root, 0);
  if (rc == 0) {
    *out = root;
  }
  return rc;
}

int chat_value_parse_json(const char *text, size_t len, chat_arena *arena, chat_value **out,
                          chat_error *err) {
  /* The JSON tree lives in its own arena, dropped once converted. */
  chat_arena tree_arena;
  chat_arena_init(&tree_arena);
  chat_json *json;
  int rc = chat_json_parse(text, len, &tree_arena, &json, err);
  if (rc == 0) {
    chat_error local;
    chat_error *e = err != NULL ? err : &local;
    rc = chat_json_to_value(json, arena, out, e);
    if (rc != 0 && err != NULL) {
      char reason[CHAT_ERROR_MESSAGE_MAX];
      size_t line, column;
      memcpy(reason, err->message, sizeof reason);
      chat_json_position(text, len, err->offset, &line, &column);
      chat_error_set(err, rc, err->offset, "line %zu column %zu: %s", line, column, reason);
    }
  }
  chat_arena_clear(&tree_arena);
  return rc;
}

/* ---- value -> JSON ------------------------------------------------------ */

typedef struct {
  chat_buffer *out;
  unsigned flags;
  unsigned depth; /* lists and dicts open (tag objects and "$dict" do not count) */
} json_writer;

static int append_text(json_writer *w, const char *s) {
  return chat_buffer_append(w->out, s, strlen(s));
}

/* In pretty mode: a newline and the indentation of `level`. */
static int write_break(json_writer *w, unsigned level) {
  if (!(w->flags & CHAT_JSON_PRETTY)) {
    return 0;
  }
  int rc = chat_buffer_append_byte(w->out, '\n');
  for (unsigned i = 0; i < level * PRETTY_INDENT && rc == 0; i++) {
    rc = chat_buffer_append_byte(w->out, ' ');
  }
  return rc;
}

/* The separator between items: ", " on one line, "," then a break when
 * pretty (the break is written before each item). */
static int write_item_separator(json_writer *w) {
  return append_text(w, (w->flags & CHAT_JSON_PRETTY) ? "," : ", ");
}

static int write_integer(json_writer *w, bool negative, uint64_t magnitude) {
  if (negative && magnitude > (uint64_t)INT64_MAX + 1) {
    return CHAT_ERR_INVALID_ARGUMENT;
  }
  char text[INT_TEXT_SIZE];
  char *p = text + sizeof text;
  *--p = '\0';
  do {
    *--p = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative && !(p[0] == '0' && p[1] == '\0')) {
    *--p = '-';
  }
  return append_text(w, p);
}

/* {"<tag>": <payload text>} on one line in every mode. */
static int write_tagged(json_writer *w, const char *tag, const char *payload, bool quote_payload) {
  int rc = chat_buffer_append_byte(w->out, '{');
  if (rc == 0) {
    rc = chat_json_write_string(w->out, tag, strlen(tag));
  }
  if (rc == 0) {
    rc = append_text(w, ": ");
  }
  if (rc == 0) {
    rc = quote_payload ? chat_json_write_string(w->out, payload, strlen(payload))
                       : append_text(w, payload);
  }
  if (rc == 0) {
    rc = chat_buffer_append_byte(w->out, '}');
  }
  return rc;
}

static int write_float(json_writer *w, const chat_value *v) {
  char text[CHAT_JSON_NUMBER_BUFFER_SIZE];
  double d = v->as.real.value;
  if (v->as.real.width == 8) {
    chat_json_format_double(d, text);
    if (!isfinite(d)) {
      return write_tagged(w, TAG_FLOAT, text, true);
    }
    return append_text(w, text);
  }
  if (v->as.real.width == 4) {
    float f = (float)d;
    chat_json_format_float32(f, text);
    return write_tagged(w, TAG_FLOAT32, text, !isfinite(f));
  }
  return CHAT_ERR_INVALID_ARGUMENT;
}

static int write_bytes(json_writer *w, const chat_value *v) {
  const uint8_t *data = v->as.blob.data;
  size_t len = v->as.blob.len;
  if (w->flags & CHAT_JSON_BYTES_SUMMARY) {
    char count[INT_TEXT_SIZE];
    snprintf(count, sizeof count, "%zu", len);
    return write_tagged(w, TAG_BYTES_LEN, count, false);
  }
  int rc = chat_buffer_append_byte(w->out, '{');
  if (rc == 0) {
    rc = chat_json_write_string(w->out, TAG_BYTES, strlen(TAG_BYTES));
  }
  if (rc == 0) {
    rc = append_text(w, ": \"");
  }
  for (size_t done = 0; done < len && rc == 0;) {
    size_t n = len - done < BASE64_CHUNK_INPUT ? len - done : BASE64_CHUNK_INPUT;
    char encoded[BASE64_ENCODE_RAW_LENGTH(BASE64_CHUNK_INPUT)];
    base64_encode_raw(encoded, n, data + done);
    rc = chat_buffer_append(w->out, encoded, BASE64_ENCODE_RAW_LENGTH(n));
    done += n;
  }
  if (rc == 0) {
    rc = append_text(w, "\"}");
  }
  return rc;
}

static int write_value(json_writer *w, const chat_value *v, unsigned level);

/* Opens the JSON of a list or dict (`level` is the indentation): one more
 * level of value nesting, closed by close_container. */
static int open_container(json_writer *w, char bracket) {
  if (w->depth >= CHAT_JSON_MAX_VALUE_DEPTH) {
    return CHAT_ERR_DEPTH;
  }
  w->depth++;
  return chat_buffer_append_byte(w->out, (uint8_t)bracket);
}

static int close_container(json_writer *w, char bracket, int rc) {
  w->depth--;
  return rc == 0 ? chat_buffer_append_byte(w->out, (uint8_t)bracket) : rc;
}

static int write_list(json_writer *w, const chat_value *v, unsigned level) {
  int rc = open_container(w, '[');
  if (rc != 0) {
    return rc;
  }
  for (size_t i = 0; i < v->as.list.count && rc == 0; i++) {
    if (i > 0) {
      rc = write_item_separator(w);
    }
    if (rc == 0) {
      rc = write_break(w, level + 1);
    }
    if (rc == 0) {
      rc = write_value(w, &v->as.list.items[i], level + 1);
    }
  }
  if (rc == 0 && v->as.list.count > 0) {
    rc = write_break(w, level);
  }
  return close_container(w, ']', rc);
}

static int write_dict(json_writer *w, const chat_value *v, unsigned level) {
  int rc = open_container(w, '{');
  if (rc != 0) {
    return rc;
  }
  for (size_t i = 0; i < v->as.dict.count && rc == 0; i++) {
    const chat_dict_entry *e = &v->as.dict.entries[i];
    if (e->key_len > CHAT_DICT_KEY_MAX) {
      rc = CHAT_ERR_INVALID_ARGUMENT;
      break;
    }
    if (i > 0) {
      rc = write_item_separator(w);
    }
    if (rc == 0) {
      rc = write_break(w, level + 1);
    }
    if (rc == 0) {
      rc = chat_json_write_string(w->out, e->key, e->key_len);
    }
    if (rc == 0) {
      rc = append_text(w, ": ");
    }
    if (rc == 0) {
      rc = write_value(w, &e->value, level + 1);
    }
  }
  if (rc == 0 && v->as.dict.count > 0) {
    rc = write_break(w, level);
  }
  return close_container(w, '}', rc);
}

/* A dict whose only key starts with '$' would read back as a tagged value:
 * it is wrapped as {"$dict": {...}}. */
static bool dict_needs_escape(const chat_value *v) {
  return v->as.dict.count == 1 && v->as.dict.entries[0].key_len > 0 &&
         v->as.dict.entries[0].key[0] == TAG_PREFIX;
}

static int write_escaped_dict(json_writer *w, const chat_value *v, unsigned level) {
  if (w->depth >= CHAT_JSON_MAX_VALUE_DEPTH) {
    return CHAT_ERR_DEPTH;
  }
  int rc = chat_buffer_append_byte(w->out, '{');
  if (rc == 0) {
    rc = write_break(w, level + 1);
  }
  if (rc == 0) {
    rc = chat_json_write_string(w->out, TAG_DICT, strlen(TAG_DICT));
  }
  if (rc == 0) {
    rc = append_text(w, ": ");
  }
  if (rc == 0) {
    rc = write_dict(w, v, level + 1);
  }
  if (rc == 0) {
    rc = write_break(w, level);
  }
  if (rc == 0) {
    rc = chat_buffer_append_byte(w->out, '}');
  }
  return rc;
}

static int write_value(json_writer *w, const chat_value *v, unsigned level) {
  switch (v->kind) {
  case CHAT_VALUE_NULL:
    return append_text(w, "null");
  case CHAT_VALUE_BOOL:
    return append_text(w, v->as.boolean ? "true" : "false");
  case CHAT_VALUE_INT:
    return write_integer(w, v->as.integer.negative, v->as.integer.magnitude);
  case CHAT_VALUE_FLOAT:
    return write_float(w, v);
  case CHAT_VALUE_BYTES:
    return write_bytes(w, v);
  case CHAT_VALUE_STR:
    return chat_json_write_string(w->out, (const char *)v->as.blob.data, v->as.blob.len);
  case CHAT_VALUE_LIST:
    return write_list(w, v, level);
  case CHAT_VALUE_DICT:
    return dict_needs_escape(v) ? write_escaped_dict(w, v, level) : write_dict(w, v, level);
  }
  return CHAT_ERR_INVALID_ARGUMENT;
}

int chat_value_write_json(const chat_value *value, unsigned flags, chat_buffer *out) {
  json_writer w = {out, flags, 0};
  size_t start = out->len;
  int rc = write_value(&w, value, 0);
  if (rc != 0 && !out->failed) {
    out->len = start;
  }
  return rc;
}
