/* The value encoder: a streaming writer over a chat_buffer, and the
 * encoding of a value tree through it. */
#include <string.h>

#include "protocol/value.h"

void chat_writer_init(chat_writer *w, chat_buffer *out) {
  w->out = out;
  w->depth = 0;
  w->status = out->failed ? out->failure : 0;
}

static bool writer_ok(chat_writer *w) {
  if (w->status == 0 && w->out->failed)
    w->status = w->out->failure;
  return w->status == 0;
}

static void writer_fail(chat_writer *w, int code) {
  if (w->status == 0)
    w->status = code;
}

/* Writes a complete value: header and body. */
static void write_value(chat_writer *w, uint8_t type, const void *body, size_t len) {
  if (!writer_ok(w))
    return;
  if (len > UINT32_MAX) {
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  }
  if (chat_buffer_reserve(w->out, CHAT_VALUE_HEADER_SIZE + len) != 0) {
    writer_ok(w);
    return;
  }
  chat_buffer_append_byte(w->out, type);
  chat_buffer_append_u32be(w->out, (uint32_t)len);
  chat_buffer_append(w->out, body, len);
}

void chat_write_null(chat_writer *w) {
  if (writer_ok(w))
    chat_buffer_append_byte(w->out, CHAT_WIRE_NULL);
}

void chat_write_integer(chat_writer *w, bool negative, uint64_t magnitude) {
  if (magnitude == 0)
    negative = false;
  if (negative && magnitude > (UINT64_C(1) << 63)) {
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  }
  uint8_t body[8];
  size_t n = 1;
  while (n < sizeof body && (magnitude >> (8 * n)) != 0)
    n++;
  for (size_t i = 0; i < n; i++)
    body[i] = (uint8_t)(magnitude >> (8 * (n - 1 - i)));
  write_value(w, negative ? CHAT_WIRE_NEGINT : CHAT_WIRE_INT, body, n);
}

void chat_write_int(chat_writer *w, int64_t i) {
  chat_write_integer(w, i < 0, i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i);
}

void chat_write_uint(chat_writer *w, uint64_t u) {
  chat_write_integer(w, false, u);
}

void chat_write_bool(chat_writer *w, bool b) {
  uint8_t body = b ? 1 : 0;
  write_value(w, CHAT_WIRE_BOOL, &body, 1);
}

void chat_write_float(chat_writer *w, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  uint8_t body[8];
  chat_store_u32be(body, (uint32_t)(bits >> 32));
  chat_store_u32be(body + 4, (uint32_t)bits);
  write_value(w, CHAT_WIRE_FLOAT, body, sizeof body);
}

static void write_float32_bits(chat_writer *w, uint32_t bits) {
  uint8_t body[4];
  chat_store_u32be(body, bits);
  write_value(w, CHAT_WIRE_FLOAT, body, sizeof body);
}

void chat_write_float32(chat_writer *w, float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  write_float32_bits(w, bits);
}

void chat_write_str(chat_writer *w, const char *s, size_t len) {
  write_value(w, CHAT_WIRE_STR, s, len);
}

void chat_write_cstr(chat_writer *w, const char *s) {
  chat_write_str(w, s, strlen(s));
}

void chat_write_bytes(chat_writer *w, const uint8_t *data, size_t len) {
  write_value(w, CHAT_WIRE_BYTES, data, len);
}

static void open_container(chat_writer *w, uint8_t type) {
  if (!writer_ok(w))
    return;
  if (w->depth == CHAT_WRITER_MAX_DEPTH) {
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  }
  if (chat_buffer_append_byte(w->out, type) != 0 ||
      chat_buffer_open_block(w->out, &w->open[w->depth]) != 0) {
    writer_ok(w);
    return;
  }
  w->depth++;
}

static void close_container(chat_writer *w) {
  if (!writer_ok(w))
    return;
  if (w->depth == 0) {
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  }
  w->depth--;
  if (chat_buffer_close_block(w->out, w->open[w->depth]) != 0)
    writer_ok(w);
}

void chat_write_list_begin(chat_writer *w) {
  open_container(w, CHAT_WIRE_LIST);
}
void chat_write_list_end(chat_writer *w) {
  close_container(w);
}
void chat_write_dict_begin(chat_writer *w) {
  open_container(w, CHAT_WIRE_DICT);
}
void chat_write_dict_end(chat_writer *w) {
  close_container(w);
}

void chat_write_key(chat_writer *w, const char *key, size_t len) {
  if (!writer_ok(w))
    return;
  if (len > CHAT_DICT_KEY_MAX) {
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  }
  if (chat_buffer_append_byte(w->out, (uint8_t)len) != 0 ||
      chat_buffer_append(w->out, key, len) != 0)
    writer_ok(w);
}

void chat_write_key_cstr(chat_writer *w, const char *key) {
  chat_write_key(w, key, strlen(key));
}

int chat_writer_finish(chat_writer *w) {
  if (writer_ok(w) && w->depth != 0)
    writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
  return w->status;
}

static void write_tree(chat_writer *w, const chat_value *v) {
  switch (v->kind) {
  case CHAT_VALUE_NULL:
    chat_write_null(w);
    return;
  case CHAT_VALUE_INT:
    chat_write_integer(w, v->as.integer.negative, v->as.integer.magnitude);
    return;
  case CHAT_VALUE_FLOAT:
    if (v->as.real.width == 4)
      write_float32_bits(w, chat_float32_narrow_bits(v->as.real.value));
    else if (v->as.real.width == 8)
      chat_write_float(w, v->as.real.value);
    else
      writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
    return;
  case CHAT_VALUE_BOOL:
    chat_write_bool(w, v->as.boolean);
    return;
  case CHAT_VALUE_STR:
    chat_write_str(w, (const char *)v->as.blob.data, v->as.blob.len);
    return;
  case CHAT_VALUE_BYTES:
    chat_write_bytes(w, v->as.blob.data, v->as.blob.len);
    return;
  case CHAT_VALUE_LIST:
    chat_write_list_begin(w);
    for (size_t i = 0; i < v->as.list.count && w->status == 0; i++)
      write_tree(w, &v->as.list.items[i]);
    chat_write_list_end(w);
    return;
  case CHAT_VALUE_DICT:
    chat_write_dict_begin(w);
    for (size_t i = 0; i < v->as.dict.count && w->status == 0; i++) {
      const chat_dict_entry *e = &v->as.dict.entries[i];
      chat_write_key(w, e->key, e->key_len);
      write_tree(w, &e->value);
    }
    chat_write_dict_end(w);
    return;
  }
  writer_fail(w, CHAT_ERR_INVALID_ARGUMENT);
}

int chat_value_encode(const chat_value *value, chat_buffer *out) {
  chat_writer w;
  chat_writer_init(&w, out);
  write_tree(&w, value);
  return chat_writer_finish(&w);
}
