/* v2 channel tests (protocol/v2-channel.h): the handshake, messages both ways,
 * memory of idle channels, close and end of stream. Fixture: v2-channel-fixture.h. */
#include "v2-channel-fixture.h"

/* ---- handshake ----------------------------------------------------------- */

Test(v2_channel, handshake_establishes_both_sides_and_agrees_on_keys) {
  static const uint8_t info[] = "server info blob";
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.server_info = info;
  s.server_info_len = sizeof info;
  pair p;
  pair_new_with(&p, &c, &s);
  cr_assert_not(chat_v2_channel_is_established(p.client));
  uint8_t key[CHAT_V2_KEY_LEN];
  cr_assert_eq(chat_v2_channel_server_static(p.client, key), CHAT_V2_ERR_STATE);
  pair_handshake(&p, SPLIT_ONE_BYTE);

  /* Preamble: 00 "CHAT" 02 01 00, then message 1 (u16 32 + e). */
  cr_assert_geq(p.c2s.len, CHAT_V2_PREAMBLE_LEN + 2 + 32);
  static const uint8_t preamble[] = {0x00, 'C', 'H', 'A', 'T', 0x02, 0x01, 0x00};
  cr_assert(memcmp(p.c2s.data, preamble, sizeof preamble) == 0);
  cr_assert_eq(p.c2s.data[8], 0);
  cr_assert_eq(p.c2s.data[9], 32);
  cr_assert_eq(p.c2s.len, 8 + 2 + 32);
  /* Message 2: 96 bytes + the info. */
  cr_assert_eq(p.s2c.len, 2 + 96 + sizeof info);

  cr_assert_eq(chat_v2_channel_server_static(p.client, key), 0);
  cr_assert(memcmp(key, p.server_pub, sizeof key) == 0);
  cr_assert_eq(chat_v2_channel_server_static(p.server, key), 0);
  cr_assert(memcmp(key, p.server_pub, sizeof key) == 0);

  const uint8_t *got;
  size_t got_len;
  cr_assert_eq(chat_v2_channel_server_info(p.client, &got, &got_len), 0);
  cr_assert_eq(got_len, sizeof info);
  cr_assert(memcmp(got, info, sizeof info) == 0);

  uint8_t id_c[32], c2s_c[32], s2c_c[32], id_s[32], c2s_s[32], s2c_s[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.client, id_c, c2s_c, s2c_c), 0);
  cr_assert_eq(chat_v2_channel_session_keys(p.server, id_s, c2s_s, s2c_s), 0);
  cr_assert(memcmp(id_c, id_s, 32) == 0);
  cr_assert(memcmp(id_c, p.c2s.data + 10, 32) == 0, "session id = client ephemeral");
  cr_assert(memcmp(c2s_c, c2s_s, 32) == 0);
  cr_assert(memcmp(s2c_c, s2c_s, 32) == 0);
  cr_assert(memcmp(c2s_c, s2c_c, 32) != 0);
  cr_assert_eq(chat_v2_channel_suite(p.client), CHAT_V2_SUITE_AESGCM);
  cr_assert_eq(chat_v2_channel_suite(p.server), CHAT_V2_SUITE_AESGCM);
  pair_free(&p);
}

Test(v2_channel, chachapoly_suite_and_server_restricted_to_it) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  c.suite = CHAT_V2_SUITE_CHACHAPOLY;
  s.suite = CHAT_V2_SUITE_CHACHAPOLY;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_RANDOM);
  cr_assert_eq(chat_v2_channel_suite(p.server), CHAT_V2_SUITE_CHACHAPOLY);
  static const uint8_t hi[] = "hi";
  cr_assert_eq(chat_v2_channel_send(p.client, hi, 2), 0);
  pair_pump(&p, SPLIT_RANDOM);
  cr_assert_eq(p.at_server.count, 1);
  assert_blob(&p.at_server.items[0], hi, 2);
  pair_free(&p);

  /* An AESGCM client to a ChaChaPoly-only server is refused. */
  chat_v2_config_init(&c);
  pair_new_with(&p, &c, &s);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  assert_server_error(&p, client_to_server(&p), CHAT_V2_ERR_BAD_SUITE, "0x01");
  pair_free(&p);
}

Test(v2_channel, feed_stops_after_the_handshake_so_the_pin_is_checked_first) {
  pair p;
  pair_new(&p);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  cr_assert_eq(client_to_server(&p), 0);
  static const uint8_t early[] = "0.5-RTT data from the server";
  cr_assert_eq(chat_v2_channel_send(p.server, early, sizeof early), 0);
  chat_buffer out;
  chat_buffer_init(&out);
  take_output(p.server, &out);
  ptrdiff_t n = chat_v2_channel_feed(p.client, out.data, out.len);
  cr_assert_eq((size_t)n, 2 + 96, "feed returned %td", n);
  cr_assert(chat_v2_channel_is_established(p.client));
  const uint8_t *m;
  size_t l;
  cr_assert_eq(chat_v2_channel_next_message(p.client, &m, &l), 0, "no record was processed yet");
  cr_assert_eq(feed_all(p.client, out.data + n, out.len - (size_t)n, SPLIT_WHOLE, &p.at_client), 0);
  cr_assert_eq(p.at_client.count, 1);
  assert_blob(&p.at_client.items[0], early, sizeof early);
  chat_buffer_clear(&out);
  pair_free(&p);
}

/* ---- messages ------------------------------------------------------------ */

static const size_t message_sizes[] = {
    1,
    2,
    17,
    1000,
    TEST_RECORD_BODY - 1,
    TEST_RECORD_BODY,
    TEST_RECORD_BODY + 1,
    2 * TEST_RECORD_BODY - 4,
    2 * TEST_RECORD_BODY - 3,
    300 * KiB,
    1 * MiB,
    5 * MiB,
};
#define MESSAGE_SIZE_COUNT (sizeof message_sizes / sizeof message_sizes[0])

static void round_trip_sizes(split_mode mode) {
  pair p;
  pair_new(&p);
  pair_handshake(&p, mode);
  for (size_t i = 0; i < MESSAGE_SIZE_COUNT; i++) {
    size_t len = message_sizes[i];
    uint8_t *up = random_bytes(len), *down = random_bytes(len);
    cr_assert_eq(chat_v2_channel_send(p.client, up, len), 0, "size %zu", len);
    cr_assert_eq(chat_v2_channel_send(p.server, down, len), 0, "size %zu", len);
    pair_pump(&p, mode);
    cr_assert_eq(p.at_server.count, i + 1);
    cr_assert_eq(p.at_client.count, i + 1);
    assert_blob(&p.at_server.items[i], up, len);
    assert_blob(&p.at_client.items[i], down, len);
    free(up);
    free(down);
  }
  pair_free(&p);
}

Test(v2_channel, messages_of_1_byte_to_5_MB_both_ways_in_random_splits) {
  round_trip_sizes(SPLIT_RANDOM);
}

Test(v2_channel, messages_of_1_byte_to_5_MB_both_ways_one_byte_at_a_time) {
  round_trip_sizes(SPLIT_ONE_BYTE);
}

Test(v2_channel, many_messages_queued_at_once_arrive_in_order) {
  pair p;
  pair_ready(&p);
  char text[32];
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(text, sizeof text, "message %d", i);
    cr_assert_eq(chat_v2_channel_send(p.client, (const uint8_t *)text, (size_t)n), 0);
  }
  pair_pump(&p, SPLIT_RANDOM);
  cr_assert_eq(p.at_server.count, 1000);
  for (int i = 0; i < 1000; i++) {
    int n = snprintf(text, sizeof text, "message %d", i);
    assert_blob(&p.at_server.items[i], (const uint8_t *)text, (size_t)n);
  }
  pair_free(&p);
}

Test(v2_channel, small_message_overtakes_a_3_MB_one_in_progress) {
  pair p;
  pair_ready(&p);
  size_t big_len = 3 * MiB;
  uint8_t *big = random_bytes(big_len);
  static const uint8_t chat_line[] = "a chat line";
  cr_assert_eq(chat_v2_channel_send(p.client, big, big_len), 0);
  /* The first record (MESSAGE_BEGIN) goes out before the small one is sent. */
  const uint8_t *data;
  size_t len;
  cr_assert_eq(chat_v2_channel_output(p.client, &data, &len), 0);
  cr_assert_eq(len, 2 + CHAT_V2_MAX_RECORD_LEN, "one full record, not the whole image");
  chat_buffer_append(&p.c2s, data, len);
  cr_assert_eq(feed_all(p.server, data, len, SPLIT_WHOLE, &p.at_server), 0);
  cr_assert_eq(chat_v2_channel_output_consumed(p.client, len), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, chat_line, sizeof chat_line), 0);
  pair_pump(&p, SPLIT_RANDOM);

  cr_assert_eq(p.at_server.count, 2);
  assert_blob(&p.at_server.items[0], chat_line, sizeof chat_line);
  assert_blob(&p.at_server.items[1], big, big_len);

  /* The record sequence: BEGIN, MESSAGE, CONTINUE..., END. */
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.client, id, c2s, s2c), 0);
  decoded d;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data,
                             p.c2s.len, SPLIT_WHOLE, &d, NULL),
               CHAT_V2_ERR_TRUNCATED, "no CLOSE was sent");
  cr_assert_eq(d.types[0], CHAT_V2_RECORD_MESSAGE_BEGIN);
  cr_assert_eq(d.types[1], CHAT_V2_RECORD_MESSAGE);
  cr_assert_eq(d.types[2], CHAT_V2_RECORD_MESSAGE_CONTINUE);
  cr_assert_eq(d.types[d.type_count - 1], CHAT_V2_RECORD_MESSAGE_END);
  inbox_free(&d.messages);
  free(big);
  pair_free(&p);
}

Test(v2_channel, queued_small_messages_alternate_with_fragments) {
  pair p;
  pair_ready(&p);
  size_t big_len = 1 * MiB;
  uint8_t *big = random_bytes(big_len);
  cr_assert_eq(chat_v2_channel_send(p.client, big, big_len), 0);
  for (int i = 0; i < 3; i++) {
    uint8_t b = (uint8_t)('a' + i);
    cr_assert_eq(chat_v2_channel_send(p.client, &b, 1), 0);
  }
  pair_pump(&p, SPLIT_WHOLE);
  cr_assert_eq(p.at_server.count, 4);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(p.at_server.items[i].data[0], 'a' + i);
  assert_blob(&p.at_server.items[3], big, big_len);
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.client, id, c2s, s2c), 0);
  decoded d;
  decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data, p.c2s.len,
                SPLIT_WHOLE, &d, NULL);
  static const uint8_t expected[] = {CHAT_V2_RECORD_MESSAGE, CHAT_V2_RECORD_MESSAGE_BEGIN,
                                     CHAT_V2_RECORD_MESSAGE, CHAT_V2_RECORD_MESSAGE_CONTINUE,
                                     CHAT_V2_RECORD_MESSAGE, CHAT_V2_RECORD_MESSAGE_CONTINUE};
  cr_assert_geq(d.type_count, sizeof expected);
  cr_assert(memcmp(d.types, expected, sizeof expected) == 0);
  inbox_free(&d.messages);
  free(big);
  pair_free(&p);
}

Test(v2_channel, rekey_every_100_bytes_keeps_both_sides_in_sync) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  c.rekey_bytes = REKEY_TEST_BYTES;
  s.rekey_bytes = REKEY_TEST_BYTES;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_RANDOM);
  uint8_t *sent_up[REKEY_TEST_MESSAGES], *sent_down[REKEY_TEST_MESSAGES];
  size_t len_up[REKEY_TEST_MESSAGES], len_down[REKEY_TEST_MESSAGES];
  for (size_t i = 0; i < REKEY_TEST_MESSAGES; i++) {
    len_up[i] = 1 + rng() % REKEY_TEST_MAX_LEN;
    len_down[i] = 1 + rng() % REKEY_TEST_MAX_LEN;
    sent_up[i] = random_bytes(len_up[i]);
    sent_down[i] = random_bytes(len_down[i]);
    cr_assert_eq(chat_v2_channel_send(p.client, sent_up[i], len_up[i]), 0);
    cr_assert_eq(chat_v2_channel_send(p.server, sent_down[i], len_down[i]), 0);
    if (i % 7 == 0)
      pair_pump(&p, SPLIT_RANDOM);
  }
  /* One fragmented message across rekeys too (1 MB > 100 bytes). */
  uint8_t *big = random_bytes(MiB);
  cr_assert_eq(chat_v2_channel_send(p.client, big, MiB), 0);
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  cr_assert_eq(chat_v2_channel_close(p.server), 0);
  pair_pump(&p, SPLIT_RANDOM);
  cr_assert_eq(p.at_server.count, REKEY_TEST_MESSAGES + 1);
  cr_assert_eq(p.at_client.count, REKEY_TEST_MESSAGES);
  for (size_t i = 0; i < REKEY_TEST_MESSAGES; i++) {
    assert_blob(&p.at_server.items[i], sent_up[i], len_up[i]);
    assert_blob(&p.at_client.items[i], sent_down[i], len_down[i]);
    free(sent_up[i]);
    free(sent_down[i]);
  }
  assert_blob(&p.at_server.items[REKEY_TEST_MESSAGES], big, MiB);
  cr_assert_eq(chat_v2_channel_eof(p.server), 0);
  cr_assert_eq(chat_v2_channel_eof(p.client), 0);

  /* The captures show the rekeys: the passive decoder follows them. */
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(p.client, id, c2s, s2c), 0);
  decoded up, down;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data,
                             p.c2s.len, SPLIT_RANDOM, &up, NULL),
               0);
  cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_AESGCM, s2c, 0, p.s2c.data,
                             p.s2c.len, SPLIT_RANDOM, &down, NULL),
               0);
  cr_assert_gt(up.rekeys, REKEY_TEST_MESSAGES / 2, "%zu rekeys", up.rekeys);
  cr_assert_gt(down.rekeys, REKEY_TEST_MESSAGES / 2, "%zu rekeys", down.rekeys);
  cr_assert_eq(up.messages.count, REKEY_TEST_MESSAGES + 1);
  cr_assert_eq(down.messages.count, REKEY_TEST_MESSAGES);
  assert_blob(&up.messages.items[REKEY_TEST_MESSAGES], big, MiB);
  inbox_free(&up.messages);
  inbox_free(&down.messages);
  free(big);
  pair_free(&p);
}

/* ---- memory of idle channels --------------------------------------------- */

static void assert_idle(pair *p, const char *when) {
  cr_assert_eq(chat_v2_channel_test_buffered_bytes(p->client), 0, "client %s: %zu bytes buffered",
               when, chat_v2_channel_test_buffered_bytes(p->client));
  cr_assert_eq(chat_v2_channel_test_buffered_bytes(p->server), 0, "server %s: %zu bytes buffered",
               when, chat_v2_channel_test_buffered_bytes(p->server));
}

/* Drops what the pair's helpers kept (received copies, captures). */
static void forget_traffic(pair *p) {
  inbox_free(&p->at_client);
  inbox_free(&p->at_server);
  chat_buffer_clear(&p->c2s);
  chat_buffer_clear(&p->s2c);
}

Test(v2_channel, idle_channels_hold_no_buffers_in_either_suite) {
  static const uint8_t suites[] = {CHAT_V2_SUITE_AESGCM, CHAT_V2_SUITE_CHACHAPOLY};
  static const uint8_t line[] = "a chat line";
  for (size_t i = 0; i < sizeof suites; i++) {
    chat_v2_config c, s;
    chat_v2_config_init(&c);
    chat_v2_config_init(&s);
    c.suite = suites[i];
    pair p;
    pair_new_with(&p, &c, &s);
    assert_idle(&p, "before the handshake");
    pair_handshake(&p, SPLIT_RANDOM);
    cr_assert_eq(chat_v2_channel_suite(p.server), suites[i]);
    assert_idle(&p, "after the handshake");
    cr_assert_eq(chat_v2_channel_send(p.client, line, sizeof line), 0);
    cr_assert_eq(chat_v2_channel_send(p.server, line, sizeof line), 0);
    cr_assert_gt(chat_v2_channel_test_buffered_bytes(p.client), 0, "a queued message counts");
    pair_pump(&p, SPLIT_RANDOM);
    cr_assert_eq(p.at_server.count, 1);
    cr_assert_eq(p.at_client.count, 1);
    assert_idle(&p, "after a chat line each way");
    pair_free(&p);
  }
}

/* A whole-record message (the record waits in the receive buffer until it
 * is taken) and a fragmented one (reassembled), each way: the buffers exist
 * while the message is in flight and are gone, on the heap too, after. */
Test(v2_channel, buffers_are_released_after_a_large_message) {
  pair p;
  pair_ready(&p);
  static const uint8_t line[] = "warm up";
  cr_assert_eq(chat_v2_channel_send(p.client, line, sizeof line), 0);
  cr_assert_eq(chat_v2_channel_send(p.server, line, sizeof line), 0);
  pair_pump(&p, SPLIT_WHOLE);
  forget_traffic(&p);
  assert_idle(&p, "after the warm-up");
  size_t idle = test_heap_in_use();

  size_t sizes[] = {TEST_RECORD_BODY, LARGE_TEST_MESSAGE};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    for (int dir = 0; dir < 2; dir++) {
      chat_v2_channel *from = dir == 0 ? p.client : p.server;
      chat_v2_channel *to = dir == 0 ? p.server : p.client;
      inbox *in = dir == 0 ? &p.at_server : &p.at_client;
      uint8_t *msg = random_bytes(sizes[i]);
      cr_assert_eq(chat_v2_channel_send(from, msg, sizes[i]), 0);
      cr_assert_geq(chat_v2_channel_test_buffered_bytes(from), sizes[i], "queued");

      /* The first record: the whole message, or MESSAGE_BEGIN. */
      const uint8_t *data;
      size_t len;
      cr_assert_eq(chat_v2_channel_output(from, &data, &len), 0);
      cr_assert_eq(len, CHAT_V2_LENGTH_PREFIX_LEN + CHAT_V2_MAX_RECORD_LEN);
      cr_assert_eq(chat_v2_channel_feed(to, data, len), (ptrdiff_t)len);
      cr_assert_eq(chat_v2_channel_output_consumed(from, len), 0);
      /* The receiver holds the record, or what arrived of the message: not
       * its announced size. */
      size_t arrived =
          i == 0 ? CHAT_V2_MAX_RECORD_LEN : CHAT_V2_MAX_RECORD_BODY - CHAT_V2_TOTAL_LEN_BYTES;
      cr_assert_geq(chat_v2_channel_test_buffered_bytes(to), arrived,
                    "the receiver holds the record or the reassembly buffer");
      if (i == 1)
        cr_assert_lt(chat_v2_channel_test_buffered_bytes(to), sizes[i],
                     "the whole message was allocated at its BEGIN");
      cr_assert_geq(test_heap_in_use(), idle + arrived);
      for (;;) {
        int rc = transfer(from, to, SPLIT_RANDOM, in, NULL);
        cr_assert_eq(rc, 0, "%s", chat_v2_channel_error_message(to));
        if (chat_v2_channel_output_idle(from))
          break;
      }
      cr_assert_geq(drain(to, in), 0);
      cr_assert_eq(in->count, 1);
      assert_blob(&in->items[0], msg, sizes[i]);
      free(msg);
      forget_traffic(&p);
      assert_idle(&p, "after a large message");
      size_t now = test_heap_in_use();
      cr_assert_leq(now, idle + IDLE_HEAP_SLACK,
                    "%zu bytes more on the heap after a %zu-byte message went %s", now - idle,
                    sizes[i], dir == 0 ? "client -> server" : "server -> client");
    }
  }
  pair_free(&p);
}

/* ---- close and end of stream --------------------------------------------- */

Test(v2_channel, close_then_eof_is_clean) {
  pair p;
  pair_ready(&p);
  static const uint8_t last[] = "last words";
  cr_assert_eq(chat_v2_channel_send(p.client, last, sizeof last), 0);
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  cr_assert_eq(chat_v2_channel_send(p.client, last, sizeof last), CHAT_V2_ERR_CLOSED);
  cr_assert_eq(chat_v2_channel_close(p.client), CHAT_V2_ERR_CLOSED);
  cr_assert_not(chat_v2_channel_peer_closed(p.server));
  pair_pump(&p, SPLIT_ONE_BYTE);
  cr_assert_eq(p.at_server.count, 1);
  assert_blob(&p.at_server.items[0], last, sizeof last);
  cr_assert(chat_v2_channel_peer_closed(p.server));
  cr_assert_eq(chat_v2_channel_eof(p.server), 0);
  /* The server may still answer a half-closed client. */
  cr_assert_eq(chat_v2_channel_send(p.server, last, sizeof last), 0);
  pair_pump(&p, SPLIT_WHOLE);
  cr_assert_eq(p.at_client.count, 1);
  pair_free(&p);
}

Test(v2_channel, eof_without_close_is_a_truncated_stream) {
  pair p;
  pair_ready(&p);
  static const uint8_t msg[] = "hello";
  cr_assert_eq(chat_v2_channel_send(p.client, msg, sizeof msg), 0);
  pair_pump(&p, SPLIT_WHOLE);
  int rc = chat_v2_channel_eof(p.server);
  assert_server_error(&p, rc, CHAT_V2_ERR_TRUNCATED, "without a CLOSE");
  pair_free(&p);
}

Test(v2_channel, eof_in_the_middle_of_a_record_or_the_handshake) {
  pair p;
  pair_ready(&p);
  static const uint8_t msg[] = "hello";
  cr_assert_eq(chat_v2_channel_send(p.client, msg, sizeof msg), 0);
  chat_buffer out;
  chat_buffer_init(&out);
  take_output(p.client, &out);
  cr_assert_eq(feed_all(p.server, out.data, out.len - 3, SPLIT_WHOLE, NULL), 0);
  assert_server_error(&p, chat_v2_channel_eof(p.server), CHAT_V2_ERR_TRUNCATED,
                      "inside the record");
  chat_buffer_clear(&out);
  pair_free(&p);

  pair_new(&p);
  cr_assert_eq(chat_v2_channel_start(p.client), 0);
  assert_server_error(&p, chat_v2_channel_eof(p.server), CHAT_V2_ERR_TRUNCATED, "handshake");
  pair_free(&p);
}

Test(v2_channel, data_after_close_is_refused) {
  pair p;
  pair_ready(&p);
  cr_assert_eq(chat_v2_channel_close(p.client), 0);
  const uint8_t *d;
  size_t l;
  cr_assert_eq(chat_v2_channel_output(p.client, &d, &l), 0); /* CLOSE is now encrypted */
  static const uint8_t x[] = "x";
  cr_assert_eq(chat_v2_channel_test_send_record(p.client, CHAT_V2_RECORD_MESSAGE, x, 1), 0);
  assert_server_error(&p, client_to_server(&p), CHAT_V2_ERR_DATA_AFTER_CLOSE,
                      "after the peer's CLOSE");
  pair_free(&p);
}
