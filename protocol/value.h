/* The value codec: layers 3 and 4 of the chat protocol.
 *
 * A value on the wire is `u8 type, u32 BE length, body`, except null, which is
 * the single byte 0x00. The seed system's types keep their codes and meaning;
 * type 8 (negative integer) and 8-byte floats are this implementation's
 * additions. See spec/protocol.md, "Values".
 *
 * Decoding builds a tree of chat_value nodes in an arena; encoding goes
 * through a chat_writer, which appends straight to a chat_buffer and can be
 * used without building a tree (the server's hot path does that). */
#ifndef CHAT_PROTOCOL_VALUE_H
#define CHAT_PROTOCOL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/arena.h"
#include "protocol/buffer.h"
#include "protocol/error.h"

/* Type codes on the wire. */
enum {
  CHAT_WIRE_NULL = 0,
  CHAT_WIRE_INT = 1,    /* minimal big-endian unsigned magnitude */
  CHAT_WIRE_FLOAT = 2,  /* IEEE-754 big-endian, 4 or 8 bytes */
  CHAT_WIRE_STR = 3,    /* UTF-8 */
  CHAT_WIRE_LIST = 4,   /* concatenated values */
  CHAT_WIRE_DICT = 5,   /* repeated: u8 key length, key, value */
  CHAT_WIRE_BOOL = 6,   /* one byte, 0 or 1 */
  CHAT_WIRE_BYTES = 7,  /* raw */
  CHAT_WIRE_NEGINT = 8, /* minimal big-endian magnitude of a negative int */
};

/* Size of a value header (type byte + u32 length). */
#define CHAT_VALUE_HEADER_SIZE 5
/* Longest dict key: its length is one byte. */
#define CHAT_DICT_KEY_MAX 255
/* Deepest nesting of lists and dicts a writer can track. */
#define CHAT_WRITER_MAX_DEPTH 64

typedef enum {
  CHAT_VALUE_NULL,
  CHAT_VALUE_INT,
  CHAT_VALUE_FLOAT,
  CHAT_VALUE_STR,
  CHAT_VALUE_LIST,
  CHAT_VALUE_DICT,
  CHAT_VALUE_BOOL,
  CHAT_VALUE_BYTES,
} chat_value_kind;

typedef struct chat_value chat_value;
typedef struct chat_dict_entry chat_dict_entry;

struct chat_value {
  chat_value_kind kind;
  union {
    /* An integer in -2^63 .. 2^64-1: negative is never set for 0. */
    struct {
      bool negative;
      uint64_t magnitude;
    } integer;
    /* width is 4 (binary32 on the wire) or 8 (binary64). A binary32 is held
     * widened exactly (chat_float32_widen_bits): a NaN keeps its sign and
     * payload, and a signalling NaN stays signalling. */
    struct {
      double value;
      uint8_t width;
    } real;
    bool boolean;
    /* str (valid UTF-8) and bytes. Not NUL-terminated when borrowed. */
    struct {
      const uint8_t *data;
      size_t len;
    } blob;
    struct {
      chat_value *items;
      size_t count;
    } list;
    struct {
      chat_dict_entry *entries;
      size_t count;
    } dict;
  } as;
};

struct chat_dict_entry {
  const char *key; /* valid UTF-8, key_len <= 255 */
  size_t key_len;
  chat_value value;
};

/* Decoder limits. A value over a limit fails with CHAT_ERR_LIMIT. */
typedef struct {
  size_t max_depth;     /* lists and dicts nested in each other */
  size_t max_str_len;   /* one str */
  size_t max_bytes_len; /* one bytes */
  size_t max_items;     /* entries of one list or dict */
} chat_limits;

#define CHAT_DEFAULT_MAX_DEPTH 32
#define CHAT_DEFAULT_MAX_STR_LEN (1u << 20)
#define CHAT_DEFAULT_MAX_BYTES_LEN (16u << 20)
#define CHAT_DEFAULT_MAX_ITEMS (1u << 20)

/* Fills *limits with the defaults above. */
void chat_limits_init(chat_limits *limits);

/* Decode flags. */
enum {
  /* str and bytes bodies point into the input instead of being copied into
   * the arena: the caller keeps the input alive while it uses the tree. */
  CHAT_DECODE_BORROW = 1u << 0,
};

/* Decodes exactly one value from data[0..len): trailing bytes are an error.
 * Nodes are allocated from arena. limits may be NULL for the defaults.
 * Offsets in *err count from data.
 *
 * Errors: CHAT_ERR_TRUNCATED, CHAT_ERR_UNKNOWN_TYPE, CHAT_ERR_DEPTH,
 * CHAT_ERR_UTF8, CHAT_ERR_DUPLICATE_KEY, CHAT_ERR_TRAILING, CHAT_ERR_LIMIT,
 * CHAT_ERR_INT_RANGE, CHAT_ERR_NOT_CANONICAL, CHAT_ERR_BAD_BOOL,
 * CHAT_ERR_BAD_FLOAT, CHAT_ERR_NOMEM. */
int chat_value_decode(const uint8_t *data, size_t len, const chat_limits *limits, unsigned flags,
                      chat_arena *arena, chat_value **out, chat_error *err);

/* Same, with `base` added to every offset reported (for a value that starts
 * inside a larger message). */
int chat_value_decode_at(const uint8_t *data, size_t len, size_t base, const chat_limits *limits,
                         unsigned flags, chat_arena *arena, chat_value **out, chat_error *err);

/* Appends the encoding of a value tree. Errors: CHAT_ERR_NOMEM,
 * CHAT_ERR_LIMIT, CHAT_ERR_INVALID_ARGUMENT (a key over 255 bytes, a body over
 * 4 GiB, nesting deeper than CHAT_WRITER_MAX_DEPTH, a float width not 4 or 8). */
int chat_value_encode(const chat_value *value, chat_buffer *out);

/* Structural equality: same kinds, same numbers (floats bit for bit, width
 * included), same bytes, same dict entries in the same order. */
bool chat_value_equal(const chat_value *a, const chat_value *b);

/* A binary32, given as its bits, widened to the double holding the same
 * number; a NaN keeps its sign and payload (shifted into the top of the
 * double's), and a signalling NaN is not quieted as the hardware
 * conversion would. */
double chat_float32_widen_bits(uint32_t bits);
/* The bits of the binary32 nearest d (as (float)d), except that a NaN is
 * narrowed bit for bit, the inverse of chat_float32_widen_bits (a NaN whose
 * payload lies only in bits binary32 lacks becomes a quiet NaN). */
uint32_t chat_float32_narrow_bits(double d);

/* Readers of a decoded tree. They return false when the value is not of the
 * asked kind or does not fit the out type. */
bool chat_value_get_i64(const chat_value *v, int64_t *out);
bool chat_value_get_u64(const chat_value *v, uint64_t *out);
/* Looks a key up in a dict (linear: dicts on the wire are small). */
const chat_value *chat_value_dict_get(const chat_value *dict, const char *key);
/* The name of a kind: "null", "int", ... */
const char *chat_value_kind_name(chat_value_kind kind);

/* Constructors for building trees (tests, JSON). */
void chat_value_set_null(chat_value *v);
void chat_value_set_int(chat_value *v, int64_t i);
void chat_value_set_uint(chat_value *v, uint64_t u);
void chat_value_set_bool(chat_value *v, bool b);
void chat_value_set_float(chat_value *v, double d); /* width 8 */
void chat_value_set_str(chat_value *v, const char *s, size_t len);
void chat_value_set_bytes(chat_value *v, const uint8_t *data, size_t len);

/* The streaming encoder. Appends straight to a buffer; containers are closed
 * with their _end call, which writes their length. Errors are sticky: after
 * the first failure every call does nothing, and chat_writer_finish returns
 * the first error. */
typedef struct {
  chat_buffer *out;
  size_t open[CHAT_WRITER_MAX_DEPTH];
  unsigned depth;
  int status;
} chat_writer;

void chat_writer_init(chat_writer *w, chat_buffer *out);
void chat_write_null(chat_writer *w);
void chat_write_int(chat_writer *w, int64_t i);
void chat_write_uint(chat_writer *w, uint64_t u);
/* An integer as sign and magnitude: covers -2^63 .. 2^64-1. */
void chat_write_integer(chat_writer *w, bool negative, uint64_t magnitude);
void chat_write_bool(chat_writer *w, bool b);
void chat_write_float(chat_writer *w, double d);  /* 8 bytes */
void chat_write_float32(chat_writer *w, float f); /* 4 bytes, as the seed */
void chat_write_str(chat_writer *w, const char *s, size_t len);
void chat_write_cstr(chat_writer *w, const char *s);
void chat_write_bytes(chat_writer *w, const uint8_t *data, size_t len);
void chat_write_list_begin(chat_writer *w);
void chat_write_list_end(chat_writer *w);
void chat_write_dict_begin(chat_writer *w);
void chat_write_dict_end(chat_writer *w);
/* Writes a key; the next write is its value. The caller keeps keys unique. */
void chat_write_key(chat_writer *w, const char *key, size_t len);
void chat_write_key_cstr(chat_writer *w, const char *key);
/* Checks every container was closed; returns 0 or the first error. */
int chat_writer_finish(chat_writer *w);

#endif
