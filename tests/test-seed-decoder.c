/* The passive seed decoder (protocol/seed-decoder.h): frames written by the
 * seed channel's encoder decode to their plaintexts, fed in any split; the
 * framing and padding rules are the channel's; a stream cut inside a frame
 * is truncated. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol/error.h"
#include "protocol/seed-decoder.h"

#define STREAM_OFFSET 100u
#define STREAM_MAX 4096u

static const uint8_t key[CHAT_SEED_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t other_key[CHAT_SEED_KEY_BYTES] = {8, 7, 6, 5};
static const char *const messages[] = {"a", "sixteen bytes!!!",
                                       "a message of some forty-odd bytes, padded"};
#define MESSAGE_COUNT (sizeof messages / sizeof messages[0])

/* Writes the frames of messages[] to out; returns the stream's length. */
static size_t make_stream(uint8_t *out) {
  size_t len = 0;
  for (size_t i = 0; i < MESSAGE_COUNT; i++) {
    uint8_t iv[CHAT_SEED_IV_BYTES] = {(uint8_t)i};
    size_t n = chat_seed_frame_encrypt(key, iv, (const uint8_t *)messages[i], strlen(messages[i]),
                                       out + len);
    cr_assert_gt(n, 0);
    len += n;
  }
  return len;
}

/* Feeds stream in pieces of `step` bytes; counts frames and checks the
 * messages. Returns the last feed or event error (0 if none). */
static int decode(chat_seed_decoder *dec, const uint8_t *stream, size_t len, size_t step,
                  size_t *frames, size_t *msgs) {
  *frames = *msgs = 0;
  size_t pos = 0;
  while (pos < len) {
    size_t piece = len - pos < step ? len - pos : step;
    ptrdiff_t used = chat_seed_decoder_feed(dec, stream + pos, piece);
    if (used < 0)
      return (int)used;
    pos += (size_t)used;
    chat_seed_event ev;
    int rc;
    while ((rc = chat_seed_decoder_next_event(dec, &ev)) == 1) {
      if (ev.kind == CHAT_SEED_EVENT_FRAME) {
        cr_assert_eq(ev.wire_len, CHAT_SEED_FRAME_HEADER_BYTES + ev.cipher_len);
        (*frames)++;
      } else {
        cr_assert_lt(*msgs, MESSAGE_COUNT);
        cr_assert_eq(ev.len, strlen(messages[*msgs]));
        cr_assert_eq(memcmp(ev.data, messages[*msgs], ev.len), 0);
        (*msgs)++;
      }
    }
    if (rc < 0)
      return rc;
  }
  return 0;
}

Test(seed_decoder, frames_decode_in_any_split) {
  uint8_t stream[STREAM_MAX];
  size_t len = make_stream(stream);
  for (size_t step = 1; step <= len; step += 7) {
    chat_seed_decoder *dec = chat_seed_decoder_new(key, 0, STREAM_OFFSET);
    size_t frames, msgs;
    cr_assert_eq(decode(dec, stream, len, step, &frames, &msgs), 0, "step %zu", step);
    cr_assert_eq(frames, MESSAGE_COUNT);
    cr_assert_eq(msgs, MESSAGE_COUNT);
    cr_assert_eq(chat_seed_decoder_finish(dec), 0);
    chat_seed_decoder_free(dec);
  }
}

Test(seed_decoder, without_a_key_only_sizes) {
  uint8_t stream[STREAM_MAX];
  size_t len = make_stream(stream);
  chat_seed_decoder *dec = chat_seed_decoder_new(NULL, 0, 0);
  size_t frames, msgs;
  cr_assert_eq(decode(dec, stream, len, len, &frames, &msgs), 0);
  cr_assert_eq(frames, MESSAGE_COUNT);
  cr_assert_eq(msgs, 0);
  chat_seed_decoder_free(dec);
}

Test(seed_decoder, a_wrong_key_fails_the_padding_check) {
  uint8_t stream[STREAM_MAX];
  size_t len = make_stream(stream);
  chat_seed_decoder *dec = chat_seed_decoder_new(other_key, 0, STREAM_OFFSET);
  size_t frames, msgs;
  cr_assert_eq(decode(dec, stream, len, len, &frames, &msgs), CHAT_SEED_ERR_PADDING);
  cr_assert_eq(chat_seed_decoder_error(dec), CHAT_SEED_ERR_PADDING);
  cr_assert_eq(chat_seed_decoder_error_offset(dec), STREAM_OFFSET);
  cr_assert_str_eq(chat_error_name(chat_seed_decoder_error(dec)), "padding");
  chat_seed_decoder_free(dec);
}

Test(seed_decoder, framing_rules_are_the_channels) {
  struct {
    uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES];
    int code;
  } cases[] = {
      {{0, 0, 0, 0}, CHAT_SEED_ERR_FRAME_EMPTY},
      {{0, 0, 0, 17}, CHAT_SEED_ERR_FRAME_MISALIGNED},
      {{0x40, 0, 0, 0}, CHAT_SEED_ERR_FRAME_TOO_LARGE},
      {{0, 0, 0, 16, 16}, CHAT_SEED_ERR_PAD_COUNT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_seed_decoder *dec = chat_seed_decoder_new(key, 0, 0);
    cr_assert_eq(chat_seed_decoder_feed(dec, cases[i].header, sizeof cases[i].header),
                 cases[i].code, "case %zu", i);
    cr_assert_str_neq(chat_seed_decoder_error_message(dec), "");
    /* Sticky. */
    cr_assert_eq(chat_seed_decoder_feed(dec, cases[i].header, 1), cases[i].code);
    chat_seed_decoder_free(dec);
  }
}

Test(seed_decoder, a_stream_cut_inside_a_frame_is_truncated) {
  uint8_t stream[STREAM_MAX];
  size_t len = make_stream(stream);
  chat_seed_decoder *dec = chat_seed_decoder_new(key, 0, 0);
  size_t frames, msgs;
  cr_assert_eq(decode(dec, stream, len - 1, len, &frames, &msgs), 0);
  cr_assert_eq(msgs, MESSAGE_COUNT - 1);
  cr_assert_eq(chat_seed_decoder_finish(dec), CHAT_SEED_ERR_TRUNCATED);
  cr_assert(chat_seed_is_fatal(CHAT_SEED_ERR_TRUNCATED));
  chat_seed_decoder_free(dec);
}
