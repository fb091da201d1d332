/* A sans-IO core of the Noise Protocol Framework (revision 34).
 *
 * The objects map one-to-one onto the objects of the Noise specification, the
 * way noise-c does it:
 *
 *   chat_noise_cipher     - a CipherState (k, n): the transport ciphers that a
 *                           finished handshake hands out;
 *   (SymmetricState)      - internal, owned by the handshake;
 *   chat_noise_handshake  - a HandshakeState driving one handshake pattern.
 *
 * Nothing here does I/O: the caller moves the bytes. Supported:
 *   DH      25519
 *   cipher  AESGCM, ChaChaPoly
 *   hash    SHA256, SHA512
 *   pattern the one-way patterns N, K, X, the twelve fundamental interactive
 *           patterns (NN, NK, NX, XN, XK, XX, KN, KK, KX, IN, IK, IX) and the
 *           deferred patterns of spec section 18 (NK1, NX1, X1N, ... I1X1).
 *           No PSK modifiers, no fallback.
 *
 * Conventions (after nghttp2 and noise-c): objects are opaque; every function
 * that can fail returns 0 on success or a negative chat_noise_status code.
 * Every secret is wiped when its object is freed. Buffers are always passed
 * with their capacity; a too-small output buffer is CHAT_NOISE_ERR_SHORT_BUFFER
 * and never an overflow. Unless a function says otherwise, its input and
 * output buffers must not overlap (CHAT_NOISE_ERR_INVALID_ARGUMENT if they do).
 *
 * Typical use (initiator of Noise_XX_25519_ChaChaPoly_SHA256):
 *
 *   chat_noise_handshake *hs;
 *   chat_noise_handshake_new("Noise_XX_25519_ChaChaPoly_SHA256",
 *                            CHAT_NOISE_ROLE_INITIATOR, &hs);
 *   chat_noise_handshake_set_prologue(hs, prologue, prologue_len);
 *   chat_noise_handshake_set_local_static(hs, priv, CHAT_NOISE_DH_LEN);
 *   chat_noise_handshake_start(hs);
 *   while ((action = chat_noise_handshake_action(hs)) is WRITE or READ)
 *     write_message + send / receive + read_message;
 *   chat_noise_handshake_split(hs, &send, &recv);
 *   chat_noise_handshake_free(hs);
 */
#ifndef CHAT_PROTOCOL_NOISE_H
#define CHAT_PROTOCOL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/error.h"

/* Largest Noise message (handshake or transport), in bytes (spec section 3). */
#define CHAT_NOISE_MAX_MESSAGE 65535u
/* Authentication tag appended by every AEAD encryption. */
#define CHAT_NOISE_TAG_LEN 16u
/* Largest transport payload: a message minus its tag. */
#define CHAT_NOISE_MAX_PAYLOAD (CHAT_NOISE_MAX_MESSAGE - CHAT_NOISE_TAG_LEN)
/* Cipher key length (both ciphers). */
#define CHAT_NOISE_KEY_LEN 32u
/* Curve25519 private key, public key and shared secret length (DHLEN). */
#define CHAT_NOISE_DH_LEN 32u
/* Largest HASHLEN of a supported hash (SHA512). */
#define CHAT_NOISE_MAX_HASH_LEN 64u
/* Longest accepted protocol name, in bytes (spec section 8: 255). */
#define CHAT_NOISE_MAX_PROTOCOL_NAME 255u
/* The nonce value 2^64-1 is reserved (used by Rekey); reaching it is an error. */
#define CHAT_NOISE_NONCE_RESERVED UINT64_MAX

/* Error codes: the band CHAT_ERR_BAND_NOISE of the one error space
 * (protocol/error.h; chat_strerror names them). */
typedef enum {
  CHAT_NOISE_OK = 0,
  CHAT_NOISE_ERR_INVALID_ARGUMENT =
      CHAT_ERR_BAND_NOISE, /* NULL pointer, bad role, wrong key length, overlap */
  CHAT_NOISE_ERR_NOMEM = CHAT_ERR_BAND_NOISE - 1, /* out of memory */
  CHAT_NOISE_ERR_UNKNOWN_PROTOCOL =
      CHAT_ERR_BAND_NOISE - 2, /* not a well-formed "Noise_P_D_C_H" name */
  CHAT_NOISE_ERR_UNSUPPORTED_PATTERN =
      CHAT_ERR_BAND_NOISE - 3, /* pattern not in the table (PSK, fallback, ...) */
  CHAT_NOISE_ERR_UNSUPPORTED_DH = CHAT_ERR_BAND_NOISE - 4, /* DH other than 25519 */
  CHAT_NOISE_ERR_UNSUPPORTED_CIPHER =
      CHAT_ERR_BAND_NOISE - 5, /* cipher other than AESGCM / ChaChaPoly */
  CHAT_NOISE_ERR_UNSUPPORTED_HASH =
      CHAT_ERR_BAND_NOISE - 6, /* hash other than SHA256 / SHA512 (e.g. BLAKE2) */
  CHAT_NOISE_ERR_INVALID_STATE =
      CHAT_ERR_BAND_NOISE - 7, /* the call is not valid now (e.g. write when a read is due) */
  CHAT_NOISE_ERR_NOT_APPLICABLE =
      CHAT_ERR_BAND_NOISE - 8, /* the pattern/role does not use this key */
  CHAT_NOISE_ERR_MISSING_KEY =
      CHAT_ERR_BAND_NOISE - 9, /* the pattern needs a key that was not set */
  CHAT_NOISE_ERR_MAC_FAILURE =
      CHAT_ERR_BAND_NOISE - 10, /* authentication failed (tampered, wrong key/order) */
  CHAT_NOISE_ERR_SHORT_BUFFER = CHAT_ERR_BAND_NOISE - 11,      /* the output buffer is too small */
  CHAT_NOISE_ERR_MESSAGE_TOO_LARGE = CHAT_ERR_BAND_NOISE - 12, /* over CHAT_NOISE_MAX_MESSAGE */
  CHAT_NOISE_ERR_MESSAGE_TOO_SHORT =
      CHAT_ERR_BAND_NOISE - 13, /* shorter than the tokens / the tag require */
  CHAT_NOISE_ERR_NONCE_EXHAUSTED = CHAT_ERR_BAND_NOISE - 14, /* the nonce reached 2^64-1 */
  CHAT_NOISE_ERR_RANDOM = CHAT_ERR_BAND_NOISE - 15,          /* getrandom() failed */
  CHAT_NOISE_ERR_FAILED =
      CHAT_ERR_BAND_NOISE - 16, /* the handshake failed earlier and is unusable */
} chat_noise_status;

typedef enum {
  CHAT_NOISE_ROLE_INITIATOR = 1,
  CHAT_NOISE_ROLE_RESPONDER = 2,
} chat_noise_role;

/* What the handshake expects next (chat_noise_handshake_action). */
typedef enum {
  CHAT_NOISE_ACTION_NONE = 0,      /* not started yet */
  CHAT_NOISE_ACTION_WRITE_MESSAGE, /* call chat_noise_handshake_write_message */
  CHAT_NOISE_ACTION_READ_MESSAGE,  /* call chat_noise_handshake_read_message */
  CHAT_NOISE_ACTION_SPLIT,         /* all messages done: call chat_noise_handshake_split */
  CHAT_NOISE_ACTION_COMPLETE,      /* split done; only get_hash / get_remote_static remain */
  CHAT_NOISE_ACTION_FAILED,        /* an error destroyed the state; free it */
} chat_noise_action;

typedef struct chat_noise_cipher chat_noise_cipher;
typedef struct chat_noise_handshake chat_noise_handshake;

/* ---- Keys ---------------------------------------------------------------- */

/* Derives the Curve25519 public key of a 32-byte private key.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, priv_len != CHAT_NOISE_DH_LEN,
 * pub_cap < CHAT_NOISE_DH_LEN). */
int chat_noise_public_key(const uint8_t *priv, size_t priv_len, uint8_t *pub, size_t pub_cap);

/* Generates a fresh Curve25519 key pair from getrandom().
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, a capacity under
 * CHAT_NOISE_DH_LEN), CHAT_NOISE_ERR_RANDOM. */
int chat_noise_generate_keypair(uint8_t *priv, size_t priv_cap, uint8_t *pub, size_t pub_cap);

/* ---- HandshakeState ------------------------------------------------------ */

/* Parses protocol_name ("Noise_XX_25519_AESGCM_SHA256"), creates a handshake
 * for that protocol and role, and runs InitializeSymmetric. *out is set to NULL
 * on failure.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, bad role),
 * CHAT_NOISE_ERR_UNKNOWN_PROTOCOL (malformed or over 255 bytes),
 * CHAT_NOISE_ERR_UNSUPPORTED_PATTERN, CHAT_NOISE_ERR_UNSUPPORTED_DH,
 * CHAT_NOISE_ERR_UNSUPPORTED_CIPHER, CHAT_NOISE_ERR_UNSUPPORTED_HASH,
 * CHAT_NOISE_ERR_NOMEM. */
int chat_noise_handshake_new(const char *protocol_name, chat_noise_role role,
                             chat_noise_handshake **out);

/* Wipes every secret and frees the handshake. NULL is allowed. */
void chat_noise_handshake_free(chat_noise_handshake *hs);

/* Mixes the prologue into the handshake hash. At most once, before start
 * (without a call the prologue is empty). Both sides must use the same bytes.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (hs NULL, data NULL with len > 0),
 * CHAT_NOISE_ERR_INVALID_STATE (already set, or started). */
int chat_noise_handshake_set_prologue(chat_noise_handshake *hs, const void *data, size_t len);

/* Sets the local static private key (the public key is derived). Before start.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, len != CHAT_NOISE_DH_LEN),
 * CHAT_NOISE_ERR_INVALID_STATE (started), CHAT_NOISE_ERR_NOT_APPLICABLE (this
 * role never uses a static key in this pattern). */
int chat_noise_handshake_set_local_static(chat_noise_handshake *hs, const uint8_t *priv,
                                          size_t len);

/* Sets the remote party's static public key, for patterns where it is known in
 * advance (a "<- s" / "-> s" pre-message of the other side). Before start.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, len != CHAT_NOISE_DH_LEN),
 * CHAT_NOISE_ERR_INVALID_STATE (started), CHAT_NOISE_ERR_NOT_APPLICABLE (the
 * pattern transmits that key or never uses it). */
int chat_noise_handshake_set_remote_static(chat_noise_handshake *hs, const uint8_t *pub,
                                           size_t len);

/* TESTS ONLY: fixes the local ephemeral private key instead of drawing it from
 * getrandom(). Before start.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, len != CHAT_NOISE_DH_LEN),
 * CHAT_NOISE_ERR_INVALID_STATE (started), CHAT_NOISE_ERR_NOT_APPLICABLE (this
 * role sends no ephemeral, e.g. the responder of a one-way pattern). */
int chat_noise_handshake_set_fixed_ephemeral(chat_noise_handshake *hs, const uint8_t *priv,
                                             size_t len);

/* Whether the pattern still needs a local static key / a remote static key
 * before start. False for a NULL hs. */
bool chat_noise_handshake_needs_local_static(const chat_noise_handshake *hs);
bool chat_noise_handshake_needs_remote_static(const chat_noise_handshake *hs);

/* Finishes Initialize(): mixes the (empty) prologue if none was set and the
 * pre-message keys; afterwards the action is WRITE_MESSAGE or READ_MESSAGE.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL), CHAT_NOISE_ERR_INVALID_STATE
 * (already started), CHAT_NOISE_ERR_MISSING_KEY (a needed key is not set). */
int chat_noise_handshake_start(chat_noise_handshake *hs);

/* The next thing to do. A NULL hs gives CHAT_NOISE_ACTION_FAILED. */
chat_noise_action chat_noise_handshake_action(const chat_noise_handshake *hs);

/* WriteMessage: writes the next handshake message carrying payload into out.
 * The length needed is checked before anything changes, so SHORT_BUFFER and
 * MESSAGE_TOO_LARGE leave the handshake usable; so does RANDOM.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, overlapping buffers),
 * CHAT_NOISE_ERR_INVALID_STATE (not our turn to write), CHAT_NOISE_ERR_FAILED,
 * CHAT_NOISE_ERR_MESSAGE_TOO_LARGE (the message would exceed 65535 bytes),
 * CHAT_NOISE_ERR_SHORT_BUFFER (out_cap too small), CHAT_NOISE_ERR_RANDOM. */
int chat_noise_handshake_write_message(chat_noise_handshake *hs, const uint8_t *payload,
                                       size_t payload_len, uint8_t *out, size_t out_cap,
                                       size_t *out_len);

/* ReadMessage: processes the next handshake message and writes its payload to
 * payload_out. INVALID_ARGUMENT, INVALID_STATE and SHORT_BUFFER change nothing
 * (retry with a bigger buffer); MESSAGE_TOO_LARGE, MESSAGE_TOO_SHORT and
 * MAC_FAILURE are the peer's fault and move the handshake to
 * CHAT_NOISE_ACTION_FAILED. On a MAC failure nothing is left in payload_out
 * (it is wiped).
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, overlapping buffers),
 * CHAT_NOISE_ERR_INVALID_STATE (not our turn to read), CHAT_NOISE_ERR_FAILED,
 * CHAT_NOISE_ERR_MESSAGE_TOO_LARGE, CHAT_NOISE_ERR_MESSAGE_TOO_SHORT,
 * CHAT_NOISE_ERR_SHORT_BUFFER, CHAT_NOISE_ERR_MAC_FAILURE. */
int chat_noise_handshake_read_message(chat_noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                                      uint8_t *payload_out, size_t payload_cap,
                                      size_t *payload_len);

/* Split(): creates the two transport ciphers, oriented for this side
 * (*send_out encrypts what we send, *recv_out decrypts what we receive), and
 * wipes the handshake's chaining key and private keys. For one-way patterns
 * the unused direction is NULL (the initiator only sends, the responder only
 * receives). Free the ciphers with chat_noise_cipher_free.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL), CHAT_NOISE_ERR_INVALID_STATE
 * (action is not SPLIT), CHAT_NOISE_ERR_FAILED, CHAT_NOISE_ERR_NOMEM. */
int chat_noise_handshake_split(chat_noise_handshake *hs, chat_noise_cipher **send_out,
                               chat_noise_cipher **recv_out);

/* The handshake hash h (HASHLEN bytes: 32 for SHA256, 64 for SHA512), for
 * channel binding. Valid once the action is SPLIT or COMPLETE.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL), CHAT_NOISE_ERR_INVALID_STATE
 * (handshake not finished), CHAT_NOISE_ERR_SHORT_BUFFER (out_cap < HASHLEN). */
int chat_noise_handshake_get_hash(const chat_noise_handshake *hs, uint8_t *out, size_t out_cap,
                                  size_t *out_len);

/* The remote party's static public key (CHAT_NOISE_DH_LEN bytes), whether set
 * beforehand or learned during the handshake (e.g. the NX/XX initiator learns
 * the responder's), for key pinning.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL), CHAT_NOISE_ERR_FAILED,
 * CHAT_NOISE_ERR_SHORT_BUFFER (out_cap < CHAT_NOISE_DH_LEN),
 * CHAT_NOISE_ERR_MISSING_KEY (not known yet). */
int chat_noise_handshake_get_remote_static(const chat_noise_handshake *hs, uint8_t *out,
                                           size_t out_cap);

/* True when some DH() of this handshake gave the all-zero output (a low-order
 * remote point). Noise allows it and the core does not reject it; callers that
 * want contributory behaviour can reject the session. False for NULL. */
bool chat_noise_handshake_dh_output_was_zero(const chat_noise_handshake *hs);

/* ---- CipherState (transport) --------------------------------------------- */

/* Wipes the key and frees the cipher. NULL is allowed. */
void chat_noise_cipher_free(chat_noise_cipher *cs);

/* EncryptWithAd: out = ciphertext || tag (len + CHAT_NOISE_TAG_LEN bytes),
 * then n++. out may equal plaintext (in place) but must not otherwise overlap.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, partial overlap),
 * CHAT_NOISE_ERR_MESSAGE_TOO_LARGE (len > CHAT_NOISE_MAX_PAYLOAD),
 * CHAT_NOISE_ERR_SHORT_BUFFER, CHAT_NOISE_ERR_NONCE_EXHAUSTED,
 * CHAT_NOISE_ERR_INVALID_STATE (no key). */
int chat_noise_cipher_encrypt(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                              const uint8_t *plaintext, size_t len, uint8_t *out, size_t out_cap,
                              size_t *out_len);

/* DecryptWithAd: verifies the tag and writes len - CHAT_NOISE_TAG_LEN bytes of
 * plaintext, then n++. On a MAC failure the output is wiped (no unauthenticated
 * plaintext is released) and n is unchanged. out may equal ciphertext (in
 * place) but must not otherwise overlap.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, partial overlap),
 * CHAT_NOISE_ERR_MESSAGE_TOO_LARGE (len > CHAT_NOISE_MAX_MESSAGE),
 * CHAT_NOISE_ERR_MESSAGE_TOO_SHORT (len < CHAT_NOISE_TAG_LEN),
 * CHAT_NOISE_ERR_SHORT_BUFFER, CHAT_NOISE_ERR_NONCE_EXHAUSTED,
 * CHAT_NOISE_ERR_INVALID_STATE (no key), CHAT_NOISE_ERR_MAC_FAILURE. */
int chat_noise_cipher_decrypt(chat_noise_cipher *cs, const uint8_t *ad, size_t ad_len,
                              const uint8_t *ciphertext, size_t len, uint8_t *out, size_t out_cap,
                              size_t *out_len);

/* Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes).
 * The nonce is unchanged. Both sides must rekey at the same point.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL), CHAT_NOISE_ERR_INVALID_STATE
 * (no key). */
int chat_noise_cipher_rekey(chat_noise_cipher *cs);

/* The cipher's current key k (CHAT_NOISE_KEY_LEN bytes): right after Split()
 * the initial key of that direction, after Rekey() the new one. For a key log
 * (protocol/keylog.h) that lets a capture be decrypted; treat it as a secret.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, out_cap < CHAT_NOISE_KEY_LEN),
 * CHAT_NOISE_ERR_INVALID_STATE (no key). */
int chat_noise_cipher_get_key(const chat_noise_cipher *cs, uint8_t *out, size_t out_cap);

/* Creates a transport cipher with key k and n = 0, as Split() would, for a
 * passive decoder that got the key from a key log. cipher_name is the cipher
 * field of a protocol name: "AESGCM" or "ChaChaPoly". Free it with
 * chat_noise_cipher_free. *out is set to NULL on failure.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL, key_len != CHAT_NOISE_KEY_LEN),
 * CHAT_NOISE_ERR_UNSUPPORTED_CIPHER, CHAT_NOISE_ERR_NOMEM. */
int chat_noise_cipher_new_with_key(const char *cipher_name, const uint8_t *key, size_t key_len,
                                   chat_noise_cipher **out);

/* The next nonce n. Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL). */
int chat_noise_cipher_get_nonce(const chat_noise_cipher *cs, uint64_t *nonce);

/* SetNonce(n), for protocols that carry explicit nonces. 2^64-1 is accepted
 * but every later encrypt/decrypt then fails with NONCE_EXHAUSTED.
 * Errors: CHAT_NOISE_ERR_INVALID_ARGUMENT (NULL). */
int chat_noise_cipher_set_nonce(chat_noise_cipher *cs, uint64_t nonce);

#endif
