/* One chatctl invocation's conversation with the server: read the config,
 * dial (connect, handshake, check the server key), log in, then send
 * requests and wait for their answers, while keeping every other message
 * that arrives queued as an event (for `watch`).
 *
 * Everything runs on the thread-default GMainContext: the waits iterate it
 * until the wanted message arrives, the server refuses (v2 request_failed,
 * seed general_failure), the connection closes, or the time is up. In v2
 * every request carries a request id (spec/protocol.md 5.7) and only the
 * messages that echo it are its answers; in seed, what arrives after the
 * request is sent (the server answers in order). Every function that can fail
 * prints the reason on stderr ("chatctl: ...") and returns the exit status
 * (chatctl/exit-status.h), so a command can `return status;` as it is.
 *
 * Logging in (v2): the cached resume token of the server and user is tried
 * first (chatctl/token-cache.h); when the server refuses it (login_failed)
 * the cache entry is deleted and the password is used (chatctl/password.h).
 * The session_bundle's fresh token is cached. The seed dialect always uses
 * the password. */
#ifndef CHATCTL_SESSION_H
#define CHATCTL_SESSION_H

#include <glib.h>

#include "chatctl/client-config.h"
#include "chatctl/command.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"
#include "protocol/request-error.h"
#include "protocol/value.h"

/* How long to wait for an answer of the server. */
#define CHATCTL_REPLY_TIMEOUT_MS 10000u
/* The largest message accepted from the server (the largest a chatd can be
 * configured to send: a seed login_bundle carries the whole history). */
#define CHATCTL_MAX_MESSAGE_BYTES ((gsize)CHAT_SEED_MAX_MESSAGE_RECEIVED)
/* The largest message a seed server takes: its decoder's bytes limit. */
#define CHATCTL_SEED_MAX_MESSAGE_BYTES ((gsize)CHAT_DEFAULT_MAX_BYTES_LEN)
/* No deadline, for chatctl_session_next_event. */
#define CHATCTL_NO_DEADLINE 0

/* One message from the server, decoded and checked against the catalogue. */
typedef struct {
  guint32 type;
  const chat_message_info *info;
  chat_value *params;      /* in arena */
  gboolean has_request_id; /* v2: the answer to the request of that id */
  guint32 request_id;
  gint64 received_ms; /* wall clock, ms since the epoch */
  guint64 seq;        /* arrival order, from 1 */
  chat_arena arena;
} chatctl_message;

void chatctl_message_free(chatctl_message *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(chatctl_message, chatctl_message_free)

enum {
  CHATCTL_SESSION_LOGIN = 1u << 0,     /* log in as --user (resume, else password) */
  CHATCTL_SESSION_NEED_USER = 1u << 1, /* --user is required (implied by LOGIN) */
  CHATCTL_SESSION_V2_ONLY = 1u << 2,   /* refuse the seed dialect (usage error) */
};

typedef struct chatctl_session chatctl_session;

/* Reads the config, dials and (with CHATCTL_SESSION_LOGIN) logs in. Returns
 * 0 and *out, or an exit status (the reason printed). */
int chatctl_session_open(const chatctl_command *command, const chatctl_globals *globals,
                         unsigned flags, chatctl_session **out);

/* The same, with the password already read (passwd reads it before
 * connecting, to need it only once): used when the cached token does not
 * log in. password may be NULL; it is not kept. */
int chatctl_session_open_with_password(const chatctl_command *command,
                                       const chatctl_globals *globals, unsigned flags,
                                       const char *password, chatctl_session **out);

/* A username as the server normalises it (trimmed, lower case), or NULL
 * when it is not UTF-8 or empty. Free it. */
char *chatctl_normalize_username(const char *name);

/* What a command does once connected (and logged in): returns 0 or an exit
 * status. */
typedef int (*chatctl_session_job)(chatctl_session *session, const chatctl_globals *globals,
                                   gpointer data);

/* chatctl_session_open, then job, then chatctl_session_close: returns the
 * status of the open that failed, else job's. */
int chatctl_session_run(const chatctl_command *command, const chatctl_globals *globals,
                        unsigned flags, chatctl_session_job job, gpointer data);

/* Closes the connection gracefully (queued messages are written first),
 * waits for the close to complete and frees everything. NULL is fine. */
void chatctl_session_close(chatctl_session *session);

chat_dialect chatctl_session_dialect(const chatctl_session *session);
const chatctl_client_config *chatctl_session_config(const chatctl_session *session);
/* The --user name as the server normalises it (trimmed, lower case). */
const char *chatctl_session_username(const chatctl_session *session);

/* ---- logging in ---- */

/* Tries the cached token only. *resumed tells whether it worked; when the
 * server refuses it, the cache entry is removed. Returns 0 or a status. */
int chatctl_session_resume(chatctl_session *session, gboolean *resumed);
/* The cached token, else the password (see the top of the file). */
int chatctl_session_login(chatctl_session *session);
/* The token cache file of this server and user. */
const char *chatctl_session_token_path(const chatctl_session *session);

/* After a login: the user (@user), its id, the bundle (login_bundle or
 * session_bundle parameters) and the incoming_friend_request users that
 * came with the login (const chat_value *, @user). */
const chat_value *chatctl_session_user(const chatctl_session *session);
gint64 chatctl_session_user_id(const chatctl_session *session);
const chat_value *chatctl_session_bundle(const chatctl_session *session);
GPtrArray *chatctl_session_friend_requests(const chatctl_session *session);

/* Looks a friend up by username (normalised) in the bundle. */
gboolean chatctl_session_find_friend(const chatctl_session *session, const char *username,
                                     gint64 *id);
/* The friend's or room's name in the bundle (target_type 0 or 1), or NULL. */
const char *chatctl_session_contact_name(const chatctl_session *session, gint64 target_type,
                                         gint64 id);

/* The largest message the server takes: v2, the server-info's max_message
 * from the handshake; seed, CHATCTL_SEED_MAX_MESSAGE_BYTES. */
gsize chatctl_session_max_message(const chatctl_session *session);
/* The largest image the server takes (v2 server-info max_image), 0 when the
 * server does not say. */
gsize chatctl_session_max_image(const chatctl_session *session);

/* ---- requests ---- */

/* Starts a request: returns the writer for exactly one value, the
 * parameters. */
chat_writer *chatctl_session_begin(chatctl_session *session, guint32 type);
/* The writer of the request being built (as chatctl_session_begin gave). */
chat_writer *chatctl_session_writer(chatctl_session *session);
/* Finishes the request's encoding and returns its size in bytes (0 when it
 * could not be encoded: chatctl_session_send then says why). */
gsize chatctl_session_request_len(chatctl_session *session);
/* Sends it. Only what arrives after this counts as its answer. */
int chatctl_session_send(chatctl_session *session);

/* Decides whether a message of a wanted type is the answer. */
typedef gboolean (*chatctl_match_func)(const chatctl_message *message, gpointer data);

/* Waits (CHATCTL_REPLY_TIMEOUT_MS) for a message of one of types[0..n)
 * that answers the last request sent and that match accepts (match may be
 * NULL). Returns 0 and *reply (the caller frees it); when a failure comes
 * first (request_failed, general_failure, not itself wanted) the status of
 * chatctl_session_refused; _CONNECTION when the connection closes;
 * _TIMEOUT. Other messages stay queued. */
int chatctl_session_wait(chatctl_session *session, const guint32 *types, size_t n_types,
                         chatctl_match_func match, gpointer data, chatctl_message **reply);

/* A failure answer m (v2 request_failed: its code; seed general_failure)
 * as an exit status from the code's class (refused and bad_credentials: 1,
 * retry_later: CHATCTL_EXIT_RETRY; a code chatctl does not know: 1). Prints
 * "chatctl: <what>: <text> (<code>)" on stderr (what NULL: "the server
 * refused") and, with --json, {"error": code or null, "class": ..., "text":
 * ...} on stdout. */
int chatctl_session_refused(chatctl_session *session, const chatctl_message *m, const char *what);
/* With --json, prints a refusal's {"error", "class", "text"} on stdout
 * (what chatctl_session_refused prints), for a command that words the
 * failure itself. */
void chatctl_session_print_refusal(chatctl_session *session, const chatctl_message *m);
/* The code of a request_failed (CHAT_REQUEST_ERROR_UNKNOWN for any other
 * message). */
chat_request_error chatctl_message_error(const chatctl_message *m);

/* chatctl_session_send, then chatctl_session_wait for a message of type
 * answer that match accepts. Returns 0 and *reply, or a status (*reply
 * NULL). */
int chatctl_session_ask(chatctl_session *session, guint32 answer, chatctl_match_func match,
                        gpointer data, chatctl_message **reply);

/* A client_echo round trip: the server answers in order, so when the echo
 * comes back every earlier request is done. For requests that answer
 * nothing on success (rejecting a friend request). Returns 0 or a status. */
int chatctl_session_barrier(chatctl_session *session);

/* The next queued or arriving message, until deadline_us (monotonic time,
 * CHATCTL_NO_DEADLINE for none). Returns 0 and *event, _CONNECTION when the
 * connection closes (a kick is reported), _TIMEOUT at the deadline, or
 * CHATCTL_EXIT_OK with *event NULL when stop is set (by a signal). */
int chatctl_session_next_event(chatctl_session *session, gint64 deadline_us, const gboolean *stop,
                               chatctl_message **event);

#endif
