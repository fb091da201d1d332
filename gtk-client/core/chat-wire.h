/* The client's side of the message catalogue, without I/O: the requests
 * it sends, encoded as layer-2 plaintexts, and the reading of the notices
 * (@notice) it receives. Internal to the core. */
#pragma once

#include <glib.h>

#include "gtk-client/core/chat-contact.h"
#include "gtk-client/core/chat-conversation.h"
#include "protocol/message.h"
#include "protocol/messages.h"

G_BEGIN_DECLS

/* Each returns one plaintext message, or NULL when it cannot be encoded
 * (a value over the protocol's limits). Messages carrying a password or a
 * token are wiped from memory when the last reference goes. */
GBytes *chat_wire_login(chat_dialect dialect, const char *username, const char *password);
GBytes *chat_wire_register(chat_dialect dialect, const char *username, const char *password,
                           const char *nickname);
GBytes *chat_wire_resume(chat_dialect dialect, const char *username, GBytes *token);
/* A message whose parameters are null (logout). */
GBytes *chat_wire_null(chat_dialect dialect, guint32 type);
/* A message whose parameters are one int (join_room, query_room_users). */
GBytes *chat_wire_int(chat_dialect dialect, guint32 type, gint64 value);
/* A message whose parameters are one str (add_friend, create_room,
 * client_echo). */
GBytes *chat_wire_str(chat_dialect dialect, guint32 type, const char *value);
GBytes *chat_wire_resolve_friend_request(chat_dialect dialect, gint64 from_user_id,
                                         gboolean accept);
/* send_message; client_msg_id NULL leaves the key out (seed). text for
 * CHAT_MESSAGE_TEXT (with font_size, font_color), image for
 * CHAT_MESSAGE_IMAGE. */
GBytes *chat_wire_send_message(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                               ChatMessageKind body_kind, const char *text, int font_size,
                               const char *font_color, GBytes *image, const char *client_msg_id);
GBytes *chat_wire_fetch_history(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                                gint64 before_id, guint limit);
/* search; has_target FALSE: every conversation. */
GBytes *chat_wire_search(chat_dialect dialect, const char *query, gint64 before_id, guint limit,
                         gboolean has_target, ChatContactKind kind, gint64 target_id);
GBytes *chat_wire_mark_read(chat_dialect dialect, ChatContactKind kind, gint64 target_id,
                            gint64 up_to_id);

/* A delivered message (@notice), copied out of the decoded value. */
typedef struct {
  ChatContactKind target_kind;
  gint64 target_id;
  gint64 sender_id;
  char *sender_name;
  char *sender_username; /* NULL when absent (seed) */
  gint64 time_ms;
  gint64 id;           /* 0 when absent (seed) */
  char *client_msg_id; /* NULL when absent */
  ChatMessageKind kind;
  char *text; /* text */
  int font_size;
  char *font_color;
  GBytes *image;      /* image: its bytes; NULL for a preview */
  char *image_format; /* image preview (v2): "png", ... or "" */
  gint64 image_size;  /* image: its size in bytes (a preview's as announced) */
} ChatWireNotice;

/* Copies a @notice protocol/messages.h has read. FALSE (and *out cleared)
 * when it does not hold a usable notice: a body type other than 0 / 1, a
 * target_type other than 0 / 1, a text that is not valid UTF-8. An image
 * preview ({type: 1, format, size}, no data) is an image without bytes. */
gboolean chat_wire_notice_from_msg(const chat_msg_notice *notice, ChatWireNotice *out);
void chat_wire_notice_clear(ChatWireNotice *notice);

/* Decodes the layer-3 encoding of a @notice (a seed login_bundle stores
 * each message that way) and reads it. */
gboolean chat_wire_notice_decode(const guint8 *data, gsize len, ChatWireNotice *out);

/* The largest image a send_message may carry, from the v2 handshake's
 * server-info (a layer-3 dict: max_image); 0 when the server does not say
 * (seed, an older chatd) or the blob does not decode. */
gsize chat_wire_server_info_max_image(const guint8 *info, gsize len);

/* A span of a message that was read, copied as a string. */
char *chat_wire_dup_span(chat_span span);

G_END_DECLS
