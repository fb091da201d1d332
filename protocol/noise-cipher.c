/* Noise CipherState (spec section 5.1) over Nettle's AES-256-GCM and
 * ChaCha20-Poly1305. */
#include "protocol/noise-internal.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/memops.h>

/* Bytes of zeros encrypted by Rekey() (spec section 4.2: 32 zero bytes). */
#define CHAT_NOISE_REKEY_INPUT_LEN CHAT_NOISE_KEY_LEN

_Static_assert(GCM_IV_SIZE == CHAT_NOISE_NONCE_LEN, "GCM nonce is 96 bits");
_Static_assert(CHACHA_POLY1305_NONCE_SIZE == CHAT_NOISE_NONCE_LEN, "ChaChaPoly nonce is 96 bits");
_Static_assert(GCM_DIGEST_SIZE == CHAT_NOISE_TAG_LEN, "GCM tag is 16 bytes");
_Static_assert(CHACHA_POLY1305_DIGEST_SIZE == CHAT_NOISE_TAG_LEN, "Poly1305 tag is 16 bytes");
_Static_assert(CHACHA_POLY1305_KEY_SIZE == CHAT_NOISE_KEY_LEN, "ChaCha key is 32 bytes");
_Static_assert(AES256_KEY_SIZE == CHAT_NOISE_KEY_LEN, "AES-256 key is 32 bytes");
_Static_assert(CHAT_NOISE_NONCE_PREFIX_LEN + CHAT_NOISE_COUNTER_LEN == CHAT_NOISE_NONCE_LEN,
               "nonce layout");

bool chat_noise_overlaps(const void *a, size_t alen, const void *b, size_t blen) {
  if (alen == 0 || blen == 0)
    return false;
  uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
  return pa < pb + blen && pb < pa + alen;
}

void chat_noise_cipher_init(chat_noise_cipher *cs, chat_noise_cipher_id id) {
  explicit_bzero(cs, sizeof *cs);
  cs->id = id;
}

void chat_noise_cipher_set_key(chat_noise_cipher *cs, const uint8_t key[CHAT_NOISE_KEY_LEN]) {
  memmove(cs->k, key, CHAT_NOISE_KEY_LEN);
  if (cs->id == CHAT_NOISE_CIPHER_AESGCM)
    gcm_aes256_set_key(&cs->ctx.gcm, cs->k);
  else
    chacha_poly1305_set_key(&cs->ctx.chacha, cs->k);
  cs->has_key = true;
  cs->n = 0;
}

void chat_noise_cipher_wipe(chat_noise_cipher *cs) {
  chat_noise_cipher_id id = cs->id;
  explicit_bzero(cs, sizeof *cs);
  cs->id = id;
}

/* The 96-bit AEAD nonce of counter n: 4 zero bytes, then n big-endian
 * (AESGCM) or little-endian (ChaChaPoly). */
static void make_nonce(chat_noise_cipher_id id, uint64_t n, uint8_t nonce[CHAT_NOISE_NONCE_LEN]) {
  memset(nonce, 0, CHAT_NOISE_NONCE_PREFIX_LEN);
  uint8_t *counter = nonce + CHAT_NOISE_NONCE_PREFIX_LEN;
  for (size_t i = 0; i < CHAT_NOISE_COUNTER_LEN; i++) {
    size_t shift = CHAT_NOISE_BITS_PER_BYTE * (id == CHAT_NOISE_CIPHER_AESGCM
                                                   ? CHAT_NOISE_COUNTER_LEN - 1 - i
                                                   : i);
    counter[i] = (uint8_t)(n >> shift);
  }
}

/* ENCRYPT(k, n, ad, plaintext): len bytes of ciphertext then the tag. */
static void aead_encrypt(chat_noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                         const uint8_t *plaintext, size_t len, uint8_t *out) {
  uint8_t nonce[CHAT_NOISE_NONCE_LEN];
  make_nonce(cs->id, n, nonce);
  if (cs->id == CHAT_NOISE_CIPHER_AESGCM) {
    gcm_aes256_set_iv(&cs->ctx.gcm, GCM_IV_SIZE, nonce);
    if (ad_len > 0)
      gcm_aes256_update(&cs->ctx.gcm, ad_len, ad);
    if (len > 0)
      gcm_aes256_encrypt(&cs->ctx.gcm, len, out, plaintext);
    gcm_aes256_digest(&cs->ctx.gcm, GCM_DIGEST_SIZE, out + len);
  } else {
    chacha_poly1305_set_nonce(&cs->ctx.chacha, nonce);
    if (ad_len > 0)
      chacha_poly1305_update(&cs->ctx.chacha, ad_len, ad);
    if (len > 0)
      chacha_poly1305_encrypt(&cs->ctx.chacha, len, out, plaintext);
    chacha_poly1305_digest(&cs->ctx.chacha, CHACHA_POLY1305_DIGEST_SIZE, out + len);
  }
}

/* DECRYPT(k, n, ad, ciphertext || tag): writes pt_len bytes to out, then
 * checks the tag in constant time; on failure out is wiped. */
static int aead_decrypt(chat_noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                        const uint8_t *ciphertext, size_t pt_len, uint8_t *out) {
  uint8_t nonce[CHAT_NOISE_NONCE_LEN];
  uint8_t tag[CHAT_NOISE_TAG_LEN];
  make_nonce(cs->id, n, nonce);
  if (cs->id == CHAT_NOISE_CIPHER_AESGCM) {
    gcm_aes256_set_iv(&cs->ctx.gcm, GCM_IV_SIZE, nonce);
    if (ad_len > 0)
      gcm_aes256_update(&cs->ctx.gcm, ad_len, ad);
    if (pt_len > 0)
      gcm_aes256_decrypt(&cs->ctx.gcm, pt_len, out, ciphertext);
    gcm_aes256_digest(&cs->ctx.gcm, GCM_DIGEST_SIZE, tag);
  } else {
    chacha_poly1305_set_nonce(&cs->ctx.chacha, nonce);
    if (ad_len > 0)
      chacha_poly1305_update(&cs->ctx.chacha, ad_len, ad);
    if (pt_len > 0)
      chacha_poly1305_decrypt(&cs->ctx.chacha, pt_len, out, ciphertext);
    chacha_poly1305_digest(&cs->ctx.chacha, CHACHA_POLY1305_DIGEST_SIZE, tag);
  }
  /* In place, out == ciphertext: the tag after the body is still intact. */
  int ok = memeql_sec(tag, ciphertext + pt_len, CHAT_NOISE_TAG_LEN);
  explicit_bzero(tag, sizeof tag);
  if (!ok) {
    if (pt_len > 0)
      explicit_bzero(out, pt_len);
    return CHAT_NOISE_ERR_MAC_FAILURE;
  }
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_encrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *plaintext, size_t len, uint8_t *out) {
  if (!cs->has_key) {
    if (len > 0 && out != plaintext)
      memmove(out, plaintext, len);
    return CHAT_NOISE_OK;
  }
  if (cs->n == CHAT_NOISE_NONCE_RESERVED)
    return CHAT_NOISE_ERR_NONCE_EXHAUSTED;
  aead_encrypt(cs, cs->n, ad, ad_len, plaintext, len, out);
  cs->n++;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_decrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *ciphertext, size_t len, uint8_t *out) {
  if (!cs->has_key) {
    if (len > 0 && out != ciphertext)
      memmove(out, ciphertext, len);
    return CHAT_NOISE_OK;
  }
  if (cs->n == CHAT_NOISE_NONCE_RESERVED)
    return CHAT_NOISE_ERR_NONCE_EXHAUSTED;
  if (len < CHAT_NOISE_TAG_LEN)
    return CHAT_NOISE_ERR_MESSAGE_TOO_SHORT;
  int rc = aead_decrypt(cs, cs->n, ad, ad_len, ciphertext, len - CHAT_NOISE_TAG_LEN, out);
  if (rc != CHAT_NOISE_OK)
    return rc; /* n is not incremented on failure (spec section 5.1) */
  cs->n++;
  return CHAT_NOISE_OK;
}

/* ---- public API ---------------------------------------------------------- */

void chat_noise_cipher_free(chat_noise_cipher *cs) {
  if (cs == NULL)
    return;
  explicit_bzero(cs, sizeof *cs);
  free(cs);
}

int chat_noise_cipher_encrypt(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                              const uint8_t *plaintext, size_t len,
                              uint8_t *out, size_t out_cap, size_t *out_len) {
  if (cs == NULL || out == NULL || out_len == NULL || (ad == NULL && ad_len > 0) ||
      (plaintext == NULL && len > 0))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (len > CHAT_NOISE_MAX_PAYLOAD)
    return CHAT_NOISE_ERR_MESSAGE_TOO_LARGE;
  size_t need = len + CHAT_NOISE_TAG_LEN;
  if (out_cap < need)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  if (plaintext != out && chat_noise_overlaps(plaintext, len, out, need))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (!cs->has_key)
    return CHAT_NOISE_ERR_INVALID_STATE;
  int rc = chat_noise_cipher_encrypt_raw(cs, ad, ad_len, plaintext, len, out);
  if (rc != CHAT_NOISE_OK)
    return rc;
  *out_len = need;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_decrypt(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                              const uint8_t *ciphertext, size_t len,
                              uint8_t *out, size_t out_cap, size_t *out_len) {
  if (cs == NULL || ciphertext == NULL || out_len == NULL || (ad == NULL && ad_len > 0))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (len > CHAT_NOISE_MAX_MESSAGE)
    return CHAT_NOISE_ERR_MESSAGE_TOO_LARGE;
  if (len < CHAT_NOISE_TAG_LEN)
    return CHAT_NOISE_ERR_MESSAGE_TOO_SHORT;
  size_t pt_len = len - CHAT_NOISE_TAG_LEN;
  if (out_cap < pt_len)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  if (out == NULL && pt_len > 0)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (out != ciphertext && chat_noise_overlaps(ciphertext, len, out, pt_len))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (!cs->has_key)
    return CHAT_NOISE_ERR_INVALID_STATE;
  int rc = chat_noise_cipher_decrypt_raw(cs, ad, ad_len, ciphertext, len, out);
  if (rc != CHAT_NOISE_OK)
    return rc;
  *out_len = pt_len;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_rekey(chat_noise_cipher *cs) {
  if (cs == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (!cs->has_key)
    return CHAT_NOISE_ERR_INVALID_STATE;
  static const uint8_t zeros[CHAT_NOISE_REKEY_INPUT_LEN];
  uint8_t block[CHAT_NOISE_REKEY_INPUT_LEN + CHAT_NOISE_TAG_LEN];
  aead_encrypt(cs, CHAT_NOISE_NONCE_RESERVED, NULL, 0, zeros, sizeof zeros, block);
  uint64_t n = cs->n;
  chat_noise_cipher_set_key(cs, block); /* the first 32 bytes; the tag is dropped */
  cs->n = n;
  explicit_bzero(block, sizeof block);
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_get_nonce(const chat_noise_cipher *cs, uint64_t *nonce) {
  if (cs == NULL || nonce == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  *nonce = cs->n;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_set_nonce(chat_noise_cipher *cs, uint64_t nonce) {
  if (cs == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  cs->n = nonce;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_get_key(const chat_noise_cipher *cs, uint8_t *out, size_t out_cap) {
  if (cs == NULL || out == NULL || out_cap < CHAT_NOISE_KEY_LEN)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (!cs->has_key)
    return CHAT_NOISE_ERR_INVALID_STATE;
  memcpy(out, cs->k, CHAT_NOISE_KEY_LEN);
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_new_with_key(const char *cipher_name, const uint8_t *key, size_t key_len,
                                   chat_noise_cipher **out) {
  if (out == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (cipher_name == NULL || key == NULL || key_len != CHAT_NOISE_KEY_LEN)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  chat_noise_cipher_id id;
  if (strcmp(cipher_name, "AESGCM") == 0)
    id = CHAT_NOISE_CIPHER_AESGCM;
  else if (strcmp(cipher_name, "ChaChaPoly") == 0)
    id = CHAT_NOISE_CIPHER_CHACHAPOLY;
  else
    return CHAT_NOISE_ERR_UNSUPPORTED_CIPHER;
  chat_noise_cipher *cs = calloc(1, sizeof *cs);
  if (cs == NULL)
    return CHAT_NOISE_ERR_NOMEM;
  chat_noise_cipher_init(cs, id);
  chat_noise_cipher_set_key(cs, key);
  *out = cs;
  return CHAT_NOISE_OK;
}
