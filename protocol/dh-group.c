/* Finite-field Diffie-Hellman for the seed dialect: group parsing and the
 * primitives. See protocol/dh-group.h. */
#include "protocol/dh-group.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include "protocol/random.h"

/* Sets *err without depending on error.c (this unit builds on its own). */
static int dh_fail(chat_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int dh_fail(chat_error *err, int code, size_t offset, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->code = (chat_status)code;
    err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Parses a string of decimal digits into out. what names the field in the
 * reason text. */
static int parse_decimal(mpz_t out, const char *text, const char *what, chat_error *err) {
  size_t len = strnlen(text, CHAT_DH_DECIMAL_MAX_DIGITS + 1);
  if (len == 0)
    return dh_fail(err, CHAT_DH_ERR_EMPTY, 0, "%s: empty, expected decimal digits", what);
  if (len > CHAT_DH_DECIMAL_MAX_DIGITS)
    return dh_fail(err, CHAT_DH_ERR_TOO_MANY_DIGITS, CHAT_DH_DECIMAL_MAX_DIGITS,
                   "%s: more than %d decimal digits", what, CHAT_DH_DECIMAL_MAX_DIGITS);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < '0' || c > '9') {
      if (c >= 0x20 && c < 0x7f)
        return dh_fail(err, CHAT_DH_ERR_NOT_DECIMAL, i,
                       "%s: character '%c' at offset %zu is not a decimal digit", what, c, i);
      return dh_fail(err, CHAT_DH_ERR_NOT_DECIMAL, i,
                     "%s: byte 0x%02x at offset %zu is not a decimal digit", what, c, i);
    }
  }
  /* Only digits, so mpz_set_str cannot fail. */
  if (mpz_set_str(out, text, 10) != 0)
    return dh_fail(err, CHAT_DH_ERR_NOT_DECIMAL, 0, "%s: not a decimal number", what);
  return 0;
}

int chat_dh_group_init(chat_dh_group *group, const char *base_decimal, const char *modulus_decimal,
                       chat_error *err) {
  if (group == NULL)
    return dh_fail(err, CHAT_DH_ERR_INVALID_ARGUMENT, 0, "no group given");
  mpz_init(group->base);
  mpz_init(group->modulus);
  group->modulus_bits = 0;
  group->modulus_bytes = 0;

  int rc;
  if (base_decimal == NULL || modulus_decimal == NULL) {
    rc = dh_fail(err, CHAT_DH_ERR_INVALID_ARGUMENT, 0, "%s missing",
                 base_decimal == NULL ? "base" : "modulus");
    goto fail;
  }
  rc = parse_decimal(group->modulus, modulus_decimal, "modulus", err);
  if (rc != 0)
    goto fail;
  rc = parse_decimal(group->base, base_decimal, "base", err);
  if (rc != 0)
    goto fail;

  size_t bits = mpz_sizeinbase(group->modulus, 2);
  if (mpz_sgn(group->modulus) == 0 || bits < CHAT_DH_MODULUS_MIN_BITS) {
    rc = dh_fail(err, CHAT_DH_ERR_MODULUS_TOO_SMALL, 0,
                 "modulus: must be at least 2^%d, got a %zu-bit number",
                 CHAT_DH_MODULUS_MIN_BITS - 1, mpz_sgn(group->modulus) == 0 ? 0 : bits);
    goto fail;
  }
  if (bits > CHAT_DH_MODULUS_MAX_BITS) {
    rc = dh_fail(err, CHAT_DH_ERR_MODULUS_TOO_LARGE, 0,
                 "modulus: %zu bits, more than the %d bytes a seed peer reads", bits,
                 CHAT_DH_MODULUS_MAX_BYTES);
    goto fail;
  }
  if (mpz_even_p(group->modulus)) {
    rc = dh_fail(err, CHAT_DH_ERR_MODULUS_EVEN, 0, "modulus: even, cannot be a prime");
    goto fail;
  }
  mpz_t limit;
  mpz_init(limit);
  mpz_sub_ui(limit, group->modulus, 2);
  bool base_ok = mpz_cmp_ui(group->base, 2) >= 0 && mpz_cmp(group->base, limit) <= 0;
  mpz_clear(limit);
  if (!base_ok) {
    rc = dh_fail(err, CHAT_DH_ERR_BASE_RANGE, 0, "base: must be in 2..modulus-2");
    goto fail;
  }
  group->modulus_bits = bits;
  group->modulus_bytes = (bits + 7) / 8;
  return 0;

fail:
  mpz_clear(group->base);
  mpz_clear(group->modulus);
  memset(group, 0, sizeof *group);
  return rc;
}

/* modulus_bytes != 0 exactly when the numbers are initialised. */
void chat_dh_group_clear(chat_dh_group *group) {
  if (group == NULL)
    return;
  if (group->modulus_bytes != 0) {
    mpz_clear(group->base);
    mpz_clear(group->modulus);
  }
  memset(group, 0, sizeof *group);
}

int chat_dh_group_copy(chat_dh_group *dst, const chat_dh_group *src) {
  if (dst == NULL || src == NULL || src->modulus_bytes == 0)
    return CHAT_DH_ERR_INVALID_ARGUMENT;
  mpz_init_set(dst->base, src->base);
  mpz_init_set(dst->modulus, src->modulus);
  dst->modulus_bits = src->modulus_bits;
  dst->modulus_bytes = src->modulus_bytes;
  return 0;
}

size_t chat_dh_group_modulus_bytes(const chat_dh_group *group) {
  return group == NULL ? 0 : group->modulus_bytes;
}

void chat_dh_wipe(mpz_t v) {
  size_t n = mpz_size(v);
  if (n > 0)
    explicit_bzero(mpz_limbs_modify(v, (mp_size_t)n), n * sizeof(mp_limb_t));
  mpz_set_ui(v, 0);
}

/* True when 2 <= v <= p-2. */
static bool in_exchange_range(const chat_dh_group *group, const mpz_t v) {
  if (mpz_cmp_ui(v, 2) < 0)
    return false;
  mpz_t limit;
  mpz_init(limit);
  mpz_sub_ui(limit, group->modulus, 2);
  bool ok = mpz_cmp(v, limit) <= 0;
  mpz_clear(limit);
  return ok;
}

int chat_dh_keypair_generate(const chat_dh_group *group, mpz_t x, mpz_t pub) {
  uint8_t random[CHAT_DH_MODULUS_MAX_BYTES];
  size_t nbytes = group->modulus_bytes;
  unsigned excess_bits = (unsigned)(nbytes * 8 - group->modulus_bits);
  mpz_t span;
  int rc = CHAT_DH_ERR_RANDOM;

  mpz_init(span);
  mpz_sub_ui(span, group->modulus, 3); /* x = 2 + r mod (p-3) is in [2, p-2] */
  /* Room for the whole value up front, so no reallocation leaves copies. */
  mpz_realloc2(x, (mp_bitcnt_t)group->modulus_bits + GMP_NUMB_BITS);
  for (int attempt = 0; attempt < CHAT_DH_KEYGEN_ATTEMPTS; attempt++) {
    if (chat_random_bytes(random, nbytes) != 0) {
      rc = CHAT_DH_ERR_RANDOM;
      break;
    }
    random[0] &= (uint8_t)(0xffu >> excess_bits); /* exactly modulus_bits bits */
    mpz_import(x, nbytes, 1, 1, 1, 0, random);
    mpz_mod(x, x, span);
    mpz_add_ui(x, x, 2);
    chat_dh_public_value(group, x, pub);
    if (in_exchange_range(group, pub)) {
      rc = 0;
      break;
    }
    rc = CHAT_DH_ERR_PUBLIC_RANGE;
  }
  explicit_bzero(random, sizeof random);
  mpz_clear(span);
  if (rc != 0)
    chat_dh_wipe(x);
  return rc;
}

int chat_dh_keypair_import(const chat_dh_group *group, const uint8_t *bytes, size_t len, mpz_t x,
                           mpz_t pub) {
  if (bytes == NULL || len == 0 || len > group->modulus_bytes)
    return CHAT_DH_ERR_PRIVATE_RANGE;
  mpz_realloc2(x, (mp_bitcnt_t)group->modulus_bits + GMP_NUMB_BITS);
  mpz_import(x, len, 1, 1, 1, 0, bytes);
  if (!in_exchange_range(group, x)) {
    chat_dh_wipe(x);
    return CHAT_DH_ERR_PRIVATE_RANGE;
  }
  chat_dh_public_value(group, x, pub);
  if (!in_exchange_range(group, pub)) {
    chat_dh_wipe(x);
    return CHAT_DH_ERR_PUBLIC_RANGE;
  }
  return 0;
}

int chat_dh_import_public(const chat_dh_group *group, const uint8_t *bytes, size_t len, mpz_t out) {
  if (bytes == NULL || len == 0)
    return CHAT_DH_ERR_PUBLIC_EMPTY;
  if (len > group->modulus_bytes)
    return CHAT_DH_ERR_PUBLIC_TOO_LONG;
  mpz_import(out, len, 1, 1, 1, 0, bytes);
  if (!in_exchange_range(group, out))
    return CHAT_DH_ERR_PUBLIC_RANGE;
  return 0;
}

void chat_dh_public_value(const chat_dh_group *group, const mpz_t x, mpz_t out) {
  mpz_powm_sec(out, group->base, x, group->modulus);
}

size_t chat_dh_encode_minimal(const mpz_t v, uint8_t *out, size_t cap) {
  if (mpz_sgn(v) == 0) {
    if (cap < 1)
      return 0;
    out[0] = 0;
    return 1;
  }
  size_t need = (mpz_sizeinbase(v, 2) + 7) / 8;
  if (need > cap)
    return 0;
  size_t written = 0;
  mpz_export(out, &written, 1, 1, 1, 0, v);
  return written;
}

void chat_dh_derive_key(const chat_dh_group *group, const mpz_t x, const mpz_t peer,
                        uint8_t key[CHAT_DH_KEY_BYTES]) {
  uint8_t encoded[CHAT_DH_MODULUS_MAX_BYTES];
  mpz_t shared;
  mpz_init2(shared, (mp_bitcnt_t)group->modulus_bits + GMP_NUMB_BITS);
  mpz_powm_sec(shared, peer, x, group->modulus);
  /* shared < p, so it always fits in modulus_bytes <= sizeof encoded. */
  size_t len = chat_dh_encode_minimal(shared, encoded, sizeof encoded);

  struct sha256_ctx hash;
  sha256_init(&hash);
  sha256_update(&hash, len, encoded);
  sha256_digest(&hash, CHAT_DH_KEY_BYTES, key);

  explicit_bzero(&hash, sizeof hash);
  explicit_bzero(encoded, sizeof encoded);
  chat_dh_wipe(shared);
  mpz_clear(shared);
}
