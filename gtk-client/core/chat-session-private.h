/* ChatSession's insides, shared by the files that implement it (not for
 * the UI, not for tests: the test hooks are chat-session-test.h).
 *
 *   chat-session.c             the GObject, the account and the public API
 *   chat-session-contacts.c    contacts, conversations, unread counts
 *   chat-session-outbox.c      sending: requests, expected replies, the outbox
 *   chat-session-handlers.c    the server's messages, read with protocol/messages.h
 *   chat-session-connection.c  dialling, losing the connection, reconnecting
 *   chat-session-test.c        the test hooks
 *
 * How the pieces fit (replies, outbox, dedup) is told in chat-session.c. */
#pragma once

#include "build-config.h"

#include "gtk-client/core/chat-session.h"

#include "gtk-client/core/chat-backoff.h"
#include "gtk-client/core/chat-wire.h"
#include "protocol/gio/chat-dial.h"
#include "protocol/host-port.h"
#include "protocol/messages.h"

G_BEGIN_DECLS

/* Messages per fetch_history page. */
#define CHAT_HISTORY_PAGE_SIZE 50u
/* What the fence after resolve_friend_request echoes. */
#define CHAT_FENCE_TEXT "fence"
/* server_kick in the seed dialect says nothing; this is its meaning. */
#define CHAT_SEED_KICK_REASON "logged in elsewhere"
/* Room for "[host]:port". */
#define CHAT_HOST_PORT_BUFFER (CHAT_HOST_PORT_MAX + 1u)

/* What to do once connected. */
typedef enum {
  ACTION_NONE,
  ACTION_LOGIN,
  ACTION_REGISTER,
  ACTION_RESUME,
} ActionKind;

typedef struct {
  ActionKind kind;
  char *username;
  char *password; /* wiped when cleared */
  char *nickname;
} PendingAction;

/* Which login-phase request is waiting for its answer. */
typedef enum {
  PHASE_NONE,
  PHASE_LOGIN,
  PHASE_REGISTER,
  PHASE_RESUME,
} LoginPhase;

/* The session's record of one contact. */
typedef struct {
  ChatContact *contact;
  ChatConversation *conversation; /* NULL until used */
  gboolean in_store;              /* in the contacts list (and watched) */
  gboolean seen;                  /* named by the bundle being merged */
  gboolean open;                  /* chat_session_set_conversation_open */
  gboolean read_pending;          /* marked read while offline (v2) */
  gint64 newest_id;               /* v2: newest server id seen */
  gint64 marked_id;               /* v2: read marker, or the last mark_read sent */
} ContactState;

typedef struct {
  ChatMessageItem *item;
  gboolean in_flight; /* sent on the current connection */
} OutboxEntry;

typedef enum {
  REPLY_SEND,
  REPLY_JOIN_ROOM,
  REPLY_CREATE_ROOM,
  REPLY_QUERY_MEMBERS,
  REPLY_FETCH_HISTORY,
  REPLY_MARK_READ,
  REPLY_ADD_FRIEND,
  REPLY_RESOLVE,
  REPLY_FENCE,
  REPLY_SEARCH,
} ReplyKind;

typedef struct {
  ReplyKind kind;
  gboolean has_request_id; /* v2: the request's id, which its answers echo */
  guint32 request_id;
  OutboxEntry *send; /* REPLY_SEND */
  ChatContactKind target_kind;
  gint64 target_id;
  gint64 before_id; /* REPLY_FETCH_HISTORY */
  GTask *task;      /* REPLY_SEARCH (chat-search.c) */
} ReplyEntry;

/* What the test hooks (chat-session-test.c) set up: allocated by the
 * first hook that needs it, NULL in the application. */
typedef struct {
  GQueue *outgoing;   /* the capture: every plaintext sent (GBytes*), or NULL */
  gboolean offline;   /* no network: dialling succeeds at once */
  gboolean connected; /* offline: the pretend connection is up */
} ChatSessionTestState;

struct _ChatSession {
  GObject parent_instance;

  ChatSessionOptions options;
  chat_dh_group seed_group;
  gboolean have_seed_group;
  chat_dialect dialect;
  char host_port[CHAT_HOST_PORT_BUFFER]; /* the first server: pin and resume tokens */
  char *state_dir;
  ChatDialServer *servers; /* the servers to try (hosts owned); at least one */
  gsize n_servers;
  gsize server_index;                         /* of the server connected to, or last */
  gsize next_server;                          /* where the next dial starts */
  char server_address[CHAT_HOST_PORT_BUFFER]; /* host:port of servers[server_index] */

  ChatSessionState state;
  char *last_error;

  /* the connection */
  ChatConnection *connection;
  GCancellable *dial_cancellable;
  PendingAction pending;
  LoginPhase phase;
  gboolean kicked;
  ChatBackoff backoff;
  guint reconnect_source;
  guint reconnect_delay;
  GBytes *resume_token; /* v2, from the last session_bundle */
  gsize max_image;      /* v2 server-info max_image, last connection; 0: not said */

  /* the account */
  gint64 user_id;
  char *username;
  char *nickname;

  /* the models */
  GListStore *contacts;        /* ChatContact, sorted by chat_contact_compare */
  GHashTable *states;          /* gint64 key (contact_key) -> ContactState */
  GListStore *friend_requests; /* ChatContact */
  guint unread_total;

  GQueue outbox;                   /* OutboxEntry, oldest first */
  GHashTable *outbox_by_id;        /* client_msg_id -> OutboxEntry */
  GQueue replies;                  /* ReplyEntry, oldest first */
  guint32 next_request_id;         /* v2: every request gets the next id */
  gboolean sent_has_id;            /* the last request sent had an id ... */
  guint32 sent_request_id;         /* ... this one */
  gboolean answer_has_id;          /* the message being handled echoes a request id ... */
  guint32 answer_id;               /* ... this one */
  chat_request_error failure_code; /* of the failure being reported (signals) */
  gboolean reporting_failure;      /* a "notice" is a refused request's reason */

  ChatSessionTestState *test; /* NULL unless a test hook set it up */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_USER_ID,
  PROP_USERNAME,
  PROP_NICKNAME,
  PROP_UNREAD_TOTAL,
  PROP_LAST_ERROR,
  N_PROPS,
};

extern GParamSpec *chat_session_properties[N_PROPS];

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_LOGIN_FAILED,
  SIGNAL_REGISTER_DONE,
  SIGNAL_CONFIRM_SERVER_KEY,
  SIGNAL_SERVER_KEY_CHANGED,
  SIGNAL_KICKED,
  SIGNAL_FRIEND_REQUEST,
  SIGNAL_ROOM_CREATED,
  SIGNAL_NOTICE,
  SIGNAL_NEW_MESSAGE,
  SIGNAL_TRANSFER_PROGRESS,
  SIGNAL_ERROR,
  SIGNAL_ADD_FRIEND_RESULT,
  SIGNAL_JOIN_ROOM_RESULT,
  N_SIGNALS,
};

extern guint chat_session_signals[N_SIGNALS];

/* ---- chat-session.c: state and account ---- */
void chat_session_set_state(ChatSession *self, ChatSessionState state);
void chat_session_set_last_error(ChatSession *self, const char *message);
void chat_session_set_account(ChatSession *self, gint64 user_id, const char *username,
                              const char *nickname);
void chat_session_pending_clear(PendingAction *pending);
void chat_session_pending_set(ChatSession *self, ActionKind kind, const char *username,
                              const char *password, const char *nickname);
void chat_session_clear_resume_token(ChatSession *self);
/* Forgets everything about the logged-in account: another account logs
 * in, or the user logged out. */
void chat_session_reset_account(ChatSession *self);

/* ---- chat-session-contacts.c ---- */
ContactState *chat_session_find_state(ChatSession *self, ChatContactKind kind, gint64 id);
/* The state of a contact object the session lists, or NULL. */
ContactState *chat_session_state_of(ChatSession *self, ChatContact *contact);
/* The ContactState table's value destructor. */
void chat_session_contact_state_free(gpointer data);
void chat_session_update_unread_total(ChatSession *self);
/* Takes a contact out of the session (the list, the table). */
void chat_session_drop_state(ChatSession *self, ContactState *st);
/* Disconnects from every listed contact (before dropping them all). */
void chat_session_unwatch_all(ChatSession *self);
/* A friend (from an @user) not listed by the session, e.g. a requester. */
ChatContact *chat_session_contact_from_user(const chat_msg_user *user);
/* Adds or updates a contact. A new one is not yet in the list: it goes to
 * `added` when given, else into the list at once. */
ContactState *chat_session_upsert_contact(ChatSession *self, const chat_msg_contact *contact,
                                          GPtrArray *added);
/* A bundle's contacts: begin, upsert each (added), end. Contacts the
 * bundle did not name are gone (unfriended, left). */
void chat_session_begin_contact_merge(ChatSession *self);
void chat_session_end_contact_merge(ChatSession *self, GPtrArray *added);
ChatConversation *chat_session_ensure_conversation(ChatSession *self, ContactState *st);
ChatMessageItem *chat_session_item_from_notice(ChatSession *self, const ChatWireNotice *n);
/* The contact's last message becomes item's (always for live messages;
 * only when newer for history). */
void chat_session_show_as_last(ContactState *st, ChatMessageItem *item, gboolean only_if_newer);
/* The contact a notice belongs to, from this user's side. */
ContactState *chat_session_state_of_notice(ChatSession *self, const ChatWireNotice *n);
void chat_session_send_mark_read(ChatSession *self, ContactState *st);
void chat_session_request_page(ChatSession *self, ContactState *st, gint64 before_id);

/* ---- chat-session-outbox.c ---- */
/* Sends a request, taking the message. A failure is only logged: the
 * connection's `closed` follows and handles it. */
gboolean chat_session_send_request(ChatSession *self, GBytes *message);
ReplyEntry *chat_session_expect_reply(ChatSession *self, ReplyKind kind);
/* Removes and returns the oldest expected reply of a kind (for a target
 * when target_id is not 0), or NULL. */
ReplyEntry *chat_session_settle_reply(ChatSession *self, ReplyKind kind,
                                      ChatContactKind target_kind, gint64 target_id);
/* Removes and returns the expected reply of a request id (v2), or NULL. */
ReplyEntry *chat_session_take_reply_by_id(ChatSession *self, guint32 request_id);
/* Frees a reply taken off the queue that will not come (a fetch_history
 * stops its conversation loading). */
void chat_session_abandon_reply(ChatSession *self, ReplyEntry *reply);
void chat_session_clear_replies(ChatSession *self);
/* Only when logged in; otherwise tells the user. */
gboolean chat_session_require_online(ChatSession *self);
void chat_session_outbox_entry_free(OutboxEntry *entry);
void chat_session_clear_outbox(ChatSession *self);
void chat_session_fail_entry(ChatSession *self, OutboxEntry *entry, const char *reason);
/* Why an image item cannot go out (over the server's announced limit, or
 * the default one when none was announced); NULL when it can. */
char *chat_session_refuse_image(ChatSession *self, ChatMessageItem *item);
/* Puts a new outgoing item in its conversation and the outbox. */
void chat_session_send_item(ChatSession *self, ContactState *st, ChatMessageItem *item);
void chat_session_queue_item(ChatSession *self, ChatMessageItem *item);
void chat_session_flush_outbox(ChatSession *self);
/* The outbox entry a sender's copy acknowledges, or NULL. */
OutboxEntry *chat_session_sent_entry(ChatSession *self, const ChatWireNotice *n);
/* The sender's copy of an outbox entry arrived: the server stored it. */
void chat_session_acknowledge(ChatSession *self, OutboxEntry *entry, const ChatWireNotice *n);
/* The connection dropped: sends in flight go out again (v2) or fail (seed). */
void chat_session_outbox_connection_lost(ChatSession *self);

/* ---- chat-session-handlers.c ---- */
/* One message from the server. FALSE when it must not be acted on (the
 * connection is then dropped: spec/protocol.md section 6). */
gboolean chat_session_handle_plaintext(ChatSession *self, chat_dialect dialect, const guint8 *data,
                                       gsize len);

/* ---- chat-session-connection.c ---- */
gboolean chat_session_is_connected(ChatSession *self);
/* Drops the connection we hold, without hearing from it again. */
void chat_session_release_connection(ChatSession *self);
/* Logging out: a v2 connection lets what was sent go out, then closes by
 * itself; a seed one is dropped. */
void chat_session_retire_connection(ChatSession *self);
void chat_session_cancel_dial(ChatSession *self);
void chat_session_cancel_reconnect(ChatSession *self);
/* Runs a scheduled reconnect attempt now; FALSE when none is scheduled. */
gboolean chat_session_reconnect_now(ChatSession *self);
/* The connection is gone (closed by the server, lost, kicked, refused).
 * may_reconnect: FALSE when the server broke the protocol. */
void chat_session_lost_connection(ChatSession *self, const char *reason, gboolean may_reconnect);
void chat_session_fill_dial_options(ChatSession *self, ChatDialOptions *o);
/* The user asked for something that needs the server: connects if
 * needed, then runs the pending action. */
void chat_session_go(ChatSession *self);

/* ---- chat-session-test.c ---- */
/* With a test capture: records message and, offline, stands in for the
 * network. TRUE when it handled the send (*ok and error then tell the
 * outcome); FALSE: the send goes to the connection. */
gboolean chat_session_test_intercept(ChatSession *self, GBytes *message, gboolean *ok,
                                     GError **error);

G_END_DECLS
