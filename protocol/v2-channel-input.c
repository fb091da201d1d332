/* The v2 channel's handshake and receiving side: the client's start, the
 * input state machine (preamble, handshake messages 1 and 2, Split(), record
 * lengths and records), received messages and the end of the stream. See
 * protocol/v2-channel.h for the contract and v2-channel-private.h for the
 * state it shares with v2-channel.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/v2-channel-private.h"

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
    return chat_v2_noise_fail(ch, rc, "starting the Noise handshake");
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
    return chat_v2_fail(
        ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
        "the peer's ephemeral key is a low-order point (all-zero Diffie-Hellman output)");
  int rc;
  if (ch->role == CHAT_V2_ROLE_CLIENT) {
    rc =
        chat_noise_handshake_get_remote_static(ch->hs, ch->server_static, sizeof ch->server_static);
    if (rc != CHAT_NOISE_OK)
      return chat_v2_noise_fail(ch, rc, "reading the server's static key");
  } else {
    memcpy(ch->server_static, ch->static_pub, CHAT_V2_KEY_LEN);
  }
  rc = chat_noise_handshake_split(ch->hs, &ch->send_cs, &ch->recv_cs);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_noise_fail(ch, rc, "splitting the handshake");
  chat_noise_cipher *c2s = ch->role == CHAT_V2_ROLE_CLIENT ? ch->send_cs : ch->recv_cs;
  chat_noise_cipher *s2c = ch->role == CHAT_V2_ROLE_CLIENT ? ch->recv_cs : ch->send_cs;
  rc = chat_noise_cipher_get_key(c2s, ch->key_c2s, sizeof ch->key_c2s);
  if (rc == CHAT_NOISE_OK)
    rc = chat_noise_cipher_get_key(s2c, ch->key_s2c, sizeof ch->key_s2c);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_noise_fail(ch, rc, "reading the session keys");
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
  size_t msg_len = CHAT_V2_HANDSHAKE1_LEN + ch->client_info_len;
  size_t total = CHAT_V2_PREAMBLE_LEN + CHAT_V2_LENGTH_PREFIX_LEN + msg_len;
  uint8_t *p = chat_v2_out_reserve(ch, total);
  if (p == NULL)
    return ch->error;
  uint8_t *msg = p + CHAT_V2_PREAMBLE_LEN + CHAT_V2_LENGTH_PREFIX_LEN;
  size_t n = 0;
  static const uint8_t no_payload[1];
  const uint8_t *info = ch->client_info != NULL ? ch->client_info : no_payload;
  /* `-> e` has no key yet: the payload goes out in the clear, and is mixed
   * into the handshake hash, which message 2 authenticates. */
  rc = chat_noise_handshake_write_message(ch->hs, info, ch->client_info_len, msg, msg_len, &n);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_noise_fail(ch, rc, "writing handshake message 1");
  if (n != msg_len)
    return chat_v2_fail(ch, CHAT_V2_ERR_CRYPTO, "handshake message 1 has %zu bytes, expected %zu",
                        n, msg_len);
  memcpy(p, ch->preamble, CHAT_V2_PREAMBLE_LEN);
  chat_store_u16be(p + CHAT_V2_PREAMBLE_LEN, (uint16_t)n);
  memcpy(ch->session_id, msg, CHAT_V2_SESSION_ID_LEN);
  chat_v2_out_commit(ch, total);
  expect(ch, IN_HS_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

/* Server: the preamble is complete. */
static int on_preamble(chat_v2_channel *ch) {
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_preamble(ch->preamble, ch->suite, reason, sizeof reason);
  if (rc < 0)
    return chat_v2_fail(ch, rc, "%s", reason);
  ch->suite = ch->preamble[CHAT_V2_SUITE_OFFSET];
  rc = handshake_begin(ch);
  if (rc < 0)
    return rc;
  expect(ch, IN_HS_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

static int on_handshake_length(chat_v2_channel *ch) {
  size_t len = chat_load_u16be(ch->prefix);
  bool from_client = ch->role == CHAT_V2_ROLE_SERVER;
  if (!from_client && len == ((size_t)chat_v2_magic[0] << 8 | chat_v2_magic[1])) {
    /* 00 43: the start of the server's refusal of our preamble. */
    expect(ch, IN_REFUSAL, CHAT_V2_REFUSAL_LEN - CHAT_V2_LENGTH_PREFIX_LEN);
    return 0;
  }
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_handshake_length(from_client, len, reason, sizeof reason);
  if (rc < 0)
    return chat_v2_fail(ch, rc, "at stream offset %" PRIu64 ": %s", ch->item_offset, reason);
  expect(ch, IN_HS_BODY, len);
  return 0;
}

/* Server: message 1 is in rec; answers with message 2 and splits. */
static int on_message1(chat_v2_channel *ch) {
  uint8_t payload[CHAT_V2_MAX_CLIENT_INFO];
  size_t payload_len = 0;
  int rc = chat_noise_handshake_read_message(ch->hs, ch->rec, ch->need, payload, sizeof payload,
                                             &payload_len);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
                        "handshake message 1 at stream offset %" PRIu64 ": %s", ch->item_offset,
                        chat_strerror(rc));
  if (payload_len > 0) {
    ch->client_info = malloc(payload_len);
    if (ch->client_info == NULL)
      return chat_v2_fail(ch, CHAT_V2_ERR_NOMEM, "cannot allocate %zu bytes of client info",
                          payload_len);
    memcpy(ch->client_info, payload, payload_len);
    ch->client_info_len = payload_len;
  }
  memcpy(ch->session_id, ch->rec, CHAT_V2_SESSION_ID_LEN);
  chat_v2_rec_release(ch);

  size_t cap = CHAT_V2_HANDSHAKE2_MIN_LEN + ch->server_info_len;
  uint8_t *p = chat_v2_out_reserve(ch, CHAT_V2_LENGTH_PREFIX_LEN + cap);
  if (p == NULL)
    return ch->error;
  static const uint8_t no_payload[1];
  const uint8_t *info = ch->server_info != NULL ? ch->server_info : no_payload;
  size_t n = 0;
  rc = chat_noise_handshake_write_message(ch->hs, info, ch->server_info_len,
                                          p + CHAT_V2_LENGTH_PREFIX_LEN, cap, &n);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_noise_fail(ch, rc, "writing handshake message 2");
  chat_store_u16be(p, (uint16_t)n);
  chat_v2_out_commit(ch, CHAT_V2_LENGTH_PREFIX_LEN + n);
  return handshake_finish(ch);
}

/* Client: message 2 is in rec. */
static int on_message2(chat_v2_channel *ch) {
  uint8_t payload[CHAT_V2_MAX_SERVER_INFO];
  size_t payload_len = 0;
  int rc = chat_noise_handshake_read_message(ch->hs, ch->rec, ch->need, payload, sizeof payload,
                                             &payload_len);
  chat_v2_rec_release(ch);
  if (rc == CHAT_NOISE_ERR_MAC_FAILURE)
    return chat_v2_fail(
        ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
        "handshake message 2 at stream offset %" PRIu64
        " failed authentication: the preamble or the handshake was altered on the way, "
        "or the server used another suite",
        ch->item_offset);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_fail(ch, CHAT_V2_ERR_HANDSHAKE_FAILED,
                        "handshake message 2 at stream offset %" PRIu64 ": %s", ch->item_offset,
                        chat_strerror(rc));
  if (payload_len > 0) {
    ch->server_info = malloc(payload_len);
    if (ch->server_info == NULL) {
      explicit_bzero(payload, sizeof payload);
      return chat_v2_fail(ch, CHAT_V2_ERR_NOMEM, "cannot allocate %zu bytes of server info",
                          payload_len);
    }
    memcpy(ch->server_info, payload, payload_len);
    ch->server_info_len = payload_len;
  }
  explicit_bzero(payload, sizeof payload);
  return handshake_finish(ch);
}

/* Client: the 6 bytes after 00 43 are in rec. The server's refusal (see
 * chat_v2_make_refusal), or a message 2 too short to be one. */
static int on_refusal(chat_v2_channel *ch) {
  const uint8_t *r = ch->rec; /* bytes 2..7 of the refusal */
  bool refusal = memcmp(r, chat_v2_magic + CHAT_V2_LENGTH_PREFIX_LEN,
                        CHAT_V2_MAGIC_LEN - CHAT_V2_LENGTH_PREFIX_LEN) == 0 &&
                 r[6 - CHAT_V2_LENGTH_PREFIX_LEN] == 0;
  if (!refusal) {
    chat_v2_rec_release(ch);
    return chat_v2_fail(ch, CHAT_V2_ERR_HANDSHAKE_LENGTH,
                        "handshake message 2 at stream offset %" PRIu64
                        " has 67 bytes; at least %u needed",
                        ch->item_offset, CHAT_V2_HANDSHAKE2_MIN_LEN);
  }
  unsigned version = r[CHAT_V2_REFUSAL_VERSION_OFFSET - CHAT_V2_LENGTH_PREFIX_LEN];
  unsigned reason = r[CHAT_V2_REFUSAL_REASON_OFFSET - CHAT_V2_LENGTH_PREFIX_LEN];
  chat_v2_rec_release(ch);
  switch (reason) {
  case CHAT_V2_REFUSE_VERSION:
    return chat_v2_fail(ch, CHAT_V2_ERR_REFUSED,
                        "the server speaks protocol version %u; this program speaks %u", version,
                        CHAT_V2_VERSION);
  case CHAT_V2_REFUSE_SUITE:
    return chat_v2_fail(ch, CHAT_V2_ERR_REFUSED,
                        "the server (protocol version %u) does not accept cipher suite 0x%02x (%s)",
                        version, ch->suite, chat_v2_suite_cipher(ch->suite));
  case CHAT_V2_REFUSE_RESERVED:
    return chat_v2_fail(ch, CHAT_V2_ERR_REFUSED,
                        "the server (protocol version %u) refused the preamble's reserved byte",
                        version);
  default:
    return chat_v2_fail(ch, CHAT_V2_ERR_REFUSED,
                        "the server (protocol version %u) refused the connection (reason %u)",
                        version, reason);
  }
}

/* ---- records ------------------------------------------------------------- */

static int on_record_length(chat_v2_channel *ch) {
  size_t len = chat_load_u16be(ch->prefix);
  if (len < CHAT_V2_MIN_RECORD_LEN)
    return chat_v2_fail(ch, CHAT_V2_ERR_RECORD_TOO_SHORT,
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
    return chat_v2_fail(ch, CHAT_V2_ERR_BAD_TAG,
                        "record at stream offset %" PRIu64 " (%zu bytes) failed authentication: "
                        "tampered, replayed, reordered or dropped records",
                        ch->item_offset, ch->need);
  if (rc != CHAT_NOISE_OK)
    return chat_v2_noise_fail(ch, rc, "decrypting a record");

  chat_v2_record_result res;
  char reason[CHAT_V2_REASON_MAX];
  rc = chat_v2_reassembly_record(&ch->reasm, ch->rec, pt_len, &res, reason, sizeof reason);
  if (rc < 0)
    return chat_v2_fail(ch, rc, "record at stream offset %" PRIu64 ": %s", ch->item_offset, reason);
  if (res.type == CHAT_V2_RECORD_REKEY) {
    rc = chat_noise_cipher_rekey(ch->recv_cs);
    if (rc != CHAT_NOISE_OK)
      return chat_v2_noise_fail(ch, rc, "rekeying the receiving cipher");
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
    chat_v2_rec_release(ch);
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
    chat_v2_rec_release(ch);
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
    return chat_v2_fail(ch, CHAT_V2_ERR_NOMEM,
                        "cannot allocate %zu bytes for the item at stream offset %" PRIu64, cap,
                        ch->item_offset);
  if (ch->have > 0)
    memcpy(grown, ch->rec, ch->have);
  chat_v2_rec_release(ch);
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
  case IN_REFUSAL:
    return on_refusal(ch);
  case IN_IDLE:
  default:
    return chat_v2_fail(ch, CHAT_V2_ERR_STATE, "internal error: input in state %d", (int)ch->in);
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
      return chat_v2_fail(ch, CHAT_V2_ERR_DATA_AFTER_CLOSE,
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
    return chat_v2_fail(ch, CHAT_V2_ERR_TRUNCATED,
                        "truncated stream: the transport ended during the handshake, after %" PRIu64
                        " bytes",
                        ch->rx_total);
  if (ch->in == IN_REC_BODY || ch->have > 0)
    return chat_v2_fail(
        ch, CHAT_V2_ERR_TRUNCATED,
        "truncated stream: the transport ended inside the record at stream offset %" PRIu64
        " (%zu of %zu bytes)",
        ch->item_offset, ch->have, ch->in == IN_REC_BODY ? ch->need : CHAT_V2_LENGTH_PREFIX_LEN);
  if (ch->reasm.in_progress)
    return chat_v2_fail(ch, CHAT_V2_ERR_TRUNCATED,
                        "truncated stream: the transport ended at stream offset %" PRIu64
                        " without a CLOSE record, inside a fragmented message (%zu of %zu bytes)",
                        ch->rx_total, ch->reasm.have, ch->reasm.total);
  return chat_v2_fail(ch, CHAT_V2_ERR_TRUNCATED,
                      "truncated stream: the transport ended at stream offset %" PRIu64
                      " without a CLOSE record",
                      ch->rx_total);
}
