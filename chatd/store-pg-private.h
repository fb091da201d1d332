/* Internals of the PostgreSQL store (store-pg-*.c), the only files that
 * include libpq-fe.h. store-pg-schema.c connects, reconnects, maps errors
 * and migrates; store-pg-statements.c holds every statement and runs the
 * requests (chatd_store_pg_backend). */
#pragma once

#include <libpq-fe.h>

#include "chatd/store-backend.h"
#include "chatd/store-pg.h"

G_BEGIN_DECLS

/* Reconnection backoff: the first retry after a loss is immediate, then
 * STORE_PG_BACKOFF_MIN_US doubling up to STORE_PG_BACKOFF_MAX_US. */
#define STORE_PG_BACKOFF_MIN_US (100 * G_TIME_SPAN_MILLISECOND)
#define STORE_PG_BACKOFF_MAX_US (2 * G_TIME_SPAN_SECOND)

/* One connection of a store (writer or reader) and its state; used by one
 * thread at a time. */
typedef struct {
  PGconn *conn; /* NULL or bad while the server cannot be reached */
  char *conninfo;
  StoreRole role;
  gint64 next_attempt_us;     /* monotonic: no reconnection before this */
  gint64 backoff_us;          /* the wait after the next failed attempt */
  gboolean message_lock_held; /* this transaction holds the message id lock */
  gboolean lock_in_savepoint; /* ... taken inside the open savepoint */
} StorePgConnection;

/* The CHATD_STORE_ERROR code for a SQLSTATE (NULL: unknown). */
ChatdStoreError chatd_store_error_from_sqlstate(const char *sqlstate);
/* Sets *error from a failed result (res may be NULL) on conn: "what:
 * message"; UNAVAILABLE whenever the connection is lost. */
void chatd_store_pg_set_error(GError **error, PGconn *conn, const PGresult *res, const char *what);

/* Opens a connection (UTF8, binary-safe); UNAVAILABLE when the server
 * cannot be reached, OPEN when it refuses us (authentication, no such
 * database). */
PGconn *chatd_store_pg_connect(const char *conninfo, GError **error);

/* A connection of role; the writer's migrates the schema (*version). */
StorePgConnection *chatd_store_pg_connection_open(const char *conninfo, StoreRole role,
                                                  int *version, GError **error);
/* Makes sure c is connected: reconnects (and prepares again) when the
 * connection was lost and the backoff allows an attempt now; otherwise
 * UNAVAILABLE. */
gboolean chatd_store_pg_connection_ensure(StorePgConnection *c, GError **error);
/* Whether the connection is up (as far as libpq knows). */
gboolean chatd_store_pg_connection_ok(const StorePgConnection *c);
/* Records a loss seen by a statement: the next ensure may retry at once. */
void chatd_store_pg_connection_lost(StorePgConnection *c);
void chatd_store_pg_connection_close(StorePgConnection *c);

/* store-pg-statements.c: prepares the statements of c->role on c->conn. */
gboolean chatd_store_pg_prepare(StorePgConnection *c, GError **error);

G_END_DECLS
