/* The typed message layer (see messages.h). Key names live here and in
 * catalogue.c only; a test checks the two agree. */
#include "protocol/messages.h"

#include <string.h>

#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"
#include "protocol/utf8.h"

chat_span chat_span_cstr(const char *s) {
  return (chat_span){s ? s : "", s ? strlen(s) : 0};
}

chat_span chat_span_bytes(const uint8_t *data, size_t len) {
  return (chat_span){data ? (const char *)data : "", len};
}

bool chat_span_eq(chat_span a, const char *s) {
  size_t n = strlen(s);
  return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

/* ---- writing ---- */

static void write_span_str(chat_writer *w, chat_span s) {
  chat_write_str(w, s.ptr ? s.ptr : "", s.len);
}

static void write_span_bytes(chat_writer *w, chat_span s) {
  chat_write_bytes(w, (const uint8_t *)s.ptr, s.len);
}

static void key_int(chat_writer *w, const char *key, int64_t i) {
  chat_write_key_cstr(w, key);
  chat_write_int(w, i);
}

static void key_str(chat_writer *w, const char *key, chat_span s) {
  chat_write_key_cstr(w, key);
  write_span_str(w, s);
}

static void key_bool(chat_writer *w, const char *key, bool b) {
  chat_write_key_cstr(w, key);
  chat_write_bool(w, b);
}

/* Writes a list: the caller's items, or those that were read. */
static void write_list(chat_writer *w, const chat_msg_list *list,
                       void (*rewrite)(chat_writer *w, const chat_msg_list *list, size_t i)) {
  chat_write_list_begin(w);
  for (size_t i = 0; i < list->count; i++) {
    if (list->write_item)
      list->write_item(w, i, list->data);
    else if (list->decoded)
      rewrite(w, list, i);
  }
  chat_write_list_end(w);
}

/* ---- reading ---- */

static int missing(chat_error *err, const char *shape, const char *key) {
  return chat_error_set(err, CHAT_ERR_SHAPE, 0, "%s.%s: missing", shape, key);
}

static int wrong_kind(chat_error *err, const char *shape, const char *key, const char *want,
                      const chat_value *got) {
  return chat_error_set(err, CHAT_ERR_SHAPE, 0, "%s%s%s: expected %s, got %s", shape,
                        key ? "." : "", key ? key : "", want, chat_value_kind_name(got->kind));
}

/* v as an int64 (key names it in messages; NULL for the whole value). */
static int as_int(const chat_value *v, const char *shape, const char *key, int64_t *out,
                  chat_error *err) {
  if (v->kind != CHAT_VALUE_INT)
    return wrong_kind(err, shape, key, "int", v);
  if (!chat_value_get_i64(v, out))
    return chat_error_set(err, CHAT_ERR_SHAPE, 0, "%s%s%s: the int does not fit 64 signed bits",
                          shape, key ? "." : "", key ? key : "");
  return 0;
}

static int as_blob(const chat_value *v, chat_value_kind kind, const char *shape, const char *key,
                   chat_span *out, chat_error *err) {
  if (v->kind != kind)
    return wrong_kind(err, shape, key, chat_value_kind_name(kind), v);
  *out = chat_span_bytes(v->as.blob.data, v->as.blob.len);
  return 0;
}

static int as_bool(const chat_value *v, const char *shape, const char *key, bool *out,
                   chat_error *err) {
  if (v->kind != CHAT_VALUE_BOOL)
    return wrong_kind(err, shape, key, "bool", v);
  *out = v->as.boolean;
  return 0;
}

static int want_dict(const chat_value *v, const char *shape, chat_error *err) {
  return v->kind == CHAT_VALUE_DICT ? 0 : wrong_kind(err, shape, NULL, "dict", v);
}

/* A list of exactly n items. */
static int want_tuple(const chat_value *v, const char *shape, size_t n, chat_error *err) {
  if (v->kind != CHAT_VALUE_LIST)
    return wrong_kind(err, shape, NULL, "list", v);
  if (v->as.list.count != n)
    return chat_error_set(err, CHAT_ERR_SHAPE, 0, "%s: expected a list of %zu items, got %zu",
                          shape, n, v->as.list.count);
  return 0;
}

static int field_int(const chat_value *d, const char *shape, const char *key, int64_t *out,
                     chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  return v ? as_int(v, shape, key, out, err) : missing(err, shape, key);
}

static int field_blob(const chat_value *d, chat_value_kind kind, const char *shape, const char *key,
                      chat_span *out, chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  return v ? as_blob(v, kind, shape, key, out, err) : missing(err, shape, key);
}

static int field_str(const chat_value *d, const char *shape, const char *key, chat_span *out,
                     chat_error *err) {
  return field_blob(d, CHAT_VALUE_STR, shape, key, out, err);
}

static int field_bool(const chat_value *d, const char *shape, const char *key, bool *out,
                      chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  return v ? as_bool(v, shape, key, out, err) : missing(err, shape, key);
}

static int optional_int(const chat_value *d, const char *shape, const char *key, bool *has,
                        int64_t *out, chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  *has = v != NULL;
  return v ? as_int(v, shape, key, out, err) : 0;
}

static int optional_str(const chat_value *d, const char *shape, const char *key, bool *has,
                        chat_span *out, chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  *has = v != NULL;
  return v ? as_blob(v, CHAT_VALUE_STR, shape, key, out, err) : 0;
}

/* A list field whose every item `check` accepts. */
static int field_list(const chat_value *d, const char *shape, const char *key,
                      int (*check)(const chat_value *item, chat_error *err), chat_msg_list *out,
                      chat_error *err) {
  const chat_value *v = chat_value_dict_get(d, key);
  if (!v)
    return missing(err, shape, key);
  if (v->kind != CHAT_VALUE_LIST)
    return wrong_kind(err, shape, key, "list", v);
  for (size_t i = 0; i < v->as.list.count; i++) {
    int rc = check(&v->as.list.items[i], err);
    if (rc)
      return rc;
  }
  *out = (chat_msg_list){.count = v->as.list.count, .decoded = v};
  return 0;
}

#define RC(call)                                                                                   \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_)                                                                                       \
      return rc_;                                                                                  \
  } while (0)

/* ---- @user ---- */

static void write_user_keys(chat_writer *w, const chat_msg_user *x) {
  key_int(w, "id", x->id);
  key_str(w, "username", x->username);
  key_str(w, "nickname", x->nickname);
  key_bool(w, "online", x->online);
}

static int read_user_keys(const chat_value *v, const char *shape, chat_msg_user *x,
                          chat_error *err) {
  RC(field_int(v, shape, "id", &x->id, err));
  RC(field_str(v, shape, "username", &x->username, err));
  RC(field_str(v, shape, "nickname", &x->nickname, err));
  return field_bool(v, shape, "online", &x->online, err);
}

void chat_msg_user_write(chat_writer *w, const chat_msg_user *x) {
  chat_write_dict_begin(w);
  write_user_keys(w, x);
  chat_write_dict_end(w);
}

int chat_msg_user_read(const chat_value *v, chat_msg_user *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "user", err));
  return read_user_keys(v, "user", x, err);
}

/* ---- @room ---- */

static void write_room_keys(chat_writer *w, const chat_msg_room *x) {
  key_int(w, "id", x->id);
  key_str(w, "room_name", x->room_name);
}

static int read_room_keys(const chat_value *v, const char *shape, chat_msg_room *x,
                          chat_error *err) {
  RC(field_int(v, shape, "id", &x->id, err));
  return field_str(v, shape, "room_name", &x->room_name, err);
}

void chat_msg_room_write(chat_writer *w, const chat_msg_room *x) {
  chat_write_dict_begin(w);
  write_room_keys(w, x);
  chat_write_dict_end(w);
}

int chat_msg_room_read(const chat_value *v, chat_msg_room *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "room", err));
  return read_room_keys(v, "room", x, err);
}

/* ---- @body ---- */

void chat_msg_body_write(chat_writer *w, const chat_msg_body *x) {
  chat_write_dict_begin(w);
  key_int(w, "type", x->type);
  switch (x->form) {
  case CHAT_BODY_TEXT:
    key_str(w, "data", x->data);
    key_int(w, "fontsize", x->font_size);
    key_str(w, "fontcolor", x->font_color);
    break;
  case CHAT_BODY_IMAGE:
    chat_write_key_cstr(w, "data");
    write_span_bytes(w, x->data);
    break;
  case CHAT_BODY_PREVIEW:
    key_str(w, "format", x->format);
    key_int(w, "size", x->size);
    break;
  }
  chat_write_dict_end(w);
}

static bool is_kind(const chat_value *v, chat_value_kind kind) {
  return v && v->kind == kind;
}

/* The body's shapes in the catalogue's order: the first that fits wins. */
int chat_msg_body_read(const chat_value *v, chat_msg_body *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "body", err));
  RC(field_int(v, "body", "type", &x->type, err));
  const chat_value *data = chat_value_dict_get(v, "data");
  if (is_kind(data, CHAT_VALUE_STR)) {
    const chat_value *size = chat_value_dict_get(v, "fontsize");
    const chat_value *color = chat_value_dict_get(v, "fontcolor");
    if (is_kind(size, CHAT_VALUE_INT) && is_kind(color, CHAT_VALUE_STR)) {
      x->form = CHAT_BODY_TEXT;
      x->data = chat_span_bytes(data->as.blob.data, data->as.blob.len);
      x->font_color = chat_span_bytes(color->as.blob.data, color->as.blob.len);
      return as_int(size, "body", "fontsize", &x->font_size, err);
    }
  }
  if (is_kind(data, CHAT_VALUE_BYTES)) {
    x->form = CHAT_BODY_IMAGE;
    x->data = chat_span_bytes(data->as.blob.data, data->as.blob.len);
    return 0;
  }
  const chat_value *format = chat_value_dict_get(v, "format");
  const chat_value *size = chat_value_dict_get(v, "size");
  if (is_kind(format, CHAT_VALUE_STR) && is_kind(size, CHAT_VALUE_INT)) {
    x->form = CHAT_BODY_PREVIEW;
    x->format = chat_span_bytes(format->as.blob.data, format->as.blob.len);
    return as_int(size, "body", "size", &x->size, err);
  }
  return chat_error_set(err, CHAT_ERR_SHAPE, 0,
                        "body: neither text {type, data:str, fontsize, fontcolor}, image "
                        "{type, data:bytes} nor preview {type, format, size}");
}

/* ---- @notice ---- */

void chat_msg_notice_write(chat_writer *w, const chat_msg_notice *x) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "message");
  chat_msg_body_write(w, &x->message);
  key_int(w, "sender_id", x->sender_id);
  key_str(w, "sender_name", x->sender_name);
  key_int(w, "target_type", x->target_type);
  key_int(w, "time", x->time);
  key_int(w, "target_id", x->target_id);
  if (x->has_id)
    key_int(w, "id", x->id);
  if (x->has_client_msg_id)
    key_str(w, "client_msg_id", x->client_msg_id);
  if (x->has_sender_username)
    key_str(w, "sender_username", x->sender_username);
  chat_write_dict_end(w);
}

int chat_msg_notice_read(const chat_value *v, chat_msg_notice *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "notice", err));
  const chat_value *body = chat_value_dict_get(v, "message");
  if (!body)
    return missing(err, "notice", "message");
  RC(chat_msg_body_read(body, &x->message, err));
  RC(field_int(v, "notice", "sender_id", &x->sender_id, err));
  RC(field_str(v, "notice", "sender_name", &x->sender_name, err));
  RC(field_int(v, "notice", "target_type", &x->target_type, err));
  RC(field_int(v, "notice", "time", &x->time, err));
  RC(field_int(v, "notice", "target_id", &x->target_id, err));
  RC(optional_int(v, "notice", "id", &x->has_id, &x->id, err));
  RC(optional_str(v, "notice", "client_msg_id", &x->has_client_msg_id, &x->client_msg_id, err));
  return optional_str(v, "notice", "sender_username", &x->has_sender_username, &x->sender_username,
                      err);
}

int chat_msg_notice_decode(const uint8_t *data, size_t len, chat_arena *arena, chat_msg_notice *x,
                           chat_error *err) {
  memset(x, 0, sizeof *x);
  chat_value *value = NULL;
  RC(chat_value_decode(data, len, NULL, CHAT_DECODE_BORROW, arena, &value, err));
  return chat_msg_notice_read(value, x, err);
}

/* ---- @contact ---- */

void chat_msg_contact_write(chat_writer *w, const chat_msg_contact *x) {
  chat_write_dict_begin(w);
  if (x->is_room)
    write_room_keys(w, &x->room);
  else
    write_user_keys(w, &x->user);
  key_int(w, "type", x->type);
  chat_write_dict_end(w);
}

int chat_msg_contact_read(const chat_value *v, chat_msg_contact *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "contact", err));
  chat_error friend_err;
  if (read_user_keys(v, "contact", &x->user, &friend_err) == 0)
    return field_int(v, "contact", "type", &x->type, err);
  memset(&x->user, 0, sizeof x->user);
  x->is_room = true;
  if (read_room_keys(v, "contact", &x->room, NULL) == 0)
    return field_int(v, "contact", "type", &x->type, err);
  return chat_error_set(err, CHAT_ERR_SHAPE, 0, "neither a friend nor a room: %s",
                        friend_err.message);
}

static int check_contact(const chat_value *v, chat_error *err) {
  chat_msg_contact x;
  return chat_msg_contact_read(v, &x, err);
}

void chat_msg_contact_at(const chat_msg_list *list, size_t index, chat_msg_contact *out) {
  chat_msg_contact_read(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_contact(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_contact x;
  chat_msg_contact_at(list, i, &x);
  chat_msg_contact_write(w, &x);
}

/* ---- @conversation ---- */

void chat_msg_conversation_write(chat_writer *w, const chat_msg_conversation *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  chat_write_key_cstr(w, "last");
  if (x->has_last)
    chat_msg_notice_write(w, &x->last);
  else
    chat_write_null(w);
  key_int(w, "unread", x->unread);
  key_int(w, "last_read_id", x->last_read_id);
  chat_write_dict_end(w);
}

int chat_msg_conversation_read(const chat_value *v, chat_msg_conversation *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "conversation", err));
  RC(field_int(v, "conversation", "target_type", &x->target_type, err));
  RC(field_int(v, "conversation", "target_id", &x->target_id, err));
  const chat_value *last = chat_value_dict_get(v, "last");
  if (!last)
    return missing(err, "conversation", "last");
  if (last->kind != CHAT_VALUE_NULL) {
    x->has_last = true;
    RC(chat_msg_notice_read(last, &x->last, err));
  }
  RC(field_int(v, "conversation", "unread", &x->unread, err));
  return field_int(v, "conversation", "last_read_id", &x->last_read_id, err);
}

static int check_notice(const chat_value *v, chat_error *err) {
  chat_msg_notice x;
  return chat_msg_notice_read(v, &x, err);
}

void chat_msg_notice_at(const chat_msg_list *list, size_t index, chat_msg_notice *out) {
  chat_msg_notice_read(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_notice(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_notice x;
  chat_msg_notice_at(list, i, &x);
  chat_msg_notice_write(w, &x);
}

static int check_conversation(const chat_value *v, chat_error *err) {
  chat_msg_conversation x;
  return chat_msg_conversation_read(v, &x, err);
}

void chat_msg_conversation_at(const chat_msg_list *list, size_t index, chat_msg_conversation *out) {
  chat_msg_conversation_read(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_conversation(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_conversation x;
  chat_msg_conversation_at(list, i, &x);
  chat_msg_conversation_write(w, &x);
}

/* ---- primitive parameters ---- */

void chat_msg_null_write(chat_writer *w, const chat_msg_null *x) {
  (void)x;
  chat_write_null(w);
}

int chat_msg_null_read(const chat_value *v, chat_msg_null *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  return v->kind == CHAT_VALUE_NULL ? 0 : wrong_kind(err, "params", NULL, "null", v);
}

/* Appends an encoded value inside whatever the writer has open. */
void chat_msg_any_write(chat_writer *w, const chat_msg_any *x) {
  if (!x->value) {
    chat_write_null(w);
    return;
  }
  if (w->status)
    return;
  int rc = chat_value_encode(x->value, w->out);
  if (rc)
    w->status = rc;
}

int chat_msg_any_read(const chat_value *v, chat_msg_any *x, chat_error *err) {
  (void)err;
  x->value = v;
  return 0;
}

void chat_msg_int_write(chat_writer *w, const chat_msg_int *x) {
  chat_write_int(w, x->value);
}

int chat_msg_int_read(const chat_value *v, chat_msg_int *x, chat_error *err) {
  x->value = 0;
  return as_int(v, "params", NULL, &x->value, err);
}

void chat_msg_str_write(chat_writer *w, const chat_msg_str *x) {
  write_span_str(w, x->value);
}

int chat_msg_str_read(const chat_value *v, chat_msg_str *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  return as_blob(v, CHAT_VALUE_STR, "params", NULL, &x->value, err);
}

/* ---- requests ---- */

void chat_msg_login_write(chat_writer *w, const chat_msg_login *x) {
  chat_write_list_begin(w);
  write_span_str(w, x->username);
  write_span_str(w, x->password);
  chat_write_list_end(w);
}

int chat_msg_login_read(const chat_value *v, chat_msg_login *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "login", 2, err));
  const chat_value *it = v->as.list.items;
  RC(as_blob(&it[0], CHAT_VALUE_STR, "login", "username", &x->username, err));
  return as_blob(&it[1], CHAT_VALUE_STR, "login", "password", &x->password, err);
}

void chat_msg_register_write(chat_writer *w, const chat_msg_register *x) {
  chat_write_list_begin(w);
  write_span_str(w, x->username);
  write_span_str(w, x->password);
  write_span_str(w, x->nickname);
  chat_write_list_end(w);
}

int chat_msg_register_read(const chat_value *v, chat_msg_register *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "register", 3, err));
  const chat_value *it = v->as.list.items;
  RC(as_blob(&it[0], CHAT_VALUE_STR, "register", "username", &x->username, err));
  RC(as_blob(&it[1], CHAT_VALUE_STR, "register", "password", &x->password, err));
  return as_blob(&it[2], CHAT_VALUE_STR, "register", "nickname", &x->nickname, err);
}

void chat_msg_resolve_friend_request_write(chat_writer *w,
                                           const chat_msg_resolve_friend_request *x) {
  chat_write_list_begin(w);
  chat_write_int(w, x->from_user_id);
  chat_write_bool(w, x->accept);
  chat_write_list_end(w);
}

int chat_msg_resolve_friend_request_read(const chat_value *v, chat_msg_resolve_friend_request *x,
                                         chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "resolve_friend_request";
  RC(want_tuple(v, shape, 2, err));
  RC(as_int(&v->as.list.items[0], shape, "from_user_id", &x->from_user_id, err));
  return as_bool(&v->as.list.items[1], shape, "accept", &x->accept, err);
}

void chat_msg_send_message_write(chat_writer *w, const chat_msg_send_message *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  chat_write_key_cstr(w, "message");
  chat_msg_body_write(w, &x->message);
  if (x->has_client_msg_id)
    key_str(w, "client_msg_id", x->client_msg_id);
  chat_write_dict_end(w);
}

int chat_msg_send_message_read(const chat_value *v, chat_msg_send_message *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "send_message";
  RC(want_dict(v, shape, err));
  RC(field_int(v, shape, "target_type", &x->target_type, err));
  RC(field_int(v, shape, "target_id", &x->target_id, err));
  const chat_value *body = chat_value_dict_get(v, "message");
  if (!body)
    return missing(err, shape, "message");
  RC(chat_msg_body_read(body, &x->message, err));
  return optional_str(v, shape, "client_msg_id", &x->has_client_msg_id, &x->client_msg_id, err);
}

void chat_msg_resume_write(chat_writer *w, const chat_msg_resume *x) {
  chat_write_dict_begin(w);
  key_str(w, "username", x->username);
  chat_write_key_cstr(w, "token");
  write_span_bytes(w, x->token);
  chat_write_dict_end(w);
}

int chat_msg_resume_read(const chat_value *v, chat_msg_resume *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_dict(v, "resume", err));
  RC(field_str(v, "resume", "username", &x->username, err));
  return field_blob(v, CHAT_VALUE_BYTES, "resume", "token", &x->token, err);
}

void chat_msg_fetch_history_write(chat_writer *w, const chat_msg_fetch_history *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  key_int(w, "before_id", x->before_id);
  key_int(w, "limit", x->limit);
  chat_write_dict_end(w);
}

int chat_msg_fetch_history_read(const chat_value *v, chat_msg_fetch_history *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "fetch_history";
  RC(want_dict(v, shape, err));
  RC(field_int(v, shape, "target_type", &x->target_type, err));
  RC(field_int(v, shape, "target_id", &x->target_id, err));
  RC(field_int(v, shape, "before_id", &x->before_id, err));
  return field_int(v, shape, "limit", &x->limit, err);
}

void chat_msg_mark_read_write(chat_writer *w, const chat_msg_mark_read *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  key_int(w, "up_to_id", x->up_to_id);
  chat_write_dict_end(w);
}

int chat_msg_mark_read_read(const chat_value *v, chat_msg_mark_read *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "mark_read";
  RC(want_dict(v, shape, err));
  RC(field_int(v, shape, "target_type", &x->target_type, err));
  RC(field_int(v, shape, "target_id", &x->target_id, err));
  return field_int(v, shape, "up_to_id", &x->up_to_id, err);
}

void chat_msg_set_password_write(chat_writer *w, const chat_msg_set_password *x) {
  chat_write_list_begin(w);
  write_span_str(w, x->old_password);
  write_span_str(w, x->new_password);
  chat_write_list_end(w);
}

int chat_msg_set_password_read(const chat_value *v, chat_msg_set_password *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "set_password", 2, err));
  const chat_value *it = v->as.list.items;
  RC(as_blob(&it[0], CHAT_VALUE_STR, "set_password", "old_password", &x->old_password, err));
  return as_blob(&it[1], CHAT_VALUE_STR, "set_password", "new_password", &x->new_password, err);
}

/* ---- answers and notes ---- */

void chat_msg_add_friend_result_write(chat_writer *w, const chat_msg_add_friend_result *x) {
  chat_write_list_begin(w);
  chat_write_bool(w, x->ok);
  write_span_str(w, x->reason);
  chat_write_list_end(w);
}

int chat_msg_add_friend_result_read(const chat_value *v, chat_msg_add_friend_result *x,
                                    chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "add_friend_result", 2, err));
  RC(as_bool(&v->as.list.items[0], "add_friend_result", "ok", &x->ok, err));
  return as_blob(&v->as.list.items[1], CHAT_VALUE_STR, "add_friend_result", "reason", &x->reason,
                 err);
}

void chat_msg_friend_on_off_line_write(chat_writer *w, const chat_msg_friend_on_off_line *x) {
  chat_write_list_begin(w);
  chat_write_bool(w, x->online);
  chat_write_int(w, x->user_id);
  chat_write_list_end(w);
}

int chat_msg_friend_on_off_line_read(const chat_value *v, chat_msg_friend_on_off_line *x,
                                     chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "friend_on_off_line", 2, err));
  RC(as_bool(&v->as.list.items[0], "friend_on_off_line", "online", &x->online, err));
  return as_int(&v->as.list.items[1], "friend_on_off_line", "user_id", &x->user_id, err);
}

void chat_msg_server_kick_write(chat_writer *w, const chat_msg_server_kick *x) {
  if (!x->has_details) {
    chat_write_null(w);
    return;
  }
  chat_write_dict_begin(w);
  key_str(w, "reason", x->reason);
  key_str(w, "address", x->address);
  key_int(w, "time", x->time);
  chat_write_dict_end(w);
}

int chat_msg_server_kick_read(const chat_value *v, chat_msg_server_kick *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  if (v->kind == CHAT_VALUE_NULL)
    return 0;
  if (v->kind != CHAT_VALUE_DICT)
    return wrong_kind(err, "server_kick", NULL, "null or dict", v);
  x->has_details = true;
  RC(field_str(v, "server_kick", "reason", &x->reason, err));
  RC(field_str(v, "server_kick", "address", &x->address, err));
  return field_int(v, "server_kick", "time", &x->time, err);
}

void chat_msg_room_member_write(chat_writer *w, const chat_msg_room_member *x) {
  chat_write_list_begin(w);
  chat_write_int(w, x->user_id);
  write_span_str(w, x->nickname);
  chat_write_bool(w, x->online);
  write_span_str(w, x->username);
  chat_write_list_end(w);
}

static int read_room_member(const chat_value *v, chat_msg_room_member *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "room member";
  RC(want_tuple(v, shape, 4, err));
  const chat_value *it = v->as.list.items;
  RC(as_int(&it[0], shape, "user_id", &x->user_id, err));
  RC(as_blob(&it[1], CHAT_VALUE_STR, shape, "nickname", &x->nickname, err));
  RC(as_bool(&it[2], shape, "online", &x->online, err));
  return as_blob(&it[3], CHAT_VALUE_STR, shape, "username", &x->username, err);
}

static int check_room_member(const chat_value *v, chat_error *err) {
  chat_msg_room_member x;
  return read_room_member(v, &x, err);
}

void chat_msg_room_member_at(const chat_msg_list *list, size_t index, chat_msg_room_member *out) {
  read_room_member(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_room_member(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_room_member x;
  chat_msg_room_member_at(list, i, &x);
  chat_msg_room_member_write(w, &x);
}

void chat_msg_query_room_users_result_write(chat_writer *w,
                                            const chat_msg_query_room_users_result *x) {
  chat_write_list_begin(w);
  write_list(w, &x->members, rewrite_room_member);
  chat_write_int(w, x->room_id);
  chat_write_list_end(w);
}

int chat_msg_query_room_users_result_read(const chat_value *v, chat_msg_query_room_users_result *x,
                                          chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "query_room_users_result";
  RC(want_tuple(v, shape, 2, err));
  const chat_value *members = &v->as.list.items[0];
  if (members->kind != CHAT_VALUE_LIST)
    return wrong_kind(err, shape, "members", "list", members);
  for (size_t i = 0; i < members->as.list.count; i++)
    RC(check_room_member(&members->as.list.items[i], err));
  x->members = (chat_msg_list){.count = members->as.list.count, .decoded = members};
  return as_int(&v->as.list.items[1], shape, "room_id", &x->room_id, err);
}

void chat_msg_room_user_on_off_line_write(chat_writer *w, const chat_msg_room_user_on_off_line *x) {
  chat_write_list_begin(w);
  chat_write_int(w, x->room_id);
  chat_write_int(w, x->user_id);
  chat_write_bool(w, x->online);
  chat_write_list_end(w);
}

int chat_msg_room_user_on_off_line_read(const chat_value *v, chat_msg_room_user_on_off_line *x,
                                        chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "room_user_on_off_line";
  RC(want_tuple(v, shape, 3, err));
  const chat_value *it = v->as.list.items;
  RC(as_int(&it[0], shape, "room_id", &x->room_id, err));
  RC(as_int(&it[1], shape, "user_id", &x->user_id, err));
  return as_bool(&it[2], shape, "online", &x->online, err);
}

void chat_msg_stored_message_write(chat_writer *w, const chat_msg_stored_message *x) {
  chat_write_list_begin(w);
  write_span_bytes(w, x->data);
  chat_write_int(w, x->sent);
  chat_write_list_end(w);
}

static int read_stored_message(const chat_value *v, chat_msg_stored_message *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  RC(want_tuple(v, "stored message", 2, err));
  RC(as_blob(&v->as.list.items[0], CHAT_VALUE_BYTES, "stored message", "data", &x->data, err));
  return as_int(&v->as.list.items[1], "stored message", "sent", &x->sent, err);
}

static int check_stored_message(const chat_value *v, chat_error *err) {
  chat_msg_stored_message x;
  return read_stored_message(v, &x, err);
}

void chat_msg_stored_message_at(const chat_msg_list *list, size_t index,
                                chat_msg_stored_message *out) {
  read_stored_message(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_stored_message(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_stored_message x;
  chat_msg_stored_message_at(list, i, &x);
  chat_msg_stored_message_write(w, &x);
}

void chat_msg_login_bundle_write(chat_writer *w, const chat_msg_login_bundle *x) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "rooms");
  write_list(w, &x->rooms, rewrite_contact);
  chat_write_key_cstr(w, "friends");
  write_list(w, &x->friends, rewrite_contact);
  chat_write_key_cstr(w, "messages");
  write_list(w, &x->messages, rewrite_stored_message);
  chat_write_dict_end(w);
}

int chat_msg_login_bundle_read(const chat_value *v, chat_msg_login_bundle *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "login_bundle";
  RC(want_dict(v, shape, err));
  RC(field_list(v, shape, "rooms", check_contact, &x->rooms, err));
  RC(field_list(v, shape, "friends", check_contact, &x->friends, err));
  return field_list(v, shape, "messages", check_stored_message, &x->messages, err);
}

void chat_msg_session_bundle_write(chat_writer *w, const chat_msg_session_bundle *x) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "token");
  write_span_bytes(w, x->token);
  chat_write_key_cstr(w, "friends");
  write_list(w, &x->friends, rewrite_contact);
  chat_write_key_cstr(w, "rooms");
  write_list(w, &x->rooms, rewrite_contact);
  chat_write_key_cstr(w, "conversations");
  write_list(w, &x->conversations, rewrite_conversation);
  chat_write_dict_end(w);
}

int chat_msg_session_bundle_read(const chat_value *v, chat_msg_session_bundle *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "session_bundle";
  RC(want_dict(v, shape, err));
  RC(field_blob(v, CHAT_VALUE_BYTES, shape, "token", &x->token, err));
  RC(field_list(v, shape, "friends", check_contact, &x->friends, err));
  RC(field_list(v, shape, "rooms", check_contact, &x->rooms, err));
  return field_list(v, shape, "conversations", check_conversation, &x->conversations, err);
}

void chat_msg_history_page_write(chat_writer *w, const chat_msg_history_page *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  chat_write_key_cstr(w, "messages");
  write_list(w, &x->messages, rewrite_notice);
  key_bool(w, "more", x->more);
  chat_write_dict_end(w);
}

int chat_msg_history_page_read(const chat_value *v, chat_msg_history_page *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "history_page";
  RC(want_dict(v, shape, err));
  RC(field_int(v, shape, "target_type", &x->target_type, err));
  RC(field_int(v, shape, "target_id", &x->target_id, err));
  RC(field_list(v, shape, "messages", check_notice, &x->messages, err));
  return field_bool(v, shape, "more", &x->more, err);
}

void chat_msg_read_marker_write(chat_writer *w, const chat_msg_read_marker *x) {
  chat_write_dict_begin(w);
  key_int(w, "target_type", x->target_type);
  key_int(w, "target_id", x->target_id);
  key_int(w, "last_read_id", x->last_read_id);
  key_int(w, "unread", x->unread);
  chat_write_dict_end(w);
}

int chat_msg_read_marker_read(const chat_value *v, chat_msg_read_marker *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "read_marker";
  RC(want_dict(v, shape, err));
  RC(field_int(v, shape, "target_type", &x->target_type, err));
  RC(field_int(v, shape, "target_id", &x->target_id, err));
  RC(field_int(v, shape, "last_read_id", &x->last_read_id, err));
  return field_int(v, shape, "unread", &x->unread, err);
}

void chat_msg_search_write(chat_writer *w, const chat_msg_search *x) {
  chat_write_dict_begin(w);
  key_str(w, "query", x->query);
  key_int(w, "before_id", x->before_id);
  key_int(w, "limit", x->limit);
  if (x->has_target_type)
    key_int(w, "target_type", x->target_type);
  if (x->has_target_id)
    key_int(w, "target_id", x->target_id);
  chat_write_dict_end(w);
}

int chat_msg_search_read(const chat_value *v, chat_msg_search *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "search";
  RC(want_dict(v, shape, err));
  RC(field_str(v, shape, "query", &x->query, err));
  RC(field_int(v, shape, "before_id", &x->before_id, err));
  RC(field_int(v, shape, "limit", &x->limit, err));
  RC(optional_int(v, shape, "target_type", &x->has_target_type, &x->target_type, err));
  return optional_int(v, shape, "target_id", &x->has_target_id, &x->target_id, err);
}

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* White space as the spec's "trim" counts it (5.8): ASCII only. */
static bool is_trim_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

const char *chat_msg_search_problem(const chat_msg_search *x, chat_request_error *code) {
  chat_request_error unused;
  if (!code)
    code = &unused;
  *code = CHAT_REQUEST_ERROR_BAD_REQUEST;
  if (x->query.len == 0 || x->query.len > CHAT_SEARCH_QUERY_MAX)
    return "the search query must be 1 to " STRINGIFY(CHAT_SEARCH_QUERY_MAX) " bytes";
  if (!chat_utf8_valid((const uint8_t *)x->query.ptr, x->query.len))
    return "the search query is not valid UTF-8";
  size_t blank = 0;
  while (blank < x->query.len && is_trim_space(x->query.ptr[blank]))
    blank++;
  if (blank == x->query.len)
    return "the search query is only white space";
  if (x->limit < 1 || x->limit > CHAT_SEARCH_LIMIT_MAX)
    return "the search limit must be 1 to " STRINGIFY(CHAT_SEARCH_LIMIT_MAX);
  if (x->has_target_type != x->has_target_id)
    return "target_type and target_id go together";
  if (x->has_target_type && x->target_type != CHAT_TARGET_USER &&
      x->target_type != CHAT_TARGET_ROOM) {
    *code = CHAT_REQUEST_ERROR_INVALID_TARGET;
    return chat_request_error_info_of(*code)->text;
  }
  return NULL;
}

void chat_msg_search_span_write(chat_writer *w, const chat_msg_search_span *x) {
  chat_write_list_begin(w);
  chat_write_int(w, x->start);
  chat_write_int(w, x->length);
  chat_write_list_end(w);
}

static int read_search_span(const chat_value *v, chat_msg_search_span *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "search match";
  RC(want_tuple(v, shape, 2, err));
  RC(as_int(&v->as.list.items[0], shape, "start", &x->start, err));
  return as_int(&v->as.list.items[1], shape, "length", &x->length, err);
}

static int check_search_span(const chat_value *v, chat_error *err) {
  chat_msg_search_span x;
  return read_search_span(v, &x, err);
}

void chat_msg_search_span_at(const chat_msg_list *list, size_t index, chat_msg_search_span *out) {
  read_search_span(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_search_span(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_search_span x;
  chat_msg_search_span_at(list, i, &x);
  chat_msg_search_span_write(w, &x);
}

void chat_msg_search_result_write(chat_writer *w, const chat_msg_search_result *x) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "notice");
  chat_msg_notice_write(w, &x->notice);
  chat_write_key_cstr(w, "matches");
  write_list(w, &x->matches, rewrite_search_span);
  chat_write_dict_end(w);
}

static int read_search_result(const chat_value *v, chat_msg_search_result *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "search result";
  RC(want_dict(v, shape, err));
  const chat_value *notice = chat_value_dict_get(v, "notice");
  if (!notice)
    return missing(err, shape, "notice");
  RC(chat_msg_notice_read(notice, &x->notice, err));
  return field_list(v, shape, "matches", check_search_span, &x->matches, err);
}

static int check_search_result(const chat_value *v, chat_error *err) {
  chat_msg_search_result x;
  return read_search_result(v, &x, err);
}

void chat_msg_search_result_at(const chat_msg_list *list, size_t index,
                               chat_msg_search_result *out) {
  read_search_result(&list->decoded->as.list.items[index], out, NULL);
}

static void rewrite_search_result(chat_writer *w, const chat_msg_list *list, size_t i) {
  chat_msg_search_result x;
  chat_msg_search_result_at(list, i, &x);
  chat_msg_search_result_write(w, &x);
}

void chat_msg_search_results_write(chat_writer *w, const chat_msg_search_results *x) {
  chat_write_dict_begin(w);
  key_str(w, "query", x->query);
  chat_write_key_cstr(w, "results");
  write_list(w, &x->results, rewrite_search_result);
  key_bool(w, "more", x->more);
  chat_write_dict_end(w);
}

int chat_msg_search_results_read(const chat_value *v, chat_msg_search_results *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "search_results";
  RC(want_dict(v, shape, err));
  RC(field_str(v, shape, "query", &x->query, err));
  RC(field_list(v, shape, "results", check_search_result, &x->results, err));
  return field_bool(v, shape, "more", &x->more, err);
}

void chat_msg_request_failed_write(chat_writer *w, const chat_msg_request_failed *x) {
  chat_write_dict_begin(w);
  key_str(w, "error", x->error);
  key_str(w, "text", x->text);
  chat_write_dict_end(w);
}

int chat_msg_request_failed_read(const chat_value *v, chat_msg_request_failed *x, chat_error *err) {
  memset(x, 0, sizeof *x);
  const char *shape = "request_failed";
  RC(want_dict(v, shape, err));
  RC(field_str(v, shape, "error", &x->error, err));
  return field_str(v, shape, "text", &x->text, err);
}

chat_request_error chat_msg_request_failed_code(const chat_msg_request_failed *x) {
  return chat_request_error_by_name(x->error.ptr, x->error.len);
}

/* ---- the table ---- */

#define THUNKS(name)                                                                               \
  static void write_##name(chat_writer *w, const void *x) {                                        \
    chat_msg_##name##_write(w, x);                                                                 \
  }                                                                                                \
  static int read_##name(const chat_value *v, void *x, chat_error *err) {                          \
    return chat_msg_##name##_read(v, x, err);                                                      \
  }

THUNKS(null)
THUNKS(any)
THUNKS(int)
THUNKS(str)
THUNKS(user)
THUNKS(contact)
THUNKS(notice)
THUNKS(login)
THUNKS(register)
THUNKS(resolve_friend_request)
THUNKS(send_message)
THUNKS(resume)
THUNKS(fetch_history)
THUNKS(mark_read)
THUNKS(set_password)
THUNKS(add_friend_result)
THUNKS(friend_on_off_line)
THUNKS(server_kick)
THUNKS(query_room_users_result)
THUNKS(room_user_on_off_line)
THUNKS(login_bundle)
THUNKS(session_bundle)
THUNKS(history_page)
THUNKS(read_marker)
THUNKS(search)
THUNKS(search_results)
THUNKS(request_failed)

#define CODEC(code, name)                                                                          \
  { code, "chat_msg_" #name, sizeof(chat_msg_##name), write_##name, read_##name }

static const chat_msg_codec codecs[] = {
    CODEC(CHAT_MSG_LOGIN, login),
    CODEC(CHAT_MSG_REGISTER, register),
    CODEC(CHAT_MSG_CLIENT_ECHO, any),
    CODEC(CHAT_MSG_ADD_FRIEND, str),
    CODEC(CHAT_MSG_RESOLVE_FRIEND_REQUEST, resolve_friend_request),
    CODEC(CHAT_MSG_SEND_MESSAGE, send_message),
    CODEC(CHAT_MSG_JOIN_ROOM, int),
    CODEC(CHAT_MSG_CREATE_ROOM, str),
    CODEC(CHAT_MSG_QUERY_ROOM_USERS, int),
    CODEC(CHAT_MSG_BAD, any),
    CODEC(CHAT_MSG_RESUME, resume),
    CODEC(CHAT_MSG_LOGOUT, null),
    CODEC(CHAT_MSG_FETCH_HISTORY, fetch_history),
    CODEC(CHAT_MSG_MARK_READ, mark_read),
    CODEC(CHAT_MSG_LEAVE_ROOM, int),
    CODEC(CHAT_MSG_SET_NICKNAME, str),
    CODEC(CHAT_MSG_SET_PASSWORD, set_password),
    CODEC(CHAT_MSG_SEARCH, search),

    CODEC(CHAT_MSG_LOGIN_SUCCESSFUL, user),
    CODEC(CHAT_MSG_REGISTER_SUCCESSFUL, int),
    CODEC(CHAT_MSG_INCOMING_FRIEND_REQUEST, user),
    CODEC(CHAT_MSG_CONTACT_INFO, contact),
    CODEC(CHAT_MSG_CHAT_HISTORY, any),
    CODEC(CHAT_MSG_SERVER_ECHO, any),
    CODEC(CHAT_MSG_ADD_FRIEND_RESULT, add_friend_result),
    CODEC(CHAT_MSG_FRIEND_ON_OFF_LINE, friend_on_off_line),
    CODEC(CHAT_MSG_NOTIFY_CHAT_HISTORY, any),
    CODEC(CHAT_MSG_ON_NEW_MESSAGE, notice),
    CODEC(CHAT_MSG_SERVER_KICK, server_kick),
    CODEC(CHAT_MSG_QUERY_ROOM_USERS_RESULT, query_room_users_result),
    CODEC(CHAT_MSG_ROOM_USER_ON_OFF_LINE, room_user_on_off_line),
    CODEC(CHAT_MSG_LOGIN_BUNDLE, login_bundle),
    CODEC(CHAT_MSG_SESSION_BUNDLE, session_bundle),
    CODEC(CHAT_MSG_HISTORY_PAGE, history_page),
    CODEC(CHAT_MSG_READ_MARKER, read_marker),
    CODEC(CHAT_MSG_LOGGED_OUT, null),
    CODEC(CHAT_MSG_LEFT_ROOM, int),
    CODEC(CHAT_MSG_PROFILE_UPDATED, user),
    CODEC(CHAT_MSG_PASSWORD_CHANGED, null),
    CODEC(CHAT_MSG_SEARCH_RESULTS, search_results),
    CODEC(CHAT_MSG_LOGIN_FAILED, null),
    CODEC(CHAT_MSG_USERNAME_TAKEN, null),
    CODEC(CHAT_MSG_GENERAL_FAILURE, str),
    CODEC(CHAT_MSG_GENERAL_MSG, str),
    CODEC(CHAT_MSG_REQUEST_FAILED, request_failed),
};

size_t chat_msg_codec_count(void) {
  return sizeof codecs / sizeof codecs[0];
}

const chat_msg_codec *chat_msg_codec_at(size_t index) {
  return index < chat_msg_codec_count() ? &codecs[index] : NULL;
}

const chat_msg_codec *chat_msg_codec_by_code(uint32_t code) {
  for (size_t i = 0; i < chat_msg_codec_count(); i++)
    if (codecs[i].code == code)
      return &codecs[i];
  return NULL;
}

void chat_msg_server_info_write(chat_writer *w, const chat_msg_server_info *m) {
  chat_write_dict_begin(w);
  if (m->has_server) {
    chat_write_key_cstr(w, "server");
    write_span_str(w, m->server);
  }
  if (m->has_max_message) {
    chat_write_key_cstr(w, "max_message");
    chat_write_uint(w, m->max_message);
  }
  if (m->has_max_image) {
    chat_write_key_cstr(w, "max_image");
    chat_write_uint(w, m->max_image);
  }
  chat_write_dict_end(w);
}

bool chat_msg_server_info_decode(const uint8_t *data, size_t len, chat_arena *arena,
                                 chat_msg_server_info *out) {
  memset(out, 0, sizeof *out);
  chat_value *value = NULL;
  if (!data || len == 0 || chat_value_decode(data, len, NULL, 0, arena, &value, NULL) != 0 ||
      value->kind != CHAT_VALUE_DICT)
    return false;
  const chat_value *server = chat_value_dict_get(value, "server");
  if (server && server->kind == CHAT_VALUE_STR) {
    out->has_server = true;
    out->server = chat_span_bytes(server->as.blob.data, server->as.blob.len);
  }
  out->has_max_message =
      chat_value_get_u64(chat_value_dict_get(value, "max_message"), &out->max_message);
  out->has_max_image = chat_value_get_u64(chat_value_dict_get(value, "max_image"), &out->max_image);
  return true;
}

void chat_msg_client_info_write(chat_writer *w, const chat_msg_client_info *m) {
  chat_write_dict_begin(w);
  if (m->has_client) {
    chat_write_key_cstr(w, "client");
    write_span_str(w, m->client);
  }
  if (m->has_max_message) {
    chat_write_key_cstr(w, "max_message");
    chat_write_uint(w, m->max_message);
  }
  chat_write_dict_end(w);
}

bool chat_msg_client_info_decode(const uint8_t *data, size_t len, chat_arena *arena,
                                 chat_msg_client_info *out) {
  memset(out, 0, sizeof *out);
  chat_value *value = NULL;
  if (!data || len == 0 || chat_value_decode(data, len, NULL, 0, arena, &value, NULL) != 0 ||
      value->kind != CHAT_VALUE_DICT)
    return false;
  const chat_value *client = chat_value_dict_get(value, "client");
  if (client && client->kind == CHAT_VALUE_STR) {
    out->has_client = true;
    out->client = chat_span_bytes(client->as.blob.data, client->as.blob.len);
  }
  out->has_max_message =
      chat_value_get_u64(chat_value_dict_get(value, "max_message"), &out->max_message);
  return true;
}
