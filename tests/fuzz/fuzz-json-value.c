/* Fuzz target: JSON text -> value -> JSON -> value: the two values are
 * equal bit for bit (the JSON mapping of spec section 4 is lossless for
 * what it reads: "NaN" always reads as the canonical quiet NaN), the JSON
 * written is stable (writing the second value gives the same text), and the
 * value's wire encoding decodes back to it. Seeds: the "json" members of
 * spec/vectors/values.json and the messages of messages.json. */
#include <string.h>

#include "fuzz-util.h"
#include "protocol/json.h"
#include "protocol/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *v = NULL;
  chat_error err;
  if (chat_value_parse_json((const char *)data, size, &arena, &v, &err) != 0) {
    FUZZ_CHECK(err.offset <= size);
    chat_arena_clear(&arena);
    return 0;
  }
  chat_buffer text, again, wire;
  chat_buffer_init(&text);
  chat_buffer_init(&again);
  chat_buffer_init(&wire);
  FUZZ_CHECK(chat_value_write_json(v, 0, &text) == 0);
  chat_value *back = NULL;
  FUZZ_CHECK(chat_value_parse_json((const char *)text.data, text.len, &arena, &back, &err) == 0);
  FUZZ_CHECK(chat_value_equal(v, back));
  FUZZ_CHECK(chat_value_write_json(back, 0, &again) == 0);
  FUZZ_CHECK(again.len == text.len && memcmp(again.data, text.data, text.len) == 0);
  chat_buffer_reset(&again);
  FUZZ_CHECK(chat_value_write_json(v, CHAT_JSON_PRETTY, &again) == 0);
  FUZZ_CHECK(chat_value_parse_json((const char *)again.data, again.len, &arena, &back, &err) == 0);
  FUZZ_CHECK(chat_value_equal(v, back));
  /* On the wire: encodes (unless over the wire's own bounds) and decodes
   * back, when within the decoder's default limits. */
  if (chat_value_encode(v, &wire) == 0) {
    chat_value *decoded = NULL;
    if (chat_value_decode(wire.data, wire.len, NULL, 0, &arena, &decoded, &err) == 0)
      FUZZ_CHECK(chat_value_equal(v, decoded));
    else
      FUZZ_CHECK(err.code == CHAT_ERR_DEPTH || err.code == CHAT_ERR_LIMIT);
  }
  chat_buffer_clear(&text);
  chat_buffer_clear(&again);
  chat_buffer_clear(&wire);
  chat_arena_clear(&arena);
  return 0;
}
