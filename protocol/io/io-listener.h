/* ChatIoListener: a listening TCP socket on a ChatIoLoop.
 *
 * When the socket is readable it accepts (accept4, non-blocking,
 * close-on-exec) up to CHAT_IO_ACCEPT_BATCH connections per turn and hands
 * each to the accept function with the peer's "ip:port". When the process
 * is out of file descriptors it stops listening for
 * CHAT_IO_ACCEPT_PAUSE_MS (the pending connections wait in the kernel's
 * backlog) instead of spinning, and says so in the log at most once per
 * CHAT_IO_ACCEPT_LOG_PERIOD_S. Runs on its loop's thread. */
#pragma once

#include <glib.h>

#include "protocol/io/io-connection.h"
#include "protocol/io/io-loop.h"

G_BEGIN_DECLS

#define CHAT_IO_ACCEPT_BATCH 256u
#define CHAT_IO_ACCEPT_PAUSE_MS 100u
#define CHAT_IO_ACCEPT_LOG_PERIOD_S 10

typedef struct _ChatIoListener ChatIoListener;

/* fd: the accepted socket (the function owns it); peer: "ip:port". */
typedef void (*ChatIoAcceptFunc)(int fd, const char *peer, gpointer user_data);

/* Binds ip:port (port 0: any free one) with SO_REUSEADDR, listens with
 * backlog, and starts accepting on loop. NULL with a GIOError whose
 * message names the address ("cannot listen on 127.0.0.1:8111: Address
 * already in use") when it cannot. */
ChatIoListener *chat_io_listener_new(ChatIoLoop *loop, const char *ip, guint16 port, int backlog,
                                     ChatIoAcceptFunc accept, gpointer user_data, GError **error);

/* The port listened on. */
guint16 chat_io_listener_get_port(ChatIoListener *listener);

/* Stops accepting and closes the socket; NULL is allowed. */
void chat_io_listener_free(ChatIoListener *listener);

G_END_DECLS
