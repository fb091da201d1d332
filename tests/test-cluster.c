/* chatd as a cluster (suite "cluster", issue "cluster mode"): three chatd
 * nodes on one private PostgreSQL and one private nats-server, both started
 * by the test. Users on different nodes register, befriend, chat, send
 * images, share rooms and see each other's presence; one login per account
 * holds across nodes; and the faults: a node killed with SIGKILL, NATS
 * restarted, PostgreSQL restarted.
 *
 * Every wait is for a condition (a message, a log line), bounded by
 * HARNESS_TIMEOUT_MS or the cluster's own timeouts. Without the PostgreSQL
 * or NATS binaries the whole program is one skip. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chatd-harness.h"
#include "nats-fixture.h"
#include "pg-fixture.h"

#define V2 CHAT_DIALECT_V2
#define NODES 3
/* A node killed without goodbye is declared gone after its heartbeats stop
 * (chatd/cluster.h: 3.5 s); its users' friends hear it within this. */
#define NODE_GONE_MS 10000

static PgFixture *pg;
static NatsFixture *nats;
static chatd_instance node[NODES];
static gboolean node_up[NODES];

static char *node_json(int i) {
  g_autofree char *key =
      i == 0 ? NULL : g_strdup_printf(", \"key_file\": \"%s/server.key\"", node[0].dir);
  return g_strdup_printf("\"postgresql\": \"%s\", \"nats\": \"%s\", \"node_name\": \"n%d\"%s",
                         pg_fixture_conninfo(pg), nats_fixture_url(nats), i + 1, key ? key : "");
}

static void start_node(int i) {
  g_autofree char *json = node_json(i);
  chatd_start(&node[i], FALSE, json);
  node_up[i] = TRUE;
}

/* Every node has heard of every other one ("node nX joined the cluster"). */
static void wait_for_mesh(void) {
  gint64 deadline = g_get_monotonic_time() + (gint64)HARNESS_TIMEOUT_MS * 1000;
  for (int i = 0; i < NODES; i++) {
    for (int k = 0; k < NODES; k++) {
      if (i == k || !node_up[i] || !node_up[k])
        continue;
      g_autofree char *line = g_strdup_printf("node n%d joined the cluster", k + 1);
      while (!chatd_log_contains(&node[i], line)) {
        cr_assert_lt(g_get_monotonic_time(), deadline, "n%d never heard of n%d:\n%s", i + 1, k + 1,
                     node[i].log->str);
        harness_spin(20);
      }
    }
  }
}

static void start_cluster(void) {
  pg = pg_fixture_start();
  nats = nats_fixture_start();
  cr_assert(pg && nats, "the fixtures did not start");
  for (int i = 0; i < NODES; i++)
    start_node(i);
  wait_for_mesh();
}

static void stop_cluster(void) {
  if (g_getenv("CLUSTER_TEST_LOGS"))
    for (int i = 0; i < NODES; i++)
      fprintf(stderr, "---- n%d\n%s", i + 1, node[i].log ? node[i].log->str : "");
  for (int i = 0; i < NODES; i++)
    chatd_destroy(&node[i]);
  nats_fixture_stop(nats);
  pg_fixture_stop(pg);
}

static void expect_contains(test_client *c, const char *name, const char *part) {
  g_autofree char *got = client_expect(c, name);
  cr_assert(strstr(got, part), "%s: %s lacks %s", name, got, part);
}

/* Waits for a message named name whose params contain part, skipping
 * others (presence notes may come in any order around it). */
static char *wait_for(test_client *c, const char *name, const char *part, guint timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  for (;;) {
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    cr_assert_gt(left, 0, "no %s with %s", name, part);
    char *next = client_next(c, (guint)left);
    cr_assert_not_null(next, "no %s with %s", name, part);
    if (g_str_has_prefix(next, name) && next[strlen(name)] == ' ' && strstr(next, part))
      return next;
    g_free(next);
  }
}

/* Sends a request again and again until its answer starts with prefix
 * (what a change made on another node, or a database coming back, takes
 * a moment to allow); fails the test with `what` past HARNESS_TIMEOUT_MS. */
static void ask_until(test_client *c, const char *name, const char *params, const char *prefix,
                      const char *what) {
  gint64 deadline = g_get_monotonic_time() + (gint64)HARNESS_TIMEOUT_MS * 1000;
  for (;;) {
    client_send(c, name, params);
    char *got = client_next(c, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(got, "no answer to %s", name);
    gboolean ok = g_str_has_prefix(got, prefix);
    g_free(got);
    if (ok)
      return;
    cr_assert_lt(g_get_monotonic_time(), deadline, "%s", what);
    harness_spin(20);
  }
}

/* add_friend until the node knows the user (a registration on another
 * node reaches it within the cluster's propagation time). */
static void befriend(test_client *asker, const char *username, test_client *target,
                     gint64 asker_id) {
  g_autofree char *params = g_strdup_printf("\"%s\"", username);
  ask_until(asker, "add_friend", params, "add_friend_result [true",
            "the other node never learnt of the user");
  g_free(wait_for(target, "incoming_friend_request", "\"username\"", HARNESS_TIMEOUT_MS));
  g_autofree char *answer = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", asker_id);
  client_send(target, "resolve_friend_request", answer);
  g_free(wait_for(target, "contact_info", "\"online\": true", HARNESS_TIMEOUT_MS));
  g_free(wait_for(asker, "contact_info", "\"online\": true", HARNESS_TIMEOUT_MS));
}

/* The token of the session_bundle that ends a login (base64). */
static char *login_for_token(test_client *c, const char *user, const char *password) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"%s\"]", user, password);
  g_free(client_ask(c, "login", params, "login_successful"));
  for (;;) {
    char *next = client_next_full(c, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "no bundle");
    if (g_str_has_prefix(next, "session_bundle ")) {
      const char *at = strstr(next, "\"token\": {\"$bytes\": \"");
      cr_assert_not_null(at);
      at += strlen("\"token\": {\"$bytes\": \"");
      char *token = g_strndup(at, strcspn(at, "\""));
      g_free(next);
      return token;
    }
    g_free(next);
  }
}

static gint64 register_on(test_client *c, const char *user) {
  g_autofree char *params = g_strdup_printf("[\"%s\", \"pw\", \"%s\"]", user, user);
  g_autofree char *id = client_ask(c, "register", params, "register_successful");
  return g_ascii_strtoll(id, NULL, 10);
}

/* alice (id 1) logged in on n1 and bob (id 2) on n2, friends; *token (if
 * not NULL) gets alice's resume token. Returns alice's id. */
static gint64 friends_on_n1_and_n2(test_client **alice, test_client **bob, char **token) {
  *alice = client_connect(node[0].port, V2);
  *bob = client_connect(node[1].port, V2);
  gint64 alice_id = register_on(*alice, "alice");
  register_on(*bob, "bob");
  if (token)
    *token = login_for_token(*alice, "alice", "pw");
  else
    client_login(*alice, "alice", "pw");
  client_login(*bob, "bob", "pw");
  befriend(*alice, "bob", *bob, alice_id);
  return alice_id;
}

TestSuite(cluster, .init = start_cluster, .fini = stop_cluster, .timeout = 120);

Test(cluster, friends_on_two_nodes_chat_and_see_presence) {
  test_client *alice, *bob;
  friends_on_n1_and_n2(&alice, &bob, NULL);

  client_send(alice, "send_message",
              "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": "
              "\"hello from n1\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}");
  expect_contains(alice, "on_new_message", "hello from n1");
  g_free(wait_for(bob, "on_new_message", "hello from n1", HARNESS_TIMEOUT_MS));

  /* An image: bytes across nodes. */
  client_send(bob, "send_message",
              "{\"target_type\": 0, \"target_id\": 1, \"message\": {\"type\": 1, \"data\": "
              "{\"$bytes\": \"iVBORw0KGgoAAAANSUhEUg==\"}}}");
  expect_contains(bob, "on_new_message", "\"type\": 1");
  g_free(wait_for(alice, "on_new_message", "\"sender_id\": 2", HARNESS_TIMEOUT_MS));

  /* bob leaves: alice on the other node sees him go, and come back. */
  client_free(bob);
  g_free(wait_for(alice, "friend_on_off_line", "[false, 2]", HARNESS_TIMEOUT_MS));
  bob = client_connect(node[2].port, V2);
  client_login(bob, "bob", "pw");
  g_free(wait_for(alice, "friend_on_off_line", "[true, 2]", HARNESS_TIMEOUT_MS));

  /* A nickname change on n3 reaches alice's contact list on n1. */
  client_send(bob, "set_nickname", "\"Robert\"");
  expect_contains(bob, "profile_updated", "Robert");
  g_free(wait_for(alice, "contact_info", "\"nickname\": \"Robert\"", HARNESS_TIMEOUT_MS));
  client_free(alice);
  client_free(bob);
}

/* A message too large to travel inline between nodes (cluster.c: over 512
 * KiB) goes as its id, and the receiver's node reads it from the store. */
Test(cluster, a_large_image_crosses_nodes_through_the_store) {
  test_client *alice, *bob;
  friends_on_n1_and_n2(&alice, &bob, NULL);
  gsize size = 600 * 1024;
  g_autofree guint8 *image = g_malloc0(size);
  memcpy(image, "\x89PNG\r\n\x1a\n", 8);
  g_autofree char *b64 = g_base64_encode(image, size);
  g_autofree char *msg =
      g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 1, \"data\": "
                      "{\"$bytes\": \"%s\"}}}",
                      b64);
  client_send(alice, "send_message", msg);
  g_free(wait_for(alice, "on_new_message", "\"$bytes_len\": 614400", HARNESS_TIMEOUT_MS));
  g_free(wait_for(bob, "on_new_message", "\"$bytes_len\": 614400", HARNESS_TIMEOUT_MS));
  client_free(alice);
  client_free(bob);
}

Test(cluster, a_room_spread_over_three_nodes) {
  test_client *c[NODES];
  const char *names[NODES] = {"ann", "ben", "cat"};
  for (int i = 0; i < NODES; i++) {
    c[i] = client_connect(node[i].port, V2);
    register_on(c[i], names[i]);
    client_login(c[i], names[i], "pw");
  }
  client_send(c[2], "create_room", "\"everyone\"");
  g_autofree char *room =
      wait_for(c[2], "contact_info", "\"room_name\": \"everyone\"", HARNESS_TIMEOUT_MS);
  const char *at = strstr(room, "\"id\": ");
  cr_assert_not_null(at);
  gint64 room_id = g_ascii_strtoll(at + strlen("\"id\": "), NULL, 10);
  g_free(wait_for(c[2], "general_msg", "created", HARNESS_TIMEOUT_MS));
  g_autofree char *join = g_strdup_printf("%" G_GINT64_FORMAT, room_id);
  /* The room reaches the other nodes within the propagation time. */
  for (int i = 0; i < 2; i++)
    ask_until(c[i], "join_room", join, "contact_info", "the room never reached another node");
  /* Memberships too: n3 delivers to members it learnt of from n1 and n2. */
  gint64 deadline = g_get_monotonic_time() + (gint64)HARNESS_TIMEOUT_MS * 1000;
  for (;;) {
    g_autofree char *members =
        client_ask(c[2], "query_room_users", join, "query_room_users_result");
    if (strstr(members, "\"ann\"") && strstr(members, "\"ben\""))
      break;
    cr_assert_lt(g_get_monotonic_time(), deadline, "n3 never saw the joins: %s", members);
    harness_spin(20);
  }
  g_autofree char *post = g_strdup_printf(
      "{\"target_type\": 1, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"hi all\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      room_id);
  client_send(c[2], "send_message", post);
  g_free(wait_for(c[2], "on_new_message", "hi all", HARNESS_TIMEOUT_MS));
  g_free(wait_for(c[0], "on_new_message", "hi all", HARNESS_TIMEOUT_MS));
  g_free(wait_for(c[1], "on_new_message", "hi all", HARNESS_TIMEOUT_MS));
  for (int i = 0; i < NODES; i++)
    client_free(c[i]);
}

Test(cluster, one_login_per_account_across_nodes) {
  test_client *first = client_connect(node[0].port, V2);
  register_on(first, "dora");
  client_login(first, "dora", "pw");
  test_client *second = client_connect(node[1].port, V2);
  /* The registration reaches n2 within the propagation time. */
  ask_until(second, "login", "[\"dora\", \"pw\"]", "login_successful", "dora never reached n2");
  /* From where: the new login's address, and its node. */
  g_free(wait_for(first, "server_kick", "(on node n2)", HARNESS_TIMEOUT_MS));
  cr_assert(client_wait_closed(first, HARNESS_TIMEOUT_MS), "the old login stays open");
  client_free(first);
  client_free(second);
}

Test(cluster, a_killed_node_s_users_go_offline_and_resume_elsewhere) {
  test_client *alice, *bob;
  g_autofree char *token = NULL;
  gint64 alice_id = friends_on_n1_and_n2(&alice, &bob, &token);

  kill(g_ascii_strtoll(g_subprocess_get_identifier(node[0].process), NULL, 10), SIGKILL);
  node_up[0] = FALSE;
  g_autofree char *offline = g_strdup_printf("[false, %" G_GINT64_FORMAT "]", alice_id);
  g_free(wait_for(bob, "friend_on_off_line", offline, NODE_GONE_MS));

  /* alice's client moves to the next server and resumes with its token. */
  client_free(alice);
  alice = client_connect(node[2].port, V2);
  g_autofree char *resume =
      g_strdup_printf("{\"username\": \"alice\", \"token\": {\"$bytes\": \"%s\"}}", token);
  client_send(alice, "resume", resume);
  expect_contains(alice, "login_successful", "\"username\": \"alice\"");
  g_autofree char *online = g_strdup_printf("[true, %" G_GINT64_FORMAT "]", alice_id);
  g_free(wait_for(bob, "friend_on_off_line", online, HARNESS_TIMEOUT_MS));

  /* A message sent before the kill but not acknowledged would be resent
   * with its client_msg_id: the store keeps it once. */
  const char *msg = "{\"target_type\": 0, \"target_id\": 2, \"client_msg_id\": \"m-1\", "
                    "\"message\": {\"type\": 0, \"data\": \"once\", \"fontsize\": 12, "
                    "\"fontcolor\": \"#000000\"}}";
  client_send(alice, "send_message", msg);
  g_free(wait_for(alice, "on_new_message", "\"client_msg_id\": \"m-1\"", HARNESS_TIMEOUT_MS));
  client_send(alice, "send_message", msg);
  g_free(wait_for(alice, "on_new_message", "\"client_msg_id\": \"m-1\"", HARNESS_TIMEOUT_MS));
  g_free(wait_for(bob, "on_new_message", "once", HARNESS_TIMEOUT_MS));
  cr_assert(client_quiet_for(bob, 500), "bob got the resent message twice");
  client_free(alice);
  client_free(bob);
}

Test(cluster, nats_restarted_nodes_resynchronise) {
  test_client *alice, *bob;
  friends_on_n1_and_n2(&alice, &bob, NULL);

  nats_fixture_down(nats);
  for (int i = 0; i < 2; i++) {
    gint64 deadline = g_get_monotonic_time() + (gint64)HARNESS_TIMEOUT_MS * 1000;
    while (!chatd_log_contains(&node[i], "lost the connection to NATS")) {
      cr_assert_lt(g_get_monotonic_time(), deadline, "n%d did not notice", i + 1);
      harness_spin(20);
    }
  }
  /* Sent during the outage: stored and acknowledged (PostgreSQL is up). */
  client_send(alice, "send_message",
              "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": "
              "\"during the outage\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}");
  expect_contains(alice, "on_new_message", "during the outage");
  /* A registration during the outage. */
  test_client *carl = client_connect(node[0].port, V2);
  register_on(carl, "carl");
  cr_assert(nats_fixture_up(nats));
  for (int i = 0; i < 2; i++) {
    gint64 deadline = g_get_monotonic_time() + (gint64)HARNESS_TIMEOUT_MS * 1000;
    while (!chatd_log_contains(&node[i], "reloaded the directory")) {
      cr_assert_lt(g_get_monotonic_time(), deadline, "n%d did not resynchronise:\n%s", i + 1,
                   node[i].log->str);
      harness_spin(20);
    }
  }
  /* The message reaches bob at the latest in his history (live, too, when
   * the sending node's buffer outlived the outage). */
  client_send(bob, "fetch_history",
              "{\"target_type\": 0, \"target_id\": 1, \"before_id\": 0, \"limit\": 10}");
  g_free(wait_for(bob, "history_page", "during the outage", HARNESS_TIMEOUT_MS));
  /* n2 knows carl, registered on n1 during the outage. */
  client_send(bob, "add_friend", "\"carl\"");
  g_free(wait_for(bob, "add_friend_result", "[true", HARNESS_TIMEOUT_MS));
  /* Presence works again: bob leaves, alice sees it. */
  client_free(bob);
  g_free(wait_for(alice, "friend_on_off_line", "[false, 2]", HARNESS_TIMEOUT_MS));
  client_free(alice);
  client_free(carl);
}

Test(cluster, postgresql_restarted_sends_fail_then_recover) {
  test_client *alice, *bob;
  friends_on_n1_and_n2(&alice, &bob, NULL);
  const char *msg = "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, \"data\": "
                    "\"try\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}";

  pg_fixture_kill(pg);
  /* No false acknowledgement: the failure says try again. */
  client_send(alice, "send_message", msg);
  g_free(wait_for(alice, "request_failed", "\"error\": \"storage_failed\"", HARNESS_TIMEOUT_MS));
  cr_assert(pg_fixture_restart(pg));
  /* chatd reconnects by itself. */
  ask_until(alice, "send_message", msg, "on_new_message", "chatd never recovered");
  g_free(wait_for(bob, "on_new_message", "try", HARNESS_TIMEOUT_MS));
  client_free(alice);
  client_free(bob);
}

/* Without the servers there is nothing to run, and meson is told so (a TAP
 * plan of nothing, skipped: meson reads this program's output as TAP). */
int main(int argc, char *argv[]) {
  if (!pg_fixture_available() || !nats_fixture_available()) {
    printf("1..0 # SKIP needs PostgreSQL and nats-server (ci/setup installs them)\n");
    return 0;
  }
  struct criterion_test_set *tests = criterion_initialize();
  int result = 0;
  if (criterion_handle_args(argc, argv, true))
    result = !criterion_run_all_tests(tests);
  criterion_finalize(tests);
  return result;
}
