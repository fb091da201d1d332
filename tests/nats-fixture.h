/* A private nats-server for a test (the cluster suite).
 *
 * nats-server listens on 127.0.0.1 on a port that was free, is stopped by
 * nats_fixture_stop() and, if the test ends without it (a failed assertion,
 * an exit), at exit or when the test process dies. Starting waits until the
 * port accepts a connection (at most NATS_FIXTURE_READY_TIMEOUT_MS). */
#ifndef CHAT_TESTS_NATS_FIXTURE_H
#define CHAT_TESTS_NATS_FIXTURE_H

#include <glib.h>

#define NATS_FIXTURE_READY_TIMEOUT_MS 30000
/* A stopped server that has not exited after this long is killed. */
#define NATS_FIXTURE_STOP_TIMEOUT_MS 10000

typedef struct _NatsFixture NatsFixture;

/* nats-server is looked for in $NATS_SERVER if set (the path of the
 * program), else in PATH and /usr/sbin, /usr/local/sbin, /usr/local/bin. */

/* Whether nats-server is installed. Criterion runs each test in a process
 * of its own, so a test's exit(77) does not reach meson: a test program
 * checks this in its main() and skips there (a TAP test prints the plan
 * "1..0 # SKIP ..." and returns 0, see tests/test-cluster-bus.c; a test
 * that is not TAP returns 77). */
gboolean nats_fixture_available(void);

/* Starts nats-server -a 127.0.0.1 -p <a free port>. NULL when nats-server
 * is not installed; a server that does not start fails the test. */
NatsFixture *nats_fixture_start(void);

/* "nats://127.0.0.1:<port>" */
const char *nats_fixture_url(NatsFixture *fixture);

/* Stops the server (if it runs) and frees the fixture. NULL is ignored. */
void nats_fixture_stop(NatsFixture *fixture);

/* Stops the server and starts it again on the same port; FALSE when it does
 * not come back. */
gboolean nats_fixture_restart(NatsFixture *fixture);

/* For tests that want the server down for a while: stops the server, and
 * starts it again on the same port (the fixture stays usable). */
void nats_fixture_down(NatsFixture *fixture);
gboolean nats_fixture_up(NatsFixture *fixture);

#endif
