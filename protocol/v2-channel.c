/* The v2 secure channel (Noise NX + records) as a sans-IO engine. See
 * protocol/v2-channel.h for the wire format and the contract. This file:
 * the life cycle, failure and wiping, the sending side (queues, records,
 * output) and the accessors; the handshake and the receiving side are in
 * v2-channel-input.c. */
#include "protocol/v2-channel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/v2-channel-private.h"
#include "protocol/v2-internal.h"

/* First allocation of the output buffer: grown on demand, freed as soon as
 * all its bytes were written (an idle channel holds no output buffer). */
#define OUTPUT_INITIAL_CAPACITY 4096u

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
void chat_v2_rec_release(chat_v2_channel *ch) {
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
    chat_v2_rec_release(ch);
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

/* Kills the channel with a fatal error and returns the code. */
int chat_v2_fail(chat_v2_channel *ch, int code, const char *fmt, ...) {
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
int chat_v2_noise_fail(chat_v2_channel *ch, int rc, const char *what) {
  int code = rc == CHAT_NOISE_ERR_NOMEM ? CHAT_V2_ERR_NOMEM : CHAT_V2_ERR_CRYPTO;
  return chat_v2_fail(ch, code, "%s: %s", what, chat_strerror(rc));
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
  } else if (c->client_info_len > CHAT_V2_MAX_CLIENT_INFO ||
             (c->client_info == NULL && c->client_info_len > 0)) {
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
    if (config->client_info_len > 0) {
      ch->client_info = malloc(config->client_info_len);
      if (ch->client_info == NULL) {
        chat_v2_channel_free(ch);
        return CHAT_V2_ERR_NOMEM;
      }
      memcpy(ch->client_info, config->client_info, config->client_info_len);
      ch->client_info_len = config->client_info_len;
    }
    ch->in = IN_IDLE;
  }
  *out = ch;
  return 0;
}

void chat_v2_channel_free(chat_v2_channel *ch) {
  if (ch == NULL)
    return;
  wipe_all(ch);
  chat_v2_rec_release(ch);
  out_release(ch);
  free(ch->server_info);
  free(ch->client_info);
  explicit_bzero(ch, sizeof *ch);
  free(ch);
}

/* ---- output buffer ------------------------------------------------------- */

/* Makes room for n more bytes at the end of the output; returns where they
 * go (the caller then calls out_commit), or NULL when the channel failed. */
uint8_t *chat_v2_out_reserve(chat_v2_channel *ch, size_t n) {
  if (chat_buffer_reserve(&ch->out, n) != 0) {
    chat_v2_fail(ch, CHAT_V2_ERR_NOMEM, "cannot grow the output buffer by %zu bytes", n);
    return NULL;
  }
  return ch->out.data + ch->out.len;
}

/* n bytes written at out_reserve's pointer are now output. */
void chat_v2_out_commit(chat_v2_channel *ch, size_t n) {
  ch->out.len += n;
  ch->queued_bytes += n;
}

/* Encrypts the record `type || total (when not NULL) || body` into the
 * output. counted: whether its plaintext counts towards rekey_bytes. */
static int emit_record(chat_v2_channel *ch, uint8_t type, const uint8_t *total, const uint8_t *body,
                       size_t body_len, bool counted) {
  size_t head = CHAT_V2_RECORD_TYPE_LEN + (total != NULL ? CHAT_V2_TOTAL_LEN_BYTES : 0);
  size_t pt_len = head + body_len;
  size_t ct_len = pt_len + CHAT_V2_TAG_LEN;
  uint8_t *p = chat_v2_out_reserve(ch, CHAT_V2_LENGTH_PREFIX_LEN + ct_len);
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
    return chat_v2_noise_fail(ch, rc, "encrypting a record");
  }
  chat_v2_out_commit(ch, CHAT_V2_LENGTH_PREFIX_LEN + ct_len);
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
      return chat_v2_noise_fail(ch, rc, "rekeying the sending cipher");
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

/* ---- sending ------------------------------------------------------------- */

/* Common checks of the calls that need an established channel. */
static int check_established(const chat_v2_channel *ch) {
  if (ch->error != 0)
    return ch->error;
  return ch->established ? 0 : CHAT_V2_ERR_STATE;
}

/* Whether messages may be queued: established and not closed. */
static int check_may_send(const chat_v2_channel *ch) {
  int rc = check_established(ch);
  if (rc != 0)
    return rc;
  return ch->close_requested ? CHAT_V2_ERR_CLOSED : 0;
}

int chat_v2_channel_send(chat_v2_channel *ch, const uint8_t *msg, size_t len) {
  if (ch == NULL || (msg == NULL && len > 0))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_may_send(ch);
  if (rc != 0)
    return rc;
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
    return chat_v2_fail(ch, CHAT_V2_ERR_NOMEM, "cannot queue a message of %zu bytes", len);
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
  return chat_buffer_unread_len(&ch->out) == 0 && ch->whole.head == NULL &&
         ch->fragmented.head == NULL && (!ch->close_requested || ch->close_sent);
}

int chat_v2_channel_close(chat_v2_channel *ch) {
  if (ch == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_may_send(ch);
  if (rc != 0)
    return rc;
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

int chat_v2_channel_client_info(const chat_v2_channel *ch, const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  int rc = check_established(ch);
  if (rc < 0)
    return rc;
  *data = ch->client_info;
  *len = ch->client_info_len;
  return 0;
}

int chat_v2_channel_session_keys(const chat_v2_channel *ch,
                                 uint8_t session_id[CHAT_V2_SESSION_ID_LEN],
                                 uint8_t c2s_key[CHAT_V2_KEY_LEN],
                                 uint8_t s2c_key[CHAT_V2_KEY_LEN]) {
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
