/* abuse-probe: runs one of issue 9's attacks against a running chatd at full
 * size while a probe user, from another address, logs in and posts to a
 * room again and again; prints the probe's login and message latencies.
 * Built, not run by meson test (ci/abuse runs it).
 *
 *   abuse-probe --port P --attack KIND [--connections N] [--seconds S]
 *               [--interval-ms MS]   (between probe logins, default 500)
 *
 * KIND (the attacker connects from 127.0.0.2, the probe from 127.0.0.3):
 *   none            the probe alone, for comparison
 *   login-flood     logins with ever new usernames, one in flight per
 *                   connection (item 2: 70,000 names filled the limiter)
 *   wrong-password  wrong passwords for the probe's own account (item 1)
 *   register-flood  registrations with ever new usernames (item 3)
 *   idle            connections that complete the handshake and say
 *                   nothing (item 7)
 *   echo-flood      60 KiB client_echo requests, 4 in flight per connection,
 *                   before login (item 6)
 *
 * Past ATTACKER_PER_ADDRESS connections the attacker uses more addresses
 * (127.0.0.10, 127.0.0.11, ...): with --connections 498 and a chatd with
 * max_connections 500, `idle` is item 7's crowd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load-clients.h"

#define ATTACKER_ADDRESS "127.0.0.2"
#define ATTACKER_PER_ADDRESS 120
#define PROBE_ADDRESS "127.0.0.3"
#define PROBE_USER "probe"
#define PROBE_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define ECHO_BYTES (60 * 1024)
#define ECHO_WINDOW 4

typedef enum {
  ATTACK_NONE,
  ATTACK_LOGIN,
  ATTACK_WRONG,
  ATTACK_REGISTER,
  ATTACK_IDLE,
  ATTACK_ECHO
} Attack;

static Attack attack;
static guint64 attack_requests, attack_replies, attack_closed;
static gint64 room_id;

/* ---- the attacker ---- */

static void write_credentials(chat_writer *w, gpointer data) {
  const char *const *fields = data;
  chat_write_list_begin(w);
  for (int i = 0; fields[i]; i++)
    chat_write_cstr(w, fields[i]);
  chat_write_list_end(w);
}

static void write_echo(chat_writer *w, gpointer data) {
  (void)data;
  static char text[ECHO_BYTES];
  if (text[0] == '\0')
    memset(text, 'e', sizeof text);
  chat_write_str(w, text, sizeof text);
}

static void attack_once(LoadClient *c) {
  char name[32];
  g_snprintf(name, sizeof name, "x%" G_GUINT64_FORMAT "r%u", attack_requests, g_random_int());
  const char *login[] = {name, "wrong password", NULL};
  const char *wrong[] = {PROBE_USER, "wrong password", NULL};
  const char *reg[] = {name, "attacker password", name, NULL};
  gboolean sent = FALSE;
  switch (attack) {
  case ATTACK_LOGIN:
    sent = load_client_send(c, CHAT_MSG_LOGIN, write_credentials, login);
    break;
  case ATTACK_WRONG:
    sent = load_client_send(c, CHAT_MSG_LOGIN, write_credentials, wrong);
    break;
  case ATTACK_REGISTER:
    sent = load_client_send(c, CHAT_MSG_REGISTER, write_credentials, reg);
    break;
  case ATTACK_ECHO:
    sent = load_client_send(c, CHAT_MSG_CLIENT_ECHO, write_echo, NULL);
    break;
  default:
    return;
  }
  if (sent)
    attack_requests++;
}

static void on_attacker_message(LoadClient *c, guint32 type, const guint8 *data, gsize len) {
  (void)type, (void)data, (void)len;
  attack_replies++;
  /* A registration that got through logs the attacker in? No: register
   * only answers; the connection stays pre-login. Ask again. */
  attack_once(c);
}

static void on_attacker_closed(LoadClient *c, const GError *reason) {
  (void)c, (void)reason;
  attack_closed++;
}

/* ---- the probe ---- */

typedef struct {
  LoadClient client;
  gint64 sent_us; /* the room message, 0 before */
  gboolean done;
} Probe;

static GArray *login_us, *message_us;
static guint probe_failures;
static LoadClients *probe_clients;

static void on_probe_message(LoadClient *c, guint32 type, const guint8 *data, gsize len) {
  Probe *p = (Probe *)c;
  if (type == CHAT_MSG_CONTACT_INFO && room_id == 0) {
    const chat_value *params = load_decode(probe_clients, data, len);
    chat_value_get_i64(chat_value_dict_get(params, "id"), &room_id);
  } else if (type == CHAT_MSG_SESSION_BUNDLE && room_id != 0) {
    gint64 took = c->ready_us - c->connect_us;
    g_array_append_val(login_us, took);
    p->sent_us = g_get_monotonic_time();
    load_client_send_text(c, 1, room_id, "probe");
  } else if (type == CHAT_MSG_ON_NEW_MESSAGE && p->sent_us != 0 && !p->done) {
    gint64 took = g_get_monotonic_time() - p->sent_us;
    g_array_append_val(message_us, took);
    p->done = TRUE;
  } else if ((type == CHAT_MSG_GENERAL_FAILURE || type == CHAT_MSG_REQUEST_FAILED) &&
             p->sent_us != 0 && !p->done) {
    probe_failures++;
    p->done = TRUE;
  }
}

static void on_probe_closed(LoadClient *c, const GError *reason) {
  Probe *p = (Probe *)c;
  if (!p->done && p->sent_us == 0 && reason) {
    probe_failures++;
    p->done = TRUE;
  }
}

static gint compare_i64(gconstpointer a, gconstpointer b) {
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *what, GArray *samples) {
  if (samples->len == 0) {
    printf("%s: no samples\n", what);
    return;
  }
  g_array_sort(samples, compare_i64);
  gint64 *v = (gint64 *)(void *)samples->data;
  guint n = samples->len;
  printf("%s: %u samples, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", what, n, v[n / 2] / 1000.0,
         v[MIN(n - 1, (guint)(n * 0.99))] / 1000.0, v[n - 1] / 1000.0);
}

static gboolean done_flag(gpointer data) {
  return *(gboolean *)data;
}

static gboolean room_known(gpointer data) {
  (void)data;
  return room_id != 0;
}

int main(int argc, char **argv) {
  guint port = 0, connections = 80, seconds = 20, interval_ms = 500;
  const char *kind = "none";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0)
      port = (guint)atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--attack") == 0)
      kind = argv[i + 1];
    else if (strcmp(argv[i], "--connections") == 0)
      connections = (guint)atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0)
      seconds = (guint)atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--interval-ms") == 0)
      interval_ms = MAX(1, atoi(argv[i + 1]));
    else {
      fprintf(stderr, "usage: abuse-probe --port P --attack KIND [--connections N] [--seconds S] "
                      "[--interval-ms MS]\n");
      return 2;
    }
  }
  static const struct {
    const char *name;
    Attack attack;
  } kinds[] = {
      {"none", ATTACK_NONE},
      {"login-flood", ATTACK_LOGIN},
      {"wrong-password", ATTACK_WRONG},
      {"register-flood", ATTACK_REGISTER},
      {"idle", ATTACK_IDLE},
      {"echo-flood", ATTACK_ECHO},
  };
  gboolean known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
    if (strcmp(kind, kinds[i].name) == 0)
      attack = kinds[i].attack, known = TRUE;
  if (port == 0 || !known) {
    fprintf(stderr, "abuse-probe: --port and a known --attack are needed (see the source)\n");
    return 2;
  }
  ChatIoLoop *loop = chat_io_loop_new(NULL);
  login_us = g_array_new(FALSE, FALSE, sizeof(gint64));
  message_us = g_array_new(FALSE, FALSE, sizeof(gint64));

  /* The probe's account and its room. */
  probe_clients = load_clients_new(loop, (guint16)port, on_probe_message, on_probe_closed);
  load_clients_set_source(probe_clients, PROBE_ADDRESS);
  Probe *first = g_new0(Probe, 1);
  load_clients_add_named(probe_clients, &first->client, PROBE_USER, TRUE);
  LoadGroup group = {&first->client, 1};
  if (!load_run_until(loop, load_group_all_ready, &group, 60000)) {
    fprintf(stderr, "abuse-probe: the probe account could not log in\n");
    return 1;
  }
  load_client_send_json(&first->client, "create_room", "\"probe room\"");
  if (!load_run_until(loop, room_known, NULL, 10000)) {
    fprintf(stderr, "abuse-probe: no room\n");
    return 1;
  }
  load_client_clear(&first->client);

  /* The attack. */
  guint n_sources = (connections + ATTACKER_PER_ADDRESS - 1) / ATTACKER_PER_ADDRESS;
  LoadClients **attackers = g_new0(LoadClients *, MAX(1u, n_sources));
  for (guint i = 0; i < MAX(1u, n_sources); i++) {
    attackers[i] = load_clients_new(loop, (guint16)port, on_attacker_message, on_attacker_closed);
    g_autofree char *source =
        i == 0 ? g_strdup(ATTACKER_ADDRESS) : g_strdup_printf("127.0.0.%u", 9 + i);
    load_clients_set_source(attackers[i], source);
  }
  LoadClient *attack_array = attack == ATTACK_NONE ? NULL : g_new0(LoadClient, connections);
  guint started = 0;
  gint64 start = g_get_monotonic_time();
  gint64 end = start + (gint64)seconds * G_USEC_PER_SEC;
  gint64 next_probe = start;
  GPtrArray *probes = g_ptr_array_new();
  gint64 last_report = start;
  while (g_get_monotonic_time() < end) {
    /* Attackers connect gradually (the server limits per address). */
    while (attack_array && started < connections) {
      load_clients_add_unauthenticated(attackers[started / ATTACKER_PER_ADDRESS],
                                       &attack_array[started]);
      started++;
    }
    for (guint i = 0; attack_array && i < started; i++) {
      LoadClient *c = &attack_array[i];
      if (c->state == LOAD_READY && c->data == NULL) {
        c->data = GINT_TO_POINTER(1);
        for (int k = 0; k < (attack == ATTACK_ECHO ? ECHO_WINDOW : 1); k++)
          attack_once(c);
      }
    }
    gint64 now = g_get_monotonic_time();
    if (now >= next_probe) {
      Probe *p = g_new0(Probe, 1);
      load_clients_add_named(probe_clients, &p->client, PROBE_USER, FALSE);
      g_ptr_array_add(probes, p);
      next_probe = now + (gint64)interval_ms * 1000;
    }
    if (now - last_report > 5 * G_USEC_PER_SEC) {
      fprintf(stderr,
              "  %.0f s: attack requests %" G_GUINT64_FORMAT ", replies %" G_GUINT64_FORMAT
              ", attacker connections closed %" G_GUINT64_FORMAT "; probe logins %u\n",
              (now - start) / 1e6, attack_requests, attack_replies, attack_closed, login_us->len);
      last_report = now;
    }
    chat_io_loop_iterate(loop, 10);
    /* Finished probes go. */
    for (guint i = 0; i < probes->len; i++) {
      Probe *p = g_ptr_array_index(probes, i);
      gboolean stale = g_get_monotonic_time() - p->client.connect_us > PROBE_TIMEOUT_US;
      if (p->done || p->client.state == LOAD_CLOSED || stale) {
        if (stale && !p->done)
          probe_failures++;
        load_client_clear(&p->client);
        g_free(p);
        g_ptr_array_remove_index_fast(probes, i--);
      }
    }
  }
  gboolean stop = FALSE;
  load_run_until(loop, done_flag, &stop, 500);
  printf("attack %s: %u connections from %u address%s, %u s: %" G_GUINT64_FORMAT
         " requests, %" G_GUINT64_FORMAT " replies, %" G_GUINT64_FORMAT
         " connections closed by chatd\n",
         kind, attack_array ? connections : 0, MAX(1u, n_sources), n_sources > 1 ? "es" : "",
         seconds, attack_requests, attack_replies, attack_closed);
  report("probe login (connect to session_bundle)", login_us);
  report("probe room post (send to acknowledgement)", message_us);
  printf("probe failures: %u\n", probe_failures);
  return 0;
}
