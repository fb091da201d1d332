/* Passive seed frame decoder. See protocol/seed-decoder.h. */
#include "protocol/seed-decoder.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/seed-internal.h"

/* One frame gives a FRAME event and, with a key, a MESSAGE event. */
#define MAX_PENDING_EVENTS 2u
/* A frame buffer larger than this is freed once its message was taken. */
#define RETAIN_BYTES CHAT_SEED_RECEIVE_RETAIN_BYTES

struct chat_seed_decoder {
  bool have_key;
  struct aes256_ctx aes;
  size_t max_frame;

  uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES];
  size_t header_have;
  bool in_body;
  size_t body_len;      /* L of the current frame */
  size_t body_have;
  unsigned pad;
  uint8_t *body;        /* with a key: the ciphertext, decrypted in place */
  size_t body_capacity;
  uint64_t consumed;
  uint64_t frame_offset;

  chat_seed_event events[MAX_PENDING_EVENTS];
  size_t nevents, next_event;
  size_t plain_len;     /* plaintext bytes left in body by the last frame */

  int error;
  uint64_t error_offset;
  char reason[CHAT_SEED_DECODER_REASON_MAX];
};

static int fail(chat_seed_decoder *dec, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(chat_seed_decoder *dec, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dec->reason, sizeof dec->reason, fmt, ap);
  va_end(ap);
  dec->error = code;
  dec->error_offset = offset;
  dec->nevents = dec->next_event = 0;
  if (dec->body != NULL)
    explicit_bzero(dec->body, dec->body_capacity);
  return code;
}

chat_seed_decoder *chat_seed_decoder_new(const uint8_t *key, size_t max_frame,
                                           uint64_t stream_offset) {
  chat_seed_decoder *dec = calloc(1, sizeof *dec);
  if (dec == NULL)
    return NULL;
  dec->consumed = stream_offset;
  dec->max_frame = max_frame != 0 ? max_frame : CHAT_SEED_DECODER_DEFAULT_MAX_FRAME;
  if (key != NULL) {
    aes256_set_decrypt_key(&dec->aes, key);
    dec->have_key = true;
  }
  return dec;
}

void chat_seed_decoder_free(chat_seed_decoder *dec) {
  if (dec == NULL)
    return;
  if (dec->body != NULL)
    explicit_bzero(dec->body, dec->body_capacity);
  free(dec->body);
  explicit_bzero(dec, sizeof *dec);
  free(dec);
}

/* Once every pending event was taken: wipes the plaintext they pointed to,
 * and lets go of a big buffer. */
static void release_events(chat_seed_decoder *dec) {
  if (dec->nevents == 0 || dec->next_event < dec->nevents)
    return;
  dec->nevents = dec->next_event = 0;
  if (dec->body != NULL) {
    explicit_bzero(dec->body, dec->plain_len);
    if (dec->body_capacity > RETAIN_BYTES) {
      free(dec->body);
      dec->body = NULL;
      dec->body_capacity = 0;
    }
  }
  dec->plain_len = 0;
}

static int on_header(chat_seed_decoder *dec) {
  uint32_t len = chat_seed_header_length(dec->header);
  unsigned pad = chat_seed_header_pad_count(dec->header);
  uint64_t at = dec->frame_offset;
  switch (chat_seed_check_frame_length(len, dec->max_frame)) {
  case CHAT_SEED_ERR_FRAME_EMPTY:
    return fail(dec, CHAT_SEED_ERR_FRAME_EMPTY, at, "offset %" PRIu64 ": frame of length 0", at);
  case CHAT_SEED_ERR_FRAME_MISALIGNED:
    return fail(dec, CHAT_SEED_ERR_FRAME_MISALIGNED, at,
                "offset %" PRIu64 ": frame length %" PRIu32 " is not a multiple of %d", at, len,
                CHAT_SEED_BLOCK_BYTES);
  case CHAT_SEED_ERR_FRAME_TOO_LARGE:
    return fail(dec, CHAT_SEED_ERR_FRAME_TOO_LARGE, at,
                "offset %" PRIu64 ": frame length %" PRIu32 " is over the limit of %zu bytes", at,
                len, dec->max_frame);
  default:
    break;
  }
  if (chat_seed_check_pad_count(pad) != 0)
    return fail(dec, CHAT_SEED_ERR_PAD_COUNT, at,
                "offset %" PRIu64 ": padding count %u is over %d", at, pad, CHAT_SEED_PAD_MAX);
  dec->in_body = true;
  dec->body_len = len;
  dec->body_have = 0;
  dec->pad = pad;
  return 0;
}

/* Room for `need` bytes of the current frame (need <= body_len). */
static int reserve(chat_seed_decoder *dec, size_t need) {
  if (need <= dec->body_capacity)
    return 0;
  size_t cap = chat_seed_body_capacity(dec->body_capacity, need, dec->body_len);
  if (!chat_seed_body_grow(&dec->body, &dec->body_capacity, dec->body_have, cap))
    return fail(dec, CHAT_SEED_ERR_NOMEM, dec->frame_offset,
                "out of memory for a frame of %zu bytes", dec->body_len);
  return 0;
}

static int on_body(chat_seed_decoder *dec) {
  chat_seed_event *frame = &dec->events[dec->nevents++];
  memset(frame, 0, sizeof *frame);
  frame->kind = CHAT_SEED_EVENT_FRAME;
  frame->offset = dec->frame_offset;
  frame->wire_len = CHAT_SEED_FRAME_HEADER_BYTES + dec->body_len;
  frame->cipher_len = dec->body_len;
  frame->pad = dec->pad;
  dec->in_body = false;
  dec->header_have = 0;
  if (!dec->have_key)
    return 0;
  dec->plain_len = dec->body_len;
  if (chat_seed_decrypt_frame(&dec->aes, dec->header, dec->body, dec->body_len) != 0)
    return fail(dec, CHAT_SEED_ERR_PADDING, dec->frame_offset,
                "offset %" PRIu64 ": the %u padding bytes of a frame of %zu bytes are not "
                "zero after decryption (wrong key, or a damaged frame)",
                dec->frame_offset, dec->pad, dec->body_len);
  frame->decrypted = true;
  chat_seed_event *msg = &dec->events[dec->nevents++];
  *msg = *frame;
  msg->kind = CHAT_SEED_EVENT_MESSAGE;
  msg->data = dec->body;
  msg->len = dec->body_len - dec->pad;
  return 0;
}

ptrdiff_t chat_seed_decoder_feed(chat_seed_decoder *dec, const uint8_t *data, size_t len) {
  if (dec == NULL || (data == NULL && len > 0))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  release_events(dec);
  if (dec->nevents > 0)
    return 0;
  size_t used = 0;
  while (used < len && dec->nevents == 0) {
    size_t left = len - used;
    if (!dec->in_body) {
      if (dec->header_have == 0)
        dec->frame_offset = dec->consumed;
      size_t take = CHAT_SEED_FRAME_HEADER_BYTES - dec->header_have;
      if (take > left)
        take = left;
      memcpy(dec->header + dec->header_have, data + used, take);
      dec->header_have += take;
      used += take;
      dec->consumed += take;
      if (dec->header_have < CHAT_SEED_FRAME_HEADER_BYTES)
        break;
      int rc = on_header(dec);
      if (rc < 0)
        return rc;
    } else {
      size_t take = dec->body_len - dec->body_have;
      if (take > left)
        take = left;
      if (dec->have_key) {
        int rc = reserve(dec, dec->body_have + take);
        if (rc < 0)
          return rc;
        memcpy(dec->body + dec->body_have, data + used, take);
      }
      dec->body_have += take;
      used += take;
      dec->consumed += take;
      if (dec->body_have < dec->body_len)
        break;
      int rc = on_body(dec);
      if (rc < 0)
        return rc;
    }
  }
  return (ptrdiff_t)used;
}

int chat_seed_decoder_next_event(chat_seed_decoder *dec, chat_seed_event *event) {
  if (dec == NULL || event == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  release_events(dec);
  if (dec->next_event >= dec->nevents)
    return 0;
  *event = dec->events[dec->next_event++];
  return 1;
}

int chat_seed_decoder_finish(chat_seed_decoder *dec) {
  if (dec == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  if (dec->in_body)
    return fail(dec, CHAT_SEED_ERR_TRUNCATED, dec->frame_offset,
                "offset %" PRIu64 ": the stream ends inside a frame (%zu of %zu bytes)",
                dec->frame_offset, CHAT_SEED_FRAME_HEADER_BYTES + dec->body_have,
                CHAT_SEED_FRAME_HEADER_BYTES + dec->body_len);
  if (dec->header_have > 0)
    return fail(dec, CHAT_SEED_ERR_TRUNCATED, dec->frame_offset,
                "offset %" PRIu64 ": the stream ends inside a frame header (%zu of %d bytes)",
                dec->frame_offset, dec->header_have, CHAT_SEED_FRAME_HEADER_BYTES);
  return 0;
}

int chat_seed_decoder_error(const chat_seed_decoder *dec) {
  return dec != NULL ? dec->error : CHAT_SEED_ERR_INVALID_ARGUMENT;
}

uint64_t chat_seed_decoder_error_offset(const chat_seed_decoder *dec) {
  return dec != NULL ? dec->error_offset : 0;
}

const char *chat_seed_decoder_error_message(const chat_seed_decoder *dec) {
  return dec != NULL && dec->error != 0 ? dec->reason : "";
}
