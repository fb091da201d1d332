/* A node's part in a cluster (server.nats): what it tells the other nodes
 * and what it does with what they tell it.
 *
 * Every node holds the whole directory in memory (directory.h) and stores
 * in one shared PostgreSQL database; NATS (cluster-bus.h) carries, between
 * nodes, what must reach memory or connections elsewhere. The rule for each
 * change: the node that made it commits it, applies it in its own memory and
 * tells its own connections (as without a cluster), then publishes one event;
 * every other node applies the same change to its memory and tells ITS
 * connections. An event is one value (protocol/value.h, the v2 encoding) of
 * the form {"k": kind, "n": sending node, ...fields}.
 *
 * Subjects:
 *   chat.directory       every node: accounts, friendships, rooms, tokens
 *   chat.presence        every node: a user logged in / went away here;
 *                        heartbeats (CHATD_CLUSTER_HEARTBEAT_MS) and
 *                        "tell me who is online" on start and reconnect
 *   chat.node.<node>     one node: messages for its connections, answers
 *
 * Presence: each node knows, for every user logged in on another node,
 * which node (ChatdUser.online_at). A login elsewhere is also the kick: a
 * node that hears that a user whose connection it holds logged in later on
 * another node closes its connection with server_kick, and friends see no
 * offline moment. A node whose heartbeats stop for
 * CHATD_CLUSTER_NODE_TIMEOUT_MS is gone: its users go offline for everyone.
 *
 * After the bus comes back from an outage, the node reloads the directory
 * from the store (what changed meanwhile) and asks every node who is online.
 *
 * Threads: chatd's main thread only. */
#pragma once

#include "chatd/server-private.h"

G_BEGIN_DECLS

#define CHATD_CLUSTER_HEARTBEAT_MS 1000
#define CHATD_CLUSTER_NODE_TIMEOUT_MS 3500

/* Joins the cluster named by server->config (nats, node_name). The bus
 * connects in the background: a NATS server that is down at start is not
 * an error. */
ChatdCluster *chatd_cluster_new(ChatdServer *server, GError **error);
void chatd_cluster_free(ChatdCluster *cluster);

const char *chatd_cluster_node_name(const ChatdCluster *cluster);

/* ---- what this node tells the others (each a no-op when cluster is NULL) ---- */

/* user logged in here (online) or its connection here ended (offline). */
void chatd_cluster_presence(ChatdCluster *cluster, const ChatdUser *user, gboolean online);
/* A message was committed (r->id set): its receivers on other nodes get it. */
void chatd_cluster_message(ChatdCluster *cluster, const ChatdMessageRecord *r);
void chatd_cluster_user_added(ChatdCluster *cluster, const ChatdUser *user);
void chatd_cluster_nickname(ChatdCluster *cluster, const ChatdUser *user);
void chatd_cluster_password(ChatdCluster *cluster, const ChatdUser *user);
void chatd_cluster_request(ChatdCluster *cluster, gint64 from_id, gint64 to_id);
/* The request from -> to was answered (accepted: they are friends now). */
void chatd_cluster_answer(ChatdCluster *cluster, gint64 from_id, gint64 to_id, gboolean accepted);
void chatd_cluster_room(ChatdCluster *cluster, const ChatdRoom *room);
void chatd_cluster_member(ChatdCluster *cluster, gint64 room_id, gint64 user_id,
                          gint64 first_message_id, gboolean joined);
/* A resume token was added (user_id > 0) or removed (user_id == 0). */
void chatd_cluster_token(ChatdCluster *cluster, const guint8 *hash, gint64 user_id,
                         gint64 issued_ms);

G_END_DECLS
