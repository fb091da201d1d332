/* The parts of config.json every program reads the same way.
 *
 * config.json is shared: chatd reads "server" and "crypto", chatctl and the
 * desktop client read "client" and "crypto". The rules for the shared keys
 * live here, once, in plain C over protocol/json.h:
 *
 *   crypto.base, crypto.modulus  a positive decimal integer: [1-9][0-9]*, no
 *                                sign, fraction, exponent, leading zero or
 *                                zero, written as a bare JSON number (the
 *                                seed's style) or a string of digits, at most
 *                                CHAT_CONFIG_CRYPTO_DIGITS_MAX digits, kept
 *                                exactly (spec/protocol.md, "Group"; the rule
 *                                is the server's)
 *   client.server_ip             a non-empty host name or address string
 *   client.server_port           an integer 1..65535
 *   client.servers               a non-empty array of at most
 *                                CHAT_CONFIG_SERVERS_MAX "host:port" strings
 *                                (protocol/host-port.h: "[::1]:8111" for
 *                                IPv6), the servers of one deployment in
 *                                the order to try them; when present,
 *                                server_ip and server_port are not used
 *   client.dialect               "v2" or "seed"
 *   client.pin                   "strict", "accept-new" or "ask"
 *   client.server_key            a non-empty string (a SHA256: fingerprint or
 *                                a base64 public key), or null for none
 *
 * A bad value is reported as a chat_config_problem; each program prefixes
 * the file name and turns it into its own kind of error. */
#ifndef CHAT_PROTOCOL_CONFIG_FILE_H
#define CHAT_PROTOCOL_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/json.h"
#include "protocol/known-hosts.h"
#include "protocol/message.h"

/* Larger config files are refused. */
#define CHAT_CONFIG_FILE_MAX (1024 * 1024)
/* Longest crypto.base / crypto.modulus, in digits. */
#define CHAT_CONFIG_CRYPTO_DIGITS_MAX 4096
/* Longest piece of a value or key quoted in a message, in bytes. */
#define CHAT_CONFIG_QUOTE_MAX 48
/* Room for a quoted piece: every byte escaped as \uXXXX, "...", NUL. */
#define CHAT_CONFIG_QUOTE_SIZE (CHAT_CONFIG_QUOTE_MAX * 6 + 4)
/* Room for a described value: a quoted piece in double quotes. */
#define CHAT_CONFIG_DESCRIBE_SIZE (CHAT_CONFIG_QUOTE_SIZE + 2)
/* Room for a formatted problem (longer ones are cut). */
#define CHAT_CONFIG_MESSAGE_SIZE 1024

/* Most servers client.servers may list. */
#define CHAT_CONFIG_SERVERS_MAX 64

#define CHAT_CONFIG_SECTION_CLIENT "client"
#define CHAT_CONFIG_SECTION_CRYPTO "crypto"

/* What crypto.base / crypto.modulus must be, as messages say it. */
#define CHAT_CONFIG_DIGITS_EXPECTED                                                                \
  "a positive decimal integer (a JSON number or a string of digits)"

/* A bad value: "KEY: expected EXPECTED, got VALUE". */
typedef struct {
  const char *key;        /* dotted name, "client.server_port" (static) */
  char expected[128];     /* what was wanted */
  const chat_json *value; /* the value found */
} chat_config_problem;

/* Writes s[0..len) for a message into out (CHAT_CONFIG_QUOTE_SIZE bytes):
 * at most CHAT_CONFIG_QUOTE_MAX bytes, cut on a character boundary with
 * "..." added; double quotes and backslashes escaped with a backslash,
 * control characters as \u00XX. Returns the length written. */
size_t chat_config_quote(const char *s, size_t len, char out[CHAT_CONFIG_QUOTE_SIZE]);

/* What a value is, for "got ...": "\"abc\"" (quoted as above), "8111.5",
 * "true", "null", "an array", "an object". */
void chat_config_describe(const chat_json *value, char out[CHAT_CONFIG_DESCRIBE_SIZE]);

/* "KEY: expected EXPECTED, got VALUE" into out (cut to cap). */
void chat_config_problem_format(const chat_config_problem *problem, char *out, size_t cap);

/* Reads crypto.base or crypto.modulus (key names it for the problem). On
 * success *digits / *len point at the digits inside value (not
 * NUL-terminated) and true is returned. */
bool chat_config_read_digits(const char *key, const chat_json *value, const char **digits,
                             size_t *len, chat_config_problem *problem);

/* One entry of client.servers. */
typedef struct {
  char *host; /* without brackets */
  uint16_t port;
} chat_server_address;

/* The client's view of config.json. Strings are malloc'ed (free them with
 * chat_client_config_clear); has_* say whether the file gave the key. */
typedef struct {
  char *host; /* client.server_ip, NULL when absent */
  bool has_port;
  uint16_t port;                /* client.server_port */
  chat_server_address *servers; /* client.servers, NULL when absent */
  size_t n_servers;
  bool has_dialect;
  chat_dialect dialect; /* client.dialect */
  bool has_pin;
  chat_pin_policy pin;  /* client.pin */
  char *server_key;     /* client.server_key, NULL when absent or null */
  char *crypto_base;    /* crypto.base digits, NULL when absent */
  char *crypto_modulus; /* crypto.modulus digits, NULL when absent */
} chat_client_config;

/* Reads the "client" and "crypto" sections of a parsed config.json into
 * *config (zeroed first); other sections and unknown keys are left to their
 * owners. Returns true, or false with *problem filled (then *config holds
 * nothing: it is cleared). Either section may be absent. */
bool chat_client_config_read(const chat_json *root, chat_client_config *config,
                             chat_config_problem *problem);

void chat_client_config_clear(chat_client_config *config);

#endif
