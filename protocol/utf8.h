/* Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
#ifndef CHAT_PROTOCOL_UTF8_H
#define CHAT_PROTOCOL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool chat_utf8_valid(const uint8_t *s, size_t len);

/* Like chat_utf8_valid; on failure *bad is the offset of the first byte of
 * the invalid sequence. */
bool chat_utf8_check(const uint8_t *s, size_t len, size_t *bad);

#endif
