/* ChatRoomMember: one member of a room, as the room's member list shows it
 * (the items of chat_contact_get_members). Its properties notify. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CHAT_TYPE_ROOM_MEMBER (chat_room_member_get_type())
G_DECLARE_FINAL_TYPE(ChatRoomMember, chat_room_member, CHAT, ROOM_MEMBER, GObject)

ChatRoomMember *chat_room_member_new(gint64 user_id, const char *nickname, const char *username,
                                     gboolean online);

/* Properties (readable; the session writes them): user-id, nickname,
 * username, online. */
gint64 chat_room_member_get_user_id(ChatRoomMember *self);
const char *chat_room_member_get_nickname(ChatRoomMember *self);
const char *chat_room_member_get_username(ChatRoomMember *self);
gboolean chat_room_member_get_online(ChatRoomMember *self);

void chat_room_member_set_nickname(ChatRoomMember *self, const char *nickname);
void chat_room_member_set_online(ChatRoomMember *self, gboolean online);

/* The members list's order: online members first, then by nickname
 * (g_utf8_collate), then by user id. A GCompareDataFunc. */
int chat_room_member_compare(gconstpointer a, gconstpointer b, gpointer unused);

G_END_DECLS
