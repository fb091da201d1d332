/* A strict RFC 8259 JSON parser into an arena tree, and the tree's
 * accessors. See json.h; writing JSON strings and numbers is in
 * json-write.c.
 *
 * The parser reads with (pos, end) pointers and checks `pos < end` before
 * every byte it looks at. Children of the container being parsed are
 * collected on one growable scratch stack and copied into an arena array of
 * the exact size when the container closes, so the tree holds no slack. */
#include "protocol/json.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/hex.h"
#include "protocol/json-internal.h"
#include "protocol/utf8.h"

/* First capacity of the scratch stack, in members. */
#define JSON_STACK_INITIAL 32
/* Objects up to this many members are checked for duplicate keys by
 * comparing every pair; bigger ones are sorted (O(n log n)). */
#define JSON_DUPLICATE_LINEAR_MAX 16
/* Longest piece of source quoted in an error message. */
#define JSON_QUOTE_MAX 40
/* Room for "byte 0xNN" / "'c'" / "end of input". */
#define JSON_FOUND_SIZE 16
/* Digits of \uXXXX. */
#define JSON_UNICODE_ESCAPE_DIGITS 4

/* ---- UTF-8 -------------------------------------------------------------- */

/* Writes code point cp as UTF-8 into dst (when not NULL); returns its length. */
static size_t utf8_encode(uint32_t cp, uint8_t *dst) {
  uint8_t tmp[4];
  size_t n;
  if (cp < 0x80) {
    tmp[0] = (uint8_t)cp;
    n = 1;
  } else if (cp < 0x800) {
    tmp[0] = (uint8_t)(0xC0 | (cp >> 6));
    tmp[1] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    tmp[0] = (uint8_t)(0xE0 | (cp >> 12));
    tmp[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    tmp[2] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    tmp[0] = (uint8_t)(0xF0 | (cp >> 18));
    tmp[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    tmp[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    tmp[3] = (uint8_t)(0x80 | (cp & 0x3F));
    n = 4;
  }
  if (dst != NULL) {
    memcpy(dst, tmp, n);
  }
  return n;
}

/* ---- The C locale ------------------------------------------------------- */

void chat_json_c_locale_enter(chat_json_c_locale *scope) {
  scope->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  scope->previous = (locale_t)0;
  if (scope->c_locale != (locale_t)0) {
    scope->previous = uselocale(scope->c_locale);
  }
  /* If newlocale failed (out of memory), carry on in the current locale. */
}

void chat_json_c_locale_leave(chat_json_c_locale *scope) {
  if (scope->c_locale != (locale_t)0) {
    uselocale(scope->previous);
    freelocale(scope->c_locale);
  }
}

/* ---- Positions and error messages --------------------------------------- */

void chat_json_position(const char *text, size_t len, size_t offset, size_t *line, size_t *column) {
  size_t l = 1, c = 1;
  if (offset > len) {
    offset = len;
  }
  for (size_t i = 0; i < offset; i++) {
    uint8_t b = (uint8_t)text[i];
    if (b == '\n') {
      l++;
      c = 1;
    } else if ((b & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *column = c;
}

typedef struct {
  const char *start; /* the text */
  const char *end;
  const char *pos;
  chat_arena *arena;
  chat_error *err;
  chat_json_member *stack; /* children of the open containers */
  size_t stack_len;
  size_t stack_cap;
  unsigned depth;
} json_parser;

/* Describes the byte at `at` for "got ..." in messages. */
static const char *describe_found(const json_parser *p, const char *at, char buf[JSON_FOUND_SIZE]) {
  if (at >= p->end) {
    return "end of input";
  }
  uint8_t b = (uint8_t)*at;
  if (b > 0x20 && b < 0x7F) {
    snprintf(buf, JSON_FOUND_SIZE, "'%c'", (char)b);
  } else {
    snprintf(buf, JSON_FOUND_SIZE, "byte 0x%02X", (unsigned)b);
  }
  return buf;
}

/* Records an error at `at` with a "line L column C: " prefix. */
__attribute__((format(printf, 4, 5))) static int parse_fail(json_parser *p, int code,
                                                            const char *at, const char *fmt, ...) {
  char reason[CHAT_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  size_t offset = (size_t)(at - p->start);
  size_t line, column;
  chat_json_position(p->start, (size_t)(p->end - p->start), offset, &line, &column);
  return chat_error_set(p->err, code, offset, "line %zu column %zu: %s", line, column, reason);
}

/* "expected <what>, got <found>" at the current position. */
static int parse_expected(json_parser *p, const char *what) {
  char found[JSON_FOUND_SIZE];
  return parse_fail(p, CHAT_ERR_SYNTAX, p->pos, "expected %s, got %s", what,
                    describe_found(p, p->pos, found));
}

static int parse_nomem(json_parser *p) {
  return chat_error_set(p->err, CHAT_ERR_NOMEM, (size_t)(p->pos - p->start),
                        "out of memory while parsing JSON");
}

/* ---- Lexical pieces ----------------------------------------------------- */

static bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static void skip_space(json_parser *p) {
  while (p->pos < p->end && is_json_space(*p->pos)) {
    p->pos++;
  }
}

/* Reads the four hex digits of a \u escape at q (just after "\u"). */
static int read_unicode_digits(json_parser *p, const char *q, uint32_t *unit) {
  uint32_t v = 0;
  for (int i = 0; i < JSON_UNICODE_ESCAPE_DIGITS; i++) {
    if (q + i >= p->end) {
      return parse_fail(p, CHAT_ERR_SYNTAX, q + i,
                        "expected 4 hex digits after \\u, got end of input");
    }
    int d = chat_hex_digit(q[i]);
    if (d < 0) {
      char found[JSON_FOUND_SIZE];
      return parse_fail(p, CHAT_ERR_SYNTAX, q + i, "expected 4 hex digits after \\u, got %s",
                        describe_found(p, q + i, found));
    }
    v = (v << 4) | (uint32_t)d;
  }
  *unit = v;
  return 0;
}

/* Reads the escape at q (on the backslash): its code point and the position
 * after it. A surrogate pair is one escape of 12 characters. */
static int read_escape(json_parser *p, const char *q, uint32_t *cp, const char **next) {
  if (q + 1 >= p->end) {
    return parse_fail(p, CHAT_ERR_SYNTAX, q + 1,
                      "expected an escape character after '\\', got end of input");
  }
  switch (q[1]) {
  case '"':
    *cp = '"';
    break;
  case '\\':
    *cp = '\\';
    break;
  case '/':
    *cp = '/';
    break;
  case 'b':
    *cp = '\b';
    break;
  case 'f':
    *cp = '\f';
    break;
  case 'n':
    *cp = '\n';
    break;
  case 'r':
    *cp = '\r';
    break;
  case 't':
    *cp = '\t';
    break;
  case 'u': {
    uint32_t unit;
    int rc = read_unicode_digits(p, q + 2, &unit);
    if (rc != 0) {
      return rc;
    }
    const char *after = q + 2 + JSON_UNICODE_ESCAPE_DIGITS;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return parse_fail(p, CHAT_ERR_UTF8, q,
                        "lone low surrogate \\u%04X (not after a high surrogate)", (unsigned)unit);
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      uint32_t low = 0;
      bool paired = (p->end - after) >= 2 && after[0] == '\\' && after[1] == 'u';
      if (paired) {
        rc = read_unicode_digits(p, after + 2, &low);
        if (rc != 0) {
          return rc;
        }
        paired = low >= 0xDC00 && low <= 0xDFFF;
      }
      if (!paired) {
        return parse_fail(p, CHAT_ERR_UTF8, q,
                          "lone high surrogate \\u%04X (expected a \\uDC00-\\uDFFF "
                          "escape after it)",
                          (unsigned)unit);
      }
      *cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      *next = after + 2 + JSON_UNICODE_ESCAPE_DIGITS;
      return 0;
    }
    *cp = unit;
    *next = after;
    return 0;
  }
  default: {
    char found[JSON_FOUND_SIZE];
    return parse_fail(p, CHAT_ERR_SYNTAX, q + 1,
                      "expected one of \" \\ / b f n r t u after '\\', got %s",
                      describe_found(p, q + 1, found));
  }
  }
  *next = q + 2;
  return 0;
}

/* Walks the string whose opening quote is at p->pos. With dst NULL it checks
 * everything and reports the decoded length and whether escapes occur; with
 * dst (room for the decoded length) it decodes into it. Leaves p->pos after
 * the closing quote. */
static int scan_string(json_parser *p, uint8_t *dst, size_t *decoded_len, bool *has_escapes) {
  const char *q = p->pos + 1;
  size_t n = 0;
  bool escapes = false;
  for (;;) {
    if (q >= p->end) {
      return parse_fail(p, CHAT_ERR_SYNTAX, q,
                        "expected '\"' to close the string, got end of input");
    }
    uint8_t b = (uint8_t)*q;
    if (b == '"') {
      break;
    }
    if (b < 0x20) {
      return parse_fail(p, CHAT_ERR_SYNTAX, q,
                        "unescaped control character 0x%02X in string (write it as "
                        "\\u%04X)",
                        (unsigned)b, (unsigned)b);
    }
    if (b == '\\') {
      uint32_t cp = 0;
      const char *next = q;
      int rc = read_escape(p, q, &cp, &next);
      if (rc != 0) {
        return rc;
      }
      n += utf8_encode(cp, dst != NULL ? dst + n : NULL);
      q = next;
      escapes = true;
      continue;
    }
    /* A run of bytes; a run of non-ASCII ones is checked as a whole (no
     * UTF-8 sequence contains an ASCII byte, so this checks every one). */
    const char *run_end = q + 1;
    if (b < 0x80) {
      while (run_end < p->end && (uint8_t)*run_end >= 0x20 && *run_end != '"' && *run_end != '\\' &&
             (uint8_t)*run_end < 0x80) {
        run_end++;
      }
    } else {
      while (run_end < p->end && (uint8_t)*run_end >= 0x80) {
        run_end++;
      }
      size_t bad;
      if (!chat_utf8_check((const uint8_t *)q, (size_t)(run_end - q), &bad)) {
        return parse_fail(p, CHAT_ERR_UTF8, q + bad, "invalid UTF-8 (byte 0x%02X) in string",
                          (unsigned)(uint8_t)q[bad]);
      }
    }
    size_t run = (size_t)(run_end - q);
    if (dst != NULL) {
      memcpy(dst + n, q, run);
    }
    n += run;
    q = run_end;
  }
  p->pos = q + 1;
  *decoded_len = n;
  if (has_escapes != NULL) {
    *has_escapes = escapes;
  }
  return 0;
}

/* Parses the string at p->pos into a NUL-terminated arena copy. */
static int parse_string(json_parser *p, const char **out, size_t *out_len) {
  const char *open = p->pos;
  size_t len;
  bool escapes;
  int rc = scan_string(p, NULL, &len, &escapes);
  if (rc != 0) {
    return rc;
  }
  char *copy;
  if (!escapes) {
    copy = chat_arena_copy(p->arena, open + 1, len);
  } else {
    copy = chat_arena_alloc(p->arena, len + 1, 1);
    if (copy != NULL) {
      const char *after = p->pos;
      p->pos = open;
      scan_string(p, (uint8_t *)copy, &len, NULL); /* checked above: cannot fail */
      p->pos = after;
    }
  }
  if (copy == NULL) {
    return parse_nomem(p);
  }
  *out = copy;
  *out_len = len;
  return 0;
}

/* number = [ '-' ] int [ frac ] [ exp ], kept as its exact lexeme. */
static int parse_number(json_parser *p, chat_json *node) {
  const char *s = p->pos;
  const char *q = s;
  if (*q == '-') {
    q++;
  }
  if (q >= p->end || !is_digit(*q)) {
    p->pos = q;
    return parse_expected(p, "a digit after '-'");
  }
  if (*q == '0') {
    q++;
    if (q < p->end && is_digit(*q)) {
      return parse_fail(p, CHAT_ERR_SYNTAX, q - 1, "leading zeros are not allowed in numbers");
    }
  } else {
    while (q < p->end && is_digit(*q)) {
      q++;
    }
  }
  if (q < p->end && *q == '.') {
    q++;
    if (q >= p->end || !is_digit(*q)) {
      p->pos = q;
      return parse_expected(p, "a digit after '.'");
    }
    while (q < p->end && is_digit(*q)) {
      q++;
    }
  }
  if (q < p->end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < p->end && (*q == '+' || *q == '-')) {
      q++;
    }
    if (q >= p->end || !is_digit(*q)) {
      p->pos = q;
      return parse_expected(p, "a digit in the exponent");
    }
    while (q < p->end && is_digit(*q)) {
      q++;
    }
  }
  size_t len = (size_t)(q - s);
  const char *text = chat_arena_copy(p->arena, s, len);
  if (text == NULL) {
    return parse_nomem(p);
  }
  node->kind = CHAT_JSON_NUMBER;
  node->as.number.text = text;
  node->as.number.len = len;
  p->pos = q;
  return 0;
}

static int parse_literal(json_parser *p, const char *word, size_t len) {
  if ((size_t)(p->end - p->pos) < len || memcmp(p->pos, word, len) != 0) {
    char what[JSON_FOUND_SIZE];
    snprintf(what, sizeof what, "'%s'", word);
    /* Point at the first byte that differs. */
    const char *q = p->pos;
    size_t i = 0;
    while (i < len && q < p->end && *q == word[i]) {
      q++;
      i++;
    }
    char found[JSON_FOUND_SIZE];
    return parse_fail(p, CHAT_ERR_SYNTAX, q, "expected %s, got %s", what,
                      describe_found(p, q, found));
  }
  p->pos += len;
  return 0;
}

/* ---- Containers --------------------------------------------------------- */

static int stack_push(json_parser *p, const chat_json_member *member) {
  if (p->stack_len == p->stack_cap) {
    size_t cap = p->stack_cap == 0 ? JSON_STACK_INITIAL : p->stack_cap * 2;
    if (cap < p->stack_cap || cap > SIZE_MAX / sizeof *p->stack) {
      return parse_nomem(p);
    }
    chat_json_member *grown = realloc(p->stack, cap * sizeof *p->stack);
    if (grown == NULL) {
      return parse_nomem(p);
    }
    p->stack = grown;
    p->stack_cap = cap;
  }
  p->stack[p->stack_len++] = *member;
  return 0;
}

typedef struct {
  const char *key;
  size_t key_len;
  size_t index;
} key_ref;

static int compare_key_refs(const void *a, const void *b) {
  const key_ref *x = a, *y = b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  if (c != 0) {
    return c;
  }
  if (x->key_len != y->key_len) {
    return x->key_len < y->key_len ? -1 : 1;
  }
  return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

static bool same_key(const chat_json_member *a, const chat_json_member *b) {
  return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* Finds the first member (in document order) whose key an earlier member of
 * the same object already has: *duplicate is its index, or count when there
 * is none. Fails only when out of memory. */
static int find_duplicate(json_parser *p, const chat_json_member *members, size_t count,
                          size_t *duplicate) {
  *duplicate = count;
  if (count <= JSON_DUPLICATE_LINEAR_MAX) {
    for (size_t j = 1; j < count; j++) {
      for (size_t i = 0; i < j; i++) {
        if (same_key(&members[i], &members[j])) {
          *duplicate = j;
          return 0;
        }
      }
    }
    return 0;
  }
  key_ref *refs = malloc(count * sizeof *refs);
  if (refs == NULL) {
    return parse_nomem(p);
  }
  for (size_t i = 0; i < count; i++) {
    refs[i] = (key_ref){members[i].key, members[i].key_len, i};
  }
  qsort(refs, count, sizeof *refs, compare_key_refs);
  /* Equal keys are adjacent and in document order: the later of each equal
   * pair is a duplicate; the smallest such index is the first one. */
  for (size_t k = 1; k < count; k++) {
    if (refs[k].key_len == refs[k - 1].key_len &&
        memcmp(refs[k].key, refs[k - 1].key, refs[k].key_len) == 0 && refs[k].index < *duplicate) {
      *duplicate = refs[k].index;
    }
  }
  free(refs);
  return 0;
}

static int parse_value(json_parser *p, chat_json *node, const char *expected);

static int enter_container(json_parser *p) {
  if (p->depth >= CHAT_JSON_MAX_DEPTH) {
    return parse_fail(p, CHAT_ERR_DEPTH, p->pos, "arrays and objects nested deeper than %d levels",
                      CHAT_JSON_MAX_DEPTH);
  }
  p->depth++;
  return 0;
}

/* Reads one item of an array or object into *item; `expected` names what
 * must start here, for the message when it does not. */
typedef int (*json_item_parser)(json_parser *p, chat_json_member *item, const char *expected);

/* Parses a container at p->pos (its opening bracket): the items, separated
 * by ',', up to `close`, each read by parse_item and pushed on the parser's
 * stack from *base on. `first` and `next` name what the first item and an
 * item after ',' must be; `after` what must follow an item. The caller
 * takes the items and calls leave_container. */
static int parse_items(json_parser *p, char close, json_item_parser parse_item, const char *first,
                       const char *next, const char *after, size_t *base) {
  int rc = enter_container(p);
  if (rc != 0) {
    return rc;
  }
  *base = p->stack_len;
  p->pos++; /* the opening bracket */
  skip_space(p);
  if (p->pos < p->end && *p->pos == close) {
    p->pos++;
    return 0;
  }
  const char *expected = first;
  for (;;) {
    chat_json_member item = {0};
    rc = parse_item(p, &item, expected);
    if (rc == 0) {
      rc = stack_push(p, &item);
    }
    if (rc != 0) {
      return rc;
    }
    skip_space(p);
    if (p->pos < p->end && *p->pos == ',') {
      p->pos++;
      skip_space(p);
      expected = next;
      continue;
    }
    if (p->pos < p->end && *p->pos == close) {
      p->pos++;
      return 0;
    }
    return parse_expected(p, after);
  }
}

/* Drops a finished container's items from the stack. */
static void leave_container(json_parser *p, size_t base) {
  p->stack_len = base;
  p->depth--;
}

static int parse_array_item(json_parser *p, chat_json_member *item, const char *expected) {
  return parse_value(p, &item->value, expected);
}

static int parse_array(json_parser *p, chat_json *node) {
  size_t base;
  int rc = parse_items(p, ']', parse_array_item, "a value or ']' after '['", "a value after ','",
                       "',' or ']' after array item", &base);
  if (rc != 0) {
    return rc;
  }
  size_t count = p->stack_len - base;
  node->kind = CHAT_JSON_ARRAY;
  node->as.array.items = NULL;
  node->as.array.count = count;
  if (count > 0) {
    chat_json *items = chat_arena_alloc(p->arena, count, sizeof *items);
    if (items == NULL) {
      return parse_nomem(p);
    }
    for (size_t i = 0; i < count; i++) {
      items[i] = p->stack[base + i].value;
    }
    node->as.array.items = items;
  }
  leave_container(p, base);
  return 0;
}

static int parse_member(json_parser *p, chat_json_member *member, const char *expected) {
  if (p->pos >= p->end || *p->pos != '"') {
    return parse_expected(p, expected);
  }
  member->key_offset = (size_t)(p->pos - p->start);
  int rc = parse_string(p, &member->key, &member->key_len);
  if (rc != 0) {
    return rc;
  }
  skip_space(p);
  if (p->pos >= p->end || *p->pos != ':') {
    return parse_expected(p, "':' after object key");
  }
  p->pos++;
  skip_space(p);
  return parse_value(p, &member->value, "a value after ':'");
}

static int parse_object(json_parser *p, chat_json *node) {
  size_t base;
  int rc = parse_items(p, '}', parse_member, "a string key or '}' after '{'",
                       "a string key after ','", "',' or '}' after object member", &base);
  if (rc != 0) {
    return rc;
  }
  size_t count = p->stack_len - base;
  size_t duplicate;
  /* (p->stack is NULL until a member was pushed: no arithmetic on it.) */
  rc = find_duplicate(p, count ? p->stack + base : NULL, count, &duplicate);
  if (rc != 0) {
    return rc;
  }
  if (duplicate < count) {
    const chat_json_member *m = &p->stack[base + duplicate];
    int shown = m->key_len > JSON_QUOTE_MAX ? JSON_QUOTE_MAX : (int)m->key_len;
    return parse_fail(p, CHAT_ERR_DUPLICATE_KEY, p->start + m->key_offset,
                      "duplicate object key \"%.*s\"%s", shown, m->key,
                      m->key_len > JSON_QUOTE_MAX ? "..." : "");
  }
  node->kind = CHAT_JSON_OBJECT;
  node->as.object.members = NULL;
  node->as.object.count = count;
  if (count > 0) {
    chat_json_member *members = chat_arena_alloc(p->arena, count, sizeof *members);
    if (members == NULL) {
      return parse_nomem(p);
    }
    memcpy(members, p->stack + base, count * sizeof *members);
    node->as.object.members = members;
  }
  leave_container(p, base);
  return 0;
}

/* Parses one value at p->pos (whitespace already skipped). `expected` says
 * what the context wants, for the message when no value starts here. */
static int parse_value(json_parser *p, chat_json *node, const char *expected) {
  memset(node, 0, sizeof *node);
  node->offset = (size_t)(p->pos - p->start);
  if (p->pos >= p->end) {
    return parse_expected(p, expected);
  }
  switch (*p->pos) {
  case '{':
    return parse_object(p, node);
  case '[':
    return parse_array(p, node);
  case '"':
    node->kind = CHAT_JSON_STRING;
    return parse_string(p, &node->as.string.data, &node->as.string.len);
  case 't':
    node->kind = CHAT_JSON_BOOL;
    node->as.boolean = true;
    return parse_literal(p, "true", 4);
  case 'f':
    node->kind = CHAT_JSON_BOOL;
    node->as.boolean = false;
    return parse_literal(p, "false", 5);
  case 'n':
    node->kind = CHAT_JSON_NULL;
    return parse_literal(p, "null", 4);
  default:
    if (*p->pos == '-' || is_digit(*p->pos)) {
      return parse_number(p, node);
    }
    return parse_expected(p, expected);
  }
}

int chat_json_parse(const char *text, size_t len, chat_arena *arena, chat_json **out,
                    chat_error *err) {
  if (text == NULL && len == 0) {
    text = ""; /* no arithmetic on a null pointer below */
  }
  json_parser p = {
      .start = text,
      .end = text + len,
      .pos = text,
      .arena = arena,
      .err = err,
  };
  static const char bom[] = "\xEF\xBB\xBF";
  if (len >= sizeof bom - 1 && memcmp(text, bom, sizeof bom - 1) == 0) {
    return parse_fail(&p, CHAT_ERR_SYNTAX, text,
                      "expected a JSON value, got a byte order mark (not allowed)");
  }
  chat_json *root = chat_arena_alloc(arena, 1, sizeof *root);
  if (root == NULL) {
    return parse_nomem(&p);
  }
  skip_space(&p);
  int rc = parse_value(&p, root, "a JSON value");
  if (rc == 0) {
    skip_space(&p);
    if (p.pos < p.end) {
      char found[JSON_FOUND_SIZE];
      rc = parse_fail(&p, CHAT_ERR_TRAILING, p.pos,
                      "expected end of input after the JSON document, got %s",
                      describe_found(&p, p.pos, found));
    }
  }
  free(p.stack);
  if (rc == 0) {
    *out = root;
  }
  return rc;
}

/* ---- Accessors ---------------------------------------------------------- */

const char *chat_json_kind_name(chat_json_kind kind) {
  switch (kind) {
  case CHAT_JSON_NULL:
    return "null";
  case CHAT_JSON_BOOL:
    return "bool";
  case CHAT_JSON_NUMBER:
    return "number";
  case CHAT_JSON_STRING:
    return "string";
  case CHAT_JSON_ARRAY:
    return "array";
  case CHAT_JSON_OBJECT:
    return "object";
  }
  return "unknown";
}

const chat_json *chat_json_object_get_n(const chat_json *json, const char *key, size_t key_len) {
  if (json == NULL || json->kind != CHAT_JSON_OBJECT) {
    return NULL;
  }
  for (size_t i = 0; i < json->as.object.count; i++) {
    const chat_json_member *m = &json->as.object.members[i];
    if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) {
      return &m->value;
    }
  }
  return NULL;
}

const chat_json *chat_json_object_get(const chat_json *json, const char *key) {
  return chat_json_object_get_n(json, key, strlen(key));
}

bool chat_json_number_is_integer(const chat_json *json) {
  if (json == NULL || json->kind != CHAT_JSON_NUMBER) {
    return false;
  }
  for (size_t i = 0; i < json->as.number.len; i++) {
    char c = json->as.number.text[i];
    if (c == '.' || c == 'e' || c == 'E') {
      return false;
    }
  }
  return true;
}

bool chat_json_get_integer(const chat_json *json, bool *negative, uint64_t *magnitude) {
  if (!chat_json_number_is_integer(json)) {
    return false;
  }
  const char *s = json->as.number.text;
  const char *end = s + json->as.number.len;
  bool neg = false;
  if (s < end && *s == '-') {
    neg = true;
    s++;
  }
  if (s == end) {
    return false;
  }
  uint64_t v = 0;
  for (; s < end; s++) {
    if (!is_digit(*s)) {
      return false;
    }
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  if (neg && v > (uint64_t)INT64_MAX + 1) {
    return false;
  }
  *negative = neg && v != 0;
  *magnitude = v;
  return true;
}

bool chat_json_get_i64(const chat_json *json, int64_t *out) {
  bool negative;
  uint64_t magnitude;
  if (!chat_json_get_integer(json, &negative, &magnitude)) {
    return false;
  }
  if (negative) {
    /* magnitude <= 2^63 here; 2^63 itself is INT64_MIN. */
    *out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
    return true;
  }
  if (magnitude > (uint64_t)INT64_MAX) {
    return false;
  }
  *out = (int64_t)magnitude;
  return true;
}

bool chat_json_get_u64(const chat_json *json, uint64_t *out) {
  bool negative;
  uint64_t magnitude;
  if (!chat_json_get_integer(json, &negative, &magnitude) || negative) {
    return false;
  }
  *out = magnitude;
  return true;
}

bool chat_json_get_double(const chat_json *json, double *out) {
  if (json == NULL || json->kind != CHAT_JSON_NUMBER) {
    return false;
  }
  chat_json_c_locale scope;
  chat_json_c_locale_enter(&scope);
  double d = strtod(json->as.number.text, NULL); /* the lexeme is NUL-terminated */
  chat_json_c_locale_leave(&scope);
  if (isinf(d)) {
    return false;
  }
  *out = d;
  return true;
}

bool chat_json_get_float32(const chat_json *json, float *out) {
  if (json == NULL || json->kind != CHAT_JSON_NUMBER) {
    return false;
  }
  chat_json_c_locale scope;
  chat_json_c_locale_enter(&scope);
  float f = strtof(json->as.number.text, NULL);
  chat_json_c_locale_leave(&scope);
  if (isinf(f)) {
    return false;
  }
  *out = f;
  return true;
}
