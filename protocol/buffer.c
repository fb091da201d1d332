#include "protocol/buffer.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/error.h"

#define BUFFER_MIN_CAPACITY 64

void chat_buffer_init(chat_buffer *buf) {
  memset(buf, 0, sizeof *buf);
}

/* Empties buf, keeping its settings (limit, first capacity, wipe). */
static void keep_settings_init(chat_buffer *buf) {
  size_t max = buf->max_len;
  size_t first = buf->first_capacity;
  bool wipe = buf->wipe;
  chat_buffer_init(buf);
  buf->max_len = max;
  buf->first_capacity = first;
  buf->wipe = wipe;
}

void chat_buffer_clear(chat_buffer *buf) {
  if (buf->wipe && buf->data != NULL)
    explicit_bzero(buf->data, buf->capacity);
  free(buf->data);
  keep_settings_init(buf);
}

void chat_buffer_reset(chat_buffer *buf) {
  if (buf->wipe && buf->data != NULL)
    explicit_bzero(buf->data, buf->len);
  buf->start = 0;
  buf->len = 0;
  buf->failed = false;
  buf->failure = 0;
}

static int fail(chat_buffer *buf, int code) {
  buf->failed = true;
  buf->failure = code;
  return code;
}

/* Moves the unread bytes to the front of data. */
static void compact(chat_buffer *buf) {
  size_t unread = buf->len - buf->start;
  if (buf->start == 0)
    return;
  memmove(buf->data, buf->data + buf->start, unread);
  if (buf->wipe)
    explicit_bzero(buf->data + unread, buf->len - unread);
  buf->start = 0;
  buf->len = unread;
}

int chat_buffer_reserve(chat_buffer *buf, size_t n) {
  if (buf->failed)
    return buf->failure;
  size_t unread = buf->len - buf->start;
  if (n > SIZE_MAX - unread)
    return fail(buf, CHAT_ERR_NOMEM);
  size_t need = unread + n;
  if (buf->max_len && need > buf->max_len)
    return fail(buf, CHAT_ERR_LIMIT);
  if (buf->capacity - buf->len >= n)
    return 0;
  if (need <= buf->capacity) { /* room once the consumed bytes are gone */
    compact(buf);
    return 0;
  }
  size_t cap = buf->capacity         ? buf->capacity
               : buf->first_capacity ? buf->first_capacity
                                     : BUFFER_MIN_CAPACITY;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (!buf->wipe) {
    compact(buf);
    uint8_t *p = realloc(buf->data, cap);
    if (!p)
      return fail(buf, CHAT_ERR_NOMEM);
    buf->data = p;
    buf->capacity = cap;
    return 0;
  }
  /* A fresh block rather than realloc, so no unwiped copy is left. */
  uint8_t *p = malloc(cap);
  if (!p)
    return fail(buf, CHAT_ERR_NOMEM);
  if (unread > 0)
    memcpy(p, buf->data + buf->start, unread);
  if (buf->data != NULL) {
    explicit_bzero(buf->data, buf->capacity);
    free(buf->data);
  }
  buf->data = p;
  buf->capacity = cap;
  buf->start = 0;
  buf->len = unread;
  return 0;
}

void chat_buffer_consume(chat_buffer *buf, size_t n) {
  if (n > buf->len - buf->start)
    n = buf->len - buf->start;
  if (buf->wipe && n > 0)
    explicit_bzero(buf->data + buf->start, n);
  buf->start += n;
  if (buf->start == buf->len)
    buf->start = buf->len = 0;
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
  if (buf->data != NULL)
    compact(buf);
  uint8_t *p = buf->data;
  if (len)
    *len = buf->len;
  keep_settings_init(buf);
  return p;
}
