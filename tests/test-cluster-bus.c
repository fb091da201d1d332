/* The cluster bus (chatd/cluster-bus.h) against a private nats-server:
 * delivery in order on the context's thread, no echo, unsubscribing,
 * outages (server restarted, server down at start, one node cut off) and
 * freeing with messages still coming. Every wait polls a condition with a
 * deadline. */
#include <criterion/criterion.h>
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatd/cluster-bus-private.h"
#include "chatd/cluster-bus.h"
#include "nats-fixture.h"
#include "test-util.h"

/* Deadlines of the waits. */
#define WAIT_MS 10000
/* How long one probe is given to arrive before the next is sent. */
#define PROBE_INTERVAL_MS 100
#define PROBE_PREFIX "probe:"

/* ---- what a bus delivered ---- */

typedef struct {
  const char *name;       /* this node's name; its probes say it */
  GThread *thread;        /* the thread every callback must run on */
  GPtrArray *messages;    /* "subject data" of everything but probes */
  GPtrArray *probes;      /* "subject data" of probes */
  GArray *states;         /* gboolean, in order */
  GPtrArray *log;         /* every callback but probes: "state 1", "t.a text" */
  gboolean wrong_thread;  /* a callback ran on another thread */
  guint calls_after_free; /* callbacks after chatd_cluster_bus_free() */
  gboolean freed;
  /* Actions taken from the callbacks. */
  ChatdClusterBus *bus;
  guint64 unsubscribe_on_message; /* unsubscribe this on the first message */
  gboolean free_on_message;       /* free the bus on the first message */
} Recorder;

static void recorder_init(Recorder *rec, const char *name) {
  memset(rec, 0, sizeof *rec);
  rec->name = name;
  rec->thread = g_thread_self();
  rec->messages = g_ptr_array_new_with_free_func(g_free);
  rec->probes = g_ptr_array_new_with_free_func(g_free);
  rec->states = g_array_new(FALSE, FALSE, sizeof(gboolean));
  rec->log = g_ptr_array_new_with_free_func(g_free);
}

static void recorder_clear(Recorder *rec) {
  g_ptr_array_unref(rec->messages);
  g_ptr_array_unref(rec->probes);
  g_array_unref(rec->states);
  g_ptr_array_unref(rec->log);
}

static void on_message(const char *subject, const guint8 *data, gsize len, gpointer user_data) {
  Recorder *rec = user_data;
  if (g_thread_self() != rec->thread)
    rec->wrong_thread = TRUE;
  if (rec->freed)
    rec->calls_after_free++;
  char *entry = g_strdup_printf("%s %.*s", subject, (int)len, (const char *)data);
  gboolean probe = len >= strlen(PROBE_PREFIX) && memcmp(data, PROBE_PREFIX, 6) == 0;
  g_ptr_array_add(probe ? rec->probes : rec->messages, entry);
  if (!probe)
    g_ptr_array_add(rec->log, g_strdup(entry));
  if (rec->unsubscribe_on_message) {
    chatd_cluster_bus_unsubscribe(rec->bus, rec->unsubscribe_on_message);
    rec->unsubscribe_on_message = 0;
  }
  if (rec->free_on_message) {
    rec->free_on_message = FALSE;
    chatd_cluster_bus_free(rec->bus);
    rec->freed = TRUE;
  }
}

static void on_state(gboolean connected, gpointer user_data) {
  Recorder *rec = user_data;
  if (g_thread_self() != rec->thread)
    rec->wrong_thread = TRUE;
  if (rec->freed)
    rec->calls_after_free++;
  g_array_append_val(rec->states, connected);
  g_ptr_array_add(rec->log, g_strdup_printf("state %d", connected));
}

static gboolean has_message(Recorder *rec, const char *entry) {
  for (guint i = 0; i < rec->messages->len; i++) {
    if (strcmp(rec->messages->pdata[i], entry) == 0)
      return TRUE;
  }
  return FALSE;
}

/* A probe of node `from` in rec's probes. */
static gboolean has_probe_from(Recorder *rec, const char *from) {
  for (guint i = 0; i < rec->probes->len; i++) {
    if (strstr(rec->probes->pdata[i], from) != NULL)
      return TRUE;
  }
  return FALSE;
}

/* ---- waiting ---- */

typedef struct {
  Recorder *rec;
  guint count;
  const char *text;
} Expect;

static gboolean got_messages(gpointer data) {
  Expect *e = data;
  return e->rec->messages->len >= e->count;
}

static gboolean got_message(gpointer data) {
  Expect *e = data;
  return has_message(e->rec, e->text);
}

static gboolean got_probes(gpointer data) {
  Expect *e = data;
  return e->rec->probes->len >= e->count;
}

static gboolean got_states(gpointer data) {
  Expect *e = data;
  return e->rec->states->len >= e->count;
}

static gboolean wait_messages(Recorder *rec, guint count) {
  Expect e = {rec, count, NULL};
  return test_spin_until(got_messages, &e, WAIT_MS);
}

static gboolean wait_message(Recorder *rec, const char *text) {
  Expect e = {rec, 0, text};
  return test_spin_until(got_message, &e, WAIT_MS);
}

static gboolean wait_states(Recorder *rec, guint count) {
  Expect e = {rec, count, NULL};
  return test_spin_until(got_states, &e, WAIT_MS);
}

/* Publishes probes from `from` on subject until `to` receives one: `to`'s
 * subscription is then active on the server (a subscription takes effect
 * one round trip after chatd_cluster_bus_subscribe). */
static gboolean wait_subscribed(ChatdClusterBus *from, const char *from_name, const char *subject,
                                Recorder *to) {
  g_autofree char *probe = g_strdup_printf(PROBE_PREFIX "%s", from_name);
  gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
  while (g_get_monotonic_time() < end) {
    Expect e = {to, to->probes->len + 1, NULL};
    chatd_cluster_bus_publish(from, subject, (const guint8 *)probe, strlen(probe));
    if (test_spin_until(got_probes, &e, PROBE_INTERVAL_MS))
      return TRUE;
  }
  return FALSE;
}

static void publish_text(ChatdClusterBus *bus, const char *subject, const char *text) {
  cr_assert(chatd_cluster_bus_publish(bus, subject, (const guint8 *)text, strlen(text)),
            "publish on %s refused", subject);
}

/* ---- fixtures ---- */

static NatsFixture *nats;

static void start_server(void) {
  nats = nats_fixture_start();
  cr_assert_not_null(nats, "nats-server is not installed");
}

static void stop_server(void) {
  nats_fixture_stop(nats);
  nats = NULL;
}

/* The n-th state rec was told is `connected` (after waiting for it). */
static void assert_state(Recorder *rec, guint n, gboolean connected) {
  cr_assert(wait_states(rec, n + 1), "%s: %u states, no state #%u", rec->name, rec->states->len, n);
  cr_assert_eq(g_array_index(rec->states, gboolean, n), connected, "%s: state #%u is %d", rec->name,
               n, !connected);
}

/* A bus for rec; connected (its first state) unless wait is FALSE. */
static ChatdClusterBus *connect_bus_full(const char *url, Recorder *rec, gboolean wait) {
  const char *urls[] = {url, NULL};
  g_autoptr(GError) error = NULL;
  ChatdClusterBus *bus =
      chatd_cluster_bus_connect(urls, rec->name, NULL, on_state, on_message, rec, &error);
  cr_assert_not_null(bus, "connect: %s", error ? error->message : "?");
  rec->bus = bus;
  cr_assert_not(chatd_cluster_bus_is_connected(bus), "connected before it said so");
  if (wait) {
    assert_state(rec, 0, TRUE);
    cr_assert(chatd_cluster_bus_is_connected(bus));
  }
  return bus;
}

static ChatdClusterBus *connect_bus(const char *url, Recorder *rec) {
  return connect_bus_full(url, rec, TRUE);
}

TestSuite(cluster_bus, .init = start_server, .fini = stop_server, .timeout = 120);

/* Messages of several subjects arrive in the order they were published, on
 * the thread of the bus's context. */
Test(cluster_bus, delivers_in_order_on_the_context_thread) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.one"), 0);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.two.*"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.one", &rb));
  cr_assert(wait_subscribed(a, ra.name, "t.two.x", &rb));

  enum { COUNT = 2000 };
  for (int i = 0; i < COUNT; i++) {
    g_autofree char *text = g_strdup_printf("%d", i);
    publish_text(a, i % 3 == 0 ? "t.one" : "t.two.x", text);
  }
  cr_assert(wait_messages(&rb, COUNT), "%u of %d messages arrived", rb.messages->len, COUNT);
  for (int i = 0; i < COUNT; i++) {
    g_autofree char *want = g_strdup_printf("%s %d", i % 3 == 0 ? "t.one" : "t.two.x", i);
    cr_assert_str_eq(rb.messages->pdata[i], want);
  }
  cr_assert_not(rb.wrong_thread, "a callback ran on another thread");
  cr_assert_eq(rb.states->len, 1, "no state change without an outage");

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* A node does not get its own messages, even on a subject it subscribed to. */
Test(cluster_bus, does_not_echo_a_nodes_own_messages) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(a, "t.x"), 0);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.x"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.x", &rb));
  cr_assert(wait_subscribed(b, rb.name, "t.x", &ra));

  publish_text(a, "t.x", "from-a");
  cr_assert(wait_message(&rb, "t.x from-a"));
  /* b answers only after it got a's message, so the server handled a's
   * message first: had it been echoed to a, a would have it before this. */
  publish_text(b, "t.x", "from-b");
  cr_assert(wait_message(&ra, "t.x from-b"));
  cr_assert_not(has_message(&ra, "t.x from-a"), "a got its own message");
  cr_assert_not(has_probe_from(&ra, "node-a"), "a got its own probe");
  cr_assert_eq(ra.messages->len, 1);

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* After unsubscribe, nothing more of that subscription is delivered: neither
 * what is already queued nor what the server still sends. */
Test(cluster_bus, unsubscribe_stops_delivery) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  guint64 gone = chatd_cluster_bus_subscribe(b, "t.gone");
  guint64 kept = chatd_cluster_bus_subscribe(b, "t.kept");
  cr_assert_neq(gone, 0);
  cr_assert_neq(kept, 0);
  cr_assert_neq(gone, kept);
  cr_assert(wait_subscribed(a, ra.name, "t.gone", &rb));
  cr_assert(wait_subscribed(a, ra.name, "t.kept", &rb));

  /* b unsubscribes from t.gone on the first message it gets; the other
   * ones are queued behind it or still on their way. */
  rb.unsubscribe_on_message = gone;
  for (int i = 0; i < 100; i++) {
    g_autofree char *text = g_strdup_printf("%d", i);
    publish_text(a, "t.gone", text);
  }
  publish_text(a, "t.kept", "end");
  cr_assert(wait_message(&rb, "t.kept end"));
  cr_assert_eq(rb.messages->len, 2, "%u messages delivered", rb.messages->len);
  cr_assert_str_eq(rb.messages->pdata[0], "t.gone 0");

  /* Unknown and stale handles are ignored. */
  chatd_cluster_bus_unsubscribe(b, gone);
  chatd_cluster_bus_unsubscribe(b, 12345);
  publish_text(a, "t.gone", "late");
  publish_text(a, "t.kept", "end2");
  cr_assert(wait_message(&rb, "t.kept end2"));
  cr_assert_not(has_message(&rb, "t.gone late"));

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* The server restarts: each node is told the connection is lost, then back;
 * libnats restored the subscriptions. */
Test(cluster_bus, survives_a_server_restart) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(a, "t.r"), 0);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.r"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.r", &rb));
  cr_assert(wait_subscribed(b, rb.name, "t.r", &ra));

  cr_assert(nats_fixture_restart(nats));
  for (Recorder *rec = &ra; rec; rec = rec == &ra ? &rb : NULL) {
    assert_state(rec, 1, FALSE);
    assert_state(rec, 2, TRUE);
    cr_assert_eq(rec->states->len, 3);
    cr_assert_not(rec->wrong_thread);
  }
  cr_assert(chatd_cluster_bus_is_connected(a));
  cr_assert(chatd_cluster_bus_is_connected(b));

  /* Both ways, without subscribing again. */
  cr_assert(wait_subscribed(a, ra.name, "t.r", &rb));
  cr_assert(wait_subscribed(b, rb.name, "t.r", &ra));
  publish_text(a, "t.r", "after");
  cr_assert(wait_message(&rb, "t.r after"));

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* ---- a TCP relay that can cut one node off the server ---- */

typedef struct {
  GSocketConnection *down; /* the node's side */
  GSocketConnection *up;   /* the server's side */
} RelayLink;

typedef struct {
  GSocketService *service;
  guint16 port;
  guint16 server_port;
  gboolean open; /* links new connections to the server; else closes them */
  GPtrArray *links;
  char *url;
} Relay;

static void relay_link_free(gpointer data) {
  RelayLink *link = data;
  g_object_unref(link->down);
  g_object_unref(link->up);
  g_free(link);
}

static void shut(GSocketConnection *connection) {
  g_socket_shutdown(g_socket_connection_get_socket(connection), TRUE, TRUE, NULL);
}

static void relay_spliced(GObject *source, GAsyncResult *result, gpointer data) {
  g_io_stream_splice_finish(result, NULL);
}

static gboolean relay_incoming(GSocketService *service, GSocketConnection *down, GObject *source,
                               gpointer data) {
  Relay *relay = data;
  if (!relay->open) {
    shut(down);
    return TRUE;
  }
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_autoptr(GError) error = NULL;
  GSocketConnection *up =
      g_socket_client_connect_to_host(client, "127.0.0.1", relay->server_port, NULL, &error);
  if (up == NULL) {
    shut(down);
    return TRUE;
  }
  RelayLink *link = g_new(RelayLink, 1);
  link->down = g_object_ref(down);
  link->up = up;
  g_ptr_array_add(relay->links, link);
  g_io_stream_splice_async(G_IO_STREAM(down), G_IO_STREAM(up),
                           G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2,
                           G_PRIORITY_DEFAULT, NULL, relay_spliced, NULL);
  return TRUE;
}

static Relay *relay_new(guint16 server_port) {
  Relay *relay = g_new0(Relay, 1);
  relay->server_port = server_port;
  relay->open = TRUE;
  relay->links = g_ptr_array_new_with_free_func(relay_link_free);
  relay->service = g_socket_service_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new(loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  cr_assert(g_socket_listener_add_address(G_SOCKET_LISTENER(relay->service), any_port,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound,
                                          &error),
            "relay: %s", error ? error->message : "?");
  relay->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  relay->url = g_strdup_printf("nats://127.0.0.1:%u", relay->port);
  g_signal_connect(relay->service, "incoming", G_CALLBACK(relay_incoming), relay);
  g_socket_service_start(relay->service);
  return relay;
}

/* Cuts every link and refuses new ones until relay_open. */
static void relay_cut(Relay *relay) {
  relay->open = FALSE;
  for (guint i = 0; i < relay->links->len; i++) {
    RelayLink *link = relay->links->pdata[i];
    shut(link->down);
    shut(link->up);
  }
}

static void relay_free(Relay *relay) {
  relay_cut(relay);
  g_socket_service_stop(relay->service);
  g_socket_listener_close(G_SOCKET_LISTENER(relay->service));
  g_object_unref(relay->service);
  g_ptr_array_unref(relay->links);
  g_free(relay->url);
  g_free(relay);
}

static guint16 url_port(const char *url) {
  const char *colon = strrchr(url, ':');
  cr_assert_not_null(colon);
  return (guint16)atoi(colon + 1);
}

/* A node cut off from the server: what it publishes meanwhile is sent once
 * it is back (libnats' reconnect buffer), while the other node stayed
 * connected and subscribed. */
Test(cluster_bus, sends_what_was_published_during_an_outage) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  Relay *relay = relay_new(url_port(nats_fixture_url(nats)));
  ChatdClusterBus *a = connect_bus(relay->url, &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(a, "t.o"), 0);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.o"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.o", &rb));
  cr_assert(wait_subscribed(b, rb.name, "t.o", &ra));

  relay_cut(relay);
  assert_state(&ra, 1, FALSE);
  cr_assert_not(chatd_cluster_bus_is_connected(a));
  for (int i = 0; i < 3; i++) {
    g_autofree char *text = g_strdup_printf("during-%d", i);
    publish_text(a, "t.o", text);
  }

  relay->open = TRUE;
  cr_assert(wait_messages(&rb, 3), "%u of 3 messages sent during the outage arrived",
            rb.messages->len);
  cr_assert_str_eq(rb.messages->pdata[0], "t.o during-0");
  cr_assert_str_eq(rb.messages->pdata[1], "t.o during-1");
  cr_assert_str_eq(rb.messages->pdata[2], "t.o during-2");
  assert_state(&ra, 2, TRUE);
  cr_assert(chatd_cluster_bus_is_connected(a));
  cr_assert_eq(rb.states->len, 1, "b was not cut off");

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  relay_free(relay);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* No server yet: connect succeeds, the bus is not connected, and it
 * connects by itself (with its subscriptions) once the server is up. */
Test(cluster_bus, connects_once_the_server_comes_up) {
  nats_fixture_down(nats);
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus_full(nats_fixture_url(nats), &ra, FALSE);
  ChatdClusterBus *b = connect_bus_full(nats_fixture_url(nats), &rb, FALSE);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.late"), 0);
  cr_assert_not(chatd_cluster_bus_publish(a, "t.late", (const guint8 *)"x", 1),
                "published without a connection");
  /* No server, no state: not in a few reconnect periods either. */
  Expect none = {&ra, 1, NULL};
  cr_assert_not(test_spin_until(got_states, &none, 4 * CHATD_CLUSTER_BUS_RECONNECT_WAIT_MS));

  cr_assert(nats_fixture_up(nats));
  assert_state(&ra, 0, TRUE);
  assert_state(&rb, 0, TRUE);
  cr_assert(chatd_cluster_bus_is_connected(a));
  cr_assert(chatd_cluster_bus_is_connected(b));
  cr_assert(wait_subscribed(a, ra.name, "t.late", &rb));
  publish_text(a, "t.late", "hello");
  cr_assert(wait_message(&rb, "t.late hello"));

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

static gboolean context_pending(gpointer data) {
  return g_main_context_pending(data);
}

/* Freed with messages queued and still arriving: no callback afterwards. */
Test(cluster_bus, free_with_messages_queued_calls_nothing) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  /* b on a context of its own, iterated only when the test says so. */
  GMainContext *b_context = g_main_context_new();
  const char *urls[] = {nats_fixture_url(nats), NULL};
  ChatdClusterBus *b =
      chatd_cluster_bus_connect(urls, rb.name, b_context, on_state, on_message, &rb, NULL);
  cr_assert_not_null(b);
  rb.bus = b;
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.f"), 0);
  /* Until b has a probe: iterate b's context while waiting. */
  gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
  while (rb.probes->len == 0 && g_get_monotonic_time() < end) {
    chatd_cluster_bus_publish(a, "t.f", (const guint8 *)PROBE_PREFIX "a", 7);
    gint64 next = g_get_monotonic_time() + PROBE_INTERVAL_MS * 1000;
    while (rb.probes->len == 0 && g_get_monotonic_time() < next) {
      if (!g_main_context_iteration(b_context, FALSE))
        g_usleep(500);
    }
  }
  cr_assert_gt(rb.probes->len, 0, "b's subscription never became active");

  enum { COUNT = 20000 };
  for (int i = 0; i < COUNT; i++)
    publish_text(a, "t.f", "queued");
  cr_assert(test_spin_until(context_pending, b_context, WAIT_MS), "nothing queued for b");
  guint before = rb.messages->len + rb.probes->len + rb.states->len;
  chatd_cluster_bus_free(b);
  rb.freed = TRUE;
  for (int i = 0; i < 100; i++)
    g_main_context_iteration(b_context, FALSE);
  cr_assert_eq(rb.messages->len + rb.probes->len + rb.states->len, before);
  cr_assert_eq(rb.calls_after_free, 0);

  chatd_cluster_bus_free(a);
  g_main_context_unref(b_context);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

/* A callback may free the bus: the rest of its batch is not delivered. */
Test(cluster_bus, free_from_a_callback) {
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.cb"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.cb", &rb));
  rb.free_on_message = TRUE;
  for (int i = 0; i < 1000; i++)
    publish_text(a, "t.cb", "m");
  cr_assert(wait_messages(&rb, 1));
  cr_assert(rb.freed);
  /* The context runs on until a later message went round through c. */
  Recorder rc;
  recorder_init(&rc, "node-c");
  ChatdClusterBus *c = connect_bus(nats_fixture_url(nats), &rc);
  cr_assert_neq(chatd_cluster_bus_subscribe(c, "t.cb"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.cb", &rc));
  publish_text(a, "t.cb", "last");
  cr_assert(wait_message(&rc, "t.cb last"));
  cr_assert_eq(rb.messages->len, 1);
  cr_assert_eq(rb.calls_after_free, 0);

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(c);
  recorder_clear(&ra);
  recorder_clear(&rb);
  recorder_clear(&rc);
}

static guint bus_warnings;

static void count_warning(const char *domain, GLogLevelFlags level, const char *message,
                          gpointer data) {
  bus_warnings++;
}

typedef struct {
  ChatdClusterBus *bus;
  guint64 count;
} DropWait;

static gboolean dropped_enough(gpointer data) {
  DropWait *w = data;
  return chatd_cluster_bus_dropped(w->bus) >= w->count;
}

/* Past the queue's bound messages are dropped, with a warning, and the node
 * is told as for an outage: connection lost where the first one was
 * dropped, back once the queue drained. */
Test(cluster_bus, a_full_queue_drops_and_says_so) {
  /* The warning is expected here: counted, not fatal. */
  g_log_set_always_fatal(G_LOG_FATAL_MASK);
  g_log_set_handler("chatd-bus", G_LOG_LEVEL_WARNING, count_warning, NULL);
  Recorder ra, rb;
  recorder_init(&ra, "node-a");
  recorder_init(&rb, "node-b");
  ChatdClusterBus *a = connect_bus(nats_fixture_url(nats), &ra);
  ChatdClusterBus *b = connect_bus(nats_fixture_url(nats), &rb);
  cr_assert_neq(chatd_cluster_bus_subscribe(b, "t.q"), 0);
  cr_assert(wait_subscribed(a, ra.name, "t.q", &rb));
  g_ptr_array_set_size(rb.log, 0);

  enum { LIMIT = 10, SENT = 50 };
  chatd_cluster_bus_set_queue_limits(b, LIMIT, 1024 * 1024);
  for (int i = 0; i < SENT; i++) {
    g_autofree char *text = g_strdup_printf("%d", i);
    publish_text(a, "t.q", text);
  }
  /* Wait without iterating the context: the queue fills up. */
  DropWait w = {b, SENT - LIMIT};
  gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
  while (!dropped_enough(&w) && g_get_monotonic_time() < end)
    g_usleep(1000);
  cr_assert_eq(chatd_cluster_bus_dropped(b), SENT - LIMIT);

  publish_text(a, "t.q", "after");
  cr_assert(wait_message(&rb, "t.q after"));
  cr_assert_eq(rb.log->len, LIMIT + 3, "%u callbacks", rb.log->len);
  for (int i = 0; i < LIMIT; i++) {
    g_autofree char *want = g_strdup_printf("t.q %d", i);
    cr_assert_str_eq(rb.log->pdata[i], want);
  }
  cr_assert_str_eq(rb.log->pdata[LIMIT], "state 0");
  cr_assert_str_eq(rb.log->pdata[LIMIT + 1], "state 1");
  cr_assert_str_eq(rb.log->pdata[LIMIT + 2], "t.q after");
  cr_assert(chatd_cluster_bus_is_connected(b));
  cr_assert_eq(bus_warnings, 1);

  chatd_cluster_bus_free(a);
  chatd_cluster_bus_free(b);
  recorder_clear(&ra);
  recorder_clear(&rb);
}

Test(cluster_bus, refuses_bad_urls) {
  Recorder ra;
  recorder_init(&ra, "node-a");
  g_autoptr(GError) error = NULL;
  const char *none[] = {NULL};
  cr_assert_null(chatd_cluster_bus_connect(none, "n", NULL, on_state, on_message, &ra, &error));
  cr_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  g_clear_error(&error);
  const char *bad[][3] = {{"nats://127.0.0.1:notaport", NULL},
                          {"nats://127.0.0.1:4222", "http://127.0.0.1:4222", NULL},
                          {"nats://:4222", NULL},
                          {"nats://127.0.0.1:99999", NULL}};
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    cr_assert_null(chatd_cluster_bus_connect(bad[i], "n", NULL, on_state, on_message, &ra, &error));
    cr_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT), "%s", bad[i][0]);
    g_clear_error(&error);
  }
  /* Forms libnats takes. */
  const char *good[] = {"127.0.0.1:4222", "nats://user:pw@localhost", NULL};
  ChatdClusterBus *bus =
      chatd_cluster_bus_connect(good, "n", NULL, on_state, on_message, &ra, &error);
  cr_assert_not_null(bus, "%s", error ? error->message : "?");
  chatd_cluster_bus_free(bus);
  cr_assert_eq(ra.states->len, 0);
  recorder_clear(&ra);
}

/* Criterion's main, preceded by the check that nats-server is installed:
 * without it there is nothing to run, and meson is told so (a TAP plan of
 * nothing, skipped: meson reads this program's output as TAP). */
int main(int argc, char *argv[]) {
  if (!nats_fixture_available()) {
    printf("1..0 # SKIP nats-server is not installed\n");
    return 0;
  }
  struct criterion_test_set *tests = criterion_initialize();
  int result = 0;
  if (criterion_handle_args(argc, argv, true))
    result = !criterion_run_all_tests(tests);
  criterion_finalize(tests);
  return result;
}
