/* Conformance of the value codec (layers 3-4) to spec/vectors/values.json,
 * plus the properties every input must have: prefixes fail, trailing bytes
 * fail, errors name their offset, limits hold, borrowing copies nothing. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-fixture.h"
#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/value.h"
#include "vectors.h"

#define VALUES "values.json"

static chat_value *value_of_json(const chat_json *json) {
  chat_value *v = NULL;
  chat_error err;
  cr_assert_eq(chat_json_to_value(json, &arena, &v, &err), 0, "vector json: %s", err.message);
  return v;
}

static char *to_json(const chat_value *v) {
  chat_buffer text;
  chat_buffer_init(&text);
  cr_assert_eq(chat_value_write_json(v, 0, &text), 0);
  chat_buffer_append_byte(&text, 0);
  return (char *)chat_buffer_steal(&text, NULL);
}

static void read_limits(const chat_json *vector, chat_limits *limits) {
  chat_limits_init(limits);
  const chat_json *l = chat_json_object_get(vector, "limits");
  if (!l)
    return;
  uint64_t n;
  if (chat_json_get_u64(chat_json_object_get(l, "max_depth"), &n))
    limits->max_depth = n;
  if (chat_json_get_u64(chat_json_object_get(l, "max_str_len"), &n))
    limits->max_str_len = n;
  if (chat_json_get_u64(chat_json_object_get(l, "max_bytes_len"), &n))
    limits->max_bytes_len = n;
  if (chat_json_get_u64(chat_json_object_get(l, "max_items"), &n))
    limits->max_items = n;
}

ParameterizedTestParameters(value_vectors, valid) {
  VECTOR_PARAMS(VALUES, "valid");
}

/* JSON meaning -> bytes equals the vector, bytes -> value equals the
 * meaning, both with copied and with borrowed bodies. */
ParameterizedTest(vector_param *p, value_vectors, valid, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(VALUES, "valid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  const chat_value *expected = value_of_json(chat_json_object_get(vector, "json"));

  chat_buffer want;
  chat_buffer_init(&want);
  vector_hex(vector, "hex", &want);

  cr_assert_eq(chat_value_encode(expected, &buf), 0, "%s: encode failed", name);
  cr_assert_eq(buf.len, want.len, "%s: encoded %zu bytes, vector has %zu", name, buf.len, want.len);
  cr_assert(memcmp(buf.data, want.data, want.len) == 0, "%s: encoding differs", name);

  for (unsigned flags = 0; flags <= CHAT_DECODE_BORROW; flags += CHAT_DECODE_BORROW) {
    chat_value *decoded = NULL;
    chat_error err;
    int rc = chat_value_decode(want.data, want.len, NULL, flags, &arena, &decoded, &err);
    cr_assert_eq(rc, 0, "%s: decode failed: %s", name, err.message);
    cr_assert(chat_value_equal(decoded, expected), "%s: decoded value differs", name);
  }
  chat_buffer_clear(&want);
}

ParameterizedTestParameters(value_vectors, invalid) {
  VECTOR_PARAMS(VALUES, "invalid");
}

/* Each invalid input fails with the vector's error at the vector's offset,
 * and the message names that offset. */
ParameterizedTest(vector_param *p, value_vectors, invalid, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(VALUES, "invalid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  const char *error = vector_string(vector, "error");
  int64_t offset = vector_int(vector, "offset");
  chat_limits limits;
  read_limits(vector, &limits);
  vector_hex(vector, "hex", &buf);

  chat_value *out = NULL;
  chat_error err;
  int rc = chat_value_decode(buf.data, buf.len, &limits, 0, &arena, &out, &err);
  cr_assert_neq(rc, 0, "%s: accepted", name);
  cr_assert_str_eq(chat_error_name(rc), error, "%s: got %s (%s), want %s", name,
                   chat_error_name(rc), err.message, error);
  cr_assert_eq(err.code, rc);
  cr_assert_eq((int64_t)err.offset, offset, "%s: offset %zu, want %lld (%s)", name, err.offset,
               (long long)offset, err.message);
  char at[32];
  snprintf(at, sizeof at, "%lld", (long long)offset);
  cr_assert(strstr(err.message, at) != NULL, "%s: message \"%s\" does not name offset %s", name,
            err.message, at);
}

ParameterizedTestParameters(value_vectors, prefixes_fail) {
  VECTOR_PARAMS(VALUES, "valid");
}

/* Every strict prefix of a valid encoding is rejected (never read past the
 * end: ASan watches), and one extra byte is "trailing". */
ParameterizedTest(vector_param *p, value_vectors, prefixes_fail, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(VALUES, "valid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  vector_hex(vector, "hex", &buf);
  size_t len = buf.len;
  for (size_t cut = 0; cut < len; cut++) {
    /* A copy of exactly `cut` bytes so ASan sees any over-read. */
    uint8_t *prefix = malloc(cut ? cut : 1);
    memcpy(prefix, buf.data, cut);
    chat_value *out;
    chat_error err;
    int rc = chat_value_decode(prefix, cut, NULL, 0, &arena, &out, &err);
    free(prefix);
    /* A prefix can itself be a whole value only if it ends at a value end:
     * an outer header always claims the full length, so it cannot. */
    cr_assert_neq(rc, 0, "%s: prefix of %zu bytes accepted", name, cut);
  }
  chat_buffer_append_byte(&buf, 0);
  chat_value *out;
  chat_error err;
  int rc = chat_value_decode(buf.data, buf.len, NULL, 0, &arena, &out, &err);
  cr_assert_eq(rc, CHAT_ERR_TRAILING, "%s + 1 byte: %s", name, chat_strerror(rc));
  cr_assert_eq(err.offset, len);
}

ParameterizedTestParameters(value_vectors, json_round_trip) {
  VECTOR_PARAMS(VALUES, "valid");
}

/* value -> JSON text -> value is the identity. */
ParameterizedTest(vector_param *p, value_vectors, json_round_trip, .init = setup,
                  .fini = teardown) {
  const chat_json *vector = vectors_get(VALUES, "valid", p->index, &arena);
  const chat_value *v = value_of_json(chat_json_object_get(vector, "json"));
  char *text = to_json(v);
  chat_value *back = NULL;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(text, strlen(text), &arena, &back, &err), 0, "%s",
               err.message);
  cr_assert(chat_value_equal(v, back), "%s: %s does not read back", vector_string(vector, "name"),
            text);
  free(text);
}

Test(value_vectors, files_cover_every_type_and_error, .init = setup, .fini = teardown) {
  cr_assert_geq(vectors_count(VALUES, "valid"), 60);
  cr_assert_geq(vectors_count(VALUES, "invalid"), 30);
  /* Every error the decoder can give on bytes has a vector. */
  const char *needed[] = {"truncated",     "unknown_type", "depth",    "utf8",
                          "duplicate_key", "trailing",     "limit",    "int_range",
                          "not_canonical", "bad_bool",     "bad_float"};
  size_t n = vectors_count(VALUES, "invalid");
  for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++) {
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
      found =
          strcmp(vector_string(vectors_get(VALUES, "invalid", i, &arena), "error"), needed[k]) == 0;
    cr_assert(found, "no invalid vector for %s", needed[k]);
  }
}

/* ---- hand-written properties ------------------------------------------ */

static int decode_hex(const char *hex, const chat_limits *limits, chat_value **out,
                      chat_error *err) {
  chat_buffer_reset(&buf);
  chat_error herr;
  cr_assert_eq(chat_hex_decode(hex, strlen(hex), &buf, &herr), 0);
  return chat_value_decode(buf.data, buf.len, limits, 0, &arena, out, err);
}

Test(value, integer_edges_encode_minimally, .init = setup, .fini = teardown) {
  static const struct {
    bool negative;
    uint64_t magnitude;
    const char *hex;
  } cases[] = {
      {false, 0, "010000000100"},
      {false, 255, "0100000001ff"},
      {false, 256, "01000000020100"},
      {false, UINT64_MAX, "0100000008ffffffffffffffff"},
      {false, INT64_MAX, "01000000087fffffffffffffff"},
      {true, 1, "080000000101"},
      {true, UINT64_C(1) << 63, "08000000088000000000000000"},
      {true, 0, "010000000100"}, /* -0 is 0 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_buffer_reset(&buf);
    chat_writer w;
    chat_writer_init(&w, &buf);
    chat_write_integer(&w, cases[i].negative, cases[i].magnitude);
    cr_assert_eq(chat_writer_finish(&w), 0);
    chat_buffer hex;
    chat_buffer_init(&hex);
    chat_hex_encode(buf.data, buf.len, &hex);
    chat_buffer_append_byte(&hex, 0);
    cr_assert_str_eq((char *)hex.data, cases[i].hex);
    chat_buffer_clear(&hex);
  }
}

Test(value, writer_refuses_what_the_wire_cannot_carry, .init = setup, .fini = teardown) {
  chat_writer w;
  char key[CHAT_DICT_KEY_MAX + 1];
  memset(key, 'k', sizeof key);

  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  chat_write_key(&w, key, sizeof key);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_INVALID_ARGUMENT, "a 256-byte key");

  chat_buffer_reset(&buf);
  chat_writer_init(&w, &buf);
  chat_write_integer(&w, true, (UINT64_C(1) << 63) + 1);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_INVALID_ARGUMENT, "below -2^63");

  chat_buffer_reset(&buf);
  chat_writer_init(&w, &buf);
  chat_write_list_begin(&w);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_INVALID_ARGUMENT, "an unclosed list");

  chat_buffer_reset(&buf);
  chat_writer_init(&w, &buf);
  chat_write_list_end(&w);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_INVALID_ARGUMENT, "closing nothing");

  chat_buffer_reset(&buf);
  chat_writer_init(&w, &buf);
  for (int i = 0; i <= CHAT_WRITER_MAX_DEPTH; i++)
    chat_write_list_begin(&w);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_INVALID_ARGUMENT, "too deep");
}

Test(value, writer_errors_are_sticky, .init = setup, .fini = teardown) {
  buf.max_len = 8;
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_write_cstr(&w, "longer than eight bytes");
  chat_write_int(&w, 1);
  cr_assert_eq(chat_writer_finish(&w), CHAT_ERR_LIMIT);
  cr_assert_eq(buf.len, 0, "nothing half-written");
}

Test(value, borrow_copies_no_body, .init = setup, .fini = teardown) {
  /* A 300 KB image, as the seed sends, decoded without copying it. */
  const size_t size = 300 * 1024;
  uint8_t *image = malloc(size);
  for (size_t i = 0; i < size; i++)
    image[i] = (uint8_t)(i % 251);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "type");
  chat_write_int(&w, 1);
  chat_write_key_cstr(&w, "data");
  chat_write_bytes(&w, image, size);
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);

  chat_value *v = NULL;
  chat_error err;
  cr_assert_eq(chat_value_decode(buf.data, buf.len, NULL, CHAT_DECODE_BORROW, &arena, &v, &err), 0);
  const chat_value *data = chat_value_dict_get(v, "data");
  cr_assert(data && data->kind == CHAT_VALUE_BYTES);
  cr_assert_eq(data->as.blob.len, size);
  cr_assert(data->as.blob.data >= buf.data && data->as.blob.data < buf.data + buf.len,
            "points into the input");
  cr_assert_lt(arena.total, 4096, "arena used %zu bytes for a borrowed image", arena.total);

  chat_arena_clear(&arena);
  cr_assert_eq(chat_value_decode(buf.data, buf.len, NULL, 0, &arena, &v, &err), 0);
  data = chat_value_dict_get(v, "data");
  cr_assert(data->as.blob.data < buf.data || data->as.blob.data >= buf.data + buf.len,
            "copied when not borrowing");
  cr_assert(memcmp(data->as.blob.data, image, size) == 0);
  free(image);
}

Test(value, huge_claimed_lengths_allocate_nothing, .init = setup, .fini = teardown) {
  /* A list that claims 4 GiB - 1 of body in a 5-byte input. */
  chat_value *v;
  chat_error err;
  cr_assert_eq(decode_hex("04ffffffff", NULL, &v, &err), CHAT_ERR_TRUNCATED);
  cr_assert_eq(decode_hex("07ffffffff00", NULL, &v, &err), CHAT_ERR_TRUNCATED);
  cr_assert_eq(arena.total, 0);
}

Test(value, depth_is_capped_whatever_the_limit, .init = setup, .fini = teardown) {
  /* 100000 nested lists: with an unbounded limit the decoder still stops
   * (it recurses), instead of overflowing the stack. */
  const size_t levels = 100000;
  chat_buffer_reset(&buf);
  for (size_t i = 0; i < levels; i++) {
    chat_buffer_append_byte(&buf, CHAT_WIRE_LIST);
    chat_buffer_append_u32be(&buf, (uint32_t)((levels - 1 - i) * 5));
  }
  chat_limits limits;
  chat_limits_init(&limits);
  limits.max_depth = SIZE_MAX;
  chat_value *v;
  chat_error err;
  int rc = chat_value_decode(buf.data, buf.len, &limits, 0, &arena, &v, &err);
  cr_assert_eq(rc, CHAT_ERR_DEPTH, "%s", chat_strerror(rc));

  limits.max_depth = 32;
  rc = chat_value_decode(buf.data, buf.len, &limits, 0, &arena, &v, &err);
  cr_assert_eq(rc, CHAT_ERR_DEPTH);
  cr_assert_eq(err.offset, 32 * 5, "the 33rd list is at fault");
}

Test(value, duplicate_keys_found_in_big_dicts, .init = setup, .fini = teardown) {
  /* 1000 distinct keys then a repeat of key 500: found by the sorting path,
   * reported at the repeat. */
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  size_t repeat_offset = 0;
  for (int i = 0; i <= 1000; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i == 1000 ? 500 : i);
    if (i == 1000)
      repeat_offset = buf.len;
    chat_write_key_cstr(&w, key);
    chat_write_int(&w, i);
  }
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_value *v;
  chat_error err;
  cr_assert_eq(chat_value_decode(buf.data, buf.len, NULL, 0, &arena, &v, &err),
               CHAT_ERR_DUPLICATE_KEY);
  cr_assert_eq(err.offset, repeat_offset);
}

Test(value, distinct_keys_in_big_dicts_pass, .init = setup, .fini = teardown) {
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  for (int i = 0; i < 1000; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    chat_write_key_cstr(&w, key);
    chat_write_int(&w, -i);
  }
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_value *v;
  chat_error err;
  cr_assert_eq(chat_value_decode(buf.data, buf.len, NULL, 0, &arena, &v, &err), 0);
  cr_assert_eq(v->as.dict.count, 1000);
  int64_t i;
  cr_assert(chat_value_get_i64(chat_value_dict_get(v, "k999"), &i));
  cr_assert_eq(i, -999);
  /* Wire order is kept. */
  cr_assert_str_eq(v->as.dict.entries[10].key, "k10");
}

Test(value, limits_apply_per_value, .init = setup, .fini = teardown) {
  chat_limits limits;
  chat_limits_init(&limits);
  limits.max_items = 2;
  chat_value *v;
  chat_error err;
  cr_assert_eq(decode_hex("040000000c 010000000101 010000000102", &limits, &v, &err), 0);
  cr_assert_eq(decode_hex("0400000012 010000000101 010000000102 010000000103", &limits, &v, &err),
               CHAT_ERR_LIMIT);
  limits.max_items = SIZE_MAX;
  limits.max_str_len = 3;
  cr_assert_eq(decode_hex("0300000003616263", &limits, &v, &err), 0);
  cr_assert_eq(decode_hex("030000000461626364", &limits, &v, &err), CHAT_ERR_LIMIT);
}

Test(value, readers_check_kind_and_range, .init = setup, .fini = teardown) {
  chat_value v;
  int64_t i;
  uint64_t u;
  chat_value_set_uint(&v, UINT64_MAX);
  cr_assert_not(chat_value_get_i64(&v, &i));
  cr_assert(chat_value_get_u64(&v, &u) && u == UINT64_MAX);
  chat_value_set_int(&v, INT64_MIN);
  cr_assert(chat_value_get_i64(&v, &i) && i == INT64_MIN);
  cr_assert_not(chat_value_get_u64(&v, &u));
  chat_value_set_str(&v, "1", 1);
  cr_assert_not(chat_value_get_i64(&v, &i));
  cr_assert_null(chat_value_dict_get(&v, "x"));
}

Test(value, equality_is_exact, .init = setup, .fini = teardown) {
  chat_value a, b;
  chat_value_set_float(&a, 0.0);
  chat_value_set_float(&b, -0.0);
  cr_assert_not(chat_value_equal(&a, &b), "0.0 and -0.0 differ on the wire");
  chat_value_set_float(&b, 0.0);
  b.as.real.width = 4;
  cr_assert_not(chat_value_equal(&a, &b), "widths differ");
  chat_value_set_str(&a, "x", 1);
  chat_value_set_bytes(&b, (const uint8_t *)"x", 1);
  cr_assert_not(chat_value_equal(&a, &b), "str is not bytes");
  chat_value_set_int(&a, 1);
  chat_value_set_bool(&b, true);
  cr_assert_not(chat_value_equal(&a, &b), "1 is not true");
}

/* Decodes hex, encodes the value again and checks the bytes are the same. */
static void round_trips(const char *hex) {
  chat_value *v;
  chat_error err;
  cr_assert_eq(decode_hex(hex, NULL, &v, &err), 0, "%s: %s", hex, err.message);
  chat_buffer want, again;
  chat_buffer_init(&want);
  chat_buffer_init(&again);
  cr_assert_eq(chat_hex_decode(hex, strlen(hex), &want, &err), 0);
  cr_assert_eq(chat_value_encode(v, &again), 0);
  cr_assert_eq(again.len, want.len, "%s", hex);
  cr_assert(memcmp(again.data, want.data, want.len) == 0, "%s: encoded differently", hex);
  chat_buffer_clear(&want);
  chat_buffer_clear(&again);
}

/* Empty containers and empty input: nothing is allocated and no pointer
 * arithmetic is done on a NULL scratch stack (UndefinedBehaviorSanitizer
 * in a clang build reports "applying zero offset to null pointer";
 * tests/fuzz/corpus/value/empty-dict). */
Test(value, empty_containers_and_empty_input, .init = setup, .fini = teardown) {
  chat_value *v;
  chat_error err;
  cr_assert_eq(decode_hex("0500000000", NULL, &v, &err), 0);
  cr_assert_eq(v->kind, CHAT_VALUE_DICT);
  cr_assert_eq(v->as.dict.count, 0);
  cr_assert_null(v->as.dict.entries);
  cr_assert_eq(decode_hex("0400000000", NULL, &v, &err), 0);
  cr_assert_eq(v->as.list.count, 0);
  cr_assert_null(v->as.list.items);
  round_trips("0500000000");
  round_trips("040000000a0500000000 0400000000");
  round_trips("0500000007 01 61 0500000000");
  cr_assert_eq(chat_value_decode(NULL, 0, NULL, 0, &arena, &v, &err), CHAT_ERR_TRUNCATED);
  cr_assert_eq(err.offset, 0);
}

/* A binary32 keeps its bits through decode and encode, NaN payloads and
 * signalling NaNs included (spec section 2.3: "A decoder keeps the bits");
 * so does a binary64. tests/fuzz/corpus/value/float32-snan. */
Test(value, float_nan_payloads_survive_decode_and_encode, .init = setup, .fini = teardown) {
  static const char *const floats[] = {
      "0200000004 7f800001", /* signalling NaN, payload 1 */
      "0200000004 ff800001", /* the same, negative */
      "0200000004 7fa00000", /* signalling NaN, high payload bit */
      "0200000004 7fc00001", /* quiet NaN with a payload */
      "0200000004 ffffffff",         "0200000004 7fc00000",
      "0200000004 7f800000",         "0200000004 00000001", /* smallest subnormal */
      "0200000008 7ff0000000000001",                        /* binary64 signalling NaN */
      "0200000008 fff8000000000001", "0200000008 7ff4000000000000",
  };
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
    round_trips(floats[i]);
  /* Two float32 NaNs with different payloads are different values. */
  chat_value *a, *b;
  chat_error err;
  cr_assert_eq(decode_hex("0200000004 7f800001", NULL, &a, &err), 0);
  cr_assert_eq(decode_hex("0200000004 7f800002", NULL, &b, &err), 0);
  cr_assert_not(chat_value_equal(a, b));
  /* Widening and narrowing are exact, and inverse for every binary32. */
  static const uint32_t bits[] = {0x7f800001u, 0xff800001u, 0x7fbfffffu, 0x7fc00000u,
                                  0x3fc00000u, 0x80000000u, 0x00000001u, 0xff800000u};
  for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
    cr_assert_eq(chat_float32_narrow_bits(chat_float32_widen_bits(bits[i])), bits[i], "%08x",
                 bits[i]);
  /* A double NaN whose payload is only in bits binary32 lacks stays a NaN. */
  uint64_t low = UINT64_C(0x7ff0000000000001);
  double d;
  memcpy(&d, &low, sizeof d);
  cr_assert_eq(chat_float32_narrow_bits(d) & 0x7fc00000u, 0x7fc00000u);
}

Test(error, every_code_has_a_name_and_a_description) {
  for (int code = CHAT_OK; code >= CHAT_ERR_SYNTAX; code--) {
    cr_assert_not_null(chat_error_name(code), "code %d", code);
    cr_assert_str_neq(chat_strerror(code), "unknown error", "code %d", code);
  }
  cr_assert_null(chat_error_name(-1000));
}
