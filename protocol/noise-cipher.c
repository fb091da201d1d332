/* Noise CipherState (spec section 5.1) over Nettle's AES-256-GCM and
 * ChaCha20-Poly1305.
 *
 * A CipherState keeps only its 32-byte key and its nonce. The keyed Nettle
 * context is made when a record is encrypted or decrypted:
 *
 *  - AES-256-GCM: the expanded key (AES key schedule + GHASH key table,
 *    4400 bytes) is too big to keep per connection, and expanding it costs
 *    more than comparing keys, so each thread keeps the last one it expanded
 *    in a cache together with the key it was made from. A cipher uses the
 *    cached context only when the cached key equals its key byte for byte
 *    (compared in constant time), so a stale context is never used with
 *    another key: not after Rekey(), not after a cipher was freed and another
 *    allocated at the same address, not after another thread changed the
 *    key. A busy connection hits; a server alternating between connections
 *    misses, paying one expansion per record (tests/test-noise.c measures
 *    it: about 0.15 us per miss on x86-64 with AES-NI and PCLMUL;
 *    more where Nettle has no such code). Memory: 4.4 KB per thread instead
 *    of per cipher.
 *  - ChaCha20-Poly1305: "expanding" the key is a 32-byte copy, cheaper than
 *    comparing it with a cached one, so the context is made on the stack for
 *    each record and wiped right after; nothing is cached.
 *
 * Wiping: the cached context is wiped when the cipher whose key it holds is
 * freed or wiped on this thread, when a key is installed on this thread
 * (handshake steps, Split() and Rekey(): so neither a handshake key nor a
 * pre-Rekey key outlives its replacement here), and when the thread exits.
 * A context cached by another thread, or by a handshake abandoned before
 * Split() (its wipe does not come through here), stays until that thread's
 * next AES-GCM operation or key installation, or its exit. */
#include "protocol/noise-internal.h"

#include <pthread.h>
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

/* ---- per-thread cache of the expanded AES-GCM context --------------------- */

typedef struct {
  bool valid;        /* ctx is keyed with key */
  bool wipe_at_exit; /* registered with the thread-exit destructor */
  uint8_t key[CHAT_NOISE_KEY_LEN];
  struct gcm_aes256_ctx ctx;
  uint64_t hits, misses; /* for chat_noise_cipher_test_cache_counts */
} gcm_cache;

static _Thread_local gcm_cache thread_gcm;

static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool exit_key_ok;

/* pthread key destructor: the exiting thread's cache (still mapped here). */
static void wipe_at_thread_exit(void *cache) {
  explicit_bzero(cache, sizeof(gcm_cache));
}

static void make_exit_key(void) {
  exit_key_ok = pthread_key_create(&exit_key, wipe_at_thread_exit) == 0;
}

static void gcm_cache_wipe(gcm_cache *c) {
  if (!c->valid)
    return;
  explicit_bzero(c->key, sizeof c->key);
  explicit_bzero(&c->ctx, sizeof c->ctx);
  c->valid = false;
}

/* Whether this thread's cache holds the expansion of key. */
static bool gcm_cache_holds(const gcm_cache *c, const uint8_t key[CHAT_NOISE_KEY_LEN]) {
  return c->valid && memeql_sec(c->key, key, CHAT_NOISE_KEY_LEN);
}

/* The GCM context keyed with cs->k: this thread's cached one, expanded
 * first unless it already holds that key. */
static struct gcm_aes256_ctx *gcm_context(const chat_noise_cipher *cs) {
  gcm_cache *c = &thread_gcm;
  if (gcm_cache_holds(c, cs->k)) {
    c->hits++;
    return &c->ctx;
  }
  if (!c->wipe_at_exit) {
    pthread_once(&exit_key_once, make_exit_key);
    c->wipe_at_exit = exit_key_ok && pthread_setspecific(exit_key, c) == 0;
  }
  gcm_aes256_set_key(&c->ctx, cs->k);
  memcpy(c->key, cs->k, CHAT_NOISE_KEY_LEN);
  c->valid = true;
  c->misses++;
  return &c->ctx;
}

void chat_noise_cipher_test_cache_counts(uint64_t *hits, uint64_t *misses) {
  *hits = thread_gcm.hits;
  *misses = thread_gcm.misses;
}

/* ---- CipherState --------------------------------------------------------- */

void chat_noise_cipher_init(chat_noise_cipher *cs, chat_noise_cipher_id id) {
  explicit_bzero(cs, sizeof *cs);
  cs->id = id;
}

void chat_noise_cipher_set_key(chat_noise_cipher *cs, const uint8_t key[CHAT_NOISE_KEY_LEN]) {
  if (cs->id == CHAT_NOISE_CIPHER_AESGCM)
    gcm_cache_wipe(&thread_gcm);
  memmove(cs->k, key, CHAT_NOISE_KEY_LEN);
  cs->has_key = true;
  cs->n = 0;
}

void chat_noise_cipher_wipe(chat_noise_cipher *cs) {
  chat_noise_cipher_id id = cs->id;
  if (cs->has_key && id == CHAT_NOISE_CIPHER_AESGCM && gcm_cache_holds(&thread_gcm, cs->k))
    gcm_cache_wipe(&thread_gcm);
  explicit_bzero(cs, sizeof *cs);
  cs->id = id;
}

/* The 96-bit AEAD nonce of counter n: 4 zero bytes, then n big-endian
 * (AESGCM) or little-endian (ChaChaPoly). */
static void make_nonce(chat_noise_cipher_id id, uint64_t n, uint8_t nonce[CHAT_NOISE_NONCE_LEN]) {
  memset(nonce, 0, CHAT_NOISE_NONCE_PREFIX_LEN);
  uint8_t *counter = nonce + CHAT_NOISE_NONCE_PREFIX_LEN;
  for (size_t i = 0; i < CHAT_NOISE_COUNTER_LEN; i++) {
    size_t shift = CHAT_NOISE_BITS_PER_BYTE *
                   (id == CHAT_NOISE_CIPHER_AESGCM ? CHAT_NOISE_COUNTER_LEN - 1 - i : i);
    counter[i] = (uint8_t)(n >> shift);
  }
}

/* The AEAD pass ENCRYPT and DECRYPT share: with nonce n and the associated
 * data, len bytes of in are encrypted (or decrypted) to out and the tag is
 * written to tag. */
static void aead_run(const chat_noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                     bool encrypt, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag) {
  uint8_t nonce[CHAT_NOISE_NONCE_LEN];
  make_nonce(cs->id, n, nonce);
  if (cs->id == CHAT_NOISE_CIPHER_AESGCM) {
    struct gcm_aes256_ctx *gcm = gcm_context(cs);
    gcm_aes256_set_iv(gcm, GCM_IV_SIZE, nonce);
    if (ad_len > 0)
      gcm_aes256_update(gcm, ad_len, ad);
    if (len > 0)
      (encrypt ? gcm_aes256_encrypt : gcm_aes256_decrypt)(gcm, len, out, in);
    gcm_aes256_digest(gcm, GCM_DIGEST_SIZE, tag);
  } else {
    struct chacha_poly1305_ctx chacha;
    chacha_poly1305_set_key(&chacha, cs->k);
    chacha_poly1305_set_nonce(&chacha, nonce);
    if (ad_len > 0)
      chacha_poly1305_update(&chacha, ad_len, ad);
    if (len > 0)
      (encrypt ? chacha_poly1305_encrypt : chacha_poly1305_decrypt)(&chacha, len, out, in);
    chacha_poly1305_digest(&chacha, CHACHA_POLY1305_DIGEST_SIZE, tag);
    explicit_bzero(&chacha, sizeof chacha);
  }
}

/* ENCRYPT(k, n, ad, plaintext): len bytes of ciphertext then the tag. */
static void aead_encrypt(const chat_noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                         const uint8_t *plaintext, size_t len, uint8_t *out) {
  aead_run(cs, n, ad, ad_len, true, plaintext, len, out, out + len);
}

/* DECRYPT(k, n, ad, ciphertext || tag): writes pt_len bytes to out, then
 * checks the tag in constant time; on failure out is wiped. */
static int aead_decrypt(const chat_noise_cipher *cs, uint64_t n, const uint8_t *ad, size_t ad_len,
                        const uint8_t *ciphertext, size_t pt_len, uint8_t *out) {
  uint8_t tag[CHAT_NOISE_TAG_LEN];
  aead_run(cs, n, ad, ad_len, false, ciphertext, pt_len, out, tag);
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

/* EncryptWithAd / DecryptWithAd (spec section 5.1): without a key the input
 * is copied through; with one, nonce n is used and then incremented (not
 * when decryption fails). */
static int crypt_with_ad(chat_noise_cipher *cs, bool encrypt, const uint8_t *ad, size_t ad_len,
                         const uint8_t *in, size_t len, uint8_t *out) {
  if (!cs->has_key) {
    if (len > 0 && out != in)
      memmove(out, in, len);
    return CHAT_NOISE_OK;
  }
  if (cs->n == CHAT_NOISE_NONCE_RESERVED)
    return CHAT_NOISE_ERR_NONCE_EXHAUSTED;
  if (encrypt) {
    aead_encrypt(cs, cs->n, ad, ad_len, in, len, out);
  } else {
    if (len < CHAT_NOISE_TAG_LEN)
      return CHAT_NOISE_ERR_MESSAGE_TOO_SHORT;
    int rc = aead_decrypt(cs, cs->n, ad, ad_len, in, len - CHAT_NOISE_TAG_LEN, out);
    if (rc != CHAT_NOISE_OK)
      return rc;
  }
  cs->n++;
  return CHAT_NOISE_OK;
}

int chat_noise_cipher_encrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *plaintext, size_t len, uint8_t *out) {
  return crypt_with_ad(cs, true, ad, ad_len, plaintext, len, out);
}

int chat_noise_cipher_decrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *ciphertext, size_t len, uint8_t *out) {
  return crypt_with_ad(cs, false, ad, ad_len, ciphertext, len, out);
}

/* ---- public API ---------------------------------------------------------- */

void chat_noise_cipher_free(chat_noise_cipher *cs) {
  if (cs == NULL)
    return;
  chat_noise_cipher_wipe(cs);
  explicit_bzero(cs, sizeof *cs);
  free(cs);
}

int chat_noise_cipher_encrypt(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                              const uint8_t *plaintext, size_t len, uint8_t *out, size_t out_cap,
                              size_t *out_len) {
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
                              const uint8_t *ciphertext, size_t len, uint8_t *out, size_t out_cap,
                              size_t *out_len) {
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
