/* Sessions and connections across threads; see session-io.h.
 *
 * Which thread runs what: every function named on_io_* runs on the
 * connection's I/O thread and reads only what does not change after the
 * session was made (its server, its loop); every task_* runs on the thread
 * it was posted to; everything else runs on the main thread. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/session-io.h"

#include <string.h>

#include "chatd/server-private.h"
#include "protocol/messages.h"

/* The code posted with `closed` when the end was clean (no GError). */
#define CLEAN_END (-1)

static gboolean connection_on_main_thread(ChatdSession *s) {
  return s->loop == s->server->main_loop;
}

/* ---- connection -> session (from the I/O thread) ---- */

static void task_established(gpointer target, const guint8 *data, gsize len) {
  (void)len;
  chatd_session_established(target, data[0]);
}

/* A v2 client-info (spec 7.3): logs the client's name, and refuses a
 * client that accepts smaller messages than this server may send (its
 * max_message under server.max_message_size): chatd cannot promise to send
 * less, so the client would fail later, at a random large message. The
 * refusal is a CLOSE record right after the handshake; the client knows
 * why from the server-info. FALSE when refused. */
static gboolean client_info_acceptable(ChatdSession *s, ChatIoConnection *connection) {
  gsize len = 0;
  const guint8 *data = chat_io_connection_get_client_info(connection, &len);
  if (data == NULL || len == 0)
    return TRUE;
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_client_info info;
  gboolean ok = TRUE;
  if (chat_msg_client_info_decode(data, len, &arena, &info)) {
    if (info.has_client) {
      g_autofree char *name = g_strndup(info.client.ptr, MIN(info.client.len, 64u));
      g_autofree char *printable = g_strescape(name, NULL);
      g_debug("%s: client \"%s\"", s->peer, printable);
    }
    gsize server_max = s->server->config->max_message_size;
    if (info.has_max_message && info.max_message < server_max) {
      g_message("%s: refused: the client accepts messages of at most %" G_GUINT64_FORMAT
                " bytes; this server sends up to %zu (server.max_message_size)",
                s->peer, info.max_message, server_max);
      ok = FALSE;
    }
  }
  chat_arena_clear(&arena);
  return ok;
}

static void on_io_established(ChatIoConnection *connection, gpointer user_data) {
  ChatdSession *s = user_data;
  guint8 dialect = chat_io_connection_get_dialect(connection);
  if (dialect == CHAT_DIALECT_V2 && !client_info_acceptable(s, connection)) {
    chat_io_connection_close(connection, TRUE);
    return;
  }
  if (connection_on_main_thread(s))
    chatd_session_established(s, dialect);
  else
    chat_io_loop_post(s->server->main_loop, task_established, s, &dialect, sizeof dialect);
}

static void task_message(gpointer target, const guint8 *data, gsize len) {
  chatd_session_received(target, data, len);
}

static void on_io_message(ChatIoConnection *connection, const guint8 *data, gsize len,
                          gpointer user_data) {
  ChatdSession *s = user_data;
  (void)connection;
  if (connection_on_main_thread(s))
    chatd_session_received(s, data, len);
  else
    chat_io_loop_post(s->server->main_loop, task_message, s, data, len);
}

static void task_closed(gpointer target, const guint8 *data, gsize len) {
  gint32 code;
  memcpy(&code, data, sizeof code);
  g_autofree char *message = g_strndup((const char *)data + sizeof code, len - sizeof code);
  g_autoptr(GError) reason =
      code == CLEAN_END ? NULL : g_error_new_literal(CHAT_CONNECTION_ERROR, code, message);
  chatd_session_ended(target, reason);
}

static void on_io_closed(ChatIoConnection *connection, const GError *reason, gpointer user_data) {
  ChatdSession *s = user_data;
  (void)connection;
  if (connection_on_main_thread(s)) {
    chatd_session_ended(s, reason);
    return;
  }
  /* code, then the message's bytes */
  gint32 code = reason != NULL ? reason->code : CLEAN_END;
  gsize message_len = reason != NULL ? strlen(reason->message) : 0;
  g_autofree guint8 *packed = g_malloc(sizeof code + message_len);
  memcpy(packed, &code, sizeof code);
  if (message_len > 0)
    memcpy(packed + sizeof code, reason->message, message_len);
  chat_io_loop_post(s->server->main_loop, task_closed, s, packed, sizeof code + message_len);
}

const ChatIoCallbacks chatd_session_io_callbacks = {
    .established = on_io_established,
    .message = on_io_message,
    .closed = on_io_closed,
};

/* ---- session -> connection (from the main thread) ---- */

static void send_now(ChatIoConnection *connection, const guint8 *data, gsize len) {
  g_autoptr(GError) error = NULL;
  if (chat_io_connection_send(connection, data, len, &error))
    return;
  /* A slow reader or a failed channel closes itself and says why in its
   * `closed`; a closed one needs nothing. A message over the limit is
   * ours: say so and end the session, whose peer would wait forever. */
  if (g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE)) {
    g_warning("%s", error->message);
    chat_io_connection_close(connection, TRUE);
  }
}

static void task_start(gpointer target, const guint8 *data, gsize len) {
  (void)data, (void)len;
  chat_io_connection_start(target);
}

void chatd_session_io_start(ChatdSession *s) {
  if (connection_on_main_thread(s))
    chat_io_connection_start(s->connection);
  else
    chat_io_loop_post(s->loop, task_start, s->connection, NULL, 0);
}

static void task_send(gpointer target, const guint8 *data, gsize len) {
  send_now(target, data, len);
}

void chatd_session_io_send(ChatdSession *s, const guint8 *data, gsize len) {
  if (connection_on_main_thread(s))
    send_now(s->connection, data, len);
  else
    chat_io_loop_post(s->loop, task_send, s->connection, data, len);
}

static void task_send_shared(gpointer target, const guint8 *data, gsize len) {
  GBytes *message;
  (void)len;
  memcpy(&message, data, sizeof message);
  gsize message_len;
  const guint8 *bytes = g_bytes_get_data(message, &message_len);
  send_now(target, bytes, message_len);
  g_bytes_unref(message);
}

void chatd_session_io_send_shared(ChatdSession *s, GBytes *message) {
  if (connection_on_main_thread(s)) {
    gsize len;
    const guint8 *data = g_bytes_get_data(message, &len);
    send_now(s->connection, data, len);
    return;
  }
  g_bytes_ref(message); /* the task's; GBytes counts atomically */
  chat_io_loop_post(s->loop, task_send_shared, s->connection, &message, sizeof message);
}

typedef struct {
  gsize max_message;
  gsize max_queue;
} Limits;

static void task_raise_limits(gpointer target, const guint8 *data, gsize len) {
  Limits limits;
  (void)len;
  memcpy(&limits, data, sizeof limits);
  chat_io_connection_set_limits(target, limits.max_message, limits.max_queue);
}

void chatd_session_io_raise_limits(ChatdSession *s) {
  Limits limits = {s->server->config->max_message_size, s->server->config->max_queue_bytes};
  if (connection_on_main_thread(s))
    chat_io_connection_set_limits(s->connection, limits.max_message, limits.max_queue);
  else
    chat_io_loop_post(s->loop, task_raise_limits, s->connection, &limits, sizeof limits);
}

static void task_close(gpointer target, const guint8 *data, gsize len) {
  (void)len;
  chat_io_connection_close(target, data[0]);
}

void chatd_session_io_close(ChatdSession *s, gboolean graceful) {
  if (connection_on_main_thread(s)) {
    chat_io_connection_close(s->connection, graceful);
    return;
  }
  guint8 flag = graceful ? 1 : 0;
  chat_io_loop_post(s->loop, task_close, s->connection, &flag, sizeof flag);
}

static void task_release(gpointer target, const guint8 *data, gsize len) {
  (void)data, (void)len;
  chat_io_connection_unref(target);
}

void chatd_session_io_release(ChatdSession *s) {
  ChatIoConnection *connection = g_steal_pointer(&s->connection);
  if (connection == NULL)
    return;
  if (connection_on_main_thread(s))
    chat_io_connection_unref(connection);
  else
    chat_io_loop_post(s->loop, task_release, connection, NULL, 0);
}
