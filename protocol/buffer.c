#include "protocol/buffer.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/error.h"

#define BUFFER_MIN_CAPACITY 64

void chat_buffer_init(chat_buffer *buf) {
  memset(buf, 0, sizeof *buf);
}

void chat_buffer_clear(chat_buffer *buf) {
  free(buf->data);
  size_t max = buf->max_len;
  chat_buffer_init(buf);
  buf->max_len = max;
}

void chat_buffer_reset(chat_buffer *buf) {
  buf->len = 0;
  buf->failed = false;
  buf->failure = 0;
}

static int fail(chat_buffer *buf, int code) {
  buf->failed = true;
  buf->failure = code;
  return code;
}

int chat_buffer_reserve(chat_buffer *buf, size_t n) {
  if (buf->failed)
    return buf->failure;
  if (n > SIZE_MAX - buf->len)
    return fail(buf, CHAT_ERR_NOMEM);
  size_t need = buf->len + n;
  if (buf->max_len && need > buf->max_len)
    return fail(buf, CHAT_ERR_LIMIT);
  if (need <= buf->capacity)
    return 0;
  size_t cap = buf->capacity ? buf->capacity : BUFFER_MIN_CAPACITY;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *p = realloc(buf->data, cap);
  if (!p)
    return fail(buf, CHAT_ERR_NOMEM);
  buf->data = p;
  buf->capacity = cap;
  return 0;
}

int chat_buffer_append(chat_buffer *buf, const void *src, size_t n) {
  int rc = chat_buffer_reserve(buf, n);
  if (rc)
    return rc;
  if (n)
    memcpy(buf->data + buf->len, src, n);
  buf->len += n;
  return 0;
}

int chat_buffer_append_byte(chat_buffer *buf, uint8_t byte) {
  return chat_buffer_append(buf, &byte, 1);
}

int chat_buffer_append_u32be(chat_buffer *buf, uint32_t v) {
  uint8_t b[4];
  chat_store_u32be(b, v);
  return chat_buffer_append(buf, b, sizeof b);
}

int chat_buffer_open_block(chat_buffer *buf, size_t *mark) {
  int rc = chat_buffer_append_u32be(buf, 0);
  if (rc)
    return rc;
  *mark = buf->len - 4;
  return 0;
}

int chat_buffer_close_block(chat_buffer *buf, size_t mark) {
  if (buf->failed)
    return buf->failure;
  size_t body = buf->len - mark - 4;
  if (body > UINT32_MAX)
    return fail(buf, CHAT_ERR_INVALID_ARGUMENT);
  chat_store_u32be(buf->data + mark, (uint32_t)body);
  return 0;
}

uint8_t *chat_buffer_steal(chat_buffer *buf, size_t *len) {
  uint8_t *p = buf->data;
  if (len)
    *len = buf->len;
  size_t max = buf->max_len;
  chat_buffer_init(buf);
  buf->max_len = max;
  return p;
}
