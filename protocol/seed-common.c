/* Seed dialect: the frame rules shared by the channel and the passive
 * decoder. See protocol/seed-internal.h. */
#include "protocol/seed-internal.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/cbc.h>

#include "protocol/buffer.h"

uint32_t chat_seed_header_length(const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES]) {
  return chat_load_u32be(header);
}

unsigned chat_seed_header_pad_count(const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES]) {
  return header[CHAT_SEED_LENGTH_BYTES];
}

int chat_seed_check_frame_length(uint32_t len, size_t max_frame) {
  if (len == 0)
    return CHAT_SEED_ERR_FRAME_EMPTY;
  if (len % CHAT_SEED_BLOCK_BYTES != 0)
    return CHAT_SEED_ERR_FRAME_MISALIGNED;
  if (len > max_frame)
    return CHAT_SEED_ERR_FRAME_TOO_LARGE;
  return 0;
}

int chat_seed_check_pad_count(unsigned pad) {
  return pad > CHAT_SEED_PAD_MAX ? CHAT_SEED_ERR_PAD_COUNT : 0;
}

size_t chat_seed_body_capacity(size_t capacity, size_t need, size_t body_len) {
  if (need <= capacity)
    return capacity;
  size_t cap = capacity < CHAT_SEED_BODY_INITIAL_BYTES ? CHAT_SEED_BODY_INITIAL_BYTES : capacity;
  while (cap < need)
    cap = cap > body_len / 2 ? body_len : 2 * cap;
  return cap > body_len ? body_len : cap;
}

bool chat_seed_body_grow(uint8_t **body, size_t *capacity, size_t have, size_t new_capacity) {
  uint8_t *grown = malloc(new_capacity);
  if (grown == NULL)
    return false;
  if (*body != NULL) {
    memcpy(grown, *body, have);
    explicit_bzero(*body, *capacity);
    free(*body);
  }
  *body = grown;
  *capacity = new_capacity;
  return true;
}

/* nettle_cipher_func adapter (a cast of aes256_decrypt would be undefined
 * behaviour and trips -Wcast-function-type). */
static void aes256_decrypt_blocks(const void *ctx, size_t length, uint8_t *dst,
                                  const uint8_t *src) {
  aes256_decrypt(ctx, length, dst, src);
}

int chat_seed_decrypt_frame(const struct aes256_ctx *ctx,
                            const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES], uint8_t *body,
                            size_t body_len) {
  uint8_t chain[CHAT_SEED_IV_BYTES];
  memcpy(chain, header + CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES, sizeof chain);
  cbc_decrypt(ctx, aes256_decrypt_blocks, CHAT_SEED_BLOCK_BYTES, chain, body_len, body, body);
  explicit_bzero(chain, sizeof chain);
  uint8_t nonzero = 0;
  for (size_t i = body_len - chat_seed_header_pad_count(header); i < body_len; i++)
    nonzero |= body[i];
  return nonzero != 0 ? CHAT_SEED_ERR_PADDING : 0;
}
