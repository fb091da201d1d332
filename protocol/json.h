/* JSON text: a strict RFC 8259 parser into a small tree, string-writing
 * helpers, and the project's lossless mapping between JSON and chat_value.
 *
 * Plain C, no GLib. The parser reads with (pos, end) pointers only: the text
 * need not be NUL-terminated and nothing past text + len is ever read.
 *
 * Error positions: every error carries the byte offset in the JSON text, and
 * parse errors start their message with "line L column C: " (lines count LF
 * characters from 1; columns count UTF-8 characters from 1 on that line),
 * followed by what was expected, e.g.
 *   "line 3 column 14: expected ',' or '}' after object member, got 'x'".
 *
 * ## The JSON <-> value mapping
 *
 * This is the project's documented lossless mapping (chatctl prints values
 * with it and reads values written in it):
 *
 *   value                    JSON
 *   -----------------------  -------------------------------------------------
 *   null                     null
 *   bool                     true / false
 *   int                      an integer number, exact over -2^63 .. 2^64-1.
 *                            Integer lexemes outside that range are an error;
 *                            "-0" reads as int 0.
 *   float, width 8           the shortest decimal that round-trips to the same
 *                            bits (tries "%.*g" with precision 1..17), always
 *                            containing '.' or 'e' (".0" appended otherwise),
 *                            e.g. 0.1, 1.0, 1e+300, 5e-324, -0.0. Decimal
 *                            exponents 0..15 are written in fixed notation
 *                            (100.0, not "%g"'s 1e+02), as Python's repr.
 *                            A JSON number with '.', 'e' or 'E' reads as a
 *                            float of width 8; one that overflows to infinity
 *                            is an error.
 *   NaN, +-inf (width 8)     {"$float": "NaN"}, {"$float": "Infinity"},
 *                            {"$float": "-Infinity"}
 *   float, width 4           {"$float32": N}: N is the shortest decimal that
 *                            round-trips through strtof to the same float
 *                            (also with '.' or 'e'), or one of the strings
 *                            "NaN", "Infinity", "-Infinity".
 *   str                      a string
 *   bytes                    {"$bytes": "<standard base64 with padding>"}
 *   list                     an array
 *   dict                     an object, members in wire order. A dict with
 *                            exactly one key that starts with '$' is written
 *                            {"$dict": {...}} so it is not read back as a
 *                            tagged value.
 *
 * Reading JSON: an object with exactly one member whose key starts with '$'
 * is a tagged value. The tags are "$bytes" (a base64 string; invalid or
 * non-canonical base64 is an error), "$float" (only one of the three strings
 * above), "$float32" (one of the three strings or any JSON number, rounded
 * to the nearest binary32; overflow to infinity is an error) and "$dict" (an
 * object whose members are the dict's entries, taken as they are). Any other
 * '$' tag is an error naming it. Object keys longer than CHAT_DICT_KEY_MAX
 * (255) bytes are an error.
 *
 * Not preserved: the payload and sign of a NaN ("NaN" reads back as the
 * canonical quiet NaN, 7ff8000000000000, or 7fc00000 for width 4).
 * Everything else round-trips value -> JSON -> value to a value that
 * chat_value_equal() holds equal. (spec/protocol.md, "The JSON mapping".)
 *
 * Output forms (flags of chat_value_write_json):
 *   default                  one line, separators ", " and ": " (as Python's
 *                            json.dumps), e.g. {"a": [1, 2], "b": null}
 *   CHAT_JSON_PRETTY         two-space indentation, one member or item per
 *                            line; tagged scalars ({"$bytes": ...},
 *                            {"$float": ...}) stay on one line. No trailing
 *                            newline.
 *   CHAT_JSON_BYTES_SUMMARY  bytes are written {"$bytes_len": N} instead of
 *                            their data: for humans, NOT reversible (reading
 *                            "$bytes_len" back is an unknown-tag error). */
#ifndef CHAT_PROTOCOL_JSON_H
#define CHAT_PROTOCOL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/arena.h"
#include "protocol/buffer.h"
#include "protocol/error.h"
#include "protocol/value.h"

/* Deepest value the JSON mapping carries: lists and dicts nested in each
 * other, counted as the wire decoder counts them (spec section 2.3; tag
 * objects such as {"$bytes": ...} and the {"$dict": ...} wrapper add no
 * level). Twice the decoder's default max_depth, so every value a decoder
 * with the default limits accepts maps to JSON and back. */
#define CHAT_JSON_MAX_VALUE_DEPTH (2 * CHAT_DEFAULT_MAX_DEPTH)

/* Deepest nesting of arrays and objects the parser accepts: the JSON of the
 * deepest value (each dict may take two levels, {"$dict": {...}}, and a tag
 * object at the bottom one more), with room for a document around it (a
 * message, a vector file). */
#define CHAT_JSON_MAX_DEPTH (2 * CHAT_JSON_MAX_VALUE_DEPTH + 32)

/* Room for any number chat_json_format_double / _float32 write, with NUL. */
#define CHAT_JSON_NUMBER_BUFFER_SIZE 32

typedef enum {
  CHAT_JSON_NULL,
  CHAT_JSON_BOOL,
  CHAT_JSON_NUMBER,
  CHAT_JSON_STRING,
  CHAT_JSON_ARRAY,
  CHAT_JSON_OBJECT,
} chat_json_kind;

typedef struct chat_json chat_json;
typedef struct chat_json_member chat_json_member;

/* One node of a parsed document. Everything it points to lives in the arena
 * given to chat_json_parse, not in the source text. */
struct chat_json {
  chat_json_kind kind;
  size_t offset; /* byte offset of the node's first byte in the source text */
  union {
    bool boolean;
    /* The number's exact lexeme, as in the source ("-12.5e3"), followed by a
     * NUL. Read big integers from here: nothing is rounded. */
    struct {
      const char *text;
      size_t len;
    } number;
    /* The decoded string: valid UTF-8, escapes resolved, followed by a NUL
     * (it may also contain NULs, from \u0000: use len). */
    struct {
      const char *data;
      size_t len;
    } string;
    struct {
      chat_json *items;
      size_t count;
    } array;
    /* Members in document order; keys are unique. */
    struct {
      chat_json_member *members;
      size_t count;
    } object;
  } as;
};

struct chat_json_member {
  const char *key; /* decoded like a string: valid UTF-8, NUL after it */
  size_t key_len;
  size_t key_offset; /* offset of the key's opening quote */
  chat_json value;
};

/* ---- Parsing ---------------------------------------------------------- */

/* Parses exactly one JSON document from text[0..len) (surrounding whitespace
 * allowed) into a tree allocated from arena. Nesting deeper than
 * CHAT_JSON_MAX_DEPTH is refused.
 *
 * Errors: CHAT_ERR_SYNTAX (malformed text, including an unescaped control
 * character in a string, a bad escape, a leading zero, an empty document),
 * CHAT_ERR_UTF8 (invalid UTF-8 inside a string, or a \u escape that is a lone
 * surrogate), CHAT_ERR_DEPTH, CHAT_ERR_DUPLICATE_KEY (the same key twice in
 * one object; the offset is the second one's), CHAT_ERR_TRAILING
 * (non-whitespace after the document), CHAT_ERR_NOMEM. */
int chat_json_parse(const char *text, size_t len, chat_arena *arena, chat_json **out,
                    chat_error *err);

/* "null", "bool", "number", "string", "array", "object". */
const char *chat_json_kind_name(chat_json_kind kind);

/* Looks a key up in an object (linear). NULL when json is not an object or
 * has no such member. The _n form takes a key that may hold NULs. */
const chat_json *chat_json_object_get(const chat_json *json, const char *key);
const chat_json *chat_json_object_get_n(const chat_json *json, const char *key, size_t key_len);

/* True when json is a number whose lexeme has no fraction and no exponent. */
bool chat_json_number_is_integer(const chat_json *json);

/* Exact readers of integer numbers. They return false (leaving *out alone)
 * when json is not a number, its lexeme has a fraction or exponent ("1.0",
 * "1e2"), or the value does not fit. chat_json_get_integer covers
 * -2^63 .. 2^64-1 as sign and magnitude; "-0" gives negative = false. */
bool chat_json_get_i64(const chat_json *json, int64_t *out);
bool chat_json_get_u64(const chat_json *json, uint64_t *out);
bool chat_json_get_integer(const chat_json *json, bool *negative, uint64_t *magnitude);

/* Reads any number as the nearest double (independent of the C locale).
 * False when json is not a number or the number overflows to infinity. */
bool chat_json_get_double(const chat_json *json, double *out);

/* The same rounded straight to the nearest binary32 (strtof: no double
 * rounding). False when not a number or it overflows to infinity. */
bool chat_json_get_float32(const chat_json *json, float *out);

/* Turns a byte offset into text[0..len) into a 1-based line (counting LF)
 * and column (counting UTF-8 characters), as used in error messages. An
 * offset past len counts as len. */
void chat_json_position(const char *text, size_t len, size_t offset, size_t *line, size_t *column);

/* ---- Writing ---------------------------------------------------------- */

/* Appends s[0..len) as a quoted JSON string: '"' and '\\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, everything else (non-ASCII UTF-8
 * included) as it is.
 * Errors: CHAT_ERR_UTF8 (s is not valid UTF-8; nothing is appended), the
 * buffer's CHAT_ERR_NOMEM / CHAT_ERR_LIMIT. */
int chat_json_write_string(chat_buffer *out, const char *s, size_t len);

/* Writes the shortest decimal that reads back (strtod) as the same double,
 * with '.' or 'e' in it, NUL-terminated, independent of the C locale.
 * Returns its length. d must be finite: for NaN and infinities it writes
 * "NaN" / "Infinity" / "-Infinity" (not JSON numbers). */
size_t chat_json_format_double(double d, char out[CHAT_JSON_NUMBER_BUFFER_SIZE]);

/* The same for a binary32 float, round-tripping through strtof. */
size_t chat_json_format_float32(float f, char out[CHAT_JSON_NUMBER_BUFFER_SIZE]);

/* ---- JSON <-> chat_value (json-value.c) ------------------------------- */

/* Flags of chat_value_write_json. 0 is the compact one-line form. */
enum {
  CHAT_JSON_PRETTY = 1u << 0,
  CHAT_JSON_BYTES_SUMMARY = 1u << 1,
};

/* Converts a parsed document to a value tree allocated from arena (strings,
 * keys and bytes are copied: the JSON tree may be freed afterwards). Offsets
 * in *err are the offending node's offset in the JSON text; the message does
 * not carry line:column (chat_value_parse_json adds it).
 *
 * Errors: CHAT_ERR_INT_RANGE (an integer outside -2^63 .. 2^64-1),
 * CHAT_ERR_SYNTAX (a float that overflows to infinity, an unknown '$' tag, a
 * tag with a payload of the wrong kind, invalid base64), CHAT_ERR_LIMIT (an
 * object key over CHAT_DICT_KEY_MAX bytes), CHAT_ERR_DEPTH (a hand-built tree
 * deeper than CHAT_JSON_MAX_VALUE_DEPTH), CHAT_ERR_INVALID_ARGUMENT (json is NULL,
 * e.g. a missing member from chat_json_object_get), CHAT_ERR_NOMEM. */
int chat_json_to_value(const chat_json *json, chat_arena *arena, chat_value **out, chat_error *err);

/* chat_json_parse then chat_json_to_value; only the value tree stays in arena.
 * Every error message starts with "line L column C: ".
 * Errors: those of chat_json_parse and chat_json_to_value. */
int chat_value_parse_json(const char *text, size_t len, chat_arena *arena, chat_value **out,
                          chat_error *err);

/* Appends value as JSON text (see the mapping above; flags are CHAT_JSON_*).
 * Whatever it writes without CHAT_JSON_BYTES_SUMMARY, chat_value_parse_json
 * reads back. On an error other than the buffer's, out->len is restored.
 * The caller keeps dict keys unique (as for chat_value_encode).
 *
 * Errors: CHAT_ERR_INVALID_ARGUMENT (a float width not 4 or 8, a negative int
 * below -2^63, a dict key over CHAT_DICT_KEY_MAX bytes, an unknown kind),
 * CHAT_ERR_UTF8 (a str or key that is not valid UTF-8), CHAT_ERR_DEPTH (the
 * value nests deeper than CHAT_JSON_MAX_VALUE_DEPTH), the buffer's
 * CHAT_ERR_NOMEM / CHAT_ERR_LIMIT. */
int chat_value_write_json(const chat_value *value, unsigned flags, chat_buffer *out);

#endif
