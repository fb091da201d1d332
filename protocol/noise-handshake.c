/* Noise HandshakeState (spec section 5.3): protocol-name parsing, the
 * table-driven token engine, Split(), Curve25519 DH and key generation. */
#include "protocol/noise-internal.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/curve25519.h>

#include "protocol/random.h"

_Static_assert(CURVE25519_SIZE == CHAT_NOISE_DH_LEN, "Curve25519 keys are 32 bytes");

/* "Noise_<pattern>_<dh>_<cipher>_<hash>": five '_'-separated fields. */
#define PROTOCOL_FIELDS 5u
enum { FIELD_PREFIX, FIELD_PATTERN, FIELD_DH, FIELD_CIPHER, FIELD_HASH };

struct chat_noise_handshake {
  const chat_noise_pattern *pattern;
  size_t message_count;
  size_t message_index; /* the next message to write or read */
  chat_noise_role role;
  chat_noise_symmetric ss;
  bool started;
  bool prologue_set;
  bool failed;
  bool split_done;
  bool dh_zero;
  bool has_s, has_e, has_rs, has_re, has_fixed_e;
  uint8_t s_priv[CHAT_NOISE_DH_LEN];
  uint8_t s_pub[CHAT_NOISE_DH_LEN];
  uint8_t e_priv[CHAT_NOISE_DH_LEN];
  uint8_t e_pub[CHAT_NOISE_DH_LEN];
  uint8_t rs[CHAT_NOISE_DH_LEN];
  uint8_t re[CHAT_NOISE_DH_LEN];
  uint8_t fixed_e[CHAT_NOISE_DH_LEN];
};

/* ---- keys and randomness -------------------------------------------------- */

/* Fills buf with random bytes (wiped on failure). */
static int fill_random(uint8_t *buf, size_t len) {
  return chat_random_bytes(buf, len) == 0 ? CHAT_NOISE_OK : CHAT_NOISE_ERR_RANDOM;
}

int chat_noise_public_key(const uint8_t *priv, size_t priv_len, uint8_t *pub, size_t pub_cap) {
  if (priv == NULL || pub == NULL || priv_len != CHAT_NOISE_DH_LEN || pub_cap < CHAT_NOISE_DH_LEN)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  curve25519_mul_g(pub, priv);
  return CHAT_NOISE_OK;
}

int chat_noise_generate_keypair(uint8_t *priv, size_t priv_cap, uint8_t *pub, size_t pub_cap) {
  if (priv == NULL || pub == NULL || priv_cap < CHAT_NOISE_DH_LEN || pub_cap < CHAT_NOISE_DH_LEN)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  int rc = fill_random(priv, CHAT_NOISE_DH_LEN);
  if (rc != CHAT_NOISE_OK)
    return rc;
  curve25519_mul_g(pub, priv);
  return CHAT_NOISE_OK;
}

/* ---- pattern queries ------------------------------------------------------ */

static bool is_initiator(const chat_noise_handshake *hs) {
  return hs->role == CHAT_NOISE_ROLE_INITIATOR;
}

/* Whether message i is written by the initiator. */
static bool initiator_writes(size_t i) {
  return i % 2 == 0;
}

/* Whether `role`'s messages contain `token`. */
static bool role_sends(const chat_noise_pattern *p, chat_noise_role role, chat_noise_token token) {
  for (size_t i = 0; i < CHAT_NOISE_MAX_PATTERN_MESSAGES; i++) {
    if (initiator_writes(i) != (role == CHAT_NOISE_ROLE_INITIATOR))
      continue;
    for (size_t t = 0;
         t < CHAT_NOISE_MAX_MESSAGE_TOKENS && p->messages[i][t] != CHAT_NOISE_TOKEN_END; t++) {
      if (p->messages[i][t] == token)
        return true;
    }
  }
  return false;
}

static bool pattern_has(const chat_noise_pattern *p, chat_noise_token token) {
  return role_sends(p, CHAT_NOISE_ROLE_INITIATOR, token) ||
         role_sends(p, CHAT_NOISE_ROLE_RESPONDER, token);
}

/* Whether this side's static key is known to the peer in advance. */
static bool local_static_premessage(const chat_noise_handshake *hs) {
  return (is_initiator(hs) ? hs->pattern->pre_initiator : hs->pattern->pre_responder) ==
         CHAT_NOISE_PRE_S;
}

/* Whether the peer's static key is known to this side in advance. */
static bool remote_static_premessage(const chat_noise_handshake *hs) {
  return (is_initiator(hs) ? hs->pattern->pre_responder : hs->pattern->pre_initiator) ==
         CHAT_NOISE_PRE_S;
}

/* Whether this side's static key takes part in the handshake at all: sent,
 * pre-sent, or used in a DH ("se"/"ss" for the initiator, "es"/"ss" for the
 * responder). */
static bool local_static_used(const chat_noise_handshake *hs) {
  const chat_noise_pattern *p = hs->pattern;
  if (local_static_premessage(hs) || role_sends(p, hs->role, CHAT_NOISE_TOKEN_S) ||
      pattern_has(p, CHAT_NOISE_TOKEN_SS))
    return true;
  return pattern_has(p, is_initiator(hs) ? CHAT_NOISE_TOKEN_SE : CHAT_NOISE_TOKEN_ES);
}

/* ---- lifecycle ------------------------------------------------------------ */

static bool field_is(const char *field, size_t len, const char *literal) {
  return strlen(literal) == len && memcmp(field, literal, len) == 0;
}

int chat_noise_handshake_new(const char *protocol_name, chat_noise_role role,
                             chat_noise_handshake **out) {
  if (out == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (protocol_name == NULL ||
      (role != CHAT_NOISE_ROLE_INITIATOR && role != CHAT_NOISE_ROLE_RESPONDER))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;

  size_t name_len = strnlen(protocol_name, CHAT_NOISE_MAX_PROTOCOL_NAME + 1);
  if (name_len == 0 || name_len > CHAT_NOISE_MAX_PROTOCOL_NAME)
    return CHAT_NOISE_ERR_UNKNOWN_PROTOCOL;

  /* Split into exactly five non-empty fields. */
  const char *field[PROTOCOL_FIELDS];
  size_t field_len[PROTOCOL_FIELDS];
  size_t nfields = 0;
  size_t start = 0;
  for (size_t i = 0; i <= name_len; i++) {
    if (i < name_len && protocol_name[i] != '_')
      continue;
    if (nfields == PROTOCOL_FIELDS || i == start)
      return CHAT_NOISE_ERR_UNKNOWN_PROTOCOL;
    field[nfields] = protocol_name + start;
    field_len[nfields] = i - start;
    nfields++;
    start = i + 1;
  }
  if (nfields != PROTOCOL_FIELDS ||
      !field_is(field[FIELD_PREFIX], field_len[FIELD_PREFIX], "Noise"))
    return CHAT_NOISE_ERR_UNKNOWN_PROTOCOL;

  const chat_noise_pattern *pattern =
      chat_noise_pattern_lookup(field[FIELD_PATTERN], field_len[FIELD_PATTERN]);
  if (pattern == NULL)
    return CHAT_NOISE_ERR_UNSUPPORTED_PATTERN;
  if (!field_is(field[FIELD_DH], field_len[FIELD_DH], "25519"))
    return CHAT_NOISE_ERR_UNSUPPORTED_DH;
  chat_noise_cipher_id cipher;
  if (field_is(field[FIELD_CIPHER], field_len[FIELD_CIPHER], "AESGCM"))
    cipher = CHAT_NOISE_CIPHER_AESGCM;
  else if (field_is(field[FIELD_CIPHER], field_len[FIELD_CIPHER], "ChaChaPoly"))
    cipher = CHAT_NOISE_CIPHER_CHACHAPOLY;
  else
    return CHAT_NOISE_ERR_UNSUPPORTED_CIPHER;
  chat_noise_hash_id hash;
  if (field_is(field[FIELD_HASH], field_len[FIELD_HASH], "SHA256"))
    hash = CHAT_NOISE_HASH_SHA256;
  else if (field_is(field[FIELD_HASH], field_len[FIELD_HASH], "SHA512"))
    hash = CHAT_NOISE_HASH_SHA512;
  else
    return CHAT_NOISE_ERR_UNSUPPORTED_HASH;

  chat_noise_handshake *hs = calloc(1, sizeof *hs);
  if (hs == NULL)
    return CHAT_NOISE_ERR_NOMEM;
  hs->pattern = pattern;
  hs->message_count = chat_noise_pattern_message_count(pattern);
  hs->role = role;
  chat_noise_symmetric_init(&hs->ss, hash, cipher, protocol_name, name_len);
  *out = hs;
  return CHAT_NOISE_OK;
}

void chat_noise_handshake_free(chat_noise_handshake *hs) {
  if (hs == NULL)
    return;
  explicit_bzero(hs, sizeof *hs);
  free(hs);
}

/* Wipes everything secret; h is kept (it is public and needed after Split). */
static void wipe_secrets(chat_noise_handshake *hs) {
  uint8_t h[CHAT_NOISE_MAX_HASH_LEN];
  memcpy(h, hs->ss.h, sizeof h);
  chat_noise_symmetric_wipe(&hs->ss);
  memcpy(hs->ss.h, h, sizeof h);
  explicit_bzero(hs->s_priv, sizeof hs->s_priv);
  explicit_bzero(hs->e_priv, sizeof hs->e_priv);
  explicit_bzero(hs->fixed_e, sizeof hs->fixed_e);
  hs->has_e = false;
  hs->has_fixed_e = false;
}

/* Marks the handshake failed (permanently) and returns code. */
static int fail(chat_noise_handshake *hs, int code) {
  hs->failed = true;
  wipe_secrets(hs);
  explicit_bzero(hs->ss.h, sizeof hs->ss.h);
  return code;
}

/* Common precondition of the setters. */
static int check_setter(const chat_noise_handshake *hs, const uint8_t *key, size_t len) {
  if (hs == NULL || key == NULL || len != CHAT_NOISE_DH_LEN)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (hs->started) /* also covers a failed handshake: failures come after start */
    return CHAT_NOISE_ERR_INVALID_STATE;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_set_prologue(chat_noise_handshake *hs, const void *data, size_t len) {
  if (hs == NULL || (data == NULL && len > 0))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (hs->started || hs->prologue_set)
    return CHAT_NOISE_ERR_INVALID_STATE;
  chat_noise_symmetric_mix_hash(&hs->ss, data, len);
  hs->prologue_set = true;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_set_local_static(chat_noise_handshake *hs, const uint8_t *priv,
                                          size_t len) {
  int rc = check_setter(hs, priv, len);
  if (rc != CHAT_NOISE_OK)
    return rc;
  if (!local_static_used(hs))
    return CHAT_NOISE_ERR_NOT_APPLICABLE;
  memmove(hs->s_priv, priv, CHAT_NOISE_DH_LEN);
  curve25519_mul_g(hs->s_pub, hs->s_priv);
  hs->has_s = true;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_set_remote_static(chat_noise_handshake *hs, const uint8_t *pub,
                                           size_t len) {
  int rc = check_setter(hs, pub, len);
  if (rc != CHAT_NOISE_OK)
    return rc;
  if (!remote_static_premessage(hs))
    return CHAT_NOISE_ERR_NOT_APPLICABLE;
  memmove(hs->rs, pub, CHAT_NOISE_DH_LEN);
  hs->has_rs = true;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_set_fixed_ephemeral(chat_noise_handshake *hs, const uint8_t *priv,
                                             size_t len) {
  int rc = check_setter(hs, priv, len);
  if (rc != CHAT_NOISE_OK)
    return rc;
  if (!role_sends(hs->pattern, hs->role, CHAT_NOISE_TOKEN_E))
    return CHAT_NOISE_ERR_NOT_APPLICABLE;
  memmove(hs->fixed_e, priv, CHAT_NOISE_DH_LEN);
  hs->has_fixed_e = true;
  return CHAT_NOISE_OK;
}

bool chat_noise_handshake_needs_local_static(const chat_noise_handshake *hs) {
  return hs != NULL && !hs->started && !hs->failed && !hs->has_s && local_static_used(hs);
}

bool chat_noise_handshake_needs_remote_static(const chat_noise_handshake *hs) {
  return hs != NULL && !hs->started && !hs->failed && !hs->has_rs && remote_static_premessage(hs);
}

int chat_noise_handshake_start(chat_noise_handshake *hs) {
  if (hs == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (hs->started)
    return CHAT_NOISE_ERR_INVALID_STATE;
  if (chat_noise_handshake_needs_local_static(hs) || chat_noise_handshake_needs_remote_static(hs))
    return CHAT_NOISE_ERR_MISSING_KEY;
  if (!hs->prologue_set) {
    chat_noise_symmetric_mix_hash(&hs->ss, NULL, 0);
    hs->prologue_set = true;
  }
  /* Pre-messages: the initiator's first, then the responder's. */
  if (hs->pattern->pre_initiator == CHAT_NOISE_PRE_S)
    chat_noise_symmetric_mix_hash(&hs->ss, is_initiator(hs) ? hs->s_pub : hs->rs,
                                  CHAT_NOISE_DH_LEN);
  if (hs->pattern->pre_responder == CHAT_NOISE_PRE_S)
    chat_noise_symmetric_mix_hash(&hs->ss, is_initiator(hs) ? hs->rs : hs->s_pub,
                                  CHAT_NOISE_DH_LEN);
  hs->started = true;
  hs->message_index = 0;
  return CHAT_NOISE_OK;
}

chat_noise_action chat_noise_handshake_action(const chat_noise_handshake *hs) {
  if (hs == NULL || hs->failed)
    return CHAT_NOISE_ACTION_FAILED;
  if (!hs->started)
    return CHAT_NOISE_ACTION_NONE;
  if (hs->split_done)
    return CHAT_NOISE_ACTION_COMPLETE;
  if (hs->message_index >= hs->message_count)
    return CHAT_NOISE_ACTION_SPLIT;
  return initiator_writes(hs->message_index) == is_initiator(hs) ? CHAT_NOISE_ACTION_WRITE_MESSAGE
                                                                 : CHAT_NOISE_ACTION_READ_MESSAGE;
}

/* Checks that the handshake expects `want` now. */
static int expect_action(const chat_noise_handshake *hs, chat_noise_action want) {
  if (hs->failed)
    return CHAT_NOISE_ERR_FAILED;
  return chat_noise_handshake_action(hs) == want ? CHAT_NOISE_OK : CHAT_NOISE_ERR_INVALID_STATE;
}

/* ---- the token engine ----------------------------------------------------- */

/* MixKey(DH(priv, pub)), noting an all-zero DH output. */
static void mix_dh(chat_noise_handshake *hs, const uint8_t *priv, const uint8_t *pub) {
  uint8_t shared[CHAT_NOISE_DH_LEN];
  curve25519_mul(shared, priv, pub);
  uint8_t acc = 0;
  for (size_t i = 0; i < sizeof shared; i++)
    acc |= shared[i];
  if (acc == 0)
    hs->dh_zero = true;
  chat_noise_symmetric_mix_key(&hs->ss, shared, sizeof shared);
  explicit_bzero(shared, sizeof shared);
}

/* The DH of an "ee", "es", "se" or "ss" token, from this side's view. */
static void process_dh_token(chat_noise_handshake *hs, chat_noise_token token) {
  bool init = is_initiator(hs);
  switch (token) {
  case CHAT_NOISE_TOKEN_EE:
    mix_dh(hs, hs->e_priv, hs->re);
    break;
  case CHAT_NOISE_TOKEN_ES: /* initiator's e with responder's s */
    if (init)
      mix_dh(hs, hs->e_priv, hs->rs);
    else
      mix_dh(hs, hs->s_priv, hs->re);
    break;
  case CHAT_NOISE_TOKEN_SE: /* initiator's s with responder's e */
    if (init)
      mix_dh(hs, hs->s_priv, hs->re);
    else
      mix_dh(hs, hs->e_priv, hs->rs);
    break;
  case CHAT_NOISE_TOKEN_SS:
    mix_dh(hs, hs->s_priv, hs->rs);
    break;
  default:
    break;
  }
}

/* The token list of the current message. */
static const chat_noise_token *current_tokens(const chat_noise_handshake *hs) {
  return hs->pattern->messages[hs->message_index];
}

/* Bytes the tokens of the current message take (without the payload), and
 * whether a cipher key is set once they are processed. */
static size_t tokens_length(const chat_noise_handshake *hs, bool *keyed_after) {
  const chat_noise_token *tokens = current_tokens(hs);
  bool keyed = hs->ss.cs.has_key;
  size_t len = 0;
  for (size_t t = 0; t < CHAT_NOISE_MAX_MESSAGE_TOKENS && tokens[t] != CHAT_NOISE_TOKEN_END; t++) {
    switch (tokens[t]) {
    case CHAT_NOISE_TOKEN_E:
      len += CHAT_NOISE_DH_LEN;
      break;
    case CHAT_NOISE_TOKEN_S:
      len += CHAT_NOISE_DH_LEN + (keyed ? CHAT_NOISE_TAG_LEN : 0);
      break;
    default:
      keyed = true;
      break; /* a DH token: MixKey */
    }
  }
  *keyed_after = keyed;
  return len;
}

static bool message_has_token(const chat_noise_handshake *hs, chat_noise_token token) {
  const chat_noise_token *tokens = current_tokens(hs);
  for (size_t t = 0; t < CHAT_NOISE_MAX_MESSAGE_TOKENS && tokens[t] != CHAT_NOISE_TOKEN_END; t++) {
    if (tokens[t] == token)
      return true;
  }
  return false;
}

int chat_noise_handshake_write_message(chat_noise_handshake *hs, const uint8_t *payload,
                                       size_t payload_len, uint8_t *out, size_t out_cap,
                                       size_t *out_len) {
  if (hs == NULL || out == NULL || out_len == NULL || (payload == NULL && payload_len > 0))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  int rc = expect_action(hs, CHAT_NOISE_ACTION_WRITE_MESSAGE);
  if (rc != CHAT_NOISE_OK)
    return rc;
  if (payload_len > CHAT_NOISE_MAX_MESSAGE)
    return CHAT_NOISE_ERR_MESSAGE_TOO_LARGE;
  bool keyed;
  size_t total = tokens_length(hs, &keyed);
  total += payload_len + (keyed ? CHAT_NOISE_TAG_LEN : 0);
  if (total > CHAT_NOISE_MAX_MESSAGE)
    return CHAT_NOISE_ERR_MESSAGE_TOO_LARGE;
  if (out_cap < total)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  if (chat_noise_overlaps(payload, payload_len, out, total))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;

  /* The ephemeral is drawn before any state changes, so RANDOM is harmless. */
  if (message_has_token(hs, CHAT_NOISE_TOKEN_E)) {
    if (hs->has_fixed_e) {
      memcpy(hs->e_priv, hs->fixed_e, CHAT_NOISE_DH_LEN);
    } else {
      rc = fill_random(hs->e_priv, CHAT_NOISE_DH_LEN);
      if (rc != CHAT_NOISE_OK)
        return rc;
    }
    curve25519_mul_g(hs->e_pub, hs->e_priv);
    hs->has_e = true;
  }

  const chat_noise_token *tokens = current_tokens(hs);
  size_t off = 0;
  for (size_t t = 0; t < CHAT_NOISE_MAX_MESSAGE_TOKENS && tokens[t] != CHAT_NOISE_TOKEN_END; t++) {
    switch (tokens[t]) {
    case CHAT_NOISE_TOKEN_E:
      memcpy(out + off, hs->e_pub, CHAT_NOISE_DH_LEN);
      chat_noise_symmetric_mix_hash(&hs->ss, hs->e_pub, CHAT_NOISE_DH_LEN);
      off += CHAT_NOISE_DH_LEN;
      break;
    case CHAT_NOISE_TOKEN_S: {
      size_t slen = CHAT_NOISE_DH_LEN + (hs->ss.cs.has_key ? CHAT_NOISE_TAG_LEN : 0);
      rc = chat_noise_symmetric_encrypt_and_hash(&hs->ss, hs->s_pub, CHAT_NOISE_DH_LEN, out + off);
      if (rc != CHAT_NOISE_OK)
        return fail(hs, rc);
      off += slen;
      break;
    }
    default:
      process_dh_token(hs, tokens[t]);
      break;
    }
  }
  rc = chat_noise_symmetric_encrypt_and_hash(&hs->ss, payload, payload_len, out + off);
  if (rc != CHAT_NOISE_OK)
    return fail(hs, rc);
  *out_len = total;
  hs->message_index++;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_read_message(chat_noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                                      uint8_t *payload_out, size_t payload_cap,
                                      size_t *payload_len) {
  if (hs == NULL || msg == NULL || payload_len == NULL || (payload_out == NULL && payload_cap > 0))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  int rc = expect_action(hs, CHAT_NOISE_ACTION_READ_MESSAGE);
  if (rc != CHAT_NOISE_OK)
    return rc;
  if (msg_len > CHAT_NOISE_MAX_MESSAGE)
    return fail(hs, CHAT_NOISE_ERR_MESSAGE_TOO_LARGE);
  bool keyed;
  size_t fixed = tokens_length(hs, &keyed);
  size_t payload_tag = keyed ? CHAT_NOISE_TAG_LEN : 0;
  if (msg_len < fixed + payload_tag)
    return fail(hs, CHAT_NOISE_ERR_MESSAGE_TOO_SHORT);
  size_t plen = msg_len - fixed - payload_tag;
  if (payload_cap < plen)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  if (chat_noise_overlaps(msg, msg_len, payload_out, plen))
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;

  const chat_noise_token *tokens = current_tokens(hs);
  size_t off = 0;
  for (size_t t = 0; t < CHAT_NOISE_MAX_MESSAGE_TOKENS && tokens[t] != CHAT_NOISE_TOKEN_END; t++) {
    switch (tokens[t]) {
    case CHAT_NOISE_TOKEN_E:
      memcpy(hs->re, msg + off, CHAT_NOISE_DH_LEN);
      hs->has_re = true;
      chat_noise_symmetric_mix_hash(&hs->ss, hs->re, CHAT_NOISE_DH_LEN);
      off += CHAT_NOISE_DH_LEN;
      break;
    case CHAT_NOISE_TOKEN_S: {
      size_t slen = CHAT_NOISE_DH_LEN + (hs->ss.cs.has_key ? CHAT_NOISE_TAG_LEN : 0);
      uint8_t rs[CHAT_NOISE_DH_LEN];
      rc = chat_noise_symmetric_decrypt_and_hash(&hs->ss, msg + off, slen, rs);
      if (rc != CHAT_NOISE_OK)
        return fail(hs, rc);
      memcpy(hs->rs, rs, CHAT_NOISE_DH_LEN);
      hs->has_rs = true;
      off += slen;
      break;
    }
    default:
      process_dh_token(hs, tokens[t]);
      break;
    }
  }
  rc = chat_noise_symmetric_decrypt_and_hash(&hs->ss, msg + off, msg_len - off, payload_out);
  if (rc != CHAT_NOISE_OK)
    return fail(hs, rc);
  *payload_len = plen;
  hs->message_index++;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_split(chat_noise_handshake *hs, chat_noise_cipher **send_out,
                               chat_noise_cipher **recv_out) {
  if (hs == NULL || send_out == NULL || recv_out == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  *send_out = NULL;
  *recv_out = NULL;
  int rc = expect_action(hs, CHAT_NOISE_ACTION_SPLIT);
  if (rc != CHAT_NOISE_OK)
    return rc;
  chat_noise_cipher *c1 = calloc(1, sizeof *c1);
  chat_noise_cipher *c2 = calloc(1, sizeof *c2);
  if (c1 == NULL || c2 == NULL) {
    free(c1);
    free(c2);
    return CHAT_NOISE_ERR_NOMEM;
  }
  chat_noise_symmetric_split(&hs->ss, c1, c2);
  /* c1 carries initiator -> responder, c2 responder -> initiator. */
  chat_noise_cipher *send = is_initiator(hs) ? c1 : c2;
  chat_noise_cipher *recv = is_initiator(hs) ? c2 : c1;
  if (hs->pattern->one_way) {
    /* Only the initiator sends; the other direction is discarded. */
    if (is_initiator(hs)) {
      chat_noise_cipher_free(recv);
      recv = NULL;
    } else {
      chat_noise_cipher_free(send);
      send = NULL;
    }
  }
  wipe_secrets(hs);
  hs->split_done = true;
  *send_out = send;
  *recv_out = recv;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_get_hash(const chat_noise_handshake *hs, uint8_t *out, size_t out_cap,
                                  size_t *out_len) {
  if (hs == NULL || out == NULL || out_len == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (hs->failed)
    return CHAT_NOISE_ERR_FAILED;
  chat_noise_action action = chat_noise_handshake_action(hs);
  if (action != CHAT_NOISE_ACTION_SPLIT && action != CHAT_NOISE_ACTION_COMPLETE)
    return CHAT_NOISE_ERR_INVALID_STATE;
  if (out_cap < hs->ss.hash_len)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  memcpy(out, hs->ss.h, hs->ss.hash_len);
  *out_len = hs->ss.hash_len;
  return CHAT_NOISE_OK;
}

int chat_noise_handshake_get_remote_static(const chat_noise_handshake *hs, uint8_t *out,
                                           size_t out_cap) {
  if (hs == NULL || out == NULL)
    return CHAT_NOISE_ERR_INVALID_ARGUMENT;
  if (hs->failed)
    return CHAT_NOISE_ERR_FAILED;
  if (out_cap < CHAT_NOISE_DH_LEN)
    return CHAT_NOISE_ERR_SHORT_BUFFER;
  if (!hs->has_rs)
    return CHAT_NOISE_ERR_MISSING_KEY;
  memcpy(out, hs->rs, CHAT_NOISE_DH_LEN);
  return CHAT_NOISE_OK;
}

bool chat_noise_handshake_dh_output_was_zero(const chat_noise_handshake *hs) {
  return hs != NULL && hs->dh_zero;
}
