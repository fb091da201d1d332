#include "nats-fixture.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

/* How often a starting or stopping server is looked at. */
#define NATS_FIXTURE_POLL_US 10000

struct _NatsFixture {
  char *program;
  char *dir; /* the log file's directory */
  char *log_path;
  guint16 port;
  char *url;
  GPid pid; /* 0 when the server is not running */
};

/* Every fixture not stopped yet, for the exit handler. */
static GList *live_fixtures;
static gboolean exit_handler_installed;

static char *find_nats_server(void) {
  const char *chosen = g_getenv("NATS_SERVER");
  if (chosen)
    return g_file_test(chosen, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup(chosen) : NULL;
  char *found = g_find_program_in_path("nats-server");
  if (found)
    return found;
  static const char *const places[] = {"/usr/sbin/nats-server", "/usr/local/sbin/nats-server",
                                       "/usr/local/bin/nats-server"};
  for (gsize i = 0; i < G_N_ELEMENTS(places); i++) {
    if (g_file_test(places[i], G_FILE_TEST_IS_EXECUTABLE))
      return g_strdup(places[i]);
  }
  return NULL;
}

gboolean nats_fixture_available(void) {
  g_autofree char *program = find_nats_server();
  return program != NULL;
}

/* A loopback port nobody listens on now (the kernel's choice). */
static guint16 pick_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(fd >= 0, "socket: %s", g_strerror(errno));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0, "bind: %s", g_strerror(errno));
  socklen_t len = sizeof addr;
  cr_assert(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

static gboolean port_accepts(guint16 port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  gboolean ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  close(fd);
  return ok;
}

/* In the child: die with the test process, even when it is killed. */
static void child_setup(gpointer data) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A test that ends without nats_fixture_stop() (a failed assertion, an
 * exit) leaves no server and no directory behind. */
static void stop_live_at_exit(void) {
  for (GList *l = live_fixtures; l; l = l->next) {
    NatsFixture *fixture = l->data;
    if (fixture->pid != 0) {
      kill(fixture->pid, SIGKILL);
      waitpid(fixture->pid, NULL, 0);
      fixture->pid = 0;
    }
    test_remove_tree(fixture->dir);
  }
  g_clear_pointer(&live_fixtures, g_list_free);
}

static void server_stop(NatsFixture *fixture) {
  if (fixture->pid == 0)
    return;
  kill(fixture->pid, SIGTERM);
  gint64 end = g_get_monotonic_time() + (gint64)NATS_FIXTURE_STOP_TIMEOUT_MS * 1000;
  while (waitpid(fixture->pid, NULL, WNOHANG) == 0) {
    if (g_get_monotonic_time() >= end) {
      kill(fixture->pid, SIGKILL);
      waitpid(fixture->pid, NULL, 0);
      break;
    }
    g_usleep(NATS_FIXTURE_POLL_US);
  }
  fixture->pid = 0;
}

/* Starts the server on fixture->port and waits until the port accepts a
 * connection; FALSE (the server stopped) when it exits or times out. */
static gboolean server_start(NatsFixture *fixture) {
  g_autofree char *port = g_strdup_printf("%u", fixture->port);
  const char *argv[] = {fixture->program,  "-a", "127.0.0.1", "-p", port, "-l",
                        fixture->log_path, NULL};
  g_autoptr(GError) error = NULL;
  if (!g_spawn_async(NULL, (char **)argv, NULL,
                     G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, child_setup, NULL,
                     &fixture->pid, &error)) {
    cr_log_error("cannot start %s: %s", fixture->program, error->message);
    fixture->pid = 0;
    return FALSE;
  }

  gint64 end = g_get_monotonic_time() + (gint64)NATS_FIXTURE_READY_TIMEOUT_MS * 1000;
  while (!port_accepts(fixture->port)) {
    int status;
    if (waitpid(fixture->pid, &status, WNOHANG) == fixture->pid) {
      fixture->pid = 0;
      g_autofree char *log = read_whole_file(fixture->log_path, NULL);
      cr_log_error("nats-server on port %u exited (status %d): %s", fixture->port, status,
                   log ? log : "(no log)");
      return FALSE;
    }
    if (g_get_monotonic_time() >= end) {
      g_autofree char *log = read_whole_file(fixture->log_path, NULL);
      cr_log_error("nats-server on port %u not ready after %d ms: %s", fixture->port,
                   NATS_FIXTURE_READY_TIMEOUT_MS, log ? log : "(no log)");
      server_stop(fixture);
      return FALSE;
    }
    g_usleep(NATS_FIXTURE_POLL_US);
  }
  return TRUE;
}

NatsFixture *nats_fixture_start(void) {
  char *program = find_nats_server();
  if (program == NULL)
    return NULL;
  NatsFixture *fixture = g_new0(NatsFixture, 1);
  fixture->program = program;
  fixture->dir = test_make_tmp_dir("nats-fixture-XXXXXX");
  fixture->log_path = g_build_filename(fixture->dir, "nats-server.log", NULL);
  fixture->port = pick_free_port();
  fixture->url = g_strdup_printf("nats://127.0.0.1:%u", fixture->port);
  live_fixtures = g_list_prepend(live_fixtures, fixture);
  if (!exit_handler_installed) {
    atexit(stop_live_at_exit);
    exit_handler_installed = TRUE;
  }
  cr_assert(server_start(fixture), "nats-server did not start");
  return fixture;
}

const char *nats_fixture_url(NatsFixture *fixture) {
  return fixture->url;
}

void nats_fixture_down(NatsFixture *fixture) {
  server_stop(fixture);
}

gboolean nats_fixture_up(NatsFixture *fixture) {
  if (fixture->pid != 0)
    return TRUE;
  return server_start(fixture);
}

gboolean nats_fixture_restart(NatsFixture *fixture) {
  server_stop(fixture);
  return server_start(fixture);
}

void nats_fixture_stop(NatsFixture *fixture) {
  if (fixture == NULL)
    return;
  server_stop(fixture);
  live_fixtures = g_list_remove(live_fixtures, fixture);
  test_remove_tree(fixture->dir);
  g_free(fixture->dir);
  g_free(fixture->log_path);
  g_free(fixture->program);
  g_free(fixture->url);
  g_free(fixture);
}
