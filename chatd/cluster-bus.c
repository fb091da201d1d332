/* The cluster bus over libnats (chatd/cluster-bus.h).
 *
 * libnats calls us on its own threads: the message handler on its delivery
 * thread (one for every subscription: the library's global delivery pool,
 * whose default size is one, so messages of all subscriptions keep the order
 * they arrived in) and the connection handlers on its callback thread. Those
 * handlers only append an item to the inbox, a locked queue, and wake the
 * bus's GSource on the context; the source's dispatch takes the whole queue
 * and calls back in order.
 *
 * The first connection is made by a thread of ours, which tries every
 * CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS until a server answers and hands the
 * connection to the context through the inbox (an item before the state
 * change): so connect() never blocks, and libnats' own retry of a failed
 * first connect is not used (libnats 3.4 closes such a connection for good
 * when a server accepted the TCP connection but not the handshake). Once
 * connected, libnats reconnects by itself.
 *
 * The inbox outlives the bus when it must: it is reference-counted, with one
 * reference for the bus, one for the connecting thread, one for the
 * connection (dropped by the closed handler, libnats' last connection
 * callback) and one for every subscription (dropped by its completion
 * handler, called once its message handler can no longer run).
 * chatd_cluster_bus_free() marks it closed: the handlers still running then
 * drop what they get. */
#define G_LOG_DOMAIN "chatd-bus"

#include "cluster-bus.h"
#include "cluster-bus-private.h"

#include <gio/gio.h>
#include <limits.h>
#include <nats/nats.h>
#include <string.h>

/* One message, one change of the connection's state, or the connection,
 * for the context. */
typedef struct {
  guint64 subscription; /* 0: a state or connection item */
  gboolean connected;   /* a state item's state */
  natsConnection *conn; /* a connection item's connection */
  gsize len;
  char *subject;  /* points into bytes, after the data */
  guint8 bytes[]; /* data then subject, NUL-terminated */
} BusItem;

typedef struct {
  gint refs;
  GMutex lock;
  GCond closed_cond; /* wakes the connecting thread when the bus is freed */
  GQueue items;      /* of BusItem */
  gsize queued_messages;
  gsize queued_bytes;
  gsize max_queued_messages; /* CHATD_CLUSTER_BUS_MAX_QUEUED unless a test says */
  gsize max_queued_bytes;
  gboolean closed;       /* the bus is freed: queue nothing, wake nobody */
  gboolean wake_pending; /* the source was woken and has not taken the queue yet */
  GSource *source;       /* the bus's source; used only while !closed */

  /* The state: the connection as libnats last said, a gap (messages dropped
   * since the queue was last taken), and the state last queued for the
   * context (connected and no gap). */
  gboolean events_seen; /* a connection handler ran */
  gboolean connect_failed_logged;
  gboolean nats_connected;
  gboolean gap;
  gboolean queued_state;

  /* Rate-limited warnings. */
  guint64 dropped;
  guint64 dropped_unreported;
  gint64 last_drop_warning_us;
  gint64 last_error_warning_us;
} BusInbox;

/* A subscription: its subject, and libnats' while there is a connection. */
typedef struct {
  char *subject;
  natsSubscription *sub;
} BusSubscription;

/* A subscription's closure in libnats. */
typedef struct {
  BusInbox *inbox;
  guint64 id;
} BusSubscriptionRef;

typedef struct {
  GSource source;
  ChatdClusterBus *bus;
} BusSource;

struct _ChatdClusterBus {
  BusSource *source;
  BusInbox *inbox;
  natsConnection *conn;      /* NULL until the connecting thread made it */
  GHashTable *subscriptions; /* guint64 * id -> BusSubscription * */
  guint64 last_subscription;
  ChatdBusStateFunc on_state;
  ChatdBusMessageFunc on_message;
  gpointer user_data;
  gboolean connected;   /* the state the context was last told */
  gboolean dispatching; /* inside bus_source_dispatch */
  gboolean freed;       /* chatd_cluster_bus_free ran inside a dispatch */
};

/* ---- the inbox (any thread) ---- */

static BusInbox *inbox_new(void) {
  BusInbox *inbox = g_new0(BusInbox, 1);
  inbox->refs = 1;
  g_mutex_init(&inbox->lock);
  g_cond_init(&inbox->closed_cond);
  g_queue_init(&inbox->items);
  inbox->max_queued_messages = CHATD_CLUSTER_BUS_MAX_QUEUED;
  inbox->max_queued_bytes = CHATD_CLUSTER_BUS_MAX_QUEUED_BYTES;
  return inbox;
}

static BusInbox *inbox_ref(BusInbox *inbox) {
  g_atomic_int_inc(&inbox->refs);
  return inbox;
}

static void item_free(gpointer data) {
  BusItem *item = data;
  if (item->conn)
    natsConnection_Destroy(item->conn); /* closes it */
  g_free(item);
}

static void inbox_unref(BusInbox *inbox) {
  if (!g_atomic_int_dec_and_test(&inbox->refs))
    return;
  g_queue_clear_full(&inbox->items, item_free);
  g_cond_clear(&inbox->closed_cond);
  g_mutex_clear(&inbox->lock);
  g_free(inbox);
}

static BusItem *item_new(guint64 subscription, const char *subject, const void *data, gsize len) {
  gsize subject_len = subject ? strlen(subject) : 0;
  BusItem *item = g_malloc(sizeof(BusItem) + len + subject_len + 1);
  item->subscription = subscription;
  item->connected = FALSE;
  item->conn = NULL;
  item->len = len;
  if (len > 0)
    memcpy(item->bytes, data, len);
  item->subject = (char *)item->bytes + len;
  if (subject_len > 0)
    memcpy(item->subject, subject, subject_len);
  item->subject[subject_len] = '\0';
  return item;
}

/* Appends an item and wakes the source if it is not already. Lock held. */
static void inbox_push_locked(BusInbox *inbox, BusItem *item) {
  g_queue_push_tail(&inbox->items, item);
  if (!inbox->wake_pending) {
    inbox->wake_pending = TRUE;
    g_source_set_ready_time(inbox->source, 0);
  }
}

/* Queues a state item when the state the context will see changes. Lock
 * held. State items are not counted in the bounds (a few bytes, at most one
 * per change). */
static void inbox_update_state_locked(BusInbox *inbox) {
  gboolean state = inbox->nats_connected && !inbox->gap;
  if (state == inbox->queued_state || inbox->closed)
    return;
  inbox->queued_state = state;
  BusItem *item = item_new(0, NULL, NULL, 0);
  item->connected = state;
  inbox_push_locked(inbox, item);
}

static void inbox_warn_dropped_locked(BusInbox *inbox) {
  gint64 now = g_get_monotonic_time();
  if (inbox->dropped_unreported == 0 ||
      (inbox->last_drop_warning_us != 0 &&
       now - inbox->last_drop_warning_us <
           CHATD_CLUSTER_BUS_DROP_WARNING_PERIOD_S * G_USEC_PER_SEC))
    return;
  g_warning("cluster bus: %" G_GUINT64_FORMAT " messages dropped: more than %" G_GSIZE_FORMAT
            " messages or %" G_GSIZE_FORMAT " bytes were waiting for the main thread",
            inbox->dropped_unreported, inbox->max_queued_messages, inbox->max_queued_bytes);
  inbox->dropped_unreported = 0;
  inbox->last_drop_warning_us = now;
}

/* ---- libnats' handlers (libnats' threads) ---- */

static void on_nats_message(natsConnection *conn, natsSubscription *sub, natsMsg *msg,
                            void *closure) {
  BusSubscriptionRef *ref = closure;
  BusInbox *inbox = ref->inbox;
  const char *subject = natsMsg_GetSubject(msg);
  gsize len = (gsize)natsMsg_GetDataLength(msg);

  g_mutex_lock(&inbox->lock);
  if (!inbox->closed) {
    if (inbox->gap || inbox->queued_messages >= inbox->max_queued_messages ||
        inbox->queued_bytes + len > inbox->max_queued_bytes) {
      inbox->gap = TRUE;
      inbox_update_state_locked(inbox);
      inbox->dropped++;
      inbox->dropped_unreported++;
      inbox_warn_dropped_locked(inbox);
    } else {
      inbox->queued_messages++;
      inbox->queued_bytes += len;
      inbox_push_locked(inbox, item_new(ref->id, subject, natsMsg_GetData(msg), len));
    }
  }
  g_mutex_unlock(&inbox->lock);
  natsMsg_Destroy(msg);
}

static void bus_subscription_free(gpointer data) {
  BusSubscription *sub = data;
  if (sub->sub)
    natsSubscription_Destroy(sub->sub);
  g_free(sub->subject);
  g_free(sub);
}

static void on_subscription_complete(void *closure) {
  BusSubscriptionRef *ref = closure;
  inbox_unref(ref->inbox);
  g_free(ref);
}

static void set_nats_connected(BusInbox *inbox, gboolean connected) {
  g_debug("cluster bus: libnats says %s", connected ? "connected" : "disconnected");
  g_mutex_lock(&inbox->lock);
  inbox->events_seen = TRUE;
  inbox->nats_connected = connected;
  inbox_update_state_locked(inbox);
  g_mutex_unlock(&inbox->lock);
}

static void on_nats_reconnected(natsConnection *conn, void *closure) {
  set_nats_connected(closure, TRUE);
}

static void on_nats_disconnected(natsConnection *conn, void *closure) {
  set_nats_connected(closure, FALSE);
}

static void on_nats_closed(natsConnection *conn, void *closure) {
  BusInbox *inbox = closure;
  g_mutex_lock(&inbox->lock);
  gboolean by_free = inbox->closed;
  g_mutex_unlock(&inbox->lock);
  if (!by_free) {
    /* With reconnects for ever, only something libnats cannot retry. */
    const char *text = NULL;
    natsStatus status = natsConnection_GetLastError(conn, &text);
    g_warning("cluster bus: the NATS connection closed for good: %s%s%s",
              natsStatus_GetText(status), text && *text ? ": " : "", text && *text ? text : "");
    set_nats_connected(inbox, FALSE);
  }
  inbox_unref(inbox);
}

static void on_nats_error(natsConnection *conn, natsSubscription *sub, natsStatus status,
                          void *closure) {
  BusInbox *inbox = closure;
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&inbox->lock);
  gboolean report = inbox->last_error_warning_us == 0 ||
                    now - inbox->last_error_warning_us >=
                        CHATD_CLUSTER_BUS_DROP_WARNING_PERIOD_S * G_USEC_PER_SEC;
  if (report)
    inbox->last_error_warning_us = now;
  g_mutex_unlock(&inbox->lock);
  if (report)
    g_warning("cluster bus: NATS error: %s", natsStatus_GetText(status));
}

/* ---- the first connection (a thread of ours) ---- */

typedef struct {
  BusInbox *inbox;
  natsOptions *opts;
} BusConnector;

static gboolean nats_failed(natsStatus status, const char *what, GError **error) {
  if (status == NATS_OK)
    return FALSE;
  int code = status == NATS_INVALID_ARG ? G_IO_ERROR_INVALID_ARGUMENT : G_IO_ERROR_FAILED;
  /* libnats' last error (this thread's) says more, with the status text
   * when it is a plain failure: "(conn.c:2088): No server available ...". */
  const char *text = natsStatus_GetText(status);
  const char *detail = nats_GetLastError(NULL);
  if (detail && *detail && strstr(detail, text) == NULL)
    g_set_error(error, G_IO_ERROR, code, "NATS: %s: %s: %s", what, text, detail);
  else if (detail && *detail)
    g_set_error(error, G_IO_ERROR, code, "NATS: %s: %s", what, detail);
  else
    g_set_error(error, G_IO_ERROR, code, "NATS: %s: %s", what, text);
  return TRUE;
}

/* Tries the servers until one answers (or the bus is freed), then hands
 * the connection to the context. */
static gpointer connector_thread(gpointer data) {
  BusConnector *connector = data;
  BusInbox *inbox = connector->inbox;
  for (;;) {
    g_mutex_lock(&inbox->lock);
    gboolean closed = inbox->closed;
    g_mutex_unlock(&inbox->lock);
    if (closed)
      break;

    natsConnection *conn = NULL;
    inbox_ref(inbox); /* the connection's, dropped by on_nats_closed */
    natsStatus s = natsConnection_Connect(&conn, connector->opts);
    if (s == NATS_OK) {
      g_mutex_lock(&inbox->lock);
      closed = inbox->closed;
      if (!closed) {
        BusItem *item = item_new(0, NULL, NULL, 0);
        item->conn = conn;
        inbox_push_locked(inbox, item);
        /* Unless libnats already said otherwise (lost at once). */
        if (!inbox->events_seen) {
          inbox->nats_connected = TRUE;
          inbox_update_state_locked(inbox);
        }
      }
      g_mutex_unlock(&inbox->lock);
      if (closed)
        natsConnection_Destroy(conn);
      break;
    }
    inbox_unref(inbox); /* no connection, no closed handler */

    g_autoptr(GError) error = NULL;
    nats_failed(s, "connect", &error);
    g_mutex_lock(&inbox->lock);
    if (!inbox->connect_failed_logged) {
      g_message("cluster bus: %s; trying again every %d ms", error->message,
                CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS);
      inbox->connect_failed_logged = TRUE;
    }
    gint64 until = g_get_monotonic_time() + CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS * 1000;
    while (!inbox->closed && g_cond_wait_until(&inbox->closed_cond, &inbox->lock, until))
      ;
    g_mutex_unlock(&inbox->lock);
  }
  natsOptions_Destroy(connector->opts);
  inbox_unref(inbox);
  g_free(connector);
  return NULL;
}

/* ---- the source (the context's thread) ---- */

/* Makes libnats' subscription of sub (on the connection). */
static gboolean attach_subscription(ChatdClusterBus *bus, guint64 id, BusSubscription *sub) {
  BusSubscriptionRef *ref = g_new(BusSubscriptionRef, 1);
  ref->inbox = inbox_ref(bus->inbox);
  ref->id = id;
  natsStatus s = natsConnection_Subscribe(&sub->sub, bus->conn, sub->subject, on_nats_message, ref);
  if (s != NATS_OK) {
    g_debug("cluster bus: cannot subscribe to %s: %s", sub->subject, natsStatus_GetText(s));
    inbox_unref(ref->inbox);
    g_free(ref);
    sub->sub = NULL;
    return FALSE;
  }
  /* Our own bound applies (the handler only queues): no limit in libnats. */
  natsSubscription_SetPendingLimits(sub->sub, -1, -1);
  s = natsSubscription_SetOnCompleteCB(sub->sub, on_subscription_complete, ref);
  if (s != NATS_OK) {
    /* Closed already (the connection closed for good): the handler may
     * still run once, so ref is left to it (a small leak, never freed). */
    g_debug("cluster bus: subscription to %s closed at once: %s", sub->subject,
            natsStatus_GetText(s));
    natsSubscription_Destroy(sub->sub);
    sub->sub = NULL;
    return FALSE;
  }
  return TRUE;
}

/* The connecting thread made the connection: subscribe to what was asked
 * meanwhile. */
static void adopt_connection(ChatdClusterBus *bus, natsConnection *conn) {
  bus->conn = conn;
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init(&iter, bus->subscriptions);
  while (g_hash_table_iter_next(&iter, &key, &value)) {
    BusSubscription *sub = value;
    if (!attach_subscription(bus, *(guint64 *)key, sub))
      g_warning("cluster bus: cannot subscribe to %s", sub->subject);
  }
}

static void deliver(ChatdClusterBus *bus, BusItem *item) {
  if (item->conn) {
    adopt_connection(bus, item->conn);
    item->conn = NULL;
  } else if (item->subscription == 0) {
    if (item->connected != bus->connected) {
      bus->connected = item->connected;
      if (bus->on_state)
        bus->on_state(item->connected, bus->user_data);
    }
  } else if (g_hash_table_contains(bus->subscriptions, &item->subscription) && bus->on_message) {
    bus->on_message(item->subject, item->bytes, item->len, bus->user_data);
  }
}

static gboolean bus_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
  ChatdClusterBus *bus = ((BusSource *)source)->bus;
  BusInbox *inbox = bus->inbox;

  g_source_set_ready_time(source, -1);
  g_mutex_lock(&inbox->lock);
  GQueue batch = inbox->items;
  g_queue_init(&inbox->items);
  inbox->queued_messages = 0;
  inbox->queued_bytes = 0;
  inbox->wake_pending = FALSE;
  if (inbox->gap) {
    /* The queue is empty again: take messages again, and say the state is
     * back (if the connection is). */
    inbox->gap = FALSE;
    inbox_update_state_locked(inbox);
    inbox_warn_dropped_locked(inbox);
  }
  g_mutex_unlock(&inbox->lock);

  bus->dispatching = TRUE;
  BusItem *item;
  while ((item = g_queue_pop_head(&batch)) != NULL) {
    if (!bus->freed)
      deliver(bus, item);
    item_free(item);
  }
  bus->dispatching = FALSE;

  if (bus->freed) {
    g_free(bus);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs bus_source_funcs = {
    .dispatch = bus_source_dispatch,
};

/* ---- the API (the context's thread) ---- */

static natsOptions *make_options(const char *const *urls, const char *node_name, BusInbox *inbox,
                                 GError **error) {
  natsOptions *opts = NULL;
  if (nats_failed(natsOptions_Create(&opts), "options", error))
    return NULL;
  int count = (int)g_strv_length((char **)urls);
  natsStatus s = natsOptions_SetServers(opts, (const char **)urls, count);
  if (s == NATS_OK && node_name)
    s = natsOptions_SetName(opts, node_name);
  if (s == NATS_OK)
    s = natsOptions_SetNoEcho(opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait(opts, CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectBufSize(opts, CHATD_CLUSTER_BUS_RECONNECT_BUFFER_BYTES);
  if (s == NATS_OK)
    s = natsOptions_SetPingInterval(opts, CHATD_CLUSTER_BUS_PING_INTERVAL_MS);
  if (s == NATS_OK)
    s = natsOptions_SetMaxPingsOut(opts, CHATD_CLUSTER_BUS_MAX_PINGS_OUT);
  /* One delivery thread for all subscriptions (the pool's size is one),
   * so that messages of different subjects stay in order. */
  if (s == NATS_OK)
    s = natsOptions_UseGlobalMessageDelivery(opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB(opts, on_nats_disconnected, inbox);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(opts, on_nats_reconnected, inbox);
  if (s == NATS_OK)
    s = natsOptions_SetClosedCB(opts, on_nats_closed, inbox);
  if (s == NATS_OK)
    s = natsOptions_SetErrorHandler(opts, on_nats_error, inbox);
  if (nats_failed(s, "options", error)) {
    natsOptions_Destroy(opts);
    return NULL;
  }
  return opts;
}

/* What libnats takes ("[nats://][user[:password]@]host[:port]"); libnats
 * itself reads the URLs only when it connects, in the connecting thread. */
static gboolean url_is_valid(const char *url, GError **error) {
  g_autofree char *full = strstr(url, "://") ? g_strdup(url) : g_strconcat("nats://", url, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(GUri) uri = g_uri_parse(full, G_URI_FLAGS_NONE, &local);
  const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
  const char *host = uri ? g_uri_get_host(uri) : NULL;
  if (uri == NULL ||
      (g_ascii_strcasecmp(scheme, "nats") != 0 && g_ascii_strcasecmp(scheme, "tls") != 0) ||
      host == NULL || host[0] == '\0' || g_uri_get_port(uri) == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "NATS: bad server URL \"%s\"%s%s",
                url, local ? ": " : "", local ? local->message : "");
    return FALSE;
  }
  return TRUE;
}

ChatdClusterBus *chatd_cluster_bus_connect(const char *const *urls, const char *node_name,
                                           GMainContext *context, ChatdBusStateFunc on_state,
                                           ChatdBusMessageFunc on_message, gpointer user_data,
                                           GError **error) {
  if (urls == NULL || urls[0] == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "NATS: no server URL");
    return NULL;
  }
  for (gsize i = 0; urls[i]; i++) {
    if (!url_is_valid(urls[i], error))
      return NULL;
  }

  BusInbox *inbox = inbox_new();
  natsOptions *opts = make_options(urls, node_name, inbox, error);
  if (opts == NULL) {
    inbox_unref(inbox);
    return NULL;
  }

  ChatdClusterBus *bus = g_new0(ChatdClusterBus, 1);
  bus->inbox = inbox;
  bus->on_state = on_state;
  bus->on_message = on_message;
  bus->user_data = user_data;
  bus->subscriptions =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, bus_subscription_free);
  bus->source = (BusSource *)g_source_new(&bus_source_funcs, sizeof(BusSource));
  bus->source->bus = bus;
  g_source_set_name((GSource *)bus->source, "chatd cluster bus");
  inbox->source = (GSource *)bus->source;
  g_source_attach((GSource *)bus->source, context);

  BusConnector *connector = g_new(BusConnector, 1);
  connector->inbox = inbox_ref(inbox);
  connector->opts = opts;
  g_thread_unref(g_thread_new("chatd-bus-connect", connector_thread, connector));
  return bus;
}

/* A NATS subject: tokens separated by '.', none empty, no white space; '*'
 * and '>' only as whole tokens, '>' only as the last one. */
static gboolean subject_is_valid(const char *subject) {
  if (subject[0] == '\0')
    return FALSE;
  const char *token = subject;
  for (;;) {
    const char *end = strchr(token, '.');
    gsize len = end ? (gsize)(end - token) : strlen(token);
    if (len == 0)
      return FALSE;
    for (gsize i = 0; i < len; i++) {
      if (g_ascii_isspace(token[i]) || ((token[i] == '*' || token[i] == '>') && len != 1))
        return FALSE;
    }
    if (end == NULL)
      return TRUE;
    if (len == 1 && token[0] == '>')
      return FALSE;
    token = end + 1;
  }
}

guint64 chatd_cluster_bus_subscribe(ChatdClusterBus *bus, const char *subject) {
  g_return_val_if_fail(bus != NULL && subject != NULL, 0);
  if (!subject_is_valid(subject))
    return 0;
  guint64 id = bus->last_subscription + 1;
  BusSubscription *sub = g_new0(BusSubscription, 1);
  sub->subject = g_strdup(subject);
  if (bus->conn && !attach_subscription(bus, id, sub)) {
    bus_subscription_free(sub);
    return 0;
  }
  bus->last_subscription = id;
  g_hash_table_insert(bus->subscriptions, g_memdup2(&id, sizeof id), sub);
  return id;
}

void chatd_cluster_bus_unsubscribe(ChatdClusterBus *bus, guint64 subscription) {
  g_return_if_fail(bus != NULL);
  BusSubscription *sub = g_hash_table_lookup(bus->subscriptions, &subscription);
  if (sub == NULL)
    return;
  if (sub->sub)
    natsSubscription_Unsubscribe(sub->sub);
  g_hash_table_remove(bus->subscriptions, &subscription); /* destroys sub */
}

gboolean chatd_cluster_bus_publish(ChatdClusterBus *bus, const char *subject, const guint8 *data,
                                   gsize len) {
  g_return_val_if_fail(bus != NULL && subject != NULL && (data != NULL || len == 0), FALSE);
  if (bus->conn == NULL || len > INT_MAX)
    return FALSE;
  natsStatus s = natsConnection_Publish(bus->conn, subject, data, (int)len);
  if (s != NATS_OK) {
    g_debug("cluster bus: cannot publish on %s: %s", subject, natsStatus_GetText(s));
    return FALSE;
  }
  return TRUE;
}

gboolean chatd_cluster_bus_is_connected(ChatdClusterBus *bus) {
  g_return_val_if_fail(bus != NULL, FALSE);
  return bus->connected;
}

void chatd_cluster_bus_free(ChatdClusterBus *bus) {
  if (bus == NULL)
    return;
  BusInbox *inbox = bus->inbox;

  /* From here on libnats' handlers and the connecting thread queue nothing
   * and wake nobody. */
  g_mutex_lock(&inbox->lock);
  inbox->closed = TRUE;
  inbox->source = NULL;
  GQueue queued = inbox->items;
  g_queue_init(&inbox->items);
  g_cond_broadcast(&inbox->closed_cond);
  g_mutex_unlock(&inbox->lock);
  g_queue_clear_full(&queued, item_free);

  if (bus->conn)
    natsConnection_Close(bus->conn); /* closes the subscriptions too */
  g_hash_table_destroy(bus->subscriptions);
  bus->subscriptions = NULL;
  if (bus->conn)
    natsConnection_Destroy(bus->conn);
  bus->conn = NULL;
  inbox_unref(inbox);
  bus->inbox = NULL;

  g_source_destroy((GSource *)bus->source);
  g_source_unref((GSource *)bus->source);
  if (bus->dispatching) {
    bus->freed = TRUE; /* bus_source_dispatch frees it when the callback returns */
    return;
  }
  g_free(bus);
}

void chatd_cluster_bus_set_queue_limits(ChatdClusterBus *bus, gsize max_messages, gsize max_bytes) {
  g_mutex_lock(&bus->inbox->lock);
  bus->inbox->max_queued_messages = max_messages;
  bus->inbox->max_queued_bytes = max_bytes;
  g_mutex_unlock(&bus->inbox->lock);
}

guint64 chatd_cluster_bus_dropped(ChatdClusterBus *bus) {
  g_mutex_lock(&bus->inbox->lock);
  guint64 dropped = bus->inbox->dropped;
  g_mutex_unlock(&bus->inbox->lock);
  return dropped;
}
