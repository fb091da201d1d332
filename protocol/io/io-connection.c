/* One connection on an epoll loop; see io-connection.h. */
#define G_LOG_DOMAIN "chat-connection"

#include "protocol/io/io-connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/host-port.h"
#include "protocol/messages.h"
#include "protocol/seed-channel.h"

G_STATIC_ASSERT(CHAT_IO_READ_BUFFER_BYTES >= CHAT_SEED_PUBLIC_READ_MAX);

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chat-connection-error-quark, chat_connection_error)
/* clang-format on */

typedef enum {
  STATE_NEW,       /* not started */
  STATE_HANDSHAKE, /* started, handshake in progress */
  STATE_ESTABLISHED,
  STATE_CLOSING, /* graceful close: draining the queue (and the CLOSE record) */
  STATE_LINGER,  /* drained, write side shut: waiting for the peer's end */
  STATE_CLOSED,  /* socket closed; `closed` called or about to be */
} ConnectionState;

struct _ChatIoConnection {
  gint ref_count;
  ChatIoLoop *loop;
  ChatIoWatch watch;
  ChatIoTimer timer;    /* handshake timeout, then close timeout */
  ChatIoDeferred dirty; /* flush (or report the end) at the end of the turn */
  chat_channel *channel;
  const ChatIoSettings *settings;
  const ChatIoCallbacks *callbacks; /* NULL once detached */
  gpointer user_data;
  GError *close_reason; /* for `closed`, until it is called */
  gsize max_message;    /* the channel's limits now (set_limits may change them) */
  gsize max_queue;
  guint64 write_calls;
  guint64 flushes;
  ConnectionState state;
  guint is_server : 1;
  guint owns_fd : 1;
  guint watching : 1;        /* fd is in the loop's epoll set */
  guint write_blocked : 1;   /* the last write would block: EPOLLOUT is armed */
  guint peer_eof : 1;        /* the socket's input ended */
  guint peer_sent_close : 1; /* v2: the peer's CLOSE record came */
  guint closed_called : 1;
  guint self_ref : 1; /* started: holds a reference until `closed` ran */
  char peer[CHAT_IO_PEER_ADDRESS_MAX];
};

static void flush_output(ChatIoConnection *self);
static void start_graceful_close(ChatIoConnection *self);

/* ---- the per-thread read buffer ---- */

/* One read buffer for all connections of a thread. A callback that runs a
 * nested loop could start a read while an outer one still uses it: that
 * read gets a buffer of its own. */
static _Thread_local guint8 thread_read_buffer[CHAT_IO_READ_BUFFER_BYTES];
static _Thread_local gboolean thread_read_buffer_busy;

static guint8 *read_buffer_acquire(void) {
  if (thread_read_buffer_busy)
    return g_malloc(CHAT_IO_READ_BUFFER_BYTES);
  thread_read_buffer_busy = TRUE;
  return thread_read_buffer;
}

static void read_buffer_release(guint8 *buffer, gsize used) {
  /* Received ciphertext is not secret, but a seed public value and partial
   * records are cheap to wipe. */
  explicit_bzero(buffer, used);
  if (buffer == thread_read_buffer)
    thread_read_buffer_busy = FALSE;
  else
    g_free(buffer);
}

/* ---- small helpers ---- */

void chat_io_format_address(const struct sockaddr *address, char out[CHAT_IO_PEER_ADDRESS_MAX]) {
  char ip[INET6_ADDRSTRLEN];
  if (address->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)address;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    chat_host_port_format(ip, ntohs(in->sin_port), out, CHAT_IO_PEER_ADDRESS_MAX);
  } else if (address->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    chat_host_port_format(ip, ntohs(in6->sin6_port), out, CHAT_IO_PEER_ADDRESS_MAX);
  } else {
    g_strlcpy(out, "unknown", CHAT_IO_PEER_ADDRESS_MAX);
  }
}

static void format_peer(ChatIoConnection *self, const char *peer) {
  if (peer != NULL) {
    g_strlcpy(self->peer, peer, sizeof self->peer);
    return;
  }
  struct sockaddr_storage address;
  socklen_t len = sizeof address;
  if (getpeername(self->watch.fd, (struct sockaddr *)&address, &len) != 0) {
    g_strlcpy(self->peer, "unknown", sizeof self->peer);
    return;
  }
  chat_io_format_address((struct sockaddr *)&address, self->peer);
}

/* A CHAT_CONNECTION_ERROR whose message starts with the peer address. */
G_GNUC_PRINTF(3, 4)
static GError *connection_error(ChatIoConnection *self, ChatConnectionError code,
                                const char *format, ...) {
  va_list args;
  va_start(args, format);
  g_autofree char *text = g_strdup_vprintf(format, args);
  va_end(args);
  return g_error_new(CHAT_CONNECTION_ERROR, code, "%s: %s", self->peer, text);
}

static void schedule_flush(ChatIoConnection *self) {
  /* While a write would block, EPOLLOUT drives the writes. */
  if (self->write_blocked && self->state != STATE_CLOSED)
    return;
  chat_io_loop_defer(self->loop, &self->dirty);
}

static void set_events(ChatIoConnection *self) {
  if (!self->watching)
    return;
  guint32 events = (self->peer_eof ? 0 : EPOLLIN) | (self->write_blocked ? EPOLLOUT : 0);
  chat_io_loop_rewatch(self->loop, &self->watch, events);
}

/* ---- ending ---- */

/* Stops all I/O and closes the socket. */
static void close_transport(ChatIoConnection *self) {
  chat_io_loop_stop_timer(self->loop, &self->timer);
  if (self->watching) {
    chat_io_loop_unwatch(self->loop, &self->watch);
    self->watching = FALSE;
  }
  self->state = STATE_CLOSED;
  if (self->watch.fd < 0)
    return;
  if (self->owns_fd)
    close(self->watch.fd);
  else if (self->callbacks != NULL && self->callbacks->transport_closed != NULL)
    self->callbacks->transport_closed(self, self->user_data);
  self->watch.fd = -1;
}

/* Ends the connection now: the socket is closed and `closed` (with reason,
 * which is taken; NULL for a clean end) is called at the end of the turn.
 * Only the first reason counts. */
static void finish(ChatIoConnection *self, GError *reason) {
  if (self->state == STATE_CLOSED) {
    g_clear_error(&reason);
    return;
  }
  /* After the peer's CLOSE the session ended cleanly; what happens to the
   * transport afterwards (a reset while we answer) is not an error. */
  if (reason != NULL && self->peer_sent_close &&
      !g_error_matches(reason, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_TIMEOUT))
    g_clear_error(&reason);
  close_transport(self);
  self->close_reason = reason;
  chat_io_loop_defer(self->loop, &self->dirty);
}

static void call_closed(ChatIoConnection *self) {
  if (self->closed_called)
    return;
  self->closed_called = TRUE;
  g_autoptr(GError) reason = g_steal_pointer(&self->close_reason);
  if (reason != NULL)
    g_debug("%s", reason->message);
  if (self->callbacks != NULL && self->callbacks->closed != NULL)
    self->callbacks->closed(self, reason, self->user_data);
  if (self->self_ref) {
    self->self_ref = FALSE;
    chat_io_connection_unref(self);
  }
}

/* A server that read the magic but not a version, suite or reserved byte it
 * accepts answers the 8-byte refusal (spec 7.7) before it closes: written
 * straight to the socket (nothing else was ever written to it, so 8 bytes
 * fit), then the write side is shut and the input already there is read
 * away, so that closing does not reset the connection and lose the answer. */
static void send_refusal(ChatIoConnection *self, int code) {
  uint8_t refusal[CHAT_V2_REFUSAL_LEN];
  if (!self->is_server || self->watch.fd < 0 || !chat_v2_make_refusal(code, refusal))
    return;
  if (send(self->watch.fd, refusal, sizeof refusal, MSG_NOSIGNAL | MSG_DONTWAIT) !=
      (ssize_t)sizeof refusal)
    return;
  shutdown(self->watch.fd, SHUT_WR);
  guint8 sink[512];
  for (int i = 0; i < 16 && recv(self->watch.fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
    ;
}

/* The channel failed with code: ends the connection with its reason. */
static void fail_channel(ChatIoConnection *self, int code) {
  gboolean handshake = self->state == STATE_HANDSHAKE;
  if (handshake)
    send_refusal(self, code);
  const char *reason = chat_channel_error_message(self->channel);
  if (reason[0] == '\0')
    reason = chat_strerror(code);
  if (code == CHAT_CHANNEL_ERR_LEGACY_REFUSED) {
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_LEGACY_REFUSED, "%s", reason));
    return;
  }
  if (code == CHAT_V2_ERR_REFUSED) {
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_REFUSED,
                                  "the server refused the connection: %s", reason));
    return;
  }
  ChatConnectionError error_code = code == CHAT_CHANNEL_ERR_TRUNCATED
                                       ? CHAT_CONNECTION_ERROR_TRUNCATED
                                   : handshake ? CHAT_CONNECTION_ERROR_HANDSHAKE
                                               : CHAT_CONNECTION_ERROR_PROTOCOL;
  finish(self, connection_error(self, error_code, "%s %s failed: %s",
                                chat_dialect_name(chat_channel_get_dialect(self->channel)),
                                handshake ? "handshake" : "channel", reason));
}

static void fail_io(ChatIoConnection *self, const char *operation, int error) {
  if (self->state == STATE_CLOSING || self->state == STATE_LINGER) {
    /* We were closing anyway and had said all we had to say, or the peer
     * reset while we drained: a close timeout would be the error. */
    finish(self, self->state == STATE_LINGER ? NULL
                                             : connection_error(self, CHAT_CONNECTION_ERROR_IO,
                                                                "%s failed while closing: %s",
                                                                operation, g_strerror(error)));
    return;
  }
  finish(self, connection_error(self, CHAT_CONNECTION_ERROR_IO, "%s failed: %s", operation,
                                g_strerror(error)));
}

/* ---- writing ---- */

static void on_close_timeout(ChatIoTimer *timer) {
  ChatIoConnection *self =
      (ChatIoConnection *)((char *)timer - G_STRUCT_OFFSET(ChatIoConnection, timer));
  if (self->state == STATE_LINGER)
    finish(self, NULL); /* all was written; the peer just did not close */
  else
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_TIMEOUT,
                                  "graceful close: the queue did not drain within %u ms",
                                  CHAT_IO_CLOSE_TIMEOUT_MS));
}

/* Everything is written during a graceful close: shut the write side down
 * and wait for the peer's end of the stream, so that our last bytes are not
 * lost to a reset caused by unread input. */
static void begin_linger(ChatIoConnection *self) {
  self->state = STATE_LINGER;
  if (self->peer_eof || shutdown(self->watch.fd, SHUT_WR) != 0)
    finish(self, NULL);
}

static void output_drained(ChatIoConnection *self) {
  if (self->state == STATE_CLOSING)
    begin_linger(self);
}

static void wait_writable(ChatIoConnection *self) {
  self->write_blocked = TRUE;
  set_events(self);
}

/* Writes what the channel has, until it is drained, a write would block, or
 * CHAT_IO_FLUSH_BYTES_PER_TURN went out. */
static void flush_output(ChatIoConnection *self) {
  gsize written = 0;
  while (self->state == STATE_HANDSHAKE || self->state == STATE_ESTABLISHED ||
         self->state == STATE_CLOSING) {
    const uint8_t *data;
    size_t len;
    int rc = chat_channel_output(self->channel, &data, &len);
    if (rc < 0) {
      fail_channel(self, rc);
      return;
    }
    if (len == 0) {
      output_drained(self);
      return;
    }
    if (written >= CHAT_IO_FLUSH_BYTES_PER_TURN) {
      chat_io_loop_defer(self->loop, &self->dirty);
      return;
    }
    ssize_t n = send(self->watch.fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    self->write_calls++;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        wait_writable(self);
      else if (errno == EINTR)
        continue;
      else
        fail_io(self, "write", errno);
      return;
    }
    rc = chat_channel_output_consumed(self->channel, (size_t)n);
    if (rc < 0) {
      fail_channel(self, rc);
      return;
    }
    written += (gsize)n;
  }
}

/* At the end of a turn for each dirty connection. */
static void on_dirty(ChatIoDeferred *deferred) {
  ChatIoConnection *self = chat_io_connection_ref(
      (ChatIoConnection *)((char *)deferred - G_STRUCT_OFFSET(ChatIoConnection, dirty)));
  self->flushes++;
  if (self->state == STATE_CLOSED)
    call_closed(self);
  else if (!self->write_blocked)
    flush_output(self);
  chat_io_connection_unref(self);
}

/* ---- the handshake ---- */

static void become_established(ChatIoConnection *self) {
  chat_io_loop_stop_timer(self->loop, &self->timer);
  self->state = STATE_ESTABLISHED;
  if (self->callbacks != NULL && self->callbacks->established != NULL)
    self->callbacks->established(self, self->user_data);
}

/* A v2 client that announced its max_message in the client-info refuses a
 * server whose messages may be larger (spec 7.3): FALSE (the connection
 * ended) when the server-info's max_message is over the client's. */
static gboolean server_max_message_fits(ChatIoConnection *self, const uint8_t *info,
                                        size_t info_len) {
  if (self->settings->channel.client_info_len == 0 || info_len == 0)
    return TRUE;
  chat_arena arena;
  chat_arena_init(&arena);
  chat_msg_server_info m;
  gboolean fits = !chat_msg_server_info_decode(info, info_len, &arena, &m) || !m.has_max_message ||
                  m.max_message <= self->settings->channel.max_message;
  chat_arena_clear(&arena);
  if (!fits)
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                  "the server sends messages of up to %" G_GUINT64_FORMAT
                                  " bytes; this program accepts at most %zu",
                                  m.max_message, self->settings->channel.max_message));
  return fits;
}

/* The handshake just completed: key log, then (a v2 client) the pin check
 * before anything else can happen. FALSE when the connection ended. */
static gboolean handshake_done(ChatIoConnection *self) {
  if (self->settings->keylog != NULL) {
    int rc = chat_channel_log_keys(self->channel, self->settings->keylog);
    if (rc < 0)
      g_message("%s: cannot write the key log: %s", self->peer, chat_strerror(rc));
  }
  if (!self->is_server && chat_channel_get_dialect(self->channel) == CHAT_DIALECT_V2 &&
      self->callbacks != NULL && self->callbacks->verify_server_key != NULL) {
    guint8 key[CHAT_V2_KEY_LEN];
    const uint8_t *info = NULL;
    size_t info_len = 0;
    g_autoptr(GError) error = NULL;
    int rc = chat_channel_server_key(self->channel, key);
    if (rc == 0)
      rc = chat_channel_server_info(self->channel, &info, &info_len);
    if (rc < 0) {
      fail_channel(self, rc);
      return FALSE;
    }
    if (!self->callbacks->verify_server_key(self, key, info, info_len, self->user_data, &error)) {
      finish(self, connection_error(self, CHAT_CONNECTION_ERROR_PINNING, "server key refused: %s",
                                    error != NULL ? error->message : "not trusted"));
      return FALSE;
    }
    if (self->state != STATE_HANDSHAKE)
      return FALSE; /* the callback closed the connection */
    if (!server_max_message_fits(self, info, info_len))
      return FALSE;
  }
  become_established(self);
  return self->state == STATE_ESTABLISHED;
}

static void on_handshake_timeout(ChatIoTimer *timer) {
  ChatIoConnection *self =
      (ChatIoConnection *)((char *)timer - G_STRUCT_OFFSET(ChatIoConnection, timer));
  guint ms = self->settings->handshake_timeout_ms ? self->settings->handshake_timeout_ms
                                                  : CHAT_IO_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  finish(self, connection_error(self, CHAT_CONNECTION_ERROR_TIMEOUT,
                                "handshake not completed within %u ms", ms));
}

/* ---- reading ---- */

/* Hands out every waiting message. FALSE when the connection stopped
 * delivering (closed or closing) or the channel failed. */
static gboolean deliver_messages(ChatIoConnection *self, gboolean *delivered) {
  for (;;) {
    const uint8_t *message;
    size_t len;
    int rc = chat_channel_next_message(self->channel, &message, &len);
    if (rc < 0) {
      fail_channel(self, rc);
      return FALSE;
    }
    if (rc == 0)
      return TRUE;
    *delivered = TRUE;
    if (self->callbacks != NULL && self->callbacks->message != NULL)
      self->callbacks->message(self, message, len, self->user_data);
    if (self->state != STATE_ESTABLISHED)
      return FALSE;
  }
}

/* Feeds received bytes to the channel and acts on what comes out. */
static void on_bytes(ChatIoConnection *self, const guint8 *data, gsize len) {
  if (self->state != STATE_HANDSHAKE && self->state != STATE_ESTABLISHED)
    return; /* closing: input is read only to see the peer's end */
  while (len > 0) {
    ptrdiff_t used = chat_channel_feed(self->channel, data, len);
    if (used < 0) {
      fail_channel(self, (int)used);
      return;
    }
    data += used;
    len -= (gsize)used;
    gboolean progress = used > 0;
    if (self->state == STATE_HANDSHAKE && chat_channel_is_established(self->channel)) {
      progress = TRUE;
      if (!handshake_done(self))
        return;
    }
    if (self->state == STATE_ESTABLISHED && !deliver_messages(self, &progress))
      return;
    if (chat_channel_peer_closed(self->channel)) {
      /* The peer is done: answer with our own CLOSE after what is queued,
       * then close. Anything after its CLOSE is ignored. */
      self->peer_sent_close = TRUE;
      start_graceful_close(self);
      return;
    }
    if (!progress) {
      finish(self, connection_error(self, CHAT_CONNECTION_ERROR_PROTOCOL,
                                    "the channel stopped taking input"));
      return;
    }
  }
  if (self->state != STATE_CLOSED && !chat_channel_output_idle(self->channel))
    schedule_flush(self);
}

static void on_eof(ChatIoConnection *self) {
  self->peer_eof = TRUE;
  set_events(self); /* a socket at its end stays readable: stop asking */
  switch (self->state) {
  case STATE_NEW:
  case STATE_HANDSHAKE:
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                  "the peer closed the connection during the handshake"));
    break;
  case STATE_ESTABLISHED: {
    int rc = chat_channel_eof(self->channel);
    if (rc < 0)
      fail_channel(self, rc);
    else
      finish(self, NULL);
    break;
  }
  case STATE_LINGER:
    finish(self, NULL);
    break;
  case STATE_CLOSING:
    /* Still draining; begin_linger sees peer_eof and finishes. A peer that
     * went away entirely makes the next write fail instead. */
  case STATE_CLOSED:
  default:
    break;
  }
}

static void read_once(ChatIoConnection *self) {
  gsize capacity = MIN((gsize)CHAT_IO_READ_BUFFER_BYTES, chat_channel_read_limit(self->channel));
  guint8 *buffer = read_buffer_acquire();
  ssize_t n = recv(self->watch.fd, buffer, capacity, MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      fail_io(self, "read", errno);
  } else if (n == 0) {
    on_eof(self);
  } else {
    on_bytes(self, buffer, (gsize)n);
  }
  read_buffer_release(buffer, n > 0 ? (gsize)n : 0);
}

static void on_ready(ChatIoWatch *watch, guint32 events) {
  ChatIoConnection *self = chat_io_connection_ref(
      (ChatIoConnection *)((char *)watch - G_STRUCT_OFFSET(ChatIoConnection, watch)));
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !self->peer_eof)
    read_once(self);
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && self->write_blocked &&
      self->state != STATE_CLOSED) {
    self->write_blocked = FALSE;
    set_events(self);
    flush_output(self);
  }
  chat_io_connection_unref(self);
}

/* ---- public API ---- */

static ChatIoConnection *connection_new(ChatIoLoop *loop, int fd, gboolean owns_fd,
                                        gboolean is_server, const ChatIoSettings *settings,
                                        const ChatIoCallbacks *callbacks, gpointer user_data) {
  ChatIoConnection *self = g_new0(ChatIoConnection, 1);
  self->ref_count = 1;
  self->loop = loop;
  self->watch.fd = fd;
  chat_io_timer_init(&self->timer, on_handshake_timeout);
  chat_io_deferred_init(&self->dirty, on_dirty);
  self->settings = settings;
  self->max_message = settings->channel.max_message;
  self->max_queue = settings->channel.max_queue;
  self->callbacks = callbacks;
  self->user_data = user_data;
  self->is_server = is_server;
  self->owns_fd = owns_fd;
  self->state = STATE_NEW;
  /* Small replies must leave at once, not wait for an ACK (Nagle's
   * algorithm with the peer's delayed ACK costs ~40 ms on a reply that
   * follows another). Not a socket: nothing to do. */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return self;
}

ChatIoConnection *chat_io_connection_new_server(ChatIoLoop *loop, int fd, gboolean owns_fd,
                                                const char *peer, const ChatIoSettings *settings,
                                                const ChatIoCallbacks *callbacks,
                                                gpointer user_data) {
  chat_channel *channel;
  if (chat_channel_new_server(&settings->channel, &channel) != 0)
    return NULL;
  ChatIoConnection *self = connection_new(loop, fd, owns_fd, TRUE, settings, callbacks, user_data);
  self->channel = channel;
  format_peer(self, peer);
  return self;
}

ChatIoConnection *chat_io_connection_new_client(ChatIoLoop *loop, int fd, gboolean owns_fd,
                                                chat_dialect dialect,
                                                const ChatIoSettings *settings,
                                                const ChatIoCallbacks *callbacks,
                                                gpointer user_data) {
  chat_channel *channel;
  if (chat_channel_new_client(dialect, &settings->channel, &channel) != 0)
    return NULL;
  ChatIoConnection *self = connection_new(loop, fd, owns_fd, FALSE, settings, callbacks, user_data);
  self->channel = channel;
  format_peer(self, NULL);
  return self;
}

ChatIoConnection *chat_io_connection_ref(ChatIoConnection *self) {
  g_atomic_int_inc(&self->ref_count);
  return self;
}

void chat_io_connection_unref(ChatIoConnection *self) {
  if (self == NULL || !g_atomic_int_dec_and_test(&self->ref_count))
    return;
  if (self->state != STATE_CLOSED && self->state != STATE_NEW)
    g_critical("%s: freed while still open", self->peer);
  chat_io_loop_cancel_deferred(self->loop, &self->dirty);
  if (self->watch.fd >= 0 && self->owns_fd)
    close(self->watch.fd);
  g_clear_error(&self->close_reason);
  chat_channel_free(self->channel);
  g_free(self);
}

void chat_io_connection_start(ChatIoConnection *self) {
  if (self->state != STATE_NEW)
    return;
  self->state = STATE_HANDSHAKE;
  self->self_ref = TRUE;
  chat_io_connection_ref(self);
  if (!chat_io_loop_watch(self->loop, &self->watch, self->watch.fd, EPOLLIN, on_ready)) {
    int e = errno;
    finish(self, connection_error(self, CHAT_CONNECTION_ERROR_IO, "cannot watch the socket: %s",
                                  g_strerror(e)));
    return;
  }
  self->watching = TRUE;
  self->timer.fire = on_handshake_timeout;
  chat_io_loop_start_timer(self->loop, &self->timer,
                           self->settings->handshake_timeout_ms
                               ? self->settings->handshake_timeout_ms
                               : CHAT_IO_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  if (self->is_server)
    return;
  int rc = chat_channel_start(self->channel);
  if (rc < 0) {
    fail_channel(self, rc);
    return;
  }
  schedule_flush(self);
}

void chat_io_connection_detach(ChatIoConnection *self) {
  self->callbacks = NULL;
  self->user_data = NULL;
}

/* The outgoing queue is full: the peer does not read. Drop it. */
static gboolean drop_slow_peer(ChatIoConnection *self, gsize len, GError **error) {
  GError *reason = connection_error(
      self, CHAT_CONNECTION_ERROR_QUEUE_FULL,
      "%s: %" G_GSIZE_FORMAT " more bytes would pass the limit of %" G_GSIZE_FORMAT " queued",
      CHAT_CONNECTION_SLOW_PEER_REASON, len, self->max_queue);
  if (error != NULL)
    *error = g_error_copy(reason);
  finish(self, reason);
  return FALSE;
}

gboolean chat_io_connection_send(ChatIoConnection *self, const guint8 *data, gsize len,
                                 GError **error) {
  switch (self->state) {
  case STATE_ESTABLISHED:
    break;
  case STATE_NEW:
  case STATE_HANDSHAKE:
    g_set_error(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_NOT_ESTABLISHED,
                "%s: cannot send before the handshake is complete", self->peer);
    return FALSE;
  case STATE_CLOSING:
  case STATE_LINGER:
  case STATE_CLOSED:
  default:
    g_set_error(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                "%s: the connection is closed", self->peer);
    return FALSE;
  }
  int rc = chat_channel_send(self->channel, data, len);
  if (rc == CHAT_CHANNEL_ERR_MESSAGE_SIZE) {
    g_set_error(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE,
                "%s: cannot send a message of %" G_GSIZE_FORMAT " bytes (1 .. %" G_GSIZE_FORMAT ")",
                self->peer, len, self->max_message);
    return FALSE;
  }
  if (rc == CHAT_CHANNEL_ERR_QUEUE_FULL)
    return drop_slow_peer(self, len, error);
  if (rc == CHAT_CHANNEL_ERR_TRANSIT_FULL) {
    /* Everyone's queues and partial messages together hold the whole
     * budget: this connection gives its share back and reconnects. */
    GError *reason = connection_error(self, CHAT_CONNECTION_ERROR_QUEUE_FULL,
                                      "%s: %" G_GSIZE_FORMAT " more bytes do not fit",
                                      CHAT_CONNECTION_TRANSIT_REASON, len);
    if (error != NULL)
      *error = g_error_copy(reason);
    finish(self, reason);
    return FALSE;
  }
  if (rc < 0) {
    fail_channel(self, rc);
    g_set_error(error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_PROTOCOL, "%s: send failed: %s",
                self->peer, chat_strerror(rc));
    return FALSE;
  }
  schedule_flush(self);
  return TRUE;
}

gboolean chat_io_connection_set_limits(ChatIoConnection *self, gsize max_message, gsize max_queue) {
  if (chat_channel_set_limits(self->channel, max_message, max_queue) != 0)
    return FALSE;
  self->max_message = max_message;
  self->max_queue = max_queue;
  return TRUE;
}

static void start_graceful_close(ChatIoConnection *self) {
  self->state = STATE_CLOSING;
  int rc = chat_channel_close(self->channel);
  if (rc < 0 && rc != CHAT_CHANNEL_ERR_CLOSED) {
    fail_channel(self, rc);
    return;
  }
  self->timer.fire = on_close_timeout;
  chat_io_loop_start_timer(self->loop, &self->timer, CHAT_IO_CLOSE_TIMEOUT_MS);
  schedule_flush(self);
}

void chat_io_connection_close(ChatIoConnection *self, gboolean graceful) {
  switch (self->state) {
  case STATE_ESTABLISHED:
    if (graceful)
      start_graceful_close(self);
    else
      finish(self, NULL);
    break;
  case STATE_CLOSING:
  case STATE_LINGER:
    if (!graceful)
      finish(self, NULL);
    break;
  case STATE_NEW:
  case STATE_HANDSHAKE:
    finish(self, NULL);
    break;
  case STATE_CLOSED:
  default:
    break;
  }
}

/* ---- getters ---- */

chat_dialect chat_io_connection_get_dialect(ChatIoConnection *self) {
  return chat_channel_get_dialect(self->channel);
}

const char *chat_io_connection_get_peer_address(ChatIoConnection *self) {
  return self->peer;
}

gboolean chat_io_connection_is_established(ChatIoConnection *self) {
  return self->state == STATE_ESTABLISHED;
}

gboolean chat_io_connection_is_closing(ChatIoConnection *self) {
  return self->state == STATE_CLOSING || self->state == STATE_LINGER || self->state == STATE_CLOSED;
}

gboolean chat_io_connection_is_server(ChatIoConnection *self) {
  return self->is_server;
}

ChatIoLoop *chat_io_connection_get_loop(ChatIoConnection *self) {
  return self->loop;
}

static gboolean has_session(ChatIoConnection *self) {
  return self->state != STATE_NEW && self->state != STATE_HANDSHAKE &&
         self->state != STATE_CLOSED && chat_channel_error(self->channel) == 0;
}

gboolean chat_io_connection_get_server_key(ChatIoConnection *self, guint8 out[CHAT_V2_KEY_LEN]) {
  return has_session(self) && chat_channel_server_key(self->channel, out) == 0;
}

const guint8 *chat_io_connection_get_client_info(ChatIoConnection *self, gsize *len) {
  const uint8_t *data = NULL;
  size_t n = 0;
  *len = 0;
  if (!has_session(self) || chat_channel_client_info(self->channel, &data, &n) < 0)
    return NULL;
  *len = n;
  return data != NULL ? data : (const guint8 *)"";
}

const guint8 *chat_io_connection_get_server_info(ChatIoConnection *self, gsize *len) {
  const uint8_t *data = NULL;
  size_t n = 0;
  *len = 0;
  if (!has_session(self) || chat_channel_server_info(self->channel, &data, &n) < 0)
    return NULL;
  *len = n;
  /* A non-NULL pointer for an empty blob: "present, empty". */
  return data != NULL ? data : (const guint8 *)"";
}

guint64 chat_io_connection_get_write_calls(ChatIoConnection *self) {
  return self->write_calls;
}

guint64 chat_io_connection_get_flushes(ChatIoConnection *self) {
  return self->flushes;
}
