/* chatd's configuration, read from the shared config.json.
 *
 * The file is one JSON object (read with protocol/json.h, so the DH numbers
 * keep every digit) with three sections; every key is optional unless noted:
 *
 *   crypto.base, crypto.modulus   the seed dialect's DH group: positive
 *                                 decimal integers, as bare JSON numbers or
 *                                 strings of digits, kept as digit strings.
 *                                 Required when server.allow_legacy is true.
 *   client                        the client's section: ignored, no warnings.
 *   server.bind_ip                IPv4 or IPv6 address (default 127.0.0.1)
 *   server.bind_port              0..65535 (default 8111; 0 picks a free port)
 *   server.database               path (default $XDG_DATA_HOME/chat/chatd.db)
 *   server.key_file               path (default $XDG_DATA_HOME/chat/server.key)
 *   server.postgresql             a libpq connection string ("host=db
 *                                 dbname=chat user=chatd"): store everything
 *                                 in PostgreSQL instead of server.database
 *                                 (default: none, SQLite)
 *   server.allow_legacy           bool: serve the seed dialect (default false)
 *   server.max_message_size       bytes, 1 KiB..256 MiB (default 16 MiB)
 *   server.max_image_size         bytes, 1 KiB..max_message_size / 2 (default
 *                                 8 MiB, or max_message_size / 2 when that is
 *                                 smaller): the largest image a send_message
 *                                 may carry
 *   server.max_connections        1..1,000,000 (default 20000); lowered at
 *                                 start to fit the file limit (ulimit -n)
 *   server.max_connections_per_address
 *                                 1..1,000,000 (default 128): from one IPv4
 *                                 address or IPv6 /64
 *   server.handshake_timeout      seconds, 1..600 (default 10)
 *   server.login_timeout          seconds after the handshake to log in,
 *                                 1..3600 (default 60)
 *   server.idle_timeout           seconds without a message from a logged-in
 *                                 client before it is dropped, 0 (never, the
 *                                 default) .. 7 days
 *   server.io_threads             threads that run connections (chatd's
 *                                 main thread is the first), 1..64; 0 (the
 *                                 default): one per CPU
 *   server.max_queue_bytes        per-connection outgoing queue, bytes,
 *                                 max_message_size..1 GiB (default
 *                                 2 × max_message_size)
 *   server.durability             "fsync" (the default): an acknowledged message
 *                                 is on disk (an fsync per batch); "os": in
 *                                 the kernel, lost in a power cut
 *                                 (ChatdStoreDurability, store.h)
 *   server.max_transit_bytes      bytes all connections together hold beyond
 *                                 64 KiB each way of messages being received
 *                                 or queued to send, 1 MiB..1 TiB (default
 *                                 1 GiB; protocol/transit.h)
 *   server.resume_token_days      days a resume token stays valid when it is
 *                                 not used, 1..3650 (default 30); using one
 *                                 replaces it (chatd/resume-tokens.h)
 *   server.password_hash          {t_cost, m_cost_kib, parallelism}: Argon2id
 *                                 cost (ranges and defaults in passwords.h)
 *   server.login_rate             {per_minute (1..10000, default 10),
 *                                 burst (1..1000, default 5)}: failed login
 *                                 attempts per source address and account;
 *                                 an address as a whole gets 4 times that
 *                                 (chatd/attempts.h)
 *   server.register_rate          {per_hour (1..1000000, default 20),
 *                                 burst (1..1000000, default 5): new accounts
 *                                 per source address; total_per_minute
 *                                 (1..1000000, default 60): in all}
 *
 *   server.nats                   a NATS URL or a list of them
 *                                 ("nats://10.0.0.5:4222"): the node joins
 *                                 the cluster that server (cluster.h); needs
 *                                 server.postgresql
 *   server.node_name              the node's name in logs and between nodes
 *                                 (default "HOSTNAME:PORT"); unique per node
 *
 * Relative paths are relative to the config file's directory (the results
 * are absolute). Unknown keys and sections are ignored with a warning (a
 * structured log at G_LOG_LEVEL_WARNING, field CHATD_CONFIG_KEY = the dotted
 * key) also kept in config->warnings. A bad value fails the load with a
 * message "PATH: KEY: expected WHAT, got VALUE".
 *
 * Command-line overrides (database, key file, port) are applied by the
 * caller after loading, by assigning the fields (g_free the old string). */
#pragma once

#include <glib.h>

#include "chatd/passwords.h"
#include "protocol/chat-limits.h"
#include "protocol/config-file.h"

G_BEGIN_DECLS

/* ---- errors ---- */

#define CHATD_CONFIG_ERROR (chatd_config_error_quark())

typedef enum {
  CHATD_CONFIG_ERROR_READ,    /* the file cannot be read */
  CHATD_CONFIG_ERROR_SYNTAX,  /* the file is not JSON (the message has line and column) */
  CHATD_CONFIG_ERROR_INVALID, /* a key has a wrong type or an out-of-range value */
  CHATD_CONFIG_ERROR_MISSING, /* a required key is absent */
} ChatdConfigError;

GQuark chatd_config_error_quark(void);

/* ---- defaults and ranges ---- */

#define CHATD_CONFIG_DEFAULT_BIND_IP "127.0.0.1"
#define CHATD_CONFIG_DEFAULT_BIND_PORT CHAT_DEFAULT_PORT
#define CHATD_CONFIG_DATA_SUBDIR "chat" /* under g_get_user_data_dir() */
#define CHATD_CONFIG_DEFAULT_DATABASE_NAME "chatd.db"
#define CHATD_CONFIG_DEFAULT_KEY_FILE_NAME "server.key"

#define CHATD_CONFIG_DEFAULT_MAX_MESSAGE_SIZE ((guint)CHAT_MAX_MESSAGE_DEFAULT)
#define CHATD_CONFIG_MIN_MAX_MESSAGE_SIZE 1024u
#define CHATD_CONFIG_MAX_MAX_MESSAGE_SIZE (256u * 1024u * 1024u)

#define CHATD_CONFIG_DEFAULT_MAX_IMAGE_SIZE ((guint)CHAT_MAX_IMAGE_DEFAULT)
#define CHATD_CONFIG_MIN_MAX_IMAGE_SIZE 1024u

#define CHATD_CONFIG_DEFAULT_MAX_CONNECTIONS 20000
#define CHATD_CONFIG_MAX_MAX_CONNECTIONS 1000000
#define CHATD_CONFIG_DEFAULT_MAX_CONNECTIONS_PER_ADDRESS 128

#define CHATD_CONFIG_DEFAULT_HANDSHAKE_TIMEOUT 10
#define CHATD_CONFIG_MAX_HANDSHAKE_TIMEOUT 600

#define CHATD_CONFIG_DEFAULT_LOGIN_TIMEOUT 60
#define CHATD_CONFIG_MAX_LOGIN_TIMEOUT 3600

#define CHATD_CONFIG_DEFAULT_IDLE_TIMEOUT 0 /* never */
#define CHATD_CONFIG_MAX_IDLE_TIMEOUT (7 * 24 * 3600)

#define CHATD_CONFIG_DEFAULT_IO_THREADS 0 /* one per CPU */
#define CHATD_CONFIG_DEFAULT_MAX_TRANSIT_BYTES ((gsize)1 << 30)
#define CHATD_CONFIG_MIN_MAX_TRANSIT_BYTES ((gsize)1 << 20)
#define CHATD_CONFIG_MAX_MAX_TRANSIT_BYTES ((gsize)1 << 40)
#define CHATD_CONFIG_MAX_IO_THREADS 64

#define CHATD_CONFIG_DEFAULT_RESUME_TOKEN_DAYS 30
#define CHATD_CONFIG_MAX_RESUME_TOKEN_DAYS 3650

/* The default queue is this many maximum-size messages. */
#define CHATD_CONFIG_QUEUE_MESSAGES_DEFAULT 2
#define CHATD_CONFIG_MAX_MAX_QUEUE_BYTES (1024u * 1024u * 1024u)

#define CHATD_CONFIG_DEFAULT_LOGIN_RATE_PER_MINUTE 10
#define CHATD_CONFIG_MAX_LOGIN_RATE_PER_MINUTE 10000
#define CHATD_CONFIG_DEFAULT_LOGIN_RATE_BURST 5
#define CHATD_CONFIG_MAX_LOGIN_RATE_BURST 1000

#define CHATD_CONFIG_DEFAULT_REGISTER_PER_HOUR 20
#define CHATD_CONFIG_MAX_REGISTER_PER_HOUR 1000000
#define CHATD_CONFIG_DEFAULT_REGISTER_BURST 5
#define CHATD_CONFIG_MAX_REGISTER_BURST 1000000
#define CHATD_CONFIG_DEFAULT_REGISTER_TOTAL_PER_MINUTE 60
#define CHATD_CONFIG_MAX_REGISTER_TOTAL_PER_MINUTE 1000000

/* Longest crypto.base / crypto.modulus, in decimal digits (a 8192-bit
 * modulus has 2467). */
#define CHATD_CONFIG_MAX_CRYPTO_DIGITS CHAT_CONFIG_CRYPTO_DIGITS_MAX

/* ---- the configuration ---- */

typedef struct {
  /* crypto: decimal digit strings ([1-9][0-9]*), NULL when absent. */
  char *crypto_base;
  char *crypto_modulus;

  /* server */
  char *bind_ip; /* parses with g_inet_address_new_from_string */
  guint16 bind_port;
  char *database; /* absolute path */
  char *key_file; /* absolute path */
  gboolean allow_legacy;
  gsize max_message_size; /* bytes */
  gsize max_image_size;   /* bytes */
  guint max_connections;
  guint max_connections_per_address;
  guint handshake_timeout; /* seconds */
  guint login_timeout;     /* seconds */
  guint idle_timeout;      /* seconds, 0 = never */
  guint io_threads;        /* 0 = one per CPU */
  guint durability;        /* ChatdStoreDurability */
  gsize max_queue_bytes;   /* bytes */
  gsize max_transit_bytes; /* bytes */
  guint resume_token_days;
  ChatdPasswordCost password_cost;
  guint login_rate_per_minute;
  guint login_rate_burst;
  guint register_per_hour;
  guint register_burst;
  guint register_total_per_minute;
  char *postgresql; /* libpq conninfo, NULL: SQLite at database */
  char **nats;      /* NATS URLs (NULL-terminated), NULL: no cluster */
  char *node_name;  /* NULL: "hostname:port", set by the server */

  /* One message per ignored unknown key ("PATH: server.colour: unknown key,
   * ignored"), in file order. Never NULL after init_defaults or load. */
  GPtrArray *warnings;
} ChatdConfig;

/* Fills *config (whose previous contents are NOT freed) with every default:
 * no crypto, the paths under g_get_user_data_dir()/chat, no warnings. */
void chatd_config_init_defaults(ChatdConfig *config);

/* Frees what *config owns and zeroes it. It can be loaded again or
 * re-initialised afterwards. */
void chatd_config_clear(ChatdConfig *config);

/* Reads the JSON file at path over the defaults. config must hold a
 * configuration (chatd_config_init_defaults, a previous load) or be all
 * zero; on success it is replaced (its old contents freed), on failure it is
 * left as it was.
 *
 * Errors (CHATD_CONFIG_ERROR; every message starts with "PATH: "):
 *   _READ     the file cannot be read;
 *   _SYNTAX   invalid JSON ("PATH: line L column C: ...");
 *   _INVALID  the top level or a section is not an object, or a key has a
 *             wrong type or value ("PATH: server.bind_port: expected an
 *             integer 0..65535, got \"abc\"");
 *   _MISSING  crypto.base or crypto.modulus absent while
 *             server.allow_legacy is true; server.nats without
 *             server.postgresql. */
gboolean chatd_config_load(ChatdConfig *config, const char *path, GError **error);

G_END_DECLS
