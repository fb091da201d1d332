/* Telling friends and room members that a user came online or went away. */
#pragma once

#include "chatd/server-private.h"

G_BEGIN_DECLS

/* friend_on_off_line [online, id] to every online friend, and
 * room_user_on_off_line [room, id, online] to every other online member of
 * each of the user's rooms. Work is proportional to the user's friends and
 * rooms, never to all connections. */
void chatd_presence_announce(ChatdServer *server, ChatdUser *user, gboolean online);

G_END_DECLS
