/* v2 channel tests (protocol/v2-channel.h): a man in the middle against pinning,
 * the passive stream decoder, and the vectors of spec/vectors/v2-channel.json (made
 * by spec/vectors/tools/make-v2-vectors.py with Python `cryptography`). */
#include "v2-channel-fixture.h"

#include "protocol/chat-limits.h"
#include "protocol/messages.h"

/* ---- man in the middle --------------------------------------------------- */

typedef struct {
  chat_v2_channel *to_client; /* a server with the proxy's own key */
  chat_v2_channel *to_server; /* a client of the real server */
  uint8_t priv[32];
  uint8_t pub[32];
  inbox read_from_client;
} proxy;

/* The real server, a client, and a proxy between them that terminates the
 * client's handshake with its own key and relays messages. */
Test(v2_channel, man_in_the_middle_is_refused_by_the_pin) {
  char dir[] = "/tmp/chat-v2-mitm-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char known_hosts[256];
  snprintf(known_hosts, sizeof known_hosts, "%s/known_hosts", dir);
  const char *host = "chat.example.org:7000";

  /* First contact goes to the real server: ACCEPT_NEW records its key. */
  pair real;
  pair_ready(&real);
  uint8_t real_key[32];
  cr_assert_eq(chat_v2_channel_server_static(real.client, real_key), 0);
  char real_fp[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(real_key, real_fp);
  chat_pin_result res;
  cr_assert_eq(chat_pin_check(CHAT_PIN_ACCEPT_NEW, host, real_fp, NULL, known_hosts, &res), 0);
  cr_assert_eq(res.decision, CHAT_PIN_ACCEPTED_NEW);

  /* Now a proxy sits between a new client and the real server. */
  proxy px = {0};
  chat_v2_config scfg, ccfg;
  chat_v2_config_init(&scfg);
  chat_v2_config_init(&ccfg);
  cr_assert_eq(chat_noise_generate_keypair(px.priv, 32, px.pub, 32), 0);
  scfg.server_private_key = px.priv;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &scfg, &px.to_client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &ccfg, &px.to_server), 0);
  chat_v2_channel *victim;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &ccfg, &victim), 0);
  chat_v2_channel *server;
  chat_v2_config real_cfg;
  chat_v2_config_init(&real_cfg);
  real_cfg.server_private_key = real.server_priv;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &real_cfg, &server), 0);

  cr_assert_eq(chat_v2_channel_start(victim), 0);
  cr_assert_eq(chat_v2_channel_start(px.to_server), 0);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(transfer(victim, px.to_client, SPLIT_WHOLE, &px.read_from_client, NULL), 0);
    cr_assert_eq(transfer(px.to_client, victim, SPLIT_WHOLE, NULL, NULL), 0);
    cr_assert_eq(transfer(px.to_server, server, SPLIT_WHOLE, NULL, NULL), 0);
    cr_assert_eq(transfer(server, px.to_server, SPLIT_WHOLE, NULL, NULL), 0);
  }
  /* Both handshakes succeed: Noise alone cannot tell the proxy apart. */
  cr_assert(chat_v2_channel_is_established(victim));
  cr_assert(chat_v2_channel_is_established(px.to_server));

  uint8_t offered[32];
  cr_assert_eq(chat_v2_channel_server_static(victim, offered), 0);
  cr_assert(memcmp(offered, px.pub, 32) == 0);
  char offered_fp[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(offered, offered_fp);

  /* ACCEPT_NEW with the real key recorded: a hard failure. */
  int rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, host, offered_fp, NULL, known_hosts, &res);
  cr_assert_eq(rc, CHAT_PIN_ERR_CHANGED);
  cr_assert_eq(res.decision, CHAT_PIN_REJECTED);
  cr_assert(strstr(res.message, real_fp) != NULL, "%s", res.message);
  cr_assert(strstr(res.message, offered_fp) != NULL, "%s", res.message);
  /* ASK too. */
  rc = chat_pin_check(CHAT_PIN_ASK, host, offered_fp, NULL, known_hosts, &res);
  cr_assert_eq(rc, CHAT_PIN_ERR_CHANGED);
  /* STRICT with the real fingerprint configured, and with the real key. */
  rc = chat_pin_check(CHAT_PIN_STRICT, host, offered_fp, real_fp, NULL, &res);
  cr_assert_eq(rc, CHAT_PIN_ERR_MISMATCH);
  cr_assert(strstr(res.message, real_fp) != NULL, "%s", res.message);
  cr_assert(strstr(res.message, offered_fp) != NULL, "%s", res.message);
  char real_b64[CHAT_SERVER_KEY_BASE64_LEN + 1];
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  /* base64 of the real public key, written out here without nettle. */
  for (size_t i = 0, o = 0; i < 32; i += 3) {
    uint32_t v = (uint32_t)real_key[i] << 16;
    if (i + 1 < 32)
      v |= (uint32_t)real_key[i + 1] << 8;
    if (i + 2 < 32)
      v |= real_key[i + 2];
    real_b64[o++] = alphabet[(v >> 18) & 63];
    real_b64[o++] = alphabet[(v >> 12) & 63];
    real_b64[o++] = i + 1 < 32 ? alphabet[(v >> 6) & 63] : '=';
    real_b64[o++] = i + 2 < 32 ? alphabet[v & 63] : '=';
  }
  real_b64[CHAT_SERVER_KEY_BASE64_LEN] = '\0';
  rc = chat_pin_check(CHAT_PIN_STRICT, host, offered_fp, real_b64, NULL, &res);
  cr_assert_eq(rc, CHAT_PIN_ERR_MISMATCH);
  cr_assert(strstr(res.message, real_fp) != NULL, "%s", res.message);
  /* The direct connection passes the same checks. */
  cr_assert_eq(chat_pin_check(CHAT_PIN_ACCEPT_NEW, host, real_fp, NULL, known_hosts, &res), 0);
  cr_assert_eq(res.decision, CHAT_PIN_ACCEPTED);
  cr_assert_eq(chat_pin_check(CHAT_PIN_STRICT, host, real_fp, real_b64, NULL, &res), 0);

  /* Without the pin the proxy would read everything: the client refuses
   * before sending, so the proxy got nothing. */
  cr_assert_eq(px.read_from_client.count, 0);

  chat_v2_channel_free(victim);
  chat_v2_channel_free(server);
  chat_v2_channel_free(px.to_client);
  chat_v2_channel_free(px.to_server);
  inbox_free(&px.read_from_client);
  pair_free(&real);
  unlink(known_hosts);
  rmdir(dir);
}

/* ---- passive decoder ----------------------------------------------------- */

Test(v2_channel, decoder_decodes_both_directions_of_a_recorded_session) {
  pair p;
  pair_new(&p);
  pair_handshake(&p, SPLIT_WHOLE);
  size_t sizes[] = {5, 70000, 1, 200000, 300};
  uint8_t *up[5], *down[5];
  for (size_t i = 0; i < 5; i++) {
    up[i] = random_bytes(sizes[i]);
    down[i] = random_bytes(sizes[5 - 1 - i]);
    cr_assert_eq(chat_v2_channel_send(p.client, up[i], sizes[i]), 0);
    cr_assert_eq(chat_v2_channel_send(p.server, down[i], sizes[5 - 1 - i]), 0);
  }
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  cr_assert_eq(chat_v2_channel_close(p.server), 0);
  pair_pump(&p, SPLIT_RANDOM);
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.server, id, c2s, s2c), 0);

  split_mode modes[] = {SPLIT_WHOLE, SPLIT_ONE_BYTE, SPLIT_RANDOM};
  for (size_t m = 0; m < 3; m++) {
    decoded d;
    chat_v2_stream_decoder *dec = NULL;
    cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data,
                               p.c2s.len, modes[m], &d, &dec),
                 0);
    chat_v2_stream_decoder_free(dec);
    cr_assert(d.preamble);
    cr_assert_eq(d.handshakes, 1);
    cr_assert_eq(d.messages.count, p.at_server.count);
    for (size_t i = 0; i < d.messages.count; i++)
      assert_blob(&d.messages.items[i], p.at_server.items[i].data, p.at_server.items[i].len);
    cr_assert_eq(d.types[d.type_count - 1], CHAT_V2_RECORD_CLOSE);
    inbox_free(&d.messages);

    cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_AESGCM, s2c, 0, p.s2c.data,
                               p.s2c.len, modes[m], &d, NULL),
                 0);
    cr_assert_not(d.preamble);
    cr_assert_eq(d.handshakes, 1);
    cr_assert_eq(d.messages.count, p.at_client.count);
    for (size_t i = 0; i < d.messages.count; i++)
      assert_blob(&d.messages.items[i], p.at_client.items[i].data, p.at_client.items[i].len);
    inbox_free(&d.messages);
  }
  for (size_t i = 0; i < 5; i++) {
    free(up[i]);
    free(down[i]);
  }
  pair_free(&p);
}

/* Walks a capture by hand: the sizes of the preamble, the handshake message
 * and every record, to compare with what the decoder reports. */
static size_t record_lengths(const uint8_t *data, size_t len, size_t skip, size_t *out,
                             size_t cap) {
  size_t pos = skip, n = 0;
  pos += 2 + ((size_t)data[pos] << 8 | data[pos + 1]);
  while (pos + 2 <= len && n < cap) {
    size_t l = (size_t)data[pos] << 8 | data[pos + 1];
    out[n++] = l;
    pos += 2 + l;
  }
  return n;
}

Test(v2_channel, decoder_without_keys_reports_handshake_and_record_sizes) {
  pair p;
  pair_ready(&p);
  static const uint8_t small[] = "small";
  uint8_t *big = random_bytes(150000);
  cr_assert_eq(chat_v2_channel_send(p.client, small, sizeof small), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, big, 150000), 0);
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  pair_pump(&p, SPLIT_WHOLE);

  chat_v2_stream_decoder *dec;
  cr_assert_eq(
      chat_v2_stream_decoder_new(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0, &dec), 0);
  size_t expect[16];
  size_t count = record_lengths(p.c2s.data, p.c2s.len, CHAT_V2_PREAMBLE_LEN, expect, 16);
  cr_assert_eq(count, 5, "MESSAGE, BEGIN, CONTINUE, END, CLOSE");
  size_t off = 0, records = 0;
  uint64_t expect_offset = CHAT_V2_PREAMBLE_LEN + 2 + 32;
  bool saw_session_id = false;
  while (off < p.c2s.len) {
    ptrdiff_t n = chat_v2_stream_decoder_feed(dec, p.c2s.data + off, p.c2s.len - off);
    cr_assert_geq(n, 0);
    off += (size_t)n;
    chat_v2_stream_event ev;
    while (chat_v2_stream_decoder_next_event(dec, &ev) == 1) {
      cr_assert_neq(ev.kind, CHAT_V2_EVENT_MESSAGE, "no key, no messages");
      if (ev.kind == CHAT_V2_EVENT_PREAMBLE) {
        cr_assert_eq(ev.version, 2);
        cr_assert_eq(ev.suite, CHAT_V2_SUITE_AESGCM);
      } else if (ev.kind == CHAT_V2_EVENT_HANDSHAKE) {
        cr_assert_eq(ev.handshake_message, 1);
        cr_assert_eq(ev.noise_len, 32);
        cr_assert(ev.has_session_id);
        uint8_t id[32], c2s[32], s2c[32];
        cr_assert_eq(chat_v2_channel_session_keys(p.client, id, c2s, s2c), 0);
        cr_assert(memcmp(ev.session_id, id, 32) == 0);
        saw_session_id = true;
      } else {
        cr_assert_not(ev.decrypted);
        cr_assert_eq(ev.noise_len, expect[records]);
        cr_assert_eq(ev.offset, expect_offset);
        expect_offset += ev.wire_len;
        records++;
      }
    }
  }
  cr_assert(saw_session_id);
  cr_assert_eq(records, count);
  cr_assert_eq(chat_v2_stream_decoder_finish(dec), 0);
  chat_v2_stream_decoder_free(dec);

  /* The other direction: message 2 and nothing else. */
  cr_assert_eq(
      chat_v2_stream_decoder_new(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_ANY, NULL, 0, &dec), 0);
  cr_assert_eq(chat_v2_stream_decoder_feed(dec, p.s2c.data, p.s2c.len), (ptrdiff_t)p.s2c.len);
  chat_v2_stream_event ev;
  cr_assert_eq(chat_v2_stream_decoder_next_event(dec, &ev), 1);
  cr_assert_eq(ev.kind, CHAT_V2_EVENT_HANDSHAKE);
  cr_assert_eq(ev.handshake_message, 2);
  cr_assert_eq(ev.noise_len, 96);
  chat_v2_stream_decoder_free(dec);
  free(big);
  pair_free(&p);
}

Test(v2_channel, decoder_reports_damage_with_its_offset) {
  pair p;
  pair_ready(&p);
  static const uint8_t m1[] = "first", m2[] = "second";
  cr_assert_eq(chat_v2_channel_send(p.client, m1, sizeof m1), 0);
  pair_pump(&p, SPLIT_WHOLE);
  size_t second_at = p.c2s.len;
  cr_assert_eq(chat_v2_channel_send(p.client, m2, sizeof m2), 0);
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  pair_pump(&p, SPLIT_WHOLE);
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.client, id, c2s, s2c), 0);

  /* A flipped bit in the second record. */
  uint8_t *copy = malloc(p.c2s.len);
  memcpy(copy, p.c2s.data, p.c2s.len);
  copy[second_at + 5] ^= 0x20;
  decoded d;
  chat_v2_stream_decoder *dec;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, copy, p.c2s.len,
                             SPLIT_RANDOM, &d, &dec),
               CHAT_V2_ERR_BAD_TAG);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  cr_assert_eq(d.messages.count, 1);
  chat_v2_stream_decoder_free(dec);
  inbox_free(&d.messages);

  /* A wrong key fails the first record. */
  uint8_t wrong[32];
  memcpy(wrong, c2s, 32);
  wrong[0] ^= 1;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, wrong, 0, p.c2s.data,
                             p.c2s.len, SPLIT_WHOLE, &d, &dec),
               CHAT_V2_ERR_BAD_TAG);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), 8 + 2 + 32);
  chat_v2_stream_decoder_free(dec);

  /* A cut stream, a short record length, a bad preamble, random garbage. */
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data,
                             second_at + 7, SPLIT_WHOLE, &d, &dec),
               CHAT_V2_ERR_TRUNCATED);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  chat_v2_stream_decoder_free(dec);
  inbox_free(&d.messages);
  memcpy(copy, p.c2s.data, p.c2s.len);
  copy[second_at] = 0;
  copy[second_at + 1] = 16;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0, copy, p.c2s.len,
                             SPLIT_WHOLE, &d, &dec),
               CHAT_V2_ERR_RECORD_TOO_SHORT);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  chat_v2_stream_decoder_free(dec);
  copy[0] = 0x16;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0, copy, p.c2s.len,
                             SPLIT_WHOLE, &d, NULL),
               CHAT_V2_ERR_BAD_MAGIC);
  for (int round = 0; round < 200; round++) {
    size_t len = 1 + rng() % 3000;
    uint8_t *junk = random_bytes(len);
    if (round % 2 == 0)
      memcpy(junk, p.c2s.data, len < 42 ? len : 42); /* valid start, then garbage */
    int rc = decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, round % 2 == 0 ? c2s : NULL,
                           0, junk, len, SPLIT_RANDOM, &d, NULL);
    cr_assert_lt(rc, 0, "garbage is an error");
    inbox_free(&d.messages);
    free(junk);
  }
  free(copy);
  pair_free(&p);
}

/* ---- vectors ------------------------------------------------------------- */

static void hex_member(JsonObject *obj, const char *member, chat_buffer *out) {
  chat_buffer_reset(out);
  const char *text = json_object_get_string_member(obj, member);
  cr_assert_not_null(text, "member %s", member);
  chat_error err;
  cr_assert_eq(chat_hex_decode(text, strlen(text), out, &err), 0, "%s: %s", member, err.message);
}

static void assert_bytes(const uint8_t *got, size_t got_len, const chat_buffer *want,
                         const char *what) {
  cr_assert_eq(got_len, want->len, "%s: %zu bytes, expected %zu", what, got_len, want->len);
  cr_assert(memcmp(got, want->data, want->len) == 0, "%s differs", what);
}

/* Concatenates the "record" hex of a list of records. */
static void records_member(JsonObject *session, const char *member, chat_buffer *out) {
  chat_buffer_reset(out);
  JsonArray *records = json_object_get_array_member(session, member);
  chat_buffer one;
  chat_buffer_init(&one);
  for (guint i = 0; i < json_array_get_length(records); i++) {
    hex_member(json_array_get_object_element(records, i), "record", &one);
    chat_buffer_append(out, one.data, one.len);
  }
  chat_buffer_clear(&one);
}

static void check_vector_session(JsonObject *v) {
  chat_buffer b, want;
  chat_buffer_init(&b);
  chat_buffer_init(&want);
  uint8_t server_s[32], client_e[32], server_e[32];
  hex_member(v, "server_static_private", &b);
  memcpy(server_s, b.data, 32);
  hex_member(v, "client_ephemeral_private", &b);
  memcpy(client_e, b.data, 32);
  hex_member(v, "server_ephemeral_private", &b);
  memcpy(server_e, b.data, 32);
  chat_buffer info;
  chat_buffer_init(&info);
  hex_member(v, "server_info", &info);
  chat_buffer client_info;
  chat_buffer_init(&client_info);
  hex_member(v, "client_info", &client_info);
  size_t record_size = (size_t)json_object_get_int_member(v, "record_size");

  chat_v2_config ccfg, scfg;
  chat_v2_config_init(&ccfg);
  chat_v2_config_init(&scfg);
  ccfg.suite = (uint8_t)json_object_get_int_member(v, "suite");
  ccfg.rekey_bytes = (uint64_t)json_object_get_int_member(v, "client_rekey_bytes");
  scfg.rekey_bytes = (uint64_t)json_object_get_int_member(v, "server_rekey_bytes");
  scfg.server_private_key = server_s;
  scfg.server_info = info.data;
  scfg.server_info_len = info.len;
  ccfg.client_info = client_info.data;
  ccfg.client_info_len = client_info.len;
  chat_v2_channel *client, *server;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &ccfg, &client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &scfg, &server), 0);
  cr_assert_eq(chat_v2_channel_test_set_ephemeral(client, client_e), 0);
  cr_assert_eq(chat_v2_channel_test_set_ephemeral(server, server_e), 0);
  /* record_size is a sender's choice, and only the client's messages are
   * long enough to depend on it (the server's fit one record of
   * record_size). The server keeps the real record size: a receiver
   * accepts a 60-byte message in fragments (spec 7.4). */
  cr_assert_eq(chat_v2_channel_test_set_record_size(client, record_size), 0);

  /* Preamble + message 1. */
  chat_buffer c2s, s2c, tmp;
  chat_buffer_init(&c2s);
  chat_buffer_init(&s2c);
  chat_buffer_init(&tmp);
  cr_assert_eq(chat_v2_channel_start(client), 0);
  take_output(client, &c2s);
  hex_member(v, "preamble", &want);
  hex_member(v, "message1", &tmp);
  chat_buffer_append(&want, tmp.data, tmp.len);
  assert_bytes(c2s.data, c2s.len, &want, "preamble + message 1");
  cr_assert_eq(feed_all(server, c2s.data, c2s.len, SPLIT_ONE_BYTE, NULL), 0);

  /* Message 2. */
  take_output(server, &s2c);
  hex_member(v, "message2", &want);
  assert_bytes(s2c.data, s2c.len, &want, "message 2");
  cr_assert_eq(feed_all(client, s2c.data, s2c.len, SPLIT_ONE_BYTE, NULL), 0);
  cr_assert(chat_v2_channel_is_established(client));

  /* Keys, static key, server info (an encoded value). */
  uint8_t id[32], kc[32], ks[32], pub[32];
  cr_assert_eq(chat_v2_channel_session_keys(client, id, kc, ks), 0);
  hex_member(v, "session_id", &want);
  assert_bytes(id, 32, &want, "session id");
  hex_member(v, "c2s_key", &want);
  assert_bytes(kc, 32, &want, "c2s key");
  hex_member(v, "s2c_key", &want);
  assert_bytes(ks, 32, &want, "s2c key");
  cr_assert_eq(chat_v2_channel_server_static(client, pub), 0);
  hex_member(v, "server_static_public", &want);
  assert_bytes(pub, 32, &want, "server static key");
  char fp[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(pub, fp);
  cr_assert_str_eq(fp, json_object_get_string_member(v, "server_static_fingerprint"));
  const uint8_t *got_info;
  size_t got_info_len;
  cr_assert_eq(chat_v2_channel_server_info(client, &got_info, &got_info_len), 0);
  assert_bytes(got_info, got_info_len, &info, "server info");
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value;
  chat_error err;
  cr_assert_eq(chat_value_decode(got_info, got_info_len, NULL, 0, &arena, &value, &err), 0, "%s",
               err.message);
  cr_assert_eq(value->kind, CHAT_VALUE_DICT);
  chat_msg_server_info si;
  cr_assert(chat_msg_server_info_decode(got_info, got_info_len, &arena, &si));
  cr_assert(si.has_server && si.has_max_message && si.has_max_image,
            "the vector's server-info has the keys of spec 7.3");
  cr_assert_eq(si.max_message, CHAT_MAX_MESSAGE_DEFAULT);
  /* The server read the client-info of message 1. */
  const uint8_t *got_ci;
  size_t got_ci_len;
  cr_assert_eq(chat_v2_channel_client_info(server, &got_ci, &got_ci_len), 0);
  assert_bytes(got_ci, got_ci_len, &client_info, "client info");
  chat_msg_client_info ci;
  cr_assert(chat_msg_client_info_decode(got_ci, got_ci_len, &arena, &ci));
  cr_assert(ci.has_client && ci.has_max_message);
  chat_arena_clear(&arena);

  /* Records, both directions, byte for byte. */
  JsonArray *cm = json_object_get_array_member(v, "client_messages");
  JsonArray *sm = json_object_get_array_member(v, "server_messages");
  for (guint i = 0; i < json_array_get_length(cm); i++) {
    const char *hex = json_array_get_string_element(cm, i);
    chat_buffer_reset(&tmp);
    cr_assert_eq(chat_hex_decode(hex, strlen(hex), &tmp, NULL), 0);
    cr_assert_eq(chat_v2_channel_send(client, tmp.data, tmp.len), 0);
  }
  for (guint i = 0; i < json_array_get_length(sm); i++) {
    const char *hex = json_array_get_string_element(sm, i);
    chat_buffer_reset(&tmp);
    cr_assert_eq(chat_hex_decode(hex, strlen(hex), &tmp, NULL), 0);
    cr_assert_eq(chat_v2_channel_send(server, tmp.data, tmp.len), 0);
  }
  cr_assert_eq(chat_v2_channel_close(client), 0);
  cr_assert_eq(chat_v2_channel_close(server), 0);
  size_t c2s_handshake = c2s.len;
  chat_buffer_reset(&tmp);
  take_output(client, &tmp);
  records_member(v, "client_to_server", &want);
  assert_bytes(tmp.data, tmp.len, &want, "client -> server records");
  chat_buffer_append(&c2s, tmp.data, tmp.len);
  inbox got = {0};
  cr_assert_eq(feed_all(server, tmp.data, tmp.len, SPLIT_ONE_BYTE, &got), 0);
  cr_assert_eq(got.count, json_array_get_length(cm));
  cr_assert_eq(chat_v2_channel_eof(server), 0);
  inbox_free(&got);
  chat_buffer_reset(&tmp);
  take_output(server, &tmp);
  records_member(v, "server_to_client", &want);
  assert_bytes(tmp.data, tmp.len, &want, "server -> client records");
  chat_buffer_append(&s2c, tmp.data, tmp.len);
  cr_assert_eq(feed_all(client, tmp.data, tmp.len, SPLIT_ONE_BYTE, &got), 0);
  cr_assert_eq(got.count, json_array_get_length(sm));
  cr_assert_eq(chat_v2_channel_eof(client), 0);
  inbox_free(&got);
  cr_assert_gt(c2s.len, c2s_handshake);

  /* The passive decoder reads the vector streams with the logged keys. */
  decoded d;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, kc, 0, c2s.data, c2s.len,
                             SPLIT_ONE_BYTE, &d, NULL),
               0);
  cr_assert_eq(d.messages.count, json_array_get_length(cm));
  inbox_free(&d.messages);
  cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, ccfg.suite, ks, 0, s2c.data, s2c.len,
                             SPLIT_ONE_BYTE, &d, NULL),
               0);
  cr_assert_eq(d.messages.count, json_array_get_length(sm));
  cr_assert_eq(d.rekeys, 1);
  inbox_free(&d.messages);

  chat_v2_channel_free(client);
  chat_v2_channel_free(server);
  chat_buffer_clear(&b);
  chat_buffer_clear(&want);
  chat_buffer_clear(&info);
  chat_buffer_clear(&client_info);
  chat_buffer_clear(&c2s);
  chat_buffer_clear(&s2c);
  chat_buffer_clear(&tmp);
}

Test(v2_channel, reproduces_the_python_vectors_byte_for_byte) {
  char path[4096];
  snprintf(path, sizeof path, "%s/v2-channel.json", CHAT_SPEC_VECTORS_DIR);
  JsonParser *parser = json_parser_new();
  GError *error = NULL;
  cr_assert(json_parser_load_from_file(parser, path, &error), "%s: %s", path,
            error ? error->message : "?");
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonArray *sessions = json_object_get_array_member(root, "sessions");
  cr_assert_geq(json_array_get_length(sessions), 2);
  for (guint i = 0; i < json_array_get_length(sessions); i++)
    check_vector_session(json_array_get_object_element(sessions, i));
  g_object_unref(parser);
}
