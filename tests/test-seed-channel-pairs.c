/* Seed channel tests (protocol/seed-channel.h): a client and a server talking
 * in process, state and send limits, hostile peers, error codes and memory.
 * Fixture: seed-channel-fixture.h. */
#include "seed-channel-fixture.h"

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

  size_t sizes[80] = {1,   2,    15,   16,    17,    31,    32,     33,         255,
                      256, 1000, 4096, 65535, 65536, 65537, 100000, 300 * 1024, 300 * 1024 - 1,
                      1,   7};
  size_t count = sizeof sizes / sizeof sizes[0];
  rng r = {UINT64_C(0x9e3779b97f4a7c15)};
  for (size_t i = 20; i < count; i++)
    sizes[i] = 1 + rng_below(&r, 5000);
  bytes *msgs = make_messages(&r, sizes, count);

  send_all(client, server, msgs, count, &r, 70000);       /* big random chunks */
  send_all(server, client, msgs, count, &r, 64);          /* small random chunks */
  send_all(client, server, msgs, count, &r, 3);           /* tiny chunks */
  send_all(server, client, msgs + 16, 1, &r, 1);          /* 300 KB one byte at a time */
  send_all(client, server, msgs + 20, count - 20, &r, 1); /* many, one byte at a time */

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
                    "%zu bytes more on the heap after a %zu-byte message went %s", now - idle,
                    msgs[i].len, dir == 0 ? "client -> server" : "server -> client");
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
  cr_assert_eq(chat_seed_channel_receive_public(client, (const uint8_t *)"\x05", 1),
               CHAT_SEED_ERR_STATE);
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
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, 15, &ch),
               CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_null(ch);
  cr_assert_eq(
      chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, &group, CHAT_SEED_MAX_FRAME_LIMIT + 1, &ch),
      CHAT_SEED_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_seed_channel_new(CHAT_SEED_ROLE_CLIENT, NULL, 64, &ch),
               CHAT_SEED_ERR_INVALID_ARGUMENT);
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
    long delta; /* value = p + delta, or the small value itself when absolute */
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
    cr_assert_eq(chat_seed_channel_receive_public(ch, value, n), CHAT_DH_ERR_PUBLIC_RANGE,
                 "case %zu", i);
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
      CHAT_SEED_ERR_INVALID_ARGUMENT,
      CHAT_SEED_ERR_STATE,
      CHAT_SEED_ERR_MESSAGE_EMPTY,
      CHAT_SEED_ERR_MESSAGE_TOO_LARGE,
      CHAT_SEED_ERR_QUEUE_FULL,
      CHAT_SEED_ERR_NOMEM,
      CHAT_SEED_ERR_FRAME_EMPTY,
      CHAT_SEED_ERR_FRAME_MISALIGNED,
      CHAT_SEED_ERR_FRAME_TOO_LARGE,
      CHAT_SEED_ERR_PAD_COUNT,
      CHAT_SEED_ERR_PADDING,
      CHAT_SEED_ERR_TRANSIT_FULL,
      CHAT_SEED_ERR_TRANSIT_EXHAUSTED,
      CHAT_DH_ERR_INVALID_ARGUMENT,
      CHAT_DH_ERR_EMPTY,
      CHAT_DH_ERR_NOT_DECIMAL,
      CHAT_DH_ERR_TOO_MANY_DIGITS,
      CHAT_DH_ERR_MODULUS_TOO_SMALL,
      CHAT_DH_ERR_MODULUS_TOO_LARGE,
      CHAT_DH_ERR_MODULUS_EVEN,
      CHAT_DH_ERR_BASE_RANGE,
      CHAT_DH_ERR_PUBLIC_EMPTY,
      CHAT_DH_ERR_PUBLIC_TOO_LONG,
      CHAT_DH_ERR_PUBLIC_RANGE,
      CHAT_DH_ERR_PRIVATE_RANGE,
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
