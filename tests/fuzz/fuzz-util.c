/* Helpers of the fuzz targets (fuzz-util.h). */
#include "fuzz-util.h"

#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/arena.h"
#include "protocol/catalogue.h"
#include "protocol/hex.h"
#include "protocol/message.h"
#include "protocol/messages.h"

#ifndef CHAT_SPEC_VECTORS_DIR
#error "CHAT_SPEC_VECTORS_DIR must name spec/vectors"
#endif

void fuzz_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  abort();
}

#define MAX_VECTOR_FILES 4

static struct {
  const char *name;
  chat_json *root;
} vector_files[MAX_VECTOR_FILES];
static chat_arena vector_arena;
static bool vector_arena_ready;

const chat_json *fuzz_vectors(const char *name) {
  size_t i = 0;
  for (; i < MAX_VECTOR_FILES && vector_files[i].name; i++)
    if (strcmp(vector_files[i].name, name) == 0)
      return vector_files[i].root;
  FUZZ_CHECK(i < MAX_VECTOR_FILES);
  const char *dir = getenv("CHAT_SPEC_VECTORS_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : CHAT_SPEC_VECTORS_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    abort();
  }
  chat_buffer text;
  chat_buffer_init(&text);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    FUZZ_CHECK(chat_buffer_append(&text, chunk, n) == 0);
  fclose(f);
  if (!vector_arena_ready) {
    chat_arena_init(&vector_arena);
    vector_arena_ready = true;
  }
  chat_error err;
  chat_json *root = NULL;
  if (chat_json_parse((const char *)text.data, text.len, &vector_arena, &root, &err) != 0) {
    fprintf(stderr, "%s: %s\n", path, err.message);
    abort();
  }
  chat_buffer_clear(&text);
  vector_files[i].name = name;
  vector_files[i].root = root;
  return root;
}

size_t fuzz_vector_hex(const chat_json *obj, const char *key, uint8_t *out, size_t cap) {
  const chat_json *hex = chat_json_object_get(obj, key);
  FUZZ_CHECK(hex != NULL && hex->kind == CHAT_JSON_STRING);
  chat_buffer bytes;
  chat_buffer_init(&bytes);
  chat_error err;
  FUZZ_CHECK(chat_hex_decode(hex->as.string.data, hex->as.string.len, &bytes, &err) == 0);
  FUZZ_CHECK(bytes.len <= cap);
  size_t len = bytes.len;
  if (len)
    memcpy(out, bytes.data, len);
  chat_buffer_clear(&bytes);
  return len;
}

static char scratch_dir[4096];

static void remove_scratch(void) {
  if (!scratch_dir[0])
    return;
  char command[4200];
  snprintf(command, sizeof command, "rm -rf '%s'", scratch_dir);
  if (system(command) != 0)
    fprintf(stderr, "cannot remove %s\n", scratch_dir);
}

const char *fuzz_scratch_dir(void) {
  if (!scratch_dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/chat-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(scratch_dir) != NULL);
    atexit(remove_scratch);
  }
  return scratch_dir;
}

const char *fuzz_scratch_file(const char *suffix, const uint8_t *data, size_t size) {
  static char path[4200];
  snprintf(path, sizeof path, "%s/input%s", fuzz_scratch_dir(), suffix);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  FUZZ_CHECK(fd >= 0);
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    FUZZ_CHECK(n > 0);
    done += (size_t)n;
  }
  FUZZ_CHECK(close(fd) == 0);
  return path;
}

void fuzz_canonical_nans(chat_value *v) {
  switch (v->kind) {
  case CHAT_VALUE_FLOAT:
    if (isnan(v->as.real.value))
      v->as.real.value = v->as.real.width == 4 ? chat_float32_widen_bits(0x7fc00000u) : NAN;
    break;
  case CHAT_VALUE_LIST:
    for (size_t i = 0; i < v->as.list.count; i++)
      fuzz_canonical_nans(&v->as.list.items[i]);
    break;
  case CHAT_VALUE_DICT:
    for (size_t i = 0; i < v->as.dict.count; i++)
      fuzz_canonical_nans(&v->as.dict.entries[i].value);
    break;
  default:
    break;
  }
}

/* chatctl decode's output, {"type": T, "params": ...}, read back. */
static void check_message_json(uint32_t type, chat_value *params, chat_arena *arena) {
  chat_buffer text;
  chat_buffer_init(&text);
  char head[64];
  snprintf(head, sizeof head, "{\"type\": %u, \"params\": ", (unsigned)type);
  FUZZ_CHECK(chat_buffer_append(&text, head, strlen(head)) == 0);
  FUZZ_CHECK(chat_value_write_json(params, 0, &text) == 0);
  FUZZ_CHECK(chat_buffer_append_byte(&text, '}') == 0);
  chat_value *back = NULL;
  chat_error err;
  FUZZ_CHECK(chat_value_parse_json((const char *)text.data, text.len, arena, &back, &err) == 0);
  const chat_value *back_params = chat_value_dict_get(back, "params");
  FUZZ_CHECK(back_params != NULL);
  fuzz_canonical_nans(params);
  FUZZ_CHECK(chat_value_equal(back_params, params));
  chat_buffer_clear(&text);
}

/* The typed reader of the message's code (protocol/messages.h) agrees with
 * the catalogue check, and what it read writes back to parameters that both
 * accept and that read back to the same struct's encoding. */
static void check_typed(uint32_t type, const chat_value *params, bool catalogue_ok,
                        chat_arena *arena) {
  const chat_msg_codec *codec = chat_msg_codec_by_code(type);
  if (!codec)
    return;
  void *x = calloc(1, codec->size);
  FUZZ_CHECK(x != NULL);
  chat_error err;
  bool typed_ok = codec->read(params, x, &err) == 0;
  if (typed_ok != catalogue_ok)
    fprintf(stderr, "type %u: catalogue %s, typed reader %s: %s\n", (unsigned)type,
            catalogue_ok ? "accepts" : "refuses", typed_ok ? "accepts" : "refuses",
            typed_ok ? "" : err.message);
  FUZZ_CHECK(typed_ok == catalogue_ok);
  if (typed_ok) {
    chat_buffer written;
    chat_buffer_init(&written);
    chat_writer w;
    chat_writer_init(&w, &written);
    codec->write(&w, x);
    FUZZ_CHECK(chat_writer_finish(&w) == 0);
    chat_value *again = NULL;
    FUZZ_CHECK(chat_value_decode(written.data, written.len, NULL, 0, arena, &again, &err) == 0);
    FUZZ_CHECK(chat_catalogue_check(type, again, &err) == 0);
    void *y = calloc(1, codec->size);
    FUZZ_CHECK(y != NULL);
    FUZZ_CHECK(codec->read(again, y, &err) == 0);
    chat_buffer rewritten;
    chat_buffer_init(&rewritten);
    chat_writer_init(&w, &rewritten);
    codec->write(&w, y);
    FUZZ_CHECK(chat_writer_finish(&w) == 0);
    FUZZ_CHECK(rewritten.len == written.len &&
               memcmp(rewritten.data, written.data, written.len) == 0);
    chat_buffer_clear(&rewritten);
    chat_buffer_clear(&written);
    free(y);
  }
  free(x);
}

void fuzz_check_message(chat_dialect dialect, const uint8_t *data, size_t size) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_message_header header = {0}, header2 = {0};
  chat_value *params = NULL, *borrowed = NULL;
  chat_error err, err2;
  int rc =
      chat_message_decode_with_id(dialect, data, size, NULL, 0, &arena, &header, &params, &err);
  int rc2 = chat_message_decode_with_id(dialect, data, size, NULL, CHAT_DECODE_BORROW, &arena,
                                        &header2, &borrowed, &err2);
  FUZZ_CHECK(rc == rc2);
  if (rc != 0) {
    FUZZ_CHECK(err.offset == err2.offset);
    FUZZ_CHECK(err.offset <= size);
  } else {
    FUZZ_CHECK(header.type == header2.type);
    FUZZ_CHECK(header.has_request_id == header2.has_request_id);
    FUZZ_CHECK(header.request_id == header2.request_id);
    FUZZ_CHECK(chat_value_equal(params, borrowed));
    bool catalogue_ok = chat_catalogue_check(header.type, params, &err) == 0;
    check_typed(header.type, params, catalogue_ok, &arena);
    chat_buffer again;
    chat_buffer_init(&again);
    FUZZ_CHECK(chat_message_encode_with_id(dialect, &header, params, &again) == 0);
    FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0);
    chat_buffer_clear(&again);
    check_message_json(header.type, params, &arena);
  }
  chat_arena_clear(&arena);
}
