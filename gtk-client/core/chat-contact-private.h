/* What the session changes on a contact beyond its public setters. */
#pragma once

#include "gtk-client/core/chat-contact.h"
#include "gtk-client/core/chat-room-member.h"

G_BEGIN_DECLS

/* Replaces a room's members (ChatRoomMember items), sorted, in one
 * items-changed emission. */
void chat_contact_set_members(ChatContact *self, GPtrArray *members);
/* Updates one member's online state and moves it to its place. FALSE when
 * the user is not in the (loaded) member list. */
gboolean chat_contact_set_member_online(ChatContact *self, gint64 user_id, gboolean online);

G_END_DECLS
