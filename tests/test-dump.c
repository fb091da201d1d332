/* chatctl dump on real captures: a real chatd, in-process clients that log
 * their session keys, and a recording proxy between them that writes the
 * traffic as pcap/pcapng (tests/capture-proxy.h); plus tcpdump when it can
 * capture on lo. Then damaged, partial and foreign captures. */
#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <string.h>

#include "capture-proxy.h"
#include "chatd-harness.h"
#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/keylog.h"
#include "run-program.h"
#include "test-util.h"

#ifndef CHATCTL_PATH
#error "meson passes CHATCTL_PATH"
#endif

#define MAX_CONNS 8
#define IMAGE_BYTES 150000u
#define IMAGE_PATTERN 251u
#define QUIET_MS 300u
#define IDLE_TIMEOUT_MS 10000u
#define TCPDUMP_START_MS 5000u

static chatd_instance chatd;
static capture_proxy *proxy;
static char *work_dir;
static char *keylog_path;

static void setup(void) {
  g_unsetenv(CHAT_KEYLOG_ENV);
  work_dir = test_make_tmp_dir("dump-test-XXXXXX");
  keylog_path = g_build_filename(work_dir, "keys.log", NULL);
  chat_error err;
  cr_assert_eq(chat_keylog_open(keylog_path, &harness_client_keylog, &err), 0, "%s",
               err.message);
  chatd_start(&chatd, TRUE, NULL);
}

static void teardown(void) {
  capture_proxy_free(proxy);
  proxy = NULL;
  chat_keylog_close(harness_client_keylog);
  harness_client_keylog = NULL;
  chatd_destroy(&chatd);
  /* DUMP_TEST_KEEP=1 keeps the captures and the key log for a look. */
  if (g_getenv("DUMP_TEST_KEEP") != NULL) {
    cr_log_warn("kept %s", work_dir);
    g_clear_pointer(&work_dir, g_free);
    g_clear_pointer(&keylog_path, g_free);
    return;
  }
  test_remove_tree(work_dir);
  g_clear_pointer(&work_dir, g_free);
  g_clear_pointer(&keylog_path, g_free);
}

static char *path_in_work_dir(const char *name) {
  return g_build_filename(work_dir, name, NULL);
}

/* ---- running chatctl dump ----------------------------------------------- */

static void dump(program_result *r, const char *const *args) {
  const char *argv[16] = {CHATCTL_PATH, "dump"};
  size_t n = 2;
  for (size_t i = 0; args[i] != NULL && n < G_N_ELEMENTS(argv) - 1; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  memset(r, 0, sizeof *r);
  run_program(argv, NULL, 0, NULL, r);
}

#define DUMP(r, ...) dump((r), (const char *const[]){__VA_ARGS__, NULL})

/* ---- a session, with what each client sent and received ----------------- */

typedef struct {
  test_client *client;
  GPtrArray *sent;        /* "name params" (params as JSON, bytes summarised) */
  GPtrArray *sent_json;   /* the params as sent (bytes in full), same order */
  GPtrArray *sent_names;
  GPtrArray *received;    /* "name params", as the client read them */
} actor;

static char *summarised(const char *params_json) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *v;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(params_json, strlen(params_json), &arena, &v, &err), 0);
  chat_buffer b;
  chat_buffer_init(&b);
  cr_assert_eq(chat_value_write_json(v, CHAT_JSON_BYTES_SUMMARY, &b), 0);
  char *s = g_strndup((const char *)b.data, b.len);
  chat_buffer_clear(&b);
  chat_arena_clear(&arena);
  return s;
}

static void act_init(actor *a, guint16 port, chat_dialect dialect) {
  a->client = client_connect(port, dialect);
  a->sent = g_ptr_array_new_with_free_func(g_free);
  a->sent_json = g_ptr_array_new_with_free_func(g_free);
  a->sent_names = g_ptr_array_new_with_free_func(g_free);
  a->received = g_ptr_array_new_with_free_func(g_free);
}

static void act_clear(actor *a) {
  if (a->client)
    client_free(a->client);
  a->client = NULL;
  g_clear_pointer(&a->sent, g_ptr_array_unref);
  g_clear_pointer(&a->sent_json, g_ptr_array_unref);
  g_clear_pointer(&a->sent_names, g_ptr_array_unref);
  g_clear_pointer(&a->received, g_ptr_array_unref);
}

static void act_send(actor *a, const char *name, const char *params_json) {
  client_send(a->client, name, params_json);
  g_autofree char *s = summarised(params_json);
  g_ptr_array_add(a->sent, g_strdup_printf("%s %s", name, s));
  g_ptr_array_add(a->sent_json, g_strdup(params_json));
  g_ptr_array_add(a->sent_names, g_strdup(name));
}

/* Reads messages (keeping each) until one named `name`; its params. */
static char *act_until(actor *a, const char *name) {
  for (;;) {
    char *next = client_next(a->client, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "waiting for %s: nothing came", name);
    g_ptr_array_add(a->received, next);
    size_t n = strlen(name);
    if (strncmp(next, name, n) == 0 && next[n] == ' ')
      return g_strdup(next + n + 1);
  }
}

static void act_drain(actor *a) {
  char *next;
  while ((next = client_next(a->client, QUIET_MS)) != NULL)
    g_ptr_array_add(a->received, next);
}

static gint64 json_id(const char *params) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *doc;
  chat_error err;
  cr_assert_eq(chat_json_parse(params, strlen(params), &arena, &doc, &err), 0, "%s", params);
  gint64 id = 0;
  if (doc->kind == CHAT_JSON_NUMBER)
    cr_assert(chat_json_get_i64(doc, &id));
  else
    cr_assert(chat_json_get_i64(chat_json_object_get(doc, "id"), &id), "%s", params);
  chat_arena_clear(&arena);
  return id;
}

static guint8 *image_bytes(void) {
  guint8 *img = g_malloc(IMAGE_BYTES);
  for (guint i = 0; i < IMAGE_BYTES; i++)
    img[i] = (guint8)(i % IMAGE_PATTERN);
  return img;
}

static void login(actor *a, const char *user, chat_dialect dialect, gint64 *id) {
  g_autofree char *reg = g_strdup_printf("[\"%s\", \"pw-%s\", \"%c%s\"]", user, user,
                                         g_ascii_toupper(user[0]), user + 1);
  act_send(a, "register", reg);
  g_autofree char *idtext = act_until(a, "register_successful");
  *id = json_id(idtext);
  g_autofree char *creds = g_strdup_printf("[\"%s\", \"pw-%s\"]", user, user);
  act_send(a, "login", creds);
  g_free(act_until(a, "login_successful"));
  g_free(act_until(a, dialect == CHAT_DIALECT_V2 ? "session_bundle" : "login_bundle"));
}

/* Register, login, friends, a text, an image, a room and a room message;
 * alice connects first (connection #1), bob second (#2). */
static void run_session(guint16 port, chat_dialect da, chat_dialect db, actor *alice,
                        actor *bob) {
  gint64 alice_id, bob_id;
  act_init(alice, port, da);
  login(alice, "alice", da, &alice_id);
  act_init(bob, port, db);
  login(bob, "bob", db, &bob_id);

  act_send(alice, "add_friend", "\"bob\"");
  g_free(act_until(alice, "add_friend_result"));
  g_free(act_until(bob, "incoming_friend_request"));
  g_autofree char *resolve = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", alice_id);
  act_send(bob, "resolve_friend_request", resolve);
  g_free(act_until(bob, "contact_info"));
  g_free(act_until(alice, "contact_info"));

  g_autofree char *text = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"hello bob, \\u4f60\\u597d\", \"fontsize\": 12, \"fontcolor\": \"#ff0000\"}}",
      bob_id);
  act_send(alice, "send_message", text);
  g_free(act_until(alice, "on_new_message"));
  g_free(act_until(bob, "on_new_message"));

  g_autofree guint8 *img = image_bytes();
  g_autofree char *b64 = g_base64_encode(img, IMAGE_BYTES);
  g_autofree char *image = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 1, "
      "\"data\": {\"$bytes\": \"%s\"}}}",
      bob_id, b64);
  act_send(alice, "send_message", image);
  g_free(act_until(alice, "on_new_message"));
  g_free(act_until(bob, "on_new_message"));

  act_send(alice, "create_room", "\"lobby\"");
  g_autofree char *room = act_until(alice, "contact_info");
  gint64 room_id = json_id(room);
  g_free(act_until(alice, "general_msg"));
  g_autofree char *join = g_strdup_printf("%" G_GINT64_FORMAT, room_id);
  act_send(bob, "join_room", join);
  g_free(act_until(bob, "contact_info"));
  g_autofree char *hi = g_strdup_printf(
      "{\"target_type\": 1, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"hi room\", \"fontsize\": 14, \"fontcolor\": \"#00ff00\"}}",
      room_id);
  act_send(bob, "send_message", hi);
  g_free(act_until(bob, "on_new_message"));
  g_free(act_until(alice, "on_new_message"));
  act_send(alice, "client_echo", "{\"n\": -5, \"x\": null, \"ok\": true}");
  g_free(act_until(alice, "server_echo"));

  act_drain(alice);
  act_drain(bob);
  client_free(alice->client);
  alice->client = NULL;
  client_free(bob->client);
  bob->client = NULL;
}

/* Records a session through the proxy. */
static GPtrArray *record_session(chat_dialect da, chat_dialect db, actor *alice, actor *bob) {
  proxy = capture_proxy_start(chatd.port);
  run_session(capture_proxy_port(proxy), da, db, alice, bob);
  cr_assert(capture_proxy_wait_idle(proxy, IDLE_TIMEOUT_MS), "connections did not end");
  capture_proxy_stop(proxy);
  return capture_proxy_events(proxy);
}

/* ---- reading dump's output ---------------------------------------------- */

typedef struct {
  GPtrArray *msgs[MAX_CONNS + 1][2];  /* per #N and direction: "name params" */
  char *dialect[MAX_CONNS + 1];
  size_t notes;
} decoded;

static void decoded_clear(decoded *d) {
  for (int c = 0; c <= MAX_CONNS; c++) {
    for (int i = 0; i < 2; i++)
      g_clear_pointer(&d->msgs[c][i], g_ptr_array_unref);
    g_clear_pointer(&d->dialect[c], g_free);
  }
}

/* Text lines: "TIME #N c->s v2 NAME PARAMS" for messages. */
static void parse_text(const char *out, decoded *d) {
  memset(d, 0, sizeof *d);
  for (int c = 0; c <= MAX_CONNS; c++)
    for (int i = 0; i < 2; i++)
      d->msgs[c][i] = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto(GStrv) t = g_strsplit(*l, " ", 6);
    if (g_strv_length(t) < 5 || t[1][0] != '#') {
      continue;
    }
    int dir = strcmp(t[2], "c->s") == 0 ? 0 : strcmp(t[2], "s->c") == 0 ? 1 : -1;
    if (dir < 0 || strcmp(t[4], "--") == 0) {
      d->notes++;
      continue;
    }
    int conn = atoi(t[1] + 1);
    cr_assert(conn >= 1 && conn <= MAX_CONNS, "%s", *l);
    cr_assert_not_null(t[5], "a message line without parameters: %s", *l);
    g_ptr_array_add(d->msgs[conn][dir], g_strdup_printf("%s %s", t[4], t[5]));
    if (!d->dialect[conn])
      d->dialect[conn] = g_strdup(t[3]);
  }
}

static void assert_same_list(GPtrArray *expected, GPtrArray *got, const char *what) {
  for (guint i = 0; i < expected->len && i < got->len; i++)
    cr_assert_str_eq(got->pdata[i], expected->pdata[i], "%s, message %u", what, i);
  cr_assert_eq(got->len, expected->len, "%s: %u messages decoded, %u expected", what, got->len,
               expected->len);
}

static void assert_prefix(GPtrArray *expected, GPtrArray *got, const char *what) {
  cr_assert_geq(got->len, expected->len, "%s: %u messages decoded, at least %u expected", what,
                got->len, expected->len);
  for (guint i = 0; i < expected->len; i++)
    cr_assert_str_eq(got->pdata[i], expected->pdata[i], "%s, message %u", what, i);
}

/* Everything each client sent, in order, and everything it read, in order
 * (the capture may hold a few more at the end). */
static void assert_session_decoded(const char *out, actor *alice, actor *bob, const char *da,
                                   const char *db) {
  decoded d;
  parse_text(out, &d);
  assert_same_list(alice->sent, d.msgs[1][0], "alice c->s");
  assert_prefix(alice->received, d.msgs[1][1], "alice s->c");
  assert_same_list(bob->sent, d.msgs[2][0], "bob c->s");
  assert_prefix(bob->received, d.msgs[2][1], "bob s->c");
  cr_assert_str_eq(d.dialect[1], da);
  cr_assert_str_eq(d.dialect[2], db);
  decoded_clear(&d);
  cr_assert_null(strstr(out, "stream broken"), "%s", out);
  cr_assert_null(strstr(out, "cannot decode"), "%s", out);
  cr_assert_null(strstr(out, "does not decode"), "%s", out);
}

static chat_json *parse_json_line(const char *line, chat_arena *arena) {
  chat_json *doc;
  chat_error err;
  cr_assert_eq(chat_json_parse(line, strlen(line), arena, &doc, &err), 0, "%s: %s", err.message,
               line);
  cr_assert_eq(doc->kind, CHAT_JSON_OBJECT, "%s", line);
  return doc;
}

static const char *json_str(const chat_json *obj, const char *key) {
  const chat_json *v = chat_json_object_get(obj, key);
  return v && v->kind == CHAT_JSON_STRING ? v->as.string.data : NULL;
}

/* --json --with-data: every line is an object; every message has its
 * members, and the params of each message a client sent are exactly the
 * value it sent (the image's bytes included). */
static void assert_json_session(const char *out, actor *alice, actor *bob) {
  actor *actors[2] = {alice, bob};
  guint seen[2] = {0, 0};
  GPtrArray *conns = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  GRegex *time_re = g_regex_new("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$", 0, 0,
                                NULL);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    chat_arena arena;
    chat_arena_init(&arena);
    chat_json *doc = parse_json_line(*l, &arena);
    const char *connection = json_str(doc, "connection");
    if (connection != NULL) {
      cr_assert(g_regex_match(time_re, json_str(doc, "time"), 0, NULL), "%s", *l);
      cr_assert(g_str_has_suffix(connection, " -> 127.0.0.1:8111"), "%s", *l);
      guint k;
      for (k = 0; k < conns->len && strcmp(conns->pdata[k], connection) != 0; k++)
        ;
      if (k == conns->len)
        g_ptr_array_add(conns, g_strdup(connection));
      if (chat_json_object_get(doc, "type") != NULL) {
        cr_assert_not_null(json_str(doc, "name"), "%s", *l);
        cr_assert_not_null(json_str(doc, "dialect"), "%s", *l);
        cr_assert_null(chat_json_object_get(doc, "problem"), "%s", *l);
        const char *dir = json_str(doc, "direction");
        cr_assert(dir && (!strcmp(dir, "c->s") || !strcmp(dir, "s->c")), "%s", *l);
        if (!strcmp(dir, "c->s") && k < 2) {
          actor *a = actors[k];
          cr_assert_lt(seen[k], a->sent_json->len, "more c->s messages than sent: %s", *l);
          cr_assert_str_eq(json_str(doc, "name"), a->sent_names->pdata[seen[k]]);
          chat_value *got, *want;
          chat_error err;
          cr_assert_eq(chat_json_to_value(chat_json_object_get(doc, "params"), &arena, &got,
                                          &err),
                       0, "%s", err.message);
          const char *sent = a->sent_json->pdata[seen[k]];
          cr_assert_eq(chat_value_parse_json(sent, strlen(sent), &arena, &want, &err), 0);
          cr_assert(chat_value_equal(got, want), "params differ: %.200s", *l);
          seen[k]++;
        }
      } else {
        cr_assert_not_null(json_str(doc, "event"), "%s", *l);
        cr_assert_not_null(json_str(doc, "note"), "%s", *l);
      }
    } else {
      cr_assert_not_null(json_str(doc, "event"), "%s", *l);
    }
    chat_arena_clear(&arena);
  }
  cr_assert_eq(seen[0], alice->sent->len);
  cr_assert_eq(seen[1], bob->sent->len);
  g_regex_unref(time_re);
  g_ptr_array_unref(conns);
}

static char *write_capture(GPtrArray *events, const capture_write_options *o, const char *name) {
  char *path = path_in_work_dir(name);
  capture_write(events, o, path);
  return path;
}

/* ---- a session in each dialect ------------------------------------------ */

static void check_full_session(chat_dialect da, chat_dialect db) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(da, db, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  const char *na = chat_dialect_name(da), *nb = chat_dialect_name(db);

  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, na, nb);
  cr_assert(strstr(r.out, "\"$bytes_len\": 150000") != NULL, "the image is summarised");
  cr_assert(strstr(r.out, "login [\"alice\", \"pw-alice\"]") != NULL, "passwords are shown");
  cr_assert(strstr(r.out, "\"data\": \"hello bob, 你好\"") != NULL);
  cr_assert(strstr(r.out, "2 chat connections") != NULL, "%s", r.out);
  program_result_clear(&r);

  /* --json, with the data: each line parses, params exactly as sent. */
  DUMP(&r, "--json", "--with-data", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_json_session(r.out, &alice, &bob);
  program_result_clear(&r);

  /* --json alone: still one object per line. */
  DUMP(&r, "--keylog", keylog_path, "--json", cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    chat_arena arena;
    chat_arena_init(&arena);
    parse_json_line(*l, &arena);
    chat_arena_clear(&arena);
  }
  program_result_clear(&r);

  /* $CHAT_KEYLOGFILE instead of --keylog; the capture on standard input. */
  gsize len;
  g_autofree char *bytes = NULL;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  const char *argv[] = {CHATCTL_PATH, "dump", "-", NULL};
  g_autofree char *env_kv = g_strdup_printf("%s=%s", CHAT_KEYLOG_ENV, keylog_path);
  const char *env[] = {env_kv, NULL};
  run_program(argv, bytes, len, env, &r);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, na, nb);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_session_decoded_in_order, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_V2, CHAT_DIALECT_V2);
}

Test(dump, seed_session_decoded_in_order, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_SEED, CHAT_DIALECT_SEED);
}

Test(dump, mixed_dialects_in_one_capture, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_V2, CHAT_DIALECT_SEED);
}

/* The same traffic through every link type, IPv6, pcapng, and a capture
 * with reordered, repeated and overlapping segments decodes the same. */
static void check_variants(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  const char *name = chat_dialect_name(dialect);
  const struct {
    const char *file;
    capture_write_options o;
  } variants[] = {
    {"ethernet.pcap", {.linktype = DLT_EN10MB}},
    {"sll.pcap", {.linktype = DLT_LINUX_SLL}},
    {"sll2.pcap", {.linktype = DLT_LINUX_SLL2}},
    {"null.pcap", {.linktype = DLT_NULL}},
    {"raw6.pcap", {.linktype = DLT_RAW, .ipv6 = true}},
    {"ethernet6.pcapng", {.linktype = DLT_EN10MB, .ipv6 = true, .pcapng = true}},
    {"sll2.pcapng", {.linktype = DLT_LINUX_SLL2, .pcapng = true}},
    {"disorder.pcap", {.linktype = DLT_EN10MB, .mss = 700, .disorder = true}},
    {"disorder6.pcapng", {.linktype = DLT_RAW, .ipv6 = true, .pcapng = true, .mss = 1460,
                          .disorder = true}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
    g_autofree char *cap = write_capture(events, &variants[i].o, variants[i].file);
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s: %s", variants[i].file, r.err);
    decoded d;
    parse_text(r.out, &d);
    cr_assert_gt(d.msgs[1][0]->len, 0, "%s: nothing decoded:\n%s", variants[i].file, r.out);
    assert_same_list(alice.sent, d.msgs[1][0], variants[i].file);
    assert_prefix(alice.received, d.msgs[1][1], variants[i].file);
    assert_same_list(bob.sent, d.msgs[2][0], variants[i].file);
    assert_prefix(bob.received, d.msgs[2][1], variants[i].file);
    cr_assert_str_eq(d.dialect[1], name);
    decoded_clear(&d);
    cr_assert_null(strstr(r.out, "stream broken"), "%s:\n%s", variants[i].file, r.out);
    if (variants[i].o.ipv6)
      cr_assert(strstr(r.out, "[::1]:8111") != NULL, "%s", variants[i].file);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_link_types_and_disorder, .init = setup, .fini = teardown, .timeout = 120) {
  check_variants(CHAT_DIALECT_V2);
}

Test(dump, seed_link_types_and_disorder, .init = setup, .fini = teardown, .timeout = 120) {
  check_variants(CHAT_DIALECT_SEED);
}

/* ---- without keys ------------------------------------------------------- */

/* The ids of one label in the key log. */
static GPtrArray *keylog_ids(const char *label) {
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(keylog_path, &text, NULL, NULL));
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto(GStrv) f = g_strsplit(*l, " ", 3);
    if (g_strv_length(f) == 3 && strcmp(f[0], label) == 0)
      g_ptr_array_add(ids, g_strdup(f[1]));
  }
  return ids;
}

static void check_without_keys(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  g_autofree char *empty = path_in_work_dir("empty.log");
  cr_assert(g_file_set_contents(empty, "# no keys here\n", -1, NULL));
  for (int run = 0; run < 2; run++) {
    program_result r;
    if (run == 0)
      DUMP(&r, cap);
    else
      DUMP(&r, "--keylog", empty, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    decoded d;
    parse_text(r.out, &d);
    for (int c = 1; c <= 2; c++)
      for (int dir = 0; dir < 2; dir++)
        cr_assert_eq(d.msgs[c][dir]->len, 0, "decoded without a key?\n%s", r.out);
    decoded_clear(&d);
    /* The note names the session id the key log would need. */
    g_autoptr(GPtrArray) ids =
        keylog_ids(dialect == CHAT_DIALECT_V2 ? CHAT_KEYLOG_LABEL_V2_C2S : CHAT_KEYLOG_LABEL_SEED);
    cr_assert_eq(ids->len, 2);
    for (guint i = 0; i < ids->len; i++) {
      g_autofree char *note =
          g_strdup_printf("no key found in the key log for session id %s", (char *)ids->pdata[i]);
      cr_assert(strstr(r.out, note) != NULL, "missing: %s\n%s", note, r.out);
    }
    if (dialect == CHAT_DIALECT_V2) {
      cr_assert(strstr(r.out, "c->s v2 -- preamble: version 2, suite 1") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "c->s v2 -- handshake message 1: 32 bytes") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c v2 -- handshake message 2: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "c->s v2 -- record: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c v2 -- record: ") != NULL, "%s", r.out);
    } else {
      cr_assert(strstr(r.out, "c->s seed -- client DH value: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c seed -- server DH value: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "c->s seed -- frame: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c seed -- frame: ") != NULL, "%s", r.out);
    }
    cr_assert(strstr(r.out, "2 sessions without keys") != NULL, "%s", r.out);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_without_keys_shows_sizes, .init = setup, .fini = teardown, .timeout = 120) {
  check_without_keys(CHAT_DIALECT_V2);
}

Test(dump, seed_without_keys_shows_sizes, .init = setup, .fini = teardown, .timeout = 120) {
  check_without_keys(CHAT_DIALECT_SEED);
}

/* ---- damage ------------------------------------------------------------- */

static void check_lost_segment(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  gsize n = capture_count_data_packets(events, 0, 0, 1);
  cr_assert_gt(n, 4);
  capture_write_options o = {.drop_set = true, .drop_conn = 0, .drop_dir = 1,
                             .drop_index = (int)(n / 2)};
  g_autofree char *cap = write_capture(events, &o, "lost.pcap");
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "#1 s->c") && strstr(r.out, "-- stream broken at byte "),
            "%s", r.out);
  cr_assert(g_regex_match_simple("#1 s->c \\S+ -- stream broken at byte \\d+: \\d+ bytes missing",
                                 r.out, 0, 0),
            "%s", r.out);
  decoded d;
  parse_text(r.out, &d);
  /* What came before the hole is decoded; nothing after it in that
   * direction; the other direction and the other connection are whole. */
  cr_assert_gt(d.msgs[1][1]->len, 2, "%s", r.out);
  cr_assert_lt(d.msgs[1][1]->len, alice.received->len, "%s", r.out);
  GPtrArray *before = g_ptr_array_new();
  for (guint i = 0; i < d.msgs[1][1]->len; i++)
    g_ptr_array_add(before, alice.received->pdata[i]);
  assert_same_list(before, d.msgs[1][1], "alice s->c before the hole");
  g_ptr_array_unref(before);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  assert_prefix(bob.received, d.msgs[2][1], "bob s->c");
  decoded_clear(&d);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_lost_segment_breaks_one_direction, .init = setup, .fini = teardown,
     .timeout = 120) {
  check_lost_segment(CHAT_DIALECT_V2);
}

Test(dump, seed_lost_segment_breaks_one_direction, .init = setup, .fini = teardown,
     .timeout = 120) {
  check_lost_segment(CHAT_DIALECT_SEED);
}

/* Seed: the server's DH value lost, or the client's first frame lost. The
 * other direction is still decoded: the break itself tells where the other
 * side's first flight ended. */
Test(dump, seed_lost_first_flights, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_SEED, CHAT_DIALECT_SEED, &alice, &bob);
  for (int dir = 0; dir < 2; dir++) {
    /* s->c packet 0 is the server's DH value; c->s packet 1 the first frame. */
    capture_write_options o = {.drop_set = true, .drop_conn = 0, .drop_dir = dir,
                               .drop_index = dir == 1 ? 0 : 1};
    g_autofree char *cap = write_capture(events, &o, "lost-first.pcap");
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    decoded d;
    parse_text(r.out, &d);
    if (dir == 1) {
      cr_assert(strstr(r.out, "#1 s->c seed -- stream broken at byte 0: 256 bytes missing") !=
                    NULL,
                "%s", r.out);
      assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
      cr_assert_eq(d.msgs[1][1]->len, 0);
    } else {
      cr_assert(strstr(r.out, "#1 c->s seed -- stream broken at byte 256: ") != NULL, "%s",
                r.out);
      cr_assert_eq(d.msgs[1][0]->len, 0);
      assert_prefix(alice.received, d.msgs[1][1], "alice s->c");
    }
    assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
    decoded_clear(&d);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

/* The offset in a pcap file of a point in the middle of the packet that
 * covers `at`. */
static gsize middle_of_packet(const guint8 *file, gsize len, gsize at) {
  gsize off = 24;
  while (off + 16 <= len) {
    guint32 caplen;
    memcpy(&caplen, file + off + 8, 4);
    gsize end = off + 16 + caplen;
    if (end > at && caplen > 2)
      return off + 16 + caplen / 2;
    off = end;
  }
  cr_assert_fail("no packet at %zu", at);
  return 0;
}

static void check_truncated_file(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "whole.pcap");
  g_autofree char *bytes = NULL;
  gsize len;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  gsize cut = middle_of_packet((const guint8 *)bytes, len, len * 3 / 5);
  g_autofree char *cut_path = path_in_work_dir("cut.pcap");
  cr_assert(g_file_set_contents(cut_path, bytes, (gssize)cut, NULL));
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cut_path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(g_regex_match_simple("-- the capture file cannot be read past packet \\d+ "
                                 "\\(truncated dump file",
                                 r.out, 0, 0),
            "%s", r.out);
  cr_assert(strstr(r.err, "truncated") != NULL, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  cr_assert_geq(d.msgs[1][0]->len, 3, "%s", r.out);
  GPtrArray *got = d.msgs[1][0];
  cr_assert_leq(got->len, alice.sent->len);
  for (guint i = 0; i < got->len; i++)
    cr_assert_str_eq(got->pdata[i], alice.sent->pdata[i]);
  decoded_clear(&d);
  program_result_clear(&r);

  /* Cut inside the file header: not a capture at all. */
  g_autofree char *stub = path_in_work_dir("stub.pcap");
  cr_assert(g_file_set_contents(stub, bytes, 10, NULL));
  DUMP(&r, stub);
  cr_assert_eq(r.status, 2, "%s", r.out);
  cr_assert(strstr(r.err, "cannot read the capture") != NULL, "%s", r.err);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_truncated_file, .init = setup, .fini = teardown, .timeout = 120) {
  check_truncated_file(CHAT_DIALECT_V2);
}

Test(dump, seed_truncated_file, .init = setup, .fini = teardown, .timeout = 120) {
  check_truncated_file(CHAT_DIALECT_SEED);
}

/* Random bytes changed all over a real capture: never a crash. */
Test(dump, corrupted_captures_never_crash, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_V2, CHAT_DIALECT_SEED, &alice, &bob);
  capture_write_options o = {.mss = 1000};
  g_autofree char *cap = write_capture(events, &o, "whole.pcap");
  g_autofree char *bytes = NULL;
  gsize len;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  g_autofree char *bad = path_in_work_dir("bad.pcap");
  GRand *rand = g_rand_new_with_seed(20240501);
  /* One assertion at the end: the failures are collected. */
  GString *failures = g_string_new(NULL);
  for (int round = 0; round < 12; round++) {
    g_autofree char *copy = g_memdup2(bytes, len);
    int flips = round < 6 ? 8 : 200;
    for (int k = 0; k < flips; k++) {
      /* Past the file header; the later rounds also hit record headers. */
      gsize at = 24 + (gsize)g_rand_int_range(rand, 0, (gint32)(len - 24));
      copy[at] = (char)g_rand_int_range(rand, 0, 256);
    }
    cr_assert(g_file_set_contents(bad, copy, (gssize)len, NULL));
    program_result r;
    DUMP(&r, "--keylog", keylog_path, bad);
    if (r.status != 0 || strstr(r.out, "--") == NULL)
      g_string_append_printf(failures, "round %d: status %d: %s\n", round, r.status, r.err);
    program_result_clear(&r);
    DUMP(&r, "--json", bad);
    if (r.status != 0)
      g_string_append_printf(failures, "round %d --json: status %d: %s\n", round, r.status,
                             r.err);
    program_result_clear(&r);
  }
  g_rand_free(rand);
  cr_assert_eq(failures->len, 0, "%s", failures->str);
  g_string_free(failures, TRUE);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- other traffic ------------------------------------------------------ */

static GPtrArray *made_up_traffic(const char *client, gsize client_len, const char *server,
                                  gsize server_len) {
  GPtrArray *ev = g_ptr_array_new();
  gint64 t = 1714564800000000;  /* 2024-05-01T12:00:00Z */
  capture_events_add(ev, REC_OPEN, t, 0, 0, 40000, NULL, 0);
  capture_events_add(ev, REC_DATA, t + 1000, 0, 0, 40000, client, client_len);
  capture_events_add(ev, REC_DATA, t + 2000, 0, 1, 40000, server, server_len);
  capture_events_add(ev, REC_DATA, t + 3000, 0, 0, 40000, client, client_len);
  capture_events_add(ev, REC_FIN, t + 4000, 0, 0, 40000, NULL, 0);
  capture_events_add(ev, REC_FIN, t + 5000, 0, 1, 40000, NULL, 0);
  return ev;
}

static void free_made_up(GPtrArray *ev) {
  for (guint i = 0; i < ev->len; i++) {
    rec_event *e = ev->pdata[i];
    if (e->data)
      g_bytes_unref(e->data);
    g_free(e);
  }
  g_ptr_array_unref(ev);
}

Test(dump, http_on_the_chat_port_is_not_chat, .init = setup, .fini = teardown) {
  static const char get[] = "GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n";
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
  GPtrArray *ev = made_up_traffic(get, sizeof get - 1, ok, sizeof ok - 1);
  capture_write_options o = {.linktype = DLT_EN10MB};
  g_autofree char *cap = write_capture(ev, &o, "http.pcap");
  program_result r;
  DUMP(&r, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "2024-05-01T12:00:00.000Z #1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: "
                          "new connection") != NULL,
            "%s", r.out);
  cr_assert(strstr(r.out, "not a chat connection: the client's first bytes are text (\"GET "
                          "/index.html HTTP/1.1\")") != NULL,
            "%s", r.out);
  cr_assert(strstr(r.out, "-- no chat connections found") != NULL, "%s", r.out);
  program_result_clear(&r);
  DUMP(&r, "--json", cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "\"event\": \"no_chat_connections\"") != NULL, "%s", r.out);
  program_result_clear(&r);

  /* The same on another port: not even looked at. */
  o.server_port = 8080;
  g_autofree char *other = write_capture(ev, &o, "http8080.pcap");
  DUMP(&r, other);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_null(strstr(r.out, "#1"), "%s", r.out);
  cr_assert(strstr(r.out, "-- no chat connections found (port 8111") != NULL, "%s", r.out);
  program_result_clear(&r);
  free_made_up(ev);
}

Test(dump, binary_garbage_on_the_chat_port, .init = setup, .fini = teardown) {
  char client[300], server[200];
  GRand *rand = g_rand_new_with_seed(7);
  for (size_t i = 0; i < sizeof client; i++)
    client[i] = (char)g_rand_int_range(rand, 0, 256);
  for (size_t i = 0; i < sizeof server; i++)
    server[i] = (char)g_rand_int_range(rand, 0, 256);
  g_rand_free(rand);
  for (int first = 0; first < 2; first++) {
    client[0] = first ? 0x00 : 0x42;  /* v2-looking, then seed-looking */
    GPtrArray *ev = made_up_traffic(client, sizeof client, server, sizeof server);
    capture_write_options o = {0};
    g_autofree char *cap = write_capture(ev, &o, "garbage.pcap");
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "#1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection") != NULL,
              "%s", r.out);
    if (first)  /* 0x00 and then not "CHAT" */
      cr_assert(strstr(r.out, "not a chat connection") != NULL, "%s", r.out);
    else        /* a "DH value", then frames that make no sense */
      cr_assert(strstr(r.out, "cannot decode further") != NULL, "%s", r.out);
    program_result_clear(&r);
    free_made_up(ev);
  }
}

/* A v2 connection on another port is found by its preamble, unless --port
 * says where to look. */
Test(dump, v2_found_on_another_port, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_V2, CHAT_DIALECT_V2, &alice, &bob);
  capture_write_options o = {.server_port = 9999};
  g_autofree char *cap = write_capture(events, &o, "9999.pcap");
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  decoded_clear(&d);
  program_result_clear(&r);
  DUMP(&r, "--port", "9999", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  parse_text(r.out, &d);
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  decoded_clear(&d);
  program_result_clear(&r);
  DUMP(&r, "--port", "1234", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "no chat connections found (port 1234;") != NULL, "%s", r.out);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- TCP edge cases, on made-up v2 bytes (no key: records by size) ------ */

#define FAKE_RECORD_BODY 100u
#define FAKE_MSS 64u

/* A v2 client's bytes: preamble, handshake message 1, n records; or a
 * server's: handshake message 2, n records. */
static GByteArray *fake_v2(bool client, int records) {
  GByteArray *b = g_byte_array_new();
  if (client) {
    static const guint8 preamble[] = {0x00, 'C', 'H', 'A', 'T', 0x02, 0x01, 0x00};
    g_byte_array_append(b, preamble, sizeof preamble);
    guint8 hs1[2 + 32] = {0x00, 0x20};
    memset(hs1 + 2, 0x11, 32);
    g_byte_array_append(b, hs1, sizeof hs1);
  } else {
    guint8 hs2[2 + 96] = {0x00, 0x60};
    memset(hs2 + 2, 0x22, 96);
    g_byte_array_append(b, hs2, sizeof hs2);
  }
  for (int i = 0; i < records; i++) {
    guint8 rec[2 + FAKE_RECORD_BODY] = {0x00, FAKE_RECORD_BODY};
    memset(rec + 2, 0x30 + i, FAKE_RECORD_BODY);
    g_byte_array_append(b, rec, sizeof rec);
  }
  return b;
}

typedef enum { END_FIN, END_RST, END_NONE } fake_end;

/* One made-up connection: handshake, then 5 client and 3 server records. */
static void fake_connection(GPtrArray *ev, gint64 t, guint conn, guint16 port, bool syn,
                            bool server_after, fake_end end) {
  g_autoptr(GByteArray) c = fake_v2(true, 5), s = fake_v2(false, 3);
  gsize hello = 8 + 2 + 32;
  if (syn)
    capture_events_add(ev, REC_OPEN, t, conn, 0, port, NULL, 0);
  capture_events_add(ev, REC_DATA, t + 1, conn, 0, port, c->data, hello);
  capture_events_add(ev, REC_DATA, t + 2, conn, 1, port, s->data, 98);
  capture_events_add(ev, REC_DATA, t + 3, conn, 0, port, c->data + hello, c->len - hello);
  if (server_after)
    capture_events_add(ev, REC_DATA, t + 4, conn, 1, port, s->data + 98, s->len - 98);
  if (end == END_FIN) {
    capture_events_add(ev, REC_FIN, t + 5, conn, 0, port, NULL, 0);
    capture_events_add(ev, REC_FIN, t + 6, conn, 1, port, NULL, 0);
  } else if (end == END_RST) {
    capture_events_add(ev, REC_RST, t + 5, conn, 0, port, NULL, 0);
  }
}

static char *dump_fake(GPtrArray *ev, const capture_write_options *o) {
  g_autofree char *cap = write_capture(ev, o, "fake.pcap");
  program_result r;
  DUMP(&r, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char *out = g_strdup(r.out);
  program_result_clear(&r);
  return out;
}

static guint count_of(const char *haystack, const char *needle) {
  guint n = 0;
  for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

Test(dump, tcp_gaps_resets_and_reused_ports, .init = setup, .fini = teardown) {
  gint64 t = 1714564800000000;
  /* Whole: every record, then FIN both ways. */
  GPtrArray *ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, true, END_FIN);
  capture_write_options o = {.mss = FAKE_MSS};
  g_autofree char *whole = dump_fake(ev, &o);
  cr_assert_eq(count_of(whole, "#1 c->s v2 -- record: 100 bytes (encrypted)"), 5, "%s", whole);
  cr_assert_eq(count_of(whole, "#1 s->c v2 -- record: 100 bytes (encrypted)"), 3, "%s", whole);
  cr_assert(strstr(whole, "c->s v2 -- end of stream (FIN) after 552 bytes") != NULL, "%s", whole);
  cr_assert_null(strstr(whole, "no SYN"), "%s", whole);
  free_made_up(ev);

  /* A client packet lost (bytes 170..233), and the server's later packets
   * acknowledge it: the break is known at once. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, true, END_FIN);
  o.drop_set = true;
  o.drop_conn = 0;
  o.drop_dir = 0;
  o.drop_index = 3;
  g_autofree char *acked = dump_fake(ev, &o);
  cr_assert(strstr(acked, "#1 c->s v2 -- stream broken at byte 170: 64 bytes missing (the peer "
                          "acknowledged bytes the capture does not have)") != NULL,
            "%s", acked);
  cr_assert_eq(count_of(acked, "#1 c->s v2 -- record: 100 bytes"), 1, "%s", acked);
  cr_assert_eq(count_of(acked, "#1 s->c v2 -- record: 100 bytes"), 3, "%s", acked);
  cr_assert(strstr(acked, "1 broken stream") != NULL, "%s", acked);
  free_made_up(ev);

  /* The same loss, nobody acknowledges, then a reset. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, false, END_RST);
  g_autofree char *reset = dump_fake(ev, &o);
  cr_assert(strstr(reset, "stream broken at byte 170: 64 bytes missing (the connection ended "
                          "with the bytes still missing)") != NULL,
            "%s", reset);
  cr_assert(strstr(reset, "#1 c->s v2 -- end of stream (reset)") != NULL, "%s", reset);
  free_made_up(ev);

  /* The same loss, and the capture stops. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, false, END_NONE);
  g_autofree char *cut = dump_fake(ev, &o);
  cr_assert(strstr(cut, "stream broken at byte 170: 64 bytes missing (the capture ended before "
                        "the missing bytes)") != NULL,
            "%s", cut);
  cr_assert(strstr(cut, "#1 c->s v2 -- end of stream (the capture ends)") != NULL, "%s", cut);
  free_made_up(ev);

  /* No SYN (the capture started late), and the client port used again by a
   * second connection after the first ended. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, false, true, END_FIN);
  fake_connection(ev, t + 100, 1, 40000, true, true, END_FIN);
  o.drop_set = false;
  g_autofree char *two = dump_fake(ev, &o);
  cr_assert(strstr(two, "#1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection (no SYN "
                        "captured") != NULL,
            "%s", two);
  cr_assert(strstr(two, "#2 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection\n") != NULL,
            "%s", two);
  for (int k = 1; k <= 2; k++) {
    g_autofree char *c2s = g_strdup_printf("#%d c->s v2 -- record: 100 bytes", k);
    g_autofree char *s2c = g_strdup_printf("#%d s->c v2 -- record: 100 bytes", k);
    cr_assert_eq(count_of(two, c2s), 5, "%s", two);
    cr_assert_eq(count_of(two, s2c), 3, "%s", two);
  }
  cr_assert(strstr(two, "2 chat connections (v2: 2, seed: 0)") != NULL, "%s", two);
  free_made_up(ev);
}

/* ---- unreadable input and usage ------------------------------------------ */

Test(dump, unreadable_files_and_usage_errors, .init = setup, .fini = teardown) {
  g_autofree char *garbage = path_in_work_dir("garbage.pcap");
  cr_assert(g_file_set_contents(garbage, "this is not a capture file at all\n", -1, NULL));
  g_autofree char *empty = path_in_work_dir("empty.pcap");
  cr_assert(g_file_set_contents(empty, "", 0, NULL));
  g_autofree char *missing = path_in_work_dir("missing.pcap");
  const char *files[] = {garbage, empty, missing, work_dir};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    program_result r;
    DUMP(&r, files[i]);
    cr_assert_eq(r.status, 2, "%s: %s", files[i], r.out);
    cr_assert(g_str_has_prefix(r.err, "chatctl: cannot read the capture "), "%s", r.err);
    cr_assert(is_one_line(r.err), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    program_result_clear(&r);
  }
  /* A good capture, with bad options. */
  GPtrArray *ev = made_up_traffic("x", 1, "y", 1);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(ev, &o, "small.pcap");
  free_made_up(ev);
  const char *const bad[][4] = {
    {NULL},
    {"--keylog", missing, cap, NULL},
    {"--keylog", NULL},
    {"--port", "0", cap, NULL},
    {"--port", "70000", cap, NULL},
    {"--port", "http", cap, NULL},
    {"--frobnicate", cap, NULL},
    {cap, cap, NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    program_result r;
    dump(&r, bad[i]);
    cr_assert_eq(r.status, 2, "case %zu: %s", i, r.out);
    cr_assert(is_one_line(r.err), "case %zu: %s", i, r.err);
    program_result_clear(&r);
  }
  /* --help lists every option and an example, and warns about passwords. */
  const char *argv[] = {CHATCTL_PATH, "dump", "--help", NULL};
  program_result r;
  run_program(argv, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 0);
  const char *words[] = {"--keylog", "--port", "--json", "--with-data", "Example:", "password"};
  for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
    cr_assert(strstr(r.out, words[i]) != NULL, "help lacks %s", words[i]);
  program_result_clear(&r);
}

/* A key log with bad lines: they are skipped with a warning. */
Test(dump, bad_key_log_lines_are_skipped, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_SEED, CHAT_DIALECT_V2, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  g_autofree char *keys = NULL;
  cr_assert(g_file_get_contents(keylog_path, &keys, NULL, NULL));
  g_autofree char *messy = g_strdup_printf("CHAT_SEED_KEY zz 00\n# comment\nFUTURE_LABEL a b\n"
                                           "%s"
                                           "CHAT_V2_C2S_KEY 0011\r\n",
                                           keys);
  g_autofree char *path = path_in_work_dir("messy.log");
  cr_assert(g_file_set_contents(path, messy, -1, NULL));
  program_result r;
  DUMP(&r, "--keylog", path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.err, "line 1 skipped") != NULL, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, "seed", "v2");
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- tcpdump ------------------------------------------------------------ */

static gboolean tcpdump_works(void) {
  const char *argv[] = {"tcpdump", "--version", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv(
      argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  return p != NULL && g_subprocess_wait_check(p, NULL, NULL);
}

typedef struct {
  GString *err;
  GInputStream *stream;
  char buf[1024];
  gboolean done;
} stderr_reader;

static void on_tcpdump_stderr(GObject *src, GAsyncResult *res, gpointer data) {
  stderr_reader *r = data;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, NULL);
  if (n <= 0) {
    r->done = TRUE;
    return;
  }
  g_string_append_len(r->err, r->buf, n);
  g_input_stream_read_async(r->stream, r->buf, sizeof r->buf, G_PRIORITY_DEFAULT, NULL,
                            on_tcpdump_stderr, r);
}

/* tcpdump on lo records a session straight between clients and chatd. */
Test(dump, tcpdump_capture_of_a_real_session, .init = setup, .fini = teardown, .timeout = 120) {
  if (!tcpdump_works())
    cr_skip_test("tcpdump is not installed");
  g_autofree char *cap = path_in_work_dir("tcpdump.pcap");
  g_autofree char *filter = g_strdup_printf("tcp port %u", chatd.port);
  const char *argv[] = {"tcpdump", "-i", "lo", "-U", "-n", "-Z", "root", "-w", cap, filter, NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv(
      argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (p == NULL)
    cr_skip_test("cannot run tcpdump: %s", error->message);
  stderr_reader *reader = g_new0(stderr_reader, 1);
  reader->err = g_string_new(NULL);
  reader->stream = g_subprocess_get_stderr_pipe(p);
  g_input_stream_read_async(reader->stream, reader->buf, sizeof reader->buf, G_PRIORITY_DEFAULT,
                            NULL, on_tcpdump_stderr, reader);
  gint64 end = g_get_monotonic_time() + TCPDUMP_START_MS * 1000;
  while (!strstr(reader->err->str, "listening on") && !reader->done &&
         g_get_monotonic_time() < end)
    harness_spin(20);
  if (!strstr(reader->err->str, "listening on")) {
    g_subprocess_force_exit(p);
    g_subprocess_wait(p, NULL, NULL);
    cr_skip_test("tcpdump cannot capture on lo here: %s", reader->err->str);
  }
  actor alice = {0}, bob = {0};
  run_session(chatd.port, CHAT_DIALECT_V2, CHAT_DIALECT_SEED, &alice, &bob);
  harness_spin(500);
  g_subprocess_send_signal(p, SIGINT);
  g_subprocess_wait(p, NULL, NULL);
  while (!reader->done)
    harness_spin(10);
  g_string_free(reader->err, TRUE);
  g_free(reader);

  g_autofree char *port = g_strdup_printf("%u", chatd.port);
  program_result r;
  DUMP(&r, "--port", port, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  assert_prefix(alice.received, d.msgs[1][1], "alice s->c");
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  assert_prefix(bob.received, d.msgs[2][1], "bob s->c");
  cr_assert_str_eq(d.dialect[1], "v2");
  cr_assert_str_eq(d.dialect[2], "seed");
  decoded_clear(&d);
  cr_assert_null(strstr(r.out, "stream broken"), "%s", r.out);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}
