/* Passive seed frame decoder. See protocol/seed-decoder.h. */
#include "protocol/seed-decoder.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/decoder-core.h"
#include "protocol/seed-internal.h"

/* A frame buffer larger than this is freed once its message was taken. */
#define RETAIN_BYTES CHAT_SEED_RECEIVE_RETAIN_BYTES

struct chat_seed_decoder {
  chat_decoder_core core; /* first: the callbacks cast back */
  bool have_key;
  struct aes256_ctx aes;
  size_t max_frame;

  uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES];
  bool in_body; /* core.need is then L, the current frame's length */
  unsigned pad;
  uint8_t *body; /* with a key: the ciphertext, decrypted in place */
  size_t body_capacity;
  size_t plain_len; /* plaintext bytes left in body by the last frame */

  chat_seed_event events[CHAT_DECODER_MAX_EVENTS];
};

static const chat_decoder_ops seed_decoder_ops;

chat_seed_decoder *chat_seed_decoder_new(const uint8_t *key, size_t max_frame,
                                         uint64_t stream_offset) {
  chat_seed_decoder *dec = calloc(1, sizeof *dec);
  if (dec == NULL)
    return NULL;
  chat_decoder_init(&dec->core, &seed_decoder_ops, dec->events, sizeof dec->events[0],
                    CHAT_SEED_DECODER_REASON_MAX, stream_offset, CHAT_SEED_FRAME_HEADER_BYTES);
  dec->max_frame = max_frame != 0 ? max_frame : CHAT_SEED_DECODER_DEFAULT_MAX_FRAME;
  if (key != NULL) {
    aes256_set_decrypt_key(&dec->aes, key);
    dec->have_key = true;
  }
  return dec;
}

/* On a sticky error: the frame's plaintext goes. */
static void wipe(chat_decoder_core *core) {
  chat_seed_decoder *dec = (chat_seed_decoder *)core;
  if (dec->body != NULL)
    explicit_bzero(dec->body, dec->body_capacity);
}

void chat_seed_decoder_free(chat_seed_decoder *dec) {
  if (dec == NULL)
    return;
  wipe(&dec->core);
  free(dec->body);
  explicit_bzero(dec, sizeof *dec);
  free(dec);
}

/* Once every pending event was taken: wipes the plaintext they pointed to,
 * and lets go of a big buffer. */
static void release(chat_decoder_core *core) {
  chat_seed_decoder *dec = (chat_seed_decoder *)core;
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
  uint64_t at = dec->core.item_offset;
  switch (chat_seed_check_frame_length(len, dec->max_frame)) {
  case CHAT_SEED_ERR_FRAME_EMPTY:
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_FRAME_EMPTY, at,
                             "offset %" PRIu64 ": frame of length 0", at);
  case CHAT_SEED_ERR_FRAME_MISALIGNED:
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_FRAME_MISALIGNED, at,
                             "offset %" PRIu64 ": frame length %" PRIu32 " is not a multiple of %d",
                             at, len, CHAT_SEED_BLOCK_BYTES);
  case CHAT_SEED_ERR_FRAME_TOO_LARGE:
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_FRAME_TOO_LARGE, at,
                             "offset %" PRIu64 ": frame length %" PRIu32
                             " is over the limit of %zu bytes",
                             at, len, dec->max_frame);
  default:
    break;
  }
  if (chat_seed_check_pad_count(pad) != 0)
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_PAD_COUNT, at,
                             "offset %" PRIu64 ": padding count %u is over %d", at, pad,
                             CHAT_SEED_PAD_MAX);
  dec->in_body = true;
  dec->pad = pad;
  chat_decoder_expect(&dec->core, len, false);
  return 0;
}

/* Room for `need` bytes of the current frame (need <= its length). */
static int reserve(chat_seed_decoder *dec, size_t need) {
  if (need <= dec->body_capacity)
    return 0;
  size_t cap = chat_seed_body_capacity(dec->body_capacity, need, dec->core.need);
  if (!chat_seed_body_grow(&dec->body, &dec->body_capacity, dec->core.have, cap))
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_NOMEM, dec->core.item_offset,
                             "out of memory for a frame of %zu bytes", dec->core.need);
  return 0;
}

static int on_body(chat_seed_decoder *dec) {
  size_t body_len = dec->core.need;
  uint64_t at = dec->core.item_offset;
  chat_seed_event *frame = chat_decoder_add_event(&dec->core);
  frame->kind = CHAT_SEED_EVENT_FRAME;
  frame->offset = at;
  frame->wire_len = CHAT_SEED_FRAME_HEADER_BYTES + body_len;
  frame->cipher_len = body_len;
  frame->pad = dec->pad;
  dec->in_body = false;
  chat_decoder_expect(&dec->core, CHAT_SEED_FRAME_HEADER_BYTES, true);
  if (!dec->have_key)
    return 0;
  dec->plain_len = body_len;
  if (chat_seed_decrypt_frame(&dec->aes, dec->header, dec->body, body_len) != 0)
    return chat_decoder_fail(&dec->core, CHAT_SEED_ERR_PADDING, at,
                             "offset %" PRIu64 ": the %u padding bytes of a frame of %zu bytes "
                             "are not zero after decryption (wrong key, or a damaged frame)",
                             at, dec->pad, body_len);
  frame->decrypted = true;
  chat_seed_event *msg = chat_decoder_add_event(&dec->core);
  *msg = *frame;
  msg->kind = CHAT_SEED_EVENT_MESSAGE;
  msg->data = dec->body;
  msg->len = body_len - dec->pad;
  return 0;
}

/* The header goes to its array; a body is kept only with a key. */
static int buffer(chat_decoder_core *core, size_t upto, uint8_t **dst) {
  chat_seed_decoder *dec = (chat_seed_decoder *)core;
  if (!dec->in_body) {
    *dst = dec->header;
    return 0;
  }
  if (!dec->have_key)
    return 0;
  int rc = reserve(dec, upto);
  if (rc < 0)
    return rc;
  *dst = dec->body;
  return 0;
}

static int complete(chat_decoder_core *core) {
  chat_seed_decoder *dec = (chat_seed_decoder *)core;
  return dec->in_body ? on_body(dec) : on_header(dec);
}

static const chat_decoder_ops seed_decoder_ops = {
    .buffer = buffer,
    .complete = complete,
    .release = release,
    .wipe = wipe,
};

ptrdiff_t chat_seed_decoder_feed(chat_seed_decoder *dec, const uint8_t *data, size_t len) {
  if (dec == NULL || (data == NULL && len > 0))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  return chat_decoder_feed(&dec->core, data, len);
}

int chat_seed_decoder_next_event(chat_seed_decoder *dec, chat_seed_event *event) {
  if (dec == NULL || event == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  return chat_decoder_next_event(&dec->core, event);
}

int chat_seed_decoder_finish(chat_seed_decoder *dec) {
  if (dec == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  chat_decoder_core *core = &dec->core;
  if (core->error != 0)
    return core->error;
  if (dec->in_body)
    return chat_decoder_fail(core, CHAT_SEED_ERR_TRUNCATED, core->item_offset,
                             "offset %" PRIu64 ": the stream ends inside a frame (%zu of %zu "
                             "bytes)",
                             core->item_offset, CHAT_SEED_FRAME_HEADER_BYTES + core->have,
                             CHAT_SEED_FRAME_HEADER_BYTES + core->need);
  if (core->have > 0)
    return chat_decoder_fail(core, CHAT_SEED_ERR_TRUNCATED, core->item_offset,
                             "offset %" PRIu64 ": the stream ends inside a frame header (%zu of "
                             "%d bytes)",
                             core->item_offset, core->have, CHAT_SEED_FRAME_HEADER_BYTES);
  return 0;
}

int chat_seed_decoder_error(const chat_seed_decoder *dec) {
  return dec != NULL ? dec->core.error : CHAT_SEED_ERR_INVALID_ARGUMENT;
}

uint64_t chat_seed_decoder_error_offset(const chat_seed_decoder *dec) {
  return dec != NULL ? dec->core.error_offset : 0;
}

const char *chat_seed_decoder_error_message(const chat_seed_decoder *dec) {
  return dec != NULL ? chat_decoder_error_message(&dec->core) : "";
}
