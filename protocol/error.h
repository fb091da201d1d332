/* Error codes of the protocol library: one error space.
 *
 * Every function of the plain-C core that can fail returns 0 (or a count) on
 * success and a negative code on failure. The codes of all modules live in
 * one space of numeric bands, one band of CHAT_ERR_BAND_SIZE codes per
 * module, so a code says by itself which module it comes from and codes of
 * different modules can travel through the same int:
 *
 *   -1 .. -99     codec, JSON, hex, catalogue (chat_status, below)
 *   -100 .. -199  Noise (protocol/noise.h)
 *   -200 .. -299  finite-field DH (protocol/dh-group.h)
 *   -300 .. -399  seed channel and seed decoder (protocol/seed-channel.h)
 *   -400 .. -499  v2 channel and v2 decoder (protocol/v2-channel.h)
 *   -500 .. -599  server keys, known hosts, pinning (protocol/server-key.h)
 *   -600 .. -699  key log (protocol/keylog.h)
 *   -700 .. -799  the channel over both dialects (protocol/channel.h)
 *
 * Each module's enum is written relative to its band's base. chat_strerror
 * and chat_error_name (protocol/error.c, one table) cover every code.
 *
 * A chat_error, where the caller passes one, carries the code, the byte
 * offset in the input where the problem was found, and a one-line
 * human-readable reason. */
#ifndef CHAT_PROTOCOL_ERROR_H
#define CHAT_PROTOCOL_ERROR_H

#include <stddef.h>

/* The bands: a module's codes are its base, base - 1, ... base - 99 (the
 * codec's start at -1, since 0 is success). */
#define CHAT_ERR_BAND_SIZE 100
enum {
  CHAT_ERR_BAND_CODEC = 0,
  CHAT_ERR_BAND_NOISE = -100,
  CHAT_ERR_BAND_DH = -200,
  CHAT_ERR_BAND_SEED = -300,
  CHAT_ERR_BAND_V2 = -400,
  CHAT_ERR_BAND_KEY = -500,
  CHAT_ERR_BAND_KEYLOG = -600,
  CHAT_ERR_BAND_CHANNEL = -700,
};
/* Number of bands above (for tests that walk them). */
#define CHAT_ERR_BAND_COUNT 8

typedef enum {
  CHAT_OK = 0,
  CHAT_ERR_TRUNCATED = -1,         /* a length points past the end of the input */
  CHAT_ERR_UNKNOWN_TYPE = -2,      /* a value type code that is not defined */
  CHAT_ERR_DEPTH = -3,             /* lists/dicts nested deeper than the limit */
  CHAT_ERR_UTF8 = -4,              /* a str or dict key that is not valid UTF-8 */
  CHAT_ERR_DUPLICATE_KEY = -5,     /* the same key twice in one dict */
  CHAT_ERR_TRAILING = -6,          /* bytes left after the one value */
  CHAT_ERR_LIMIT = -7,             /* a size over a caller-given limit */
  CHAT_ERR_INT_RANGE = -8,         /* an integer that does not fit 64 bits */
  CHAT_ERR_NOT_CANONICAL = -9,     /* an int with leading zero bytes, or -0 */
  CHAT_ERR_BAD_BOOL = -10,         /* a bool body that is not one byte 0 or 1 */
  CHAT_ERR_BAD_FLOAT = -11,        /* a float body that is not 4 or 8 bytes */
  CHAT_ERR_NOMEM = -12,            /* out of memory */
  CHAT_ERR_BAD_MESSAGE = -13,      /* layer 2: too short for the message type */
  CHAT_ERR_UNKNOWN_MESSAGE = -14,  /* a message type code not in the catalogue */
  CHAT_ERR_SHAPE = -15,            /* parameters do not match the catalogue */
  CHAT_ERR_INVALID_ARGUMENT = -16, /* a caller error (e.g. a key over 255 bytes) */
  CHAT_ERR_SYNTAX = -17,           /* text input (JSON, hex) is malformed */
} chat_status;

/* Longest reason text, including the terminating NUL. */
#define CHAT_ERROR_MESSAGE_MAX 160

typedef struct {
  chat_status code;
  size_t offset;
  char message[CHAT_ERROR_MESSAGE_MAX];
} chat_error;

/* A short constant description of any code of any band ("truncated
 * input", ...); "success" for 0, "unknown error" for a code no module
 * defines. Every code has its own text. */
const char *chat_strerror(int code);

/* The stable machine name of any code of any band ("truncated", "depth",
 * "frame_empty", "v2_truncated"...), as used in spec/vectors; every code has
 * its own. "ok" for 0, NULL for a code no module defines. */
const char *chat_error_name(int code);

/* The base of the band code lies in (CHAT_ERR_BAND_*); 0 for 0 and for the
 * codec's codes. */
int chat_error_band(int code);

/* Records an error: sets all fields of *err (when err is not NULL) and returns
 * code, so callers can write `return chat_error_set(err, ...)`. */
int chat_error_set(chat_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
