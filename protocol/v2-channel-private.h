/* Private to the v2 channel: the channel's state, shared by its two files,
 * v2-channel.c (life cycle, failure, sending and output, accessors) and
 * v2-channel-input.c (the handshake and the receiving side). */
#ifndef CHAT_PROTOCOL_V2_CHANNEL_PRIVATE_H
#define CHAT_PROTOCOL_V2_CHANNEL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/buffer.h"
#include "protocol/noise.h"
#include "protocol/v2-channel.h"
#include "protocol/v2-internal.h"

typedef enum {
  IN_IDLE,       /* client before start */
  IN_PREAMBLE,   /* server: collecting the 8 preamble bytes */
  IN_HS_LENGTH,  /* collecting a handshake message's u16 length */
  IN_HS_BODY,    /* collecting a handshake message */
  IN_REC_LENGTH, /* collecting a record's u16 length */
  IN_REC_BODY,   /* collecting a record */
  IN_REFUSAL,    /* client: the rest of the server's 8-byte refusal */
} input_state;

typedef enum {
  MSG_NONE,
  MSG_READY, /* a received message waits to be taken */
  MSG_TAKEN, /* handed out; wiped by the next feed / next_message */
} message_state;

/* One queued outgoing message (a copy of the caller's bytes). */
typedef struct queued_message {
  struct queued_message *next;
  size_t len;
  size_t sent; /* bytes already encrypted (fragmented messages) */
  uint8_t data[];
} queued_message;

typedef struct {
  queued_message *head;
  queued_message *tail;
} message_queue;

struct chat_v2_channel {
  chat_v2_role role;
  uint8_t suite; /* client: offered; server: accepted (ANY) then in use */
  size_t max_message;
  size_t max_queue_bytes;
  uint64_t rekey_bytes;
  size_t record_body_max; /* largest record body (test hook may lower it) */
  bool started;
  bool established;
  int error; /* fatal code, 0 while alive */
  char reason[CHAT_V2_REASON_MAX];

  /* Handshake (freed once established). */
  chat_noise_handshake *hs;
  uint8_t preamble[CHAT_V2_PREAMBLE_LEN];
  uint8_t static_priv[CHAT_V2_KEY_LEN]; /* server */
  uint8_t static_pub[CHAT_V2_KEY_LEN];  /* server */
  bool fixed_ephemeral;
  uint8_t ephemeral_priv[CHAT_V2_KEY_LEN];

  /* Session. */
  uint8_t server_static[CHAT_V2_KEY_LEN];
  uint8_t *server_info;
  size_t server_info_len;
  uint8_t *client_info;
  size_t client_info_len;
  uint8_t session_id[CHAT_V2_SESSION_ID_LEN];
  uint8_t key_c2s[CHAT_V2_KEY_LEN];
  uint8_t key_s2c[CHAT_V2_KEY_LEN];
  chat_noise_cipher *send_cs;
  chat_noise_cipher *recv_cs;

  /* Input. */
  input_state in;
  uint8_t prefix[CHAT_V2_LENGTH_PREFIX_LEN];
  /* The handshake message or record being collected, allocated at its
   * length (from its u16 prefix) when its first byte arrives and freed once
   * it is processed, or, when it carried a whole MESSAGE, once that message
   * is released: an idle channel holds no receive buffer. */
  uint8_t *rec;
  size_t rec_cap;
  size_t need;
  size_t have;
  uint64_t rx_total;    /* bytes consumed so far */
  uint64_t item_offset; /* stream offset of the item being collected */
  chat_v2_reassembly reasm;
  message_state msg;
  const uint8_t *msg_data;
  size_t msg_len;
  bool msg_fragmented;
  bool peer_closed;

  /* Output: its unread bytes wait to be written. It holds only handshake
   * messages and ciphertext (records are encrypted in place). */
  chat_buffer out;
  message_queue whole;      /* messages that fit one record */
  message_queue fragmented; /* longer ones; the head may be partly sent */
  bool last_was_whole;
  size_t queued_bytes;   /* unencrypted queued plaintext + waiting output */
  chat_transit *transit; /* the shared budget, or NULL */
  size_t transit_held;   /* bytes of it the send queue holds */
  uint64_t since_rekey;  /* plaintext bytes under the current sending key */
  bool close_requested;
  bool close_sent;
};

/* Kills the channel with a fatal error (wiping every secret) and returns
 * the code. */
int chat_v2_fail(chat_v2_channel *ch, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure of the Noise core outside authentication: CHAT_V2_ERR_NOMEM or
 * CHAT_V2_ERR_CRYPTO, with what was being done and the Noise reason. */
int chat_v2_noise_fail(chat_v2_channel *ch, int rc, const char *what);

/* Room for n more output bytes (fatal CHAT_V2_ERR_NOMEM: NULL), then
 * chat_v2_out_commit once they are written there. */
uint8_t *chat_v2_out_reserve(chat_v2_channel *ch, size_t n);
void chat_v2_out_commit(chat_v2_channel *ch, size_t n);

/* Wipes and frees the receive buffer. */
void chat_v2_rec_release(chat_v2_channel *ch);

#endif
