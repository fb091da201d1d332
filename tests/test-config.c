/* Tests of chatd's configuration loader (chatd/config.h): the defaults, a
 * good and a bad value of every key (the message names the key and says
 * what was expected), unknown keys warned about, relative paths, JSON syntax
 * errors with their position, and the shared config.json with its 617-digit
 * modulus kept exactly; and the shared reader of the client and crypto
 * sections (protocol/config-file.h) that chatctl and the desktop client use. */
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "chatd/config.h"
#include "chatd/store.h"
#include "protocol/arena.h"
#include "protocol/config-file.h"
#include "protocol/json.h"
#include "test-util.h"

#ifndef CHAT_SOURCE_ROOT
#error "CHAT_SOURCE_ROOT must name the source tree"
#endif

#define SHARED_CONFIG CHAT_SOURCE_ROOT "/config.json"
#define SEED_MODULUS_DIGITS 617
#define XDG_DATA_HOME_FOR_TESTS "/nonexistent/xdg-data"
#define MIB (1024u * 1024u)

/* ---- captured warnings ---- */

/* Warnings of domain "chatd" are captured here (so G_DEBUG=fatal-warnings
 * does not abort on the ones a test expects); everything else goes to the
 * default writer. Each entry is "KEY\tMESSAGE". */
static GPtrArray *logged;

static GLogWriterOutput capture_writer(GLogLevelFlags level, const GLogField *fields,
                                       gsize n_fields, gpointer data) {
  const char *domain = NULL, *message = NULL, *key = NULL;
  for (gsize i = 0; i < n_fields; i++) {
    if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
    else if (g_strcmp0(fields[i].key, "CHATD_CONFIG_KEY") == 0)
      key = fields[i].value;
  }
  if ((level & G_LOG_LEVEL_WARNING) && g_strcmp0(domain, "chatd") == 0) {
    g_ptr_array_add(logged, g_strdup_printf("%s\t%s", key ? key : "", message ? message : ""));
    return G_LOG_WRITER_HANDLED;
  }
  return g_log_writer_default(level, fields, n_fields, data);
}

/* ---- fixture: a temporary directory for config files ---- */

static char *tmpdir;

static void setup(void) {
  static gboolean writer_set;
  if (!writer_set) {
    g_log_set_writer_func(capture_writer, NULL, NULL);
    writer_set = TRUE;
  }
  logged = g_ptr_array_new_with_free_func(g_free);
  g_setenv("XDG_DATA_HOME", XDG_DATA_HOME_FOR_TESTS, TRUE);
  tmpdir = test_make_tmp_dir("chatd-config-XXXXXX");
}

static void teardown(void) {
  test_remove_tree(tmpdir);
  g_clear_pointer(&tmpdir, g_free);
  g_clear_pointer(&logged, g_ptr_array_unref);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text to tmpdir/name (creating directories) and returns the path. */
static char *write_config(const char *name, const char *text) {
  char *path = g_build_filename(tmpdir, name, NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  cr_assert_eq(g_mkdir_with_parents(dir, 0700), 0);
  GError *error = NULL;
  cr_assert(g_file_set_contents(path, text, -1, &error), "%s", error ? error->message : "");
  return path;
}

/* Loads text as a config file into *config (initialised to defaults). */
static gboolean load_text(ChatdConfig *config, const char *text, GError **error) {
  g_autofree char *path = write_config("config.json", text);
  chatd_config_init_defaults(config);
  return chatd_config_load(config, path, error);
}

static void assert_loads(ChatdConfig *config, const char *text) {
  g_autoptr(GError) error = NULL;
  cr_assert(load_text(config, text, &error), "load failed: %s",
            error ? error->message : "(no error)");
}

/* ---- defaults ---- */

static void assert_defaults(const ChatdConfig *c) {
  cr_assert_null(c->crypto_base);
  cr_assert_null(c->crypto_modulus);
  cr_assert_str_eq(c->bind_ip, "127.0.0.1");
  cr_assert_eq(c->bind_port, 8111);
  cr_assert_str_eq(c->database, XDG_DATA_HOME_FOR_TESTS "/chat/chatd.db");
  cr_assert_str_eq(c->key_file, XDG_DATA_HOME_FOR_TESTS "/chat/server.key");
  cr_assert_null(c->postgresql, "SQLite unless PostgreSQL is asked for");
  cr_assert_not(c->allow_legacy);
  cr_assert_eq(c->max_message_size, 16 * MIB);
  cr_assert_eq(c->max_connections, 20000);
  cr_assert_eq(c->handshake_timeout, 10);
  cr_assert_eq(c->login_timeout, 60);
  cr_assert_eq(c->idle_timeout, 0);
  cr_assert_eq(c->max_queue_bytes, 32 * MIB);
  cr_assert_eq(c->password_cost.t_cost, 3);
  cr_assert_eq(c->password_cost.m_cost_kib, 65536);
  cr_assert_eq(c->password_cost.parallelism, 1);
  cr_assert_eq(c->login_rate_per_minute, 10);
  cr_assert_eq(c->login_rate_burst, 5);
  cr_assert_eq(c->register_per_hour, 20);
  cr_assert_eq(c->register_burst, 5);
  cr_assert_eq(c->register_total_per_minute, 60);
  cr_assert_eq(c->io_threads, 0);
  cr_assert_eq(c->durability, CHATD_STORE_DURABILITY_FSYNC, "acknowledged means on disk");
  cr_assert_eq(c->resume_token_days, 30);
  cr_assert_eq(c->max_image_size, 8 * MIB, "an image is at most half of a message");
  cr_assert_not_null(c->warnings);
  cr_assert_eq(c->warnings->len, 0);
}

Test(config, init_defaults) {
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  assert_defaults(&c);
  chatd_config_clear(&c);
  chatd_config_clear(&c); /* a cleared config can be cleared again */
}

Test(config, empty_object_gives_defaults) {
  ChatdConfig c;
  assert_loads(&c, "{}");
  assert_defaults(&c);
  chatd_config_clear(&c);
}

Test(config, empty_sections_give_defaults) {
  ChatdConfig c;
  assert_loads(&c, "{\"crypto\": {}, \"client\": {}, \"server\": "
                   "{\"password_hash\": {}, \"login_rate\": {}}}");
  assert_defaults(&c);
  chatd_config_clear(&c);
}

/* ---- the shared config.json ---- */

Test(config, shared_config_json_loads_exactly) {
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_config_load(&c, SHARED_CONFIG, &error), "%s", error ? error->message : "");
  cr_assert_eq(c.warnings->len, 0, "the shared config has no unknown key");
  cr_assert_eq(logged->len, 0);

  /* The modulus, digit for digit, as written in the file. */
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(SHARED_CONFIG, &text, NULL, NULL));
  const char *m = strstr(text, "\"modulus\"");
  cr_assert_not_null(m);
  m = strpbrk(m, "0123456789");
  gsize digits = strspn(m, "0123456789");
  cr_assert_eq(digits, SEED_MODULUS_DIGITS);
  cr_assert_not_null(c.crypto_modulus);
  cr_assert_eq(strlen(c.crypto_modulus), SEED_MODULUS_DIGITS);
  cr_assert(strncmp(c.crypto_modulus, m, digits) == 0);
  cr_assert_str_eq(c.crypto_base, "2");
  cr_assert_str_eq(c.bind_ip, "127.0.0.1");
  cr_assert_eq(c.bind_port, 8111);
  cr_assert_not(c.allow_legacy);
  chatd_config_clear(&c);
}

/* ---- good values of every key ---- */

Test(config, every_key_takes_a_good_value) {
  ChatdConfig c;
  assert_loads(&c,
               "{\n"
               "  \"crypto\": {\"base\": 5, \"modulus\": \"23\"},\n"
               "  \"client\": {\"server_ip\": \"10.0.0.1\", \"anything\": [1, 2]},\n"
               "  \"server\": {\n"
               "    \"bind_ip\": \"::1\",\n"
               "    \"bind_port\": 65535,\n"
               "    \"database\": \"/var/lib/chat/chatd.db\",\n"
               "    \"key_file\": \"/etc/chat/server.key\",\n"
               "    \"allow_legacy\": true,\n"
               "    \"max_message_size\": 1024,\n"
               "    \"max_connections\": 1000000,\n"
               "    \"handshake_timeout\": 600,\n"
               "    \"login_timeout\": 1,\n"
               "    \"idle_timeout\": 3600,\n"
               "    \"max_queue_bytes\": 1024,\n"
               "    \"password_hash\": {\"t_cost\": 2, \"m_cost_kib\": 19456, "
               "\"parallelism\": 2},\n"
               "    \"login_rate\": {\"per_minute\": 30, \"burst\": 1},\n"
               "    \"register_rate\": {\"per_hour\": 7, \"burst\": 2, \"total_per_minute\": 9},\n"
               "    \"io_threads\": 3,\n"
               "    \"durability\": \"os\",\n"
               "    \"resume_token_days\": 3650,\n"
               "    \"postgresql\": \"host=db.example port=5433 dbname=chat\"\n"
               "  }\n"
               "}\n");
  cr_assert_str_eq(c.crypto_base, "5");
  cr_assert_str_eq(c.crypto_modulus, "23");
  cr_assert_str_eq(c.bind_ip, "::1");
  cr_assert_eq(c.bind_port, 65535);
  cr_assert_str_eq(c.database, "/var/lib/chat/chatd.db");
  cr_assert_str_eq(c.key_file, "/etc/chat/server.key");
  cr_assert(c.allow_legacy);
  cr_assert_eq(c.max_message_size, 1024);
  cr_assert_eq(c.max_connections, 1000000);
  cr_assert_eq(c.handshake_timeout, 600);
  cr_assert_eq(c.login_timeout, 1);
  cr_assert_eq(c.idle_timeout, 3600);
  cr_assert_eq(c.max_queue_bytes, 1024);
  cr_assert_eq(c.password_cost.t_cost, 2);
  cr_assert_eq(c.password_cost.m_cost_kib, 19456);
  cr_assert_eq(c.password_cost.parallelism, 2);
  cr_assert_eq(c.login_rate_per_minute, 30);
  cr_assert_eq(c.login_rate_burst, 1);
  cr_assert_eq(c.register_per_hour, 7);
  cr_assert_eq(c.register_burst, 2);
  cr_assert_eq(c.register_total_per_minute, 9);
  cr_assert_eq(c.io_threads, 3);
  cr_assert_eq(c.durability, CHATD_STORE_DURABILITY_OS);
  cr_assert_eq(c.resume_token_days, 3650);
  cr_assert_str_eq(c.postgresql, "host=db.example port=5433 dbname=chat", "kept as written");
  cr_assert_eq(c.warnings->len, 0, "client keys are not chatd's business");
  cr_assert_eq(logged->len, 0);
  chatd_config_clear(&c);
}

Test(config, crypto_accepts_strings_of_digits) {
  ChatdConfig c;
  g_autofree char *big = g_strnfill(SEED_MODULUS_DIGITS, '7');
  big[0] = '1';
  g_autofree char *text =
      g_strdup_printf("{\"crypto\": {\"base\": \"2\", \"modulus\": \"%s\"}, \"server\": "
                      "{\"allow_legacy\": true}}",
                      big);
  assert_loads(&c, text);
  cr_assert_str_eq(c.crypto_base, "2");
  cr_assert_str_eq(c.crypto_modulus, big);
  chatd_config_clear(&c);
}

Test(config, ipv4_and_ipv6_any_addresses) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"bind_ip\": \"0.0.0.0\"}}");
  cr_assert_str_eq(c.bind_ip, "0.0.0.0");
  chatd_config_clear(&c);
  assert_loads(&c, "{\"server\": {\"bind_ip\": \"::\"}}");
  cr_assert_str_eq(c.bind_ip, "::");
  chatd_config_clear(&c);
}

Test(config, queue_default_follows_max_message_size) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"max_message_size\": 1048576}}");
  cr_assert_eq(c.max_message_size, MIB);
  cr_assert_eq(c.max_queue_bytes, 2 * MIB);
  chatd_config_clear(&c);
  assert_loads(&c, "{\"server\": {\"max_message_size\": 268435456}}");
  cr_assert_eq(c.max_queue_bytes, 512 * MIB);
  chatd_config_clear(&c);
}

Test(config, an_image_is_at_most_half_a_message) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"max_message_size\": 1048576}}");
  cr_assert_eq(c.max_image_size, MIB / 2, "the default follows a smaller max_message_size");
  chatd_config_clear(&c);
  assert_loads(&c, "{\"server\": {\"max_image_size\": 2097152}}");
  cr_assert_eq(c.max_image_size, 2 * MIB);
  chatd_config_clear(&c);
}

/* ---- bad values ---- */

typedef struct {
  const char *json;
  const char *message; /* the whole message after "PATH: " */
  int code;
} BadCase;

#define INVALID CHATD_CONFIG_ERROR_INVALID
#define MISSING CHATD_CONFIG_ERROR_MISSING

static const BadCase bad_cases[] = {
    {"{\"server\": {\"max_message_size\": 1048576, \"max_image_size\": 1048576}}",
     "server.max_image_size: expected an integer 1024..half of server.max_message_size "
     "(524288), got 1048576",
     INVALID},
    {"{\"server\": {\"bind_port\": \"abc\"}}",
     "server.bind_port: expected an integer 0..65535, got \"abc\"", INVALID},
    {"{\"server\": {\"bind_port\": 65536}}",
     "server.bind_port: expected an integer 0..65535, got 65536", INVALID},
    {"{\"server\": {\"bind_port\": -1}}", "server.bind_port: expected an integer 0..65535, got -1",
     INVALID},
    {"{\"server\": {\"bind_port\": 8111.0}}",
     "server.bind_port: expected an integer 0..65535, got 8111.0", INVALID},
    {"{\"server\": {\"bind_port\": 99999999999999999999999}}",
     "server.bind_port: expected an integer 0..65535, got 99999999999999999999999", INVALID},
    {"{\"server\": {\"bind_ip\": \"localhost\"}}",
     "server.bind_ip: expected an IPv4 or IPv6 address string, got \"localhost\"", INVALID},
    {"{\"server\": {\"bind_ip\": \"300.1.1.1\"}}",
     "server.bind_ip: expected an IPv4 or IPv6 address string, got \"300.1.1.1\"", INVALID},
    {"{\"server\": {\"bind_ip\": 127}}",
     "server.bind_ip: expected an IPv4 or IPv6 address string, got 127", INVALID},
    {"{\"server\": {\"database\": \"\"}}",
     "server.database: expected a non-empty path string, got \"\"", INVALID},
    {"{\"server\": {\"database\": [\"a\"]}}",
     "server.database: expected a non-empty path string, got an array", INVALID},
    {"{\"server\": {\"key_file\": null}}",
     "server.key_file: expected a non-empty path string, got null", INVALID},
    {"{\"server\": {\"key_file\": \"a\\u0000b\"}}",
     "server.key_file: expected a non-empty path string, got \"a\\u0000b\"", INVALID},
    {"{\"server\": {\"postgresql\": \"\"}}",
     "server.postgresql: expected a non-empty string, got \"\"", INVALID},
    {"{\"server\": {\"postgresql\": {\"host\": \"db\"}}}",
     "server.postgresql: expected a non-empty string, got an object", INVALID},
    {"{\"server\": {\"allow_legacy\": \"yes\"}}",
     "server.allow_legacy: expected true or false, got \"yes\"", INVALID},
    {"{\"server\": {\"allow_legacy\": 1}}", "server.allow_legacy: expected true or false, got 1",
     INVALID},
    {"{\"server\": {\"max_message_size\": 1023}}",
     "server.max_message_size: expected an integer 1024..268435456, got 1023", INVALID},
    {"{\"server\": {\"max_message_size\": 268435457}}",
     "server.max_message_size: expected an integer 1024..268435456, got 268435457", INVALID},
    {"{\"server\": {\"max_connections\": 0}}",
     "server.max_connections: expected an integer 1..1000000, got 0", INVALID},
    {"{\"server\": {\"max_connections\": 1000001}}",
     "server.max_connections: expected an integer 1..1000000, got 1000001", INVALID},
    {"{\"server\": {\"handshake_timeout\": 0}}",
     "server.handshake_timeout: expected an integer 1..600, got 0", INVALID},
    {"{\"server\": {\"handshake_timeout\": 601}}",
     "server.handshake_timeout: expected an integer 1..600, got 601", INVALID},
    {"{\"server\": {\"login_timeout\": 0}}",
     "server.login_timeout: expected an integer 1..3600, got 0", INVALID},
    {"{\"server\": {\"login_timeout\": 3601}}",
     "server.login_timeout: expected an integer 1..3600, got 3601", INVALID},
    {"{\"server\": {\"idle_timeout\": -1}}",
     "server.idle_timeout: expected an integer 0..604800, got -1", INVALID},
    {"{\"server\": {\"idle_timeout\": 604801}}",
     "server.idle_timeout: expected an integer 0..604800, got 604801", INVALID},
    {"{\"server\": {\"idle_timeout\": true}}",
     "server.idle_timeout: expected an integer 0..604800, got true", INVALID},
    {"{\"server\": {\"durability\": \"maybe\"}}",
     "server.durability: expected one of \"fsync\", \"os\", got \"maybe\"", INVALID},
    {"{\"server\": {\"durability\": 1}}",
     "server.durability: expected one of \"fsync\", \"os\", got 1", INVALID},
    {"{\"server\": {\"max_queue_bytes\": 1073741825}}",
     "server.max_queue_bytes: expected an integer 1024..1073741824, got 1073741825", INVALID},
    {"{\"server\": {\"max_queue_bytes\": 2048, \"max_message_size\": 4096}}",
     "server.max_queue_bytes: expected an integer server.max_message_size (4096)..1073741824, "
     "got 2048",
     INVALID},
    {"{\"server\": {\"max_queue_bytes\": 1048576}}",
     "server.max_queue_bytes: expected an integer server.max_message_size (16777216).."
     "1073741824, got 1048576",
     INVALID},
    {"{\"server\": {\"password_hash\": 3}}", "server.password_hash: expected an object, got 3",
     INVALID},
    {"{\"server\": {\"password_hash\": {\"t_cost\": 0}}}",
     "server.password_hash.t_cost: expected an integer 1..32, got 0", INVALID},
    {"{\"server\": {\"password_hash\": {\"t_cost\": 33}}}",
     "server.password_hash.t_cost: expected an integer 1..32, got 33", INVALID},
    {"{\"server\": {\"password_hash\": {\"m_cost_kib\": 7}}}",
     "server.password_hash.m_cost_kib: expected an integer 8..1048576, got 7", INVALID},
    {"{\"server\": {\"password_hash\": {\"m_cost_kib\": 1048577}}}",
     "server.password_hash.m_cost_kib: expected an integer 8..1048576, got 1048577", INVALID},
    {"{\"server\": {\"password_hash\": {\"parallelism\": 0}}}",
     "server.password_hash.parallelism: expected an integer 1..16, got 0", INVALID},
    {"{\"server\": {\"password_hash\": {\"parallelism\": 17}}}",
     "server.password_hash.parallelism: expected an integer 1..16, got 17", INVALID},
    {"{\"server\": {\"password_hash\": {\"m_cost_kib\": 64, \"parallelism\": 16}}}",
     "server.password_hash.m_cost_kib: expected at least 8 * server.password_hash.parallelism "
     "(16), that is 128, got 64",
     INVALID},
    {"{\"server\": {\"login_rate\": []}}", "server.login_rate: expected an object, got an array",
     INVALID},
    {"{\"server\": {\"login_rate\": {\"per_minute\": 0}}}",
     "server.login_rate.per_minute: expected an integer 1..10000, got 0", INVALID},
    {"{\"server\": {\"login_rate\": {\"burst\": 1001}}}",
     "server.login_rate.burst: expected an integer 1..1000, got 1001", INVALID},
    {"{\"crypto\": {\"base\": -2}}",
     "crypto.base: expected a positive decimal integer (a JSON number or a string of digits), "
     "got -2",
     INVALID},
    {"{\"crypto\": {\"base\": 2.0}}",
     "crypto.base: expected a positive decimal integer (a JSON number or a string of digits), "
     "got 2.0",
     INVALID},
    {"{\"crypto\": {\"base\": 2e3}}",
     "crypto.base: expected a positive decimal integer (a JSON number or a string of digits), "
     "got 2e3",
     INVALID},
    {"{\"crypto\": {\"base\": 0}}",
     "crypto.base: expected a positive decimal integer (a JSON number or a string of digits), "
     "got 0",
     INVALID},
    {"{\"crypto\": {\"modulus\": \"0x17\"}}",
     "crypto.modulus: expected a positive decimal integer (a JSON number or a string of "
     "digits), got \"0x17\"",
     INVALID},
    {"{\"crypto\": {\"modulus\": \"023\"}}",
     "crypto.modulus: expected a positive decimal integer (a JSON number or a string of "
     "digits), got \"023\"",
     INVALID},
    {"{\"crypto\": {\"modulus\": \" 23\"}}",
     "crypto.modulus: expected a positive decimal integer (a JSON number or a string of "
     "digits), got \" 23\"",
     INVALID},
    {"{\"crypto\": {\"modulus\": \"\"}}",
     "crypto.modulus: expected a positive decimal integer (a JSON number or a string of "
     "digits), got \"\"",
     INVALID},
    {"{\"crypto\": {\"modulus\": [23]}}",
     "crypto.modulus: expected a positive decimal integer (a JSON number or a string of "
     "digits), got an array",
     INVALID},
    {"{\"crypto\": \"none\"}", "crypto: expected an object, got \"none\"", INVALID},
    {"{\"server\": []}", "server: expected an object, got an array", INVALID},
    {"[]", "expected a JSON object at the top level, got an array", INVALID},
    {"{\"server\": {\"allow_legacy\": true}}",
     "crypto.base: required when server.allow_legacy is true (a positive decimal integer)",
     MISSING},
    {"{\"crypto\": {\"base\": 2}, \"server\": {\"allow_legacy\": true}}",
     "crypto.modulus: required when server.allow_legacy is true (a positive decimal integer)",
     MISSING},
};

/* Criterion runs each test in a new process image (ASLR): parameters are
 * indexes into bad_cases, not pointers. */
static gsize bad_case_indexes[G_N_ELEMENTS(bad_cases)];

ParameterizedTestParameters(config, bad_value_is_refused_naming_the_key) {
  for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++)
    bad_case_indexes[i] = i;
  return cr_make_param_array(gsize, bad_case_indexes, G_N_ELEMENTS(bad_case_indexes));
}

ParameterizedTest(gsize *index, config, bad_value_is_refused_naming_the_key) {
  const BadCase *bad = &bad_cases[*index];
  g_autofree char *path = write_config("config.json", bad->json);
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_config_load(&c, path, &error), "%s loaded", bad->json);
  cr_assert(g_error_matches(error, CHATD_CONFIG_ERROR, bad->code), "%s: got %s", bad->json,
            error->message);
  g_autofree char *expected = g_strdup_printf("%s: %s", path, bad->message);
  cr_assert_str_eq(error->message, expected);
  /* A failed load leaves the configuration as it was. */
  assert_defaults(&c);
  chatd_config_clear(&c);
}

Test(config, crypto_digits_have_a_bound) {
  g_autofree char *huge = g_strnfill(CHATD_CONFIG_MAX_CRYPTO_DIGITS + 1, '9');
  g_autofree char *text = g_strdup_printf("{\"crypto\": {\"modulus\": %s}}", huge);
  ChatdConfig c;
  g_autoptr(GError) error = NULL;
  cr_assert_not(load_text(&c, text, &error));
  cr_assert(g_error_matches(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_INVALID));
  cr_assert(strstr(error->message, "crypto.modulus: expected at most 4096 digits, got 9999") !=
                NULL,
            "%s", error->message);
  cr_assert(strlen(error->message) < 300, "the message quotes a bounded prefix");
  chatd_config_clear(&c);
}

Test(config, failed_load_keeps_a_loaded_config) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"bind_port\": 9000}}");
  g_autofree char *bad = write_config("bad.json", "{\"server\": {\"bind_port\": 70000}}");
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_config_load(&c, bad, &error));
  cr_assert_eq(c.bind_port, 9000);
  chatd_config_clear(&c);
}

Test(config, reload_replaces_everything) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"bind_port\": 9000, \"colour\": 1}}");
  cr_assert_eq(c.warnings->len, 1);
  g_autofree char *second = write_config("second.json", "{\"server\": {\"bind_ip\": \"::1\"}}");
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_config_load(&c, second, &error));
  cr_assert_eq(c.bind_port, 8111, "keys absent from the new file are back to defaults");
  cr_assert_str_eq(c.bind_ip, "::1");
  cr_assert_eq(c.warnings->len, 0);
  chatd_config_clear(&c);
}

/* ---- file and syntax errors ---- */

Test(config, missing_file) {
  g_autofree char *path = g_build_filename(tmpdir, "absent.json", NULL);
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  g_autoptr(GError) error = NULL;
  cr_assert_not(chatd_config_load(&c, path, &error));
  cr_assert(g_error_matches(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_READ));
  cr_assert(g_str_has_prefix(error->message, path), "%s", error->message);
  chatd_config_clear(&c);
}

Test(config, syntax_error_names_line_and_column) {
  ChatdConfig c;
  g_autoptr(GError) error = NULL;
  cr_assert_not(load_text(&c, "{\n  \"server\": {\n    \"bind_port\": 8111,\n  }\n}\n", &error));
  cr_assert(g_error_matches(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_SYNTAX));
  cr_assert(strstr(error->message, "config.json: line 4 column 3: ") != NULL, "%s", error->message);
  chatd_config_clear(&c);
}

Test(config, duplicate_key_is_an_error) {
  ChatdConfig c;
  g_autoptr(GError) error = NULL;
  cr_assert_not(load_text(&c, "{\"server\": {\"bind_port\": 1, \"bind_port\": 2}}", &error));
  cr_assert(g_error_matches(error, CHATD_CONFIG_ERROR, CHATD_CONFIG_ERROR_SYNTAX));
  cr_assert(strstr(error->message, "line 1 column 29") != NULL, "%s", error->message);
  chatd_config_clear(&c);
}

/* ---- unknown keys ---- */

Test(config, unknown_keys_are_warned_about_and_ignored) {
  ChatdConfig c;
  assert_loads(&c, "{\n"
                   "  \"crypto\": {\"base\": 2, \"generator\": 5},\n"
                   "  \"client\": {\"colour\": \"blue\"},\n"
                   "  \"server\": {\n"
                   "    \"bind_port\": 9000,\n"
                   "    \"bind_adress\": \"0.0.0.0\",\n"
                   "    \"password_hash\": {\"t_cost\": 2, \"salt_len\": 16},\n"
                   "    \"login_rate\": {\"burst\": 3, \"window\": 60}\n"
                   "  },\n"
                   "  \"logging\": {\"level\": \"debug\"}\n"
                   "}\n");
  /* Known keys next to unknown ones still apply. */
  cr_assert_eq(c.bind_port, 9000);
  cr_assert_eq(c.password_cost.t_cost, 2);
  cr_assert_eq(c.login_rate_burst, 3);
  cr_assert_str_eq(c.bind_ip, "127.0.0.1");

  static const char *const unknown[] = {
      "crypto.generator",
      "server.bind_adress",
      "server.password_hash.salt_len",
      "server.login_rate.window",
      "logging",
  };
  cr_assert_eq(c.warnings->len, G_N_ELEMENTS(unknown));
  cr_assert_eq(logged->len, G_N_ELEMENTS(unknown));
  for (gsize i = 0; i < G_N_ELEMENTS(unknown); i++) {
    const char *warning = g_ptr_array_index(c.warnings, i);
    g_autofree char *suffix = g_strdup_printf(": %s: unknown key, ignored", unknown[i]);
    cr_assert(g_str_has_suffix(warning, suffix), "warning %zu: %s", i, warning);
    /* The structured log carries the key as a field, and the same message. */
    const char *entry = g_ptr_array_index(logged, i);
    g_autofree char *expected = g_strdup_printf("%s\t%s", unknown[i], warning);
    cr_assert_str_eq(entry, expected);
  }
  chatd_config_clear(&c);
}

Test(config, unknown_key_with_control_characters_is_quoted) {
  ChatdConfig c;
  assert_loads(&c, "{\"server\": {\"bad\\nkey\\\"\": 1}}");
  cr_assert_eq(c.warnings->len, 1);
  cr_assert(strstr(g_ptr_array_index(c.warnings, 0), ": server.bad\\u000akey\\\": unknown key") !=
                NULL,
            "%s", (char *)g_ptr_array_index(c.warnings, 0));
  chatd_config_clear(&c);
}

/* ---- relative paths ---- */

Test(config, relative_paths_are_relative_to_the_config_file) {
  g_autofree char *path = write_config(
      "etc/chat/config.json",
      "{\"server\": {\"database\": \"data/chatd.db\", \"key_file\": \"../keys/./server.key\"}}");
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_config_load(&c, path, &error), "%s", error ? error->message : "");
  g_autofree char *database = g_build_filename(tmpdir, "etc", "chat", "data", "chatd.db", NULL);
  g_autofree char *key_file = g_build_filename(tmpdir, "etc", "keys", "server.key", NULL);
  cr_assert_str_eq(c.database, database);
  cr_assert_str_eq(c.key_file, key_file);
  chatd_config_clear(&c);
}

Test(config, relative_config_path_gives_absolute_paths) {
  g_autofree char *path = write_config(
      "sub/config.json", "{\"server\": {\"database\": \"chatd.db\", \"key_file\": \"/k\"}}");
  cr_assert_eq(chdir(tmpdir), 0);
  ChatdConfig c;
  chatd_config_init_defaults(&c);
  g_autoptr(GError) error = NULL;
  cr_assert(chatd_config_load(&c, "sub/config.json", &error), "%s", error ? error->message : "");
  g_autofree char *database = g_build_filename(tmpdir, "sub", "chatd.db", NULL);
  cr_assert_str_eq(c.database, database);
  cr_assert_str_eq(c.key_file, "/k", "absolute paths are kept");
  chatd_config_clear(&c);
}

/* ---- the shared reader of client and crypto (protocol/config-file.h) ----
 *
 * chatd, chatctl and the desktop client read crypto.* with one rule (the
 * server's): [1-9][0-9]*, from a bare number or a string, no leading zero. */

/* Parses text and reads it with chat_client_config_read. */
static gboolean read_client_text(const char *text, chat_client_config *c,
                                 chat_config_problem *problem, chat_arena *arena) {
  chat_json *root = NULL;
  chat_error err;
  cr_assert_eq(chat_json_parse(text, strlen(text), arena, &root, &err), 0, "%s", err.message);
  return chat_client_config_read(root, c, problem);
}

/* The message chat_client_config_read gives for text, or NULL when it
 * reads. */
static char *client_problem(const char *text) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_client_config c;
  chat_config_problem problem;
  char *message = NULL;
  if (!read_client_text(text, &c, &problem, &arena)) {
    char buf[CHAT_CONFIG_MESSAGE_SIZE];
    chat_config_problem_format(&problem, buf, sizeof buf);
    message = g_strdup(buf);
    cr_assert_null(c.host, "a failed read leaves nothing");
  }
  chat_client_config_clear(&c);
  chat_arena_clear(&arena);
  return message;
}

Test(config, the_shared_reader_reads_client_and_crypto) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_client_config c;
  chat_config_problem problem;
  cr_assert(read_client_text(
      "{\"crypto\": {\"base\": 2, \"modulus\": \"340282366920938463463374607431768211507\"},"
      " \"server\": {\"bind_port\": 1},"
      " \"client\": {\"server_ip\": \"::1\", \"server_port\": 8112, \"dialect\": \"seed\","
      " \"pin\": \"strict\", \"server_key\": null, \"other\": 1}}",
      &c, &problem, &arena));
  cr_assert_str_eq(c.host, "::1");
  cr_assert(c.has_port);
  cr_assert_eq(c.port, 8112);
  cr_assert(c.has_dialect);
  cr_assert_eq(c.dialect, CHAT_DIALECT_SEED);
  cr_assert(c.has_pin);
  cr_assert_eq(c.pin, CHAT_PIN_STRICT);
  cr_assert_null(c.server_key, "null is no key");
  cr_assert_str_eq(c.crypto_base, "2");
  cr_assert_str_eq(c.crypto_modulus, "340282366920938463463374607431768211507");
  chat_client_config_clear(&c);

  cr_assert(read_client_text("{}", &c, &problem, &arena));
  cr_assert_null(c.host);
  cr_assert_not(c.has_port || c.has_dialect || c.has_pin);
  cr_assert_null(c.crypto_base);
  chat_client_config_clear(&c);
  chat_arena_clear(&arena);
}

Test(config, the_shared_reader_reads_a_list_of_servers) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_client_config c;
  chat_config_problem problem;
  cr_assert(
      read_client_text("{\"client\": {\"server_ip\": \"10.0.0.9\", \"server_port\": 9,"
                       " \"servers\": [\"10.0.0.1:8111\", \"[::1]:8112\", \"chat.example:7\"]}}",
                       &c, &problem, &arena));
  cr_assert_eq(c.n_servers, 3);
  cr_assert_str_eq(c.servers[0].host, "10.0.0.1");
  cr_assert_eq(c.servers[0].port, 8111);
  cr_assert_str_eq(c.servers[1].host, "::1", "the brackets are not part of the host");
  cr_assert_eq(c.servers[1].port, 8112);
  cr_assert_str_eq(c.servers[2].host, "chat.example");
  cr_assert_eq(c.servers[2].port, 7);
  cr_assert_str_eq(c.host, "10.0.0.9", "server_ip is still read (the programs prefer the list)");
  chat_client_config_clear(&c);
  cr_assert(read_client_text("{\"client\": {\"server_ip\": \"h\"}}", &c, &problem, &arena));
  cr_assert_null(c.servers);
  cr_assert_eq(c.n_servers, 0);
  chat_client_config_clear(&c);
  chat_arena_clear(&arena);
}

Test(config, the_shared_reader_refuses_bad_server_lists) {
  static const char *const refused[][2] = {
      {"{\"client\": {\"servers\": []}}",
       "client.servers: expected a non-empty array of \"host:port\" strings (\"[::1]:8111\" for "
       "IPv6), got an array"},
      {"{\"client\": {\"servers\": \"a:1\"}}",
       "client.servers: expected a non-empty array of \"host:port\" strings (\"[::1]:8111\" for "
       "IPv6), got \"a:1\""},
      {"{\"client\": {\"servers\": [\"a:1\", \"::1:8111\"]}}",
       "client.servers: expected \"host:port\" strings (\"[::1]:8111\" for IPv6), got "
       "\"::1:8111\""},
      {"{\"client\": {\"servers\": [\"a:0\"]}}",
       "client.servers: expected \"host:port\" strings (\"[::1]:8111\" for IPv6), got \"a:0\""},
      {"{\"client\": {\"servers\": [\"a\"]}}",
       "client.servers: expected \"host:port\" strings (\"[::1]:8111\" for IPv6), got \"a\""},
      {"{\"client\": {\"servers\": [8111]}}",
       "client.servers: expected \"host:port\" strings (\"[::1]:8111\" for IPv6), got 8111"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autofree char *message = client_problem(refused[i][0]);
    cr_assert_not_null(message, "%s was read", refused[i][0]);
    cr_assert_str_eq(message, refused[i][1]);
  }
}

Test(config, the_shared_reader_refuses_leading_zeros_like_the_server) {
  static const char *const refused[][2] = {
      {"{\"crypto\": {\"modulus\": \"023\"}}",
       "crypto.modulus: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got \"023\""},
      {"{\"crypto\": {\"base\": \"0\"}}",
       "crypto.base: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got \"0\""},
      {"{\"crypto\": {\"base\": 0}}",
       "crypto.base: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got 0"},
      {"{\"crypto\": {\"base\": -2}}",
       "crypto.base: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got -2"},
      {"{\"crypto\": {\"base\": 2.0}}",
       "crypto.base: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got 2.0"},
      {"{\"crypto\": {\"base\": \" 2\"}}",
       "crypto.base: expected " CHAT_CONFIG_DIGITS_EXPECTED ", got \" 2\""},
      {"{\"crypto\": []}", "crypto: expected an object, got an array"},
      {"[]", "the top level: expected an object, got an array"},
      {"{\"client\": 1}", "client: expected an object, got 1"},
      {"{\"client\": {\"server_ip\": \"\"}}",
       "client.server_ip: expected a host name or address string, got \"\""},
      {"{\"client\": {\"server_port\": 0}}",
       "client.server_port: expected an integer 1..65535, got 0"},
      {"{\"client\": {\"server_port\": 65536}}",
       "client.server_port: expected an integer 1..65535, got 65536"},
      {"{\"client\": {\"dialect\": \"v3\"}}",
       "client.dialect: expected \"v2\" or \"seed\", got \"v3\""},
      {"{\"client\": {\"pin\": \"maybe\"}}",
       "client.pin: expected \"strict\", \"accept-new\" or \"ask\", got \"maybe\""},
      {"{\"client\": {\"server_key\": \"\"}}",
       "client.server_key: expected a SHA256: fingerprint or a base64 public key, got \"\""},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
    g_autofree char *message = client_problem(refused[i][0]);
    cr_assert_not_null(message, "%s was read", refused[i][0]);
    cr_assert_str_eq(message, refused[i][1]);
  }
}

Test(config, the_shared_reader_and_the_server_agree_on_digits) {
  static const char *const cases[] = {"\"023\"", "\"0\"", "0", "\"7\"", "7", "\"100\"", "\"1a\""};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *text = g_strdup_printf("{\"crypto\": {\"base\": %s}}", cases[i]);
    g_autofree char *client = client_problem(text);
    ChatdConfig c;
    g_autoptr(GError) error = NULL;
    gboolean server_ok = load_text(&c, text, &error);
    cr_assert_eq(server_ok, client == NULL, "%s: server %d, client %s", cases[i], server_ok,
                 client ? client : "ok");
    chatd_config_clear(&c);
  }
}

Test(config, the_shared_reader_bounds_the_digits) {
  g_autofree char *huge = g_strnfill(CHAT_CONFIG_CRYPTO_DIGITS_MAX + 1, '9');
  g_autofree char *text = g_strdup_printf("{\"crypto\": {\"base\": \"%s\"}}", huge);
  g_autofree char *message = client_problem(text);
  cr_assert_not_null(message);
  cr_assert(g_str_has_prefix(message, "crypto.base: expected at most 4096 digits, got \"9999"),
            "%s", message);
  cr_assert(g_str_has_suffix(message, "...\""), "a bounded prefix is quoted: %s", message);
}

Test(config, quoting_escapes_and_cuts_on_a_character_boundary) {
  char out[CHAT_CONFIG_QUOTE_SIZE];
  chat_config_quote("a\"b\\c\n", 6, out);
  cr_assert_str_eq(out, "a\\\"b\\\\c\\u000a");
  /* 47 ASCII bytes then a 3-byte character: the cut falls before it. */
  g_autofree char *long_text =
      g_strconcat("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "你好", NULL);
  chat_config_quote(long_text, strlen(long_text), out);
  cr_assert_str_eq(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
}
