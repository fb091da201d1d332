/* The cluster bus: chatd's link to the other nodes of a cluster, over NATS.
 *
 * A node publishes byte strings on subjects and receives what the other nodes
 * publish on the subjects it subscribed to. The NATS C client (libnats) runs
 * its own threads; this module hands everything over to one GMainContext:
 *
 *  - every callback (on_message, on_state) runs on the thread of the context
 *    given to chatd_cluster_bus_connect(), in the order libnats received the
 *    messages and saw the connection change, across all subscriptions (one
 *    libnats delivery thread for every subscription), in batches (one
 *    dispatch of the context delivers everything queued until then);
 *  - messages this node published are not delivered back to it (NATS
 *    "no echo"), even on a subject it subscribed to;
 *  - connect() returns at once: a thread of the bus tries the servers every
 *    CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS until one answers (a server down at
 *    start-up is no error), then on_state(TRUE) says the bus is connected;
 *    until then chatd_cluster_bus_is_connected() is FALSE and publishing
 *    fails, and subscribing is remembered (done on the connection);
 *  - the connection is then kept for ever: when the server is lost libnats
 *    reconnects every CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS to the URLs given,
 *    without end, and restores the subscriptions. Publishes made meanwhile
 *    are kept (up to CHATD_CLUSTER_BUS_RECONNECT_BUFFER_BYTES) and sent after
 *    the reconnect; NATS itself keeps nothing for a node that is not
 *    connected, so what the others published during the outage is lost for
 *    this node (the server resynchronises from the database on on_state(TRUE));
 *  - on_state(TRUE) when connected (the first time too), on_state(FALSE)
 *    when the connection is lost, on_state(TRUE) once it is back; never
 *    twice the same value in a row;
 *  - a subscription is active on the server one round trip after
 *    chatd_cluster_bus_subscribe() (or after the connection): what other
 *    nodes publish before that is not received;
 *  - the queue toward the context is bounded (CHATD_CLUSTER_BUS_MAX_QUEUED
 *    messages, CHATD_CLUSTER_BUS_MAX_QUEUED_BYTES bytes). Past that, messages
 *    are dropped (with a rate-limited warning) and, since the node has then
 *    missed messages as in an outage, it is told so the same way: on_state(FALSE)
 *    where the first message was dropped, on_state(TRUE) once the queue
 *    drained (if the connection is up).
 *
 * A published message must fit the server's max_payload (1 MiB by default).
 *
 * All functions are called on the context's thread. The only file that
 * includes nats.h. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* libnats' wait between two reconnect attempts (to each URL). */
#define CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS 250
/* Publishes kept while the connection is down, sent after the reconnect;
 * past it chatd_cluster_bus_publish() fails. */
#define CHATD_CLUSTER_BUS_RECONNECT_BUFFER_BYTES (8 * 1024 * 1024)
/* A PING every this often; a server that misses CHATD_CLUSTER_BUS_MAX_PINGS_OUT
 * answers in a row is taken as lost (a connection that died without a reset). */
#define CHATD_CLUSTER_BUS_PING_INTERVAL_MS 5000
#define CHATD_CLUSTER_BUS_MAX_PINGS_OUT 2
/* The queue of received messages waiting for the context's thread. */
#define CHATD_CLUSTER_BUS_MAX_QUEUED 100000
#define CHATD_CLUSTER_BUS_MAX_QUEUED_BYTES (256 * 1024 * 1024)
/* At most one warning about dropped messages per this many seconds. */
#define CHATD_CLUSTER_BUS_DROP_WARNING_PERIOD_S 10

typedef struct _ChatdClusterBus ChatdClusterBus;

/* A message from another node: subject and data are valid during the call
 * only. */
typedef void (*ChatdBusMessageFunc)(const char *subject, const guint8 *data, gsize len,
                                    gpointer user_data);
/* The connection to the bus was lost (FALSE) or is back (TRUE). */
typedef void (*ChatdBusStateFunc)(gboolean connected, gpointer user_data);

/* A bus to the NATS servers at urls (NULL-terminated, at least one, e.g.
 * "nats://127.0.0.1:4222"), its connection named node_name. Returns at once
 * and connects in the background (see above); NULL with
 * G_IO_ERROR_INVALID_ARGUMENT for no URL or a URL libnats refuses,
 * G_IO_ERROR_FAILED for anything else libnats cannot set up. context NULL
 * means the global default context. */
ChatdClusterBus *chatd_cluster_bus_connect(const char *const *urls, const char *node_name,
                                           GMainContext *context, ChatdBusStateFunc on_state,
                                           ChatdBusMessageFunc on_message, gpointer user_data,
                                           GError **error);

/* Subscribes to subject (NATS wildcards '*' and '>' allowed; a message that
 * matches two subscriptions is delivered twice). Returns a handle for
 * chatd_cluster_bus_unsubscribe(), 0 when the subject is invalid or libnats
 * refuses it. Works while disconnected (sent on the connection). */
guint64 chatd_cluster_bus_subscribe(ChatdClusterBus *bus, const char *subject);

/* Stops a subscription: no message of it is delivered once this returns,
 * not even one already queued. Unknown handles are ignored. */
void chatd_cluster_bus_unsubscribe(ChatdClusterBus *bus, guint64 subscription);

/* Queues data for the subject; never blocks. FALSE when it cannot: before
 * the first connection, an invalid subject, data larger than the server's
 * max_payload, the reconnect buffer full during an outage. */
gboolean chatd_cluster_bus_publish(ChatdClusterBus *bus, const char *subject, const guint8 *data,
                                   gsize len);

/* The state last given to on_state (FALSE before the first). */
gboolean chatd_cluster_bus_is_connected(ChatdClusterBus *bus);

/* Closes the connection and frees everything; no callback runs once this
 * returns (what is still queued is dropped). May be called from a callback. */
void chatd_cluster_bus_free(ChatdClusterBus *bus);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdClusterBus, chatd_cluster_bus_free)

G_END_DECLS
