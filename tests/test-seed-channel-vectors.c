/* Seed channel tests (protocol/seed-channel.h, protocol/dh-group.h): every
 * vector of spec/vectors/seed-channel.json (made by
 * spec/vectors/tools/make-seed-channel-vectors.py, independently of this code)
 * and the DH group's checks. Fixture: seed-channel-fixture.h. */
#include "seed-channel-fixture.h"

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
  cr_assert_eq(chat_seed_frame_encrypt(key.data, iv.data, plaintext.data, plaintext.len, out),
               size);
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
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x00", 1),
               CHAT_DH_ERR_PRIVATE_RANGE);
  cr_assert_eq(chat_seed_channel_set_private(ch, (const uint8_t *)"\x01", 1),
               CHAT_DH_ERR_PRIVATE_RANGE);
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
