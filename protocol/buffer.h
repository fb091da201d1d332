/* A caller-owned growable byte buffer (after picotls' ptls_buffer_t).
 *
 * Encoders append to it; a length-prefixed block is opened with
 * chat_buffer_open_block and closed with chat_buffer_close_block, which writes
 * the length back, so no encoder computes a length by hand. */
#ifndef CHAT_PROTOCOL_BUFFER_H
#define CHAT_PROTOCOL_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  size_t len;
  size_t capacity;
  size_t max_len;   /* appends beyond this fail with CHAT_ERR_LIMIT; 0 = none */
  bool failed;      /* sticky: set by the first failed append */
  int failure;      /* the code of that failure */
} chat_buffer;

void chat_buffer_init(chat_buffer *buf);
void chat_buffer_clear(chat_buffer *buf);   /* frees the memory */
void chat_buffer_reset(chat_buffer *buf);   /* len = 0, keeps the memory */

/* Makes room for n more bytes. Returns 0, CHAT_ERR_NOMEM or CHAT_ERR_LIMIT. */
int chat_buffer_reserve(chat_buffer *buf, size_t n);

/* Appends; on failure the buffer is marked failed and the call returns the
 * code. Later appends to a failed buffer do nothing and return that code. */
int chat_buffer_append(chat_buffer *buf, const void *src, size_t n);
int chat_buffer_append_byte(chat_buffer *buf, uint8_t byte);
int chat_buffer_append_u32be(chat_buffer *buf, uint32_t v);

/* Reserves a 4-byte big-endian length slot; returns the slot's offset through
 * *mark. close_block fills it with the number of bytes appended since. */
int chat_buffer_open_block(chat_buffer *buf, size_t *mark);
int chat_buffer_close_block(chat_buffer *buf, size_t mark);

/* Hands the bytes over to the caller (free with free()); the buffer is empty
 * afterwards. */
uint8_t *chat_buffer_steal(chat_buffer *buf, size_t *len);

static inline uint32_t chat_load_u32be(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void chat_store_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
