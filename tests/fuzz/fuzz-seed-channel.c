/* Fuzz target: the seed dialect's channel on the server side, fed what a
 * client sends, and every message it yields checked as chatd's reader
 * would (fuzz_check_message). Deterministic: the server's exponent and the
 * group come from spec/vectors/seed-channel.json.
 *
 * Input: one mode byte, then
 *   mode even: the handshake: u16 BE n, the client's public value (n bytes,
 *     the server's "first read"), then the frames; the vector is
 *     handshakes[(mode >> 1) % count] (group and server exponent).
 *   mode odd: an established channel: a 32-byte session key, then frames.
 * Seeds: the vectors' client publics, frames and invalid frames. */
#include <stdbool.h>
#include <string.h>

#include "fuzz-util.h"
#include "protocol/seed-channel.h"

#define MAX_FRAME 65536

/* Writes the output away and checks the messages; true if there was one. */
static bool drain(chat_seed_channel *ch) {
  const uint8_t *out;
  size_t len;
  if (chat_seed_channel_output(ch, &out, &len) == 0 && len > 0)
    chat_seed_channel_output_consumed(ch, len);
  const uint8_t *msg;
  bool took = false;
  while (chat_seed_channel_next_message(ch, &msg, &len) == 1) {
    fuzz_check_message(CHAT_DIALECT_SEED, msg, len);
    took = true;
  }
  return took;
}

static void feed_frames(chat_seed_channel *ch, const uint8_t *data, size_t size) {
  while (size > 0) {
    ptrdiff_t n = chat_seed_channel_feed(ch, data, size);
    if (n < 0) {
      FUZZ_CHECK(chat_seed_is_fatal((int)n));
      FUZZ_CHECK(chat_seed_channel_error(ch) != 0);
      return;
    }
    FUZZ_CHECK((size_t)n <= size);
    data += n;
    size -= (size_t)n;
    if (!drain(ch) && n == 0)
      return;
  }
  drain(ch);
}

static int server_handshake(const uint8_t *data, size_t size, uint8_t mode) {
  const chat_json *vectors = fuzz_vectors("seed-channel.json");
  const chat_json *handshakes = chat_json_object_get(vectors, "handshakes");
  FUZZ_CHECK(handshakes && handshakes->as.array.count > 0);
  const chat_json *h = &handshakes->as.array.items[(mode >> 1) % handshakes->as.array.count];
  const chat_json *name = chat_json_object_get(h, "group");
  const chat_json *group_json = chat_json_object_get_n(chat_json_object_get(vectors, "groups"),
                                                       name->as.string.data, name->as.string.len);
  const chat_json *base = chat_json_object_get(group_json, "base");
  const chat_json *modulus = chat_json_object_get(group_json, "modulus");
  chat_dh_group group = {0};
  chat_error err;
  FUZZ_CHECK(chat_dh_group_init(&group, base->as.string.data, modulus->as.string.data, &err) == 0);
  uint8_t priv[1024];
  size_t priv_len = fuzz_vector_hex(h, "server_private", priv, sizeof priv);

  chat_seed_channel *ch = NULL;
  FUZZ_CHECK(chat_seed_channel_new(CHAT_SEED_ROLE_SERVER, &group, MAX_FRAME, &ch) == 0);
  chat_dh_group_clear(&group);
  FUZZ_CHECK(chat_seed_channel_set_private(ch, priv, priv_len) == 0);
  FUZZ_CHECK(chat_seed_channel_start(ch) == 0);
  if (size >= 2) {
    size_t n = ((size_t)data[0] << 8) | data[1];
    data += 2;
    size -= 2;
    if (n > size)
      n = size;
    if (n > CHAT_SEED_PUBLIC_READ_MAX)
      n = CHAT_SEED_PUBLIC_READ_MAX;
    if (chat_seed_channel_receive_public(ch, data, n) == 0) {
      FUZZ_CHECK(chat_seed_channel_is_established(ch));
      feed_frames(ch, data + n, size - n);
    }
  }
  chat_seed_channel_free(ch);
  return 0;
}

static int established(const uint8_t *data, size_t size) {
  if (size < CHAT_SEED_KEY_BYTES)
    return 0;
  chat_seed_channel *ch = NULL;
  FUZZ_CHECK(chat_seed_channel_new_with_key(data, MAX_FRAME, &ch) == 0);
  feed_frames(ch, data + CHAT_SEED_KEY_BYTES, size - CHAT_SEED_KEY_BYTES);
  chat_seed_channel_free(ch);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  if (data[0] & 1)
    return established(data + 1, size - 1);
  return server_handshake(data + 1, size - 1, data[0]);
}
