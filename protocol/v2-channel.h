/* The v2 secure channel (Noise NX) as a sans-IO engine, and a passive
 * decoder of its byte streams for captures.
 *
 * Like the seed dialect's channel (protocol/seed-channel.h) the engine never
 * touches a socket (after BearSSL and nghttp2): the caller feeds it the bytes
 * it read and writes out the bytes it is handed. The cryptography is the
 * Noise core of protocol/noise.h.
 *
 * ==== Wire format (spec/protocol.md section 7) =============================
 *
 * The u16 and u32 lengths below are big-endian; the AEAD nonce is 32 zero
 * bits and the 64-bit counter, big-endian for AESGCM and little-endian for
 * ChaChaPoly (spec 7.5). A connection is, in this order:
 *
 * 1. Preamble, client -> server, 8 bytes:
 *      00 43 48 41 54 | 02      | SS    | 00
 *      0x00 "CHAT"    | version | suite | reserved
 *    version is CHAT_V2_VERSION (2); suite is CHAT_V2_SUITE_AESGCM (0x01,
 *    Noise_NX_25519_AESGCM_SHA256) or CHAT_V2_SUITE_CHACHAPOLY (0x02,
 *    Noise_NX_25519_ChaChaPoly_SHA256); reserved is 0x00. The leading 0x00
 *    tells a v2 client from a seed-dialect client, whose first bytes are a
 *    minimal big-endian Diffie-Hellman value (never a leading zero byte).
 *    The server refuses a wrong magic (CHAT_V2_ERR_BAD_MAGIC), a version
 *    other than 2 (CHAT_V2_ERR_BAD_VERSION), an unknown or not accepted suite
 *    (CHAT_V2_ERR_BAD_SUITE) and a non-zero reserved byte
 *    (CHAT_V2_ERR_BAD_RESERVED); the caller then closes the connection,
 *    after writing the 8-byte refusal (chat_v2_make_refusal) for the last
 *    three. A client reads a refusal as CHAT_V2_ERR_REFUSED, with the
 *    server's version in the reason.
 *    The 8 preamble bytes are the Noise prologue on both sides, so a changed
 *    preamble (e.g. a suite downgrade) makes the handshake fail.
 *
 * 2. Handshake, Noise NX (`-> e` / `<- e, ee, s, es`), each message as
 *    `u16 length || Noise handshake message`:
 *      message 1, client -> server: the client's ephemeral public key (32
 *        bytes), then the client-info blob the client's caller configured,
 *        0 .. CHAT_V2_MAX_CLIENT_INFO (1024) bytes, in the clear (Noise has
 *        no key yet) but mixed into the handshake hash, so message 2 fails
 *        at the client if it was changed; the server hands it to its caller
 *        (chat_v2_channel_client_info). Under 32 bytes is
 *        CHAT_V2_ERR_HANDSHAKE_LENGTH, over 32 + 1024
 *        CHAT_V2_ERR_HANDSHAKE_PAYLOAD (both from the length prefix).
 *      message 2, server -> client: e (32) || encrypted s (32 + 16 tag) ||
 *        encrypted payload (n + 16 tag), so 96 + n bytes. The payload is
 *        the server-info blob the server's caller configured (it puts an
 *        encoded value there), 0 <= n <= CHAT_V2_MAX_SERVER_INFO (1024); the
 *        client hands it to its caller (chat_v2_channel_server_info). A
 *        length under 96 is CHAT_V2_ERR_HANDSHAKE_LENGTH, over 96 + 1024 is
 *        CHAT_V2_ERR_HANDSHAKE_PAYLOAD (refused from the length prefix,
 *        before the body is read).
 *    Failed authentication of message 2 (wrong prologue, tampering, suite
 *    mismatch) and an all-zero DH output (low-order key) on either side are
 *    CHAT_V2_ERR_HANDSHAKE_FAILED. Split() gives the client's sending key
 *    (client -> server, "c2s") and the server's (server -> client, "s2c").
 *    The session id is the client's ephemeral public key (message 1).
 *
 * 3. Transport records, both directions, after the handshake:
 *      u16 L || ciphertext (L bytes)
 *    ciphertext = the Noise transport encryption (ChaChaPoly or AES-256-GCM,
 *    empty associated data, the implicit nonce counter of the direction's
 *    CipherState) of the record plaintext, so L = plaintext length + 16.
 *    CHAT_V2_MIN_RECORD_LEN (17) <= L <= CHAT_V2_MAX_RECORD_LEN (65535); a
 *    smaller L is CHAT_V2_ERR_RECORD_TOO_SHORT (refused from the length
 *    prefix). A record whose tag does not verify is CHAT_V2_ERR_BAD_TAG and
 *    nothing of its plaintext is used; since nonces are implicit, tampered,
 *    replayed, reordered and dropped records all show up as bad tags.
 *    The plaintext is `u8 record type || body`:
 *      1 MESSAGE          body = one whole application message (>= 1 byte).
 *      2 MESSAGE_BEGIN    body = u32 T (the message's total length) || the
 *                         first fragment (>= 1 byte, < T; else
 *                         CHAT_V2_ERR_FRAGMENT_LENGTH). Any message of 2
 *                         bytes or more may be fragmented, in fragments of
 *                         any size (a receiver accepts every record length
 *                         and fragment size; CHAT_V2_ERR_TOTAL_TOO_SMALL is
 *                         no longer used). T must be at most the receiver's
 *                         max_message (else CHAT_V2_ERR_TOTAL_TOO_LARGE,
 *                         decided before anything is allocated for the
 *                         message).
 *      3 MESSAGE_CONTINUE body = the next fragment (>= 1 byte); the running
 *                         total must stay below T (else
 *                         CHAT_V2_ERR_FRAGMENT_LENGTH).
 *      4 MESSAGE_END      body = the last fragment (>= 1 byte); the running
 *                         total must then equal T exactly (else
 *                         CHAT_V2_ERR_FRAGMENT_LENGTH). The message is
 *                         delivered.
 *      5 REKEY            empty body. The sender calls Rekey() on its
 *                         sending cipher right after encrypting this record;
 *                         the receiver calls Rekey() on its receiving cipher
 *                         after processing it (the nonce counter goes on).
 *      6 CLOSE            empty body. The sender sends nothing more: any
 *                         byte after it is CHAT_V2_ERR_DATA_AFTER_CLOSE. A
 *                         CLOSE while a fragmented message is incomplete is
 *                         CHAT_V2_ERR_INCOMPLETE_MESSAGE.
 *    Other types are CHAT_V2_ERR_UNKNOWN_RECORD; an empty body for types
 *    1-4 (or a BEGIN without its 4-byte total and a fragment byte) is
 *    CHAT_V2_ERR_EMPTY_BODY; a body on REKEY or CLOSE is
 *    CHAT_V2_ERR_UNEXPECTED_BODY.
 *    At most one fragmented message is in progress per direction:
 *    BEGIN while one is in progress is CHAT_V2_ERR_FRAGMENT_IN_PROGRESS,
 *    CONTINUE or END without one is CHAT_V2_ERR_NO_FRAGMENT. MESSAGE (and
 *    REKEY) records may come between the fragments of a fragmented message,
 *    so a chat line overtakes a several-MB image.
 *    The end of the transport without a CLOSE record is
 *    CHAT_V2_ERR_TRUNCATED (chat_v2_channel_eof), so a cut connection is
 *    detected.
 *
 * ==== What this sender does ===============================================
 *
 *  - Messages of 1 .. max_message bytes are accepted by chat_v2_channel_send
 *    and copied into an outgoing queue bounded by max_queue_bytes (queued
 *    plaintext not yet encrypted + encrypted bytes not yet taken by
 *    chat_v2_channel_output_consumed); past it send fails with
 *    CHAT_V2_ERR_QUEUE_FULL.
 *  - A message of at most CHAT_V2_MAX_RECORD_BODY bytes goes out as one
 *    MESSAGE record. A longer one is fragmented: BEGIN carries
 *    CHAT_V2_MAX_RECORD_BODY - 4 bytes, each CONTINUE CHAT_V2_MAX_RECORD_BODY
 *    bytes, and END the rest (1 .. CHAT_V2_MAX_RECORD_BODY bytes).
 *  - Records are made lazily: chat_v2_channel_output encrypts further
 *    records from the queues only while fewer than CHAT_V2_OUTPUT_BATCH_BYTES
 *    encrypted bytes wait to be written (one whole record at a time), so a
 *    5 MB image is not encrypted at once. Whole messages and fragmented ones wait
 *    in two FIFO queues; the next record is a whole message unless the
 *    previous record was one and a fragmented message is waiting, so the two
 *    kinds alternate while both wait. Delivery order is therefore: whole
 *    messages keep their order among themselves, fragmented messages keep
 *    theirs, and a whole message may overtake a fragmented one sent before
 *    it.
 *  - Rekeying: the sender counts the plaintext bytes (type byte included)
 *    of the records it encrypts with the current key. Before it encrypts a
 *    MESSAGE, BEGIN, CONTINUE or END record, if that count has reached
 *    rekey_bytes, it first sends a REKEY record, rekeys and resets the
 *    count. REKEY and CLOSE records are not counted and do not trigger one.
 *  - chat_v2_channel_close queues CLOSE behind everything already queued.
 *
 * ==== Using it ============================================================
 *
 *   client: new -> start -> loop { output / write / output_consumed;
 *           read / feed } until is_established; then check the server's key
 *           (chat_v2_channel_server_static, protocol/known-hosts.h) BEFORE
 *           sending anything or using a received message; send / next_message;
 *           close; on the end of the transport: eof.
 *   server: new (with server_private_key) -> feed; output; ...
 *
 * feed stops early at two points, so the caller can act in between: right
 * after the handshake completes (so a client checks the server's key before
 * any record is processed) and right after a record that completes a message
 * (at most one received message is waiting at a time). While a message is
 * waiting, feed consumes nothing: the caller loops feed, next_message, feed
 * the rest. Input may be split anywhere, down to one byte per call.
 *
 * ==== Errors ==============================================================
 *
 * Functions return 0 (or a count) on success and a negative
 * chat_v2_status on failure: the band CHAT_ERR_BAND_V2 of the one error
 * space (protocol/error.h), so they are disjoint from every other module's
 * codes; chat_strerror and chat_error_name name them. Caller errors
 * (INVALID_ARGUMENT, STATE, MESSAGE_EMPTY, MESSAGE_TOO_LARGE, QUEUE_FULL,
 * CLOSED) leave the channel as it was. Every other code is fatal (chat_v2_is_fatal): the channel is
 * dead, its secrets are wiped, and every later call returns the same code;
 * chat_v2_channel_error_message gives the detailed reason with the stream
 * offset.
 *
 * Secrets (private keys, chaining and cipher keys, session keys, queued and
 * received plaintext) are wiped with explicit_bzero when no longer needed,
 * on a fatal error and on free.
 */
#ifndef CHAT_PROTOCOL_V2_CHANNEL_H
#define CHAT_PROTOCOL_V2_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/chat-limits.h"
#include "protocol/noise.h"
#include "protocol/transit.h"

/* ---- Wire constants ------------------------------------------------------ */

#define CHAT_V2_PREAMBLE_LEN 8u
#define CHAT_V2_MAGIC_LEN 5u       /* 0x00 'C' 'H' 'A' 'T' */
#define CHAT_V2_VERSION_OFFSET 5u  /* preamble byte: version */
#define CHAT_V2_SUITE_OFFSET 6u    /* preamble byte: suite */
#define CHAT_V2_RESERVED_OFFSET 7u /* preamble byte: reserved, 0 */
#define CHAT_V2_VERSION 2u
#define CHAT_V2_RESERVED_VALUE 0u

/* Suites (preamble byte 6). CHAT_V2_SUITE_ANY is a configuration value only:
 * a client then uses CHAT_V2_SUITE_DEFAULT, a server accepts every suite. */
#define CHAT_V2_SUITE_ANY 0u
#define CHAT_V2_SUITE_AESGCM 1u     /* Noise_NX_25519_AESGCM_SHA256 */
#define CHAT_V2_SUITE_CHACHAPOLY 2u /* Noise_NX_25519_ChaChaPoly_SHA256 */
#define CHAT_V2_SUITE_DEFAULT CHAT_V2_SUITE_AESGCM

/* Every handshake message and record is preceded by a u16 length. */
#define CHAT_V2_LENGTH_PREFIX_LEN 2u
#define CHAT_V2_KEY_LEN CHAT_NOISE_KEY_LEN       /* cipher keys, static keys */
#define CHAT_V2_SESSION_ID_LEN CHAT_NOISE_DH_LEN /* client ephemeral public key */
#define CHAT_V2_TAG_LEN CHAT_NOISE_TAG_LEN
/* Message 1: the client's ephemeral public key, then the client-info payload
 * in the clear (0 .. CHAT_V2_MAX_CLIENT_INFO bytes). */
#define CHAT_V2_HANDSHAKE1_LEN CHAT_NOISE_DH_LEN
/* Largest server-info payload of message 2. */
#define CHAT_V2_MAX_SERVER_INFO 1024u
/* Largest client-info payload of message 1 (sent in the clear). */
#define CHAT_V2_MAX_CLIENT_INFO 1024u
#define CHAT_V2_HANDSHAKE1_MAX_LEN (CHAT_V2_HANDSHAKE1_LEN + CHAT_V2_MAX_CLIENT_INFO)
/* Message 2: e + encrypted s + the payload's tag, then the payload. */
#define CHAT_V2_HANDSHAKE2_MIN_LEN (2u * CHAT_NOISE_DH_LEN + 2u * CHAT_NOISE_TAG_LEN)
#define CHAT_V2_HANDSHAKE2_MAX_LEN (CHAT_V2_HANDSHAKE2_MIN_LEN + CHAT_V2_MAX_SERVER_INFO)

#define CHAT_V2_RECORD_TYPE_LEN 1u
#define CHAT_V2_TOTAL_LEN_BYTES 4u /* u32 T of MESSAGE_BEGIN */
/* Record length L: one type byte plus the tag at least, 65535 at most. */
#define CHAT_V2_MIN_RECORD_LEN (CHAT_V2_RECORD_TYPE_LEN + CHAT_V2_TAG_LEN)
#define CHAT_V2_MAX_RECORD_LEN CHAT_NOISE_MAX_MESSAGE
/* Largest record body (after the type byte): the largest whole MESSAGE. */
#define CHAT_V2_MAX_RECORD_BODY (CHAT_V2_MAX_RECORD_LEN - CHAT_V2_TAG_LEN - CHAT_V2_RECORD_TYPE_LEN)

/* Record types. */
typedef enum {
  CHAT_V2_RECORD_MESSAGE = 1,
  CHAT_V2_RECORD_MESSAGE_BEGIN = 2,
  CHAT_V2_RECORD_MESSAGE_CONTINUE = 3,
  CHAT_V2_RECORD_MESSAGE_END = 4,
  CHAT_V2_RECORD_REKEY = 5,
  CHAT_V2_RECORD_CLOSE = 6,
} chat_v2_record_type;

/* ---- Configuration ------------------------------------------------------- */

#define CHAT_V2_DEFAULT_MAX_MESSAGE CHAT_MAX_MESSAGE_DEFAULT /* 16 MiB */
#define CHAT_V2_MAX_MESSAGE_LIMIT ((size_t)1 << 30)          /* largest max_message */
#define CHAT_V2_DEFAULT_MAX_QUEUE_BYTES ((size_t)32 << 20)   /* 32 MiB */
#define CHAT_V2_DEFAULT_REKEY_BYTES ((uint64_t)256 << 20)    /* 256 MiB */
/* chat_v2_channel_output makes records until about this many bytes wait. */
#define CHAT_V2_OUTPUT_BATCH_BYTES 16384u
/* Longest detailed error reason, including the NUL. */
#define CHAT_V2_REASON_MAX 256u

typedef enum {
  CHAT_V2_ROLE_CLIENT = 1,
  CHAT_V2_ROLE_SERVER = 2,
} chat_v2_role;

typedef struct {
  /* Client: the suite to offer (CHAT_V2_SUITE_ANY = CHAT_V2_SUITE_DEFAULT).
   * Server: the only suite accepted, or CHAT_V2_SUITE_ANY for every suite. */
  uint8_t suite;
  /* Largest message sent or received, 1 .. CHAT_V2_MAX_MESSAGE_LIMIT. */
  size_t max_message;
  /* Bound of the outgoing queue in bytes; at least max_message. */
  size_t max_queue_bytes;
  /* Plaintext bytes encrypted under one sending key before a REKEY; >= 1. */
  uint64_t rekey_bytes;
  /* Server only (ignored by a client): the 32-byte X25519 static private key
   * (protocol/server-key.h), and the server-info blob of message 2
   * (0 .. CHAT_V2_MAX_SERVER_INFO bytes; NULL when the length is 0). Both
   * are copied by chat_v2_channel_new. */
  const uint8_t *server_private_key;
  const uint8_t *server_info;
  size_t server_info_len;
  /* Client only (ignored by a server): the client-info blob of message 1
   * (0 .. CHAT_V2_MAX_CLIENT_INFO bytes; NULL when the length is 0), sent in
   * the clear and authenticated by the handshake hash. Copied. */
  const uint8_t *client_info;
  size_t client_info_len;
  /* Optional: the shared budget that big receive buffers and long send
   * queues take their bytes from (protocol/transit.h). Must outlive the
   * channel. */
  chat_transit *transit;
} chat_v2_config;

/* Fills *config with the defaults: suite ANY, max_message
 * CHAT_V2_DEFAULT_MAX_MESSAGE, max_queue_bytes CHAT_V2_DEFAULT_MAX_QUEUE_BYTES,
 * rekey_bytes CHAT_V2_DEFAULT_REKEY_BYTES, no key, no server info. */
void chat_v2_config_init(chat_v2_config *config);

/* ---- Errors -------------------------------------------------------------- */

typedef enum {
  /* Caller errors: the channel is unchanged. */
  CHAT_V2_ERR_INVALID_ARGUMENT = CHAT_ERR_BAND_V2,      /* NULL pointer, bad config value, ... */
  CHAT_V2_ERR_STATE = CHAT_ERR_BAND_V2 - 1,             /* call not allowed in this state */
  CHAT_V2_ERR_MESSAGE_EMPTY = CHAT_ERR_BAND_V2 - 2,     /* send of zero bytes */
  CHAT_V2_ERR_MESSAGE_TOO_LARGE = CHAT_ERR_BAND_V2 - 3, /* send of more than max_message bytes */
  CHAT_V2_ERR_QUEUE_FULL = CHAT_ERR_BAND_V2 - 4, /* outgoing queue would exceed max_queue_bytes */
  CHAT_V2_ERR_CLOSED = CHAT_ERR_BAND_V2 - 5,     /* send or close after close */
  /* Fatal errors: the channel is dead. */
  CHAT_V2_ERR_NOMEM = CHAT_ERR_BAND_V2 - 6,             /* out of memory */
  CHAT_V2_ERR_BAD_MAGIC = CHAT_ERR_BAND_V2 - 7,         /* preamble does not start with 00 "CHAT" */
  CHAT_V2_ERR_BAD_VERSION = CHAT_ERR_BAND_V2 - 8,       /* preamble version is not 2 */
  CHAT_V2_ERR_BAD_SUITE = CHAT_ERR_BAND_V2 - 9,         /* unknown suite, or not the accepted one */
  CHAT_V2_ERR_BAD_RESERVED = CHAT_ERR_BAND_V2 - 10,     /* preamble reserved byte is not 0 */
  CHAT_V2_ERR_HANDSHAKE_LENGTH = CHAT_ERR_BAND_V2 - 11, /* handshake message too short */
  CHAT_V2_ERR_HANDSHAKE_PAYLOAD = CHAT_ERR_BAND_V2 - 12, /* client or server info over 1024 bytes */
  CHAT_V2_ERR_HANDSHAKE_FAILED =
      CHAT_ERR_BAND_V2 - 13, /* Noise handshake failed (authentication, low-order key) */
  CHAT_V2_ERR_RECORD_TOO_SHORT = CHAT_ERR_BAND_V2 - 14, /* record length L < 17 */
  CHAT_V2_ERR_BAD_TAG = CHAT_ERR_BAND_V2 - 15,          /* record authentication failed */
  CHAT_V2_ERR_UNKNOWN_RECORD = CHAT_ERR_BAND_V2 - 16,   /* record type not 1..6 */
  CHAT_V2_ERR_EMPTY_BODY = CHAT_ERR_BAND_V2 - 17, /* MESSAGE/BEGIN/CONTINUE/END without content */
  CHAT_V2_ERR_UNEXPECTED_BODY = CHAT_ERR_BAND_V2 - 18, /* REKEY or CLOSE with a body */
  CHAT_V2_ERR_FRAGMENT_IN_PROGRESS =
      CHAT_ERR_BAND_V2 - 19,                       /* BEGIN while a fragmented message is open */
  CHAT_V2_ERR_NO_FRAGMENT = CHAT_ERR_BAND_V2 - 20, /* CONTINUE or END without BEGIN */
  CHAT_V2_ERR_TOTAL_TOO_LARGE = CHAT_ERR_BAND_V2 - 21, /* BEGIN announces more than max_message */
  CHAT_V2_ERR_TOTAL_TOO_SMALL =
      CHAT_ERR_BAND_V2 - 22, /* no longer used: a BEGIN may announce any total */
  CHAT_V2_ERR_FRAGMENT_LENGTH =
      CHAT_ERR_BAND_V2 - 23, /* fragments do not add up to the announced total */
  CHAT_V2_ERR_INCOMPLETE_MESSAGE =
      CHAT_ERR_BAND_V2 - 24, /* CLOSE while a fragmented message is open */
  CHAT_V2_ERR_DATA_AFTER_CLOSE = CHAT_ERR_BAND_V2 - 25, /* bytes after the peer's CLOSE record */
  CHAT_V2_ERR_TRUNCATED = CHAT_ERR_BAND_V2 - 26, /* the transport ended without a CLOSE record */
  CHAT_V2_ERR_CRYPTO =
      CHAT_ERR_BAND_V2 - 27, /* the Noise core failed (random source, nonce exhausted) */
  /* The shared transit budget (protocol/transit.h) is used up: */
  CHAT_V2_ERR_TRANSIT_FULL = CHAT_ERR_BAND_V2 - 28, /* ...a send is refused (not fatal) */
  CHAT_V2_ERR_TRANSIT_EXHAUSTED =
      CHAT_ERR_BAND_V2 - 29, /* ...a message being received cannot grow (fatal) */
  /* Client: the server answered the preamble with the 8-byte refusal
   * (version, suite or reserved byte not accepted; fatal). */
  CHAT_V2_ERR_REFUSED = CHAT_ERR_BAND_V2 - 30,
} chat_v2_status;

/* ---- Refusing a preamble ------------------------------------------------ */

/* A server that reads the magic 00 "CHAT" but does not accept the version,
 * the suite or the reserved byte answers these 8 bytes and closes:
 *   00 43 48 41 54 | V                         | 00       | R
 *   0x00 "CHAT"    | highest version it speaks | reserved | reason
 * A client reads them where it expects message 2's u16 length: 00 43 is
 * 67, below any message 2 (96), so the two cannot be confused. */
#define CHAT_V2_REFUSAL_LEN 8u
#define CHAT_V2_REFUSAL_VERSION_OFFSET 5u
#define CHAT_V2_REFUSAL_REASON_OFFSET 7u
#define CHAT_V2_REFUSE_VERSION 1u  /* the version is not spoken */
#define CHAT_V2_REFUSE_SUITE 2u    /* the suite is unknown or not accepted */
#define CHAT_V2_REFUSE_RESERVED 3u /* the reserved byte is not 0 */

/* Fills out with the refusal that answers a preamble failing with code
 * (CHAT_V2_ERR_BAD_VERSION, _BAD_SUITE or _BAD_RESERVED) and returns true;
 * false (out untouched) for any other code, which is answered by closing. */
bool chat_v2_make_refusal(int code, uint8_t out[CHAT_V2_REFUSAL_LEN]);

/* True for the codes that kill a channel (see "Errors" above). */
bool chat_v2_is_fatal(int code);

/* ---- The channel --------------------------------------------------------- */

typedef struct chat_v2_channel chat_v2_channel;

/* Creates the engine for one connection. *out is NULL on failure.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (NULL out or config, bad role, suite
 * not ANY/AESGCM/CHACHAPOLY, max_message 0 or over
 * CHAT_V2_MAX_MESSAGE_LIMIT, max_queue_bytes < max_message, rekey_bytes 0,
 * a server without server_private_key, server_info over
 * CHAT_V2_MAX_SERVER_INFO or NULL with a length), CHAT_V2_ERR_NOMEM. */
int chat_v2_channel_new(chat_v2_role role, const chat_v2_config *config, chat_v2_channel **out);

/* Wipes every secret and frees the channel. NULL is allowed. */
void chat_v2_channel_free(chat_v2_channel *ch);

/* Client: queues the preamble and handshake message 1 for output; call it
 * once, right after connecting. Server: optional, queues nothing.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (called twice; a
 * server that already received bytes), and fatal: CHAT_V2_ERR_CRYPTO
 * (random source), CHAT_V2_ERR_NOMEM, or the channel's fatal error. */
int chat_v2_channel_start(chat_v2_channel *ch);

/* Feeds received bytes, split anywhere. Returns the number consumed, which
 * is less than len when feed stops early: after the handshake completes,
 * after a record that completes a message, and 0 while a received message
 * waits to be taken with chat_v2_channel_next_message (see "Using it").
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (ch NULL, data NULL with len > 0),
 * CHAT_V2_ERR_STATE (client before start), and fatal: BAD_MAGIC,
 * BAD_VERSION, BAD_SUITE, BAD_RESERVED (server), HANDSHAKE_LENGTH,
 * HANDSHAKE_PAYLOAD, HANDSHAKE_FAILED, RECORD_TOO_SHORT, BAD_TAG,
 * UNKNOWN_RECORD, EMPTY_BODY, UNEXPECTED_BODY, FRAGMENT_IN_PROGRESS,
 * NO_FRAGMENT, TOTAL_TOO_LARGE, TOTAL_TOO_SMALL, FRAGMENT_LENGTH,
 * INCOMPLETE_MESSAGE, DATA_AFTER_CLOSE, CRYPTO, NOMEM (each
 * CHAT_V2_ERR_...), or the channel's fatal error. */
ptrdiff_t chat_v2_channel_feed(chat_v2_channel *ch, const uint8_t *data, size_t len);

/* True once the handshake is complete and no fatal error happened. */
bool chat_v2_channel_is_established(const chat_v2_channel *ch);

/* The suite in use (CHAT_V2_SUITE_AESGCM / _CHACHAPOLY) once known (client:
 * after start; server: after the preamble), else CHAT_V2_SUITE_ANY. */
uint8_t chat_v2_channel_suite(const chat_v2_channel *ch);

/* The server's static public key: on a client the key the server proved in
 * the handshake, to be checked against the pin (protocol/known-hosts.h)
 * before any application data is sent or used; on a server its own.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not established),
 * or the channel's fatal error. */
int chat_v2_channel_server_static(const chat_v2_channel *ch, uint8_t out[CHAT_V2_KEY_LEN]);

/* The server-info blob of message 2 (client: as received; server: as
 * configured); *len may be 0. Valid while the channel lives.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not established),
 * or the channel's fatal error. */
int chat_v2_channel_server_info(const chat_v2_channel *ch, const uint8_t **data, size_t *len);

/* The client-info blob of message 1 (server: as received, in the clear but
 * authenticated by the handshake; client: as configured); *len may be 0.
 * Valid while the channel lives.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not established),
 * or the channel's fatal error. */
int chat_v2_channel_client_info(const chat_v2_channel *ch, const uint8_t **data, size_t *len);

/* Takes the next received message, in arrival order. Returns 1 and sets
 * *msg / *len (len >= 1), or 0 when none is waiting. *msg stays valid until
 * the next call of chat_v2_channel_next_message, chat_v2_channel_feed or
 * chat_v2_channel_free (its bytes are wiped then).
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, or the channel's fatal error. */
int chat_v2_channel_next_message(chat_v2_channel *ch, const uint8_t **msg, size_t *len);

/* Changes max_message and max_queue_bytes (max_queue_bytes >= max_message)
 * of a live channel, e.g. raised once a peer has logged in. A smaller
 * max_message applies to messages begun from now on.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT. */
int chat_v2_channel_set_limits(chat_v2_channel *ch, size_t max_message, size_t max_queue_bytes);

/* Copies a message into the outgoing queue (see "What this sender does").
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (ch NULL, msg NULL with len > 0),
 * CHAT_V2_ERR_STATE (not established), CHAT_V2_ERR_CLOSED (after close),
 * CHAT_V2_ERR_MESSAGE_EMPTY, CHAT_V2_ERR_MESSAGE_TOO_LARGE (over
 * max_message), CHAT_V2_ERR_QUEUE_FULL, CHAT_V2_ERR_TRANSIT_FULL (the queue
 * would need more of the transit budget than is left), and fatal:
 * CHAT_V2_ERR_NOMEM, or the channel's fatal error. */
int chat_v2_channel_send(chat_v2_channel *ch, const uint8_t *msg, size_t len);

/* The bytes to write to the peer next (*len may be 0). While fewer than
 * CHAT_V2_OUTPUT_BATCH_BYTES are waiting, it first encrypts further records
 * from the queues (a REKEY, CLOSE or data record each time). The bytes
 * stay valid until the next call that changes the channel; after writing
 * some, report them with chat_v2_channel_output_consumed.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, and fatal: CHAT_V2_ERR_NOMEM,
 * CHAT_V2_ERR_CRYPTO, or the channel's fatal error. */
int chat_v2_channel_output(chat_v2_channel *ch, const uint8_t **data, size_t *len);

/* Drops the first n bytes of the output.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (n more than is waiting), or the
 * channel's fatal error. */
int chat_v2_channel_output_consumed(chat_v2_channel *ch, size_t n);

/* True when nothing is left to write: no output bytes and empty queues. */
bool chat_v2_channel_output_idle(const chat_v2_channel *ch);

/* Queues a CLOSE record behind everything already queued; later sends fail
 * with CHAT_V2_ERR_CLOSED. Receiving goes on until the peer's CLOSE.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not
 * established), CHAT_V2_ERR_CLOSED (already called), or the channel's
 * fatal error. */
int chat_v2_channel_close(chat_v2_channel *ch);

/* True once the peer's CLOSE record has been processed. */
bool chat_v2_channel_peer_closed(const chat_v2_channel *ch);

/* Tells the channel that the transport ended (read returned 0). Returns 0
 * when the peer's CLOSE had been received; otherwise the channel dies with
 * CHAT_V2_ERR_TRUNCATED ("truncated stream", with where it was cut) and
 * that code is returned.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_TRUNCATED, or the
 * channel's earlier fatal error. */
int chat_v2_channel_eof(chat_v2_channel *ch);

/* The session's keys for a key log (protocol/keylog.h): the session id (the
 * client's ephemeral public key of message 1) and the INITIAL cipher keys
 * of both directions (as Split() made them, before any rekey).
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not
 * established), or the channel's fatal error. */
int chat_v2_channel_session_keys(const chat_v2_channel *ch,
                                 uint8_t session_id[CHAT_V2_SESSION_ID_LEN],
                                 uint8_t c2s_key[CHAT_V2_KEY_LEN],
                                 uint8_t s2c_key[CHAT_V2_KEY_LEN]);

/* The channel's fatal error code, or 0. */
int chat_v2_channel_error(const chat_v2_channel *ch);

/* The detailed reason of the fatal error (with the stream offset), or ""
 * when there is none. Valid while the channel lives. */
const char *chat_v2_channel_error_message(const chat_v2_channel *ch);

/* ---- Test-only hooks ----------------------------------------------------- */

/* Smallest record length accepted by chat_v2_channel_test_set_record_size: a
 * BEGIN with its total and a one-byte fragment. */
#define CHAT_V2_TEST_MIN_RECORD_LEN (CHAT_V2_MIN_RECORD_LEN + CHAT_V2_TOTAL_LEN_BYTES + 1u)

/* TESTS AND VECTORS ONLY: uses the given ephemeral private key instead of a
 * random one. Before start (client) / before the first byte (server).
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE, or the channel's
 * fatal error. */
int chat_v2_channel_test_set_ephemeral(chat_v2_channel *ch, const uint8_t priv[CHAT_V2_KEY_LEN]);

/* TESTS AND VECTORS ONLY: the sender's record_size (spec 7.4.2): the largest
 * record length it makes is max_record_len (CHAT_V2_TEST_MIN_RECORD_LEN ..
 * CHAT_V2_MAX_RECORD_LEN) instead of CHAT_V2_MAX_RECORD_LEN, so
 * fragmentation shows with small messages. The receiving side does not
 * depend on it. Before start and before the first byte.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE, or the channel's
 * fatal error. */
int chat_v2_channel_test_set_record_size(chat_v2_channel *ch, size_t max_record_len);

/* TESTS ONLY: encrypts the hand-made record plaintext `type || body` with
 * the channel's sending cipher and appends it to the output as is, ahead of
 * the queues and without any check of the type or the body (body_len up to
 * CHAT_V2_MAX_RECORD_BODY), to provoke the peer's errors.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE (not
 * established), fatal CHAT_V2_ERR_NOMEM / CHAT_V2_ERR_CRYPTO, or the
 * channel's fatal error. */
int chat_v2_channel_test_send_record(chat_v2_channel *ch, uint8_t type, const uint8_t *body,
                                     size_t body_len);

/* ---- Passive stream decoder (captures, `chatctl dump`) ------------------- */

/* Decodes ONE direction of a recorded v2 connection, given only its bytes:
 *   client -> server: preamble, handshake message 1, records;
 *   server -> client: handshake message 2, records.
 * It checks the framing as the channel does and, with that direction's
 * initial key (from a key log: CHAT_V2_C2S_KEY / CHAT_V2_S2C_KEY), decrypts
 * the records (following REKEY), reassembles fragmented messages and yields
 * the messages. Without a key it still reports the preamble, the handshake
 * messages (with the session id) and every record's length. The payload of
 * message 2 is encrypted with handshake keys a key log does not hold; only
 * its length is reported.
 *
 * Damaged input gives an error (a chat_v2_status, the same codes as the
 * channel) with the stream offset where the damaged item starts
 * (chat_v2_stream_decoder_error_offset) and a reason; it never reads out of
 * bounds. Errors are sticky. */

typedef enum {
  CHAT_V2_CLIENT_TO_SERVER = 1,
  CHAT_V2_SERVER_TO_CLIENT = 2,
} chat_v2_direction;

typedef enum {
  CHAT_V2_EVENT_PREAMBLE = 1, /* client -> server: the 8 preamble bytes */
  CHAT_V2_EVENT_HANDSHAKE,    /* a handshake message */
  CHAT_V2_EVENT_RECORD,       /* a transport record */
  CHAT_V2_EVENT_MESSAGE,      /* a complete application message (key known) */
} chat_v2_event_kind;

typedef struct {
  chat_v2_event_kind kind;
  uint64_t offset; /* stream offset where the item starts (its length prefix) */
  size_t wire_len; /* bytes of the item on the wire, prefix included */
  /* PREAMBLE */
  uint8_t version, suite;
  /* HANDSHAKE: the message number (1 or 2) and the Noise message length;
   * message 1 also gives the session id (has_session_id). */
  unsigned handshake_message;
  size_t noise_len;
  bool has_session_id;
  uint8_t session_id[CHAT_V2_SESSION_ID_LEN];
  /* RECORD: noise_len is L. When decrypted, the type and body length. */
  bool decrypted;
  uint8_t record_type;
  size_t body_len;
  /* MESSAGE: valid until the next decoder call. fragmented: it came as
   * BEGIN .. END; offset is then that of its END record. */
  const uint8_t *data;
  size_t len;
  bool fragmented;
} chat_v2_stream_event;

typedef struct chat_v2_stream_decoder chat_v2_stream_decoder;

/* Creates a decoder for one direction. suite: CHAT_V2_SUITE_AESGCM /
 * _CHACHAPOLY, or CHAT_V2_SUITE_ANY to take it from the preamble (client ->
 * server only; a given suite must then match the preamble). key: that
 * direction's initial 32-byte key, or NULL (see also set_key). max_message:
 * the largest reassembled message, 0 for CHAT_V2_DEFAULT_MAX_MESSAGE.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (NULL out, bad direction or suite, a
 * key for server -> client with suite ANY, max_message over
 * CHAT_V2_MAX_MESSAGE_LIMIT), CHAT_V2_ERR_NOMEM. */
int chat_v2_stream_decoder_new(chat_v2_direction direction, uint8_t suite, const uint8_t *key,
                               size_t max_message, chat_v2_stream_decoder **out);

/* Wipes the key and the plaintext and frees the decoder. NULL is allowed. */
void chat_v2_stream_decoder_free(chat_v2_stream_decoder *dec);

/* Sets the key after creation, e.g. once message 1 gave the session id to
 * look up in the key log. Allowed until the first record is decoded.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT (NULL; server -> client with suite
 * ANY), CHAT_V2_ERR_STATE (a record was decoded already, or a key is set),
 * or the decoder's error. */
int chat_v2_stream_decoder_set_key(chat_v2_stream_decoder *dec, const uint8_t key[CHAT_V2_KEY_LEN]);

/* TESTS AND VECTORS ONLY: kept for callers of old; a receiver accepts every
 * record size, so it changes nothing any more. Before the first byte.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_STATE. */
int chat_v2_stream_decoder_test_set_record_size(chat_v2_stream_decoder *dec, size_t max_record_len);

/* Feeds the direction's bytes, split anywhere. Returns the number consumed:
 * it stops after each item that produced events and consumes nothing while
 * events wait, so the caller loops: feed, drain next_event, feed the rest.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, and sticky: the framing and record
 * errors of chat_v2_channel_feed (BAD_MAGIC .. DATA_AFTER_CLOSE; BAD_TAG also
 * for a wrong key), CHAT_V2_ERR_NOMEM, CHAT_V2_ERR_CRYPTO. */
ptrdiff_t chat_v2_stream_decoder_feed(chat_v2_stream_decoder *dec, const uint8_t *data, size_t len);

/* Takes the next event: returns 1 and fills *event, or 0 when none waits.
 * Pointers in the event stay valid until the next decoder call.
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, or the decoder's error. */
int chat_v2_stream_decoder_next_event(chat_v2_stream_decoder *dec, chat_v2_stream_event *event);

/* The end of the direction's bytes: 0 when a CLOSE record was seen (or, with
 * no key, when the stream ends between records), else CHAT_V2_ERR_TRUNCATED
 * (sticky, with the offset and what was cut).
 * Errors: CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_TRUNCATED, or the
 * decoder's error. */
int chat_v2_stream_decoder_finish(chat_v2_stream_decoder *dec);

/* The decoder's error code (0 if none), the offset of the item it concerns,
 * and the detailed reason ("" if none). */
int chat_v2_stream_decoder_error(const chat_v2_stream_decoder *dec);
uint64_t chat_v2_stream_decoder_error_offset(const chat_v2_stream_decoder *dec);
const char *chat_v2_stream_decoder_error_message(const chat_v2_stream_decoder *dec);

#endif
