/* What tests of chatd/cluster-bus.c may change or see; not for the server. */
#pragma once

#include "cluster-bus.h"

G_BEGIN_DECLS

/* Replaces CHATD_CLUSTER_BUS_MAX_QUEUED and CHATD_CLUSTER_BUS_MAX_QUEUED_BYTES
 * for this bus (a test fills a small queue). */
void chatd_cluster_bus_set_queue_limits(ChatdClusterBus *bus, gsize max_messages, gsize max_bytes);

/* Messages dropped so far because the queue was full (any thread). */
guint64 chatd_cluster_bus_dropped(ChatdClusterBus *bus);

G_END_DECLS
