/* Writers for the shapes chatd sends (@user, @contact, @notice, ...), shared
 * by the handlers. Each writes one value with a chat_writer; the message
 * header is written by chatd_reply_begin (outbox.h). */
#pragma once

#include <glib.h>

#include "chatd/directory.h"
#include "chatd/store.h"
#include "protocol/message.h"
#include "protocol/value.h"

G_BEGIN_DECLS

/* @user: {id, username, nickname, online}. */
void chatd_write_user(chat_writer *w, const ChatdUser *user);
/* @contact of a friend: @user keys, then type 0. */
void chatd_write_friend_contact(chat_writer *w, const ChatdUser *user);
/* @contact of a room: {id, room_name, type 1}. */
void chatd_write_room_contact(chat_writer *w, const ChatdRoom *room);
/* @notice of a stored message as `viewer_id` sees it: for a 1:1 message the
 * receiver's copy names the sender as target. The v2 dialect adds the id,
 * and the client_msg_id on the sender's own copy. sender_name is the
 * sender's nickname. */
void chatd_write_notice(chat_writer *w, chat_dialect dialect, const ChatdMessageRecord *record,
                        const char *sender_name, gint64 viewer_id);

/* True when the user has a live, logged-in connection. */
gboolean chatd_user_online(const ChatdUser *user);

G_END_DECLS
