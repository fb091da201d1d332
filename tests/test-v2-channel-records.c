/* v2 channel tests (protocol/v2-channel.h): tampering, record rules and sender
 * limits. Fixture: v2-channel-fixture.h. */
#include "v2-channel-fixture.h"

/* ---- tampering ----------------------------------------------------------- */

/* The client's output after sending each message as its own record. */
static void records_of(pair *p, size_t count, chat_buffer *out, size_t *ends) {
  for (size_t i = 0; i < count; i++) {
    uint8_t b = (uint8_t)i;
    cr_assert_eq(chat_v2_channel_send(p->client, &b, 1), 0);
    take_output(p->client, out);
    ends[i] = out->len;
  }
}

Test(v2_channel, tampered_ciphertext_byte_fails_the_tag) {
  for (size_t flip = 2; flip < 2 + 1 + 1 + 16; flip++) {
    pair p;
    pair_ready(&p);
    chat_buffer out;
    chat_buffer_init(&out);
    size_t end;
    records_of(&p, 1, &out, &end);
    out.data[flip] ^= 0x01;
    int rc = feed_all(p.server, out.data, out.len, SPLIT_WHOLE, &p.at_server);
    assert_server_error(&p, rc, CHAT_V2_ERR_BAD_TAG, "failed authentication");
    cr_assert_eq(p.at_server.count, 0, "no unauthenticated plaintext is released");
    chat_buffer_clear(&out);
    pair_free(&p);
  }
}

Test(v2_channel, replayed_record_fails) {
  pair p;
  pair_ready(&p);
  chat_buffer out;
  chat_buffer_init(&out);
  size_t ends[2];
  records_of(&p, 1, &out, ends);
  cr_assert_eq(feed_all(p.server, out.data, ends[0], SPLIT_WHOLE, &p.at_server), 0);
  int rc = feed_all(p.server, out.data, ends[0], SPLIT_WHOLE, &p.at_server);
  assert_server_error(&p, rc, CHAT_V2_ERR_BAD_TAG, NULL);
  cr_assert_eq(p.at_server.count, 1);
  chat_buffer_clear(&out);
  pair_free(&p);
}

Test(v2_channel, reordered_records_fail) {
  pair p;
  pair_ready(&p);
  chat_buffer out;
  chat_buffer_init(&out);
  size_t ends[2];
  records_of(&p, 2, &out, ends);
  int rc = feed_all(p.server, out.data + ends[0], ends[1] - ends[0], SPLIT_WHOLE, &p.at_server);
  assert_server_error(&p, rc, CHAT_V2_ERR_BAD_TAG, NULL);
  cr_assert_eq(p.at_server.count, 0);
  chat_buffer_clear(&out);
  pair_free(&p);
}

Test(v2_channel, dropped_record_fails) {
  pair p;
  pair_ready(&p);
  chat_buffer out;
  chat_buffer_init(&out);
  size_t ends[3];
  records_of(&p, 3, &out, ends);
  cr_assert_eq(feed_all(p.server, out.data, ends[0], SPLIT_WHOLE, &p.at_server), 0);
  int rc = feed_all(p.server, out.data + ends[1], ends[2] - ends[1], SPLIT_WHOLE, &p.at_server);
  assert_server_error(&p, rc, CHAT_V2_ERR_BAD_TAG, NULL);
  cr_assert_eq(p.at_server.count, 1);
  chat_buffer_clear(&out);
  pair_free(&p);
}

/* Runs a handshake whose preamble byte `index` is replaced by `value`;
 * returns the client's and the server's status. */
static void tampered_preamble(size_t index, uint8_t value, int *client_rc, int *server_rc) {
  pair p;
  pair_new(&p);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  chat_buffer out;
  chat_buffer_init(&out);
  take_output(p.client, &out);
  out.data[index] = value;
  *server_rc = feed_all(p.server, out.data, out.len, SPLIT_ONE_BYTE, NULL);
  *client_rc = 0;
  if (*server_rc == 0)
    *client_rc = transfer(p.server, p.client, SPLIT_WHOLE, NULL, NULL);
  if (*client_rc != 0)
    cr_assert(strstr(chat_v2_channel_error_message(p.client), "message 2") != NULL);
  chat_buffer_clear(&out);
  pair_free(&p);
}

Test(v2_channel, tampered_preamble_fails_the_handshake) {
  int crc, src;
  /* Suite downgrade 01 -> 02: the server accepts the suite, but the
   * prologue (and the protocol name) differ, so message 2 does not verify. */
  tampered_preamble(CHAT_V2_SUITE_OFFSET, CHAT_V2_SUITE_CHACHAPOLY, &crc, &src);
  cr_assert_eq(src, 0);
  cr_assert_eq(crc, CHAT_V2_ERR_HANDSHAKE_FAILED);
  tampered_preamble(0, 0x01, &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_MAGIC);
  tampered_preamble(3, 'X', &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_MAGIC);
  tampered_preamble(CHAT_V2_VERSION_OFFSET, 3, &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_VERSION);
  tampered_preamble(CHAT_V2_SUITE_OFFSET, 3, &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_SUITE);
  tampered_preamble(CHAT_V2_SUITE_OFFSET, 0, &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_SUITE);
  tampered_preamble(CHAT_V2_RESERVED_OFFSET, 1, &crc, &src);
  cr_assert_eq(src, CHAT_V2_ERR_BAD_RESERVED);
}

Test(v2_channel, seed_dialect_client_bytes_are_refused_as_bad_magic) {
  pair p;
  pair_new(&p);
  /* A seed client starts with a minimal big-endian DH value (no 0x00). */
  static const uint8_t seed_start[] = {0xC3, 0x5A, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04};
  int rc = feed_all(p.server, seed_start, sizeof seed_start, SPLIT_WHOLE, NULL);
  assert_server_error(&p, rc, CHAT_V2_ERR_BAD_MAGIC, "not a v2 client");
  pair_free(&p);
}

Test(v2_channel, tampered_handshake_message_2_fails) {
  for (size_t flip = 2; flip < 2 + 96; flip += 7) {
    pair p;
    pair_new(&p);
    cr_assert_eq(chat_v2_channel_start(p.client), 0);
    cr_assert_eq(client_to_server(&p), 0);
    chat_buffer out;
    chat_buffer_init(&out);
    take_output(p.server, &out);
    out.data[flip] ^= 0x80;
    int rc = feed_all(p.client, out.data, out.len, SPLIT_WHOLE, NULL);
    cr_assert_eq(rc, CHAT_V2_ERR_HANDSHAKE_FAILED, "flip %zu: %d", flip, rc);
    cr_assert_not(chat_v2_channel_is_established(p.client));
    chat_buffer_clear(&out);
    pair_free(&p);
  }
}

Test(v2_channel, malformed_handshake_messages) {
  pair p;
  pair_new(&p);
  /* Message 1 over 32 + 1024 bytes (a client-info over 1024): refused from
   * the prefix. */
  uint8_t bytes[8 + 2 + 33] = {0x00, 'C', 'H', 'A', 'T', 2, 1, 0, 0x04, 0x21};
  int rc = feed_all(p.server, bytes, 10, SPLIT_WHOLE, NULL);
  assert_server_error(&p, rc, CHAT_V2_ERR_HANDSHAKE_PAYLOAD, "the limit is 1024");
  pair_free(&p);

  pair_new(&p);
  bytes[8] = 0;
  bytes[9] = 31;
  rc = feed_all(p.server, bytes, 10, SPLIT_WHOLE, NULL);
  assert_server_error(&p, rc, CHAT_V2_ERR_HANDSHAKE_LENGTH, "31 bytes");
  pair_free(&p);

  /* Message 2 over 96 + 1024 bytes, and under 96: refused from the prefix. */
  pair_new(&p);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  static const uint8_t too_long[] = {0x04, 0x61}; /* 1121 */
  cr_assert_eq(chat_v2_channel_feed(p.client, too_long, 2), CHAT_V2_ERR_HANDSHAKE_PAYLOAD);
  pair_free(&p);
  pair_new(&p);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  static const uint8_t too_short[] = {0x00, 95};
  cr_assert_eq(chat_v2_channel_feed(p.client, too_short, 2), CHAT_V2_ERR_HANDSHAKE_LENGTH);
  pair_free(&p);
}

/* ---- handshake payloads and the refusal (spec 7.3, 7.7) ------------------ */

Test(v2_channel, client_info_reaches_the_server_and_is_authenticated) {
  static const uint8_t info[] = "client-info blob";
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  c.client_info = info;
  c.client_info_len = sizeof info;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_ONE_BYTE);
  const uint8_t *got;
  size_t len;
  cr_assert_eq(chat_v2_channel_client_info(p.server, &got, &len), 0);
  cr_assert_eq(len, sizeof info);
  cr_assert_eq(memcmp(got, info, len), 0);
  cr_assert_eq(chat_v2_channel_client_info(p.client, &got, &len), 0);
  cr_assert_eq(len, sizeof info);
  /* It is in the clear, right after the ephemeral key of message 1. */
  cr_assert_eq(memcmp(p.c2s.data + 8 + 2 + 32, info, sizeof info), 0);
  pair_free(&p);

  /* Changed on the way: the server reads the changed bytes, and the
   * client's message 2 fails, because both hashed what they saw. */
  pair_new_with(&p, &c, &s);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  chat_buffer out;
  chat_buffer_init(&out);
  take_output(p.client, &out);
  out.data[8 + 2 + 32] ^= 0x01;
  cr_assert_eq(feed_all(p.server, out.data, out.len, SPLIT_WHOLE, NULL), 0);
  cr_assert(chat_v2_channel_is_established(p.server));
  chat_buffer_clear(&out);
  take_output(p.server, &out);
  cr_assert_eq(feed_all(p.client, out.data, out.len, SPLIT_WHOLE, NULL),
               CHAT_V2_ERR_HANDSHAKE_FAILED);
  chat_buffer_clear(&out);
  pair_free(&p);

  /* Up to 1024 bytes; a client with more is a configuration error. */
  static uint8_t big[CHAT_V2_MAX_CLIENT_INFO + 1];
  chat_v2_channel *ch = NULL;
  c.client_info = big;
  c.client_info_len = sizeof big;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &c, &ch), CHAT_V2_ERR_INVALID_ARGUMENT);
  c.client_info_len = CHAT_V2_MAX_CLIENT_INFO;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_RANDOM);
  cr_assert_eq(chat_v2_channel_client_info(p.server, &got, &len), 0);
  cr_assert_eq(len, CHAT_V2_MAX_CLIENT_INFO);
  pair_free(&p);
}

/* Spec 7.3.2: an all-zero DH output (a low-order ephemeral key) fails the
 * handshake. */
Test(v2_channel, a_low_order_client_key_fails_the_handshake) {
  pair p;
  pair_new(&p);
  uint8_t hello[8 + 2 + 32] = {0x00, 'C', 'H', 'A', 'T', 2, 1, 0, 0x00, 32};
  /* u = 0: a point of small order, whose DH output is all zeros. */
  int rc = feed_all(p.server, hello, sizeof hello, SPLIT_WHOLE, NULL);
  assert_server_error(&p, rc, CHAT_V2_ERR_HANDSHAKE_FAILED, "low-order");
  pair_free(&p);
}

Test(v2_channel, server_refusal_bytes_for_each_preamble_fault) {
  uint8_t r[CHAT_V2_REFUSAL_LEN];
  static const uint8_t version[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x01};
  static const uint8_t suite[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x02};
  static const uint8_t reserved[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x03};
  cr_assert(chat_v2_make_refusal(CHAT_V2_ERR_BAD_VERSION, r));
  cr_assert_eq(memcmp(r, version, sizeof r), 0);
  cr_assert(chat_v2_make_refusal(CHAT_V2_ERR_BAD_SUITE, r));
  cr_assert_eq(memcmp(r, suite, sizeof r), 0);
  cr_assert(chat_v2_make_refusal(CHAT_V2_ERR_BAD_RESERVED, r));
  cr_assert_eq(memcmp(r, reserved, sizeof r), 0);
  cr_assert_not(chat_v2_make_refusal(CHAT_V2_ERR_BAD_MAGIC, r), "a wrong magic gets no answer");
  cr_assert_not(chat_v2_make_refusal(CHAT_V2_ERR_HANDSHAKE_FAILED, r));

  /* The server side: version 3 is BAD_VERSION. */
  pair p;
  pair_new(&p);
  static const uint8_t v3[] = {0x00, 'C', 'H', 'A', 'T', 3, 1, 0};
  assert_server_error(&p, feed_all(p.server, v3, sizeof v3, SPLIT_WHOLE, NULL),
                      CHAT_V2_ERR_BAD_VERSION, "version 3");
  pair_free(&p);
}

/* Feeds bytes to a started client; returns its error. */
static int client_reads(const uint8_t *bytes, size_t len, split_mode mode, char *reason,
                        size_t cap) {
  chat_v2_config c;
  chat_v2_config_init(&c);
  c.suite = CHAT_V2_SUITE_CHACHAPOLY;
  chat_v2_channel *ch = NULL;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &c, &ch), 0);
  cr_assert_eq(chat_v2_channel_start(ch), 0);
  int rc = feed_all(ch, bytes, len, mode, NULL);
  snprintf(reason, cap, "%s", chat_v2_channel_error_message(ch));
  chat_v2_channel_free(ch);
  return rc;
}

Test(v2_channel, client_reports_the_servers_refusal) {
  char reason[CHAT_V2_REASON_MAX];
  static const uint8_t version[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x01};
  cr_assert_eq(client_reads(version, sizeof version, SPLIT_ONE_BYTE, reason, sizeof reason),
               CHAT_V2_ERR_REFUSED);
  cr_assert_str_eq(reason, "the server speaks protocol version 2; this program speaks 2");
  static const uint8_t v7[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x07, 0x00, 0x01};
  cr_assert_eq(client_reads(v7, sizeof v7, SPLIT_WHOLE, reason, sizeof reason),
               CHAT_V2_ERR_REFUSED);
  cr_assert_str_eq(reason, "the server speaks protocol version 7; this program speaks 2");
  static const uint8_t suite[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x02};
  cr_assert_eq(client_reads(suite, sizeof suite, SPLIT_WHOLE, reason, sizeof reason),
               CHAT_V2_ERR_REFUSED);
  cr_assert(strstr(reason, "does not accept cipher suite 0x02 (ChaChaPoly)"), "%s", reason);
  static const uint8_t reserved[] = {0x00, 0x43, 0x48, 0x41, 0x54, 0x02, 0x00, 0x03};
  cr_assert_eq(client_reads(reserved, sizeof reserved, SPLIT_WHOLE, reason, sizeof reason),
               CHAT_V2_ERR_REFUSED);
  cr_assert(strstr(reason, "reserved byte"), "%s", reason);
  /* 00 43 and then not the rest of a refusal: a message 2 of 67 bytes. */
  static const uint8_t other[] = {0x00, 0x43, 0x48, 0x41, 0x55, 0x02, 0x00, 0x01};
  cr_assert_eq(client_reads(other, sizeof other, SPLIT_WHOLE, reason, sizeof reason),
               CHAT_V2_ERR_HANDSHAKE_LENGTH);
  cr_assert(strstr(reason, "67 bytes"), "%s", reason);
}

/* ---- record rules -------------------------------------------------------- */

static void store_be32(uint8_t *p, uint32_t v) {
  chat_store_u32be(p, v);
}

/* Sends a hand-made record from the client; returns the server's status. */
static int raw_record(pair *p, uint8_t type, const uint8_t *body, size_t len) {
  cr_assert_eq(chat_v2_channel_test_send_record(p->client, type, body, len), 0);
  return client_to_server(p);
}

/* A BEGIN body: total, then `fragment` bytes. */
static size_t begin_body(uint8_t *body, uint32_t total, size_t fragment) {
  store_be32(body, total);
  memset(body + 4, 'b', fragment);
  return 4 + fragment;
}

Test(v2_channel, an_announced_message_costs_only_the_bytes_that_arrived) {
  pair p;
  pair_ready(&p);
  static uint8_t body[4 + 100];
  size_t len = begin_body(body, 10u << 20, 100);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, len), 0);
  /* 10 MiB announced, 100 bytes sent: the server holds about that. */
  cr_assert_lt(chat_v2_channel_test_buffered_bytes(p.server), 8192, "%zu bytes held",
               chat_v2_channel_test_buffered_bytes(p.server));
  /* A record's buffer too grows with its bytes, not to its announced length. */
  static const uint8_t prefix[] = {0xff, 0xff, 0x42};
  cr_assert_eq(chat_v2_channel_feed(p.server, prefix, sizeof prefix), (ptrdiff_t)sizeof prefix);
  cr_assert_lt(chat_v2_channel_test_buffered_bytes(p.server), 16384, "%zu bytes held",
               chat_v2_channel_test_buffered_bytes(p.server));
  pair_free(&p);
}

Test(v2_channel, limits_can_be_raised_on_a_live_channel) {
  pair p;
  pair_ready_server_limits(&p, 100, 200);
  static uint8_t big[70000];
  static uint8_t body[4 + 100];
  size_t len = begin_body(body, sizeof big, 100);
  cr_assert_eq(chat_v2_channel_set_limits(p.server, 100, 99), CHAT_V2_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_v2_channel_send(p.server, big, 101), CHAT_V2_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_v2_channel_set_limits(p.server, 1 << 20, 2 << 20), 0);
  cr_assert_eq(chat_v2_channel_send(p.server, big, sizeof big), 0, "raised for sending");
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, len), 0, "raised for receiving");
  pair_free(&p);
}

Test(v2_channel, the_transit_budget_bounds_receive_buffers_and_send_queues) {
  enum { BUDGET = 100000 };
  chat_transit *transit = chat_transit_new(BUDGET);
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.transit = transit;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_WHOLE);
  /* Sending: CHAT_TRANSIT_FREE_BYTES free, then the budget, then refused
   * without killing the channel. */
  static uint8_t chunk[60000];
  int sent = 0, rc;
  while ((rc = chat_v2_channel_send(p.server, chunk, sizeof chunk)) == 0)
    sent++;
  cr_assert_eq(rc, CHAT_V2_ERR_TRANSIT_FULL);
  cr_assert_eq(sent, (CHAT_TRANSIT_FREE_BYTES + BUDGET) / sizeof chunk);
  cr_assert_not(chat_v2_is_fatal(rc));
  cr_assert_gt(chat_transit_used(transit), 0);
  /* Written out, the queue gives its bytes back. */
  pair_pump(&p, SPLIT_WHOLE);
  cr_assert_eq(chat_transit_used(transit), 0);
  /* Receiving: a message growing past the budget kills the channel. */
  static uint8_t body[4 + 60000];
  size_t len = begin_body(body, 1u << 20, 60000);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, len), 0);
  int got = 0;
  for (int i = 0; i < 10 && got == 0; i++)
    got = raw_record(&p, CHAT_V2_RECORD_MESSAGE_CONTINUE, body + 4, 60000);
  assert_server_error(&p, got, CHAT_V2_ERR_TRANSIT_EXHAUSTED, "in transit is used up");
  cr_assert_eq(chat_transit_used(transit), 0, "a dead channel gives its share back");
  pair_free(&p);
  chat_transit_free(transit);
}

Test(v2_channel, continue_or_end_without_begin) {
  static const uint8_t x[] = "x";
  pair p;
  pair_ready(&p);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_CONTINUE, x, 1),
                      CHAT_V2_ERR_NO_FRAGMENT, "MESSAGE_CONTINUE without");
  pair_free(&p);
  pair_ready(&p);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_END, x, 1), CHAT_V2_ERR_NO_FRAGMENT,
                      "MESSAGE_END without");
  pair_free(&p);
}

Test(v2_channel, begin_while_a_fragmented_message_is_in_progress) {
  uint8_t body[64];
  size_t n = begin_body(body, 200000, 10);
  pair p;
  pair_ready(&p);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  /* Whole messages may come in between. */
  static const uint8_t x[] = "between";
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE, x, sizeof x), 0);
  cr_assert_eq(p.at_server.count, 1);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_FRAGMENT_IN_PROGRESS, "10 of 200000");
  pair_free(&p);
}

Test(v2_channel, receiver_rekeys_after_a_rekey_record) {
  pair p;
  pair_ready(&p);
  size_t total = TEST_RECORD_BODY + 100;
  uint8_t *body = malloc(CHAT_V2_MAX_RECORD_BODY);
  size_t n = begin_body(body, (uint32_t)total, 50);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  memset(body, 'b', TEST_RECORD_BODY);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_CONTINUE, body, TEST_RECORD_BODY - 1), 0);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_REKEY, NULL, 0), 0);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_END, body, 51), CHAT_V2_ERR_BAD_TAG,
               "the client did not rekey after the hand-made REKEY");
  free(body);
  pair_free(&p);
}

Test(v2_channel, announced_total_over_max_is_rejected_at_begin) {
  pair p;
  pair_ready_server_limits(&p, 1 * MiB, 2 * MiB);
  uint8_t body[8];
  size_t n = begin_body(body, UINT32_MAX, 1);
  /* Only the BEGIN record exists: the decision cannot wait for fragments,
   * and nothing is allocated for the 4 GiB (ASan would report it). */
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_TOTAL_TOO_LARGE, "4294967295");
  pair_free(&p);

  pair_ready_server_limits(&p, 1 * MiB, 2 * MiB);
  n = begin_body(body, (uint32_t)(1 * MiB + 1), 1);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_TOTAL_TOO_LARGE, NULL);
  pair_free(&p);
}

/* Spec 7.4: a BEGIN may announce any total from 2 bytes up: a sender may
 * fragment a message that would fit in one record, in fragments of any
 * size, and whole messages may come between them. */
Test(v2_channel, a_small_message_may_be_fragmented_in_fragments_of_any_size) {
  pair p;
  pair_ready(&p);
  uint8_t body[16];
  size_t n = begin_body(body, 3, 1);
  body[4] = 'a';
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  static const uint8_t x[] = "between";
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE, x, sizeof x), 0);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_CONTINUE, (const uint8_t *)"b", 1), 0);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_END, (const uint8_t *)"c", 1), 0);
  cr_assert_eq(p.at_server.count, 2);
  assert_blob(&p.at_server.items[0], x, sizeof x);
  assert_blob(&p.at_server.items[1], (const uint8_t *)"abc", 3);
  pair_free(&p);

  /* A total of 1 cannot be fragmented: BEGIN's fragment would be all of it. */
  pair_ready(&p);
  n = begin_body(body, 1, 1);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_FRAGMENT_LENGTH, NULL);
  pair_free(&p);
}

Test(v2_channel, fragments_must_add_up_to_the_total) {
  uint8_t *body = malloc(CHAT_V2_MAX_RECORD_BODY);
  size_t total = TEST_RECORD_BODY + 10;
  /* CONTINUE reaching the total. */
  pair p;
  pair_ready(&p);
  size_t n = begin_body(body, (uint32_t)total, TEST_RECORD_BODY - 4);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_CONTINUE, body, 14),
                      CHAT_V2_ERR_FRAGMENT_LENGTH, "must stay below");
  pair_free(&p);
  /* END short of the total, and END beyond it. */
  for (size_t end_len = 13; end_len <= 15; end_len += 2) {
    pair_ready(&p);
    cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
    assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_END, body, end_len),
                        CHAT_V2_ERR_FRAGMENT_LENGTH, "announced");
    pair_free(&p);
  }
  /* Exactly the total: delivered. */
  pair_ready(&p);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_END, body, 14), 0);
  cr_assert_eq(p.at_server.count, 1);
  cr_assert_eq(p.at_server.items[0].len, total);
  pair_free(&p);
  free(body);
}

Test(v2_channel, record_length_under_17_is_rejected_from_the_prefix) {
  for (uint8_t len = 0; len < CHAT_V2_MIN_RECORD_LEN; len += 4) {
    pair p;
    pair_ready(&p);
    uint8_t prefix[2] = {0, len};
    assert_server_error(&p, (int)chat_v2_channel_feed(p.server, prefix, 2),
                        CHAT_V2_ERR_RECORD_TOO_SHORT, "minimum is 17");
    pair_free(&p);
  }
}

Test(v2_channel, unknown_record_types) {
  static const uint8_t types[] = {0, 7, 0x80, 0xFF};
  static const uint8_t x[] = "x";
  for (size_t i = 0; i < sizeof types; i++) {
    pair p;
    pair_ready(&p);
    assert_server_error(&p, raw_record(&p, types[i], x, 1), CHAT_V2_ERR_UNKNOWN_RECORD,
                        "unknown record type");
    pair_free(&p);
  }
}

Test(v2_channel, empty_and_unexpected_bodies) {
  static const uint8_t x[] = "xxxxx";
  struct {
    uint8_t type;
    size_t len;
    int code;
  } cases[] = {
      {CHAT_V2_RECORD_MESSAGE, 0, CHAT_V2_ERR_EMPTY_BODY},
      {CHAT_V2_RECORD_MESSAGE_BEGIN, 0, CHAT_V2_ERR_EMPTY_BODY},
      {CHAT_V2_RECORD_MESSAGE_BEGIN, 4, CHAT_V2_ERR_EMPTY_BODY},
      {CHAT_V2_RECORD_REKEY, 1, CHAT_V2_ERR_UNEXPECTED_BODY},
      {CHAT_V2_RECORD_CLOSE, 1, CHAT_V2_ERR_UNEXPECTED_BODY},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pair p;
    pair_ready(&p);
    assert_server_error(&p, raw_record(&p, cases[i].type, x, cases[i].len), cases[i].code, NULL);
    pair_free(&p);
  }
  /* Empty CONTINUE / END inside a fragmented message. */
  uint8_t body[16];
  size_t n = begin_body(body, 100000, 4);
  for (uint8_t type = CHAT_V2_RECORD_MESSAGE_CONTINUE; type <= CHAT_V2_RECORD_MESSAGE_END; type++) {
    pair p;
    pair_ready(&p);
    cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
    assert_server_error(&p, raw_record(&p, type, NULL, 0), CHAT_V2_ERR_EMPTY_BODY, "empty body");
    pair_free(&p);
  }
}

Test(v2_channel, close_inside_a_fragmented_message) {
  uint8_t body[16];
  size_t n = begin_body(body, 100000, 4);
  pair p;
  pair_ready(&p);
  cr_assert_eq(raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n), 0);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_CLOSE, NULL, 0),
                      CHAT_V2_ERR_INCOMPLETE_MESSAGE, "4 of 100000");
  pair_free(&p);
}

/* ---- sender limits ------------------------------------------------------- */

Test(v2_channel, send_limits_are_caller_errors) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  c.max_message = 1000;
  c.max_queue_bytes = 2500;
  pair p;
  pair_new_with(&p, &c, &s);
  uint8_t buf[1001] = {0};
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1), CHAT_V2_ERR_STATE, "not established");
  pair_handshake(&p, SPLIT_WHOLE);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1001), CHAT_V2_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 0), CHAT_V2_ERR_MESSAGE_EMPTY);
  cr_assert_not(chat_v2_is_fatal(CHAT_V2_ERR_MESSAGE_TOO_LARGE));
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1000), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1000), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1000), CHAT_V2_ERR_QUEUE_FULL);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 500), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1), CHAT_V2_ERR_QUEUE_FULL);
  /* Encrypted but unwritten bytes still count. */
  const uint8_t *d;
  size_t l;
  cr_assert_eq(chat_v2_channel_output(p.client, &d, &l), 0);
  cr_assert_gt(l, 2500);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1), CHAT_V2_ERR_QUEUE_FULL);
  cr_assert(chat_v2_channel_is_established(p.client), "caller errors are not fatal");
  pair_pump(&p, SPLIT_WHOLE);
  cr_assert_eq(p.at_server.count, 3);
  cr_assert_eq(chat_v2_channel_send(p.client, buf, 1000), 0, "room again once written");
  pair_free(&p);
}

Test(v2_channel, receiver_max_message_applies_to_fragmented_messages) {
  pair p;
  pair_ready_server_limits(&p, 100000, 200000);
  uint8_t *big = random_bytes(100001);
  cr_assert_eq(chat_v2_channel_send(p.client, big, 100001), 0);
  assert_server_error(&p, client_to_server(&p), CHAT_V2_ERR_TOTAL_TOO_LARGE, "100001");
  free(big);
  pair_free(&p);
}

Test(v2_channel, config_and_argument_checks) {
  chat_v2_config cfg;
  chat_v2_channel *ch = NULL;
  chat_v2_config_init(&cfg);
  cr_assert_eq(cfg.max_message, CHAT_V2_DEFAULT_MAX_MESSAGE);
  cr_assert_eq(cfg.rekey_bytes, CHAT_V2_DEFAULT_REKEY_BYTES);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &cfg, &ch), CHAT_V2_ERR_INVALID_ARGUMENT,
               "a server needs its key");
  cr_assert_null(ch);
  cfg.suite = 3;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &cfg, &ch), CHAT_V2_ERR_INVALID_ARGUMENT);
  chat_v2_config_init(&cfg);
  cfg.max_queue_bytes = cfg.max_message - 1;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &cfg, &ch), CHAT_V2_ERR_INVALID_ARGUMENT);
  chat_v2_config_init(&cfg);
  cfg.rekey_bytes = 0;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &cfg, &ch), CHAT_V2_ERR_INVALID_ARGUMENT);
  chat_v2_config_init(&cfg);
  uint8_t key[32] = {1};
  uint8_t info[CHAT_V2_MAX_SERVER_INFO + 1] = {0};
  cfg.server_private_key = key;
  cfg.server_info = info;
  cfg.server_info_len = sizeof info;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &cfg, &ch), CHAT_V2_ERR_INVALID_ARGUMENT);
  cfg.server_info_len = CHAT_V2_MAX_SERVER_INFO;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &cfg, &ch), 0);
  cr_assert_eq(chat_v2_channel_start(ch), 0);
  cr_assert_eq(chat_v2_channel_start(ch), CHAT_V2_ERR_STATE);
  chat_v2_channel_free(ch);

  chat_v2_config_init(&cfg);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &cfg, &ch), 0);
  uint8_t b = 0;
  cr_assert_eq(chat_v2_channel_feed(ch, &b, 1), CHAT_V2_ERR_STATE, "client before start");
  cr_assert_eq(chat_v2_channel_close(ch), CHAT_V2_ERR_STATE);
  cr_assert_eq(chat_v2_channel_test_set_record_size(ch, CHAT_V2_TEST_MIN_RECORD_LEN - 1),
               CHAT_V2_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_v2_channel_start(ch), 0);
  cr_assert_eq(chat_v2_channel_test_set_ephemeral(ch, key), CHAT_V2_ERR_STATE);
  cr_assert_eq(chat_v2_channel_output_consumed(ch, 1000), CHAT_V2_ERR_INVALID_ARGUMENT);
  chat_v2_channel_free(ch);
  chat_v2_channel_free(NULL);
}

Test(v2_channel, every_error_code_has_a_distinct_name_and_text) {
  for (int code = CHAT_V2_ERR_REFUSED; code <= CHAT_V2_ERR_INVALID_ARGUMENT; code++) {
    const char *name = chat_error_name(code);
    cr_assert_not_null(name, "code %d", code);
    cr_assert_str_neq(chat_strerror(code), "unknown error");
    for (int other = code + 1; other <= CHAT_V2_ERR_INVALID_ARGUMENT; other++)
      cr_assert_str_neq(name, chat_error_name(other));
    gboolean caller_error = code >= CHAT_V2_ERR_CLOSED || code == CHAT_V2_ERR_TRANSIT_FULL;
    cr_assert_eq(chat_v2_is_fatal(code), !caller_error, "code %d", code);
  }
  cr_assert_null(chat_error_name(-199));
  cr_assert_neq(chat_error_band(CHAT_NOISE_ERR_MAC_FAILURE), CHAT_ERR_BAND_V2);
  cr_assert_str_eq(chat_strerror(CHAT_V2_ERR_REFUSED - 1), "unknown error");
}
