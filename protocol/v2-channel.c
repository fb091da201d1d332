/* The v2 secure channel (Noise NX + records) as a sans-IO engine. See
 * protocol/v2-channel.h for the wire format and the contract. */
#include "protocol/v2-channel.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/v2-internal.h"

/* First allocation of the output buffer: grown on demand, freed as soon as
 * all its bytes were written (an idle channel holds no output buffer). */
#define OUTPUT_INITIAL_CAPACITY 4096u

typedef enum {
  IN_IDLE,       /* client before start */
  IN_PREAMBLE,   /* server: collecting the 8 preamble bytes */
  IN_HS_LENGTH,  /* collecting a handshake message's u16 length */
  IN_HS_BODY,    /* collecting a handshake message */
  IN_REC_LENGTH, /* collecting a record's u16 length */
  IN_REC_BODY,   /* collecting a record */
} input_state;

typedef enum {
  MSG_NONE,
  MSG_READY, /* a received message waits to be taken */
  MSG_TAKEN, /* handed out; wiped by the next feed / next_message */
} message_state;

/* One queued outgoing message (a copy of the caller's bytes). */
typedef struct queued_message {
  struct queued_message *next;
  size_t len;
  size_t sent; /* bytes already encrypted (fragmented messages) */
  uint8_t data[];
} queued_message;

typedef struct {
  queued_message *head;
  queued_message *tail;
} message_queue;

struct chat_v2_channel {
  chat_v2_role role;
  uint8_t suite;          /* client: offered; server: accepted (ANY) then in use */
  size_t max_message;
  size_t max_queue_bytes;
  uint64_t rekey_bytes;
  size_t record_body_max; /* largest record body (test hook may lower it) */
  bool started;
  bool established;
  int error;              /* fatal code, 0 while alive */
  char reason[CHAT_V2_REASON_MAX];

  /* Handshake (freed once established). */
  chat_noise_handshake *hs;
  uint8_t preamble[CHAT_V2_PREAMBLE_LEN];
  uint8_t static_priv[CHAT_V2_KEY_LEN]; /* server */
  uint8_t static_pub[CHAT_V2_KEY_LEN];  /* server */
  bool fixed_ephemeral;
  uint8_t ephemeral_priv[CHAT_V2_KEY_LEN];

  /* Session. */
  uint8_t server_static[CHAT_V2_KEY_LEN];
  uint8_t *server_info;
  size_t server_info_len;
  uint8_t session_id[CHAT_V2_SESSION_ID_LEN];
  uint8_t key_c2s[CHAT_V2_KEY_LEN];
  uint8_t key_s2c[CHAT_V2_KEY_LEN];
  chat_noise_cipher *send_cs;
  chat_noise_cipher *recv_cs;

  /* Input. */
  input_state in;
  uint8_t prefix[CHAT_V2_LENGTH_PREFIX_LEN];
  /* The handshake message or record being collected, allocated at its
   * length (from its u16 prefix) when its first byte arrives and freed once
   * it is processed, or, when it carried a whole MESSAGE, once that message
   * is released: an idle channel holds no receive buffer. */
  uint8_t *rec;
  size_t rec_cap;
  size_t need;
  size_t have;
  uint64_t rx_total;    /* bytes consumed so far */
  uint64_t item_offset; /* stream offset of the item being collected */
  chat_v2_reassembly reasm;
  message_state msg;
  const uint8_t *msg_data;
  size_t msg_len;
  bool msg_fragmented;
  bool peer_closed;

  /* Output: its unread bytes wait to be written. It holds only handshake
   * messages and ciphertext (records are encrypted in place). */
  chat_buffer out;
  message_queue whole;      /* messages that fit one record */
  message_queue fragmented; /* longer ones; the head may be partly sent */
  bool last_was_whole;
  size_t queued_bytes;      /* unencrypted queued plaintext + waiting output */
  chat_transit *transit;    /* the shared budget, or NULL */
  size_t transit_held;      /* bytes of it the send queue holds */
  uint64_t since_rekey;     /* plaintext bytes under the current sending key */
  bool close_requested;
  bool close_sent;
};

/* ---- failure and wiping -------------------------------------------------- */

static void queue_free(message_queue *q) {
  queued_message *m = q->head;
  while (m != NULL) {
    queued_message *next = m->next;
    explicit_bzero(m->data, m->len);
    free(m);
    m = next;
  }
  q->head = q->tail = NULL;
}

/* Wipes and frees the receive buffer. */
static void rec_release(chat_v2_channel *ch) {
  if (ch->rec != NULL) {
    explicit_bzero(ch->rec, ch->rec_cap);
    free(ch->rec);
  }
  ch->rec = NULL;
  ch->rec_cap = 0;
}

/* Frees the output buffer (it holds no secret: see the struct). */
static void out_release(chat_v2_channel *ch) {
  chat_buffer_clear(&ch->out);
}

/* Wipes every secret and drops the queues and the session. */
static void wipe_all(chat_v2_channel *ch) {
  chat_noise_handshake_free(ch->hs);
  ch->hs = NULL;
  chat_noise_cipher_free(ch->send_cs);
  chat_noise_cipher_free(ch->recv_cs);
  ch->send_cs = ch->recv_cs = NULL;
  explicit_bzero(ch->static_priv, sizeof ch->static_priv);
  explicit_bzero(ch->ephemeral_priv, sizeof ch->ephemeral_priv);
  explicit_bzero(ch->key_c2s, sizeof ch->key_c2s);
  explicit_bzero(ch->key_s2c, sizeof ch->key_s2c);
  chat_v2_reassembly_wipe(&ch->reasm);
  if (ch->msg == MSG_TAKEN && !ch->msg_fragmented && ch->rec != NULL)
    explicit_bzero(ch->rec, ch->rec_cap); /* the caller may still hold msg: freed later */
  else
    rec_release(ch);
  ch->msg = MSG_NONE;
  ch->msg_data = NULL;
  ch->msg_len = 0;
  queue_free(&ch->whole);
  queue_free(&ch->fragmented);
  /* Wiped but kept until free, like a taken message: a caller may still
   * hold a pointer from chat_v2_channel_output. */
  if (ch->out.data != NULL)
    explicit_bzero(ch->out.data, ch->out.capacity);
  chat_buffer_reset(&ch->out);
  ch->queued_bytes = 0;
  chat_transit_cover(ch->transit, &ch->transit_held, 0);
}

static int fail(chat_v2_channel *ch, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Kills the channel with a fatal error and returns the code. */
static int fail(chat_v2_channel *ch, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ch->reason, sizeof ch->reason, fmt, ap);
  va_end(ap);
  ch->error = code;
  ch->established = false;
  wipe_all(ch);
  return code;
}

/* A failure of the Noise core outside authentication. */
static int noise_fail(chat_v2_channel *ch, int rc, const char *what) {
  int code = rc == CHAT_NOISE_ERR_NOMEM ? CHAT_V2_ERR_NOMEM : CHAT_V2_ERR_CRYPTO;
  return fail(ch, code, "%s: %s", what, chat_strerror(rc));
}

/* ---- life cycle ---------------------------------------------------------- */

void chat_v2_config_init(chat_v2_config *config) {
  if (config == NULL)
    return;
  memset(config, 0, sizeof *config);
  config->suite = CHAT_V2_SUITE_ANY;
  config->max_message = CHAT_V2_DEFAULT_MAX_MESSAGE;
  config->max_queue_bytes = CHAT_V2_DEFAULT_MAX_QUEUE_BYTES;
  config->rekey_bytes = CHAT_V2_DEFAULT_REKEY_BYTES;
}

static bool config_valid(chat_v2_role role, const chat_v2_config *c) {
  if (c->suite != CHAT_V2_SUITE_ANY && !chat_v2_suite_known(c->suite))
    return false;
  if (c->max_message == 0 || c->max_message > CHAT_V2_MAX_MESSAGE_LIMIT)
    return false;
  if (c->max_queue_bytes < c->max_message || c->rekey_bytes == 0)
    return false;
  if (role == CHAT_V2_ROLE_SERVER) {
    if (c->server_private_key == NULL || c->server_info_len > CHAT_V2_MAX_SERVER_INFO ||
        (c->server_info == NULL && c->server_info_len > 0))
      return false;
  }
  return true;
}

int chat_v2_channel_new(chat_v2_role role, const chat_v2_config *config, chat_v2_channel **out) {
  if (out == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (config == NULL || (role != CHAT_V2_ROLE_CLIENT && role != CHAT_V2_ROLE_SERVER) ||
      !config_valid(role, config))
    return CHAT_V2_ERR_INVALID_ARGUMENT;

  chat_v2_channel *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return CHAT_V2_ERR_NOMEM;
  ch->out.first_capacity = OUTPUT_INITIAL_CAPACITY;
  ch->role = role;
  ch->suite = config->suite;
  ch->max_message = config->max_message;
  ch->max_queue_bytes = config->max_queue_bytes;
  ch->rekey_bytes = config->rekey_bytes;
  ch->record_body_max = chat_v2_record_body_max(CHAT_V2_MAX_RECORD_LEN);
  chat_v2_reassembly_init(&ch->reasm, ch->max_message, ch->record_body_max);
  ch->transit = config->transit;
  ch->reasm.transit = config->transit;
  if (role == CHAT_V2_ROLE_SERVER) {
    memcpy(ch->static_priv, config->server_private_key, CHAT_V2_KEY_LEN);
    if (chat_noise_public_key(ch->static_priv, CHAT_V2_KEY_LEN, ch->static_pub,
                              sizeof ch->static_pub) != CHAT_NOISE_OK) {
      chat_v2_channel_free(ch);
      return CHAT_V2_ERR_INVALID_ARGUMENT;
    }
    if (config->server_info_len > 0) {
      ch->server_info = malloc(config->server_info_len);
      if (ch->server_info == NULL) {
        chat_v2_channel_free(ch);
        return CHAT_V2_ERR_NOMEM;
      }
      memcpy(ch->server_info, config->server_info, config->server_info_len);
      ch->server_info_len = config->server_info_len;
    }
    ch->in = IN_PREAMBLE;
    ch->need = CHAT_V2_PREAMBLE_LEN;
  } else {
    ch->in = IN_IDLE;
  }
  *out = ch;
  return 0;
}

void chat_v2_channel_free(chat_v2_channel *ch) {
  if (ch == NULL)
    return;
  wipe_all(ch);
  rec_release(ch);
  out_release(ch);
  free(ch->server_info);
  explicit_bzero(ch, sizeof *ch);
  free(ch);
}

/* ---- output buffer ------------------------------------------------------- */

/* Makes room for n more bytes at the end of the output; returns where they
 * go (the caller then calls out_commit), or NULL when the channel failed. */
static uint8_t *out_reserve(chat_v2_channel *ch, size_t n) {
  if (chat_buffer_reserve(&ch->out, n) != 0) {
    fail(ch, CHAT_V2_ERR_NOMEM, "cannot grow the output buffer by %zu bytes", n);
    return NULL;
  }
  return ch->out.data + ch->out.len;
}

/* n bytes written at out_reserve's pointer are now output. */
static void out_commit(chat_v2_channel *ch, size_t n) {
  ch->out.len += n;
  ch->queued_bytes += n;
}

/* Encrypts the record `type || total (when not NULL) || body` into the
 * output. counted: whether its plaintext counts towards rekey_bytes. */
static int emit_record(chat_v2_channel *ch, uint8_t type, const uint8_t *total,
                       const uint8_t *body, size_t body_len, bool counted) {
  size_t head = CHAT_V2_RECORD_TYPE_LEN + (total != NULL ? CHAT_V2_TOTAL_LEN_BYTES : 0);
  size_t pt_len = head + body_len;
  size_t ct_len = pt_len + CHAT_V2_TAG_LEN;
  uint8_t *p = out_reserve(ch, CHAT_V2_LENGTH_PREFIX_LEN + ct_len);
  if (p == NULL)
    return ch->error;
  uint8_t *pt = p + CHAT_V2_LENGTH_PREFIX_LEN;
  chat_store_u16be(p, (uint16_t)ct_len);
  pt[0] = type;
  if (total != NULL)
    memcpy(pt + CHAT_V2_RECORD_TYPE_LEN, total, CHAT_V2_TOTAL_LEN_BYTES);
  if (body_len > 0)
    memcpy(pt + head, body, body_len);
  size_t n = 0;
  int rc = chat_noise_cipher_encrypt(ch->send_cs, NULL, 0, pt, pt_len, pt, ct_len, &n);
  if (rc != CHAT_NOISE_OK) {
    explicit_bzero(pt, pt_len);
    return noise_fail(ch, rc, "encrypting a record");
  }
  out_commit(ch, CHAT_V2_LENGTH_PREFIX_LEN + ct_len);
  if (counted)
    ch->since_rekey += pt_len;
  return 0;
}

static void queue_push(message_queue *q, queued_message *m) {
  m->next = NULL;
  if (q->tail != NULL)
    q->tail->next = m;
  else
    q->head = m;
  q->tail = m;
}

static queued_message *queue_pop(message_queue *q) {
  queued_message *m = q->head;
  if (m != NULL) {
    q->head = m->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return m;
}

static void message_free(queued_message *m) {
  explicit_bzero(m->data, m->len);
  free(m);
}

/* The next record of the fragmented message at the head of its queue. */
static int emit_fragment(chat_v2_channel *ch) {
  queued_message *m = ch->fragmented.head;
  size_t chunk;
  int rc;
  if (m->sent == 0) {
    uint8_t total[CHAT_V2_TOTAL_LEN_BYTES];
    chat_store_u32be(total, (uint32_t)m->len);
    chunk = ch->record_body_max - CHAT_V2_TOTAL_LEN_BYTES;
    rc = emit_record(ch, CHAT_V2_RECORD_MESSAGE_BEGIN, total, m->data, chunk, true);
  } else {
    size_t rest = m->len - m->sent;
    bool last = rest <= ch->record_body_max;
    chunk = last ? rest : ch->record_body_max;
    rc = emit_record(ch, last ? CHAT_V2_RECORD_MESSAGE_END : CHAT_V2_RECORD_MESSAGE_CONTINUE, NULL,
                     m->data + m->sent, chunk, true);
  }
  if (rc < 0)
    return rc;
  m->sent += chunk;
  ch->queued_bytes -= chunk;
  if (m->sent == m->len)
    message_free(queue_pop(&ch->fragmented));
  return 0;
}

/* Encrypts the next record from the queues (see "What this sender does").
 * Returns 1 when a record was made, 0 when there is nothing to send. */
static int produce_one(chat_v2_channel *ch) {
  if (!ch->established || ch->close_sent)
    return 0;
  queued_message *whole = ch->whole.head;
  queued_message *frag = ch->fragmented.head;
  int rc;
  if (whole == NULL && frag == NULL) {
    if (!ch->close_requested)
      return 0;
    rc = emit_record(ch, CHAT_V2_RECORD_CLOSE, NULL, NULL, 0, false);
    if (rc < 0)
      return rc;
    ch->close_sent = true;
    return 1;
  }
  if (ch->since_rekey >= ch->rekey_bytes) {
    rc = emit_record(ch, CHAT_V2_RECORD_REKEY, NULL, NULL, 0, false);
    if (rc < 0)
      return rc;
    rc = chat_noise_cipher_rekey(ch->send_cs);
    if (rc != CHAT_NOISE_OK)
      return noise_fail(ch, rc, "rekeying the sending cipher");
    ch->since_rekey = 0;
  }
  if (whole != NULL && (frag == NULL || !ch->last_was_whole)) {
    rc = emit_record(ch, CHAT_V2_RECORD_MESSAGE, NULL, whole->data, whole->len, true);
    if (rc < 0)
      return rc;
    ch->queued_bytes -= whole->len;
    message_free(queue_pop(&ch->whole));
    ch->last_was_whole = true;
  } else {
    rc = emit_fragment(ch);
    if (rc < 0)
      return rc;
    ch->last_was_whole = false;
  }
  return 1;
}

/* ---- handshake ----------------------------------------------------------- */

/* Creates and starts the handshake for ch->suite (preamble set). */
static int handshake_begin(chat_v2_channel *ch) {
  chat_noise_role role =
      ch->role == CHAT_V2_ROLE_CLIENT ? CHAT_NOISE_ROLE_INITIATOR : CHAT_NOISE_ROLE_RESPONDER;
  int rc = chat_noise_handshake_new(chat_v2_suite_protocol(ch->suite), role, &ch->hs);
  if (rc == CHAT_NOISE_OK)
    rc = chat_noise_handshake_set_prologue(ch->hs, ch->preamble, CHAT_V2_PREAMBLE_LEN);
  if (rc == CHAT_NOISE_OK && ch->role == CHAT_V2_ROLE_SERVER)
    rc = chat_noise_handshake_set_local_static(ch->hs, ch->static_priv, CHAT_V2_KEY_LEN);
  if (rc == CHAT_NOISE_OK && ch->fixed_ephemeral)
    rc = chat_noise_handshake_set_fixed_ephemeral(ch->hs, ch->ephemeral_priv, CHAT_V2_KEY_LEN);
  if (rc == CHAT_NOISE_OK)
    rc = chat_noise_handshake_start(ch->hs);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "starting the Noise handshake");
  return 0;
}

/* Moves to the next input item. */
static void expect(chat_v2_channel *ch, input_state in, size_t need) {
  ch->in = in;
  ch->need = need;
  ch->have = 0;
  if (in == IN_HS_LENGTH || in == IN_REC_LENGTH || in == IN_PREAMBLE)
    ch->item_offset = ch->rx_total;
}

/* Split(): the transport ciphers, the session keys; frees the handshake. */
static int handshake_finish(chat_v2_channel *ch) {
  if (chat_noise_handshake_dh_output_was_zero(ch->hs))
    return fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
                "the peer's ephemeral key is a low-order point (all-zero Diffie-Hellman output)");
  int rc;
  if (ch->role == CHAT_V2_ROLE_CLIENT) {
    rc = chat_noise_handshake_get_remote_static(ch->hs, ch->server_static, sizeof ch->server_static);
    if (rc != CHAT_NOISE_OK)
      return noise_fail(ch, rc, "reading the server's static key");
  } else {
    memcpy(ch->server_static, ch->static_pub, CHAT_V2_KEY_LEN);
  }
  rc = chat_noise_handshake_split(ch->hs, &ch->send_cs, &ch->recv_cs);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "splitting the handshake");
  chat_noise_cipher *c2s = ch->role == CHAT_V2_ROLE_CLIENT ? ch->send_cs : ch->recv_cs;
  chat_noise_cipher *s2c = ch->role == CHAT_V2_ROLE_CLIENT ? ch->recv_cs : ch->send_cs;
  rc = chat_noise_cipher_get_key(c2s, ch->key_c2s, sizeof ch->key_c2s);
  if (rc == CHAT_NOISE_OK)
    rc = chat_noise_cipher_get_key(s2c, ch->key_s2c, sizeof ch->key_s2c);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "reading the session keys");
  chat_noise_handshake_free(ch->hs);
  ch->hs = NULL;
  explicit_bzero(ch->ephemeral_priv, sizeof ch->ephemeral_priv);
  ch->established = true;
  expect(ch, IN_REC_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

int chat_v2_channel_start(chat_v2_channel *ch) {
  if (ch == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->started || (ch->role == CHAT_V2_ROLE_SERVER && ch->rx_total > 0))
    return CHAT_V2_ERR_STATE;
  ch->started = true;
  if (ch->role == CHAT_V2_ROLE_SERVER)
    return 0;

  if (ch->suite == CHAT_V2_SUITE_ANY)
    ch->suite = CHAT_V2_SUITE_DEFAULT;
  chat_v2_make_preamble(ch->suite, ch->preamble);
  int rc = handshake_begin(ch);
  if (rc < 0)
    return rc;
  size_t total = CHAT_V2_PREAMBLE_LEN + CHAT_V2_LENGTH_PREFIX_LEN + CHAT_V2_HANDSHAKE1_LEN;
  uint8_t *p = out_reserve(ch, total);
  if (p == NULL)
    return ch->error;
  uint8_t *msg = p + CHAT_V2_PREAMBLE_LEN + CHAT_V2_LENGTH_PREFIX_LEN;
  size_t n = 0;
  static const uint8_t no_payload[1];
  rc = chat_noise_handshake_write_message(ch->hs, no_payload, 0, msg, CHAT_V2_HANDSHAKE1_LEN, &n);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "writing handshake message 1");
  if (n != CHAT_V2_HANDSHAKE1_LEN)
    return fail(ch, CHAT_V2_ERR_CRYPTO, "handshake message 1 has %zu bytes, expected %u", n,
                CHAT_V2_HANDSHAKE1_LEN);
  memcpy(p, ch->preamble, CHAT_V2_PREAMBLE_LEN);
  chat_store_u16be(p + CHAT_V2_PREAMBLE_LEN, (uint16_t)n);
  memcpy(ch->session_id, msg, CHAT_V2_SESSION_ID_LEN);
  out_commit(ch, total);
  expect(ch, IN_HS_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

/* Server: the preamble is complete. */
static int on_preamble(chat_v2_channel *ch) {
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_preamble(ch->preamble, ch->suite, reason, sizeof reason);
  if (rc < 0)
    return fail(ch, rc, "%s", reason);
  ch->suite = ch->preamble[CHAT_V2_SUITE_OFFSET];
  rc = handshake_begin(ch);
  if (rc < 0)
    return rc;
  expect(ch, IN_HS_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

static int on_handshake_length(chat_v2_channel *ch) {
  size_t len = chat_load_u16be(ch->prefix);
  if (ch->role == CHAT_V2_ROLE_SERVER) {
    if (len < CHAT_V2_HANDSHAKE1_LEN)
      return fail(ch, CHAT_V2_ERR_HANDSHAKE_LENGTH,
                  "handshake message 1 at stream offset %" PRIu64 " has %zu bytes; it must have %u",
                  ch->item_offset, len, CHAT_V2_HANDSHAKE1_LEN);
    if (len > CHAT_V2_HANDSHAKE1_LEN)
      return fail(ch, CHAT_V2_ERR_HANDSHAKE_PAYLOAD,
                  "handshake message 1 at stream offset %" PRIu64
                  " has %zu bytes: a %zu-byte payload where it must be empty",
                  ch->item_offset, len, len - CHAT_V2_HANDSHAKE1_LEN);
  } else {
    if (len < CHAT_V2_HANDSHAKE2_MIN_LEN)
      return fail(ch, CHAT_V2_ERR_HANDSHAKE_LENGTH,
                  "handshake message 2 at stream offset %" PRIu64 " has %zu bytes; at least %u needed",
                  ch->item_offset, len, CHAT_V2_HANDSHAKE2_MIN_LEN);
    if (len > CHAT_V2_HANDSHAKE2_MAX_LEN)
      return fail(ch, CHAT_V2_ERR_HANDSHAKE_PAYLOAD,
                  "handshake message 2 at stream offset %" PRIu64
                  " has %zu bytes: server info of %zu bytes, the limit is %u",
                  ch->item_offset, len, len - CHAT_V2_HANDSHAKE2_MIN_LEN, CHAT_V2_MAX_SERVER_INFO);
  }
  expect(ch, IN_HS_BODY, len);
  return 0;
}

/* Server: message 1 is in rec; answers with message 2 and splits. */
static int on_message1(chat_v2_channel *ch) {
  uint8_t payload[1];
  size_t payload_len = 0;
  int rc = chat_noise_handshake_read_message(ch->hs, ch->rec, ch->need, payload, sizeof payload,
                                             &payload_len);
  if (rc != CHAT_NOISE_OK)
    return fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED, "handshake message 1 at stream offset %" PRIu64
                ": %s", ch->item_offset, chat_strerror(rc));
  if (payload_len != 0)
    return fail(ch, CHAT_V2_ERR_HANDSHAKE_PAYLOAD, "handshake message 1 carries a payload");
  memcpy(ch->session_id, ch->rec, CHAT_V2_SESSION_ID_LEN);
  rec_release(ch);

  size_t cap = CHAT_V2_HANDSHAKE2_MIN_LEN + ch->server_info_len;
  uint8_t *p = out_reserve(ch, CHAT_V2_LENGTH_PREFIX_LEN + cap);
  if (p == NULL)
    return ch->error;
  static const uint8_t no_payload[1];
  const uint8_t *info = ch->server_info != NULL ? ch->server_info : no_payload;
  size_t n = 0;
  rc = chat_noise_handshake_write_message(ch->hs, info, ch->server_info_len,
                                          p + CHAT_V2_LENGTH_PREFIX_LEN, cap, &n);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "writing handshake message 2");
  chat_store_u16be(p, (uint16_t)n);
  out_commit(ch, CHAT_V2_LENGTH_PREFIX_LEN + n);
  return handshake_finish(ch);
}

/* Client: message 2 is in rec. */
static int on_message2(chat_v2_channel *ch) {
  uint8_t payload[CHAT_V2_MAX_SERVER_INFO];
  size_t payload_len = 0;
  int rc = chat_noise_handshake_read_message(ch->hs, ch->rec, ch->need, payload, sizeof payload,
                                             &payload_len);
  rec_release(ch);
  if (rc == CHAT_NOISE_ERR_MAC_FAILURE)
    return fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
                "handshake message 2 at stream offset %" PRIu64
                " failed authentication: the preamble or the handshake was altered on the way, "
                "or the server used another suite",
                ch->item_offset);
  if (rc != CHAT_NOISE_OK)
    return fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED, "handshake message 2 at stream offset %" PRIu64
                ": %s", ch->item_offset, chat_strerror(rc));
  if (payload_len > 0) {
    ch->server_info = malloc(payload_len);
    if (ch->server_info == NULL) {
      explicit_bzero(payload, sizeof payload);
      return fail(ch, CHAT_V2_ERR_NOMEM, "cannot allocate %zu bytes of server info", payload_len);
    }
    memcpy(ch->server_info, payload, payload_len);
    ch->server_info_len = payload_len;
  }
  explicit_bzero(payload, sizeof payload);
  return handshake_finish(ch);
}

/* ---- records ------------------------------------------------------------- */

static int on_record_length(chat_v2_channel *ch) {
  size_t len = chat_load_u16be(ch->prefix);
  if (len < CHAT_V2_MIN_RECORD_LEN)
    return fail(ch, CHAT_V2_ERR_RECORD_TOO_SHORT,
                "record at stream offset %" PRIu64 " has length %zu; the minimum is %u",
                ch->item_offset, len, CHAT_V2_MIN_RECORD_LEN);
  expect(ch, IN_REC_BODY, len);
  return 0;
}

/* A whole record is in rec: authenticates and processes it. *stop is set
 * when it completed a message. */
static int on_record(chat_v2_channel *ch, bool *stop) {
  size_t pt_len = 0;
  int rc = chat_noise_cipher_decrypt(ch->recv_cs, NULL, 0, ch->rec, ch->need, ch->rec, ch->need,
                                     &pt_len);
  if (rc == CHAT_NOISE_ERR_MAC_FAILURE)
    return fail(ch, CHAT_V2_ERR_BAD_TAG,
                "record at stream offset %" PRIu64 " (%zu bytes) failed authentication: "
                "tampered, replayed, reordered or dropped records",
                ch->item_offset, ch->need);
  if (rc != CHAT_NOISE_OK)
    return noise_fail(ch, rc, "decrypting a record");

  chat_v2_record_result res;
  char reason[CHAT_V2_REASON_MAX];
  rc = chat_v2_reassembly_record(&ch->reasm, ch->rec, pt_len, &res, reason, sizeof reason);
  if (rc < 0)
    return fail(ch, rc, "record at stream offset %" PRIu64 ": %s", ch->item_offset, reason);
  if (res.type == CHAT_V2_RECORD_REKEY) {
    rc = chat_noise_cipher_rekey(ch->recv_cs);
    if (rc != CHAT_NOISE_OK)
      return noise_fail(ch, rc, "rekeying the receiving cipher");
  } else if (res.type == CHAT_V2_RECORD_CLOSE) {
    ch->peer_closed = true;
  }
  if (res.message != NULL) {
    ch->msg = MSG_READY;
    ch->msg_data = res.message;
    ch->msg_len = res.message_len;
    ch->msg_fragmented = res.fragmented;
    *stop = true;
  }
  /* Fragments were copied into the reassembly buffer: only a whole MESSAGE
   * stays in rec until it is taken and released. */
  if (res.message == NULL || res.fragmented)
    rec_release(ch);
  expect(ch, IN_REC_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

/* Wipes the message handed out last. */
static void release_message(chat_v2_channel *ch) {
  if (ch->msg != MSG_TAKEN)
    return;
  if (ch->msg_fragmented)
    chat_v2_reassembly_release(&ch->reasm);
  else
    rec_release(ch);
  ch->msg = MSG_NONE;
  ch->msg_data = NULL;
  ch->msg_len = 0;
}

/* First capacity of the buffer of the item being collected. */
#define REC_INITIAL_BYTES 4096u

/* Makes room in rec for `need` bytes of the item being collected (of
 * ch->need in all): the buffer grows with what has arrived, not to the
 * length the peer announced. */
static int rec_reserve(chat_v2_channel *ch, size_t need) {
  if (need <= ch->rec_cap)
    return 0;
  size_t cap = ch->rec_cap > 0 ? ch->rec_cap : REC_INITIAL_BYTES;
  while (cap < need)
    cap *= 2;
  if (cap > ch->need)
    cap = ch->need;
  uint8_t *grown = malloc(cap);
  if (grown == NULL)
    return fail(ch, CHAT_V2_ERR_NOMEM, "cannot allocate %zu bytes for the item at stream offset %"
                PRIu64, cap, ch->item_offset);
  if (ch->have > 0)
    memcpy(grown, ch->rec, ch->have);
  rec_release(ch);
  ch->rec = grown;
  ch->rec_cap = cap;
  return 0;
}

/* The item being collected is complete: processes it. */
static int step(chat_v2_channel *ch, bool *stop) {
  switch (ch->in) {
  case IN_PREAMBLE:
    return on_preamble(ch);
  case IN_HS_LENGTH:
    return on_handshake_length(ch);
  case IN_HS_BODY:
    *stop = true;
    return ch->role == CHAT_V2_ROLE_SERVER ? on_message1(ch) : on_message2(ch);
  case IN_REC_LENGTH:
    return on_record_length(ch);
  case IN_REC_BODY:
    return on_record(ch, stop);
  case IN_IDLE:
  default:
    return fail(ch, CHAT_V2_ERR_STATE, "internal error: input in state %d", (int)ch->in);
  }
}

ptrdiff_t chat_v2_channel_feed(chat_v2_channel *ch, const uint8_t *data, size_t len) {
  if (ch == NULL || (data == NULL && len > 0))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->in == IN_IDLE)
    return CHAT_V2_ERR_STATE;
  release_message(ch);
  if (ch->msg == MSG_READY)
    return 0;
  size_t used = 0;
  while (used < len) {
    if (ch->peer_closed)
      return fail(ch, CHAT_V2_ERR_DATA_AFTER_CLOSE,
                  "%zu bytes at stream offset %" PRIu64 " after the peer's CLOSE record",
                  len - used, ch->rx_total);
    uint8_t *dst;
    switch (ch->in) {
    case IN_PREAMBLE:
      dst = ch->preamble;
      break;
    case IN_HS_LENGTH:
    case IN_REC_LENGTH:
      dst = ch->prefix;
      break;
    default:
      dst = NULL;
      break;
    }
    size_t take = ch->need - ch->have;
    if (take > len - used)
      take = len - used;
    if (dst == NULL) {
      int rc = rec_reserve(ch, ch->have + take);
      if (rc < 0)
        return rc;
      dst = ch->rec;
    }
    memcpy(dst + ch->have, data + used, take);
    ch->have += take;
    used += take;
    ch->rx_total += take;
    if (ch->have < ch->need)
      break;
    bool stop = false;
    int rc = step(ch, &stop);
    if (rc < 0)
      return rc;
    if (stop)
      break;
  }
  return (ptrdiff_t)used;
}

int chat_v2_channel_next_message(chat_v2_channel *ch, const uint8_t **msg, size_t *len) {
  if (ch == NULL || msg == NULL || len == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  release_message(ch);
  if (ch->msg != MSG_READY)
    return 0;
  *msg = ch->msg_data;
  *len = ch->msg_len;
  ch->msg = MSG_TAKEN;
  return 1;
}

int chat_v2_channel_eof(chat_v2_channel *ch) {
  if (ch == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->peer_closed)
    return 0;
  if (!ch->established)
    return fail(ch, CHAT_V2_ERR_TRUNCATED,
                "truncated stream: the transport ended during the handshake, after %" PRIu64
                " bytes",
                ch->rx_total);
  if (ch->in == IN_REC_BODY || ch->have > 0)
    return fail(ch, CHAT_V2_ERR_TRUNCATED,
                "truncated stream: the transport ended inside the record at stream offset %" PRIu64
                " (%zu of %zu bytes)",
                ch->item_offset, ch->have, ch->in == IN_REC_BODY ? ch->need : CHAT_V2_LENGTH_PREFIX_LEN);
  if (ch->reasm.in_progress)
    return fail(ch, CHAT_V2_ERR_TRUNCATED,
                "truncated stream: the transport ended at stream offset %" PRIu64
                " without a CLOSE record, inside a fragmented message (%zu of %zu bytes)",
                ch->rx_total, ch->reasm.have, ch->reasm.total);
  return fail(ch, CHAT_V2_ERR_TRUNCATED,
              "truncated stream: the transport ended at stream offset %" PRIu64
              " without a CLOSE record",
              ch->rx_total);
}

/* ---- sending ------------------------------------------------------------- */

int chat_v2_channel_send(chat_v2_channel *ch, const uint8_t *msg, size_t len) {
  if (ch == NULL || (msg == NULL && len > 0))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (!ch->established)
    return CHAT_V2_ERR_STATE;
  if (ch->close_requested)
    return CHAT_V2_ERR_CLOSED;
  if (len == 0)
    return CHAT_V2_ERR_MESSAGE_EMPTY;
  if (len > ch->max_message)
    return CHAT_V2_ERR_MESSAGE_TOO_LARGE;
  if (ch->queued_bytes >= ch->max_queue_bytes || len > ch->max_queue_bytes - ch->queued_bytes)
    return CHAT_V2_ERR_QUEUE_FULL;
  if (!chat_transit_cover(ch->transit, &ch->transit_held, ch->queued_bytes + len))
    return CHAT_V2_ERR_TRANSIT_FULL;
  queued_message *m = malloc(sizeof *m + len);
  if (m == NULL)
    return fail(ch, CHAT_V2_ERR_NOMEM, "cannot queue a message of %zu bytes", len);
  m->len = len;
  m->sent = 0;
  memcpy(m->data, msg, len);
  queue_push(len <= ch->record_body_max ? &ch->whole : &ch->fragmented, m);
  ch->queued_bytes += len;
  return 0;
}

int chat_v2_channel_set_limits(chat_v2_channel *ch, size_t max_message, size_t max_queue_bytes) {
  if (ch == NULL || max_message == 0 || max_message > CHAT_V2_MAX_MESSAGE_LIMIT ||
      max_queue_bytes < max_message)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  ch->max_message = max_message;
  ch->max_queue_bytes = max_queue_bytes;
  ch->reasm.max_message = max_message;
  return 0;
}

int chat_v2_channel_output(chat_v2_channel *ch, const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  while (chat_buffer_unread_len(&ch->out) < CHAT_V2_OUTPUT_BATCH_BYTES) {
    int rc = produce_one(ch);
    if (rc < 0)
      return rc;
    if (rc == 0)
      break;
  }
  *data = chat_buffer_unread(&ch->out);
  *len = chat_buffer_unread_len(&ch->out);
  return 0;
}

int chat_v2_channel_output_consumed(chat_v2_channel *ch, size_t n) {
  if (ch == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (n > chat_buffer_unread_len(&ch->out))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  chat_buffer_consume(&ch->out, n);
  ch->queued_bytes -= n;
  chat_transit_cover(ch->transit, &ch->transit_held, ch->queued_bytes); /* gives back */
  if (chat_buffer_unread_len(&ch->out) == 0)
    out_release(ch);
  return 0;
}

bool chat_v2_channel_output_idle(const chat_v2_channel *ch) {
  if (ch == NULL || ch->error != 0)
    return true;
  return chat_buffer_unread_len(&ch->out) == 0 && ch->whole.head == NULL && ch->fragmented.head == NULL &&
         (!ch->close_requested || ch->close_sent);
}

int chat_v2_channel_close(chat_v2_channel *ch) {
  if (ch == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (!ch->established)
    return CHAT_V2_ERR_STATE;
  if (ch->close_requested)
    return CHAT_V2_ERR_CLOSED;
  ch->close_requested = true;
  return 0;
}

/* ---- accessors ----------------------------------------------------------- */

bool chat_v2_channel_is_established(const chat_v2_channel *ch) {
  return ch != NULL && ch->error == 0 && ch->established;
}

uint8_t chat_v2_channel_suite(const chat_v2_channel *ch) {
  if (ch == NULL)
    return CHAT_V2_SUITE_ANY;
  if (ch->role == CHAT_V2_ROLE_CLIENT)
    return ch->started ? ch->suite : CHAT_V2_SUITE_ANY;
  return ch->hs != NULL || ch->established ? ch->suite : CHAT_V2_SUITE_ANY;
}

bool chat_v2_channel_peer_closed(const chat_v2_channel *ch) {
  return ch != NULL && ch->peer_closed;
}

/* Common checks of the accessors that need an established channel. */
static int check_established(const chat_v2_channel *ch) {
  if (ch->error != 0)
    return ch->error;
  return ch->established ? 0 : CHAT_V2_ERR_STATE;
}

int chat_v2_channel_server_static(const chat_v2_channel *ch, uint8_t out[CHAT_V2_KEY_LEN]) {
  if (ch == NULL || out == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_established(ch);
  if (rc < 0)
    return rc;
  memcpy(out, ch->server_static, CHAT_V2_KEY_LEN);
  return 0;
}

int chat_v2_channel_server_info(const chat_v2_channel *ch, const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_established(ch);
  if (rc < 0)
    return rc;
  *data = ch->server_info;
  *len = ch->server_info_len;
  return 0;
}

int chat_v2_channel_session_keys(const chat_v2_channel *ch, uint8_t session_id[CHAT_V2_SESSION_ID_LEN],
                                 uint8_t c2s_key[CHAT_V2_KEY_LEN], uint8_t s2c_key[CHAT_V2_KEY_LEN]) {
  if (ch == NULL || session_id == NULL || c2s_key == NULL || s2c_key == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_established(ch);
  if (rc < 0)
    return rc;
  memcpy(session_id, ch->session_id, CHAT_V2_SESSION_ID_LEN);
  memcpy(c2s_key, ch->key_c2s, CHAT_V2_KEY_LEN);
  memcpy(s2c_key, ch->key_s2c, CHAT_V2_KEY_LEN);
  return 0;
}

int chat_v2_channel_error(const chat_v2_channel *ch) {
  return ch != NULL ? ch->error : CHAT_V2_ERR_INVALID_ARGUMENT;
}

const char *chat_v2_channel_error_message(const chat_v2_channel *ch) {
  return ch != NULL && ch->error != 0 ? ch->reason : "";
}

/* ---- test hooks ---------------------------------------------------------- */

/* True before any byte moved in either direction. */
static bool untouched(const chat_v2_channel *ch) {
  return !ch->started && ch->rx_total == 0;
}

int chat_v2_channel_test_set_ephemeral(chat_v2_channel *ch, const uint8_t priv[CHAT_V2_KEY_LEN]) {
  if (ch == NULL || priv == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (!untouched(ch))
    return CHAT_V2_ERR_STATE;
  memcpy(ch->ephemeral_priv, priv, CHAT_V2_KEY_LEN);
  ch->fixed_ephemeral = true;
  return 0;
}

int chat_v2_channel_test_set_record_size(chat_v2_channel *ch, size_t max_record_len) {
  if (ch == NULL || max_record_len < CHAT_V2_TEST_MIN_RECORD_LEN ||
      max_record_len > CHAT_V2_MAX_RECORD_LEN)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (!untouched(ch))
    return CHAT_V2_ERR_STATE;
  ch->record_body_max = chat_v2_record_body_max(max_record_len);
  ch->reasm.record_body_max = ch->record_body_max;
  return 0;
}

int chat_v2_channel_test_send_record(chat_v2_channel *ch, uint8_t type, const uint8_t *body,
                                     size_t body_len) {
  if (ch == NULL || (body == NULL && body_len > 0) || body_len > CHAT_V2_MAX_RECORD_BODY)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_established(ch);
  if (rc < 0)
    return rc;
  return emit_record(ch, type, NULL, body, body_len, false);
}

size_t chat_v2_channel_test_buffered_bytes(const chat_v2_channel *ch) {
  if (ch == NULL)
    return 0;
  size_t bytes = ch->rec_cap + ch->out.capacity + ch->reasm.delivered_len;
  if (ch->reasm.buf != NULL)
    bytes += ch->reasm.capacity;
  const message_queue *queues[] = {&ch->whole, &ch->fragmented};
  for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++)
    for (const queued_message *m = queues[i]->head; m != NULL; m = m->next)
      bytes += m->len;
  return bytes;
}
