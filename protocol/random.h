/* The system's random bytes, read once for the whole protocol library.
 *
 * Every key, nonce, IV and DH exponent the library makes comes from
 * chat_random_bytes: getrandom(2) without flags (blocking until the kernel's
 * pool is initialised), looping on EINTR and short reads. Callers map a
 * failure to their module's error code (CHAT_NOISE_ERR_RANDOM,
 * CHAT_DH_ERR_RANDOM, CHAT_KEY_ERR_RANDOM). Plain C, no GLib. */
#ifndef CHAT_PROTOCOL_RANDOM_H
#define CHAT_PROTOCOL_RANDOM_H

#include <stddef.h>

/* Fills buf with len random bytes. Returns 0, or -1 with errno set (buf is
 * then wiped, never left half filled). len 0 is allowed. */
int chat_random_bytes(void *buf, size_t len);

#endif
