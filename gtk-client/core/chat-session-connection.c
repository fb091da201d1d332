/* ChatSession's connection: dialling (protocol/gio/chat-dial.h), running
 * the pending login once connected, losing the connection, and
 * reconnecting with backoff and the resume token (v2). */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-private.h"

#include <glib/gi18n-lib.h>

#include "build-config.h"

#include "protocol/chat-limits.h"

static void start_dial(ChatSession *self);

gboolean chat_session_is_connected(ChatSession *self) {
  if (self->test && self->test->offline)
    return self->test->connected;
  return self->connection != NULL;
}

static gboolean do_nothing(gpointer data) {
  (void)data;
  return G_SOURCE_REMOVE;
}

/* Drops a reference from the main loop: not from inside one of the
 * object's own signal emissions. */
static void unref_later(gpointer object) {
  g_idle_add_full(G_PRIORITY_DEFAULT, do_nothing, object, g_object_unref);
}

void chat_session_release_connection(ChatSession *self) {
  if (self->test)
    self->test->connected = FALSE;
  if (!self->connection)
    return;
  g_signal_handlers_disconnect_by_data(self->connection, self);
  chat_connection_close(self->connection, FALSE);
  unref_later(g_steal_pointer(&self->connection));
}

static void on_retired_closed(ChatConnection *connection, const GError *reason,
                              gpointer user_data) {
  (void)reason;
  (void)user_data;
  unref_later(connection);
}

void chat_session_retire_connection(ChatSession *self) {
  if (self->connection && self->dialect == CHAT_DIALECT_V2) {
    /* Let the logout go out, then close; the connection lives on by
     * itself until it is closed. (A seed connection is simply dropped:
     * it has nothing to flush, and it must not outlive the DH group.) */
    ChatConnection *connection = g_steal_pointer(&self->connection);
    g_signal_handlers_disconnect_by_data(connection, self);
    g_signal_connect(connection, "closed", G_CALLBACK(on_retired_closed), NULL);
    chat_connection_close(connection, TRUE);
  }
  chat_session_release_connection(self);
}

void chat_session_cancel_dial(ChatSession *self) {
  if (self->dial_cancellable) {
    g_cancellable_cancel(self->dial_cancellable);
    g_clear_object(&self->dial_cancellable);
  }
}

static void on_reconnect_due(gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data); /* handlers may drop theirs */
  self->reconnect_source = 0;
  self->reconnect_delay = 0;
  chat_session_pending_set(self, ACTION_RESUME, self->username, NULL, NULL);
  start_dial(self);
}

static void schedule_reconnect(ChatSession *self) {
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  self->reconnect_delay = chat_backoff_next(&self->backoff);
  g_debug("reconnecting in %u ms", self->reconnect_delay);
  self->reconnect_source = g_timeout_add_once(self->reconnect_delay, on_reconnect_due, self);
}

void chat_session_cancel_reconnect(ChatSession *self) {
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  self->reconnect_delay = 0;
}

gboolean chat_session_reconnect_now(ChatSession *self) {
  if (!self->reconnect_source)
    return FALSE;
  g_clear_handle_id(&self->reconnect_source, g_source_remove);
  on_reconnect_due(self);
  return TRUE;
}

void chat_session_lost_connection(ChatSession *self, const char *reason, gboolean may_reconnect) {
  gboolean was_logged_in = self->state == CHAT_SESSION_ONLINE || self->phase == PHASE_RESUME;
  chat_session_clear_replies(self);
  self->phase = PHASE_NONE;
  chat_session_outbox_connection_lost(self);
  if (self->kicked) {
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    return;
  }
  if (may_reconnect && was_logged_in && self->dialect == CHAT_DIALECT_V2 && self->resume_token &&
      self->username) {
    g_message("the connection was lost (%s); reconnecting", reason ? reason : "closed");
    chat_session_set_state(self, CHAT_SESSION_RECONNECTING);
    schedule_reconnect(self);
    return;
  }
  g_autofree char *message =
      reason ? g_strdup_printf(_("The connection to the server was lost: %s"), reason)
             : g_strdup(_("The connection to the server was lost."));
  chat_session_set_last_error(self, message);
  chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, chat_session_signals[SIGNAL_ERROR], 0, message);
}

static void on_connection_message(ChatConnection *connection, gconstpointer data, gsize len,
                                  gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data); /* handlers may drop theirs */
  (void)connection;
  if (chat_session_handle_plaintext(self, self->dialect, data, len))
    return;
  chat_session_release_connection(self);
  chat_session_lost_connection(self, _("the server sent a malformed message"), FALSE);
}

static void on_connection_closed(ChatConnection *connection, const GError *reason,
                                 gpointer user_data) {
  g_autoptr(ChatSession) self = g_object_ref(user_data); /* handlers may drop theirs */
  (void)connection;
  /* That server went away (or dropped us): the next attempt starts with
   * the one after it (client.servers), wrapping around. */
  if (self->n_servers > 1)
    self->next_server = (self->server_index + 1) % self->n_servers;
  g_autofree char *message = reason ? g_strdup(reason->message) : NULL;
  chat_session_release_connection(self);
  chat_session_lost_connection(self, message, TRUE);
}

static void run_pending(ChatSession *self) {
  PendingAction *p = &self->pending;
  switch (p->kind) {
  case ACTION_LOGIN:
    self->phase = PHASE_LOGIN;
    chat_session_set_state(self, CHAT_SESSION_LOGGING_IN);
    chat_session_send_request(self, chat_wire_login(self->dialect, p->username, p->password));
    break;
  case ACTION_REGISTER:
    self->phase = PHASE_REGISTER;
    chat_session_set_state(self, CHAT_SESSION_CONNECTED);
    chat_session_send_request(
        self, chat_wire_register(self->dialect, p->username, p->password, p->nickname));
    break;
  case ACTION_RESUME:
    if (!self->resume_token) {
      chat_session_set_state(self, CHAT_SESSION_CONNECTED);
      break;
    }
    self->phase = PHASE_RESUME;
    if (self->state != CHAT_SESSION_RECONNECTING)
      chat_session_set_state(self, CHAT_SESSION_LOGGING_IN);
    chat_session_send_request(self,
                              chat_wire_resume(self->dialect, p->username, self->resume_token));
    break;
  case ACTION_NONE:
  default:
    chat_session_set_state(self, CHAT_SESSION_CONNECTED);
    break;
  }
  chat_session_pending_clear(p);
}

static void connection_ready(ChatSession *self) {
  if (self->state != CHAT_SESSION_RECONNECTING)
    chat_session_set_state(self, CHAT_SESSION_CONNECTED);
  run_pending(self);
}

/* A dial failed: ask, refuse, retry later, or give up. */
static void dial_failed(ChatSession *self, const GError *error) {
  gboolean automatic = self->state == CHAT_SESSION_RECONNECTING;
  if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_NEEDS_CONFIRMATION)) {
    if (automatic && self->pending.kind == ACTION_NONE)
      chat_session_pending_set(self, ACTION_RESUME, self->username, NULL, NULL);
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    const char *fingerprint = chat_dial_error_fingerprint(error);
    g_signal_emit(self, chat_session_signals[SIGNAL_CONFIRM_SERVER_KEY], 0, self->host_port,
                  fingerprint ? fingerprint : "");
    return;
  }
  if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_PINNING)) {
    chat_session_pending_clear(&self->pending);
    chat_session_set_last_error(self, error->message);
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    g_signal_emit(self, chat_session_signals[SIGNAL_SERVER_KEY_CHANGED], 0, error->message);
    return;
  }
  if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_REFUSED)) {
    /* Another protocol version: retrying will not help until one side is
     * upgraded. The message says which version the server speaks. */
    chat_session_pending_clear(&self->pending);
    g_autofree char *message =
        g_strdup_printf(_("The server does not speak this program's protocol: %s"), error->message);
    chat_session_set_last_error(self, message);
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    g_signal_emit(self, chat_session_signals[SIGNAL_ERROR], 0, message);
    return;
  }
  if (automatic) {
    g_debug("reconnect failed: %s", error->message);
    schedule_reconnect(self);
    return;
  }
  chat_session_pending_clear(&self->pending);
  g_autofree char *message =
      g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_CONNECT)
          ? g_strdup_printf(_("Cannot reach the server: %s"), error->message)
          : g_strdup_printf(_("Cannot talk to the server: %s"), error->message);
  chat_session_set_last_error(self, message);
  chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
  g_signal_emit(self, chat_session_signals[SIGNAL_ERROR], 0, message);
}

static void on_dial_done(GObject *source, GAsyncResult *result, gpointer user_data) {
  (void)source;
  g_autoptr(GError) error = NULL;
  gsize index = 0;
  ChatConnection *connection = chat_dial_any_finish(result, &index, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;                                              /* the session may be gone */
  g_autoptr(ChatSession) self = g_object_ref(user_data); /* handlers may drop theirs */
  g_clear_object(&self->dial_cancellable);
  if (!connection) {
    dial_failed(self, error);
    return;
  }
  self->connection = connection;
  self->server_index = self->next_server = index;
  chat_host_port_format(self->servers[index].host, self->servers[index].port, self->server_address,
                        sizeof self->server_address);
  if (self->n_servers > 1)
    g_message("connected to %s", self->server_address);
  gsize info_len = 0;
  const guint8 *info = chat_connection_get_server_info(connection, &info_len);
  self->max_image = chat_wire_server_info_max_image(info, info_len);
  g_signal_connect(connection, "message", G_CALLBACK(on_connection_message), self);
  g_signal_connect(connection, "closed", G_CALLBACK(on_connection_closed), self);
  connection_ready(self);
}

void chat_session_fill_dial_options(ChatSession *self, ChatDialOptions *o) {
  memset(o, 0, sizeof *o);
  o->host = self->options.host;
  o->port = self->options.port;
  o->dialect = self->options.dialect;
  o->seed_group = self->have_seed_group ? &self->seed_group : NULL;
  o->pin_policy = self->options.pin_policy ? self->options.pin_policy : CHAT_PIN_ASK;
  o->pinned_key = self->options.pinned_key;
  o->known_hosts_path = self->options.known_hosts_path;
  /* Whatever a server may be configured to send (chatd: at most 256 MiB):
   * the v2 client-info announces it, and a server that may send more is
   * refused at the handshake. */
  o->max_message_bytes = CHAT_SEED_MAX_MESSAGE_RECEIVED;
  o->client_name = "chat-gtk " CHAT_VERSION;
  /* The servers of one deployment share one key, pinned under the first. */
  o->pin_host_port = self->host_port;
}

static void start_dial(ChatSession *self) {
  chat_session_cancel_reconnect(self);
  if (self->dial_cancellable)
    return; /* dialling already: the pending action waits for it */
  if (self->state != CHAT_SESSION_RECONNECTING)
    chat_session_set_state(self, CHAT_SESSION_CONNECTING);
  self->dialect = self->options.dialect;
  if (self->test && self->test->offline) {
    self->test->connected = TRUE;
    connection_ready(self);
    return;
  }
  if (self->n_servers == 0 || (self->dialect == CHAT_DIALECT_SEED && !self->have_seed_group)) {
    GError *error = g_error_new_literal(
        CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_NO_SERVER,
        self->n_servers == 0 ? "no server is configured"
                             : "the seed dialect needs a valid crypto.base and crypto.modulus");
    chat_session_set_state(self, CHAT_SESSION_CONNECTING); /* not an automatic attempt */
    dial_failed(self, error);
    g_error_free(error);
    return;
  }
  ChatDialOptions o;
  chat_session_fill_dial_options(self, &o);
  self->dial_cancellable = g_cancellable_new();
  chat_dial_any_async(&o, self->servers, self->n_servers, self->next_server, self->dial_cancellable,
                      on_dial_done, self);
}

void chat_session_go(ChatSession *self) {
  self->kicked = FALSE;
  chat_session_cancel_reconnect(self);
  if (chat_session_is_connected(self) && !self->dial_cancellable) {
    run_pending(self);
    return;
  }
  /* No longer an automatic attempt: failures are reported. */
  chat_session_set_state(self, CHAT_SESSION_CONNECTING);
  start_dial(self); /* when already dialling, the action waits for it */
}
