/* Many v2 clients on one ChatIoLoop, for the load generator (bench-chatd)
 * and the scale tests: a pipeline that connects, registers and logs in
 * thousands of clients with a bounded number in setup and at most
 * LOAD_PASSWORD_WINDOW password requests in flight (chatd answers "busy"
 * past its own bound; such a request is asked again), and helpers to send
 * and to run the loop until a condition holds or a deadline passes. */
#pragma once

#include <glib.h>

#include "protocol/catalogue.h"
#include "protocol/io/io-connection.h"
#include "protocol/io/io-loop.h"
#include "protocol/message.h"

G_BEGIN_DECLS

/* chatd runs at most CHATD_PASSWORDS_MAX_IN_FLIGHT (64) hashes at once. */
#define LOAD_PASSWORD_WINDOW 48
#define LOAD_DEFAULT_SETUP_WINDOW 512
#define LOAD_PASSWORD "load-password"

typedef enum {
  LOAD_WAITING, /* not connected yet */
  LOAD_HANDSHAKE,
  LOAD_NEED_REGISTER,
  LOAD_REGISTERING,
  LOAD_NEED_LOGIN,
  LOAD_LOGGING_IN,
  LOAD_READY, /* logged in: the session bundle came */
  LOAD_CLOSED,
} LoadState;

typedef struct _LoadClient LoadClient;
typedef struct _LoadClients LoadClients;

/* Every message a client receives, after the pipeline saw it. */
typedef void (*LoadMessageFunc)(LoadClient *client, guint32 type, const guint8 *data, gsize len);
/* The connection ended (reason NULL: cleanly). */
typedef void (*LoadClosedFunc)(LoadClient *client, const GError *reason);

struct _LoadClient {
  LoadClients *owner;
  ChatIoConnection *connection;
  char name[32];
  gint64 user_id;
  LoadState state;
  gint64 connect_us;       /* monotonic time it started connecting */
  gint64 login_sent_us;    /* monotonic time its login request was sent */
  gint64 ready_us;         /* monotonic time it became LOAD_READY */
  gboolean register_first; /* register before logging in (else log in only) */
  GError *close_reason;
  gpointer data; /* the caller's */
};

LoadClients *load_clients_new(ChatIoLoop *loop, guint16 port, LoadMessageFunc on_message,
                              LoadClosedFunc on_closed);
void load_clients_free(LoadClients *clients);

/* At most this many clients in setup (connecting, registering, logging
 * in) at once. */
void load_clients_set_setup_window(LoadClients *clients, guint window);

/* Connects n clients named prefix0, prefix1, ...; each registers (when
 * register_first) and logs in. Returns at once: run the loop, and wait for
 * load_clients_all_ready. */
void load_clients_add(LoadClients *clients, LoadClient *array, guint n, const char *prefix,
                      gboolean register_first);
/* One client with the given name (the same account as others of that name:
 * a login kicks an earlier one). */
void load_clients_add_named(LoadClients *clients, LoadClient *client, const char *name,
                            gboolean register_first);
/* Connections made from now on come from this local IPv4 address (chatd
 * counts per address; any 127.x.y.z works on loopback). */
void load_clients_set_source(LoadClients *clients, const char *ipv4);
/* A client that only connects and does the handshake (no login); it is
 * LOAD_READY once established. */
void load_clients_add_unauthenticated(LoadClients *clients, LoadClient *client);

/* Drops the client's connection (aborting it if still open, without
 * callbacks) and what it holds. */
void load_client_clear(LoadClient *client);

/* Predicates for load_run_until (data: a LoadGroup). */
typedef struct {
  LoadClient *clients;
  guint n;
} LoadGroup;
gboolean load_group_all_ready(gpointer group);
gboolean load_group_all_closed(gpointer group);

/* Password requests that came back busy and were asked again. */
guint load_clients_busy_retries(LoadClients *clients);

/* Encodes a v2 message with write(w, data) and queues it; FALSE when the
 * connection refused it. */
gboolean load_client_send(LoadClient *client, guint32 type, void (*write)(chat_writer *, gpointer),
                          gpointer data);
/* The params of send_message for a text in the default font (12, black);
 * client_msg_id is left out when NULL. */
typedef struct {
  int target_type;
  gint64 target_id;
  const char *text;
  gsize text_len;
  const char *client_msg_id;
} LoadText;
/* A chat_writer callback for load_client_send: data is a LoadText. */
void load_write_text(chat_writer *w, gpointer data);
/* Sends the text as send_message; FALSE when the connection refused it. */
gboolean load_client_send_text(LoadClient *client, int target_type, gint64 target_id,
                               const char *text);
/* The same with params given as JSON (tests). */
gboolean load_client_send_json(LoadClient *client, const char *name, const char *params_json);

/* The params of a received message, decoded into the clients' arena (valid
 * until the next decode), or NULL. */
const chat_value *load_decode(LoadClients *clients, const guint8 *data, gsize len);

/* Runs loop until done(data) or timeout_ms passed; returns done(data). */
gboolean load_run_until(ChatIoLoop *loop, gboolean (*done)(gpointer), gpointer data,
                        guint timeout_ms);

G_END_DECLS
