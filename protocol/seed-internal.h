/* Private parts of the seed dialect shared by the channel (seed-channel.c)
 * and the passive decoder (seed-decoder.c): the frame header's fields and
 * checks, the growth of a frame's receive buffer, and the decryption of a
 * frame with its padding check. Each is written once, in seed-common.c. */
#ifndef CHAT_PROTOCOL_SEED_INTERNAL_H
#define CHAT_PROTOCOL_SEED_INTERNAL_H

#include <nettle/aes.h>

#include "protocol/seed-channel.h"

/* First capacity of a frame's receive buffer: it then doubles as the
 * frame's bytes arrive, so memory follows the bytes, not the length field. */
#define CHAT_SEED_BODY_INITIAL_BYTES 4096u

/* The fields of a frame header (their bytes must be in). */
uint32_t chat_seed_header_length(const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES]);
unsigned chat_seed_header_pad_count(const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES]);

/* Checks a frame length L: 0, or CHAT_SEED_ERR_FRAME_EMPTY (L = 0),
 * CHAT_SEED_ERR_FRAME_MISALIGNED (not a multiple of 16) or
 * CHAT_SEED_ERR_FRAME_TOO_LARGE (over max_frame), in that order. */
int chat_seed_check_frame_length(uint32_t len, size_t max_frame);

/* Checks a padding count n: 0 or CHAT_SEED_ERR_PAD_COUNT (over 15). */
int chat_seed_check_pad_count(unsigned pad);

/* The capacity a receive buffer of `capacity` bytes grows to so that it
 * holds `need` bytes of a frame of body_len bytes (need <= body_len):
 * doubling from CHAT_SEED_BODY_INITIAL_BYTES, never past body_len. */
size_t chat_seed_body_capacity(size_t capacity, size_t need, size_t body_len);

/* Moves the `have` bytes of *body (of *capacity bytes, or NULL) to a fresh
 * block of new_capacity bytes, wiping and freeing the old one (no realloc:
 * no unwiped copy is left). Returns false, changing nothing, when out of
 * memory. */
bool chat_seed_body_grow(uint8_t **body, size_t *capacity, size_t have, size_t new_capacity);

/* Decrypts a whole frame body (body_len bytes, a multiple of 16) in place
 * with the header's IV, and checks that its n padding bytes are zero (in
 * constant time). Returns 0 or CHAT_SEED_ERR_PADDING. */
int chat_seed_decrypt_frame(const struct aes256_ctx *ctx,
                            const uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES], uint8_t *body,
                            size_t body_len);

#endif
