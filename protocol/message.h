/* Layer 2: a plaintext message is a message type followed by exactly one
 * value, the parameters.
 *
 * Two dialects differ only in the width of the type: `seed` (one byte, as the
 * running seed system sends) and `v2` (four bytes big-endian, as the seed's
 * README documents). */
#ifndef CHAT_PROTOCOL_MESSAGE_H
#define CHAT_PROTOCOL_MESSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/dialect.h"
#include "protocol/value.h"

/* The size of the message type field in a dialect: 1 or 4. */
size_t chat_dialect_type_size(chat_dialect dialect);

/* Decodes one plaintext message. Offsets in *err count from data[0].
 * Errors: CHAT_ERR_BAD_MESSAGE (shorter than the type field), every error of
 * chat_value_decode (a missing value is CHAT_ERR_TRUNCATED). */
int chat_message_decode(chat_dialect dialect, const uint8_t *data, size_t len,
                        const chat_limits *limits, unsigned flags, chat_arena *arena,
                        uint32_t *type, chat_value **params, chat_error *err);

/* Writes the type field; the caller then writes exactly one value with w.
 * Errors (sticky in w): CHAT_ERR_INVALID_ARGUMENT when the type does not fit
 * the dialect (over 255 in seed). */
void chat_message_begin(chat_writer *w, chat_dialect dialect, uint32_t type);

/* Appends a whole message built from a value tree. Errors: those of
 * chat_message_begin and chat_value_encode. */
int chat_message_encode(chat_dialect dialect, uint32_t type, const chat_value *params,
                        chat_buffer *out);

#endif
