/* A load generator for chatd: persisted 1:1 messages per second with the
 * latency from send to acknowledgement (the sender's copy, sent after the
 * commit), and room fan-out deliveries per second.
 *
 *   bench-chatd --port P [--pairs N] [--messages M] [--window W]
 *               [--room-members K] [--room-messages R]
 *
 * Start chatd first with a cheap password cost, e.g. the config written by
 * the test harness. Only loopback is targeted. */
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/catalogue.h"
#include "protocol/gio/chat-connection.h"
#include "protocol/message.h"

#define DEFAULT_PAIRS 50
#define DEFAULT_MESSAGES 2000
#define DEFAULT_WINDOW 64
#define DEFAULT_ROOM_MEMBERS 200
#define DEFAULT_ROOM_MESSAGES 500
#define PASSWORD_BATCH 32
#define CONNECT_BATCH 256
#define BENCH_TIMEOUT_US (120 * G_USEC_PER_SEC)

typedef struct {
  ChatConnection *connection;
  gint64 user_id;
  char name[32];
  guint32 last_type;
  guint received;          /* on_new_message copies received as a receiver */
  guint acked;             /* own copies (acks) received */
  guint sent;
  gboolean closed;
  gint64 *sent_at;         /* per message index, monotonic us */
  GArray *latencies;       /* gint64 us */
  gint64 wanted;           /* friend / room target */
  gint64 room_id;          /* the room this client created */
  int target_type;
  guint total;
  guint window;
} client;

static guint8 scratch_data[256];

static void send_message(client *c, guint32 type, void (*write)(chat_writer *, gpointer),
                         gpointer data) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_message_begin(&w, CHAT_DIALECT_V2, type);
  write(&w, data);
  if (chat_writer_finish(&w) == 0)
    chat_connection_send(c->connection, buf.data, buf.len, NULL);
  chat_buffer_clear(&buf);
}

static void write_credentials(chat_writer *w, gpointer data) {
  client *c = data;
  chat_write_list_begin(w);
  chat_write_cstr(w, c->name);
  chat_write_cstr(w, "bench-password");
  chat_write_cstr(w, c->name);
  chat_write_list_end(w);
}

static void write_login(chat_writer *w, gpointer data) {
  client *c = data;
  chat_write_list_begin(w);
  chat_write_cstr(w, c->name);
  chat_write_cstr(w, "bench-password");
  chat_write_list_end(w);
}

static void write_text(chat_writer *w, gpointer data) {
  client *c = data;
  char id[32];
  g_snprintf(id, sizeof id, "b%u", c->sent);
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "target_type");
  chat_write_int(w, c->target_type);
  chat_write_key_cstr(w, "target_id");
  chat_write_int(w, c->wanted);
  chat_write_key_cstr(w, "message");
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, 0);
  chat_write_key_cstr(w, "data");
  chat_write_str(w, (const char *)scratch_data, 64);
  chat_write_key_cstr(w, "fontsize");
  chat_write_int(w, 12);
  chat_write_key_cstr(w, "fontcolor");
  chat_write_cstr(w, "#000000");
  chat_write_dict_end(w);
  chat_write_key_cstr(w, "client_msg_id");
  chat_write_cstr(w, id);
  chat_write_dict_end(w);
}

static void write_name(chat_writer *w, gpointer data) {
  chat_write_cstr(w, data);
}

static void write_int(chat_writer *w, gpointer data) {
  chat_write_int(w, *(gint64 *)data);
}

static void write_resolve(chat_writer *w, gpointer data) {
  chat_write_list_begin(w);
  chat_write_int(w, *(gint64 *)data);
  chat_write_bool(w, TRUE);
  chat_write_list_end(w);
}

static void pump(client *c);

static void on_message(ChatConnection *conn, gconstpointer data, gsize len, gpointer user) {
  client *c = user;
  (void)conn;
  guint32 type = len >= 4 ? (guint32)((const guint8 *)data)[3] |
                                ((guint32)((const guint8 *)data)[2] << 8)
                          : 0;
  c->last_type = type;
  if (type == CHAT_MSG_REGISTER_SUCCESSFUL || type == CHAT_MSG_LOGIN_SUCCESSFUL) {
    if (type == CHAT_MSG_LOGIN_SUCCESSFUL) {
      chat_arena arena;
      chat_arena_init(&arena);
      guint32 t;
      chat_value *params;
      if (chat_message_decode(CHAT_DIALECT_V2, data, len, NULL, 0, &arena, &t, &params, NULL) ==
          0)
        chat_value_get_i64(chat_value_dict_get(params, "id"), &c->user_id);
      chat_arena_clear(&arena);
    }
  } else if (type == CHAT_MSG_CONTACT_INFO) {
    chat_arena arena;
    chat_arena_init(&arena);
    guint32 t;
    chat_value *params;
    if (chat_message_decode(CHAT_DIALECT_V2, data, len, NULL, 0, &arena, &t, &params, NULL) ==
            0 &&
        chat_value_dict_get(params, "room_name"))
      chat_value_get_i64(chat_value_dict_get(params, "id"), &c->room_id);
    chat_arena_clear(&arena);
  } else if (type == CHAT_MSG_ON_NEW_MESSAGE) {
    chat_arena arena;
    chat_arena_init(&arena);
    guint32 t;
    chat_value *params;
    if (chat_message_decode(CHAT_DIALECT_V2, data, len, NULL, CHAT_DECODE_BORROW, &arena, &t,
                            &params, NULL) == 0) {
      gint64 sender = 0;
      chat_value_get_i64(chat_value_dict_get(params, "sender_id"), &sender);
      const chat_value *cid = chat_value_dict_get(params, "client_msg_id");
      if (sender == c->user_id && cid) {
        guint index = (guint)g_ascii_strtoull((const char *)cid->as.blob.data + 1, NULL, 10);
        if (index < c->total && c->sent_at) {
          gint64 latency = g_get_monotonic_time() - c->sent_at[index];
          g_array_append_val(c->latencies, latency);
        }
        c->acked++;
        pump(c);
      } else {
        c->received++;
      }
    }
    chat_arena_clear(&arena);
  }
}

static void on_closed(ChatConnection *conn, const GError *reason, gpointer user) {
  client *c = user;
  (void)conn;
  c->closed = TRUE;
  if (reason)
    g_printerr("%s: closed: %s\n", c->name, reason->message);
}

static gboolean accept_any(ChatConnection *connection, const guint8 key[CHAT_V2_KEY_LEN],
                           const guint8 *info, gsize info_len, gpointer data, GError **error) {
  (void)connection, (void)key, (void)info, (void)info_len, (void)data, (void)error;
  return TRUE;
}

/* Keeps up to `window` messages in flight. */
static void pump(client *c) {
  while (c->sent < c->total && c->sent - c->acked < c->window) {
    c->sent_at[c->sent] = g_get_monotonic_time();
    send_message(c, CHAT_MSG_SEND_MESSAGE, write_text, c);
    c->sent++;
  }
}

static void spin_until(gboolean (*done)(gpointer), gpointer data) {
  gint64 end = g_get_monotonic_time() + BENCH_TIMEOUT_US;
  while (!done(data) && g_get_monotonic_time() < end)
    g_main_context_iteration(NULL, TRUE);
  if (!done(data)) {
    g_printerr("bench-chatd: timed out\n");
    exit(1);
  }
}

typedef struct {
  client *clients;
  guint n;
  guint32 type;
} all_state;

static gboolean all_established(gpointer data) {
  all_state *st = data;
  for (guint i = 0; i < st->n; i++)
    if (!chat_connection_is_established(st->clients[i].connection))
      return FALSE;
  return TRUE;
}

static gboolean all_got(gpointer data) {
  all_state *st = data;
  for (guint i = 0; i < st->n; i++)
    if (st->clients[i].last_type != st->type)
      return FALSE;
  return TRUE;
}

/* Connects, registers and logs in n clients, CONNECT_BATCH at a time, so
 * none waits long enough for chatd's login timeout. */
static void connect_all(client *clients, guint n, guint16 port, const char *prefix) {
  g_autoptr(GSocketClient) sockets = g_socket_client_new();
  for (guint first = 0; first < n; first += CONNECT_BATCH) {
    guint count = MIN(CONNECT_BATCH, n - first);
    for (guint i = first; i < first + count; i++) {
      client *c = &clients[i];
      g_snprintf(c->name, sizeof c->name, "%s%u", prefix, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketConnection) socket =
          g_socket_client_connect_to_host(sockets, "127.0.0.1", port, NULL, &error);
      if (!socket) {
        g_printerr("bench-chatd: %s\n", error->message);
        exit(1);
      }
      ChatClientSecurity security = {.dialect = CHAT_CONNECTION_DIALECT_V2,
                                     .verify_server_key = accept_any};
      c->connection = chat_connection_new_client(G_IO_STREAM(socket), &security);
      c->latencies = g_array_new(FALSE, FALSE, sizeof(gint64));
      g_signal_connect(c->connection, "message", G_CALLBACK(on_message), c);
      g_signal_connect(c->connection, "closed", G_CALLBACK(on_closed), c);
      chat_connection_start(c->connection);
    }
    all_state batch = {clients + first, count, 0};
    spin_until(all_established, &batch);
    /* Password hashes in flight are bounded by chatd ("busy" beyond). */
    for (guint sub = 0; sub < count; sub += PASSWORD_BATCH) {
      all_state part = {clients + first + sub, MIN(PASSWORD_BATCH, count - sub), 0};
      for (guint i = 0; i < part.n; i++)
        send_message(&part.clients[i], CHAT_MSG_REGISTER, write_credentials, &part.clients[i]);
      part.type = CHAT_MSG_REGISTER_SUCCESSFUL;
      spin_until(all_got, &part);
      for (guint i = 0; i < part.n; i++)
        send_message(&part.clients[i], CHAT_MSG_LOGIN, write_login, &part.clients[i]);
      part.type = CHAT_MSG_SESSION_BUNDLE;
      spin_until(all_got, &part);
    }
  }
}

static int compare_i64(gconstpointer a, gconstpointer b) {
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static void report_latency(client *clients, guint n) {
  g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint i = 0; i < n; i++)
    g_array_append_vals(all, clients[i].latencies->data, clients[i].latencies->len);
  if (all->len == 0)
    return;
  g_array_sort(all, compare_i64);
  gint64 p50 = g_array_index(all, gint64, all->len / 2);
  gint64 p99 = g_array_index(all, gint64, (guint)(all->len * 0.99));
  printf("  latency send -> ack: p50 %.2f ms, p99 %.2f ms (%u samples)\n", p50 / 1000.0,
         p99 / 1000.0, all->len);
}

typedef struct {
  client *clients;
  guint n;
} progress;

static gboolean all_acked(gpointer data) {
  progress *p = data;
  for (guint i = 0; i < p->n; i++)
    if (p->clients[i].sent_at && p->clients[i].acked < p->clients[i].total)
      return FALSE;
  return TRUE;
}

static guint64 deliveries_expected;
static gboolean all_delivered(gpointer data) {
  progress *p = data;
  guint64 got = 0;
  for (guint i = 0; i < p->n; i++)
    got += p->clients[i].received;
  return got >= deliveries_expected;
}

int main(int argc, char **argv) {
  guint16 port = 0;
  guint pairs = DEFAULT_PAIRS, messages = DEFAULT_MESSAGES, window = DEFAULT_WINDOW;
  guint members = DEFAULT_ROOM_MEMBERS, room_messages = DEFAULT_ROOM_MESSAGES;
  guint idle = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    guint v = (guint)g_ascii_strtoull(argv[i + 1], NULL, 10);
    if (!strcmp(argv[i], "--port"))
      port = (guint16)v;
    else if (!strcmp(argv[i], "--pairs"))
      pairs = v;
    else if (!strcmp(argv[i], "--messages"))
      messages = v;
    else if (!strcmp(argv[i], "--window"))
      window = v;
    else if (!strcmp(argv[i], "--room-members"))
      members = v;
    else if (!strcmp(argv[i], "--room-messages"))
      room_messages = v;
    else if (!strcmp(argv[i], "--idle"))
      idle = v;
  }
  if (!port) {
    g_printerr("usage: bench-chatd --port P [--pairs N] [--messages M] [--window W] "
               "[--room-members K] [--room-messages R] | --idle N\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  memset(scratch_data, 'x', sizeof scratch_data);
  char prefix[16];
  g_snprintf(prefix, sizeof prefix, "u%x", g_random_int() & 0xffff);

  /* ---- idle: N logged-in connections that stay open until stdin closes ---- */
  if (idle > 0) {
    client *idlers = g_new0(client, idle);
    char iprefix[20];
    g_snprintf(iprefix, sizeof iprefix, "%si", prefix);
    gint64 t0 = g_get_monotonic_time();
    connect_all(idlers, idle, port, iprefix);
    printf("idle: %u connections logged in after %.1f s; holding them until stdin ends\n", idle,
           (g_get_monotonic_time() - t0) / 1e6);
    char line[16];
    while (fgets(line, sizeof line, stdin))
      ;
    return 0;
  }

  /* ---- 1:1 ---- */
  guint n = pairs * 2;
  client *clients = g_new0(client, n);
  connect_all(clients, n, port, prefix);
  for (guint p = 0; p < pairs; p++) {
    client *a = &clients[2 * p], *b = &clients[2 * p + 1];
    send_message(a, CHAT_MSG_ADD_FRIEND, write_name, b->name);
  }
  g_usleep(200000);
  for (int k = 0; k < 50; k++)
    g_main_context_iteration(NULL, FALSE);
  for (guint p = 0; p < pairs; p++) {
    client *a = &clients[2 * p], *b = &clients[2 * p + 1];
    send_message(b, CHAT_MSG_RESOLVE_FRIEND_REQUEST, write_resolve, &a->user_id);
  }
  gint64 settle = g_get_monotonic_time() + G_USEC_PER_SEC;
  while (g_get_monotonic_time() < settle)
    g_main_context_iteration(NULL, FALSE);
  for (guint p = 0; p < pairs; p++) {
    client *a = &clients[2 * p], *b = &clients[2 * p + 1];
    a->wanted = b->user_id;
    a->target_type = 0;
    a->total = messages;
    a->window = window;
    a->sent_at = g_new0(gint64, messages);
  }
  gint64 start = g_get_monotonic_time();
  for (guint p = 0; p < pairs; p++)
    pump(&clients[2 * p]);
  progress pr = {clients, n};
  spin_until(all_acked, &pr);
  double seconds = (g_get_monotonic_time() - start) / 1e6;
  guint64 total = (guint64)pairs * messages;
  printf("1:1: %u pairs x %u messages = %" G_GUINT64_FORMAT " persisted messages in %.2f s: "
         "%.0f messages/s (window %u per sender)\n",
         pairs, messages, total, seconds, total / seconds, window);
  report_latency(clients, n);

  /* ---- room fan-out ---- */
  if (members >= 2 && room_messages > 0) {
    client *room = g_new0(client, members);
    char rprefix[20];
    g_snprintf(rprefix, sizeof rprefix, "%sr", prefix);
    connect_all(room, members, port, rprefix);
    send_message(&room[0], CHAT_MSG_CREATE_ROOM, write_name, "bench room");
    gint64 until = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
    while (g_get_monotonic_time() < until)
      g_main_context_iteration(NULL, FALSE);
    gint64 room_id = room[0].room_id;
    for (guint i = 1; i < members; i++)
      send_message(&room[i], CHAT_MSG_JOIN_ROOM, write_int, &room_id);
    until = g_get_monotonic_time() + G_USEC_PER_SEC;
    while (g_get_monotonic_time() < until)
      g_main_context_iteration(NULL, FALSE);
    for (guint i = 0; i < members; i++)
      room[i].received = 0;
    room[0].wanted = room_id;
    room[0].target_type = 1;
    room[0].total = room_messages;
    room[0].window = window;
    room[0].sent_at = g_new0(gint64, room_messages);
    deliveries_expected = (guint64)(members - 1) * room_messages;
    start = g_get_monotonic_time();
    pump(&room[0]);
    progress rp = {room, members};
    spin_until(all_delivered, &rp);
    seconds = (g_get_monotonic_time() - start) / 1e6;
    printf("room: %u members, %u messages = %" G_GUINT64_FORMAT " deliveries in %.2f s: "
           "%.0f deliveries/s\n",
           members, room_messages, deliveries_expected, seconds, deliveries_expected / seconds);
  }
  return 0;
}
