#define G_LOG_DOMAIN "chatd"

#include "chatd/encode.h"

#include <string.h>

#include "chatd/names.h"
#include "chatd/session.h"
#include "protocol/catalogue.h"

gboolean chatd_user_online(const ChatdUser *user) {
  return user->session != NULL;
}

static void write_user_keys(chat_writer *w, const ChatdUser *user) {
  chat_write_key_cstr(w, "id");
  chat_write_int(w, user->id);
  chat_write_key_cstr(w, "username");
  chat_write_cstr(w, user->username);
  chat_write_key_cstr(w, "nickname");
  chat_write_cstr(w, user->nickname);
  chat_write_key_cstr(w, "online");
  chat_write_bool(w, chatd_user_online(user));
}

void chatd_write_user(chat_writer *w, const ChatdUser *user) {
  chat_write_dict_begin(w);
  write_user_keys(w, user);
  chat_write_dict_end(w);
}

void chatd_write_friend_contact(chat_writer *w, const ChatdUser *user) {
  chat_write_dict_begin(w);
  write_user_keys(w, user);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, CHATD_STORE_TARGET_USER);
  chat_write_dict_end(w);
}

void chatd_write_room_contact(chat_writer *w, const ChatdRoom *room) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "id");
  chat_write_int(w, room->id);
  chat_write_key_cstr(w, "room_name");
  chat_write_cstr(w, room->name);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, CHATD_STORE_TARGET_ROOM);
  chat_write_dict_end(w);
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

static void write_body(chat_writer *w, const ChatdMessageRecord *r, gboolean preview,
                       ChatdBodyForm form) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, r->kind);
  if (preview) {
    chat_write_key_cstr(w, "format");
    chat_write_cstr(w, r->image_format ? r->image_format : "");
    chat_write_key_cstr(w, "size");
    chat_write_uint(w, r->image ? g_bytes_get_size(r->image) : r->image_size);
  } else if (r->kind == CHATD_STORE_KIND_IMAGE) {
    chat_write_key_cstr(w, "data");
    gsize len = 0;
    const guint8 *data = r->image ? g_bytes_get_data(r->image, &len) : NULL;
    chat_write_bytes(w, data, len);
  } else {
    chat_write_key_cstr(w, "data");
    gsize len = r->text ? r->text_len : 0;
    if (form == CHATD_BODY_PREVIEW)
      len = preview_text_len(r->text, len);
    chat_write_str(w, r->text ? r->text : "", len);
    chat_write_key_cstr(w, "fontsize");
    chat_write_int(w, r->font_size);
    chat_write_key_cstr(w, "fontcolor");
    chat_write_cstr(w, r->font_color ? r->font_color : "#000000");
  }
  chat_write_dict_end(w);
}

void chatd_write_notice(chat_writer *w, chat_dialect dialect, const ChatdMessageRecord *r,
                        const ChatdUser *sender, gint64 viewer_id, ChatdBodyForm form) {
  gboolean receivers_copy = r->target_type == CHATD_STORE_TARGET_USER && viewer_id != r->sender_id;
  const char *nickname = sender ? sender->nickname : r->sender_nickname;
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "message");
  write_body(w, r, as_preview(r, dialect, form), form);
  chat_write_key_cstr(w, "sender_id");
  chat_write_int(w, r->sender_id);
  chat_write_key_cstr(w, "sender_name");
  chat_write_cstr(w, nickname ? nickname : "");
  chat_write_key_cstr(w, "target_type");
  chat_write_int(w, r->target_type);
  chat_write_key_cstr(w, "time");
  chat_write_int(w, r->sent_ms);
  chat_write_key_cstr(w, "target_id");
  chat_write_int(w, receivers_copy ? r->sender_id : r->target_id);
  if (dialect == CHAT_DIALECT_V2) {
    chat_write_key_cstr(w, "id");
    chat_write_int(w, r->id);
    if (viewer_id == r->sender_id && r->client_msg_id) {
      chat_write_key_cstr(w, "client_msg_id");
      chat_write_cstr(w, r->client_msg_id);
    }
    if (sender) {
      chat_write_key_cstr(w, "sender_username");
      chat_write_cstr(w, sender->username);
    }
  }
  chat_write_dict_end(w);
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
