/* How a session and its connection talk across threads.
 *
 * A session (session.h) lives on chatd's main thread, with the directory,
 * the handlers and the store's completions. Its connection
 * (protocol/io/io-connection.h) lives on one of the I/O threads
 * (server.io_threads; the main thread is the first of them). When both are
 * on the main thread they call each other directly; otherwise every call
 * goes through the other thread's mailbox, in order, and no lock is held
 * while anything is sent:
 *
 *   connection -> session (main mailbox): established, each message (a
 *     copy), and last closed. Nothing comes after closed.
 *   session -> connection (its loop's mailbox): start, send (a copy, or a
 *     reference to a shared encoded message for fan-out), close, and last
 *     release (the session's reference). Nothing is posted after release,
 *     so the connection outlives every task that names it.
 *
 * A session holds a reference of its own for its connection's callbacks;
 * chatd_session_io_ended drops it. */
#pragma once

#include <glib.h>

#include "chatd/session.h"
#include "protocol/io/io-connection.h"

G_BEGIN_DECLS

/* The callbacks of every chatd connection; user data is the session. */
extern const ChatIoCallbacks chatd_session_io_callbacks;

/* Starts the session's connection on its loop. */
void chatd_session_io_start(ChatdSession *session);
/* Queues a message (copied) for the session's peer. */
void chatd_session_io_send(ChatdSession *session, const guint8 *data, gsize len);
/* Queues an encoded message shared by many sessions (a room post): the
 * bytes are not copied across threads. */
void chatd_session_io_send_shared(ChatdSession *session, GBytes *message);
/* The peer logged in: its connection gets the configured limits
 * (server.max_message_size, max_queue_bytes) instead of the pre-login ones,
 * before anything sent after this call. */
void chatd_session_io_raise_limits(ChatdSession *session);
/* Closes the connection (gracefully: what is queued still goes out). */
void chatd_session_io_close(ChatdSession *session, gboolean graceful);
/* Drops the session's reference to its connection: the last call. */
void chatd_session_io_release(ChatdSession *session);

G_END_DECLS
