#define G_LOG_DOMAIN "chatd"

#include "chatd/encode.h"

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

static void write_body(chat_writer *w, const ChatdMessageRecord *r) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, r->kind);
  chat_write_key_cstr(w, "data");
  if (r->kind == CHATD_STORE_KIND_IMAGE) {
    gsize len = 0;
    const guint8 *data = r->image ? g_bytes_get_data(r->image, &len) : NULL;
    chat_write_bytes(w, data, len);
  } else {
    chat_write_str(w, r->text ? r->text : "", r->text ? r->text_len : 0);
    chat_write_key_cstr(w, "fontsize");
    chat_write_int(w, r->font_size);
    chat_write_key_cstr(w, "fontcolor");
    chat_write_cstr(w, r->font_color ? r->font_color : "#000000");
  }
  chat_write_dict_end(w);
}

void chatd_write_notice(chat_writer *w, chat_dialect dialect, const ChatdMessageRecord *r,
                        const char *sender_name, gint64 viewer_id) {
  gboolean receivers_copy = r->target_type == CHATD_STORE_TARGET_USER && viewer_id != r->sender_id;
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "message");
  write_body(w, r);
  chat_write_key_cstr(w, "sender_id");
  chat_write_int(w, r->sender_id);
  chat_write_key_cstr(w, "sender_name");
  chat_write_cstr(w, sender_name ? sender_name : "");
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
  }
  chat_write_dict_end(w);
}
