/* A client connection: request order, reply order, login state. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/session.h"

#include <string.h>
#include <unistd.h>

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/log-limit.h"
#include "chatd/presence.h"
#include "chatd/server-private.h"
#include "chatd/session-io.h"
#include "protocol/catalogue.h"
#include "protocol/messages.h"

/* Peers cause these lines (a bad request, a closed connection): their
 * number is bounded (log-limit.h), each kind of reason on its own, so a
 * flood of one kind does not hide the others. */
static ChatdLogLimit bad_requests = CHATD_LOG_LIMIT_INIT;

static const char *const close_kinds[] = {"handshake", "no login within", "no request for",
                                          "the server is full"};
static ChatdLogLimit close_lines[G_N_ELEMENTS(close_kinds) + 1] = {
    CHATD_LOG_LIMIT_INIT, CHATD_LOG_LIMIT_INIT, CHATD_LOG_LIMIT_INIT, CHATD_LOG_LIMIT_INIT,
    CHATD_LOG_LIMIT_INIT};

static ChatdLogLimit *close_limit(const char *reason) {
  for (guint i = 0; i < G_N_ELEMENTS(close_kinds); i++)
    if (strstr(reason, close_kinds[i]))
      return &close_lines[i];
  return &close_lines[G_N_ELEMENTS(close_kinds)];
}

struct _ChatdSlot {
  GByteArray *messages; /* each: u32 length (host order), then the bytes */
  gboolean released;
  ChatdRequest request; /* what the messages answer */
};

/* ---- the scratch buffer for building one message ---- */

/* The message starts CHAT_MESSAGE_REQUEST_ID_SIZE bytes into the buffer:
 * the spare bytes in front take the request id of an answer without moving
 * the message (chat_message_insert_request_id). The same message may go to
 * several sessions, with an id and without: scratch_header keeps the header
 * an id overwrites, to put it back. */
static chat_buffer scratch;
static chat_writer scratch_writer;
static chat_dialect scratch_dialect;
static gboolean scratch_has_id;
static guint8 scratch_header[CHAT_MESSAGE_REQUEST_ID_SIZE];
static const guint8 no_request_id[CHAT_MESSAGE_REQUEST_ID_SIZE];

chat_writer *chatd_reply_begin(chat_dialect dialect, guint32 type) {
  chat_buffer_reset(&scratch);
  chat_writer_init(&scratch_writer, &scratch);
  scratch_dialect = dialect;
  scratch_has_id = FALSE;
  if (chat_buffer_append(&scratch, no_request_id, sizeof no_request_id) != 0)
    scratch_writer.status = scratch.failure;
  chat_message_begin(&scratch_writer, dialect, type);
  return &scratch_writer;
}

void chatd_reply_append_encoded(const guint8 *value, gsize len) {
  if (scratch_writer.status == 0 && chat_buffer_append(&scratch, value, len) != 0)
    scratch_writer.status = scratch.failure;
}

static gboolean scratch_finished(void) {
  int rc = chat_writer_finish(&scratch_writer);
  if (rc != 0) {
    g_critical("cannot encode a reply: %s", chat_strerror(rc));
    return FALSE;
  }
  return TRUE;
}

gboolean chatd_reply_bytes(const guint8 **data, gsize *len) {
  if (!scratch_finished())
    return FALSE;
  if (scratch_has_id) {
    memcpy(scratch.data + CHAT_MESSAGE_REQUEST_ID_SIZE, scratch_header, sizeof scratch_header);
    scratch_has_id = FALSE;
  }
  *data = scratch.data + CHAT_MESSAGE_REQUEST_ID_SIZE;
  *len = scratch.len - CHAT_MESSAGE_REQUEST_ID_SIZE;
  return TRUE;
}

/* The finished message as an answer to request: with its id, if any. */
static gboolean answer_bytes(const ChatdRequest *request, const guint8 **data, gsize *len) {
  if (!chatd_reply_bytes(data, len))
    return FALSE;
  if (request->has_id && scratch_dialect == CHAT_DIALECT_V2) {
    memcpy(scratch_header, scratch.data + CHAT_MESSAGE_REQUEST_ID_SIZE, sizeof scratch_header);
    chat_message_insert_request_id(scratch.data + CHAT_MESSAGE_REQUEST_ID_SIZE, request->id);
    scratch_has_id = TRUE;
    *data = scratch.data;
    *len = scratch.len;
  }
  return TRUE;
}

chat_writer *chatd_session_begin(ChatdSession *session, guint32 type) {
  return chatd_reply_begin(session->dialect, type);
}

/* ---- outgoing order ---- */

static void write_now(ChatdSession *s, const guint8 *data, gsize len) {
  if (!s->closed)
    chatd_session_io_send(s, data, len);
}

static void slot_free(ChatdSlot *slot) {
  g_byte_array_unref(slot->messages);
  g_free(slot);
}

static void slot_append(ChatdSlot *slot, const guint8 *data, gsize len) {
  guint32 n = (guint32)len;
  g_byte_array_append(slot->messages, (const guint8 *)&n, sizeof n);
  g_byte_array_append(slot->messages, data, (guint)len);
}

/* Sends every released slot at the head of the outbox. */
static void flush_outbox(ChatdSession *s) {
  ChatdSlot *slot;
  while ((slot = g_queue_peek_head(&s->outbox)) && slot->released) {
    g_queue_pop_head(&s->outbox);
    gsize at = 0;
    while (at + sizeof(guint32) <= slot->messages->len) {
      guint32 n;
      memcpy(&n, slot->messages->data + at, sizeof n);
      write_now(s, slot->messages->data + at + sizeof n, n);
      at += sizeof n + n;
    }
    slot_free(slot);
  }
}

void chatd_session_send_bytes(ChatdSession *s, const guint8 *data, gsize len) {
  if (s->closed)
    return;
  if (g_queue_is_empty(&s->outbox)) {
    write_now(s, data, len);
    return;
  }
  /* Something waits ahead: queue behind it, in a released slot at the tail. */
  ChatdSlot *tail = g_queue_peek_tail(&s->outbox);
  if (!tail->released) {
    tail = g_new0(ChatdSlot, 1);
    tail->messages = g_byte_array_new();
    tail->released = TRUE;
    g_queue_push_tail(&s->outbox, tail);
  }
  slot_append(tail, data, len);
}

void chatd_session_send_shared(ChatdSession *s, GBytes *message) {
  if (s->closed)
    return;
  if (g_queue_is_empty(&s->outbox)) {
    chatd_session_io_send_shared(s, message);
    return;
  }
  gsize len;
  const guint8 *data = g_bytes_get_data(message, &len);
  chatd_session_send_bytes(s, data, len);
}

void chatd_reply_send(ChatdSession *s) {
  const guint8 *data;
  gsize len;
  if (answer_bytes(&s->request, &data, &len))
    chatd_session_send_bytes(s, data, len);
}

void chatd_notify_send(ChatdSession *s) {
  const guint8 *data;
  gsize len;
  if (chatd_reply_bytes(&data, &len))
    chatd_session_send_bytes(s, data, len);
}

/* What the seed system sends for a failure of a request of request_type. */
static guint32 seed_failure_type(guint32 request_type, chat_request_error code) {
  switch (code) {
  case CHAT_REQUEST_ERROR_LOGIN_FAILED:
    return CHAT_MSG_LOGIN_FAILED;
  case CHAT_REQUEST_ERROR_USERNAME_TAKEN:
    return CHAT_MSG_USERNAME_TAKEN;
  case CHAT_REQUEST_ERROR_NO_SUCH_USER:
  case CHAT_REQUEST_ERROR_CANNOT_ADD_SELF:
  case CHAT_REQUEST_ERROR_ALREADY_FRIENDS:
  case CHAT_REQUEST_ERROR_REQUEST_PENDING:
  case CHAT_REQUEST_ERROR_STORAGE_FAILED:
    return request_type == CHAT_MSG_ADD_FRIEND ? CHAT_MSG_ADD_FRIEND_RESULT
                                               : CHAT_MSG_GENERAL_FAILURE;
  default:
    return CHAT_MSG_GENERAL_FAILURE;
  }
}

/* The one place a failure becomes a message (spec/protocol.md 5.7.6), in
 * the scratch buffer. */
static void begin_failure(chat_dialect dialect, guint32 request_type, chat_request_error code,
                          const char *reason) {
  const chat_request_error_info *info = chat_request_error_info_of(code);
  chat_span text = chat_span_cstr(reason ? reason : info->text);
  if (dialect == CHAT_DIALECT_V2) {
    chat_msg_request_failed x = {chat_span_cstr(info->name), text};
    chat_msg_request_failed_write(chatd_reply_begin(dialect, CHAT_MSG_REQUEST_FAILED), &x);
    return;
  }
  guint32 type = seed_failure_type(request_type, code);
  chat_writer *w = chatd_reply_begin(dialect, type);
  if (type == CHAT_MSG_ADD_FRIEND_RESULT) {
    chat_msg_add_friend_result x = {.ok = FALSE, .reason = text};
    chat_msg_add_friend_result_write(w, &x);
  } else if (type == CHAT_MSG_GENERAL_FAILURE) {
    chat_msg_str x = {text};
    chat_msg_str_write(w, &x);
  } else {
    chat_write_null(w);
  }
}

void chatd_session_send_failure(ChatdSession *s, chat_request_error code, const char *reason) {
  begin_failure(s->dialect, s->request.type, code, reason);
  chatd_reply_send(s);
}

void chatd_session_send_null(ChatdSession *s, guint32 type) {
  chat_write_null(chatd_session_begin(s, type));
  chatd_reply_send(s);
}

ChatdSlot *chatd_session_reserve(ChatdSession *s) {
  ChatdSlot *slot = g_new0(ChatdSlot, 1);
  slot->messages = g_byte_array_new();
  slot->request = s->request;
  g_queue_push_tail(&s->outbox, slot);
  s->open_slots++;
  if (s->open_slots > CHATD_SESSION_MAX_OPEN_SLOTS)
    chatd_session_close(s, "too many requests waiting for the database");
  return slot;
}

void chatd_reply_send_to_slot(ChatdSession *s, ChatdSlot *slot) {
  const guint8 *data;
  gsize len;
  (void)s;
  if (answer_bytes(&slot->request, &data, &len))
    slot_append(slot, data, len);
}

void chatd_slot_send_failure(ChatdSession *s, ChatdSlot *slot, chat_request_error code,
                             const char *reason) {
  begin_failure(s->dialect, slot->request.type, code, reason);
  chatd_reply_send_to_slot(s, slot);
}

void chatd_session_release(ChatdSession *s, ChatdSlot *slot) {
  slot->released = TRUE;
  s->open_slots--;
  flush_outbox(s);
}

void chatd_pending_reply_init(ChatdPendingReply *reply, ChatdSession *s) {
  reply->session = chatd_session_ref(s);
  reply->slot = chatd_session_reserve(s);
}

void chatd_pending_reply_clear(ChatdPendingReply *reply) {
  chatd_session_release(reply->session, reply->slot);
  chatd_session_unref(reply->session);
}

/* ---- incoming order ---- */

static void handle_request(ChatdSession *s, const guint8 *data, gsize len) {
  ChatdServer *server = s->server;
  chat_arena_reset(&server->arena);
  chat_message_header header;
  chat_value *params;
  chat_error err;
  if (chat_message_decode_with_id(s->dialect, data, len, &server->limits, CHAT_DECODE_BORROW,
                                  &server->arena, &header, &params, &err) != 0) {
    g_autofree char *reason = g_strdup_printf("bad message: %s", err.message);
    chatd_session_close(s, reason);
    return;
  }
  guint32 type = header.type;
  s->request =
      (ChatdRequest){.type = type, .has_id = header.has_request_id, .id = header.request_id};
  const chat_message_info *info = chat_catalogue_lookup(type, s->dialect, CHAT_TO_SERVER);
  if (!info) {
    g_autofree char *reason =
        g_strdup_printf("bad message: type %u is not a request of the %s dialect", type,
                        chat_dialect_name(s->dialect));
    chatd_session_close(s, reason);
    return;
  }
  if (chat_catalogue_check(type, params, &err) != 0) {
    chatd_log_limited(&bad_requests, G_LOG_LEVEL_MESSAGE, "%s: %s %s", s->peer, info->name,
                      err.message);
    g_autofree char *reason = g_strdup_printf("%s: %s", info->name, err.message);
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_BAD_REQUEST, reason);
  } else {
    gsize header_size = chat_message_header_size(s->dialect, &header);
    chatd_dispatch(s, type, params, data + header_size, len - header_size);
  }
  /* A handler that blocked the session answers later, still this request. */
  if (s->blocked == 0)
    s->request = (ChatdRequest){0};
}

static void drain_inbox(ChatdSession *s) {
  chatd_session_ref(s);
  while (!s->closed && s->blocked == 0 && !g_queue_is_empty(&s->inbox)) {
    GBytes *request = g_queue_pop_head(&s->inbox);
    gsize len;
    const guint8 *data = g_bytes_get_data(request, &len);
    s->inbox_bytes -= len;
    handle_request(s, data, len);
    g_bytes_unref(request);
  }
  chatd_session_unref(s);
}

void chatd_session_block(ChatdSession *s) {
  s->blocked++;
}

void chatd_session_unblock(ChatdSession *s) {
  g_return_if_fail(s->blocked > 0);
  s->blocked--;
  if (s->blocked == 0) {
    s->request = (ChatdRequest){0};
    drain_inbox(s);
  }
}

void chatd_session_received(ChatdSession *s, const guint8 *data, gsize len) {
  if (s->closed)
    return;
  s->last_request_us = chat_io_now();
  if (s->blocked == 0 && g_queue_is_empty(&s->inbox)) {
    handle_request(s, data, len);
    return;
  }
  if (g_queue_get_length(&s->inbox) >= CHATD_SESSION_MAX_INBOX ||
      s->inbox_bytes + len > 2 * s->server->config->max_message_size) {
    chatd_session_close(s, "too many requests waiting");
    return;
  }
  g_queue_push_tail(&s->inbox, g_bytes_new(data, len));
  s->inbox_bytes += len;
}

/* ---- lifetime ---- */

static ChatdSession *session_of_timer(ChatIoTimer *timer, gsize offset) {
  return (ChatdSession *)((char *)timer - offset);
}

static void on_pause_over(ChatIoTimer *timer) {
  ChatdSession *s = session_of_timer(timer, G_STRUCT_OFFSET(ChatdSession, pause_timer));
  s->paused = FALSE;
  chatd_session_unblock(s);
}

void chatd_session_pause(ChatdSession *s, guint ms) {
  if (s->paused || s->closed)
    return;
  s->paused = TRUE;
  chatd_session_block(s);
  chat_io_loop_start_timer(s->server->main_loop, &s->pause_timer, ms);
}

static void on_login_timeout(ChatIoTimer *timer) {
  ChatdSession *s = session_of_timer(timer, G_STRUCT_OFFSET(ChatdSession, login_timer));
  if (!s->user) {
    g_autofree char *reason = g_strdup_printf("no login within %u s", s->login_timeout_s);
    chatd_session_close(s, reason);
  }
}

/* Fires idle_timeout after the login, then after each time it finds a
 * later request: one heap operation per idle period, none per request. */
static void on_idle_timeout(ChatIoTimer *timer) {
  ChatdSession *s = session_of_timer(timer, G_STRUCT_OFFSET(ChatdSession, idle_timer));
  if (!s->user)
    return;
  gint64 limit = (gint64)s->server->config->idle_timeout * G_USEC_PER_SEC;
  gint64 idle = chat_io_now() - s->last_request_us;
  if (idle < limit) {
    chat_io_loop_start_timer(s->server->main_loop, &s->idle_timer,
                             (guint)((limit - idle + 999) / 1000));
    return;
  }
  g_autofree char *reason =
      g_strdup_printf("no request for %u s (server.idle_timeout)", s->server->config->idle_timeout);
  chatd_session_close(s, reason);
}

void chatd_session_established(ChatdSession *s, chat_dialect dialect) {
  if (s->closed)
    return;
  s->established = TRUE;
  s->dialect = dialect;
  g_debug("%s: established (%s dialect)", s->peer, chat_dialect_name(s->dialect));
  guint timeout_s = s->server->config->login_timeout;
  /* Near max_connections a connection that does not log in soon gives
   * its slot back sooner. */
  if (chatd_server_crowded(s->server))
    timeout_s = MIN(timeout_s, (guint)CHATD_CROWDED_LOGIN_TIMEOUT_S);
  s->login_timeout_s = timeout_s;
  chat_io_loop_start_timer(s->server->main_loop, &s->login_timer, timeout_s * 1000u);
}

static void leave_prelogin(ChatdSession *s) {
  if (s->prelogin_link.data) {
    g_queue_unlink(&s->server->prelogin, &s->prelogin_link);
    s->prelogin_link.data = NULL;
  }
}

static void detach_user(ChatdSession *s, gboolean announce) {
  ChatdUser *user = s->user;
  if (!user)
    return;
  s->user = NULL;
  if (user->session == s) {
    user->session = NULL;
    if (announce) {
      chatd_presence_announce(s->server, user, FALSE);
      chatd_cluster_presence(s->server->cluster, user, FALSE);
    }
  }
}

/* The session stops being a session: no user, off the server's list.
 * Its connection may still be closing. */
static void forget_session(ChatdSession *s) {
  if (s->closed)
    return;
  s->closed = TRUE;
  chat_io_loop_stop_timer(s->server->main_loop, &s->login_timer);
  chat_io_loop_stop_timer(s->server->main_loop, &s->idle_timer);
  chat_io_loop_stop_timer(s->server->main_loop, &s->pause_timer);
  /* At shutdown everyone goes: telling each one about all the others
   * would cost members x members messages in a big room. */
  detach_user(s, !s->server->stopping);
  leave_prelogin(s);
  g_queue_unlink(&s->server->sessions, &s->link);
  chatd_session_unref(s); /* the server list's reference */
}

/* A connection error's text without its leading "PEER: " (the I/O layer
 * names the peer for clients; chatd's line names it already). */
static const char *without_peer(const ChatdSession *s, const char *message) {
  size_t n = strlen(s->peer);
  if (strncmp(message, s->peer, n) == 0 && message[n] == ':' && message[n + 1] == ' ')
    return message + n + 2;
  return message;
}

void chatd_session_ended(ChatdSession *s, const GError *reason) {
  if (reason)
    chatd_log_limited(close_limit(reason->message), G_LOG_LEVEL_MESSAGE, "%s: closed: %s", s->peer,
                      without_peer(s, reason->message));
  else
    g_debug("%s: closed by the peer", s->peer);
  forget_session(s);
  g_queue_unlink(&s->server->live, &s->live_link);
  chatd_server_connection_ended(s->server, s);
  chatd_session_io_release(s);
  chatd_session_unref(s); /* the connection's reference */
}

void chatd_session_close(ChatdSession *s, const char *reason) {
  if (s->closed)
    return;
  chatd_log_limited(close_limit(reason), G_LOG_LEVEL_MESSAGE, "%s: closing: %s", s->peer, reason);
  forget_session(s);
  chatd_session_io_close(s, TRUE);
}

void chatd_session_kick(ChatdSession *old, const char *where) {
  /* One login per account: the old connection is told and closed. It no
   * longer owns the user, so its closing announces nothing. */
  ChatdUser *user = old->user;
  old->user = NULL;
  if (user && user->session == old)
    user->session = NULL;
  chat_msg_server_kick kick = {
      .has_details = old->dialect != CHAT_DIALECT_SEED,
      .reason = chat_span_cstr("logged in elsewhere"),
      .address = chat_span_cstr(where),
      .time = g_get_real_time() / 1000,
  };
  chat_msg_server_kick_write(chatd_session_begin(old, CHAT_MSG_SERVER_KICK), &kick);
  chatd_notify_send(old);
  g_autofree char *reason =
      g_strdup_printf("%s logged in again from %s", user ? user->username : "?", where);
  chatd_session_close(old, reason);
}

void chatd_session_attach_user(ChatdSession *s, ChatdUser *user) {
  if (s->user == user)
    return;
  detach_user(s, TRUE);
  ChatdSession *old = user->session;
  if (old && old != s)
    chatd_session_kick(old, s->peer);
  s->user = user;
  user->session = s;
  leave_prelogin(s);
  chatd_session_io_raise_limits(s);
  chat_io_loop_stop_timer(s->server->main_loop, &s->login_timer);
  if (s->server->config->idle_timeout > 0)
    chat_io_loop_start_timer(s->server->main_loop, &s->idle_timer,
                             s->server->config->idle_timeout * 1000u);
}

ChatdSession *chatd_session_new(ChatdServer *server, int fd, const char *peer, ChatIoLoop *loop) {
  ChatdSession *s = g_new0(ChatdSession, 1);
  s->ref_count = 2; /* the server list's and the connection's */
  s->server = server;
  s->loop = loop;
  for (guint i = 0; i < server->n_io_loops; i++)
    if (server->io_loops[i] == loop)
      s->io_thread = i;
  s->peer = g_strdup(peer);
  s->connection = chat_io_connection_new_server(loop, fd, TRUE, peer, &server->io_settings,
                                                &chatd_session_io_callbacks, s);
  if (!s->connection) {
    g_warning("%s: cannot make a connection (out of memory?)", peer);
    close(fd);
    g_free(s->peer);
    g_free(s);
    return NULL;
  }
  s->last_request_us = chat_io_now();
  chat_io_timer_init(&s->login_timer, on_login_timeout);
  chat_io_timer_init(&s->idle_timer, on_idle_timeout);
  chat_io_timer_init(&s->pause_timer, on_pause_over);
  s->link.data = s;
  g_queue_push_tail_link(&server->sessions, &s->link);
  s->live_link.data = s;
  g_queue_push_tail_link(&server->live, &s->live_link);
  s->prelogin_link.data = s;
  g_queue_push_tail_link(&server->prelogin, &s->prelogin_link);
  return s;
}

ChatdSession *chatd_session_ref(ChatdSession *s) {
  s->ref_count++;
  return s;
}

void chatd_session_unref(ChatdSession *s) {
  if (--s->ref_count > 0)
    return;
  GBytes *request;
  while ((request = g_queue_pop_head(&s->inbox)))
    g_bytes_unref(request);
  ChatdSlot *slot;
  while ((slot = g_queue_pop_head(&s->outbox)))
    slot_free(slot);
  g_warn_if_fail(s->connection == NULL);
  g_clear_pointer(&s->held, g_ptr_array_unref);
  g_free(s->peer);
  g_free(s->address);
  g_free(s);
}
