/* ChatRoomMembers: the member list beside a room's chat: online members
 * first, updated live. Activating a member (double click, Enter) emits
 * "member-activated"; the chat window opens the chat or offers a friend
 * request. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-contact.h"
#include "gtk-client/core/chat-room-member.h"

G_BEGIN_DECLS

#define CHAT_TYPE_ROOM_MEMBERS (chat_room_members_get_type())
G_DECLARE_FINAL_TYPE(ChatRoomMembers, chat_room_members, CHAT, ROOM_MEMBERS, GtkWidget)

ChatRoomMembers *chat_room_members_new(void);
/* Shows room's members; self_id is the logged-in user's id. */
void chat_room_members_set_room(ChatRoomMembers *self, ChatContact *room, gint64 self_id);

/* Signal: member-activated (ChatRoomMember *member) */

G_END_DECLS
