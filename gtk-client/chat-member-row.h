/* ChatMemberRow: one room member in the room's member list: online dot,
 * nickname, and "(you)" for the user. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-room-member.h"

G_BEGIN_DECLS

#define CHAT_TYPE_MEMBER_ROW (chat_member_row_get_type())
G_DECLARE_FINAL_TYPE(ChatMemberRow, chat_member_row, CHAT, MEMBER_ROW, GtkWidget)

ChatMemberRow *chat_member_row_new(void);
/* The member shown (NULL: none); is_self marks the logged-in user. */
void chat_member_row_set_member(ChatMemberRow *self, ChatRoomMember *member, gboolean is_self);

/* The list item the row is the child of: the "member.open" action activates it
 * in its list, as a double click or Enter does. */
void chat_member_row_set_list_item(ChatMemberRow *self, GtkListItem *list_item);

G_END_DECLS
