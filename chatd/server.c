/* The server object: start-up (database, directory, keys), the listening
 * socket, and shutdown. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/server.h"

#include <errno.h>
#include <string.h>

#include "chatd/server-private.h"
#include "chatd/session.h"

#ifndef CHAT_VERSION
#define CHAT_VERSION "unknown"
#endif

/* Pending connections the kernel may queue before chatd accepts them (it
 * caps this at net.core.somaxconn). */
#define CHATD_LISTEN_BACKLOG 4096
/* How often per idle_timeout the idle sessions are looked for. */
#define IDLE_SWEEPS_PER_TIMEOUT 2

G_DEFINE_QUARK(chatd-server-error-quark, chatd_server_error)

/* ---- loading the directory from the store ---- */

static void load_user(const ChatdStoreUser *u, gpointer data) {
  ChatdServer *server = data;
  chatd_directory_add_user(server->directory, u->id, u->username, u->nickname,
                           u->password_hash);
}

static void load_friend(gint64 a, gint64 b, gint64 ms, gpointer data) {
  ChatdServer *server = data;
  (void)ms;
  ChatdUser *x = chatd_directory_user(server->directory, a);
  ChatdUser *y = chatd_directory_user(server->directory, b);
  if (x && y)
    chatd_directory_add_friendship(server->directory, x, y);
}

static void load_request(gint64 from, gint64 to, gint64 ms, gpointer data) {
  ChatdServer *server = data;
  (void)ms;
  ChatdUser *x = chatd_directory_user(server->directory, from);
  ChatdUser *y = chatd_directory_user(server->directory, to);
  if (x && y)
    chatd_directory_add_request(server->directory, x, y);
}

static void load_room(const ChatdStoreRoom *r, gpointer data) {
  ChatdServer *server = data;
  chatd_directory_add_room(server->directory, r->id, r->room_name);
}

static void load_member(const ChatdStoreMember *m, gpointer data) {
  ChatdServer *server = data;
  ChatdRoom *room = chatd_directory_room(server->directory, m->room_id);
  ChatdUser *user = chatd_directory_user(server->directory, m->user_id);
  if (room && user)
    chatd_directory_add_member(server->directory, room, user, m->first_message_id);
}

static void load_session(const ChatdStoreSession *s, gpointer data) {
  ChatdServer *server = data;
  g_hash_table_insert(server->tokens, g_bytes_new(s->token_hash, sizeof s->token_hash),
                      (gpointer)(gintptr)s->user_id);
}

static gboolean load_directory(ChatdServer *server, GError **error) {
  gint64 last_message = 0;
  if (!chatd_store_foreach_user(server->store, load_user, server, error) ||
      !chatd_store_foreach_friend(server->store, load_friend, server, error) ||
      !chatd_store_foreach_friend_request(server->store, load_request, server, error) ||
      !chatd_store_foreach_room(server->store, load_room, server, error) ||
      !chatd_store_foreach_member(server->store, load_member, server, error) ||
      !chatd_store_foreach_session(server->store, load_session, server, error) ||
      !chatd_store_max_ids(server->store, NULL, NULL, &last_message, error))
    return FALSE;
  chatd_directory_set_last_message_id(server->directory, last_message);
  g_message("loaded %u users, %u resume sessions; last message id %" G_GINT64_FORMAT,
            chatd_directory_user_count(server->directory), g_hash_table_size(server->tokens),
            last_message);
  return TRUE;
}

/* ---- start-up ---- */

static gboolean ensure_parent_dir(const char *path, GError **error) {
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, CHATD_SERVER_ERROR, 0, "cannot create %s: %s", dir, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

static gboolean load_keys(ChatdServer *server, GError **error) {
  const ChatdConfig *config = server->config;
  if (!ensure_parent_dir(config->key_file, error))
    return FALSE;
  bool created = false;
  chat_error err;
  if (chat_server_key_load_or_create(config->key_file, server->server_private_key,
                                     server->server_public_key, &created, &err) != 0) {
    g_set_error(error, CHATD_SERVER_ERROR, 0, "server.key_file %s: %s", config->key_file,
                err.message);
    return FALSE;
  }
  chat_fingerprint(server->server_public_key, server->fingerprint);
  g_message("%s server key %s: %s", created ? "created" : "loaded", config->key_file,
            server->fingerprint);

  if (config->allow_legacy) {
    if (!config->crypto_base || !config->crypto_modulus) {
      g_set_error(error, CHATD_SERVER_ERROR, 0,
                  "server.allow_legacy needs crypto.base and crypto.modulus");
      return FALSE;
    }
    if (chat_dh_group_init(&server->group, config->crypto_base, config->crypto_modulus, &err) !=
        0) {
      g_set_error(error, CHATD_SERVER_ERROR, 0, "crypto: %s", err.message);
      return FALSE;
    }
    server->have_group = TRUE;
    g_warning("server.allow_legacy is on: clients of the seed dialect are accepted. That "
              "dialect is unauthenticated (no protection against a man in the middle, no "
              "integrity check); use it only for old clients on a trusted network");
  }

  if (chat_keylog_open_from_env(&server->keylog, &err) != 0) {
    g_set_error(error, CHATD_SERVER_ERROR, 0, "CHAT_KEYLOGFILE: %s", err.message);
    return FALSE;
  }
  return TRUE;
}

static void build_security(ChatdServer *server) {
  const ChatdConfig *config = server->config;
  chat_writer w;
  chat_buffer_init(&server->server_info);
  chat_writer_init(&w, &server->server_info);
  chat_write_dict_begin(&w);
  chat_write_key_cstr(&w, "server");
  chat_write_cstr(&w, "chatd " CHAT_VERSION);
  chat_write_key_cstr(&w, "max_message");
  chat_write_uint(&w, config->max_message_size);
  chat_write_dict_end(&w);
  chat_writer_finish(&w);

  ChatServerSecurity *sec = &server->security;
  memset(sec, 0, sizeof *sec);
  sec->allow_legacy = config->allow_legacy;
  sec->seed_group = server->have_group ? &server->group : NULL;
  sec->static_private_key = server->server_private_key;
  sec->server_info = server->server_info.data;
  sec->server_info_len = server->server_info.len;
  sec->v2_suite = CHAT_V2_SUITE_ANY;
  sec->max_message_bytes = config->max_message_size;
  sec->max_queue_bytes = config->max_queue_bytes;
  sec->handshake_timeout_ms = config->handshake_timeout * 1000u;
  sec->keylog = server->keylog;

  chat_limits_init(&server->limits);
  server->limits.max_str_len = config->max_message_size;
  server->limits.max_bytes_len = config->max_message_size;
}

static void config_copy(ChatdConfig *dst, const ChatdConfig *src) {
  *dst = *src;
  dst->crypto_base = g_strdup(src->crypto_base);
  dst->crypto_modulus = g_strdup(src->crypto_modulus);
  dst->bind_ip = g_strdup(src->bind_ip);
  dst->database = g_strdup(src->database);
  dst->key_file = g_strdup(src->key_file);
  dst->warnings = g_ptr_array_new_with_free_func(g_free);
}

ChatdServer *chatd_server_new(const ChatdConfig *config, GError **error) {
  g_autoptr(ChatdServer) server = g_new0(ChatdServer, 1);
  server->config = g_new0(ChatdConfig, 1);
  config_copy(server->config, config);
  server->context = g_main_context_ref_thread_default();
  server->directory = chatd_directory_new();
  server->tokens = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify)g_bytes_unref, NULL);
  server->pending_usernames = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  chat_arena_init(&server->arena);
  g_queue_init(&server->sessions);

  if (!ensure_parent_dir(config->database, error))
    return NULL;
  server->store = chatd_store_open(config->database, server->context, error);
  if (!server->store)
    return NULL;
  g_message("database %s (schema %d)", config->database,
            chatd_store_schema_version(server->store));
  if (!load_directory(server, error) || !load_keys(server, error))
    return NULL;
  server->passwords = chatd_passwords_new(&config->password_cost, server->context);
  server->login_limit = chatd_rate_limit_new(config->login_rate_per_minute,
                                             config->login_rate_burst);
  build_security(server);
  return g_steal_pointer(&server);
}

/* ---- connections ---- */

static gboolean on_incoming(GSocketService *service, GSocketConnection *connection,
                            GObject *source, gpointer user_data) {
  ChatdServer *server = user_data;
  (void)service;
  (void)source;
  if (server->stopping)
    return FALSE;
  if (g_queue_get_length(&server->sessions) >= server->config->max_connections) {
    g_warning("refusing a connection: %u connections is the limit (server.max_connections)",
              server->config->max_connections);
    g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
    return TRUE;
  }
  g_autoptr(ChatConnection) channel =
      chat_connection_new_server(G_IO_STREAM(connection), &server->security);
  chatd_session_new(server, channel);
  chat_connection_start(channel);
  return TRUE;
}

/* One timer for all sessions, not one per session: GLib's loop checks every
 * source on every turn. It runs a few times per idle_timeout, so a session
 * is closed between idle_timeout and 1.5 x idle_timeout after its last
 * request. */
static gboolean sweep_idle_sessions(gpointer user_data) {
  ChatdServer *server = user_data;
  gint64 limit = (gint64)server->config->idle_timeout * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time();
  GList *next;
  for (GList *l = server->sessions.head; l; l = next) {
    next = l->next;
    ChatdSession *s = l->data;
    if (s->user && now - s->last_request_us > limit) {
      g_autofree char *reason = g_strdup_printf("no request for %u s (server.idle_timeout)",
                                                server->config->idle_timeout);
      chatd_session_close(s, reason);
    }
  }
  return G_SOURCE_CONTINUE;
}

gboolean chatd_server_start(ChatdServer *server, GError **error) {
  const ChatdConfig *config = server->config;
  g_autoptr(GSocketAddress) address =
      g_inet_socket_address_new_from_string(config->bind_ip, config->bind_port);
  if (!address) {
    g_set_error(error, CHATD_SERVER_ERROR, 0, "server.bind_ip: not an address: %s",
                config->bind_ip);
    return FALSE;
  }
  server->service = g_socket_service_new();
  /* GLib's default backlog is 10: a burst of connections (a restart with
   * thousands of clients coming back) would see SYNs dropped and retried
   * after seconds. */
  g_socket_listener_set_backlog(G_SOCKET_LISTENER(server->service), CHATD_LISTEN_BACKLOG);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) local = NULL;
  if (!g_socket_listener_add_address(G_SOCKET_LISTENER(server->service), address,
                                     G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                     &effective, &local)) {
    g_set_error(error, local->domain, local->code, "cannot listen on %s:%u: %s",
                config->bind_ip, config->bind_port, local->message);
    return FALSE;
  }
  server->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
  g_signal_connect(server->service, "incoming", G_CALLBACK(on_incoming), server);
  g_socket_service_start(server->service);
  if (config->idle_timeout > 0) {
    guint period = MAX(1u, config->idle_timeout / IDLE_SWEEPS_PER_TIMEOUT);
    server->idle_sweep = g_timeout_source_new_seconds(period);
    g_source_set_callback(server->idle_sweep, sweep_idle_sessions, server, NULL);
    g_source_attach(server->idle_sweep, server->context);
  }
  g_message("listening on %s:%u (v2%s), key %s", config->bind_ip, server->port,
            config->allow_legacy ? " and seed" : "", server->fingerprint);
  return TRUE;
}

guint16 chatd_server_port(ChatdServer *server) {
  return server->port;
}

const char *chatd_server_fingerprint(ChatdServer *server) {
  return server->fingerprint;
}

void chatd_server_stop(ChatdServer *server) {
  if (server->stopping)
    return;
  server->stopping = TRUE;
  if (server->idle_sweep) {
    g_source_destroy(server->idle_sweep);
    g_clear_pointer(&server->idle_sweep, g_source_unref);
  }
  if (server->service) {
    g_socket_service_stop(server->service);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
  }
  while (!g_queue_is_empty(&server->sessions)) {
    ChatdSession *s = g_queue_peek_head(&server->sessions);
    chatd_session_close(s, "the server is shutting down");
  }
  if (server->store)
    chatd_store_flush(server->store);
  /* Let the closes and the last completions run. */
  while (g_main_context_iteration(server->context, FALSE))
    ;
}

void chatd_server_free(ChatdServer *server) {
  if (!server)
    return;
  chatd_server_stop(server);
  g_clear_object(&server->service);
  chatd_passwords_free(server->passwords);
  chatd_store_close(server->store);
  chatd_rate_limit_free(server->login_limit);
  chatd_directory_free(server->directory);
  if (server->tokens)
    g_hash_table_unref(server->tokens);
  if (server->pending_usernames)
    g_hash_table_unref(server->pending_usernames);
  if (server->have_group)
    chat_dh_group_clear(&server->group);
  chat_keylog_close(server->keylog);
  chat_buffer_clear(&server->server_info);
  chat_arena_clear(&server->arena);
  explicit_bzero(server->server_private_key, sizeof server->server_private_key);
  if (server->config) {
    chatd_config_clear(server->config);
    g_free(server->config);
  }
  if (server->context)
    g_main_context_unref(server->context);
  g_free(server);
}
