/* Hexadecimal text <-> bytes, for tools and tests (keys, captured frames). */
#ifndef CHAT_PROTOCOL_HEX_H
#define CHAT_PROTOCOL_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "protocol/error.h"

/* The value 0..15 of one hex digit (upper or lower case), or -1 for any
 * other character. The one digit rule of hex text and JSON \u escapes. */
int chat_hex_digit(char c);

/* Appends the bytes spelled by text[0..len) to out. Digits may be upper or
 * lower case; whitespace (space, tab, CR, LF) is ignored anywhere, also
 * between the two digits of a byte. text need not be NUL-terminated. On an
 * error nothing is appended (unless the buffer itself failed).
 *
 * Errors: CHAT_ERR_SYNTAX (a character that is neither a hex digit nor
 * whitespace: the message names it and its offset; or an odd number of
 * digits: the offset is the last digit's), the buffer's CHAT_ERR_NOMEM /
 * CHAT_ERR_LIMIT. */
int chat_hex_decode(const char *text, size_t len, chat_buffer *out, chat_error *err);

/* Writes data as lowercase hex to out[0 .. 2 * len): two digits per byte,
 * no separators, no NUL. */
void chat_hex_format(char *out, const uint8_t *data, size_t len);

/* Appends data as lowercase hex, two digits per byte, no separators. A failed
 * append leaves the buffer's sticky failure set (see buffer.h). */
void chat_hex_encode(const uint8_t *data, size_t len, chat_buffer *out);

#endif
