/* ChatSession's test hooks (chat-session-test.h). What they set up lives
 * in a ChatSessionTestState the first such hook allocates; the
 * application never has one. */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-test.h"

#include "gtk-client/core/chat-session-private.h"

static ChatSessionTestState *test_state(ChatSession *self) {
  if (!self->test)
    self->test = g_new0(ChatSessionTestState, 1);
  return self->test;
}

gboolean chat_session_test_intercept(ChatSession *self, GBytes *message, gboolean *ok,
                                     GError **error) {
  ChatSessionTestState *t = self->test;
  if (t->outgoing && (!t->offline || t->connected))
    g_queue_push_tail(t->outgoing, g_bytes_ref(message));
  if (!t->offline)
    return FALSE;
  *ok = t->connected;
  if (!t->connected)
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "not connected");
  return TRUE;
}

gboolean chat_session_test_feed(ChatSession *self, chat_dialect dialect, const guint8 *plaintext,
                                gsize len) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  g_autoptr(ChatSession) keep = g_object_ref(self);
  self->dialect = dialect;
  return chat_session_handle_plaintext(self, dialect, plaintext, len);
}

void chat_session_test_capture(ChatSession *self, GQueue *outgoing, gboolean offline) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  ChatSessionTestState *t = test_state(self);
  t->outgoing = outgoing;
  t->offline = offline;
}

void chat_session_test_drop_connection(ChatSession *self) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (self->test && self->test->offline) {
    if (!self->test->connected)
      return;
    self->test->connected = FALSE;
  } else if (self->connection) {
    chat_session_release_connection(self);
  } else {
    return;
  }
  chat_session_lost_connection(self, "dropped by the test", TRUE);
}

gboolean chat_session_test_reconnect_now(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  return chat_session_reconnect_now(self);
}

void chat_session_test_set_backoff(ChatSession *self, guint initial_ms, guint max_ms) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  chat_backoff_init(&self->backoff, initial_ms, max_ms);
}

guint chat_session_test_get_reconnect_delay(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->reconnect_source ? self->reconnect_delay : 0;
}

void chat_session_test_set_server_info(ChatSession *self, const guint8 *info, gsize len) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  self->max_image = chat_wire_server_info_max_image(info, len);
}

guint chat_session_test_get_outbox_length(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return g_queue_get_length(&self->outbox);
}
