/* The JSON parser, the JSON <-> value mapping documented in json.h, and hex.
 *
 * Every mapping rule is checked both ways; the parser's strictness (RFC 8259,
 * UTF-8, limits) is checked on inputs held in exact-size heap copies, so a
 * read past the end shows up under AddressSanitizer. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-fixture.h"
#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/value.h"

TestSuite(json, .init = setup, .fini = teardown);

/* An exact-size heap copy of text[0..len), without a NUL. */
static char *exact_copy(const char *text, size_t len) {
  char *copy = malloc(len ? len : 1);
  cr_assert_not_null(copy);
  memcpy(copy, text, len);
  return copy;
}

static int parse_tree_n(const char *text, size_t len, chat_json **out, chat_error *err) {
  char *copy = exact_copy(text, len);
  int rc = chat_json_parse(copy, len, &arena, out, err);
  free(copy); /* the tree holds arena copies only */
  return rc;
}

static chat_json *tree(const char *text) {
  chat_json *json = NULL;
  chat_error err;
  int rc = parse_tree_n(text, strlen(text), &json, &err);
  cr_assert_eq(rc, 0, "%s: %s", text, err.message);
  return json;
}

static int tree_error(const char *text, size_t len, chat_error *err) {
  chat_json *json = NULL;
  int rc = parse_tree_n(text, len, &json, err);
  cr_assert_neq(rc, 0, "parsed but should not: %.*s", (int)len, text);
  return rc;
}

static int value_n(const char *text, size_t len, chat_value **out, chat_error *err) {
  char *copy = exact_copy(text, len);
  int rc = chat_value_parse_json(copy, len, &arena, out, err);
  free(copy);
  return rc;
}

static chat_value *value(const char *text) {
  chat_value *v = NULL;
  chat_error err;
  int rc = value_n(text, strlen(text), &v, &err);
  cr_assert_eq(rc, 0, "%s: %s", text, err.message);
  return v;
}

static int value_error(const char *text, chat_error *err) {
  chat_value *v = NULL;
  int rc = value_n(text, strlen(text), &v, err);
  cr_assert_neq(rc, 0, "converted but should not: %s", text);
  return rc;
}

/* The JSON of v as a NUL-terminated string (valid until the next call). */
static const char *json_of(const chat_value *v, unsigned flags) {
  chat_buffer_reset(&buf);
  int rc = chat_value_write_json(v, flags, &buf);
  cr_assert_eq(rc, 0, "write_json failed: %d", rc);
  chat_buffer_append_byte(&buf, 0);
  return (const char *)buf.data;
}

/* text must read as a value that writes back as exactly `canonical`. */
static void assert_round_trip(const char *text, const char *canonical) {
  chat_value *v = value(text);
  cr_assert_str_eq(json_of(v, 0), canonical, "for %s", text);
  chat_value *back = value(canonical);
  cr_assert(chat_value_equal(v, back), "%s does not read back equal", canonical);
}

static void assert_int(const chat_value *v, bool negative, uint64_t magnitude) {
  cr_assert_eq(v->kind, CHAT_VALUE_INT, "kind %s", chat_value_kind_name(v->kind));
  cr_assert_eq(v->as.integer.negative, negative);
  cr_assert_eq(v->as.integer.magnitude, magnitude, "%llu",
               (unsigned long long)v->as.integer.magnitude);
}

static bool same_double_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

static chat_value float_value(double d, uint8_t width) {
  chat_value v;
  memset(&v, 0, sizeof v);
  v.kind = CHAT_VALUE_FLOAT;
  v.as.real.value = d;
  v.as.real.width = width;
  return v;
}

/* ---- ints ----------------------------------------------------------------- */

Test(json, int_exact_over_the_whole_range) {
  assert_int(value("0"), false, 0);
  assert_int(value("9007199254740993"), false, UINT64_C(9007199254740993));
  assert_int(value("9223372036854775807"), false, UINT64_C(9223372036854775807));
  assert_int(value("9223372036854775808"), false, UINT64_C(9223372036854775808));
  assert_int(value("18446744073709551615"), false, UINT64_MAX);
  assert_int(value("-9223372036854775808"), true, UINT64_C(9223372036854775808));
  assert_int(value("-1"), true, 1);
}

Test(json, int_writes_back_exactly) {
  static const char *const ints[] = {
      "0",
      "1",
      "-1",
      "9007199254740993",
      "9223372036854775807",
      "9223372036854775808",
      "18446744073709551615",
      "-9223372036854775808",
  };
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    assert_round_trip(ints[i], ints[i]);
  }
}

Test(json, negative_zero_int_is_zero) {
  chat_value *v = value("-0");
  assert_int(v, false, 0);
  cr_assert_str_eq(json_of(v, 0), "0");
}

Test(json, int_out_of_range_is_rejected) {
  chat_error err;
  cr_assert_eq(value_error("18446744073709551616", &err), CHAT_ERR_INT_RANGE);
  cr_assert(strstr(err.message, "18446744073709551616") != NULL, "%s", err.message);
  cr_assert_eq(value_error("-9223372036854775809", &err), CHAT_ERR_INT_RANGE);
  cr_assert_eq(value_error("[1, 99999999999999999999999]", &err), CHAT_ERR_INT_RANGE);
  cr_assert_eq(err.offset, 4);
  cr_assert(strncmp(err.message, "line 1 column 5: ", 17) == 0, "%s", err.message);
}

Test(json, value_built_ints_write_exactly) {
  chat_value v;
  chat_value_set_int(&v, INT64_MIN);
  cr_assert_str_eq(json_of(&v, 0), "-9223372036854775808");
  chat_value_set_uint(&v, UINT64_MAX);
  cr_assert_str_eq(json_of(&v, 0), "18446744073709551615");
  /* Below -2^63 cannot be read back: refused, and nothing is left behind. */
  v.as.integer.negative = true;
  v.as.integer.magnitude = UINT64_C(9223372036854775809);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_value_write_json(&v, 0, &buf), CHAT_ERR_INVALID_ARGUMENT);
  cr_assert_eq(buf.len, 0);
}

/* ---- floats --------------------------------------------------------------- */

Test(json, float_shortest_forms) {
  static const struct {
    double d;
    const char *text;
  } cases[] = {
      {0.1, "0.1"},
      {1.0, "1.0"},
      {1e300, "1e+300"},
      {5e-324, "5e-324"},
      {-0.0, "-0.0"},
      {100.0, "100.0"},
      {-12000.0, "-12000.0"},
      {1.5, "1.5"},
      {0.30000000000000004, "0.30000000000000004"},
      {1e15, "1000000000000000.0"},
      {1e16, "1e+16"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {-2.5e-10, "-2.5e-10"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {123456789.0, "123456789.0"},
      {9007199254740993.0, "9007199254740992.0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_value v = float_value(cases[i].d, 8);
    cr_assert_str_eq(json_of(&v, 0), cases[i].text);
    chat_value *back = value(cases[i].text);
    cr_assert_eq(back->kind, CHAT_VALUE_FLOAT);
    cr_assert_eq(back->as.real.width, 8);
    cr_assert(same_double_bits(back->as.real.value, cases[i].d), "%s", cases[i].text);
  }
}

Test(json, negative_zero_float_keeps_its_sign) {
  chat_value *v = value("-0.0");
  cr_assert_eq(v->kind, CHAT_VALUE_FLOAT);
  cr_assert(signbit(v->as.real.value));
  cr_assert_str_eq(json_of(v, 0), "-0.0");
}

Test(json, fraction_or_exponent_reads_as_float) {
  static const struct {
    const char *text;
    double d;
  } cases[] = {
      {"1.5", 1.5},       {"1e2", 100.0}, {"1E2", 100.0},
      {"2.5E-3", 0.0025}, {"-1.0", -1.0}, {"1e-400", 0.0}, /* underflow rounds to zero */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_value *v = value(cases[i].text);
    cr_assert_eq(v->kind, CHAT_VALUE_FLOAT, "%s", cases[i].text);
    cr_assert_eq(v->as.real.width, 8);
    cr_assert(same_double_bits(v->as.real.value, cases[i].d), "%s", cases[i].text);
  }
}

Test(json, float_overflow_is_rejected) {
  chat_error err;
  cr_assert_eq(value_error("1e400", &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "overflows") != NULL, "%s", err.message);
  cr_assert_eq(value_error("[-1.5e309]", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(err.offset, 1);
}

Test(json, non_finite_floats_are_tagged) {
  chat_value v = float_value(NAN, 8);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float\": \"NaN\"}");
  v = float_value(INFINITY, 8);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float\": \"Infinity\"}");
  v = float_value(-INFINITY, 8);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float\": \"-Infinity\"}");

  chat_value *back = value("{\"$float\": \"NaN\"}");
  cr_assert_eq(back->kind, CHAT_VALUE_FLOAT);
  cr_assert_eq(back->as.real.width, 8);
  cr_assert(isnan(back->as.real.value));
  back = value("{\"$float\": \"-Infinity\"}");
  cr_assert(isinf(back->as.real.value) && back->as.real.value < 0);
  back = value("{\"$float\": \"Infinity\"}");
  cr_assert(isinf(back->as.real.value) && back->as.real.value > 0);
}

Test(json, float_tag_takes_only_non_finite_strings) {
  /* A finite double is a plain number; "$float" with a number is refused. */
  chat_error err;
  cr_assert_eq(value_error("{\"$float\": 2}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(err.offset, 11);
  cr_assert_eq(value_error("{\"$float\": 2.5}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(value_error("{\"$float\": \"nan\"}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(value_error("{\"$float\": \"inf\"}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(value_error("{\"$float\": true}", &err), CHAT_ERR_SYNTAX);
}

Test(json, nan_reads_as_the_canonical_quiet_nan) {
  chat_value *v = value("{\"$float\": \"NaN\"}");
  uint64_t bits;
  memcpy(&bits, &v->as.real.value, sizeof bits);
  cr_assert_eq(bits, UINT64_C(0x7ff8000000000000), "%llx", (unsigned long long)bits);
  v = value("{\"$float32\": \"NaN\"}");
  float f = (float)v->as.real.value;
  uint32_t bits32;
  memcpy(&bits32, &f, sizeof bits32);
  cr_assert_eq(bits32, 0x7fc00000u, "%x", bits32);
  /* Another NaN writes as "NaN" too: its payload is the one thing lost. */
  uint64_t payload_nan = UINT64_C(0xfff0000000000001);
  double d;
  memcpy(&d, &payload_nan, sizeof d);
  chat_value w = float_value(d, 8);
  cr_assert_str_eq(json_of(&w, 0), "{\"$float\": \"NaN\"}");
  /* A binary32 signalling NaN, as decoded from the wire: "NaN", read back
   * as 7fc00000 (spec section 4: the one lossy case). */
  chat_value s = float_value(chat_float32_widen_bits(0x7f800001u), 4);
  cr_assert_str_eq(json_of(&s, 0), "{\"$float32\": \"NaN\"}");
  chat_value *q = value("{\"$float32\": \"NaN\"}");
  cr_assert_eq(chat_float32_narrow_bits(q->as.real.value), 0x7fc00000u);
}

Test(json, float32_is_tagged_both_ways) {
  chat_value v = float_value((double)0.1f, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": 0.1}");
  chat_value *back = value("{\"$float32\": 0.1}");
  cr_assert_eq(back->kind, CHAT_VALUE_FLOAT);
  cr_assert_eq(back->as.real.width, 4);
  cr_assert(same_double_bits(back->as.real.value, (double)0.1f));
  cr_assert(chat_value_equal(&v, back));

  v = float_value(1.0, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": 1.0}");
  v = float_value((double)-3.4028235e38f, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": -3.4028235e+38}");
  v = float_value(-0.0, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": -0.0}");
  v = float_value(NAN, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": \"NaN\"}");
  v = float_value(-INFINITY, 4);
  cr_assert_str_eq(json_of(&v, 0), "{\"$float32\": \"-Infinity\"}");
}

Test(json, float32_input_rounds_with_strtof) {
  chat_value *v = value("{\"$float32\": 16777217}");
  cr_assert_eq(v->as.real.width, 4);
  cr_assert_eq(v->as.real.value, 16777216.0);
  v = value("{\"$float32\": \"Infinity\"}");
  cr_assert_eq(v->as.real.width, 4);
  cr_assert(isinf(v->as.real.value));
  chat_error err;
  cr_assert_eq(value_error("{\"$float32\": 1e39}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(value_error("{\"$float32\": [1]}", &err), CHAT_ERR_SYNTAX);
}

/* spec 4: the decimal rounds straight to the nearest binary32 (ties to
 * even), not through binary64, where a second rounding can land elsewhere. */
Test(json, float32_input_rounds_once_to_the_nearest_binary32) {
  /* Just above 1 + 2^-24, the midpoint between 1 and 1 + 2^-23: up. Read as
   * a binary64 it would be the midpoint itself, which ties to even (1). */
  chat_value *v = value("{\"$float32\": 1.000000059604644775390625000001}");
  cr_assert_eq(v->as.real.width, 4);
  cr_assert_eq(v->as.real.value, 1.0 + 0x1p-23);
  /* The midpoint itself ties to even: 1. */
  v = value("{\"$float32\": 1.000000059604644775390625}");
  cr_assert_eq(v->as.real.value, 1.0);
  /* The largest finite binary32 and just below the overflow threshold
   * 2^128 - 2^103 read as it; the threshold overflows: an error. */
  v = value("{\"$float32\": 3.4028235e38}");
  cr_assert_eq(v->as.real.value, 0x1.fffffep127);
  v = value("{\"$float32\": 3.40282356779733661637539395458142568447e38}");
  cr_assert_eq(v->as.real.value, 0x1.fffffep127);
  chat_error err;
  cr_assert_eq(value_error("{\"$float32\": 3.40282356779733661637539395458142568448e38}", &err),
               CHAT_ERR_SYNTAX);
  /* Below the smallest subnormal's half: zero, with its sign. */
  v = value("{\"$float32\": -1e-50}");
  cr_assert(v->as.real.value == 0.0 && signbit(v->as.real.value));
}

Test(json, format_helpers_are_shortest) {
  char text[CHAT_JSON_NUMBER_BUFFER_SIZE];
  cr_assert_eq(chat_json_format_double(0.1, text), 3);
  cr_assert_str_eq(text, "0.1");
  chat_json_format_double(2.0, text);
  cr_assert_str_eq(text, "2.0");
  chat_json_format_double(-1.2345678901234567e-300, text);
  cr_assert_eq(strtod(text, NULL), -1.2345678901234567e-300);
  chat_json_format_float32(3.14159274f, text);
  cr_assert_str_eq(text, "3.1415927");
  chat_json_format_float32(1e-45f, text);
  cr_assert_str_eq(text, "1e-45");
}

/* A GTK program runs with the user's LC_NUMERIC; JSON numbers keep '.'. */
Test(json, numbers_ignore_the_c_locale) {
  static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                              "fr_FR.utf8"};
  const char *set = NULL;
  for (size_t i = 0; i < sizeof comma_locales / sizeof comma_locales[0] && !set; i++) {
    set = setlocale(LC_NUMERIC, comma_locales[i]);
  }
  if (set == NULL) {
    cr_skip_test("no locale with a ',' decimal point is installed");
  }
  chat_value *v = value("[2.5, {\"$float32\": 0.75}]");
  chat_value *half = &v->as.list.items[0];
  bool read_ok = half->as.real.value == 2.5 && v->as.list.items[1].as.real.value == 0.75;
  char text[64];
  snprintf(text, sizeof text, "%s", json_of(v, 0));
  setlocale(LC_NUMERIC, "C");
  cr_assert(read_ok, "numbers read under %s", set);
  cr_assert_str_eq(text, "[2.5, {\"$float32\": 0.75}]", "written under %s", set);
}

/* ---- str, bool, null, list --------------------------------------------- */

Test(json, scalars_and_lists) {
  assert_round_trip("null", "null");
  assert_round_trip("true", "true");
  assert_round_trip("false", "false");
  assert_round_trip("\"hi\"", "\"hi\"");
  assert_round_trip("[]", "[]");
  assert_round_trip("[ 1 ,\"a\" ,[ null ] ]", "[1, \"a\", [null]]");
  chat_value *v = value("\"caf\\u00e9\"");
  cr_assert_eq(v->kind, CHAT_VALUE_STR);
  cr_assert_eq(v->as.blob.len, 5);
  cr_assert(memcmp(v->as.blob.data, "caf\xC3\xA9", 5) == 0);
  v = value("[true, false]");
  cr_assert_eq(v->kind, CHAT_VALUE_LIST);
  cr_assert_eq(v->as.list.count, 2);
  cr_assert_eq(v->as.list.items[0].kind, CHAT_VALUE_BOOL);
  cr_assert(v->as.list.items[0].as.boolean);
  cr_assert_not(v->as.list.items[1].as.boolean);
}

Test(json, string_escapes_written) {
  chat_value v;
  chat_value_set_str(&v, "a\"b\\c\n\t\x01\x1f/\x7f", 11);
  cr_assert_str_eq(json_of(&v, 0), "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\x7f\"");
  chat_value_set_str(&v, "\b\f\r", 3);
  cr_assert_str_eq(json_of(&v, 0), "\"\\b\\f\\r\"");
  /* Non-ASCII is passed through as it is. */
  chat_value_set_str(&v, "\xC3\xA9\xF0\x9F\x98\x80", 6);
  cr_assert_str_eq(json_of(&v, 0), "\"\xC3\xA9\xF0\x9F\x98\x80\"");
  /* A NUL inside a str survives both ways. */
  chat_value_set_str(&v, "a\0b", 3);
  cr_assert_str_eq(json_of(&v, 0), "\"a\\u0000b\"");
  chat_value *back = value("\"a\\u0000b\"");
  cr_assert(chat_value_equal(&v, back));
}

Test(json, write_string_refuses_invalid_utf8) {
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_json_write_string(&buf, "ok\xC3", 3), CHAT_ERR_UTF8);
  cr_assert_eq(buf.len, 0);
  chat_value v;
  chat_value_set_str(&v, "\xED\xA0\x80", 3); /* an encoded surrogate */
  cr_assert_eq(chat_value_write_json(&v, 0, &buf), CHAT_ERR_UTF8);
  cr_assert_eq(buf.len, 0);
}

Test(json, long_strings_round_trip) {
  size_t len = 10000;
  char *text = malloc(len + 3);
  cr_assert_not_null(text);
  text[0] = '"';
  for (size_t i = 0; i < len; i++) {
    text[1 + i] = (char)('a' + i % 26);
  }
  text[len + 1] = '"';
  text[len + 2] = '\0';
  chat_value *v = value(text);
  cr_assert_eq(v->as.blob.len, len);
  cr_assert_str_eq(json_of(v, 0), text);
  free(text);
}

/* ---- bytes ----------------------------------------------------------------- */

Test(json, bytes_as_base64) {
  static const struct {
    const char *data;
    size_t len;
    const char *json;
  } cases[] = {
      {"", 0, "{\"$bytes\": \"\"}"},
      {"a", 1, "{\"$bytes\": \"YQ==\"}"},
      {"ab", 2, "{\"$bytes\": \"YWI=\"}"},
      {"abc", 3, "{\"$bytes\": \"YWJj\"}"},
      {"\x00\x01\xff", 3, "{\"$bytes\": \"AAH/\"}"},
      {"\xfb\xff", 2, "{\"$bytes\": \"+/8=\"}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_value v;
    chat_value_set_bytes(&v, (const uint8_t *)cases[i].data, cases[i].len);
    cr_assert_str_eq(json_of(&v, 0), cases[i].json);
    chat_value *back = value(cases[i].json);
    cr_assert_eq(back->kind, CHAT_VALUE_BYTES);
    cr_assert(chat_value_equal(&v, back), "%s", cases[i].json);
  }
}

Test(json, bytes_longer_than_one_encoding_chunk) {
  size_t len = 5000;
  uint8_t *data = malloc(len);
  cr_assert_not_null(data);
  for (size_t i = 0; i < len; i++) {
    data[i] = (uint8_t)(i * 7);
  }
  chat_value v;
  chat_value_set_bytes(&v, data, len);
  const char *text = json_of(&v, 0);
  cr_assert_eq(strlen(text), strlen("{\"$bytes\": \"\"}") + (len + 2) / 3 * 4);
  chat_value *back = value(text);
  cr_assert(chat_value_equal(&v, back));
  free(data);
}

Test(json, invalid_base64_is_rejected) {
  static const char *const bad[] = {
      "{\"$bytes\": \"YQ\"}",   /* not whole quanta */
      "{\"$bytes\": \"Y===\"}", /* three '=' */
      "{\"$bytes\": \"YQ=a\"}", /* '=' in the middle */
      "{\"$bytes\": \"Y!==\"}", /* not the alphabet */
      "{\"$bytes\": \"YR==\"}", /* non-zero bits before the padding */
      "{\"$bytes\": \"YWJ=\"}", /* same with one '=' */
      "{\"$bytes\": \" YQ=\"}", /* whitespace */
      "{\"$bytes\": \"YW-_\"}", /* the URL alphabet */
      "{\"$bytes\": 12}",       /* not a string */
      "{\"$bytes\": null}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_error err;
    cr_assert_eq(value_error(bad[i], &err), CHAT_ERR_SYNTAX, "%s", bad[i]);
    cr_assert_eq(err.offset, 11, "%s: offset %zu", bad[i], err.offset);
  }
}

Test(json, bytes_summary_is_for_humans) {
  chat_value v;
  chat_value_set_bytes(&v, (const uint8_t *)"abc", 3);
  cr_assert_str_eq(json_of(&v, CHAT_JSON_BYTES_SUMMARY), "{\"$bytes_len\": 3}");
  chat_error err;
  cr_assert_eq(value_error("{\"$bytes_len\": 3}", &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "$bytes_len") != NULL, "%s", err.message);
}

/* ---- dicts and tags ------------------------------------------------------ */

Test(json, dict_members_in_wire_order) {
  chat_value *v = value("{\"z\": 1, \"a\": [], \"m\": {}}");
  cr_assert_eq(v->kind, CHAT_VALUE_DICT);
  cr_assert_eq(v->as.dict.count, 3);
  cr_assert_str_eq(v->as.dict.entries[0].key, "z");
  cr_assert_str_eq(v->as.dict.entries[1].key, "a");
  cr_assert_str_eq(v->as.dict.entries[2].key, "m");
  cr_assert_eq(v->as.dict.entries[2].value.kind, CHAT_VALUE_DICT);
  cr_assert_str_eq(json_of(v, 0), "{\"z\": 1, \"a\": [], \"m\": {}}");
}

Test(json, dollar_dict_is_escaped_and_round_trips) {
  /* One "$" key: wrapped so it is not read as a tag. */
  assert_round_trip("{\"$dict\": {\"$x\": 1}}", "{\"$dict\": {\"$x\": 1}}");
  chat_value *v = value("{\"$dict\": {\"$x\": 1}}");
  cr_assert_eq(v->kind, CHAT_VALUE_DICT);
  cr_assert_eq(v->as.dict.count, 1);
  cr_assert_str_eq(v->as.dict.entries[0].key, "$x");
  /* The payload's own members are not tags: "$bytes" here is a plain key. */
  v = value("{\"$dict\": {\"$bytes\": \"AA==\"}}");
  cr_assert_eq(v->as.dict.count, 1);
  cr_assert_str_eq(v->as.dict.entries[0].key, "$bytes");
  cr_assert_eq(v->as.dict.entries[0].value.kind, CHAT_VALUE_STR);
  cr_assert_str_eq(json_of(v, 0), "{\"$dict\": {\"$bytes\": \"AA==\"}}");
  /* A dict that only holds "$dict" is escaped too. */
  assert_round_trip("{\"$dict\": {\"$dict\": {}}}", "{\"$dict\": {\"$dict\": {}}}");
  /* Two keys, or one without '$': no escape needed. */
  assert_round_trip("{\"$x\": 1, \"y\": 2}", "{\"$x\": 1, \"y\": 2}");
  assert_round_trip("{\"$dict\": {\"a\": 1}}", "{\"a\": 1}");
  assert_round_trip("{}", "{}");
}

Test(json, unknown_tags_are_rejected) {
  chat_error err;
  cr_assert_eq(value_error("[{\"$foo\": 1}]", &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "\"$foo\"") != NULL, "%s", err.message);
  cr_assert_eq(err.offset, 2);
  cr_assert(strncmp(err.message, "line 1 column 3: ", 17) == 0, "%s", err.message);
  cr_assert_eq(value_error("{\"$\": 1}", &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(value_error("{\"$dict\": [1]}", &err), CHAT_ERR_SYNTAX);
}

Test(json, dict_keys_are_limited_to_255_bytes) {
  char text[600];
  char key[300];
  memset(key, 'k', sizeof key);
  snprintf(text, sizeof text, "{\"a\": 1,\n \"%.*s\": 2}", CHAT_DICT_KEY_MAX, key);
  chat_value *v = value(text);
  cr_assert_eq(v->as.dict.entries[1].key_len, CHAT_DICT_KEY_MAX);
  snprintf(text, sizeof text, "{\"a\": 1,\n \"%.*s\": 2}", CHAT_DICT_KEY_MAX + 1, key);
  chat_error err;
  cr_assert_eq(value_error(text, &err), CHAT_ERR_LIMIT);
  cr_assert_eq(err.offset, 10);
  cr_assert(strncmp(err.message, "line 2 column 2: ", 17) == 0, "%s", err.message);
}

/* The pretty form of the value in output_forms, member "e" written as e. */
#define PRETTY_FORM(e)                                                                             \
  "{\n"                                                                                            \
  "  \"a\": [\n"                                                                                   \
  "    1,\n"                                                                                       \
  "    2,\n"                                                                                       \
  "    {\n"                                                                                        \
  "      \"b\": null\n"                                                                            \
  "    }\n"                                                                                        \
  "  ],\n"                                                                                         \
  "  \"c\": true,\n"                                                                               \
  "  \"d\": [],\n"                                                                                 \
  "  \"e\": " e ",\n"                                                                              \
  "  \"f\": {\n"                                                                                   \
  "    \"$dict\": {\n"                                                                             \
  "      \"$g\": 1.5\n"                                                                            \
  "    }\n"                                                                                        \
  "  }\n"                                                                                          \
  "}"

Test(json, output_forms) {
  const char *text = "{\"a\": [1, 2, {\"b\": null}], \"c\": true, \"d\": [], "
                     "\"e\": {\"$bytes\": \"AQI=\"}, \"f\": {\"$dict\": {\"$g\": 1.5}}}";
  chat_value *v = value(text);
  cr_assert_str_eq(json_of(v, 0), text);
  cr_assert_str_eq(json_of(v, CHAT_JSON_PRETTY), PRETTY_FORM("{\"$bytes\": \"AQI=\"}"));
  cr_assert_str_eq(json_of(v, CHAT_JSON_PRETTY | CHAT_JSON_BYTES_SUMMARY),
                   PRETTY_FORM("{\"$bytes_len\": 2}"));
  /* The pretty form reads back to the same value. */
  chat_value *back = value(json_of(v, CHAT_JSON_PRETTY));
  cr_assert(chat_value_equal(v, back));
}

Test(json, bad_float_width_is_refused) {
  chat_value items[2];
  items[0] = float_value(1.0, 8);
  items[1] = float_value(1.0, 3);
  chat_value list = {.kind = CHAT_VALUE_LIST};
  list.as.list.items = items;
  list.as.list.count = 2;
  chat_buffer_reset(&buf);
  chat_buffer_append(&buf, "x", 1);
  cr_assert_eq(chat_value_write_json(&list, 0, &buf), CHAT_ERR_INVALID_ARGUMENT);
  cr_assert_eq(buf.len, 1, "the partial output is taken back");
}

/* ---- the parser ------------------------------------------------------------ */

Test(json, duplicate_keys_are_rejected) {
  chat_error err;
  const char *text = "{\"a\": 1, \"b\": 2, \"a\": 3}";
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_DUPLICATE_KEY);
  cr_assert_eq(err.offset, 17);
  cr_assert(strstr(err.message, "\"a\"") != NULL, "%s", err.message);
  text = "[{}, {\"x\": {\"k\": 1, \"k\": 1}}]";
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_DUPLICATE_KEY);
  cr_assert_eq(err.offset, 20);
  /* Same key text through different escapes is the same key. */
  text = "{\"\\u0061\": 1, \"a\": 2}";
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_DUPLICATE_KEY);
  /* Keys that differ only in length are distinct. */
  tree("{\"a\": 1, \"aa\": 2, \"\": 3}");
}

Test(json, duplicate_keys_in_big_objects) {
  /* Over the pairwise-check size: the first duplicate in document order is
   * the one reported. */
  char text[2048];
  size_t n = 0;
  n += (size_t)snprintf(text + n, sizeof text - n, "{");
  for (int i = 0; i < 40; i++) {
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\": %d", i ? ", " : "", i, i);
  }
  size_t first_dup = n + 2;
  n += (size_t)snprintf(text + n, sizeof text - n, ", \"k31\": 0, \"k5\": 0}");
  chat_error err;
  cr_assert_eq(tree_error(text, n, &err), CHAT_ERR_DUPLICATE_KEY);
  cr_assert_eq(err.offset, first_dup);
  cr_assert(strstr(err.message, "\"k31\"") != NULL, "%s", err.message);
  /* Without the duplicates it parses, members in order. */
  text[first_dup - 2] = '}';
  chat_json *json = NULL;
  cr_assert_eq(parse_tree_n(text, first_dup - 1, &json, &err), 0, "%s", err.message);
  cr_assert_eq(json->as.object.count, 40);
  cr_assert_str_eq(json->as.object.members[39].key, "k39");
}

static char *nested(size_t depth, char open, char close) {
  char *text = malloc(2 * depth + 1);
  cr_assert_not_null(text);
  memset(text, open, depth);
  memset(text + depth, close, depth);
  text[2 * depth] = '\0';
  return text;
}

Test(json, nesting_is_limited) {
  char *ok = nested(CHAT_JSON_MAX_DEPTH, '[', ']');
  tree(ok);
  free(ok);
  char *deep = nested(CHAT_JSON_MAX_DEPTH + 1, '[', ']');
  chat_error err;
  cr_assert_eq(tree_error(deep, strlen(deep), &err), CHAT_ERR_DEPTH);
  cr_assert_eq(err.offset, CHAT_JSON_MAX_DEPTH);
  free(deep);
  /* Far deeper input fails the same way, without exhausting the stack. */
  char *very = nested(100000, '[', ']');
  cr_assert_eq(tree_error(very, strlen(very), &err), CHAT_ERR_DEPTH);
  free(very);
  /* Values: CHAT_JSON_MAX_VALUE_DEPTH lists read, write back and read again;
   * one more is a depth error at the list over the limit. */
  ok = nested(CHAT_JSON_MAX_VALUE_DEPTH, '[', ']');
  chat_value *v = value(ok);
  cr_assert_str_eq(json_of(v, 0), ok);
  free(ok);
  deep = nested(CHAT_JSON_MAX_VALUE_DEPTH + 1, '[', ']');
  cr_assert_eq(value_error(deep, &err), CHAT_ERR_DEPTH);
  cr_assert_eq(err.offset, CHAT_JSON_MAX_VALUE_DEPTH);
  free(deep);
}

/* n nested values: lists, or dicts whose one key starts with '$' (each
 * written {"$dict": {...}}, two JSON levels), around leaf. */
static chat_value *nest(size_t n, bool dollar_dicts, const chat_value *leaf) {
  chat_value *levels = chat_arena_alloc(&arena, n, sizeof *levels);
  chat_dict_entry *entries = chat_arena_alloc(&arena, n, sizeof *entries);
  cr_assert(levels && entries);
  for (size_t i = n; i-- > 0;) { /* innermost first: a dict entry copies its value */
    const chat_value *inner = i + 1 < n ? &levels[i + 1] : leaf;
    if (dollar_dicts) {
      entries[i].key = "$k";
      entries[i].key_len = 2;
      entries[i].value = *inner;
      levels[i].kind = CHAT_VALUE_DICT;
      levels[i].as.dict.entries = &entries[i];
      levels[i].as.dict.count = 1;
    } else {
      levels[i].kind = CHAT_VALUE_LIST;
      levels[i].as.list.items = (chat_value *)inner;
      levels[i].as.list.count = 1;
    }
  }
  return &levels[0];
}

Test(json, writer_depth_counts_values_not_tag_objects) {
  /* Depth counts lists and dicts as the wire decoder does (spec section
   * 2.3): a tag object ({"$bytes": ...}) or a "$dict" wrapper adds none. */
  chat_value leaf;
  chat_value_set_bytes(&leaf, (const uint8_t *)"x", 1);
  for (int dollar = 0; dollar <= 1; dollar++) {
    chat_value *v = nest(CHAT_JSON_MAX_VALUE_DEPTH, dollar, &leaf);
    chat_value *back = value(json_of(v, 0));
    cr_assert(chat_value_equal(v, back), "dollar %d", dollar);
    back = value(json_of(v, CHAT_JSON_PRETTY));
    cr_assert(chat_value_equal(v, back), "dollar %d, pretty", dollar);
    chat_value *over = nest(CHAT_JSON_MAX_VALUE_DEPTH + 1, dollar, &leaf);
    chat_buffer_reset(&buf);
    cr_assert_eq(chat_value_write_json(over, 0, &buf), CHAT_ERR_DEPTH);
    cr_assert_eq(buf.len, 0);
  }
}

/* Whatever the wire decoder accepts with its default limits maps to JSON and
 * back, even as a member of a larger document (chatctl decode's
 * {"type": ..., "params": ...}): 32 dicts, each with one '$' key, around a
 * tag object need 65 JSON levels of their own.
 * tests/fuzz/corpus/json-value/dollar-dicts-32-deep. */
Test(json, deepest_wire_value_maps_both_ways) {
  chat_value leaf;
  chat_value_set_bytes(&leaf, (const uint8_t *)"x", 1);
  chat_value *v = nest(CHAT_DEFAULT_MAX_DEPTH, true, &leaf);
  chat_buffer wire;
  chat_buffer_init(&wire);
  cr_assert_eq(chat_value_encode(v, &wire), 0);
  chat_value *decoded;
  chat_error err;
  cr_assert_eq(chat_value_decode(wire.data, wire.len, NULL, 0, &arena, &decoded, &err), 0, "%s",
               err.message);
  chat_buffer_clear(&wire);
  const char *text = json_of(decoded, 0);
  size_t size = strlen(text) + 32;
  char *doc = malloc(size);
  cr_assert_not_null(doc);
  snprintf(doc, size, "{\"type\": 3, \"params\": %s}", text);
  chat_value *back = value(doc);
  cr_assert_eq(back->kind, CHAT_VALUE_DICT);
  cr_assert(chat_value_equal(chat_value_dict_get(back, "params"), decoded));
  free(doc);
}

Test(json, empty_objects_and_arrays) {
  chat_json *j = tree("{}");
  cr_assert_eq(j->kind, CHAT_JSON_OBJECT);
  cr_assert_eq(j->as.object.count, 0);
  j = tree("{\"a\": {}, \"b\": [], \"c\": [{}]}");
  cr_assert_eq(j->as.object.count, 3);
  chat_value *v = value("{}");
  cr_assert_eq(v->kind, CHAT_VALUE_DICT);
  cr_assert_eq(v->as.dict.count, 0);
  cr_assert_str_eq(json_of(v, 0), "{}");
  v = value("[{}, [], {\"$dict\": {}}]");
  cr_assert_str_eq(json_of(v, 0), "[{}, [], {}]");
}

Test(json, unicode_escapes) {
  chat_json *j = tree("\"\\ud83d\\ude00\"");
  cr_assert_eq(j->kind, CHAT_JSON_STRING);
  cr_assert_eq(j->as.string.len, 4);
  cr_assert(memcmp(j->as.string.data, "\xF0\x9F\x98\x80", 4) == 0);
  j = tree("\"\\u00E9\\u20AC\\u0041\\/\\\"\\\\\\b\\f\\n\\r\\t\"");
  const char want[] = "\xC3\xA9\xE2\x82\xAC"
                      "A/\"\\\b\f\n\r\t";
  cr_assert_eq(j->as.string.len, sizeof want - 1);
  cr_assert(memcmp(j->as.string.data, want, sizeof want - 1) == 0);
  j = tree("\"\\u0000\"");
  cr_assert_eq(j->as.string.len, 1);
  cr_assert_eq(j->as.string.data[0], '\0');
  /* U+10FFFF, the last code point. */
  j = tree("\"\\uDBFF\\uDFFF\"");
  cr_assert(memcmp(j->as.string.data, "\xF4\x8F\xBF\xBF", 4) == 0);
}

Test(json, lone_surrogates_are_rejected) {
  static const struct {
    const char *text;
    size_t offset;
  } cases[] = {
      {"\"\\ud83d\"", 1},                                    /* high, then the end of the string */
      {"\"\\ude00\"", 1},                                    /* low without high */
      {"\"x\\ud83d\\u0041\"", 2},                            /* high, then not a low */
      {"\"\\ud83dx\"", 1},        {"\"\\ud83d\\ud83d\"", 1}, /* two highs */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_error err;
    cr_assert_eq(tree_error(cases[i].text, strlen(cases[i].text), &err), CHAT_ERR_UTF8, "%s",
                 cases[i].text);
    cr_assert_eq(err.offset, cases[i].offset, "%s: %zu", cases[i].text, err.offset);
    cr_assert(strstr(err.message, "surrogate") != NULL, "%s", err.message);
  }
}

Test(json, bad_escapes_are_rejected) {
  static const char *const bad[] = {
      "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\\u00e\"", "\"\\'\"", "\"\\U0041\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_error err;
    cr_assert_eq(tree_error(bad[i], strlen(bad[i]), &err), CHAT_ERR_SYNTAX, "%s", bad[i]);
  }
}

Test(json, invalid_utf8_is_rejected) {
  static const struct {
    const char *text;
    size_t offset;
  } cases[] = {
      {"\"ab\xC3\"", 3},           /* truncated sequence */
      {"\"\xC0\x80\"", 1},         /* overlong NUL */
      {"\"\xED\xA0\x80\"", 1},     /* encoded surrogate */
      {"\"\xF4\x90\x80\x80\"", 1}, /* over U+10FFFF */
      {"\"\xC3\xA9\xFF\"", 3},     /* never valid */
      {"\"\x80\"", 1},             /* lone continuation */
      {"{\"k\xE2\x82\": 1}", 3},   /* in a key */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_error err;
    cr_assert_eq(tree_error(cases[i].text, strlen(cases[i].text), &err), CHAT_ERR_UTF8, "case %zu",
                 i);
    cr_assert_eq(err.offset, cases[i].offset, "case %zu: %zu", i, err.offset);
  }
  /* Raw valid UTF-8 is kept as it is. */
  chat_json *j = tree("\"\xC3\xA9\xF0\x9F\x98\x80\"");
  cr_assert_eq(j->as.string.len, 6);
}

Test(json, unescaped_control_characters_are_rejected) {
  static const char *const bad[] = {"\"a\nb\"", "\"\t\"", "\"\x1f\"", "[\"\r\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_error err;
    cr_assert_eq(tree_error(bad[i], strlen(bad[i]), &err), CHAT_ERR_SYNTAX, "case %zu", i);
    cr_assert(strstr(err.message, "control character") != NULL, "%s", err.message);
  }
  /* A NUL byte too (the text carries its length, so it is seen). */
  chat_error err;
  cr_assert_eq(tree_error("\"a\0\"", 4, &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(err.offset, 2);
}

Test(json, trailing_garbage_is_rejected) {
  static const char *const bad[] = {"1 2", "{} x", "[1]]", "null,", "\"a\"\"b\"", "0x10", "truex"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_error err;
    cr_assert_eq(tree_error(bad[i], strlen(bad[i]), &err), CHAT_ERR_TRAILING, "%s", bad[i]);
  }
  chat_error err;
  cr_assert_eq(tree_error("[1] x", 5, &err), CHAT_ERR_TRAILING);
  cr_assert_eq(err.offset, 4);
  /* Surrounding whitespace is fine. */
  chat_json *j = tree(" \t\r\n [1] \n");
  cr_assert_eq(j->kind, CHAT_JSON_ARRAY);
  cr_assert_eq(j->offset, 5);
}

Test(json, malformed_documents_are_rejected) {
  static const char *const bad[] = {
      "",
      "   ",
      "01",
      "-",
      "1.",
      ".5",
      "+1",
      "1e",
      "1e+",
      "-01",
      "[1,]",
      "{\"a\":1,}",
      "[,1]",
      "{,}",
      "tru",
      "nul",
      "fals",
      "'a'",
      "NaN",
      "Infinity",
      "{a: 1}",
      "{\"a\" 1}",
      "{\"a\":}",
      "[1 2]",
      "\"abc",
      "[",
      "{",
      "{\"a\"",
      "\x01",
      ("\xEF\xBB\xBF"
       "1"), /* a byte order mark */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_error err;
    int rc = tree_error(bad[i], strlen(bad[i]), &err);
    cr_assert_eq(rc, CHAT_ERR_SYNTAX, "%s: %d %s", bad[i], rc, err.message);
    cr_assert(strncmp(err.message, "line ", 5) == 0, "%s", err.message);
  }
}

Test(json, errors_say_line_column_and_what_was_expected) {
  const char *text = "{\n  \"a\": 1,\n  \"b\": 2 \"c\"\n}";
  chat_error err;
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_SYNTAX);
  cr_assert_str_eq(err.message,
                   "line 3 column 10: expected ',' or '}' after object member, got '\"'");
  cr_assert_eq(err.offset, 21);
  text = "[1,\n\xC3\xA9]"; /* columns count characters, not bytes */
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_SYNTAX);
  cr_assert_str_eq(err.message, "line 2 column 1: expected a value after ',', got byte 0xC3");
  text = "[\"\xC3\xA9\", 1 1]";
  cr_assert_eq(tree_error(text, strlen(text), &err), CHAT_ERR_SYNTAX);
  cr_assert_str_eq(err.message, "line 1 column 9: expected ',' or ']' after array item, got '1'");
  cr_assert_eq(tree_error("[01]", 4, &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "leading zeros") != NULL, "%s", err.message);
  cr_assert_eq(tree_error("{\"a\" 1}", 7, &err), CHAT_ERR_SYNTAX);
  cr_assert_str_eq(err.message, "line 1 column 6: expected ':' after object key, got '1'");
  cr_assert_eq(tree_error("", 0, &err), CHAT_ERR_SYNTAX);
  cr_assert_str_eq(err.message, "line 1 column 1: expected a JSON value, got end of input");
}

Test(json, every_truncation_fails_cleanly) {
  const char *sample =
      "{\"name\": \"caf\\u00e9 \\ud83d\\ude00\", \"n\": [0, -12, 3.5e-2, 18446744073709551615],"
      " \"t\": true, \"f\": false, \"z\": null, \"o\": {\"$bytes\": \"AAE=\"},"
      " \"s\": \"\xC3\xA9\\n\"}";
  size_t len = strlen(sample);
  chat_json *j = tree(sample);
  cr_assert_eq(j->as.object.count, 7);
  for (size_t n = 0; n < len; n++) {
    chat_error err;
    chat_json *out = NULL;
    int rc = parse_tree_n(sample, n, &out, &err);
    cr_assert_neq(rc, 0, "prefix of %zu bytes parsed", n);
    cr_assert_leq(err.offset, n, "prefix %zu: offset %zu", n, err.offset);
    chat_value *v = NULL;
    cr_assert_neq(value_n(sample, n, &v, &err), 0, "prefix of %zu bytes converted", n);
  }
}

Test(json, text_need_not_be_nul_terminated) {
  const char text[] = "[1, 2]garbage";
  chat_json *json = NULL;
  chat_error err;
  cr_assert_eq(parse_tree_n(text, 6, &json, &err), 0, "%s", err.message);
  cr_assert_eq(json->as.array.count, 2);
  cr_assert_eq(json->as.array.items[1].offset, 4);
}

Test(json, big_numbers_keep_their_exact_text) {
  char digits[241];
  for (int i = 0; i < 240; i++) {
    digits[i] = (char)('1' + i % 9);
  }
  digits[240] = '\0';
  char text[300];
  snprintf(text, sizeof text, "{\"g\": 2, \"p\": %s}", digits);
  chat_json *root = tree(text);
  const chat_json *p = chat_json_object_get(root, "p");
  cr_assert_not_null(p);
  cr_assert_eq(p->kind, CHAT_JSON_NUMBER);
  cr_assert_eq(p->as.number.len, 240);
  cr_assert_str_eq(p->as.number.text, digits);
  cr_assert(chat_json_number_is_integer(p));
  uint64_t u;
  cr_assert_not(chat_json_get_u64(p, &u), "240 digits do not fit");
  cr_assert(chat_json_get_u64(chat_json_object_get(root, "g"), &u));
  cr_assert_eq(u, 2);
  /* As a chat_value it is out of range. */
  chat_value *v = NULL;
  chat_error err;
  cr_assert_eq(chat_json_to_value(root, &arena, &v, &err), CHAT_ERR_INT_RANGE);
  cr_assert_eq(err.offset, 14);
}

Test(json, accessors) {
  chat_json *root = tree("{\"i\": -9223372036854775808, \"u\": 18446744073709551615,"
                         " \"f\": 1.0, \"e\": 1e2, \"big\": 1e400, \"s\": \"x\", \"neg\": -1,"
                         " \"a\\u0000b\": 5}");
  int64_t i;
  uint64_t u;
  double d;
  cr_assert(chat_json_get_i64(chat_json_object_get(root, "i"), &i));
  cr_assert_eq(i, INT64_MIN);
  cr_assert_not(chat_json_get_u64(chat_json_object_get(root, "i"), &u));
  cr_assert(chat_json_get_u64(chat_json_object_get(root, "u"), &u));
  cr_assert_eq(u, UINT64_MAX);
  cr_assert_not(chat_json_get_i64(chat_json_object_get(root, "u"), &i));
  cr_assert_not(chat_json_get_i64(chat_json_object_get(root, "f"), &i), "1.0 is not an integer");
  cr_assert_not(chat_json_get_u64(chat_json_object_get(root, "e"), &u), "1e2 is not an integer");
  cr_assert_not(chat_json_get_u64(chat_json_object_get(root, "neg"), &u));
  cr_assert(chat_json_get_double(chat_json_object_get(root, "e"), &d));
  cr_assert_eq(d, 100.0);
  cr_assert_not(chat_json_get_double(chat_json_object_get(root, "big"), &d));
  cr_assert_not(chat_json_get_double(chat_json_object_get(root, "s"), &d));
  cr_assert_null(chat_json_object_get(root, "missing"));
  cr_assert_null(chat_json_object_get(chat_json_object_get(root, "s"), "x"));
  cr_assert_null(chat_json_object_get(NULL, "x"));
  const chat_json *nul_key = chat_json_object_get_n(root, "a\0b", 3);
  cr_assert_not_null(nul_key);
  cr_assert(chat_json_get_i64(nul_key, &i));
  cr_assert_eq(i, 5);
  cr_assert_str_eq(chat_json_kind_name(CHAT_JSON_OBJECT), "object");
  chat_value *v = NULL;
  chat_error err;
  cr_assert_eq(chat_json_to_value(chat_json_object_get(root, "missing"), &arena, &v, &err),
               CHAT_ERR_INVALID_ARGUMENT);
  size_t line, column;
  chat_json_position("ab\ncd\xC3\xA9"
                     "e",
                     8, 7, &line, &column);
  cr_assert_eq(line, 2);
  cr_assert_eq(column, 4);
}

Test(json, tree_nodes_carry_offsets) {
  chat_json *root = tree("{\"a\": [true, \"s\"],\n \"b\": -1.5}");
  cr_assert_eq(root->offset, 0);
  const chat_json_member *b = &root->as.object.members[1];
  cr_assert_eq(b->key_offset, 20);
  cr_assert_eq(b->value.offset, 25);
  cr_assert_str_eq(b->value.as.number.text, "-1.5");
  const chat_json *a = chat_json_object_get(root, "a");
  cr_assert_eq(a->offset, 6);
  cr_assert_eq(a->as.array.items[1].offset, 13);
}

/* ---- hex ------------------------------------------------------------------- */

Test(json, hex_decode_ignores_whitespace_and_case) {
  const char *text = " 00 01\tfF\r\nA b ";
  cr_assert_eq(chat_hex_decode(text, strlen(text), &buf, NULL), 0);
  cr_assert_eq(buf.len, 4);
  cr_assert(memcmp(buf.data, "\x00\x01\xff\xab", 4) == 0);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_hex_decode("", 0, &buf, NULL), 0);
  cr_assert_eq(chat_hex_decode(" \n", 2, &buf, NULL), 0);
  cr_assert_eq(buf.len, 0);
}

Test(json, hex_decode_rejects_bad_input) {
  chat_error err;
  chat_buffer_reset(&buf);
  chat_buffer_append(&buf, "k", 1);
  cr_assert_eq(chat_hex_decode("abc", 3, &buf, &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "odd") != NULL, "%s", err.message);
  cr_assert_eq(err.offset, 2);
  cr_assert_eq(chat_hex_decode("ab 0g", 5, &buf, &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(err.offset, 4);
  cr_assert(strstr(err.message, "'g'") != NULL, "%s", err.message);
  cr_assert(strstr(err.message, "offset 4") != NULL, "%s", err.message);
  cr_assert_eq(chat_hex_decode("0x00", 4, &buf, &err), CHAT_ERR_SYNTAX);
  cr_assert_eq(err.offset, 1);
  cr_assert_eq(chat_hex_decode("00\xC3\xA9", 4, &buf, &err), CHAT_ERR_SYNTAX);
  cr_assert(strstr(err.message, "0xC3") != NULL, "%s", err.message);
  cr_assert_eq(chat_hex_decode("0\v0", 3, &buf, &err), CHAT_ERR_SYNTAX, "only space, tab, CR, LF");
  cr_assert_eq(buf.len, 1, "nothing appended on error");
}

Test(json, hex_encode_is_lowercase_and_round_trips) {
  chat_hex_encode((const uint8_t *)"\x00\x9f\xAB\xff", 4, &buf);
  cr_assert_eq(buf.len, 8);
  cr_assert(memcmp(buf.data, "009fabff", 8) == 0);
  uint8_t data[700];
  for (size_t i = 0; i < sizeof data; i++) {
    data[i] = (uint8_t)(i * 31 + 7);
  }
  chat_buffer_reset(&buf);
  chat_hex_encode(data, sizeof data, &buf);
  cr_assert_eq(buf.len, 2 * sizeof data);
  chat_buffer back;
  chat_buffer_init(&back);
  cr_assert_eq(chat_hex_decode((const char *)buf.data, buf.len, &back, NULL), 0);
  cr_assert_eq(back.len, sizeof data);
  cr_assert(memcmp(back.data, data, sizeof data) == 0);
  chat_buffer_clear(&back);
}
