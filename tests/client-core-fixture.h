/* The GTK client's display-less core (gtk-client/core): the preview rules,
 * the models a session keeps from what the server sends, and the session
 * against a real chatd. The model tests feed server messages straight into
 * the session (chat_session_test_feed) and read what it would send
 * (chat_session_test_capture), without a socket. This header is their
 * fixture (fx) and helpers; the tests are in test-client-core-*.c. */
#ifndef CHAT_TESTS_CLIENT_CORE_FIXTURE_H
#define CHAT_TESTS_CLIENT_CORE_FIXTURE_H

#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chatd-harness.h"
#include "gtk-client/core/chat-backoff.h"
#include "gtk-client/core/chat-names.h"
#include "gtk-client/core/chat-preview.h"
#include "gtk-client/core/chat-room-member.h"
#include "gtk-client/core/chat-search.h"
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

/* Server messages the model tests feed. */
#define USER_ALICE "{\"id\": 1, \"username\": \"alice\", \"nickname\": \"Alice\", \"online\": true}"
#define FRIENDS                                                                                    \
  "[{\"id\": 2, \"username\": \"bob\", \"nickname\": \"Bob\", \"online\": true, \"type\": 0}, "    \
  "{\"id\": 3, \"username\": \"carol\", \"nickname\": \"Carol\", \"online\": false, \"type\": "    \
  "0}, "                                                                                           \
  "{\"id\": 4, \"username\": \"dave\", \"nickname\": \"Dave\", \"online\": true, \"type\": 0}]"
#define ROOMS "[{\"id\": 7, \"room_name\": \"Hikers\", \"type\": 1}]"
/* U+FFFD, what a name on one line shows for a break. */
#define FFFD "\xef\xbf\xbd"
/* g_format_size puts a no-break space before a unit ("48.2 kB"). */
#define NBSP "\xc2\xa0"

extern fixture fx;

typedef struct {
  guint count;
  char *text; /* the first string argument, last emission */
  char *text2;
  gint64 number;
  gpointer object; /* the first object argument (not a reference) */
  double fraction;
} recorder;

ChatSession *new_session(chat_dialect dialect, const char *host, guint16 port,
                         chat_pin_policy policy);
void setup_dir(void);
void setup_offline(chat_dialect dialect);
void setup_v2(void);
void setup_seed(void);
void teardown(void);
GBytes *encode(chat_dialect dialect, const char *name, const char *params_json);
void feed(const char *name, const char *params_json);
char *next_sent(void);
char *expect_sent(const char *name);
/* The same, and the request id the message carries (it must have one). */
char *expect_sent_with_id(const char *name, guint32 *request_id);
/* Feeds a message with a request id in its header (v2). */
void feed_with_id(const char *name, const char *params_json, guint32 request_id);
void expect_nothing_sent(void);
char *client_msg_id_of(const char *json);
char *notice(gint64 id, gint64 sender, const char *sender_name, int target_type, gint64 target_id,
             gint64 time, const char *text, const char *client_msg_id);
void feed_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                 gint64 target_id, gint64 time, const char *text, const char *client_msg_id);
char *with_username(const char *notice_json, const char *username);
char *preview_notice(gint64 id, gint64 sender, const char *sender_name, int target_type,
                     gint64 target_id, gint64 time, const char *format, gint64 size);
void login_v2(void);
/* How a search (results or error) or a load_until (ok or error) ended. */
typedef struct {
  gboolean done;
  ChatSearchResults *results;
  gboolean ok;
  GError *error;
} search_outcome;
void search_outcome_clear(search_outcome *o);
gboolean search_outcome_is_done(gpointer data);
/* A GAsyncReadyCallback for chat_session_search_async, data a search_outcome. */
void search_outcome_on_search(GObject *source, GAsyncResult *result, gpointer data);
/* Over chatd: `from` asks, `to` accepts (from_id as registered). */
void befriend(test_client *from, test_client *to, const char *to_name, gint64 from_id);
ChatContact *contact(ChatContactKind kind, gint64 id);
char *contact_order(void);
ChatMessageItem *message_at(ChatConversation *conversation, guint i);
guint message_count(ChatConversation *conversation);
void record_items_changed(GListModel *model, guint position, guint removed, guint added,
                          gpointer user_data);
void count_notify(GObject *object, GParamSpec *pspec, gpointer user_data);
void recorder_clear(recorder *r);
void on_string(ChatSession *session, const char *text, gpointer user_data);
void on_two_strings(ChatSession *session, const char *a, const char *b, gpointer user_data);
void on_int64(ChatSession *session, gint64 value, gpointer user_data);
void on_object(ChatSession *session, gpointer object, gpointer user_data);
void on_new_message(ChatSession *session, ChatContact *from, ChatMessageItem *item,
                    gpointer user_data);
void on_kicked(ChatSession *session, const char *reason, const char *address, gint64 time,
               gpointer user_data);
void on_progress(ChatSession *session, ChatMessageItem *item, double fraction, gpointer user_data);
void expect_preview(ChatContactKind kind, const char *sender, const char *username, gboolean image,
                    const char *text, const char *expected);
GBytes *encode_value(const char *json);
void feed_bundle(const char *last_carol, const char *last_room);
/* Feeds alice's session_bundle with FRIENDS, ROOMS and no conversations. */
void feed_empty_bundle(void);
/* Feeds login_successful (alice), then feed_empty_bundle. */
void feed_login_with_an_empty_bundle(void);
/* After a dropped connection: the reconnect attempt resumes with the token
 * (the resume request is checked and consumed), and
 * feed_login_with_an_empty_bundle answers it. */
void resume_with_an_empty_bundle(void);

#endif
