/* Chat connections in a capture: TCP segments -> the secure-channel
 * items and the plaintext messages of each chat connection, in capture
 * order.
 *
 * Which connections: every TCP connection with the chat port on one side
 * (the server's); with `guess_ports`, also connections on other ports whose
 * SYN was captured and whose client starts with the v2 preamble (a seed
 * connection has no signature and is only found by its port).
 *
 * Per connection (tcp-streams.h reassembles the bytes):
 *  - the dialect, from the client's first byte: 0x00 starts the v2
 *    preamble, anything else is a seed client's Diffie-Hellman value;
 *  - v2: each direction goes through chat_v2_stream_decoder. Handshake
 *    message 1 gives the session id (the client's ephemeral key); the key
 *    log gives CHAT_V2_C2S_KEY / CHAT_V2_S2C_KEY for it;
 *  - seed: the client's first flight (every byte it sent before the
 *    server's first byte) is its DH value; SHA-256 of those bytes is the
 *    session id of CHAT_SEED_KEY. The server's first flight (its bytes
 *    before the client's next ones) is the server's value. Then both
 *    directions are frames (protocol/seed-decoder.h).
 *
 * The results go to a sink as items: notes (new connection, preamble,
 * handshake messages, DH values, keys found or not, record and frame sizes
 * when there is no key, breaks, decoding errors, ends) and messages (the
 * plaintext of layer 2, still encoded: the sink decodes and prints it). */
#ifndef CHATCTL_CAPTURE_CHAT_STREAMS_H
#define CHATCTL_CAPTURE_CHAT_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatctl/capture/keylog-table.h"
#include "chatctl/capture/pcap-reader.h"
#include "chatctl/capture/tcp-streams.h"
#include "protocol/chat-limits.h"
#include "protocol/dialect.h"

/* The default chat port (config.json's server port). */
#define CHAT_DUMP_DEFAULT_PORT ((unsigned)CHAT_DEFAULT_PORT)
/* Room for "client -> server" with its NUL. */
#define CHAT_DUMP_CONNECTION_TEXT_MAX (2u * CAPTURE_ENDPOINT_TEXT_MAX + 8u)
/* Longest note text, with its NUL. */
#define CHAT_DUMP_NOTE_MAX 512u

typedef struct {
  uint64_t number;                          /* #1, #2, ... */
  char text[CHAT_DUMP_CONNECTION_TEXT_MAX]; /* "client -> server" */
} chat_dump_connection;

typedef enum {
  CHAT_DUMP_ITEM_NOTE,
  CHAT_DUMP_ITEM_MESSAGE,
} chat_dump_item_kind;

typedef struct {
  chat_dump_item_kind kind;
  uint64_t time_usec;
  const chat_dump_connection *connection;
  bool has_direction;
  tcp_direction direction;
  chat_dialect dialect;
  /* MESSAGE: the plaintext (layer 2), valid during the call. */
  const uint8_t *data;
  size_t len;
  /* NOTE: a machine name ("handshake", "no_key", "stream_broken", ...) and
   * the text for humans; the optional numbers and the session id (hex)
   * repeat what the text says, for --json. */
  const char *event;
  const char *text;
  bool has_length;
  uint64_t length; /* bytes of the item on the wire */
  bool has_offset;
  uint64_t offset; /* stream offset where it starts */
  bool has_missing;
  uint64_t missing; /* stream_broken: bytes missing (0: unknown) */
  const char *session_id;
} chat_dump_item;

typedef void (*chat_dump_sink)(void *user, const chat_dump_item *item);

typedef struct {
  const keylog_table *keys; /* may be NULL: nothing is decrypted */
  uint16_t port;
  bool guess_ports;
  chat_dump_sink sink;
  void *sink_user;
} chat_dump_config;

typedef struct {
  uint64_t connections;  /* connections shown (on the port, or recognised) */
  uint64_t v2, seed;     /* of them, recognised as chat in each dialect */
  uint64_t not_chat;     /* of them, found not to be chat */
  uint64_t without_keys; /* chat sessions whose key was not in the key log */
  uint64_t messages;     /* messages handed to the sink */
  uint64_t breaks;       /* directions whose stream broke */
} chat_dump_stats;

typedef struct chat_dump chat_dump;

/* NULL when out of memory. */
chat_dump *chat_dump_new(const chat_dump_config *config);

/* One TCP segment of the capture, in capture order. */
void chat_dump_segment(chat_dump *dump, const capture_segment *seg);

/* The capture ended (time: its last packet): ends every stream. */
void chat_dump_finish(chat_dump *dump, uint64_t time);

const chat_dump_stats *chat_dump_get_stats(const chat_dump *dump);
const tcp_streams_stats *chat_dump_get_tcp_stats(const chat_dump *dump);

void chat_dump_free(chat_dump *dump);

#endif
