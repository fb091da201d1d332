/* The server object: start-up (database, directory, keys), the listening
 * socket, and shutdown. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/server.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "build-config.h"
#include "chatd/cluster.h"
#include "chatd/log-limit.h"

#include "chatd/server-private.h"
#include "chatd/session-io.h"
#include "chatd/session.h"
#include "chatd/tokens.h"
#include "protocol/host-port.h"
#include "protocol/messages.h"

/* Pending connections the kernel may queue before chatd accepts them (it
 * caps this at net.core.somaxconn). */
#define CHATD_LISTEN_BACKLOG 4096
/* File descriptors chatd needs besides its connections: the database
 * (3 connections, each with its files), the listener, the password pool,
 * standard streams, a key log; plus 2 per I/O thread (epoll, eventfd). */
#define CHATD_RESERVED_FDS 64
/* On shutdown, how long connections get to close gracefully (each one's
 * own close timeout, plus a margin), then how long an abort may take. */
#define SHUTDOWN_GRACE_MS (CHAT_IO_CLOSE_TIMEOUT_MS + 1000u)
#define SHUTDOWN_ABORT_MS 1000u

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chatd-server-error-quark, chatd_server_error)
/* clang-format on */

/* ---- loading the directory from the store ---- */

static void load_user(const ChatdStoreUser *u, gpointer data) {
  ChatdServer *server = data;
  chatd_directory_add_user(server->directory, u->id, u->username, u->nickname, u->password_hash);
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

/* Expired ones are left out (and forgotten by the first sweep). */
static void load_session(const ChatdStoreSession *s, gpointer data) {
  ChatdServer *server = data;
  if (chatd_directory_user(server->directory, s->user_id))
    chatd_resume_tokens_add(server->tokens, s->token_hash, s->user_id, s->created_ms);
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
            chatd_directory_user_count(server->directory),
            chatd_resume_tokens_count(server->tokens), last_message);
  return TRUE;
}

/* ---- reloading (a cluster node after an outage of its bus) ---- */

typedef struct {
  ChatdServer *server;
  GHashTable *pairs; /* "a:b" of friend requests or "room:user" of memberships in the store */
} Reload;

static void reload_user(const ChatdStoreUser *u, gpointer data) {
  Reload *r = data;
  ChatdDirectory *d = r->server->directory;
  ChatdUser *user = chatd_directory_user(d, u->id);
  if (!user) {
    if (!chatd_directory_user_by_name(d, u->username))
      chatd_directory_add_user(d, u->id, u->username, u->nickname, u->password_hash);
    return;
  }
  if (g_strcmp0(user->nickname, u->nickname) != 0)
    chatd_user_set_nickname(user, u->nickname);
  if (user->password_writes == 0 && g_strcmp0(user->password_hash, u->password_hash) != 0)
    chatd_user_set_password_hash(user, u->password_hash);
}

static void reload_friend(gint64 a, gint64 b, gint64 ms, gpointer data) {
  Reload *r = data;
  ChatdUser *x = chatd_directory_user(r->server->directory, a);
  if (x && !chatd_user_is_friend(x, b))
    load_friend(a, b, ms, r->server);
}

static void reload_request(gint64 from, gint64 to, gint64 ms, gpointer data) {
  Reload *r = data;
  g_hash_table_add(r->pairs, g_strdup_printf("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, from, to));
  ChatdUser *x = chatd_directory_user(r->server->directory, from);
  if (x && !chatd_user_has_asked(x, to))
    load_request(from, to, ms, r->server);
}

static void reload_room(const ChatdStoreRoom *room, gpointer data) {
  Reload *r = data;
  if (!chatd_directory_room(r->server->directory, room->id))
    load_room(room, r->server);
}

static void reload_member(const ChatdStoreMember *m, gpointer data) {
  Reload *r = data;
  g_hash_table_add(
      r->pairs, g_strdup_printf("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, m->room_id, m->user_id));
  ChatdRoom *room = chatd_directory_room(r->server->directory, m->room_id);
  if (room && !chatd_room_has_member(room, m->user_id))
    load_member(m, r->server);
}

static void reload_session(const ChatdStoreSession *s, gpointer data) {
  Reload *r = data;
  if (!chatd_resume_tokens_owner(r->server->tokens, s->token_hash, g_get_real_time() / 1000))
    load_session(s, r->server);
}

static gboolean stored(Reload *r, gint64 a, gint64 b) {
  char key[48];
  g_snprintf(key, sizeof key, "%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, a, b);
  return g_hash_table_contains(r->pairs, key);
}

gboolean chatd_server_reload_directory(ChatdServer *server, GError **error) {
  ChatdDirectory *d = server->directory;
  Reload r = {server, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
  gint64 last_message = 0;
  gboolean ok = chatd_store_foreach_user(server->store, reload_user, &r, error) &&
                chatd_store_foreach_friend(server->store, reload_friend, &r, error) &&
                chatd_store_foreach_room(server->store, reload_room, &r, error) &&
                chatd_store_foreach_session(server->store, reload_session, &r, error) &&
                chatd_store_max_ids(server->store, NULL, NULL, &last_message, error) &&
                chatd_store_foreach_friend_request(server->store, reload_request, &r, error);
  if (ok) {
    /* Requests answered meanwhile are gone from the store. */
    GList *users = chatd_directory_users(d);
    for (GList *l = users; l; l = l->next) {
      ChatdUser *to = l->data;
      for (guint i = to->incoming_requests->len; i > 0; i--) {
        gint64 from_id = g_array_index(to->incoming_requests, gint64, i - 1);
        ChatdUser *from = chatd_directory_user(d, from_id);
        if (from && !stored(&r, from_id, to->id))
          chatd_directory_remove_request(d, from, to);
      }
    }
    g_list_free(users);
    g_hash_table_remove_all(r.pairs);
    ok = chatd_store_foreach_member(server->store, reload_member, &r, error);
  }
  if (ok) {
    /* Members who left meanwhile. */
    GList *rooms = chatd_directory_rooms(d);
    for (GList *l = rooms; l; l = l->next) {
      ChatdRoom *room = l->data;
      for (guint i = room->members->len; i > 0; i--) {
        gint64 user_id = g_array_index(room->members, gint64, i - 1);
        ChatdUser *user = chatd_directory_user(d, user_id);
        if (user && !stored(&r, room->id, user_id))
          chatd_directory_remove_member(d, room, user);
      }
    }
    g_list_free(rooms);
    if (chatd_directory_last_message_id(d) < last_message)
      chatd_directory_set_last_message_id(d, last_message);
    g_message("reloaded the directory: %u users; last message id %" G_GINT64_FORMAT,
              chatd_directory_user_count(d), chatd_directory_last_message_id(d));
  }
  g_hash_table_unref(r.pairs);
  return ok;
}

/* ---- start-up ---- */

static gboolean ensure_parent_dir(const char *path, GError **error) {
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_DATA_DIR, "cannot create %s: %s", dir,
                g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

static gboolean open_store(ChatdServer *server, GError **error) {
  const ChatdConfig *config = server->config;
  if (config->postgresql) {
    server->store = chatd_store_open_postgresql(config->postgresql, server->context, error);
    if (!server->store)
      return FALSE;
    /* The connection string may hold a password: it is not logged. */
    g_message("database: PostgreSQL (schema %d)", chatd_store_schema_version(server->store));
    return TRUE;
  }
  if (!ensure_parent_dir(config->database, error))
    return FALSE;
  server->store = chatd_store_open_with(config->database, server->context,
                                        (ChatdStoreDurability)config->durability, error);
  if (!server->store)
    return FALSE;
  g_message("database %s (schema %d), %s", config->database,
            chatd_store_schema_version(server->store),
            config->durability == CHATD_STORE_DURABILITY_OS
                ? "durability \"os\": acknowledged messages are lost if the machine loses power"
                : "every acknowledged message is on disk");
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
    g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_KEY, "server.key_file %s: %s",
                config->key_file, err.message);
    return FALSE;
  }
  chat_fingerprint(server->server_public_key, server->fingerprint);
  g_message("%s server key %s: %s", created ? "created" : "loaded", config->key_file,
            server->fingerprint);

  if (config->allow_legacy) {
    if (!config->crypto_base || !config->crypto_modulus) {
      g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_CRYPTO,
                  "server.allow_legacy needs crypto.base and crypto.modulus");
      return FALSE;
    }
    if (chat_dh_group_init(&server->group, config->crypto_base, config->crypto_modulus, &err) !=
        0) {
      g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_CRYPTO, "crypto: %s", err.message);
      return FALSE;
    }
    server->have_group = TRUE;
    g_warning("server.allow_legacy is on: clients of the seed dialect are accepted. That "
              "dialect is unauthenticated (no protection against a man in the middle, no "
              "integrity check); use it only for old clients on a trusted network");
  }

  if (chat_keylog_open_from_env(&server->keylog, &err) != 0) {
    g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_KEYLOG, "CHAT_KEYLOGFILE: %s",
                err.message);
    return FALSE;
  }
  return TRUE;
}

static void build_io_settings(ChatdServer *server) {
  const ChatdConfig *config = server->config;
  chat_writer w;
  chat_buffer_init(&server->server_info);
  chat_writer_init(&w, &server->server_info);
  chat_msg_server_info info = {
      .has_server = true,
      .server = chat_span_cstr("chatd " CHAT_VERSION),
      .has_max_message = true,
      .max_message = config->max_message_size,
      .has_max_image = true,
      .max_image = config->max_image_size,
  };
  chat_msg_server_info_write(&w, &info);
  chat_writer_finish(&w);

  ChatIoSettings *settings = &server->io_settings;
  memset(settings, 0, sizeof *settings);
  chat_channel_config_init(&settings->channel);
  /* Until a login, small limits: a stranger gets little of chatd's memory
   * (the session raises them at the login, session-io.h). */
  settings->channel.max_message = MIN(config->max_message_size, (gsize)CHATD_PRELOGIN_MAX_MESSAGE);
  settings->channel.max_queue = MIN(config->max_queue_bytes, (gsize)CHATD_PRELOGIN_MAX_QUEUE);
  settings->channel.transit = server->transit;
  settings->channel.v2_suite = CHAT_V2_SUITE_ANY;
  settings->channel.server_private_key = server->server_private_key;
  settings->channel.server_info = server->server_info.data;
  settings->channel.server_info_len = server->server_info.len;
  settings->channel.allow_seed = config->allow_legacy;
  settings->channel.seed_group = server->have_group ? &server->group : NULL;
  settings->handshake_timeout_ms = config->handshake_timeout * 1000u;
  settings->keylog = server->keylog;

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
  dst->postgresql = g_strdup(src->postgresql);
  dst->nats = g_strdupv(src->nats);
  dst->node_name = g_strdup(src->node_name);
  dst->warnings = g_ptr_array_new_with_free_func(g_free);
}

ChatdServer *chatd_server_new(const ChatdConfig *config, GError **error) {
  g_autoptr(ChatdServer) server = g_new0(ChatdServer, 1);
  server->config = g_new0(ChatdConfig, 1);
  config_copy(server->config, config);
  server->context = g_main_context_ref_thread_default();
  server->directory = chatd_directory_new();
  server->tokens = chatd_resume_tokens_new((gint64)config->resume_token_days * 24 * 3600 * 1000,
                                           CHATD_RESUME_TOKENS_PER_USER);
  server->pending_usernames = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  chat_arena_init(&server->arena);
  g_queue_init(&server->sessions);
  g_queue_init(&server->live);
  g_queue_init(&server->prelogin);
  server->connections_by_address = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  server->main_loop = chat_io_loop_new(error);
  if (!server->main_loop)
    return NULL;
  chat_io_loop_attach(server->main_loop, server->context);

  if (!open_store(server, error))
    return NULL;
  if (!load_directory(server, error) || !load_keys(server, error))
    return NULL;
  server->passwords = chatd_passwords_new(&config->password_cost, server->context);
  server->attempts = chatd_attempts_new(config);
  server->transit = chat_transit_new(config->max_transit_bytes);
  build_io_settings(server);
  return g_steal_pointer(&server);
}

/* ---- connections ---- */

static ChatdLogLimit refused_connections = CHATD_LOG_LIMIT_INIT;

/* Whether the server is so full that a new connection gets a shorter time
 * to log in (server.max_connections x CHATD_CROWDED_PERCENT / 100). */
gboolean chatd_server_crowded(ChatdServer *server) {
  return (guint64)g_queue_get_length(&server->live) * 100 >=
         (guint64)server->config->max_connections * CHATD_CROWDED_PERCENT;
}

/* Makes room at max_connections: the oldest connection that has not logged
 * in goes (an idle crowd of those must not keep users out); never a
 * logged-in user. FALSE when every connection is logged in. */
static gboolean make_room(ChatdServer *server) {
  ChatdSession *oldest = g_queue_peek_head(&server->prelogin);
  if (!oldest)
    return FALSE;
  chatd_session_close(oldest, "the server is full: the oldest connection that has not logged "
                              "in makes room for a new one");
  return TRUE;
}

/* On the main thread, for each accepted socket: a session, and its
 * connection on the next I/O thread in turn. */
static void on_accept(int fd, const char *peer, gpointer user_data) {
  ChatdServer *server = user_data;
  if (server->stopping) {
    close(fd);
    return;
  }
  g_autofree char *address = chatd_attempts_address_key(peer);
  guint from_address =
      GPOINTER_TO_UINT(g_hash_table_lookup(server->connections_by_address, address));
  if (from_address >= server->config->max_connections_per_address) {
    close(fd);
    chatd_log_limited(&refused_connections, G_LOG_LEVEL_MESSAGE,
                      "%s: connection refused: %u connections from this address is the limit "
                      "(server.max_connections_per_address)",
                      peer, server->config->max_connections_per_address);
    return;
  }
  if (g_queue_get_length(&server->live) >= server->config->max_connections && !make_room(server)) {
    close(fd);
    chatd_log_limited(&refused_connections, G_LOG_LEVEL_WARNING,
                      "%s: connection refused: %u connections is the limit "
                      "(server.max_connections) and every one is logged in",
                      peer, server->config->max_connections);
    return;
  }
  ChatIoLoop *loop = server->io_loops[server->next_io_loop];
  server->next_io_loop = (server->next_io_loop + 1) % server->n_io_loops;
  ChatdSession *s = chatd_session_new(server, fd, peer, loop);
  if (!s)
    return;
  s->address = g_steal_pointer(&address);
  g_hash_table_insert(server->connections_by_address, g_strdup(s->address),
                      GUINT_TO_POINTER(from_address + 1));
  chatd_session_io_start(s);
}

void chatd_server_connection_ended(ChatdServer *server, ChatdSession *s) {
  if (!s->address)
    return;
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(server->connections_by_address, s->address));
  if (n <= 1)
    g_hash_table_remove(server->connections_by_address, s->address);
  else
    g_hash_table_insert(server->connections_by_address, g_strdup(s->address),
                        GUINT_TO_POINTER(n - 1));
}

/* Each connection needs a file descriptor: past the process's limit,
 * accept fails and clients time out. The soft limit is raised as far as
 * allowed, and max_connections lowered to fit what is left. */
static void fit_connections_to_fd_limit(ChatdServer *server) {
  ChatdConfig *config = server->config;
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return;
  rlim_t reserved = CHATD_RESERVED_FDS + 2 * (rlim_t)MAX(config->io_threads, 1u);
  rlim_t wanted = (rlim_t)config->max_connections + reserved;
  if (limit.rlim_cur < wanted) {
    struct rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : MIN(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  if (limit.rlim_cur >= wanted)
    return;
  guint fitting = limit.rlim_cur > reserved ? (guint)(limit.rlim_cur - reserved) : 1;
  /* The default lowered is a fact to note; a value the operator chose is
   * worth a warning. */
  g_log(G_LOG_DOMAIN,
        config->max_connections == CHATD_CONFIG_DEFAULT_MAX_CONNECTIONS ? G_LOG_LEVEL_MESSAGE
                                                                        : G_LOG_LEVEL_WARNING,
        "the file limit (ulimit -n) is %lu: server.max_connections is lowered from %u to %u",
        (unsigned long)limit.rlim_cur, config->max_connections, fitting);
  config->max_connections = fitting;
}

static gboolean start_io_threads(ChatdServer *server, GError **error) {
  guint n = server->config->io_threads;
  if (n == 0)
    n = MAX(1u, g_get_num_processors());
  server->io_loops = g_new0(ChatIoLoop *, n);
  server->io_loops[0] = server->main_loop;
  server->n_io_loops = 1;
  for (guint i = 1; i < n; i++) {
    ChatIoLoop *loop = chat_io_loop_new(error);
    if (!loop)
      return FALSE;
    g_autofree char *name = g_strdup_printf("chatd-io-%u", i);
    if (!chat_io_loop_spawn(loop, name, error)) {
      chat_io_loop_free(loop);
      return FALSE;
    }
    server->io_loops[server->n_io_loops++] = loop;
  }
  return TRUE;
}

gboolean chatd_server_start(ChatdServer *server, GError **error) {
  const ChatdConfig *config = server->config;
  fit_connections_to_fd_limit(server);
  g_autoptr(GError) local = NULL;
  server->listener = chat_io_listener_new(server->main_loop, config->bind_ip, config->bind_port,
                                          CHATD_LISTEN_BACKLOG, on_accept, server, &local);
  if (!server->listener) {
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  server->port = chat_io_listener_get_port(server->listener);
  server->token_sweep = chatd_tokens_start_sweeping(server);
  if (config->nats) {
    if (!config->node_name)
      server->config->node_name = g_strdup_printf("%s:%u", g_get_host_name(), server->port);
    server->cluster = chatd_cluster_new(server, error);
    if (!server->cluster)
      return FALSE;
  }
  if (!start_io_threads(server, error))
    return FALSE;
  char where[CHAT_HOST_PORT_MAX + 1];
  chat_host_port_format(config->bind_ip, server->port, where, sizeof where);
  g_message("listening on %s (v2%s) with %u I/O thread%s, key %s", where,
            config->allow_legacy ? " and seed" : "", server->n_io_loops,
            server->n_io_loops == 1 ? "" : "s", server->fingerprint);
  return TRUE;
}

guint16 chatd_server_port(ChatdServer *server) {
  return server->port;
}

const char *chatd_server_fingerprint(ChatdServer *server) {
  return server->fingerprint;
}

static gboolean wake_up(gpointer data) {
  (void)data;
  return G_SOURCE_CONTINUE;
}

/* Runs the main context until every connection has ended or timeout_ms
 * passed. */
static void wait_for_connections(ChatdServer *server, guint timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  GSource *tick = g_timeout_source_new(100);
  g_source_set_callback(tick, wake_up, NULL, NULL);
  g_source_attach(tick, server->context);
  while (!g_queue_is_empty(&server->live) && g_get_monotonic_time() < deadline)
    g_main_context_iteration(server->context, TRUE);
  g_source_destroy(tick);
  g_source_unref(tick);
}

void chatd_server_stop(ChatdServer *server) {
  if (server->stopping)
    return;
  server->stopping = TRUE;
  g_clear_pointer(&server->listener, chat_io_listener_free);
  /* The other nodes hear this node leave (its users go offline there). */
  g_clear_pointer(&server->cluster, chatd_cluster_free);
  while (!g_queue_is_empty(&server->sessions)) {
    ChatdSession *s = g_queue_peek_head(&server->sessions);
    chatd_session_close(s, "the server is shutting down");
  }
  if (server->store)
    chatd_store_flush(server->store);
  /* Every connection says goodbye (v2: a CLOSE record) and waits for its
   * peer's; what is left after the grace period is cut. */
  wait_for_connections(server, SHUTDOWN_GRACE_MS);
  if (!g_queue_is_empty(&server->live)) {
    g_message("%u connection(s) did not close in time; cutting them",
              g_queue_get_length(&server->live));
    for (GList *l = server->live.head; l; l = l->next)
      chatd_session_io_close(l->data, FALSE);
    wait_for_connections(server, SHUTDOWN_ABORT_MS);
  }
  /* Let the last completions and releases run, then stop the threads. */
  while (g_main_context_iteration(server->context, FALSE))
    ;
  for (guint i = 1; i < server->n_io_loops; i++)
    chat_io_loop_quit(server->io_loops[i]);
  for (guint i = 1; i < server->n_io_loops; i++)
    chat_io_loop_join(server->io_loops[i]);
}

void chatd_server_free(ChatdServer *server) {
  if (!server)
    return;
  chatd_server_stop(server);
  for (guint i = 1; i < server->n_io_loops; i++)
    chat_io_loop_free(server->io_loops[i]);
  g_free(server->io_loops);
  chatd_passwords_free(server->passwords);
  chatd_store_close(server->store);
  chatd_attempts_free(server->attempts);
  chat_transit_free(server->transit);
  chatd_directory_free(server->directory);
  if (server->token_sweep)
    g_source_remove(server->token_sweep);
  chatd_resume_tokens_free(server->tokens);
  if (server->pending_usernames)
    g_hash_table_unref(server->pending_usernames);
  if (server->connections_by_address)
    g_hash_table_unref(server->connections_by_address);
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
  chat_io_loop_free(server->main_loop);
  if (server->context)
    g_main_context_unref(server->context);
  g_free(server);
}
