/* A listening socket on an I/O loop; see io-listener.h. */
#define G_LOG_DOMAIN "chat-io"

#include "protocol/io/io-listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/host-port.h"

struct _ChatIoListener {
  ChatIoWatch watch;
  ChatIoTimer pause; /* re-listen after running out of descriptors */
  gint64 logged_us;  /* when the last pause was logged */
  guint pauses;      /* pauses since then */
  ChatIoLoop *loop;
  ChatIoAcceptFunc accept;
  gpointer user_data;
  guint16 port;
  gboolean watching;
};

static void on_readable(ChatIoWatch *watch, guint32 events);

static void on_pause_over(ChatIoTimer *timer) {
  ChatIoListener *self = (ChatIoListener *)((char *)timer - G_STRUCT_OFFSET(ChatIoListener, pause));
  if (!self->watching &&
      chat_io_loop_watch(self->loop, &self->watch, self->watch.fd, EPOLLIN, on_readable))
    self->watching = TRUE;
}

/* Out of descriptors: the backlog keeps the pending connections until
 * some close. Listening on would only spin. */
static void pause_accepting(ChatIoListener *self, int error) {
  self->pauses++;
  gint64 now = g_get_monotonic_time();
  if (self->logged_us == 0 ||
      now - self->logged_us >= CHAT_IO_ACCEPT_LOG_PERIOD_S * G_USEC_PER_SEC) {
    g_warning("cannot accept connections: %s (the file descriptor limit; see ulimit -n and "
              "server.max_connections); paused %u time(s) for %u ms since the last such line",
              g_strerror(error), self->pauses, CHAT_IO_ACCEPT_PAUSE_MS);
    self->logged_us = now;
    self->pauses = 0;
  }
  chat_io_loop_unwatch(self->loop, &self->watch);
  self->watching = FALSE;
  chat_io_loop_start_timer(self->loop, &self->pause, CHAT_IO_ACCEPT_PAUSE_MS);
}

static void on_readable(ChatIoWatch *watch, guint32 events) {
  ChatIoListener *self = (ChatIoListener *)watch;
  (void)events;
  for (guint i = 0; i < CHAT_IO_ACCEPT_BATCH; i++) {
    struct sockaddr_storage address;
    socklen_t len = sizeof address;
    int fd = accept4(watch->fd, (struct sockaddr *)&address, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        pause_accepting(self, errno);
      /* EAGAIN: all taken; ECONNABORTED and the like: that one is gone. */
      return;
    }
    char peer[CHAT_IO_PEER_ADDRESS_MAX];
    chat_io_format_address((struct sockaddr *)&address, peer);
    self->accept(fd, peer, self->user_data);
  }
}

ChatIoListener *chat_io_listener_new(ChatIoLoop *loop, const char *ip, guint16 port, int backlog,
                                     ChatIoAcceptFunc accept, gpointer user_data, GError **error) {
  struct sockaddr_storage address;
  socklen_t address_len;
  memset(&address, 0, sizeof address);
  struct sockaddr_in *in = (struct sockaddr_in *)&address;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;
  if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    address_len = sizeof *in;
  } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    address_len = sizeof *in6;
  } else {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address: %s", ip);
    return NULL;
  }

  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&address, address_len) != 0 || listen(fd, backlog) != 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    char where[CHAT_HOST_PORT_MAX + 1];
    chat_host_port_format(ip, port, where, sizeof where);
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot listen on %s: %s", where,
                g_strerror(e));
    return NULL;
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);

  ChatIoListener *self = g_new0(ChatIoListener, 1);
  self->loop = loop;
  self->accept = accept;
  self->user_data = user_data;
  self->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                 : ((struct sockaddr_in *)&bound)->sin_port);
  chat_io_timer_init(&self->pause, on_pause_over);
  if (!chat_io_loop_watch(loop, &self->watch, fd, EPOLLIN, on_readable)) {
    int e = errno;
    close(fd);
    g_free(self);
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                "cannot watch the listening socket: %s", g_strerror(e));
    return NULL;
  }
  self->watching = TRUE;
  return self;
}

guint16 chat_io_listener_get_port(ChatIoListener *self) {
  return self->port;
}

void chat_io_listener_free(ChatIoListener *self) {
  if (self == NULL)
    return;
  chat_io_loop_stop_timer(self->loop, &self->pause);
  if (self->watching)
    chat_io_loop_unwatch(self->loop, &self->watch);
  close(self->watch.fd);
  g_free(self);
}
