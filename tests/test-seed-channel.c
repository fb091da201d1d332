/* Tests of the seed dialect's secure channel (protocol/seed-channel.h) and its
 * DH group (protocol/dh-group.h): every vector of
 * spec/vectors/seed-channel.json (made by
 * spec/vectors/tools/make-seed-channel-vectors.py, independently of this
 * code), a client and a server talking in process, and the rejections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-glib/json-glib.h>

#include "protocol/dh-group.h"
#include "protocol/seed-channel.h"
#include "test-util.h"

#ifndef CHAT_SPEC_VECTORS_DIR
#error "CHAT_SPEC_VECTORS_DIR must name the spec/vectors directory"
#endif

#define VECTORS_FILE CHAT_SPEC_VECTORS_DIR "/seed-channel.json"
#define TEST_MAX_FRAME (1024 * 1024)     /* room for the 300 KB messages */
#define DEFAULT_GROUP "rfc3526-modp2048"
#define SMALL_GROUP "test-safe-prime-797"
/* Heap growth tolerated between two idle moments of a channel pair. */
#define IDLE_HEAP_SLACK 256u

/* --- vectors ----------------------------------------------------------- */

static JsonParser *vectors_parser;

static JsonObject *vectors(void) {
  if (vectors_parser == NULL) {
    GError *error = NULL;
    vectors_parser = json_parser_new();
    if (!json_parser_load_from_file(vectors_parser, VECTORS_FILE, &error))
      cr_assert_fail("cannot load %s: %s", VECTORS_FILE, error->message);
  }
  return json_node_get_object(json_parser_get_root(vectors_parser));
}

static JsonArray *vector_list(const char *name) {
  JsonObject *root = vectors();
  cr_assert(json_object_has_member(root, name), "vectors have no \"%s\"", name);
  return json_object_get_array_member(root, name);
}

static JsonObject *vector_at(const char *list, int index) {
  JsonArray *array = vector_list(list);
  cr_assert_lt((guint)index, json_array_get_length(array));
  return json_array_get_object_element(array, (guint)index);
}

static const char *member(JsonObject *object, const char *name) {
  cr_assert(json_object_has_member(object, name), "vector lacks \"%s\"", name);
  return json_object_get_string_member(object, name);
}

typedef struct {
  uint8_t *data;
  size_t len;
} bytes;

/* Decodes hex; the result is freed with bytes_free (data is never NULL). */
static bytes from_hex(const char *hex) {
  bytes b;
  cr_assert(test_hex_decode(hex, &b.data, &b.len), "bad hex");
  return b;
}

static bytes hex_member(JsonObject *object, const char *name) {
  return from_hex(member(object, name));
}

static void bytes_free(bytes *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
}

static void group_from_vectors(const char *name, chat_dh_group *group) {
  JsonObject *groups = json_object_get_object_member(vectors(), "groups");
  cr_assert(json_object_has_member(groups, name), "no group %s", name);
  JsonObject *g = json_object_get_object_member(groups, name);
  chat_error err;
  int rc = chat_dh_group_init(group, member(g, "base"), member(g, "modulus"), &err);
  cr_assert_eq(rc, 0, "group %s: %s", name, err.message);
  cr_assert_eq(chat_dh_group_modulus_bytes(group),
               (size_t)json_object_get_int_member(g, "modulus_bytes"));
  cr_assert_eq(group->modulus_bits, (size_t)json_object_get_int_member(g, "modulus_bits"));
}

/* An array of 0..n-1 for ParameterizedTest, n = length of a vector list. */
static void free_indices(struct criterion_test_params *params) {
  cr_free(params->params);
}

static struct criterion_test_params indices_of(const char *list) {
  size_t n = json_array_get_length(vector_list(list));
  int *indices = cr_malloc(sizeof(int) * n);
  for (size_t i = 0; i < n; i++)
    indices[i] = (int)i;
  return cr_make_param_array(int, indices, n, free_indices);
}

/* --- channel helpers --------------------------------------------------- */

/* Everything the channel has to write (output hands it out in batches). */
static bytes take_output(chat_seed_channel *ch) {
  bytes b = {malloc(1), 0};
  cr_assert_not_null(b.data);
  for (;;) {
    const uint8_t *data;
    size_t len;
    cr_assert_eq(chat_seed_channel_output(ch, &data, &len), 0);
    if (len == 0)
      return b;
    b.data = realloc(b.data, b.len + len + 1);
    cr_assert_not_null(b.data);
    memcpy(b.data + b.len, data, len);
    b.len += len;
    cr_assert_eq(chat_seed_channel_output_consumed(ch, len), 0);
  }
}

static size_t output_length(chat_seed_channel *ch) {
  const uint8_t *data;
  size_t len;
  cr_assert_eq(chat_seed_channel_output(ch, &data, &len), 0);
  return len;
}

static void assert_bytes_eq(const uint8_t *got, size_t got_len, const bytes *want, const char *what) {
  cr_assert_eq(got_len, want->len, "%s: length %zu, want %zu", what, got_len, want->len);
  cr_assert(got_len == 0 || memcmp(got, want->data, got_len) == 0, "%s: bytes differ", what);
}

static void assert_error_named(int rc, const char *name, const char *what) {
  const char *got = chat_error_name(rc);
  cr_assert_not_null(got, "%s: code %d has no name", what, rc);
  cr_assert_str_eq(got, name, "%s: got %s (%d), want %s", what, got, rc, name);
}

/* Every call on a dead channel answers its fatal error. */
static void assert_dead(chat_seed_channel *ch, int code) {
  static const uint8_t frame_like[CHAT_SEED_FRAME_HEADER_BYTES + 16] = {0, 0, 0, 16};
  const uint8_t *data;
  size_t len;
  uint8_t key[CHAT_SEED_KEY_BYTES];
  cr_assert(chat_seed_is_fatal(code), "%s is not fatal", chat_error_name(code));
  cr_assert_eq(chat_seed_channel_error(ch), code);
  cr_assert_neq(chat_seed_channel_error_message(ch)[0], '\0', "no reason text");
  cr_assert_not(chat_seed_channel_is_established(ch));
  cr_assert_eq(chat_seed_channel_feed(ch, frame_like, sizeof frame_like), code);
  cr_assert_eq(chat_seed_channel_feed(ch, frame_like, 1), code);
  cr_assert_eq(chat_seed_channel_next_message(ch, &data, &len), code);
  cr_assert_eq(chat_seed_channel_send(ch, (const uint8_t *)"x", 1), code);
  cr_assert_eq(chat_seed_channel_output(ch, &data, &len), code);
  cr_assert_eq(chat_seed_channel_output_consumed(ch, 0), code);
  cr_assert_eq(chat_seed_channel_session_key(ch, key), code);
  cr_assert_eq(chat_seed_channel_start(ch), code);
  cr_assert_eq(chat_seed_channel_receive_public(ch, (const uint8_t *)"\x05", 1), code);
}

/* Deterministic xorshift64*, so a failure can be replayed. */
typedef struct {
  uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return r->state * UINT64_C(2685821657736338717);
}

static size_t rng_below(rng *r, size_t n) {
  return (size_t)(rng_next(r) % n);
}

static bytes random_message(rng *r, size_t len) {
  bytes b = {malloc(len + 1), len};
  cr_assert_not_null(b.data);
  for (size_t i = 0; i < len; i++)
    b.data[i] = (uint8_t)rng_next(r);
  return b;
}

/* Feeds data to ch in chunks of 1..max_chunk bytes (chosen by r), takes
 * every message out and checks it against expected[*next]. */
static void feed_and_check(chat_seed_channel *ch, const uint8_t *data, size_t len,
                           rng *r, size_t max_chunk, const bytes *expected,
                           size_t expected_count, size_t *next) {
  size_t pos = 0;
  while (pos < len) {
    size_t chunk = max_chunk <= 1 ? 1 : 1 + rng_below(r, max_chunk);
    if (chunk > len - pos)
      chunk = len - pos;
    size_t done = 0;
    while (done < chunk) {
      ptrdiff_t used = chat_seed_channel_feed(ch, data + pos + done, chunk - done);
      cr_assert_geq(used, 0, "feed: %s (%s)", chat_strerror((int)used),
                    chat_seed_channel_error_message(ch));
      done += (size_t)used;
      const uint8_t *msg;
      size_t msg_len;
      int got;
      bool any = false;
      while ((got = chat_seed_channel_next_message(ch, &msg, &msg_len)) == 1) {
        cr_assert_lt(*next, expected_count, "more messages than were sent");
        assert_bytes_eq(msg, msg_len, &expected[*next], "received message");
        (*next)++;
        any = true;
      }
      cr_assert_eq(got, 0);
      /* No progress is only possible when a message was waiting. */
      cr_assert(used > 0 || any || done == chunk, "feed made no progress");
    }
    pos += chunk;
  }
}

/* A client and a server that have completed the DH start. */
static void connect_pair(const chat_dh_group *group, size_t max_frame,
                         chat_seed_channel **client, chat_seed_channel **server) {
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, group, max_frame, client), 0);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, group, max_frame, server), 0);
  cr_assert_eq(chat_seed_channel_start(*client), 0);
  cr_assert_eq(output_length(*server), 0, "server spoke before the client");
  bytes a = take_output(*client);
  cr_assert_leq(a.len, chat_dh_group_modulus_bytes(group));
  cr_assert_eq(chat_seed_channel_receive_public(*server, a.data, a.len), 0);
  bytes b = take_output(*server);
  cr_assert_eq(chat_seed_channel_receive_public(*client, b.data, b.len), 0);
  cr_assert(chat_seed_channel_is_established(*client));
  cr_assert(chat_seed_channel_is_established(*server));
  uint8_t kc[CHAT_SEED_KEY_BYTES], ks[CHAT_SEED_KEY_BYTES];
  cr_assert_eq(chat_seed_channel_session_key(*client, kc), 0);
  cr_assert_eq(chat_seed_channel_session_key(*server, ks), 0);
  cr_assert_arr_eq(kc, ks, sizeof kc, "client and server keys differ");
  bytes_free(&a);
  bytes_free(&b);
}

/* --- vectors: handshakes ---------------------------------------------- */

ParameterizedTestParameters(seed_vectors, handshake) {
  return indices_of("handshakes");
}

ParameterizedTest(int *index, seed_vectors, handshake) {
  JsonObject *v = vector_at("handshakes", *index);
  const char *name = member(v, "name");
  chat_dh_group group;
  group_from_vectors(member(v, "group"), &group);
  bytes a = hex_member(v, "client_private"), b = hex_member(v, "server_private");
  bytes pub_a = hex_member(v, "client_public"), pub_b = hex_member(v, "server_public");
  bytes shared = hex_member(v, "shared_secret"), key = hex_member(v, "key");

  chat_seed_channel *client, *server;
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, TEST_MAX_FRAME, &client), 0);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, TEST_MAX_FRAME, &server), 0);
  cr_assert_eq(chat_seed_channel_set_private(client, a.data, a.len), 0, "%s", name);
  cr_assert_eq(chat_seed_channel_set_private(server, b.data, b.len), 0, "%s", name);

  /* Client: A exactly as the seed sends it. */
  cr_assert_eq(chat_seed_channel_start(client), 0);
  bytes out_a = take_output(client);
  assert_bytes_eq(out_a.data, out_a.len, &pub_a, name);

  /* Server: B only after A. */
  cr_assert_eq(output_length(server), 0);
  cr_assert_eq(chat_seed_channel_receive_public(server, pub_a.data, pub_a.len), 0, "%s", name);
  bytes out_b = take_output(server);
  assert_bytes_eq(out_b.data, out_b.len, &pub_b, name);
  cr_assert_eq(chat_seed_channel_receive_public(client, pub_b.data, pub_b.len), 0, "%s", name);

  uint8_t got[CHAT_SEED_KEY_BYTES];
  cr_assert_eq(chat_seed_channel_session_key(client, got), 0);
  assert_bytes_eq(got, sizeof got, &key, name);
  cr_assert_eq(chat_seed_channel_session_key(server, got), 0);
  assert_bytes_eq(got, sizeof got, &key, name);

  /* The shared secret's minimal encoding, through the DH primitives. */
  mpz_t x, peer, s;
  mpz_inits(x, peer, s, NULL);
  mpz_import(x, a.len, 1, 1, 1, 0, a.data);
  cr_assert_eq(chat_dh_import_public(&group, pub_b.data, pub_b.len, peer), 0);
  mpz_powm(s, peer, x, group.modulus);
  uint8_t encoded[CHAT_DH_MODULUS_MAX_BYTES];
  size_t n = chat_dh_encode_minimal(s, encoded, sizeof encoded);
  assert_bytes_eq(encoded, n, &shared, name);
  cr_assert_eq((size_t)json_object_get_int_member(v, "shared_secret_bytes"), n);
  uint8_t derived[CHAT_DH_KEY_BYTES];
  chat_dh_derive_key(&group, x, peer, derived);
  assert_bytes_eq(derived, sizeof derived, &key, name);
  mpz_clears(x, peer, s, NULL);

  chat_seed_channel_free(client);
  chat_seed_channel_free(server);
  chat_dh_group_clear(&group);
  bytes *all[] = {&a, &b, &pub_a, &pub_b, &shared, &key, &out_a, &out_b};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    bytes_free(all[i]);
}

Test(seed_vectors, has_short_shared_secret_and_both_groups) {
  JsonArray *list = vector_list("handshakes");
  bool short_secret = false, short_public = false, small_group = false;
  for (guint i = 0; i < json_array_get_length(list); i++) {
    JsonObject *v = json_array_get_object_element(list, i);
    chat_dh_group group;
    group_from_vectors(member(v, "group"), &group);
    size_t k = chat_dh_group_modulus_bytes(&group);
    if ((size_t)json_object_get_int_member(v, "shared_secret_bytes") < k)
      short_secret = true;
    if (strlen(member(v, "client_public")) / 2 < k)
      short_public = true;
    if (strcmp(member(v, "group"), SMALL_GROUP) == 0)
      small_group = true;
    chat_dh_group_clear(&group);
  }
  cr_assert(short_secret && short_public && small_group);
}

/* --- vectors: public values ------------------------------------------- */

ParameterizedTestParameters(seed_vectors, valid_public) {
  return indices_of("valid_publics");
}

ParameterizedTest(int *index, seed_vectors, valid_public) {
  JsonObject *v = vector_at("valid_publics", *index);
  chat_dh_group group;
  group_from_vectors(member(v, "group"), &group);
  bytes value = hex_member(v, "value");
  for (int role = CHAT_SEED_ROLE_CLIENT; role <= CHAT_SEED_ROLE_SERVER; role++) {
    chat_seed_channel *ch;
    cr_assert_eq(chat_seed_channel_new((chat_seed_role)role, &group, TEST_MAX_FRAME, &ch), 0);
    cr_assert_eq(chat_seed_channel_start(ch), 0);
    cr_assert_eq(chat_seed_channel_receive_public(ch, value.data, value.len), 0, "%s: %s",
                 member(v, "name"), chat_seed_channel_error_message(ch));
    cr_assert(chat_seed_channel_is_established(ch));
    chat_seed_channel_free(ch);
  }
  bytes_free(&value);
  chat_dh_group_clear(&group);
}

ParameterizedTestParameters(seed_vectors, invalid_public) {
  return indices_of("invalid_publics");
}

ParameterizedTest(int *index, seed_vectors, invalid_public) {
  JsonObject *v = vector_at("invalid_publics", *index);
  const char *name = member(v, "name");
  chat_dh_group group;
  group_from_vectors(member(v, "group"), &group);
  bytes value = hex_member(v, "value");
  for (int role = CHAT_SEED_ROLE_CLIENT; role <= CHAT_SEED_ROLE_SERVER; role++) {
    chat_seed_channel *ch;
    cr_assert_eq(chat_seed_channel_new((chat_seed_role)role, &group, TEST_MAX_FRAME, &ch), 0);
    if (role == CHAT_SEED_ROLE_CLIENT) {
      cr_assert_eq(chat_seed_channel_start(ch), 0);
      bytes a = take_output(ch);
      bytes_free(&a);
    }
    int rc = chat_seed_channel_receive_public(ch, value.data, value.len);
    assert_error_named(rc, member(v, "error"), name);
    if (role == CHAT_SEED_ROLE_SERVER) {
      mpz_t parsed;
      mpz_init(parsed);
      cr_assert_eq(chat_dh_import_public(&group, value.data, value.len, parsed), rc);
      mpz_clear(parsed);
    }
    assert_dead(ch, rc);
    chat_seed_channel_free(ch);
  }
  bytes_free(&value);
  chat_dh_group_clear(&group);
}

/* --- vectors: frames --------------------------------------------------- */

ParameterizedTestParameters(seed_vectors, frame) {
  return indices_of("frames");
}

ParameterizedTest(int *index, seed_vectors, frame) {
  JsonObject *v = vector_at("frames", *index);
  const char *name = member(v, "name");
  bytes key = hex_member(v, "key"), iv = hex_member(v, "iv");
  bytes plaintext = hex_member(v, "plaintext"), frame = hex_member(v, "frame");
  cr_assert_eq(key.len, CHAT_SEED_KEY_BYTES);
  cr_assert_eq(iv.len, CHAT_SEED_IV_BYTES);

  /* Encrypting with the vector's IV gives the vector's frame. */
  size_t size = chat_seed_frame_size(plaintext.len);
  cr_assert_eq(size, frame.len, "%s: frame size", name);
  uint8_t *out = malloc(size);
  cr_assert_eq(chat_seed_frame_encrypt(key.data, iv.data, plaintext.data, plaintext.len, out), size);
  assert_bytes_eq(out, size, &frame, name);
  free(out);

  /* Receiving the frame, whole and one byte at a time. */
  for (size_t max_chunk = frame.len; max_chunk >= 1; max_chunk = max_chunk == 1 ? 0 : 1) {
    chat_seed_channel *ch;
    cr_assert_eq(chat_seed_channel_new_with_key(key.data, TEST_MAX_FRAME, &ch), 0);
    rng r = {UINT64_C(0x5eed) + (uint64_t)*index};
    size_t next = 0;
    feed_and_check(ch, frame.data, frame.len, &r, max_chunk, &plaintext, 1, &next);
    cr_assert_eq(next, 1, "%s: no message", name);
    chat_seed_channel_free(ch);
  }

  /* A sent frame differs only in its IV: decrypting it gives the plaintext. */
  chat_seed_channel *tx, *rx;
  cr_assert_eq(chat_seed_channel_new_with_key(key.data, TEST_MAX_FRAME, &tx), 0);
  cr_assert_eq(chat_seed_channel_new_with_key(key.data, TEST_MAX_FRAME, &rx), 0);
  cr_assert_eq(chat_seed_channel_send(tx, plaintext.data, plaintext.len), 0);
  bytes sent = take_output(tx);
  cr_assert_eq(sent.len, frame.len);
  cr_assert_arr_eq(sent.data, frame.data, CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES,
                   "%s: L and n", name);
  rng r = {1};
  size_t next = 0;
  feed_and_check(rx, sent.data, sent.len, &r, sent.len, &plaintext, 1, &next);
  cr_assert_eq(next, 1);
  chat_seed_channel_free(tx);
  chat_seed_channel_free(rx);

  bytes *all[] = {&key, &iv, &plaintext, &frame, &sent};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    bytes_free(all[i]);
}

ParameterizedTestParameters(seed_vectors, invalid_frame) {
  return indices_of("invalid_frames");
}

/* Where the error must be reported: at the last length byte for L errors
 * (nothing read or allocated beyond), at the pad count byte for n, at the
 * last byte for the padding check. */
static size_t error_position(const char *error, size_t frame_len) {
  if (strcmp(error, "frame_empty") == 0 || strcmp(error, "frame_misaligned") == 0 ||
      strcmp(error, "frame_too_large") == 0)
    return CHAT_SEED_LENGTH_BYTES;
  if (strcmp(error, "pad_count") == 0)
    return CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES;
  return frame_len;
}

ParameterizedTest(int *index, seed_vectors, invalid_frame) {
  JsonObject *v = vector_at("invalid_frames", *index);
  const char *name = member(v, "name");
  const char *error = member(v, "error");
  bytes key = hex_member(v, "key"), frame = hex_member(v, "frame");
  size_t max_frame = (size_t)json_object_get_int_member(v, "max_frame");
  size_t at = error_position(error, frame.len);

  /* One byte at a time: the error comes at exactly the expected byte. */
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new_with_key(key.data, max_frame, &ch), 0);
  int rc = 0;
  for (size_t i = 0; i < frame.len; i++) {
    ptrdiff_t used = chat_seed_channel_feed(ch, frame.data + i, 1);
    if (used < 0) {
      rc = (int)used;
      cr_assert_eq(i + 1, at, "%s: error after %zu bytes, want %zu", name, i + 1, at);
      break;
    }
    cr_assert_eq(used, 1);
    const uint8_t *msg;
    size_t len;
    cr_assert_eq(chat_seed_channel_next_message(ch, &msg, &len), 0, "%s: got a message", name);
  }
  assert_error_named(rc, error, name);
  assert_dead(ch, rc);
  chat_seed_channel_free(ch);

  /* All at once: the same error. */
  cr_assert_eq(chat_seed_channel_new_with_key(key.data, max_frame, &ch), 0);
  cr_assert_eq(chat_seed_channel_feed(ch, frame.data, frame.len), rc, "%s: whole frame", name);
  assert_dead(ch, rc);
  chat_seed_channel_free(ch);
  bytes_free(&key);
  bytes_free(&frame);
}

/* --- DH group ---------------------------------------------------------- */

static int group_init_error(const char *base, const char *modulus, chat_error *err) {
  chat_dh_group group;
  memset(err, 0, sizeof *err);
  int rc = chat_dh_group_init(&group, base, modulus, err);
  cr_assert_neq(rc, 0, "accepted base=%.20s modulus=%.20s", base, modulus);
  cr_assert_eq((int)err->code, rc);
  cr_assert_neq(err->message[0], '\0');
  cr_assert_not_null(chat_strerror(rc));
  chat_dh_group_clear(&group); /* harmless after a failure */
  return rc;
}

Test(dh_group, rejects_bad_numbers) {
  chat_error err;
  /* 2^64 + 1 is the smallest odd modulus accepted; 2^64 - 1 is refused. */
  const char *p64 = "18446744073709551617";
  chat_dh_group ok;
  cr_assert_eq(chat_dh_group_init(&ok, "2", p64, &err), 0, "%s", err.message);
  chat_dh_group_clear(&ok);

  cr_assert_eq(group_init_error("2", "", &err), CHAT_DH_ERR_EMPTY);
  cr_assert_eq(group_init_error("", p64, &err), CHAT_DH_ERR_EMPTY);
  cr_assert(strstr(err.message, "base") != NULL, "%s", err.message);
  cr_assert_eq(group_init_error("2", "1844674407370955161x7", &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(err.offset, 19);
  cr_assert(strstr(err.message, "modulus") != NULL, "%s", err.message);
  cr_assert_eq(group_init_error("2", " 18446744073709551617", &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error("2", "18446744073709551617 ", &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error("-2", p64, &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error("+2", p64, &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error("2", "1.8446744073709551617e19", &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error("2", "0x10000000000000001", &err), CHAT_DH_ERR_NOT_DECIMAL);
  cr_assert_eq(group_init_error(NULL, p64, &err), CHAT_DH_ERR_INVALID_ARGUMENT);
  cr_assert_eq(group_init_error("2", NULL, &err), CHAT_DH_ERR_INVALID_ARGUMENT);

  cr_assert_eq(group_init_error("2", "18446744073709551615", &err), CHAT_DH_ERR_MODULUS_TOO_SMALL);
  cr_assert_eq(group_init_error("2", "23", &err), CHAT_DH_ERR_MODULUS_TOO_SMALL);
  cr_assert_eq(group_init_error("2", "0", &err), CHAT_DH_ERR_MODULUS_TOO_SMALL);
  cr_assert_eq(group_init_error("2", "18446744073709551618", &err), CHAT_DH_ERR_MODULUS_EVEN);

  /* Base outside 2..p-2. */
  cr_assert_eq(group_init_error("0", p64, &err), CHAT_DH_ERR_BASE_RANGE);
  cr_assert_eq(group_init_error("1", p64, &err), CHAT_DH_ERR_BASE_RANGE);
  cr_assert_eq(group_init_error("18446744073709551616", p64, &err), CHAT_DH_ERR_BASE_RANGE);
  cr_assert_eq(group_init_error("18446744073709551617", p64, &err), CHAT_DH_ERR_BASE_RANGE);
  cr_assert_eq(group_init_error("99999999999999999999999", p64, &err), CHAT_DH_ERR_BASE_RANGE);
  cr_assert_eq(chat_dh_group_init(&ok, "18446744073709551615", p64, &err), 0, "p-2 is allowed");
  chat_dh_group_clear(&ok);

  /* Too large for a seed peer's single 1024-byte read, and too many digits. */
  mpz_t big;
  mpz_init(big);
  mpz_ui_pow_ui(big, 2, CHAT_DH_MODULUS_MAX_BITS);
  mpz_add_ui(big, big, 1);
  char *digits = mpz_get_str(NULL, 10, big);
  cr_assert_eq(group_init_error("2", digits, &err), CHAT_DH_ERR_MODULUS_TOO_LARGE);
  free(digits);
  mpz_ui_pow_ui(big, 2, CHAT_DH_MODULUS_MAX_BITS);
  mpz_sub_ui(big, big, 1);
  digits = mpz_get_str(NULL, 10, big);
  cr_assert_eq(chat_dh_group_init(&ok, "2", digits, &err), 0, "a 1024-byte modulus is allowed");
  cr_assert_eq(chat_dh_group_modulus_bytes(&ok), CHAT_DH_MODULUS_MAX_BYTES);
  chat_dh_group_clear(&ok);
  free(digits);
  mpz_clear(big);
  char many[CHAT_DH_DECIMAL_MAX_DIGITS + 2];
  memset(many, '1', sizeof many - 1);
  many[sizeof many - 1] = '\0';
  cr_assert_eq(group_init_error("2", many, &err), CHAT_DH_ERR_TOO_MANY_DIGITS);
}

Test(dh_group, default_group_and_sizes) {
  chat_dh_group group;
  group_from_vectors(DEFAULT_GROUP, &group);
  cr_assert_eq(chat_dh_group_modulus_bytes(&group), 256);
  chat_dh_group copy;
  cr_assert_eq(chat_dh_group_copy(&copy, &group), 0);
  cr_assert_eq(mpz_cmp(copy.modulus, group.modulus), 0);
  cr_assert_eq(mpz_cmp(copy.base, group.base), 0);
  chat_dh_group_clear(&copy);
  chat_dh_group_clear(&group);
  group_from_vectors(SMALL_GROUP, &group);
  cr_assert_eq(chat_dh_group_modulus_bytes(&group), 100);
  cr_assert_eq(group.modulus_bits, 797);
  chat_dh_group_clear(&group);
  chat_dh_group never = {0};
  chat_dh_group_clear(&never);
}

Test(dh_group, minimal_encoding) {
  mpz_t v;
  uint8_t out[4];
  mpz_init_set_ui(v, 0);
  cr_assert_eq(chat_dh_encode_minimal(v, out, sizeof out), 1);
  cr_assert_eq(out[0], 0x00, "zero is one 0x00 byte");
  mpz_set_ui(v, 255);
  cr_assert_eq(chat_dh_encode_minimal(v, out, sizeof out), 1);
  cr_assert_eq(out[0], 0xff);
  mpz_set_ui(v, 256);
  cr_assert_eq(chat_dh_encode_minimal(v, out, sizeof out), 2);
  cr_assert_eq(out[0], 0x01);
  cr_assert_eq(out[1], 0x00);
  mpz_set_ui(v, 0x0102030405ul);
  cr_assert_eq(chat_dh_encode_minimal(v, out, sizeof out), 0, "does not fit");
  mpz_clear(v);
}

Test(dh_group, random_private_is_full_size) {
  chat_dh_group group;
  group_from_vectors(DEFAULT_GROUP, &group);
  mpz_t x, y, pub, check, limit;
  mpz_inits(x, y, pub, check, limit, NULL);
  mpz_sub_ui(limit, group.modulus, 2);
  size_t longest = 0;
  for (int i = 0; i < 8; i++) {
    cr_assert_eq(chat_dh_keypair_generate(&group, x, pub), 0);
    cr_assert(mpz_cmp_ui(x, 2) >= 0 && mpz_cmp(x, limit) <= 0);
    mpz_powm(check, group.base, x, group.modulus);
    cr_assert_eq(mpz_cmp(check, pub), 0);
    if (mpz_sizeinbase(x, 2) > longest)
      longest = mpz_sizeinbase(x, 2);
    cr_assert_neq(mpz_cmp(x, y), 0, "two exponents alike");
    mpz_set(y, x);
  }
  /* Eight draws of 2048 random bits all under 2^2040: chance 2^-64. */
  cr_assert_geq(longest, group.modulus_bits - 8, "exponents are not full size");
  chat_dh_wipe(x);
  cr_assert_eq(mpz_sgn(x), 0);
  mpz_clears(x, y, pub, check, limit, NULL);
  chat_dh_group_clear(&group);
}

Test(dh_group, set_private_range) {
  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  size_t k = chat_dh_group_modulus_bytes(&group);
  uint8_t value[CHAT_DH_MODULUS_MAX_BYTES + 1];
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, TEST_MAX_FRAME, &ch), 0);
  mpz_t v;
  mpz_init(v);
  mpz_sub_ui(v, group.modulus, 1);
  for (int i = 0; i < 2; i++) { /* p-1, then p */
    size_t n = chat_dh_encode_minimal(v, value, sizeof value);
    cr_assert_eq(chat_seed_channel_set_private(ch, value, n), CHAT_DH_ERR_PRIVATE_RANGE);
    mpz_add_ui(v, v, 1);
  }
  mpz_clear(v);
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x00", 1), CHAT_DH_ERR_PRIVATE_RANGE);
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x01", 1), CHAT_DH_ERR_PRIVATE_RANGE);
  cr_assert_eq(chat_seed_channel_set_private(ch, value, 0), CHAT_DH_ERR_PRIVATE_RANGE);
  memset(value, 0, k + 1);
  value[k] = 5;
  cr_assert_eq(chat_seed_channel_set_private(ch, value, k + 1), CHAT_DH_ERR_PRIVATE_RANGE,
               "longer than the modulus");
  cr_assert_not(chat_seed_is_fatal(CHAT_DH_ERR_PRIVATE_RANGE));
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x02", 1), 0);
  cr_assert_eq(chat_seed_channel_start(ch), 0);
  bytes a = take_output(ch);
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x03", 1), CHAT_SEED_ERR_STATE);
  /* The channel still works after those caller errors. */
  cr_assert_eq(chat_seed_channel_receive_public(ch, a.data, a.len), 0);
  cr_assert(chat_seed_channel_is_established(ch));
  bytes_free(&a);
  chat_seed_channel_free(ch);
  chat_dh_group_clear(&group);
}

/* --- client and server in process ------------------------------------ */

/* Sends msgs[0..count) from one side and checks they arrive in order at
 * the other, the byte stream cut into chunks of 1..max_chunk bytes. */
static void send_all(chat_seed_channel *from, chat_seed_channel *to, const bytes *msgs,
                     size_t count, rng *r, size_t max_chunk) {
  size_t next = 0;
  for (size_t i = 0; i < count; i++) {
    int rc = chat_seed_channel_send(from, msgs[i].data, msgs[i].len);
    if (rc == CHAT_SEED_ERR_QUEUE_FULL || (rc == 0 && rng_below(r, 4) == 0)) {
      bytes wire = take_output(from);
      feed_and_check(to, wire.data, wire.len, r, max_chunk, msgs, count, &next);
      bytes_free(&wire);
      if (rc != 0)
        rc = chat_seed_channel_send(from, msgs[i].data, msgs[i].len);
    }
    cr_assert_eq(rc, 0, "send %zu (%zu bytes): %s", i, msgs[i].len, chat_strerror(rc));
  }
  bytes wire = take_output(from);
  feed_and_check(to, wire.data, wire.len, r, max_chunk, msgs, count, &next);
  bytes_free(&wire);
  cr_assert_eq(next, count, "%zu of %zu messages arrived", next, count);
}

static bytes *make_messages(rng *r, const size_t *sizes, size_t count) {
  bytes *msgs = calloc(count, sizeof *msgs);
  cr_assert_not_null(msgs);
  for (size_t i = 0; i < count; i++)
    msgs[i] = random_message(r, sizes[i]);
  return msgs;
}

static void free_messages(bytes *msgs, size_t count) {
  for (size_t i = 0; i < count; i++)
    bytes_free(&msgs[i]);
  free(msgs);
}

Test(seed_pair, talk_both_ways_in_random_splits, .timeout = 120) {
  chat_dh_group group;
  group_from_vectors(DEFAULT_GROUP, &group);
  chat_seed_channel *client, *server;
  connect_pair(&group, TEST_MAX_FRAME, &client, &server);

  /* The server does not speak before the client's first frame: what it
   * sends waits in its queue until then. */
  cr_assert_eq(chat_seed_channel_send(server, (const uint8_t *)"hi", 2), 0);
  cr_assert_eq(output_length(server), 0, "held until the client's first frame");
  cr_assert_not(chat_seed_channel_output_idle(server));
  cr_assert_eq(chat_seed_channel_send(client, (const uint8_t *)"hello", 5), 0);
  bytes first = take_output(client);
  cr_assert_eq(chat_seed_channel_feed(server, first.data, first.len), (ptrdiff_t)first.len);
  const uint8_t *got;
  size_t got_len;
  cr_assert_eq(chat_seed_channel_next_message(server, &got, &got_len), 1);
  cr_assert_eq(got_len, 5);
  bytes_free(&first);
  bytes held = take_output(server);
  cr_assert_eq(held.len, chat_seed_frame_size(2), "released by the client's frame");
  cr_assert_eq(chat_seed_channel_feed(client, held.data, held.len), (ptrdiff_t)held.len);
  cr_assert_eq(chat_seed_channel_next_message(client, &got, &got_len), 1);
  cr_assert_eq(got_len, 2);
  cr_assert_eq(memcmp(got, "hi", 2), 0);
  bytes_free(&held);
  cr_assert(chat_seed_channel_output_idle(server));

  size_t sizes[80] = {1, 2, 15, 16, 17, 31, 32, 33, 255, 256, 1000, 4096, 65535, 65536,
                      65537, 100000, 300 * 1024, 300 * 1024 - 1, 1, 7};
  size_t count = sizeof sizes / sizeof sizes[0];
  rng r = {UINT64_C(0x9e3779b97f4a7c15)};
  for (size_t i = 20; i < count; i++)
    sizes[i] = 1 + rng_below(&r, 5000);
  bytes *msgs = make_messages(&r, sizes, count);

  send_all(client, server, msgs, count, &r, 70000);           /* big random chunks */
  send_all(server, client, msgs, count, &r, 64);              /* small random chunks */
  send_all(client, server, msgs, count, &r, 3);               /* tiny chunks */
  send_all(server, client, msgs + 16, 1, &r, 1);              /* 300 KB one byte at a time */
  send_all(client, server, msgs + 20, count - 20, &r, 1);     /* many, one byte at a time */

  free_messages(msgs, count);
  chat_seed_channel_free(client);
  chat_seed_channel_free(server);
  chat_dh_group_clear(&group);
}

Test(seed_pair, small_group_and_first_read_is_the_public_value) {
  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  for (int i = 0; i < 4; i++) {
    chat_seed_channel *client, *server;
    connect_pair(&group, 4096, &client, &server);
    rng r = {UINT64_C(77) + (uint64_t)i};
    size_t sizes[] = {1, 16, 4096};
    bytes *msgs = make_messages(&r, sizes, 3);
    send_all(client, server, msgs, 3, &r, 5);
    send_all(server, client, msgs, 3, &r, 5);
    free_messages(msgs, 3);
    chat_seed_channel_free(client);
    chat_seed_channel_free(server);
  }
  chat_dh_group_clear(&group);
}

Test(seed_pair, feed_stops_after_each_message) {
  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  chat_seed_channel *client, *server;
  connect_pair(&group, 4096, &client, &server);
  cr_assert_eq(chat_seed_channel_send(client, (const uint8_t *)"first", 5), 0);
  cr_assert_eq(chat_seed_channel_send(client, (const uint8_t *)"second", 6), 0);
  bytes wire = take_output(client);
  size_t one = chat_seed_frame_size(5);
  cr_assert_eq(wire.len, one + chat_seed_frame_size(6));

  cr_assert_eq(chat_seed_channel_feed(server, wire.data, wire.len), (ptrdiff_t)one);
  cr_assert_eq(chat_seed_channel_feed(server, wire.data + one, wire.len - one), 0,
               "consumed while a message waits");
  const uint8_t *msg;
  size_t len;
  cr_assert_eq(chat_seed_channel_next_message(server, &msg, &len), 1);
  cr_assert_eq(len, 5);
  cr_assert_eq(memcmp(msg, "first", 5), 0);
  cr_assert_eq(chat_seed_channel_next_message(server, &msg, &len), 0);
  cr_assert_eq(chat_seed_channel_feed(server, wire.data + one, wire.len - one),
               (ptrdiff_t)(wire.len - one));
  cr_assert_eq(chat_seed_channel_next_message(server, &msg, &len), 1);
  cr_assert_eq(len, 6);
  cr_assert_eq(memcmp(msg, "second", 6), 0);
  cr_assert_eq(chat_seed_channel_feed(server, wire.data, 0), 0);
  bytes_free(&wire);
  chat_seed_channel_free(client);
  chat_seed_channel_free(server);
  chat_dh_group_clear(&group);
}

/* An idle channel keeps no buffer: the receive buffer is freed once its
 * message is released and the output once drained, for a frame under the
 * old 64 KiB retention limit as well as for one over it. */
Test(seed_pair, buffers_are_released_after_a_large_message) {
  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  chat_seed_channel *client, *server;
  connect_pair(&group, TEST_MAX_FRAME, &client, &server);
  rng r = {UINT64_C(0x5eed)};
  size_t sizes[] = {100, 60 * 1024, 300 * 1024};
  size_t count = sizeof sizes / sizeof sizes[0];
  bytes *msgs = make_messages(&r, sizes, count);
  /* Warm up: the first frame each way (lazy allocations outside the pair). */
  send_all(client, server, msgs, 1, &r, 1000);
  send_all(server, client, msgs, 1, &r, 1000);

  size_t idle = test_heap_in_use();
  for (size_t i = 1; i < count; i++) {
    for (int dir = 0; dir < 2; dir++) {
      chat_seed_channel *from = dir == 0 ? client : server;
      chat_seed_channel *to = dir == 0 ? server : client;
      cr_assert_eq(chat_seed_channel_send(from, msgs[i].data, msgs[i].len), 0);
      cr_assert_geq(test_heap_in_use(), idle + msgs[i].len, "the frame waits in the output");
      bytes wire = take_output(from);
      cr_assert_eq(chat_seed_channel_feed(to, wire.data, wire.len), (ptrdiff_t)wire.len);
      /* The received frame is held (with the copy of the wire bytes). */
      cr_assert_geq(test_heap_in_use(), idle + wire.len + msgs[i].len);
      const uint8_t *got;
      size_t got_len;
      cr_assert_eq(chat_seed_channel_next_message(to, &got, &got_len), 1);
      assert_bytes_eq(got, got_len, &msgs[i], "large message");
      cr_assert_eq(chat_seed_channel_next_message(to, &got, &got_len), 0);
      bytes_free(&wire);
      size_t now = test_heap_in_use();
      cr_assert_leq(now, idle + IDLE_HEAP_SLACK,
                    "%zu bytes more on the heap after a %zu-byte message went %s",
                    now - idle, msgs[i].len, dir == 0 ? "client -> server" : "server -> client");
    }
  }
  free_messages(msgs, count);
  chat_seed_channel_free(client);
  chat_seed_channel_free(server);
  chat_dh_group_clear(&group);
}

/* --- state and caller errors ------------------------------------------ */

Test(seed_state, nothing_before_established) {
  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  chat_seed_channel *client, *server;
  const uint8_t frame[CHAT_SEED_FRAME_HEADER_BYTES + 16] = {0, 0, 0, 16};
  uint8_t key[CHAT_SEED_KEY_BYTES];
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, 4096, &client), 0);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &server), 0);

  chat_seed_channel *both[] = {client, server};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(chat_seed_channel_send(both[i], (const uint8_t *)"x", 1), CHAT_SEED_ERR_STATE);
    cr_assert_eq(chat_seed_channel_feed(both[i], frame, sizeof frame), CHAT_SEED_ERR_STATE);
    cr_assert_eq(chat_seed_channel_session_key(both[i], key), CHAT_SEED_ERR_STATE);
    cr_assert_not(chat_seed_channel_is_established(both[i]));
    cr_assert_eq(output_length(both[i]), 0);
  }
  /* A client must send A before it can take B. */
  cr_assert_eq(chat_seed_channel_receive_public(client, (const uint8_t *)"\x05", 1), CHAT_SEED_ERR_STATE);
  cr_assert_eq(chat_seed_channel_start(client), 0);
  cr_assert_eq(chat_seed_channel_start(client), CHAT_SEED_ERR_STATE);
  cr_assert_eq(chat_seed_channel_send(client, (const uint8_t *)"x", 1), CHAT_SEED_ERR_STATE,
               "client sent a frame before it had B");
  cr_assert_eq(chat_seed_channel_feed(client, frame, sizeof frame), CHAT_SEED_ERR_STATE);
  /* A server's start queues nothing: it speaks only after A. */
  cr_assert_eq(chat_seed_channel_start(server), 0);
  cr_assert_eq(output_length(server), 0);

  bytes a = take_output(client);
  cr_assert_eq(chat_seed_channel_receive_public(server, a.data, a.len), 0);
  cr_assert_eq(chat_seed_channel_receive_public(server, a.data, a.len), CHAT_SEED_ERR_STATE);
  cr_assert_eq(chat_seed_channel_start(server), CHAT_SEED_ERR_STATE);
  bytes b = take_output(server);
  cr_assert_eq(chat_seed_channel_receive_public(client, b.data, b.len), 0);
  cr_assert_eq(chat_seed_channel_receive_public(client, b.data, b.len), CHAT_SEED_ERR_STATE);
  /* None of those caller errors hurt: the pair works. */
  rng r = {3};
  size_t sizes[] = {10, 20};
  bytes *msgs = make_messages(&r, sizes, 2);
  send_all(client, server, msgs, 2, &r, 4);
  send_all(server, client, msgs, 2, &r, 4);
  free_messages(msgs, 2);
  bytes_free(&a);
  bytes_free(&b);
  chat_seed_channel_free(client);
  chat_seed_channel_free(server);
  chat_dh_group_clear(&group);
}

Test(seed_state, send_limits) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {1, 2, 3};
  size_t max_frame = 64;
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new_with_key(key, max_frame, &ch), 0);
  uint8_t big[65] = {0};
  cr_assert_eq(chat_seed_channel_send(ch, big, 0), CHAT_SEED_ERR_MESSAGE_EMPTY);
  cr_assert_eq(chat_seed_channel_send(ch, big, 65), CHAT_SEED_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_seed_channel_send(ch, big, 64), 0, "exactly max_frame is allowed");
  /* The outgoing queue is bounded; a full queue is not fatal. */
  cr_assert_eq(chat_seed_channel_set_max_queue(ch, 63), CHAT_SEED_ERR_INVALID_ARGUMENT,
               "the queue must hold a frame of max_frame");
  cr_assert_eq(chat_seed_channel_set_max_queue(ch, 4 * 64), 0);
  int rc;
  size_t sent = 1;
  while ((rc = chat_seed_channel_send(ch, big, 64)) == 0)
    sent++;
  cr_assert_eq(rc, CHAT_SEED_ERR_QUEUE_FULL);
  cr_assert_eq(sent, 4, "4 x 64 plaintext bytes fit a 256-byte queue");
  size_t waiting = output_length(ch);
  cr_assert_eq(waiting, sent * chat_seed_frame_size(64));
  /* Encrypted frames count against the bound until they are written. */
  cr_assert_eq(chat_seed_channel_send(ch, big, 1), CHAT_SEED_ERR_QUEUE_FULL);
  cr_assert_eq(chat_seed_channel_output_consumed(ch, waiting + 1), CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_seed_channel_output_consumed(ch, 2 * chat_seed_frame_size(64)), 0);
  cr_assert_eq(chat_seed_channel_send(ch, big, 64), 0, "room again after draining");
  cr_assert_eq(chat_seed_channel_error(ch), 0);
  chat_seed_channel_free(ch);

  chat_dh_group group;
  group_from_vectors(SMALL_GROUP, &group);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, 15, &ch), CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_null(ch);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, CHAT_SEED_MAX_FRAME_LIMIT + 1, &ch),
               CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, NULL, 64, &ch), CHAT_SEED_ERR_INVALID_ARGUMENT);
  chat_dh_group_clear(&group);
}

/* --- hostile input ----------------------------------------------------- */

Test(seed_hostile, oversize_length_refused_from_four_bytes) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {9};
  chat_seed_channel *ch;
  /* 4 GiB - 16: refused from the length alone, nothing allocated or awaited. */
  cr_assert_eq(chat_seed_channel_new_with_key(key, TEST_MAX_FRAME, &ch), 0);
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xf0};
  cr_assert_eq(chat_seed_channel_feed(ch, huge, 3), 3);
  cr_assert_eq(chat_seed_channel_feed(ch, huge + 3, 1), CHAT_SEED_ERR_FRAME_TOO_LARGE);
  cr_assert(strstr(chat_seed_channel_error_message(ch), "4294967280") != NULL, "%s",
            chat_seed_channel_error_message(ch));
  assert_dead(ch, CHAT_SEED_ERR_FRAME_TOO_LARGE);
  chat_seed_channel_free(ch);
  /* One block over max_frame is refused, max_frame itself is accepted. */
  cr_assert_eq(chat_seed_channel_new_with_key(key, 1024, &ch), 0);
  const uint8_t over[] = {0, 0, 0x04, 0x10};
  cr_assert_eq(chat_seed_channel_feed(ch, over, sizeof over), CHAT_SEED_ERR_FRAME_TOO_LARGE);
  chat_seed_channel_free(ch);
  uint8_t msg[1024] = {7};
  uint8_t iv[CHAT_SEED_IV_BYTES] = {0};
  uint8_t frame[CHAT_SEED_FRAME_HEADER_BYTES + 1024];
  cr_assert_eq(chat_seed_frame_encrypt(key, iv, msg, sizeof msg, frame), sizeof frame);
  cr_assert_eq(chat_seed_channel_new_with_key(key, 1024, &ch), 0);
  rng r = {5};
  bytes want = {msg, sizeof msg};
  size_t next = 0;
  feed_and_check(ch, frame, sizeof frame, &r, 100, &want, 1, &next);
  cr_assert_eq(next, 1);
  chat_seed_channel_free(ch);
}

/* Sends msg from a fresh keyed channel, XORs the frame's byte at offset with
 * xor_mask, and feeds the frame to a receiver. Returns the feed result; *out gets the message,
 * if any (freed by the caller). */
static int deliver_tampered(const char *msg, size_t offset, uint8_t xor_mask, bytes *out) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {42};
  chat_seed_channel *tx, *rx;
  cr_assert_eq(chat_seed_channel_new_with_key(key, 4096, &tx), 0);
  cr_assert_eq(chat_seed_channel_new_with_key(key, 4096, &rx), 0);
  cr_assert_eq(chat_seed_channel_send(tx, (const uint8_t *)msg, strlen(msg)), 0);
  bytes wire = take_output(tx);
  cr_assert_lt(offset, wire.len);
  wire.data[offset] ^= xor_mask;
  ptrdiff_t rc = chat_seed_channel_feed(rx, wire.data, wire.len);
  out->data = NULL;
  out->len = 0;
  if (rc >= 0) {
    const uint8_t *m;
    size_t len;
    cr_assert_eq(chat_seed_channel_next_message(rx, &m, &len), 1);
    *out = (bytes){malloc(len + 1), len};
    memcpy(out->data, m, len);
    rc = 0;
  } else {
    assert_dead(rx, (int)rc);
  }
  bytes_free(&wire);
  chat_seed_channel_free(tx);
  chat_seed_channel_free(rx);
  return (int)rc;
}

/* The seed dialect has NO integrity protection: these tests pin down what the
 * frame checks do catch and document what they cannot. */
Test(seed_hostile, tampering) {
  const char *msg = "seventeen bytes!!"; /* 17 bytes: L = 32, n = 15 */
  const size_t iv_at = CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES;
  const size_t body_at = CHAT_SEED_FRAME_HEADER_BYTES;
  bytes got;

  /* Structure checks. */
  cr_assert_eq(deliver_tampered(msg, 3, 0x01, &got), CHAT_SEED_ERR_FRAME_MISALIGNED); /* L = 33 */
  cr_assert_eq(deliver_tampered(msg, 3, 0x20, &got), CHAT_SEED_ERR_FRAME_EMPTY);      /* L = 0 */
  cr_assert_eq(deliver_tampered(msg, 4, 0x1f, &got), CHAT_SEED_ERR_PAD_COUNT);        /* n = 16 */
  /* The last block carries 15 zero padding bytes: changing it garbles them. */
  cr_assert_eq(deliver_tampered(msg, body_at + 16, 0x80, &got), CHAT_SEED_ERR_PADDING);
  cr_assert_eq(deliver_tampered(msg, body_at + 31, 0x01, &got), CHAT_SEED_ERR_PADDING);

  /* NOT caught: a flipped IV bit flips the same plaintext bit. */
  cr_assert_eq(deliver_tampered(msg, iv_at, 0x01, &got), 0);
  cr_assert_eq(got.len, 17);
  cr_assert_eq(got.data[0], (uint8_t)(msg[0] ^ 0x01), "IV tampering should pass undetected");
  cr_assert_eq(memcmp(got.data + 1, msg + 1, 16), 0);
  bytes_free(&got);
  /* NOT caught: a flipped first-block bit garbles block 1 and flips the
   * matching bit of block 2 (here in the message, not in the padding). */
  cr_assert_eq(deliver_tampered(msg, body_at, 0x04, &got), 0);
  cr_assert_eq(got.len, 17);
  cr_assert_neq(memcmp(got.data, msg, 16), 0);
  cr_assert_eq(got.data[16], (uint8_t)(msg[16] ^ 0x04));
  bytes_free(&got);
  /* NOT caught: n = 14 instead of 15 hands out a padding zero as message. */
  cr_assert_eq(deliver_tampered(msg, 4, 0x01, &got), 0);
  cr_assert_eq(got.len, 18);
  cr_assert_eq(memcmp(got.data, msg, 17), 0);
  cr_assert_eq(got.data[17], 0);
  bytes_free(&got);
}

Test(seed_hostile, wrong_key_is_noticed_by_padding) {
  /* Two peers that derived different keys (e.g. a public value read short):
   * the padding check catches it for a message with padding. */
  uint8_t k1[CHAT_SEED_KEY_BYTES] = {1}, k2[CHAT_SEED_KEY_BYTES] = {2};
  chat_seed_channel *tx, *rx;
  cr_assert_eq(chat_seed_channel_new_with_key(k1, 4096, &tx), 0);
  cr_assert_eq(chat_seed_channel_new_with_key(k2, 4096, &rx), 0);
  cr_assert_eq(chat_seed_channel_send(tx, (const uint8_t *)"\x01login", 6), 0);
  bytes wire = take_output(tx);
  cr_assert_eq(chat_seed_channel_feed(rx, wire.data, wire.len), CHAT_SEED_ERR_PADDING);
  bytes_free(&wire);
  chat_seed_channel_free(tx);
  chat_seed_channel_free(rx);
}

Test(seed_hostile, error_after_good_frames_is_sticky) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {8};
  chat_seed_channel *tx, *rx;
  cr_assert_eq(chat_seed_channel_new_with_key(key, 4096, &tx), 0);
  cr_assert_eq(chat_seed_channel_new_with_key(key, 4096, &rx), 0);
  cr_assert_eq(chat_seed_channel_send(tx, (const uint8_t *)"good", 4), 0);
  bytes good = take_output(tx);
  bytes want = {(uint8_t *)"good", 4};
  rng r = {11};
  size_t next = 0;
  feed_and_check(rx, good.data, good.len, &r, 3, &want, 1, &next);
  const uint8_t bad[] = {0, 0, 0, 17};
  cr_assert_eq(chat_seed_channel_feed(rx, bad, sizeof bad), CHAT_SEED_ERR_FRAME_MISALIGNED);
  assert_dead(rx, CHAT_SEED_ERR_FRAME_MISALIGNED);
  /* Even a perfectly good frame is refused now. */
  cr_assert_eq(chat_seed_channel_feed(rx, good.data, good.len), CHAT_SEED_ERR_FRAME_MISALIGNED);
  cr_assert_eq(chat_seed_channel_error(rx), CHAT_SEED_ERR_FRAME_MISALIGNED);
  bytes_free(&good);
  chat_seed_channel_free(tx);
  chat_seed_channel_free(rx);
}

Test(seed_hostile, bad_public_values_computed) {
  /* The vectors hold these too; here they are built from the group. */
  chat_dh_group group;
  group_from_vectors(DEFAULT_GROUP, &group);
  size_t k = chat_dh_group_modulus_bytes(&group);
  uint8_t value[CHAT_DH_MODULUS_MAX_BYTES + 2];
  mpz_t v;
  mpz_init(v);
  struct {
    long delta;   /* value = p + delta, or the small value itself when absolute */
    bool absolute;
  } cases[] = {{0, true}, {1, true}, {-1, false}, {0, false}, {1, false}, {1000, false}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].absolute)
      mpz_set_ui(v, (unsigned long)cases[i].delta);
    else if (cases[i].delta < 0)
      mpz_sub_ui(v, group.modulus, (unsigned long)-cases[i].delta);
    else
      mpz_add_ui(v, group.modulus, (unsigned long)cases[i].delta);
    size_t n = chat_dh_encode_minimal(v, value, sizeof value);
    cr_assert_gt(n, 0);
    chat_seed_channel *ch;
    cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &ch), 0);
    cr_assert_eq(chat_seed_channel_receive_public(ch, value, n), CHAT_DH_ERR_PUBLIC_RANGE, "case %zu", i);
    assert_dead(ch, CHAT_DH_ERR_PUBLIC_RANGE);
    chat_seed_channel_free(ch);
  }
  /* Empty, all zero bytes, longer than the modulus (even if small). */
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &ch), 0);
  cr_assert_eq(chat_seed_channel_receive_public(ch, NULL, 0), CHAT_DH_ERR_PUBLIC_EMPTY);
  chat_seed_channel_free(ch);
  memset(value, 0, sizeof value);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &ch), 0);
  cr_assert_eq(chat_seed_channel_receive_public(ch, value, k), CHAT_DH_ERR_PUBLIC_RANGE);
  chat_seed_channel_free(ch);
  value[k] = 2;
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &ch), 0);
  cr_assert_eq(chat_seed_channel_receive_public(ch, value, k + 1), CHAT_DH_ERR_PUBLIC_TOO_LONG);
  cr_assert(strstr(chat_seed_channel_error_message(ch), "257") != NULL, "%s",
            chat_seed_channel_error_message(ch));
  chat_seed_channel_free(ch);
  /* 2 padded with zero bytes to the modulus length is fine. */
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, 4096, &ch), 0);
  cr_assert_eq(chat_seed_channel_receive_public(ch, value + 1, k), 0);
  chat_seed_channel_free(ch);
  mpz_clear(v);
  chat_dh_group_clear(&group);
}

/* --- error codes ------------------------------------------------------- */

Test(seed_errors, every_code_has_a_distinct_name_and_text) {
  const int codes[] = {
    CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE,
    CHAT_SEED_ERR_MESSAGE_EMPTY, CHAT_SEED_ERR_MESSAGE_TOO_LARGE, CHAT_SEED_ERR_QUEUE_FULL,
    CHAT_SEED_ERR_NOMEM, CHAT_SEED_ERR_FRAME_EMPTY, CHAT_SEED_ERR_FRAME_MISALIGNED,
    CHAT_SEED_ERR_FRAME_TOO_LARGE, CHAT_SEED_ERR_PAD_COUNT, CHAT_SEED_ERR_PADDING,
    CHAT_SEED_ERR_TRANSIT_FULL, CHAT_SEED_ERR_TRANSIT_EXHAUSTED,
    CHAT_DH_ERR_INVALID_ARGUMENT, CHAT_DH_ERR_EMPTY, CHAT_DH_ERR_NOT_DECIMAL,
    CHAT_DH_ERR_TOO_MANY_DIGITS, CHAT_DH_ERR_MODULUS_TOO_SMALL, CHAT_DH_ERR_MODULUS_TOO_LARGE,
    CHAT_DH_ERR_MODULUS_EVEN, CHAT_DH_ERR_BASE_RANGE, CHAT_DH_ERR_PUBLIC_EMPTY,
    CHAT_DH_ERR_PUBLIC_TOO_LONG, CHAT_DH_ERR_PUBLIC_RANGE, CHAT_DH_ERR_PRIVATE_RANGE,
    CHAT_DH_ERR_RANDOM,
  };
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    cr_assert_not_null(chat_error_name(codes[i]), "code %d", codes[i]);
    cr_assert_str_neq(chat_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++) {
      cr_assert_neq(codes[i], codes[j]);
      cr_assert_str_neq(chat_error_name(codes[i]), chat_error_name(codes[j]));
      cr_assert_str_neq(chat_strerror(codes[i]), chat_strerror(codes[j]));
    }
  }
  cr_assert_str_eq(chat_strerror(-9999), "unknown error");
  cr_assert_null(chat_error_name(-9999));
  cr_assert(chat_seed_is_fatal(CHAT_SEED_ERR_PADDING));
  cr_assert(chat_seed_is_fatal(CHAT_DH_ERR_PUBLIC_RANGE));
  cr_assert_not(chat_seed_is_fatal(CHAT_SEED_ERR_QUEUE_FULL));
  cr_assert_not(chat_seed_is_fatal(CHAT_SEED_ERR_STATE));
  cr_assert_not(chat_seed_is_fatal(CHAT_SEED_ERR_TRANSIT_FULL));
  cr_assert(chat_seed_is_fatal(CHAT_SEED_ERR_TRANSIT_EXHAUSTED));
}

/* --- memory ------------------------------------------------------------- */

/* A frame header: L = len, n = 0, an IV of zeros. */
static void frame_header(uint8_t *out, uint32_t len) {
  memset(out, 0, CHAT_SEED_FRAME_HEADER_BYTES);
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
}

Test(seed_memory, a_frame_costs_only_the_bytes_that_arrived_and_the_budget_bounds_it) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {7};
  size_t max_frame = 4u << 20;
  chat_transit *transit = chat_transit_new(100000);
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new_with_key(key, max_frame, &ch), 0);
  cr_assert_eq(chat_seed_channel_set_transit(ch, transit), 0);
  uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES];
  frame_header(header, 4u << 20);
  cr_assert_eq(chat_seed_channel_feed(ch, header, sizeof header), (ptrdiff_t)sizeof header);
  cr_assert_eq(chat_transit_used(transit), 0, "announced, nothing arrived: nothing taken");
  /* The bytes come: past the free share they take from the budget, and
   * past the budget the frame cannot grow. */
  static uint8_t chunk[32768];
  ptrdiff_t rc = 0;
  size_t fed = 0;
  while (rc >= 0 && fed < (4u << 20)) {
    rc = chat_seed_channel_feed(ch, chunk, sizeof chunk);
    if (rc > 0)
      fed += (size_t)rc;
  }
  cr_assert_eq(rc, CHAT_SEED_ERR_TRANSIT_EXHAUSTED, "got %td after %zu bytes", rc, fed);
  cr_assert_lt(fed, CHAT_TRANSIT_FREE_BYTES + 100000 + sizeof chunk);
  chat_seed_channel_free(ch);
  cr_assert_eq(chat_transit_used(transit), 0, "everything given back");

  /* Sending: the queue past its free share takes from the budget too. */
  cr_assert_eq(chat_seed_channel_new_with_key(key, max_frame, &ch), 0);
  cr_assert_eq(chat_seed_channel_set_transit(ch, transit), 0);
  cr_assert_eq(chat_seed_channel_set_max_queue(ch, max_frame), 0);
  int sent = 0, send_rc;
  while ((send_rc = chat_seed_channel_send(ch, chunk, sizeof chunk)) == 0)
    sent++;
  cr_assert_eq(send_rc, CHAT_SEED_ERR_TRANSIT_FULL);
  cr_assert_eq(sent, (CHAT_TRANSIT_FREE_BYTES + 100000) / sizeof chunk);
  bytes wire = take_output(ch);
  bytes_free(&wire);
  cr_assert_eq(chat_transit_used(transit), 0, "written, the queue gave its share back");
  chat_seed_channel_free(ch);
  chat_transit_free(transit);
}

Test(seed_memory, limits_can_be_raised_on_a_live_channel) {
  uint8_t key[CHAT_SEED_KEY_BYTES] = {7};
  chat_seed_channel *ch;
  cr_assert_eq(chat_seed_channel_new_with_key(key, 64, &ch), 0);
  static uint8_t big[4096];
  cr_assert_eq(chat_seed_channel_send(ch, big, sizeof big), CHAT_SEED_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_seed_channel_set_limits(ch, 8192, 4096), CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_seed_channel_set_limits(ch, 8192, 16384), 0);
  cr_assert_eq(chat_seed_channel_send(ch, big, sizeof big), 0);
  chat_seed_channel_free(ch);
}
