/* chatd --copy-store: moves a deployment from its SQLite database into an
 * empty PostgreSQL database.
 *
 * The source is read in one read transaction, so the copy is a consistent
 * snapshot even while a chatd runs on it (WAL: the reader neither blocks nor
 * is blocked by its writer). The target's schema is created or migrated
 * first (the PostgreSQL store's own migrations); then, in ONE PostgreSQL
 * transaction, the target's tables are locked against writers, checked to
 * be empty, filled table by table in foreign-key order with COPY ... FROM
 * STDIN (text format; rows in primary-key order, ids, password hashes,
 * token hashes and images kept byte for byte), and the id sequences are set
 * past the largest copied ids. Any failure rolls the whole copy back: the
 * target is left as it was (apart from its schema).
 *
 * Nothing this module reports (progress, errors) holds a password hash, a
 * token hash or the connection string: the target is named by database,
 * host and port only, and PostgreSQL's errors are reduced to their primary
 * message (their details and context may quote row values). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CHATD_COPY_STORE_ERROR (chatd_copy_store_error_quark())

typedef enum {
  CHATD_COPY_STORE_ERROR_SOURCE,    /* the SQLite database cannot be opened or read, or is
                                       not a chatd database of this version */
  CHATD_COPY_STORE_ERROR_TARGET,    /* PostgreSQL cannot be reached, migrated or written */
  CHATD_COPY_STORE_ERROR_NOT_EMPTY, /* a table of the target already holds rows */
  CHATD_COPY_STORE_ERROR_SCHEMA,    /* the two schemas differ (a table or column missing) */
  CHATD_COPY_STORE_ERROR_DATA,      /* a value the target cannot hold (a NUL in a text) */
} ChatdCopyStoreError;

GQuark chatd_copy_store_error_quark(void);

/* Bytes of COPY data sent to PostgreSQL at a time. */
#define CHATD_COPY_STORE_CHUNK_BYTES (256u * 1024u)

/* What the copy reports while it runs, on the calling thread; any may be
 * NULL. */
typedef struct {
  /* Once both databases are open: the source's path and the target named
   * without secrets ("database \"chat\" on db.example:5432"). */
  void (*started)(const char *source, const char *target, gpointer user_data);
  /* After each table's COPY completed (inside the transaction). */
  void (*table_done)(const char *table, guint64 rows, gint64 elapsed_us, gpointer user_data);
} ChatdCopyStoreProgress;

typedef struct {
  guint tables;      /* tables copied */
  guint64 rows;      /* rows copied, all tables */
  gint64 elapsed_us; /* from opening the source to the commit */
} ChatdCopyStoreReport;

/* Copies the SQLite database at sqlite_path (opened read-only; it must
 * exist and have this chatd's schema version) into the PostgreSQL database
 * of conninfo. report may be NULL.
 * Errors (CHATD_COPY_STORE_ERROR): _SOURCE, _TARGET, _NOT_EMPTY (the
 * message names each non-empty table and its row count; nothing was
 * written), _SCHEMA, _DATA (the message names the table and the row). */
gboolean chatd_copy_store(const char *sqlite_path, const char *conninfo,
                          const ChatdCopyStoreProgress *progress, gpointer user_data,
                          ChatdCopyStoreReport *report, GError **error);

G_END_DECLS
