/* Shared fixture of the test-seed-channel.c tests. */
#include "seed-channel-fixture.h"

/* --- vectors ----------------------------------------------------------- */

JsonParser *vectors_parser;

JsonObject *vectors(void) {
  if (vectors_parser == NULL) {
    GError *error = NULL;
    vectors_parser = json_parser_new();
    if (!json_parser_load_from_file(vectors_parser, VECTORS_FILE, &error))
      cr_assert_fail("cannot load %s: %s", VECTORS_FILE, error->message);
  }
  return json_node_get_object(json_parser_get_root(vectors_parser));
}

JsonArray *vector_list(const char *name) {
  JsonObject *root = vectors();
  cr_assert(json_object_has_member(root, name), "vectors have no \"%s\"", name);
  return json_object_get_array_member(root, name);
}

JsonObject *vector_at(const char *list, int index) {
  JsonArray *array = vector_list(list);
  cr_assert_lt((guint)index, json_array_get_length(array));
  return json_array_get_object_element(array, (guint)index);
}

const char *member(JsonObject *object, const char *name) {
  cr_assert(json_object_has_member(object, name), "vector lacks \"%s\"", name);
  return json_object_get_string_member(object, name);
}

/* Decodes hex; the result is freed with bytes_free (data is never NULL). */
bytes from_hex(const char *hex) {
  bytes b;
  cr_assert(test_hex_decode(hex, &b.data, &b.len), "bad hex");
  return b;
}

bytes hex_member(JsonObject *object, const char *name) {
  return from_hex(member(object, name));
}

void bytes_free(bytes *b) {
  free(b->data);
  b->data = NULL;
  b->len = 0;
}

void group_from_vectors(const char *name, chat_dh_group *group) {
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
void free_indices(struct criterion_test_params *params) {
  cr_free(params->params);
}

struct criterion_test_params indices_of(const char *list) {
  size_t n = json_array_get_length(vector_list(list));
  int *indices = cr_malloc(sizeof(int) * n);
  for (size_t i = 0; i < n; i++)
    indices[i] = (int)i;
  return cr_make_param_array(int, indices, n, free_indices);
}

/* --- channel helpers --------------------------------------------------- */

/* Everything the channel has to write (output hands it out in batches). */
bytes take_output(chat_seed_channel *ch) {
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

size_t output_length(chat_seed_channel *ch) {
  const uint8_t *data;
  size_t len;
  cr_assert_eq(chat_seed_channel_output(ch, &data, &len), 0);
  return len;
}

void assert_bytes_eq(const uint8_t *got, size_t got_len, const bytes *want, const char *what) {
  cr_assert_eq(got_len, want->len, "%s: length %zu, want %zu", what, got_len, want->len);
  cr_assert(got_len == 0 || memcmp(got, want->data, got_len) == 0, "%s: bytes differ", what);
}

void assert_error_named(int rc, const char *name, const char *what) {
  const char *got = chat_error_name(rc);
  cr_assert_not_null(got, "%s: code %d has no name", what, rc);
  cr_assert_str_eq(got, name, "%s: got %s (%d), want %s", what, got, rc, name);
}

/* Every call on a dead channel answers its fatal error. */
void assert_dead(chat_seed_channel *ch, int code) {
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

uint64_t rng_next(rng *r) {
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return r->state * UINT64_C(2685821657736338717);
}

size_t rng_below(rng *r, size_t n) {
  return (size_t)(rng_next(r) % n);
}

bytes random_message(rng *r, size_t len) {
  bytes b = {malloc(len + 1), len};
  cr_assert_not_null(b.data);
  for (size_t i = 0; i < len; i++)
    b.data[i] = (uint8_t)rng_next(r);
  return b;
}

/* Feeds data to ch in chunks of 1..max_chunk bytes (chosen by r), takes
 * every message out and checks it against expected[*next]. */
void feed_and_check(chat_seed_channel *ch, const uint8_t *data, size_t len, rng *r,
                    size_t max_chunk, const bytes *expected, size_t expected_count, size_t *next) {
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
void connect_pair(const chat_dh_group *group, size_t max_frame, chat_seed_channel **client,
                  chat_seed_channel **server) {
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
