/* Finite-field Diffie-Hellman over a configured group (g, p), as the seed
 * dialect uses it (spec/protocol.md, section 7 "Secure channel: seed dialect").
 *
 * The group comes from config as two decimal digit strings (the seed writes
 * them as bare JSON numbers of ~240 digits, which must be read exactly; the
 * config loader hands over the digits). chat_dh_group_init parses and
 * validates them; the other functions are the DH primitives the seed channel
 * (protocol/seed-channel.h) is built from.
 *
 * Numbers on the wire are minimal big-endian unsigned byte strings (zero is
 * the single byte 0x00). Exponentiations with a secret exponent use GMP's
 * mpz_powm_sec (constant time for a given operand size). Private values are
 * wiped (explicit_bzero) when cleared; GMP's internal scratch space is not
 * under our control and is not wiped.
 *
 * Error codes of this file are negative and lie in the band
 * CHAT_ERR_BAND_DH of the one error space (protocol/error.h); chat_strerror
 * and chat_error_name name them. */
#ifndef CHAT_PROTOCOL_DH_GROUP_H
#define CHAT_PROTOCOL_DH_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>

#include "protocol/error.h"

/* A modulus must be at least 2^64 (anything smaller is a typo, not a group). */
#define CHAT_DH_MODULUS_MIN_BITS 65
/* The seed reads a public value with one read of up to 1024 bytes, so a
 * modulus longer than that cannot interoperate. */
#define CHAT_DH_MODULUS_MAX_BYTES 1024
#define CHAT_DH_MODULUS_MAX_BITS (CHAT_DH_MODULUS_MAX_BYTES * 8)
/* Longest decimal string accepted for g or p (a 1024-byte number has at most
 * 2467 digits; leading zeros are allowed up to this length). */
#define CHAT_DH_DECIMAL_MAX_DIGITS 2560
/* Size of the derived key: SHA-256. */
#define CHAT_DH_KEY_BYTES 32
/* How many fresh random exponents chat_dh_keypair_generate tries before it
 * gives up (a try fails only if g^x lands outside 2..p-2). */
#define CHAT_DH_KEYGEN_ATTEMPTS 8

typedef enum {
  CHAT_DH_ERR_INVALID_ARGUMENT = CHAT_ERR_BAND_DH,      /* a NULL pointer */
  CHAT_DH_ERR_EMPTY = CHAT_ERR_BAND_DH - 1,             /* base or modulus: empty string */
  CHAT_DH_ERR_NOT_DECIMAL = CHAT_ERR_BAND_DH - 2,       /* base or modulus: a non-digit character */
  CHAT_DH_ERR_TOO_MANY_DIGITS = CHAT_ERR_BAND_DH - 3,   /* over CHAT_DH_DECIMAL_MAX_DIGITS digits */
  CHAT_DH_ERR_MODULUS_TOO_SMALL = CHAT_ERR_BAND_DH - 4, /* p < 2^64 */
  CHAT_DH_ERR_MODULUS_TOO_LARGE =
      CHAT_ERR_BAND_DH - 5,                           /* p longer than CHAT_DH_MODULUS_MAX_BYTES */
  CHAT_DH_ERR_MODULUS_EVEN = CHAT_ERR_BAND_DH - 6,    /* p even */
  CHAT_DH_ERR_BASE_RANGE = CHAT_ERR_BAND_DH - 7,      /* g outside 2..p-2 */
  CHAT_DH_ERR_PUBLIC_EMPTY = CHAT_ERR_BAND_DH - 8,    /* peer value: zero bytes */
  CHAT_DH_ERR_PUBLIC_TOO_LONG = CHAT_ERR_BAND_DH - 9, /* peer value: more bytes than the modulus */
  CHAT_DH_ERR_PUBLIC_RANGE = CHAT_ERR_BAND_DH - 10,   /* peer value (or own g^x) outside 2..p-2 */
  CHAT_DH_ERR_PRIVATE_RANGE = CHAT_ERR_BAND_DH - 11,  /* injected private exponent outside 2..p-2 */
  CHAT_DH_ERR_RANDOM = CHAT_ERR_BAND_DH - 12,         /* getrandom() failed */
} chat_dh_status;

typedef struct {
  mpz_t base;    /* g, 2 <= g <= p-2 */
  mpz_t modulus; /* p, odd, 2^64 <= p < 2^(8*CHAT_DH_MODULUS_MAX_BYTES) */
  size_t modulus_bits;
  size_t modulus_bytes; /* bytes of p's minimal encoding */
} chat_dh_group;

/* Parses g and p from decimal digit strings (NUL-terminated; digits only: no
 * sign, space or exponent) and validates them. On success returns 0 and the
 * caller owns *group (free with chat_dh_group_clear). On failure *group is
 * left cleared (chat_dh_group_clear is then harmless) and *err (if not NULL)
 * gets the code, the offset of the offending character where there is one,
 * and a reason naming "base" or "modulus".
 * Errors: CHAT_DH_ERR_INVALID_ARGUMENT, CHAT_DH_ERR_EMPTY,
 * CHAT_DH_ERR_NOT_DECIMAL, CHAT_DH_ERR_TOO_MANY_DIGITS,
 * CHAT_DH_ERR_MODULUS_TOO_SMALL, CHAT_DH_ERR_MODULUS_TOO_LARGE,
 * CHAT_DH_ERR_MODULUS_EVEN, CHAT_DH_ERR_BASE_RANGE.
 * The modulus is not tested for primality: the seed's config may hold any
 * odd number, and refusing it would only break interoperation. */
int chat_dh_group_init(chat_dh_group *group, const char *base_decimal, const char *modulus_decimal,
                       chat_error *err);

/* Frees the numbers; safe on a zeroed or already cleared group (one that was
 * never initialised must be zeroed, e.g. `chat_dh_group g = {0};`). */
void chat_dh_group_clear(chat_dh_group *group);

/* Copies an initialised src into dst (dst uninitialised; free it with
 * chat_dh_group_clear). Errors: CHAT_DH_ERR_INVALID_ARGUMENT (a NULL
 * pointer, or src not initialised). */
int chat_dh_group_copy(chat_dh_group *dst, const chat_dh_group *src);

/* Byte length of the modulus: the longest public value a peer may send. */
size_t chat_dh_group_modulus_bytes(const chat_dh_group *group);

/* --- DH primitives (used by the seed channel; public for tests) --------- */

/* A fresh key pair: x = modulus_bits random bits reduced into [2, p-2],
 * pub = g^x mod p; retried (up to CHAT_DH_KEYGEN_ATTEMPTS) while pub is not
 * in 2..p-2. x and pub must be initialised; on failure x is wiped.
 * Errors: CHAT_DH_ERR_RANDOM, CHAT_DH_ERR_PUBLIC_RANGE (every try failed:
 * only with a degenerate group). */
int chat_dh_keypair_generate(const chat_dh_group *group, mpz_t x, mpz_t pub);

/* Imports a private exponent given as big-endian bytes (tests and vectors)
 * and computes pub = g^x mod p. On failure x is wiped.
 * Errors: CHAT_DH_ERR_PRIVATE_RANGE (empty, longer than the modulus, or
 * outside 2..p-2), CHAT_DH_ERR_PUBLIC_RANGE (g^x outside 2..p-2). */
int chat_dh_keypair_import(const chat_dh_group *group, const uint8_t *bytes, size_t len, mpz_t x,
                           mpz_t pub);

/* Parses a peer's public value: big-endian bytes, leading zero bytes
 * allowed, at most modulus_bytes long, value in 2..p-2.
 * Errors: CHAT_DH_ERR_PUBLIC_EMPTY, CHAT_DH_ERR_PUBLIC_TOO_LONG,
 * CHAT_DH_ERR_PUBLIC_RANGE. */
int chat_dh_import_public(const chat_dh_group *group, const uint8_t *bytes, size_t len, mpz_t out);

/* out = g^x mod p (constant time in x). */
void chat_dh_public_value(const chat_dh_group *group, const mpz_t x, mpz_t out);

/* key = SHA-256(minimal big-endian bytes of peer^x mod p). The shared
 * secret is wiped before returning. */
void chat_dh_derive_key(const chat_dh_group *group, const mpz_t x, const mpz_t peer,
                        uint8_t key[CHAT_DH_KEY_BYTES]);

/* Writes the minimal big-endian encoding of v >= 0 (zero: one 0x00 byte)
 * to out, which has room for cap bytes. Returns the length written, or 0 if
 * it does not fit (nothing written then). */
size_t chat_dh_encode_minimal(const mpz_t v, uint8_t *out, size_t cap);

/* Overwrites the limbs of v with zeros, then sets v = 0 (v stays
 * initialised). */
void chat_dh_wipe(mpz_t v);

#endif
