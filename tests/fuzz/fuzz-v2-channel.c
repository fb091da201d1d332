/* Fuzz target: the v2 channel (Noise NX), deterministic: every key, the
 * ephemerals, the server info, the record size and the rekey intervals are
 * those of one session of spec/vectors/v2-channel.json, so the vector's
 * byte streams replay through it completely.
 *
 * Input: one mode byte, then bytes:
 *   bit 0: 0 = a server fed what a client sends (preamble, message 1,
 *          records); 1 = a client (after start) fed what a server sends
 *          (message 2, records).
 *   bit 1: the vector session (0 AESGCM, 1 ChaChaPoly).
 *   bit 2: records after a handshake: a client and a server made from the
 *          vector complete their handshake, then the bytes are record
 *          plaintexts `u8 type, u16 BE n, n bytes of body` that the peer
 *          encrypts as they are (chat_v2_channel_test_send_record), so the
 *          record layer (fragments, REKEY, CLOSE) is reached past the tag.
 * Every message the channel yields is checked as a receiver would
 * (fuzz_check_message). Seeds: the vector sessions' streams. */
#include <stdbool.h>
#include <string.h>

#include "fuzz-util.h"
#include "protocol/v2-channel.h"

typedef struct {
  uint8_t suite;
  uint8_t client_ephemeral[CHAT_V2_KEY_LEN];
  uint8_t server_ephemeral[CHAT_V2_KEY_LEN];
  uint8_t server_static[CHAT_V2_KEY_LEN];
  uint8_t server_info[CHAT_V2_MAX_SERVER_INFO];
  size_t server_info_len;
  size_t record_size;
  uint64_t client_rekey, server_rekey;
} session;

static void load_session(unsigned index, session *s) {
  const chat_json *sessions = chat_json_object_get(fuzz_vectors("v2-channel.json"), "sessions");
  FUZZ_CHECK(sessions && sessions->as.array.count > 0);
  const chat_json *v = &sessions->as.array.items[index % sessions->as.array.count];
  uint64_t n;
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "suite"), &n));
  s->suite = (uint8_t)n;
  fuzz_vector_hex(v, "client_ephemeral_private", s->client_ephemeral, CHAT_V2_KEY_LEN);
  fuzz_vector_hex(v, "server_ephemeral_private", s->server_ephemeral, CHAT_V2_KEY_LEN);
  fuzz_vector_hex(v, "server_static_private", s->server_static, CHAT_V2_KEY_LEN);
  s->server_info_len = fuzz_vector_hex(v, "server_info", s->server_info, sizeof s->server_info);
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "record_size"), &n));
  s->record_size = (size_t)n;
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "client_rekey_bytes"), &s->client_rekey));
  FUZZ_CHECK(chat_json_get_u64(chat_json_object_get(v, "server_rekey_bytes"), &s->server_rekey));
}

static chat_v2_channel *make(const session *s, chat_v2_role role) {
  chat_v2_config config;
  chat_v2_config_init(&config);
  config.suite = s->suite;
  config.max_message = 1u << 20;
  config.max_queue_bytes = 2u << 20;
  if (role == CHAT_V2_ROLE_SERVER) {
    config.rekey_bytes = s->server_rekey;
    config.server_private_key = s->server_static;
    config.server_info = s->server_info_len ? s->server_info : NULL;
    config.server_info_len = s->server_info_len;
  } else {
    config.rekey_bytes = s->client_rekey;
  }
  chat_v2_channel *ch = NULL;
  FUZZ_CHECK(chat_v2_channel_new(role, &config, &ch) == 0);
  FUZZ_CHECK(chat_v2_channel_test_set_ephemeral(
                 ch, role == CHAT_V2_ROLE_SERVER ? s->server_ephemeral : s->client_ephemeral) == 0);
  FUZZ_CHECK(chat_v2_channel_test_set_record_size(ch, s->record_size) == 0);
  return ch;
}

/* Checks the messages (and writes the output away unless `keep_output`,
 * when a peer is to read it). True if there was a message. */
static bool drain(chat_v2_channel *ch, bool keep_output) {
  const uint8_t *out;
  size_t len;
  while (!keep_output && chat_v2_channel_output(ch, &out, &len) == 0 && len > 0)
    FUZZ_CHECK(chat_v2_channel_output_consumed(ch, len) == 0);
  bool took = false;
  const uint8_t *msg;
  while (chat_v2_channel_next_message(ch, &msg, &len) == 1) {
    FUZZ_CHECK(len >= 1);
    fuzz_check_message(CHAT_DIALECT_V2, msg, len);
    took = true;
  }
  return took;
}

/* Feeds everything (split where the channel stops); false once it failed. */
static bool feed(chat_v2_channel *ch, const uint8_t *data, size_t size, bool keep_output) {
  while (size > 0) {
    ptrdiff_t n = chat_v2_channel_feed(ch, data, size);
    if (n < 0) {
      FUZZ_CHECK(chat_v2_is_fatal((int)n));
      FUZZ_CHECK(chat_v2_channel_error(ch) != 0);
      return false;
    }
    FUZZ_CHECK((size_t)n <= size);
    data += n;
    size -= (size_t)n;
    if (!drain(ch, keep_output) && n == 0)
      return false;
  }
  drain(ch, keep_output);
  return chat_v2_channel_error(ch) == 0;
}

/* Moves what `from` has to write into `to`. */
static bool pump(chat_v2_channel *from, chat_v2_channel *to) {
  const uint8_t *out;
  size_t len;
  bool ok = true;
  while (ok && chat_v2_channel_output(from, &out, &len) == 0 && len > 0) {
    ok = feed(to, out, len, true);
    FUZZ_CHECK(chat_v2_channel_output_consumed(from, len) == 0);
  }
  return ok;
}

static void records_after_handshake(const session *s, bool to_client, const uint8_t *data,
                                    size_t size) {
  chat_v2_channel *client = make(s, CHAT_V2_ROLE_CLIENT);
  chat_v2_channel *server = make(s, CHAT_V2_ROLE_SERVER);
  FUZZ_CHECK(chat_v2_channel_start(client) == 0);
  FUZZ_CHECK(pump(client, server));
  FUZZ_CHECK(pump(server, client));
  FUZZ_CHECK(chat_v2_channel_is_established(client) && chat_v2_channel_is_established(server));
  chat_v2_channel *sender = to_client ? server : client;
  chat_v2_channel *receiver = to_client ? client : server;
  while (size >= 3) {
    uint8_t type = data[0];
    size_t n = ((size_t)data[1] << 8) | data[2];
    data += 3;
    size -= 3;
    if (n > size)
      n = size;
    if (n > CHAT_V2_MAX_RECORD_BODY)
      n = CHAT_V2_MAX_RECORD_BODY;
    FUZZ_CHECK(chat_v2_channel_test_send_record(sender, type, data, n) == 0);
    data += n;
    size -= n;
    if (!pump(sender, receiver))
      break;
  }
  if (chat_v2_channel_error(receiver) == 0)
    chat_v2_channel_eof(receiver);
  chat_v2_channel_free(client);
  chat_v2_channel_free(server);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;
  session s;
  load_session((mode >> 1) & 1, &s);
  bool to_client = mode & 1;
  if (mode & 4) {
    records_after_handshake(&s, to_client, data, size);
    return 0;
  }
  chat_v2_channel *ch = make(&s, to_client ? CHAT_V2_ROLE_CLIENT : CHAT_V2_ROLE_SERVER);
  if (to_client) {
    FUZZ_CHECK(chat_v2_channel_start(ch) == 0);
    drain(ch, false);
  }
  if (feed(ch, data, size, false))
    chat_v2_channel_eof(ch);
  chat_v2_channel_free(ch);
  return 0;
}
