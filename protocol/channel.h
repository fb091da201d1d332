/* One interface over the two secure channels: the seed dialect's DH +
 * AES-CBC frames (protocol/seed-channel.h) and v2's Noise NX records
 * (protocol/v2-channel.h).
 *
 * An I/O adapter drives every connection the same way, whatever its
 * dialect, and never branches on it:
 *
 *   client: new_client -> start; server: new_server.
 *   loop {
 *     read at most chat_channel_read_limit() bytes; feed them (feed may
 *       stop early: call it again with the rest);
 *     the first time chat_channel_is_established() is true: a v2 client
 *       checks chat_channel_server_key() against its pin; then
 *       chat_channel_log_keys();
 *     take every chat_channel_next_message();
 *     chat_channel_peer_closed(): the peer said it is done;
 *     write what chat_channel_output() hands out, report it with
 *       chat_channel_output_consumed();
 *   }
 *   send queues a message; close queues the end (v2: a CLOSE record);
 *   on the end of the byte stream: chat_channel_eof().
 *
 * A server channel learns its dialect from the first byte it is fed: 0x00
 * starts the v2 preamble; anything else is a seed client's Diffie-Hellman
 * value, refused with CHAT_CHANNEL_ERR_LEGACY_REFUSED unless the config
 * allows the seed dialect. A client channel speaks the dialect it is given;
 * there is never a fallback.
 *
 * The seed dialect reads the peer's public value with ONE read of at most
 * CHAT_SEED_PUBLIC_READ_MAX bytes; chat_channel_read_limit() says so, and
 * the bytes of that read are consumed as the value.
 *
 * Errors: negative codes of the one error space (protocol/error.h). The
 * channel's own (CHAT_CHANNEL_ERR_*, band CHAT_ERR_BAND_CHANNEL) name what
 * an adapter acts on; any other negative code is the
 * engine's fatal error (chat_seed_status / chat_dh_status / chat_v2_status),
 * passed through. After a fatal error every call returns it again and
 * chat_channel_error_message() has the detailed reason.
 *
 * Plain C, no GLib; not thread-safe (one thread at a time per channel).
 */
#ifndef CHAT_PROTOCOL_CHANNEL_H
#define CHAT_PROTOCOL_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/dh-group.h"
#include "protocol/dialect.h"
#include "protocol/keylog.h"
#include "protocol/transit.h"
#include "protocol/v2-channel.h"

typedef enum {
  CHAT_CHANNEL_ERR_INVALID_ARGUMENT = CHAT_ERR_BAND_CHANNEL, /* NULL pointer, bad config value */
  CHAT_CHANNEL_ERR_STATE =
      CHAT_ERR_BAND_CHANNEL - 1, /* not allowed now (send before established, ...) */
  CHAT_CHANNEL_ERR_QUEUE_FULL =
      CHAT_ERR_BAND_CHANNEL - 2, /* the outgoing queue is at its bound (not fatal) */
  CHAT_CHANNEL_ERR_CLOSED = CHAT_ERR_BAND_CHANNEL - 3, /* send or close after close (not fatal) */
  CHAT_CHANNEL_ERR_MESSAGE_SIZE =
      CHAT_ERR_BAND_CHANNEL - 4, /* send of 0 bytes or over max_message (not fatal) */
  CHAT_CHANNEL_ERR_NOMEM = CHAT_ERR_BAND_CHANNEL - 5, /* out of memory (fatal) */
  CHAT_CHANNEL_ERR_LEGACY_REFUSED =
      CHAT_ERR_BAND_CHANNEL - 6, /* a seed client, the seed dialect is off (fatal) */
  CHAT_CHANNEL_ERR_TRUNCATED =
      CHAT_ERR_BAND_CHANNEL - 7, /* the stream ended without v2's CLOSE (fatal) */
  CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE =
      CHAT_ERR_BAND_CHANNEL - 8, /* the stream ended during the handshake (fatal) */
  CHAT_CHANNEL_ERR_TRANSIT_FULL =
      CHAT_ERR_BAND_CHANNEL - 9, /* the transit budget is used up (not fatal) */
} chat_channel_status;

/* Both engines' settings. Every pointer is copied or used only during
 * chat_channel_new_*, except seed_group which must outlive the channel's
 * handshake (the seed engine copies it). */
typedef struct {
  size_t max_message; /* largest message either way, 1 .. CHAT_V2_MAX_MESSAGE_LIMIT */
  size_t max_queue;   /* outgoing bound, >= max_message */
  /* v2 */
  uint8_t v2_suite;     /* client: offered; server: accepted (CHAT_V2_SUITE_ANY: both) */
  uint64_t rekey_bytes; /* >= 1 */
  const uint8_t *server_private_key; /* server: CHAT_V2_KEY_LEN bytes */
  const uint8_t *server_info;        /* server: handshake payload, may be NULL */
  size_t server_info_len;
  const uint8_t *client_info; /* client: message 1's payload (client-info), may be NULL */
  size_t client_info_len;     /* 0 .. CHAT_V2_MAX_CLIENT_INFO */
  /* seed */
  bool allow_seed;                 /* server: accept seed clients */
  const chat_dh_group *seed_group; /* needed for the seed dialect */
  /* both: optional shared budget of messages in transit (transit.h); must
   * outlive the channel */
  chat_transit *transit;
} chat_channel_config;

typedef struct chat_channel chat_channel;

/* Fills config with the defaults: v2 sizes and rekey of v2-channel.h, any
 * suite, no key, seed off. */
void chat_channel_config_init(chat_channel_config *config);

/* A server channel; its dialect comes with the first byte.
 * Errors: CHAT_CHANNEL_ERR_INVALID_ARGUMENT (no key, allow_seed without a
 * group, bad sizes), CHAT_CHANNEL_ERR_NOMEM. */
int chat_channel_new_server(const chat_channel_config *config, chat_channel **out);

/* A client channel of the given dialect (SEED or V2).
 * Errors: CHAT_CHANNEL_ERR_INVALID_ARGUMENT, CHAT_CHANNEL_ERR_NOMEM, or the
 * engine's error. */
int chat_channel_new_client(chat_dialect dialect, const chat_channel_config *config,
                            chat_channel **out);

/* Wipes and frees; NULL is allowed. */
void chat_channel_free(chat_channel *ch);

/* Client: queues its first bytes (v2 preamble + message 1, or the seed
 * public value). Server: nothing.
 * Errors: CHAT_CHANNEL_ERR_STATE (twice), or the engine's fatal error. */
int chat_channel_start(chat_channel *ch);

/* The most bytes the next read may take: CHAT_SEED_PUBLIC_READ_MAX while a
 * seed public value (or a server's first byte) is due, else SIZE_MAX. */
size_t chat_channel_read_limit(const chat_channel *ch);

/* Feeds received bytes. Returns how many were used; it may be fewer than
 * len (after the handshake completes, after a message; none while a
 * message waits): take the messages and call again with the rest.
 * Errors: CHAT_CHANNEL_ERR_LEGACY_REFUSED, CHAT_CHANNEL_ERR_NOMEM, or the
 * engine's fatal error. */
ptrdiff_t chat_channel_feed(chat_channel *ch, const uint8_t *data, size_t len);

/* True once the handshake is complete and no fatal error happened. */
bool chat_channel_is_established(const chat_channel *ch);

/* The dialect (UNKNOWN on a server before its first byte; SEED once a seed
 * client was refused). */
chat_dialect chat_channel_get_dialect(const chat_channel *ch);

/* The next received message: 1 (with *msg, *len valid until the next feed
 * or next_message), 0 when none waits, or the fatal error. */
int chat_channel_next_message(chat_channel *ch, const uint8_t **msg, size_t *len);

/* Changes max_message and max_queue of a live channel (both dialects), e.g.
 * raised once the peer has logged in. Before the dialect is known (a
 * server before its first byte) the config's values change instead.
 * Errors: CHAT_CHANNEL_ERR_INVALID_ARGUMENT (max_queue < max_message, ...). */
int chat_channel_set_limits(chat_channel *ch, size_t max_message, size_t max_queue);

/* Copies one message into the outgoing queue.
 * Errors: CHAT_CHANNEL_ERR_STATE (not established), CHAT_CHANNEL_ERR_CLOSED,
 * CHAT_CHANNEL_ERR_MESSAGE_SIZE, CHAT_CHANNEL_ERR_QUEUE_FULL,
 * CHAT_CHANNEL_ERR_TRANSIT_FULL (none of them fatal), or a fatal error. */
int chat_channel_send(chat_channel *ch, const uint8_t *msg, size_t len);

/* The bytes to write next (*len 0: nothing now), and how many were
 * written. Errors: the fatal error. */
int chat_channel_output(chat_channel *ch, const uint8_t **data, size_t *len);
int chat_channel_output_consumed(chat_channel *ch, size_t n);

/* True when nothing waits to be written or encrypted. */
bool chat_channel_output_idle(const chat_channel *ch);

/* No more sends: v2 queues a CLOSE record behind what is queued; the seed
 * dialect has no such record and just refuses later sends.
 * Errors: CHAT_CHANNEL_ERR_STATE (not established), CHAT_CHANNEL_ERR_CLOSED
 * (again), or a fatal error. */
int chat_channel_close(chat_channel *ch);

/* True once the peer said it is done (v2's CLOSE record). */
bool chat_channel_peer_closed(const chat_channel *ch);

/* The byte stream ended. 0 when that is a clean end (seed: always once
 * established; v2: after the peer's CLOSE).
 * Errors: CHAT_CHANNEL_ERR_TRUNCATED, CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE (both
 * fatal). */
int chat_channel_eof(chat_channel *ch);

/* v2 only, once established: the server's static key (a client checks it
 * against its pin before anything else) and the handshake's server-info
 * blob. Errors: CHAT_CHANNEL_ERR_STATE (seed, or not established), or a
 * fatal error. */
int chat_channel_server_key(const chat_channel *ch, uint8_t out[CHAT_V2_KEY_LEN]);
int chat_channel_server_info(const chat_channel *ch, const uint8_t **data, size_t *len);
/* v2 only, once established: the client-info blob of handshake message 1
 * (a server: as received). Errors: as chat_channel_server_info. */
int chat_channel_client_info(const chat_channel *ch, const uint8_t **data, size_t *len);

/* Appends the session's keys to the key log (protocol/keylog.h), once
 * established. Errors: CHAT_CHANNEL_ERR_STATE, or the key log's error. */
int chat_channel_log_keys(const chat_channel *ch, chat_keylog *keylog);

/* The fatal error (0 while alive), and its detailed reason ("" if none). */
int chat_channel_error(const chat_channel *ch);
const char *chat_channel_error_message(const chat_channel *ch);

#endif
