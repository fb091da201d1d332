/* Passive decoder of one direction of a recorded seed-dialect connection,
 * after the Diffie-Hellman values: the frames
 *
 *   u32 BE L | u8 n | 16-byte IV | L bytes AES-256-CBC(K, IV, plaintext || n zeros)
 *
 * (shared/reference/seed-wire.md, protocol/seed-channel.h). It checks the
 * framing as the seed channel does (L a non-zero multiple of 16 and at most
 * max_frame, n <= 15) and, with the session key, decrypts each frame, checks
 * the zero padding and yields the plaintext message. Without a key it still
 * reports every frame's sizes.
 *
 * Used like chat_v2_stream_decoder: feed, drain next_event, feed the rest.
 * Errors are sticky and carry the stream offset of the frame concerned.
 * Memory: one frame's ciphertext at most (max_frame bytes), only with a key. */
#ifndef CHATCTL_CAPTURE_SEED_FRAMES_H
#define CHATCTL_CAPTURE_SEED_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/seed-channel.h"

/* Default largest L: a 16 MiB message with its type byte and value header,
 * rounded up to whole blocks, as chatd accepts. */
#define SEED_FRAMES_DEFAULT_MAX_FRAME (((size_t)16 << 20) + 4096u)
/* A frame buffer larger than this is freed once its message was taken. */
#define SEED_FRAMES_RETAIN_BYTES CHAT_SEED_RECEIVE_RETAIN_BYTES
#define SEED_FRAMES_REASON_MAX 200u

/* The stream ended inside a frame (the other codes are chat_seed_status). */
#define SEED_FRAMES_ERR_TRUNCATED (-1)

typedef enum {
  SEED_EVENT_FRAME = 1,   /* a whole frame was seen */
  SEED_EVENT_MESSAGE,     /* its plaintext (with a key) */
} seed_event_kind;

typedef struct {
  seed_event_kind kind;
  uint64_t offset;      /* stream offset of the frame's length field */
  size_t wire_len;      /* header + ciphertext */
  size_t cipher_len;    /* L */
  unsigned pad;         /* n */
  bool decrypted;
  /* MESSAGE: the plaintext without its padding, valid until the next call. */
  const uint8_t *data;
  size_t len;
} seed_frame_event;

typedef struct seed_frame_decoder seed_frame_decoder;

/* key: the 32-byte session key, or NULL. max_frame: 0 for the default.
 * stream_offset: where the first frame starts in the direction's stream
 * (after the DH value), so that every offset reported is a stream offset.
 * Returns NULL when out of memory. */
seed_frame_decoder *seed_frame_decoder_new(const uint8_t *key, size_t max_frame,
                                           uint64_t stream_offset);

/* Wipes the key and the plaintext, and frees. NULL is allowed. */
void seed_frame_decoder_free(seed_frame_decoder *dec);

/* Feeds bytes, split anywhere. Returns the number consumed: it stops after
 * each frame and consumes nothing while events wait. Negative: the sticky
 * error (chat_seed_status, or SEED_FRAMES_ERR_*). */
ptrdiff_t seed_frame_decoder_feed(seed_frame_decoder *dec, const uint8_t *data, size_t len);

/* Returns 1 and fills *event, 0 when none waits, or the sticky error. */
int seed_frame_decoder_next_event(seed_frame_decoder *dec, seed_frame_event *event);

/* The end of the direction: 0 at a frame boundary, else
 * SEED_FRAMES_ERR_TRUNCATED (sticky). */
int seed_frame_decoder_finish(seed_frame_decoder *dec);

int seed_frame_decoder_error(const seed_frame_decoder *dec);
uint64_t seed_frame_decoder_error_offset(const seed_frame_decoder *dec);
const char *seed_frame_decoder_error_message(const seed_frame_decoder *dec);

#endif
