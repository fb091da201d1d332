/* What this node's connections are told when something happens to others:
 * a new message, a friend request, an accepted one, a changed name, a
 * member leaving. Each rule is written once here and used both by the
 * handler that made the change and, in a cluster, by the node that hears of
 * a change made on another node (cluster.h). Every function tells only the
 * connections this node holds. */
#pragma once

#include "chatd/server-private.h"

G_BEGIN_DECLS

/* A stored message (r->id set) to every receiver logged in here who gets it
 * live (logged in before the message got its id; else the login bundle
 * carries it). Not to the sender: the sender's copy is the answer. Room
 * messages are encoded once per dialect and shared. */
void chatd_deliver_message(ChatdServer *server, const ChatdMessageRecord *r);

/* One stored message to one logged-in connection, as on_new_message. */
void chatd_deliver_to(ChatdSession *to, const ChatdMessageRecord *r);

/* `to` got a friend request from `from`. */
void chatd_notify_friend_request(ChatdServer *server, const ChatdUser *from, const ChatdUser *to);
/* `accepter` accepted the request of `requester`: the requester gets the
 * new friend's contact. */
void chatd_notify_friend_accepted(ChatdServer *server, const ChatdUser *requester,
                                  const ChatdUser *accepter);
/* user's nickname changed: friends get the new contact. */
void chatd_notify_contact_changed(ChatdServer *server, const ChatdUser *user);
/* user_id left room: the other members see it go. */
void chatd_notify_member_left(ChatdServer *server, const ChatdRoom *room, gint64 user_id);

G_END_DECLS
