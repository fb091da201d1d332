/* v2 channel: error table, suites, preamble and the receiving record layer,
 * shared by the channel and the passive decoder. See protocol/v2-channel.h. */
#include "protocol/v2-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"

const uint8_t chat_v2_magic[CHAT_V2_MAGIC_LEN] = {0x00, 'C', 'H', 'A', 'T'};

/* ---- errors -------------------------------------------------------------- */

/* Names and descriptions: protocol/error.c. The caller errors leave the
 * channel as it was; every other code of the band is fatal. */
bool chat_v2_is_fatal(int code) {
  switch (code) {
  case CHAT_V2_ERR_INVALID_ARGUMENT:
  case CHAT_V2_ERR_STATE:
  case CHAT_V2_ERR_MESSAGE_EMPTY:
  case CHAT_V2_ERR_MESSAGE_TOO_LARGE:
  case CHAT_V2_ERR_QUEUE_FULL:
  case CHAT_V2_ERR_CLOSED:
  case CHAT_V2_ERR_TRANSIT_FULL:
    return false;
  default:
    return chat_error_band(code) == CHAT_ERR_BAND_V2 && chat_error_name(code) != NULL;
  }
}

/* ---- suites and preamble ------------------------------------------------- */

bool chat_v2_suite_known(uint8_t suite) {
  return suite == CHAT_V2_SUITE_AESGCM || suite == CHAT_V2_SUITE_CHACHAPOLY;
}

const char *chat_v2_suite_protocol(uint8_t suite) {
  return suite == CHAT_V2_SUITE_CHACHAPOLY ? "Noise_NX_25519_ChaChaPoly_SHA256"
                                           : "Noise_NX_25519_AESGCM_SHA256";
}

const char *chat_v2_suite_cipher(uint8_t suite) {
  return suite == CHAT_V2_SUITE_CHACHAPOLY ? "ChaChaPoly" : "AESGCM";
}

void chat_v2_make_preamble(uint8_t suite, uint8_t out[CHAT_V2_PREAMBLE_LEN]) {
  memcpy(out, chat_v2_magic, CHAT_V2_MAGIC_LEN);
  out[CHAT_V2_VERSION_OFFSET] = CHAT_V2_VERSION;
  out[CHAT_V2_SUITE_OFFSET] = suite;
  out[CHAT_V2_RESERVED_OFFSET] = CHAT_V2_RESERVED_VALUE;
}

int chat_v2_check_preamble(const uint8_t p[CHAT_V2_PREAMBLE_LEN], uint8_t accepted, char *reason,
                           size_t reason_cap) {
  if (memcmp(p, chat_v2_magic, CHAT_V2_MAGIC_LEN) != 0) {
    snprintf(reason, reason_cap,
             "preamble starts %02x %02x %02x %02x %02x, not 00 43 48 41 54 (0x00 \"CHAT\"): "
             "not a v2 client",
             p[0], p[1], p[2], p[3], p[4]);
    return CHAT_V2_ERR_BAD_MAGIC;
  }
  if (p[CHAT_V2_VERSION_OFFSET] != CHAT_V2_VERSION) {
    snprintf(reason, reason_cap, "preamble asks for protocol version %u; only %u is supported",
             p[CHAT_V2_VERSION_OFFSET], CHAT_V2_VERSION);
    return CHAT_V2_ERR_BAD_VERSION;
  }
  uint8_t suite = p[CHAT_V2_SUITE_OFFSET];
  if (!chat_v2_suite_known(suite)) {
    snprintf(reason, reason_cap,
             "preamble asks for cipher suite 0x%02x; known are 0x01 (AESGCM) and 0x02 (ChaChaPoly)",
             suite);
    return CHAT_V2_ERR_BAD_SUITE;
  }
  if (accepted != CHAT_V2_SUITE_ANY && suite != accepted) {
    snprintf(reason, reason_cap,
             "preamble asks for cipher suite 0x%02x; this side accepts only 0x%02x", suite,
             accepted);
    return CHAT_V2_ERR_BAD_SUITE;
  }
  if (p[CHAT_V2_RESERVED_OFFSET] != CHAT_V2_RESERVED_VALUE) {
    snprintf(reason, reason_cap, "preamble reserved byte is 0x%02x, must be 0x00",
             p[CHAT_V2_RESERVED_OFFSET]);
    return CHAT_V2_ERR_BAD_RESERVED;
  }
  return 0;
}

int chat_v2_check_handshake_length(bool client_to_server, size_t len, char *reason,
                                   size_t reason_cap) {
  unsigned number = client_to_server ? 1 : 2;
  size_t min = client_to_server ? CHAT_V2_HANDSHAKE1_LEN : CHAT_V2_HANDSHAKE2_MIN_LEN;
  size_t max = client_to_server ? CHAT_V2_HANDSHAKE1_MAX_LEN : CHAT_V2_HANDSHAKE2_MAX_LEN;
  const char *info = client_to_server ? "client" : "server";
  if (len < min) {
    snprintf(reason, reason_cap, "handshake message %u has %zu bytes; at least %zu needed", number,
             len, min);
    return CHAT_V2_ERR_HANDSHAKE_LENGTH;
  }
  if (len > max) {
    snprintf(reason, reason_cap,
             "handshake message %u has %zu bytes: %s info of %zu bytes, the limit is %zu", number,
             len, info, len - min, max - min);
    return CHAT_V2_ERR_HANDSHAKE_PAYLOAD;
  }
  return 0;
}

bool chat_v2_make_refusal(int code, uint8_t out[CHAT_V2_REFUSAL_LEN]) {
  uint8_t reason;
  switch (code) {
  case CHAT_V2_ERR_BAD_VERSION:
    reason = CHAT_V2_REFUSE_VERSION;
    break;
  case CHAT_V2_ERR_BAD_SUITE:
    reason = CHAT_V2_REFUSE_SUITE;
    break;
  case CHAT_V2_ERR_BAD_RESERVED:
    reason = CHAT_V2_REFUSE_RESERVED;
    break;
  default:
    return false;
  }
  memcpy(out, chat_v2_magic, CHAT_V2_MAGIC_LEN);
  out[CHAT_V2_REFUSAL_VERSION_OFFSET] = CHAT_V2_VERSION;
  out[6] = 0;
  out[CHAT_V2_REFUSAL_REASON_OFFSET] = reason;
  return true;
}

size_t chat_v2_record_body_max(size_t max_record_len) {
  return max_record_len - CHAT_V2_TAG_LEN - CHAT_V2_RECORD_TYPE_LEN;
}

const char *chat_v2_record_type_name(uint8_t type) {
  switch (type) {
  case CHAT_V2_RECORD_MESSAGE:
    return "MESSAGE";
  case CHAT_V2_RECORD_MESSAGE_BEGIN:
    return "MESSAGE_BEGIN";
  case CHAT_V2_RECORD_MESSAGE_CONTINUE:
    return "MESSAGE_CONTINUE";
  case CHAT_V2_RECORD_MESSAGE_END:
    return "MESSAGE_END";
  case CHAT_V2_RECORD_REKEY:
    return "REKEY";
  case CHAT_V2_RECORD_CLOSE:
    return "CLOSE";
  default:
    return "unknown";
  }
}

/* ---- receiving record layer ---------------------------------------------- */

void chat_v2_reassembly_init(chat_v2_reassembly *r, size_t max_message, size_t record_body_max) {
  memset(r, 0, sizeof *r);
  r->max_message = max_message;
  r->record_body_max = record_body_max;
}

void chat_v2_reassembly_release(chat_v2_reassembly *r) {
  if (r->delivered != NULL) {
    explicit_bzero(r->delivered, r->delivered_len);
    free(r->delivered);
    r->delivered = NULL;
    r->delivered_len = 0;
  }
  /* What the delivered message held of the budget goes back with it. */
  if (!r->in_progress)
    chat_transit_cover(r->transit, &r->transit_held, 0);
}

void chat_v2_reassembly_wipe(chat_v2_reassembly *r) {
  chat_v2_reassembly_release(r);
  if (r->buf != NULL) {
    explicit_bzero(r->buf, r->capacity);
    free(r->buf);
  }
  chat_transit_cover(r->transit, &r->transit_held, 0);
  size_t max_message = r->max_message, body_max = r->record_body_max;
  chat_transit *transit = r->transit;
  chat_v2_reassembly_init(r, max_message, body_max);
  r->transit = transit;
}

/* Makes room for `need` bytes of the message: the buffer grows with what
 * arrives (doubling, never past the announced total), not at the BEGIN, so
 * an announced size costs nothing until its bytes come; its capacity comes
 * out of the transit budget. A fresh buffer rather than realloc, so no
 * unwiped copy of the plaintext is left behind. */
static int reserve(chat_v2_reassembly *r, size_t need, char *reason, size_t reason_cap) {
  if (need <= r->capacity)
    return 0;
  size_t capacity = r->capacity > 0 ? r->capacity : need;
  while (capacity < need)
    capacity = capacity > r->total / 2 ? r->total : capacity * 2;
  if (!chat_transit_cover(r->transit, &r->transit_held, capacity)) {
    snprintf(reason, reason_cap,
             "the memory for messages in transit is used up (a message of %zu bytes)", r->total);
    return CHAT_V2_ERR_TRANSIT_EXHAUSTED;
  }
  uint8_t *grown = malloc(capacity);
  if (grown == NULL) {
    snprintf(reason, reason_cap, "cannot allocate %zu bytes for a message", capacity);
    return CHAT_V2_ERR_NOMEM;
  }
  if (r->have > 0)
    memcpy(grown, r->buf, r->have);
  if (r->buf != NULL) {
    explicit_bzero(r->buf, r->capacity);
    free(r->buf);
  }
  r->buf = grown;
  r->capacity = capacity;
  return 0;
}

static int begin(chat_v2_reassembly *r, const uint8_t *body, size_t len, char *reason,
                 size_t reason_cap) {
  if (r->in_progress) {
    snprintf(reason, reason_cap,
             "MESSAGE_BEGIN while a fragmented message (%zu of %zu bytes received) is in progress",
             r->have, r->total);
    return CHAT_V2_ERR_FRAGMENT_IN_PROGRESS;
  }
  if (len < CHAT_V2_TOTAL_LEN_BYTES + 1) {
    snprintf(reason, reason_cap,
             "MESSAGE_BEGIN body of %zu bytes: needs the 4-byte total and at least one byte", len);
    return CHAT_V2_ERR_EMPTY_BODY;
  }
  uint32_t total = chat_load_u32be(body);
  size_t fragment = len - CHAT_V2_TOTAL_LEN_BYTES;
  /* Both limits are checked before anything is allocated. */
  if (total > r->max_message) {
    snprintf(reason, reason_cap, "MESSAGE_BEGIN announces %" PRIu32 " bytes; the limit is %zu",
             total, r->max_message);
    return CHAT_V2_ERR_TOTAL_TOO_LARGE;
  }
  if (fragment >= total) {
    snprintf(reason, reason_cap,
             "MESSAGE_BEGIN carries %zu bytes of a message announced as %" PRIu32 " bytes",
             fragment, total);
    return CHAT_V2_ERR_FRAGMENT_LENGTH;
  }
  r->total = total;
  r->have = 0;
  int rc = reserve(r, fragment, reason, reason_cap);
  if (rc != 0) {
    r->total = 0;
    return rc;
  }
  memcpy(r->buf, body + CHAT_V2_TOTAL_LEN_BYTES, fragment);
  r->have = fragment;
  r->in_progress = true;
  return 0;
}

static int fragment(chat_v2_reassembly *r, uint8_t type, const uint8_t *body, size_t len,
                    chat_v2_record_result *res, char *reason, size_t reason_cap) {
  const char *name = chat_v2_record_type_name(type);
  if (!r->in_progress) {
    snprintf(reason, reason_cap, "%s without a MESSAGE_BEGIN", name);
    return CHAT_V2_ERR_NO_FRAGMENT;
  }
  if (len == 0) {
    snprintf(reason, reason_cap, "%s with an empty body", name);
    return CHAT_V2_ERR_EMPTY_BODY;
  }
  size_t after = r->have + len;
  if (type == CHAT_V2_RECORD_MESSAGE_CONTINUE && after >= r->total) {
    snprintf(reason, reason_cap,
             "MESSAGE_CONTINUE brings the message to %zu bytes; announced %zu, so it must stay "
             "below",
             after, r->total);
    return CHAT_V2_ERR_FRAGMENT_LENGTH;
  }
  if (type == CHAT_V2_RECORD_MESSAGE_END && after != r->total) {
    snprintf(reason, reason_cap, "MESSAGE_END brings the message to %zu bytes; announced %zu",
             after, r->total);
    return CHAT_V2_ERR_FRAGMENT_LENGTH;
  }
  int rc = reserve(r, after, reason, reason_cap);
  if (rc != 0)
    return rc;
  memcpy(r->buf + r->have, body, len);
  r->have = after;
  if (type == CHAT_V2_RECORD_MESSAGE_END) {
    r->delivered = r->buf;
    r->delivered_len = r->total;
    r->buf = NULL;
    r->capacity = 0;
    r->in_progress = false;
    r->total = r->have = 0;
    res->message = r->delivered;
    res->message_len = r->delivered_len;
    res->fragmented = true;
  }
  return 0;
}

int chat_v2_reassembly_record(chat_v2_reassembly *r, const uint8_t *pt, size_t pt_len,
                              chat_v2_record_result *res, char *reason, size_t reason_cap) {
  memset(res, 0, sizeof *res);
  if (pt_len < CHAT_V2_RECORD_TYPE_LEN) {
    snprintf(reason, reason_cap, "record without a type byte");
    return CHAT_V2_ERR_UNKNOWN_RECORD;
  }
  uint8_t type = pt[0];
  const uint8_t *body = pt + CHAT_V2_RECORD_TYPE_LEN;
  size_t len = pt_len - CHAT_V2_RECORD_TYPE_LEN;
  res->type = type;
  switch (type) {
  case CHAT_V2_RECORD_MESSAGE:
    if (len == 0) {
      snprintf(reason, reason_cap, "MESSAGE with an empty body");
      return CHAT_V2_ERR_EMPTY_BODY;
    }
    res->message = body;
    res->message_len = len;
    return 0;
  case CHAT_V2_RECORD_MESSAGE_BEGIN:
    return begin(r, body, len, reason, reason_cap);
  case CHAT_V2_RECORD_MESSAGE_CONTINUE:
  case CHAT_V2_RECORD_MESSAGE_END:
    return fragment(r, type, body, len, res, reason, reason_cap);
  case CHAT_V2_RECORD_REKEY:
  case CHAT_V2_RECORD_CLOSE:
    if (len != 0) {
      snprintf(reason, reason_cap, "%s record with a %zu-byte body; it must be empty",
               chat_v2_record_type_name(type), len);
      return CHAT_V2_ERR_UNEXPECTED_BODY;
    }
    if (type == CHAT_V2_RECORD_CLOSE) {
      if (r->in_progress) {
        snprintf(reason, reason_cap, "CLOSE while a fragmented message has %zu of %zu bytes",
                 r->have, r->total);
        return CHAT_V2_ERR_INCOMPLETE_MESSAGE;
      }
      r->closed = true;
    }
    return 0;
  default:
    snprintf(reason, reason_cap, "unknown record type %u", type);
    return CHAT_V2_ERR_UNKNOWN_RECORD;
  }
}
