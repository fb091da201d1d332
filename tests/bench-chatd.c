/* bench-chatd: a load generator for chatd, on its own epoll loop
 * (protocol/io), so holding tens of thousands of connections costs it
 * nothing per message.
 *
 *   bench-chatd --port P [--port P2 ...] [--pairs N] [--messages M]
 *               [--window W] [--idle N] [--room-members K]
 *               [--room-messages R] [--setup-window S] [--timeout SECONDS]
 *               [--hold]
 *   bench-chatd --servers 127.0.0.1:P1,127.0.0.1:P2,... [options as above]
 *
 * Several servers (the nodes of a cluster, each given by its port): the
 * clients of each phase are spread over them (1:1 pair p, clients 2p and
 * 2p+1, on nodes p and p+1 mod nodes), so with two nodes or more both users
 * of every pair are on different nodes (cross-node), the senders are spread
 * over every node, and so are a room's members. The output then starts with one line giving each
 * node's connections. With one server the output is as it always was.
 *
 * Phases, each printing one summary line:
 *   1:1       N pairs, each sender keeping W messages in flight; messages/s
 *             and the latency from send to acknowledgement (the sender's
 *             copy, which chatd sends after the commit). Every
 *             acknowledgement is one sample.
 *   idle      (with --idle N) N more clients connect, register and log in
 *             (at most S at a time in setup); the login rate. They stay.
 *   1:1       again while the idle clients are held, with its ratio to the
 *             first run.
 *   room      (with --room-members K) one sender posts R messages to a room
 *             of K members; deliveries/s to the others.
 *   --hold    keeps every connection until stdin ends (read chatd's RSS).
 *
 * Start chatd first with a cheap password cost and a generous login_rate
 * (the config the README's benchmark section shows). Only loopback is
 * targeted. Exit status 1 when a phase does not finish within --timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "load-clients.h"

#define DEFAULT_PAIRS 10
#define DEFAULT_MESSAGES 2000
#define DEFAULT_WINDOW 8
#define DEFAULT_ROOM_MESSAGES 500
#define DEFAULT_TIMEOUT_S 120
#define TEXT_BYTES 64
#define CLIENT_MSG_ID_MAX 32
#define LAST_LOGINS 1000u

/* What the bench keeps per client, beside its LoadClient. */
typedef struct {
  LoadClient *load;
  /* What came in. */
  guint add_friend_results;
  guint incoming_requests; /* incoming_friend_request messages */
  guint contacts;          /* contact_info messages */
  gint64 room_id;          /* the room this client created */
  gint64 joining;          /* the room this client asks to join, until it is in */
  guint received;          /* on_new_message copies as a receiver */
  guint acked;             /* own copies (acknowledgements) */
  /* Sending. */
  int target_type;
  gint64 target_id;
  guint total;
  guint window;
  guint sent;
  guint run;         /* part of the client_msg_id, so runs never collide */
  gint64 *sent_at;   /* per message index, monotonic us */
  GArray *latencies; /* gint64 us, one per acknowledgement */
} Client;

#define MAX_NODES 64

static ChatIoLoop *loop;
static LoadClients *nodes[MAX_NODES]; /* one per server, each with its own pipeline */
static guint16 node_ports[MAX_NODES];
static guint n_nodes;
static guint8 text[TEXT_BYTES];
static guint timeout_ms;
static GArray *ready_at;       /* gint64 us, when each client became ready */
static GPtrArray *all_clients; /* LoadClient*, to close them all at the end */
static gboolean finishing;

static void pump(Client *c);

/* ---- sending ---- */

static void send_message(Client *c, guint32 type, void (*write)(chat_writer *, gpointer),
                         gpointer data) {
  load_client_send(c->load, type, write, data);
}

static void write_name(chat_writer *w, gpointer data) {
  chat_write_cstr(w, data);
}

static void write_int(chat_writer *w, gpointer data) {
  chat_write_int(w, *(gint64 *)data);
}

static void write_accept(chat_writer *w, gpointer data) {
  chat_write_list_begin(w);
  chat_write_int(w, *(gint64 *)data);
  chat_write_bool(w, TRUE);
  chat_write_list_end(w);
}

/* Keeps up to `window` messages in flight. */
static void pump(Client *c) {
  while (c->sent < c->total && c->sent - c->acked < c->window) {
    c->sent_at[c->sent] = g_get_monotonic_time();
    char id[CLIENT_MSG_ID_MAX];
    g_snprintf(id, sizeof id, "r%u-%u", c->run, c->sent);
    LoadText t = {c->target_type, c->target_id, (const char *)text, sizeof text, id};
    send_message(c, CHAT_MSG_SEND_MESSAGE, load_write_text, &t);
    c->sent++;
  }
}

/* ---- receiving ---- */

/* The index in "r<run>-<index>", read within the value's own bytes. */
static gboolean parse_index(const chat_value *id, guint run, guint *index) {
  char prefix[CLIENT_MSG_ID_MAX];
  int prefix_len = g_snprintf(prefix, sizeof prefix, "r%u-", run);
  gsize len = id->as.blob.len;
  const char *p = (const char *)id->as.blob.data;
  if (len <= (gsize)prefix_len || memcmp(p, prefix, (gsize)prefix_len) != 0)
    return FALSE;
  guint64 value = 0;
  for (gsize i = (gsize)prefix_len; i < len; i++) {
    if (p[i] < '0' || p[i] > '9' || value > G_MAXUINT / 10)
      return FALSE;
    value = value * 10 + (guint64)(p[i] - '0');
  }
  *index = (guint)value;
  return TRUE;
}

static void on_new_message(Client *c, const guint8 *data, gsize len) {
  if (c->sent_at == NULL) {
    c->received++; /* a receiver: no need to look inside */
    return;
  }
  const chat_value *params = load_decode(c->load->owner, data, len);
  gint64 sender = 0;
  if (params == NULL || !chat_value_get_i64(chat_value_dict_get(params, "sender_id"), &sender) ||
      sender != c->load->user_id) {
    c->received++;
    return;
  }
  const chat_value *id = chat_value_dict_get(params, "client_msg_id");
  guint index;
  if (id == NULL || !parse_index(id, c->run, &index) || index >= c->sent) {
    g_printerr("bench-chatd: %s: an acknowledgement without a known client_msg_id\n",
               c->load->name);
    exit(1);
  }
  gint64 latency = g_get_monotonic_time() - c->sent_at[index];
  g_array_append_val(c->latencies, latency);
  c->acked++;
  pump(c);
}

static void on_message(LoadClient *lc, guint32 type, const guint8 *data, gsize len) {
  Client *c = lc->data;
  switch (type) {
  case CHAT_MSG_ON_NEW_MESSAGE:
    on_new_message(c, data, len);
    break;
  case CHAT_MSG_SESSION_BUNDLE: {
    gint64 now = g_get_monotonic_time();
    g_array_append_val(ready_at, now);
    break;
  }
  case CHAT_MSG_ADD_FRIEND_RESULT:
    c->add_friend_results++;
    break;
  case CHAT_MSG_REQUEST_FAILED:
    /* In a cluster a room made on another node takes a moment to get here:
     * ask again until in. */
    if (c->joining != 0 && c->contacts == 0)
      send_message(c, CHAT_MSG_JOIN_ROOM, write_int, &c->joining);
    break;
  case CHAT_MSG_INCOMING_FRIEND_REQUEST:
    c->incoming_requests++;
    break;
  case CHAT_MSG_CONTACT_INFO: {
    c->contacts++;
    const chat_value *params = load_decode(c->load->owner, data, len);
    if (params && chat_value_dict_get(params, "room_name"))
      chat_value_get_i64(chat_value_dict_get(params, "id"), &c->room_id);
    break;
  }
  default:
    break;
  }
}

static void on_closed(LoadClient *lc, const GError *reason) {
  if (finishing)
    return;
  g_printerr("bench-chatd: %s: closed%s%s\n", lc->name, reason ? ": " : "",
             reason ? reason->message : "");
  exit(1);
}

/* ---- running ---- */

static void run_until(gboolean (*done)(gpointer), gpointer data, const char *what) {
  if (!load_run_until(loop, done, data, timeout_ms)) {
    g_printerr("bench-chatd: %s did not finish within %u s\n", what, timeout_ms / 1000);
    exit(1);
  }
}

typedef struct {
  Client *clients;
  guint n;
} Group;

static gboolean all_ready(gpointer data) {
  Group *g = data;
  for (guint i = 0; i < g->n; i++)
    if (g->clients[i].load->state != LOAD_READY)
      return FALSE;
  return TRUE;
}

/* The node of client i of a phase. */
static guint node_of(guint i) {
  return (i / 2 + i % 2) % n_nodes;
}

/* n clients named prefix0, prefix1, ...: connected, registered, logged in;
 * client i on node node_of(i). */
static Group make_clients(guint n, const char *prefix) {
  Group g = {g_new0(Client, n), n};
  LoadClient *loads = g_new0(LoadClient, n);
  for (guint i = 0; i < n; i++) {
    g.clients[i].load = &loads[i];
    g.clients[i].latencies = g_array_new(FALSE, FALSE, sizeof(gint64));
    loads[i].data = &g.clients[i];
    g_ptr_array_add(all_clients, &loads[i]);
  }
  if (n_nodes == 1) {
    load_clients_add(nodes[0], loads, n, prefix, TRUE);
  } else {
    for (guint i = 0; i < n; i++) {
      char name[sizeof loads[i].name];
      g_snprintf(name, sizeof name, "%s%u", prefix, i);
      /* pair p (clients 2p, 2p+1) on nodes p and p+1: cross-node, and the
       * senders (2p) spread over every node */
      load_clients_add_named(nodes[node_of(i)], &loads[i], name, TRUE);
    }
  }
  run_until(all_ready, &g, "connecting and logging in");
  return g;
}

static gboolean first_got_results(gpointer data) {
  Group *g = data;
  for (guint i = 0; i < g->n; i += 2)
    if (g->clients[i].add_friend_results == 0)
      return FALSE;
  return TRUE;
}

/* Every second client of a pair has its request: in a cluster it travels
 * from the asker's node to the other one, after the asker's answer. */
static gboolean second_got_requests(gpointer data) {
  Group *g = data;
  for (guint i = 1; i < g->n; i += 2)
    if (g->clients[i].incoming_requests == 0)
      return FALSE;
  return TRUE;
}

static gboolean pairs_are_friends(gpointer data) {
  Group *g = data;
  for (guint i = 0; i < g->n; i++)
    if (g->clients[i].contacts == 0)
      return FALSE;
  return TRUE;
}

/* Makes clients 2p and 2p+1 friends. */
static void befriend_pairs(Group *g) {
  for (guint i = 0; i + 1 < g->n; i += 2)
    send_message(&g->clients[i], CHAT_MSG_ADD_FRIEND, write_name, g->clients[i + 1].load->name);
  run_until(first_got_results, g, "friend requests");
  run_until(second_got_requests, g, "friend requests reaching their receivers");
  for (guint i = 0; i + 1 < g->n; i += 2)
    send_message(&g->clients[i + 1], CHAT_MSG_RESOLVE_FRIEND_REQUEST, write_accept,
                 &g->clients[i].load->user_id);
  run_until(pairs_are_friends, g, "accepting friend requests");
}

static gboolean all_acked(gpointer data) {
  Group *g = data;
  for (guint i = 0; i < g->n; i++)
    if (g->clients[i].sent_at && g->clients[i].acked < g->clients[i].total)
      return FALSE;
  return TRUE;
}

static int compare_i64(gconstpointer a, gconstpointer b) {
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double per_second;
  double p50_ms, p99_ms;
  guint samples, acks;
} LoadResult;

/* One 1:1 run: each pair's first client sends `messages` to the second. */
static LoadResult run_one_to_one(Group *g, guint messages, guint window, guint run) {
  for (guint i = 0; i + 1 < g->n; i += 2) {
    Client *a = &g->clients[i];
    a->target_type = 0;
    a->target_id = g->clients[i + 1].load->user_id;
    a->total = messages;
    a->window = window;
    a->sent = a->acked = 0;
    a->run = run;
    g_free(a->sent_at);
    a->sent_at = g_new0(gint64, messages);
    g_array_set_size(a->latencies, 0);
  }
  gint64 start = g_get_monotonic_time();
  for (guint i = 0; i + 1 < g->n; i += 2)
    pump(&g->clients[i]);
  run_until(all_acked, g, "the 1:1 load");
  double seconds = (g_get_monotonic_time() - start) / 1e6;

  LoadResult r = {0};
  g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint i = 0; i + 1 < g->n; i += 2) {
    Client *a = &g->clients[i];
    g_array_append_vals(all, a->latencies->data, a->latencies->len);
    r.acks += a->acked;
  }
  g_array_sort(all, compare_i64);
  r.samples = all->len;
  r.per_second = (g->n / 2) * (double)messages / seconds;
  if (all->len > 0) {
    r.p50_ms = g_array_index(all, gint64, all->len / 2) / 1000.0;
    r.p99_ms = g_array_index(all, gint64, (guint)(all->len * 0.99)) / 1000.0;
  }
  return r;
}

static void print_load(const char *label, guint pairs, guint messages, guint window, guint held,
                       const LoadResult *r, const LoadResult *baseline) {
  printf("%s: %u pairs x %u messages, window %u, %u idle held: %.0f messages/s, p50 %.2f ms, "
         "p99 %.2f ms (%u samples of %u acks)",
         label, pairs, messages, window, held, r->per_second, r->p50_ms, r->p99_ms, r->samples,
         r->acks);
  if (baseline)
    printf(", %.0f%% of the run without idle connections",
           100.0 * r->per_second / baseline->per_second);
  printf("\n");
}

typedef struct {
  Client *clients;
  guint n;
  guint64 expected;
} Fanout;

static gboolean room_joined(gpointer data) {
  Fanout *f = data;
  if (f->clients[0].room_id == 0)
    return FALSE;
  for (guint i = 1; i < f->n; i++)
    if (f->clients[i].contacts == 0)
      return FALSE;
  return TRUE;
}

static gboolean room_created(gpointer data) {
  return ((Fanout *)data)->clients[0].room_id != 0;
}

static gboolean all_delivered(gpointer data) {
  Fanout *f = data;
  guint64 got = 0;
  for (guint i = 1; i < f->n; i++)
    got += f->clients[i].received;
  return got >= f->expected && f->clients[0].acked >= f->clients[0].total;
}

static void run_room(guint members, guint messages, guint window, const char *prefix) {
  Group g = make_clients(members, prefix);
  Fanout f = {g.clients, members, (guint64)(members - 1) * messages};
  send_message(&f.clients[0], CHAT_MSG_CREATE_ROOM, write_name, "bench room");
  run_until(room_created, &f, "creating the room");
  for (guint i = 1; i < members; i++) {
    f.clients[i].joining = f.clients[0].room_id;
    send_message(&f.clients[i], CHAT_MSG_JOIN_ROOM, write_int, &f.clients[i].joining);
  }
  run_until(room_joined, &f, "joining the room");
  for (guint i = 0; i < members; i++)
    f.clients[i].received = 0;
  Client *sender = &f.clients[0];
  sender->target_type = 1;
  sender->target_id = sender->room_id;
  sender->total = messages;
  sender->window = window;
  sender->sent_at = g_new0(gint64, messages);
  gint64 start = g_get_monotonic_time();
  pump(sender);
  run_until(all_delivered, &f, "the room load");
  double seconds = (g_get_monotonic_time() - start) / 1e6;
  printf("room: %u members, %u messages, window %u: %" G_GUINT64_FORMAT
         " deliveries in %.2f s: %.0f deliveries/s\n",
         members, messages, window, f.expected, seconds, f.expected / seconds);
}

/* Adds client i of every group of size n to its node's count. */
static void count_group(guint n, guint *counts) {
  for (guint i = 0; i < n; i++)
    counts[node_of(i)]++;
}

/* The header of a run on several nodes: each node's connections. */
static void print_nodes(guint pairs, guint messages, guint idle, guint members,
                        guint room_messages) {
  guint counts[MAX_NODES] = {0};
  if (pairs > 0 && messages > 0)
    count_group(pairs * 2, counts);
  count_group(idle, counts);
  if (members >= 2 && room_messages > 0)
    count_group(members, counts);
  printf("nodes: %u (1:1 pairs cross-node, room members spread):", n_nodes);
  for (guint i = 0; i < n_nodes; i++)
    printf("%s 127.0.0.1:%u %u connections", i ? "," : "", node_ports[i], counts[i]);
  printf("\n");
}

static void add_node(guint port) {
  if (port == 0 || port > 65535) {
    g_printerr("bench-chatd: not a port: %u\n", port);
    exit(2);
  }
  if (n_nodes == MAX_NODES) {
    g_printerr("bench-chatd: at most %d servers\n", MAX_NODES);
    exit(2);
  }
  node_ports[n_nodes++] = (guint16)port;
}

static guint parse_uint(const char *option, const char *text_value);

/* "127.0.0.1:P1,127.0.0.1:P2": loopback only, as the rest of the bench. */
static void add_servers(const char *list) {
  g_auto(GStrv) items = g_strsplit(list, ",", -1);
  for (char **item = items; *item; item++) {
    const char *colon = strrchr(*item, ':');
    if (colon == NULL ||
        (strncmp(*item, "127.0.0.1:", 10) != 0 && strncmp(*item, "localhost:", 10) != 0)) {
      g_printerr("bench-chatd: --servers: %s is not 127.0.0.1:PORT (only loopback)\n", *item);
      exit(2);
    }
    add_node(parse_uint("--servers", colon + 1));
  }
}

static guint parse_uint(const char *option, const char *text_value) {
  char *end;
  errno = 0;
  guint64 v = g_ascii_strtoull(text_value, &end, 10);
  if (errno != 0 || *end != '\0' || end == text_value || v > G_MAXUINT) {
    g_printerr("bench-chatd: %s: not a number: %s\n", option, text_value);
    exit(2);
  }
  return (guint)v;
}

static guint busy_retries(void) {
  guint n = 0;
  for (guint i = 0; i < n_nodes; i++)
    n += load_clients_busy_retries(nodes[i]);
  return n;
}

int main(int argc, char **argv) {
  guint pairs = DEFAULT_PAIRS, messages = DEFAULT_MESSAGES, window = DEFAULT_WINDOW;
  guint members = 0, room_messages = DEFAULT_ROOM_MESSAGES, idle = 0;
  guint timeout_s = DEFAULT_TIMEOUT_S, setup_window = LOAD_DEFAULT_SETUP_WINDOW;
  gboolean hold = FALSE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--hold")) {
      hold = TRUE;
      continue;
    }
    if (i + 1 >= argc) {
      g_printerr("bench-chatd: %s needs a value\n", arg);
      return 2;
    }
    if (!strcmp(arg, "--servers")) {
      add_servers(argv[++i]);
      continue;
    }
    guint v = parse_uint(arg, argv[++i]);
    if (!strcmp(arg, "--port"))
      add_node(v);
    else if (!strcmp(arg, "--pairs"))
      pairs = v;
    else if (!strcmp(arg, "--messages"))
      messages = v;
    else if (!strcmp(arg, "--window"))
      window = v;
    else if (!strcmp(arg, "--room-members"))
      members = v;
    else if (!strcmp(arg, "--room-messages"))
      room_messages = v;
    else if (!strcmp(arg, "--idle"))
      idle = v;
    else if (!strcmp(arg, "--setup-window"))
      setup_window = v;
    else if (!strcmp(arg, "--timeout"))
      timeout_s = MAX(1u, v);
    else {
      g_printerr("bench-chatd: unknown option %s\n", arg);
      return 2;
    }
  }
  if (n_nodes == 0 || window == 0) {
    g_printerr(
        "usage: bench-chatd --port P [--port P2 ...] [--pairs N] [--messages M] [--window W]\n"
        "                   [--idle N] [--room-members K] [--room-messages R]\n"
        "                   [--setup-window S] [--timeout SECONDS] [--hold]\n"
        "       bench-chatd --servers 127.0.0.1:P1,127.0.0.1:P2,... [options]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  timeout_ms = timeout_s * 1000u;
  memset(text, 'x', sizeof text);
  ready_at = g_array_new(FALSE, FALSE, sizeof(gint64));
  all_clients = g_ptr_array_new();
  g_autoptr(GError) error = NULL;
  loop = chat_io_loop_new(&error);
  if (!loop) {
    g_printerr("bench-chatd: %s\n", error->message);
    return 1;
  }
  for (guint i = 0; i < n_nodes; i++) {
    nodes[i] = load_clients_new(loop, node_ports[i], on_message, on_closed);
    load_clients_set_setup_window(nodes[i], setup_window);
  }
  if (n_nodes > 1)
    print_nodes(pairs, messages, idle, members, room_messages);
  char prefix[16];
  g_snprintf(prefix, sizeof prefix, "b%x", g_random_int() & 0xffffff);

  /* ---- 1:1 without idle connections ---- */
  LoadResult baseline = {0};
  Group g = {NULL, 0};
  if (pairs > 0 && messages > 0) {
    char pair_prefix[24];
    g_snprintf(pair_prefix, sizeof pair_prefix, "%sp", prefix);
    g = make_clients(pairs * 2, pair_prefix);
    befriend_pairs(&g);
    baseline = run_one_to_one(&g, messages, window, 1);
    print_load("1:1", pairs, messages, window, 0, &baseline, NULL);
  }

  /* ---- idle: N clients logged in and held ---- */
  if (idle > 0) {
    char idle_prefix[24];
    g_snprintf(idle_prefix, sizeof idle_prefix, "%si", prefix);
    g_array_set_size(ready_at, 0);
    gint64 start = g_get_monotonic_time();
    make_clients(idle, idle_prefix);
    double seconds = (g_get_monotonic_time() - start) / 1e6;
    double last = 0;
    if (ready_at->len > LAST_LOGINS)
      last = (g_array_index(ready_at, gint64, ready_at->len - 1) -
              g_array_index(ready_at, gint64, ready_at->len - 1 - LAST_LOGINS)) /
             1e6;
    printf("idle: %u connections connected, registered and logged in in %.2f s: %.0f logins/s "
           "(the last %u in %.2f s; %u busy retries)\n",
           idle, seconds, idle / seconds, LAST_LOGINS, last, busy_retries());
    if (pairs > 0 && messages > 0) {
      LoadResult held = run_one_to_one(&g, messages, window, 2);
      print_load("1:1", pairs, messages, window, idle, &held, &baseline);
    }
  }

  /* ---- room fan-out ---- */
  if (members >= 2 && room_messages > 0) {
    char room_prefix[24];
    g_snprintf(room_prefix, sizeof room_prefix, "%sr", prefix);
    run_room(members, room_messages, window, room_prefix);
  }

  if (hold) {
    printf("holding every connection until stdin ends\n");
    /* The loop keeps answering (a CLOSE, a rekey) while we wait. */
    char line[64];
    for (;;) {
      chat_io_loop_iterate(loop, 200);
      fd_set set;
      FD_ZERO(&set);
      FD_SET(STDIN_FILENO, &set);
      struct timeval now = {0, 0};
      if (select(STDIN_FILENO + 1, &set, NULL, NULL, &now) > 0 &&
          read(STDIN_FILENO, line, sizeof line) <= 0)
        break;
    }
  }

  /* Say goodbye properly, so chatd logs clean closes, not cut streams. */
  finishing = TRUE;
  LoadGroup everyone = {NULL, 0};
  for (guint i = 0; i < all_clients->len; i++)
    chat_io_connection_close(((LoadClient *)g_ptr_array_index(all_clients, i))->connection, TRUE);
  for (guint i = 0; i < all_clients->len; i++) {
    everyone.clients = g_ptr_array_index(all_clients, i);
    everyone.n = 1;
    run_until(load_group_all_closed, &everyone, "closing");
  }
  return 0;
}
