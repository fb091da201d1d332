/* chatctl's network subcommands end to end: a real chatd (allow_legacy, so
 * both dialects), chatctl run as a user runs it, with its own XDG data and
 * cache directories. Each test states a behaviour a script relies on: the
 * output, and above all the exit status (chatctl/exit-status.h).
 *
 * No per-test .timeout: Criterion 2.4's timeout watchdog leaks 48 bytes now
 * and then, which fails the sanitizer build. Hangs are bounded by chatctl's
 * own 10 s reply timeout, the watch's --timeout and meson's test timeout. */
#include <criterion/criterion.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "chatd-harness.h"
#include "protocol/json.h"
#include "run-program.h"
#include "test-util.h"
#include "vectors.h"

#ifndef CHATCTL_PATH
#error "meson passes CHATCTL_PATH"
#endif

#define EXIT_OK 0
#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_CONNECTION 3
#define EXIT_TIMEOUT 4

#define MAX_ARGS 32
#define PERMISSION_BITS 0777
#define SMALL_IMAGE_SIDE 8
/* Larger than the 1 KiB max_message_size of the limit test, once encoded
 * as PNG (noise does not compress). */
#define NOISE_IMAGE_SIDE 64
#define SMALL_MAX_MESSAGE "\"max_message_size\": 1024"
/* The watch of the scenario gets, for each of alice's three sending
 * invocations: friend_on_off_line and room_user_on_off_line as she logs in,
 * her message, and the same two as she leaves. */
#define SCENARIO_EVENTS 15
#define SCENARIO_WATCH_TIMEOUT "60"
#define WATCH_READY_TRIES 500
#define WATCH_READY_SPIN_MS 20

static chatd_instance chatd;
static char *client_dir; /* configs, images, XDG dirs */
static char *data_home, *cache_home;
static char *config_v2, *config_seed;

/* ---- fixture ---- */

static char *write_client_config(const char *name, const char *dialect, const char *extra) {
  g_autofree char *crypto = harness_repo_crypto_json();
  g_autofree char *text = g_strdup_printf(
      "{\"crypto\": %s,\n \"client\": {\"server_ip\": \"127.0.0.1\", \"server_port\": %u, "
      "\"dialect\": \"%s\"%s%s}}\n",
      crypto, (unsigned)chatd.port, dialect, extra ? ", " : "", extra ? extra : "");
  char *path = g_build_filename(client_dir, name, NULL);
  cr_assert(g_file_set_contents(path, text, -1, NULL));
  return path;
}

static void start_client_side(void) {
  client_dir = test_make_tmp_dir("chatctl-test-XXXXXX");
  data_home = g_build_filename(client_dir, "data", NULL);
  cache_home = g_build_filename(client_dir, "cache", NULL);
  config_v2 = write_client_config("client-v2.json", "v2", NULL);
  config_seed = write_client_config("client-seed.json", "seed", NULL);
}

static void start(void) {
  chatd_start(&chatd, TRUE, NULL);
  start_client_side();
}

static void start_small_messages(void) {
  chatd_start(&chatd, TRUE, SMALL_MAX_MESSAGE);
  start_client_side();
}

static void finish(void) {
  chatd_destroy(&chatd);
  test_remove_tree(client_dir);
  g_clear_pointer(&client_dir, g_free);
  g_clear_pointer(&data_home, g_free);
  g_clear_pointer(&cache_home, g_free);
  g_clear_pointer(&config_v2, g_free);
  g_clear_pointer(&config_seed, g_free);
}

/* ---- running chatctl ---- */

/* The environment of every run: private XDG dirs, no key log, the given
 * password (empty: none). */
static char **child_env(const char *password) {
  char **env = g_new0(char *, 6);
  env[0] = g_strdup_printf("XDG_DATA_HOME=%s", data_home);
  env[1] = g_strdup_printf("XDG_CACHE_HOME=%s", cache_home);
  env[2] = g_strdup_printf("HOME=%s", client_dir);
  env[3] = g_strdup("CHAT_KEYLOGFILE=");
  env[4] = g_strdup_printf("CHAT_PASSWORD=%s", password ? password : "");
  return env;
}

static const char *config_of(chat_dialect dialect) {
  return dialect == CHAT_DIALECT_SEED ? config_seed : config_v2;
}

/* Runs chatctl --config <dialect's config> ARGS... (args NULL-terminated),
 * with CHAT_PASSWORD = password and `input` on standard input. */
static void run_args(chat_dialect dialect, const char *password, const char *input,
                     const char *const *args, program_result *r) {
  const char *argv[MAX_ARGS];
  int n = 0;
  argv[n++] = CHATCTL_PATH;
  argv[n++] = "--config";
  argv[n++] = config_of(dialect);
  for (; *args && n < MAX_ARGS - 1; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  g_auto(GStrv) env = child_env(password);
  memset(r, 0, sizeof *r);
  run_program(argv, input, input ? strlen(input) : 0, (const char *const *)env, r);
}

/* The same with ARGS as arguments (NULL-terminated). */
static void run_with_input(chat_dialect dialect, const char *password, const char *input,
                           program_result *r, ...) {
  const char *args[MAX_ARGS];
  int n = 0;
  va_list ap;
  va_start(ap, r);
  const char *arg;
  while ((arg = va_arg(ap, const char *)) && n < MAX_ARGS - 1)
    args[n++] = arg;
  va_end(ap);
  args[n] = NULL;
  run_args(dialect, password, input, args, r);
}

#define run(dialect, password, r, ...) run_with_input(dialect, password, NULL, r, __VA_ARGS__, NULL)

/* On failure, chatd's log too: the server's side of the story. */
#define expect_status(r, expected)                                                                 \
  cr_assert_eq((r)->status, (expected),                                                            \
               "exit status %d, expected %d\nstdout: %s\nstderr: %s\nchatd:\n%s", (r)->status,     \
               (expected), (r)->out, (r)->err, chatd_log_tail())

#define expect_out_has(r, text)                                                                    \
  cr_assert(strstr((r)->out, (text)) != NULL, "stdout lacks \"%s\":\n%s", (text), (r)->out)

#define expect_err_has(r, text)                                                                    \
  cr_assert(strstr((r)->err, (text)) != NULL, "stderr lacks \"%s\":\n%s", (text), (r)->err)

#define LOG_TAIL_BYTES 4000

static const char *chatd_log_tail(void) {
  if (!chatd.log)
    return "";
  chatd_log_contains(&chatd, ""); /* reads what is there */
  gsize len = chatd.log->len;
  return chatd.log->str + (len > LOG_TAIL_BYTES ? len - LOG_TAIL_BYTES : 0);
}

/* Runs and expects a status; returns nothing, frees the result. */
static void expect_run(int expected, chat_dialect dialect, const char *password,
                       const char *const *args) {
  program_result r;
  run_args(dialect, password, NULL, args, &r);
  expect_status(&r, expected);
  program_result_clear(&r);
}

#define run_expecting(expected, dialect, password, ...)                                            \
  expect_run(expected, dialect, password, (const char *const[]){__VA_ARGS__, NULL})

#define ok(dialect, password, ...)                                                                 \
  expect_run(EXIT_OK, dialect, password, (const char *const[]){__VA_ARGS__, NULL})

/* Two users, alice (pw-a) and bob (pw-b), made friends with chatctl. */
static void make_friends(chat_dialect d) {
  ok(d, "pw-a", "register", "alice", "Alice");
  ok(d, "pw-b", "register", "bob", "Bob");
  ok(d, "pw-a", "--user", "alice", "friends", "add", "bob");
  ok(d, "pw-b", "--user", "bob", "friends", "accept", "alice");
}

/* A JSON document printed by chatctl (plain JSON: "$bytes_len" summaries
 * are not values). */
static chat_json *parse_output(const char *text, chat_arena *arena) {
  cr_assert_not_null(text, "no output");
  chat_json *doc = NULL;
  chat_error err;
  cr_assert_eq(chat_json_parse(text, strlen(text), arena, &doc, &err), 0,
               "not one JSON document (%s):\n%s", err.message, text);
  return doc;
}

static gint64 dict_int(const chat_json *object, const char *key) {
  gint64 i = -1;
  cr_assert(chat_json_get_i64(chat_json_object_get(object, key), &i), "no integer %s", key);
  return i;
}

static char *make_png(const char *name, int side, gboolean noise) {
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, side, side);
  guchar *pixels = gdk_pixbuf_get_pixels(pixbuf);
  int stride = gdk_pixbuf_get_rowstride(pixbuf);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side * 3; x++)
      pixels[y * stride + x] = noise ? (guchar)g_random_int() : (guchar)(x * 7 + y * 13);
  char *path = g_build_filename(client_dir, name, NULL);
  g_autoptr(GError) error = NULL;
  cr_assert(gdk_pixbuf_save(pixbuf, path, "png", &error, NULL), "%s", error ? error->message : "?");
  return path;
}

static guint count_in_log(const char *text) {
  chatd_log_contains(&chatd, text); /* reads what chatd wrote so far */
  guint n = 0;
  for (const char *p = chatd.log->str; (p = strstr(p, text)); p += strlen(text))
    n++;
  return n;
}

/* ---- the "done when" scenario ---- */

static GSubprocess *spawn_watch(chat_dialect d, const char *user, const char *password,
                                const char *count, const char *timeout) {
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = child_env(password);
  for (char **e = env; *e; e++) {
    g_auto(GStrv) kv = g_strsplit(*e, "=", 2);
    g_subprocess_launcher_setenv(launcher, kv[0], kv[1], TRUE);
  }
  const char *argv[] = {CHATCTL_PATH, "--config", config_of(d), "--user",    user,    "watch",
                        "--json",     "--count",  count,        "--timeout", timeout, NULL};
  g_autoptr(GError) error = NULL;
  GSubprocess *watch = g_subprocess_launcher_spawnv(launcher, argv, &error);
  cr_assert_not_null(watch, "%s", error ? error->message : "?");
  return watch;
}

static void done_when_scenario(chat_dialect d) {
  chat_arena arena;
  chat_arena_init(&arena);
  program_result r;
  run(d, "pw-a", &r, "register", "alice", "Alice");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "1\n");
  program_result_clear(&r);
  run(d, "pw-b", &r, "register", "bob", "Bob", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_eq(dict_int(parse_output(r.out, &arena), "id"), 2);
  program_result_clear(&r);

  ok(d, "pw-a", "--user", "alice", "friends", "add", "bob");
  run(d, "pw-b", &r, "--user", "bob", "friends", "requests", "--json");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "\"username\": \"alice\"");
  program_result_clear(&r);
  ok(d, "pw-b", "friends", "accept", "alice", "--user", "bob");

  run(d, "pw-a", &r, "--user", "alice", "rooms", "create", "book club", "--json");
  expect_status(&r, EXIT_OK);
  chat_json *room = parse_output(r.out, &arena);
  g_autofree char *room_id = g_strdup_printf("%" G_GINT64_FORMAT, dict_int(room, "id"));
  program_result_clear(&r);
  ok(d, "pw-b", "--user", "bob", "rooms", "join", room_id);

  /* bob watches; alice acts once the watch is logged in. */
  guint logins = count_in_log("bob logged in");
  g_autoptr(GSubprocess) watch =
      spawn_watch(d, "bob", "pw-b", G_STRINGIFY(SCENARIO_EVENTS), SCENARIO_WATCH_TIMEOUT);
  for (int i = 0; i < WATCH_READY_TRIES && count_in_log("bob logged in") == logins; i++)
    harness_spin(WATCH_READY_SPIN_MS);
  cr_assert_gt(count_in_log("bob logged in"), logins, "the watch did not log in");

  g_autofree char *image = make_png("small.png", SMALL_IMAGE_SIDE, FALSE);
  ok(d, "pw-a", "--user", "alice", "send", "--to-user", "bob", "hello bob");
  ok(d, "pw-a", "--user", "alice", "send-image", "--to-user", "bob", image);
  ok(d, "pw-a", "--user", "alice", "send", "--to-room", room_id, "hello room");

  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  cr_assert(g_subprocess_communicate_utf8(watch, NULL, NULL, &out, &err, &error), "%s",
            error ? error->message : "?");
  cr_assert(g_subprocess_get_if_exited(watch) && g_subprocess_get_exit_status(watch) == 0,
            "watch failed: %s\nout: %s", err, out);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  cr_assert_eq(g_strv_length(lines), SCENARIO_EVENTS + 1, "events:\n%s", out);
  gboolean text = FALSE, picture = FALSE, in_room = FALSE;
  for (int i = 0; i < SCENARIO_EVENTS; i++) {
    chat_json *event = parse_output(lines[i], &arena);
    cr_assert_not_null(chat_json_object_get(event, "time"), "%s", lines[i]);
    cr_assert_not_null(chat_json_object_get(event, "params"), "%s", lines[i]);
    if (dict_int(event, "type") != 109)
      continue;
    cr_assert(strstr(lines[i], "\"name\": \"on_new_message\""), "%s", lines[i]);
    text |= strstr(lines[i], "\"data\": \"hello bob\"") != NULL;
    picture |= strstr(lines[i], "\"data\": {\"$bytes_len\": ") != NULL;
    in_room |= strstr(lines[i], "\"data\": \"hello room\"") != NULL &&
               strstr(lines[i], "\"target_type\": 1") != NULL;
  }
  cr_assert(text && picture && in_room, "missing messages in:\n%s", out);
  chat_arena_clear(&arena);
}

Test(chatctl, done_when_scenario_v2, .init = start, .fini = finish) {
  done_when_scenario(CHAT_DIALECT_V2);
}

Test(chatctl, done_when_scenario_seed, .init = start, .fini = finish) {
  done_when_scenario(CHAT_DIALECT_SEED);
}

/* ---- accounts ---- */

static void accounts(chat_dialect d) {
  program_result r;
  ok(d, "pw-a", "register", "alice", "Alice");
  run(d, "other", &r, "register", " Alice ", "Again");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "username taken");
  program_result_clear(&r);

  /* With --json a v2 refusal is also an object on stdout, with its code. */
  run(d, "other", &r, "register", "alice", "Again", "--json");
  expect_status(&r, EXIT_REFUSED);
  if (d == CHAT_DIALECT_V2)
    expect_out_has(&r, "{\"error\": \"username_taken\", \"class\": \"refused\"");
  program_result_clear(&r);

  run(d, "wrong", &r, "--user", "alice", "whoami");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "wrong username or password");
  program_result_clear(&r);

  run(d, "pw-a", &r, "whoami", "--user", "ALICE", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "{\"id\": 1, \"username\": \"alice\", \"nickname\": \"Alice\", "
                          "\"online\": true}\n");
  program_result_clear(&r);

  run(d, NULL, &r, "register", "bob", "Bob");
  expect_status(&r, EXIT_USAGE);
  expect_err_has(&r, "no password");
  program_result_clear(&r);

  /* The password file wins over the environment; only its first line counts. */
  g_autofree char *file = g_build_filename(client_dir, "password", NULL);
  cr_assert(g_file_set_contents(file, "pw-a\nignored\n", -1, NULL));
  run_expecting(EXIT_OK, d, "wrong", "--password-file", file, "--user", "alice", "whoami");
}

Test(chatctl, accounts_v2, .init = start, .fini = finish) {
  accounts(CHAT_DIALECT_V2);
}

Test(chatctl, accounts_seed, .init = start, .fini = finish) {
  accounts(CHAT_DIALECT_SEED);
}

/* ---- the token cache (v2) ---- */

Test(chatctl, a_login_is_cached_and_resumed_without_a_password, .init = start, .fini = finish) {
  program_result r;
  ok(CHAT_DIALECT_V2, "pw-a", "register", "alice", "Alice");
  ok(CHAT_DIALECT_V2, "pw-a", "--user", "alice", "whoami");
  guint password_logins = count_in_log("logged in");

  g_autofree char *name = g_strdup_printf("alice@127.0.0.1:%u", (unsigned)chatd.port);
  g_autofree char *file = g_build_filename(cache_home, "chat", "tokens", name, NULL);
  g_autofree char *dir = g_path_get_dirname(file);
  struct stat st;
  cr_assert_eq(stat(file, &st), 0, "no token cache at %s", file);
  cr_assert_eq(st.st_mode & PERMISSION_BITS, 0600);
  cr_assert_eq(stat(dir, &st), 0);
  cr_assert_eq(st.st_mode & PERMISSION_BITS, 0700);

  /* No password at all (none set, no terminal) and a wrong one: both resume. */
  ok(CHAT_DIALECT_V2, NULL, "--user", "alice", "whoami");
  ok(CHAT_DIALECT_V2, "wrong", "--user", "alice", "whoami");
  cr_assert_eq(count_in_log("login of alice failed"), 0);
  cr_assert_eq(count_in_log("logged in"), password_logins + 2);

  /* logout revokes the token and deletes the file; then the password counts. */
  run(CHAT_DIALECT_V2, NULL, &r, "--user", "alice", "logout", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "{\"username\": \"alice\", \"revoked\": true}\n");
  program_result_clear(&r);
  cr_assert_neq(stat(file, &st), 0, "the cache file is still there");
  run_expecting(EXIT_REFUSED, CHAT_DIALECT_V2, "wrong", "--user", "alice", "whoami");
  ok(CHAT_DIALECT_V2, NULL, "--user", "alice", "logout");
}

Test(chatctl, a_revoked_token_falls_back_to_the_password, .init = start, .fini = finish) {
  ok(CHAT_DIALECT_V2, "pw-a", "register", "alice", "Alice");
  ok(CHAT_DIALECT_V2, "pw-a", "--user", "alice", "whoami");
  g_autofree char *name = g_strdup_printf("alice@127.0.0.1:%u", (unsigned)chatd.port);
  g_autofree char *file = g_build_filename(cache_home, "chat", "tokens", name, NULL);
  g_autofree char *saved = NULL;
  gsize len;
  cr_assert(g_file_get_contents(file, &saved, &len, NULL));
  ok(CHAT_DIALECT_V2, NULL, "--user", "alice", "logout");
  /* Put the revoked token back: the server refuses it, the password is used. */
  cr_assert(
      g_file_set_contents_full(file, saved, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
  program_result r;
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "whoami");
  expect_status(&r, EXIT_OK);
  expect_err_has(&r, "refused the cached session");
  program_result_clear(&r);
}

/* ---- usage, connection and pinning failures ---- */

Test(chatctl, usage_errors_exit_2, .init = start, .fini = finish) {
  static const char *const cases[][6] = {
      {"frobnicate", NULL},
      {"send", "--bogus", NULL},
      {"send", "--user", "alice", NULL},             /* no target */
      {"send", "--user", "alice", "--to-room", "x"}, /* not a number */
      {"whoami", NULL},                              /* no --user */
      {"rooms", "--user", "alice", "paint"},         /* unknown verb */
      {"watch", "--user", "alice", "--count"},       /* no value */
      {"echo", "{not json", NULL},
      {"history", "--user", "alice", NULL}, /* no conversation */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    expect_run(EXIT_USAGE, CHAT_DIALECT_V2, "pw", cases[i]);
  /* v2-only subcommands in the seed dialect. */
  expect_run(EXIT_USAGE, CHAT_DIALECT_SEED, "pw",
             (const char *const[]){"--user", "alice", "nick", "X", NULL});
  expect_run(EXIT_USAGE, CHAT_DIALECT_SEED, "pw",
             (const char *const[]){"--user", "alice", "rooms", "leave", "1", NULL});
}

Test(chatctl, help_lists_every_option_with_an_example, .init = start, .fini = finish) {
  static const char *const commands[] = {
      "register",   "whoami",  "passwd",      "nick",        "logout", "send",
      "send-image", "friends", "rooms",       "history",     "unread", "watch",
      "echo",       "keygen",  "fingerprint", "forget-host", "search"};
  program_result r;
  run(CHAT_DIALECT_V2, NULL, &r, "--help");
  expect_status(&r, EXIT_OK);
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_autofree char *line = g_strdup_printf("\n  %s ", commands[i]);
    expect_out_has(&r, line);
  }
  program_result_clear(&r);
  for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
    run(CHAT_DIALECT_V2, NULL, &r, commands[i], "--help");
    expect_status(&r, EXIT_OK);
    expect_out_has(&r, "usage: chatctl ");
    expect_out_has(&r, "Example");
    program_result_clear(&r);
  }
}

static guint16 closed_port(void) {
  g_autoptr(GSocket) socket =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
  cr_assert(g_socket_bind(socket, any, FALSE, NULL));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address(socket, NULL);
  guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_socket_close(socket, NULL);
  return port;
}

Test(chatctl, no_server_exits_3, .init = start, .fini = finish) {
  g_autofree char *port = g_strdup_printf("%u", (unsigned)closed_port());
  for (int d = CHAT_DIALECT_SEED; d <= CHAT_DIALECT_V2; d++) {
    program_result r;
    run((chat_dialect)d, "pw", &r, "--port", port, "--user", "alice", "whoami");
    expect_status(&r, EXIT_CONNECTION);
    expect_err_has(&r, "cannot connect");
    program_result_clear(&r);
  }
}

/* ---- client.servers ---- */

static char *servers_config(const char *name, guint16 first, guint16 second) {
  g_autofree char *extra = g_strdup_printf("\"servers\": [\"127.0.0.1:%u\", \"127.0.0.1:%u\"]",
                                           (unsigned)first, (unsigned)second);
  return write_client_config(name, "v2", extra);
}

static void run_config(const char *config, const char *password, program_result *r,
                       const char *const *args) {
  const char *argv[MAX_ARGS] = {CHATCTL_PATH, "--config", config};
  int n = 3;
  for (; *args && n < MAX_ARGS - 1; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  g_auto(GStrv) env = child_env(password);
  memset(r, 0, sizeof *r);
  run_program(argv, NULL, 0, (const char *const *)env, r);
}

Test(chatctl, a_list_of_servers_skips_the_one_that_is_down, .init = start, .fini = finish) {
  guint16 dead = closed_port();
  g_autofree char *config = servers_config("servers.json", dead, chatd.port);
  program_result r;
  run_config(config, "pw-a", &r, (const char *const[]){"register", "alice", "Alice", NULL});
  expect_status(&r, EXIT_OK);
  program_result_clear(&r);
  run_config(config, "pw-a", &r, (const char *const[]){"--user", "alice", "whoami", NULL});
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "alice");
  program_result_clear(&r);

  /* One deployment, one key: the pin and the token are kept under the
   * first server listed, whichever answered. */
  g_autofree char *known_hosts = g_build_filename(data_home, "chat", "known_hosts", NULL);
  g_autofree char *pins = NULL;
  cr_assert(g_file_get_contents(known_hosts, &pins, NULL, NULL));
  g_autofree char *entry = g_strdup_printf("127.0.0.1:%u SHA256:", (unsigned)dead);
  cr_assert(strstr(pins, entry) != NULL, "known_hosts:\n%s", pins);
  g_autofree char *name = g_strdup_printf("alice@127.0.0.1:%u", (unsigned)dead);
  g_autofree char *token = g_build_filename(cache_home, "chat", "tokens", name, NULL);
  cr_assert(g_file_test(token, G_FILE_TEST_EXISTS), "no token cache at %s", token);
  guint logins = count_in_log("logged in");
  run_config(config, NULL, &r, (const char *const[]){"--user", "alice", "whoami", NULL});
  expect_status(&r, EXIT_OK);
  program_result_clear(&r);
  cr_assert_eq(count_in_log("logged in"), logins + 1, "resumed without a password");
}

Test(chatctl, none_of_the_servers_answering_exits_3_naming_each, .init = start, .fini = finish) {
  guint16 first = closed_port(), second = closed_port();
  /* server_port names the live chatd: the list takes its place. */
  g_autofree char *config = servers_config("dead.json", first, second);
  program_result r;
  run_config(config, NULL, &r, (const char *const[]){"echo", "1", NULL});
  expect_status(&r, EXIT_CONNECTION);
  g_autofree char *expected =
      g_strdup_printf("none of the 2 servers could be reached: 127.0.0.1:%u (connection refused), "
                      "127.0.0.1:%u (connection refused)",
                      (unsigned)first, (unsigned)second);
  expect_err_has(&r, expected);
  program_result_clear(&r);

  /* --port (or --host) replaces the list by one server. */
  g_autofree char *port = g_strdup_printf("%u", (unsigned)chatd.port);
  run_config(config, NULL, &r, (const char *const[]){"--port", port, "echo", "1", NULL});
  expect_status(&r, EXIT_OK);
  program_result_clear(&r);
}

static char *fingerprint_of(const char *key_file);

/* The servers of one deployment share one key: a server with another key
 * is refused, and the next is not tried (a pinning refusal is no outage). */
Test(chatctl, a_server_of_the_list_with_another_key_stops_the_attempt, .init = start,
     .fini = finish) {
  chatd_instance other;
  chatd_start(&other, TRUE, NULL); /* its own key */
  guint16 dead = closed_port();
  g_autofree char *extra =
      g_strdup_printf("\"servers\": [\"127.0.0.1:%u\", \"127.0.0.1:%u\", \"127.0.0.1:%u\"]",
                      (unsigned)dead, (unsigned)other.port, (unsigned)chatd.port);
  g_autofree char *config = write_client_config("three.json", "v2", extra);
  g_autofree char *key_file = g_build_filename(chatd.dir, "server.key", NULL);
  g_autofree char *fingerprint = fingerprint_of(key_file);
  g_autofree char *known_hosts = g_build_filename(data_home, "chat", "known_hosts", NULL);
  g_autofree char *known_dir = g_path_get_dirname(known_hosts);
  cr_assert_eq(g_mkdir_with_parents(known_dir, 0700), 0);
  g_autofree char *line = g_strdup_printf("127.0.0.1:%u %s\n", (unsigned)dead, fingerprint);
  cr_assert(g_file_set_contents(known_hosts, line, -1, NULL));

  /* The third server would match the pin: exit 3 means it was not tried. */
  program_result r;
  run_config(config, NULL, &r, (const char *const[]){"echo", "1", NULL});
  expect_status(&r, EXIT_CONNECTION);
  expect_err_has(&r, fingerprint);
  cr_assert_null(strstr(r.err, "none of"), "%s", r.err);
  program_result_clear(&r);
  chatd_destroy(&other);

  /* Without the other one, the deployment's key matches its pin. */
  g_autofree char *two = servers_config("two.json", dead, chatd.port);
  run_config(two, NULL, &r, (const char *const[]){"echo", "1", NULL});
  expect_status(&r, EXIT_OK);
  program_result_clear(&r);
}

static char *fingerprint_of(const char *key_file) {
  program_result r;
  run(CHAT_DIALECT_V2, NULL, &r, "fingerprint", key_file);
  expect_status(&r, EXIT_OK);
  char *fingerprint = g_strstrip(g_strdup(r.out));
  program_result_clear(&r);
  return fingerprint;
}

Test(chatctl, a_changed_server_key_exits_3_showing_both_fingerprints, .init = start,
     .fini = finish) {
  ok(CHAT_DIALECT_V2, NULL, "echo", "1"); /* the key is recorded */
  g_autofree char *old_key = g_build_filename(chatd.dir, "server.key", NULL);
  g_autofree char *old = fingerprint_of(old_key);

  /* The same server (port, database) with another key. */
  chatd_stop(&chatd);
  g_autofree char *config = NULL;
  cr_assert(g_file_get_contents(chatd.config_path, &config, NULL, NULL));
  g_autofree char *port = g_strdup_printf("\"bind_port\": %u", (unsigned)chatd.port);
  g_auto(GStrv) parts = g_strsplit(config, "\"bind_port\": 0", 2);
  g_autofree char *moved = g_strjoinv(port, parts);
  g_auto(GStrv) again = g_strsplit(moved, "\"server.key\"", 2);
  g_autofree char *rekeyed = g_strjoinv("\"other.key\"", again);
  cr_assert(g_file_set_contents(chatd.config_path, rekeyed, -1, NULL));
  guint16 before = chatd.port;
  chatd_restart(&chatd);
  cr_assert_eq(chatd.port, before);
  g_autofree char *new_key = g_build_filename(chatd.dir, "other.key", NULL);
  g_autofree char *replaced = fingerprint_of(new_key);
  cr_assert_str_neq(old, replaced);

  program_result r;
  run(CHAT_DIALECT_V2, NULL, &r, "echo", "1");
  expect_status(&r, EXIT_CONNECTION);
  expect_err_has(&r, "CHANGED");
  expect_err_has(&r, old);
  expect_err_has(&r, replaced);
  program_result_clear(&r);

  g_autofree char *host = g_strdup_printf("127.0.0.1:%u", (unsigned)chatd.port);
  run(CHAT_DIALECT_V2, NULL, &r, "forget-host", host, "--json");
  expect_status(&r, EXIT_OK);
  g_autofree char *removed = g_strdup_printf("{\"host\": \"%s\", \"removed\": true}\n", host);
  cr_assert_str_eq(r.out, removed);
  program_result_clear(&r);
  ok(CHAT_DIALECT_V2, NULL, "echo", "1");
}

Test(chatctl, pin_policies_strict_and_ask, .init = start, .fini = finish) {
  g_autofree char *key_file = g_build_filename(chatd.dir, "server.key", NULL);
  g_autofree char *fingerprint = fingerprint_of(key_file);
  g_autofree char *pinned_extra =
      g_strdup_printf("\"pin\": \"strict\", \"server_key\": \"%s\"", fingerprint);
  g_autofree char *ask = write_client_config("ask.json", "v2", "\"pin\": \"ask\"");
  g_autofree char *strict = write_client_config("strict.json", "v2", "\"pin\": \"strict\"");
  g_autofree char *pinned = write_client_config("pinned.json", "v2", pinned_extra);
  g_auto(GStrv) env = child_env(NULL);
  program_result r = {0};

  /* ask, unknown server: no question in a script; the fingerprint and how to trust it. */
  const char *ask_argv[] = {CHATCTL_PATH, "--config", ask, "echo", "1", NULL};
  run_program(ask_argv, NULL, 0, (const char *const *)env, &r);
  expect_status(&r, EXIT_CONNECTION);
  expect_err_has(&r, fingerprint);
  expect_err_has(&r, "known_hosts");
  program_result_clear(&r);

  const char *strict_argv[] = {CHATCTL_PATH, "--config", strict, "echo", "1", NULL};
  run_program(strict_argv, NULL, 0, (const char *const *)env, &r);
  expect_status(&r, EXIT_CONNECTION);
  program_result_clear(&r);

  const char *pinned_argv[] = {CHATCTL_PATH, "--config", pinned, "echo", "\"pinned\"", NULL};
  run_program(pinned_argv, NULL, 0, (const char *const *)env, &r);
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "\"pinned\"\n");
  program_result_clear(&r);
}

/* ---- messages ---- */

static void send_failures(chat_dialect d) {
  make_friends(d);
  ok(d, "pw-c", "register", "carol", "Carol");
  program_result r;
  run(d, "pw-a", &r, "--user", "alice", "send", "--to-user", "carol", "hi");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "not your friend");
  program_result_clear(&r);

  run(d, "pw-a", &r, "--user", "alice", "send", "--to-room", "7", "hi");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "not a member");
  program_result_clear(&r);

  /* --json prints the refusal: v2 with its code (spec/protocol.md 5.7). */
  run(d, "pw-a", &r, "--user", "alice", "--json", "send", "--to-room", "7", "hi");
  expect_status(&r, EXIT_REFUSED);
  if (d == CHAT_DIALECT_V2)
    cr_assert_str_eq(r.out, "{\"error\": \"not_member\", \"class\": \"refused\", \"text\": "
                            "\"you are not a member of this room\"}\n");
  else
    expect_out_has(&r, "\"text\": \"you are not a member of this room\"");
  program_result_clear(&r);

  g_autofree char *text_file = g_build_filename(client_dir, "notes.txt", NULL);
  cr_assert(g_file_set_contents(text_file, "just text\n", -1, NULL));
  run(d, "pw-a", &r, "--user", "alice", "send-image", "--to-user", "bob", text_file);
  expect_status(&r, EXIT_USAGE);
  expect_err_has(&r, "not an image");
  program_result_clear(&r);

  /* Text from standard input keeps its lines. */
  run_with_input(d, "pw-a", "first line\nsecond line\n", &r, "--user", "alice", "send", "--to-user",
                 "bob", "--font-color", "#ff0000", "--json", NULL);
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "\"data\": \"first line\\nsecond line\"");
  expect_out_has(&r, "\"fontcolor\": \"#ff0000\"");
  program_result_clear(&r);
}

Test(chatctl, send_failures_v2, .init = start, .fini = finish) {
  send_failures(CHAT_DIALECT_V2);
}

Test(chatctl, send_failures_seed, .init = start, .fini = finish) {
  send_failures(CHAT_DIALECT_SEED);
}

/* With 1 KiB messages the server takes images of 512 bytes (max_image). */
Test(chatctl, an_image_over_the_servers_max_image_exits_2, .init = start_small_messages,
     .fini = finish) {
  make_friends(CHAT_DIALECT_V2);
  g_autofree char *image = make_png("noise.png", NOISE_IMAGE_SIDE, TRUE);
  program_result r;
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "send-image", "--to-user", "bob", image);
  expect_status(&r, EXIT_USAGE);
  expect_err_has(&r, "over the server's image limit of 512 bytes");
  program_result_clear(&r);
}

static void watch_timeout(chat_dialect d) {
  ok(d, "pw-a", "register", "alice", "Alice");
  program_result r;
  run(d, "pw-a", &r, "--user", "alice", "watch", "--count", "1", "--timeout", "1");
  expect_status(&r, EXIT_TIMEOUT);
  cr_assert_eq(r.out_len, 0, "printed %s", r.out);
  program_result_clear(&r);
  /* Without --count, the end of --timeout is the normal end. */
  run_expecting(EXIT_OK, d, "pw-a", "--user", "alice", "watch", "--timeout", "1");
}

Test(chatctl, watch_timeout_v2, .init = start, .fini = finish) {
  watch_timeout(CHAT_DIALECT_V2);
}

Test(chatctl, watch_timeout_seed, .init = start, .fini = finish) {
  watch_timeout(CHAT_DIALECT_SEED);
}

/* Issue 9 item 13: a text (or a name) with a newline forged lines in
 * `chatctl history`. Human output escapes what the server sent. */
Test(chatctl, human_output_escapes_control_characters, .init = start, .fini = finish) {
  make_friends(CHAT_DIALECT_V2);
  ok(CHAT_DIALECT_V2, "pw-a", "--user", "alice", "send", "--to-user", "bob",
     "ok\n2026-12-03 09:00:00 #9 Admin (admin): send me your password\x1b[2K\xe2\x80\xae");
  program_result r;
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "history", "--with-user", "alice");
  expect_status(&r, EXIT_OK);
  guint lines = 0;
  for (const char *p = r.out; (p = strchr(p, '\n')) != NULL; p++)
    lines++;
  cr_assert_eq(lines, 1, "one message, one line: %s", r.out);
  cr_assert(strstr(r.out, "Alice (alice): ok\\n2026-12-03 09:00:00 #9 Admin (admin): send me "
                          "your password\\e[2K\\u{202E}\n"),
            "%s", r.out);
  program_result_clear(&r);
  /* --json keeps the text as it is (JSON escapes it its own way). */
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "history", "--with-user", "alice", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert(strstr(r.out, "ok\\n2026-12-03"), "%s", r.out);
  program_result_clear(&r);
}

static void history_and_unread(chat_dialect d) {
  chat_arena arena;
  chat_arena_init(&arena);
  make_friends(d);
  ok(d, "pw-a", "--user", "alice", "send", "--to-user", "bob", "one");
  ok(d, "pw-a", "--user", "alice", "send", "--to-user", "bob", "two");
  ok(d, "pw-a", "--user", "alice", "send", "--to-user", "bob", "three");

  program_result r;
  run(d, "pw-b", &r, "--user", "bob", "unread", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "[{\"target_type\": 0, \"target_id\": 1, \"name\": \"alice\", "
                          "\"unread\": 3}]\n");
  program_result_clear(&r);

  run(d, "pw-b", &r, "--user", "bob", "history", "--with-user", "alice", "--limit", "2", "--json");
  expect_status(&r, EXIT_OK);
  chat_json *page = parse_output(r.out, &arena);
  const chat_json *messages = chat_json_object_get(page, "messages");
  cr_assert_eq(messages->as.array.count, 2);
  cr_assert(strstr(r.out, "\"data\": \"three\"") < strstr(r.out, "\"data\": \"two\""),
            "not newest first: %s", r.out);
  cr_assert(strstr(r.out, "\"more\": true"), "%s", r.out);
  program_result_clear(&r);

  run(d, "pw-b", &r, "--user", "bob", "history", "--with-user", "alice");
  expect_status(&r, EXIT_OK);
  /* A nickname is not unique: the username (v2) or the id (seed) goes with it. */
  const char *sender = d == CHAT_DIALECT_V2 ? "Alice (alice)" : "Alice (id 1)";
  g_autofree char *one = g_strdup_printf("%s: one\n", sender);
  g_autofree char *three = g_strdup_printf("%s: three\n", sender);
  cr_assert(strstr(r.out, one) && strstr(r.out, one) < strstr(r.out, three), "not oldest first: %s",
            r.out);
  program_result_clear(&r);

  run_expecting(EXIT_REFUSED, d, "pw-b", "--user", "bob", "history", "--with-user", "carol");
  chat_arena_clear(&arena);
}

Test(chatctl, history_and_unread_v2, .init = start, .fini = finish) {
  history_and_unread(CHAT_DIALECT_V2);
  /* Paging back from the oldest shown. */
  program_result r;
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "history", "--with-user", "alice", "--before",
      "2");
  expect_status(&r, EXIT_OK);
  cr_assert(strstr(r.out, "#1 Alice (alice): one\n") && !strstr(r.out, "two"), "%s", r.out);
  program_result_clear(&r);
}

Test(chatctl, history_and_unread_seed, .init = start, .fini = finish) {
  history_and_unread(CHAT_DIALECT_SEED);
}

/* ---- friends and rooms ---- */

static void friends_and_rooms(chat_dialect d) {
  chat_arena arena;
  chat_arena_init(&arena);
  ok(d, "pw-a", "register", "alice", "Alice");
  ok(d, "pw-b", "register", "bob", "Bob");
  program_result r;
  run(d, "pw-a", &r, "--user", "alice", "friends", "add", "nobody");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "no such user");
  program_result_clear(&r);
  run(d, "pw-b", &r, "--user", "bob", "friends", "accept", "alice");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "no friend request from alice");
  program_result_clear(&r);

  /* A rejected request is gone; asking again works. */
  ok(d, "pw-a", "--user", "alice", "friends", "add", "bob");
  ok(d, "pw-b", "--user", "bob", "friends", "reject", "alice");
  run(d, "pw-b", &r, "--user", "bob", "friends", "requests", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "[]\n");
  program_result_clear(&r);
  ok(d, "pw-a", "--user", "alice", "friends", "add", "bob");
  ok(d, "pw-b", "--user", "bob", "friends", "accept", "alice");
  run(d, "pw-a", &r, "--user", "alice", "friends", "list");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "bob (id 2, nickname \"Bob\"");
  program_result_clear(&r);

  run(d, "pw-a", &r, "--user", "alice", "rooms", "create", "club");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "1\n");
  program_result_clear(&r);
  ok(d, "pw-b", "--user", "bob", "rooms", "join", "1");
  run(d, "pw-b", &r, "--user", "bob", "rooms", "join", "1");
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "already a member");
  program_result_clear(&r);
  run_expecting(EXIT_REFUSED, d, "pw-b", "--user", "bob", "rooms", "join", "42");

  run(d, "pw-b", &r, "--user", "bob", "rooms", "members", "1", "--json");
  expect_status(&r, EXIT_OK);
  chat_json *doc = parse_output(r.out, &arena);
  cr_assert_eq(dict_int(doc, "room_id"), 1);
  cr_assert_eq(chat_json_object_get(doc, "members")->as.array.count, 2);
  program_result_clear(&r);

  run(d, "pw-b", &r, "--user", "bob", "rooms", "list", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "[{\"id\": 1, \"room_name\": \"club\"}]\n");
  program_result_clear(&r);
  chat_arena_clear(&arena);
}

Test(chatctl, friends_and_rooms_v2, .init = start, .fini = finish) {
  friends_and_rooms(CHAT_DIALECT_V2);
  program_result r;
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "rooms", "leave", "1", "--json");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "{\"left\": 1}\n");
  program_result_clear(&r);
  run_expecting(EXIT_REFUSED, CHAT_DIALECT_V2, "pw-b", "--user", "bob", "rooms", "members", "1");
}

Test(chatctl, friends_and_rooms_seed, .init = start, .fini = finish) {
  friends_and_rooms(CHAT_DIALECT_SEED);
}

/* ---- profile (v2) ---- */

Test(chatctl, nick_and_passwd, .init = start, .fini = finish) {
  ok(CHAT_DIALECT_V2, "pw-a", "register", "alice", "Alice");
  program_result r;
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "nick", "Queen Alice", "--json");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "\"nickname\": \"Queen Alice\"");
  program_result_clear(&r);

  g_autofree char *new_file = g_build_filename(client_dir, "new-password", NULL);
  cr_assert(g_file_set_contents(new_file, "pw-new\n", -1, NULL));
  run(CHAT_DIALECT_V2, "not-the-old-one", &r, "--user", "alice", "passwd", "--new-password-file",
      new_file);
  expect_status(&r, EXIT_REFUSED);
  expect_err_has(&r, "old password is wrong");
  program_result_clear(&r);
  ok(CHAT_DIALECT_V2, "pw-a", "--user", "alice", "passwd", "--new-password-file", new_file);

  /* A fresh login (no cache) takes only the new password. */
  ok(CHAT_DIALECT_V2, NULL, "--user", "alice", "logout");
  run_expecting(EXIT_REFUSED, CHAT_DIALECT_V2, "pw-a", "--user", "alice", "whoami");
  ok(CHAT_DIALECT_V2, "pw-new", "--user", "alice", "whoami");
}

/* ---- echo and keys ---- */

Test(chatctl, echo_returns_the_value_in_both_dialects, .init = start, .fini = finish) {
  for (int d = CHAT_DIALECT_SEED; d <= CHAT_DIALECT_V2; d++) {
    program_result r;
    run((chat_dialect)d, NULL, &r, "echo", "{\"a\": [1, \"x\", {\"$bytes\": \"AAH+/w==\"}]}");
    expect_status(&r, EXIT_OK);
    cr_assert_str_eq(r.out, "{\"a\": [1, \"x\", {\"$bytes_len\": 4}]}\n");
    program_result_clear(&r);
    run((chat_dialect)d, NULL, &r, "echo", "--with-data", "{\"$bytes\": \"AAH+/w==\"}");
    expect_status(&r, EXIT_OK);
    cr_assert_str_eq(r.out, "{\"$bytes\": \"AAH+/w==\"}\n");
    program_result_clear(&r);
  }
}

Test(chatctl, keygen_fingerprint_and_forget_host, .init = start, .fini = finish) {
  g_autofree char *key = g_build_filename(client_dir, "new.key", NULL);
  program_result r;
  run(CHAT_DIALECT_V2, NULL, &r, "keygen", key, "--json");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "\"fingerprint\": \"SHA256:");
  program_result_clear(&r);
  struct stat st;
  cr_assert_eq(stat(key, &st), 0);
  cr_assert_eq(st.st_mode & PERMISSION_BITS, 0600);

  run(CHAT_DIALECT_V2, NULL, &r, "keygen", key);
  expect_status(&r, EXIT_USAGE);
  expect_err_has(&r, "not overwritten");
  program_result_clear(&r);

  /* chatd's own key: the fingerprint it logs. */
  g_autofree char *server_key = g_build_filename(chatd.dir, "server.key", NULL);
  g_autofree char *fingerprint = fingerprint_of(server_key);
  g_autofree char *logged = g_strdup_printf("key %s", fingerprint);
  cr_assert(chatd_log_contains(&chatd, logged), "chatd logged another key than %s", fingerprint);

  run_expecting(EXIT_OK, CHAT_DIALECT_V2, NULL, "forget-host", "nowhere.example:1");
  run_expecting(EXIT_USAGE, CHAT_DIALECT_V2, NULL, "forget-host", "no-port");
}

/* ---- search ---- */

/* alice and bob are friends, carol is bob's friend (not alice's), alice
 * and bob are in room 1 "Hikers". Messages, oldest first: alice -> bob
 * "Dinner at eight?", bob -> alice "see you at dinner", carol -> bob
 * "dinner secret", alice -> room "周末去爬山". */
static void search_scenario(void) {
  chat_dialect d = CHAT_DIALECT_V2;
  make_friends(d);
  ok(d, "pw-c", "register", "carol", "Carol");
  ok(d, "pw-c", "--user", "carol", "friends", "add", "bob");
  ok(d, "pw-b", "--user", "bob", "friends", "accept", "carol");
  ok(d, "pw-b", "--user", "bob", "rooms", "create", "Hikers");
  ok(d, "pw-a", "--user", "alice", "rooms", "join", "1");
  ok(d, "pw-a", "--user", "alice", "send", "--to-user", "bob", "Dinner at eight?");
  ok(d, "pw-b", "--user", "bob", "send", "--to-user", "alice", "see you at dinner");
  ok(d, "pw-c", "--user", "carol", "send", "--to-user", "bob", "dinner secret");
  ok(d, "pw-a", "--user", "alice", "send", "--to-room", "1", "周末去爬山");
}

Test(chatctl, search_finds_own_messages_newest_first_with_matches_marked, .init = start,
     .fini = finish) {
  search_scenario();
  program_result r;
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "dinner");
  expect_status(&r, EXIT_OK);
  const char *newer = strstr(r.out, " #2 @bob | Bob (bob): see you at [dinner]\n");
  const char *older = strstr(r.out, " #1 @bob | Alice (alice): [Dinner] at eight?\n");
  cr_assert(newer && older && newer < older, "newest first, matches marked:\n%s", r.out);
  cr_assert_null(strstr(r.out, "secret"), "carol's message to bob is not alice's:\n%s", r.out);
  cr_assert_null(strstr(r.out, "older matches"), "%s", r.out);
  program_result_clear(&r);

  /* The room, in Chinese: three characters (the index) and two (a scan). */
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "周末去");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, " #4 room 1 (Hikers) | Alice (alice): [周末去]爬山\n");
  program_result_clear(&r);
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "search", "爬山");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, " #4 room 1 (Hikers) | Alice (alice): 周末去[爬山]\n");
  program_result_clear(&r);

  /* One conversation. */
  run(CHAT_DIALECT_V2, "pw-b", &r, "--user", "bob", "search", "DINNER", "--friend", "carol");
  expect_status(&r, EXIT_OK);
  cr_assert(strstr(r.out, "@carol | Carol (carol): [dinner] secret\n") && !strstr(r.out, "@alice"),
            "%s", r.out);
  program_result_clear(&r);
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "dinner", "--room", "1");
  expect_status(&r, EXIT_OK);
  cr_assert_str_eq(r.out, "(no messages match)\n");
  program_result_clear(&r);
  run_expecting(EXIT_REFUSED, CHAT_DIALECT_V2, "pw-a", "--user", "alice", "search", "dinner",
                "--friend", "carol");
}

Test(chatctl, search_pages_and_prints_json, .init = start, .fini = finish) {
  search_scenario();
  chat_arena arena;
  chat_arena_init(&arena);
  program_result r;
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "dinner", "--limit", "1");
  expect_status(&r, EXIT_OK);
  expect_out_has(&r, "see you at [dinner]\n(older matches remain: add --before 2)\n");
  program_result_clear(&r);
  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "dinner", "--before", "2");
  expect_status(&r, EXIT_OK);
  cr_assert(strstr(r.out, "[Dinner] at eight?") && !strstr(r.out, "see you"), "%s", r.out);
  program_result_clear(&r);

  run(CHAT_DIALECT_V2, "pw-a", &r, "--user", "alice", "search", "dinner", "--limit", "1", "--json");
  expect_status(&r, EXIT_OK);
  chat_json *doc = parse_output(r.out, &arena);
  const chat_json *query = chat_json_object_get(doc, "query");
  cr_assert(query && query->kind == CHAT_JSON_STRING, "%s", r.out);
  const chat_json *more = chat_json_object_get(doc, "more");
  cr_assert(more && more->kind == CHAT_JSON_BOOL && more->as.boolean, "%s", r.out);
  const chat_json *results = chat_json_object_get(doc, "results");
  cr_assert(results && results->kind == CHAT_JSON_ARRAY && results->as.array.count == 1, "%s",
            r.out);
  const chat_json *hit = &results->as.array.items[0];
  const chat_json *notice = chat_json_object_get(hit, "notice");
  cr_assert_eq(dict_int(notice, "id"), 2);
  cr_assert(strstr(r.out, "\"matches\": [[11, 6]]"), "byte offset and length: %s", r.out);
  program_result_clear(&r);
  chat_arena_clear(&arena);
}

Test(chatctl, search_usage_errors_exit_2, .init = start, .fini = finish) {
  static const char *const cases[][8] = {
      {"search", "--user", "alice", "dinner", "--limit", "0", NULL},
      {"search", "--user", "alice", "dinner", "--limit", "51", NULL},
      {"search", "--user", "alice", "dinner", "--limit", "ten", NULL},
      {"search", "--user", "alice", " \t ", NULL},
      {"search", "--user", "alice", NULL},
      {"search", "--user", "alice", "x", "--friend", "bob", "--room"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    expect_run(EXIT_USAGE, CHAT_DIALECT_V2, "pw", cases[i]);
  program_result r;
  run(CHAT_DIALECT_V2, "pw", &r, "--user", "alice", "search", "dinner", "--limit", "100");
  expect_status(&r, EXIT_USAGE);
  expect_err_has(&r, "--limit");
  program_result_clear(&r);
  /* The seed dialect has no search. */
  expect_run(EXIT_USAGE, CHAT_DIALECT_SEED, "pw",
             (const char *const[]){"--user", "alice", "search", "dinner", NULL});
}
