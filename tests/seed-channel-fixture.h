/* Shared fixture of the seed channel tests (test-seed-channel-*.c, one
 * executable): the vectors file, byte strings, a seeded rng and a connected pair. */
#pragma once

#include "protocol/dh-group.h"
#include "protocol/seed-channel.h"
#include "test-util.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CHAT_SPEC_VECTORS_DIR
#error "CHAT_SPEC_VECTORS_DIR must name the spec/vectors directory"
#endif

#define VECTORS_FILE CHAT_SPEC_VECTORS_DIR "/seed-channel.json"
#define TEST_MAX_FRAME (1024 * 1024) /* room for the 300 KB messages */
#define DEFAULT_GROUP "rfc3526-modp2048"
#define SMALL_GROUP "test-safe-prime-797"
/* Heap growth tolerated between two idle moments of a channel pair. */
#define IDLE_HEAP_SLACK 256u

extern JsonParser *vectors_parser;

JsonObject *vectors(void);

JsonArray *vector_list(const char *name);

JsonObject *vector_at(const char *list, int index);

const char *member(JsonObject *object, const char *name);

typedef struct {
  uint8_t *data;
  size_t len;
} bytes;

bytes from_hex(const char *hex);

bytes hex_member(JsonObject *object, const char *name);

void bytes_free(bytes *b);

void group_from_vectors(const char *name, chat_dh_group *group);

void free_indices(struct criterion_test_params *params);

struct criterion_test_params indices_of(const char *list);

bytes take_output(chat_seed_channel *ch);

size_t output_length(chat_seed_channel *ch);

void assert_bytes_eq(const uint8_t *got, size_t got_len, const bytes *want, const char *what);

void assert_error_named(int rc, const char *name, const char *what);

void assert_dead(chat_seed_channel *ch, int code);

/* Deterministic xorshift64*, so a failure can be replayed. */
typedef struct {
  uint64_t state;
} rng;

uint64_t rng_next(rng *r);

size_t rng_below(rng *r, size_t n);

bytes random_message(rng *r, size_t len);

void feed_and_check(chat_seed_channel *ch, const uint8_t *data, size_t len, rng *r,
                    size_t max_chunk, const bytes *expected, size_t expected_count, size_t *next);

void connect_pair(const chat_dh_group *group, size_t max_frame, chat_seed_channel **client,
                  chat_seed_channel **server);
