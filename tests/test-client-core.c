/* The GTK client's display-less core (gtk-client/core): the preview rules,
 * the models a session keeps from what the server sends, and the session
 * against a real chatd. The model tests feed server messages straight into
 * the session (chat_session_test_feed) and read what it would send
 * (chat_session_test_capture), without a socket. */
#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chatd-harness.h"
#include "gtk-client/core/chat-backoff.h"
#include "gtk-client/core/chat-names.h"
#include "gtk-client/core/chat-preview.h"
#include "gtk-client/core/chat-room-member.h"
#include "gtk-client/core/chat-session-test.h"
#include "gtk-client/core/chat-wire.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"
#include "protocol/json.h"
#include "test-util.h"

#define SEED CHAT_DIALECT_SEED
#define V2 CHAT_DIALECT_V2

/* The user the model tests log in as, and the others they know. */
#define ALICE 1
#define BOB 2
#define CAROL 3
#define DAVE 4
#define ROOM 7
/* 32 bytes 00..1f. */
#define TOKEN_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
/* Reconnect delays for the tests against chatd. */
#define TEST_BACKOFF_INITIAL_MS 100
#define TEST_BACKOFF_MAX_MS 800

/* ======================================================================
 * Fixture: a session with no network, capturing what it sends
 * ====================================================================== */

typedef struct {
  ChatSession *session;
  GQueue sent; /* GBytes plaintexts the session sent */
  chat_dialect dialect;
  char *dir;
} fixture;

static fixture fx;

static ChatSession *new_session(chat_dialect dialect, const char *host, guint16 port,
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

static void setup_dir(void) {
  memset(&fx, 0, sizeof fx);
  g_queue_init(&fx.sent);
  fx.dir = test_make_tmp_dir("client-core-XXXXXX");
}

static void setup_offline(chat_dialect dialect) {
  setup_dir();
  fx.dialect = dialect;
  fx.session = new_session(dialect, "chat.example", 7000, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, TRUE);
}

static void setup_v2(void) {
  setup_offline(V2);
}
static void setup_seed(void) {
  setup_offline(SEED);
}

static void teardown(void) {
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  test_remove_tree(fx.dir);
  g_free(fx.dir);
  memset(&fx, 0, sizeof fx);
}

/* ---- talking to the session ---- */

static GBytes *encode(chat_dialect dialect, const char *name, const char *params_json) {
  const chat_message_info *info = chat_catalogue_by_name(name);
  cr_assert_not_null(info, "unknown message %s", name);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(params_json, strlen(params_json), &arena, &params, &err), 0,
               "%s: %s", params_json, err.message);
  chat_buffer buf;
  chat_buffer_init(&buf);
  cr_assert_eq(chat_message_encode(dialect, info->code, params, &buf), 0);
  GBytes *bytes = g_bytes_new(buf.data, buf.len);
  chat_buffer_clear(&buf);
  chat_arena_clear(&arena);
  return bytes;
}

/* Feeds one server message given as JSON parameters. */
static void feed(const char *name, const char *params_json) {
  g_autoptr(GBytes) bytes = encode(fx.dialect, name, params_json);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  cr_assert(chat_session_test_feed(fx.session, fx.dialect, data, len), "refused %s %s", name,
            params_json);
}

/* The next message the session sent, as "name params-json", or NULL. */
static char *next_sent(void) {
  g_autoptr(GBytes) message = g_queue_pop_head(&fx.sent);
  if (!message)
    return NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  chat_arena arena;
  chat_arena_init(&arena);
  guint32 type;
  chat_value *params;
  chat_error err;
  cr_assert_eq(chat_message_decode(fx.dialect, data, len, NULL, 0, &arena, &type, &params, &err), 0,
               "the session sent a bad message: %s", err.message);
  const chat_message_info *info = chat_catalogue_lookup(type, fx.dialect, CHAT_TO_SERVER);
  cr_assert_not_null(info, "the session sent type %u", type);
  cr_assert_eq(chat_catalogue_check(type, params, &err), 0, "%s: %s", info->name, err.message);
  chat_buffer json;
  chat_buffer_init(&json);
  cr_assert_eq(chat_value_write_json(params, CHAT_JSON_BYTES_SUMMARY, &json), 0);
  char *out = g_strdup_printf("%s %.*s", info->name, (int)json.len, json.data);
  chat_buffer_clear(&json);
  chat_arena_clear(&arena);
  return out;
}

/* The parameters of the next message sent, which must be `name`. */
static char *expect_sent(const char *name) {
  char *next = next_sent();
  cr_assert_not_null(next, "expected the session to send %s; it sent nothing", name);
  size_t n = strlen(name);
  cr_assert(strncmp(next, name, n) == 0 && next[n] == ' ', "expected %s, got %s", name, next);
  char *params = g_strdup(next + n + 1);
  g_free(next);
  return params;
}

static void expect_nothing_sent(void) {
  g_autofree char *next = next_sent();
  cr_assert_null(next, "the session sent %s", next);
}

/* The value of "client_msg_id" in a JSON text. */
static char *client_msg_id_of(const char *json) {
  const char *key = "\"client_msg_id\": \"";
  const char *at = strstr(json, key);
  cr_assert_not_null(at, "no client_msg_id in %s", json);
  at += strlen(key);
  return g_strndup(at, strcspn(at, "\""));
}

/* A @notice in JSON. text is JSON-escaped already; id 0 and
 * client_msg_id NULL leave those keys out. */
static char *notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                    gint64 target_id, gint64 time, const char *text, const char *client_msg_id) {
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

static void feed_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                        gint64 target_id, gint64 time, const char *text,
                        const char *client_msg_id) {
  g_autofree char *n =
      notice(id, sender, sender_name, target_type, target_id, time, text, client_msg_id);
  feed("on_new_message", n);
}

/* notice_json (a @notice) with the sender's username added, as a v2
 * server sends it. */
static char *with_username(const char *notice_json, const char *username) {
  size_t len = strlen(notice_json);
  cr_assert(len > 0 && notice_json[len - 1] == '}', "%s", notice_json);
  return g_strdup_printf("%.*s, \"sender_username\": \"%s\"}", (int)(len - 1), notice_json,
                         username);
}

/* A @notice whose body is an image preview (v2: the image's format and
 * size, no bytes). */
static char *preview_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                            gint64 target_id, gint64 time, const char *format, gint64 size) {
  return g_strdup_printf(
      "{\"message\": {\"type\": 1, \"format\": \"%s\", "
      "\"size\": %" G_GINT64_FORMAT "}, \"sender_id\": %" G_GINT64_FORMAT
      ", \"sender_name\": \"%s\", \"target_type\": %d, \"time\": %" G_GINT64_FORMAT
      ", \"target_id\": %" G_GINT64_FORMAT ", \"id\": %" G_GINT64_FORMAT "}",
      format, size, sender, sender_name, target_type, time, target_id, id);
}

#define USER_ALICE "{\"id\": 1, \"username\": \"alice\", \"nickname\": \"Alice\", \"online\": true}"
#define FRIENDS                                                                                    \
  "[{\"id\": 2, \"username\": \"bob\", \"nickname\": \"Bob\", \"online\": true, \"type\": 0}, "    \
  "{\"id\": 3, \"username\": \"carol\", \"nickname\": \"Carol\", \"online\": false, \"type\": "    \
  "0}, "                                                                                           \
  "{\"id\": 4, \"username\": \"dave\", \"nickname\": \"Dave\", \"online\": true, \"type\": 0}]"
#define ROOMS "[{\"id\": 7, \"room_name\": \"Hikers\", \"type\": 1}]"

/* Logs alice in (v2): carol's conversation ends at message 5 (time 2000,
 * 2 unread), the room's at message 6 (time 3000, 1 unread); bob and dave
 * have no messages. */
static void login_v2(void) {
  chat_session_login(fx.session, "alice", "secret");
  g_autofree char *login = expect_sent("login");
  cr_assert_str_eq(login, "[\"alice\", \"secret\"]");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_LOGGING_IN);
  feed("login_successful", USER_ALICE);
  g_autofree char *last_carol = notice(5, CAROL, "Carol", 0, ALICE, 2000, "see you", NULL);
  g_autofree char *last_room = notice(6, BOB, "Bob", 1, ROOM, 3000, "hey all", NULL);
  g_autofree char *bundle = g_strdup_printf(
      "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS ", \"rooms\": " ROOMS
      ", \"conversations\": [{\"target_type\": 0, \"target_id\": 3, \"last\": %s, \"unread\": 2, "
      "\"last_read_id\": 3}, {\"target_type\": 1, \"target_id\": 7, \"last\": %s, \"unread\": 1, "
      "\"last_read_id\": 5}]}",
      last_carol, last_room);
  feed("session_bundle", bundle);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);
}

static ChatContact *contact(ChatContactKind kind, gint64 id) {
  ChatContact *c = chat_session_find_contact(fx.session, kind, id);
  cr_assert_not_null(c, "no contact %d/%" G_GINT64_FORMAT, kind, id);
  return c;
}

/* The contacts list as "Name,Name,...". */
static char *contact_order(void) {
  GListModel *model = chat_session_get_contacts(fx.session);
  g_autoptr(GString) out = g_string_new(NULL);
  for (guint i = 0; i < g_list_model_get_n_items(model); i++) {
    g_autoptr(ChatContact) c = g_list_model_get_item(model, i);
    g_string_append_printf(out, "%s%s", i ? "," : "", chat_contact_get_name(c));
  }
  return g_string_free(g_steal_pointer(&out), FALSE);
}

static ChatMessageItem *message_at(ChatConversation *conversation, guint i) {
  GListModel *model = chat_conversation_get_messages(conversation);
  cr_assert_lt(i, g_list_model_get_n_items(model));
  ChatMessageItem *item = g_list_model_get_item(model, i);
  g_object_unref(item); /* the conversation keeps it */
  return item;
}

static guint message_count(ChatConversation *conversation) {
  return g_list_model_get_n_items(chat_conversation_get_messages(conversation));
}

/* items-changed emissions as "position,removed,added;" */
static void record_items_changed(GListModel *model, guint position, guint removed, guint added,
                                 gpointer user_data) {
  (void)model;
  g_string_append_printf(user_data, "%u,%u,%u;", position, removed, added);
}

static void count_notify(GObject *object, GParamSpec *pspec, gpointer user_data) {
  (void)object;
  (void)pspec;
  (*(guint *)user_data)++;
}

/* ---- signals ---- */

typedef struct {
  guint count;
  char *text; /* the first string argument, last emission */
  char *text2;
  gint64 number;
  gpointer object; /* the first object argument (not a reference) */
  double fraction;
} recorder;

static void recorder_clear(recorder *r) {
  g_free(r->text);
  g_free(r->text2);
  memset(r, 0, sizeof *r);
}

static void on_string(ChatSession *session, const char *text, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  g_free(r->text);
  r->text = g_strdup(text);
}

static void on_two_strings(ChatSession *session, const char *a, const char *b, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  g_free(r->text);
  g_free(r->text2);
  r->text = g_strdup(a);
  r->text2 = g_strdup(b);
}

static void on_int64(ChatSession *session, gint64 value, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->number = value;
}

static void on_object(ChatSession *session, gpointer object, gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->object = object;
}

static void on_new_message(ChatSession *session, ChatContact *from, ChatMessageItem *item,
                           gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  (void)item;
  r->count++;
  r->object = from;
}

static void on_kicked(ChatSession *session, const char *reason, const char *address, gint64 time,
                      gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->text = g_strdup(reason);
  r->text2 = g_strdup(address);
  r->number = time;
}

static void on_progress(ChatSession *session, ChatMessageItem *item, double fraction,
                        gpointer user_data) {
  recorder *r = user_data;
  (void)session;
  r->count++;
  r->object = item;
  r->fraction = fraction;
}

/* ======================================================================
 * The preview line
 * ====================================================================== */

static void expect_preview(ChatContactKind kind, const char *sender, const char *username,
                           gboolean image, const char *text, const char *expected) {
  g_autofree char *got = chat_preview_text(kind, sender, username, image, text);
  cr_assert_str_eq(got, expected, "preview of \"%s\"", text ? text : "(null)");
}

Test(client_preview, a_room_shows_the_sender_a_friend_does_not) {
  expect_preview(CHAT_CONTACT_ROOM, "Bob", NULL, FALSE, "hi there", "Bob: hi there");
  expect_preview(CHAT_CONTACT_FRIEND, "Bob", NULL, FALSE, "hi there", "hi there");
  expect_preview(CHAT_CONTACT_ROOM, "小明", NULL, FALSE, "你好", "小明: 你好");
}

Test(client_preview, an_image_is_shown_as_a_marker) {
  /* C locale: the untranslated marker (zh_CN.po makes it [图片消息]). */
  expect_preview(CHAT_CONTACT_FRIEND, "Bob", NULL, TRUE, "ignored", "[Image]");
  expect_preview(CHAT_CONTACT_ROOM, "Bob", NULL, TRUE, NULL, "Bob: [Image]");
}

Test(client_preview, line_breaks_and_tabs_fold_into_one_space) {
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, "  line one\n\n line two\r\n\tend  ",
                 "line one line two end");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, "你好\n世界", "你好 世界");
  expect_preview(CHAT_CONTACT_ROOM, "Bob\nB.", NULL, FALSE, "\n\nhi\n", "Bob B.: hi");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, NULL, "");
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, " \n\t ", "");
}

Test(client_preview, long_text_is_cut_with_an_ellipsis) {
  g_autofree char *exact = g_strnfill(CHAT_PREVIEW_MAX_CHARS, 'a');
  expect_preview(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, exact, exact);

  g_autofree char *longer = g_strnfill(CHAT_PREVIEW_MAX_CHARS + 1, 'a');
  g_autofree char *cut = chat_preview_text(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, longer);
  cr_assert_eq(g_utf8_strlen(cut, -1), CHAT_PREVIEW_MAX_CHARS);
  cr_assert(g_str_has_suffix(cut, CHAT_PREVIEW_ELLIPSIS), "%s", cut);
  cr_assert(strncmp(cut, longer, CHAT_PREVIEW_MAX_CHARS - 1) == 0, "%s", cut);

  /* Characters, not bytes: 3-byte Chinese characters are never split. */
  g_autoptr(GString) chinese = g_string_new(NULL);
  for (int i = 0; i < 2 * CHAT_PREVIEW_MAX_CHARS; i++)
    g_string_append(chinese, "中");
  g_autofree char *cut_zh = chat_preview_text(CHAT_CONTACT_ROOM, "小明", NULL, FALSE, chinese->str);
  cr_assert(g_utf8_validate(cut_zh, -1, NULL));
  cr_assert_eq(g_utf8_strlen(cut_zh, -1), CHAT_PREVIEW_MAX_CHARS, "%s", cut_zh);
  cr_assert(g_str_has_prefix(cut_zh, "小明: 中中"), "%s", cut_zh);
  cr_assert(g_str_has_suffix(cut_zh, "中" CHAT_PREVIEW_ELLIPSIS), "%s", cut_zh);

  /* No space left dangling before the ellipsis. */
  g_autofree char *run = g_strnfill(CHAT_PREVIEW_MAX_CHARS - 2, 'a');
  g_autofree char *words = g_strdup_printf("%s b", run);
  g_autofree char *cut_words = chat_preview_text(CHAT_CONTACT_FRIEND, NULL, NULL, FALSE, words);
  cr_assert(!strstr(cut_words, " " CHAT_PREVIEW_ELLIPSIS), "%s", cut_words);
}

Test(client_preview, a_room_message_names_its_sender_by_nickname_and_username) {
  expect_preview(CHAT_CONTACT_ROOM, "Alice", "alice", FALSE, "hi", "Alice (alice): hi");
  /* Taking alice's nickname does not make mallory pass for her. */
  expect_preview(CHAT_CONTACT_ROOM, "Alice", "mallory", FALSE, "hi", "Alice (mallory): hi");
  /* The same text once. */
  expect_preview(CHAT_CONTACT_ROOM, "alice", "alice", TRUE, NULL, "alice: [Image]");
  expect_preview(CHAT_CONTACT_ROOM, "", "bob", FALSE, "yo", "bob: yo");
  expect_preview(CHAT_CONTACT_FRIEND, "Alice", "alice", FALSE, "hi", "hi");
  /* A nickname can neither break the line nor reorder what follows it. */
  expect_preview(CHAT_CONTACT_ROOM,
                 "Eve\n\xe2\x80\xae"
                 "ecila",
                 "eve", FALSE, "hi",
                 "Eve \xef\xbf\xbd"
                 "ecila (eve): hi");
}

/* ======================================================================
 * Names and image previews as the windows show them
 * ====================================================================== */

static void expect_single_line(const char *name, const char *expected) {
  g_autofree char *got = chat_name_single_line(name);
  cr_assert_str_eq(got, expected, "one line of \"%s\"", name ? name : "(null)");
}

#define FFFD "\xef\xbf\xbd"
/* g_format_size puts a no-break space before a unit ("48.2 kB"). */
#define NBSP "\xc2\xa0"

Test(client_names, a_sender_is_the_nickname_beside_the_username_once) {
  const char *cases[][3] = {
      {"Alice", "alice", "Alice (alice)"},
      {"alice", "alice", "alice"},
      {"Alice", NULL, "Alice"},
      {"Alice", "", "Alice"},
      {"", "alice", "alice"},
      {NULL, "alice", "alice"},
      {NULL, NULL, ""},
      {"小明", "xiaoming", "小明 (xiaoming)"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = chat_sender_label(cases[i][0], cases[i][1]);
    cr_assert_str_eq(got, cases[i][2], "case %zu", i);
  }
}

Test(client_names, a_name_on_one_line_shows_what_would_break_or_reorder_it) {
  expect_single_line("Alice", "Alice");
  expect_single_line("小明 (xiaoming) 🙂", "小明 (xiaoming) 🙂");
  expect_single_line(NULL, "");
  expect_single_line("Bob\nThe server says: hi", "Bob" FFFD "The server says: hi");
  expect_single_line("a\r\tb\x7f"
                     "c",
                     "a" FFFD FFFD "b" FFFD "c");
  /* C1 controls (NEL), line and paragraph separators. */
  expect_single_line("a\xc2\x85"
                     "b\xe2\x80\xa8"
                     "c\xe2\x80\xa9"
                     "d",
                     "a" FFFD "b" FFFD "c" FFFD "d");
  /* Bidi controls: RLO, LRM, RLI, PDI. */
  expect_single_line("\xe2\x80\xae"
                     "ecila",
                     FFFD "ecila");
  expect_single_line("x\xe2\x80\x8e"
                     "y\xe2\x81\xa7"
                     "z\xe2\x81\xa9",
                     "x" FFFD "y" FFFD "z" FFFD);
  /* Invalid UTF-8 is repaired. */
  expect_single_line("ab\xff"
                     "cd",
                     "ab" FFFD "cd");
}

Test(client_names, an_image_preview_says_its_format_and_size) {
  /* C locale: the untranslated text. */
  const struct {
    const char *format;
    gint64 size;
    const char *expected;
  } cases[] = {
      {"png", 48213, "Image (PNG, 48.2" NBSP "kB) – too large to show"},
      {"jpeg", 9000000, "Image (JPEG, 9.0" NBSP "MB) – too large to show"},
      {"", 48213, "Image (48.2" NBSP "kB) – too large to show"},
      {NULL, 1, "Image (1 byte) – too large to show"},
      /* Not a plain name: not shown. */
      {"p\nng", 1000, "Image (1.0" NBSP "kB) – too large to show"},
      {"averyveryverylongformat", 1000, "Image (1.0" NBSP "kB) – too large to show"},
      {"webp", -5, "Image (WEBP, 0 bytes) – too large to show"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = chat_image_preview_text(cases[i].format, cases[i].size);
    cr_assert_str_eq(got, cases[i].expected, "case %zu", i);
  }
}

/* The layer-3 encoding of a value given as JSON. */
static GBytes *encode_value(const char *json) {
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

static gsize max_image_of(const char *json) {
  g_autoptr(GBytes) info = encode_value(json);
  gsize len;
  const guint8 *data = g_bytes_get_data(info, &len);
  return chat_wire_server_info_max_image(data, len);
}

Test(client_names, the_server_info_says_the_largest_image_or_nothing) {
  cr_assert_eq(max_image_of("{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216, "
                            "\"max_image\": 8388608}"),
               8388608);
  cr_assert_eq(max_image_of("{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216}"), 0,
               "not announced: no check");
  cr_assert_eq(max_image_of("{\"max_image\": -1}"), 0);
  cr_assert_eq(max_image_of("{\"max_image\": \"8 MB\"}"), 0);
  cr_assert_eq(max_image_of("[1, 2]"), 0);
  cr_assert_eq(chat_wire_server_info_max_image(NULL, 0), 0, "seed: no server info");
  const guint8 garbage[] = {0xff, 0x00, 0x13};
  cr_assert_eq(chat_wire_server_info_max_image(garbage, sizeof garbage), 0);
}

/* ======================================================================
 * Reconnect delays
 * ====================================================================== */

Test(client_backoff, doubles_from_one_second_to_thirty_and_starts_over) {
  ChatBackoff b;
  chat_backoff_init(&b, CHAT_RECONNECT_INITIAL_MS, CHAT_RECONNECT_MAX_MS);
  const guint expected[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
  for (gsize i = 0; i < G_N_ELEMENTS(expected); i++)
    cr_assert_eq(chat_backoff_next(&b), expected[i], "attempt %zu", i);
  chat_backoff_reset(&b);
  cr_assert_eq(chat_backoff_next(&b), 1000);
}

/* ======================================================================
 * Contacts: order, presence
 * ====================================================================== */

Test(client_contacts, order_newest_first_then_no_messages_by_name) {
  g_autoptr(ChatContact) a = chat_contact_new(CHAT_CONTACT_FRIEND, 1, "Anna", "anna");
  g_autoptr(ChatContact) b = chat_contact_new(CHAT_CONTACT_FRIEND, 2, "Bert", "bert");
  g_autoptr(ChatContact) room = chat_contact_new(CHAT_CONTACT_ROOM, 1, "Anna", NULL);
  g_autoptr(ChatContact) quiet = chat_contact_new(CHAT_CONTACT_FRIEND, 3, "Aaron", "aaron");
  chat_contact_set_last(a, 100, "x");
  chat_contact_set_last(b, 200, "y");
  chat_contact_set_last(room, 100, "z");
  cr_assert_lt(chat_contact_compare(b, a, NULL), 0, "newer first");
  cr_assert_lt(chat_contact_compare(a, quiet, NULL), 0, "without messages last");
  cr_assert_lt(chat_contact_compare(a, room, NULL), 0, "same time, same name: friend first");
  chat_contact_set_last(b, 100, "y");
  cr_assert_lt(chat_contact_compare(a, b, NULL), 0, "same time: by name");
  cr_assert_eq(chat_contact_compare(a, a, NULL), 0);
}

Test(client_contacts, the_bundle_sorts_and_new_messages_move_one_item, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave");
  /* The bundle's notice names no username: bob's comes from the friends. */
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_ROOM, ROOM)),
                   "Bob (bob): hey all");
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_FRIEND, CAROL)), "see you");
  cr_assert_eq(chat_contact_get_last_time(contact(CHAT_CONTACT_FRIEND, BOB)), 0);

  g_autoptr(GString) changes = g_string_new(NULL);
  g_signal_connect(chat_session_get_contacts(fx.session), "items-changed",
                   G_CALLBACK(record_items_changed), changes);

  /* Dave writes: he moves from the bottom to the top, as one remove and
   * one insert. */
  feed_notice(20, DAVE, "Dave", 0, ALICE, 4000, "first line\\nsecond", NULL);
  g_autofree char *order2 = contact_order();
  cr_assert_str_eq(order2, "Dave,Hikers,Carol,Bob");
  cr_assert_str_eq(changes->str, "3,1,0;0,0,1;");
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_FRIEND, DAVE)),
                   "first line second");

  /* Again: already first, nothing moves. */
  g_string_truncate(changes, 0);
  feed_notice(21, DAVE, "Dave", 0, ALICE, 4100, "more", NULL);
  cr_assert_str_eq(changes->str, "");

  /* A tie on the time goes by name: Bob before Dave. */
  feed_notice(22, BOB, "Bob", 0, ALICE, 4100, "me too", NULL);
  g_autofree char *order3 = contact_order();
  cr_assert_str_eq(order3, "Bob,Dave,Hikers,Carol");
  cr_assert_str_eq(changes->str, "3,1,0;0,0,1;");

  /* A room message shows its sender. */
  feed_notice(23, DAVE, "Dave", 1, ROOM, 5000, "multi\\n\\tline", NULL);
  cr_assert_str_eq(chat_contact_get_preview(contact(CHAT_CONTACT_ROOM, ROOM)),
                   "Dave (dave): multi line");
  g_autofree char *order4 = contact_order();
  cr_assert_str_eq(order4, "Hikers,Bob,Dave,Carol");
}

Test(client_contacts, presence_updates_live, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  cr_assert(chat_contact_get_online(bob));
  cr_assert_not(chat_contact_get_online(carol));
  guint notified = 0;
  g_signal_connect(bob, "notify::online", G_CALLBACK(count_notify), &notified);
  feed("friend_on_off_line", "[false, 2]");
  cr_assert_not(chat_contact_get_online(bob));
  cr_assert_eq(notified, 1);
  feed("friend_on_off_line", "[false, 2]");
  cr_assert_eq(notified, 1, "no change, no notification");
  feed("friend_on_off_line", "[true, 3]");
  cr_assert(chat_contact_get_online(carol));
  feed("friend_on_off_line", "[true, 99]"); /* not a friend: ignored */
}

Test(client_contacts, contact_info_adds_and_left_room_removes, .init = setup_v2, .fini = teardown) {
  login_v2();
  feed("contact_info", "{\"id\": 9, \"username\": \"erin\", \"nickname\": \"Erin\", "
                       "\"online\": true, \"type\": 0}");
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave,Erin");
  feed("contact_info", "{\"id\": 9, \"username\": \"erin\", \"nickname\": \"Aaa\", "
                       "\"online\": true, \"type\": 0}");
  g_autofree char *renamed = contact_order();
  cr_assert_str_eq(renamed, "Hikers,Carol,Aaa,Bob,Dave");
  feed("left_room", "7");
  g_autofree char *left = contact_order();
  cr_assert_str_eq(left, "Carol,Aaa,Bob,Dave");
  cr_assert_null(chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, ROOM));
  cr_assert_eq(chat_session_get_unread_total(fx.session), 2, "the room's unread went with it");
}

Test(client_contacts, a_bundle_whose_last_message_is_an_image_preview_keeps_it, .init = setup_v2,
     .fini = teardown) {
  chat_session_login(fx.session, "alice", "secret");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  /* chatd puts every image in a bundle as a preview (format and size). */
  g_autofree char *last_carol = preview_notice(5, CAROL, "Carol", 0, ALICE, 2000, "png", 48213);
  g_autofree char *room_plain = preview_notice(6, BOB, "Bob", 1, ROOM, 3000, "", 123);
  g_autofree char *last_room = with_username(room_plain, "bob");
  g_autofree char *bundle = g_strdup_printf(
      "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS ", \"rooms\": " ROOMS
      ", \"conversations\": [{\"target_type\": 0, \"target_id\": 3, \"last\": %s, \"unread\": 2, "
      "\"last_read_id\": 3}, {\"target_type\": 1, \"target_id\": 7, \"last\": %s, \"unread\": 1, "
      "\"last_read_id\": 5}]}",
      last_carol, last_room);
  feed("session_bundle", bundle);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);

  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Hikers,Carol,Bob,Dave", "the previews' times order the list");
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");
  cr_assert_eq(chat_contact_get_last_time(carol), 2000);
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): [Image]");
  cr_assert_eq(chat_contact_get_unread(carol), 2);
  cr_assert_eq(chat_contact_get_unread(room), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);

  /* Its id counts as seen: reading marks up to it. */
  chat_session_mark_read(fx.session, carol);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 3, \"up_to_id\": 5}");
}

/* ======================================================================
 * Unread counts
 * ====================================================================== */

Test(client_unread, counts_from_the_bundle_and_live_messages, .init = setup_v2, .fini = teardown) {
  guint total_notified = 0;
  g_signal_connect(fx.session, "notify::unread-total", G_CALLBACK(count_notify), &total_notified);
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  cr_assert_eq(chat_contact_get_unread(carol), 2);
  cr_assert_eq(chat_contact_get_unread(contact(CHAT_CONTACT_ROOM, ROOM)), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);
  cr_assert_eq(total_notified, 1);

  recorder incoming = {0};
  g_signal_connect(fx.session, "new-message", G_CALLBACK(on_new_message), &incoming);
  feed_notice(22, CAROL, "Carol", 0, ALICE, 5000, "are you there?", NULL);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 4);
  cr_assert_eq(incoming.count, 1);
  cr_assert_eq(incoming.object, carol);

  /* Our own messages never count. */
  feed_notice(23, ALICE, "Alice", 0, CAROL, 5100, "yes", NULL);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_eq(incoming.count, 1);

  /* mark_read: the badge goes at once; the server is told up to the
   * newest message. */
  chat_session_mark_read(fx.session, carol);
  cr_assert_eq(chat_contact_get_unread(carol), 0);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 1);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 3, \"up_to_id\": 23}");
  feed("read_marker",
       "{\"target_type\": 0, \"target_id\": 3, \"last_read_id\": 23, \"unread\": 0}");
  cr_assert_eq(chat_contact_get_unread(carol), 0);
  /* Nothing new: nothing to tell. */
  chat_session_mark_read(fx.session, carol);
  expect_nothing_sent();
  cr_assert_eq(total_notified, 3);
  recorder_clear(&incoming);
}

Test(client_unread, an_open_conversation_does_not_count, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  chat_session_set_conversation_open(fx.session, bob, TRUE);
  expect_nothing_sent(); /* nothing to mark yet */
  feed_notice(30, BOB, "Bob", 0, ALICE, 6000, "look", NULL);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  g_autofree char *mark = expect_sent("mark_read");
  cr_assert_str_eq(mark, "{\"target_type\": 0, \"target_id\": 2, \"up_to_id\": 30}");
  /* The marker comes back with messages counted meanwhile: still open,
   * still read. */
  feed("read_marker",
       "{\"target_type\": 0, \"target_id\": 2, \"last_read_id\": 30, \"unread\": 1}");
  cr_assert_eq(chat_contact_get_unread(bob), 0);

  chat_session_set_conversation_open(fx.session, bob, FALSE);
  feed_notice(31, BOB, "Bob", 0, ALICE, 6100, "hello?", NULL);
  cr_assert_eq(chat_contact_get_unread(bob), 1);
  expect_nothing_sent();
  /* Opening it marks it read. */
  chat_session_set_conversation_open(fx.session, bob, TRUE);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  g_autofree char *mark2 = expect_sent("mark_read");
  cr_assert_str_eq(mark2, "{\"target_type\": 0, \"target_id\": 2, \"up_to_id\": 31}");
}

/* ======================================================================
 * Sending: the outbox, acknowledgements, dedup, failures
 * ====================================================================== */

Test(client_outbox, an_ack_marks_the_item_sent_and_copies_are_dropped, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_autofree char *fetch = expect_sent("fetch_history");
  cr_assert_str_eq(fetch,
                   "{\"target_type\": 0, \"target_id\": 2, \"before_id\": 0, \"limit\": 50}");
  cr_assert(chat_conversation_get_loading(conv));

  chat_session_send_text(fx.session, bob, "hello\nbob", 14, "#ff0000");
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert(chat_message_item_get_outgoing(item));
  cr_assert_eq(chat_message_item_get_id(item), 0);
  cr_assert_str_eq(chat_contact_get_preview(bob), "hello bob");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(g_str_has_prefix(send,
                             "{\"target_type\": 0, \"target_id\": 2, \"message\": {\"type\": 0, "
                             "\"data\": \"hello\\nbob\", \"fontsize\": 14, \"fontcolor\": "
                             "\"#ff0000\"}, \"client_msg_id\": \""),
            "%s", send);
  g_autofree char *cmid = client_msg_id_of(send);
  cr_assert_gt(strlen(cmid), 0);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 1);

  feed_notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", cmid);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_id(item), 40);
  cr_assert_eq(chat_message_item_get_time(item), 7000);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
  cr_assert_eq(message_count(conv), 1);

  /* The same acknowledgement again (a resend's): nothing new. */
  feed_notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", cmid);
  cr_assert_eq(message_count(conv), 1);

  /* The first page arrives: it shows 40 (already there) and bob's 39. */
  g_autofree char *m40 = notice(40, ALICE, "Alice", 0, BOB, 7000, "hello\\nbob", NULL);
  g_autofree char *m39 = notice(39, BOB, "Bob", 0, ALICE, 6900, "hi", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, "
                                          "\"messages\": [%s, %s], \"more\": false}",
                                          m40, m39);
  feed("history_page", page);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_id(message_at(conv, 0)), 39);
  cr_assert_eq(message_at(conv, 1), item);
  cr_assert(chat_conversation_get_complete(conv));
  cr_assert_not(chat_conversation_get_loading(conv));

  /* A live copy of a message already shown: not shown twice, not unread. */
  feed_notice(39, BOB, "Bob", 0, ALICE, 6900, "hi", NULL);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_contact_get_unread(bob), 0);
  expect_nothing_sent();
}

Test(client_outbox, an_image_reports_queued_and_acknowledged, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  ChatConversation *conv = chat_session_get_conversation(fx.session, room);
  g_free(expect_sent("fetch_history"));
  recorder progress = {0};
  g_signal_connect(fx.session, "transfer-progress", G_CALLBACK(on_progress), &progress);
  const guint8 png[] = {0x89, 'P', 'N', 'G', 0, 1, 2};
  g_autoptr(GBytes) image = g_bytes_new(png, sizeof png);
  chat_session_send_image(fx.session, room, image);
  cr_assert_eq(progress.count, 1);
  cr_assert_eq(progress.fraction, 0.0);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(progress.object, item);
  cr_assert_eq(chat_message_item_get_kind(item), CHAT_MESSAGE_IMAGE);
  cr_assert_str_eq(chat_contact_get_preview(room), "Alice (alice): [Image]");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"message\": {\"type\": 1, \"data\": {\"$bytes_len\": 7}}"), "%s", send);
  g_autofree char *cmid = client_msg_id_of(send);
  g_autofree char *ack = g_strdup_printf(
      "{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"iVBORwABAg==\"}}, \"sender_id\": 1, "
      "\"sender_name\": \"Alice\", \"target_type\": 1, \"time\": 8000, \"target_id\": 7, "
      "\"id\": 50, \"client_msg_id\": \"%s\"}",
      cmid);
  feed("on_new_message", ack);
  cr_assert_eq(progress.count, 2);
  cr_assert_eq(progress.fraction, 1.0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_SENT);
  recorder_clear(&progress);
}

Test(client_outbox, a_refused_send_fails_with_the_reason_and_can_be_retried, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  recorder notices = {0};
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_string), &notices);
  ChatContact *dave = contact(CHAT_CONTACT_FRIEND, DAVE);
  ChatConversation *conv = chat_session_get_conversation(fx.session, dave);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 0, \"target_id\": 4, \"messages\": [], \"more\": false}");
  chat_session_join_room(fx.session, 12);
  chat_session_send_text(fx.session, dave, "still friends?", 0, NULL);
  g_free(expect_sent("join_room"));
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"fontsize\": 12, \"fontcolor\": \"#000000\""), "defaults: %s", send);
  g_autofree char *cmid = client_msg_id_of(send);

  /* Answers come in order: the first failure is the join's. */
  feed("general_failure", "\"there is no such room\"");
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert_str_eq(notices.text, "there is no such room");
  feed("general_failure", "\"you can only send messages to your friends\"");
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), "you can only send messages to your friends");
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Retry: the same message, the same idempotency key. */
  chat_session_retry(fx.session, item);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  cr_assert_null(chat_message_item_get_error(item));
  g_autofree char *again = expect_sent("send_message");
  g_autofree char *cmid2 = client_msg_id_of(again);
  cr_assert_str_eq(cmid2, cmid);
  cr_assert_eq(message_count(conv), 1);
  recorder_clear(&notices);
}

Test(client_outbox, after_a_reconnect_unacknowledged_sends_go_out_again_once, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 0, \"target_id\": 2, \"messages\": [], \"more\": false}");
  chat_session_send_text(fx.session, bob, "in flight", 0, NULL);
  g_autofree char *first = expect_sent("send_message");
  g_autofree char *cmid = client_msg_id_of(first);

  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), CHAT_RECONNECT_INITIAL_MS);
  /* Queued while offline: waits. */
  chat_session_send_text(fx.session, bob, "queued offline", 0, NULL);
  expect_nothing_sent();
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 2);

  /* The attempt logs in with the resume token, not a password. */
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_autofree char *resume = expect_sent("resume");
  cr_assert_str_eq(resume, "{\"username\": \"alice\", \"token\": {\"$bytes_len\": 32}}");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  /* It fails too: the next delay doubles. */
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 2 * CHAT_RECONNECT_INITIAL_MS);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));

  feed("login_successful", USER_ALICE);
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);
  /* Both go out, in order, the first with its old key; then the
   * conversation's newest page is asked for again. */
  g_autofree char *resent = expect_sent("send_message");
  g_autofree char *resent_id = client_msg_id_of(resent);
  cr_assert_str_eq(resent_id, cmid);
  g_autofree char *second = expect_sent("send_message");
  cr_assert(strstr(second, "queued offline"), "%s", second);
  g_autofree char *second_id = client_msg_id_of(second);
  g_free(expect_sent("fetch_history"));
  expect_nothing_sent();

  feed_notice(60, ALICE, "Alice", 0, BOB, 9000, "in flight", cmid);
  feed_notice(61, ALICE, "Alice", 0, BOB, 9001, "queued offline", second_id);
  feed_notice(60, ALICE, "Alice", 0, BOB, 9000, "in flight", cmid);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 1)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Success resets the delay. */
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), CHAT_RECONNECT_INITIAL_MS);
}

Test(client_outbox, an_ack_after_a_page_that_showed_the_message_leaves_one_copy, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 0, \"target_id\": 2, \"messages\": [], \"more\": false}");
  chat_session_send_text(fx.session, bob, "did it arrive?", 0, NULL);
  g_autofree char *send = expect_sent("send_message");
  g_autofree char *cmid = client_msg_id_of(send);
  /* The connection drops before the acknowledgement; after the resume a
   * page shows the stored message before the resend's acknowledgement. */
  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_successful", USER_ALICE);
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
  g_free(expect_sent("send_message"));
  g_free(expect_sent("fetch_history"));
  g_autofree char *stored = notice(70, ALICE, "Alice", 0, BOB, 9500, "did it arrive?", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 2, "
                                          "\"messages\": [%s], \"more\": false}",
                                          stored);
  feed("history_page", page);
  feed_notice(70, ALICE, "Alice", 0, BOB, 9500, "did it arrive?", cmid);
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *only = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_id(only), 70);
  cr_assert_eq(chat_message_item_get_delivery(only), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
}

Test(client_history, a_gap_after_a_long_absence_shows_the_newest_page_alone, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  g_free(expect_sent("fetch_history"));
  g_autofree char *m5 = notice(5, CAROL, "Carol", 0, ALICE, 2000, "five", NULL);
  g_autofree char *first = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s], \"more\": false}",
                                           m5);
  feed("history_page", first);
  cr_assert(chat_conversation_get_complete(conv));

  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_successful", USER_ALICE);
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
  g_autofree char *refresh = expect_sent("fetch_history");
  cr_assert_str_eq(refresh,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 0, \"limit\": 50}");
  /* 60 messages came meanwhile: the newest page does not reach 5. */
  g_autofree char *m61 = notice(61, CAROL, "Carol", 0, ALICE, 9100, "sixty-one", NULL);
  g_autofree char *m60 = notice(60, CAROL, "Carol", 0, ALICE, 9000, "sixty", NULL);
  g_autofree char *newest = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                            "\"messages\": [%s, %s], \"more\": true}",
                                            m61, m60);
  feed("history_page", newest);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_eq(chat_message_item_get_id(message_at(conv, 0)), 60);
  cr_assert_not(chat_conversation_get_complete(conv), "older pages load on demand again");
  cr_assert_str_eq(chat_contact_get_preview(carol), "sixty-one");
  chat_session_load_older(fx.session, conv);
  g_autofree char *older = expect_sent("fetch_history");
  cr_assert(strstr(older, "\"before_id\": 60"), "%s", older);
}

Test(client_outbox, an_expired_token_asks_for_the_password, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder failed = {0};
  g_signal_connect(fx.session, "login-failed", G_CALLBACK(on_string), &failed);
  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_failed", "null");
  cr_assert_eq(failed.count, 1);
  cr_assert(strstr(failed.text, "expired"), "%s", failed.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTED);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0);
  cr_assert_not(chat_session_resume(fx.session, "alice"), "the saved token is forgotten");
  recorder_clear(&failed);
}

/* Offline mode: the server-info of the "next" handshake. */
static void set_server_info(const char *json) {
  g_autoptr(GBytes) info = encode_value(json);
  gsize len;
  const guint8 *data = g_bytes_get_data(info, &len);
  chat_session_test_set_server_info(fx.session, data, len);
}

#define IMAGE_LIMIT_INFO                                                                           \
  "{\"server\": \"chatd 0.1.0\", \"max_message\": 16777216, \"max_image\": 16}"
#define IMAGE_LIMIT_REASON "The image is larger than the server accepts (16 bytes)."

Test(client_outbox, an_image_over_the_announced_max_image_is_refused_here, .init = setup_v2,
     .fini = teardown) {
  set_server_info(IMAGE_LIMIT_INFO);
  cr_assert_eq(chat_session_get_max_image(fx.session), 16);
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  const guint8 bytes[17] = {0x89, 'P', 'N', 'G'};
  g_autoptr(GBytes) too_large = g_bytes_new(bytes, 17);
  chat_session_send_image(fx.session, bob, too_large);
  expect_nothing_sent();
  cr_assert_eq(message_count(conv), 1);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), IMAGE_LIMIT_REASON);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
  /* Retrying cannot help. */
  chat_session_retry(fx.session, item);
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);

  /* One at the limit goes. */
  g_autoptr(GBytes) at_limit = g_bytes_new(bytes, 16);
  chat_session_send_image(fx.session, bob, at_limit);
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"data\": {\"$bytes_len\": 16}"), "%s", send);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 1)), CHAT_DELIVERY_PENDING);
}

/* Logs in to a v2 server announcing server_info and sends Bob an image one
 * byte over CHAT_MAX_IMAGE_DEFAULT; returns Bob's conversation. */
static ChatConversation *send_image_over_the_default(const char *server_info) {
  set_server_info(server_info);
  login_v2();
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  guint8 *big = g_malloc0(CHAT_MAX_IMAGE_DEFAULT + 1);
  big[0] = 0x89;
  g_autoptr(GBytes) over_default = g_bytes_new_take(big, CHAT_MAX_IMAGE_DEFAULT + 1);
  chat_session_send_image(fx.session, bob, over_default);
  return conv;
}

/* Without an announced max_image the core falls back to the one default
 * (protocol/chat-limits.h: chatd's server.max_image_size default). */
Test(client_outbox, without_an_announced_max_image_the_default_applies, .init = setup_v2,
     .fini = teardown) {
  ChatConversation *conv =
      send_image_over_the_default("{\"server\": \"chatd 0.1.0\", \"max_message\": 33554432}");
  cr_assert_eq(chat_session_get_max_image(fx.session), 0);
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(message_at(conv, 0)),
                   "The image is too large to send.");
}

/* An announced limit above the default is used as it is. */
Test(client_outbox, an_announced_max_image_above_the_default_is_used, .init = setup_v2,
     .fini = teardown) {
  ChatConversation *conv = send_image_over_the_default(
      "{\"server\": \"chatd 0.1.0\", \"max_message\": 33554432, \"max_image\": 16777216}");
  g_autofree char *send = expect_sent("send_message");
  cr_assert(strstr(send, "\"data\": {\"$bytes_len\": 8388609}"), "%.200s", send);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 0)), CHAT_DELIVERY_PENDING);
}

Test(client_outbox, an_image_queued_before_the_limit_was_known_fails_instead_of_going,
     .init = setup_v2, .fini = teardown) {
  login_v2();
  cr_assert_eq(chat_session_get_max_image(fx.session), 0, "not announced: no check");
  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 0, \"target_id\": 2, \"messages\": [], \"more\": false}");
  chat_session_test_drop_connection(fx.session);
  const guint8 bytes[17] = {0x89, 'P', 'N', 'G'};
  g_autoptr(GBytes) image = g_bytes_new(bytes, sizeof bytes);
  chat_session_send_image(fx.session, bob, image);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_PENDING);
  expect_nothing_sent();

  /* The next connection's server announces 16 bytes. */
  set_server_info(IMAGE_LIMIT_INFO);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_successful", USER_ALICE);
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
  g_free(expect_sent("fetch_history"));
  expect_nothing_sent();
  cr_assert_eq(chat_message_item_get_delivery(item), CHAT_DELIVERY_FAILED);
  cr_assert_str_eq(chat_message_item_get_error(item), IMAGE_LIMIT_REASON);
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);
}

/* ======================================================================
 * History pages
 * ====================================================================== */

Test(client_history, pages_load_on_open_and_on_demand, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  cr_assert_eq(chat_session_get_conversation(fx.session, carol), conv, "one per contact");
  g_autofree char *fetch = expect_sent("fetch_history");
  cr_assert_str_eq(fetch,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 0, \"limit\": 50}");
  expect_nothing_sent();
  /* A message arrives before the page. */
  feed_notice(6, CAROL, "Carol", 0, ALICE, 2100, "six", NULL);

  g_autofree char *m6 = notice(6, CAROL, "Carol", 0, ALICE, 2100, "six", NULL);
  g_autofree char *m5 = notice(5, CAROL, "Carol", 0, ALICE, 2000, "five", NULL);
  g_autofree char *m4 = notice(4, ALICE, "Alice", 0, CAROL, 1900, "four", NULL);
  g_autofree char *page1 = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s, %s, %s], \"more\": true}",
                                           m6, m5, m4);
  g_autoptr(GString) changes = g_string_new(NULL);
  g_signal_connect(chat_conversation_get_messages(conv), "items-changed",
                   G_CALLBACK(record_items_changed), changes);
  feed("history_page", page1);
  cr_assert_eq(message_count(conv), 3);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "four");
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 2)), "six");
  cr_assert(chat_message_item_get_outgoing(message_at(conv, 0)));
  cr_assert_str_eq(changes->str, "0,0,2;", "the older part in one emission");
  cr_assert_not(chat_conversation_get_complete(conv));
  cr_assert_not(chat_conversation_get_loading(conv));

  chat_session_load_older(fx.session, conv);
  g_autofree char *older = expect_sent("fetch_history");
  cr_assert_str_eq(older,
                   "{\"target_type\": 0, \"target_id\": 3, \"before_id\": 4, \"limit\": 50}");
  cr_assert(chat_conversation_get_loading(conv));
  chat_session_load_older(fx.session, conv);
  expect_nothing_sent(); /* one at a time */

  g_autofree char *m3 = notice(3, CAROL, "Carol", 0, ALICE, 1800, "three", NULL);
  g_autofree char *page2 = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                           "\"messages\": [%s], \"more\": false}",
                                           m3);
  feed("history_page", page2);
  cr_assert_eq(message_count(conv), 4);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "three");
  cr_assert(chat_conversation_get_complete(conv));
  chat_session_load_older(fx.session, conv);
  expect_nothing_sent();
  cr_assert_eq(chat_contact_get_unread(carol), 3, "2 from the bundle, 1 live; pages do not count");
}

Test(client_history, an_image_preview_in_a_page_or_live_is_a_placeholder, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatConversation *conv = chat_session_get_conversation(fx.session, carol);
  g_free(expect_sent("fetch_history"));
  /* A legacy image too large to send: its format and size only. */
  g_autofree char *m7 = preview_notice(7, CAROL, "Carol", 0, ALICE, 2200, "png", 48213);
  g_autofree char *m6 = notice(6, ALICE, "Alice", 0, CAROL, 2100, "send me the photo", NULL);
  g_autofree char *page = g_strdup_printf("{\"target_type\": 0, \"target_id\": 3, "
                                          "\"messages\": [%s, %s], \"more\": false}",
                                          m7, m6);
  feed("history_page", page);
  cr_assert_eq(message_count(conv), 2);
  cr_assert_not(chat_message_item_is_image_preview(message_at(conv, 0)));
  ChatMessageItem *item = message_at(conv, 1);
  cr_assert_eq(chat_message_item_get_id(item), 7);
  cr_assert_eq(chat_message_item_get_kind(item), CHAT_MESSAGE_IMAGE);
  cr_assert(chat_message_item_is_image_preview(item));
  cr_assert_null(chat_message_item_get_image(item));
  cr_assert_str_eq(chat_message_item_get_image_format(item), "png");
  cr_assert_eq(chat_message_item_get_image_size(item), 48213);
  g_autofree char *format = NULL;
  gint64 size = 0;
  g_object_get(item, "image-format", &format, "image-size", &size, NULL);
  cr_assert_str_eq(format, "png");
  cr_assert_eq(size, 48213);
  g_autofree char *placeholder = chat_image_preview_text(format, size);
  cr_assert_str_eq(placeholder, "Image (PNG, 48.2" NBSP "kB) – too large to show");
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");

  /* Live, of no known format: counted and previewed like any image. */
  g_autofree char *m8 = preview_notice(8, CAROL, "Carol", 0, ALICE, 2300, "", 20000000);
  feed("on_new_message", m8);
  cr_assert_eq(message_count(conv), 3);
  ChatMessageItem *live = message_at(conv, 2);
  cr_assert(chat_message_item_is_image_preview(live));
  cr_assert_str_eq(chat_message_item_get_image_format(live), "");
  cr_assert_eq(chat_message_item_get_image_size(live), 20000000);
  cr_assert_eq(chat_contact_get_unread(carol), 3);
  cr_assert_str_eq(chat_contact_get_preview(carol), "[Image]");

  /* An image with its bytes is no preview. */
  feed("on_new_message", "{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"AAEC\"}}, "
                         "\"sender_id\": 3, \"sender_name\": \"Carol\", \"target_type\": 0, "
                         "\"time\": 2400, \"target_id\": 1, \"id\": 9}");
  ChatMessageItem *full = message_at(conv, 3);
  cr_assert_not(chat_message_item_is_image_preview(full));
  cr_assert_null(chat_message_item_get_image_format(full));
  cr_assert_eq(chat_message_item_get_image_size(full), 3);
}

/* ======================================================================
 * Senders: the nickname and, beside it, the username
 * ====================================================================== */

Test(client_senders, the_username_is_read_exposed_and_shown_beside_the_nickname, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  ChatConversation *conv = chat_session_get_conversation(fx.session, room);
  g_free(expect_sent("fetch_history"));
  feed("history_page", "{\"target_type\": 1, \"target_id\": 7, \"messages\": [], \"more\": false}");

  /* A v2 notice names the sender's username: a stranger calling himself
   * Bob is shown as who he is. */
  g_autofree char *plain = notice(30, 9, "Bob", 1, ROOM, 6000, "it is me, Bob", NULL);
  g_autofree char *fake = with_username(plain, "mallory");
  feed("on_new_message", fake);
  ChatMessageItem *item = message_at(conv, 0);
  cr_assert_str_eq(chat_message_item_get_sender_name(item), "Bob");
  cr_assert_str_eq(chat_message_item_get_sender_username(item), "mallory");
  g_autofree char *property = NULL;
  g_object_get(item, "sender-username", &property, NULL);
  cr_assert_str_eq(property, "mallory");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (mallory): it is me, Bob");

  /* The same text once. */
  g_autofree char *same_plain = notice(31, 12, "erin", 1, ROOM, 6050, "hi", NULL);
  g_autofree char *same = with_username(same_plain, "erin");
  feed("on_new_message", same);
  cr_assert_str_eq(chat_contact_get_preview(room), "erin: hi");

  /* Without it (seed, an older chatd): a friend's username, by id... */
  feed_notice(32, BOB, "Bob", 1, ROOM, 6100, "the real one", NULL);
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 2)), "bob");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): the real one");
  /* ... a known room member's... */
  chat_session_query_members(fx.session, room);
  g_free(expect_sent("query_room_users"));
  feed("query_room_users_result", "[[[9, \"Bob\", true, \"mallory\"], [2, \"Bob\", true, \"bob\"], "
                                  "[1, \"Alice\", true, \"alice\"]], 7]");
  feed_notice(33, 9, "Bob", 1, ROOM, 6200, "again", NULL);
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 3)), "mallory");
  /* ... or nothing: the nickname alone, as before. */
  feed_notice(34, 11, "Zed", 1, ROOM, 6300, "hello", NULL);
  cr_assert_null(chat_message_item_get_sender_username(message_at(conv, 4)));
  cr_assert_str_eq(chat_contact_get_preview(room), "Zed: hello");

  /* Our own messages: the account's. */
  chat_session_send_text(fx.session, room, "mine", 0, NULL);
  g_free(expect_sent("send_message"));
  cr_assert_str_eq(chat_message_item_get_sender_username(message_at(conv, 5)), "alice");
  cr_assert_str_eq(chat_contact_get_preview(room), "Alice (alice): mine");
}

/* ======================================================================
 * Rooms and friend requests
 * ====================================================================== */

Test(client_rooms, members_are_online_first_then_by_name, .init = setup_v2, .fini = teardown) {
  login_v2();
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  chat_session_query_members(fx.session, room);
  g_autofree char *query = expect_sent("query_room_users");
  cr_assert_str_eq(query, "7");
  feed("query_room_users_result",
       "[[[2, \"Bob\", false, \"bob\"], [3, \"Carol\", true, \"carol\"], "
       "[1, \"Alice\", true, \"alice\"], [4, \"Dave\", false, \"dave\"]], 7]");
  GListModel *members = chat_contact_get_members(room);
  const char *expected[][4] = {
      {"Alice", "Carol", "Bob", "Dave"},
      {"Alice", "Carol", "Dave", "Bob"},
      {"Carol", "Dave", "Alice", "Bob"},
  };
  const char *updates[] = {NULL, "[7, 4, true]", "[7, 1, false]"};
  for (gsize step = 0; step < G_N_ELEMENTS(updates); step++) {
    if (updates[step])
      feed("room_user_on_off_line", updates[step]);
    cr_assert_eq(g_list_model_get_n_items(members), 4);
    for (guint i = 0; i < 4; i++) {
      g_autoptr(ChatRoomMember) m = g_list_model_get_item(members, i);
      cr_assert_str_eq(chat_room_member_get_nickname(m), expected[step][i], "step %zu, row %u",
                       step, i);
    }
  }
  g_autoptr(ChatRoomMember) first = g_list_model_get_item(members, 0);
  cr_assert_str_eq(chat_room_member_get_username(first), "carol");
  cr_assert_eq(chat_room_member_get_user_id(first), CAROL);
  cr_assert(chat_room_member_get_online(first));
}

Test(client_rooms, a_created_room_is_announced, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder created = {0}, notices = {0};
  g_signal_connect(fx.session, "room-created", G_CALLBACK(on_object), &created);
  g_signal_connect(fx.session, "notice", G_CALLBACK(on_string), &notices);
  chat_session_join_room(fx.session, 9);
  chat_session_create_room(fx.session, "技术交流");
  g_autofree char *join = expect_sent("join_room");
  cr_assert_str_eq(join, "9");
  g_autofree char *create = expect_sent("create_room");
  cr_assert_str_eq(create, "\"技术交流\"");
  feed("contact_info", "{\"id\": 9, \"room_name\": \"Joined\", \"type\": 1}");
  cr_assert_eq(created.count, 0, "that one answered the join");
  feed("contact_info", "{\"id\": 10, \"room_name\": \"技术交流\", \"type\": 1}");
  feed("general_msg", "\"the room is created; its number is 10\"");
  cr_assert_eq(created.count, 1);
  cr_assert_eq(created.object, chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, 10));
  cr_assert_str_eq(notices.text, "the room is created; its number is 10");
  cr_assert_not_null(chat_session_find_contact(fx.session, CHAT_CONTACT_ROOM, 9));
  recorder_clear(&notices);
}

Test(client_requests, requests_arrive_are_answered_or_wait_for_the_next_login, .init = setup_v2,
     .fini = teardown) {
  recorder asked = {0};
  g_signal_connect(fx.session, "friend-request", G_CALLBACK(on_object), &asked);
  login_v2();
  GListModel *requests = chat_session_get_friend_requests(fx.session);
  feed("incoming_friend_request", "{\"id\": 5, \"username\": \"eve\", \"nickname\": \"Eve\", "
                                  "\"online\": true}");
  feed("incoming_friend_request", "{\"id\": 6, \"username\": \"frank\", \"nickname\": \"Frank\", "
                                  "\"online\": false}");
  cr_assert_eq(asked.count, 2);
  cr_assert_eq(g_list_model_get_n_items(requests), 2);
  g_autoptr(ChatContact) eve = g_list_model_get_item(requests, 0);
  cr_assert_str_eq(chat_contact_get_username(eve), "eve");

  chat_session_answer_friend_request(fx.session, eve, TRUE);
  cr_assert_eq(g_list_model_get_n_items(requests), 1);
  g_autofree char *resolve = expect_sent("resolve_friend_request");
  cr_assert_str_eq(resolve, "[5, true]");
  g_free(expect_sent("client_echo"));
  feed("contact_info", "{\"id\": 5, \"username\": \"eve\", \"nickname\": \"Eve\", "
                       "\"online\": true, \"type\": 0}");
  feed("server_echo", "\"fence\"");
  cr_assert_not_null(chat_session_find_contact(fx.session, CHAT_CONTACT_FRIEND, 5));

  /* Frank is "later": at the next login the server asks again, and the
   * list holds him once. */
  chat_session_test_drop_connection(fx.session);
  cr_assert(chat_session_test_reconnect_now(fx.session));
  g_free(expect_sent("resume"));
  feed("login_successful", USER_ALICE);
  cr_assert_eq(g_list_model_get_n_items(requests), 0);
  feed("incoming_friend_request", "{\"id\": 6, \"username\": \"frank\", \"nickname\": \"Frank\", "
                                  "\"online\": false}");
  feed("session_bundle", "{\"token\": {\"$bytes\": \"" TOKEN_B64 "\"}, \"friends\": " FRIENDS
                         ", \"rooms\": " ROOMS ", \"conversations\": []}");
  cr_assert_eq(g_list_model_get_n_items(requests), 1);
  /* Eve is not in this bundle's friends: she is gone again. */
  cr_assert_null(chat_session_find_contact(fx.session, CHAT_CONTACT_FRIEND, 5));
}

/* ======================================================================
 * Login replies, kicks, bad input
 * ====================================================================== */

Test(client_login, failures_and_registration, .init = setup_v2, .fini = teardown) {
  recorder failed = {0}, registered = {0};
  g_signal_connect(fx.session, "login-failed", G_CALLBACK(on_string), &failed);
  g_signal_connect(fx.session, "register-done", G_CALLBACK(on_int64), &registered);
  chat_session_login(fx.session, "alice", "wrong");
  g_free(expect_sent("login"));
  feed("login_failed", "null");
  cr_assert_eq(failed.count, 1);
  cr_assert_str_eq(failed.text, "Wrong username or password.");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTED);

  chat_session_register(fx.session, "alice", "pw", "Alice");
  g_autofree char *reg = expect_sent("register");
  cr_assert_str_eq(reg, "[\"alice\", \"pw\", \"Alice\"]");
  feed("username_taken", "null");
  cr_assert_eq(failed.count, 2);
  cr_assert_str_eq(failed.text, "That username is already taken.");

  chat_session_register(fx.session, "alice2", "pw", "Alice");
  g_free(expect_sent("register"));
  feed("register_successful", "42");
  cr_assert_eq(registered.count, 1);
  cr_assert_eq(registered.number, 42);

  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("general_failure", "\"too many login attempts; try again later\"");
  cr_assert_eq(failed.count, 3);
  cr_assert_str_eq(failed.text, "too many login attempts; try again later");
  recorder_clear(&failed);
}

Test(client_login, a_v2_kick_says_why_and_does_not_reconnect, .init = setup_v2, .fini = teardown) {
  login_v2();
  recorder kicked = {0};
  g_signal_connect(fx.session, "kicked", G_CALLBACK(on_kicked), &kicked);
  feed("server_kick", "{\"reason\": \"logged in elsewhere\", \"address\": \"10.0.0.2:5555\", "
                      "\"time\": 1700000000000}");
  cr_assert_eq(kicked.count, 1);
  cr_assert_str_eq(kicked.text, "logged in elsewhere");
  cr_assert_str_eq(kicked.text2, "10.0.0.2:5555");
  cr_assert_eq(kicked.number, 1700000000000);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0, "no automatic reconnect");
  recorder_clear(&kicked);
}

Test(client_login, a_seed_kick_has_no_address, .init = setup_seed, .fini = teardown) {
  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  feed("login_bundle", "{\"rooms\": [], \"friends\": [], \"messages\": []}");
  recorder kicked = {0};
  g_signal_connect(fx.session, "kicked", G_CALLBACK(on_kicked), &kicked);
  feed("server_kick", "null");
  cr_assert_eq(kicked.count, 1);
  cr_assert_str_eq(kicked.text, "logged in elsewhere");
  cr_assert_null(kicked.text2);
  cr_assert_eq(kicked.number, 0);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  recorder_clear(&kicked);
}

Test(client_login, malformed_server_messages_are_refused, .init = setup_v2, .fini = teardown) {
  const guint8 garbage[] = {0, 0, 0, 109, 4, 0, 0, 0, 9};
  cr_assert_not(chat_session_test_feed(fx.session, V2, garbage, sizeof garbage));
  g_autoptr(GBytes) shape = encode(V2, "friend_on_off_line", "[\"yes\", 2]");
  cr_assert_not(chat_session_test_feed(fx.session, V2, g_bytes_get_data(shape, NULL),
                                       g_bytes_get_size(shape)));
  /* A request code coming from the server, and a v2-only reply on seed. */
  g_autoptr(GBytes) request = encode(V2, "login", "[\"a\", \"b\"]");
  cr_assert_not(chat_session_test_feed(fx.session, V2, g_bytes_get_data(request, NULL),
                                       g_bytes_get_size(request)));
  const guint8 seed_session_bundle[] = {114, 0};
  cr_assert_not(
      chat_session_test_feed(fx.session, SEED, seed_session_bundle, sizeof seed_session_bundle));
}

/* ======================================================================
 * Seed: the login bundle carries the whole history
 * ====================================================================== */

/* The layer-3 encoding of a JSON value, as {"$bytes": base64}. */
static char *encoded_value(const char *json) {
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *value;
  chat_error err;
  cr_assert_eq(chat_value_parse_json(json, strlen(json), &arena, &value, &err), 0, "%s",
               err.message);
  chat_buffer buf;
  chat_buffer_init(&buf);
  cr_assert_eq(chat_value_encode(value, &buf), 0);
  g_autofree char *b64 = g_base64_encode(buf.data, buf.len);
  chat_buffer_clear(&buf);
  chat_arena_clear(&arena);
  return g_strdup_printf("{\"$bytes\": \"%s\"}", b64);
}

Test(client_seed, the_bundle_fills_conversations_unread_and_previews, .init = setup_seed,
     .fini = teardown) {
  chat_session_login(fx.session, "alice", "pw");
  g_free(expect_sent("login"));
  feed("login_successful", USER_ALICE);
  g_autofree char *n1 = notice(0, BOB, "Bob", 0, ALICE, 1000, "hi\\nalice", NULL);
  g_autofree char *n2 = notice(0, ALICE, "Alice", 0, BOB, 2000, "yo", NULL);
  g_autofree char *n3 =
      g_strdup("{\"message\": {\"type\": 1, \"data\": {\"$bytes\": \"AAEC\"}}, \"sender_id\": 3, "
               "\"sender_name\": \"Carol\", \"target_type\": 0, \"time\": 1500, \"target_id\": 1}");
  g_autofree char *n4 = notice(0, CAROL, "Carol", 0, ALICE, 1600, "again", NULL);
  g_autofree char *n5 = notice(0, BOB, "Bob", 1, ROOM, 1700, "room\\ttalk", NULL);
  g_autofree char *e1 = encoded_value(n1), *e2 = encoded_value(n2), *e3 = encoded_value(n3),
                  *e4 = encoded_value(n4), *e5 = encoded_value(n5);
  g_autofree char *bundle = g_strdup_printf("{\"rooms\": " ROOMS ", \"friends\": " FRIENDS
                                            ", \"messages\": [[%s, 0], [%s, 1], [%s, 0], "
                                            "[%s, 1], [%s, 0]]}",
                                            e1, e2, e3, e4, e5);
  feed("login_bundle", bundle);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_ONLINE);

  ChatContact *bob = contact(CHAT_CONTACT_FRIEND, BOB);
  ChatContact *carol = contact(CHAT_CONTACT_FRIEND, CAROL);
  ChatContact *room = contact(CHAT_CONTACT_ROOM, ROOM);
  cr_assert_eq(chat_contact_get_unread(bob), 1, "sent = 0 from bob; ours never count");
  cr_assert_eq(chat_contact_get_unread(carol), 1);
  cr_assert_eq(chat_contact_get_unread(room), 1);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 3);
  cr_assert_str_eq(chat_contact_get_preview(bob), "yo");
  cr_assert_str_eq(chat_contact_get_preview(carol), "again");
  cr_assert_str_eq(chat_contact_get_preview(room), "Bob (bob): room talk");
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Bob,Hikers,Carol,Dave");

  ChatConversation *conv = chat_session_get_conversation(fx.session, bob);
  expect_nothing_sent(); /* no fetch_history in seed */
  cr_assert(chat_conversation_get_complete(conv));
  cr_assert_eq(message_count(conv), 2);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 0)), "hi\nalice");
  cr_assert(chat_message_item_get_outgoing(message_at(conv, 1)));
  ChatConversation *carol_conv = chat_session_get_conversation(fx.session, carol);
  cr_assert_eq(chat_message_item_get_kind(message_at(carol_conv, 0)), CHAT_MESSAGE_IMAGE);
  cr_assert_eq(g_bytes_get_size(chat_message_item_get_image(message_at(carol_conv, 0))), 3);

  /* Sending: no client_msg_id; the own copy acknowledges it. */
  chat_session_send_text(fx.session, bob, "seed text", 0, NULL);
  g_autofree char *send = expect_sent("send_message");
  cr_assert(!strstr(send, "client_msg_id"), "%s", send);
  feed_notice(0, BOB, "Bob", 0, ALICE, 2500, "crossing", NULL);
  feed_notice(0, ALICE, "Alice", 0, BOB, 2600, "seed text", NULL);
  cr_assert_eq(message_count(conv), 4);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 2)), CHAT_DELIVERY_SENT);
  cr_assert_eq(chat_message_item_get_time(message_at(conv, 2)), 2600);
  cr_assert_str_eq(chat_message_item_get_text(message_at(conv, 3)), "crossing");
  cr_assert_eq(chat_session_test_get_outbox_length(fx.session), 0);

  /* Seed has no idempotency: a send in flight when the connection drops
   * fails rather than risk a duplicate. */
  chat_session_send_text(fx.session, bob, "lost?", 0, NULL);
  g_free(expect_sent("send_message"));
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_test_drop_connection(fx.session);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(errors.count, 1);
  cr_assert_eq(chat_message_item_get_delivery(message_at(conv, 4)), CHAT_DELIVERY_FAILED);
  recorder_clear(&errors);
}

/* ======================================================================
 * Options, the saved token
 * ====================================================================== */

static char *write_config(const char *text) {
  g_autofree char *path = g_build_filename(fx.dir, "config.json", NULL);
  cr_assert(g_file_set_contents(path, text, -1, NULL));
  return g_steal_pointer(&path);
}

Test(client_options, the_config_file_is_read_and_errors_name_the_key, .init = setup_dir,
     .fini = teardown) {
  g_autofree char *good = write_config(
      "{\"crypto\": {\"base\": 2, \"modulus\": 340282366920938463463374607431768211507},\n"
      " \"client\": {\"server_ip\": \"10.1.2.3\", \"server_port\": 8111, \"dialect\": \"seed\",\n"
      "  \"pin\": \"strict\", \"server_key\": \"SHA256:abc\"}}");
  ChatSessionOptions options;
  g_autoptr(GError) error = NULL;
  cr_assert(chat_session_options_load(&options, good, &error), "%s", error ? error->message : "?");
  cr_assert_str_eq(options.host, "10.1.2.3");
  cr_assert_eq(options.port, 8111);
  cr_assert_eq(options.dialect, SEED);
  cr_assert_eq(options.pin_policy, CHAT_PIN_STRICT);
  cr_assert_str_eq(options.pinned_key, "SHA256:abc");
  cr_assert_str_eq(options.crypto_modulus, "340282366920938463463374607431768211507");
  chat_session_options_clear(&options);

  g_autofree char *defaults =
      write_config("{\"client\": {\"server_ip\": \"::1\", \"server_port\": 7}}");
  cr_assert(chat_session_options_load(&options, defaults, NULL));
  cr_assert_eq(options.dialect, V2);
  cr_assert_eq(options.pin_policy, CHAT_PIN_ASK, "the GUI asks by default");
  chat_session_options_clear(&options);

  const char *bad[][2] = {
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 70000}}", "client.server_port"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"dialect\": \"v3\"}}",
       "client.dialect"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"pin\": \"maybe\"}}",
       "client.pin"},
      {"{\"client\": {\"server_port\": 1}}", "client.server_ip"},
      {"{\"client\": {\"server_ip\": \"h\", \"server_port\": 1, \"dialect\": \"seed\"}}", "crypto"},
      {"{\"client\": {\"server_ip\": \"h\",, }}", "line 1 column"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *path = write_config(bad[i][0]);
    g_autoptr(GError) e = NULL;
    cr_assert_not(chat_session_options_load(&options, path, &e), "%s", bad[i][0]);
    cr_assert(g_error_matches(e, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG), "%s", e->message);
    cr_assert(strstr(e->message, bad[i][1]), "%s lacks %s", e->message, bad[i][1]);
    cr_assert_null(options.host);
  }
  g_autofree char *missing = g_build_filename(fx.dir, "nope.json", NULL);
  g_autoptr(GError) e = NULL;
  cr_assert_not(chat_session_options_load(&options, missing, &e));
  cr_assert(g_error_matches(e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
}

static char *only_file_in(const char *dir) {
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  cr_assert_not_null(d, "no %s", dir);
  const char *name = g_dir_read_name(d);
  cr_assert_not_null(name, "%s is empty", dir);
  char *path = g_build_filename(dir, name, NULL);
  cr_assert_null(g_dir_read_name(d), "one file only in %s", dir);
  return path;
}

Test(client_options, the_resume_token_is_kept_private_and_logout_forgets_it, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_autofree char *state = g_build_filename(fx.dir, "state", NULL);
  struct stat st;
  cr_assert_eq(g_stat(state, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700);
  g_autofree char *file = only_file_in(state);
  cr_assert_eq(g_stat(file, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600);
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(file, &text, NULL, NULL));
  cr_assert(strstr(text, TOKEN_B64), "%s", text);

  chat_session_logout(fx.session);
  g_autofree char *logout = expect_sent("logout");
  cr_assert_str_eq(logout, "null");
  cr_assert_not(g_file_test(file, G_FILE_TEST_EXISTS), "the token is forgotten");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_eq(g_list_model_get_n_items(chat_session_get_contacts(fx.session)), 0);
  cr_assert_eq(chat_session_get_user_id(fx.session), 0);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 0);
}

Test(client_options, a_saved_token_logs_in_without_the_password, .init = setup_v2,
     .fini = teardown) {
  login_v2();
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  fx.session = new_session(V2, "chat.example", 7000, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, TRUE);
  cr_assert_not(chat_session_resume(fx.session, "bob"), "no token for bob");
  cr_assert(chat_session_resume(fx.session, " Alice "));
  g_autofree char *resume = expect_sent("resume");
  cr_assert_str_eq(resume, "{\"username\": \"alice\", \"token\": {\"$bytes_len\": 32}}");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_LOGGING_IN);
}

/* ======================================================================
 * Against a real chatd
 * ====================================================================== */

static chatd_instance chatd;

static void start_v2_server(void) {
  setup_dir();
  chatd_start(&chatd, FALSE, NULL);
}

static void start_legacy_server(void) {
  setup_dir();
  chatd_start(&chatd, TRUE, NULL);
}

static void stop_server(void) {
  teardown();
  chatd_destroy(&chatd);
}

typedef struct {
  ChatSession *session;
  ChatSessionState state;
} state_wait;

static gboolean in_state(gpointer data) {
  state_wait *w = data;
  return chat_session_get_state(w->session) == w->state;
}

static void wait_state(ChatSession *session, ChatSessionState state) {
  state_wait w = {session, state};
  cr_assert(test_spin_until(in_state, &w, HARNESS_TIMEOUT_MS), "state %d, waited for %d (%s)",
            chat_session_get_state(session), state,
            chat_session_get_last_error(session) ? chat_session_get_last_error(session) : "");
}

static gboolean recorded(gpointer data) {
  return ((recorder *)data)->count > 0;
}

static gboolean has_unread(gpointer data) {
  return chat_contact_get_unread(data) > 0;
}

static gboolean is_sent(gpointer data) {
  return chat_message_item_get_delivery(data) == CHAT_DELIVERY_SENT;
}

/* The next message of `name`, skipping others (presence, ...). */
static char *expect_skipping(test_client *c, const char *name) {
  for (;;) {
    char *next = client_next(c, HARNESS_TIMEOUT_MS);
    cr_assert_not_null(next, "no %s", name);
    size_t n = strlen(name);
    if (strncmp(next, name, n) == 0 && next[n] == ' ') {
      char *params = g_strdup(next + n + 1);
      g_free(next);
      return params;
    }
    g_free(next);
  }
}

/* `from` asks, `to` accepts (ids as registered). */
static void befriend(test_client *from, test_client *to, const char *to_name, gint64 from_id) {
  g_autofree char *name = g_strdup_printf("\"%s\"", to_name);
  client_send(from, "add_friend", name);
  g_free(expect_skipping(from, "add_friend_result"));
  g_free(expect_skipping(to, "incoming_friend_request"));
  g_autofree char *answer = g_strdup_printf("[%" G_GINT64_FORMAT ", true]", from_id);
  client_send(to, "resolve_friend_request", answer);
  g_free(expect_skipping(to, "contact_info"));
  g_free(expect_skipping(from, "contact_info"));
}

static void send_text_as(test_client *c, gint64 to, const char *text) {
  g_autofree char *params = g_strdup_printf(
      "{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT ", \"message\": {\"type\": 0, "
      "\"data\": \"%s\", \"fontsize\": 12, \"fontcolor\": \"#000000\"}}",
      to, text);
  client_send(c, "send_message", params);
  g_free(expect_skipping(c, "on_new_message"));
}

/* Restarts chatd on the port it had (the harness picks a new ephemeral
 * port each start; the session keeps dialling the old one). */
static void restart_on_same_port(void) {
  guint16 port = chatd.port;
  chatd_stop(&chatd);
  g_autofree char *config = NULL;
  cr_assert(g_file_get_contents(chatd.config_path, &config, NULL, NULL));
  g_autofree char *fixed = g_strdup_printf("\"bind_port\": %u,", port);
  g_autoptr(GString) text = g_string_new(config);
  cr_assert_eq(g_string_replace(text, "\"bind_port\": 0,", fixed, 1), 1, "%s", config);
  cr_assert(g_file_set_contents(chatd.config_path, text->str, -1, NULL));
  chatd_restart(&chatd);
  cr_assert_eq(chatd.port, port);
}

static gboolean sent_queue_has(const char *name) {
  const chat_message_info *info = chat_catalogue_by_name(name);
  for (GList *l = fx.sent.head; l; l = l->next) {
    gsize len;
    const guint8 *data = g_bytes_get_data(l->data, &len);
    if (len >= 4 && chat_load_u32be(data) == info->code)
      return TRUE;
  }
  return FALSE;
}

Test(client_e2e, live_messages_then_a_restart_and_resume_deliver_once, .init = start_v2_server,
     .fini = stop_server) {
  test_client *bob = client_connect(chatd.port, V2);
  gint64 bob_id = client_register(bob, "bob", "pw", "Bob");
  test_client *carol = client_connect(chatd.port, V2);
  gint64 carol_id = client_register(carol, "carol", "pw", "Carol");
  test_client *setup = client_connect(chatd.port, V2);
  gint64 alice_id = client_register(setup, "alice", "secret", "Alice");
  befriend(setup, bob, "bob", alice_id);
  befriend(setup, carol, "carol", alice_id);
  send_text_as(carol, alice_id, "earlier");
  client_free(setup);

  fx.dialect = V2;
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE); /* a tap on the wire */
  chat_session_test_set_backoff(fx.session, TEST_BACKOFF_INITIAL_MS, TEST_BACKOFF_MAX_MS);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_eq(chat_session_get_user_id(fx.session), alice_id);

  ChatContact *c_bob = contact(CHAT_CONTACT_FRIEND, bob_id);
  ChatContact *c_carol = contact(CHAT_CONTACT_FRIEND, carol_id);
  g_autofree char *order = contact_order();
  cr_assert_str_eq(order, "Carol,Bob");
  cr_assert_eq(chat_contact_get_unread(c_carol), 1);
  cr_assert_str_eq(chat_contact_get_preview(c_carol), "earlier");
  cr_assert(chat_contact_get_online(c_bob));

  send_text_as(bob, alice_id, "hello\\nthere");
  cr_assert(test_spin_until(has_unread, c_bob, HARNESS_TIMEOUT_MS), "bob's message arrives");
  g_autofree char *order2 = contact_order();
  cr_assert_str_eq(order2, "Bob,Carol");
  cr_assert_str_eq(chat_contact_get_preview(c_bob), "hello there");
  cr_assert_eq(chat_session_get_unread_total(fx.session), 2);
  chat_session_mark_read(fx.session, c_carol);
  cr_assert_eq(chat_session_get_unread_total(fx.session), 1);

  ChatConversation *conv = chat_session_get_conversation(fx.session, c_bob);
  client_free(bob);
  client_free(carol);

  /* The server goes away; a message is written meanwhile. */
  guint16 port = chatd.port;
  chatd_stop(&chatd);
  wait_state(fx.session, CHAT_SESSION_RECONNECTING);
  harness_spin(2 * TEST_BACKOFF_INITIAL_MS); /* a few refused attempts */
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_RECONNECTING);
  chat_session_send_text(fx.session, c_bob, "written while offline", 0, NULL);
  guint n = message_count(conv);
  ChatMessageItem *offline = message_at(conv, n - 1);
  cr_assert_eq(chat_message_item_get_delivery(offline), CHAT_DELIVERY_PENDING);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);

  chatd.port = port;
  restart_on_same_port();
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert(sent_queue_has("resume"), "the session resumed with its token");
  cr_assert_not(sent_queue_has("login"), "no password was sent again");
  cr_assert(test_spin_until(is_sent, offline, HARNESS_TIMEOUT_MS),
            "the queued message is acknowledged");
  cr_assert_gt(chat_message_item_get_id(offline), 0);

  /* Bob sees it exactly once. */
  bob = client_connect(chatd.port, V2);
  client_login(bob, "bob", "pw");
  g_autofree char *fetch = g_strdup_printf("{\"target_type\": 0, \"target_id\": %" G_GINT64_FORMAT
                                           ", \"before_id\": 0, \"limit\": 50}",
                                           alice_id);
  client_send(bob, "fetch_history", fetch);
  g_autofree char *page = expect_skipping(bob, "history_page");
  const char *first = strstr(page, "written while offline");
  cr_assert_not_null(first, "%s", page);
  cr_assert_null(strstr(first + 1, "written while offline"), "stored twice: %s", page);
  guint copies = 0;
  for (guint i = 0; i < message_count(conv); i++)
    if (g_strcmp0(chat_message_item_get_text(message_at(conv, i)), "written while offline") == 0)
      copies++;
  cr_assert_eq(copies, 1);
  client_free(bob);
}

/* chatd replaces the token at every resume: the session (and the file the
 * next start reads) must follow, or the second reconnect would need the
 * password. */
Test(client_e2e, each_resume_keeps_the_token_the_server_just_gave, .init = start_v2_server,
     .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);

  fx.dialect = V2;
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE);
  chat_session_test_set_backoff(fx.session, TEST_BACKOFF_INITIAL_MS, TEST_BACKOFF_MAX_MS);
  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  for (int round = 0; round < 3; round++) {
    g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
    chat_session_test_drop_connection(fx.session);
    cr_assert(chat_session_test_reconnect_now(fx.session));
    wait_state(fx.session, CHAT_SESSION_ONLINE);
    cr_assert(sent_queue_has("resume"), "round %d: no resume", round);
    cr_assert_not(sent_queue_has("login"), "round %d: the password was needed", round);
  }
  /* A new start of the client resumes from the saved (newest) token. */
  g_clear_object(&fx.session);
  g_queue_clear_full(&fx.sent, (GDestroyNotify)g_bytes_unref);
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  chat_session_test_capture(fx.session, &fx.sent, FALSE);
  cr_assert(chat_session_resume(fx.session, "alice"));
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  cr_assert_eq(chatd_log_contains(&chatd, "resume of alice refused"), FALSE, "%s", chatd.log->str);
}

Test(client_e2e, policy_ask_confirms_the_key_then_logs_in, .init = start_v2_server,
     .fini = stop_server) {
  test_client *setup = client_connect(chatd.port, V2);
  client_register(setup, "alice", "secret", "Alice");
  client_free(setup);

  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ASK);
  recorder confirm = {0};
  g_signal_connect(fx.session, "confirm-server-key", G_CALLBACK(on_two_strings), &confirm);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &confirm, HARNESS_TIMEOUT_MS), "confirm-server-key");
  g_autofree char *host_port = g_strdup_printf("127.0.0.1:%u", chatd.port);
  cr_assert_str_eq(confirm.text, host_port);
  cr_assert(g_str_has_prefix(confirm.text2, "SHA256:"), "%s", confirm.text2);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);

  chat_session_trust_server(fx.session, confirm.text2, TRUE);
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  g_autofree char *known_hosts = g_build_filename(fx.dir, "known_hosts", NULL);
  g_autofree char *recorded_keys = NULL;
  cr_assert(g_file_get_contents(known_hosts, &recorded_keys, NULL, NULL));
  cr_assert(strstr(recorded_keys, confirm.text2), "%s", recorded_keys);

  /* Another key recorded for this server: refused, with both keys. */
  g_autofree char *other = g_strdup(confirm.text2);
  char *last = other + strlen(other) - 2;
  *last = *last == 'A' ? 'B' : 'A';
  g_autofree char *line = g_strdup_printf("%s %s\n", host_port, other);
  cr_assert(g_file_set_contents(known_hosts, line, -1, NULL));
  g_clear_object(&fx.session);
  fx.session = new_session(V2, "127.0.0.1", chatd.port, CHAT_PIN_ACCEPT_NEW);
  recorder changed = {0};
  g_signal_connect(fx.session, "server-key-changed", G_CALLBACK(on_string), &changed);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert(test_spin_until(recorded, &changed, HARNESS_TIMEOUT_MS), "server-key-changed");
  cr_assert(strstr(changed.text, other) && strstr(changed.text, confirm.text2), "%s", changed.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  recorder_clear(&confirm);
  recorder_clear(&changed);
}

Test(client_e2e, an_unreachable_server_is_reported, .init = setup_dir, .fini = teardown) {
  /* A port nobody listens on: bind one, note it, close it. */
  g_autoptr(GSocketListener) listener = g_socket_listener_new();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  cr_assert(g_socket_listener_add_address(listener, any, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL));
  guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_socket_listener_close(listener);

  fx.session = new_session(V2, "127.0.0.1", port, CHAT_PIN_ACCEPT_NEW);
  recorder errors = {0};
  g_signal_connect(fx.session, "error", G_CALLBACK(on_string), &errors);
  chat_session_login(fx.session, "alice", "secret");
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_CONNECTING);
  cr_assert(test_spin_until(recorded, &errors, HARNESS_TIMEOUT_MS), "error");
  cr_assert(g_str_has_prefix(errors.text, "Cannot reach the server"), "%s", errors.text);
  cr_assert_eq(chat_session_get_state(fx.session), CHAT_SESSION_DISCONNECTED);
  cr_assert_str_eq(chat_session_get_last_error(fx.session), errors.text);
  cr_assert_eq(chat_session_test_get_reconnect_delay(fx.session), 0, "the user retries");
  recorder_clear(&errors);
}

Test(client_e2e, a_seed_login_shows_offline_messages_as_unread, .init = start_legacy_server,
     .fini = stop_server) {
  test_client *bob = client_connect(chatd.port, SEED);
  gint64 bob_id = client_register(bob, "bob", "pw", "Bob");
  test_client *setup = client_connect(chatd.port, SEED);
  gint64 alice_id = client_register(setup, "alice", "secret", "Alice");
  befriend(setup, bob, "bob", alice_id);
  client_free(setup);
  /* Only once chatd knows alice is gone is the message stored as unsent
   * (sent = 0), the seed's unread mark. */
  g_autofree char *offline = g_strdup_printf("[false, %" G_GINT64_FORMAT "]", alice_id);
  g_autofree char *presence = expect_skipping(bob, "friend_on_off_line");
  cr_assert_str_eq(presence, offline);
  send_text_as(bob, alice_id, "while you\\nwere out");

  /* The repository's config.json gives the seed DH group. */
  ChatSessionOptions options;
  g_autoptr(GError) error = NULL;
  cr_assert(chat_session_options_load(&options, CHAT_SOURCE_ROOT "/config.json", &error), "%s",
            error ? error->message : "?");
  g_free(options.host);
  options.host = g_strdup("127.0.0.1");
  options.port = chatd.port;
  options.dialect = SEED;
  options.state_dir = g_build_filename(fx.dir, "state", NULL);
  options.known_hosts_path = g_build_filename(fx.dir, "known_hosts", NULL);
  fx.session = chat_session_new(&options);
  chat_session_options_clear(&options);
  fx.dialect = SEED;

  chat_session_login(fx.session, "alice", "secret");
  wait_state(fx.session, CHAT_SESSION_ONLINE);
  ChatContact *c_bob = contact(CHAT_CONTACT_FRIEND, bob_id);
  cr_assert_eq(chat_contact_get_unread(c_bob), 1);
  cr_assert_str_eq(chat_contact_get_preview(c_bob), "while you were out");
  ChatConversation *conv = chat_session_get_conversation(fx.session, c_bob);
  cr_assert_eq(message_count(conv), 1);
  cr_assert(chat_conversation_get_complete(conv));

  chat_session_send_text(fx.session, c_bob, "back now", 0, NULL);
  ChatMessageItem *item = message_at(conv, 1);
  cr_assert(test_spin_until(is_sent, item, HARNESS_TIMEOUT_MS), "acknowledged by the own copy");
  g_autofree char *got = expect_skipping(bob, "on_new_message");
  cr_assert(strstr(got, "\"data\": \"back now\""), "%s", got);
  cr_assert_eq(message_count(conv), 2);
  client_free(bob);
}
