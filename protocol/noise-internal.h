/* Private parts of the Noise core, shared by the noise-*.c files only. */
#ifndef CHAT_PROTOCOL_NOISE_INTERNAL_H
#define CHAT_PROTOCOL_NOISE_INTERNAL_H

#include "protocol/noise.h"

#include <nettle/chacha-poly1305.h>
#include <nettle/gcm.h>

/* ---- algorithms ---------------------------------------------------------- */

typedef enum {
  CHAT_NOISE_CIPHER_AESGCM = 1,
  CHAT_NOISE_CIPHER_CHACHAPOLY = 2,
} chat_noise_cipher_id;

typedef enum {
  CHAT_NOISE_HASH_SHA256 = 1,
  CHAT_NOISE_HASH_SHA512 = 2,
} chat_noise_hash_id;

/* AEAD nonce: 4 zero bytes then the 8-byte counter. */
#define CHAT_NOISE_NONCE_LEN 12u
#define CHAT_NOISE_NONCE_PREFIX_LEN 4u
#define CHAT_NOISE_COUNTER_LEN 8u
#define CHAT_NOISE_BITS_PER_BYTE 8u

/* ---- CipherState --------------------------------------------------------- */

/* Only k and n: the expanded Nettle context (the AES-256 key schedule and
 * the 4 KiB GCM key table, about 4.4 KB) is not kept per cipher but made on
 * demand in a per-thread cache (noise-cipher.c), so an idle connection's two
 * transport ciphers cost about 2 x 64 bytes instead of 2 x 4.4 KB. */
struct chat_noise_cipher {
  chat_noise_cipher_id id;
  bool has_key;
  uint64_t n;
  uint8_t k[CHAT_NOISE_KEY_LEN];
};

/* Empty state (no key, n = 0) for a cipher algorithm. */
void chat_noise_cipher_init(chat_noise_cipher *cs, chat_noise_cipher_id id);
/* InitializeKey(k): sets the key and n = 0. Also wipes this thread's cached
 * context of the cipher's algorithm (see noise-cipher.c). */
void chat_noise_cipher_set_key(chat_noise_cipher *cs, const uint8_t key[CHAT_NOISE_KEY_LEN]);
/* Wipes the key and the nonce, and this thread's cached context when it was
 * expanded from this key. */
void chat_noise_cipher_wipe(chat_noise_cipher *cs);

/* TESTS ONLY: this thread's count of AES-GCM encryptions and decryptions
 * that found their key already expanded in the cache (hits) and that had to
 * expand it (misses), since the thread started. */
void chat_noise_cipher_test_cache_counts(uint64_t *hits, uint64_t *misses);

/* EncryptWithAd without the public argument checks: with a key, writes
 * len + TAG bytes to out; without, copies the plaintext. out may equal
 * plaintext. Errors: CHAT_NOISE_ERR_NONCE_EXHAUSTED. */
int chat_noise_cipher_encrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *plaintext, size_t len, uint8_t *out);
/* DecryptWithAd without the public argument checks: with a key, len must be
 * >= TAG and len - TAG bytes are written (wiped on failure); without, copies.
 * out may equal ciphertext. Errors: CHAT_NOISE_ERR_NONCE_EXHAUSTED,
 * CHAT_NOISE_ERR_MAC_FAILURE. */
int chat_noise_cipher_decrypt_raw(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                                  const uint8_t *ciphertext, size_t len, uint8_t *out);

/* Whether [a, a+alen) and [b, b+blen) share a byte. */
bool chat_noise_overlaps(const void *a, size_t alen, const void *b, size_t blen);

/* ---- SymmetricState ------------------------------------------------------ */

typedef struct {
  chat_noise_hash_id hash;
  size_t hash_len;
  chat_noise_cipher cs;
  uint8_t ck[CHAT_NOISE_MAX_HASH_LEN];
  uint8_t h[CHAT_NOISE_MAX_HASH_LEN];
} chat_noise_symmetric;

/* HASHLEN of a hash algorithm. */
size_t chat_noise_hash_len(chat_noise_hash_id hash);

/* InitializeSymmetric(protocol_name). name_len <= CHAT_NOISE_MAX_PROTOCOL_NAME. */
void chat_noise_symmetric_init(chat_noise_symmetric *ss, chat_noise_hash_id hash,
                               chat_noise_cipher_id cipher, const char *name, size_t name_len);
void chat_noise_symmetric_mix_key(chat_noise_symmetric *ss, const uint8_t *ikm, size_t len);
void chat_noise_symmetric_mix_hash(chat_noise_symmetric *ss, const uint8_t *data, size_t len);
/* EncryptAndHash: out must hold len (+ TAG when a key is set). Errors as
 * chat_noise_cipher_encrypt_raw. */
int chat_noise_symmetric_encrypt_and_hash(chat_noise_symmetric *ss, const uint8_t *plaintext,
                                          size_t len, uint8_t *out);
/* DecryptAndHash: out must hold len (- TAG when a key is set); out must not
 * overlap ciphertext. Errors as chat_noise_cipher_decrypt_raw. */
int chat_noise_symmetric_decrypt_and_hash(chat_noise_symmetric *ss, const uint8_t *ciphertext,
                                          size_t len, uint8_t *out);
/* Split(): c1 and c2 get keys from HKDF(ck, empty). */
void chat_noise_symmetric_split(chat_noise_symmetric *ss, chat_noise_cipher *c1,
                                chat_noise_cipher *c2);
/* Wipes ck, h and the cipher state. */
void chat_noise_symmetric_wipe(chat_noise_symmetric *ss);

/* ---- Handshake patterns -------------------------------------------------- */

typedef enum {
  CHAT_NOISE_TOKEN_END = 0, /* terminates a token list */
  CHAT_NOISE_TOKEN_E,
  CHAT_NOISE_TOKEN_S,
  CHAT_NOISE_TOKEN_EE,
  CHAT_NOISE_TOKEN_ES,
  CHAT_NOISE_TOKEN_SE,
  CHAT_NOISE_TOKEN_SS,
} chat_noise_token;

/* Pre-message contents (no pattern here pre-sends an ephemeral). */
typedef enum {
  CHAT_NOISE_PRE_NONE = 0,
  CHAT_NOISE_PRE_S = 1,
} chat_noise_premessage;

/* Most messages in a supported pattern, and most tokens in one message. */
#define CHAT_NOISE_MAX_PATTERN_MESSAGES 4u
#define CHAT_NOISE_MAX_MESSAGE_TOKENS 6u

typedef struct {
  const char *name;
  chat_noise_premessage pre_initiator; /* "-> s" before "..." */
  chat_noise_premessage pre_responder; /* "<- s" before "..." */
  bool one_way;
  /* Message i is sent by the initiator when i is even. Each list ends with
   * CHAT_NOISE_TOKEN_END; unused messages are empty (first token END). */
  chat_noise_token messages[CHAT_NOISE_MAX_PATTERN_MESSAGES][CHAT_NOISE_MAX_MESSAGE_TOKENS];
} chat_noise_pattern;

/* The pattern called name (name_len bytes, not NUL-terminated), or NULL. */
const chat_noise_pattern *chat_noise_pattern_lookup(const char *name, size_t name_len);
/* Number of messages of a pattern. */
size_t chat_noise_pattern_message_count(const chat_noise_pattern *p);

#endif
