/* The seam between the store's machinery (store.c, store-writer.c,
 * store-reader.c: threads, queues, batching, savepoints, completions) and a
 * database: a StoreBackend runs transactions, writes, reads and loaders on
 * one of its connections (an opaque pointer, used by one thread at a time).
 * SQLite: chatd_store_sqlite_backend (store-schema.c, store-statements.c);
 * PostgreSQL: chatd_store_pg_backend (store-pg-schema.c,
 * store-pg-statements.c). */
#pragma once

#include "chatd/store-private.h"

G_BEGIN_DECLS

typedef enum {
  STORE_TXN_BEGIN,
  STORE_TXN_COMMIT,
  STORE_TXN_ROLLBACK,
  STORE_TXN_SAVEPOINT,
  STORE_TXN_RELEASE,
  STORE_TXN_ROLLBACK_TO,
} StoreTxnOp;

struct _StoreBackend {
  const char *name; /* "sqlite", "postgresql" */
  /* Runs BEGIN, COMMIT, ... on the writer connection. */
  gboolean (*txn)(gpointer conn, StoreTxnOp op, GError **error);
  /* Whether a transaction is open (FALSE after the database rolled it back
   * by itself, or lost it with the connection). */
  gboolean (*in_transaction)(gpointer conn);
  /* Whether w must run inside its own savepoint so that its failure undoes
   * it alone. */
  gboolean (*needs_savepoint)(const StoreWrite *w);
  /* TRUE: a batch first runs without any savepoint; when one of its writes
   * fails, it is rolled back and run again with the savepoints (for a
   * database where savepoints cost round trips and any failure aborts the
   * transaction). */
  gboolean savepoints_on_failure_only;
  /* NULL, or the backend's own way to run a batch without savepoints (with
   * savepoints_on_failure_only): 1 committed, 0 failed as a whole (every
   * write has its error), -1 rolled back with no result kept: the writer
   * runs it again with savepoints. */
  int (*run_batch_fast)(gpointer conn, GQueue *batch);
  gboolean (*apply_write)(gpointer conn, StoreWrite *w, GError **error);
  gboolean (*run_read)(gpointer conn, StoreRead *r, GError **error);
  gboolean (*load)(gpointer conn, StoreLoad load, StoreLoadFunc func, gpointer user_data,
                   GError **error);
  gboolean (*max_ids)(gpointer conn, gint64 *max_user_id, gint64 *max_room_id,
                      gint64 *max_message_id, GError **error);
  /* NULL when connections are never lost (SQLite). Otherwise: 0 when conn
   * is up, else the monotonic time (us) of its next reconnection attempt. */
  gint64 (*reconnect_at)(gpointer conn);
  /* Tries to reconnect now (the threads call it when reconnect_at passed). */
  gboolean (*reconnect)(gpointer conn, GError **error);
  void (*close)(gpointer conn);
};

extern const StoreBackend chatd_store_sqlite_backend;
extern const StoreBackend chatd_store_pg_backend;

/* A PostgreSQL connection of role for chatd_store_pg_backend (the
 * writer's migrates the schema and sets *version). store-pg-schema.c. */
gpointer chatd_store_pg_open_connection(const char *conninfo, StoreRole role, int *version,
                                        GError **error);

G_END_DECLS
