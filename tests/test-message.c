/* Layer 2 and the catalogue: spec/vectors/messages.json and large.json, the
 * catalogue's consistency, and that spec/protocol.md documents every entry. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec-fixture.h"
#include "protocol/catalogue.h"
#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "protocol/shape.h"
#include "test-util.h"
#include "vectors.h"

#define MESSAGES "messages.json"
#define LARGE "large.json"

static chat_dialect dialect_of(const chat_json *vector) {
  chat_dialect d;
  cr_assert(chat_dialect_parse(vector_string(vector, "dialect"), &d));
  return d;
}

ParameterizedTestParameters(message_vectors, valid) {
  VECTOR_PARAMS(MESSAGES, "valid");
}

/* The vector's message encodes to its bytes, the bytes decode to it, its
 * name and code agree with the catalogue, and its parameters fit the
 * catalogue's shape. */
ParameterizedTest(vector_param *p, message_vectors, valid, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(MESSAGES, "valid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  chat_dialect dialect = dialect_of(vector);
  const chat_json *message = chat_json_object_get(vector, "message");
  int64_t code = vector_int(message, "type");
  const chat_message_info *info = chat_catalogue_by_code((uint32_t)code);
  cr_assert_not_null(info, "%s: type %lld not in the catalogue", name, (long long)code);
  cr_assert_str_eq(info->name, vector_string(message, "name"), "%s", name);

  chat_value *params = NULL;
  chat_error err;
  cr_assert_eq(chat_json_to_value(chat_json_object_get(message, "params"), &arena, &params, &err),
               0, "%s: %s", name, err.message);
  cr_assert_eq(chat_catalogue_check((uint32_t)code, params, &err), 0, "%s: %s", name, err.message);

  chat_message_header header = {.type = (uint32_t)code};
  if (chat_json_object_get(message, "request_id")) {
    header.has_request_id = true;
    header.request_id = (uint32_t)vector_int(message, "request_id");
  }
  chat_buffer want;
  chat_buffer_init(&want);
  vector_hex(vector, "hex", &want);
  cr_assert_eq(chat_message_encode_with_id(dialect, &header, params, &buf), 0);
  cr_assert(buf.len == want.len && memcmp(buf.data, want.data, want.len) == 0,
            "%s: encoding differs", name);

  chat_message_header got;
  chat_value *decoded;
  cr_assert_eq(chat_message_decode_with_id(dialect, want.data, want.len, NULL, CHAT_DECODE_BORROW,
                                           &arena, &got, &decoded, &err),
               0, "%s: %s", name, err.message);
  cr_assert_eq(got.type, (uint32_t)code);
  cr_assert_eq(got.has_request_id, header.has_request_id, "%s", name);
  cr_assert_eq(got.request_id, header.request_id, "%s", name);
  cr_assert(chat_value_equal(decoded, params), "%s: decoded params differ", name);

  /* A caller that does not care about request ids gets the same type and
   * parameters. */
  uint32_t type;
  cr_assert_eq(chat_message_decode(dialect, want.data, want.len, NULL, CHAT_DECODE_BORROW, &arena,
                                   &type, &decoded, &err),
               0, "%s: %s", name, err.message);
  cr_assert_eq(type, (uint32_t)code);
  chat_buffer_clear(&want);
}

ParameterizedTestParameters(message_vectors, invalid) {
  VECTOR_PARAMS(MESSAGES, "invalid");
}

ParameterizedTest(vector_param *p, message_vectors, invalid, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(MESSAGES, "invalid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  vector_hex(vector, "hex", &buf);
  uint32_t type;
  chat_value *params;
  chat_error err;
  int rc = chat_message_decode(dialect_of(vector), buf.data, buf.len, NULL, 0, &arena, &type,
                               &params, &err);
  cr_assert_neq(rc, 0, "%s: accepted", name);
  cr_assert_str_eq(chat_error_name(rc), vector_string(vector, "error"), "%s: %s", name,
                   err.message);
  cr_assert_eq((int64_t)err.offset, vector_int(vector, "offset"), "%s: %s", name, err.message);
}

Test(message_vectors, every_catalogue_entry_has_a_vector, .init = setup, .fini = teardown) {
  size_t n = vectors_count(MESSAGES, "valid");
  for (size_t k = 0; k < chat_catalogue_count(); k++) {
    const chat_message_info *info = chat_catalogue_at(k);
    const char *dialect = (info->dialects & CHAT_IN_SEED) ? "seed" : "v2";
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
      const chat_json *v = vectors_get(MESSAGES, "valid", i, &arena);
      found = strcmp(vector_string(v, "dialect"), dialect) == 0 &&
              vector_int(chat_json_object_get(v, "message"), "type") == info->code;
    }
    cr_assert(found, "no %s vector for %s", dialect, info->name);
  }
}

/* Builds a large.json template: the JSON mapping plus "$PATTERN" (bytes of
 * the pattern) and {"$encoded": T} (bytes holding the encoding of T). */
static void build_template(const chat_json *t, const uint8_t *pattern, size_t len,
                           chat_value *out) {
  const chat_json *inner = chat_json_object_get(t, "$encoded");
  if (t->kind == CHAT_JSON_STRING && strcmp(t->as.string.data, "$PATTERN") == 0) {
    chat_value_set_bytes(out, pattern, len);
  } else if (inner && t->as.object.count == 1) {
    chat_value v;
    build_template(inner, pattern, len, &v);
    chat_buffer enc;
    chat_buffer_init(&enc);
    cr_assert_eq(chat_value_encode(&v, &enc), 0);
    uint8_t *copy = chat_arena_copy(&arena, enc.data, enc.len);
    chat_value_set_bytes(out, copy, enc.len);
    chat_buffer_clear(&enc);
  } else if (t->kind == CHAT_JSON_ARRAY) {
    out->kind = CHAT_VALUE_LIST;
    out->as.list.count = t->as.array.count;
    out->as.list.items = chat_arena_alloc(&arena, t->as.array.count + 1, sizeof(chat_value));
    for (size_t i = 0; i < t->as.array.count; i++)
      build_template(&t->as.array.items[i], pattern, len, &out->as.list.items[i]);
  } else if (t->kind == CHAT_JSON_OBJECT) {
    out->kind = CHAT_VALUE_DICT;
    out->as.dict.count = t->as.object.count;
    out->as.dict.entries =
        chat_arena_alloc(&arena, t->as.object.count + 1, sizeof(chat_dict_entry));
    for (size_t i = 0; i < t->as.object.count; i++) {
      const chat_json_member *m = &t->as.object.members[i];
      out->as.dict.entries[i].key = m->key;
      out->as.dict.entries[i].key_len = m->key_len;
      build_template(&m->value, pattern, len, &out->as.dict.entries[i].value);
    }
  } else {
    chat_value *leaf;
    chat_error err;
    cr_assert_eq(chat_json_to_value(t, &arena, &leaf, &err), 0, "%s", err.message);
    *out = *leaf;
  }
}

static void sha256_hex(const uint8_t *data, size_t len, char out[2 * SHA256_DIGEST_SIZE + 1]) {
  struct sha256_ctx ctx;
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  sha256_update(&ctx, len, data);
  sha256_digest(&ctx, sizeof digest, digest);
  for (size_t i = 0; i < sizeof digest; i++)
    sprintf(out + 2 * i, "%02x", digest[i]);
}

Test(message_vectors, large_images_match_an_independent_encoder, .init = setup, .fini = teardown) {
  const chat_json *root = vectors_load(LARGE, &arena);
  const chat_json *cases = chat_json_object_get(root, "cases");
  cr_assert(cases && cases->kind == CHAT_JSON_ARRAY && cases->as.array.count >= 3);
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  for (size_t i = 0; i < cases->as.array.count; i++) {
    const chat_json *c = &cases->as.array.items[i];
    const char *name = vector_string(c, "name");
    size_t len = (size_t)vector_int(c, "bytes_len");
    uint8_t *pattern = malloc(len);
    for (size_t k = 0; k < len; k++)
      pattern[k] = (uint8_t)(k % 251);
    sha256_hex(pattern, len, hex);
    cr_assert_str_eq(hex, vector_string(root, "pattern_sha256"));

    chat_value params;
    build_template(chat_json_object_get(c, "params_template"), pattern, len, &params);
    chat_dialect dialect = dialect_of(c);
    uint32_t code = (uint32_t)vector_int(c, "type");
    chat_error err;
    cr_assert_eq(chat_catalogue_check(code, &params, &err), 0, "%s: %s", name, err.message);
    chat_buffer_reset(&buf);
    cr_assert_eq(chat_message_encode(dialect, code, &params, &buf), 0);
    cr_assert_eq((int64_t)buf.len, vector_int(c, "encoded_len"), "%s", name);
    sha256_hex(buf.data, buf.len, hex);
    cr_assert_str_eq(hex, vector_string(c, "sha256"), "%s", name);

    uint32_t type;
    chat_value *decoded;
    cr_assert_eq(chat_message_decode(dialect, buf.data, buf.len, NULL, CHAT_DECODE_BORROW, &arena,
                                     &type, &decoded, &err),
                 0, "%s", err.message);
    cr_assert_eq(type, code);
    cr_assert(chat_value_equal(decoded, &params), "%s: decoded params differ", name);
    free(pattern);
  }
}

ParameterizedTestParameters(message_vectors, catalogue_invalid) {
  VECTOR_PARAMS(MESSAGES, "catalogue_invalid");
}

/* The way a vector's message travels: "c2s" (a server receives it) or
 * "s2c" (a client does). */
static chat_direction direction_of(const chat_json *vector) {
  const char *direction = vector_string(vector, "direction");
  cr_assert(strcmp(direction, "c2s") == 0 || strcmp(direction, "s2c") == 0, "direction %s",
            direction);
  return strcmp(direction, "c2s") == 0 ? CHAT_TO_SERVER : CHAT_TO_CLIENT;
}

/* Messages that decode but that the catalogue refuses, as their receiver
 * checks them: a code unknown for that direction and dialect, or
 * parameters of the wrong shape. */
ParameterizedTest(vector_param *p, message_vectors, catalogue_invalid, .init = setup,
                  .fini = teardown) {
  const chat_json *vector = vectors_get(MESSAGES, "catalogue_invalid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  chat_dialect dialect = dialect_of(vector);
  vector_hex(vector, "hex", &buf);
  uint32_t type;
  chat_value *params;
  chat_error err;
  cr_assert_eq(
      chat_message_decode(dialect, buf.data, buf.len, NULL, 0, &arena, &type, &params, &err), 0,
      "%s: %s", name, err.message);
  int rc = chat_catalogue_lookup(type, dialect, direction_of(vector))
               ? chat_catalogue_check(type, params, &err)
               : CHAT_ERR_UNKNOWN_MESSAGE;
  cr_assert_neq(rc, 0, "%s: accepted", name);
  cr_assert_str_eq(chat_error_name(rc), vector_string(vector, "error"), "%s: %s", name,
                   err.message);
}

Test(message, seed_type_is_one_byte_v2_four, .init = setup, .fini = teardown) {
  chat_value null;
  chat_value_set_null(&null);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_SEED, 110, &null, &buf), 0);
  cr_assert_eq(buf.len, 2);
  cr_assert_eq(buf.data[0], 110);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_V2, 110, &null, &buf), 0);
  cr_assert_eq(buf.len, 5);
  cr_assert(memcmp(buf.data, "\x00\x00\x00\x6e\x00", 5) == 0);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_SEED, 256, &null, &buf), CHAT_ERR_INVALID_ARGUMENT);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_V2, 70000, &null, &buf), 0);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_V2, 0x1000000, &null, &buf),
               CHAT_ERR_INVALID_ARGUMENT, "the type has 24 bits; the others are flags");
}

Test(message, request_id_follows_the_flagged_v2_header, .init = setup, .fini = teardown) {
  chat_value null;
  chat_value_set_null(&null);
  chat_message_header h = {.type = 105, .has_request_id = true, .request_id = 0x01020304};
  cr_assert_eq(chat_message_encode_with_id(CHAT_DIALECT_V2, &h, &null, &buf), 0);
  cr_assert_eq(buf.len, 9);
  cr_assert(memcmp(buf.data, "\x80\x00\x00\x69\x01\x02\x03\x04\x00", 9) == 0);
  cr_assert_eq(chat_message_header_size(CHAT_DIALECT_V2, &h), 8);
  chat_buffer_reset(&buf);
  cr_assert_eq(chat_message_encode_with_id(CHAT_DIALECT_SEED, &h, &null, &buf),
               CHAT_ERR_INVALID_ARGUMENT, "the seed dialect has no request ids");
}

/* chatd encodes a reply before it knows its request id: inserting the id
 * into the spare bytes in front gives the bytes of encoding with it. */
Test(message, insert_request_id_matches_encoding_with_it, .init = setup, .fini = teardown) {
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_value_parse_json("[true, 7]", 9, &arena, &params, &err), 0);
  chat_message_header h = {.type = 107, .has_request_id = true, .request_id = 0xfffffffe};
  cr_assert_eq(chat_message_encode_with_id(CHAT_DIALECT_V2, &h, params, &buf), 0);
  chat_buffer later;
  chat_buffer_init(&later);
  cr_assert_eq(chat_buffer_append(&later, (const uint8_t *)"\0\0\0\0", 4), 0);
  cr_assert_eq(chat_message_encode(CHAT_DIALECT_V2, 107, params, &later), 0);
  chat_message_insert_request_id(later.data + CHAT_MESSAGE_REQUEST_ID_SIZE, h.request_id);
  cr_assert(later.len == buf.len && memcmp(later.data, buf.data, buf.len) == 0);
  chat_buffer_clear(&later);
}

Test(message, value_errors_count_from_the_message_start, .init = setup, .fini = teardown) {
  /* v2: type, then a str with invalid UTF-8 at message offset 4. */
  const uint8_t msg[] = {0, 0, 0, 4, 3, 0, 0, 0, 1, 0xff};
  uint32_t type;
  chat_value *params;
  chat_error err;
  cr_assert_eq(
      chat_message_decode(CHAT_DIALECT_V2, msg, sizeof msg, NULL, 0, &arena, &type, &params, &err),
      CHAT_ERR_UTF8);
  cr_assert_eq(err.offset, 4);
  cr_assert_eq(chat_message_decode(CHAT_DIALECT_SEED, msg + 3, sizeof msg - 3, NULL, 0, &arena,
                                   &type, &params, &err),
               CHAT_ERR_UTF8);
  cr_assert_eq(err.offset, 1);
}

Test(message, dialect_names) {
  chat_dialect d;
  cr_assert(chat_dialect_parse("seed", &d) && d == CHAT_DIALECT_SEED);
  cr_assert(chat_dialect_parse("v2", &d) && d == CHAT_DIALECT_V2);
  cr_assert_not(chat_dialect_parse("v3", &d));
  cr_assert_str_eq(chat_dialect_name(CHAT_DIALECT_V2), "v2");
  cr_assert_eq(chat_dialect_type_size(CHAT_DIALECT_SEED), 1);
  cr_assert_eq(chat_dialect_type_size(CHAT_DIALECT_V2), 4);
}

/* ---- the catalogue ----------------------------------------------------- */

static const char *resolve(const char *name, size_t len, void *data) {
  (void)data;
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)len, name);
  const chat_shape_definition *def = chat_catalogue_shape_by_name(key);
  return def ? def->shape : NULL;
}

Test(catalogue, codes_and_names_are_unique_and_shapes_well_formed) {
  size_t n = chat_catalogue_count();
  cr_assert_geq(n, 28, "every seed message");
  for (size_t i = 0; i < n; i++) {
    const chat_message_info *a = chat_catalogue_at(i);
    chat_error err;
    cr_assert_eq(chat_shape_validate(a->shape, resolve, NULL, &err), 0, "%s: %s", a->name,
                 err.message);
    cr_assert_eq(chat_catalogue_by_code(a->code), a);
    cr_assert_eq(chat_catalogue_by_name(a->name), a);
    if (a->dialects & CHAT_IN_SEED)
      cr_assert_leq(a->code, 255, "%s must fit the seed's one-byte type", a->name);
    cr_assert_neq(a->summary[0], '\0');
  }
  for (size_t i = 0; i < chat_catalogue_shape_count(); i++) {
    const chat_shape_definition *s = chat_catalogue_shape_at(i);
    chat_error err;
    cr_assert_eq(chat_shape_validate(s->shape, resolve, NULL, &err), 0, "@%s: %s", s->name,
                 err.message);
  }
  cr_assert_null(chat_catalogue_by_code(99));
  cr_assert_null(chat_catalogue_by_name("nope"));
  cr_assert_null(chat_catalogue_at(n));
}

Test(catalogue, seed_codes_are_the_seed_systems) {
  static const struct {
    uint32_t code;
    const char *name;
  } seed[] = {
      {1, "login"},
      {2, "register"},
      {3, "client_echo"},
      {4, "add_friend"},
      {5, "resolve_friend_request"},
      {6, "send_message"},
      {7, "join_room"},
      {8, "create_room"},
      {9, "query_room_users"},
      {10, "bad"},
      {100, "login_successful"},
      {101, "register_successful"},
      {102, "incoming_friend_request"},
      {103, "contact_info"},
      {104, "chat_history"},
      {105, "server_echo"},
      {106, "add_friend_result"},
      {107, "friend_on_off_line"},
      {108, "notify_chat_history"},
      {109, "on_new_message"},
      {110, "server_kick"},
      {111, "query_room_users_result"},
      {112, "room_user_on_off_line"},
      {113, "login_bundle"},
      {201, "login_failed"},
      {202, "username_taken"},
      {203, "general_failure"},
      {204, "general_msg"},
  };
  for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
    const chat_message_info *info = chat_catalogue_by_code(seed[i].code);
    cr_assert_not_null(info, "code %u", seed[i].code);
    cr_assert_str_eq(info->name, seed[i].name);
    cr_assert(info->dialects & CHAT_IN_SEED);
    cr_assert_eq(info->direction, seed[i].code < 100 ? CHAT_TO_SERVER : CHAT_TO_CLIENT);
  }
}

Test(catalogue, lookup_honours_dialect_and_direction) {
  cr_assert_not_null(chat_catalogue_lookup(CHAT_MSG_LOGIN, CHAT_DIALECT_SEED, CHAT_TO_SERVER));
  cr_assert_not_null(chat_catalogue_lookup(CHAT_MSG_LOGIN, CHAT_DIALECT_V2, CHAT_TO_SERVER));
  cr_assert_null(chat_catalogue_lookup(CHAT_MSG_LOGIN, CHAT_DIALECT_V2, CHAT_TO_CLIENT),
                 "a client does not receive login");
  cr_assert_null(chat_catalogue_lookup(CHAT_MSG_RESUME, CHAT_DIALECT_SEED, CHAT_TO_SERVER),
                 "resume is v2 only");
  cr_assert_not_null(chat_catalogue_lookup(CHAT_MSG_RESUME, CHAT_DIALECT_V2, CHAT_TO_SERVER));
  cr_assert_null(chat_catalogue_lookup(CHAT_MSG_SESSION_BUNDLE, CHAT_DIALECT_SEED, CHAT_TO_CLIENT));
  cr_assert_null(chat_catalogue_lookup(12345, CHAT_DIALECT_V2, CHAT_TO_SERVER));
  /* Every v2-only message has a code the seed's one byte could carry, but
   * is still refused there. */
  for (size_t i = 0; i < chat_catalogue_count(); i++) {
    const chat_message_info *m = chat_catalogue_at(i);
    if (!(m->dialects & CHAT_IN_SEED))
      cr_assert_null(chat_catalogue_lookup(m->code, CHAT_DIALECT_SEED, m->direction), "%s",
                     m->name);
  }
}

Test(catalogue, check_names_the_path_of_a_wrong_parameter, .init = setup, .fini = teardown) {
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_value_parse_json("[\"alice\", 5]", 12, &arena, &params, &err), 0);
  cr_assert_eq(chat_catalogue_check(CHAT_MSG_LOGIN, params, &err), CHAT_ERR_SHAPE);
  cr_assert_str_eq(err.message, "params[1]: expected str, got int");

  const char *send = "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, "
                     "\"data\": \"hi\", \"fontsize\": 12}}";
  cr_assert_eq(chat_value_parse_json(send, strlen(send), &arena, &params, &err), 0);
  cr_assert_eq(chat_catalogue_check(CHAT_MSG_SEND_MESSAGE, params, &err), CHAT_ERR_SHAPE);
  cr_assert(strstr(err.message, "params.message") != NULL, "%s", err.message);
  cr_assert_eq(chat_catalogue_check(999, params, &err), CHAT_ERR_UNKNOWN_MESSAGE);
}

Test(catalogue, spec_documents_every_entry) {
  char path[4096];
  snprintf(path, sizeof path, "%s/../protocol.md", CHAT_SPEC_VECTORS_DIR);
  char *spec = read_whole_file(path, NULL);
  cr_assert_not_null(spec, "cannot read %s", path);
  for (size_t i = 0; i < chat_catalogue_count(); i++) {
    const chat_message_info *info = chat_catalogue_at(i);
    char row[128];
    snprintf(row, sizeof row, "| %u | %s |", info->code, info->name);
    cr_assert(strstr(spec, row) != NULL, "spec/protocol.md has no row \"%s\"", row);
  }
  for (size_t i = 0; i < chat_catalogue_shape_count(); i++) {
    char ref[64];
    snprintf(ref, sizeof ref, "@%s", chat_catalogue_shape_at(i)->name);
    cr_assert(strstr(spec, ref) != NULL, "spec/protocol.md does not define %s", ref);
  }
  free(spec);
}
