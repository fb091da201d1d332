#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-wire.h"

#include <string.h>

#include "gtk-client/core/chat-util-private.h"
#include "protocol/catalogue.h"
#include "protocol/messages.h"

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
  chat_msg_login x = {chat_span_cstr(username), chat_span_cstr(password)};
  chat_msg_login_write(&w, &x);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_register(chat_dialect dialect, const char *username, const char *password,
                           const char *nickname) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_REGISTER);
  chat_msg_register x = {chat_span_cstr(username), chat_span_cstr(password),
                         chat_span_cstr(nickname)};
  chat_msg_register_write(&w, &x);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_resume(chat_dialect dialect, const char *username, GBytes *token) {
  chat_buffer buf;
  chat_writer w;
  gsize len;
  const guint8 *data = g_bytes_get_data(token, &len);
  begin(&w, &buf, dialect, CHAT_MSG_RESUME);
  chat_msg_resume x = {chat_span_cstr(username), chat_span_bytes(data, len)};
  chat_msg_resume_write(&w, &x);
  return finish(&w, &buf, TRUE);
}

GBytes *chat_wire_null(chat_dialect dialect, guint32 type) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_msg_null_write(&w, &(chat_msg_null){0});
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_int(chat_dialect dialect, guint32 type, gint64 value) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_msg_int_write(&w, &(chat_msg_int){value});
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_str(chat_dialect dialect, guint32 type, const char *value) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, type);
  chat_msg_str_write(&w, &(chat_msg_str){chat_span_cstr(value)});
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_resolve_friend_request(chat_dialect dialect, gint64 from_user_id,
                                         gboolean accept) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_RESOLVE_FRIEND_REQUEST);
  chat_msg_resolve_friend_request x = {from_user_id, accept};
  chat_msg_resolve_friend_request_write(&w, &x);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_send_message(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                               ChatMessageKind body_kind, const char *text, int font_size,
                               const char *font_color, GBytes *image, const char *client_msg_id) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_SEND_MESSAGE);
  chat_msg_send_message x = {
      .target_type = kind,
      .target_id = target_id,
      .message = {.type = body_kind},
      .has_client_msg_id = client_msg_id != NULL,
      .client_msg_id = chat_span_cstr(client_msg_id),
  };
  if (body_kind == CHAT_MESSAGE_IMAGE) {
    gsize len = 0;
    const guint8 *data = image ? g_bytes_get_data(image, &len) : NULL;
    x.message.form = CHAT_BODY_IMAGE;
    x.message.data = chat_span_bytes(data, len);
  } else {
    x.message.form = CHAT_BODY_TEXT;
    x.message.data = chat_span_cstr(text);
    x.message.font_size = font_size;
    x.message.font_color = chat_span_cstr(font_color);
  }
  chat_msg_send_message_write(&w, &x);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_fetch_history(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                                gint64 before_id, guint limit) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_FETCH_HISTORY);
  chat_msg_fetch_history x = {kind, target_id, before_id, limit};
  chat_msg_fetch_history_write(&w, &x);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_search(chat_dialect dialect, const char *query, gint64 before_id, guint limit,
                         gboolean has_target, ChatContactKind kind, gint64 target_id) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_SEARCH);
  chat_msg_search x = {
      .query = chat_span_cstr(query),
      .before_id = before_id,
      .limit = limit,
      .has_target_type = has_target,
      .target_type = kind,
      .has_target_id = has_target,
      .target_id = target_id,
  };
  chat_msg_search_write(&w, &x);
  return finish(&w, &buf, FALSE);
}

GBytes *chat_wire_mark_read(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                            gint64 up_to_id) {
  chat_buffer buf;
  chat_writer w;
  begin(&w, &buf, dialect, CHAT_MSG_MARK_READ);
  chat_msg_mark_read x = {kind, target_id, up_to_id};
  chat_msg_mark_read_write(&w, &x);
  return finish(&w, &buf, FALSE);
}

/* ---- reading ---- */

char *chat_wire_dup_span(chat_span s) {
  return g_strndup(s.ptr ? s.ptr : "", s.len);
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

gboolean chat_wire_notice_from_msg(const chat_msg_notice *n, ChatWireNotice *out) {
  memset(out, 0, sizeof *out);
  if (n->target_type != CHAT_CONTACT_FRIEND && n->target_type != CHAT_CONTACT_ROOM)
    return FALSE;
  const chat_msg_body *body = &n->message;
  out->target_kind = (ChatContactKind)n->target_type;
  out->target_id = n->target_id;
  out->sender_id = n->sender_id;
  out->sender_name = chat_wire_dup_span(n->sender_name);
  out->sender_username = n->has_sender_username ? chat_wire_dup_span(n->sender_username) : NULL;
  out->time_ms = n->time;
  out->id = n->has_id ? n->id : 0;
  out->client_msg_id = n->has_client_msg_id ? chat_wire_dup_span(n->client_msg_id) : NULL;
  if (body->type == CHAT_MESSAGE_TEXT && body->form == CHAT_BODY_TEXT) {
    out->kind = CHAT_MESSAGE_TEXT;
    out->text = chat_wire_dup_span(body->data);
    out->font_size = (int)CLAMP(body->font_size, 0, G_MAXINT);
    out->font_color = chat_wire_dup_span(body->font_color);
    /* A str may hold U+0000; the item keeps the text up to it. */
    if (g_utf8_validate(out->text, -1, NULL))
      return TRUE;
  } else if (body->type == CHAT_MESSAGE_IMAGE && body->form == CHAT_BODY_IMAGE) {
    out->kind = CHAT_MESSAGE_IMAGE;
    out->image = g_bytes_new(body->data.ptr, body->data.len);
    out->image_size = (gint64)MIN(body->data.len, (gsize)G_MAXINT64);
    return TRUE;
  } else if (body->type == CHAT_MESSAGE_IMAGE && body->form == CHAT_BODY_PREVIEW) {
    /* A preview: the format and size of an image the server kept. */
    out->kind = CHAT_MESSAGE_IMAGE;
    out->image_format = chat_wire_dup_span(body->format);
    out->image_size = MAX(body->size, 0);
    if (g_utf8_validate(out->image_format, -1, NULL))
      return TRUE;
  }
  chat_wire_notice_clear(out);
  return FALSE;
}

gsize chat_wire_server_info_max_image(const guint8 *info, gsize len) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_server_info m;
  guint64 max = 0;
  if (chat_msg_server_info_decode(info, len, &arena, &m) && m.has_max_image)
    max = m.max_image;
  chat_arena_clear(&arena);
  return (gsize)MIN(max, (guint64)G_MAXSIZE);
}

gboolean chat_wire_notice_decode(const guint8 *data, gsize len, ChatWireNotice *out) {
  memset(out, 0, sizeof *out);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_notice n;
  chat_error err;
  gboolean ok = FALSE;
  if (chat_msg_notice_decode(data, len, &arena, &n, &err) != 0)
    g_debug("a stored message is not a notice: %s", err.message);
  else
    ok = chat_wire_notice_from_msg(&n, out);
  chat_arena_clear(&arena);
  return ok;
}
