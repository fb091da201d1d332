/* The PostgreSQL fixture itself (pg-fixture.h): it starts a private server
 * that accepts connections, creates databases, survives a kill and a
 * restart on the same port and data, and stops. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "pg-fixture.h"

static PgFixture *pg;

static void setup(void) {
  if (!pg_fixture_available())
    cr_skip_test("PostgreSQL binaries not found (initdb, postgres): install postgresql");
  pg = pg_fixture_start();
  cr_assert_not_null(pg, "the fixture did not start");
}

static void teardown(void) {
  pg_fixture_stop(pg);
  pg = NULL;
}

/* Runs sql on conninfo; returns its first value (g_free it) or NULL. */
static char *query(const char *conninfo, const char *sql) {
  PGconn *conn = PQconnectdb(conninfo);
  char *value = NULL;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
      value = g_strdup(PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) == PGRES_COMMAND_OK)
      value = g_strdup("");
    PQclear(res);
  }
  PQfinish(conn);
  return value;
}

TestSuite(pg_fixture, .init = setup, .fini = teardown, .timeout = 120);

Test(pg_fixture, serves_the_chat_database_on_loopback) {
  g_autofree char *db = query(pg_fixture_conninfo(pg), "SELECT current_database()");
  cr_assert_str_eq(db, "chat");
  g_autofree char *encoding = query(pg_fixture_conninfo(pg), "SHOW server_encoding");
  cr_assert_str_eq(encoding, "UTF8");
  g_autofree char *fsync = query(pg_fixture_conninfo(pg), "SHOW fsync");
  cr_assert_str_eq(fsync, "off");
}

Test(pg_fixture, creates_fresh_databases) {
  g_autofree char *conninfo = NULL;
  cr_assert(pg_fixture_create_database(pg, "other_1", &conninfo));
  g_autofree char *db = query(conninfo, "SELECT current_database()");
  cr_assert_str_eq(db, "other_1");
  g_autofree char *tables =
      query(conninfo, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
  cr_assert_str_eq(tables, "0");
}

Test(pg_fixture, kill_then_restart_keeps_port_and_data) {
  const char *conninfo = pg_fixture_conninfo(pg);
  g_autofree char *created = query(conninfo, "CREATE TABLE kept (v INTEGER); "
                                             "INSERT INTO kept VALUES (42)");
  cr_assert_not_null(created);
  int port = pg_fixture_port(pg);
  pg_fixture_kill(pg);
  cr_assert_eq(PQping(conninfo), PQPING_NO_RESPONSE, "the server still answers after a kill");
  cr_assert(pg_fixture_restart(pg));
  cr_assert_eq(pg_fixture_port(pg), port);
  g_autofree char *value = query(conninfo, "SELECT v FROM kept");
  cr_assert_str_eq(value, "42");
}
