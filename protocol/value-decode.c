/* The strict value decoder.
 *
 * Reads with (pos, end) pointers and checks every length against what is
 * left before using it. Children of a container are collected on a scratch
 * stack shared by the whole decode, then copied into the arena as one array,
 * so a message costs a few allocations, not one per value. Every node
 * consumes at least one input byte, so memory is bounded by the input. */
#include <stdlib.h>
#include <string.h>

#include "protocol/utf8.h"
#include "protocol/value.h"

/* The decoder recurses once per nesting level: whatever limit the caller
 * passes, it never goes deeper than this. */
#define DECODE_HARD_MAX_DEPTH 512
/* Dicts up to this size are checked for duplicate keys pairwise; larger ones
 * are sorted. */
#define DUPLICATE_SCAN_PAIRWISE_MAX 16

typedef struct {
  const uint8_t *key;
  size_t len;
  size_t offset; /* of the key-length byte */
} key_ref;

typedef struct {
  const uint8_t *start;
  size_t base;
  chat_limits limits;
  unsigned flags;
  chat_arena *arena;
  chat_error *err;
  chat_value *values; /* scratch stack for list items */
  size_t values_len, values_cap;
  chat_dict_entry *entries; /* scratch stack for dict entries */
  key_ref *keys;            /* offsets of the entries' keys, same indices */
  size_t entries_len, entries_cap;
} decoder;

static size_t offset_of(const decoder *d, const uint8_t *p) {
  return d->base + (size_t)(p - d->start);
}

static int no_memory(decoder *d, const uint8_t *p) {
  return chat_error_set(d->err, CHAT_ERR_NOMEM, offset_of(d, p), "out of memory");
}

static int push_value(decoder *d, const chat_value *v) {
  if (d->values_len == d->values_cap) {
    size_t cap = d->values_cap ? d->values_cap * 2 : 16;
    chat_value *p = realloc(d->values, cap * sizeof *p);
    if (!p)
      return CHAT_ERR_NOMEM;
    d->values = p;
    d->values_cap = cap;
  }
  d->values[d->values_len++] = *v;
  return 0;
}

static int push_entry(decoder *d, const chat_dict_entry *e, const key_ref *k) {
  if (d->entries_len == d->entries_cap) {
    size_t cap = d->entries_cap ? d->entries_cap * 2 : 16;
    chat_dict_entry *pe = realloc(d->entries, cap * sizeof *pe);
    if (!pe)
      return CHAT_ERR_NOMEM;
    d->entries = pe;
    key_ref *pk = realloc(d->keys, cap * sizeof *pk);
    if (!pk)
      return CHAT_ERR_NOMEM;
    d->keys = pk;
    d->entries_cap = cap;
  }
  d->entries[d->entries_len] = *e;
  d->keys[d->entries_len] = *k;
  d->entries_len++;
  return 0;
}

static int compare_keys(const void *a, const void *b) {
  const key_ref *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->key, y->key, n);
  if (c)
    return c;
  if (x->len != y->len)
    return x->len < y->len ? -1 : 1;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool same_key(const key_ref *a, const key_ref *b) {
  return a->len == b->len && memcmp(a->key, b->key, a->len) == 0;
}

/* Finds the first key, in wire order, that repeats an earlier one. */
static bool find_duplicate_key(decoder *d, const key_ref *keys, size_t n, size_t *offset, int *rc) {
  *rc = 0;
  if (n <= DUPLICATE_SCAN_PAIRWISE_MAX) {
    for (size_t j = 1; j < n; j++)
      for (size_t i = 0; i < j; i++)
        if (same_key(&keys[i], &keys[j])) {
          *offset = keys[j].offset;
          return true;
        }
    return false;
  }
  key_ref *sorted = malloc(n * sizeof *sorted);
  if (!sorted) {
    *rc = CHAT_ERR_NOMEM;
    return false;
  }
  memcpy(sorted, keys, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, compare_keys);
  bool found = false;
  for (size_t i = 1; i < n; i++) {
    /* Within a run of equal keys, sorted by offset, [1] is the first repeat. */
    if (same_key(&sorted[i - 1], &sorted[i]) &&
        (i < 2 || !same_key(&sorted[i - 2], &sorted[i - 1]))) {
      if (!found || sorted[i].offset < *offset)
        *offset = sorted[i].offset;
      found = true;
    }
  }
  free(sorted);
  return found;
}

static const uint8_t *keep_blob(decoder *d, const uint8_t *body, size_t len) {
  if (d->flags & CHAT_DECODE_BORROW)
    return body;
  return chat_arena_copy(d->arena, body, len);
}

static int decode_value(decoder *d, const uint8_t *pos, const uint8_t *end, size_t depth,
                        chat_value *out, const uint8_t **next);

static int decode_int(decoder *d, const uint8_t *pos, const uint8_t *body, uint32_t len,
                      bool negative, chat_value *out) {
  const char *what = negative ? "negative int" : "int";
  if (len == 0)
    return chat_error_set(d->err, CHAT_ERR_NOT_CANONICAL, offset_of(d, pos),
                          "%s at offset %zu has an empty body", what, offset_of(d, pos));
  if (len > 1 && body[0] == 0)
    return chat_error_set(d->err, CHAT_ERR_NOT_CANONICAL, offset_of(d, pos),
                          "%s at offset %zu has a leading zero byte", what, offset_of(d, pos));
  if (len > 8)
    return chat_error_set(d->err, CHAT_ERR_INT_RANGE, offset_of(d, pos),
                          "%s at offset %zu has %u bytes, more than 64 bits", what,
                          offset_of(d, pos), len);
  uint64_t magnitude = 0;
  for (uint32_t i = 0; i < len; i++)
    magnitude = (magnitude << 8) | body[i];
  if (negative && magnitude == 0)
    return chat_error_set(d->err, CHAT_ERR_NOT_CANONICAL, offset_of(d, pos),
                          "negative int at offset %zu has magnitude 0", offset_of(d, pos));
  if (negative && magnitude > (UINT64_C(1) << 63))
    return chat_error_set(d->err, CHAT_ERR_INT_RANGE, offset_of(d, pos),
                          "negative int at offset %zu is below -2^63", offset_of(d, pos));
  out->kind = CHAT_VALUE_INT;
  out->as.integer.negative = negative;
  out->as.integer.magnitude = magnitude;
  return 0;
}

static int decode_float(decoder *d, const uint8_t *pos, const uint8_t *body, uint32_t len,
                        chat_value *out) {
  out->kind = CHAT_VALUE_FLOAT;
  if (len == 4) {
    /* Widened bit for bit: (double)f would quiet a signalling NaN. */
    out->as.real.value = chat_float32_widen_bits(chat_load_u32be(body));
    out->as.real.width = 4;
    return 0;
  }
  if (len == 8) {
    uint64_t bits = ((uint64_t)chat_load_u32be(body) << 32) | chat_load_u32be(body + 4);
    double v;
    memcpy(&v, &bits, sizeof v);
    out->as.real.value = v;
    out->as.real.width = 8;
    return 0;
  }
  return chat_error_set(d->err, CHAT_ERR_BAD_FLOAT, offset_of(d, pos),
                        "float at offset %zu has %u bytes, not 4 or 8", offset_of(d, pos), len);
}

/* The limit on the items of the list or dict at pos (`count` read so far). */
static int check_item_limit(decoder *d, const uint8_t *pos, size_t count, const char *container,
                            const char *items) {
  if (count < d->limits.max_items)
    return 0;
  return chat_error_set(d->err, CHAT_ERR_LIMIT, offset_of(d, pos),
                        "%s at offset %zu has more than %zu %s", container, offset_of(d, pos),
                        d->limits.max_items, items);
}

/* Copies a container's `count` items of `size` bytes from the scratch stack
 * into the arena; *dst is NULL when there are none. */
static int copy_items(decoder *d, const uint8_t *pos, const void *src, size_t count, size_t size,
                      void **dst) {
  *dst = NULL;
  if (count == 0)
    return 0;
  *dst = chat_arena_alloc(d->arena, count, size);
  if (*dst == NULL)
    return no_memory(d, pos);
  memcpy(*dst, src, count * size);
  return 0;
}

static int decode_list(decoder *d, const uint8_t *pos, const uint8_t *body, const uint8_t *body_end,
                       size_t depth, chat_value *out) {
  size_t first = d->values_len;
  size_t count = 0;
  int rc = 0;
  const uint8_t *p = body;
  while (p < body_end) {
    rc = check_item_limit(d, pos, count, "list", "items");
    if (rc)
      goto out;
    chat_value item;
    rc = decode_value(d, p, body_end, depth + 1, &item, &p);
    if (rc)
      goto out;
    if (push_value(d, &item)) {
      rc = no_memory(d, p);
      goto out;
    }
    count++;
  }
  void *items;
  /* (d->values is NULL while nothing was ever pushed: no arithmetic on it.) */
  rc = copy_items(d, pos, count ? d->values + first : NULL, count, sizeof(chat_value), &items);
  if (rc)
    goto out;
  out->kind = CHAT_VALUE_LIST;
  out->as.list.count = count;
  out->as.list.items = items;
out:
  d->values_len = first;
  return rc;
}

static int decode_dict(decoder *d, const uint8_t *pos, const uint8_t *body, const uint8_t *body_end,
                       size_t depth, chat_value *out) {
  size_t first = d->entries_len;
  size_t count = 0;
  int rc = 0;
  const uint8_t *p = body;
  while (p < body_end) {
    rc = check_item_limit(d, pos, count, "dict", "entries");
    if (rc)
      goto out;
    key_ref key = {.key = p + 1, .len = *p, .offset = offset_of(d, p)};
    if (key.len > (size_t)(body_end - p - 1)) {
      rc = chat_error_set(d->err, CHAT_ERR_TRUNCATED, key.offset,
                          "dict key at offset %zu needs %zu bytes, only %zu left in the dict",
                          key.offset, key.len, (size_t)(body_end - p - 1));
      goto out;
    }
    size_t bad;
    if (!chat_utf8_check(key.key, key.len, &bad)) {
      rc = chat_error_set(d->err, CHAT_ERR_UTF8, key.offset,
                          "dict key at offset %zu is not valid UTF-8 (byte %zu of the key)",
                          key.offset, bad);
      goto out;
    }
    p += 1 + key.len;
    chat_dict_entry entry;
    rc = decode_value(d, p, body_end, depth + 1, &entry.value, &p);
    if (rc)
      goto out;
    entry.key_len = key.len;
    entry.key = (d->flags & CHAT_DECODE_BORROW) ? (const char *)key.key
                                                : chat_arena_copy(d->arena, key.key, key.len);
    if (!entry.key || push_entry(d, &entry, &key)) {
      rc = no_memory(d, p);
      goto out;
    }
    count++;
  }
  size_t dup_offset = 0;
  if (count > 1 && find_duplicate_key(d, d->keys + first, count, &dup_offset, &rc)) {
    rc = chat_error_set(d->err, CHAT_ERR_DUPLICATE_KEY, dup_offset,
                        "dict at offset %zu repeats a key at offset %zu", offset_of(d, pos),
                        dup_offset);
    goto out;
  }
  if (rc) {
    rc = no_memory(d, pos);
    goto out;
  }
  void *entries;
  rc = copy_items(d, pos, count ? d->entries + first : NULL, count, sizeof(chat_dict_entry),
                  &entries);
  if (rc)
    goto out;
  out->kind = CHAT_VALUE_DICT;
  out->as.dict.count = count;
  out->as.dict.entries = entries;
out:
  d->entries_len = first;
  return rc;
}

static int decode_value(decoder *d, const uint8_t *pos, const uint8_t *end, size_t depth,
                        chat_value *out, const uint8_t **next) {
  size_t off = offset_of(d, pos);
  if (pos >= end)
    return chat_error_set(d->err, CHAT_ERR_TRUNCATED, off,
                          "expected a value at offset %zu, input ends", off);
  uint8_t type = *pos;
  if (type == CHAT_WIRE_NULL) {
    out->kind = CHAT_VALUE_NULL;
    *next = pos + 1;
    return 0;
  }
  if (type > CHAT_WIRE_NEGINT)
    return chat_error_set(d->err, CHAT_ERR_UNKNOWN_TYPE, off, "unknown value type %u at offset %zu",
                          type, off);
  size_t left = (size_t)(end - pos);
  if (left < CHAT_VALUE_HEADER_SIZE)
    return chat_error_set(d->err, CHAT_ERR_TRUNCATED, off,
                          "value header at offset %zu needs %d bytes, only %zu left", off,
                          CHAT_VALUE_HEADER_SIZE, left);
  uint32_t len = chat_load_u32be(pos + 1);
  const uint8_t *body = pos + CHAT_VALUE_HEADER_SIZE;
  if (len > left - CHAT_VALUE_HEADER_SIZE)
    return chat_error_set(d->err, CHAT_ERR_TRUNCATED, off,
                          "value at offset %zu has a body of %u bytes, only %zu left", off, len,
                          left - CHAT_VALUE_HEADER_SIZE);
  const uint8_t *body_end = body + len;
  *next = body_end;

  size_t bad;
  switch (type) {
  case CHAT_WIRE_INT:
  case CHAT_WIRE_NEGINT:
    return decode_int(d, pos, body, len, type == CHAT_WIRE_NEGINT, out);
  case CHAT_WIRE_FLOAT:
    return decode_float(d, pos, body, len, out);
  case CHAT_WIRE_BOOL:
    if (len != 1 || body[0] > 1)
      return chat_error_set(d->err, CHAT_ERR_BAD_BOOL, off,
                            "bool at offset %zu is not one byte 0 or 1", off);
    out->kind = CHAT_VALUE_BOOL;
    out->as.boolean = body[0] == 1;
    return 0;
  case CHAT_WIRE_STR:
    if (len > d->limits.max_str_len)
      return chat_error_set(d->err, CHAT_ERR_LIMIT, off,
                            "str at offset %zu has %u bytes, limit %zu", off, len,
                            d->limits.max_str_len);
    if (!chat_utf8_check(body, len, &bad))
      return chat_error_set(d->err, CHAT_ERR_UTF8, off,
                            "str at offset %zu is not valid UTF-8 (at offset %zu)", off,
                            offset_of(d, body + bad));
    out->kind = CHAT_VALUE_STR;
    goto blob;
  case CHAT_WIRE_BYTES:
    if (len > d->limits.max_bytes_len)
      return chat_error_set(d->err, CHAT_ERR_LIMIT, off,
                            "bytes at offset %zu has %u bytes, limit %zu", off, len,
                            d->limits.max_bytes_len);
    out->kind = CHAT_VALUE_BYTES;
  blob:
    out->as.blob.len = len;
    out->as.blob.data = keep_blob(d, body, len);
    if (!out->as.blob.data)
      return no_memory(d, pos);
    return 0;
  case CHAT_WIRE_LIST:
  case CHAT_WIRE_DICT:
    if (depth + 1 > d->limits.max_depth)
      return chat_error_set(d->err, CHAT_ERR_DEPTH, off,
                            "%s at offset %zu is nested deeper than %zu",
                            type == CHAT_WIRE_LIST ? "list" : "dict", off, d->limits.max_depth);
    if (type == CHAT_WIRE_LIST)
      return decode_list(d, pos, body, body_end, depth, out);
    return decode_dict(d, pos, body, body_end, depth, out);
  default:
    break;
  }
  return chat_error_set(d->err, CHAT_ERR_UNKNOWN_TYPE, off, "unknown value type %u at offset %zu",
                        type, off);
}

int chat_value_decode_at(const uint8_t *data, size_t len, size_t base, const chat_limits *limits,
                         unsigned flags, chat_arena *arena, chat_value **out, chat_error *err) {
  decoder d = {
      .start = data,
      .base = base,
      .flags = flags,
      .arena = arena,
      .err = err,
  };
  if (limits)
    d.limits = *limits;
  else
    chat_limits_init(&d.limits);
  if (d.limits.max_depth > DECODE_HARD_MAX_DEPTH)
    d.limits.max_depth = DECODE_HARD_MAX_DEPTH;

  const uint8_t *end = len ? data + len : data; /* data may be NULL when len is 0 */
  const uint8_t *next = data;
  chat_value root;
  int rc = decode_value(&d, data, end, 0, &root, &next);
  if (rc == 0 && next != end)
    rc = chat_error_set(err, CHAT_ERR_TRAILING, offset_of(&d, next),
                        "%zu trailing bytes at offset %zu after the value", (size_t)(end - next),
                        offset_of(&d, next));
  if (rc == 0) {
    *out = chat_arena_alloc(arena, 1, sizeof(chat_value));
    if (!*out)
      rc = no_memory(&d, data);
    else
      **out = root;
  }
  free(d.values);
  free(d.entries);
  free(d.keys);
  return rc;
}

int chat_value_decode(const uint8_t *data, size_t len, const chat_limits *limits, unsigned flags,
                      chat_arena *arena, chat_value **out, chat_error *err) {
  return chat_value_decode_at(data, len, 0, limits, flags, arena, out, err);
}
