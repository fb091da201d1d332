/* The seed dialect's secure channel as a sans-IO engine.
 *
 * Implements spec/protocol.md, section 7 "Secure channel: seed dialect" (the
 * seed system's own behaviour: section 5.9; error names: section 8). The
 * engine never touches a socket (after BearSSL and nghttp2): the caller hands
 * it the bytes it read and writes out the bytes it is given.
 *
 * Connection start (unauthenticated finite-field Diffie-Hellman):
 *   client                                  server
 *   chat_seed_channel_start()  -- A -->     chat_seed_channel_receive_public(A)
 *   receive_public(B)          <-- B --     (queues B, then is established)
 * A = g^a mod p and B = g^b mod p travel as minimal big-endian bytes with no
 * length and no framing: the seed reads the peer's value with ONE read of up
 * to CHAT_SEED_PUBLIC_READ_MAX bytes, and so must we. The adapter therefore
 * passes exactly the bytes of its first successful read to
 * chat_seed_channel_receive_public, and everything read after that to
 * chat_seed_channel_feed. This only works because nothing else is on the
 * wire at that moment, which the engine guarantees for its own side:
 *   - the client sends A first; the server queues B only after it has
 *     received A;
 *   - neither side can send a frame before it has the peer's value;
 *   - a server does not send a frame before it has received the client's
 *     first frame (what it sends earlier waits in its queue), since a client
 *     that is still reading B could get B and the frame in one read (a seed
 *     client would then compute a wrong key).
 * A public value split over two TCP segments would be read short; the seed
 * has the same weakness. The value is then usually still in range, the keys
 * differ, and the first frame fails its padding check or decrypts to garbage.
 *
 * Key: K = SHA-256(minimal big-endian bytes of the shared secret), AES-256,
 * the same key in both directions. The minimal encoding is often shorter
 * than the modulus (its top byte is zero about 1 time in 256).
 *
 * Frames: u32 BE L | u8 n | 16-byte IV | L bytes AES-256-CBC(K, IV,
 * plaintext || n zero bytes). L is a multiple of 16, 16 <= L <= max_frame;
 * 0 <= n <= 15; the n padding bytes must decrypt to zero. Each sent frame
 * gets a fresh random IV.
 *
 * NO INTEGRITY: the seed dialect has no MAC and no sequence number. A
 * tampered, replayed, reordered or dropped frame is not detected as such:
 * tampering is noticed only when it happens to break the frame structure or
 * the zero padding; otherwise the receiver gets garbage (or an old message).
 * The DH exchange is unauthenticated, so a man in the middle can read and
 * write everything. Use this dialect only to talk to seed peers.
 *
 * Errors: functions return 0 (or a count) on success and a negative code on
 * failure: a chat_seed_status below or a chat_dh_status (protocol/
 * dh-group.h), two bands of the one error space (protocol/error.h:
 * chat_strerror and chat_error_name name them). Fatal errors
 * (chat_seed_is_fatal: everything the peer's bytes can cause, plus
 * out-of-memory and random-generator failures) kill the channel: every later call returns the same
 * code, and chat_seed_channel_error_message gives a detailed reason. Caller errors (invalid
 * argument, wrong state, output full, message too large) leave the channel as it was.
 *
 * Secrets (private exponent, shared secret, key, cipher contexts, received
 * plaintext) are wiped with explicit_bzero when no longer needed and on free.
 */
#ifndef CHAT_PROTOCOL_SEED_CHANNEL_H
#define CHAT_PROTOCOL_SEED_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/dh-group.h"
#include "protocol/transit.h"

#define CHAT_SEED_LENGTH_BYTES 4    /* u32 BE L */
#define CHAT_SEED_PAD_COUNT_BYTES 1 /* u8 n */
#define CHAT_SEED_IV_BYTES 16
#define CHAT_SEED_BLOCK_BYTES 16 /* AES block: L is a multiple of it */
#define CHAT_SEED_PAD_MAX 15     /* largest n */
#define CHAT_SEED_KEY_BYTES CHAT_DH_KEY_BYTES
#define CHAT_SEED_FRAME_HEADER_BYTES                                                               \
  (CHAT_SEED_LENGTH_BYTES + CHAT_SEED_PAD_COUNT_BYTES + CHAT_SEED_IV_BYTES)
/* The seed reads the peer's public value with one read of this many bytes. */
#define CHAT_SEED_PUBLIC_READ_MAX 1024
/* Bounds for the max_frame given at creation (a limit on L). */
#define CHAT_SEED_MAX_FRAME_MIN CHAT_SEED_BLOCK_BYTES
#define CHAT_SEED_MAX_FRAME_LIMIT ((size_t)1 << 30)
/* Outgoing queue (plaintexts not yet encrypted + encrypted bytes not yet
 * written): by default it holds this many frames of max_frame bytes; beyond
 * its bound chat_seed_channel_send answers CHAT_SEED_ERR_QUEUE_FULL. */
#define CHAT_SEED_OUTPUT_MAX_FRAMES 4
/* chat_seed_channel_output encrypts queued plaintexts only while fewer than
 * this many encrypted bytes wait to be written (a batch per write, not a
 * copy of the whole queue). */
#define CHAT_SEED_OUTPUT_BATCH_BYTES 16384
/* The passive decoder (seed-decoder.h) keeps a frame buffer up to this size
 * between frames. The channel keeps none: its receive buffer is freed,
 * whatever its size, once the frame's message is released, and its output
 * buffer once drained, so an idle channel holds no buffer at all. */
#define CHAT_SEED_RECEIVE_RETAIN_BYTES 65536
/* Longest detailed error reason, including the NUL. */
#define CHAT_SEED_REASON_MAX 160

typedef enum {
  CHAT_SEED_ROLE_CLIENT,
  CHAT_SEED_ROLE_SERVER,
} chat_seed_role;

typedef enum {
  /* Caller errors: the channel is unchanged. */
  CHAT_SEED_ERR_INVALID_ARGUMENT = CHAT_ERR_BAND_SEED, /* NULL pointer, bad max_frame, ... */
  CHAT_SEED_ERR_STATE = CHAT_ERR_BAND_SEED - 1,        /* call not allowed in this state */
  /* CHAT_ERR_BAND_SEED - 2 was "server send before the client's first
   * frame": such sends are now queued until that frame comes. */
  CHAT_SEED_ERR_MESSAGE_EMPTY = CHAT_ERR_BAND_SEED - 3, /* send of zero bytes (L would be 0) */
  CHAT_SEED_ERR_MESSAGE_TOO_LARGE =
      CHAT_ERR_BAND_SEED - 4, /* send whose padded length exceeds max_frame */
  CHAT_SEED_ERR_QUEUE_FULL = CHAT_ERR_BAND_SEED - 5, /* outgoing queue at its bound: drain, retry */
  /* Fatal errors. */
  CHAT_SEED_ERR_NOMEM = CHAT_ERR_BAND_SEED - 6,            /* out of memory */
  CHAT_SEED_ERR_FRAME_EMPTY = CHAT_ERR_BAND_SEED - 7,      /* received L == 0 */
  CHAT_SEED_ERR_FRAME_MISALIGNED = CHAT_ERR_BAND_SEED - 8, /* received L not a multiple of 16 */
  CHAT_SEED_ERR_FRAME_TOO_LARGE = CHAT_ERR_BAND_SEED - 9,  /* received L > max_frame */
  CHAT_SEED_ERR_PAD_COUNT = CHAT_ERR_BAND_SEED - 10,       /* received n > 15 */
  CHAT_SEED_ERR_PADDING = CHAT_ERR_BAND_SEED - 11, /* padding bytes not zero after decryption */
  /* The shared transit budget (protocol/transit.h) is used up: */
  CHAT_SEED_ERR_TRANSIT_FULL = CHAT_ERR_BAND_SEED - 12, /* ...a send is refused (not fatal) */
  CHAT_SEED_ERR_TRANSIT_EXHAUSTED =
      CHAT_ERR_BAND_SEED - 13, /* ...a frame being received cannot grow (fatal) */
  /* The seed decoder (protocol/seed-decoder.h): */
  CHAT_SEED_ERR_TRUNCATED = CHAT_ERR_BAND_SEED - 14, /* the stream ended inside a frame */
} chat_seed_status;

typedef struct chat_seed_channel chat_seed_channel;

/* Creates a channel for one connection. The group is copied (it need not
 * outlive the channel). max_frame caps L, the ciphertext length of a frame,
 * in both directions: a received frame with a larger L is refused as soon as
 * its 4 length bytes are in, before anything is allocated for it; a send whose
 * padded plaintext would exceed it is refused. Must be in
 * CHAT_SEED_MAX_FRAME_MIN..CHAT_SEED_MAX_FRAME_LIMIT.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_NOMEM. */
int chat_seed_channel_new(chat_seed_role role, const chat_dh_group *group, size_t max_frame,
                          chat_seed_channel **out);

/* TESTS AND VECTORS ONLY: a channel that is already established with the
 * given key, skipping the DH exchange (it behaves as a client, so it may send
 * at once). Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_NOMEM. */
int chat_seed_channel_new_with_key(const uint8_t key[CHAT_SEED_KEY_BYTES], size_t max_frame,
                                   chat_seed_channel **out);

/* Wipes and frees everything; NULL is allowed. */
void chat_seed_channel_free(chat_seed_channel *ch);

/* TESTS AND VECTORS ONLY: uses the given big-endian private exponent instead
 * of a random one. Allowed before chat_seed_channel_start (client) or
 * before chat_seed_channel_start / receive_public (server).
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE,
 * CHAT_DH_ERR_PRIVATE_RANGE, CHAT_DH_ERR_PUBLIC_RANGE (g^x outside 2..p-2),
 * or the channel's fatal error. */
int chat_seed_channel_set_private(chat_seed_channel *ch, const uint8_t *bytes, size_t len);

/* Starts the connection. Client: makes a key pair (unless one was injected)
 * and queues A for output; call it right after connecting. Server: makes its
 * key pair now, queues nothing (calling it is optional).
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE (called twice,
 * or on a server after receive_public), CHAT_SEED_ERR_NOMEM,
 * CHAT_DH_ERR_RANDOM, CHAT_DH_ERR_PUBLIC_RANGE (degenerate group), or the
 * channel's fatal error. The last three are fatal. */
int chat_seed_channel_start(chat_seed_channel *ch);

/* Takes the peer's public value: exactly the bytes of the first read from
 * the peer (see the top of this file). Client: allowed after start. Server:
 * allowed first; it then makes its key pair if needed and queues B. On
 * success the channel is established.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT (data NULL with len > 0),
 * CHAT_SEED_ERR_STATE (client before start, or a second call),
 * and fatal: CHAT_DH_ERR_PUBLIC_EMPTY (len 0), CHAT_DH_ERR_PUBLIC_TOO_LONG
 * (more bytes than the modulus), CHAT_DH_ERR_PUBLIC_RANGE (value outside
 * 2..p-2: 0, 1, p-1, p or more), CHAT_DH_ERR_RANDOM, CHAT_SEED_ERR_NOMEM. */
int chat_seed_channel_receive_public(chat_seed_channel *ch, const uint8_t *data, size_t len);

/* Feeds bytes received after the public value, split anywhere. Returns the
 * number of bytes consumed: it stops right after a frame that completes a
 * message, and consumes nothing while a message is waiting to be taken with
 * chat_seed_channel_next_message; so the caller loops: feed, drain messages,
 * feed the rest. At most one frame is buffered.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE (not
 * established), and fatal: CHAT_SEED_ERR_FRAME_EMPTY,
 * CHAT_SEED_ERR_FRAME_MISALIGNED, CHAT_SEED_ERR_FRAME_TOO_LARGE (all three
 * reported as soon as the 4 length bytes are in), CHAT_SEED_ERR_PAD_COUNT,
 * CHAT_SEED_ERR_PADDING, CHAT_SEED_ERR_NOMEM, or the channel's fatal error. */
ptrdiff_t chat_seed_channel_feed(chat_seed_channel *ch, const uint8_t *data, size_t len);

/* Takes the next decrypted message (one frame's plaintext, at least 1 byte).
 * Returns 1 and sets *msg / *len, or 0 when there is none. *msg stays valid
 * until the next call of chat_seed_channel_next_message,
 * chat_seed_channel_feed or chat_seed_channel_free.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, or the channel's fatal error. */
int chat_seed_channel_next_message(chat_seed_channel *ch, const uint8_t **msg, size_t *len);

/* Changes max_frame (the limit on L, both ways; a frame already begun keeps
 * its length) and the queue bound (at least max_frame) of a live channel,
 * e.g. raised once a peer has logged in.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT. */
int chat_seed_channel_set_limits(chat_seed_channel *ch, size_t max_frame, size_t max_queue);

/* Makes big receive buffers and long send queues take their bytes from a
 * shared budget (protocol/transit.h), which must outlive the channel.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT. */
int chat_seed_channel_set_transit(chat_seed_channel *ch, chat_transit *transit);

/* Sets the bound of the outgoing queue: queued plaintext plus encrypted
 * bytes not yet consumed (default: CHAT_SEED_OUTPUT_MAX_FRAMES frames of
 * max_frame). Must hold at least one frame of max_frame.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT. */
int chat_seed_channel_set_max_queue(chat_seed_channel *ch, size_t max_queue);

/* Copies plaintext into the outgoing queue; it becomes one frame (fresh
 * random IV) when chat_seed_channel_output encrypts it. A server holds what
 * it queues until the client's first frame has come (see the top of this
 * file).
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE (not
 * established), CHAT_SEED_ERR_MESSAGE_EMPTY, CHAT_SEED_ERR_MESSAGE_TOO_LARGE,
 * CHAT_SEED_ERR_QUEUE_FULL, CHAT_SEED_ERR_TRANSIT_FULL, and fatal:
 * CHAT_SEED_ERR_NOMEM, or the channel's fatal error. */
int chat_seed_channel_send(chat_seed_channel *ch, const uint8_t *plaintext, size_t len);

/* The bytes waiting to be written to the peer (*len may be 0). While fewer
 * than CHAT_SEED_OUTPUT_BATCH_BYTES wait and sending is allowed, it first
 * encrypts further queued plaintexts. They stay valid until the next call
 * that changes the channel. After writing some, report them with
 * chat_seed_channel_output_consumed.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, and fatal: CHAT_SEED_ERR_NOMEM,
 * CHAT_DH_ERR_RANDOM, or the channel's fatal error. */
int chat_seed_channel_output(chat_seed_channel *ch, const uint8_t **data, size_t *len);

/* True when nothing waits: no output bytes and no queued plaintext. */
bool chat_seed_channel_output_idle(const chat_seed_channel *ch);

/* Drops the first n bytes of the output.
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT (n more than is waiting), or the
 * channel's fatal error. */
int chat_seed_channel_output_consumed(chat_seed_channel *ch, size_t n);

/* True once the key is derived and no fatal error has happened. */
bool chat_seed_channel_is_established(const chat_seed_channel *ch);

/* Copies the session key (for a key log).
 * Errors: CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_STATE (not
 * established), or the channel's fatal error. */
int chat_seed_channel_session_key(const chat_seed_channel *ch, uint8_t out[CHAT_SEED_KEY_BYTES]);

/* The channel's fatal error code, or 0. */
int chat_seed_channel_error(const chat_seed_channel *ch);

/* A detailed reason for the fatal error (with the offending numbers), or ""
 * when there is none. Valid while the channel lives. */
const char *chat_seed_channel_error_message(const chat_seed_channel *ch);

/* True for the codes that kill a channel (see the top of this file). */
bool chat_seed_is_fatal(int code);

/* Size of the frame carrying a plaintext of len bytes (len >= 1). */
size_t chat_seed_frame_size(size_t len);

/* TESTS AND VECTORS ONLY: writes the frame for plaintext with the given key
 * and IV to out, which must hold chat_seed_frame_size(len) bytes. Returns the
 * bytes written, or 0 when len is 0 or over CHAT_SEED_MAX_FRAME_LIMIT. */
size_t chat_seed_frame_encrypt(const uint8_t key[CHAT_SEED_KEY_BYTES],
                               const uint8_t iv[CHAT_SEED_IV_BYTES], const uint8_t *plaintext,
                               size_t len, uint8_t *out);

#endif
