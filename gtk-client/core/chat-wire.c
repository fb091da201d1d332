#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-wire.h"

#include <string.h>

#include "gtk-client/core/chat-util-private.h"
#include "protocol/catalogue.h"
#include "protocol/shape.h"

/* Finishes a message written into buf: hands the bytes to a GBytes, or
 * returns NULL when the writer failed. secret: the copy is wiped when
 * freed, and so is buf. */
static GBytes *finish(chat_writer *w, chat_buffer *buf, gboolean secret) {
  GBytes *bytes = NULL;
  if (chat_writer_finish(w) == 0)
    bytes = secret ? chat_secret_bytes_new(buf->data, buf->len) : g_bytes_new(buf->data, buf->len);
  if (secret && buf->data)
    explicit_bzero(buf->data, buf->len);
  chat_buffer_clear(buf);
  return bytes;
}

static void begin(chat_writer *w, chat_buffer *buf, chat_dialect dialect, guint32 type) {
  chat_buffer_init(buf);
  chat_writer_init(w, buf);
  chat_message_begin(w, dialect, type);
}

GBytes *chat_wire_login(chat_dialect dialect, const char *username, const char *password) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_LOGIN);
  chat_write_list_begin(&w);
  chat_write_cstr(&w, username);
  chat_write_cstr(&w, password);
  chat_write_list_end(&w);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_register(chat_dialect dialect, const char *username, const char *password,
                           const char *nickname) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_REGISTER);
  chat_write_list_begin(&w);
  chat_write_cstr(&w, username);
  chat_write_cstr(&w, password);
  chat_write_cstr(&w, nickname);
  chat_write_list_end(&w);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_resume(chat_dialect dialect, const char *username, GBytes *token) {
  chat_buffer buf;
  chat_writer w;
  gsize len;
  const guint8 *data = g_bytes_get_data(token, &len);
  begin(&w, &buf, dialect, CHAT_MSG_RESUME);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "username");
  chat_write_cstr(&w, username);
  chat_write_key_cstr(&w, "token");
  chat_write_bytes(&w, data, len);
  chat_write_dict_end(&w);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_null(chat_dialect dialect, guint32 type) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_write_null(&w);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_int(chat_dialect dialect, guint32 type, gint64 value) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_write_int(&w, value);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_str(chat_dialect dialect, guint32 type, const char *value) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_write_cstr(&w, value);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_resolve_friend_request(chat_dialect dialect, gint64 from_user_id,
                                         gboolean accept) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_RESOLVE_FRIEND_REQUEST);
  chat_write_list_begin(&w);
  chat_write_int(&w, from_user_id);
  chat_write_bool(&w, accept);
  chat_write_list_end(&w);
  return finish(&w, &buf, FALSE);
}

static void write_target(chat_writer *w, ChatContactKind kind, gint64 target_id) {
  chat_write_key_cstr(w, "target_type");
  chat_write_int(w, kind);
  chat_write_key_cstr(w, "target_id");
  chat_write_int(w, target_id);
}

GBytes *chat_wire_send_message(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                               ChatMessageKind body_kind, const char *text, int font_size,
                               const char *font_color, GBytes *image,
                               const char *client_msg_id) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_SEND_MESSAGE);
  chat_write_dict_begin(&w);
  write_target(&w, kind, target_id);
  chat_write_key_cstr(&w, "message");
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "type");
  chat_write_int(&w, body_kind);
  chat_write_key_cstr(&w, "data");
  if (body_kind == CHAT_MESSAGE_IMAGE) {
    gsize len = 0;
    const guint8 *data = image ? g_bytes_get_data(image, &len) : NULL;
    chat_write_bytes(&w, data, len);
  } else {
    chat_write_cstr(&w, text ? text : "");
    chat_write_key_cstr(&w, "fontsize");
    chat_write_int(&w, font_size);
    chat_write_key_cstr(&w, "fontcolor");
    chat_write_cstr(&w, font_color ? font_color : "");
  }
  chat_write_dict_end(&w);
  if (client_msg_id) {
    chat_write_key_cstr(&w, "client_msg_id");
    chat_write_cstr(&w, client_msg_id);
  }
  chat_write_dict_end(&w);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_fetch_history(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                                gint64 before_id, guint limit) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_FETCH_HISTORY);
  chat_write_dict_begin(&w);
  write_target(&w, kind, target_id);
  chat_write_key_cstr(&w, "before_id");
  chat_write_int(&w, before_id);
  chat_write_key_cstr(&w, "limit");
  chat_write_int(&w, limit);
  chat_write_dict_end(&w);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_mark_read(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                            gint64 up_to_id) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_MARK_READ);
  chat_write_dict_begin(&w);
  write_target(&w, kind, target_id);
  chat_write_key_cstr(&w, "up_to_id");
  chat_write_int(&w, up_to_id);
  chat_write_dict_end(&w);
  return finish(&w, &buf, FALSE);
}

/* ---- reading ---- */

char *chat_wire_dup_str(const chat_value *value) {
  if (!value || value->kind != CHAT_VALUE_STR)
    return NULL;
  return g_strndup((const char *)value->as.blob.data, value->as.blob.len);
}

static gint64 get_int(const chat_value *dict, const char *key) {
  int64_t v = 0;
  chat_value_get_i64(chat_value_dict_get(dict, key), &v);
  return v;
}

void chat_wire_notice_clear(ChatWireNotice *notice) {
  g_free(notice->sender_name);
  g_free(notice->sender_username);
  g_free(notice->client_msg_id);
  g_free(notice->text);
  g_free(notice->font_color);
  g_clear_pointer(&notice->image, g_bytes_unref);
  g_free(notice->image_format);
  memset(notice, 0, sizeof *notice);
}

gboolean chat_wire_notice_read(const chat_value *value, ChatWireNotice *out) {
  memset(out, 0, sizeof *out);
  if (!value || value->kind != CHAT_VALUE_DICT)
    return FALSE;
  gint64 target_type = get_int(value, "target_type");
  if (target_type != CHAT_CONTACT_FRIEND && target_type != CHAT_CONTACT_ROOM)
    return FALSE;
  const chat_value *body = chat_value_dict_get(value, "message");
  if (!body || body->kind != CHAT_VALUE_DICT)
    return FALSE;
  gint64 body_type = get_int(body, "type");
  const chat_value *data = chat_value_dict_get(body, "data");
  out->target_kind = (ChatContactKind)target_type;
  out->target_id = get_int(value, "target_id");
  out->sender_id = get_int(value, "sender_id");
  out->sender_name = chat_wire_dup_str(chat_value_dict_get(value, "sender_name"));
  out->sender_username = chat_wire_dup_str(chat_value_dict_get(value, "sender_username"));
  out->time_ms = get_int(value, "time");
  out->id = get_int(value, "id");
  out->client_msg_id = chat_wire_dup_str(chat_value_dict_get(value, "client_msg_id"));
  if (body_type == CHAT_MESSAGE_TEXT && data && data->kind == CHAT_VALUE_STR) {
    out->kind = CHAT_MESSAGE_TEXT;
    out->text = chat_wire_dup_str(data);
    out->font_size = (int)CLAMP(get_int(body, "fontsize"), 0, G_MAXINT);
    out->font_color = chat_wire_dup_str(chat_value_dict_get(body, "fontcolor"));
    /* A str may hold U+0000; the item keeps the text up to it. */
    if (out->text && g_utf8_validate(out->text, -1, NULL))
      return TRUE;
  } else if (body_type == CHAT_MESSAGE_IMAGE && data && data->kind == CHAT_VALUE_BYTES) {
    out->kind = CHAT_MESSAGE_IMAGE;
    out->image = g_bytes_new(data->as.blob.data, data->as.blob.len);
    out->image_size = (gint64)MIN(data->as.blob.len, (gsize)G_MAXINT64);
    return TRUE;
  } else if (body_type == CHAT_MESSAGE_IMAGE && !data) {
    /* A preview: the format and size of an image the server kept. */
    out->kind = CHAT_MESSAGE_IMAGE;
    out->image_format = chat_wire_dup_str(chat_value_dict_get(body, "format"));
    out->image_size = MAX(get_int(body, "size"), 0);
    if (out->image_format && g_utf8_validate(out->image_format, -1, NULL))
      return TRUE;
  }
  chat_wire_notice_clear(out);
  return FALSE;
}

gsize chat_wire_server_info_max_image(const guint8 *info, gsize len) {
  if (!info || len == 0)
    return 0;
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value = NULL;
  guint64 max = 0;
  if (chat_value_decode(info, len, NULL, 0, &arena, &value, NULL) != 0 ||
      value->kind != CHAT_VALUE_DICT ||
      !chat_value_get_u64(chat_value_dict_get(value, "max_image"), &max))
    max = 0;
  chat_arena_clear(&arena);
  return (gsize)MIN(max, (guint64)G_MAXSIZE);
}

static const char *resolve_named_shape(const char *name, size_t len, void *data) {
  (void)data;
  g_autofree char *key = g_strndup(name, len);
  const chat_shape_definition *def = chat_catalogue_shape_by_name(key);
  return def ? def->shape : NULL;
}

gboolean chat_wire_notice_decode(const guint8 *data, gsize len, ChatWireNotice *out) {
  memset(out, 0, sizeof *out);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value = NULL;
  chat_error err;
  gboolean ok = FALSE;
  if (chat_value_decode(data, len, NULL, 0, &arena, &value, &err) != 0) {
    g_debug("a stored message does not decode: %s", err.message);
  } else if (chat_shape_check("@notice", value, "notice", resolve_named_shape, NULL, &err) != 0) {
    g_debug("a stored message is not a notice: %s", err.message);
  } else {
    ok = chat_wire_notice_read(value, out);
  }
  chat_arena_clear(&arena);
  return ok;
}
