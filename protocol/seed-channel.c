/* The seed dialect's secure channel: DH start and AES-256-CBC frames, as a
 * sans-IO engine. See protocol/seed-channel.h. */
#include "protocol/seed-channel.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/cbc.h>

#include "protocol/buffer.h"
#include "protocol/random.h"
#include "protocol/seed-internal.h"

typedef enum {
  SEED_STATE_NEW,         /* client: before start; server: before A */
  SEED_STATE_STARTED,     /* start was called; waiting for the peer's value */
  SEED_STATE_ESTABLISHED, /* key derived: frames flow */
  SEED_STATE_FAILED,      /* a fatal error happened; see error / reason */
} seed_state;

typedef enum {
  RECV_HEADER, /* collecting the 21 header bytes */
  RECV_BODY,   /* collecting L ciphertext bytes */
} recv_state;

typedef enum {
  MESSAGE_NONE,
  MESSAGE_READY, /* decrypted, not yet taken */
  MESSAGE_TAKEN, /* handed out; released by the next feed / next_message */
} message_state;

struct chat_seed_channel {
  chat_seed_role role;
  seed_state state;
  int error; /* fatal code, 0 while alive */
  char reason[CHAT_SEED_REASON_MAX];
  size_t max_frame;

  /* Handshake (cleared once established). */
  chat_dh_group group;
  bool have_group;
  mpz_t private_exponent;
  mpz_t own_public;
  bool have_keypair;

  /* Session. */
  uint8_t key[CHAT_SEED_KEY_BYTES];
  struct aes256_ctx encrypt_ctx;
  struct aes256_ctx decrypt_ctx;
  bool received_frame; /* a whole frame came from the peer */

  /* Output: its unread bytes are waiting. Grown on demand and freed as soon
   * as it is drained, so an idle channel holds no output buffer. Only public
   * values and ciphertext are in it. */
  chat_buffer out;

  /* Plaintexts waiting to be encrypted, each behind a big-endian u32
   * length. Wiped as it drains (buffer.wipe) and freed once empty. */
  chat_buffer queue;
  size_t queued_plaintext; /* plaintext bytes in it (no prefixes) */
  size_t max_queue;        /* bound of queued_plaintext + output */
  chat_transit *transit;   /* shared budget, or NULL */
  size_t queue_held;       /* bytes of it the queue holds */
  size_t body_held;        /* bytes of it the receive buffer holds */

  /* Receiver. */
  recv_state recv;
  uint8_t header[CHAT_SEED_FRAME_HEADER_BYTES];
  size_t header_have;
  size_t body_len; /* L of the current frame */
  size_t body_have;
  unsigned pad_count; /* n of the current frame */
  /* Receive buffer: allocated at the frame's length L once its header is
   * in, freed once the frame's message is released (or the frame failed):
   * an idle channel holds no receive buffer. */
  uint8_t *body;
  size_t body_capacity;
  message_state message;
  size_t message_len;
};

/* --- errors ------------------------------------------------------------ */

/* Names and descriptions: protocol/error.c. */
bool chat_seed_is_fatal(int code) {
  switch (code) {
  case CHAT_SEED_ERR_NOMEM:
  case CHAT_SEED_ERR_FRAME_EMPTY:
  case CHAT_SEED_ERR_FRAME_MISALIGNED:
  case CHAT_SEED_ERR_FRAME_TOO_LARGE:
  case CHAT_SEED_ERR_PAD_COUNT:
  case CHAT_SEED_ERR_PADDING:
  case CHAT_SEED_ERR_TRANSIT_EXHAUSTED:
  case CHAT_SEED_ERR_TRUNCATED:
  case CHAT_DH_ERR_PUBLIC_EMPTY:
  case CHAT_DH_ERR_PUBLIC_TOO_LONG:
  case CHAT_DH_ERR_PUBLIC_RANGE:
  case CHAT_DH_ERR_RANDOM:
    return true;
  default:
    return false;
  }
}

static void wipe_handshake(chat_seed_channel *ch);

/* Kills the channel with a fatal error and returns the code. */
static int fail(chat_seed_channel *ch, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(chat_seed_channel *ch, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ch->reason, sizeof ch->reason, fmt, ap);
  va_end(ap);
  ch->error = code;
  ch->state = SEED_STATE_FAILED;
  wipe_handshake(ch);
  return code;
}

/* --- cipher helpers ---------------------------------------------------- */

/* nettle_cipher_func adapter (a cast of aes256_encrypt would be undefined
 * behaviour and trips -Wcast-function-type). Decryption: seed-common.c. */
static void aes256_encrypt_blocks(const void *ctx, size_t length, uint8_t *dst,
                                  const uint8_t *src) {
  aes256_encrypt(ctx, length, dst, src);
}

static size_t padded_length(size_t len) {
  return (len + CHAT_SEED_BLOCK_BYTES - 1) / CHAT_SEED_BLOCK_BYTES * CHAT_SEED_BLOCK_BYTES;
}

size_t chat_seed_frame_size(size_t len) {
  return CHAT_SEED_FRAME_HEADER_BYTES + padded_length(len);
}

/* Writes the frame for plaintext (1 <= len <= CHAT_SEED_MAX_FRAME_LIMIT) to
 * out; returns its size. */
static size_t write_frame(const struct aes256_ctx *enc, const uint8_t iv[CHAT_SEED_IV_BYTES],
                          const uint8_t *plaintext, size_t len, uint8_t *out) {
  size_t body_len = padded_length(len);
  size_t pad = body_len - len;
  uint8_t chain[CHAT_SEED_IV_BYTES];
  uint8_t *body = out + CHAT_SEED_FRAME_HEADER_BYTES;

  chat_store_u32be(out, (uint32_t)body_len);
  out[CHAT_SEED_LENGTH_BYTES] = (uint8_t)pad;
  memcpy(out + CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES, iv, CHAT_SEED_IV_BYTES);
  memmove(body, plaintext, len);
  memset(body + len, 0, pad);
  memcpy(chain, iv, sizeof chain);
  cbc_encrypt(enc, aes256_encrypt_blocks, CHAT_SEED_BLOCK_BYTES, chain, body_len, body, body);
  return CHAT_SEED_FRAME_HEADER_BYTES + body_len;
}

size_t chat_seed_frame_encrypt(const uint8_t key[CHAT_SEED_KEY_BYTES],
                               const uint8_t iv[CHAT_SEED_IV_BYTES], const uint8_t *plaintext,
                               size_t len, uint8_t *out) {
  if (key == NULL || iv == NULL || plaintext == NULL || out == NULL || len == 0 ||
      len > CHAT_SEED_MAX_FRAME_LIMIT)
    return 0;
  struct aes256_ctx enc;
  aes256_set_encrypt_key(&enc, key);
  size_t n = write_frame(&enc, iv, plaintext, len, out);
  explicit_bzero(&enc, sizeof enc);
  return n;
}

/* --- life cycle -------------------------------------------------------- */

static chat_seed_channel *channel_alloc(size_t max_frame) {
  chat_seed_channel *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return NULL;
  ch->max_frame = max_frame;
  ch->max_queue = CHAT_SEED_OUTPUT_MAX_FRAMES * (CHAT_SEED_FRAME_HEADER_BYTES + max_frame);
  ch->recv = RECV_HEADER;
  ch->message = MESSAGE_NONE;
  ch->out.first_capacity = CHAT_SEED_PUBLIC_READ_MAX;
  ch->queue.first_capacity = CHAT_SEED_PUBLIC_READ_MAX;
  ch->queue.wipe = true;
  return ch;
}

static bool max_frame_ok(size_t max_frame) {
  return max_frame >= CHAT_SEED_MAX_FRAME_MIN && max_frame <= CHAT_SEED_MAX_FRAME_LIMIT;
}

int chat_seed_channel_new(chat_seed_role role, const chat_dh_group *group, size_t max_frame,
                          chat_seed_channel **out) {
  if (out == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (group == NULL || group->modulus_bytes == 0 || !max_frame_ok(max_frame) ||
      (role != CHAT_SEED_ROLE_CLIENT && role != CHAT_SEED_ROLE_SERVER))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  chat_seed_channel *ch = channel_alloc(max_frame);
  if (ch == NULL)
    return CHAT_SEED_ERR_NOMEM;
  ch->role = role;
  ch->state = SEED_STATE_NEW;
  (void)chat_dh_group_copy(&ch->group, group); /* cannot fail: checked above */
  ch->have_group = true;
  mpz_init2(ch->private_exponent, (mp_bitcnt_t)group->modulus_bits + GMP_NUMB_BITS);
  mpz_init2(ch->own_public, (mp_bitcnt_t)group->modulus_bits + GMP_NUMB_BITS);
  *out = ch;
  return 0;
}

static void set_session_key(chat_seed_channel *ch, const uint8_t key[CHAT_SEED_KEY_BYTES]) {
  memcpy(ch->key, key, CHAT_SEED_KEY_BYTES);
  aes256_set_encrypt_key(&ch->encrypt_ctx, ch->key);
  aes256_set_decrypt_key(&ch->decrypt_ctx, ch->key);
  ch->state = SEED_STATE_ESTABLISHED;
}

int chat_seed_channel_new_with_key(const uint8_t key[CHAT_SEED_KEY_BYTES], size_t max_frame,
                                   chat_seed_channel **out) {
  if (out == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (key == NULL || !max_frame_ok(max_frame))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  chat_seed_channel *ch = channel_alloc(max_frame);
  if (ch == NULL)
    return CHAT_SEED_ERR_NOMEM;
  ch->role = CHAT_SEED_ROLE_CLIENT;
  set_session_key(ch, key);
  *out = ch;
  return 0;
}

/* Drops everything only the handshake needs (the private exponent first). */
static void wipe_handshake(chat_seed_channel *ch) {
  if (!ch->have_group)
    return;
  chat_dh_wipe(ch->private_exponent);
  mpz_clear(ch->private_exponent);
  mpz_clear(ch->own_public);
  chat_dh_group_clear(&ch->group);
  ch->have_group = false;
  ch->have_keypair = false;
}

static void release_body(chat_seed_channel *ch) {
  if (ch->body != NULL) {
    explicit_bzero(ch->body, ch->body_capacity);
    free(ch->body);
  }
  ch->body = NULL;
  ch->body_capacity = 0;
  chat_transit_cover(ch->transit, &ch->body_held, 0);
}

static void release_output(chat_seed_channel *ch) {
  chat_buffer_clear(&ch->out); /* only public values and ciphertext */
}

static void release_queue(chat_seed_channel *ch) {
  chat_buffer_clear(&ch->queue); /* wiped: queue.wipe */
  ch->queued_plaintext = 0;
}

void chat_seed_channel_free(chat_seed_channel *ch) {
  if (ch == NULL)
    return;
  wipe_handshake(ch);
  release_body(ch);
  release_output(ch);
  release_queue(ch);
  chat_transit_cover(ch->transit, &ch->queue_held, 0);
  explicit_bzero(ch, sizeof *ch);
  free(ch);
}

/* --- output queue ------------------------------------------------------ */

static int encrypt_queued(chat_seed_channel *ch);

int chat_seed_channel_output(chat_seed_channel *ch, const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  int rc = encrypt_queued(ch);
  if (rc != 0)
    return rc;
  *data = chat_buffer_unread(&ch->out);
  *len = chat_buffer_unread_len(&ch->out);
  return 0;
}

int chat_seed_channel_output_consumed(chat_seed_channel *ch, size_t n) {
  if (ch == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (n > chat_buffer_unread_len(&ch->out))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  chat_buffer_consume(&ch->out, n);
  if (chat_buffer_unread_len(&ch->out) == 0)
    release_output(ch);
  /* Written bytes give their share of the budget back. */
  chat_transit_cover(ch->transit, &ch->queue_held,
                     ch->queued_plaintext + chat_buffer_unread_len(&ch->out));
  return 0;
}

bool chat_seed_channel_output_idle(const chat_seed_channel *ch) {
  return ch == NULL ||
         (chat_buffer_unread_len(&ch->out) == 0 && chat_buffer_unread_len(&ch->queue) == 0);
}

/* Queues the own public value (minimal big-endian, no framing). */
static int queue_own_public(chat_seed_channel *ch) {
  uint8_t encoded[CHAT_DH_MODULUS_MAX_BYTES];
  size_t len = chat_dh_encode_minimal(ch->own_public, encoded, sizeof encoded);
  if (chat_buffer_append(&ch->out, encoded, len) != 0)
    return fail(ch, CHAT_SEED_ERR_NOMEM, "out of memory queueing the public value");
  return 0;
}

/* --- handshake --------------------------------------------------------- */

int chat_seed_channel_set_private(chat_seed_channel *ch, const uint8_t *bytes, size_t len) {
  if (ch == NULL || bytes == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->state != SEED_STATE_NEW || !ch->have_group)
    return CHAT_SEED_ERR_STATE;
  int rc = chat_dh_keypair_import(&ch->group, bytes, len, ch->private_exponent, ch->own_public);
  ch->have_keypair = rc == 0;
  return rc;
}

/* Makes a key pair unless one was injected. */
static int ensure_keypair(chat_seed_channel *ch) {
  if (ch->have_keypair)
    return 0;
  int rc = chat_dh_keypair_generate(&ch->group, ch->private_exponent, ch->own_public);
  if (rc == CHAT_DH_ERR_RANDOM)
    return fail(ch, rc, "getrandom() failed while making the private exponent");
  if (rc != 0)
    return fail(ch, rc, "no usable private exponent in %d tries: degenerate group",
                CHAT_DH_KEYGEN_ATTEMPTS);
  ch->have_keypair = true;
  return 0;
}

int chat_seed_channel_start(chat_seed_channel *ch) {
  if (ch == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->state != SEED_STATE_NEW || !ch->have_group)
    return CHAT_SEED_ERR_STATE;
  int rc = ensure_keypair(ch);
  if (rc != 0)
    return rc;
  if (ch->role == CHAT_SEED_ROLE_CLIENT) {
    rc = queue_own_public(ch);
    if (rc != 0)
      return rc;
  }
  ch->state = SEED_STATE_STARTED;
  return 0;
}

int chat_seed_channel_receive_public(chat_seed_channel *ch, const uint8_t *data, size_t len) {
  if (ch == NULL || (data == NULL && len > 0))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (!ch->have_group || ch->state == SEED_STATE_ESTABLISHED ||
      (ch->role == CHAT_SEED_ROLE_CLIENT && ch->state != SEED_STATE_STARTED))
    return CHAT_SEED_ERR_STATE;

  mpz_t peer;
  mpz_init2(peer, (mp_bitcnt_t)ch->group.modulus_bits + GMP_NUMB_BITS);
  int rc = chat_dh_import_public(&ch->group, data, len, peer);
  if (rc != 0) {
    mpz_clear(peer);
    switch (rc) {
    case CHAT_DH_ERR_PUBLIC_EMPTY:
      return fail(ch, rc, "peer's public value is empty (connection closed before it?)");
    case CHAT_DH_ERR_PUBLIC_TOO_LONG:
      return fail(ch, rc, "peer's public value is %zu bytes, the modulus only %zu", len,
                  ch->group.modulus_bytes);
    default:
      return fail(ch, rc, "peer's public value (%zu bytes) is outside 2..p-2", len);
    }
  }
  rc = ensure_keypair(ch);
  if (rc != 0) {
    mpz_clear(peer);
    return rc;
  }
  if (ch->role == CHAT_SEED_ROLE_SERVER) {
    rc = queue_own_public(ch);
    if (rc != 0) {
      mpz_clear(peer);
      return rc;
    }
  }
  uint8_t key[CHAT_SEED_KEY_BYTES];
  chat_dh_derive_key(&ch->group, ch->private_exponent, peer, key);
  mpz_clear(peer);
  set_session_key(ch, key);
  explicit_bzero(key, sizeof key);
  wipe_handshake(ch);
  return 0;
}

bool chat_seed_channel_is_established(const chat_seed_channel *ch) {
  return ch != NULL && ch->error == 0 && ch->state == SEED_STATE_ESTABLISHED;
}

int chat_seed_channel_session_key(const chat_seed_channel *ch, uint8_t out[CHAT_SEED_KEY_BYTES]) {
  if (ch == NULL || out == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->state != SEED_STATE_ESTABLISHED)
    return CHAT_SEED_ERR_STATE;
  memcpy(out, ch->key, CHAT_SEED_KEY_BYTES);
  return 0;
}

int chat_seed_channel_error(const chat_seed_channel *ch) {
  return ch == NULL ? CHAT_SEED_ERR_INVALID_ARGUMENT : ch->error;
}

const char *chat_seed_channel_error_message(const chat_seed_channel *ch) {
  return ch == NULL ? "" : ch->reason;
}

/* --- sending ----------------------------------------------------------- */

int chat_seed_channel_set_limits(chat_seed_channel *ch, size_t max_frame, size_t max_queue) {
  if (ch == NULL || !max_frame_ok(max_frame) || max_queue < max_frame)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  ch->max_frame = max_frame;
  ch->max_queue = max_queue;
  return 0;
}

int chat_seed_channel_set_transit(chat_seed_channel *ch, chat_transit *transit) {
  if (ch == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  ch->transit = transit;
  return 0;
}

int chat_seed_channel_set_max_queue(chat_seed_channel *ch, size_t max_queue) {
  if (ch == NULL || max_queue < ch->max_frame)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  ch->max_queue = max_queue;
  return 0;
}

/* Appends one plaintext behind its length prefix (the bound was checked). */
static int queue_push(chat_seed_channel *ch, const uint8_t *plaintext, size_t len) {
  if (chat_buffer_reserve(&ch->queue, CHAT_SEED_LENGTH_BYTES + len) != 0)
    return fail(ch, CHAT_SEED_ERR_NOMEM, "out of memory queueing a %zu-byte message", len);
  chat_buffer_append_u32be(&ch->queue, (uint32_t)len); /* room reserved: cannot fail */
  chat_buffer_append(&ch->queue, plaintext, len);
  ch->queued_plaintext += len;
  return 0;
}

int chat_seed_channel_send(chat_seed_channel *ch, const uint8_t *plaintext, size_t len) {
  if (ch == NULL || (plaintext == NULL && len > 0))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->state != SEED_STATE_ESTABLISHED)
    return CHAT_SEED_ERR_STATE;
  if (len == 0)
    return CHAT_SEED_ERR_MESSAGE_EMPTY;
  if (len > ch->max_frame || padded_length(len) > ch->max_frame)
    return CHAT_SEED_ERR_MESSAGE_TOO_LARGE;
  size_t used = ch->queued_plaintext + chat_buffer_unread_len(&ch->out);
  if (used > ch->max_queue || len > ch->max_queue - used)
    return CHAT_SEED_ERR_QUEUE_FULL;
  if (!chat_transit_cover(ch->transit, &ch->queue_held, used + len))
    return CHAT_SEED_ERR_TRANSIT_FULL;
  return queue_push(ch, plaintext, len);
}

/* Encrypts queued plaintexts into frames while fewer than a batch of bytes
 * wait, once sending is allowed (a server: after the client's first frame). */
static int encrypt_queued(chat_seed_channel *ch) {
  if (ch->state != SEED_STATE_ESTABLISHED ||
      (ch->role == CHAT_SEED_ROLE_SERVER && !ch->received_frame))
    return 0;
  while (chat_buffer_unread_len(&ch->queue) > 0 &&
         chat_buffer_unread_len(&ch->out) < CHAT_SEED_OUTPUT_BATCH_BYTES) {
    const uint8_t *record = chat_buffer_unread(&ch->queue);
    uint32_t len = chat_load_u32be(record);
    size_t frame_len = chat_seed_frame_size(len);
    if (chat_buffer_reserve(&ch->out, frame_len) != 0)
      return fail(ch, CHAT_SEED_ERR_NOMEM, "out of memory for a %zu-byte frame", frame_len);
    uint8_t iv[CHAT_SEED_IV_BYTES];
    if (chat_random_bytes(iv, sizeof iv) != 0)
      return fail(ch, CHAT_DH_ERR_RANDOM, "getrandom() failed while making an IV");
    ch->out.len += write_frame(&ch->encrypt_ctx, iv, record + CHAT_SEED_LENGTH_BYTES, len,
                               ch->out.data + ch->out.len);
    chat_buffer_consume(&ch->queue, CHAT_SEED_LENGTH_BYTES + len); /* wipes */
    ch->queued_plaintext -= len;
  }
  if (chat_buffer_unread_len(&ch->queue) == 0 && ch->queue.data != NULL)
    release_queue(ch);
  return 0;
}

/* --- receiving --------------------------------------------------------- */

/* Validates what is in the header so far: L once its 4 bytes are in, n once
 * its byte is in. Runs before anything is allocated for the frame. */
static int check_header(chat_seed_channel *ch, size_t had) {
  if (had < CHAT_SEED_LENGTH_BYTES && ch->header_have >= CHAT_SEED_LENGTH_BYTES) {
    uint32_t body_len = chat_seed_header_length(ch->header);
    switch (chat_seed_check_frame_length(body_len, ch->max_frame)) {
    case CHAT_SEED_ERR_FRAME_EMPTY:
      return fail(ch, CHAT_SEED_ERR_FRAME_EMPTY, "frame length L is 0");
    case CHAT_SEED_ERR_FRAME_MISALIGNED:
      return fail(ch, CHAT_SEED_ERR_FRAME_MISALIGNED,
                  "frame length L = %" PRIu32 " is not a multiple of %d", body_len,
                  CHAT_SEED_BLOCK_BYTES);
    case CHAT_SEED_ERR_FRAME_TOO_LARGE:
      return fail(ch, CHAT_SEED_ERR_FRAME_TOO_LARGE,
                  "frame length L = %" PRIu32 " is over max_frame = %zu", body_len, ch->max_frame);
    default:
      break;
    }
    ch->body_len = body_len;
  }
  size_t pad_at = CHAT_SEED_LENGTH_BYTES;
  if (had <= pad_at && ch->header_have > pad_at) {
    unsigned pad = chat_seed_header_pad_count(ch->header);
    if (chat_seed_check_pad_count(pad) != 0)
      return fail(ch, CHAT_SEED_ERR_PAD_COUNT, "frame padding count n = %u is over %d", pad,
                  CHAT_SEED_PAD_MAX);
    ch->pad_count = pad;
  }
  return 0;
}

/* Makes room for `need` bytes of the frame whose header is in: the buffer
 * grows with what arrives (never past L), not to L at the header, and
 * takes from the transit budget beyond its free share. */
static int reserve_body(chat_seed_channel *ch, size_t need) {
  if (need <= ch->body_capacity)
    return 0;
  size_t capacity = chat_seed_body_capacity(ch->body_capacity, need, ch->body_len);
  if (!chat_transit_cover(ch->transit, &ch->body_held, capacity))
    return fail(ch, CHAT_SEED_ERR_TRANSIT_EXHAUSTED,
                "the memory for messages in transit is used up (a frame of %zu bytes)",
                ch->body_len);
  if (!chat_seed_body_grow(&ch->body, &ch->body_capacity, ch->body_have, capacity))
    return fail(ch, CHAT_SEED_ERR_NOMEM, "out of memory for a %zu-byte frame", ch->body_len);
  return 0;
}

/* Decrypts the complete frame in place and checks its padding. */
static int finish_frame(chat_seed_channel *ch) {
  size_t message_len = ch->body_len - ch->pad_count;
  if (chat_seed_decrypt_frame(&ch->decrypt_ctx, ch->header, ch->body, ch->body_len) != 0) {
    release_body(ch);
    return fail(ch, CHAT_SEED_ERR_PADDING,
                "frame padding (n = %u) decrypts to non-zero bytes: wrong key or tampered",
                ch->pad_count);
  }
  ch->message_len = message_len;
  ch->message = MESSAGE_READY;
  ch->received_frame = true;
  ch->recv = RECV_HEADER;
  ch->header_have = 0;
  ch->body_have = 0;
  return 0;
}

/* Forgets a message that was handed out. */
static void release_message(chat_seed_channel *ch) {
  if (ch->message != MESSAGE_TAKEN)
    return;
  release_body(ch);
  ch->message = MESSAGE_NONE;
  ch->message_len = 0;
}

ptrdiff_t chat_seed_channel_feed(chat_seed_channel *ch, const uint8_t *data, size_t len) {
  if (ch == NULL || (data == NULL && len > 0))
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->state != SEED_STATE_ESTABLISHED)
    return CHAT_SEED_ERR_STATE;
  if (ch->message == MESSAGE_READY)
    return 0;
  release_message(ch);
  if (len > PTRDIFF_MAX)
    len = PTRDIFF_MAX;

  size_t pos = 0;
  while (pos < len) {
    if (ch->recv == RECV_HEADER) {
      size_t had = ch->header_have;
      size_t take = CHAT_SEED_FRAME_HEADER_BYTES - had;
      if (take > len - pos)
        take = len - pos;
      /* Stop at the length and pad-count boundaries so each is checked as
       * soon as it is complete. */
      if (had < CHAT_SEED_LENGTH_BYTES && had + take > CHAT_SEED_LENGTH_BYTES)
        take = CHAT_SEED_LENGTH_BYTES - had;
      memcpy(ch->header + had, data + pos, take);
      ch->header_have += take;
      pos += take;
      int rc = check_header(ch, had);
      if (rc != 0)
        return rc;
      if (ch->header_have == CHAT_SEED_FRAME_HEADER_BYTES) {
        release_body(ch);
        ch->recv = RECV_BODY;
        ch->body_have = 0;
      }
    } else {
      size_t take = ch->body_len - ch->body_have;
      if (take > len - pos)
        take = len - pos;
      int rc = reserve_body(ch, ch->body_have + take);
      if (rc != 0)
        return rc;
      memcpy(ch->body + ch->body_have, data + pos, take);
      ch->body_have += take;
      pos += take;
      if (ch->body_have == ch->body_len) {
        rc = finish_frame(ch);
        if (rc != 0)
          return rc;
        break; /* one message at a time */
      }
    }
  }
  return (ptrdiff_t)pos;
}

int chat_seed_channel_next_message(chat_seed_channel *ch, const uint8_t **msg, size_t *len) {
  if (ch == NULL || msg == NULL || len == NULL)
    return CHAT_SEED_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  release_message(ch);
  if (ch->message != MESSAGE_READY)
    return 0;
  ch->message = MESSAGE_TAKEN;
  *msg = ch->body;
  *len = ch->message_len;
  return 1;
}
