/* ChatSession: the client's state, without any GTK. It dials the server
 * (protocol/gio/chat-dial.h), logs in, keeps the contacts and conversations
 * up to date from what the server sends, queues outgoing messages in an
 * outbox that survives reconnects (each with a client_msg_id, so a resend
 * is never delivered twice), and reconnects with backoff using the resume
 * token. The GTK windows only bind to its models and call its actions; the
 * model tests drive it without a display.
 *
 * All signals are emitted on the thread-default GMainContext of the thread
 * that created the session. */
#pragma once

#include <gio/gio.h>

#include "gtk-client/core/chat-contact.h"
#include "gtk-client/core/chat-conversation.h"
#include "protocol/known-hosts.h"
#include "protocol/message.h"
#include "protocol/request-error.h"

G_BEGIN_DECLS

typedef enum {
  CHAT_SESSION_DISCONNECTED, /* not connected; see last error */
  CHAT_SESSION_CONNECTING,   /* dialling or handshaking */
  CHAT_SESSION_CONNECTED,    /* handshake done, not logged in */
  CHAT_SESSION_LOGGING_IN,
  CHAT_SESSION_ONLINE,       /* logged in */
  CHAT_SESSION_RECONNECTING, /* lost the connection; retrying with backoff */
} ChatSessionState;

#define CHAT_TYPE_SESSION_STATE (chat_session_state_get_type())
GType chat_session_state_get_type(void);

/* The client core's own errors (other failures keep their domains:
 * G_IO_ERROR for files, CHAT_DIAL_ERROR for dialling). */
#define CHAT_SESSION_ERROR (chat_session_error_quark())
GQuark chat_session_error_quark(void);

typedef enum {
  CHAT_SESSION_ERROR_CONFIG,    /* the config file holds a bad value (the message names it) */
  CHAT_SESSION_ERROR_NO_SERVER, /* no server is configured, or seed without a DH group */
  CHAT_SESSION_ERROR_ENCODE,    /* a message cannot be encoded (over the protocol's limits) */
} ChatSessionError;

/* Where to connect; loaded from the shared config.json by
 * chat_session_options_load() or filled by hand (tests). The strings are
 * owned by the struct (chat_session_options_clear frees them). */
typedef struct {
  char *host; /* with servers: the first one's (chat_session_new sets it) */
  guint16 port;
  /* client.servers: "host:port" strings ("[::1]:8111"), the servers of one
   * deployment, NULL-terminated; NULL: host and port alone. They are tried
   * in order; after a lost connection the session resumes on the next one
   * after the server it lost, wrapping around. They share one server key:
   * the pin (known_hosts) and the saved resume tokens are kept under the
   * first one. */
  char **servers;
  chat_dialect dialect;
  char *crypto_base; /* seed dialect: decimal digits */
  char *crypto_modulus;
  chat_pin_policy pin_policy; /* the GUI's default is ASK */
  char *pinned_key;           /* optional */
  char *known_hosts_path;     /* NULL: the default */
  char *state_dir;            /* resume tokens and outbox; NULL: XDG data dir/chat */
} ChatSessionOptions;

/* Reads client.server_ip, client.server_port (or client.servers),
 * client.dialect, client.pin,
 * client.server_key and crypto.* from a config.json (our exact JSON parser).
 * Defaults: dialect v2, pin policy ask. *options is overwritten (clear it
 * first if it held strings); on failure it is left cleared.
 * Errors: G_IO_ERROR_* (unreadable), CHAT_SESSION_ERROR_CONFIG (bad value,
 * the message names the key). */
gboolean chat_session_options_load(ChatSessionOptions *options, const char *config_path,
                                   GError **error);
void chat_session_options_clear(ChatSessionOptions *options);

#define CHAT_TYPE_SESSION (chat_session_get_type())
G_DECLARE_FINAL_TYPE(ChatSession, chat_session, CHAT, SESSION, GObject)

/* options is copied. */
ChatSession *chat_session_new(const ChatSessionOptions *options);

/* ---- connecting and logging in ----
 * Results arrive as signals: "state-changed", "login-failed",
 * "register-done", "error". */
void chat_session_login(ChatSession *self, const char *username, const char *password);
void chat_session_register(ChatSession *self, const char *username, const char *password,
                           const char *nickname);
/* After "confirm-server-key": the user accepted (records the key and dials
 * again) or refused. */
void chat_session_trust_server(ChatSession *self, const char *fingerprint, gboolean accept);
/* Logs out (v2: revokes the resume token) and disconnects. */
void chat_session_logout(ChatSession *self);
/* v2: logs in with the resume token saved at username's last login on
 * this server (state_dir), without the password. FALSE (nothing done)
 * when no token is saved; an expired token ends in "login-failed". */
gboolean chat_session_resume(ChatSession *self, const char *username);

ChatSessionState chat_session_get_state(ChatSession *self);
/* Why the session last went DISCONNECTED against the user's will (the
 * "error" signal's text), or NULL. */
const char *chat_session_get_last_error(ChatSession *self);
/* "host:port" of the server the session is connected to, or was last
 * connected to (with client.servers, one of the list); "" before the
 * first connection. */
const char *chat_session_get_server_address(ChatSession *self);
/* The error code (v2, spec/protocol.md 5.7) of the failure the session is
 * reporting: valid while "login-failed", "add-friend-result" and "notice"
 * are emitted for a refused request; CHAT_REQUEST_ERROR_UNKNOWN when the
 * failure has no code (the seed dialect, a text the session wrote, any
 * other time). A UI shows its own text for the code, else the reason. */
chat_request_error chat_session_get_failure_code(ChatSession *self);
/* Whether the "notice" being emitted is the reason a request was refused
 * (an error to show as one), not a message from the server. */
gboolean chat_session_is_reporting_failure(ChatSession *self);
/* The logged-in user's id, username, nickname (0 / NULL when offline). */
gint64 chat_session_get_user_id(ChatSession *self);
const char *chat_session_get_username(ChatSession *self);
const char *chat_session_get_nickname(ChatSession *self);

/* ---- the models ---- */
/* Friends and rooms in one list (ChatContact items), sorted by the time of
 * the last message, newest first (contacts without messages last, by
 * name). Owned by the session. */
GListModel *chat_session_get_contacts(ChatSession *self);
/* The contact for a friend (CHAT_CONTACT_FRIEND, user id) or a room. NULL
 * when unknown. */
ChatContact *chat_session_find_contact(ChatSession *self, ChatContactKind kind, gint64 id);
/* The sum of the contacts' unread counts. Also the "unread-total" property. */
guint chat_session_get_unread_total(ChatSession *self);
/* The conversation with a contact (created on first use; history pages in
 * on demand: v2 fetches the newest page at once). Owned by the session.
 * NULL for a contact the session does not list (e.g. a friend request). */
ChatConversation *chat_session_get_conversation(ChatSession *self, ChatContact *contact);
/* Pending friend requests (ChatContact items of kind FRIEND, not yet
 * friends), oldest first. */
GListModel *chat_session_get_friend_requests(ChatSession *self);

/* The largest image the server accepts in a message, in bytes, as its
 * v2 handshake announced it (server-info max_image) on the last
 * connection; 0 when it did not say (seed, an older server): then only
 * the protocol's own limit applies. */
gsize chat_session_get_max_image(ChatSession *self);

/* ---- actions ---- */
/* Queues a text / an image for a contact: it appears at once in the
 * conversation as pending, goes out when online, and becomes sent when the
 * server's acknowledgement arrives. An image larger than
 * chat_session_get_max_image() (when announced) is refused here: it
 * appears as FAILED, its error saying the server's limit. */
void chat_session_send_text(ChatSession *self, ChatContact *to, const char *text, int font_size,
                            const char *font_color);
void chat_session_send_image(ChatSession *self, ChatContact *to, GBytes *image);
/* Asks for the conversation's next older page (no-op while loading or at
 * the start of history). */
void chat_session_load_older(ChatSession *self, ChatConversation *conversation);
/* Marks everything shown in a conversation read (on the server in v2; the
 * contact's badge goes to 0 at once). */
void chat_session_mark_read(ChatSession *self, ChatContact *contact);
/* Whether the user is looking at the conversation (its window is visible
 * and focused). While open, incoming messages do not count as unread (v2:
 * they are marked read on the server as they arrive). Opening marks the
 * conversation read. */
void chat_session_set_conversation_open(ChatSession *self, ChatContact *contact, gboolean open);
/* Queues a FAILED outgoing item again (same client_msg_id). */
void chat_session_retry(ChatSession *self, ChatMessageItem *item);
/* add_friend and join_room return TRUE when the request went out: its
 * "add-friend-result" / "join-room-result" follows, unless the connection
 * is lost first (the state leaves ONLINE). */
gboolean chat_session_add_friend(ChatSession *self, const char *username);
/* accept TRUE / FALSE; "later" is simply not calling this (asked again at
 * the next login). */
void chat_session_answer_friend_request(ChatSession *self, ChatContact *requester, gboolean accept);
gboolean chat_session_join_room(ChatSession *self, gint64 room_id);
void chat_session_create_room(ChatSession *self, const char *name);
/* Asks for a room's members; the answer fills chat_contact_get_members(). */
void chat_session_query_members(ChatSession *self, ChatContact *room);

/* Properties (read-only, notify): state (ChatSessionState), user-id,
 * username, nickname, unread-total (guint), last-error.
 *
 * Signals:
 *  state-changed ()                         chat_session_get_state() changed
 *  error (const char *message)              the server cannot be reached, the
 *                                           connection was lost without a way
 *                                           back (seed), or the server broke
 *                                           the protocol: state is
 *                                           DISCONNECTED; offer to retry
 *  add-friend-result (gboolean ok, const char *reason)
 *                                           the answer to add_friend (reason
 *                                           "" when ok); "notice" follows
 *  join-room-result (gint64 room_id, gboolean ok, const char *reason)
 *                                           the answer to join_room (reason
 *                                           "" when ok; the room is listed
 *                                           by then); "notice" follows a
 *                                           failure
 *  login-failed (const char *reason)        wrong password, username taken, ...
 *  register-done (gint64 user_id)
 *  confirm-server-key (const char *host_port, const char *fingerprint)
 *                                           policy ask, first connection
 *  server-key-changed (const char *message) the pinned key differs: refused
 *                                           (the message shows both fingerprints)
 *  kicked (const char *reason, const char *address, gint64 time_ms)
 *                                           logged in elsewhere (seed: no
 *                                           address, time 0)
 *  friend-request (ChatContact *requester)
 *  room-created (ChatContact *room)         with its number in chat_contact_get_id
 *  notice (const char *text)                general_msg / a failure's text /
 *                                           add_friend_result text for the user
 *  new-message (ChatContact *contact, ChatMessageItem *item)
 *                                           an incoming message (for notifications)
 *  transfer-progress (ChatMessageItem *item, double fraction)
 *                                           an image being sent. The adapter
 *                                           does not report bytes written, so
 *                                           this is 0.0 when queued and 1.0
 *                                           when acknowledged, nothing between
 */

G_END_DECLS
