/* Shared fixture of the test-dump.c tests. */
#include "dump-fixture.h"

chatd_instance chatd;

capture_proxy *proxy;

char *work_dir;

char *keylog_path;

void setup(void) {
  g_unsetenv(CHAT_KEYLOG_ENV);
  work_dir = test_make_tmp_dir("dump-test-XXXXXX");
  keylog_path = g_build_filename(work_dir, "keys.log", NULL);
  chat_error err;
  cr_assert_eq(chat_keylog_open(keylog_path, &harness_client_keylog, &err), 0, "%s", err.message);
  chatd_start(&chatd, TRUE, NULL);
}

void teardown(void) {
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

char *path_in_work_dir(const char *name) {
  return g_build_filename(work_dir, name, NULL);
}

/* ---- running chatctl dump ----------------------------------------------- */

void dump(program_result *r, const char *const *args) {
  const char *argv[16] = {CHATCTL_PATH, "dump"};
  size_t n = 2;
  for (size_t i = 0; args[i] != NULL && n < G_N_ELEMENTS(argv) - 1; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  memset(r, 0, sizeof *r);
  run_program(argv, NULL, 0, NULL, r);
}

char *summarised(const char *params_json) {
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

void act_init(actor *a, guint16 port, chat_dialect dialect) {
  a->client = client_connect(port, dialect);
  a->sent = g_ptr_array_new_with_free_func(g_free);
  a->sent_json = g_ptr_array_new_with_free_func(g_free);
  a->sent_names = g_ptr_array_new_with_free_func(g_free);
  a->received = g_ptr_array_new_with_free_func(g_free);
}

void act_clear(actor *a) {
  if (a->client)
    client_free(a->client);
  a->client = NULL;
  g_clear_pointer(&a->sent, g_ptr_array_unref);
  g_clear_pointer(&a->sent_json, g_ptr_array_unref);
  g_clear_pointer(&a->sent_names, g_ptr_array_unref);
  g_clear_pointer(&a->received, g_ptr_array_unref);
}

void act_send(actor *a, const char *name, const char *params_json) {
  client_send(a->client, name, params_json);
  g_autofree char *s = summarised(params_json);
  g_ptr_array_add(a->sent, g_strdup_printf("%s %s", name, s));
  g_ptr_array_add(a->sent_json, g_strdup(params_json));
  g_ptr_array_add(a->sent_names, g_strdup(name));
}

/* Reads messages (keeping each) until one named `name`; its params. */
char *act_until(actor *a, const char *name) {
  for (;;) {
    char *next = client_next(a->client, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "waiting for %s: nothing came", name);
    g_ptr_array_add(a->received, next);
    size_t n = strlen(name);
    if (strncmp(next, name, n) == 0 && next[n] == ' ')
      return g_strdup(next + n + 1);
  }
}

void act_drain(actor *a) {
  char *next;
  while ((next = client_next(a->client, QUIET_MS)) != NULL)
    g_ptr_array_add(a->received, next);
}

gint64 json_id(const char *params) {
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

guint8 *image_bytes(void) {
  guint8 *img = g_malloc(IMAGE_BYTES);
  for (guint i = 0; i < IMAGE_BYTES; i++)
    img[i] = (guint8)(i % IMAGE_PATTERN);
  return img;
}

void login(actor *a, const char *user, chat_dialect dialect, gint64 *id) {
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
void run_session(guint16 port, chat_dialect da, chat_dialect db, actor *alice, actor *bob) {
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
  g_autofree char *image = g_strdup_printf("{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT
                                           ", \"message\": {\"type\": 1, "
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
GPtrArray *record_session(chat_dialect da, chat_dialect db, actor *alice, actor *bob) {
  proxy = capture_proxy_start(chatd.port);
  run_session(capture_proxy_port(proxy), da, db, alice, bob);
  cr_assert(capture_proxy_wait_idle(proxy, IDLE_TIMEOUT_MS), "connections did not end");
  capture_proxy_stop(proxy);
  return capture_proxy_events(proxy);
}

void decoded_clear(decoded *d) {
  for (int c = 0; c <= MAX_CONNS; c++) {
    for (int i = 0; i < 2; i++)
      g_clear_pointer(&d->msgs[c][i], g_ptr_array_unref);
    g_clear_pointer(&d->dialect[c], g_free);
  }
}

/* Text lines: "TIME #N c->s v2 NAME PARAMS" for messages. */
void parse_text(const char *out, decoded *d) {
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

void assert_same_list(GPtrArray *expected, GPtrArray *got, const char *what) {
  for (guint i = 0; i < expected->len && i < got->len; i++)
    cr_assert_str_eq(got->pdata[i], expected->pdata[i], "%s, message %u", what, i);
  cr_assert_eq(got->len, expected->len, "%s: %u messages decoded, %u expected", what, got->len,
               expected->len);
}

void assert_prefix(GPtrArray *expected, GPtrArray *got, const char *what) {
  cr_assert_geq(got->len, expected->len, "%s: %u messages decoded, at least %u expected", what,
                got->len, expected->len);
  for (guint i = 0; i < expected->len; i++)
    cr_assert_str_eq(got->pdata[i], expected->pdata[i], "%s, message %u", what, i);
}

/* Everything each client sent, in order, and everything it read, in order
 * (the capture may hold a few more at the end). */
void assert_session_decoded(const char *out, actor *alice, actor *bob, const char *da,
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

chat_json *parse_json_line(const char *line, chat_arena *arena) {
  chat_json *doc;
  chat_error err;
  cr_assert_eq(chat_json_parse(line, strlen(line), arena, &doc, &err), 0, "%s: %s", err.message,
               line);
  cr_assert_eq(doc->kind, CHAT_JSON_OBJECT, "%s", line);
  return doc;
}

const char *json_str(const chat_json *obj, const char *key) {
  const chat_json *v = chat_json_object_get(obj, key);
  return v && v->kind == CHAT_JSON_STRING ? v->as.string.data : NULL;
}

/* --json --with-data: every line is an object; every message has its
 * members, and the params of each message a client sent are exactly the
 * value it sent (the image's bytes included). */
void assert_json_session(const char *out, actor *alice, actor *bob) {
  actor *actors[2] = {alice, bob};
  guint seen[2] = {0, 0};
  GPtrArray *conns = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  GRegex *time_re =
      g_regex_new("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$", 0, 0, NULL);
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
          cr_assert_eq(chat_json_to_value(chat_json_object_get(doc, "params"), &arena, &got, &err),
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

char *write_capture(GPtrArray *events, const capture_write_options *o, const char *name) {
  char *path = path_in_work_dir(name);
  capture_write(events, o, path);
  return path;
}
