/* Layer 2: a plaintext message is a header followed by exactly one value,
 * the parameters (spec/protocol.md section 3).
 *
 * Two dialects differ in the header. `seed`: one byte, the message type (as
 * the running seed system sends). `v2`: a u32 big-endian whose bits 0-23 are
 * the message type, bit 31 the REQUEST_ID flag and bits 24-30 reserved
 * (zero); with the flag set, a u32 big-endian request id follows (spec
 * section 5.7). Callers that do not care about request ids use the plain
 * functions; the `_with_id` ones take and give the whole header. */
#ifndef CHAT_PROTOCOL_MESSAGE_H
#define CHAT_PROTOCOL_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/dialect.h"
#include "protocol/value.h"

/* The v2 header word. */
#define CHAT_MESSAGE_TYPE_MASK 0x00FFFFFFu
#define CHAT_MESSAGE_RESERVED_MASK 0x7F000000u
#define CHAT_MESSAGE_REQUEST_ID_FLAG 0x80000000u
/* The size of a request id that follows a flagged v2 header. */
#define CHAT_MESSAGE_REQUEST_ID_SIZE 4

/* A message's header: its type and, in v2 only, an optional request id. */
typedef struct {
  uint32_t type;
  bool has_request_id;
  uint32_t request_id;
} chat_message_header;

/* The size of the message type field in a dialect: 1 or 4 (a v2 header
 * with a request id is CHAT_MESSAGE_REQUEST_ID_SIZE bytes longer). */
size_t chat_dialect_type_size(chat_dialect dialect);
/* The size of a header: the type field, plus the request id when it has one. */
size_t chat_message_header_size(chat_dialect dialect, const chat_message_header *header);

/* Reads the header at the start of data; *size is its length in bytes.
 * Errors (offset 0): CHAT_ERR_BAD_MESSAGE (shorter than the header, a v2
 * reserved bit set, or the flag set with the request id missing). */
int chat_message_header_read(chat_dialect dialect, const uint8_t *data, size_t len,
                             chat_message_header *header, size_t *size, chat_error *err);

/* Decodes one plaintext message. Offsets in *err count from data[0].
 * Errors: those of chat_message_header_read, every error of
 * chat_value_decode (a missing value is CHAT_ERR_TRUNCATED). */
int chat_message_decode_with_id(chat_dialect dialect, const uint8_t *data, size_t len,
                                const chat_limits *limits, unsigned flags, chat_arena *arena,
                                chat_message_header *header, chat_value **params, chat_error *err);
/* The same, for a caller that needs only the type (a request id is read and
 * dropped). */
int chat_message_decode(chat_dialect dialect, const uint8_t *data, size_t len,
                        const chat_limits *limits, unsigned flags, chat_arena *arena,
                        uint32_t *type, chat_value **params, chat_error *err);

/* Writes the header; the caller then writes exactly one value with w.
 * Errors (sticky in w): CHAT_ERR_INVALID_ARGUMENT when the type does not fit
 * the dialect (over 255 in seed, over 2^24 - 1 in v2) or a seed header has a
 * request id. */
void chat_message_begin_with_id(chat_writer *w, chat_dialect dialect,
                                const chat_message_header *header);
/* The same without a request id. */
void chat_message_begin(chat_writer *w, chat_dialect dialect, uint32_t type);

/* Appends a whole message built from a value tree. Errors: those of
 * chat_message_begin_with_id and chat_value_encode. */
int chat_message_encode_with_id(chat_dialect dialect, const chat_message_header *header,
                                const chat_value *params, chat_buffer *out);
int chat_message_encode(chat_dialect dialect, uint32_t type, const chat_value *params,
                        chat_buffer *out);

/* For a sender that adds the request id after encoding: message points at a
 * v2 message (header without an id) that is preceded by
 * CHAT_MESSAGE_REQUEST_ID_SIZE spare bytes. Rewrites those and the header so
 * that message - CHAT_MESSAGE_REQUEST_ID_SIZE starts the same message with
 * the request id (no copy of the value). */
void chat_message_insert_request_id(uint8_t *message, uint32_t request_id);

#endif
