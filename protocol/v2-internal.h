/* Private parts of the v2 channel shared by v2-channel.c and v2-decoder.c:
 * the preamble check, the suite table and the receiving side of the record
 * layer (record plaintext -> messages). */
#ifndef CHAT_PROTOCOL_V2_INTERNAL_H
#define CHAT_PROTOCOL_V2_INTERNAL_H

#include "protocol/transit.h"
#include "protocol/v2-channel.h"

/* The first CHAT_V2_MAGIC_LEN preamble bytes. */
extern const uint8_t chat_v2_magic[CHAT_V2_MAGIC_LEN];

/* Whether suite is AESGCM or CHACHAPOLY. */
bool chat_v2_suite_known(uint8_t suite);
/* The Noise protocol name / cipher name of a known suite. */
const char *chat_v2_suite_protocol(uint8_t suite);
const char *chat_v2_suite_cipher(uint8_t suite);

/* Writes the preamble for suite into out. */
void chat_v2_make_preamble(uint8_t suite, uint8_t out[CHAT_V2_PREAMBLE_LEN]);

/* Checks a received preamble; accepted is a suite or CHAT_V2_SUITE_ANY.
 * Returns 0 or BAD_MAGIC / BAD_VERSION / BAD_SUITE / BAD_RESERVED with a
 * reason written to reason. */
int chat_v2_check_preamble(const uint8_t p[CHAT_V2_PREAMBLE_LEN], uint8_t accepted, char *reason,
                           size_t reason_cap);

/* Checks the length prefix of handshake message 1 (client to server) or 2
 * (server to client) against the bounds of spec/protocol.md 7.3.2, before
 * the body is read. Returns 0, or HANDSHAKE_LENGTH (too short) /
 * HANDSHAKE_PAYLOAD (its info payload over the limit) with a reason written
 * to reason. */
int chat_v2_check_handshake_length(bool client_to_server, size_t len, char *reason,
                                   size_t reason_cap);

/* The largest record body when records are at most max_record_len long. */
size_t chat_v2_record_body_max(size_t max_record_len);

/* Receiving side of the record layer, after decryption. */
typedef struct {
  size_t max_message;     /* T limit */
  size_t record_body_max; /* largest body of one record (for T's lower bound) */
  bool in_progress;       /* a BEGIN was seen and its END not yet */
  uint8_t *buf;           /* the message being reassembled: have of total bytes */
  size_t capacity;        /* of buf: grows with what arrives, never past total */
  size_t total;
  size_t have;
  chat_transit *transit; /* the shared budget buf's capacity comes out of, or NULL */
  size_t transit_held;   /* bytes of it that buf holds */
  uint8_t *delivered;    /* a reassembled message handed out, until released */
  size_t delivered_len;
  bool closed; /* CLOSE processed */
} chat_v2_reassembly;

typedef struct {
  uint8_t type;
  const uint8_t *message; /* set when this record completed a message */
  size_t message_len;
  bool fragmented;
} chat_v2_record_result;

void chat_v2_reassembly_init(chat_v2_reassembly *r, size_t max_message, size_t record_body_max);

/* Processes one authenticated record plaintext (type byte + body). On
 * success fills *res (a whole MESSAGE points into pt; a reassembled one into
 * r->delivered, owned by r until chat_v2_reassembly_release). The caller
 * rekeys its cipher on CHAT_V2_RECORD_REKEY. Errors: UNKNOWN_RECORD,
 * EMPTY_BODY, UNEXPECTED_BODY, FRAGMENT_IN_PROGRESS, NO_FRAGMENT,
 * TOTAL_TOO_LARGE, TOTAL_TOO_SMALL, FRAGMENT_LENGTH, INCOMPLETE_MESSAGE,
 * NOMEM, TRANSIT_EXHAUSTED, with a reason written to reason. */
int chat_v2_reassembly_record(chat_v2_reassembly *r, const uint8_t *pt, size_t pt_len,
                              chat_v2_record_result *res, char *reason, size_t reason_cap);

/* Wipes and frees a delivered reassembled message. */
void chat_v2_reassembly_release(chat_v2_reassembly *r);

/* Wipes and frees everything. */
void chat_v2_reassembly_wipe(chat_v2_reassembly *r);

/* TESTS ONLY: the bytes of the heap buffers a channel holds beyond its fixed
 * state: the receive buffer, the message being reassembled, a delivered
 * reassembled message, the output buffer and the queued outgoing messages.
 * 0 for an idle channel (nothing in flight in either direction) and for
 * NULL. */
size_t chat_v2_channel_test_buffered_bytes(const chat_v2_channel *ch);

/* The name of a record type ("MESSAGE", ...) or "unknown". */
const char *chat_v2_record_type_name(uint8_t type);

#endif
