/* Shared fixture of the test-v2-channel.c tests. */
#include "v2-channel-fixture.h"

TestSuite(v2_channel, .timeout = 120);

/* ---- helpers ------------------------------------------------------------- */

uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

uint8_t *random_bytes(size_t len) {
  uint8_t *p = malloc(len > 0 ? len : 1);
  cr_assert_not_null(p);
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)rng();
  return p;
}

void inbox_add(inbox *in, const uint8_t *data, size_t len) {
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

void inbox_free(inbox *in) {
  for (size_t i = 0; i < in->count; i++)
    free(in->items[i].data);
  free(in->items);
  memset(in, 0, sizeof *in);
}

void assert_blob(const blob *b, const uint8_t *data, size_t len) {
  cr_assert_eq(b->len, len, "message of %zu bytes, expected %zu", b->len, len);
  cr_assert(memcmp(b->data, data, len) == 0, "message content differs");
}

/* Takes every waiting message; returns how many, or an error. */
int drain(chat_v2_channel *ch, inbox *in) {
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
int feed_all(chat_v2_channel *ch, const uint8_t *data, size_t len, split_mode mode, inbox *in) {
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
int transfer(chat_v2_channel *from, chat_v2_channel *to, split_mode mode, inbox *in,
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
void take_output(chat_v2_channel *ch, chat_buffer *buf) {
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

void pair_new_with(pair *p, chat_v2_config *ccfg, chat_v2_config *scfg) {
  memset(p, 0, sizeof *p);
  chat_buffer_init(&p->c2s);
  chat_buffer_init(&p->s2c);
  cr_assert_eq(chat_noise_generate_keypair(p->server_priv, sizeof p->server_priv, p->server_pub,
                                           sizeof p->server_pub),
               0);
  scfg->server_private_key = p->server_priv;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, ccfg, &p->client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, scfg, &p->server), 0);
}

void pair_new(pair *p) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  pair_new_with(p, &c, &s);
}

void pair_free(pair *p) {
  chat_v2_channel_free(p->client);
  chat_v2_channel_free(p->server);
  inbox_free(&p->at_client);
  inbox_free(&p->at_server);
  chat_buffer_clear(&p->c2s);
  chat_buffer_clear(&p->s2c);
}

/* Moves bytes both ways until neither side has output; asserts no error. */
void pair_pump(pair *p, split_mode mode) {
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

void pair_handshake(pair *p, split_mode mode) {
  cr_assert_eq(chat_v2_channel_start(p->client), 0);
  pair_pump(p, mode);
  cr_assert(chat_v2_channel_is_established(p->client));
  cr_assert(chat_v2_channel_is_established(p->server));
}

/* An established pair ready for hand-made records from the client. */
void pair_ready(pair *p) {
  pair_new(p);
  pair_handshake(p, SPLIT_WHOLE);
}

void pair_ready_server_limits(pair *p, size_t max_message, size_t max_queue_bytes) {
  chat_v2_config c, s;
  chat_v2_config_init(&c);
  chat_v2_config_init(&s);
  s.max_message = max_message;
  s.max_queue_bytes = max_queue_bytes;
  pair_new_with(p, &c, &s);
  pair_handshake(p, SPLIT_WHOLE);
}

/* The client's next output, fed to the server: returns the server's status. */
int client_to_server(pair *p) {
  return transfer(p->client, p->server, SPLIT_WHOLE, &p->at_server, NULL);
}

void assert_server_error(pair *p, int rc, int code, const char *needle) {
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

int decode_stream(chat_v2_direction dir, uint8_t suite, const uint8_t *key, size_t record_size,
                  const uint8_t *data, size_t len, split_mode mode, decoded *out,
                  chat_v2_stream_decoder **keep) {
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
