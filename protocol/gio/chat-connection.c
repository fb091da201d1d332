/* ChatConnection: a GObject over ChatIoConnection. See chat-connection.h;
 * the I/O itself is protocol/io/io-connection.c. */
#define G_LOG_DOMAIN "chat-connection"

#include "protocol/gio/chat-connection.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "protocol/gio/chat-marshal.h"
#include "protocol/messages.h"
#include "protocol/seed-channel.h"

/* The gsize parameter of `message` is a G_TYPE_ULONG (VOID:POINTER,ULONG). */
G_STATIC_ASSERT(sizeof(gsize) == sizeof(gulong));

G_STATIC_ASSERT(CHAT_CONNECTION_MAX_MESSAGE_LIMIT <= G_MAXUINT32);
G_STATIC_ASSERT(CHAT_CONNECTION_MAX_MESSAGE_LIMIT <= CHAT_SEED_MAX_FRAME_LIMIT);

enum {
  SIGNAL_ESTABLISHED,
  SIGNAL_MESSAGE,
  SIGNAL_CLOSED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

struct _ChatConnection {
  GObject parent_instance;

  GIOStream *stream;
  GMainContext *context;
  ChatIoLoop *loop;
  ChatIoConnection *io;
  ChatIoSettings settings;
  gboolean is_server;
  gboolean closed_emitted;

  ChatVerifyServerKeyFunc verify_server_key;
  gpointer verify_user_data;
  /* A v2 client's client-info (settings.channel.client_info points here). */
  guint8 client_info[CHAT_V2_MAX_CLIENT_INFO];

  GTask *handshake_task;
  GSource *cancel_source;
};

G_DEFINE_FINAL_TYPE(ChatConnection, chat_connection, G_TYPE_OBJECT)

/* ---- the I/O connection's callbacks ---- */

static void on_stream_closed(GObject *source, GAsyncResult *result, gpointer user_data) {
  g_autoptr(GError) error = NULL;
  (void)user_data;
  if (!g_io_stream_close_finish(G_IO_STREAM(source), result, &error))
    g_debug("closing the stream failed: %s", error->message);
}

static void close_stream(ChatConnection *self) {
  if (self->stream != NULL && !g_io_stream_is_closed(self->stream) &&
      !g_io_stream_has_pending(self->stream))
    g_io_stream_close_async(self->stream, G_PRIORITY_DEFAULT, NULL, on_stream_closed, NULL);
}

static void complete_handshake_task(ChatConnection *self, const GError *error) {
  GTask *task = g_steal_pointer(&self->handshake_task);
  if (self->cancel_source != NULL) {
    g_source_destroy(self->cancel_source);
    g_clear_pointer(&self->cancel_source, g_source_unref);
  }
  if (task == NULL)
    return;
  if (error == NULL && self->io != NULL && chat_io_connection_is_established(self->io))
    g_task_return_boolean(task, TRUE);
  else if (error != NULL)
    g_task_return_error(task, g_error_copy(error));
  else
    g_task_return_new_error(task, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                            "%s: connection closed during the handshake",
                            chat_connection_get_peer_address(self));
  g_object_unref(task);
}

static void on_io_established(ChatIoConnection *io, gpointer user_data) {
  ChatConnection *self = user_data;
  (void)io;
  complete_handshake_task(self, NULL);
  g_signal_emit(self, signals[SIGNAL_ESTABLISHED], 0);
}

static void on_io_message(ChatIoConnection *io, const guint8 *data, gsize len, gpointer user_data) {
  (void)io;
  g_signal_emit(user_data, signals[SIGNAL_MESSAGE], 0, (gconstpointer)data, (gulong)len);
}

static void on_io_closed(ChatIoConnection *io, const GError *reason, gpointer user_data) {
  ChatConnection *self = g_object_ref(user_data);
  (void)io;
  if (!self->closed_emitted) {
    self->closed_emitted = TRUE;
    complete_handshake_task(self, reason);
    g_signal_emit(self, signals[SIGNAL_CLOSED], 0, reason);
  }
  g_object_unref(self);
}

static gboolean on_io_verify(ChatIoConnection *io, const guint8 *server_key,
                             const guint8 *server_info, gsize server_info_len, gpointer user_data,
                             GError **error) {
  ChatConnection *self = user_data;
  (void)io;
  if (self->verify_server_key == NULL)
    return TRUE;
  return self->verify_server_key(self, server_key, server_info, server_info_len,
                                 self->verify_user_data, error);
}

static void on_io_transport_closed(ChatIoConnection *io, gpointer user_data) {
  (void)io;
  close_stream(user_data);
}

static const ChatIoCallbacks io_callbacks = {
    .established = on_io_established,
    .message = on_io_message,
    .closed = on_io_closed,
    .verify_server_key = on_io_verify,
    .transport_closed = on_io_transport_closed,
};

/* ---- public API ---- */

void chat_connection_start(ChatConnection *self) {
  g_return_if_fail(CHAT_IS_CONNECTION(self));
  chat_io_connection_start(self->io);
}

static gboolean on_handshake_cancelled(GCancellable *cancellable, gpointer user_data) {
  ChatConnection *self = user_data;
  (void)cancellable;
  GTask *task = g_steal_pointer(&self->handshake_task);
  g_clear_pointer(&self->cancel_source, g_source_unref);
  if (task != NULL) {
    g_task_return_error_if_cancelled(task);
    g_object_unref(task);
  }
  return G_SOURCE_REMOVE;
}

void chat_connection_handshake_async(ChatConnection *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data) {
  g_return_if_fail(CHAT_IS_CONNECTION(self));
  g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, chat_connection_handshake_async);

  if (self->handshake_task != NULL) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PENDING,
                            "%s: a handshake wait is already pending",
                            chat_connection_get_peer_address(self));
    return;
  }
  if (chat_io_connection_is_established(self->io)) {
    g_task_return_boolean(task, TRUE);
    return;
  }
  if (self->closed_emitted || chat_io_connection_is_closing(self->io)) {
    g_task_return_new_error(task, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                            "%s: the connection is closed", chat_connection_get_peer_address(self));
    return;
  }
  if (g_task_return_error_if_cancelled(task))
    return;
  self->handshake_task = g_steal_pointer(&task);
  if (cancellable != NULL) {
    self->cancel_source = g_cancellable_source_new(cancellable);
    g_source_set_callback(self->cancel_source, G_SOURCE_FUNC(on_handshake_cancelled), self, NULL);
    g_source_attach(self->cancel_source, self->context);
  }
  chat_connection_start(self);
}

gboolean chat_connection_handshake_finish(ChatConnection *self, GAsyncResult *result,
                                          GError **error) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), FALSE);
  g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
  return g_task_propagate_boolean(G_TASK(result), error);
}

gboolean chat_connection_send(ChatConnection *self, const uint8_t *plaintext, gsize len,
                              GError **error) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), FALSE);
  g_return_val_if_fail(plaintext != NULL || len == 0, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  return chat_io_connection_send(self->io, plaintext, len, error);
}

void chat_connection_close(ChatConnection *self, gboolean graceful) {
  g_return_if_fail(CHAT_IS_CONNECTION(self));
  chat_io_connection_close(self->io, graceful);
}

chat_dialect chat_connection_get_dialect(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), CHAT_DIALECT_UNKNOWN);
  return chat_io_connection_get_dialect(self->io);
}

const char *chat_connection_get_peer_address(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), NULL);
  return chat_io_connection_get_peer_address(self->io);
}

gboolean chat_connection_is_established(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), FALSE);
  return chat_io_connection_is_established(self->io);
}

gboolean chat_connection_is_server(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), FALSE);
  return self->is_server;
}

gboolean chat_connection_get_server_key(ChatConnection *self, guint8 out[CHAT_V2_KEY_LEN]) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), FALSE);
  g_return_val_if_fail(out != NULL, FALSE);
  return chat_io_connection_get_server_key(self->io, out);
}

const guint8 *chat_connection_get_server_info(ChatConnection *self, gsize *len) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), NULL);
  g_return_val_if_fail(len != NULL, NULL);
  return chat_io_connection_get_server_info(self->io, len);
}

guint64 chat_connection_get_write_calls(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), 0);
  return chat_io_connection_get_write_calls(self->io);
}

guint64 chat_connection_get_flushes(ChatConnection *self) {
  g_return_val_if_fail(CHAT_IS_CONNECTION(self), 0);
  return chat_io_connection_get_flushes(self->io);
}

/* ---- construction ---- */

static gboolean limits_valid(gsize max_message, gsize max_queue, guint8 suite) {
  return max_message >= 1 && max_message <= CHAT_CONNECTION_MAX_MESSAGE_LIMIT &&
         max_queue >= max_message &&
         (suite == CHAT_V2_SUITE_ANY || suite == CHAT_V2_SUITE_AESGCM ||
          suite == CHAT_V2_SUITE_CHACHAPOLY);
}

static int socket_fd(GIOStream *stream) {
  if (!G_IS_SOCKET_CONNECTION(stream))
    return -1;
  return g_socket_get_fd(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream)));
}

/* Fills the settings shared by both ends; FALSE when the limits are bad. */
static gboolean settings_init(ChatIoSettings *settings, gsize max_message, gsize max_queue,
                              guint handshake_timeout_ms, guint64 rekey_bytes, guint8 suite,
                              chat_keylog *keylog) {
  chat_channel_config_init(&settings->channel);
  settings->channel.max_message =
      max_message != 0 ? max_message : CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES;
  settings->channel.max_queue =
      max_queue != 0 ? max_queue
                     : MAX(CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES, settings->channel.max_message);
  settings->channel.rekey_bytes =
      rekey_bytes != 0 ? rekey_bytes : CHAT_CONNECTION_DEFAULT_REKEY_BYTES;
  settings->channel.v2_suite = suite;
  settings->handshake_timeout_ms = handshake_timeout_ms;
  settings->keylog = keylog;
  return limits_valid(settings->channel.max_message, settings->channel.max_queue, suite);
}

static ChatConnection *connection_new(GIOStream *stream, gboolean is_server) {
  ChatConnection *self = g_object_new(CHAT_TYPE_CONNECTION, NULL);
  self->stream = g_object_ref(stream);
  self->context = g_main_context_ref_thread_default();
  self->loop = chat_io_loop_acquire_for_context(self->context);
  self->is_server = is_server;
  return self;
}

/* Gives self its I/O connection; NULL (self unreffed) when it could not
 * be made. */
static ChatConnection *connection_take_io(ChatConnection *self, ChatIoConnection *io,
                                          const char *role) {
  self->io = io;
  if (self->io == NULL) {
    g_critical("cannot make a %s channel (out of memory?)", role);
    g_object_unref(self);
    return NULL;
  }
  return self;
}

ChatConnection *chat_connection_new_server(GIOStream *stream, const ChatServerSecurity *security) {
  g_return_val_if_fail(socket_fd(stream) >= 0, NULL);
  g_return_val_if_fail(security != NULL, NULL);
  g_return_val_if_fail(security->static_private_key != NULL, NULL);
  g_return_val_if_fail(!security->allow_legacy || security->seed_group != NULL, NULL);
  g_return_val_if_fail(security->server_info_len <= CHAT_V2_MAX_SERVER_INFO, NULL);
  g_return_val_if_fail(security->server_info != NULL || security->server_info_len == 0, NULL);
  ChatIoSettings settings;
  g_return_val_if_fail(settings_init(&settings, security->max_message_bytes,
                                     security->max_queue_bytes, security->handshake_timeout_ms,
                                     security->rekey_bytes, security->v2_suite, security->keylog),
                       NULL);
  settings.channel.server_private_key = security->static_private_key;
  settings.channel.server_info = security->server_info;
  settings.channel.server_info_len = security->server_info_len;
  settings.channel.allow_seed = security->allow_legacy;
  settings.channel.seed_group = security->seed_group;

  ChatConnection *self = connection_new(stream, TRUE);
  self->settings = settings;
  return connection_take_io(self,
                            chat_io_connection_new_server(self->loop, socket_fd(stream), FALSE,
                                                          NULL, &self->settings, &io_callbacks,
                                                          self),
                            "server");
}

/* The client-info of handshake message 1 (spec 7.3): the program's name
 * when given, and the largest message this connection accepts, so that a
 * server that may send more refuses it at once. */
static void set_client_info(ChatConnection *self, const char *client_name) {
  chat_msg_client_info info = {
      .has_max_message = true,
      .max_message = self->settings.channel.max_message,
  };
  if (client_name != NULL && strlen(client_name) <= CHAT_CONNECTION_MAX_CLIENT_NAME &&
      g_utf8_validate(client_name, -1, NULL)) {
    info.has_client = true;
    info.client = chat_span_cstr(client_name);
  }
  chat_buffer buf;
  chat_buffer_init(&buf);
  chat_writer w;
  chat_writer_init(&w, &buf);
  chat_msg_client_info_write(&w, &info);
  if (chat_writer_finish(&w) == 0 && buf.len <= sizeof self->client_info) {
    memcpy(self->client_info, buf.data, buf.len);
    self->settings.channel.client_info = self->client_info;
    self->settings.channel.client_info_len = buf.len;
  }
  chat_buffer_clear(&buf);
}

ChatConnection *chat_connection_new_client(GIOStream *stream, const ChatClientSecurity *security) {
  g_return_val_if_fail(socket_fd(stream) >= 0, NULL);
  g_return_val_if_fail(security != NULL, NULL);
  g_return_val_if_fail(
      security->dialect == CHAT_DIALECT_SEED || security->dialect == CHAT_DIALECT_V2, NULL);
  g_return_val_if_fail(security->dialect != CHAT_DIALECT_SEED || security->seed_group != NULL,
                       NULL);
  ChatIoSettings settings;
  g_return_val_if_fail(settings_init(&settings, security->max_message_bytes,
                                     security->max_queue_bytes, security->handshake_timeout_ms,
                                     security->rekey_bytes, security->v2_suite, security->keylog),
                       NULL);
  settings.channel.seed_group = security->seed_group;

  ChatConnection *self = connection_new(stream, FALSE);
  self->settings = settings;
  self->verify_server_key = security->verify_server_key;
  self->verify_user_data = security->verify_user_data;
  if (security->dialect == CHAT_DIALECT_V2)
    set_client_info(self, security->client_name);
  return connection_take_io(self,
                            chat_io_connection_new_client(self->loop, socket_fd(stream), FALSE,
                                                          security->dialect, &self->settings,
                                                          &io_callbacks, self),
                            "client");
}

static void chat_connection_init(ChatConnection *self) {
  (void)self;
}

static void chat_connection_dispose(GObject *object) {
  ChatConnection *self = CHAT_CONNECTION(object);

  /* Dropped without waiting for `closed`: close silently. */
  self->closed_emitted = TRUE;
  if (self->io != NULL) {
    chat_io_connection_detach(self->io);
    chat_io_connection_close(self->io, FALSE);
    g_clear_pointer(&self->io, chat_io_connection_unref);
  }
  close_stream(self);
  if (self->cancel_source != NULL) {
    g_source_destroy(self->cancel_source);
    g_clear_pointer(&self->cancel_source, g_source_unref);
  }
  g_clear_object(&self->stream);
  g_clear_pointer(&self->loop, chat_io_loop_release);
  g_clear_pointer(&self->context, g_main_context_unref);

  G_OBJECT_CLASS(chat_connection_parent_class)->dispose(object);
}

static void chat_connection_class_init(ChatConnectionClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);

  object_class->dispose = chat_connection_dispose;

  /* The handshake is complete (a v2 client: the server key was accepted). */
  signals[SIGNAL_ESTABLISHED] =
      g_signal_new("established", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   g_cclosure_marshal_VOID__VOID, G_TYPE_NONE, 0);
  g_signal_set_va_marshaller(signals[SIGNAL_ESTABLISHED], G_TYPE_FROM_CLASS(klass),
                             g_cclosure_marshal_VOID__VOIDv);

  /* One received message; data is valid only during the emission. */
  signals[SIGNAL_MESSAGE] =
      g_signal_new("message", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   chat_marshal_VOID__POINTER_ULONG, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_ULONG);
  g_signal_set_va_marshaller(signals[SIGNAL_MESSAGE], G_TYPE_FROM_CLASS(klass),
                             chat_marshal_VOID__POINTER_ULONGv);

  /* The connection is over; the GError is NULL for a clean close. */
  signals[SIGNAL_CLOSED] = g_signal_new("closed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, g_cclosure_marshal_VOID__BOXED, G_TYPE_NONE, 1,
                                        G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller(signals[SIGNAL_CLOSED], G_TYPE_FROM_CLASS(klass),
                             g_cclosure_marshal_VOID__BOXEDv);
}
