#define G_LOG_DOMAIN "chatd"

#include "chatd/encode.h"

#include <string.h>

#include "chatd/names.h"
#include "chatd/session.h"
#include "protocol/catalogue.h"

gboolean chatd_params_refused(ChatdSession *s, int rc, const chat_error *err) {
  if (rc == 0)
    return FALSE;
  chatd_session_send_failure(s, CHAT_REQUEST_ERROR_BAD_REQUEST, err->message);
  return TRUE;
}

gboolean chatd_user_online(const ChatdUser *user) {
  return user->session != NULL || user->online_at != NULL;
}

static chat_msg_user user_of(const ChatdUser *user) {
  return (chat_msg_user){
      .id = user->id,
      .username = chat_span_cstr(user->username),
      .nickname = chat_span_cstr(user->nickname),
      .online = chatd_user_online(user),
  };
}

void chatd_write_user(chat_writer *w, const ChatdUser *user) {
  chat_msg_user x = user_of(user);
  chat_msg_user_write(w, &x);
}

void chatd_write_friend_contact(chat_writer *w, const ChatdUser *user) {
  chat_msg_contact x = {.user = user_of(user), .type = CHAT_CONTACT_TYPE_FRIEND};
  chat_msg_contact_write(w, &x);
}

void chatd_write_room_contact(chat_writer *w, const ChatdRoom *room) {
  chat_msg_contact x = {
      .is_room = TRUE,
      .room = {.id = room->id, .room_name = chat_span_cstr(room->name)},
      .type = CHAT_CONTACT_TYPE_ROOM,
  };
  chat_msg_contact_write(w, &x);
}

/* Whether a record's image goes as a preview. */
static gboolean as_preview(const ChatdMessageRecord *r, chat_dialect dialect, ChatdBodyForm form) {
  return r->kind == CHATD_STORE_KIND_IMAGE && dialect == CHAT_DIALECT_V2 &&
         (form == CHATD_BODY_PREVIEW || r->image == NULL);
}

/* The first bytes of a text, cut at a character boundary. */
static gsize preview_text_len(const char *text, gsize len) {
  if (len <= CHATD_PREVIEW_TEXT_MAX)
    return len;
  const char *end = g_utf8_find_prev_char(text, text + CHATD_PREVIEW_TEXT_MAX + 1);
  return end ? (gsize)(end - text) : 0;
}

static chat_msg_body body_of(const ChatdMessageRecord *r, gboolean preview, ChatdBodyForm form) {
  chat_msg_body body = {.type = r->kind};
  if (preview) {
    body.form = CHAT_BODY_PREVIEW;
    body.format = chat_span_cstr(r->image_format);
    body.size = (gint64)(r->image ? g_bytes_get_size(r->image) : r->image_size);
  } else if (r->kind == CHATD_STORE_KIND_IMAGE) {
    body.form = CHAT_BODY_IMAGE;
    gsize len = 0;
    const guint8 *data = r->image ? g_bytes_get_data(r->image, &len) : NULL;
    body.data = chat_span_bytes(data, len);
  } else {
    body.form = CHAT_BODY_TEXT;
    gsize len = r->text ? r->text_len : 0;
    if (form == CHATD_BODY_PREVIEW)
      len = preview_text_len(r->text, len);
    body.data = (chat_span){r->text ? r->text : "", len};
    body.font_size = r->font_size;
    body.font_color = chat_span_cstr(r->font_color ? r->font_color : "#000000");
  }
  return body;
}

chat_msg_notice chatd_notice_of(chat_dialect dialect, const ChatdMessageRecord *r,
                                const ChatdUser *sender, gint64 viewer_id, ChatdBodyForm form) {
  gboolean receivers_copy = r->target_type == CHATD_STORE_TARGET_USER && viewer_id != r->sender_id;
  gboolean v2 = dialect == CHAT_DIALECT_V2;
  chat_msg_notice x = {
      .message = body_of(r, as_preview(r, dialect, form), form),
      .sender_id = r->sender_id,
      .sender_name = chat_span_cstr(sender ? sender->nickname : r->sender_nickname),
      .target_type = r->target_type,
      .time = r->sent_ms,
      .target_id = receivers_copy ? r->sender_id : r->target_id,
      .has_id = v2,
      .id = r->id,
      .has_client_msg_id = v2 && viewer_id == r->sender_id && r->client_msg_id,
      .client_msg_id = chat_span_cstr(r->client_msg_id),
      .has_sender_username = v2 && sender,
      .sender_username = chat_span_cstr(sender ? sender->username : NULL),
  };
  return x;
}

void chatd_write_notice(chat_writer *w, chat_dialect dialect, const ChatdMessageRecord *r,
                        const ChatdUser *sender, gint64 viewer_id, ChatdBodyForm form) {
  chat_msg_notice x = chatd_notice_of(dialect, r, sender, viewer_id, form);
  chat_msg_notice_write(w, &x);
}

static gsize at_least(const char *s, gsize floor) {
  return MAX(s ? strlen(s) : 0, floor);
}

gsize chatd_notice_size_bound(const ChatdMessageRecord *r, const ChatdUser *sender,
                              chat_dialect dialect, ChatdBodyForm form) {
  /* Names may change after the message is stored, up to their maximum. */
  gsize size = CHATD_NOTICE_FIXED_BOUND +
               at_least(sender ? sender->nickname : r->sender_nickname, CHATD_DISPLAY_NAME_MAX) +
               at_least(sender ? sender->username : NULL, CHATD_USERNAME_MAX) +
               at_least(r->client_msg_id, 0) + at_least(r->font_color, 0) +
               at_least(r->image_format, 0);
  if (r->kind == CHATD_STORE_KIND_TEXT)
    return size + (r->text ? (form == CHATD_BODY_PREVIEW ? preview_text_len(r->text, r->text_len)
                                                         : r->text_len)
                           : 0);
  if (as_preview(r, dialect, form))
    return size;
  return size + (r->image ? g_bytes_get_size(r->image) : 0);
}
