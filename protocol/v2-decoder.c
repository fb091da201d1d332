/* Passive decoder of one direction of a v2 connection (for captures). See
 * protocol/v2-channel.h, "Passive stream decoder". */
#include "protocol/v2-channel.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/decoder-core.h"
#include "protocol/v2-internal.h"

#define HANDSHAKE_MESSAGE_1 1u
#define HANDSHAKE_MESSAGE_2 2u

typedef enum {
  DEC_PREAMBLE,
  DEC_HS_LENGTH,
  DEC_HS_BODY,
  DEC_REC_LENGTH,
  DEC_REC_BODY,
} decoder_state;

struct chat_v2_stream_decoder {
  chat_decoder_core core; /* first: the callbacks cast back */
  chat_v2_direction dir;
  uint8_t suite; /* given, or from the preamble */
  bool have_key;
  uint8_t key[CHAT_V2_KEY_LEN];
  chat_noise_cipher *cs; /* made from key at the first record */
  size_t record_body_max;

  decoder_state st;
  uint8_t preamble[CHAT_V2_PREAMBLE_LEN];
  uint8_t prefix[CHAT_V2_LENGTH_PREFIX_LEN];
  uint8_t *rec;     /* CHAT_V2_MAX_RECORD_LEN */
  size_t rec_plain; /* plaintext bytes left in rec by the last record */
  bool records_seen;
  bool closed;
  chat_v2_reassembly reasm;

  chat_v2_stream_event events[CHAT_DECODER_MAX_EVENTS];
};

static const chat_decoder_ops v2_decoder_ops;

/* Records a sticky error (which wipes the key material). */
#define dec_fail(dec, ...) chat_decoder_fail(&(dec)->core, __VA_ARGS__)

/* On a sticky error and at the end: the key material and plaintext go. */
static void wipe(chat_decoder_core *core) {
  chat_v2_stream_decoder *dec = (chat_v2_stream_decoder *)core;
  chat_noise_cipher_free(dec->cs);
  dec->cs = NULL;
  explicit_bzero(dec->key, sizeof dec->key);
  chat_v2_reassembly_wipe(&dec->reasm);
  if (dec->rec != NULL)
    explicit_bzero(dec->rec, CHAT_V2_MAX_RECORD_LEN);
}

int chat_v2_stream_decoder_new(chat_v2_direction direction, uint8_t suite, const uint8_t *key,
                               size_t max_message, chat_v2_stream_decoder **out) {
  if (out == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (direction != CHAT_V2_CLIENT_TO_SERVER && direction != CHAT_V2_SERVER_TO_CLIENT)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (suite != CHAT_V2_SUITE_ANY && !chat_v2_suite_known(suite))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (key != NULL && direction == CHAT_V2_SERVER_TO_CLIENT && suite == CHAT_V2_SUITE_ANY)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (max_message > CHAT_V2_MAX_MESSAGE_LIMIT)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (max_message == 0)
    max_message = CHAT_V2_DEFAULT_MAX_MESSAGE;

  chat_v2_stream_decoder *dec = calloc(1, sizeof *dec);
  if (dec == NULL)
    return CHAT_V2_ERR_NOMEM;
  dec->rec = malloc(CHAT_V2_MAX_RECORD_LEN);
  if (dec->rec == NULL) {
    free(dec);
    return CHAT_V2_ERR_NOMEM;
  }
  dec->dir = direction;
  dec->suite = suite;
  dec->record_body_max = chat_v2_record_body_max(CHAT_V2_MAX_RECORD_LEN);
  chat_v2_reassembly_init(&dec->reasm, max_message, dec->record_body_max);
  if (key != NULL) {
    memcpy(dec->key, key, CHAT_V2_KEY_LEN);
    dec->have_key = true;
  }
  if (direction == CHAT_V2_CLIENT_TO_SERVER)
    dec->st = DEC_PREAMBLE;
  else
    dec->st = DEC_HS_LENGTH;
  chat_decoder_init(&dec->core, &v2_decoder_ops, dec->events, sizeof dec->events[0],
                    CHAT_V2_REASON_MAX, 0,
                    dec->st == DEC_PREAMBLE ? CHAT_V2_PREAMBLE_LEN : CHAT_V2_LENGTH_PREFIX_LEN);
  *out = dec;
  return 0;
}

void chat_v2_stream_decoder_free(chat_v2_stream_decoder *dec) {
  if (dec == NULL)
    return;
  wipe(&dec->core);
  free(dec->rec);
  explicit_bzero(dec, sizeof *dec);
  free(dec);
}

int chat_v2_stream_decoder_set_key(chat_v2_stream_decoder *dec,
                                   const uint8_t key[CHAT_V2_KEY_LEN]) {
  if (dec == NULL || key == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->core.error != 0)
    return dec->core.error;
  if (dec->dir == CHAT_V2_SERVER_TO_CLIENT && dec->suite == CHAT_V2_SUITE_ANY)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->records_seen || dec->have_key)
    return CHAT_V2_ERR_STATE;
  memcpy(dec->key, key, CHAT_V2_KEY_LEN);
  dec->have_key = true;
  return 0;
}

int chat_v2_stream_decoder_test_set_record_size(chat_v2_stream_decoder *dec,
                                                size_t max_record_len) {
  if (dec == NULL || max_record_len < CHAT_V2_TEST_MIN_RECORD_LEN ||
      max_record_len > CHAT_V2_MAX_RECORD_LEN)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->core.consumed > 0)
    return CHAT_V2_ERR_STATE;
  dec->record_body_max = chat_v2_record_body_max(max_record_len);
  dec->reasm.record_body_max = dec->record_body_max;
  return 0;
}

static void expect(chat_v2_stream_decoder *dec, decoder_state st, size_t need) {
  dec->st = st;
  chat_decoder_expect(&dec->core, need, st != DEC_HS_BODY && st != DEC_REC_BODY);
}

static chat_v2_stream_event *add_event(chat_v2_stream_decoder *dec, chat_v2_event_kind kind) {
  chat_v2_stream_event *ev = chat_decoder_add_event(&dec->core);
  ev->kind = kind;
  ev->offset = dec->core.item_offset;
  return ev;
}

static int on_preamble(chat_v2_stream_decoder *dec) {
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_preamble(dec->preamble, dec->suite, reason, sizeof reason);
  if (rc < 0)
    return dec_fail(dec, rc, dec->core.item_offset, "offset %" PRIu64 ": %s", dec->core.item_offset,
                    reason);
  dec->suite = dec->preamble[CHAT_V2_SUITE_OFFSET];
  chat_v2_stream_event *ev = add_event(dec, CHAT_V2_EVENT_PREAMBLE);
  ev->wire_len = CHAT_V2_PREAMBLE_LEN;
  ev->version = dec->preamble[CHAT_V2_VERSION_OFFSET];
  ev->suite = dec->suite;
  expect(dec, DEC_HS_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

static int on_handshake_length(chat_v2_stream_decoder *dec) {
  size_t len = chat_load_u16be(dec->prefix);
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_handshake_length(dec->dir == CHAT_V2_CLIENT_TO_SERVER, len, reason,
                                          sizeof reason);
  if (rc < 0)
    return dec_fail(dec, rc, dec->core.item_offset, "offset %" PRIu64 ": %s", dec->core.item_offset,
                    reason);
  expect(dec, DEC_HS_BODY, len);
  return 0;
}

static void on_handshake(chat_v2_stream_decoder *dec) {
  chat_v2_stream_event *ev = add_event(dec, CHAT_V2_EVENT_HANDSHAKE);
  ev->wire_len = CHAT_V2_LENGTH_PREFIX_LEN + dec->core.need;
  ev->noise_len = dec->core.need;
  if (dec->dir == CHAT_V2_CLIENT_TO_SERVER) {
    ev->handshake_message = HANDSHAKE_MESSAGE_1;
    ev->has_session_id = true;
    memcpy(ev->session_id, dec->rec, CHAT_V2_SESSION_ID_LEN);
  } else {
    ev->handshake_message = HANDSHAKE_MESSAGE_2;
  }
  expect(dec, DEC_REC_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
}

static int on_record_length(chat_v2_stream_decoder *dec) {
  size_t len = chat_load_u16be(dec->prefix);
  if (len < CHAT_V2_MIN_RECORD_LEN)
    return dec_fail(dec, CHAT_V2_ERR_RECORD_TOO_SHORT, dec->core.item_offset,
                    "offset %" PRIu64 ": record length %zu; the minimum is %u",
                    dec->core.item_offset, len, CHAT_V2_MIN_RECORD_LEN);
  expect(dec, DEC_REC_BODY, len);
  return 0;
}

static int on_record(chat_v2_stream_decoder *dec) {
  size_t len = dec->core.need;
  dec->records_seen = true;
  chat_v2_stream_event *ev = add_event(dec, CHAT_V2_EVENT_RECORD);
  ev->wire_len = CHAT_V2_LENGTH_PREFIX_LEN + len;
  ev->noise_len = len;
  if (!dec->have_key) {
    expect(dec, DEC_REC_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
    return 0;
  }
  int rc;
  if (dec->cs == NULL) {
    rc = chat_noise_cipher_new_with_key(chat_v2_suite_cipher(dec->suite), dec->key, CHAT_V2_KEY_LEN,
                                        &dec->cs);
    if (rc != CHAT_NOISE_OK)
      return dec_fail(dec, rc == CHAT_NOISE_ERR_NOMEM ? CHAT_V2_ERR_NOMEM : CHAT_V2_ERR_CRYPTO,
                      dec->core.item_offset, "cannot set up the cipher: %s", chat_strerror(rc));
  }
  size_t pt_len = 0;
  rc = chat_noise_cipher_decrypt(dec->cs, NULL, 0, dec->rec, len, dec->rec, len, &pt_len);
  if (rc == CHAT_NOISE_ERR_MAC_FAILURE)
    return dec_fail(dec, CHAT_V2_ERR_BAD_TAG, dec->core.item_offset,
                    "offset %" PRIu64 ": record of %zu bytes failed authentication (wrong key, or "
                    "damaged, missing or reordered records)",
                    dec->core.item_offset, len);
  if (rc != CHAT_NOISE_OK)
    return dec_fail(dec, CHAT_V2_ERR_CRYPTO, dec->core.item_offset, "offset %" PRIu64 ": %s",
                    dec->core.item_offset, chat_strerror(rc));
  dec->rec_plain = pt_len;
  chat_v2_record_result res;
  char reason[CHAT_V2_REASON_MAX];
  rc = chat_v2_reassembly_record(&dec->reasm, dec->rec, pt_len, &res, reason, sizeof reason);
  if (rc < 0)
    return dec_fail(dec, rc, dec->core.item_offset, "offset %" PRIu64 ": %s", dec->core.item_offset,
                    reason);
  ev->decrypted = true;
  ev->record_type = res.type;
  ev->body_len = pt_len - CHAT_V2_RECORD_TYPE_LEN;
  if (res.type == CHAT_V2_RECORD_REKEY) {
    rc = chat_noise_cipher_rekey(dec->cs);
    if (rc != CHAT_NOISE_OK)
      return dec_fail(dec, CHAT_V2_ERR_CRYPTO, dec->core.item_offset, "rekey: %s",
                      chat_strerror(rc));
  } else if (res.type == CHAT_V2_RECORD_CLOSE) {
    dec->closed = true;
  }
  if (res.message != NULL) {
    chat_v2_stream_event *msg = add_event(dec, CHAT_V2_EVENT_MESSAGE);
    msg->wire_len = ev->wire_len;
    msg->data = res.message;
    msg->len = res.message_len;
    msg->fragmented = res.fragmented;
  }
  expect(dec, DEC_REC_LENGTH, CHAT_V2_LENGTH_PREFIX_LEN);
  return 0;
}

/* Once every pending event was taken: wipes the message they pointed to. */
static void release(chat_decoder_core *core) {
  chat_v2_stream_decoder *dec = (chat_v2_stream_decoder *)core;
  chat_v2_reassembly_release(&dec->reasm);
  explicit_bzero(dec->rec, dec->rec_plain);
  dec->rec_plain = 0;
}

/* Nothing may follow the CLOSE record. */
static int accept_bytes(chat_decoder_core *core, size_t left) {
  chat_v2_stream_decoder *dec = (chat_v2_stream_decoder *)core;
  if (dec->closed)
    return dec_fail(dec, CHAT_V2_ERR_DATA_AFTER_CLOSE, core->consumed,
                    "offset %" PRIu64 ": %zu bytes after the CLOSE record", core->consumed, left);
  return 0;
}

static int buffer(chat_decoder_core *core, size_t upto, uint8_t **dst) {
  chat_v2_stream_decoder *dec = (chat_v2_stream_decoder *)core;
  (void)upto; /* every buffer holds its largest item */
  switch (dec->st) {
  case DEC_PREAMBLE:
    *dst = dec->preamble;
    break;
  case DEC_HS_LENGTH:
  case DEC_REC_LENGTH:
    *dst = dec->prefix;
    break;
  default:
    *dst = dec->rec;
    break;
  }
  return 0;
}

static int step(chat_decoder_core *core) {
  chat_v2_stream_decoder *dec = (chat_v2_stream_decoder *)core;
  switch (dec->st) {
  case DEC_PREAMBLE:
    return on_preamble(dec);
  case DEC_HS_LENGTH:
    return on_handshake_length(dec);
  case DEC_HS_BODY:
    on_handshake(dec);
    return 0;
  case DEC_REC_LENGTH:
    return on_record_length(dec);
  case DEC_REC_BODY:
  default:
    return on_record(dec);
  }
}

static const chat_decoder_ops v2_decoder_ops = {
    .accept = accept_bytes,
    .buffer = buffer,
    .complete = step,
    .release = release,
    .wipe = wipe,
};

ptrdiff_t chat_v2_stream_decoder_feed(chat_v2_stream_decoder *dec, const uint8_t *data,
                                      size_t len) {
  if (dec == NULL || (data == NULL && len > 0))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  return chat_decoder_feed(&dec->core, data, len);
}

int chat_v2_stream_decoder_next_event(chat_v2_stream_decoder *dec, chat_v2_stream_event *event) {
  if (dec == NULL || event == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  return chat_decoder_next_event(&dec->core, event);
}

int chat_v2_stream_decoder_finish(chat_v2_stream_decoder *dec) {
  if (dec == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->core.error != 0)
    return dec->core.error;
  if (dec->closed)
    return 0;
  switch (dec->st) {
  case DEC_PREAMBLE:
  case DEC_HS_LENGTH:
  case DEC_HS_BODY:
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->core.item_offset,
                    "offset %" PRIu64 ": the stream ends inside the %s (%zu of %zu bytes)",
                    dec->core.item_offset, dec->st == DEC_PREAMBLE ? "preamble" : "handshake",
                    dec->core.have, dec->core.need);
  case DEC_REC_BODY:
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->core.item_offset,
                    "offset %" PRIu64 ": the stream ends inside a record (%zu of %zu bytes)",
                    dec->core.item_offset, dec->core.have, dec->core.need);
  case DEC_REC_LENGTH:
  default:
    if (dec->core.have > 0)
      return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->core.item_offset,
                      "offset %" PRIu64 ": the stream ends inside a record length",
                      dec->core.item_offset);
    if (!dec->have_key)
      return 0;
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->core.consumed,
                    "offset %" PRIu64 ": the stream ends without a CLOSE record%s",
                    dec->core.consumed,
                    dec->reasm.in_progress ? ", inside a fragmented message" : "");
  }
}

int chat_v2_stream_decoder_error(const chat_v2_stream_decoder *dec) {
  return dec != NULL ? dec->core.error : CHAT_V2_ERR_INVALID_ARGUMENT;
}

uint64_t chat_v2_stream_decoder_error_offset(const chat_v2_stream_decoder *dec) {
  return dec != NULL ? dec->core.error_offset : 0;
}

const char *chat_v2_stream_decoder_error_message(const chat_v2_stream_decoder *dec) {
  return dec != NULL ? chat_decoder_error_message(&dec->core) : "";
}
