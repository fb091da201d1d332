/* Fuzz target: the passive decoder of one direction of a seed-dialect
 * connection (chatctl dump), with a key: every frame is checked and
 * decrypted, every message checked as a receiver would.
 * Input: a 32-byte session key, then the direction's bytes.
 * Seeds: the frames of spec/vectors/seed-channel.json with their keys. */
#include "fuzz-util.h"
#include "protocol/seed-decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < CHAT_SEED_KEY_BYTES)
    return 0;
  /* A small max_frame, so the frame-size checks are reached too. */
  chat_seed_decoder *dec = chat_seed_decoder_new(data, 4096, 0);
  FUZZ_CHECK(dec != NULL);
  data += CHAT_SEED_KEY_BYTES;
  size -= CHAT_SEED_KEY_BYTES;
  while (size > 0) {
    ptrdiff_t n = chat_seed_decoder_feed(dec, data, size);
    if (n < 0)
      break;
    FUZZ_CHECK((size_t)n <= size);
    data += n;
    size -= (size_t)n;
    chat_seed_event event;
    int got = 0;
    while ((got = chat_seed_decoder_next_event(dec, &event)) == 1)
      if (event.kind == CHAT_SEED_EVENT_MESSAGE)
        fuzz_check_message(CHAT_DIALECT_SEED, event.data, event.len);
    if (n == 0 && got == 0)
      break;
  }
  if (chat_seed_decoder_error(dec) == 0)
    chat_seed_decoder_finish(dec);
  chat_seed_decoder_free(dec);
  return 0;
}
