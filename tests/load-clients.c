/* Many clients on one I/O loop; see load-clients.h. */
#include "load-clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "protocol/json.h"
#include "protocol/messages.h"

#define LOOPBACK "127.0.0.1"
/* A loop turn waits at most this long, so deadlines are checked. */
#define TURN_WAIT_MS 50

struct _LoadClients {
  ChatIoLoop *loop;
  ChatIoSettings settings;
  struct sockaddr_in address;
  struct sockaddr_in source; /* sin_family 0: any */
  LoadMessageFunc on_message;
  LoadClosedFunc on_closed;
  GQueue waiting_to_connect;   /* LoadClient* */
  GQueue waiting_for_password; /* LoadClient* needing register / login */
  guint in_setup;
  guint setup_window;
  guint passwords_in_flight;
  guint busy_retries;
  chat_arena arena;
  chat_buffer scratch;
};

static void advance(LoadClients *self);

/* ---- sending ---- */

gboolean load_client_send(LoadClient *c, guint32 type, void (*write)(chat_writer *, gpointer),
                          gpointer data) {
  chat_buffer *buf = &c->owner->scratch;
  chat_buffer_reset(buf);
  chat_writer w;
  chat_writer_init(&w, buf);
  chat_message_begin(&w, CHAT_DIALECT_V2, type);
  write(&w, data);
  if (chat_writer_finish(&w) != 0) {
    fprintf(stderr, "load-clients: cannot encode a message of type %u\n", type);
    abort();
  }
  return chat_io_connection_send(c->connection, buf->data, buf->len, NULL);
}

void load_write_text(chat_writer *w, gpointer data) {
  const LoadText *t = data;
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "target_type");
  chat_write_int(w, t->target_type);
  chat_write_key_cstr(w, "target_id");
  chat_write_int(w, t->target_id);
  chat_write_key_cstr(w, "message");
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "type");
  chat_write_int(w, 0);
  chat_write_key_cstr(w, "data");
  chat_write_str(w, t->text, t->text_len);
  chat_write_key_cstr(w, "fontsize");
  chat_write_int(w, 12);
  chat_write_key_cstr(w, "fontcolor");
  chat_write_cstr(w, "#000000");
  chat_write_dict_end(w);
  if (t->client_msg_id) {
    chat_write_key_cstr(w, "client_msg_id");
    chat_write_cstr(w, t->client_msg_id);
  }
  chat_write_dict_end(w);
}

gboolean load_client_send_text(LoadClient *c, int target_type, gint64 target_id, const char *text) {
  LoadText t = {target_type, target_id, text, strlen(text), NULL};
  return load_client_send(c, CHAT_MSG_SEND_MESSAGE, load_write_text, &t);
}

gboolean load_client_send_json(LoadClient *c, const char *name, const char *params_json) {
  const chat_message_info *info = chat_catalogue_by_name(name);
  g_assert(info != NULL);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *params;
  if (chat_value_parse_json(params_json, strlen(params_json), &arena, &params, NULL) != 0) {
    fprintf(stderr, "load-clients: bad JSON: %s\n", params_json);
    abort();
  }
  chat_buffer *buf = &c->owner->scratch;
  chat_buffer_reset(buf);
  gboolean ok = chat_message_encode(CHAT_DIALECT_V2, info->code, params, buf) == 0 &&
                chat_io_connection_send(c->connection, buf->data, buf->len, NULL);
  chat_arena_clear(&arena);
  return ok;
}

static void write_credentials(chat_writer *w, gpointer data) {
  LoadClient *c = data;
  chat_write_list_begin(w);
  chat_write_cstr(w, c->name);
  chat_write_cstr(w, LOAD_PASSWORD);
  if (c->state == LOAD_REGISTERING)
    chat_write_cstr(w, c->name); /* the nickname */
  chat_write_list_end(w);
}

const chat_value *load_decode(LoadClients *self, const guint8 *data, gsize len) {
  guint32 type;
  chat_value *params;
  chat_arena_reset(&self->arena);
  if (chat_message_decode(CHAT_DIALECT_V2, data, len, NULL, CHAT_DECODE_BORROW, &self->arena, &type,
                          &params, NULL) != 0)
    return NULL;
  return params;
}

/* Whether a v2 request_failed says to try again later (server_busy). */
static gboolean may_retry(LoadClients *self, const guint8 *data, gsize len) {
  const chat_value *params = load_decode(self, data, len);
  chat_msg_request_failed failed;
  return params && chat_msg_request_failed_read(params, &failed, NULL) == 0 &&
         chat_request_error_info_of(chat_msg_request_failed_code(&failed))->error_class ==
             CHAT_REQUEST_ERROR_CLASS_RETRY_LATER;
}

/* ---- the setup pipeline ---- */

static void password_request_done(LoadClients *self, LoadClient *c, LoadState next) {
  self->passwords_in_flight--;
  c->state = next;
  if (next == LOAD_NEED_REGISTER || next == LOAD_NEED_LOGIN)
    g_queue_push_tail(&self->waiting_for_password, c);
}

static void on_message(ChatIoConnection *connection, const guint8 *data, gsize len,
                       gpointer user_data) {
  LoadClient *c = user_data;
  LoadClients *self = c->owner;
  (void)connection;
  guint32 type = len >= 4 ? chat_load_u32be(data) & CHAT_MESSAGE_TYPE_MASK : 0;
  switch (type) {
  case CHAT_MSG_REGISTER_SUCCESSFUL:
    if (c->state == LOAD_REGISTERING)
      password_request_done(self, c, LOAD_NEED_LOGIN);
    break;
  case CHAT_MSG_LOGIN_SUCCESSFUL:
    if (c->state == LOAD_LOGGING_IN) {
      const chat_value *params = load_decode(self, data, len);
      if (params)
        chat_value_get_i64(chat_value_dict_get(params, "id"), &c->user_id);
    }
    break;
  case CHAT_MSG_SESSION_BUNDLE:
    if (c->state == LOAD_LOGGING_IN) {
      password_request_done(self, c, LOAD_READY);
      c->ready_us = g_get_monotonic_time();
      self->in_setup--;
    }
    break;
  case CHAT_MSG_GENERAL_FAILURE:
  case CHAT_MSG_REQUEST_FAILED:
    /* "the server is busy": ask again when a slot frees */
    if (c->state == LOAD_REGISTERING || c->state == LOAD_LOGGING_IN) {
      if (type == CHAT_MSG_REQUEST_FAILED && !may_retry(self, data, len)) {
        fprintf(stderr, "load-clients: %s: %s refused\n", c->name,
                c->state == LOAD_REGISTERING ? "registration" : "login");
        abort();
      }
      self->busy_retries++;
      password_request_done(self, c,
                            c->state == LOAD_REGISTERING ? LOAD_NEED_REGISTER : LOAD_NEED_LOGIN);
    }
    break;
  case CHAT_MSG_LOGIN_FAILED:
  case CHAT_MSG_USERNAME_TAKEN:
    if (c->state != LOAD_REGISTERING && c->state != LOAD_LOGGING_IN)
      break; /* the caller's own request */
    fprintf(stderr, "load-clients: %s: %s refused\n", c->name,
            c->state == LOAD_REGISTERING ? "registration" : "login");
    abort();
  default:
    break;
  }
  if (self->on_message)
    self->on_message(c, type, data, len);
  advance(self);
}

static void on_established(ChatIoConnection *connection, gpointer user_data) {
  LoadClient *c = user_data;
  LoadClients *self = c->owner;
  (void)connection;
  if (c->state != LOAD_HANDSHAKE)
    return;
  if (c->name[0] == '\0') { /* unauthenticated: done */
    c->state = LOAD_READY;
    c->ready_us = g_get_monotonic_time();
    self->in_setup--;
    return;
  }
  c->state = c->register_first ? LOAD_NEED_REGISTER : LOAD_NEED_LOGIN;
  g_queue_push_tail(&self->waiting_for_password, c);
  advance(self);
}

static void on_closed(ChatIoConnection *connection, const GError *reason, gpointer user_data) {
  LoadClient *c = user_data;
  LoadClients *self = c->owner;
  (void)connection;
  if (c->state != LOAD_READY && c->state != LOAD_WAITING)
    self->in_setup--;
  if (c->state == LOAD_REGISTERING || c->state == LOAD_LOGGING_IN)
    self->passwords_in_flight--;
  g_queue_remove(&self->waiting_for_password, c);
  c->state = LOAD_CLOSED;
  if (reason)
    c->close_reason = g_error_copy(reason);
  if (self->on_closed)
    self->on_closed(c, reason);
  advance(self);
}

static const ChatIoCallbacks callbacks = {
    .established = on_established,
    .message = on_message,
    .closed = on_closed,
};

static void connect_client(LoadClients *self, LoadClient *c) {
  c->connect_us = g_get_monotonic_time();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && self->source.sin_family == AF_INET &&
      bind(fd, (struct sockaddr *)&self->source, sizeof self->source) != 0) {
    fprintf(stderr, "load-clients: bind: %s\n", g_strerror(errno));
    abort();
  }
  if (fd < 0 || (connect(fd, (struct sockaddr *)&self->address, sizeof self->address) != 0 &&
                 errno != EINPROGRESS)) {
    fprintf(stderr, "load-clients: connect: %s\n", g_strerror(errno));
    abort();
  }
  c->connection = chat_io_connection_new_client(self->loop, fd, TRUE, CHAT_DIALECT_V2,
                                                &self->settings, &callbacks, c);
  c->state = LOAD_HANDSHAKE;
  self->in_setup++;
  chat_io_connection_start(c->connection);
}

static void advance(LoadClients *self) {
  while (self->passwords_in_flight < LOAD_PASSWORD_WINDOW &&
         !g_queue_is_empty(&self->waiting_for_password)) {
    LoadClient *c = g_queue_pop_head(&self->waiting_for_password);
    self->passwords_in_flight++;
    gboolean registering = c->state == LOAD_NEED_REGISTER;
    c->state = registering ? LOAD_REGISTERING : LOAD_LOGGING_IN;
    if (!registering)
      c->login_sent_us = g_get_monotonic_time();
    load_client_send(c, registering ? CHAT_MSG_REGISTER : CHAT_MSG_LOGIN, write_credentials, c);
  }
  while (self->in_setup < self->setup_window && !g_queue_is_empty(&self->waiting_to_connect))
    connect_client(self, g_queue_pop_head(&self->waiting_to_connect));
}

void load_clients_add(LoadClients *self, LoadClient *array, guint n, const char *prefix,
                      gboolean register_first) {
  for (guint i = 0; i < n; i++) {
    LoadClient *c = &array[i];
    c->owner = self;
    c->register_first = register_first;
    c->state = LOAD_WAITING;
    g_snprintf(c->name, sizeof c->name, "%s%u", prefix, i);
    g_queue_push_tail(&self->waiting_to_connect, c);
  }
  advance(self);
}

void load_clients_add_named(LoadClients *self, LoadClient *c, const char *name,
                            gboolean register_first) {
  c->owner = self;
  c->register_first = register_first;
  c->state = LOAD_WAITING;
  g_strlcpy(c->name, name, sizeof c->name);
  g_queue_push_tail(&self->waiting_to_connect, c);
  advance(self);
}

void load_clients_set_source(LoadClients *self, const char *ipv4) {
  memset(&self->source, 0, sizeof self->source);
  self->source.sin_family = AF_INET;
  if (inet_pton(AF_INET, ipv4, &self->source.sin_addr) != 1) {
    fprintf(stderr, "load-clients: not an IPv4 address: %s\n", ipv4);
    abort();
  }
}

void load_clients_add_unauthenticated(LoadClients *self, LoadClient *c) {
  c->owner = self;
  c->state = LOAD_WAITING;
  c->name[0] = '\0';
  g_queue_push_tail(&self->waiting_to_connect, c);
  advance(self);
}

void load_client_clear(LoadClient *c) {
  if (c->connection) {
    chat_io_connection_detach(c->connection);
    chat_io_connection_close(c->connection, FALSE);
    g_clear_pointer(&c->connection, chat_io_connection_unref);
  }
  g_clear_error(&c->close_reason);
}

gboolean load_group_all_ready(gpointer data) {
  LoadGroup *g = data;
  for (guint i = 0; i < g->n; i++)
    if (g->clients[i].state != LOAD_READY)
      return FALSE;
  return TRUE;
}

gboolean load_group_all_closed(gpointer data) {
  LoadGroup *g = data;
  for (guint i = 0; i < g->n; i++)
    if (g->clients[i].state != LOAD_CLOSED)
      return FALSE;
  return TRUE;
}

guint load_clients_busy_retries(LoadClients *self) {
  return self->busy_retries;
}

gboolean load_run_until(ChatIoLoop *loop, gboolean (*done)(gpointer), gpointer data,
                        guint timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!done(data)) {
    if (g_get_monotonic_time() >= deadline)
      return FALSE;
    chat_io_loop_iterate(loop, TURN_WAIT_MS);
  }
  return TRUE;
}

LoadClients *load_clients_new(ChatIoLoop *loop, guint16 port, LoadMessageFunc on_message_func,
                              LoadClosedFunc on_closed_func) {
  LoadClients *self = g_new0(LoadClients, 1);
  self->loop = loop;
  chat_channel_config_init(&self->settings.channel);
  self->address.sin_family = AF_INET;
  self->address.sin_port = htons(port);
  inet_pton(AF_INET, LOOPBACK, &self->address.sin_addr);
  self->on_message = on_message_func;
  self->on_closed = on_closed_func;
  self->setup_window = LOAD_DEFAULT_SETUP_WINDOW;
  chat_arena_init(&self->arena);
  chat_buffer_init(&self->scratch);
  return self;
}

void load_clients_set_setup_window(LoadClients *self, guint window) {
  self->setup_window = MAX(1u, window);
}

void load_clients_free(LoadClients *self) {
  if (!self)
    return;
  chat_arena_clear(&self->arena);
  chat_buffer_clear(&self->scratch);
  g_free(self);
}
