#include "vectors.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/hex.h"
#include "test-util.h"

#ifndef CHAT_SPEC_VECTORS_DIR
#error "meson passes CHAT_SPEC_VECTORS_DIR"
#endif

static const chat_json *load(const char *file, chat_arena *arena, bool must_exist) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", CHAT_SPEC_VECTORS_DIR, file);
  size_t len;
  char *text = read_whole_file(path, &len);
  if (!text) {
    if (must_exist)
      cr_assert_fail("cannot read %s", path);
    return NULL;
  }
  chat_json *json = NULL;
  chat_error err;
  int rc = chat_json_parse(text, len, arena, &json, &err);
  free(text);
  if (rc) {
    if (must_exist)
      cr_assert_fail("%s: %s", path, err.message);
    return NULL;
  }
  return json;
}

const chat_json *vectors_load(const char *file, chat_arena *arena) {
  return load(file, arena, true);
}

const chat_json *vectors_get(const char *file, const char *list, size_t index, chat_arena *arena) {
  const chat_json *root = vectors_load(file, arena);
  const chat_json *items = chat_json_object_get(root, list);
  cr_assert(items && items->kind == CHAT_JSON_ARRAY, "%s has no array \"%s\"", file, list);
  cr_assert(index < items->as.array.count);
  return &items->as.array.items[index];
}

size_t vectors_count(const char *file, const char *list) {
  chat_arena arena;
  chat_arena_init(&arena);
  const chat_json *root = load(file, &arena, false);
  const chat_json *items = root ? chat_json_object_get(root, list) : NULL;
  size_t n = items && items->kind == CHAT_JSON_ARRAY ? items->as.array.count : 0;
  chat_arena_clear(&arena);
  return n;
}

vector_param *vectors_params(size_t n) {
  vector_param *params = cr_malloc(sizeof *params * (n ? n : 1));
  for (size_t i = 0; i < n; i++)
    params[i].index = i;
  return params;
}

const char *vector_string(const chat_json *vector, const char *key) {
  const chat_json *v = chat_json_object_get(vector, key);
  cr_assert(v && v->kind == CHAT_JSON_STRING, "vector lacks string \"%s\"", key);
  return v->as.string.data;
}

int64_t vector_int(const chat_json *vector, const char *key) {
  const chat_json *v = chat_json_object_get(vector, key);
  int64_t out = 0;
  cr_assert(v && chat_json_get_i64(v, &out), "vector lacks integer \"%s\"", key);
  return out;
}

void vector_hex(const chat_json *vector, const char *key, chat_buffer *buf) {
  const char *hex = vector_string(vector, key);
  chat_buffer_reset(buf);
  chat_error err;
  cr_assert_eq(chat_hex_decode(hex, strlen(hex), buf, &err), 0, "bad hex in vector: %s",
               err.message);
}
