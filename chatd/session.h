/* One client connection of chatd: its channel, who is logged in on it, and
 * the order of what goes in and out.
 *
 * Requests are handled one at a time in arrival order. A handler that waits
 * for something (a password hash, a database read) blocks the session: later
 * requests wait in its inbox. Replies keep request order through the outbox:
 * a handler that answers later reserves a slot, and what is sent to the
 * session after that waits behind the slot until it is released. When
 * nothing is waiting, messages go straight to the connection (the common
 * case costs no allocation). */
#pragma once

#include <glib.h>

#include "chatd/directory.h"
#include "protocol/io/io-connection.h"
#include "protocol/message.h"
#include "protocol/request-error.h"
#include "protocol/value.h"

G_BEGIN_DECLS

typedef struct _ChatdServer ChatdServer;
typedef struct _ChatdSlot ChatdSlot;

/* Requests that may wait in a blocked session's inbox, and their bytes. */
#define CHATD_SESSION_MAX_INBOX 256
/* Reply slots that may be open at once. */
#define CHATD_SESSION_MAX_OPEN_SLOTS 4096

/* The request an answer belongs to (spec/protocol.md 5.7): its type and, in
 * v2, the request id its answers echo. */
typedef struct {
  guint32 type;
  gboolean has_id;
  guint32 id;
} ChatdRequest;

/* Everything here belongs to chatd's main thread, except connection,
 * which lives on the I/O thread `loop` runs (session-io.h). */
struct _ChatdSession {
  guint ref_count;
  ChatdServer *server;
  ChatIoConnection *connection; /* NULL once released */
  ChatIoLoop *loop;             /* the connection's */
  guint io_thread;              /* its index in server.io_threads (0: the main thread) */
  char *peer;                   /* "ip:port", for logs */
  char *address;                /* the limiter's name of the peer's address (attempts.h) */
  chat_dialect dialect;
  gboolean established;
  gboolean closed;
  /* The request being handled: set while its handler runs and, when the
   * handler blocks the session, until the session is unblocked (no other
   * request is handled meanwhile). Answers sent outside that time go
   * through a slot, which keeps the request it was reserved for. */
  ChatdRequest request;
  ChatdUser *user;       /* logged in as, or NULL */
  gint64 history_cutoff; /* messages up to this id came in the login bundle */
  gint64 logged_in_ms;   /* when the user logged in (wall clock), 0 before */
  /* In a cluster, a seed login's live messages wait here (copies of their
   * records) until its login bundle is sent: the bundle then carries what
   * the store had, and these only what is newer (login.c). NULL otherwise. */
  GPtrArray *held;
  guint8 token_hash[32]; /* v2 resume token of this login */
  gboolean has_token;
  guint blocked;
  GQueue inbox; /* GBytes* requests waiting while blocked */
  gsize inbox_bytes;
  GQueue outbox; /* ChatdSlot* in sending order */
  guint open_slots;
  ChatIoTimer login_timer; /* server.login_timeout, until the login */
  guint login_timeout_s;   /* what login_timer was given */
  ChatIoTimer idle_timer;  /* server.idle_timeout, once logged in */
  ChatIoTimer pause_timer; /* chatd_session_pause: ends the pause */
  gboolean paused;
  gint64 last_request_us; /* monotonic time of the last request */
  GList link;             /* in the server's session list, until closed */
  GList live_link;        /* in the server's live list, until the connection ended */
  GList prelogin_link;    /* in the server's pre-login list, until a login or the end */
};

/* A session for an accepted socket (fd, now the session's), whose
 * connection will run on loop. Start it with chatd_session_io_start. */
ChatdSession *chatd_session_new(ChatdServer *server, int fd, const char *peer, ChatIoLoop *loop);
ChatdSession *chatd_session_ref(ChatdSession *session);
void chatd_session_unref(ChatdSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdSession, chatd_session_unref)

/* Closes the connection (gracefully: what is queued is still sent) and
 * detaches the user, telling friends and rooms. reason goes to the log. */
void chatd_session_close(ChatdSession *session, const char *reason);

/* ---- outgoing ---- */

/* Starts a message of `type` in the shared scratch buffer, in `dialect`;
 * write its one value with the returned writer, then send it with one of
 * the calls below. Only one message is built at a time. The message is
 * built without a request id: an answer gets its request's id when it is
 * sent (chatd_reply_send, chatd_reply_send_to_slot), a notification never
 * (chatd_notify_send, chatd_reply_bytes). */
chat_writer *chatd_reply_begin(chat_dialect dialect, guint32 type);
/* Appends bytes that already are an encoded value (an echo) to the scratch
 * message, instead of writing one with the writer. */
void chatd_reply_append_encoded(const guint8 *value, gsize len);
/* The finished message in the scratch buffer, without a request id (valid
 * until the next begin); FALSE (and a critical log) if encoding failed. */
gboolean chatd_reply_bytes(const guint8 **data, gsize *len);
/* Sends the scratch message to a session (in its outgoing order) as an
 * answer to the session's current request: with its request id. */
void chatd_reply_send(ChatdSession *session);
/* Sends the scratch message to a session as a notification: no request id,
 * whatever the session is doing. */
void chatd_notify_send(ChatdSession *session);
/* Begin in the session's dialect. */
chat_writer *chatd_session_begin(ChatdSession *session, guint32 type);
/* Sends bytes of a finished message to a session. */
void chatd_session_send_bytes(ChatdSession *session, const guint8 *data, gsize len);
/* Answers the current request with a failure: `code` from the one table
 * (protocol/request-error.h), reason the English text (NULL: the table's).
 * v2 gets request_failed; the seed dialect what the seed system sends for
 * it (login_failed, username_taken, add_friend_result [false, reason] for
 * add_friend's refusals, else general_failure reason). */
void chatd_session_send_failure(ChatdSession *session, chat_request_error code, const char *reason);
/* Answers the current request with a message whose parameters are null. */
void chatd_session_send_null(ChatdSession *session, guint32 type);

/* Reserves the next place in the session's outgoing order, for answers to
 * the current request. */
ChatdSlot *chatd_session_reserve(ChatdSession *session);
/* Sends the scratch message into a reserved slot, as an answer to the
 * slot's request. */
void chatd_reply_send_to_slot(ChatdSession *session, ChatdSlot *slot);
void chatd_slot_send_failure(ChatdSession *session, ChatdSlot *slot, chat_request_error code,
                             const char *reason);
/* The slot is complete: it and what waits behind it go out. */
void chatd_session_release(ChatdSession *session, ChatdSlot *slot);

/* What a handler keeps while the store works on a request: a reference to
 * the session and the slot its reply goes into. */
typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
} ChatdPendingReply;

/* Takes a reference to session and reserves a slot. */
void chatd_pending_reply_init(ChatdPendingReply *reply, ChatdSession *session);
/* Releases the slot (chatd_session_release()) and drops the reference. */
void chatd_pending_reply_clear(ChatdPendingReply *reply);

/* ---- request order ---- */
void chatd_session_block(ChatdSession *session);
/* Handles none of the session's requests for ms (they wait in its bounded
 * inbox): what a peer whose attempts were refused gets, so that a flood of
 * them costs chatd one request per pause per connection. A pause already
 * running is not extended. */
void chatd_session_pause(ChatdSession *session, guint ms);
/* Undoes one block; when none is left, handles the waiting requests. */
void chatd_session_unblock(ChatdSession *session);

/* ---- what the connection says (main thread; see session-io.h) ---- */
void chatd_session_established(ChatdSession *session, chat_dialect dialect);
void chatd_session_received(ChatdSession *session, const guint8 *data, gsize len);
/* The connection is over (reason NULL: cleanly); the session's last event. */
void chatd_session_ended(ChatdSession *session, const GError *reason);

/* Sends an encoded message shared by many sessions (fan-out). */
void chatd_session_send_shared(ChatdSession *session, GBytes *message);

/* ---- login state ---- */
/* Closes a logged-in connection because its user logged in again, `where`
 * (an address, or another node): it gets server_kick first. Its user is
 * detached without an offline announcement (the user is online
 * elsewhere). */
void chatd_session_kick(ChatdSession *old, const char *where);
/* Makes `user` the session's user (kicking a connection that had it) and
 * marks the user online. Returns the session that was kicked, if any. */
void chatd_session_attach_user(ChatdSession *session, ChatdUser *user);

G_END_DECLS
