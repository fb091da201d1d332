/* Output helpers (see output.h). */
#include "chatctl/output.h"

#include <stdarg.h>
#include <string.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "protocol/json.h"

/* A container's first allocation; it doubles when full. */
#define FIRST_CAPACITY 4
#define MS_PER_S 1000

int chatctl_print_json(const chat_value *value, gboolean with_data) {
  chat_buffer out;
  chat_buffer_init(&out);
  int rc = chat_value_write_json(value, with_data ? 0 : CHAT_JSON_BYTES_SUMMARY, &out);
  int status = 0;
  if (rc != 0) {
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "cannot write JSON: %s", chat_strerror(rc));
  } else {
    fwrite(out.data, 1, out.len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
  chat_buffer_clear(&out);
  return status;
}

int chatctl_print_fingerprint(gboolean json, const char *path, const char *fingerprint) {
  if (!json) {
    printf("%s\n", fingerprint);
    return 0;
  }
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *doc = chatctl_new_dict(&arena);
  chatctl_dict_add_str(&arena, doc, "file", path);
  chatctl_dict_add_str(&arena, doc, "fingerprint", fingerprint);
  int status = chatctl_print_json(doc, FALSE);
  chat_arena_clear(&arena);
  return status;
}

/* ---- building ---- */

static void *must_alloc(chat_arena *arena, size_t n, size_t size) {
  void *p = chat_arena_alloc(arena, n, size);
  if (!p)
    g_error("out of memory");
  return p;
}

/* Room for one more item: containers hold `count` items in an array of the
 * next power of two (at least FIRST_CAPACITY), so the capacity follows from
 * the count. */
static void *grow(chat_arena *arena, void *items, size_t count, size_t size) {
  gboolean full = count == 0 || (count >= FIRST_CAPACITY && (count & (count - 1)) == 0);
  if (!full)
    return items;
  size_t capacity = count == 0 ? FIRST_CAPACITY : 2 * count;
  void *bigger = must_alloc(arena, capacity, size);
  if (count)
    memcpy(bigger, items, count * size);
  return bigger;
}

chat_value *chatctl_new_dict(chat_arena *arena) {
  chat_value *v = must_alloc(arena, 1, sizeof *v);
  v->kind = CHAT_VALUE_DICT;
  return v;
}

chat_value *chatctl_new_list(chat_arena *arena) {
  chat_value *v = must_alloc(arena, 1, sizeof *v);
  v->kind = CHAT_VALUE_LIST;
  return v;
}

void chatctl_dict_add(chat_arena *arena, chat_value *dict, const char *key,
                      const chat_value *value) {
  size_t n = dict->as.dict.count;
  dict->as.dict.entries = grow(arena, dict->as.dict.entries, n, sizeof(chat_dict_entry));
  chat_dict_entry *e = &dict->as.dict.entries[n];
  e->key = key;
  e->key_len = strlen(key);
  e->value = *value;
  dict->as.dict.count = n + 1;
}

void chatctl_dict_add_int(chat_arena *arena, chat_value *dict, const char *key, gint64 i) {
  chat_value v;
  chat_value_set_int(&v, i);
  chatctl_dict_add(arena, dict, key, &v);
}

void chatctl_dict_add_str(chat_arena *arena, chat_value *dict, const char *key, const char *s) {
  chat_value v;
  chat_value_set_str(&v, s, strlen(s));
  chatctl_dict_add(arena, dict, key, &v);
}

void chatctl_list_add(chat_arena *arena, chat_value *list, const chat_value *value) {
  size_t n = list->as.list.count;
  list->as.list.items = grow(arena, list->as.list.items, n, sizeof(chat_value));
  list->as.list.items[n] = *value;
  list->as.list.count = n + 1;
}

/* ---- reading ---- */

gint64 chatctl_dict_int(const chat_value *dict, const char *key) {
  gint64 i = 0;
  if (dict && dict->kind == CHAT_VALUE_DICT)
    chat_value_get_i64(chat_value_dict_get(dict, key), &i);
  return i;
}

const char *chatctl_dict_str(const chat_value *dict, const char *key) {
  const chat_value *v =
      dict && dict->kind == CHAT_VALUE_DICT ? chat_value_dict_get(dict, key) : NULL;
  if (!v || v->kind != CHAT_VALUE_STR || !v->as.blob.data)
    return "";
  return (const char *)v->as.blob.data;
}

gboolean chatctl_dict_bool(const chat_value *dict, const char *key) {
  const chat_value *v =
      dict && dict->kind == CHAT_VALUE_DICT ? chat_value_dict_get(dict, key) : NULL;
  return v && v->kind == CHAT_VALUE_BOOL && v->as.boolean;
}

/* ---- human-readable ---- */

static char *format_ms(gint64 ms, const char *format) {
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(ms / MS_PER_S);
  g_autoptr(GDateTime) local = utc ? g_date_time_to_local(utc) : NULL;
  return local ? g_date_time_format(local, format) : g_strdup("?");
}

char *chatctl_format_date_time(gint64 ms) {
  return format_ms(ms, "%Y-%m-%d %H:%M:%S");
}

char *chatctl_format_time(gint64 ms) {
  return format_ms(ms, "%H:%M:%S");
}

char *chatctl_format_body(const chat_value *body) {
  const chat_value *data = body ? chat_value_dict_get(body, "data") : NULL;
  const chat_value *size = body ? chat_value_dict_get(body, "size") : NULL;
  if (!data && size) {
    const char *format = chatctl_dict_str(body, "format");
    return g_strdup_printf("[image%s%s%s, %" G_GINT64_FORMAT " bytes, not sent]",
                           *format ? " (" : "", format, *format ? ")" : "",
                           chatctl_dict_int(body, "size"));
  }
  if (!data)
    return g_strdup("[no body]");
  if (data->kind == CHAT_VALUE_BYTES)
    return g_strdup_printf("[image, %zu bytes]", data->as.blob.len);
  return g_strndup((const char *)data->as.blob.data, data->as.blob.len);
}

char *chatctl_format_user(const chat_value *user) {
  const chat_value *online = chat_value_dict_get(user, "online");
  return g_strdup_printf("%s (id %" G_GINT64_FORMAT ", nickname \"%s\"%s)",
                         chatctl_dict_str(user, "username"), chatctl_dict_int(user, "id"),
                         chatctl_dict_str(user, "nickname"),
                         !online ? "" : online->as.boolean ? ", online" : ", offline");
}

char *chatctl_format_sender(const chat_value *notice) {
  const char *nickname = chatctl_dict_str(notice, "sender_name");
  const char *username = chatctl_dict_str(notice, "sender_username");
  if (*username)
    return g_strdup_printf("%s (%s)", nickname, username);
  return g_strdup_printf("%s (id %" G_GINT64_FORMAT ")", nickname,
                         chatctl_dict_int(notice, "sender_id"));
}

char *chatctl_format_notice(const chat_value *notice) {
  g_autofree char *when = chatctl_format_date_time(chatctl_dict_int(notice, "time"));
  g_autofree char *body = chatctl_format_body(chat_value_dict_get(notice, "message"));
  g_autofree char *sender = chatctl_format_sender(notice);
  const chat_value *id = chat_value_dict_get(notice, "id");
  g_autofree char *number =
      id ? g_strdup_printf(" #%" G_GINT64_FORMAT, chatctl_dict_int(notice, "id")) : g_strdup("");
  return g_strdup_printf("%s%s %s: %s", when, number, sender, body);
}

/* ---- printing ---- */

/* Separators and bidi controls: they move or hide text around them. */
static gboolean is_invisible_control(gunichar c) {
  return c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

char *chatctl_escape_text(const char *s, gsize len) {
  GString *out = g_string_sized_new(len + 8);
  const char *p = s, *end = s + len;
  while (p < end) {
    gunichar c = g_utf8_get_char_validated(p, end - p);
    if (c == (gunichar)-1 || c == (gunichar)-2) {
      g_string_append_printf(out, "\\x%02x", (guchar)*p);
      p++;
      continue;
    }
    const char *next = g_utf8_next_char(p);
    if (c == '\\')
      g_string_append(out, "\\\\");
    else if (c == '\n')
      g_string_append(out, "\\n");
    else if (c == '\t')
      g_string_append(out, "\\t");
    else if (c == '\r')
      g_string_append(out, "\\r");
    else if (c == 0x1b)
      g_string_append(out, "\\e");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf(out, "\\x%02x", c);
    else if ((c >= 0x80 && c <= 0x9f) || is_invisible_control(c))
      g_string_append_printf(out, "\\u{%04X}", c);
    else
      g_string_append_len(out, p, next - p);
    p = next;
  }
  return g_string_free(out, FALSE);
}

void chatctl_human_line(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  g_autofree char *line = g_strdup_vprintf(fmt, args);
  va_end(args);
  g_autofree char *safe = chatctl_escape_text(line, strlen(line));
  fputs(safe, stdout);
  fputc('\n', stdout);
}
