/* Fuzz target: the value decoder (layers 3-4, the same in both dialects).
 * Whatever decodes encodes back to exactly the input bytes (spec section
 * 2.2: one encoding per value); copying and borrowing decode alike; the
 * value maps to JSON and back to an equal value (bit for bit, except NaN
 * payloads, spec section 4). Seeds: spec/vectors/values.json. */
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "protocol/json.h"
#include "protocol/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *v = NULL, *borrowed = NULL;
  chat_error err, err2;
  int rc = chat_value_decode(data, size, NULL, 0, &arena, &v, &err);
  int rc2 = chat_value_decode(data, size, NULL, CHAT_DECODE_BORROW, &arena, &borrowed, &err2);
  FUZZ_CHECK(rc == rc2);
  if (rc != 0) {
    FUZZ_CHECK(err.offset == err2.offset);
    FUZZ_CHECK(err.offset <= size);
    FUZZ_CHECK(chat_error_name(rc) != NULL);
    chat_arena_clear(&arena);
    return 0;
  }
  FUZZ_CHECK(chat_value_equal(v, borrowed));
  FUZZ_CHECK(chat_value_equal(v, v));
  /* Spec section 2.3, the order of checks: a proper prefix of a value is
   * truncated at offset 0 (the top value's header or body does not fit);
   * one more byte is trailing at its offset. */
  chat_value *other = NULL;
  FUZZ_CHECK(chat_value_decode(data, size - 1, NULL, 0, &arena, &other, &err) ==
             CHAT_ERR_TRUNCATED);
  FUZZ_CHECK(err.offset == 0);
  uint8_t *longer = malloc(size + 1);
  FUZZ_CHECK(longer != NULL);
  memcpy(longer, data, size);
  longer[size] = 0;
  FUZZ_CHECK(chat_value_decode(longer, size + 1, NULL, 0, &arena, &other, &err) ==
             CHAT_ERR_TRAILING);
  FUZZ_CHECK(err.offset == size);
  free(longer);

  chat_buffer out;
  chat_buffer_init(&out);
  FUZZ_CHECK(chat_value_encode(v, &out) == 0);
  FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);

  /* value -> JSON -> value, both forms. */
  for (unsigned flags = 0; flags <= CHAT_JSON_PRETTY; flags += CHAT_JSON_PRETTY) {
    chat_buffer_reset(&out);
    FUZZ_CHECK(chat_value_write_json(v, flags, &out) == 0);
    chat_value *back = NULL;
    rc = chat_value_parse_json((const char *)out.data, out.len, &arena, &back, &err);
    FUZZ_CHECK(rc == 0);
    fuzz_canonical_nans(borrowed);
    FUZZ_CHECK(chat_value_equal(back, borrowed));
  }
  chat_buffer_clear(&out);
  chat_arena_clear(&arena);
  return 0;
}
