/* The value model: limits, constructors, readers and equality. */
#include "protocol/value.h"

#include <string.h>

void chat_limits_init(chat_limits *limits) {
  limits->max_depth = CHAT_DEFAULT_MAX_DEPTH;
  limits->max_str_len = CHAT_DEFAULT_MAX_STR_LEN;
  limits->max_bytes_len = CHAT_DEFAULT_MAX_BYTES_LEN;
  limits->max_items = CHAT_DEFAULT_MAX_ITEMS;
}

const char *chat_value_kind_name(chat_value_kind kind) {
  switch (kind) {
  case CHAT_VALUE_NULL:
    return "null";
  case CHAT_VALUE_INT:
    return "int";
  case CHAT_VALUE_FLOAT:
    return "float";
  case CHAT_VALUE_STR:
    return "str";
  case CHAT_VALUE_LIST:
    return "list";
  case CHAT_VALUE_DICT:
    return "dict";
  case CHAT_VALUE_BOOL:
    return "bool";
  case CHAT_VALUE_BYTES:
    return "bytes";
  }
  return "unknown";
}

void chat_value_set_null(chat_value *v) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_NULL;
}

void chat_value_set_int(chat_value *v, int64_t i) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_INT;
  v->as.integer.negative = i < 0;
  /* The magnitude of INT64_MIN does not fit int64_t: negate in unsigned. */
  v->as.integer.magnitude = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
}

void chat_value_set_uint(chat_value *v, uint64_t u) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_INT;
  v->as.integer.magnitude = u;
}

void chat_value_set_bool(chat_value *v, bool b) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_BOOL;
  v->as.boolean = b;
}

void chat_value_set_float(chat_value *v, double d) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_FLOAT;
  v->as.real.value = d;
  v->as.real.width = 8;
}

void chat_value_set_str(chat_value *v, const char *s, size_t len) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_STR;
  v->as.blob.data = (const uint8_t *)s;
  v->as.blob.len = len;
}

void chat_value_set_bytes(chat_value *v, const uint8_t *data, size_t len) {
  memset(v, 0, sizeof *v);
  v->kind = CHAT_VALUE_BYTES;
  v->as.blob.data = data;
  v->as.blob.len = len;
}

bool chat_value_get_i64(const chat_value *v, int64_t *out) {
  if (!v || v->kind != CHAT_VALUE_INT)
    return false;
  uint64_t m = v->as.integer.magnitude;
  if (v->as.integer.negative) {
    if (m > (UINT64_C(1) << 63))
      return false;
    *out = m == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)m;
    return true;
  }
  if (m > (uint64_t)INT64_MAX)
    return false;
  *out = (int64_t)m;
  return true;
}

bool chat_value_get_u64(const chat_value *v, uint64_t *out) {
  if (!v || v->kind != CHAT_VALUE_INT || v->as.integer.negative)
    return false;
  *out = v->as.integer.magnitude;
  return true;
}

const chat_value *chat_value_dict_get(const chat_value *dict, const char *key) {
  if (!dict || dict->kind != CHAT_VALUE_DICT)
    return NULL;
  size_t len = strlen(key);
  for (size_t i = 0; i < dict->as.dict.count; i++) {
    const chat_dict_entry *e = &dict->as.dict.entries[i];
    if (e->key_len == len && memcmp(e->key, key, len) == 0)
      return &e->value;
  }
  return NULL;
}

static bool same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

bool chat_value_equal(const chat_value *a, const chat_value *b) {
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case CHAT_VALUE_NULL:
    return true;
  case CHAT_VALUE_INT:
    return a->as.integer.magnitude == b->as.integer.magnitude &&
           a->as.integer.negative == b->as.integer.negative;
  case CHAT_VALUE_FLOAT:
    return a->as.real.width == b->as.real.width && same_bits(a->as.real.value, b->as.real.value);
  case CHAT_VALUE_BOOL:
    return a->as.boolean == b->as.boolean;
  case CHAT_VALUE_STR:
  case CHAT_VALUE_BYTES:
    return a->as.blob.len == b->as.blob.len &&
           (a->as.blob.len == 0 || memcmp(a->as.blob.data, b->as.blob.data, a->as.blob.len) == 0);
  case CHAT_VALUE_LIST:
    if (a->as.list.count != b->as.list.count)
      return false;
    for (size_t i = 0; i < a->as.list.count; i++)
      if (!chat_value_equal(&a->as.list.items[i], &b->as.list.items[i]))
        return false;
    return true;
  case CHAT_VALUE_DICT:
    if (a->as.dict.count != b->as.dict.count)
      return false;
    for (size_t i = 0; i < a->as.dict.count; i++) {
      const chat_dict_entry *x = &a->as.dict.entries[i], *y = &b->as.dict.entries[i];
      if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
          !chat_value_equal(&x->value, &y->value))
        return false;
    }
    return true;
  }
  return false;
}

double chat_float32_widen_bits(uint32_t bits) {
  uint32_t mantissa = bits & UINT32_C(0x007fffff);
  if ((bits & UINT32_C(0x7f800000)) != UINT32_C(0x7f800000) || mantissa == 0) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return (double)f; /* exact; not a NaN */
  }
  uint64_t wide =
      ((uint64_t)(bits >> 31) << 63) | (UINT64_C(0x7ff) << 52) | ((uint64_t)mantissa << (52 - 23));
  double d;
  memcpy(&d, &wide, sizeof d);
  return d;
}

uint32_t chat_float32_narrow_bits(double d) {
  uint64_t wide;
  memcpy(&wide, &d, sizeof wide);
  uint64_t mantissa = wide & ((UINT64_C(1) << 52) - 1);
  if ((wide & (UINT64_C(0x7ff) << 52)) != (UINT64_C(0x7ff) << 52) || mantissa == 0) {
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
  }
  uint32_t narrow = (uint32_t)(mantissa >> (52 - 23));
  if (narrow == 0)
    narrow = UINT32_C(0x00400000); /* the payload does not fit: a quiet NaN */
  return ((uint32_t)(wide >> 63) << 31) | UINT32_C(0x7f800000) | narrow;
}
