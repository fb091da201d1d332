/* The client side of the shared config.json, as chatctl reads it.
 *
 *   client.server_ip     host name or address to dial (default 127.0.0.1)
 *   client.server_port   1..65535 (default 8111)
 *   client.servers       ["host:port", ...]: the servers of one deployment,
 *                        tried in order until one answers; when set,
 *                        server_ip and server_port are not used. They share
 *                        one server key: the pin (known_hosts) and the
 *                        cached resume tokens are kept under the FIRST
 *                        server listed.
 *   client.dialect       "v2" (default) or "seed"
 *   client.pin           "strict" | "accept-new" (default) | "ask"
 *   client.server_key    the pinned key: a SHA256: fingerprint or the
 *                        base64 public key (optional)
 *   crypto.base          the seed dialect's DH group, as bare JSON numbers
 *   crypto.modulus       or strings of digits, read exactly (required for
 *                        the seed dialect only)
 *
 * Other sections and keys are left to their owners and ignored. The global
 * options --host, --port and --dialect override the file; --host or --port
 * replaces the list by one server (the other half taken from the first
 * server of the list, or server_ip / server_port). When --config is
 * not given and ./config.json does not exist, the defaults are used. */
#ifndef CHATCTL_CLIENT_CONFIG_H
#define CHATCTL_CLIENT_CONFIG_H

#include <glib.h>

#include "chatctl/command.h"
#include "protocol/chat-limits.h"
#include "protocol/dh-group.h"
#include "protocol/known-hosts.h"
#include "protocol/message.h"

#define CHATCTL_DEFAULT_CONFIG "config.json"
#define CHATCTL_DEFAULT_HOST "127.0.0.1"
#define CHATCTL_DEFAULT_PORT CHAT_DEFAULT_PORT
/* A command-line tool cannot ask interactively in the middle of a script:
 * trust on first use, refuse a changed key. */
#define CHATCTL_DEFAULT_PIN CHAT_PIN_ACCEPT_NEW

typedef struct {
  char *host;
  guint16 port;
} chatctl_server;

typedef struct {
  char *path; /* the file read, or NULL when the defaults were used */
  char *host; /* the first server: it names the deployment (pin, tokens) */
  guint16 port;
  chatctl_server *servers; /* all of them, in the order to try; [0] is host:port */
  gsize n_servers;
  chat_dialect dialect;
  chat_pin_policy pin;
  char *server_key;  /* NULL when not configured */
  char *crypto_base; /* decimal digits, NULL when absent */
  char *crypto_modulus;
} chatctl_client_config;

/* Reads the config file named by globals->config_path (or ./config.json if
 * it exists) and applies --host, --port and --dialect. Returns 0, or prints
 * the problem ("chatctl: PATH: client.server_port: expected ...") and
 * returns CHATCTL_EXIT_USAGE. *config is always safe to clear. */
int chatctl_client_config_load(const chatctl_command *command, const chatctl_globals *globals,
                               chatctl_client_config *config);

/* Initialises the seed dialect's group from crypto.*. Returns 0, or prints
 * why (missing or invalid numbers) and returns CHATCTL_EXIT_USAGE. */
int chatctl_client_config_seed_group(const chatctl_client_config *config, chat_dh_group *group);

/* "host:port" of the first server as known_hosts writes it ("[::1]:8111"
 * for IPv6): the known_hosts entry of the deployment. Free it. */
char *chatctl_client_config_host_port(const chatctl_client_config *config);

void chatctl_client_config_clear(chatctl_client_config *config);

#endif
