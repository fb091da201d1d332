/* A private PostgreSQL server for a test (suite "cluster"): initdb into a
 * fresh temporary directory, postgres on a free port of 127.0.0.1 with its
 * unix socket in that directory, fsync off, track_commit_timestamp on. When the test runs as root,
 * initdb and postgres run as the unprivileged user "nobody" (PostgreSQL
 * refuses root). Waits poll a connection, bounded by PG_FIXTURE_WAIT_MS;
 * no fixed sleeps. Every fixture still running when the process exits is
 * stopped (atexit), and the server dies with the test process (its parent
 * death signal). */
#pragma once

#include <glib.h>

/* How long starting or stopping the server may take, at most. */
#define PG_FIXTURE_WAIT_MS 30000

typedef struct _PgFixture PgFixture;

/* Starts the server and creates the database "chat". Returns NULL (the
 * caller exits 77 / skips) when the PostgreSQL binaries are missing; a
 * server that fails to start fails loudly (g_critical with its log) and
 * returns NULL too. The binaries are looked up in $CHAT_PG_BINDIR, then
 * /usr/lib/postgresql/<version>/bin, then $PATH. */
PgFixture *pg_fixture_start(void);
/* Whether the binaries exist (the test skips when not). */
gboolean pg_fixture_available(void);
/* "host=127.0.0.1 port=N dbname=chat user=chat connect_timeout=5". */
const char *pg_fixture_conninfo(PgFixture *fixture);
/* Creates a fresh empty database name ([a-z0-9_] only) and gives its
 * conninfo (g_free it). */
gboolean pg_fixture_create_database(PgFixture *fixture, const char *name, char **conninfo_out);
/* For the processes of a run that share one server, known by its conninfo
 * without dbname ("host=127.0.0.1 port=N user=chat"): creates a fresh
 * database PREFIX_PID_N and gives its conninfo (g_free it), or NULL (with a
 * g_critical saying why). */
char *pg_fixture_new_database(const char *server, const char *prefix);
/* Fast shutdown, waits for it, removes the directory. NULL is allowed. */
void pg_fixture_stop(PgFixture *fixture);
/* SIGKILL to the server and every backend (fault tests); waits for the
 * postmaster to be gone. */
void pg_fixture_kill(PgFixture *fixture);
/* Starts the server again on the same port and data (after kill or stop of
 * the server only: pg_fixture_stop() frees the fixture). */
gboolean pg_fixture_restart(PgFixture *fixture);
/* The port. */
int pg_fixture_port(PgFixture *fixture);
