/* chatctl decode / encode as a user runs them: against every message vector,
 * a 300 KB image, and every kind of bad input. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "run-program.h"
#include "vectors.h"

#define MESSAGES "messages.json"

static chat_arena arena;

static void setup(void) {
  chat_arena_init(&arena);
}
static void teardown(void) {
  chat_arena_clear(&arena);
}

static void chatctl(const char *input, program_result *r, const char *a1, const char *a2,
                    const char *a3, const char *a4) {
  const char *argv[] = {CHATCTL_PATH, a1, a2, a3, a4, NULL};
  run_program(argv, input, input ? strlen(input) : 0, NULL, r);
}

static chat_value *parse_value(const char *json, gsize len) {
  chat_value *v = NULL;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(json, len, &arena, &v, &err), 0, "%s in %s", err.message,
               json);
  return v;
}

ParameterizedTestParameters(chatctl_codec, decodes_every_vector) {
  VECTOR_PARAMS(MESSAGES, "valid");
}

/* decode prints exactly the vector's message; encode of that output gives
 * the vector's bytes back. */
ParameterizedTest(vector_param *p, chatctl_codec, decodes_every_vector, .init = setup,
                  .fini = teardown) {
  const chat_json *vector = vectors_get(MESSAGES, "valid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  const char *dialect = vector_string(vector, "dialect");
  const char *hex = vector_string(vector, "hex");

  program_result r = {0};
  chatctl(hex, &r, "decode", "--dialect", dialect, NULL);
  cr_assert_eq(r.status, 0, "%s: %s", name, r.err);
  cr_assert_eq(r.err_len, 0);
  chat_value *printed = parse_value(r.out, r.out_len);
  chat_value *expected;
  chat_error err;
  cr_assert_eq(chat_json_to_value(chat_json_object_get(vector, "message"), &arena, &expected, &err),
               0);
  cr_assert(chat_value_equal(printed, expected), "%s: printed %s", name, r.out);

  program_result back = {0};
  /* Global options may stand after the subcommand or before it. */
  const char *argv[] = {CHATCTL_PATH, "--dialect", dialect, "encode", NULL};
  run_program(argv, r.out, r.out_len, NULL, &back);
  cr_assert_eq(back.status, 0, "%s: %s", name, back.err);
  cr_assert_eq(back.out_len, strlen(hex) + 1);
  cr_assert(strncmp(back.out, hex, strlen(hex)) == 0 && back.out[strlen(hex)] == '\n',
            "%s: encode gave %s", name, back.out);
  program_result_clear(&r);
  program_result_clear(&back);
}

Test(chatctl_codec, round_trips_a_300_kb_image_and_nested_dicts, .init = setup, .fini = teardown) {
  /* send_message with a 300 KB image, as a seed client sends it. */
  const size_t size = 300 * 1024;
  uint8_t *image = g_malloc(size);
  for (size_t i = 0; i < size; i++)
    image[i] = (uint8_t)(i * 7 + 3);
  chat_buffer msg, hex;
  chat_buffer_init(&msg);
  chat_buffer_init(&hex);
  chat_writer w;
  chat_writer_init(&w, &msg);
  chat_message_begin(&w, CHAT_DIALECT_SEED, 6);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "target_type");
  chat_write_int(&w, 0);
  chat_write_key_cstr(&w, "target_id");
  chat_write_int(&w, 2);
  chat_write_key_cstr(&w, "message");
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "type");
  chat_write_int(&w, 1);
  chat_write_key_cstr(&w, "data");
  chat_write_bytes(&w, image, size);
  chat_write_dict_end(&w);
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_hex_encode(msg.data, msg.len, &hex);
  chat_buffer_append_byte(&hex, 0);

  program_result r = {0}, back = {0};
  chatctl((const char *)hex.data, &r, "decode", "--dialect", "seed", NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "{\"$bytes\": \"") != NULL);
  const char *argv[] = {CHATCTL_PATH, "encode", "--dialect", "seed", NULL};
  run_program(argv, r.out, r.out_len, NULL, &back);
  cr_assert_eq(back.status, 0, "%s", back.err);
  cr_assert_eq(back.out_len, hex.len, "hex plus newline");
  cr_assert(memcmp(back.out, hex.data, hex.len - 1) == 0, "byte for byte");
  program_result_clear(&r);
  program_result_clear(&back);
  chat_buffer_clear(&msg);
  chat_buffer_clear(&hex);
  g_free(image);
}

/* A bad input: status 2, nothing on stdout, one line on stderr that says
 * what and where. */
static void refused(const char *input, const char *needle, const char *a1, const char *a2,
                    const char *a3) {
  program_result r = {0};
  chatctl(input, &r, a1, a2, a3, NULL);
  cr_assert_eq(r.status, 2, "status %d for %s", r.status, input);
  cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
  cr_assert(is_one_line(r.err), "stderr: %s", r.err);
  cr_assert(strstr(r.err, needle) != NULL, "stderr \"%s\" lacks \"%s\"", r.err, needle);
  program_result_clear(&r);
}

Test(chatctl_codec, bad_input_is_one_line_and_status_2) {
  refused("6e 0", "odd number of hex digits", "decode", "--dialect", "seed");
  refused("6e 0g", "'g' at offset", "decode", "--dialect", "seed");
  refused("", "message of 0 bytes", "decode", "--dialect", "seed");
  refused("0000006e", "expected a value at offset 4", "decode", "--dialect", "v2");
  refused("6e 03 00000002 c328", "not valid UTF-8", "decode", "--dialect", "seed");
  refused("6e 00 00", "trailing bytes at offset 2", "decode", "--dialect", "seed");
  refused("63 00", "unknown message type 99", "decode", "--dialect", "seed");
  refused("01 03 00000001 61", "login params: expected list, got str", "decode", "--dialect",
          "seed");
  refused("{\"name\": \"login\"", "bad JSON: line 1 column", "encode", "--dialect", "seed");
  refused("[]", "expected a JSON object", "encode", "--dialect", "seed");
  refused("{\"params\": null}", "give \"type\" or \"name\"", "encode", NULL, NULL);
  refused("{\"name\": \"nope\", \"params\": null}", "unknown message name", "encode", NULL, NULL);
  refused("{\"type\": 1, \"name\": \"register\", \"params\": null}", "type 1 is not", "encode",
          NULL, NULL);
  refused("{\"name\": \"login\"}", "\"params\" is missing", "encode", NULL, NULL);
  refused("{\"name\": \"login\", \"params\": [\"a\", 1]}", "params[1]: expected str", "encode",
          NULL, NULL);
  refused("{\"type\": 300, \"params\": null}", "does not fit the seed dialect", "encode",
          "--lenient", "--dialect=seed");
  refused("{\"name\": \"server_kick\", \"params\": null, \"x\": 1}", "unknown member \"x\"",
          "encode", NULL, NULL);
  refused("{\"name\": \"client_echo\", \"params\": {\"$bytes\": \"!!\"}}", "base64", "encode", NULL,
          NULL);
  refused("{\"name\": \"client_echo\", \"params\": 18446744073709551616}", "bad params", "encode",
          NULL, NULL);
  refused("6e00", "unknown dialect 'v3'", "decode", "--dialect", "v3");
  refused("", "unexpected argument 'extra'", "decode", "extra", NULL);
}

Test(chatctl_codec, lenient_shows_what_the_catalogue_refuses) {
  program_result r = {0};
  chatctl("63 00", &r, "decode", "--dialect", "seed", "--lenient");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(r.out, "{\"type\": 99, \"name\": null, \"params\": null}\n");
  program_result_clear(&r);
  chatctl("{\"type\": 300, \"params\": -1}", &r, "encode", "--lenient", NULL, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_str_eq(r.out, "0000012c080000000101\n");
  program_result_clear(&r);
}

Test(chatctl_codec, exact_integers_and_floats) {
  program_result r = {0};
  chatctl("{\"name\": \"client_echo\", \"params\": [18446744073709551615, "
          "-9223372036854775808, 0.1, {\"$float32\": 1.5}]}",
          &r, "encode", NULL, NULL, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  program_result back = {0};
  const char *argv[] = {CHATCTL_PATH, "decode", NULL};
  run_program(argv, r.out, r.out_len, NULL, &back);
  cr_assert_str_eq(back.out, "{\"type\": 3, \"name\": \"client_echo\", \"params\": "
                             "[18446744073709551615, -9223372036854775808, 0.1, "
                             "{\"$float32\": 1.5}]}\n");
  program_result_clear(&r);
  program_result_clear(&back);
}

/* A value nested as deep as the decoder allows (spec section 2.4: 32), every
 * level a dict with one '$' key (written {"$dict": {...}}), decodes to JSON
 * and encodes back to the same bytes. tests/fuzz/corpus/message-v2/dollar-dicts-32-deep. */
Test(chatctl_codec, deepest_dollar_dicts_round_trip, .init = setup, .fini = teardown) {
  chat_buffer msg, hex;
  chat_buffer_init(&msg);
  chat_buffer_init(&hex);
  chat_writer w;
  chat_writer_init(&w, &msg);
  chat_message_begin(&w, CHAT_DIALECT_V2, 3);
  for (int i = 0; i < CHAT_DEFAULT_MAX_DEPTH; i++) {
    chat_write_dict_begin(&w);
    chat_write_key_cstr(&w, "$a");
  }
  chat_write_bytes(&w, (const uint8_t *)"x", 1);
  for (int i = 0; i < CHAT_DEFAULT_MAX_DEPTH; i++)
    chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_hex_encode(msg.data, msg.len, &hex);
  chat_buffer_append_byte(&hex, 0);

  program_result r = {0}, back = {0};
  chatctl((const char *)hex.data, &r, "decode", "--lenient", NULL, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  const char *argv[] = {CHATCTL_PATH, "encode", "--lenient", NULL};
  run_program(argv, r.out, r.out_len, NULL, &back);
  cr_assert_eq(back.status, 0, "%s", back.err);
  cr_assert_eq(back.out_len, hex.len, "hex plus newline");
  cr_assert(memcmp(back.out, hex.data, hex.len - 1) == 0, "byte for byte");
  program_result_clear(&r);
  program_result_clear(&back);
  chat_buffer_clear(&msg);
  chat_buffer_clear(&hex);
}

Test(chatctl_codec, help_and_usage) {
  program_result r = {0};
  chatctl(NULL, &r, "--help", NULL, NULL, NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "decode") && strstr(r.out, "encode") && strstr(r.out, "Exit status"));
  program_result_clear(&r);
  chatctl(NULL, &r, "decode", "--help", NULL, NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "usage: chatctl decode") && strstr(r.out, "Example"));
  program_result_clear(&r);
  chatctl(NULL, &r, "frobnicate", NULL, NULL, NULL);
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "unknown command 'frobnicate'"));
  program_result_clear(&r);
  chatctl(NULL, &r, NULL, NULL, NULL, NULL);
  cr_assert_eq(r.status, 2, "no command is a usage error");
  program_result_clear(&r);
  chatctl(NULL, &r, "--version", NULL, NULL, NULL);
  cr_assert_eq(r.status, 0);
  cr_assert(strncmp(r.out, "chatctl ", 8) == 0);
  program_result_clear(&r);
}
