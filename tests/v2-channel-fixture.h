/* Shared fixture of the v2 channel tests (test-v2-channel-*.c, one executable):
 * random data, a client/server channel pair in process, and a stream decoder. */
#pragma once

#include "protocol/arena.h"
#include "protocol/buffer.h"
#include "protocol/hex.h"
#include "protocol/known-hosts.h"
#include "protocol/noise.h"
#include "protocol/server-key.h"
#include "protocol/v2-channel.h"
#include "protocol/v2-internal.h"
#include "protocol/value.h"
#include "test-util.h"
#include <criterion/criterion.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CHAT_SPEC_VECTORS_DIR
#error "meson passes CHAT_SPEC_VECTORS_DIR"
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * KiB)
/* Random splits take up to this many bytes per feed call. */
#define RANDOM_CHUNK_MAX (100 * KiB)
#define RANDOM_SMALL_CHUNK_MAX 16u
#define REKEY_TEST_BYTES 100u
#define REKEY_TEST_MESSAGES 300u
#define REKEY_TEST_MAX_LEN 500u
#define TEST_RECORD_BODY CHAT_V2_MAX_RECORD_BODY
/* Heap growth tolerated between two idle moments of a channel pair. */
#define IDLE_HEAP_SLACK 256u
#define LARGE_TEST_MESSAGE (3 * MiB)

extern uint64_t rng_state;

uint64_t rng(void);

uint8_t *random_bytes(size_t len);

typedef struct {
  uint8_t *data;
  size_t len;
} blob;

typedef struct {
  blob *items;
  size_t count;
  size_t cap;
} inbox;

void inbox_add(inbox *in, const uint8_t *data, size_t len);

void inbox_free(inbox *in);

void assert_blob(const blob *b, const uint8_t *data, size_t len);

typedef enum {
  SPLIT_WHOLE,
  SPLIT_ONE_BYTE,
  SPLIT_RANDOM,
} split_mode;

int drain(chat_v2_channel *ch, inbox *in);

int feed_all(chat_v2_channel *ch, const uint8_t *data, size_t len, split_mode mode, inbox *in);

int transfer(chat_v2_channel *from, chat_v2_channel *to, split_mode mode, inbox *in,
             chat_buffer *capture);

void take_output(chat_v2_channel *ch, chat_buffer *buf);

typedef struct {
  chat_v2_channel *client;
  chat_v2_channel *server;
  uint8_t server_priv[CHAT_V2_KEY_LEN];
  uint8_t server_pub[CHAT_V2_KEY_LEN];
  inbox at_client;
  inbox at_server;
  chat_buffer c2s; /* everything the client sent */
  chat_buffer s2c;
} pair;

void pair_new_with(pair *p, chat_v2_config *ccfg, chat_v2_config *scfg);

void pair_new(pair *p);

void pair_free(pair *p);

void pair_pump(pair *p, split_mode mode);

void pair_handshake(pair *p, split_mode mode);

void pair_ready(pair *p);

/* The same with the server's max_message and max_queue_bytes set. */
void pair_ready_server_limits(pair *p, size_t max_message, size_t max_queue_bytes);

int client_to_server(pair *p);

void assert_server_error(pair *p, int rc, int code, const char *needle);
/* Decodes one direction of a capture with its key; collects the messages
 * and the record types. */
typedef struct {
  inbox messages;
  uint8_t types[4096];
  size_t type_count;
  size_t records;
  size_t rekeys;
  size_t handshakes;
  bool preamble;
} decoded;

int decode_stream(chat_v2_direction dir, uint8_t suite, const uint8_t *key, size_t record_size,
                  const uint8_t *data, size_t len, split_mode mode, decoded *out,
                  chat_v2_stream_decoder **keep);
