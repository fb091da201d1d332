/* Noise SymmetricState (spec section 5.2) with HASH, HMAC-HASH and HKDF of
 * spec section 4.3, over Nettle's SHA-256 and SHA-512. */
#include "protocol/noise-internal.h"

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/sha2.h>

/* HKDF's info bytes: output i is HMAC(temp_key, output(i-1) || i). */
#define CHAT_NOISE_HKDF_FIRST 0x01u
#define CHAT_NOISE_HKDF_SECOND 0x02u

_Static_assert(SHA512_DIGEST_SIZE == CHAT_NOISE_MAX_HASH_LEN, "SHA512 is the longest hash");
_Static_assert(SHA256_DIGEST_SIZE >= CHAT_NOISE_KEY_LEN, "HASHLEN >= cipher key length");

size_t chat_noise_hash_len(chat_noise_hash_id hash) {
  return hash == CHAT_NOISE_HASH_SHA512 ? SHA512_DIGEST_SIZE : SHA256_DIGEST_SIZE;
}

/* HASH(a || b). */
static void hash2(chat_noise_hash_id hash, const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen, uint8_t *out) {
  if (hash == CHAT_NOISE_HASH_SHA512) {
    struct sha512_ctx ctx;
    sha512_init(&ctx);
    if (alen > 0)
      sha512_update(&ctx, alen, a);
    if (blen > 0)
      sha512_update(&ctx, blen, b);
    sha512_digest(&ctx, SHA512_DIGEST_SIZE, out);
    explicit_bzero(&ctx, sizeof ctx);
  } else {
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    if (alen > 0)
      sha256_update(&ctx, alen, a);
    if (blen > 0)
      sha256_update(&ctx, blen, b);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
    explicit_bzero(&ctx, sizeof ctx);
  }
}

/* HMAC-HASH(key, a || b); the key is HASHLEN bytes. out may alias key. */
static void hmac2(chat_noise_hash_id hash, const uint8_t *key, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen, uint8_t *out) {
  if (hash == CHAT_NOISE_HASH_SHA512) {
    struct hmac_sha512_ctx ctx;
    hmac_sha512_set_key(&ctx, SHA512_DIGEST_SIZE, key);
    if (alen > 0)
      hmac_sha512_update(&ctx, alen, a);
    if (blen > 0)
      hmac_sha512_update(&ctx, blen, b);
    hmac_sha512_digest(&ctx, SHA512_DIGEST_SIZE, out);
    explicit_bzero(&ctx, sizeof ctx);
  } else {
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, SHA256_DIGEST_SIZE, key);
    if (alen > 0)
      hmac_sha256_update(&ctx, alen, a);
    if (blen > 0)
      hmac_sha256_update(&ctx, blen, b);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
    explicit_bzero(&ctx, sizeof ctx);
  }
}

/* HKDF(chaining_key, input_key_material, 2): both outputs are HASHLEN bytes.
 * out1 may alias chaining_key. */
static void hkdf2(chat_noise_hash_id hash, const uint8_t *chaining_key, const uint8_t *ikm,
                  size_t ikm_len, uint8_t *out1, uint8_t *out2) {
  static const uint8_t first = CHAT_NOISE_HKDF_FIRST;
  static const uint8_t second = CHAT_NOISE_HKDF_SECOND;
  size_t hlen = chat_noise_hash_len(hash);
  uint8_t temp_key[CHAT_NOISE_MAX_HASH_LEN];
  uint8_t o1[CHAT_NOISE_MAX_HASH_LEN];
  uint8_t o2[CHAT_NOISE_MAX_HASH_LEN];
  hmac2(hash, chaining_key, ikm, ikm_len, NULL, 0, temp_key);
  hmac2(hash, temp_key, &first, sizeof first, NULL, 0, o1);
  hmac2(hash, temp_key, o1, hlen, &second, sizeof second, o2);
  memcpy(out1, o1, hlen);
  memcpy(out2, o2, hlen);
  explicit_bzero(temp_key, sizeof temp_key);
  explicit_bzero(o1, sizeof o1);
  explicit_bzero(o2, sizeof o2);
}

void chat_noise_symmetric_init(chat_noise_symmetric *ss, chat_noise_hash_id hash,
                               chat_noise_cipher_id cipher, const char *name, size_t name_len) {
  explicit_bzero(ss, sizeof *ss);
  ss->hash = hash;
  ss->hash_len = chat_noise_hash_len(hash);
  if (name_len <= ss->hash_len)
    memcpy(ss->h, name, name_len); /* zero-padded to HASHLEN */
  else
    hash2(hash, (const uint8_t *)name, name_len, NULL, 0, ss->h);
  memcpy(ss->ck, ss->h, ss->hash_len);
  chat_noise_cipher_init(&ss->cs, cipher);
}

void chat_noise_symmetric_mix_key(chat_noise_symmetric *ss, const uint8_t *ikm, size_t len) {
  uint8_t temp_k[CHAT_NOISE_MAX_HASH_LEN];
  hkdf2(ss->hash, ss->ck, ikm, len, ss->ck, temp_k);
  chat_noise_cipher_set_key(&ss->cs, temp_k); /* truncated to 32 bytes */
  explicit_bzero(temp_k, sizeof temp_k);
}

void chat_noise_symmetric_mix_hash(chat_noise_symmetric *ss, const uint8_t *data, size_t len) {
  uint8_t h[CHAT_NOISE_MAX_HASH_LEN];
  hash2(ss->hash, ss->h, ss->hash_len, data, len, h);
  memcpy(ss->h, h, ss->hash_len);
}

int chat_noise_symmetric_encrypt_and_hash(chat_noise_symmetric *ss, const uint8_t *plaintext,
                                          size_t len, uint8_t *out) {
  size_t out_len = len + (ss->cs.has_key ? CHAT_NOISE_TAG_LEN : 0);
  int rc = chat_noise_cipher_encrypt_raw(&ss->cs, ss->h, ss->hash_len, plaintext, len, out);
  if (rc != CHAT_NOISE_OK)
    return rc;
  chat_noise_symmetric_mix_hash(ss, out, out_len);
  return CHAT_NOISE_OK;
}

int chat_noise_symmetric_decrypt_and_hash(chat_noise_symmetric *ss, const uint8_t *ciphertext,
                                          size_t len, uint8_t *out) {
  int rc = chat_noise_cipher_decrypt_raw(&ss->cs, ss->h, ss->hash_len, ciphertext, len, out);
  if (rc != CHAT_NOISE_OK)
    return rc;
  chat_noise_symmetric_mix_hash(ss, ciphertext, len);
  return CHAT_NOISE_OK;
}

void chat_noise_symmetric_split(chat_noise_symmetric *ss, chat_noise_cipher *c1,
                                chat_noise_cipher *c2) {
  uint8_t k1[CHAT_NOISE_MAX_HASH_LEN];
  uint8_t k2[CHAT_NOISE_MAX_HASH_LEN];
  hkdf2(ss->hash, ss->ck, NULL, 0, k1, k2);
  chat_noise_cipher_init(c1, ss->cs.id);
  chat_noise_cipher_init(c2, ss->cs.id);
  chat_noise_cipher_set_key(c1, k1); /* truncated to 32 bytes */
  chat_noise_cipher_set_key(c2, k2);
  explicit_bzero(k1, sizeof k1);
  explicit_bzero(k2, sizeof k2);
}

void chat_noise_symmetric_wipe(chat_noise_symmetric *ss) {
  chat_noise_hash_id hash = ss->hash;
  size_t hash_len = ss->hash_len;
  chat_noise_cipher_id cipher = ss->cs.id;
  /* Through the cipher, so an expanded key it left in the thread's cache
   * goes too. */
  chat_noise_cipher_wipe(&ss->cs);
  explicit_bzero(ss, sizeof *ss);
  ss->hash = hash;
  ss->hash_len = hash_len;
  ss->cs.id = cipher;
}
