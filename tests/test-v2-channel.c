/* Tests of the v2 secure channel (protocol/v2-channel.h): a client and a
 * server in process, the passive stream decoder, a man in the middle against
 * pinning, and the vectors of spec/vectors/v2-channel.json (made by
 * spec/vectors/tools/make-v2-vectors.py with Python `cryptography`). */
#include <criterion/criterion.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/arena.h"
#include "protocol/buffer.h"
#include "protocol/hex.h"
#include "protocol/known-hosts.h"
#include "protocol/noise.h"
#include "protocol/server-key.h"
#include "protocol/v2-channel.h"
#include "protocol/v2-internal.h"
#include "protocol/value.h"
#include "test-util.h"

#ifndef CHAT_SPEC_VECTORS_DIR
#error "meson passes CHAT_SPEC_VECTORS_DIR"
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)
/* Random splits take up to this many bytes per feed call. */
#define RANDOM_CHUNK_MAX (100 * KiB)
#define RANDOM_SMALL_CHUNK_MAX 16u
#define REKEY_TEST_BYTES 100u
#define REKEY_TEST_MESSAGES 300u
#define REKEY_TEST_MAX_LEN 500u
#define TEST_RECORD_BODY CHAT_V2_MAX_RECORD_BODY
/* Heap growth tolerated between two idle moments of a channel pair. */
#define IDLE_HEAP_SLACK 256u
#define LARGE_TEST_MESSAGE (3 * MiB)

TestSuite(v2_channel, .timeout = 120);

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static uint8_t *random_bytes(size_t len) {
  uint8_t *p = malloc(len > 0 ? len : 1);
  cr_assert_not_null(p);
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)rng();
  return p;
}

typedef struct {
  uint8_t *data;
  size_t len;
} blob;

typedef struct {
  blob *items;
  size_t count;
  size_t cap;
} inbox;

static void inbox_add(inbox *in, const uint8_t *data, size_t len) {
  if (in->count == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 16;
    in->items = realloc(in->items, in->cap * sizeof *in->items);
    cr_assert_not_null(in->items);
  }
  uint8_t *copy = malloc(len);
  cr_assert_not_null(copy);
  memcpy(copy, data, len);
  in->items[in->count++] = (blob){copy, len};
}

static void inbox_free(inbox *in) {
  for (size_t i = 0; i < in->count; i++)
    free(in->items[i].data);
  free(in->items);
  memset(in, 0, sizeof *in);
}

static void assert_blob(const blob *b, const uint8_t *data, size_t len) {
  cr_assert_eq(b->len, len, "message of %zu bytes, expected %zu", b->len, len);
  cr_assert(memcmp(b->data, data, len) == 0, "message content differs");
}

typedef enum {
  SPLIT_WHOLE,
  SPLIT_ONE_BYTE,
  SPLIT_RANDOM,
} split_mode;

/* Takes every waiting message; returns how many, or an error. */
static int drain(chat_v2_channel *ch, inbox *in) {
  const uint8_t *msg;
  size_t len;
  int n = 0, rc;
  while ((rc = chat_v2_channel_next_message(ch, &msg, &len)) == 1) {
    cr_assert_gt(len, 0);
    if (in != NULL)
      inbox_add(in, msg, len);
    n++;
  }
  return rc < 0 ? rc : n;
}

/* Feeds data in chunks of the given kind; returns 0 or the first error. */
static int feed_all(chat_v2_channel *ch, const uint8_t *data, size_t len, split_mode mode,
                    inbox *in) {
  size_t off = 0;
  while (off < len) {
    size_t chunk = len - off;
    if (mode == SPLIT_ONE_BYTE) {
      chunk = 1;
    } else if (mode == SPLIT_RANDOM) {
      size_t max = rng() % 2 ? RANDOM_SMALL_CHUNK_MAX : RANDOM_CHUNK_MAX;
      if (chunk > max)
        chunk = max;
      chunk = 1 + rng() % chunk;
    }
    size_t fed = 0;
    while (fed < chunk) {
      ptrdiff_t n = chat_v2_channel_feed(ch, data + off + fed, chunk - fed);
      if (n < 0)
        return (int)n;
      int drained = drain(ch, in);
      if (drained < 0)
        return drained;
      cr_assert(n > 0 || drained > 0, "feed made no progress");
      fed += (size_t)n;
    }
    off += chunk;
  }
  return 0;
}

/* Moves everything from's output to `to`; returns 0 or the first error of
 * either side. capture (may be NULL) records the bytes. */
static int transfer(chat_v2_channel *from, chat_v2_channel *to, split_mode mode, inbox *in,
                    chat_buffer *capture) {
  for (;;) {
    const uint8_t *data;
    size_t len;
    int rc = chat_v2_channel_output(from, &data, &len);
    if (rc < 0)
      return rc;
    if (len == 0)
      return 0;
    if (capture != NULL)
      chat_buffer_append(capture, data, len);
    rc = feed_all(to, data, len, mode, in);
    cr_assert_eq(chat_v2_channel_output_consumed(from, len), 0);
    if (rc < 0)
      return rc;
  }
}

/* Takes all output of ch into buf (without feeding it anywhere). */
static void take_output(chat_v2_channel *ch, chat_buffer *buf) {
  for (;;) {
    const uint8_t *data;
    size_t len;
    cr_assert_eq(chat_v2_channel_output(ch, &data, &len), 0);
    if (len == 0)
      return;
    chat_buffer_append(buf, data, len);
    cr_assert_eq(chat_v2_channel_output_consumed(ch, len), 0);
  }
}

typedef struct {
  chat_v2_channel *client;
  chat_v2_channel *server;
  uint8_t server_priv[CHAT_V2_KEY_LEN];
  uint8_t server_pub[CHAT_V2_KEY_LEN];
  inbox at_client;
  inbox at_server;
  chat_buffer c2s; /* everything the client sent */
  chat_buffer s2c;
} pair;

static void pair_new_with(pair *p, chat_v2_config *ccfg, chat_v2_config *scfg) {
  memset(p, 0, sizeof *p);
  chat_buffer_init(&p->c2s);
  chat_buffer_init(&p->s2c);
  cr_assert_eq(chat_noise_generate_keypair(p->server_priv, sizeof p->server_priv, p->server_pub,
                                           sizeof p->server_pub), 0);
  scfg->server_private_key = p->server_priv;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, ccfg, &p->client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, scfg, &p->server), 0);
}

static void pair_new(pair *p) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  pair_new_with(p, &c, &s);
}

static void pair_free(pair *p) {
  chat_v2_channel_free(p->client);
  chat_v2_channel_free(p->server);
  inbox_free(&p->at_client);
  inbox_free(&p->at_server);
  chat_buffer_clear(&p->c2s);
  chat_buffer_clear(&p->s2c);
}

/* Moves bytes both ways until neither side has output; asserts no error. */
static void pair_pump(pair *p, split_mode mode) {
  for (int round = 0; round < 1000000; round++) {
    cr_assert_eq(transfer(p->client, p->server, mode, &p->at_server, &p->c2s), 0, "server: %s",
                 chat_v2_channel_error_message(p->server));
    cr_assert_eq(transfer(p->server, p->client, mode, &p->at_client, &p->s2c), 0, "client: %s",
                 chat_v2_channel_error_message(p->client));
    if (chat_v2_channel_output_idle(p->client) && chat_v2_channel_output_idle(p->server))
      return;
  }
  cr_assert_fail("pump did not settle");
}

static void pair_handshake(pair *p, split_mode mode) {
  cr_assert_eq(chat_v2_channel_start(p->client), 0);
  pair_pump(p, mode);
  cr_assert(chat_v2_channel_is_established(p->client));
  cr_assert(chat_v2_channel_is_established(p->server));
}

/* An established pair ready for hand-made records from the client. */
static void pair_ready(pair *p) {
  pair_new(p);
  pair_handshake(p, SPLIT_WHOLE);
}

/* The client's next output, fed to the server: returns the server's status. */
static int client_to_server(pair *p) {
  return transfer(p->client, p->server, SPLIT_WHOLE, &p->at_server, NULL);
}

static void assert_server_error(pair *p, int rc, int code, const char *needle) {
  cr_assert_eq(rc, code, "got %d (%s), expected %s; reason: %s", rc, chat_strerror(rc),
               chat_error_name(code), chat_v2_channel_error_message(p->server));
  cr_assert_eq(chat_v2_channel_error(p->server), code);
  if (needle != NULL)
    cr_assert(strstr(chat_v2_channel_error_message(p->server), needle) != NULL,
              "reason \"%s\" lacks \"%s\"", chat_v2_channel_error_message(p->server), needle);
  /* Dead: every call returns the error. */
  const uint8_t *m;
  size_t l;
  uint8_t byte = 0;
  cr_assert_eq(chat_v2_channel_feed(p->server, &byte, 1), code);
  cr_assert_eq(chat_v2_channel_next_message(p->server, &m, &l), code);
  cr_assert_eq(chat_v2_channel_send(p->server, &byte, 1), code);
  cr_assert_eq(chat_v2_channel_output(p->server, &m, &l), code);
  cr_assert_eq(chat_v2_channel_close(p->server), code);
  cr_assert_eq(chat_v2_channel_eof(p->server), code);
  cr_assert_not(chat_v2_channel_is_established(p->server));
}

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
    1, 2, 17, 1000, TEST_RECORD_BODY - 1, TEST_RECORD_BODY, TEST_RECORD_BODY + 1,
    2 * TEST_RECORD_BODY - 4, 2 * TEST_RECORD_BODY - 3, 300 * KiB, 1 * MiB, 5 * MiB,
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

/* Decodes one direction of a capture with its key; collects the messages
 * and the record types. */
typedef struct {
  inbox messages;
  uint8_t types[4096];
  size_t type_count;
  size_t records;
  size_t rekeys;
  size_t handshakes;
  bool preamble;
} decoded;

static int decode_stream(chat_v2_direction dir, uint8_t suite, const uint8_t *key,
                         size_t record_size, const uint8_t *data, size_t len, split_mode mode,
                         decoded *out, chat_v2_stream_decoder **keep) {
  memset(out, 0, sizeof *out);
  chat_v2_stream_decoder *dec;
  cr_assert_eq(chat_v2_stream_decoder_new(dir, suite, key, 0, &dec), 0);
  if (record_size != 0)
    cr_assert_eq(chat_v2_stream_decoder_test_set_record_size(dec, record_size), 0);
  size_t off = 0;
  int rc = 0;
  while (off < len && rc >= 0) {
    size_t chunk = mode == SPLIT_ONE_BYTE ? 1 : len - off;
    if (mode == SPLIT_RANDOM)
      chunk = 1 + rng() % (chunk < RANDOM_SMALL_CHUNK_MAX ? chunk : RANDOM_SMALL_CHUNK_MAX);
    ptrdiff_t n = chat_v2_stream_decoder_feed(dec, data + off, chunk);
    if (n < 0) {
      rc = (int)n;
      break;
    }
    off += (size_t)n;
    chat_v2_stream_event ev;
    int got = 0;
    while ((rc = chat_v2_stream_decoder_next_event(dec, &ev)) == 1) {
      got++;
      switch (ev.kind) {
      case CHAT_V2_EVENT_PREAMBLE:
        out->preamble = true;
        break;
      case CHAT_V2_EVENT_HANDSHAKE:
        out->handshakes++;
        break;
      case CHAT_V2_EVENT_RECORD:
        out->records++;
        if (ev.decrypted && out->type_count < sizeof out->types)
          out->types[out->type_count++] = ev.record_type;
        if (ev.decrypted && ev.record_type == CHAT_V2_RECORD_REKEY)
          out->rekeys++;
        break;
      case CHAT_V2_EVENT_MESSAGE:
        inbox_add(&out->messages, ev.data, ev.len);
        break;
      }
    }
    cr_assert(n > 0 || got > 0 || rc < 0, "decoder made no progress");
  }
  if (rc >= 0)
    rc = chat_v2_stream_decoder_finish(dec);
  if (keep != NULL)
    *keep = dec;
  else
    chat_v2_stream_decoder_free(dec);
  return rc;
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
  static const uint8_t expected[] = {
      CHAT_V2_RECORD_MESSAGE, CHAT_V2_RECORD_MESSAGE_BEGIN, CHAT_V2_RECORD_MESSAGE,
      CHAT_V2_RECORD_MESSAGE_CONTINUE, CHAT_V2_RECORD_MESSAGE, CHAT_V2_RECORD_MESSAGE_CONTINUE};
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
                             p.c2s.len, SPLIT_RANDOM, &up, NULL), 0);
  cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_AESGCM, s2c, 0, p.s2c.data,
                             p.s2c.len, SPLIT_RANDOM, &down, NULL), 0);
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
      size_t arrived = i == 0 ? CHAT_V2_MAX_RECORD_LEN
                              : CHAT_V2_MAX_RECORD_BODY - CHAT_V2_TOTAL_LEN_BYTES;
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
  assert_server_error(&p, chat_v2_channel_eof(p.server), CHAT_V2_ERR_TRUNCATED, "inside the record");
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
  assert_server_error(&p, client_to_server(&p), CHAT_V2_ERR_DATA_AFTER_CLOSE, "after the peer's CLOSE");
  pair_free(&p);
}

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
  uint8_t bytes[8 + 2 + 33] = {0x00, 'C', 'H', 'A', 'T', 2, 1, 0, 0x00, 33};
  int rc = feed_all(p.server, bytes, 10, SPLIT_WHOLE, NULL);
  assert_server_error(&p, rc, CHAT_V2_ERR_HANDSHAKE_PAYLOAD, "must be empty");
  pair_free(&p);

  pair_new(&p);
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
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.max_message = 100;
  s.max_queue_bytes = 200;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_WHOLE);
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
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.max_message = 1 * MiB;
  s.max_queue_bytes = 2 * MiB;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_WHOLE);
  uint8_t body[8];
  size_t n = begin_body(body, UINT32_MAX, 1);
  /* Only the BEGIN record exists: the decision cannot wait for fragments,
   * and nothing is allocated for the 4 GiB (ASan would report it). */
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_TOTAL_TOO_LARGE, "4294967295");
  pair_free(&p);

  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_WHOLE);
  n = begin_body(body, (uint32_t)(1 * MiB + 1), 1);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_TOTAL_TOO_LARGE, NULL);
  pair_free(&p);
}

Test(v2_channel, announced_total_that_fits_one_record_is_rejected) {
  uint8_t body[16];
  size_t n = begin_body(body, CHAT_V2_MAX_RECORD_BODY, 1);
  pair p;
  pair_ready(&p);
  assert_server_error(&p, raw_record(&p, CHAT_V2_RECORD_MESSAGE_BEGIN, body, n),
                      CHAT_V2_ERR_TOTAL_TOO_SMALL, "fit in one record");
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
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.max_message = 100000;
  s.max_queue_bytes = 200000;
  pair p;
  pair_new_with(&p, &c, &s);
  pair_handshake(&p, SPLIT_WHOLE);
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
  for (int code = CHAT_V2_ERR_TRANSIT_EXHAUSTED; code <= CHAT_V2_ERR_INVALID_ARGUMENT; code++) {
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
  cr_assert_str_eq(chat_strerror(CHAT_V2_ERR_TRANSIT_EXHAUSTED - 1), "unknown error");
}

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
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
                               p.c2s.len, modes[m], &d, &dec), 0);
    chat_v2_stream_decoder_free(dec);
    cr_assert(d.preamble);
    cr_assert_eq(d.handshakes, 1);
    cr_assert_eq(d.messages.count, p.at_server.count);
    for (size_t i = 0; i < d.messages.count; i++)
      assert_blob(&d.messages.items[i], p.at_server.items[i].data, p.at_server.items[i].len);
    cr_assert_eq(d.types[d.type_count - 1], CHAT_V2_RECORD_CLOSE);
    inbox_free(&d.messages);

    cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_AESGCM, s2c, 0, p.s2c.data,
                               p.s2c.len, modes[m], &d, NULL), 0);
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
  cr_assert_eq(chat_v2_stream_decoder_new(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0,
                                          &dec), 0);
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
  cr_assert_eq(chat_v2_stream_decoder_new(CHAT_V2_SERVER_TO_CLIENT, CHAT_V2_SUITE_ANY, NULL, 0,
                                          &dec), 0);
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
                             SPLIT_RANDOM, &d, &dec), CHAT_V2_ERR_BAD_TAG);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  cr_assert_eq(d.messages.count, 1);
  chat_v2_stream_decoder_free(dec);
  inbox_free(&d.messages);

  /* A wrong key fails the first record. */
  uint8_t wrong[32];
  memcpy(wrong, c2s, 32);
  wrong[0] ^= 1;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, wrong, 0, p.c2s.data,
                             p.c2s.len, SPLIT_WHOLE, &d, &dec), CHAT_V2_ERR_BAD_TAG);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), 8 + 2 + 32);
  chat_v2_stream_decoder_free(dec);

  /* A cut stream, a short record length, a bad preamble, random garbage. */
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, c2s, 0, p.c2s.data,
                             second_at + 7, SPLIT_WHOLE, &d, &dec), CHAT_V2_ERR_TRUNCATED);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  chat_v2_stream_decoder_free(dec);
  inbox_free(&d.messages);
  memcpy(copy, p.c2s.data, p.c2s.len);
  copy[second_at] = 0;
  copy[second_at + 1] = 16;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0, copy,
                             p.c2s.len, SPLIT_WHOLE, &d, &dec), CHAT_V2_ERR_RECORD_TOO_SHORT);
  cr_assert_eq(chat_v2_stream_decoder_error_offset(dec), second_at);
  chat_v2_stream_decoder_free(dec);
  copy[0] = 0x16;
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, NULL, 0, copy,
                             p.c2s.len, SPLIT_WHOLE, &d, NULL), CHAT_V2_ERR_BAD_MAGIC);
  for (int round = 0; round < 200; round++) {
    size_t len = 1 + rng() % 3000;
    uint8_t *junk = random_bytes(len);
    if (round % 2 == 0)
      memcpy(junk, p.c2s.data, len < 42 ? len : 42); /* valid start, then garbage */
    int rc = decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, round % 2 == 0 ? c2s : NULL, 0,
                           junk, len, SPLIT_RANDOM, &d, NULL);
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
  chat_v2_channel *client, *server;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &ccfg, &client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &scfg, &server), 0);
  cr_assert_eq(chat_v2_channel_test_set_ephemeral(client, client_e), 0);
  cr_assert_eq(chat_v2_channel_test_set_ephemeral(server, server_e), 0);
  cr_assert_eq(chat_v2_channel_test_set_record_size(client, record_size), 0);
  cr_assert_eq(chat_v2_channel_test_set_record_size(server, record_size), 0);

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
  cr_assert_not_null(chat_value_dict_get(value, "name"));
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
  cr_assert_eq(decode_stream(CHAT_V2_CLIENT_TO_SERVER, CHAT_V2_SUITE_ANY, kc, record_size, c2s.data,
                             c2s.len, SPLIT_ONE_BYTE, &d, NULL), 0);
  cr_assert_eq(d.messages.count, json_array_get_length(cm));
  inbox_free(&d.messages);
  cr_assert_eq(decode_stream(CHAT_V2_SERVER_TO_CLIENT, ccfg.suite, ks, record_size, s2c.data,
                             s2c.len, SPLIT_ONE_BYTE, &d, NULL), 0);
  cr_assert_eq(d.messages.count, json_array_get_length(sm));
  cr_assert_eq(d.rekeys, 1);
  inbox_free(&d.messages);

  chat_v2_channel_free(client);
  chat_v2_channel_free(server);
  chat_buffer_clear(&b);
  chat_buffer_clear(&want);
  chat_buffer_clear(&info);
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
