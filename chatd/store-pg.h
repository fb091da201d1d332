/* The PostgreSQL store's entry points beyond chatd/store.h, for tools that
 * fill a PostgreSQL database themselves (chatd --copy-store): creating or
 * migrating the schema, and setting the id sequences after rows were
 * inserted with their own ids. Only these need a PGconn; chatd_store_*
 * in store.h hide libpq entirely. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* libpq's connection type (libpq-fe.h declares the same typedef). */
typedef struct pg_conn PGconn;

/* Connects to conninfo and brings its schema to CHATD_STORE_SCHEMA_VERSION
 * (one transaction per migration, under an advisory lock so that nodes
 * starting at once migrate once). *version (may be NULL) gets the version.
 * Errors: CHATD_STORE_ERROR_UNAVAILABLE (cannot connect), _TOO_NEW, _SCHEMA
 * and the others of chatd_store_open(). chatd_store_open_postgresql() does
 * this itself. */
gboolean chatd_store_pg_migrate(const char *conninfo, int *version, GError **error);

/* The same on an open connection (not inside a transaction). */
gboolean chatd_store_pg_migrate_connection(PGconn *conn, int *version, GError **error);

/* Sets users_id_seq, rooms_id_seq and messages_id_seq so that the next id
 * each gives is one past the largest id of its table (1 when empty). Call
 * it after inserting rows with explicit ids, with no other writer running:
 * a store that chooses ids (chatd_store_create_user() & co.) meanwhile could
 * be handed an id again. */
gboolean chatd_store_pg_reset_sequences(PGconn *conn, GError **error);

G_END_DECLS
