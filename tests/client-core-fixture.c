/* The client core tests' fixture and helpers (client-core-fixture.h). */
#include "client-core-fixture.h"

fixture fx;

ChatSession *new_session(chat_dialect dialect, const char *host, guint16 port,
                         chat_pin_policy policy) {
  g_autofree char *state = g_build_filename(fx.dir, "state", NULL);
  g_autofree char *known_hosts = g_build_filename(fx.dir, "known_hosts", NULL);
  ChatSessionOptions options = {
      .host = (char *)host,
      .port = port,
      .dialect = dialect,
      .pin_policy = policy,
      .known_hosts_path = known_hosts,
      .state_dir = state,
  };
  return chat_session_new(&options);
}

void setup_dir(void) {
  memset(&fx, 0, sizeof fx);
  g_queue_init(&fx.sent);
  fx.dir = test_make_tmp_dir("client-core-XXXXXX");
}

void setup_offline(chat_dialect dialect) {
  setup_dir();
  fx.dialect = dialect;
  fx.session = new_session(dialect, "chat.example", 7000, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, TRUE);
}

void setup_v2(void) {
  setup_offline(V2);
}
void setup_seed(void) {
  setup_offline(SEED);
}

void teardown(void) {
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  test_remove_tree(fx.dir);
  g_free(fx.dir);
  memset(&fx, 0, sizeof fx);
}

/* ---- talking to the session ---- */

GBytes *encode(chat_dialect dialect, const char *name, const char *params_json) {
  return harness_encode(dialect, name, params_json);
}

/* Feeds one server message given as JSON parameters. */
void feed(const char *name, const char *params_json) {
  g_autoptr(GBytes) bytes = encode(fx.dialect, name, params_json);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  cr_assert(chat_session_test_feed(fx.session, fx.dialect, data, len), "refused %s %s", name,
            params_json);
}

void feed_with_id(const char *name, const char *params_json, guint32 request_id) {
  g_autoptr(GBytes) bytes = harness_encode_with_id(fx.dialect, name, params_json, request_id);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  cr_assert(chat_session_test_feed(fx.session, fx.dialect, data, len), "refused %s %s", name,
            params_json);
}

char *expect_sent_with_id(const char *name, guint32 *request_id) {
  GBytes *message = g_queue_peek_head(&fx.sent);
  cr_assert_not_null(message, "expected the session to send %s; it sent nothing", name);
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  chat_message_header header;
  size_t size;
  chat_error err;
  cr_assert_eq(chat_message_header_read(fx.dialect, data, len, &header, &size, &err), 0, "%s",
               err.message);
  cr_assert(header.has_request_id, "%s went without a request id", name);
  *request_id = header.request_id;
  return expect_sent(name);
}

/* The next message the session sent, as "name params-json", or NULL. */
char *next_sent(void) {
  g_autoptr(GBytes) message = g_queue_pop_head(&fx.sent);
  if (!message)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  return harness_describe(fx.dialect, CHAT_TO_SERVER, data, len, CHAT_JSON_BYTES_SUMMARY);
}

/* The parameters of the next message sent, which must be `name`. */
char *expect_sent(const char *name) {
  char *next = next_sent();
  cr_assert_not_null(next, "expected the session to send %s; it sent nothing", name);
  size_t n = strlen(name);
  cr_assert(strncmp(next, name, n) == 0 && next[n] == ' ', "expected %s, got %s", name, next);
  char *params = g_strdup(next + n + 1);
  g_free(next);
  return params;
}

void expect_nothing_sent(void) {
  g_autofree char *next = next_sent();
  cr_assert_null(next, "the session sent %s", next);
}

/* The value of "client_msg_id" in a JSON text. */
char *client_msg_id_of(const char *json) {
  const char *key = "\"client_msg_id\": \"";
  const char *at = strstr(json, key);
  cr_assert_not_null(at, "no client_msg_id in %s", json);
  at += strlen(key);
  return g_strndup(at, strcspn(at, "\""));
}

/* A @notice in JSON. text is JSON-escaped already; id 0 and
 * client_msg_id NULL leave those keys out. */
char *notice(gint64 id, gint64 sender, const char *sender_name, int target_type, gint64 target_id,
             gint64 time, const char *text, const char *client_msg_id) {
  g_autofree char *id_part = id ? g_strdup_printf(", \"id\": %" G_GINT64_FORMAT, id) : g_strdup("");
  g_autofree char *cmid_part =
      client_msg_id ? g_strdup_printf(", \"client_msg_id\": \"%s\"", client_msg_id) : g_strdup("");
  return g_strdup_printf(
      "{\"message\": {\"type\": 0, \"data\": \"%s\", \"fontsize\": 12, "
      "\"fontcolor\": \"#000000\"}, \"sender_id\": %" G_GINT64_FORMAT
      ", \"sender_name\": \"%s\", \"target_type\": %d, \"time\": %" G_GINT64_FORMAT
      ", \"target_id\": %" G_GINT64_FORMAT "%s%s}",
      text, sender, sender_name, target_type, time, target_id, id_part, cmid_part);
}

void feed_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                 gint64 target_id, gint64 time, const char *text, const char *client_msg_id) {
  g_autofree char *n =
      notice(id, sender, sender_name, target_type, target_id, time, text, client_msg_id);
  feed("on_new_message", n);
}

/* notice_json (a @notice) with the sender's username added, as a v2
 * server sends it. */
char *with_username(const char *notice_json, const char *username) {
  size_t len = strlen(notice_json);
  cr_assert(len > 0 && notice_json[len - 1] == '}', "%s", notice_json);
  return g_strdup_printf("%.*s, \"sender_username\": \"%s\"}", (int)(len - 1), notice_json,
                         username);
}

/* A @notice whose body is an image preview (v2: the image's format and
 * size, no bytes). */
char *preview_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                     gint64 target_id, gint64 time, const char *format, gint64 size) {
  return g_strdup_printf(
      "{\"message\": {\"type\": 1, \"format\": \"%s\", "
      "\"size\": %" G_GINT64_FORMAT "}, \"sender_id\": %" G_GINT64_FORMAT
      ", \"sender_name\": \"%s\", \"target_type\": %d, \"time\": %" G_GINT64_FORMAT
      ", \"target_id\": %" G_GINT64_FORMAT ", \"id\": %" G_GINT64_FORMAT "}",
      format, size, sender, sender_name, target_type, time, target_id, id);
}

/* Feeds alice's session_bundle: FRIENDS, ROOMS, carol's conversation (2
 * unread after 3) ending at last_carol, the room's (1 unread after 5) at
 * last_room. */
void feed_bundle(const char *last_carol, const char *last_room) {
  g_autofree char *bundle = g_strdup_printf(
      "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS ", \"rooms\": " ROOMS
      ", \"conversations\": [{\"target_type\": 0, \"target_id\": 3, \"last\": %s, \"unread\": 2, "
      "\"last_read_id\": 3}, {\"target_type\": 1, \"target_id\": 7, \"last\": %s, \"unread\": 1, "
      "\"last_read_id\": 5}]}",
      last_carol, last_room);
  feed("session_bundle", bundle);
}

void feed_empty_bundle(void) {
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
}

void feed_login_with_an_empty_bundle(void) {
  feed("login_successful", USER_ALICE);
  feed_empty_bundle();
}

void resume_with_an_empty_bundle(void) {
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed_login_with_an_empty_bundle();
}

/* Logs alice in (v2): carol's conversation ends at message 5 (time 2000,
 * 2 unread), the room's at message 6 (time 3000, 1 unread); bob and dave
 * have no messages. */
void login_v2(void) {
  chat_session_login(fx.session, "alice", "secret");
  g_autofree char *login = expect_sent("login");
  cr_assert_str_eq(login, "[\"alice\", \"secret\"]");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_LOGGING_IN);
  feed("login_successful", USER_ALICE);
  g_autofree char *last_carol = notice(5, CAROL, "Carol", 0, ALICE, 2000, "see you", NULL);
  g_autofree char *last_room = notice(6, BOB, "Bob", 1, ROOM, 3000, "hey all", NULL);
  feed_bundle(last_carol, last_room);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);
}

ChatContact *contact(ChatContactKind kind, gint64 id) {
  ChatContact *c = chat_session_find_contact(fx.session, kind, id);
  cr_assert_not_null(c, "no contact %d/%" G_GINT64_FORMAT, kind, id);
  return c;
}

/* The contacts list as "Name,Name,...". */
char *contact_order(void) {
  GListModel *model = chat_session_get_contacts(fx.session);
  g_autoptr(GString) out = g_string_new(NULL);
  for (guint i = 0; i < g_list_model_get_n_items(model); i++) {
    g_autoptr(ChatContact) c = g_list_model_get_item(model, i);
    g_string_append_printf(out, "%s%s", i ? "," : "", chat_contact_get_name(c));
  }
  return g_string_free(g_steal_pointer(&out), FALSE);
}

ChatMessageItem *message_at(ChatConversation *conversation, guint i) {
  GListModel *model = chat_conversation_get_messages(conversation);
  cr_assert_lt(i, g_list_model_get_n_items(model));
  ChatMessageItem *item = g_list_model_get_item(model, i);
  g_object_unref(item); /* the conversation keeps it */
  return item;
}

guint message_count(ChatConversation *conversation) {
  return g_list_model_get_n_items(chat_conversation_get_messages(conversation));
}

/* items-changed emissions as "position,removed,added;" */
void record_items_changed(GListModel *model, guint position, guint removed, guint added,
                          gpointer user_data) {
  (void)model;
  g_string_append_printf(user_data, "%u,%u,%u;", position, removed, added);
}

void count_notify(GObject *object, GParamSpec *pspec, gpointer user_data) {
  (void)object;
  (void)pspec;
  (*(guint *)user_data)++;
}

/* ---- signals ---- */

void recorder_clear(recorder *r) {
  g_free(r->text);
  g_free(r->text2);
  memset(r, 0, sizeof *r);
}

void on_string(ChatSession *session, const char *text, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  g_free(r->text);
  r->text = g_strdup(text);
}

void on_two_strings(ChatSession *session, const char *a, const char *b, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  g_free(r->text);
  g_free(r->text2);
  r->text = g_strdup(a);
  r->text2 = g_strdup(b);
}

void on_int64(ChatSession *session, gint64 value, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->number = value;
}

void on_object(ChatSession *session, gpointer object, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->object = object;
}

void on_new_message(ChatSession *session, ChatContact *from, ChatMessageItem *item,
                    gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  (void)item;
  r->count++;
  r->object = from;
}

void on_kicked(ChatSession *session, const char *reason, const char *address, gint64 time,
               gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->text = g_strdup(reason);
  r->text2 = g_strdup(address);
  r->number = time;
}

void on_progress(ChatSession *session, ChatMessageItem *item, double fraction, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->object = item;
  r->fraction = fraction;
}

/* ======================================================================
 * The preview line
 * ====================================================================== */

void expect_preview(ChatContactKind kind, const char *sender, const char *username, gboolean image,
                    const char *text, const char *expected) {
  g_autofree char *got = chat_preview_text(kind, sender, username, image, text);
  cr_assert_str_eq(got, expected, "preview of \"%s\"", text ? text : "(null)");
}

/* The layer-3 encoding of a value given as JSON. */
GBytes *encode_value(const char *json) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(json, strlen(json), &arena, &value, &err), 0, "%s: %s", json,
               err.message);
  chat_buffer buf;
  chat_buffer_init(&buf);
  cr_assert_eq(chat_value_encode(value, &buf), 0);
  GBytes *bytes = g_bytes_new(buf.data, buf.len);
  chat_buffer_clear(&buf);
  chat_arena_clear(&arena);
  return bytes;
}

void befriend(test_client *from, test_client *to, const char *to_name, gint64 from_id) {
  g_autofree char *name = g_strdup_printf("\"%s\"", to_name);
  client_send(from, "add_friend", name);
  g_free(client_expect_skipping(from, "add_friend_result"));
  g_free(client_expect_skipping(to, "incoming_friend_request"));
  g_autofree char *answer = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", from_id);
  client_send(to, "resolve_friend_request", answer);
  g_free(client_expect_skipping(to, "contact_info"));
  g_free(client_expect_skipping(from, "contact_info"));
}

void search_outcome_clear(search_outcome *o) {
  g_clear_pointer(&o->results, chat_search_results_free);
  g_clear_error(&o->error);
  o->done = FALSE;
  o->ok = FALSE;
}

gboolean search_outcome_is_done(gpointer data) {
  return ((search_outcome *)data)->done;
}

void search_outcome_on_search(GObject *source, GAsyncResult *result, gpointer data) {
  search_outcome *o = data;
  o->results = chat_session_search_finish(CHAT_SESSION(source), result, &o->error);
  o->done = TRUE;
}
