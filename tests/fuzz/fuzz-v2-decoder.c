/* Fuzz target: the passive decoder of one direction of a v2 connection
 * (chatctl dump), with that direction's key and record size from a session
 * of spec/vectors/v2-channel.json, so the vector streams decode completely.
 * Input: one mode byte (bit 0: 0 client -> server, 1 server -> client;
 * bit 1: the vector session), then the direction's bytes. Every message is
 * checked as a receiver would (fuzz_check_message). */
#include <stdbool.h>

#include "fuzz-util.h"
#include "protocol/v2-channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;
  const chat_json *sessions = chat_json_object_get(fuzz_vectors("v2-channel.json"), "sessions");
  FUZZ_CHECK(sessions && sessions->as.array.count > 0);
  const chat_json *v = &sessions->as.array.items[((mode >> 1) & 1) % sessions->as.array.count];
  bool to_client = mode & 1;
  uint8_t key[CHAT_V2_KEY_LEN];
  fuzz_vector_hex(v, to_client ? "s2c_key" : "c2s_key", key, sizeof key);
  uint64_t suite, record_size;
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "suite"), &suite));
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "record_size"), &record_size));

  chat_v2_stream_decoder *dec = NULL;
  FUZZ_CHECK(
      chat_v2_stream_decoder_new(to_client ? CHAT_V2_SERVER_TO_CLIENT : CHAT_V2_CLIENT_TO_SERVER,
                                 (uint8_t)suite, key, 1u << 20, &dec) == 0);
  FUZZ_CHECK(chat_v2_stream_decoder_test_set_record_size(dec, (size_t)record_size) == 0);
  while (size > 0) {
    ptrdiff_t n = chat_v2_stream_decoder_feed(dec, data, size);
    if (n < 0)
      break;
    FUZZ_CHECK((size_t)n <= size);
    data += n;
    size -= (size_t)n;
    chat_v2_stream_event event;
    int got = 0;
    while ((got = chat_v2_stream_decoder_next_event(dec, &event)) == 1)
      if (event.kind == CHAT_V2_EVENT_MESSAGE)
        fuzz_check_message(CHAT_DIALECT_V2, event.data, event.len);
    if (n == 0 && got == 0)
      break;
  }
  if (chat_v2_stream_decoder_error(dec) == 0)
    chat_v2_stream_decoder_finish(dec);
  chat_v2_stream_decoder_free(dec);
  return 0;
}
