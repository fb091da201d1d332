/* Passive decoder of one direction of a recorded seed-dialect connection,
 * after the Diffie-Hellman values: the frames
 *
 *   u32 BE L | u8 n | 16-byte IV | L bytes AES-256-CBC(K, IV, plaintext || n zeros)
 *
 * (spec/protocol.md section 7, protocol/seed-channel.h). It checks the
 * framing with the seed channel's own rules (protocol/seed-internal.h: L a
 * non-zero multiple of 16 and at most max_frame, n <= 15) and, with the
 * session key, decrypts each frame, checks the zero padding and yields the
 * plaintext message. Without a key it still reports every frame's sizes.
 * The v2 dialect's counterpart is chat_v2_stream_decoder (v2-channel.h).
 *
 * Used like chat_v2_stream_decoder: feed, drain next_event, feed the rest.
 * Errors are sticky and carry the stream offset of the frame concerned.
 * Memory: one frame's ciphertext at most (max_frame bytes), only with a key.
 * Plain C, no GLib. */
#ifndef CHAT_PROTOCOL_SEED_DECODER_H
#define CHAT_PROTOCOL_SEED_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/seed-channel.h"

/* Default largest L: a 16 MiB message with its type byte and value header,
 * rounded up to whole blocks, as chatd accepts. */
#define CHAT_SEED_DECODER_DEFAULT_MAX_FRAME (((size_t)16 << 20) + 4096u)
/* Longest detailed error reason, including the NUL. */
#define CHAT_SEED_DECODER_REASON_MAX 200u

typedef enum {
  CHAT_SEED_EVENT_FRAME = 1, /* a whole frame was seen */
  CHAT_SEED_EVENT_MESSAGE,   /* its plaintext (with a key) */
} chat_seed_event_kind;

typedef struct {
  chat_seed_event_kind kind;
  uint64_t offset;   /* stream offset of the frame's length field */
  size_t wire_len;   /* header + ciphertext */
  size_t cipher_len; /* L */
  unsigned pad;      /* n */
  bool decrypted;
  /* MESSAGE: the plaintext without its padding, valid until the next call. */
  const uint8_t *data;
  size_t len;
} chat_seed_event;

typedef struct chat_seed_decoder chat_seed_decoder;

/* key: the 32-byte session key, or NULL. max_frame: 0 for the default.
 * stream_offset: where the first frame starts in the direction's stream
 * (after the DH value), so that every offset reported is a stream offset.
 * Returns NULL when out of memory. */
chat_seed_decoder *chat_seed_decoder_new(const uint8_t *key, size_t max_frame,
                                         uint64_t stream_offset);

/* Wipes the key and the plaintext, and frees. NULL is allowed. */
void chat_seed_decoder_free(chat_seed_decoder *dec);

/* Feeds bytes, split anywhere. Returns the number consumed: it stops after
 * each frame and consumes nothing while events wait.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, and sticky: CHAT_SEED_ERR_FRAME_EMPTY,
 * _FRAME_MISALIGNED, _FRAME_TOO_LARGE, _PAD_COUNT, _PADDING (also for a
 * wrong key), _NOMEM. */
ptrdiff_t chat_seed_decoder_feed(chat_seed_decoder *dec, const uint8_t *data, size_t len);

/* Returns 1 and fills *event, 0 when none waits, or the sticky error. */
int chat_seed_decoder_next_event(chat_seed_decoder *dec, chat_seed_event *event);

/* The end of the direction: 0 at a frame boundary, else
 * CHAT_SEED_ERR_TRUNCATED (sticky). */
int chat_seed_decoder_finish(chat_seed_decoder *dec);

/* The decoder's error code (0 if none), the offset of the frame it
 * concerns, and the detailed reason ("" if none). */
int chat_seed_decoder_error(const chat_seed_decoder *dec);
uint64_t chat_seed_decoder_error_offset(const chat_seed_decoder *dec);
const char *chat_seed_decoder_error_message(const chat_seed_decoder *dec);

#endif
