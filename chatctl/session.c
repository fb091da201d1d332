/* A chatctl invocation's connection and login (see session.h). */
#define G_LOG_DOMAIN "chatctl"

#include "chatctl/session.h"

#include <string.h>

#include "build-config.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/password.h"
#include "chatctl/token-cache.h"
#include "common/username.h"
#include "protocol/gio/chat-dial.h"
#include "protocol/host-port.h"
#include "protocol/keylog.h"
#include "protocol/messages.h"

/* Room reserved for a request up front, so that writing a small request (a
 * login with its password, a resume with its token) never moves the buffer
 * and leaves an unwiped copy of the secret behind. */
#define REQUEST_BUFFER_RESERVE (2 * CHATCTL_PASSWORD_MAX + 1024)
/* A graceful close is given the connection's own close timeout, plus a
 * margin, before the session stops waiting for it. */
#define CLOSE_WAIT_MS (CHAT_CONNECTION_CLOSE_TIMEOUT_MS + 1000u)
#define US_PER_MS 1000
#define MS_PER_S 1000u

struct chatctl_session {
  const chatctl_command *command;
  const chatctl_globals *globals;
  chatctl_client_config config;
  char *host_port; /* the first server: the deployment's known_hosts entry */
  char *server;    /* host:port of the server connected to */
  chat_dh_group group;
  chat_keylog *keylog;
  ChatConnection *connection;
  gulong message_handler, closed_handler;
  chat_limits limits;
  chat_buffer out;
  chat_writer writer;
  GQueue inbox;               /* chatctl_message*, not yet taken */
  guint64 last_seq;           /* of the newest message received */
  guint64 since;              /* answers to the last request have seq > since */
  guint32 next_request_id;    /* v2: the id of the next request */
  guint32 building_id;        /* of the request being built */
  gboolean pending_has_id;    /* the last request sent had an id ... */
  guint32 pending_request_id; /* ... this one */
  gboolean barrier_has_id;    /* during a barrier: the request before the echo ... */
  guint32 barrier_request_id; /* ... whose failure still counts */
  gboolean closed;
  GError *close_reason;
  char *bad_message;    /* why a message of the server was refused */
  char *kick;           /* what a server_kick said */
  char *username;       /* normalised --user */
  const char *password; /* given by the command, or NULL; only during open */
  gboolean finished;    /* the request's writer was finished ... */
  int finish_status;    /* ... with this result */
  char *token_path;
  chatctl_message *user_message;
  chatctl_message *bundle_message;
  GPtrArray *requests;      /* chatctl_message*: incoming_friend_request at login */
  GPtrArray *request_users; /* const chat_value*: their parameters */
  gsize server_max_message;
  gsize server_max_image; /* 0: not announced */
};

void chatctl_message_free(chatctl_message *message) {
  if (!message)
    return;
  chat_arena_clear(&message->arena);
  g_free(message);
}

/* ---- receiving ---- */

static char *describe_kick(const chat_value *params) {
  chat_msg_server_kick kick;
  if (chat_msg_server_kick_read(params, &kick, NULL) != 0 || !kick.has_details)
    return g_strdup("this account logged in elsewhere");
  return g_strdup_printf("%.*s (from %.*s)", (int)kick.reason.len, kick.reason.ptr,
                         (int)kick.address.len, kick.address.ptr);
}

static void on_message(ChatConnection *connection, gconstpointer data, gsize len,
                       gpointer user_data) {
  chatctl_session *s = user_data;
  (void)connection;
  if (s->bad_message)
    return;
  chatctl_message *m = g_new0(chatctl_message, 1);
  chat_arena_init(&m->arena);
  chat_dialect dialect = s->config.dialect;
  chat_error err;
  chat_message_header header;
  int rc = chat_message_decode_with_id(dialect, data, len, &s->limits, 0, &m->arena, &header,
                                       &m->params, &err);
  m->type = header.type;
  m->has_request_id = header.has_request_id;
  m->request_id = header.request_id;
  if (rc != 0)
    s->bad_message = g_strdup_printf("%s at byte %zu", err.message, err.offset);
  else if (!(m->info = chat_catalogue_lookup(m->type, dialect, CHAT_TO_CLIENT)))
    s->bad_message = g_strdup_printf("unknown message type %u", (unsigned)m->type);
  else if (chat_catalogue_check(m->type, m->params, &err) != 0)
    s->bad_message = g_strdup_printf("%s: %s", m->info->name, err.message);
  if (s->bad_message) {
    /* spec/protocol.md 6: a client does not act on it, and closes. */
    chatctl_message_free(m);
    chat_connection_close(s->connection, FALSE);
    return;
  }
  if (m->type == CHAT_MSG_SERVER_KICK && !s->kick)
    s->kick = describe_kick(m->params);
  m->received_ms = g_get_real_time() / US_PER_MS;
  m->seq = ++s->last_seq;
  g_queue_push_tail(&s->inbox, m);
}

static void on_closed(ChatConnection *connection, const GError *reason, gpointer user_data) {
  chatctl_session *s = user_data;
  (void)connection;
  s->closed = TRUE;
  if (reason && !s->close_reason)
    s->close_reason = g_error_copy(reason);
}

static int report_closed(chatctl_session *s) {
  if (s->bad_message)
    return chatctl_fail(CHATCTL_EXIT_CONNECTION,
                        "the server sent a bad message (%s); connection closed", s->bad_message);
  if (s->kick)
    return chatctl_fail(CHATCTL_EXIT_CONNECTION, "the server closed the connection: %s", s->kick);
  if (s->close_reason)
    return chatctl_fail(CHATCTL_EXIT_CONNECTION, "the connection to %s was closed: %s", s->server,
                        s->close_reason->message);
  return chatctl_fail(CHATCTL_EXIT_CONNECTION, "the server %s closed the connection", s->server);
}

static gboolean on_deadline(gpointer data) {
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static GSource *start_timer(guint ms, gboolean *fired) {
  GSource *timer = g_timeout_source_new(ms);
  g_source_set_callback(timer, on_deadline, fired, NULL);
  g_source_attach(timer, NULL);
  return timer;
}

static void stop_timer(GSource *timer) {
  if (!timer)
    return;
  g_source_destroy(timer);
  g_source_unref(timer);
}

/* ---- dialling ---- */

static char *known_hosts_path(void) {
  char path[CHAT_KNOWN_HOSTS_PATH_MAX];
  chat_error err;
  if (chat_known_hosts_default_path(path, sizeof path, &err) != 0)
    return g_strdup("known_hosts");
  return g_strdup(path);
}

/* client.pin "ask" cannot ask in a script: say what the server offered and
 * how to trust it. */
static int report_unknown_server(chatctl_session *s, const GError *error) {
  const char *fingerprint = chat_dial_error_fingerprint(error);
  g_autofree char *file = known_hosts_path();
  return chatctl_fail(
      CHATCTL_EXIT_CONNECTION,
      "%s is not a known server and client.pin is \"ask\", but chatctl does not ask.\n"
      "  The server's key fingerprint is %s\n"
      "Check it with the server's operator (chatctl fingerprint KEYFILE on the server), then "
      "trust it by either\n"
      "  adding the line \"%s %s\" to %s,\n"
      "  setting client.server_key to %s in the config, or\n"
      "  connecting once with client.pin \"accept-new\".",
      s->host_port, fingerprint ? fingerprint : "(unknown)", s->host_port,
      fingerprint ? fingerprint : "FINGERPRINT", file,
      fingerprint ? fingerprint : "the fingerprint");
}

static void read_server_info(chatctl_session *s) {
  s->server_max_message = s->config.dialect == CHAT_DIALECT_SEED ? CHATCTL_SEED_MAX_MESSAGE_BYTES
                                                                 : CHAT_V2_DEFAULT_MAX_MESSAGE;
  gsize len = 0;
  const guint8 *info = chat_connection_get_server_info(s->connection, &len);
  if (!info || len == 0)
    return;
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_server_info m;
  if (chat_msg_server_info_decode(info, len, &arena, &m)) {
    if (m.has_max_message && m.max_message > 0)
      s->server_max_message = (gsize)MIN(m.max_message, (guint64)G_MAXSIZE);
    if (m.has_max_image)
      s->server_max_image = (gsize)MIN(m.max_image, (guint64)G_MAXSIZE);
  }
  chat_arena_clear(&arena);
}

static int dial(chatctl_session *s) {
  const chatctl_client_config *c = &s->config;
  gboolean seed = c->dialect == CHAT_DIALECT_SEED;
  if (seed) {
    int status = chatctl_client_config_seed_group(c, &s->group);
    if (status)
      return status;
  }
  chat_error err;
  if (chat_keylog_open_from_env(&s->keylog, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", CHAT_KEYLOG_ENV, err.message);
  ChatDialOptions options = {
      .dialect = c->dialect,
      .seed_group = seed ? &s->group : NULL,
      .pin_policy = c->pin,
      .pinned_key = c->server_key,
      .keylog = s->keylog,
      .max_message_bytes = CHATCTL_MAX_MESSAGE_BYTES,
      .timeout_ms = CHATCTL_REPLY_TIMEOUT_MS,
      .client_name = "chatctl " CHAT_VERSION,
      .pin_host_port = s->host_port,
  };
  g_autofree ChatDialServer *servers = g_new0(ChatDialServer, c->n_servers);
  for (gsize i = 0; i < c->n_servers; i++)
    servers[i] = (ChatDialServer){c->servers[i].host, c->servers[i].port};
  g_autoptr(GError) error = NULL;
  gsize index = 0;
  s->connection = chat_dial_any_sync(&options, servers, c->n_servers, 0, &index, &error);
  if (!s->connection) {
    if (g_error_matches(error, CHAT_DIAL_ERROR, CHAT_DIAL_ERROR_NEEDS_CONFIRMATION))
      return report_unknown_server(s, error);
    return chatctl_fail(CHATCTL_EXIT_CONNECTION, "%s", error->message);
  }
  s->message_handler = g_signal_connect(s->connection, "message", G_CALLBACK(on_message), s);
  s->closed_handler = g_signal_connect(s->connection, "closed", G_CALLBACK(on_closed), s);
  g_free(s->server);
  s->server = chat_host_port_new(c->servers[index].host, c->servers[index].port);
  read_server_info(s);
  return 0;
}

/* ---- opening and closing ---- */

char *chatctl_normalize_username(const char *name) {
  if (!name || !g_utf8_validate(name, -1, NULL))
    return NULL;
  char *normalized = chat_username_normalize(name, -1);
  if (normalized[0] == '\0')
    g_clear_pointer(&normalized, g_free);
  return normalized;
}

int chatctl_session_open(const chatctl_command *command, const chatctl_globals *globals,
                         unsigned flags, chatctl_session **out) {
  return chatctl_session_open_with_password(command, globals, flags, NULL, out);
}

int chatctl_session_open_with_password(const chatctl_command *command,
                                       const chatctl_globals *globals, unsigned flags,
                                       const char *password, chatctl_session **out) {
  *out = NULL;
  if ((flags & (CHATCTL_SESSION_LOGIN | CHATCTL_SESSION_NEED_USER)) &&
      (!globals->user || globals->user[0] == '\0'))
    return chatctl_usage_error(command, "say who you are with --user NAME");
  chatctl_session *s = g_new0(chatctl_session, 1);
  s->next_request_id = 1;
  s->command = command;
  s->globals = globals;
  g_queue_init(&s->inbox);
  s->requests = g_ptr_array_new_with_free_func((GDestroyNotify)chatctl_message_free);
  s->request_users = g_ptr_array_new();
  chat_limits_init(&s->limits);
  s->limits.max_str_len = CHATCTL_MAX_MESSAGE_BYTES;
  s->limits.max_bytes_len = CHATCTL_MAX_MESSAGE_BYTES;
  chat_buffer_init(&s->out);
  chat_buffer_reserve(&s->out, REQUEST_BUFFER_RESERVE);

  int status = chatctl_client_config_load(command, globals, &s->config);
  s->host_port = chatctl_client_config_host_port(&s->config);
  s->server = g_strdup(s->host_port);
  if (status == 0 && (flags & CHATCTL_SESSION_V2_ONLY) && s->config.dialect != CHAT_DIALECT_V2)
    status = chatctl_usage_error(command, "this needs the v2 dialect (--dialect v2, or "
                                          "client.dialect); the seed protocol does not have it");
  if (status == 0 && globals->user) {
    s->username = chatctl_normalize_username(globals->user);
    if (!s->username)
      status = chatctl_usage_error(command, "--user needs a name in UTF-8");
    else
      s->token_path = chatctl_token_cache_path(s->config.host, s->config.port, s->username);
  }
  if (status == 0)
    status = dial(s);
  s->password = password;
  if (status == 0 && (flags & CHATCTL_SESSION_LOGIN))
    status = chatctl_session_login(s);
  s->password = NULL;
  if (status) {
    chatctl_session_close(s);
    return status;
  }
  *out = s;
  return 0;
}

int chatctl_session_run(const chatctl_command *command, const chatctl_globals *globals,
                        unsigned flags, chatctl_session_job job, gpointer data) {
  chatctl_session *session = NULL;
  int status = chatctl_session_open(command, globals, flags, &session);
  if (status)
    return status;
  status = job(session, globals, data);
  chatctl_session_close(session);
  return status;
}

void chatctl_session_close(chatctl_session *s) {
  if (!s)
    return;
  if (s->connection) {
    if (!s->closed) {
      chat_connection_close(s->connection, TRUE);
      gboolean timed_out = FALSE;
      GSource *timer = start_timer(CLOSE_WAIT_MS, &timed_out);
      while (!s->closed && !timed_out)
        g_main_context_iteration(NULL, TRUE);
      stop_timer(timer);
    }
    g_signal_handler_disconnect(s->connection, s->message_handler);
    g_signal_handler_disconnect(s->connection, s->closed_handler);
    g_object_unref(s->connection);
  }
  chatctl_message *m;
  while ((m = g_queue_pop_head(&s->inbox)))
    chatctl_message_free(m);
  chatctl_message_free(s->user_message);
  chatctl_message_free(s->bundle_message);
  g_ptr_array_unref(s->request_users);
  g_ptr_array_unref(s->requests);
  if (s->out.data)
    explicit_bzero(s->out.data, s->out.capacity);
  chat_buffer_clear(&s->out);
  chat_keylog_close(s->keylog);
  chat_dh_group_clear(&s->group);
  g_clear_error(&s->close_reason);
  g_free(s->bad_message);
  g_free(s->kick);
  g_free(s->username);
  g_free(s->token_path);
  g_free(s->host_port);
  g_free(s->server);
  chatctl_client_config_clear(&s->config);
  g_free(s);
}

chat_dialect chatctl_session_dialect(const chatctl_session *s) {
  return s->config.dialect;
}

const chatctl_client_config *chatctl_session_config(const chatctl_session *s) {
  return &s->config;
}

const char *chatctl_session_username(const chatctl_session *s) {
  return s->username;
}

const char *chatctl_session_token_path(const chatctl_session *s) {
  return s->token_path;
}

gsize chatctl_session_max_message(const chatctl_session *s) {
  return s->server_max_message;
}

gsize chatctl_session_max_image(const chatctl_session *s) {
  return s->server_max_image;
}

/* ---- requests and answers ---- */

static void wipe_request(chatctl_session *s) {
  if (s->out.data)
    explicit_bzero(s->out.data, s->out.len);
}

chat_writer *chatctl_session_begin(chatctl_session *s, guint32 type) {
  wipe_request(s);
  s->finished = FALSE;
  chat_buffer_reset(&s->out);
  chat_writer_init(&s->writer, &s->out);
  chat_message_header header = {.type = type};
  if (s->config.dialect == CHAT_DIALECT_V2) {
    header.has_request_id = TRUE;
    header.request_id = s->building_id = s->next_request_id++;
  }
  chat_message_begin_with_id(&s->writer, s->config.dialect, &header);
  return &s->writer;
}

chat_writer *chatctl_session_writer(chatctl_session *s) {
  return &s->writer;
}

gsize chatctl_session_request_len(chatctl_session *s) {
  if (!s->finished) {
    s->finished = TRUE;
    s->finish_status = chat_writer_finish(&s->writer);
  }
  return s->finish_status == 0 ? s->out.len : 0;
}

int chatctl_session_send(chatctl_session *s) {
  chatctl_session_request_len(s);
  int rc = s->finish_status;
  int status = 0;
  g_autoptr(GError) error = NULL;
  if (rc != 0) {
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "cannot encode the request: %s", chat_strerror(rc));
  } else if (s->closed || s->bad_message) {
    status = report_closed(s);
  } else if (!chat_connection_send(s->connection, s->out.data, s->out.len, &error)) {
    if (g_error_matches(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE))
      status = chatctl_fail(CHATCTL_EXIT_USAGE, "the request is too large (%zu bytes): %s",
                            s->out.len, error->message);
    else
      status =
          chatctl_fail(CHATCTL_EXIT_CONNECTION, "cannot send to %s: %s", s->server, error->message);
  }
  /* The connection has its own copy: requests may hold a password. */
  wipe_request(s);
  s->since = s->last_seq;
  s->pending_has_id = s->config.dialect == CHAT_DIALECT_V2;
  s->pending_request_id = s->building_id;
  return status;
}

static gboolean type_wanted(guint32 type, const guint32 *types, size_t n_types) {
  for (size_t i = 0; i < n_types; i++)
    if (types[i] == type)
      return TRUE;
  return FALSE;
}

chat_request_error chatctl_message_error(const chatctl_message *m) {
  chat_msg_request_failed failed;
  if (m->type != CHAT_MSG_REQUEST_FAILED ||
      chat_msg_request_failed_read(m->params, &failed, NULL) != 0)
    return CHAT_REQUEST_ERROR_UNKNOWN;
  return chat_msg_request_failed_code(&failed);
}

/* Reads a refusal: its code (NULL in seed), text and class; with --json
 * prints them on stdout. Returns the exit status the class calls for. */
static int read_refusal(chatctl_session *s, const chatctl_message *m, char **code_out,
                        char **text_out) {
  chat_span code = {NULL, 0}, text = chat_span_cstr("");
  chat_request_error_class error_class = CHAT_REQUEST_ERROR_CLASS_REFUSED;
  chat_msg_request_failed failed;
  chat_msg_str reason;
  if (m->type == CHAT_MSG_REQUEST_FAILED &&
      chat_msg_request_failed_read(m->params, &failed, NULL) == 0) {
    code = failed.error;
    text = failed.text;
    error_class = chat_request_error_info_of(chat_msg_request_failed_code(&failed))->error_class;
  } else if (m->type == CHAT_MSG_GENERAL_FAILURE &&
             chat_msg_str_read(m->params, &reason, NULL) == 0) {
    text = reason.value;
  }
  int status = error_class == CHAT_REQUEST_ERROR_CLASS_RETRY_LATER ? CHATCTL_EXIT_RETRY
                                                                   : CHATCTL_EXIT_REFUSED;
  char *code_text = code.ptr ? g_strndup(code.ptr, code.len) : NULL;
  char *text_text = g_strndup(text.ptr, text.len);
  if (s->globals->json) {
    const chatctl_field fields[] = {
        CHATCTL_STR("error", code_text),
        CHATCTL_STR("class", chat_request_error_class_name(error_class)),
        CHATCTL_STR("text", text_text),
    };
    chatctl_print_fields(fields, G_N_ELEMENTS(fields));
  }
  *code_out = code_text;
  *text_out = text_text;
  return status;
}

void chatctl_session_print_refusal(chatctl_session *s, const chatctl_message *m) {
  g_autofree char *code_text = NULL, *text_text = NULL;
  read_refusal(s, m, &code_text, &text_text);
}

int chatctl_session_refused(chatctl_session *s, const chatctl_message *m, const char *what) {
  g_autofree char *code_text = NULL, *text_text = NULL;
  int status = read_refusal(s, m, &code_text, &text_text);
  if (code_text)
    return chatctl_fail(status, "%s: %s (%s)", what ? what : "the server refused", text_text,
                        code_text);
  return chatctl_fail(status, "%s: %s", what ? what : "the server refused", text_text);
}

/* Whether m answers the last request sent: in v2 it echoes its request id;
 * in seed it came after the request (the server answers in order). */
static gboolean is_answer(const chatctl_session *s, const chatctl_message *m) {
  if (m->seq <= s->since)
    return FALSE;
  if (!s->pending_has_id)
    return TRUE;
  return m->has_request_id && m->request_id == s->pending_request_id;
}

static gboolean is_failure(const chatctl_message *m) {
  return m->type == CHAT_MSG_REQUEST_FAILED || m->type == CHAT_MSG_GENERAL_FAILURE;
}

/* Looks through what arrived since the last send. Returns 0 with *reply,
 * the status of a failure, or -1 when nothing yet. */
static int scan_answers(chatctl_session *s, const guint32 *types, size_t n_types,
                        chatctl_match_func match, gpointer data, chatctl_message **reply) {
  for (GList *l = s->inbox.head; l; l = l->next) {
    chatctl_message *m = l->data;
    gboolean earlier = s->barrier_has_id && m->seq > s->since && m->has_request_id &&
                       m->request_id == s->barrier_request_id;
    if (earlier && is_failure(m)) {
      int status = chatctl_session_refused(s, m, NULL);
      g_queue_delete_link(&s->inbox, l);
      chatctl_message_free(m);
      return status;
    }
    if (!is_answer(s, m))
      continue;
    gboolean wanted = type_wanted(m->type, types, n_types);
    if (wanted && (!match || match(m, data))) {
      g_queue_delete_link(&s->inbox, l);
      *reply = m;
      return 0;
    }
    if (!wanted && is_failure(m)) {
      int status = chatctl_session_refused(s, m, NULL);
      g_queue_delete_link(&s->inbox, l);
      chatctl_message_free(m);
      return status;
    }
  }
  return -1;
}

int chatctl_session_wait(chatctl_session *s, const guint32 *types, size_t n_types,
                         chatctl_match_func match, gpointer data, chatctl_message **reply) {
  *reply = NULL;
  gboolean timed_out = FALSE;
  GSource *timer = start_timer(CHATCTL_REPLY_TIMEOUT_MS, &timed_out);
  int status;
  for (;;) {
    status = scan_answers(s, types, n_types, match, data, reply);
    if (status >= 0)
      break;
    if (s->closed || s->bad_message) {
      status = report_closed(s);
      break;
    }
    if (timed_out) {
      status = chatctl_fail(CHATCTL_EXIT_TIMEOUT, "no answer from %s within %u s", s->server,
                            CHATCTL_REPLY_TIMEOUT_MS / MS_PER_S);
      break;
    }
    g_main_context_iteration(NULL, TRUE);
  }
  stop_timer(timer);
  return status;
}

static gboolean is_our_echo(const chatctl_message *m, gpointer data) {
  chat_msg_str echoed;
  return chat_msg_str_read(m->params, &echoed, NULL) == 0 && chat_span_eq(echoed.value, data);
}

int chatctl_session_ask(chatctl_session *s, guint32 answer, chatctl_match_func match, gpointer data,
                        chatctl_message **reply) {
  *reply = NULL;
  int status = chatctl_session_send(s);
  return status ? status : chatctl_session_wait(s, &answer, 1, match, data, reply);
}

int chatctl_session_barrier(chatctl_session *s) {
  g_autofree char *nonce = g_uuid_string_random();
  chat_msg_str request = {chat_span_cstr(nonce)};
  chat_msg_str_write(chatctl_session_begin(s, CHAT_MSG_CLIENT_ECHO), &request);
  g_autoptr(chatctl_message) echo = NULL;
  /* In v2 the request before the echo has its own id: its failure counts. */
  s->barrier_has_id = s->pending_has_id;
  s->barrier_request_id = s->pending_request_id;
  guint64 since = s->since;
  int status = chatctl_session_send(s);
  s->since = since;
  if (status == 0)
    status = chatctl_session_wait(s, (const guint32[]){CHAT_MSG_SERVER_ECHO}, 1, is_our_echo, nonce,
                                  &echo);
  s->barrier_has_id = FALSE;
  return status;
}

int chatctl_session_next_event(chatctl_session *s, gint64 deadline_us, const gboolean *stop,
                               chatctl_message **event) {
  *event = NULL;
  gboolean timed_out = FALSE;
  GSource *timer = NULL;
  if (deadline_us != CHATCTL_NO_DEADLINE) {
    gint64 left_us = MAX(deadline_us - g_get_monotonic_time(), 0);
    timer = start_timer((guint)((left_us + US_PER_MS - 1) / US_PER_MS), &timed_out);
  }
  int status;
  for (;;) {
    if (!g_queue_is_empty(&s->inbox)) {
      *event = g_queue_pop_head(&s->inbox);
      status = 0;
      break;
    }
    if (stop && *stop) {
      status = CHATCTL_EXIT_OK;
      break;
    }
    if (s->closed || s->bad_message) {
      status = report_closed(s);
      break;
    }
    if (timed_out) {
      status = CHATCTL_EXIT_TIMEOUT;
      break;
    }
    g_main_context_iteration(NULL, TRUE);
  }
  stop_timer(timer);
  return status;
}

/* ---- logging in ---- */

static int collect_bundle(chatctl_session *s) {
  static const guint32 types[] = {CHAT_MSG_LOGIN_BUNDLE, CHAT_MSG_SESSION_BUNDLE};
  chatctl_message *bundle;
  int status = chatctl_session_wait(s, types, G_N_ELEMENTS(types), NULL, NULL, &bundle);
  if (status)
    return status;
  s->bundle_message = bundle;
  /* The requests sent between login_successful and the bundle belong to the
   * login; anything else stays an event. */
  guint64 after = s->user_message->seq;
  for (GList *l = s->inbox.head; l;) {
    GList *next = l->next;
    chatctl_message *m = l->data;
    if (m->type == CHAT_MSG_INCOMING_FRIEND_REQUEST && m->seq > after && m->seq < bundle->seq) {
      g_queue_delete_link(&s->inbox, l);
      g_ptr_array_add(s->requests, m);
      g_ptr_array_add(s->request_users, m->params);
    }
    l = next;
  }
  chat_msg_session_bundle v2;
  if (bundle->type == CHAT_MSG_SESSION_BUNDLE &&
      chat_msg_session_bundle_read(bundle->params, &v2, NULL) == 0 && v2.token.len > 0) {
    if (s->token_path)
      chatctl_token_cache_store(s->token_path, (const guint8 *)v2.token.ptr, v2.token.len);
    /* A password equivalent: not kept in memory longer than needed. The
     * bytes were copied into the message's own arena by the decoder. */
    explicit_bzero((void *)v2.token.ptr, v2.token.len);
  }
  return 0;
}

/* Waits for login_successful or a refusal of the credentials (*ok FALSE:
 * seed login_failed, v2 request_failed of class bad_credentials), then the
 * bundle. Any other failure is reported and its status returned. */
static int finish_login(chatctl_session *s, gboolean *ok) {
  static const guint32 types[] = {CHAT_MSG_LOGIN_SUCCESSFUL, CHAT_MSG_LOGIN_FAILED,
                                  CHAT_MSG_REQUEST_FAILED};
  chatctl_message *reply;
  *ok = FALSE;
  int status = chatctl_session_wait(s, types, G_N_ELEMENTS(types), NULL, NULL, &reply);
  if (status)
    return status;
  if (reply->type == CHAT_MSG_REQUEST_FAILED &&
      chat_request_error_info_of(chatctl_message_error(reply))->error_class !=
          CHAT_REQUEST_ERROR_CLASS_BAD_CREDENTIALS)
    status = chatctl_session_refused(s, reply, "cannot log in");
  if (reply->type != CHAT_MSG_LOGIN_SUCCESSFUL) {
    chatctl_message_free(reply);
    return status;
  }
  *ok = TRUE;
  s->user_message = reply;
  return collect_bundle(s);
}

int chatctl_session_resume(chatctl_session *s, gboolean *resumed) {
  *resumed = FALSE;
  if (s->config.dialect != CHAT_DIALECT_V2 || !s->token_path)
    return 0;
  chatctl_token token;
  if (!chatctl_token_cache_load(s->token_path, &token))
    return 0;
  chat_msg_resume request = {chat_span_cstr(s->username), chat_span_bytes(token.data, token.len)};
  chat_msg_resume_write(chatctl_session_begin(s, CHAT_MSG_RESUME), &request);
  int status = chatctl_session_send(s);
  if (status == 0)
    status = finish_login(s, resumed);
  /* A token works once (the bundle brings the next), so a refusal may only
   * mean another chatctl used it first and cached a newer one: that one
   * stays. */
  if (status == 0 && !*resumed) {
    gboolean removed = chatctl_token_cache_remove_if(s->token_path, &token);
    fprintf(stderr,
            "chatctl: the server refused the cached session of %s (used, expired, logged out "
            "or revoked)%s\n",
            s->username, removed ? "; removed it" : "");
  }
  chatctl_token_clear(&token);
  return status;
}

int chatctl_session_login(chatctl_session *s) {
  gboolean ok = FALSE;
  int status = chatctl_session_resume(s, &ok);
  if (status || ok)
    return status;
  g_autofree char *prompt = g_strdup_printf("Password for %s at %s: ", s->username, s->host_port);
  char *password = NULL;
  if (s->password)
    password = g_strdup(s->password);
  else
    status = chatctl_password_read_account(s->globals->password_file, prompt, false, &password);
  if (status)
    return status;
  chat_msg_login request = {chat_span_cstr(s->username), chat_span_cstr(password)};
  chat_msg_login_write(chatctl_session_begin(s, CHAT_MSG_LOGIN), &request);
  chatctl_password_free(password);
  status = chatctl_session_send(s);
  if (status == 0)
    status = finish_login(s, &ok);
  if (status == 0 && !ok)
    status = chatctl_fail(CHATCTL_EXIT_REFUSED, "login failed: wrong username or password");
  return status;
}

const chat_value *chatctl_session_user(const chatctl_session *s) {
  return s->user_message ? s->user_message->params : NULL;
}

gint64 chatctl_session_user_id(const chatctl_session *s) {
  chat_msg_user user;
  if (!s->user_message || chat_msg_user_read(s->user_message->params, &user, NULL) != 0)
    return 0;
  return user.id;
}

const chat_value *chatctl_session_bundle(const chatctl_session *s) {
  return s->bundle_message ? s->bundle_message->params : NULL;
}

GPtrArray *chatctl_session_friend_requests(const chatctl_session *s) {
  return s->request_users;
}

gboolean chatctl_session_find_friend(const chatctl_session *s, const char *username, gint64 *id) {
  g_autofree char *wanted = chatctl_normalize_username(username);
  chat_msg_list friends;
  chatctl_bundle_contacts(chatctl_session_bundle(s), FALSE, &friends);
  for (size_t i = 0; wanted && i < friends.count; i++) {
    chat_msg_contact contact;
    chat_msg_contact_at(&friends, i, &contact);
    if (!contact.is_room && chat_span_eq(contact.user.username, wanted)) {
      *id = contact.user.id;
      return TRUE;
    }
  }
  return FALSE;
}

const char *chatctl_session_contact_name(const chatctl_session *s, gint64 target_type, gint64 id) {
  gboolean rooms = target_type != CHAT_TARGET_USER;
  chat_msg_list contacts;
  chatctl_bundle_contacts(chatctl_session_bundle(s), rooms, &contacts);
  for (size_t i = 0; i < contacts.count; i++) {
    chat_msg_contact contact;
    chat_msg_contact_at(&contacts, i, &contact);
    if (rooms && contact.is_room && contact.room.id == id)
      return contact.room.room_name.ptr;
    if (!rooms && !contact.is_room && contact.user.id == id)
      return contact.user.username.ptr;
  }
  return NULL;
}
