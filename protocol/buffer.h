/* A caller-owned growable byte buffer (after picotls' ptls_buffer_t).
 *
 * Encoders append to it; a length-prefixed block is opened with
 * chat_buffer_open_block and closed with chat_buffer_close_block, which writes
 * the length back, so no encoder computes a length by hand.
 *
 * It is also a sliding queue of bytes (an output buffer): bytes are appended
 * at the end and consumed from the front with chat_buffer_consume, which
 * only moves a read offset; the unread bytes are moved to the front only
 * when an append needs the room (no memmove on every read). With `wipe`
 * set, bytes that are consumed, moved or freed are wiped first and the
 * memory never grows by realloc, so no copy of a secret is left behind.
 *
 * The bytes of the buffer are [start, len) of data; start stays 0 unless
 * something is consumed. Do not consume while a block is open (its mark is
 * an offset into data). */
#ifndef CHAT_PROTOCOL_BUFFER_H
#define CHAT_PROTOCOL_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  size_t start; /* read offset: bytes before it were consumed */
  size_t len;   /* end of the bytes in data */
  size_t capacity;
  size_t max_len;        /* unread bytes beyond this fail with CHAT_ERR_LIMIT; 0 = none */
  size_t first_capacity; /* size of the first allocation; 0 = a small default */
  bool wipe;             /* the bytes are secret: wipe what is consumed, moved or freed */
  bool failed;           /* sticky: set by the first failed append */
  int failure;           /* the code of that failure */
} chat_buffer;

void chat_buffer_init(chat_buffer *buf);
void chat_buffer_clear(chat_buffer *buf); /* frees the memory (keeps the settings) */
void chat_buffer_reset(chat_buffer *buf); /* empty, keeps the memory */

/* Makes room for n more bytes at data + len (moving the unread bytes to the
 * front, or growing). Returns 0, CHAT_ERR_NOMEM or CHAT_ERR_LIMIT. */
int chat_buffer_reserve(chat_buffer *buf, size_t n);

/* The unread bytes: chat_buffer_unread_len of them at chat_buffer_unread. */
static inline uint8_t *chat_buffer_unread(const chat_buffer *buf) {
  return buf->data != NULL ? buf->data + buf->start : NULL;
}

static inline size_t chat_buffer_unread_len(const chat_buffer *buf) {
  return buf->len - buf->start;
}

/* Consumes n bytes from the front (n <= chat_buffer_unread_len; wiped when
 * buf->wipe). Once everything is consumed the buffer is empty again (start
 * and len 0), its memory kept. */
void chat_buffer_consume(chat_buffer *buf, size_t n);

/* Appends; on failure the buffer is marked failed and the call returns the
 * code. Later appends to a failed buffer do nothing and return that code. */
int chat_buffer_append(chat_buffer *buf, const void *src, size_t n);
int chat_buffer_append_byte(chat_buffer *buf, uint8_t byte);
int chat_buffer_append_u32be(chat_buffer *buf, uint32_t v);

/* Reserves a 4-byte big-endian length slot; returns the slot's offset through
 * *mark. close_block fills it with the number of bytes appended since. */
int chat_buffer_open_block(chat_buffer *buf, size_t *mark);
int chat_buffer_close_block(chat_buffer *buf, size_t mark);

/* Hands the bytes over to the caller (free with free()), moved to the front
 * first if some were consumed; the buffer is empty afterwards. */
uint8_t *chat_buffer_steal(chat_buffer *buf, size_t *len);

static inline uint16_t chat_load_u16be(const uint8_t *p) {
  return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static inline void chat_store_u16be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

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
