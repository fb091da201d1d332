/* chatd with thousands of connections (issue: the epoll I/O core): a real
 * chatd process, and clients on one ChatIoLoop (tests/load-clients.h).
 *
 *  - a room post reaches every one of 2,000 connections, spread over two I/O
 *    threads, and SIGTERM then closes every one of them cleanly;
 *  - with 1,200 connections held, the handshake, login and idle timeouts
 *    still fire, each at its time, and only for the connections they are
 *    for;
 *  - a conversation whose two ends live on different I/O threads keeps its
 *    order both ways.
 *
 * It needs about 2 x 2,000 file descriptors: it raises its soft limit, and
 * exits 77 (skipped) when the hard limit is too low. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "chatd-harness.h"
#include "load-clients.h"

#define BROADCAST_CLIENTS 2000u
#define BROADCAST_POSTS 3u
#define TIMEOUT_LOGGED_IN 600u /* half of them stay active */
#define TIMEOUT_UNAUTHENTICATED 300u
#define TIMEOUT_RAW 300u
#define ORDER_MESSAGES 2000u
#define ORDER_WINDOW 64u
/* File descriptors the test and its chatd need, with room to spare. */
#define FD_NEEDED (2 * BROADCAST_CLIENTS + 512)
/* The longest any phase may take (generous for sanitizers and busy CI). */
#define PHASE_MS 180000u
#define TICK_MS 20u

/* ---- running the default context (our loop and chatd's log reader) ---- */

static ChatIoLoop *loop;
static LoadClients *load;

static gboolean tick(gpointer data) {
  (void)data;
  return G_SOURCE_CONTINUE;
}

/* Runs the default main context, where our loop is attached and where the
 * harness reads chatd's log (chatd would block on a full pipe otherwise). */
static gboolean run_until(gboolean (*done)(gpointer), gpointer data, guint timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  GSource *timer = g_timeout_source_new(TICK_MS);
  g_source_set_callback(timer, tick, NULL, NULL);
  g_source_attach(timer, NULL);
  while (!done(data) && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return done(data);
}

/* What each client saw, beside its LoadClient. */
typedef struct {
  guint contacts;
  gint64 room_id;
  guint echoes;
  guint posts; /* room posts received */
  gboolean posts_in_order;
  guint received; /* 1:1 messages received */
  gboolean received_in_order;
  gint64 last_id;
  guint acked;
  gboolean acks_in_order;
  guint friend_requests;
  gint64 closed_us;
} Seen;

static Seen *seen_of(LoadClient *c) {
  return c->data;
}

/* The text of an on_new_message's body, as a C string in buf. */
static gboolean notice_text(const chat_value *params, char *buf, gsize size, gint64 *sender,
                            gint64 *id) {
  const chat_value *body = chat_value_dict_get(params, "message");
  const chat_value *data = chat_value_dict_get(body, "data");
  if (!data || data->kind != CHAT_VALUE_STR || data->as.blob.len >= size)
    return FALSE;
  memcpy(buf, data->as.blob.data, data->as.blob.len);
  buf[data->as.blob.len] = '\0';
  chat_value_get_i64(chat_value_dict_get(params, "sender_id"), sender);
  chat_value_get_i64(chat_value_dict_get(params, "id"), id);
  return TRUE;
}

static void on_message(LoadClient *c, guint32 type, const guint8 *data, gsize len) {
  Seen *seen = seen_of(c);
  switch (type) {
  case CHAT_MSG_INCOMING_FRIEND_REQUEST:
    seen->friend_requests++;
    break;
  case CHAT_MSG_CONTACT_INFO: {
    seen->contacts++;
    const chat_value *params = load_decode(load, data, len);
    if (params && chat_value_dict_get(params, "room_name"))
      chat_value_get_i64(chat_value_dict_get(params, "id"), &seen->room_id);
    break;
  }
  case CHAT_MSG_SERVER_ECHO:
    seen->echoes++;
    break;
  case CHAT_MSG_ON_NEW_MESSAGE: {
    const chat_value *params = load_decode(load, data, len);
    char text[64], want[64];
    gint64 sender = 0, id = 0;
    cr_assert(params && notice_text(params, text, sizeof text, &sender, &id));
    gint64 target_type = -1;
    chat_value_get_i64(chat_value_dict_get(params, "target_type"), &target_type);
    if (target_type == 1) {
      if (sender == c->user_id)
        break; /* the poster's own copy */
      g_snprintf(want, sizeof want, "broadcast %u", seen->posts);
      if (strcmp(text, want) != 0)
        seen->posts_in_order = FALSE;
      seen->posts++;
    } else if (sender == c->user_id) {
      g_snprintf(want, sizeof want, "m%u", seen->acked);
      if (strcmp(text, want) != 0)
        seen->acks_in_order = FALSE;
      seen->acked++;
    } else {
      g_snprintf(want, sizeof want, "m%u", seen->received);
      if (strcmp(text, want) != 0 || id <= seen->last_id)
        seen->received_in_order = FALSE;
      seen->last_id = id;
      seen->received++;
    }
    break;
  }
  default:
    break;
  }
}

static void on_closed(LoadClient *c, const GError *reason) {
  Seen *seen = seen_of(c);
  (void)reason;
  seen->closed_us = g_get_monotonic_time();
}

typedef struct {
  LoadClient *clients;
  Seen *seen;
  guint n;
} Crowd;

static Crowd crowd_new(guint n) {
  Crowd crowd = {g_new0(LoadClient, n), g_new0(Seen, n), n};
  for (guint i = 0; i < n; i++) {
    crowd.clients[i].data = &crowd.seen[i];
    crowd.seen[i].posts_in_order = TRUE;
    crowd.seen[i].received_in_order = TRUE;
    crowd.seen[i].acks_in_order = TRUE;
  }
  return crowd;
}

static void crowd_free(Crowd *crowd) {
  for (guint i = 0; i < crowd->n; i++)
    load_client_clear(&crowd->clients[i]);
  g_free(crowd->clients);
  g_free(crowd->seen);
}

static gboolean group_ready(gpointer data) {
  return load_group_all_ready(data);
}

static void setup(chatd_instance *chatd, const char *extra) {
  chatd_start(chatd, FALSE, extra);
  g_autoptr(GError) error = NULL;
  loop = chat_io_loop_new(&error);
  cr_assert_not_null(loop, "%s", error ? error->message : "");
  chat_io_loop_attach(loop, g_main_context_default());
  load = load_clients_new(loop, chatd->port, on_message, on_closed);
}

static void teardown(chatd_instance *chatd) {
  load_clients_free(load);
  load = NULL;
  chatd_destroy(chatd);
  /* the loop is freed with the default context's source, after its
   * connections' last callbacks */
  chat_io_loop_free(loop);
  loop = NULL;
  for (int i = 0; i < 100 && g_main_context_iteration(NULL, FALSE); i++)
    ;
}

/* ---- a broadcast to 2,000, then SIGTERM ---- */

static void send_text(LoadClient *c, int target_type, gint64 target_id, const char *text) {
  cr_assert(load_client_send_text(c, target_type, target_id, text));
}

static gboolean room_known(gpointer data) {
  return ((Crowd *)data)->seen[0].room_id != 0;
}

static gboolean all_joined(gpointer data) {
  Crowd *crowd = data;
  for (guint i = 1; i < crowd->n; i++)
    if (crowd->seen[i].contacts == 0)
      return FALSE;
  return TRUE;
}

static gboolean all_posts_in(gpointer data) {
  Crowd *crowd = data;
  for (guint i = 1; i < crowd->n; i++)
    if (crowd->seen[i].posts < BROADCAST_POSTS)
      return FALSE;
  return TRUE;
}

static gboolean crowd_closed(gpointer data) {
  Crowd *crowd = data;
  LoadGroup group = {crowd->clients, crowd->n};
  return load_group_all_closed(&group);
}

Test(scale, a_room_post_reaches_every_one_of_2000_connections_and_sigterm_closes_them_cleanly,
     .timeout = 600) {
  chatd_instance chatd;
  setup(&chatd, "\"io_threads\": 2, \"max_connections\": 5000");
  Crowd crowd = crowd_new(BROADCAST_CLIENTS);
  LoadGroup group = {crowd.clients, crowd.n};
  load_clients_add(load, crowd.clients, crowd.n, "crowd", TRUE);
  cr_assert(run_until(group_ready, &group, PHASE_MS), "not every client logged in");

  cr_assert(load_client_send_json(&crowd.clients[0], "create_room", "\"everyone\""));
  cr_assert(run_until(room_known, &crowd, PHASE_MS), "the room was not created");
  g_autofree char *room = g_strdup_printf("%" G_GINT64_FORMAT, crowd.seen[0].room_id);
  for (guint i = 1; i < crowd.n; i++)
    cr_assert(load_client_send_json(&crowd.clients[i], "join_room", room));
  cr_assert(run_until(all_joined, &crowd, PHASE_MS), "not every client joined the room");

  for (guint k = 0; k < BROADCAST_POSTS; k++) {
    char text[32];
    g_snprintf(text, sizeof text, "broadcast %u", k);
    send_text(&crowd.clients[0], 1, crowd.seen[0].room_id, text);
  }
  cr_assert(run_until(all_posts_in, &crowd, PHASE_MS), "a post did not reach everyone");
  for (guint i = 1; i < crowd.n; i++) {
    cr_assert_eq(crowd.seen[i].posts, BROADCAST_POSTS, "%s got %u posts", crowd.clients[i].name,
                 crowd.seen[i].posts);
    cr_assert(crowd.seen[i].posts_in_order, "%s got the posts out of order", crowd.clients[i].name);
  }
  cr_assert(chatd_log_contains(&chatd, "I/O thread 1)"), "no connection ran on thread 1");
  cr_assert(chatd_log_contains(&chatd, "I/O thread 0)"), "no connection ran on thread 0");

  /* SIGTERM: chatd says goodbye on every connection (v2: a CLOSE record),
   * each client answers, and chatd exits 0. */
  g_subprocess_send_signal(chatd.process, SIGTERM);
  cr_assert(run_until(crowd_closed, &crowd, PHASE_MS), "not every connection was closed");
  for (guint i = 0; i < crowd.n; i++)
    cr_assert_null(crowd.clients[i].close_reason, "%s: %s", crowd.clients[i].name,
                   crowd.clients[i].close_reason->message);
  chatd_stop(&chatd);
  cr_assert_not(chatd_log_contains(&chatd, "did not close in time"), "%s", chatd.log->str);
  crowd_free(&crowd);
  teardown(&chatd);
}

/* ---- timeouts with many connections held ---- */

#define HANDSHAKE_TIMEOUT_S 1
#define LOGIN_TIMEOUT_S 2
#define IDLE_TIMEOUT_S 3
#define ECHO_EVERY_MS 500u
/* A timeout may fire this much late (sanitizers, a busy CI). */
#define TIMEOUT_SLACK_US (3 * G_USEC_PER_SEC)

typedef struct {
  int fds[TIMEOUT_RAW];
  gint64 connected_us[TIMEOUT_RAW];
  gint64 closed_us[TIMEOUT_RAW];
} RawPeers;

static void raw_connect_all(RawPeers *raw, guint16 port) {
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  for (guint i = 0; i < TIMEOUT_RAW; i++) {
    raw->fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(raw->fds[i], 0);
    int rc = connect(raw->fds[i], (struct sockaddr *)&address, sizeof address);
    cr_assert(rc == 0 || errno == EINPROGRESS, "connect: %s", g_strerror(errno));
    raw->connected_us[i] = g_get_monotonic_time();
    raw->closed_us[i] = 0;
  }
}

/* Notes which silent sockets chatd has closed (read returns 0 or fails). */
static void raw_poll(RawPeers *raw) {
  for (guint i = 0; i < TIMEOUT_RAW; i++) {
    if (raw->closed_us[i] != 0)
      continue;
    char byte;
    ssize_t n = recv(raw->fds[i], &byte, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      raw->closed_us[i] = g_get_monotonic_time();
  }
}

typedef struct {
  Crowd *logged_in;
  Crowd *unauthenticated;
  RawPeers *raw;
  gint64 next_echo_us;
} TimeoutWorld;

static gboolean silent_ones_closed(gpointer data) {
  TimeoutWorld *w = data;
  gint64 now = g_get_monotonic_time();
  if (now >= w->next_echo_us) {
    /* the active half (even indexes) keeps talking */
    for (guint i = 0; i < w->logged_in->n; i += 2)
      if (w->logged_in->clients[i].state == LOAD_READY)
        load_client_send_json(&w->logged_in->clients[i], "client_echo", "\"still here\"");
    w->next_echo_us = now + ECHO_EVERY_MS * 1000;
  }
  raw_poll(w->raw);
  for (guint i = 0; i < TIMEOUT_RAW; i++)
    if (w->raw->closed_us[i] == 0)
      return FALSE;
  for (guint i = 0; i < w->unauthenticated->n; i++)
    if (w->unauthenticated->clients[i].state != LOAD_CLOSED)
      return FALSE;
  for (guint i = 1; i < w->logged_in->n; i += 2)
    if (w->logged_in->clients[i].state != LOAD_CLOSED)
      return FALSE;
  return TRUE;
}

/* Runs the active half's talk and nothing else (never done). */
static gboolean keep_talking(gpointer data) {
  silent_ones_closed(data);
  return FALSE;
}

Test(scale, handshake_login_and_idle_timeouts_fire_with_1200_connections_held, .timeout = 600) {
  chatd_instance chatd;
  g_autofree char *extra =
      g_strdup_printf("\"io_threads\": 2, \"handshake_timeout\": %d, \"login_timeout\": %d, "
                      "\"idle_timeout\": %d",
                      HANDSHAKE_TIMEOUT_S, LOGIN_TIMEOUT_S, IDLE_TIMEOUT_S);
  setup(&chatd, extra);
  /* No more clients in setup than password requests in flight: a client that
   * has done its handshake gets its turn to log in at once, well inside the
   * login timeout, even on a loaded machine (with the default window of 512 it
   * could wait past it and be closed unauthenticated). */
  load_clients_set_setup_window(load, LOAD_PASSWORD_WINDOW);
  Crowd logged_in = crowd_new(TIMEOUT_LOGGED_IN);
  Crowd unauthenticated = crowd_new(TIMEOUT_UNAUTHENTICATED);
  RawPeers raw;
  TimeoutWorld world = {&logged_in, &unauthenticated, &raw, 0};

  load_clients_add(load, logged_in.clients, logged_in.n, "timer", TRUE);
  for (guint i = 0; i < unauthenticated.n; i++)
    load_clients_add_unauthenticated(load, &unauthenticated.clients[i]);
  raw_connect_all(&raw, chatd.port);
  cr_assert(run_until(silent_ones_closed, &world, PHASE_MS), "a timeout did not fire");

  /* Each fired at its time, not before. */
  for (guint i = 0; i < TIMEOUT_RAW; i++) {
    gint64 waited = raw.closed_us[i] - raw.connected_us[i];
    cr_assert_geq(waited, HANDSHAKE_TIMEOUT_S * G_USEC_PER_SEC - 100000, "raw %u closed early", i);
    cr_assert_leq(waited, HANDSHAKE_TIMEOUT_S * G_USEC_PER_SEC + TIMEOUT_SLACK_US,
                  "raw %u closed %" G_GINT64_FORMAT " us after connecting", i, waited);
  }
  for (guint i = 0; i < unauthenticated.n; i++) {
    /* chatd's handshake ends between our connect and our own end of it. */
    gint64 since_connect =
        unauthenticated.seen[i].closed_us - unauthenticated.clients[i].connect_us;
    gint64 since_handshake =
        unauthenticated.seen[i].closed_us - unauthenticated.clients[i].ready_us;
    cr_assert_geq(since_connect, LOGIN_TIMEOUT_S * G_USEC_PER_SEC - 100000,
                  "unauthenticated %u closed %" G_GINT64_FORMAT " us after connecting", i,
                  since_connect);
    cr_assert_leq(since_handshake, LOGIN_TIMEOUT_S * G_USEC_PER_SEC + TIMEOUT_SLACK_US,
                  "unauthenticated %u closed %" G_GINT64_FORMAT " us after its handshake", i,
                  since_handshake);
  }
  guint silent_logged_in = 0;
  for (guint i = 1; i < logged_in.n; i += 2) {
    if (logged_in.clients[i].ready_us == 0) {
      /* On a loaded machine a client can wait for its turn to send its
       * password (load-clients sends a few at a time) past the login timeout:
       * chatd then rightly closes it unauthenticated. Then it has no login to
       * measure from; check the login timeout instead. */
      gint64 since_connect = logged_in.seen[i].closed_us - logged_in.clients[i].connect_us;
      cr_assert_geq(since_connect, LOGIN_TIMEOUT_S * G_USEC_PER_SEC - 100000,
                    "silent %u closed %" G_GINT64_FORMAT " us after connecting, not logged in", i,
                    since_connect);
      continue;
    }
    silent_logged_in++;
    /* The login request is the last thing a silent client sent. */
    gint64 since_request = logged_in.seen[i].closed_us - logged_in.clients[i].login_sent_us;
    gint64 since_login = logged_in.seen[i].closed_us - logged_in.clients[i].ready_us;
    cr_assert_geq(since_request, IDLE_TIMEOUT_S * G_USEC_PER_SEC - 100000,
                  "silent %u closed %" G_GINT64_FORMAT " us after its login request", i,
                  since_request);
    cr_assert_leq(since_login, IDLE_TIMEOUT_S * G_USEC_PER_SEC + TIMEOUT_SLACK_US,
                  "silent %u closed %" G_GINT64_FORMAT " us after its login", i, since_login);
  }
  cr_assert_gt(silent_logged_in, 0, "no silent client logged in: the idle timeout is untested");
  /* The active half is still there one more idle period later. */
  gint64 later = g_get_monotonic_time() + IDLE_TIMEOUT_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < later)
    run_until(keep_talking, &world, TICK_MS);
  for (guint i = 0; i < logged_in.n; i += 2) {
    cr_assert_eq(logged_in.clients[i].state, LOAD_READY, "active %u was closed: %s", i,
                 logged_in.clients[i].close_reason ? logged_in.clients[i].close_reason->message
                                                   : "cleanly");
    cr_assert_gt(logged_in.seen[i].echoes, 0);
  }
  cr_assert(chatd_log_contains(&chatd, "no login within 2 s"));
  cr_assert(chatd_log_contains(&chatd, "no request for 3 s (server.idle_timeout)"));
  cr_assert(chatd_log_contains(&chatd, "handshake not completed within 1000 ms"));

  for (guint i = 0; i < TIMEOUT_RAW; i++)
    close(raw.fds[i]);
  crowd_free(&logged_in);
  crowd_free(&unauthenticated);
  teardown(&chatd);
}

/* ---- order across I/O threads ---- */

typedef struct {
  LoadClient *client;
  gint64 peer_id;
  guint sent;
} Talker;

static void talk(Talker *t) {
  Seen *seen = seen_of(t->client);
  while (t->sent < ORDER_MESSAGES && t->sent - seen->acked < ORDER_WINDOW) {
    char text[16];
    g_snprintf(text, sizeof text, "m%u", t->sent);
    send_text(t->client, 0, t->peer_id, text);
    t->sent++;
  }
}

typedef struct {
  Talker *talkers;
  Crowd *pair;
} Conversation;

static gboolean conversation_done(gpointer data) {
  Conversation *c = data;
  talk(&c->talkers[0]);
  talk(&c->talkers[1]);
  return c->pair->seen[0].received == ORDER_MESSAGES &&
         c->pair->seen[1].received == ORDER_MESSAGES && c->pair->seen[0].acked == ORDER_MESSAGES &&
         c->pair->seen[1].acked == ORDER_MESSAGES;
}

static gboolean request_arrived(gpointer data) {
  return ((Crowd *)data)->seen[1].friend_requests > 0;
}

static gboolean friends(gpointer data) {
  Crowd *pair = data;
  return pair->seen[0].contacts > 0 && pair->seen[1].contacts > 0;
}

/* The I/O thread chatd logged for a user's login. */
static int logged_thread(chatd_instance *chatd, const char *user) {
  g_autofree char *needle = g_strdup_printf(" %s logged in (v2 dialect, I/O thread ", user);
  chatd_log_contains(chatd, needle);
  const char *at = strstr(chatd->log->str, needle);
  cr_assert_not_null(at, "no login line for %s", user);
  return atoi(at + strlen(needle));
}

Test(scale, a_conversation_between_two_io_threads_keeps_its_order_both_ways, .timeout = 300) {
  chatd_instance chatd;
  setup(&chatd, "\"io_threads\": 2");
  Crowd pair = crowd_new(2);
  LoadGroup group = {pair.clients, 2};
  /* One at a time: chatd hands consecutive connections to its threads in
   * turn, so the two land on different ones (checked below). */
  load_clients_set_setup_window(load, 1);
  load_clients_add(load, pair.clients, 2, "order", TRUE);
  cr_assert(run_until(group_ready, &group, PHASE_MS));
  int thread_a = logged_thread(&chatd, "order0");
  int thread_b = logged_thread(&chatd, "order1");
  cr_assert_neq(thread_a, thread_b, "both ends on I/O thread %d", thread_a);

  cr_assert(load_client_send_json(&pair.clients[0], "add_friend", "\"order1\""));
  g_autofree char *accept =
      g_strdup_printf("[%" G_GINT64_FORMAT ", true]", pair.clients[0].user_id);
  cr_assert(run_until(request_arrived, &pair, PHASE_MS));
  cr_assert(load_client_send_json(&pair.clients[1], "resolve_friend_request", accept));
  cr_assert(run_until(friends, &pair, PHASE_MS));

  Talker talkers[2] = {{&pair.clients[0], pair.clients[1].user_id, 0},
                       {&pair.clients[1], pair.clients[0].user_id, 0}};
  Conversation conversation = {talkers, &pair};
  cr_assert(run_until(conversation_done, &conversation, PHASE_MS), "a got %u of %u, b got %u",
            pair.seen[0].received, ORDER_MESSAGES, pair.seen[1].received);
  for (guint i = 0; i < 2; i++) {
    cr_assert(pair.seen[i].received_in_order, "%s received out of order", pair.clients[i].name);
    cr_assert(pair.seen[i].acks_in_order, "%s's acknowledgements out of order",
              pair.clients[i].name);
  }
  crowd_free(&pair);
  teardown(&chatd);
}

/* ---- main: enough file descriptors, or skip ---- */

static gboolean raise_fd_limit(rlim_t needed) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return FALSE;
  if (limit.rlim_cur >= needed)
    return TRUE;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed)
    return FALSE;
  limit.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

int main(int argc, char *argv[]) {
  if (!raise_fd_limit(FD_NEEDED)) {
    fprintf(stderr, "skipped: needs %d open files (ulimit -n)\n", FD_NEEDED);
    return 77;
  }
  struct criterion_test_set *tests = criterion_initialize();
  int result = 0;
  if (criterion_handle_args(argc, argv, true))
    result = !criterion_run_all_tests(tests);
  criterion_finalize(tests);
  return result;
}
