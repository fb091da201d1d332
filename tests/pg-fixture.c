/* A private PostgreSQL server for tests (pg-fixture.h). */
#include "pg-fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

/* The role initdb creates (the superuser of the private cluster). */
#define PG_FIXTURE_USER "chat"
/* Between two connection attempts while waiting for the server. */
#define PG_FIXTURE_POLL_US 20000

struct _PgFixture {
  char *dir;      /* the temporary directory: data/, the socket, logs */
  char *data_dir; /* dir/data */
  char *bindir;
  int port;
  pid_t pid; /* the postmaster, 0 when not running */
  char *conninfo;
  gboolean drop_privileges; /* running as root: the server runs as run_uid */
  uid_t run_uid;
  gid_t run_gid;
  pid_t owner; /* the process that started it (a forked child must not stop it) */
};

static GPtrArray *live_fixtures; /* stopped at exit */

static char *find_bindir(void) {
  const char *env = g_getenv("CHAT_PG_BINDIR");
  if (env != NULL && *env != '\0') {
    g_autofree char *initdb = g_build_filename(env, "initdb", NULL);
    return g_file_test(initdb, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup(env) : NULL;
  }
  for (int version = 20; version >= 12; version--) {
    g_autofree char *dir = g_strdup_printf("/usr/lib/postgresql/%d/bin", version);
    g_autofree char *initdb = g_build_filename(dir, "initdb", NULL);
    g_autofree char *postgres = g_build_filename(dir, "postgres", NULL);
    if (g_file_test(initdb, G_FILE_TEST_IS_EXECUTABLE) &&
        g_file_test(postgres, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer(&dir);
  }
  g_autofree char *initdb = g_find_program_in_path("initdb");
  g_autofree char *postgres = g_find_program_in_path("postgres");
  if (initdb == NULL || postgres == NULL)
    return NULL;
  return g_path_get_dirname(initdb);
}

gboolean pg_fixture_available(void) {
  g_autofree char *bindir = find_bindir();
  return bindir != NULL;
}

/* A port of 127.0.0.1 nobody listens on now. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
      getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

/* Forks argv[0] with stdout and stderr appended to log_path, as the
 * fixture's unprivileged user when running as root, in a session of its
 * own (so pg_fixture_kill() reaches every backend), killed when this
 * process dies. Returns the pid, or -1. */
static pid_t spawn(PgFixture *f, char **argv, const char *log_path) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid > 0)
    return pid;
  /* the child: only async-signal-safe calls until exec */
  setsid();
  int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null_fd < 0)
    _exit(126);
  dup2(null_fd, STDIN_FILENO);
  dup2(log, STDOUT_FILENO);
  dup2(log, STDERR_FILENO);
  if (f->drop_privileges) {
    if (setgroups(0, NULL) != 0 || setgid(f->run_gid) != 0 || setuid(f->run_uid) != 0)
      _exit(126);
  }
  /* after the credentials change, which clears it */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(126);
  execv(argv[0], argv);
  _exit(127);
}

/* Waits for pid to exit, at most timeout_ms; its status in *status. */
static gboolean wait_exit(pid_t pid, guint timeout_ms, int *status) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD))
      return TRUE;
    if (g_get_monotonic_time() > deadline)
      return FALSE;
    g_usleep(PG_FIXTURE_POLL_US / 4);
  }
}

static void print_log(PgFixture *f, const char *name) {
  g_autofree char *path = g_build_filename(f->dir, name, NULL);
  g_autofree char *text = read_whole_file(path, NULL);
  g_printerr("---- %s ----\n%s\n----\n", path, text != NULL ? text : "(empty)");
}

static char *conninfo_for(PgFixture *f, const char *dbname) {
  return g_strdup_printf("host=127.0.0.1 port=%d dbname=%s user=" PG_FIXTURE_USER
                         " connect_timeout=5",
                         f->port, dbname);
}

/* Starts the postmaster and waits until it accepts connections. */
static gboolean start_server(PgFixture *f) {
  g_autofree char *postgres = g_build_filename(f->bindir, "postgres", NULL);
  g_autofree char *port = g_strdup_printf("%d", f->port);
  g_autofree char *log = g_build_filename(f->dir, "postgres.log", NULL);
  char *argv[] = {postgres, "-D", f->data_dir, "-p", port, "-k", f->dir, "-c",
                  "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                  "-c", "max_connections=100", "-c", "shared_buffers=16MB",
                  /* tests compare the commit order with the ids */
                  "-c", "track_commit_timestamp=on", NULL};
  f->pid = spawn(f, argv, log);
  if (f->pid < 0) {
    f->pid = 0;
    g_critical("pg-fixture: cannot fork: %s", g_strerror(errno));
    return FALSE;
  }
  g_autofree char *conninfo = conninfo_for(f, "postgres");
  gint64 deadline = g_get_monotonic_time() + (gint64)PG_FIXTURE_WAIT_MS * 1000;
  while (PQping(conninfo) != PQPING_OK) {
    int status;
    if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
      f->pid = 0;
      g_critical("pg-fixture: postgres exited (status %d) before accepting connections", status);
      print_log(f, "postgres.log");
      return FALSE;
    }
    if (g_get_monotonic_time() > deadline) {
      g_critical("pg-fixture: postgres did not accept connections within %d ms",
                 PG_FIXTURE_WAIT_MS);
      print_log(f, "postgres.log");
      pg_fixture_kill(f);
      return FALSE;
    }
    g_usleep(PG_FIXTURE_POLL_US);
  }
  return TRUE;
}

static gboolean run_sql(PgFixture *f, const char *dbname, const char *sql) {
  g_autofree char *conninfo = conninfo_for(f, dbname);
  PGconn *conn = PQconnectdb(conninfo);
  gboolean ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult *res = PQexec(conn, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
      g_critical("pg-fixture: %s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
  } else {
    g_critical("pg-fixture: cannot connect: %s", PQerrorMessage(conn));
  }
  PQfinish(conn);
  return ok;
}

static void stop_all_at_exit(void) {
  while (live_fixtures != NULL && live_fixtures->len > 0) {
    PgFixture *f = g_ptr_array_index(live_fixtures, live_fixtures->len - 1);
    if (f->owner != getpid()) { /* a forked copy: not ours to stop */
      g_ptr_array_remove_index(live_fixtures, live_fixtures->len - 1);
      continue;
    }
    pg_fixture_stop(f);
  }
}

static void fixture_free(PgFixture *f) {
  if (live_fixtures != NULL)
    g_ptr_array_remove(live_fixtures, f);
  if (f->dir != NULL)
    test_remove_tree(f->dir);
  g_free(f->dir);
  g_free(f->data_dir);
  g_free(f->bindir);
  g_free(f->conninfo);
  g_free(f);
}

PgFixture *pg_fixture_start(void) {
  g_autofree char *bindir = find_bindir();
  if (bindir == NULL)
    return NULL;
  PgFixture *f = g_new0(PgFixture, 1);
  f->owner = getpid();
  f->bindir = g_steal_pointer(&bindir);
  f->dir = test_make_tmp_dir("chat-pg-XXXXXX");
  f->data_dir = g_build_filename(f->dir, "data", NULL);
  if (live_fixtures == NULL) {
    live_fixtures = g_ptr_array_new();
    atexit(stop_all_at_exit);
  }
  g_ptr_array_add(live_fixtures, f);

  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
      g_critical("pg-fixture: running as root and there is no user \"nobody\"");
      fixture_free(f);
      return NULL;
    }
    f->drop_privileges = TRUE;
    f->run_uid = pw->pw_uid;
    f->run_gid = pw->pw_gid;
    if (chown(f->dir, f->run_uid, f->run_gid) != 0) {
      g_critical("pg-fixture: chown %s: %s", f->dir, g_strerror(errno));
      fixture_free(f);
      return NULL;
    }
  }
  /* the temporary directory's parents must let the server through */
  chmod(f->dir, 0700);

  g_autofree char *initdb = g_build_filename(f->bindir, "initdb", NULL);
  g_autofree char *initdb_log = g_build_filename(f->dir, "initdb.log", NULL);
  char *argv[] = {initdb, "-D",   f->data_dir,  "-U",        PG_FIXTURE_USER,     "-A", "trust",
                  "-E",   "UTF8", "--locale=C", "--no-sync", "--no-instructions", NULL};
  pid_t pid = spawn(f, argv, initdb_log);
  int status = -1;
  if (pid < 0 || !wait_exit(pid, PG_FIXTURE_WAIT_MS * 2, &status) || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    if (pid > 0 && status == -1) {
      kill(-pid, SIGKILL);
      wait_exit(pid, PG_FIXTURE_WAIT_MS, &status);
    }
    g_critical("pg-fixture: initdb failed (status %d)", status);
    print_log(f, "initdb.log");
    fixture_free(f);
    return NULL;
  }
  /* A port may be taken between choosing and binding it: a few tries. */
  gboolean started = FALSE;
  for (int attempt = 0; attempt < 3 && !started; attempt++) {
    f->port = free_port();
    started = f->port > 0 && start_server(f);
  }
  if (!started || !run_sql(f, "postgres", "CREATE DATABASE chat")) {
    pg_fixture_stop(f);
    return NULL;
  }
  f->conninfo = conninfo_for(f, "chat");
  return f;
}

const char *pg_fixture_conninfo(PgFixture *f) {
  return f->conninfo;
}

int pg_fixture_port(PgFixture *f) {
  return f->port;
}

gboolean pg_fixture_create_database(PgFixture *f, const char *name, char **conninfo_out) {
  g_return_val_if_fail(f != NULL && name != NULL && *name != '\0', FALSE);
  for (const char *p = name; *p != '\0'; p++)
    g_return_val_if_fail(g_ascii_islower(*p) || g_ascii_isdigit(*p) || *p == '_', FALSE);
  g_autofree char *sql = g_strdup_printf("CREATE DATABASE %s", name);
  if (!run_sql(f, "postgres", sql))
    return FALSE;
  if (conninfo_out != NULL)
    *conninfo_out = conninfo_for(f, name);
  return TRUE;
}

char *pg_fixture_new_database(const char *server, const char *prefix) {
  static int serial;
  g_autofree char *name = g_strdup_printf("%s_%d_%d", prefix, (int)getpid(), ++serial);
  g_autofree char *admin = g_strdup_printf("%s dbname=postgres", server);
  PGconn *conn = PQconnectdb(admin);
  if (PQstatus(conn) != CONNECTION_OK) {
    g_critical("pg-fixture: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return NULL;
  }
  g_autofree char *sql = g_strdup_printf("CREATE DATABASE %s", name);
  PGresult *res = PQexec(conn, sql);
  gboolean ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  if (!ok)
    g_critical("pg-fixture: %s: %s", sql, PQresultErrorMessage(res));
  PQclear(res);
  PQfinish(conn);
  return ok ? g_strdup_printf("%s dbname=%s", server, name) : NULL;
}

/* The shared memory id of the server of data_dir (the last line of
 * postmaster.pid: "KEY ID"), or -1. */
static int shared_memory_id(const char *data_dir) {
  g_autofree char *path = g_build_filename(data_dir, "postmaster.pid", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return -1;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint n = g_strv_length(lines);
  if (n < 7)
    return -1;
  long key = 0, id = -1;
  if (sscanf(lines[6], "%ld %ld", &key, &id) != 2)
    return -1;
  return (int)id;
}

void pg_fixture_kill(PgFixture *f) {
  g_return_if_fail(f != NULL);
  if (f->pid <= 0)
    return;
  int shm_id = shared_memory_id(f->data_dir);
  kill(-f->pid, SIGKILL); /* the postmaster's process group */
  int status;
  if (!wait_exit(f->pid, PG_FIXTURE_WAIT_MS, &status))
    g_critical("pg-fixture: postgres %d survived SIGKILL", (int)f->pid);
  /* the backends are not our children: wait until the session is empty */
  gint64 deadline = g_get_monotonic_time() + (gint64)PG_FIXTURE_WAIT_MS * 1000;
  while (kill(-f->pid, 0) == 0 && g_get_monotonic_time() < deadline)
    g_usleep(PG_FIXTURE_POLL_US / 4);
  /* Each backend is in a process group of its own (PostgreSQL's children
   * call setsid): they end by themselves once they see the postmaster gone,
   * and until the last has, the shared memory is attached and a new server
   * refuses to start ("pre-existing shared memory block is still in use"). */
  struct shmid_ds ds;
  while (shm_id >= 0 && shmctl(shm_id, IPC_STAT, &ds) == 0 && ds.shm_nattch > 0 &&
         g_get_monotonic_time() < deadline)
    g_usleep(PG_FIXTURE_POLL_US / 4);
  f->pid = 0;
}

gboolean pg_fixture_restart(PgFixture *f) {
  g_return_val_if_fail(f != NULL, FALSE);
  if (f->pid > 0)
    pg_fixture_kill(f);
  return start_server(f);
}

void pg_fixture_stop(PgFixture *f) {
  if (f == NULL)
    return;
  if (f->pid > 0) {
    kill(f->pid, SIGINT); /* fast shutdown */
    int status;
    if (!wait_exit(f->pid, PG_FIXTURE_WAIT_MS, &status)) {
      g_warning("pg-fixture: postgres did not stop within %d ms; killing it", PG_FIXTURE_WAIT_MS);
      pg_fixture_kill(f);
    }
    f->pid = 0;
  }
  fixture_free(f);
}
