/* The shape checker: walks a shape text and a value together.
 *
 * The text is parsed as it is checked (shapes are short and few), so there
 * is no compiled form to keep in sync with the catalogue. A list-of shape is
 * re-read for each item. Checking only reads; it allocates nothing. */
#include "protocol/shape.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How deep @name references may nest (guards against a cycle). */
#define SHAPE_MAX_REFERENCE_DEPTH 16
/* Longest path kept in messages ("params.message.data"). */
#define SHAPE_PATH_MAX 128

typedef struct {
  const char *text; /* the whole shape, for error messages */
  const char *p;
  chat_shape_resolver resolve;
  void *resolve_data;
  unsigned reference_depth;
  chat_error *err; /* where syntax errors go */
} scanner;

/* Where a value sits ("params.message.data", "params[2]"): a chain of
 * segments on the stack, rendered into text only when a check fails, so a
 * valid value costs no formatting. */
typedef struct shape_path {
  const struct shape_path *parent;
  const char *name; /* a key, or the root's whole text */
  size_t name_len;
  size_t index; /* for a list item (name == NULL) */
} shape_path;

static void render_path(const shape_path *at, char *out, size_t size) {
  if (at->parent == NULL) {
    snprintf(out, size, "%.*s", (int)at->name_len, at->name);
    return;
  }
  render_path(at->parent, out, size);
  size_t used = strlen(out);
  if (at->name != NULL)
    snprintf(out + used, size - used, ".%.*s", (int)at->name_len, at->name);
  else
    snprintf(out + used, size - used, "[%zu]", at->index);
}

/* Outcome of checking one shape: matched, or a mismatch described in *why
 * (why is set only by a mismatch and read only after one, so a verdict
 * that matched never touches its message buffer). */
typedef struct {
  bool matched;
  chat_error why;
} verdict;

#define VERDICT_MATCHED(name)                                                                      \
  verdict name;                                                                                    \
  name.matched = true

static void verdict_take(verdict *dst, const verdict *src) {
  dst->matched = src->matched;
  if (!src->matched)
    dst->why = src->why;
}

static int check_alternatives(scanner *s, const chat_value *v, const shape_path *at, verdict *out);

static void skip_space(scanner *s) {
  while (*s->p && isspace((unsigned char)*s->p))
    s->p++;
}

static bool accept(scanner *s, const char *token) {
  skip_space(s);
  size_t n = strlen(token);
  if (strncmp(s->p, token, n) == 0) {
    s->p += n;
    return true;
  }
  return false;
}

static int syntax_error(scanner *s, const char *what) {
  return chat_error_set(s->err, CHAT_ERR_SYNTAX, (size_t)(s->p - s->text),
                        "shape \"%s\": %s at offset %zu", s->text, what, (size_t)(s->p - s->text));
}

static bool is_ident_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

static size_t read_identifier(scanner *s, const char **start) {
  skip_space(s);
  *start = s->p;
  while (is_ident_char(*s->p))
    s->p++;
  return (size_t)(s->p - *start);
}

__attribute__((format(printf, 3, 4))) static void mismatch(verdict *out, const shape_path *at,
                                                           const char *fmt, ...) {
  char detail[CHAT_ERROR_MESSAGE_MAX];
  char where[SHAPE_PATH_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  render_path(at, where, sizeof where);
  out->matched = false;
  chat_error_set(&out->why, CHAT_ERR_SHAPE, 0, "%s: %s", where, detail);
}

static shape_path item_path(const shape_path *parent, size_t index) {
  return (shape_path){.parent = parent, .name = NULL, .index = index};
}

static shape_path field_path(const shape_path *parent, const char *key, size_t key_len) {
  return (shape_path){.parent = parent, .name = key, .name_len = key_len};
}

/* The value of key (key_len bytes, not NUL-terminated) in a dict. */
static const chat_value *dict_lookup(const chat_value *dict, const char *key, size_t key_len) {
  for (size_t i = 0; i < dict->as.dict.count; i++) {
    const chat_dict_entry *e = &dict->as.dict.entries[i];
    if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
      return &e->value;
  }
  return NULL;
}

static const char *kind_of(const chat_value *v) {
  return chat_value_kind_name(v->kind);
}

static int check_primitive(const char *name, size_t len, const chat_value *v, const shape_path *at,
                           verdict *out, scanner *s) {
  static const struct {
    const char *name;
    int kind; /* -1 = any */
  } primitives[] = {
      {"any", -1},
      {"null", CHAT_VALUE_NULL},
      {"int", CHAT_VALUE_INT},
      {"float", CHAT_VALUE_FLOAT},
      {"str", CHAT_VALUE_STR},
      {"bool", CHAT_VALUE_BOOL},
      {"bytes", CHAT_VALUE_BYTES},
  };
  for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++) {
    if (strlen(primitives[i].name) != len || strncmp(primitives[i].name, name, len) != 0)
      continue;
    out->matched = true;
    int64_t as_i64;
    if (v && primitives[i].kind >= 0 && (int)v->kind != primitives[i].kind)
      mismatch(out, at, "expected %s, got %s", primitives[i].name, kind_of(v));
    else if (v && primitives[i].kind == CHAT_VALUE_INT && !chat_value_get_i64(v, &as_i64))
      /* Only a non-negative int can miss: a negint stops at -2^63. */
      mismatch(out, at, "expected an int of 64 signed bits, got %" PRIu64, v->as.integer.magnitude);
    return 0;
  }
  return syntax_error(s, "unknown type name");
}

static int check_reference(scanner *s, const chat_value *v, const shape_path *at, verdict *out) {
  const char *name;
  size_t len = read_identifier(s, &name);
  if (len == 0)
    return syntax_error(s, "expected a name after '@'");
  const char *text = s->resolve ? s->resolve(name, len, s->resolve_data) : NULL;
  if (!text)
    return syntax_error(s, "unknown named shape");
  if (s->reference_depth >= SHAPE_MAX_REFERENCE_DEPTH)
    return syntax_error(s, "named shapes nested too deep");
  scanner inner = *s;
  inner.text = text;
  inner.p = text;
  inner.reference_depth++;
  int rc = check_alternatives(&inner, v, at, out);
  if (rc == 0) {
    skip_space(&inner);
    if (*inner.p)
      return syntax_error(&inner, "unexpected text after the shape");
  }
  return rc;
}

/* Reads an optional "label:" before a list item. */
static void skip_label(scanner *s) {
  skip_space(s);
  const char *save = s->p;
  const char *name;
  if (read_identifier(s, &name) > 0 && accept(s, ":"))
    return;
  s->p = save;
}

static int check_list(scanner *s, const chat_value *v, const shape_path *at, verdict *out) {
  out->matched = true;
  if (v && v->kind != CHAT_VALUE_LIST) {
    mismatch(out, at, "expected %s, got %s", "list", kind_of(v));
    v = NULL; /* keep parsing to the end of the shape */
  }
  if (accept(s, "]")) {
    if (v && v->as.list.count != 0) {
      mismatch(out, at, "expected an empty list, got %zu items", v->as.list.count);
    }
    return 0;
  }
  const char *first_item = s->p;
  skip_label(s);
  VERDICT_MATCHED(first);
  shape_path first_at = item_path(at, 0);
  int rc = check_alternatives(s, v && v->as.list.count > 0 ? &v->as.list.items[0] : NULL, &first_at,
                              &first);
  if (rc)
    return rc;

  if (accept(s, "...")) {
    /* A list of any length, every item of the one shape. */
    const char *after = s->p;
    if (out->matched && v && v->as.list.count > 0 && !first.matched) {
      verdict_take(out, &first);
    } else if (out->matched && v) {
      for (size_t i = 1; i < v->as.list.count; i++) {
        scanner again = *s;
        again.p = first_item;
        skip_label(&again);
        shape_path each_at = item_path(at, i);
        VERDICT_MATCHED(each);
        rc = check_alternatives(&again, &v->as.list.items[i], &each_at, &each);
        if (rc)
          return rc;
        if (!each.matched) {
          verdict_take(out, &each);
          break;
        }
      }
    }
    s->p = after;
    if (!accept(s, "]"))
      return syntax_error(s, "expected ']' after '...'");
    return 0;
  }

  /* A tuple: exactly these items. */
  if (out->matched && v && v->as.list.count > 0 && !first.matched)
    verdict_take(out, &first);
  size_t count = 1;
  while (accept(s, ",")) {
    skip_label(s);
    shape_path each_at = item_path(at, count);
    const chat_value *item = v && count < v->as.list.count ? &v->as.list.items[count] : NULL;
    VERDICT_MATCHED(each);
    rc = check_alternatives(s, out->matched ? item : NULL, &each_at, &each);
    if (rc)
      return rc;
    if (out->matched && !each.matched)
      verdict_take(out, &each);
    count++;
  }
  if (!accept(s, "]"))
    return syntax_error(s, "expected ',' or ']' in a list shape");
  if (out->matched && v && v->as.list.count != count) {
    mismatch(out, at, "expected a list of %zu items, got %zu", count, v->as.list.count);
  }
  return 0;
}

static int check_dict(scanner *s, const chat_value *v, const shape_path *at, verdict *out) {
  out->matched = true;
  if (v && v->kind != CHAT_VALUE_DICT) {
    mismatch(out, at, "expected %s, got %s", "dict", kind_of(v));
    v = NULL;
  }
  if (accept(s, "}"))
    return 0;
  do {
    if (accept(s, "..."))
      break;
    const char *key;
    size_t key_len = read_identifier(s, &key);
    if (key_len == 0)
      return syntax_error(s, "expected a key in a dict shape");
    bool optional = accept(s, "?");
    if (!accept(s, ":"))
      return syntax_error(s, "expected ':' after a key");
    shape_path field_at = field_path(at, key, key_len);
    const chat_value *field = NULL;
    if (v && out->matched) {
      field = dict_lookup(v, key, key_len);
      if (!field && !optional)
        mismatch(out, &field_at, "missing");
    }
    VERDICT_MATCHED(each);
    int rc = check_alternatives(s, field, &field_at, &each);
    if (rc)
      return rc;
    if (out->matched && !each.matched)
      verdict_take(out, &each);
  } while (accept(s, ","));
  if (!accept(s, "}"))
    return syntax_error(s, "expected ',' or '}' in a dict shape");
  return 0;
}

static int check_term(scanner *s, const chat_value *v, const shape_path *at, verdict *out) {
  skip_space(s);
  if (accept(s, "@"))
    return check_reference(s, v, at, out);
  if (accept(s, "["))
    return check_list(s, v, at, out);
  if (accept(s, "{"))
    return check_dict(s, v, at, out);
  const char *name;
  size_t len = read_identifier(s, &name);
  if (len == 0)
    return syntax_error(s, "expected a shape");
  return check_primitive(name, len, v, at, out, s);
}

/* v == NULL only parses (checks syntax). */
static int check_alternatives(scanner *s, const chat_value *v, const shape_path *at, verdict *out) {
  VERDICT_MATCHED(first);
  int rc = check_term(s, v, at, &first);
  if (rc)
    return rc;
  verdict_take(out, &first);
  unsigned alternatives = 1;
  while (accept(s, "|")) {
    VERDICT_MATCHED(next);
    rc = check_term(s, out->matched ? NULL : v, at, &next);
    if (rc)
      return rc;
    alternatives++;
    if (!out->matched && next.matched)
      verdict_take(out, &next);
  }
  if (!out->matched && alternatives > 1) {
    char first_reason[CHAT_ERROR_MESSAGE_MAX];
    char where[SHAPE_PATH_MAX];
    snprintf(first_reason, sizeof first_reason, "%s", first.why.message);
    render_path(at, where, sizeof where);
    chat_error_set(&out->why, CHAT_ERR_SHAPE, 0, "%s: matches none of %u shapes (first: %s)", where,
                   alternatives, first_reason);
  }
  return 0;
}

static int run(const char *shape, const chat_value *value, const char *root,
               chat_shape_resolver resolve, void *resolve_data, chat_error *err) {
  scanner s = {
      .text = shape,
      .p = shape,
      .resolve = resolve,
      .resolve_data = resolve_data,
      .err = err,
  };
  shape_path at = {.parent = NULL, .name = root, .name_len = strlen(root)};
  VERDICT_MATCHED(result);
  int rc = check_alternatives(&s, value, &at, &result);
  if (rc)
    return rc;
  skip_space(&s);
  if (*s.p)
    return syntax_error(&s, "unexpected text after the shape");
  if (!result.matched) {
    if (err)
      *err = result.why;
    return CHAT_ERR_SHAPE;
  }
  return 0;
}

int chat_shape_check(const char *shape, const chat_value *value, const char *root,
                     chat_shape_resolver resolve, void *resolve_data, chat_error *err) {
  return run(shape, value, root, resolve, resolve_data, err);
}

int chat_shape_validate(const char *shape, chat_shape_resolver resolve, void *resolve_data,
                        chat_error *err) {
  return run(shape, NULL, "shape", resolve, resolve_data, err);
}
