/* Passive decoder of one direction of a v2 connection (for captures). See
 * protocol/v2-channel.h, "Passive stream decoder". */
#include "protocol/v2-channel.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/v2-internal.h"

/* One item gives at most a RECORD event and a MESSAGE event. */
#define MAX_PENDING_EVENTS 2u
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
  chat_v2_direction dir;
  uint8_t suite;      /* given, or from the preamble */
  bool have_key;
  uint8_t key[CHAT_V2_KEY_LEN];
  chat_noise_cipher *cs; /* made from key at the first record */
  size_t record_body_max;

  decoder_state st;
  uint8_t preamble[CHAT_V2_PREAMBLE_LEN];
  uint8_t prefix[CHAT_V2_LENGTH_PREFIX_LEN];
  uint8_t *rec; /* CHAT_V2_MAX_RECORD_LEN */
  size_t need;
  size_t have;
  uint64_t consumed;
  uint64_t item_offset;
  size_t rec_plain; /* plaintext bytes left in rec by the last record */
  bool records_seen;
  bool closed;
  chat_v2_reassembly reasm;

  chat_v2_stream_event events[MAX_PENDING_EVENTS];
  size_t nevents;
  size_t next_event;

  int error;
  uint64_t error_offset;
  char reason[CHAT_V2_REASON_MAX];
};

static int dec_fail(chat_v2_stream_decoder *dec, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a sticky error and wipes the key material. */
static int dec_fail(chat_v2_stream_decoder *dec, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dec->reason, sizeof dec->reason, fmt, ap);
  va_end(ap);
  dec->error = code;
  dec->error_offset = offset;
  chat_noise_cipher_free(dec->cs);
  dec->cs = NULL;
  explicit_bzero(dec->key, sizeof dec->key);
  chat_v2_reassembly_wipe(&dec->reasm);
  if (dec->rec != NULL)
    explicit_bzero(dec->rec, CHAT_V2_MAX_RECORD_LEN);
  dec->nevents = dec->next_event = 0;
  return code;
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
  if (direction == CHAT_V2_CLIENT_TO_SERVER) {
    dec->st = DEC_PREAMBLE;
    dec->need = CHAT_V2_PREAMBLE_LEN;
  } else {
    dec->st = DEC_HS_LENGTH;
    dec->need = CHAT_V2_LENGTH_PREFIX_LEN;
  }
  *out = dec;
  return 0;
}

void chat_v2_stream_decoder_free(chat_v2_stream_decoder *dec) {
  if (dec == NULL)
    return;
  chat_noise_cipher_free(dec->cs);
  chat_v2_reassembly_wipe(&dec->reasm);
  if (dec->rec != NULL)
    explicit_bzero(dec->rec, CHAT_V2_MAX_RECORD_LEN);
  free(dec->rec);
  explicit_bzero(dec, sizeof *dec);
  free(dec);
}

int chat_v2_stream_decoder_set_key(chat_v2_stream_decoder *dec, const uint8_t key[CHAT_V2_KEY_LEN]) {
  if (dec == NULL || key == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  if (dec->dir == CHAT_V2_SERVER_TO_CLIENT && dec->suite == CHAT_V2_SUITE_ANY)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->records_seen || dec->have_key)
    return CHAT_V2_ERR_STATE;
  memcpy(dec->key, key, CHAT_V2_KEY_LEN);
  dec->have_key = true;
  return 0;
}

int chat_v2_stream_decoder_test_set_record_size(chat_v2_stream_decoder *dec, size_t max_record_len) {
  if (dec == NULL || max_record_len < CHAT_V2_TEST_MIN_RECORD_LEN ||
      max_record_len > CHAT_V2_MAX_RECORD_LEN)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->consumed > 0)
    return CHAT_V2_ERR_STATE;
  dec->record_body_max = chat_v2_record_body_max(max_record_len);
  dec->reasm.record_body_max = dec->record_body_max;
  return 0;
}

static void expect(chat_v2_stream_decoder *dec, decoder_state st, size_t need) {
  dec->st = st;
  dec->need = need;
  dec->have = 0;
  if (st != DEC_HS_BODY && st != DEC_REC_BODY)
    dec->item_offset = dec->consumed;
}

static chat_v2_stream_event *add_event(chat_v2_stream_decoder *dec, chat_v2_event_kind kind) {
  chat_v2_stream_event *ev = &dec->events[dec->nevents++];
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  ev->offset = dec->item_offset;
  return ev;
}

static int on_preamble(chat_v2_stream_decoder *dec) {
  char reason[CHAT_V2_REASON_MAX];
  int rc = chat_v2_check_preamble(dec->preamble, dec->suite, reason, sizeof reason);
  if (rc < 0)
    return dec_fail(dec, rc, dec->item_offset, "offset %" PRIu64 ": %s", dec->item_offset, reason);
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
  if (dec->dir == CHAT_V2_CLIENT_TO_SERVER) {
    if (len < CHAT_V2_HANDSHAKE1_LEN)
      return dec_fail(dec, CHAT_V2_ERR_HANDSHAKE_LENGTH, dec->item_offset,
                      "offset %" PRIu64 ": handshake message 1 has %zu bytes; it must have %u",
                      dec->item_offset, len, CHAT_V2_HANDSHAKE1_LEN);
    if (len > CHAT_V2_HANDSHAKE1_LEN)
      return dec_fail(dec, CHAT_V2_ERR_HANDSHAKE_PAYLOAD, dec->item_offset,
                      "offset %" PRIu64 ": handshake message 1 has %zu bytes: a payload where it "
                      "must be empty",
                      dec->item_offset, len);
  } else {
    if (len < CHAT_V2_HANDSHAKE2_MIN_LEN)
      return dec_fail(dec, CHAT_V2_ERR_HANDSHAKE_LENGTH, dec->item_offset,
                      "offset %" PRIu64 ": handshake message 2 has %zu bytes; at least %u needed",
                      dec->item_offset, len, CHAT_V2_HANDSHAKE2_MIN_LEN);
    if (len > CHAT_V2_HANDSHAKE2_MAX_LEN)
      return dec_fail(dec, CHAT_V2_ERR_HANDSHAKE_PAYLOAD, dec->item_offset,
                      "offset %" PRIu64 ": handshake message 2 has %zu bytes; at most %u allowed",
                      dec->item_offset, len, CHAT_V2_HANDSHAKE2_MAX_LEN);
  }
  expect(dec, DEC_HS_BODY, len);
  return 0;
}

static void on_handshake(chat_v2_stream_decoder *dec) {
  chat_v2_stream_event *ev = add_event(dec, CHAT_V2_EVENT_HANDSHAKE);
  ev->wire_len = CHAT_V2_LENGTH_PREFIX_LEN + dec->need;
  ev->noise_len = dec->need;
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
    return dec_fail(dec, CHAT_V2_ERR_RECORD_TOO_SHORT, dec->item_offset,
                    "offset %" PRIu64 ": record length %zu; the minimum is %u", dec->item_offset,
                    len, CHAT_V2_MIN_RECORD_LEN);
  expect(dec, DEC_REC_BODY, len);
  return 0;
}

static int on_record(chat_v2_stream_decoder *dec) {
  size_t len = dec->need;
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
    rc = chat_noise_cipher_new_with_key(chat_v2_suite_cipher(dec->suite), dec->key,
                                        CHAT_V2_KEY_LEN, &dec->cs);
    if (rc != CHAT_NOISE_OK)
      return dec_fail(dec, rc == CHAT_NOISE_ERR_NOMEM ? CHAT_V2_ERR_NOMEM : CHAT_V2_ERR_CRYPTO,
                      dec->item_offset, "cannot set up the cipher: %s", chat_strerror(rc));
  }
  size_t pt_len = 0;
  rc = chat_noise_cipher_decrypt(dec->cs, NULL, 0, dec->rec, len, dec->rec, len, &pt_len);
  if (rc == CHAT_NOISE_ERR_MAC_FAILURE)
    return dec_fail(dec, CHAT_V2_ERR_BAD_TAG, dec->item_offset,
                    "offset %" PRIu64 ": record of %zu bytes failed authentication (wrong key, or "
                    "damaged, missing or reordered records)",
                    dec->item_offset, len);
  if (rc != CHAT_NOISE_OK)
    return dec_fail(dec, CHAT_V2_ERR_CRYPTO, dec->item_offset, "offset %" PRIu64 ": %s",
                    dec->item_offset, chat_strerror(rc));
  dec->rec_plain = pt_len;
  chat_v2_record_result res;
  char reason[CHAT_V2_REASON_MAX];
  rc = chat_v2_reassembly_record(&dec->reasm, dec->rec, pt_len, &res, reason, sizeof reason);
  if (rc < 0)
    return dec_fail(dec, rc, dec->item_offset, "offset %" PRIu64 ": %s", dec->item_offset, reason);
  ev->decrypted = true;
  ev->record_type = res.type;
  ev->body_len = pt_len - CHAT_V2_RECORD_TYPE_LEN;
  if (res.type == CHAT_V2_RECORD_REKEY) {
    rc = chat_noise_cipher_rekey(dec->cs);
    if (rc != CHAT_NOISE_OK)
      return dec_fail(dec, CHAT_V2_ERR_CRYPTO, dec->item_offset, "rekey: %s",
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
static void release_events(chat_v2_stream_decoder *dec) {
  if (dec->nevents == 0 || dec->next_event < dec->nevents)
    return;
  dec->nevents = dec->next_event = 0;
  chat_v2_reassembly_release(&dec->reasm);
  explicit_bzero(dec->rec, dec->rec_plain);
  dec->rec_plain = 0;
}

static int step(chat_v2_stream_decoder *dec) {
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

ptrdiff_t chat_v2_stream_decoder_feed(chat_v2_stream_decoder *dec, const uint8_t *data, size_t len) {
  if (dec == NULL || (data == NULL && len > 0))
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  release_events(dec);
  if (dec->nevents > 0)
    return 0;
  size_t used = 0;
  while (used < len && dec->nevents == 0) {
    if (dec->closed)
      return dec_fail(dec, CHAT_V2_ERR_DATA_AFTER_CLOSE, dec->consumed,
                      "offset %" PRIu64 ": %zu bytes after the CLOSE record", dec->consumed,
                      len - used);
    uint8_t *dst;
    switch (dec->st) {
    case DEC_PREAMBLE:
      dst = dec->preamble;
      break;
    case DEC_HS_LENGTH:
    case DEC_REC_LENGTH:
      dst = dec->prefix;
      break;
    default:
      dst = dec->rec;
      break;
    }
    size_t take = dec->need - dec->have;
    if (take > len - used)
      take = len - used;
    memcpy(dst + dec->have, data + used, take);
    dec->have += take;
    used += take;
    dec->consumed += take;
    if (dec->have < dec->need)
      break;
    int rc = step(dec);
    if (rc < 0)
      return rc;
  }
  return (ptrdiff_t)used;
}

int chat_v2_stream_decoder_next_event(chat_v2_stream_decoder *dec, chat_v2_stream_event *event) {
  if (dec == NULL || event == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  release_events(dec);
  if (dec->next_event >= dec->nevents)
    return 0;
  *event = dec->events[dec->next_event++];
  return 1;
}

int chat_v2_stream_decoder_finish(chat_v2_stream_decoder *dec) {
  if (dec == NULL)
    return CHAT_V2_ERR_INVALID_ARGUMENT;
  if (dec->error != 0)
    return dec->error;
  if (dec->closed)
    return 0;
  switch (dec->st) {
  case DEC_PREAMBLE:
  case DEC_HS_LENGTH:
  case DEC_HS_BODY:
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->item_offset,
                    "offset %" PRIu64 ": the stream ends inside the %s (%zu of %zu bytes)",
                    dec->item_offset, dec->st == DEC_PREAMBLE ? "preamble" : "handshake",
                    dec->have, dec->need);
  case DEC_REC_BODY:
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->item_offset,
                    "offset %" PRIu64 ": the stream ends inside a record (%zu of %zu bytes)",
                    dec->item_offset, dec->have, dec->need);
  case DEC_REC_LENGTH:
  default:
    if (dec->have > 0)
      return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->item_offset,
                      "offset %" PRIu64 ": the stream ends inside a record length",
                      dec->item_offset);
    if (!dec->have_key)
      return 0;
    return dec_fail(dec, CHAT_V2_ERR_TRUNCATED, dec->consumed,
                    "offset %" PRIu64 ": the stream ends without a CLOSE record%s", dec->consumed,
                    dec->reasm.in_progress ? ", inside a fragmented message" : "");
  }
}

int chat_v2_stream_decoder_error(const chat_v2_stream_decoder *dec) {
  return dec != NULL ? dec->error : CHAT_V2_ERR_INVALID_ARGUMENT;
}

uint64_t chat_v2_stream_decoder_error_offset(const chat_v2_stream_decoder *dec) {
  return dec != NULL ? dec->error_offset : 0;
}

const char *chat_v2_stream_decoder_error_message(const chat_v2_stream_decoder *dec) {
  return dec != NULL && dec->error != 0 ? dec->reason : "";
}
