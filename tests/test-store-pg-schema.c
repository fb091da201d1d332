/* The PostgreSQL schema (chatd/store-pg.h): migrating creates the tables
 * and sequences of the SQLite schema's names, a second migration changes
 * nothing, a newer version is refused, and resetting the sequences moves
 * them past the largest ids. */
#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "chatd/store-pg.h"
#include "chatd/store.h"
#include "pg-fixture.h"

static PgFixture *pg;
static PGconn *conn;

static void setup(void) {
  if (!pg_fixture_available())
    cr_skip_test("PostgreSQL binaries not found (initdb, postgres): install postgresql");
  pg = pg_fixture_start();
  cr_assert_not_null(pg, "the PostgreSQL fixture did not start");
}

static void teardown(void) {
  if (conn != NULL)
    PQfinish(conn);
  conn = NULL;
  pg_fixture_stop(pg);
  pg = NULL;
}

static char *value_of(const char *sql) {
  if (conn == NULL)
    conn = PQconnectdb(pg_fixture_conninfo(pg));
  cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
  PGresult *res = PQexec(conn, sql);
  ExecStatusType status = PQresultStatus(res);
  cr_assert(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK, "%s: %s", sql,
            PQresultErrorMessage(res));
  char *value = status == PGRES_TUPLES_OK && PQntuples(res) > 0 ? g_strdup(PQgetvalue(res, 0, 0))
                                                                : g_strdup("");
  PQclear(res);
  return value;
}

TestSuite(store_pg_schema, .init = setup, .fini = teardown, .timeout = 120);

Test(store_pg_schema, migrates_to_the_current_version_once) {
  g_autoptr(GError) error = NULL;
  int version = -1;
  cr_assert(chatd_store_pg_migrate(pg_fixture_conninfo(pg), &version, &error), "%s",
            error ? error->message : "");
  cr_assert_eq(version, CHATD_STORE_SCHEMA_VERSION);
  g_autofree char *tables =
      value_of("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
               "WHERE schemaname = 'public'");
  cr_assert_str_eq(tables, "friend_requests,friends,messages,offline_deliveries,read_markers,"
                           "room_members,rooms,schema_version,sessions,users");
  g_autofree char *sequences =
      value_of("SELECT string_agg(sequencename, ',' ORDER BY sequencename) FROM pg_sequences");
  cr_assert_str_eq(sequences, "messages_id_seq,rooms_id_seq,users_id_seq");
  g_autofree char *columns =
      value_of("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
               "information_schema.columns WHERE table_name = 'messages'");
  cr_assert_str_eq(columns, "id,sender_id,target_type,target_id,sent_ms,kind,text,font_size,"
                            "font_color,image,client_msg_id,image_size,image_format");

  version = -1;
  cr_assert(chatd_store_pg_migrate(pg_fixture_conninfo(pg), &version, &error), "%s",
            error ? error->message : "");
  cr_assert_eq(version, CHATD_STORE_SCHEMA_VERSION);
  g_autofree char *rows = value_of("SELECT count(*) || ':' || max(version) FROM schema_version");
  g_autofree char *want = g_strdup_printf("1:%d", CHATD_STORE_SCHEMA_VERSION);
  cr_assert_str_eq(rows, want);
  /* search reads the user's 1:1 messages newest first by these (migration 3) */
  g_autofree char *indexes =
      value_of("SELECT string_agg(indexname, ',' ORDER BY indexname) "
               "FROM pg_indexes WHERE indexname IN ('messages_sent', 'messages_received')");
  cr_assert_str_eq(indexes, "messages_received,messages_sent");
}

Test(store_pg_schema, refuses_a_newer_schema) {
  cr_assert(chatd_store_pg_migrate(pg_fixture_conninfo(pg), NULL, NULL));
  g_free(value_of("UPDATE schema_version SET version = 99"));
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_store_pg_migrate(pg_fixture_conninfo(pg), NULL, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_TOO_NEW), "%s",
            error->message);
}

Test(store_pg_schema, unreachable_server_is_unavailable) {
  g_autofree char *conninfo = g_strdup_printf("host=127.0.0.1 port=%d dbname=chat user=chat "
                                              "connect_timeout=2",
                                              pg_fixture_port(pg));
  pg_fixture_kill(pg);
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_store_pg_migrate(conninfo, NULL, &error));
  cr_assert(g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_UNAVAILABLE), "%s",
            error->message);
}

Test(store_pg_schema, reset_sequences_moves_past_the_largest_ids) {
  cr_assert(chatd_store_pg_migrate(pg_fixture_conninfo(pg), NULL, NULL));
  g_free(value_of("INSERT INTO users (id, username, nickname, password_hash, created_ms) "
                  "VALUES (41, 'a', 'a', 'h', 0)"));
  g_free(value_of("INSERT INTO messages (id, sender_id, target_type, target_id, sent_ms, kind, "
                  "text) VALUES (700, 41, 0, 41, 0, 0, 'x')"));
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_store_pg_reset_sequences(conn, &error), "%s", error ? error->message : "");
  g_autofree char *ids = value_of("SELECT nextval('users_id_seq') || ',' || "
                                  "nextval('rooms_id_seq') || ',' || nextval('messages_id_seq')");
  cr_assert_str_eq(ids, "42,1,701");
}
