/* Randomized round trips with a fixed seed, and random damage to valid
 * encodings: the decoder answers every input with a value or an error code,
 * never a crash or an over-read (the sanitized run checks that). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"
#include "protocol/value.h"

#define ROUND_TRIPS 2000
#define DAMAGED_INPUTS 20000
#define MAX_RANDOM_DEPTH 6
#define MAX_RANDOM_ITEMS 6
#define MAX_RANDOM_BLOB 40

typedef struct {
  uint64_t state;
} rng;

/* xorshift64*: deterministic across platforms. */
static uint64_t next(rng *r) {
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return r->state * UINT64_C(2685821657736338717);
}

static size_t below(rng *r, size_t n) {
  return (size_t)(next(r) % n);
}

static void random_utf8(rng *r, chat_arena *arena, const char **out, size_t *len) {
  static const char *pieces[] = {"a", "Z", " ", "\n", "中", "文", "é", "😀", "\x01", "$"};
  size_t n = below(r, MAX_RANDOM_BLOB / 4);
  char *s = chat_arena_alloc(arena, n * 4 + 1, 1);
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const char *p = pieces[below(r, sizeof pieces / sizeof pieces[0])];
    memcpy(s + used, p, strlen(p));
    used += strlen(p);
  }
  *out = s;
  *len = used;
}

static void random_value(rng *r, chat_arena *arena, int depth, chat_value *v) {
  int kind = (int)below(r, depth >= MAX_RANDOM_DEPTH ? 6 : 8);
  switch (kind) {
  case 0:
    chat_value_set_null(v);
    return;
  case 1: {
    int shift = (int)below(r, 64);
    chat_value_set_uint(v, next(r) >> shift);
    if (below(r, 2) && v->as.integer.magnitude != 0 &&
        v->as.integer.magnitude <= (UINT64_C(1) << 63))
      v->as.integer.negative = true;
    return;
  }
  case 2: {
    uint64_t bits = next(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    if (isnan(d))
      d = 1.5;
    chat_value_set_float(v, d);
    if (below(r, 3) == 0) {
      v->as.real.value = (float)(d / 1e300);
      v->as.real.width = 4;
      if (isnan(v->as.real.value))
        v->as.real.value = 0.25;
    }
    return;
  }
  case 3: {
    const char *s;
    size_t len;
    random_utf8(r, arena, &s, &len);
    chat_value_set_str(v, s, len);
    return;
  }
  case 4:
    chat_value_set_bool(v, below(r, 2));
    return;
  case 5: {
    size_t n = below(r, MAX_RANDOM_BLOB);
    uint8_t *data = chat_arena_alloc(arena, n + 1, 1);
    for (size_t i = 0; i < n; i++)
      data[i] = (uint8_t)next(r);
    chat_value_set_bytes(v, data, n);
    return;
  }
  case 6: {
    size_t n = below(r, MAX_RANDOM_ITEMS);
    v->kind = CHAT_VALUE_LIST;
    v->as.list.count = n;
    v->as.list.items = chat_arena_alloc(arena, n + 1, sizeof(chat_value));
    for (size_t i = 0; i < n; i++)
      random_value(r, arena, depth + 1, &v->as.list.items[i]);
    return;
  }
  default: {
    size_t n = below(r, MAX_RANDOM_ITEMS);
    v->kind = CHAT_VALUE_DICT;
    v->as.dict.count = n;
    v->as.dict.entries = chat_arena_alloc(arena, n + 1, sizeof(chat_dict_entry));
    for (size_t i = 0; i < n; i++) {
      /* Unique keys: an index prefix, then random text. */
      const char *tail;
      size_t tail_len;
      random_utf8(r, arena, &tail, &tail_len);
      if (tail_len > 200)
        tail_len = 0;
      char *key = chat_arena_alloc(arena, tail_len + 8, 1);
      int n0 = snprintf(key, 8, "%zu:", i);
      memcpy(key + n0, tail, tail_len);
      v->as.dict.entries[i].key = key;
      v->as.dict.entries[i].key_len = (size_t)n0 + tail_len;
      random_value(r, arena, depth + 1, &v->as.dict.entries[i].value);
    }
    return;
  }
  }
}

Test(value_random, wire_round_trips) {
  rng r = {UINT64_C(0x9E3779B97F4A7C15)};
  for (int i = 0; i < ROUND_TRIPS; i++) {
    chat_arena arena;
    chat_arena_init(&arena);
    chat_buffer buf;
    chat_buffer_init(&buf);
    chat_value v;
    random_value(&r, &arena, 0, &v);
    cr_assert_eq(chat_value_encode(&v, &buf), 0, "case %d", i);
    chat_value *back = NULL;
    chat_error err;
    int rc = chat_value_decode(buf.data, buf.len, NULL, (unsigned)(i & 1), &arena, &back, &err);
    cr_assert_eq(rc, 0, "case %d: %s", i, err.message);
    cr_assert(chat_value_equal(&v, back), "case %d differs after decode", i);
    /* Re-encoding the decoded tree gives the same bytes. */
    chat_buffer again;
    chat_buffer_init(&again);
    cr_assert_eq(chat_value_encode(back, &again), 0);
    cr_assert(again.len == buf.len && memcmp(again.data, buf.data, buf.len) == 0);
    chat_buffer_clear(&again);
    chat_buffer_clear(&buf);
    chat_arena_clear(&arena);
  }
}

Test(value_random, json_round_trips) {
  rng r = {UINT64_C(0xD1B54A32D192ED03)};
  for (int i = 0; i < ROUND_TRIPS; i++) {
    chat_arena arena;
    chat_arena_init(&arena);
    chat_buffer text;
    chat_buffer_init(&text);
    chat_value v;
    random_value(&r, &arena, 0, &v);
    cr_assert_eq(chat_value_write_json(&v, (unsigned)(i & 1) * CHAT_JSON_PRETTY, &text), 0,
                 "case %d", i);
    chat_value *back = NULL;
    chat_error err;
    int rc = chat_value_parse_json((const char *)text.data, text.len, &arena, &back, &err);
    cr_assert_eq(rc, 0, "case %d: %s in %.*s", i, err.message, (int)text.len, text.data);
    cr_assert(chat_value_equal(&v, back), "case %d differs: %.*s", i, (int)text.len, text.data);
    chat_buffer_clear(&text);
    chat_arena_clear(&arena);
  }
}

static bool known_error(int rc) {
  return rc == CHAT_ERR_TRUNCATED || rc == CHAT_ERR_UNKNOWN_TYPE || rc == CHAT_ERR_DEPTH ||
         rc == CHAT_ERR_UTF8 || rc == CHAT_ERR_DUPLICATE_KEY || rc == CHAT_ERR_TRAILING ||
         rc == CHAT_ERR_LIMIT || rc == CHAT_ERR_INT_RANGE || rc == CHAT_ERR_NOT_CANONICAL ||
         rc == CHAT_ERR_BAD_BOOL || rc == CHAT_ERR_BAD_FLOAT;
}

Test(value_random, damaged_inputs_never_crash) {
  rng r = {UINT64_C(0x2545F4914F6CDD1D)};
  int accepted = 0, rejected = 0;
  for (int i = 0; i < DAMAGED_INPUTS; i++) {
    chat_arena arena;
    chat_arena_init(&arena);
    chat_buffer buf;
    chat_buffer_init(&buf);
    chat_value v;
    random_value(&r, &arena, 0, &v);
    cr_assert_eq(chat_value_encode(&v, &buf), 0);
    /* Flip, insert or cut a few bytes. */
    int damage = 1 + (int)below(&r, 3);
    for (int k = 0; k < damage && buf.len > 0; k++) {
      size_t at = below(&r, buf.len);
      switch (below(&r, 3)) {
      case 0:
        buf.data[at] ^= (uint8_t)(1u << below(&r, 8));
        break;
      case 1:
        buf.data[at] = (uint8_t)next(&r);
        break;
      default:
        buf.len = at;
        break;
      }
    }
    /* An exact-size copy, so ASan catches any over-read. */
    uint8_t *input = malloc(buf.len ? buf.len : 1);
    memcpy(input, buf.data, buf.len);
    chat_value *out = NULL;
    chat_error err = {0};
    int rc = chat_value_decode(input, buf.len, NULL, CHAT_DECODE_BORROW, &arena, &out, &err);
    if (rc == 0) {
      accepted++;
      cr_assert_not_null(out);
    } else {
      rejected++;
      cr_assert(known_error(rc), "case %d: unexpected code %d", i, rc);
      cr_assert_leq(err.offset, buf.len, "case %d: offset past the input", i);
      cr_assert_neq(err.message[0], '\0');
    }
    free(input);
    chat_buffer_clear(&buf);
    chat_arena_clear(&arena);
  }
  cr_assert_gt(rejected, DAMAGED_INPUTS / 2, "damage should mostly be caught");
  cr_assert_gt(accepted, 0, "some damage (inside blobs) keeps a valid value");
}
