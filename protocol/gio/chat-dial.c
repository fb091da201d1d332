#define G_LOG_DOMAIN "chat-dial"

#include "protocol/gio/chat-dial.h"

#include <string.h>

#include "protocol/host-port.h"
#include "protocol/server-key.h"

/* A CHAT_DIAL_ERROR carries the fingerprint it is about (for the dialog)
 * as private data of the error itself (G_DEFINE_EXTENDED_ERROR): copies
 * keep it, and nothing is looked up by message text. */
typedef struct {
  char *fingerprint;
} ChatDialErrorPrivate;

static void chat_dial_error_private_init(ChatDialErrorPrivate *priv) {
  priv->fingerprint = NULL;
}

static void chat_dial_error_private_copy(const ChatDialErrorPrivate *src,
                                         ChatDialErrorPrivate *dest) {
  dest->fingerprint = g_strdup(src->fingerprint);
}

static void chat_dial_error_private_clear(ChatDialErrorPrivate *priv) {
  g_clear_pointer(&priv->fingerprint, g_free);
}

G_DEFINE_EXTENDED_ERROR(ChatDialError, chat_dial_error)

typedef struct {
  ChatDialOptions options;
  char *host;
  char *pinned_key;
  char *client_name;
  char *known_hosts_path;
  char host_port[300];
  char *pin_host_port; /* the known_hosts entry */
  ChatConnection *connection;
  GError *pin_error;
  char offered[CHAT_FINGERPRINT_SIZE];
  gulong established_id, closed_id;
  GSource *timeout;
} dial_state;

static void dial_state_free(dial_state *st) {
  if (st->connection) {
    if (st->established_id)
      g_signal_handler_disconnect(st->connection, st->established_id);
    if (st->closed_id)
      g_signal_handler_disconnect(st->connection, st->closed_id);
    g_object_unref(st->connection);
  }
  if (st->timeout) {
    g_source_destroy(st->timeout);
    g_source_unref(st->timeout);
  }
  g_clear_error(&st->pin_error);
  g_free(st->host);
  g_free(st->pinned_key);
  g_free(st->client_name);
  g_free(st->known_hosts_path);
  g_free(st->pin_host_port);
  g_free(st);
}

const char *chat_dial_error_fingerprint(const GError *error) {
  if (!error || error->domain != CHAT_DIAL_ERROR)
    return NULL;
  ChatDialErrorPrivate *priv = chat_dial_error_get_private(error);
  return priv ? priv->fingerprint : NULL;
}

static void set_fingerprint(GError *error, const char *fingerprint) {
  ChatDialErrorPrivate *priv = chat_dial_error_get_private(error);
  g_free(priv->fingerprint);
  priv->fingerprint = g_strdup(fingerprint);
}

static gboolean verify_key(ChatConnection *connection, const guint8 key[CHAT_V2_KEY_LEN],
                           const guint8 *info, gsize info_len, gpointer user_data, GError **error) {
  dial_state *st = user_data;
  (void)connection;
  (void)info;
  (void)info_len;
  chat_fingerprint(key, st->offered);
  chat_pin_result result;
  int rc = chat_pin_check(st->options.pin_policy, st->pin_host_port, st->offered, st->pinned_key,
                          st->known_hosts_path, &result);
  if (rc == 0 && result.decision != CHAT_PIN_NEEDS_CONFIRMATION) {
    if (result.decision == CHAT_PIN_ACCEPTED_NEW)
      g_message("%s: new server key %s recorded in %s", st->pin_host_port, st->offered,
                st->known_hosts_path);
    return TRUE;
  }
  if (rc == 0) {
    st->pin_error = g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_NEEDS_CONFIRMATION,
                                "The server %s is new. Its key fingerprint is %s.",
                                st->pin_host_port, st->offered);
  } else {
    st->pin_error = g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_PINNING, "%s", result.message);
  }
  set_fingerprint(st->pin_error, st->offered);
  g_propagate_error(error, g_error_copy(st->pin_error));
  return FALSE;
}

static void finish_with_error(GTask *task, GError *error) {
  if (!g_task_had_error(task) && !g_task_get_completed(task))
    g_task_return_error(task, error);
  else
    g_error_free(error);
}

static void on_established(ChatConnection *connection, gpointer user_data) {
  GTask *task = user_data;
  dial_state *st = g_task_get_task_data(task);
  g_signal_handler_disconnect(connection, st->established_id);
  g_signal_handler_disconnect(connection, st->closed_id);
  st->established_id = st->closed_id = 0;
  ChatConnection *done = g_steal_pointer(&st->connection);
  g_task_return_pointer(task, done, g_object_unref);
  g_object_unref(task);
}

static void on_closed(ChatConnection *connection, const GError *reason, gpointer user_data) {
  GTask *task = user_data;
  dial_state *st = g_task_get_task_data(task);
  (void)connection;
  g_signal_handler_disconnect(connection, st->established_id);
  g_signal_handler_disconnect(connection, st->closed_id);
  st->established_id = st->closed_id = 0;
  if (st->pin_error)
    finish_with_error(task, g_error_copy(st->pin_error));
  else if (g_error_matches(reason, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_REFUSED))
    finish_with_error(task,
                      g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_REFUSED, "%s", reason->message));
  else
    finish_with_error(task, g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_HANDSHAKE,
                                        "handshake with %s failed: %s", st->host_port,
                                        reason ? reason->message : "the server closed"));
  g_object_unref(task);
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer user_data) {
  GTask *task = user_data;
  dial_state *st = g_task_get_task_data(task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) socket =
      g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(source), result, &error);
  if (!socket) {
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      finish_with_error(task, g_steal_pointer(&error));
    else
      finish_with_error(task,
                        g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_CONNECT,
                                    "cannot connect to %s: %s", st->host_port, error->message));
    g_object_unref(task);
    return;
  }
  /* The client's timeout bounds connecting only: GIO leaves it on the
   * socket, where it would fail every read of a connection that is quiet
   * for that long. The handshake has its own timeout. */
  g_socket_set_timeout(g_socket_connection_get_socket(socket), 0);
  ChatClientSecurity security = {
      .dialect = st->options.dialect,
      .seed_group = st->options.seed_group,
      .max_message_bytes = st->options.max_message_bytes,
      .handshake_timeout_ms = st->options.timeout_ms,
      .keylog = st->options.keylog,
      .verify_server_key = verify_key,
      .verify_user_data = st,
      .client_name = st->client_name,
  };
  st->connection = chat_connection_new_client(G_IO_STREAM(socket), &security);
  if (!st->connection) {
    finish_with_error(task, g_error_new(CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_HANDSHAKE,
                                        "cannot set up the %s dialect",
                                        chat_dialect_name(st->options.dialect)));
    g_object_unref(task);
    return;
  }
  st->established_id =
      g_signal_connect(st->connection, "established", G_CALLBACK(on_established), task);
  st->closed_id = g_signal_connect(st->connection, "closed", G_CALLBACK(on_closed), task);
  chat_connection_start(st->connection);
}

void chat_dial_async(const ChatDialOptions *options, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data) {
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  dial_state *st = g_new0(dial_state, 1);
  st->options = *options;
  st->host = g_strdup(options->host);
  st->pinned_key = g_strdup(options->pinned_key);
  st->options.host = st->host;
  st->options.pinned_key = st->pinned_key;
  st->client_name = g_strdup(options->client_name);
  st->options.client_name = st->client_name;
  if (!st->options.timeout_ms)
    st->options.timeout_ms = CHAT_DIAL_DEFAULT_TIMEOUT_MS;
  if (options->known_hosts_path) {
    st->known_hosts_path = g_strdup(options->known_hosts_path);
  } else {
    char path[4096];
    chat_error err;
    if (chat_known_hosts_default_path(path, sizeof path, &err) == 0)
      st->known_hosts_path = g_strdup(path);
  }
  st->options.known_hosts_path = st->known_hosts_path;
  chat_host_port_format(options->host, options->port, st->host_port, sizeof st->host_port);
  st->pin_host_port = g_strdup(options->pin_host_port ? options->pin_host_port : st->host_port);
  st->options.pin_host_port = st->pin_host_port;
  g_task_set_task_data(task, st, (GDestroyNotify)dial_state_free);
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_socket_client_set_timeout(client, (st->options.timeout_ms + 999) / 1000);
  g_socket_client_connect_to_host_async(client, options->host, options->port, cancellable,
                                        on_connected, task);
}

ChatConnection *chat_dial_finish(GAsyncResult *result, GError **error) {
  return g_task_propagate_pointer(G_TASK(result), error);
}

static void on_sync_done(GObject *source, GAsyncResult *result, gpointer user_data) {
  (void)source;
  *(GAsyncResult **)user_data = g_object_ref(result);
}

ChatConnection *chat_dial_sync(const ChatDialOptions *options, GError **error) {
  GAsyncResult *result = NULL;
  chat_dial_async(options, NULL, on_sync_done, &result);
  while (!result)
    g_main_context_iteration(NULL, TRUE);
  ChatConnection *connection = chat_dial_finish(result, error);
  g_object_unref(result);
  return connection;
}

gboolean chat_dial_trust(const ChatDialOptions *options, const char *fingerprint, GError **error) {
  char path[4096];
  chat_error err;
  const char *file = options->known_hosts_path;
  if (!file) {
    if (chat_known_hosts_default_path(path, sizeof path, &err) != 0) {
      g_set_error(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_PINNING, "%s", err.message);
      return FALSE;
    }
    file = path;
  }
  char host_port[300];
  chat_host_port_format(options->host, options->port, host_port, sizeof host_port);
  if (chat_known_hosts_add(file, options->pin_host_port ? options->pin_host_port : host_port,
                           fingerprint, &err) != 0) {
    g_set_error(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_PINNING, "%s", err.message);
    return FALSE;
  }
  return TRUE;
}

/* ---- several servers ---- */

typedef struct {
  ChatDialOptions options;
  ChatDialServer *servers; /* hosts owned */
  gsize n_servers;
  gsize first, tried, current;
  gboolean any_connect, any_handshake;
  GError *last_error;
  GString *failures; /* "a:1 (connection refused), b:2 (...)" */
} dial_any_state;

static void dial_any_state_free(dial_any_state *st) {
  for (gsize i = 0; i < st->n_servers; i++)
    g_free((char *)st->servers[i].host);
  g_free(st->servers);
  g_free((char *)st->options.pinned_key);
  g_free((char *)st->options.known_hosts_path);
  g_free((char *)st->options.client_name);
  g_free((char *)st->options.pin_host_port);
  g_clear_error(&st->last_error);
  g_string_free(st->failures, TRUE);
  g_free(st);
}

/* "connection refused" out of "cannot connect to a:1: Could not connect to
 * a: Connection refused": the last part, starting in lower case. */
static char *short_reason(const GError *error) {
  const char *text = error->message;
  const char *cut = g_strrstr(text, ": ");
  if (error->code == CHAT_DIAL_ERROR_HANDSHAKE && cut)
    return g_strdup_printf("handshake failed: %s", cut + 2);
  char *reason = g_strdup(cut ? cut + 2 : text);
  if (g_ascii_isupper(reason[0]) && !g_ascii_isupper(reason[1]))
    reason[0] = g_ascii_tolower(reason[0]);
  return reason;
}

static void dial_next(GTask *task);

static void on_any_dialled(GObject *source, GAsyncResult *result, gpointer user_data) {
  (void)source;
  GTask *task = user_data;
  dial_any_state *st = g_task_get_task_data(task);
  GError *error = NULL;
  ChatConnection *connection = chat_dial_finish(result, &error);
  if (connection) {
    g_task_return_pointer(task, connection, g_object_unref);
    g_object_unref(task);
    return;
  }
  gboolean stop = error->domain != CHAT_DIAL_ERROR || error->code == CHAT_DIAL_ERROR_PINNING ||
                  error->code == CHAT_DIAL_ERROR_NEEDS_CONFIRMATION || st->n_servers == 1;
  if (stop) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  if (error->code == CHAT_DIAL_ERROR_CONNECT)
    st->any_connect = TRUE;
  else if (error->code == CHAT_DIAL_ERROR_HANDSHAKE)
    st->any_handshake = TRUE;
  g_autofree char *host_port =
      chat_host_port_new(st->servers[st->current].host, st->servers[st->current].port);
  g_autofree char *reason = short_reason(error);
  g_string_append_printf(st->failures, "%s%s (%s)", st->failures->len ? ", " : "", host_port,
                         reason);
  g_clear_error(&st->last_error);
  st->last_error = error;
  dial_next(task);
}

static void dial_next(GTask *task) {
  dial_any_state *st = g_task_get_task_data(task);
  if (st->tried == st->n_servers) {
    int code = st->any_connect     ? CHAT_DIAL_ERROR_CONNECT
               : st->any_handshake ? CHAT_DIAL_ERROR_HANDSHAKE
                                   : CHAT_DIAL_ERROR_REFUSED;
    g_task_return_new_error(task, CHAT_DIAL_ERROR, code,
                            "none of the %" G_GSIZE_FORMAT " servers could be reached: %s",
                            st->n_servers, st->failures->str);
    g_object_unref(task);
    return;
  }
  st->current = (st->first + st->tried) % st->n_servers;
  st->tried++;
  ChatDialOptions options = st->options;
  options.host = st->servers[st->current].host;
  options.port = st->servers[st->current].port;
  chat_dial_async(&options, g_task_get_cancellable(task), on_any_dialled, task);
}

void chat_dial_any_async(const ChatDialOptions *options, const ChatDialServer *servers,
                         gsize n_servers, gsize first, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data) {
  g_return_if_fail(n_servers > 0);
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  dial_any_state *st = g_new0(dial_any_state, 1);
  st->options = *options;
  st->options.host = NULL;
  st->options.pinned_key = g_strdup(options->pinned_key);
  st->options.known_hosts_path = g_strdup(options->known_hosts_path);
  st->options.client_name = g_strdup(options->client_name);
  st->options.pin_host_port = g_strdup(options->pin_host_port);
  st->servers = g_new0(ChatDialServer, n_servers);
  for (gsize i = 0; i < n_servers; i++) {
    st->servers[i].host = g_strdup(servers[i].host);
    st->servers[i].port = servers[i].port;
  }
  st->n_servers = n_servers;
  st->first = first % n_servers;
  st->failures = g_string_new(NULL);
  g_task_set_task_data(task, st, (GDestroyNotify)dial_any_state_free);
  dial_next(task);
}

ChatConnection *chat_dial_any_finish(GAsyncResult *result, gsize *index, GError **error) {
  dial_any_state *st = g_task_get_task_data(G_TASK(result));
  if (index)
    *index = st->current;
  return g_task_propagate_pointer(G_TASK(result), error);
}

ChatConnection *chat_dial_any_sync(const ChatDialOptions *options, const ChatDialServer *servers,
                                   gsize n_servers, gsize first, gsize *index, GError **error) {
  GAsyncResult *result = NULL;
  chat_dial_any_async(options, servers, n_servers, first, NULL, on_sync_done, &result);
  while (!result)
    g_main_context_iteration(NULL, TRUE);
  ChatConnection *connection = chat_dial_any_finish(result, index, error);
  g_object_unref(result);
  return connection;
}
