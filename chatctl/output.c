/* Output helpers (see output.h). */
#include "chatctl/output.h"

#include <stdarg.h>
#include <string.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "protocol/json.h"
#include "protocol/messages.h"
#include "protocol/server-key.h"

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

int chatctl_print_fields(const chatctl_field *fields, size_t n_fields) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *doc = chatctl_new_dict(&arena);
  for (size_t i = 0; i < n_fields; i++) {
    const chatctl_field *f = &fields[i];
    chat_value v;
    if (f->kind == CHATCTL_FIELD_STR && !f->s)
      chat_value_set_null(&v);
    else if (f->kind == CHATCTL_FIELD_STR)
      chat_value_set_str(&v, f->s, strlen(f->s));
    else if (f->kind == CHATCTL_FIELD_INT)
      chat_value_set_int(&v, f->i);
    else
      chat_value_set_bool(&v, f->i != 0);
    chatctl_dict_add(&arena, doc, f->key, &v);
  }
  int status = chatctl_print_json(doc, FALSE);
  chat_arena_clear(&arena);
  return status;
}

int chatctl_print_user(gboolean json, const chat_value *user) {
  if (json)
    return chatctl_print_json(user, FALSE);
  g_autofree char *line = chatctl_format_user(user);
  chatctl_human_line("%s", line);
  return 0;
}

int chatctl_print_fingerprint(gboolean json, const char *path, const uint8_t *public_key) {
  char fingerprint[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(public_key, fingerprint);
  if (!json) {
    printf("%s\n", fingerprint);
    return 0;
  }
  const chatctl_field fields[] = {
      CHATCTL_STR("file", path),
      CHATCTL_STR("fingerprint", fingerprint),
  };
  return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
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

/* A @room or (room NULL) a @user, written and decoded into arena (out of
 * memory aborts). */
static chat_value *document(chat_arena *arena, const chat_msg_room *room,
                            const chat_msg_user *user) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  if (room)
    chat_msg_room_write(&w, room);
  else
    chat_msg_user_write(&w, user);
  chat_value *value = NULL;
  if (chat_writer_finish(&w) != 0 ||
      chat_value_decode(buf.data, buf.len, NULL, 0, arena, &value, NULL) != 0)
    g_error("out of memory");
  chat_buffer_clear(&buf);
  return value;
}

chat_value *chatctl_room_document(chat_arena *arena, const chat_msg_room *room) {
  return document(arena, room, NULL);
}

chat_value *chatctl_user_document(chat_arena *arena, const chat_msg_user *user) {
  return document(arena, NULL, user);
}

/* ---- reading ---- */

gboolean chatctl_bundle_contacts(const chat_value *bundle, gboolean rooms, chat_msg_list *out) {
  chat_msg_session_bundle v2;
  chat_msg_login_bundle seed;
  memset(out, 0, sizeof *out);
  if (!bundle)
    return FALSE;
  if (chat_msg_session_bundle_read(bundle, &v2, NULL) == 0)
    *out = rooms ? v2.rooms : v2.friends;
  else if (chat_msg_login_bundle_read(bundle, &seed, NULL) == 0)
    *out = rooms ? seed.rooms : seed.friends;
  else
    return FALSE;
  return TRUE;
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

char *chatctl_format_body(const chat_msg_body *b) {
  chat_msg_body body = *b;
  switch (body.form) {
  case CHAT_BODY_PREVIEW:
    return g_strdup_printf("[image%s%.*s%s, %" G_GINT64_FORMAT " bytes, not sent]",
                           body.format.len ? " (" : "", (int)body.format.len,
                           body.format.ptr ? body.format.ptr : "", body.format.len ? ")" : "",
                           body.size);
  case CHAT_BODY_IMAGE:
    return g_strdup_printf("[image, %zu bytes]", body.data.len);
  case CHAT_BODY_TEXT:
    break;
  }
  return g_strndup(body.data.ptr ? body.data.ptr : "", body.data.len);
}

char *chatctl_format_user(const chat_value *value) {
  chat_msg_user user;
  gboolean ok = value && chat_msg_user_read(value, &user, NULL) == 0;
  if (!ok)
    memset(&user, 0, sizeof user);
  return g_strdup_printf("%.*s (id %" G_GINT64_FORMAT ", nickname \"%.*s\"%s)",
                         (int)user.username.len, user.username.ptr ? user.username.ptr : "",
                         user.id, (int)user.nickname.len,
                         user.nickname.ptr ? user.nickname.ptr : "",
                         !ok           ? ""
                         : user.online ? ", online"
                                       : ", offline");
}

char *chatctl_format_sender(const chat_msg_notice *n) {
  if (n->has_sender_username && n->sender_username.len > 0)
    return g_strdup_printf("%.*s (%.*s)", (int)n->sender_name.len, n->sender_name.ptr,
                           (int)n->sender_username.len, n->sender_username.ptr);
  return g_strdup_printf("%.*s (id %" G_GINT64_FORMAT ")", (int)n->sender_name.len,
                         n->sender_name.ptr ? n->sender_name.ptr : "", n->sender_id);
}

char *chatctl_format_notice(const chat_value *value) {
  chat_msg_notice n;
  if (chat_msg_notice_read(value, &n, NULL) != 0)
    memset(&n, 0, sizeof n);
  g_autofree char *when = chatctl_format_date_time(n.time);
  g_autofree char *body = chatctl_format_body(&n.message);
  g_autofree char *sender = chatctl_format_sender(&n);
  g_autofree char *number = n.has_id ? g_strdup_printf(" #%" G_GINT64_FORMAT, n.id) : g_strdup("");
  return g_strdup_printf("%s%s %s: %s", when, number, sender, body);
}

/* ---- printing ---- */

/* Separators and bidi controls: they move or hide text around them. */
static gboolean is_invisible_control(gunichar c) {
  return c == 0x2028 || c == 0x2029 || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
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
