/* Negative and behavioural tests of the Noise core (protocol/noise.h). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/noise-internal.h"
#include "protocol/noise.h"

#define XX "Noise_XX_25519_ChaChaPoly_SHA256"
#define NX "Noise_NX_25519_AESGCM_SHA256"
#define NN "Noise_NN_25519_AESGCM_SHA512"
#define SENTINEL 0xAA
#define SMALL_PAYLOAD_LEN 16
/* The cache micro-benchmark: records of this size, this many per run, the
 * best of this many runs. */
#define BENCH_RECORD_LEN 1024u
#define BENCH_RECORDS 20000u
#define BENCH_RUNS 3u
#define NS_PER_S 1000000000.0

/* A buffer of one full Noise message, plus room to go over. */
#define BIG_BUF (CHAT_NOISE_MAX_MESSAGE + 2 * CHAT_NOISE_TAG_LEN)

typedef struct {
  chat_noise_handshake *init;
  chat_noise_handshake *resp;
  uint8_t init_static[CHAT_NOISE_DH_LEN];
  uint8_t resp_static[CHAT_NOISE_DH_LEN];
  uint8_t resp_static_pub[CHAT_NOISE_DH_LEN];
  chat_noise_cipher *init_send, *init_recv, *resp_send, *resp_recv;
} pair;

static uint8_t *big_a, *big_b;

static void setup_bufs(void) {
  big_a = calloc(1, BIG_BUF);
  big_b = calloc(1, BIG_BUF);
  cr_assert(big_a != NULL && big_b != NULL);
}

static void teardown_bufs(void) {
  free(big_a);
  free(big_b);
}

TestSuite(noise, .init = setup_bufs, .fini = teardown_bufs);

static void pair_free(pair *p) {
  chat_noise_handshake_free(p->init);
  chat_noise_handshake_free(p->resp);
  chat_noise_cipher_free(p->init_send);
  chat_noise_cipher_free(p->init_recv);
  chat_noise_cipher_free(p->resp_send);
  chat_noise_cipher_free(p->resp_recv);
  memset(p, 0, sizeof *p);
}

/* Creates both sides with fresh static keys where the pattern wants them,
 * optional prologues, and starts them. */
static void pair_new(pair *p, const char *protocol, const char *init_prologue,
                     const char *resp_prologue) {
  memset(p, 0, sizeof *p);
  uint8_t pub[CHAT_NOISE_DH_LEN];
  cr_assert_eq(chat_noise_handshake_new(protocol, CHAT_NOISE_ROLE_INITIATOR, &p->init), 0);
  cr_assert_eq(chat_noise_handshake_new(protocol, CHAT_NOISE_ROLE_RESPONDER, &p->resp), 0);
  cr_assert_eq(chat_noise_generate_keypair(p->init_static, sizeof p->init_static, pub, sizeof pub),
               0);
  cr_assert_eq(chat_noise_generate_keypair(p->resp_static, sizeof p->resp_static,
                                           p->resp_static_pub, sizeof p->resp_static_pub),
               0);
  if (chat_noise_handshake_needs_local_static(p->init))
    cr_assert_eq(chat_noise_handshake_set_local_static(p->init, p->init_static, CHAT_NOISE_DH_LEN),
                 0);
  if (chat_noise_handshake_needs_local_static(p->resp))
    cr_assert_eq(chat_noise_handshake_set_local_static(p->resp, p->resp_static, CHAT_NOISE_DH_LEN),
                 0);
  if (init_prologue != NULL)
    cr_assert_eq(chat_noise_handshake_set_prologue(p->init, init_prologue, strlen(init_prologue)),
                 0);
  if (resp_prologue != NULL)
    cr_assert_eq(chat_noise_handshake_set_prologue(p->resp, resp_prologue, strlen(resp_prologue)),
                 0);
  cr_assert_eq(chat_noise_handshake_start(p->init), 0);
  cr_assert_eq(chat_noise_handshake_start(p->resp), 0);
}

/* Moves one handshake message from writer to reader; returns the reader's
 * status. */
static int step(chat_noise_handshake *writer, chat_noise_handshake *reader) {
  static const uint8_t payload[] = "hello";
  uint8_t msg[512], got[512];
  size_t len = 0, plen = 0;
  cr_assert_eq(chat_noise_handshake_action(writer), CHAT_NOISE_ACTION_WRITE_MESSAGE);
  cr_assert_eq(
      chat_noise_handshake_write_message(writer, payload, sizeof payload, msg, sizeof msg, &len),
      0);
  int rc = chat_noise_handshake_read_message(reader, msg, len, got, sizeof got, &plen);
  if (rc == 0) {
    cr_assert_eq(plen, sizeof payload);
    cr_assert_arr_eq(got, payload, sizeof payload);
  }
  return rc;
}

/* Runs the whole handshake and splits both sides. */
static void pair_handshake(pair *p) {
  for (;;) {
    chat_noise_action a = chat_noise_handshake_action(p->init);
    if (a == CHAT_NOISE_ACTION_SPLIT)
      break;
    if (a == CHAT_NOISE_ACTION_WRITE_MESSAGE)
      cr_assert_eq(step(p->init, p->resp), 0);
    else
      cr_assert_eq(step(p->resp, p->init), 0);
  }
  cr_assert_eq(chat_noise_handshake_action(p->resp), CHAT_NOISE_ACTION_SPLIT);
  uint8_t h1[CHAT_NOISE_MAX_HASH_LEN], h2[CHAT_NOISE_MAX_HASH_LEN];
  size_t l1 = 0, l2 = 0;
  cr_assert_eq(chat_noise_handshake_get_hash(p->init, h1, sizeof h1, &l1), 0);
  cr_assert_eq(chat_noise_handshake_get_hash(p->resp, h2, sizeof h2, &l2), 0);
  cr_assert_eq(l1, l2);
  cr_assert_arr_eq(h1, h2, l1);
  cr_assert_eq(chat_noise_handshake_split(p->init, &p->init_send, &p->init_recv), 0);
  cr_assert_eq(chat_noise_handshake_split(p->resp, &p->resp_send, &p->resp_recv), 0);
  cr_assert_eq(chat_noise_handshake_action(p->init), CHAT_NOISE_ACTION_COMPLETE);
}

/* Encrypts text with send and checks that recv decrypts it. */
static void roundtrip(chat_noise_cipher *send, chat_noise_cipher *recv, const char *text) {
  uint8_t ct[256], pt[256];
  size_t clen = 0, plen = 0;
  size_t n = strlen(text);
  cr_assert_eq(
      chat_noise_cipher_encrypt(send, NULL, 0, (const uint8_t *)text, n, ct, sizeof ct, &clen), 0);
  cr_assert_eq(clen, n + CHAT_NOISE_TAG_LEN);
  cr_assert_eq(chat_noise_cipher_decrypt(recv, NULL, 0, ct, clen, pt, sizeof pt, &plen), 0);
  cr_assert_eq(plen, n);
  cr_assert_arr_eq(pt, text, n);
}

Test(noise, full_handshake_random_keys) {
  static const char *const protocols[] = {
      XX,
      NX,
      NN,
      "Noise_IK_25519_ChaChaPoly_SHA512",
      "Noise_KK_25519_AESGCM_SHA256",
      "Noise_X1X1_25519_AESGCM_SHA256",
  };
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++) {
    pair p;
    memset(&p, 0, sizeof p);
    cr_assert_eq(chat_noise_handshake_new(protocols[i], CHAT_NOISE_ROLE_INITIATOR, &p.init), 0);
    cr_assert_eq(chat_noise_handshake_new(protocols[i], CHAT_NOISE_ROLE_RESPONDER, &p.resp), 0);
    uint8_t ipub[CHAT_NOISE_DH_LEN], rpub[CHAT_NOISE_DH_LEN];
    cr_assert_eq(chat_noise_generate_keypair(p.init_static, CHAT_NOISE_DH_LEN, ipub, sizeof ipub),
                 0);
    cr_assert_eq(chat_noise_generate_keypair(p.resp_static, CHAT_NOISE_DH_LEN, rpub, sizeof rpub),
                 0);
    if (chat_noise_handshake_needs_local_static(p.init))
      cr_assert_eq(chat_noise_handshake_set_local_static(p.init, p.init_static, CHAT_NOISE_DH_LEN),
                   0);
    if (chat_noise_handshake_needs_local_static(p.resp))
      cr_assert_eq(chat_noise_handshake_set_local_static(p.resp, p.resp_static, CHAT_NOISE_DH_LEN),
                   0);
    if (chat_noise_handshake_needs_remote_static(p.init))
      cr_assert_eq(chat_noise_handshake_set_remote_static(p.init, rpub, sizeof rpub), 0);
    if (chat_noise_handshake_needs_remote_static(p.resp))
      cr_assert_eq(chat_noise_handshake_set_remote_static(p.resp, ipub, sizeof ipub), 0);
    cr_assert_eq(chat_noise_handshake_start(p.init), 0, "%s", protocols[i]);
    cr_assert_eq(chat_noise_handshake_start(p.resp), 0, "%s", protocols[i]);
    pair_handshake(&p);
    roundtrip(p.init_send, p.resp_recv, "ping");
    roundtrip(p.resp_send, p.init_recv, "pong");
    cr_assert_not(chat_noise_handshake_dh_output_was_zero(p.init));
    pair_free(&p);
  }
}

Test(noise, tampered_handshake_message_fails) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  cr_assert_eq(step(p.init, p.resp), 0);
  /* Message 2 carries the responder's encrypted static key: flip one bit. */
  uint8_t msg[512], got[512];
  size_t len = 0, plen = 0;
  cr_assert_eq(chat_noise_handshake_write_message(p.resp, NULL, 0, msg, sizeof msg, &len), 0);
  msg[CHAT_NOISE_DH_LEN + 1] ^= 0x01;
  cr_assert_eq(chat_noise_handshake_read_message(p.init, msg, len, got, sizeof got, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(chat_noise_handshake_action(p.init), CHAT_NOISE_ACTION_FAILED);
  /* A failed handshake stays failed. */
  cr_assert_eq(chat_noise_handshake_read_message(p.init, msg, len, got, sizeof got, &plen),
               CHAT_NOISE_ERR_FAILED);
  chat_noise_cipher *a, *b;
  cr_assert_eq(chat_noise_handshake_split(p.init, &a, &b), CHAT_NOISE_ERR_FAILED);
  cr_assert_null(a);
  cr_assert_null(b);
  pair_free(&p);
}

Test(noise, tampered_handshake_payload_fails) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  cr_assert_eq(step(p.init, p.resp), 0);
  uint8_t msg[512], got[512];
  size_t len = 0, plen = 0;
  static const uint8_t payload[] = "secret payload";
  cr_assert_eq(
      chat_noise_handshake_write_message(p.resp, payload, sizeof payload, msg, sizeof msg, &len),
      0);
  msg[len - 1] ^= 0x80; /* the payload's tag */
  memset(got, SENTINEL, sizeof got);
  cr_assert_eq(chat_noise_handshake_read_message(p.init, msg, len, got, sizeof got, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  for (size_t i = 0; i < sizeof payload; i++)
    cr_assert(got[i] == 0 || got[i] == SENTINEL, "plaintext byte %zu released", i);
  pair_free(&p);
}

Test(noise, tampered_transport_releases_no_plaintext) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  pair_handshake(&p);
  static const char text[] = "attack at dawn, bring snacks";
  uint8_t ct[128], pt[128];
  size_t clen = 0, plen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, (const uint8_t *)text, sizeof text,
                                         ct, sizeof ct, &clen),
               0);
  uint8_t bad[128];
  memcpy(bad, ct, clen);
  bad[3] ^= 0x04;
  memset(pt, SENTINEL, sizeof pt);
  plen = 12345;
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, bad, clen, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(plen, 12345, "out_len must not be set on failure");
  for (size_t i = 0; i < sizeof pt; i++)
    cr_assert(pt[i] == 0 || pt[i] == SENTINEL, "plaintext byte %zu released", i);
  /* A tampered tag, in place: the buffer must not keep plaintext either. */
  memcpy(bad, ct, clen);
  bad[clen - 1] ^= 0x01;
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, bad, clen, bad, sizeof bad, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert(memmem(bad, clen, "attack", strlen("attack")) == NULL);
  /* The nonce did not move: the genuine message still decrypts. */
  uint64_t n = 99;
  cr_assert_eq(chat_noise_cipher_get_nonce(p.resp_recv, &n), 0);
  cr_assert_eq(n, 0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, clen, pt, sizeof pt, &plen), 0);
  cr_assert_eq(plen, sizeof text);
  cr_assert_arr_eq(pt, text, sizeof text);
  pair_free(&p);
}

Test(noise, wrong_ad_fails) {
  pair p;
  pair_new(&p, NN, NULL, NULL);
  pair_handshake(&p);
  static const uint8_t ad1[] = "header-1", ad2[] = "header-2";
  uint8_t ct[64], pt[64];
  size_t clen = 0, plen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, ad1, sizeof ad1, (const uint8_t *)"x", 1, ct,
                                         sizeof ct, &clen),
               0);
  cr_assert_eq(
      chat_noise_cipher_decrypt(p.resp_recv, ad2, sizeof ad2, ct, clen, pt, sizeof pt, &plen),
      CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(
      chat_noise_cipher_decrypt(p.resp_recv, ad1, sizeof ad1, ct, clen, pt, sizeof pt, &plen), 0);
  pair_free(&p);
}

Test(noise, wrong_prologue_fails) {
  pair p;
  pair_new(&p, NN, "chat v2", "chat v3");
  cr_assert_eq(step(p.init, p.resp), 0); /* message 1 is unauthenticated in NN */
  cr_assert_eq(step(p.resp, p.init), CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(chat_noise_handshake_action(p.init), CHAT_NOISE_ACTION_FAILED);
  pair_free(&p);

  pair_new(&p, XX, "same", NULL); /* a prologue on one side only */
  cr_assert_eq(step(p.init, p.resp), 0);
  cr_assert_eq(step(p.resp, p.init), CHAT_NOISE_ERR_MAC_FAILURE);
  pair_free(&p);
}

Test(noise, prologue_rules) {
  chat_noise_handshake *hs;
  cr_assert_eq(chat_noise_handshake_new(NN, CHAT_NOISE_ROLE_INITIATOR, &hs), 0);
  cr_assert_eq(chat_noise_handshake_set_prologue(hs, NULL, 1), CHAT_NOISE_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_noise_handshake_set_prologue(hs, "a", 1), 0);
  cr_assert_eq(chat_noise_handshake_set_prologue(hs, "b", 1), CHAT_NOISE_ERR_INVALID_STATE);
  cr_assert_eq(chat_noise_handshake_start(hs), 0);
  cr_assert_eq(chat_noise_handshake_start(hs), CHAT_NOISE_ERR_INVALID_STATE);
  chat_noise_handshake_free(hs);
}

Test(noise, reordered_and_replayed_transport_fails) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  pair_handshake(&p);
  uint8_t c1[64], c2[64], pt[64];
  size_t l1 = 0, l2 = 0, plen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.resp_send, NULL, 0, (const uint8_t *)"one", 3, c1,
                                         sizeof c1, &l1),
               0);
  cr_assert_eq(chat_noise_cipher_encrypt(p.resp_send, NULL, 0, (const uint8_t *)"two", 3, c2,
                                         sizeof c2, &l2),
               0);
  /* Reordered: the second message first. */
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, c2, l2, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, c1, l1, pt, sizeof pt, &plen), 0);
  /* Replayed: the first message again. */
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, c1, l1, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, c2, l2, pt, sizeof pt, &plen), 0);
  cr_assert_arr_eq(pt, "two", 3);
  /* A message sent in the other direction is not accepted either. */
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, (const uint8_t *)"three", 5, c1,
                                         sizeof c1, &l1),
               0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, c1, l1, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  pair_free(&p);
}

Test(noise, short_buffers) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  static const uint8_t payload[SMALL_PAYLOAD_LEN] = {1, 2, 3};
  uint8_t msg[512], got[512];
  size_t len = 0, plen = 0;
  /* Message 1 of XX: e (32) + payload in clear. */
  size_t need = CHAT_NOISE_DH_LEN + sizeof payload;
  cr_assert_eq(
      chat_noise_handshake_write_message(p.init, payload, sizeof payload, msg, need - 1, &len),
      CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_handshake_action(p.init), CHAT_NOISE_ACTION_WRITE_MESSAGE);
  cr_assert_eq(chat_noise_handshake_write_message(p.init, payload, sizeof payload, msg, need, &len),
               0);
  cr_assert_eq(len, need);
  cr_assert_eq(chat_noise_handshake_read_message(p.resp, msg, len, got, sizeof payload - 1, &plen),
               CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_handshake_action(p.resp), CHAT_NOISE_ACTION_READ_MESSAGE);
  cr_assert_eq(chat_noise_handshake_read_message(p.resp, msg, len, got, sizeof payload, &plen), 0);
  /* Message 2: e, ee, s (32 + 16), es, payload + 16. */
  need = CHAT_NOISE_DH_LEN + CHAT_NOISE_DH_LEN + CHAT_NOISE_TAG_LEN + sizeof payload +
         CHAT_NOISE_TAG_LEN;
  cr_assert_eq(
      chat_noise_handshake_write_message(p.resp, payload, sizeof payload, msg, need - 1, &len),
      CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_handshake_write_message(p.resp, payload, sizeof payload, msg, need, &len),
               0);
  cr_assert_eq(chat_noise_handshake_read_message(p.init, msg, len, got, sizeof payload - 1, &plen),
               CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_handshake_read_message(p.init, msg, len, got, sizeof payload, &plen), 0);
  cr_assert_eq(step(p.init, p.resp), 0);

  uint8_t h[CHAT_NOISE_MAX_HASH_LEN];
  size_t hlen = 0;
  cr_assert_eq(chat_noise_handshake_get_hash(p.init, h, 31, &hlen), CHAT_NOISE_ERR_SHORT_BUFFER);
  uint8_t rs[CHAT_NOISE_DH_LEN];
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.init, rs, sizeof rs - 1),
               CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_handshake_split(p.init, &p.init_send, &p.init_recv), 0);
  cr_assert_eq(chat_noise_handshake_split(p.resp, &p.resp_send, &p.resp_recv), 0);

  /* Transport: the short buffers change nothing (the nonce stays). */
  uint8_t ct[64], pt[64];
  size_t clen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, payload, sizeof payload, ct,
                                         sizeof payload + CHAT_NOISE_TAG_LEN - 1, &clen),
               CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, payload, sizeof payload, ct,
                                         sizeof ct, &clen),
               0);
  cr_assert_eq(
      chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, clen, pt, sizeof payload - 1, &plen),
      CHAT_NOISE_ERR_SHORT_BUFFER);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, clen, pt, sizeof payload, &plen),
               0);
  cr_assert_arr_eq(pt, payload, sizeof payload);
  /* Shorter than a tag. */
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, CHAT_NOISE_TAG_LEN - 1, pt,
                                         sizeof pt, &plen),
               CHAT_NOISE_ERR_MESSAGE_TOO_SHORT);
  pair_free(&p);
}

Test(noise, truncated_handshake_message_fails) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  uint8_t msg[512], got[512];
  size_t len = 0, plen = 0;
  cr_assert_eq(chat_noise_handshake_write_message(p.init, NULL, 0, msg, sizeof msg, &len), 0);
  cr_assert_eq(
      chat_noise_handshake_read_message(p.resp, msg, CHAT_NOISE_DH_LEN - 1, got, sizeof got, &plen),
      CHAT_NOISE_ERR_MESSAGE_TOO_SHORT);
  cr_assert_eq(chat_noise_handshake_action(p.resp), CHAT_NOISE_ACTION_FAILED);
  pair_free(&p);
}

Test(noise, messages_over_65535_fail) {
  pair p;
  pair_new(&p, NN, NULL, NULL);
  size_t len = 0, plen = 0;
  /* Handshake write: e (32) + payload would pass 65535. */
  size_t too_big = CHAT_NOISE_MAX_MESSAGE - CHAT_NOISE_DH_LEN + 1;
  cr_assert_eq(chat_noise_handshake_write_message(p.init, big_a, too_big, big_b, BIG_BUF, &len),
               CHAT_NOISE_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_noise_handshake_action(p.init), CHAT_NOISE_ACTION_WRITE_MESSAGE);
  /* Exactly 65535 is fine. */
  cr_assert_eq(chat_noise_handshake_write_message(p.init, big_a, too_big - 1, big_b, BIG_BUF, &len),
               0);
  cr_assert_eq(len, CHAT_NOISE_MAX_MESSAGE);
  /* Handshake read of 65536 bytes. */
  cr_assert_eq(chat_noise_handshake_read_message(p.resp, big_b, CHAT_NOISE_MAX_MESSAGE + 1, big_a,
                                                 BIG_BUF, &plen),
               CHAT_NOISE_ERR_MESSAGE_TOO_LARGE);
  pair_free(&p);

  pair_new(&p, NN, NULL, NULL);
  pair_handshake(&p);
  size_t clen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, big_a, CHAT_NOISE_MAX_PAYLOAD + 1,
                                         big_b, BIG_BUF, &clen),
               CHAT_NOISE_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, big_a, CHAT_NOISE_MAX_PAYLOAD, big_b,
                                         BIG_BUF, &clen),
               0);
  cr_assert_eq(clen, CHAT_NOISE_MAX_MESSAGE);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, big_b, CHAT_NOISE_MAX_MESSAGE + 1,
                                         big_a, BIG_BUF, &plen),
               CHAT_NOISE_ERR_MESSAGE_TOO_LARGE);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, big_b, clen, big_a, BIG_BUF, &plen),
               0);
  cr_assert_eq(plen, CHAT_NOISE_MAX_PAYLOAD);
  pair_free(&p);
}

Test(noise, nx_initiator_learns_responder_static) {
  pair p;
  pair_new(&p, NX, NULL, NULL);
  uint8_t rs[CHAT_NOISE_DH_LEN];
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.init, rs, sizeof rs),
               CHAT_NOISE_ERR_MISSING_KEY);
  cr_assert_eq(step(p.init, p.resp), 0);
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.init, rs, sizeof rs),
               CHAT_NOISE_ERR_MISSING_KEY);
  cr_assert_eq(step(p.resp, p.init), 0);
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.init, rs, sizeof rs), 0);
  uint8_t expect[CHAT_NOISE_DH_LEN];
  cr_assert_eq(chat_noise_public_key(p.resp_static, sizeof p.resp_static, expect, sizeof expect),
               0);
  cr_assert_arr_eq(rs, expect, sizeof rs);
  cr_assert_arr_eq(rs, p.resp_static_pub, sizeof rs);
  /* Still available after split, for pinning. */
  cr_assert_eq(chat_noise_handshake_split(p.init, &p.init_send, &p.init_recv), 0);
  memset(rs, 0, sizeof rs);
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.init, rs, sizeof rs), 0);
  cr_assert_arr_eq(rs, expect, sizeof rs);
  /* The responder of NX learns nothing about the anonymous initiator. */
  cr_assert_eq(chat_noise_handshake_get_remote_static(p.resp, rs, sizeof rs),
               CHAT_NOISE_ERR_MISSING_KEY);
  pair_free(&p);
}

Test(noise, rekey_keeps_sides_in_sync) {
  pair p;
  pair_new(&p, XX, NULL, NULL);
  pair_handshake(&p);
  roundtrip(p.init_send, p.resp_recv, "before");
  cr_assert_eq(chat_noise_cipher_rekey(p.init_send), 0);
  cr_assert_eq(chat_noise_cipher_rekey(p.resp_recv), 0);
  uint64_t n1 = 0, n2 = 0;
  cr_assert_eq(chat_noise_cipher_get_nonce(p.init_send, &n1), 0);
  cr_assert_eq(chat_noise_cipher_get_nonce(p.resp_recv, &n2), 0);
  cr_assert_eq(n1, 1, "rekey keeps the nonce");
  cr_assert_eq(n2, 1);
  roundtrip(p.init_send, p.resp_recv, "after");
  roundtrip(p.resp_send, p.init_recv, "other direction unaffected");

  /* Rekeying only one side breaks the channel. */
  cr_assert_eq(chat_noise_cipher_rekey(p.resp_send), 0);
  uint8_t ct[64], pt[64];
  size_t clen = 0, plen = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(p.resp_send, NULL, 0, (const uint8_t *)"x", 1, ct,
                                         sizeof ct, &clen),
               0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, ct, clen, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE);
  cr_assert_eq(chat_noise_cipher_rekey(p.init_recv), 0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.init_recv, NULL, 0, ct, clen, pt, sizeof pt, &plen), 0);
  pair_free(&p);
}

Test(noise, nonce_exhaustion) {
  pair p;
  pair_new(&p, NN, NULL, NULL);
  pair_handshake(&p);
  uint8_t ct[64], pt[64];
  size_t clen = 0, plen = 0;
  cr_assert_eq(chat_noise_cipher_set_nonce(p.init_send, CHAT_NOISE_NONCE_RESERVED - 1), 0);
  cr_assert_eq(chat_noise_cipher_set_nonce(p.resp_recv, CHAT_NOISE_NONCE_RESERVED - 1), 0);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, (const uint8_t *)"last", 4, ct,
                                         sizeof ct, &clen),
               0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, clen, pt, sizeof pt, &plen), 0);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, (const uint8_t *)"more", 4, ct,
                                         sizeof ct, &clen),
               CHAT_NOISE_ERR_NONCE_EXHAUSTED);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, ct, clen, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_NONCE_EXHAUSTED);
  pair_free(&p);
}

Test(noise, unknown_protocol_names_rejected) {
  static const struct {
    const char *name;
    int code;
  } cases[] = {
      {"", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise_XX_25519_AESGCM", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise_XX_25519_AESGCM_SHA256_", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise_XX_25519_AESGCM_SHA256_SHA256", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise__25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"noise_XX_25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"NoiseXX_25519_AESGCM_SHA256_", CHAT_NOISE_ERR_UNKNOWN_PROTOCOL},
      {"Noise_XY_25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_PATTERN},
      {"Noise_xx_25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_PATTERN},
      {"Noise_XXpsk3_25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_PATTERN},
      {"Noise_XXfallback_25519_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_PATTERN},
      {"Noise_XX_448_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_DH},
      {"Noise_XX_25519+Kyber1024_AESGCM_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_DH},
      {"Noise_XX_25519_AESGCM256_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_CIPHER},
      {"Noise_XX_25519_chachapoly_SHA256", CHAT_NOISE_ERR_UNSUPPORTED_CIPHER},
      {"Noise_XX_25519_AESGCM_BLAKE2s", CHAT_NOISE_ERR_UNSUPPORTED_HASH},
      {"Noise_XX_25519_AESGCM_BLAKE2b", CHAT_NOISE_ERR_UNSUPPORTED_HASH},
      {"Noise_XX_25519_AESGCM_SHA384", CHAT_NOISE_ERR_UNSUPPORTED_HASH},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    chat_noise_handshake *hs = (chat_noise_handshake *)(void *)&cases; /* must be reset to NULL */
    int rc = chat_noise_handshake_new(cases[i].name, CHAT_NOISE_ROLE_INITIATOR, &hs);
    cr_expect_eq(rc, cases[i].code, "\"%s\": got %d (%s), want %d", cases[i].name, rc,
                 chat_strerror(rc), cases[i].code);
    cr_expect_null(hs, "\"%s\"", cases[i].name);
  }
  /* Over 255 bytes. */
  char longname[CHAT_NOISE_MAX_PROTOCOL_NAME + 2];
  memset(longname, 'A', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  memcpy(longname, "Noise_XX_25519_AESGCM_SHA256_", strlen("Noise_XX_25519_AESGCM_SHA256_"));
  chat_noise_handshake *hs = NULL;
  cr_expect_eq(chat_noise_handshake_new(longname, CHAT_NOISE_ROLE_INITIATOR, &hs),
               CHAT_NOISE_ERR_UNKNOWN_PROTOCOL);
  cr_expect_eq(chat_noise_handshake_new(NULL, CHAT_NOISE_ROLE_INITIATOR, &hs),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  cr_expect_eq(chat_noise_handshake_new(XX, (chat_noise_role)7, &hs),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  cr_expect_eq(chat_noise_handshake_new(XX, CHAT_NOISE_ROLE_INITIATOR, NULL),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
}

Test(noise, key_rules) {
  chat_noise_handshake *hs;
  uint8_t key[CHAT_NOISE_DH_LEN] = {9};
  cr_assert_eq(chat_noise_handshake_new(XX, CHAT_NOISE_ROLE_INITIATOR, &hs), 0);
  cr_assert(chat_noise_handshake_needs_local_static(hs));
  cr_assert_not(chat_noise_handshake_needs_remote_static(hs));
  cr_assert_eq(chat_noise_handshake_start(hs), CHAT_NOISE_ERR_MISSING_KEY);
  cr_assert_eq(chat_noise_handshake_set_remote_static(hs, key, sizeof key),
               CHAT_NOISE_ERR_NOT_APPLICABLE);
  cr_assert_eq(chat_noise_handshake_set_local_static(hs, key, sizeof key - 1),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_noise_handshake_set_local_static(hs, key, sizeof key), 0);
  cr_assert_eq(chat_noise_handshake_action(hs), CHAT_NOISE_ACTION_NONE);
  cr_assert_eq(chat_noise_handshake_start(hs), 0);
  cr_assert_eq(chat_noise_handshake_set_local_static(hs, key, sizeof key),
               CHAT_NOISE_ERR_INVALID_STATE);
  /* The initiator writes first; reading now is out of turn. */
  uint8_t buf[128];
  size_t len = 0;
  cr_assert_eq(chat_noise_handshake_read_message(hs, buf, 64, buf + 64, 64, &len),
               CHAT_NOISE_ERR_INVALID_STATE);
  cr_assert_eq(chat_noise_handshake_get_hash(hs, buf, sizeof buf, &len),
               CHAT_NOISE_ERR_INVALID_STATE);
  chat_noise_cipher *a, *b;
  cr_assert_eq(chat_noise_handshake_split(hs, &a, &b), CHAT_NOISE_ERR_INVALID_STATE);
  chat_noise_handshake_free(hs);

  /* NN uses no static keys; NK's initiator needs the responder's. */
  cr_assert_eq(chat_noise_handshake_new(NN, CHAT_NOISE_ROLE_RESPONDER, &hs), 0);
  cr_assert_eq(chat_noise_handshake_set_local_static(hs, key, sizeof key),
               CHAT_NOISE_ERR_NOT_APPLICABLE);
  chat_noise_handshake_free(hs);
  cr_assert_eq(
      chat_noise_handshake_new("Noise_NK_25519_AESGCM_SHA256", CHAT_NOISE_ROLE_INITIATOR, &hs), 0);
  cr_assert(chat_noise_handshake_needs_remote_static(hs));
  cr_assert_eq(chat_noise_handshake_start(hs), CHAT_NOISE_ERR_MISSING_KEY);
  chat_noise_handshake_free(hs);
  /* The responder of a one-way pattern has no ephemeral. */
  cr_assert_eq(
      chat_noise_handshake_new("Noise_N_25519_AESGCM_SHA256", CHAT_NOISE_ROLE_RESPONDER, &hs), 0);
  cr_assert_eq(chat_noise_handshake_set_fixed_ephemeral(hs, key, sizeof key),
               CHAT_NOISE_ERR_NOT_APPLICABLE);
  chat_noise_handshake_free(hs);
}

Test(noise, one_way_split_has_one_direction) {
  chat_noise_handshake *init, *resp;
  uint8_t rpriv[CHAT_NOISE_DH_LEN], rpub[CHAT_NOISE_DH_LEN];
  cr_assert_eq(chat_noise_generate_keypair(rpriv, sizeof rpriv, rpub, sizeof rpub), 0);
  cr_assert_eq(
      chat_noise_handshake_new("Noise_N_25519_ChaChaPoly_SHA256", CHAT_NOISE_ROLE_INITIATOR, &init),
      0);
  cr_assert_eq(
      chat_noise_handshake_new("Noise_N_25519_ChaChaPoly_SHA256", CHAT_NOISE_ROLE_RESPONDER, &resp),
      0);
  cr_assert_eq(chat_noise_handshake_set_remote_static(init, rpub, sizeof rpub), 0);
  cr_assert_eq(chat_noise_handshake_set_local_static(resp, rpriv, sizeof rpriv), 0);
  cr_assert_eq(chat_noise_handshake_start(init), 0);
  cr_assert_eq(chat_noise_handshake_start(resp), 0);
  cr_assert_eq(step(init, resp), 0);
  chat_noise_cipher *is, *ir, *rsend, *rrecv;
  cr_assert_eq(chat_noise_handshake_split(init, &is, &ir), 0);
  cr_assert_eq(chat_noise_handshake_split(resp, &rsend, &rrecv), 0);
  cr_assert_not_null(is);
  cr_assert_null(ir);
  cr_assert_null(rsend);
  cr_assert_not_null(rrecv);
  roundtrip(is, rrecv, "one way");
  chat_noise_cipher_free(is);
  chat_noise_cipher_free(rrecv);
  chat_noise_handshake_free(init);
  chat_noise_handshake_free(resp);
}

Test(noise, zero_dh_output_is_exposed) {
  pair p;
  pair_new(&p, NN, NULL, NULL);
  /* The initiator's "ephemeral" is the low-order point 0. */
  uint8_t msg[CHAT_NOISE_DH_LEN] = {0}, out[128], got[128];
  size_t len = 0, plen = 0;
  cr_assert_eq(chat_noise_handshake_read_message(p.resp, msg, sizeof msg, got, sizeof got, &plen),
               0);
  cr_assert_not(chat_noise_handshake_dh_output_was_zero(p.resp));
  cr_assert_eq(chat_noise_handshake_write_message(p.resp, NULL, 0, out, sizeof out, &len), 0);
  cr_assert(chat_noise_handshake_dh_output_was_zero(p.resp));
  pair_free(&p);
}

Test(noise, strerror_covers_codes) {
  for (int code = 0; code >= CHAT_NOISE_ERR_FAILED - 1; code--) {
    const char *s = chat_strerror(code);
    cr_assert_not_null(s);
    if (code == 0 || code <= CHAT_NOISE_ERR_INVALID_ARGUMENT)
      cr_assert_str_neq(s, "", "code %d", code);
  }
  cr_assert_str_eq(chat_strerror(CHAT_NOISE_ERR_FAILED - 1), "unknown error");
  cr_assert_str_neq(chat_strerror(CHAT_NOISE_ERR_MAC_FAILURE), "unknown error");
}

Test(noise, cipher_argument_checks) {
  pair p;
  pair_new(&p, NN, NULL, NULL);
  pair_handshake(&p);
  uint8_t buf[64];
  size_t len = 0;
  cr_assert_eq(chat_noise_cipher_encrypt(NULL, NULL, 0, buf, 1, buf + 32, 32, &len),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 1, buf, 1, buf + 32, 32, &len),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  /* Partial overlap is refused; exact in-place is fine. */
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, buf, 8, buf + 4, 40, &len),
               CHAT_NOISE_ERR_INVALID_ARGUMENT);
  memcpy(buf, "inplace!", 8);
  cr_assert_eq(chat_noise_cipher_encrypt(p.init_send, NULL, 0, buf, 8, buf, sizeof buf, &len), 0);
  cr_assert_eq(chat_noise_cipher_decrypt(p.resp_recv, NULL, 0, buf, len, buf, sizeof buf, &len), 0);
  cr_assert_arr_eq(buf, "inplace!", 8);
  cr_assert_eq(chat_noise_cipher_rekey(NULL), CHAT_NOISE_ERR_INVALID_ARGUMENT);
  chat_noise_cipher_free(NULL);
  chat_noise_handshake_free(NULL);
  pair_free(&p);
}

/* ---- the per-thread cache of expanded AES-GCM contexts --------------------- */

static chat_noise_cipher *cipher_with_key(const char *name, uint8_t fill) {
  uint8_t key[CHAT_NOISE_KEY_LEN];
  memset(key, fill, sizeof key);
  chat_noise_cipher *cs = NULL;
  cr_assert_eq(chat_noise_cipher_new_with_key(name, key, sizeof key, &cs), 0);
  return cs;
}

static void cache_counts(uint64_t *hits, uint64_t *misses) {
  chat_noise_cipher_test_cache_counts(hits, misses);
}

/* Encrypts with send, which must decrypt with recv and not with wrong. */
static void roundtrip_not(chat_noise_cipher *send, chat_noise_cipher *recv,
                          chat_noise_cipher *wrong, const char *text) {
  uint8_t ct[256], pt[256];
  size_t clen = 0, plen = 0;
  size_t n = strlen(text);
  cr_assert_eq(
      chat_noise_cipher_encrypt(send, NULL, 0, (const uint8_t *)text, n, ct, sizeof ct, &clen), 0);
  cr_assert_eq(chat_noise_cipher_decrypt(wrong, NULL, 0, ct, clen, pt, sizeof pt, &plen),
               CHAT_NOISE_ERR_MAC_FAILURE, "decrypted with another key");
  cr_assert_eq(chat_noise_cipher_decrypt(recv, NULL, 0, ct, clen, pt, sizeof pt, &plen), 0);
  cr_assert_eq(plen, n);
  cr_assert_arr_eq(pt, text, n);
}

Test(noise, cached_gcm_context_is_used_only_with_its_own_key) {
  chat_noise_cipher *a = cipher_with_key("AESGCM", 0x11), *a_peer = cipher_with_key("AESGCM", 0x11);
  chat_noise_cipher *b = cipher_with_key("AESGCM", 0x22), *b_peer = cipher_with_key("AESGCM", 0x22);
  /* Decrypting with a wrong key also goes through the cache: a wrong one
   * per direction keeps the nonces in step (a MAC failure does not count). */
  chat_noise_cipher *wrong = cipher_with_key("AESGCM", 0x33);
  uint64_t h0, m0, h1, m1;

  /* Same key: after the first expansion, a peer with equal key bytes hits. */
  roundtrip_not(a, a_peer, wrong, "warm");
  cache_counts(&h0, &m0);
  roundtrip(a, a_peer, "same key twice");
  cache_counts(&h1, &m1);
  cr_assert_eq(m1 - m0, 0, "a cipher with the cached key must hit");
  cr_assert_eq(h1 - h0, 2);

  /* Alternating keys: every switch misses, and every record is right. */
  for (int i = 0; i < 8; i++) {
    roundtrip_not(b, b_peer, a_peer, "b");
    roundtrip_not(a, a_peer, b_peer, "a");
  }

  /* Rekey: the context of the old key is not used for the new one. */
  roundtrip(a, a_peer, "before rekey");
  chat_noise_cipher *old_key = NULL;
  uint8_t k[CHAT_NOISE_KEY_LEN];
  cr_assert_eq(chat_noise_cipher_get_key(a, k, sizeof k), 0);
  cr_assert_eq(chat_noise_cipher_new_with_key("AESGCM", k, sizeof k, &old_key), 0);
  uint64_t n = 0;
  cr_assert_eq(chat_noise_cipher_get_nonce(a, &n), 0);
  cr_assert_eq(chat_noise_cipher_set_nonce(old_key, n), 0);
  cr_assert_eq(chat_noise_cipher_rekey(a), 0);
  cr_assert_eq(chat_noise_cipher_rekey(a_peer), 0);
  cache_counts(&h0, &m0);
  roundtrip_not(a, a_peer, old_key, "after rekey");
  cache_counts(&h1, &m1);
  cr_assert_geq(m1 - m0, 1, "the new key is expanded");

  /* A freed cipher's slot: a new cipher (perhaps at the same address) with
   * another key never gets the old context. */
  chat_noise_cipher_free(b);
  chat_noise_cipher *c = cipher_with_key("AESGCM", 0x44), *c_peer = cipher_with_key("AESGCM", 0x44);
  roundtrip_not(c, c_peer, b_peer, "new cipher after a free");

  /* The same key bytes under ChaChaPoly are another cipher altogether. */
  chat_noise_cipher *cha = cipher_with_key("ChaChaPoly", 0x44);
  chat_noise_cipher *cha_peer = cipher_with_key("ChaChaPoly", 0x44);
  cr_assert_eq(chat_noise_cipher_set_nonce(cha, 1), 0);
  cr_assert_eq(chat_noise_cipher_set_nonce(cha_peer, 1), 0);
  roundtrip_not(cha, cha_peer, c_peer, "same key bytes, other algorithm");

  chat_noise_cipher *all[] = {a, a_peer, b_peer, wrong, old_key, c, c_peer, cha, cha_peer};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    chat_noise_cipher_free(all[i]);
}

static void *rekey_in_thread(void *cs) {
  cr_assert_eq(chat_noise_cipher_rekey(cs), 0);
  return NULL;
}

/* Each thread has its own cache: a key changed on another thread is
 * noticed by the key comparison, not by any bookkeeping of that thread. */
Test(noise, key_changed_on_another_thread_is_not_served_from_this_threads_cache) {
  chat_noise_cipher *a = cipher_with_key("AESGCM", 0x55), *a_peer = cipher_with_key("AESGCM", 0x55);
  roundtrip(a, a_peer, "cached here");
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, rekey_in_thread, a), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
  cr_assert_eq(chat_noise_cipher_rekey(a_peer), 0);
  uint64_t h0, m0, h1, m1;
  cache_counts(&h0, &m0);
  roundtrip(a, a_peer, "after a rekey elsewhere");
  cache_counts(&h1, &m1);
  cr_assert_eq(m1 - m0, 1, "the rekeyed key is expanded here, once");
  chat_noise_cipher_free(a);
  chat_noise_cipher_free(a_peer);
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

/* Encrypts records records of BENCH_RECORD_LEN bytes, taking the ciphers
 * in turn; returns the nanoseconds per record. */
static double encrypt_records(chat_noise_cipher **ciphers, size_t count, unsigned records) {
  static uint8_t pt[BENCH_RECORD_LEN], ct[BENCH_RECORD_LEN + CHAT_NOISE_TAG_LEN];
  size_t len = 0;
  double start = seconds_now();
  for (unsigned i = 0; i < records; i++)
    cr_assert_eq(
        chat_noise_cipher_encrypt(ciphers[i % count], NULL, 0, pt, sizeof pt, ct, sizeof ct, &len),
        0);
  return (seconds_now() - start) * NS_PER_S / records;
}

/* Micro-benchmark of the cache (printed; the assertions are on the hit and
 * miss counts, timings are not asserted). */
Test(noise, gcm_cache_hits_and_misses_micro_benchmark) {
  chat_noise_cipher *one[] = {cipher_with_key("AESGCM", 0x66)};
  chat_noise_cipher *two[] = {cipher_with_key("AESGCM", 0x77), cipher_with_key("AESGCM", 0x88)};
  chat_noise_cipher *chacha[] = {cipher_with_key("ChaChaPoly", 0x99),
                                 cipher_with_key("ChaChaPoly", 0xAA)};
  uint64_t h0, m0, h1, m1, h2, m2;
  double hit_ns = 0, miss_ns = 0, chacha_ns = 0;
  for (unsigned run = 0; run < BENCH_RUNS; run++) {
    encrypt_records(one, 1, 1); /* its key is expanded before the count starts */
    cache_counts(&h0, &m0);
    double hit = encrypt_records(one, 1, BENCH_RECORDS);
    cache_counts(&h1, &m1);
    double miss = encrypt_records(two, 2, BENCH_RECORDS);
    cache_counts(&h2, &m2);
    double cha = encrypt_records(chacha, 2, BENCH_RECORDS);
    cr_assert_eq(m1 - m0, 0, "one cipher: every record hits");
    cr_assert_eq(h1 - h0, BENCH_RECORDS);
    cr_assert_eq(m2 - m1, BENCH_RECORDS, "two ciphers in turn: every record misses");
    hit_ns = run == 0 || hit < hit_ns ? hit : hit_ns;
    miss_ns = run == 0 || miss < miss_ns ? miss : miss_ns;
    chacha_ns = run == 0 || cha < chacha_ns ? cha : chacha_ns;
  }
  fprintf(stderr,
          "gcm cache: %u-byte records, best of %u x %u: AES-GCM one cipher (hits) %.0f ns/record, "
          "two ciphers in turn (misses) %.0f ns/record, so a miss costs %.0f ns; ChaChaPoly "
          "(never cached) %.0f ns/record\n",
          BENCH_RECORD_LEN, BENCH_RUNS, BENCH_RECORDS, hit_ns, miss_ns, miss_ns - hit_ns,
          chacha_ns);
  fflush(stdout);
  chat_noise_cipher_free(one[0]);
  for (size_t i = 0; i < 2; i++) {
    chat_noise_cipher_free(two[i]);
    chat_noise_cipher_free(chacha[i]);
  }
}
