/* The typed message layer (protocol/messages.h) checked against the
 * catalogue: every entry has a typed counterpart; samples generated from
 * each entry's shape read, write back byte for byte and pass the shape
 * check in the entry's dialects; the spec vectors read. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/catalogue.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "protocol/messages.h"
#include "vectors.h"

#define MESSAGES "messages.json"
/* Samples per entry: every alternative of a shape (up to three) with and
 * without the optional keys, and lists of 0, 1 and 2 items. */
#define VARIANTS 6
#define SAMPLE_MAX_ITEMS 16

static chat_arena arena;

static void setup(void) {
  chat_arena_init(&arena);
}
static void teardown(void) {
  chat_arena_clear(&arena);
}

/* ---- samples from a shape text ---- */

typedef struct {
  const char *p;
  unsigned variant;
  int64_t counter;
} generator;

static void skip(generator *g) {
  while (isspace((unsigned char)*g->p))
    g->p++;
}

static bool eat(generator *g, const char *token) {
  skip(g);
  size_t n = strlen(token);
  if (strncmp(g->p, token, n) != 0)
    return false;
  g->p += n;
  return true;
}

static size_t ident(generator *g, const char **start) {
  skip(g);
  *start = g->p;
  while (isalnum((unsigned char)*g->p) || *g->p == '_')
    g->p++;
  return (size_t)(g->p - *start);
}

static void *alloc(size_t n, size_t size) {
  void *p = chat_arena_alloc(&arena, n, size);
  cr_assert_not_null(p);
  return p;
}

static const char *text_of(const char *name, size_t len) {
  char *s = alloc(len + 1, 1);
  memcpy(s, name, len);
  return s;
}

static void generate(generator *g, chat_value *out);

/* Skips an optional "label:" before a list item. */
static void skip_label(generator *g) {
  const char *save = g->p, *label;
  if (!(ident(g, &label) > 0 && eat(g, ":")))
    g->p = save;
}

/* One term; out NULL parses it without generating. */
static void term(generator *g, chat_value *out) {
  chat_value scratch;
  chat_value *v = out ? out : &scratch;
  if (eat(g, "@")) {
    const char *name;
    size_t len = ident(g, &name);
    const chat_shape_definition *def = chat_catalogue_shape_by_name(text_of(name, len));
    cr_assert_not_null(def);
    generator inner = {def->shape, g->variant, g->counter};
    generate(&inner, v);
    g->counter = inner.counter;
    return;
  }
  if (eat(g, "[")) {
    v->kind = CHAT_VALUE_LIST;
    v->as.list.items = alloc(SAMPLE_MAX_ITEMS, sizeof(chat_value));
    v->as.list.count = 0;
    if (eat(g, "]"))
      return;
    const char *first = g->p;
    size_t count = 0;
    for (;;) {
      skip_label(g);
      generate(g, &v->as.list.items[count++]);
      if (eat(g, "...")) {
        /* a list of any length: 0, 1 or 2 items */
        size_t want = g->variant % 3;
        const char *after = g->p;
        for (size_t i = 1; i < want; i++) {
          g->p = first;
          skip_label(g);
          generate(g, &v->as.list.items[i]);
        }
        g->p = after;
        count = want;
        cr_assert(eat(g, "]"));
        break;
      }
      if (eat(g, "]"))
        break;
      cr_assert(eat(g, ","));
    }
    v->as.list.count = count;
    return;
  }
  if (eat(g, "{")) {
    v->kind = CHAT_VALUE_DICT;
    v->as.dict.entries = alloc(SAMPLE_MAX_ITEMS, sizeof(chat_dict_entry));
    v->as.dict.count = 0;
    if (eat(g, "}"))
      return;
    do {
      if (eat(g, "..."))
        break;
      const char *key;
      size_t len = ident(g, &key);
      bool optional = eat(g, "?");
      cr_assert(eat(g, ":"));
      bool present = !optional || (g->variant / 3) % 2 == 0;
      chat_dict_entry *e = &v->as.dict.entries[v->as.dict.count];
      generate(g, present ? &e->value : NULL);
      if (present) {
        e->key = text_of(key, len);
        e->key_len = len;
        v->as.dict.count++;
      }
    } while (eat(g, ","));
    cr_assert(eat(g, "}"));
    return;
  }
  const char *name;
  size_t len = ident(g, &name);
  int64_t n = ++g->counter;
  if (len == 3 && strncmp(name, "any", 3) == 0)
    chat_value_set_int(v, n);
  else if (len == 4 && strncmp(name, "null", 4) == 0)
    chat_value_set_null(v);
  else if (len == 3 && strncmp(name, "int", 3) == 0)
    chat_value_set_int(v, n);
  else if (len == 5 && strncmp(name, "float", 5) == 0)
    chat_value_set_float(v, (double)n + 0.5);
  else if (len == 4 && strncmp(name, "bool", 4) == 0)
    chat_value_set_bool(v, n % 2 == 0);
  else if (len == 3 && strncmp(name, "str", 3) == 0) {
    char *s = alloc(24, 1);
    snprintf(s, 24, "s%lld", (long long)n);
    chat_value_set_str(v, s, strlen(s));
  } else if (len == 5 && strncmp(name, "bytes", 5) == 0) {
    uint8_t *b = alloc(3, 1);
    b[0] = 0;
    b[1] = (uint8_t)n;
    b[2] = 0xff;
    chat_value_set_bytes(v, b, 3);
  } else {
    cr_assert_fail("unknown shape name %.*s", (int)len, name);
  }
}

/* Alternatives: the variant picks one; the others are parsed only. */
static void generate(generator *g, chat_value *out) {
  const char *start = g->p;
  unsigned n = 1;
  term(g, NULL);
  while (eat(g, "|")) {
    term(g, NULL);
    n++;
  }
  const char *end = g->p;
  g->p = start;
  unsigned pick = g->variant % n;
  for (unsigned i = 0; i < n; i++) {
    if (i > 0)
      cr_assert(eat(g, "|"));
    term(g, i == pick ? out : NULL);
  }
  g->p = end;
}

/* ---- helpers ---- */

static void encode(const chat_value *v, chat_buffer *out) {
  chat_buffer_init(out);
  cr_assert_eq(chat_value_encode(v, out), 0);
}

/* Writes x with the codec into out (initialised here). */
static void typed_write(const chat_msg_codec *c, const void *x, chat_buffer *out) {
  chat_buffer_init(out);
  chat_writer w;
  chat_writer_init(&w, out);
  c->write(&w, x);
  cr_assert_eq(chat_writer_finish(&w), 0, "%s: the writer failed", c->type_name);
}

static bool same_bytes(const chat_buffer *a, const chat_buffer *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---- the tests ---- */

Test(messages, every_catalogue_entry_is_typed) {
  for (size_t i = 0; i < chat_catalogue_count(); i++) {
    const chat_message_info *info = chat_catalogue_at(i);
    const chat_msg_codec *c = chat_msg_codec_by_code(info->code);
    cr_expect_not_null(c,
                       "catalogue entry %s (%u) has no typed counterpart in "
                       "protocol/messages.c",
                       info->name, info->code);
  }
  for (size_t i = 0; i < chat_msg_codec_count(); i++)
    cr_expect_not_null(chat_catalogue_by_code(chat_msg_codec_at(i)->code),
                       "%s: code %u is not in the catalogue", chat_msg_codec_at(i)->type_name,
                       chat_msg_codec_at(i)->code);
}

ParameterizedTestParameters(messages, samples_round_trip) {
  size_t n = chat_catalogue_count();
  return cr_make_param_array(vector_param, vectors_params(n), n);
}

/* For each variant of the entry's shape: the sample passes the catalogue
 * check, reads, and writes back to the same bytes; what was written
 * decodes, passes the check, and reads and writes to the same bytes again;
 * as a message it decodes in each of the entry's dialects. */
ParameterizedTest(vector_param *p, messages, samples_round_trip, .init = setup, .fini = teardown) {
  const chat_message_info *info = chat_catalogue_at(p->index);
  const chat_msg_codec *c = chat_msg_codec_by_code(info->code);
  cr_assert_not_null(c, "%s has no typed counterpart", info->name);
  for (unsigned variant = 0; variant < VARIANTS; variant++) {
    generator g = {info->shape, variant, 0};
    chat_value sample;
    generate(&g, &sample);
    chat_error err;
    cr_assert_eq(chat_catalogue_check(info->code, &sample, &err), 0, "%s #%u: sample: %s",
                 info->name, variant, err.message);

    void *x = alloc(1, c->size);
    cr_assert_eq(c->read(&sample, x, &err), 0, "%s #%u: %s", info->name, variant, err.message);
    chat_buffer want, got;
    encode(&sample, &want);
    typed_write(c, x, &got);
    cr_assert(same_bytes(&want, &got), "%s #%u: %s writes other bytes than it read", info->name,
              variant, c->type_name);

    chat_value *again = NULL;
    cr_assert_eq(chat_value_decode(got.data, got.len, NULL, 0, &arena, &again, &err), 0);
    cr_assert_eq(chat_catalogue_check(info->code, again, &err), 0, "%s #%u: built: %s", info->name,
                 variant, err.message);
    void *y = alloc(1, c->size);
    cr_assert_eq(c->read(again, y, &err), 0, "%s #%u: %s", info->name, variant, err.message);
    chat_buffer twice;
    typed_write(c, y, &twice);
    cr_assert(same_bytes(&got, &twice), "%s #%u: parse(build(x)) != x", info->name, variant);

    for (int d = 0; d < CHAT_DIALECT_COUNT; d++) {
      unsigned bit = d == CHAT_DIALECT_SEED ? CHAT_IN_SEED : CHAT_IN_V2;
      if (!(info->dialects & bit))
        continue;
      chat_buffer message;
      chat_buffer_init(&message);
      chat_writer w;
      chat_writer_init(&w, &message);
      chat_message_begin(&w, (chat_dialect)d, info->code);
      c->write(&w, y);
      cr_assert_eq(chat_writer_finish(&w), 0);
      uint32_t type;
      chat_value *params;
      cr_assert_eq(chat_message_decode((chat_dialect)d, message.data, message.len, NULL, 0, &arena,
                                       &type, &params, &err),
                   0, "%s: %s", info->name, err.message);
      cr_assert_not_null(chat_catalogue_lookup(type, (chat_dialect)d, info->direction));
      cr_assert_eq(chat_catalogue_check(type, params, &err), 0, "%s (%s): %s", info->name,
                   chat_dialect_name((chat_dialect)d), err.message);
      chat_buffer_clear(&message);
    }
    chat_buffer_clear(&want);
    chat_buffer_clear(&got);
    chat_buffer_clear(&twice);
  }
}

ParameterizedTestParameters(messages, vectors_read) {
  VECTOR_PARAMS(MESSAGES, "valid");
}

/* Every valid message vector reads with the typed layer, and what it reads
 * writes back to the vector's bytes. */
ParameterizedTest(vector_param *p, messages, vectors_read, .init = setup, .fini = teardown) {
  const chat_json *vector = vectors_get(MESSAGES, "valid", p->index, &arena);
  const char *name = vector_string(vector, "name");
  chat_dialect dialect;
  cr_assert(chat_dialect_parse(vector_string(vector, "dialect"), &dialect));
  chat_buffer bytes;
  chat_buffer_init(&bytes);
  vector_hex(vector, "hex", &bytes);
  chat_message_header header;
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_message_decode_with_id(dialect, bytes.data, bytes.len, NULL, CHAT_DECODE_BORROW,
                                           &arena, &header, &params, &err),
               0, "%s: %s", name, err.message);
  uint32_t type = header.type;
  const chat_msg_codec *c = chat_msg_codec_by_code(type);
  cr_assert_not_null(c, "%s: type %u is not typed", name, type);
  void *x = alloc(1, c->size);
  cr_assert_eq(c->read(params, x, &err), 0, "%s: %s", name, err.message);
  chat_buffer message;
  chat_buffer_init(&message);
  chat_writer w;
  chat_writer_init(&w, &message);
  chat_message_begin_with_id(&w, dialect, &header);
  c->write(&w, x);
  cr_assert_eq(chat_writer_finish(&w), 0);
  cr_assert(same_bytes(&bytes, &message), "%s: the typed layer writes other bytes", name);
  chat_buffer_clear(&message);
  chat_buffer_clear(&bytes);
}

/* ---- field by field ---- */

static void assert_span(chat_span a, chat_span b, const char *what) {
  cr_assert(a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0), "%s differs", what);
}

static void assert_notice_eq(const chat_msg_notice *a, const chat_msg_notice *b) {
  cr_assert_eq(a->message.form, b->message.form);
  cr_assert_eq(a->message.type, b->message.type);
  assert_span(a->message.data, b->message.data, "data");
  cr_assert_eq(a->message.font_size, b->message.font_size);
  assert_span(a->message.font_color, b->message.font_color, "fontcolor");
  assert_span(a->message.format, b->message.format, "format");
  cr_assert_eq(a->message.size, b->message.size);
  cr_assert_eq(a->sender_id, b->sender_id);
  assert_span(a->sender_name, b->sender_name, "sender_name");
  cr_assert_eq(a->target_type, b->target_type);
  cr_assert_eq(a->time, b->time);
  cr_assert_eq(a->target_id, b->target_id);
  cr_assert_eq(a->has_id, b->has_id);
  cr_assert_eq(a->id, b->id);
  cr_assert_eq(a->has_client_msg_id, b->has_client_msg_id);
  assert_span(a->client_msg_id, b->client_msg_id, "client_msg_id");
  cr_assert_eq(a->has_sender_username, b->has_sender_username);
  assert_span(a->sender_username, b->sender_username, "sender_username");
}

static void notice_round_trip(const chat_msg_notice *x) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_msg_notice_write(&w, x);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_error err;
  chat_value *v = NULL;
  cr_assert_eq(chat_value_decode(buf.data, buf.len, NULL, 0, &arena, &v, &err), 0);
  cr_assert_eq(chat_catalogue_check(CHAT_MSG_ON_NEW_MESSAGE, v, &err), 0, "%s", err.message);
  chat_msg_notice y;
  cr_assert_eq(chat_msg_notice_decode(buf.data, buf.len, &arena, &y, &err), 0, "%s", err.message);
  assert_notice_eq(x, &y);
  chat_buffer_clear(&buf);
}

Test(messages, notice_fields_round_trip, .init = setup, .fini = teardown) {
  chat_msg_notice seed = {
      .message = {.form = CHAT_BODY_TEXT,
                  .type = CHAT_BODY_TYPE_TEXT,
                  .data = chat_span_cstr("héllo"),
                  .font_size = 12,
                  .font_color = chat_span_cstr("#000000")},
      .sender_id = 3,
      .sender_name = chat_span_cstr("Alice"),
      .target_type = CHAT_TARGET_ROOM,
      .time = 1700000000123,
      .target_id = 7,
  };
  notice_round_trip(&seed);
  static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0};
  chat_msg_notice v2 = {
      .message = {.form = CHAT_BODY_IMAGE,
                  .type = CHAT_BODY_TYPE_IMAGE,
                  .data = chat_span_bytes(png, sizeof png)},
      .sender_id = 4,
      .sender_name = chat_span_cstr(""),
      .target_type = CHAT_TARGET_USER,
      .time = 0,
      .target_id = 1,
      .has_id = true,
      .id = 99,
      .has_client_msg_id = true,
      .client_msg_id = chat_span_cstr("c-1"),
      .has_sender_username = true,
      .sender_username = chat_span_cstr("bob"),
  };
  notice_round_trip(&v2);
  chat_msg_notice preview = v2;
  preview.message = (chat_msg_body){.form = CHAT_BODY_PREVIEW,
                                    .type = CHAT_BODY_TYPE_IMAGE,
                                    .format = chat_span_cstr("png"),
                                    .size = 123456};
  preview.has_client_msg_id = false;
  preview.client_msg_id = (chat_span){0};
  notice_round_trip(&preview);
}

/* The reader is as strict as the catalogue: a missing key or a wrong kind
 * fails and names the field. */
Test(messages, notice_reader_is_strict, .init = setup, .fini = teardown) {
  chat_value *v = NULL;
  chat_error err;
  static const char *bad[] = {
      "{\"message\": {\"type\": 0, \"data\": \"x\", \"fontsize\": 1, \"fontcolor\": \"#000000\"},"
      " \"sender_id\": 1, \"target_type\": 0, \"time\": 1, \"target_id\": 2}",
      "{\"message\": {\"type\": 0, \"data\": \"x\", \"fontsize\": 1}, \"sender_id\": 1,"
      " \"sender_name\": \"a\", \"target_type\": 0, \"time\": 1, \"target_id\": 2}",
      "{\"message\": {\"type\": 0, \"data\": \"x\", \"fontsize\": 1, \"fontcolor\": \"#000000\"},"
      " \"sender_id\": 1, \"sender_name\": \"a\", \"target_type\": 0, \"time\": 1,"
      " \"target_id\": 2, \"id\": \"7\"}",
  };
  static const char *field[] = {"sender_name", "body", "id"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(chat_value_parse_json(bad[i], strlen(bad[i]), &arena, &v, &err), 0, "%s",
                 err.message);
    cr_assert_neq(chat_catalogue_check(CHAT_MSG_ON_NEW_MESSAGE, v, &err), 0);
    chat_msg_notice x;
    cr_assert_eq(chat_msg_notice_read(v, &x, &err), CHAT_ERR_SHAPE, "#%zu accepted", i);
    cr_assert_not_null(strstr(err.message, field[i]), "#%zu: %s", i, err.message);
  }
}

Test(messages, server_info_round_trips_and_ignores_what_it_does_not_know) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_msg_server_info in = {
      .has_server = true,
      .server = chat_span_cstr("chatd 1"),
      .has_max_message = true,
      .max_message = 16777216,
      .has_max_image = true,
      .max_image = 8388608,
  };
  chat_msg_server_info_write(&w, &in);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_arena info_arena;
  chat_arena_init(&info_arena);
  chat_msg_server_info out;
  cr_assert(chat_msg_server_info_decode(buf.data, buf.len, &info_arena, &out));
  cr_assert(out.has_server && chat_span_eq(out.server, "chatd 1"));
  cr_assert(out.has_max_message && out.max_message == 16777216);
  cr_assert(out.has_max_image && out.max_image == 8388608);
  chat_arena_clear(&info_arena);

  /* {"max_image": "big", "extra": 1}: a wrong type reads as absent. */
  chat_buffer_clear(&buf);
  chat_buffer_init(&buf);
  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "extra");
  chat_write_int(&w, 1);
  chat_write_key_cstr(&w, "max_image");
  chat_write_cstr(&w, "big");
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_arena_init(&info_arena);
  cr_assert(chat_msg_server_info_decode(buf.data, buf.len, &info_arena, &out));
  cr_assert(!out.has_server && !out.has_max_message && !out.has_max_image);
  chat_arena_clear(&info_arena);

  /* Not a dict, or nothing at all. */
  static const uint8_t not_a_dict[] = {0x00};
  chat_arena_init(&info_arena);
  cr_assert_not(chat_msg_server_info_decode(not_a_dict, sizeof not_a_dict, &info_arena, &out));
  cr_assert_not(chat_msg_server_info_decode(NULL, 0, &info_arena, &out));
  chat_arena_clear(&info_arena);
  chat_buffer_clear(&buf);
}

Test(messages, client_info_round_trips_and_ignores_what_it_does_not_know) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_msg_client_info in = {
      .has_client = true,
      .client = chat_span_cstr("chatctl 1"),
      .has_max_message = true,
      .max_message = 268435456,
  };
  chat_msg_client_info_write(&w, &in);
  cr_assert_eq(chat_writer_finish(&w), 0);
  /* {"client": "chatctl 1", "max_message": 268435456}, keys in this order. */
  static const uint8_t want[] = {0x05, 0x00, 0x00, 0x00, 0x2a, 0x06, 0x63, 0x6c, 0x69, 0x65,
                                 0x6e, 0x74, 0x03, 0x00, 0x00, 0x00, 0x09, 0x63, 0x68, 0x61,
                                 0x74, 0x63, 0x74, 0x6c, 0x20, 0x31, 0x0b, 0x6d, 0x61, 0x78,
                                 0x5f, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x01, 0x00,
                                 0x00, 0x00, 0x04, 0x10, 0x00, 0x00, 0x00};
  cr_assert_eq(buf.len, sizeof want);
  cr_assert_eq(memcmp(buf.data, want, sizeof want), 0);
  chat_arena info_arena;
  chat_arena_init(&info_arena);
  chat_msg_client_info out;
  cr_assert(chat_msg_client_info_decode(buf.data, buf.len, &info_arena, &out));
  cr_assert(out.has_client && chat_span_eq(out.client, "chatctl 1"));
  cr_assert(out.has_max_message && out.max_message == 268435456);
  chat_arena_clear(&info_arena);

  /* {} and {"max_message": "x", "later": 1}: absent, no failure. */
  chat_buffer_clear(&buf);
  chat_buffer_init(&buf);
  chat_writer_init(&w, &buf);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "max_message");
  chat_write_cstr(&w, "x");
  chat_write_key_cstr(&w, "later");
  chat_write_int(&w, 1);
  chat_write_dict_end(&w);
  cr_assert_eq(chat_writer_finish(&w), 0);
  chat_arena_init(&info_arena);
  cr_assert(chat_msg_client_info_decode(buf.data, buf.len, &info_arena, &out));
  cr_assert(!out.has_client && !out.has_max_message);
  static const uint8_t empty_dict[] = {0x05, 0, 0, 0, 0};
  cr_assert(chat_msg_client_info_decode(empty_dict, sizeof empty_dict, &info_arena, &out));
  cr_assert(!out.has_client && !out.has_max_message);
  cr_assert_not(chat_msg_client_info_decode(NULL, 0, &info_arena, &out));
  chat_arena_clear(&info_arena);
  chat_buffer_clear(&buf);
}
