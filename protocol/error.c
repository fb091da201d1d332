/* The one table of error codes: every code of every band (protocol/error.h)
 * with its stable machine name and its description. */
#include "protocol/error.h"

#include <stdarg.h>
#include <stdio.h>

#include "protocol/channel.h"
#include "protocol/dh-group.h"
#include "protocol/keylog.h"
#include "protocol/noise.h"
#include "protocol/seed-channel.h"
#include "protocol/server-key.h"
#include "protocol/v2-channel.h"

typedef struct {
  int code;
  const char *name;
  const char *description;
} error_entry;

/* Names: the codec's, the seed frame checks' and the DH value checks' are in
 * spec/vectors and do not change. Elsewhere a name that would be generic
 * carries its band ("v2_truncated", "seed_nomem"). */
static const error_entry errors[] = {
    {CHAT_OK, "ok", "success"},

    /* ---- codec (CHAT_ERR_BAND_CODEC) ---- */
    {CHAT_ERR_TRUNCATED, "truncated", "truncated input"},
    {CHAT_ERR_UNKNOWN_TYPE, "unknown_type", "unknown value type"},
    {CHAT_ERR_DEPTH, "depth", "nesting too deep"},
    {CHAT_ERR_UTF8, "utf8", "invalid UTF-8"},
    {CHAT_ERR_DUPLICATE_KEY, "duplicate_key", "duplicate dict key"},
    {CHAT_ERR_TRAILING, "trailing", "trailing bytes after the value"},
    {CHAT_ERR_LIMIT, "limit", "size over the limit"},
    {CHAT_ERR_INT_RANGE, "int_range", "integer out of range"},
    {CHAT_ERR_NOT_CANONICAL, "not_canonical", "integer not minimally encoded"},
    {CHAT_ERR_BAD_BOOL, "bad_bool", "invalid bool"},
    {CHAT_ERR_BAD_FLOAT, "bad_float", "invalid float length"},
    {CHAT_ERR_NOMEM, "nomem", "out of memory"},
    {CHAT_ERR_BAD_MESSAGE, "bad_message", "message too short"},
    {CHAT_ERR_UNKNOWN_MESSAGE, "unknown_message", "unknown message type"},
    {CHAT_ERR_SHAPE, "shape", "parameters do not match the message type"},
    {CHAT_ERR_INVALID_ARGUMENT, "invalid_argument", "invalid argument"},
    {CHAT_ERR_SYNTAX, "syntax", "syntax error"},

    /* ---- Noise (CHAT_ERR_BAND_NOISE) ---- */
    {CHAT_NOISE_ERR_INVALID_ARGUMENT, "noise_invalid_argument",
     "invalid argument to the Noise core"},
    {CHAT_NOISE_ERR_NOMEM, "noise_nomem", "out of memory in the Noise core"},
    {CHAT_NOISE_ERR_UNKNOWN_PROTOCOL, "noise_unknown_protocol", "malformed Noise protocol name"},
    {CHAT_NOISE_ERR_UNSUPPORTED_PATTERN, "noise_unsupported_pattern",
     "unsupported Noise handshake pattern"},
    {CHAT_NOISE_ERR_UNSUPPORTED_DH, "noise_unsupported_dh", "unsupported Noise DH function"},
    {CHAT_NOISE_ERR_UNSUPPORTED_CIPHER, "noise_unsupported_cipher", "unsupported Noise cipher"},
    {CHAT_NOISE_ERR_UNSUPPORTED_HASH, "noise_unsupported_hash", "unsupported Noise hash"},
    {CHAT_NOISE_ERR_INVALID_STATE, "noise_invalid_state", "operation not valid in this state"},
    {CHAT_NOISE_ERR_NOT_APPLICABLE, "noise_not_applicable", "the pattern does not use this key"},
    {CHAT_NOISE_ERR_MISSING_KEY, "noise_missing_key", "a key the pattern needs is missing"},
    {CHAT_NOISE_ERR_MAC_FAILURE, "noise_mac_failure", "message authentication failed"},
    {CHAT_NOISE_ERR_SHORT_BUFFER, "noise_short_buffer", "output buffer too small"},
    {CHAT_NOISE_ERR_MESSAGE_TOO_LARGE, "noise_message_too_large", "Noise message over 65535 bytes"},
    {CHAT_NOISE_ERR_MESSAGE_TOO_SHORT, "noise_message_too_short", "Noise message too short"},
    {CHAT_NOISE_ERR_NONCE_EXHAUSTED, "noise_nonce_exhausted", "nonce exhausted"},
    {CHAT_NOISE_ERR_RANDOM, "noise_random", "random number generator failed"},
    {CHAT_NOISE_ERR_FAILED, "noise_failed", "handshake failed earlier"},

    /* ---- finite-field DH (CHAT_ERR_BAND_DH) ---- */
    {CHAT_DH_ERR_INVALID_ARGUMENT, "dh_invalid_argument", "invalid DH group argument"},
    {CHAT_DH_ERR_EMPTY, "dh_empty", "empty number"},
    {CHAT_DH_ERR_NOT_DECIMAL, "dh_not_decimal", "not a decimal number"},
    {CHAT_DH_ERR_TOO_MANY_DIGITS, "dh_too_many_digits", "number has too many digits"},
    {CHAT_DH_ERR_MODULUS_TOO_SMALL, "modulus_too_small", "DH modulus too small"},
    {CHAT_DH_ERR_MODULUS_TOO_LARGE, "modulus_too_large", "DH modulus too large"},
    {CHAT_DH_ERR_MODULUS_EVEN, "modulus_even", "DH modulus is even"},
    {CHAT_DH_ERR_BASE_RANGE, "base_range", "DH base outside 2..p-2"},
    {CHAT_DH_ERR_PUBLIC_EMPTY, "public_empty", "peer's public value is empty"},
    {CHAT_DH_ERR_PUBLIC_TOO_LONG, "public_too_long",
     "peer's public value is longer than the modulus"},
    {CHAT_DH_ERR_PUBLIC_RANGE, "public_range", "public value outside 2..p-2"},
    {CHAT_DH_ERR_PRIVATE_RANGE, "private_range", "private exponent outside 2..p-2"},
    {CHAT_DH_ERR_RANDOM, "dh_random", "system random number generator failed"},

    /* ---- seed channel and decoder (CHAT_ERR_BAND_SEED) ---- */
    {CHAT_SEED_ERR_INVALID_ARGUMENT, "seed_invalid_argument",
     "invalid argument to the seed channel"},
    {CHAT_SEED_ERR_STATE, "seed_state", "call not allowed in the seed channel's state"},
    {CHAT_SEED_ERR_MESSAGE_EMPTY, "seed_message_empty", "empty message"},
    {CHAT_SEED_ERR_MESSAGE_TOO_LARGE, "seed_message_too_large", "message larger than max_frame"},
    {CHAT_SEED_ERR_QUEUE_FULL, "seed_queue_full", "seed channel: outgoing queue full"},
    {CHAT_SEED_ERR_NOMEM, "seed_nomem", "out of memory in the seed channel"},
    {CHAT_SEED_ERR_FRAME_EMPTY, "frame_empty", "frame length is zero"},
    {CHAT_SEED_ERR_FRAME_MISALIGNED, "frame_misaligned", "frame length is not a multiple of 16"},
    {CHAT_SEED_ERR_FRAME_TOO_LARGE, "frame_too_large", "frame length over max_frame"},
    {CHAT_SEED_ERR_PAD_COUNT, "pad_count", "frame padding count over 15"},
    {CHAT_SEED_ERR_PADDING, "padding", "frame padding bytes are not zero"},
    {CHAT_SEED_ERR_TRANSIT_FULL, "seed_transit_full",
     "the memory for messages in transit is used up: no frame queued"},
    {CHAT_SEED_ERR_TRANSIT_EXHAUSTED, "seed_transit_exhausted",
     "the memory for messages in transit is used up: a frame cannot be received"},
    {CHAT_SEED_ERR_TRUNCATED, "seed_truncated", "truncated stream: ended inside a frame"},

    /* ---- v2 channel and decoder (CHAT_ERR_BAND_V2) ---- */
    {CHAT_V2_ERR_INVALID_ARGUMENT, "v2_invalid_argument", "invalid argument to the v2 channel"},
    {CHAT_V2_ERR_STATE, "v2_state", "call not allowed in the v2 channel's state"},
    {CHAT_V2_ERR_MESSAGE_EMPTY, "v2_message_empty", "empty v2 message"},
    {CHAT_V2_ERR_MESSAGE_TOO_LARGE, "v2_message_too_large", "message larger than max_message"},
    {CHAT_V2_ERR_QUEUE_FULL, "v2_queue_full", "v2 channel: outgoing queue full"},
    {CHAT_V2_ERR_CLOSED, "v2_closed", "the channel was closed for sending"},
    {CHAT_V2_ERR_NOMEM, "v2_nomem", "out of memory in the v2 channel"},
    {CHAT_V2_ERR_BAD_MAGIC, "bad_magic", "not a v2 preamble (expected 00 \"CHAT\")"},
    {CHAT_V2_ERR_BAD_VERSION, "bad_version", "unsupported protocol version"},
    {CHAT_V2_ERR_BAD_SUITE, "bad_suite", "unsupported cipher suite"},
    {CHAT_V2_ERR_BAD_RESERVED, "bad_reserved", "preamble reserved byte is not zero"},
    {CHAT_V2_ERR_HANDSHAKE_LENGTH, "handshake_length", "handshake message has a wrong length"},
    {CHAT_V2_ERR_HANDSHAKE_PAYLOAD, "handshake_payload",
     "handshake payload not allowed or too large"},
    {CHAT_V2_ERR_HANDSHAKE_FAILED, "handshake_failed", "handshake failed"},
    {CHAT_V2_ERR_RECORD_TOO_SHORT, "record_too_short", "record shorter than 17 bytes"},
    {CHAT_V2_ERR_BAD_TAG, "bad_tag", "record authentication failed"},
    {CHAT_V2_ERR_UNKNOWN_RECORD, "unknown_record", "unknown record type"},
    {CHAT_V2_ERR_EMPTY_BODY, "empty_body", "record body missing"},
    {CHAT_V2_ERR_UNEXPECTED_BODY, "unexpected_body", "record must have an empty body"},
    {CHAT_V2_ERR_FRAGMENT_IN_PROGRESS, "fragment_in_progress",
     "MESSAGE_BEGIN while a fragmented message is in progress"},
    {CHAT_V2_ERR_NO_FRAGMENT, "no_fragment",
     "MESSAGE_CONTINUE or MESSAGE_END without MESSAGE_BEGIN"},
    {CHAT_V2_ERR_TOTAL_TOO_LARGE, "total_too_large", "announced message length over max_message"},
    {CHAT_V2_ERR_TOTAL_TOO_SMALL, "total_too_small",
     "no longer used: a BEGIN may announce any total"},
    {CHAT_V2_ERR_FRAGMENT_LENGTH, "fragment_length",
     "fragments do not add up to the announced length"},
    {CHAT_V2_ERR_INCOMPLETE_MESSAGE, "incomplete_message",
     "CLOSE while a fragmented message is incomplete"},
    {CHAT_V2_ERR_DATA_AFTER_CLOSE, "data_after_close", "data after the CLOSE record"},
    {CHAT_V2_ERR_TRUNCATED, "v2_truncated", "truncated stream: ended without a CLOSE record"},
    {CHAT_V2_ERR_CRYPTO, "crypto", "cryptographic failure"},
    {CHAT_V2_ERR_TRANSIT_FULL, "v2_transit_full",
     "the memory for messages in transit is used up: nothing queued"},
    {CHAT_V2_ERR_TRANSIT_EXHAUSTED, "v2_transit_exhausted",
     "the memory for messages in transit is used up: a message cannot be received"},
    {CHAT_V2_ERR_REFUSED, "v2_refused",
     "the server refused the preamble (protocol version, cipher suite or reserved byte)"},

    /* ---- server keys, known hosts, pinning (CHAT_ERR_BAND_KEY) ---- */
    {CHAT_KEY_ERR_INVALID_ARGUMENT, "key_invalid_argument", "invalid server key or host argument"},
    {CHAT_KEY_ERR_IO, "key_io", "file input/output error"},
    {CHAT_KEY_ERR_PERMISSIONS, "key_permissions", "unprotected private key file"},
    {CHAT_KEY_ERR_MALFORMED, "key_malformed", "malformed file"},
    {CHAT_KEY_ERR_RANDOM, "key_random", "random number source failed"},
    {CHAT_KEY_ERR_EXISTS, "key_exists", "the host already has a different key"},
    {CHAT_KEY_ERR_NOMEM, "key_nomem", "out of memory for a server key"},
    {CHAT_KEY_ERR_NO_PATH, "key_no_path", "no usable data directory (XDG_DATA_HOME / HOME)"},
    {CHAT_PIN_ERR_CHANGED, "pin_changed", "the server's key has changed"},
    {CHAT_PIN_ERR_MISMATCH, "pin_mismatch", "the server's key is not the configured one"},
    {CHAT_PIN_ERR_NOT_CONFIGURED, "pin_not_configured", "no server key configured (policy strict)"},
    {CHAT_PIN_ERR_BAD_CONFIGURED, "pin_bad_configured",
     "configured server key is not a fingerprint or a key"},

    /* ---- key log (CHAT_ERR_BAND_KEYLOG) ---- */
    {CHAT_KEYLOG_ERR_INVALID_ARGUMENT, "keylog_invalid_argument", "invalid key log argument"},
    {CHAT_KEYLOG_ERR_IO, "keylog_io", "key log input/output error"},
    {CHAT_KEYLOG_ERR_PERMISSIONS, "keylog_permissions",
     "key log file accessible by group or others"},
    {CHAT_KEYLOG_ERR_MALFORMED, "keylog_malformed", "malformed key log line"},
    {CHAT_KEYLOG_ERR_NOMEM, "keylog_nomem", "out of memory for the key log"},

    /* ---- the channel over both dialects (CHAT_ERR_BAND_CHANNEL) ---- */
    {CHAT_CHANNEL_ERR_INVALID_ARGUMENT, "channel_invalid_argument",
     "invalid argument to the channel"},
    {CHAT_CHANNEL_ERR_STATE, "channel_state", "call not allowed in the channel's state"},
    {CHAT_CHANNEL_ERR_QUEUE_FULL, "channel_queue_full", "outgoing queue full"},
    {CHAT_CHANNEL_ERR_CLOSED, "channel_closed", "the channel is closed"},
    {CHAT_CHANNEL_ERR_MESSAGE_SIZE, "channel_message_size", "message empty or over max_message"},
    {CHAT_CHANNEL_ERR_NOMEM, "channel_nomem", "out of memory in the channel"},
    {CHAT_CHANNEL_ERR_LEGACY_REFUSED, "channel_legacy_refused", "seed-dialect client refused"},
    {CHAT_CHANNEL_ERR_TRUNCATED, "channel_truncated", "truncated stream"},
    {CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE, "channel_eof_in_handshake",
     "the stream ended during the handshake"},
    {CHAT_CHANNEL_ERR_TRANSIT_FULL, "channel_transit_full",
     "the memory for messages in transit is used up"},
};

static const error_entry *find(int code) {
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    if (errors[i].code == code)
      return &errors[i];
  return NULL;
}

const char *chat_strerror(int code) {
  const error_entry *e = find(code);
  return e ? e->description : "unknown error";
}

const char *chat_error_name(int code) {
  const error_entry *e = find(code);
  return e ? e->name : NULL;
}

int chat_error_band(int code) {
  if (code >= 0)
    return CHAT_ERR_BAND_CODEC;
  return -(-code / CHAT_ERR_BAND_SIZE) * CHAT_ERR_BAND_SIZE;
}

int chat_error_set(chat_error *err, int code, size_t offset, const char *fmt, ...) {
  if (err) {
    err->code = (chat_status)code;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}
