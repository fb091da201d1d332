/* Server key pinning: the client's known_hosts file and the pin decision.
 *
 * known_hosts is an OpenSSH-style text file, one server per line:
 *
 *   # comment
 *   chat.example.org:7000 SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU
 *
 * Fields are separated by spaces or tabs; lines starting with '#' and blank
 * lines are ignored (and kept when the file is rewritten). The first field
 * is "host:port" exactly as the client was told to connect (compared byte
 * for byte; an IPv6 host is written in brackets, "[::1]:7000"); the second
 * is the fingerprint of the server's static key (protocol/server-key.h). A
 * line with another number of fields, a bad host:port or a bad fingerprint
 * makes every operation on the file fail with CHAT_KEY_ERR_MALFORMED and its
 * line number: a pin file is not silently half-read.
 *
 * Default location: $XDG_DATA_HOME/chat/known_hosts when XDG_DATA_HOME is
 * set to an absolute path, else $HOME/.local/share/chat/known_hosts.
 * Changes rewrite the whole file atomically: a temporary file in the same
 * directory (mode 0600, written and fsynced) is renamed over it; missing
 * directories are created with mode 0700. Concurrent writers are not
 * serialised (the last rename wins).
 *
 * The pin decision (chat_pin_check), by policy:
 *   STRICT      the offered key must match the configured one (a
 *               fingerprint, or the server's public key in base64); without
 *               a configured key the connection is refused. known_hosts is
 *               not consulted.
 *   ACCEPT_NEW  host unknown: it is recorded in known_hosts and accepted
 *               ("trust on first use"); known with the same key: accepted;
 *               known with another key: refused.
 *   ASK         host unknown: CHAT_PIN_NEEDS_CONFIRMATION, the GUI asks the
 *               user and calls chat_known_hosts_add after a yes; known with
 *               the same key: accepted; another key: refused.
 * For every policy a configured key that does not match is refused, and a
 * changed key (known_hosts has another one for the host) is ALWAYS a hard
 * failure whose message shows both fingerprints; the only way on is to
 * remove the old entry (`chatctl forget-host HOST:PORT`) after checking.
 * An unreadable or malformed known_hosts also refuses (fails closed).
 */
#ifndef CHAT_PROTOCOL_KNOWN_HOSTS_H
#define CHAT_PROTOCOL_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol/error.h"
#include "protocol/host-port.h"
#include "protocol/server-key.h"

#define CHAT_KNOWN_HOSTS_FILE_MODE CHAT_SECRET_FILE_MODE
#define CHAT_KNOWN_HOSTS_DIR_MODE CHAT_SECRET_DIR_MODE
/* Path below $XDG_DATA_HOME, and below $HOME when that is not set. */
#define CHAT_KNOWN_HOSTS_XDG_RELATIVE "chat/known_hosts"
#define CHAT_KNOWN_HOSTS_HOME_RELATIVE ".local/share/chat/known_hosts"
/* Larger known_hosts files are refused as malformed. */
#define CHAT_KNOWN_HOSTS_MAX_FILE ((size_t)1 << 20)
/* Longest path this module builds, including the NUL. */
#define CHAT_KNOWN_HOSTS_PATH_MAX 4096u
/* Longest pin decision message, including the NUL. */
#define CHAT_PIN_MESSAGE_MAX 1024u

/* Writes the default known_hosts path (see above) to out.
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT (NULL), CHAT_KEY_ERR_NO_PATH (no
 * usable variable, or the path does not fit cap). */
int chat_known_hosts_default_path(char *out, size_t cap, chat_error *err);

/* Looks host_port up. Returns 1 and writes the recorded fingerprint to
 * fingerprint_out (may be NULL) when found, 0 when not (a missing file
 * knows no host). err->offset is the line number on MALFORMED.
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT (NULL, bad host:port),
 * CHAT_KEY_ERR_IO, CHAT_KEY_ERR_MALFORMED, CHAT_KEY_ERR_NOMEM. */
int chat_known_hosts_lookup(const char *path, const char *host_port,
                            char fingerprint_out[CHAT_FINGERPRINT_SIZE], chat_error *err);

/* Records host_port with fingerprint (appended; the file and its directory
 * are created if needed). Recording the same key again changes nothing.
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT (NULL, bad host:port or
 * fingerprint), CHAT_KEY_ERR_EXISTS (another key is recorded for the host:
 * remove it first), CHAT_KEY_ERR_IO, CHAT_KEY_ERR_MALFORMED,
 * CHAT_KEY_ERR_NOMEM. */
int chat_known_hosts_add(const char *path, const char *host_port, const char *fingerprint,
                         chat_error *err);

/* Removes every line of host_port (for `chatctl forget-host`). Returns 1
 * when something was removed, 0 when the host was not there (the file is
 * then left untouched).
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT, CHAT_KEY_ERR_IO,
 * CHAT_KEY_ERR_MALFORMED, CHAT_KEY_ERR_NOMEM. */
int chat_known_hosts_remove(const char *path, const char *host_port, chat_error *err);

typedef enum {
  CHAT_PIN_STRICT = 1,
  CHAT_PIN_ACCEPT_NEW = 2,
  CHAT_PIN_ASK = 3,
} chat_pin_policy;

/* Parses a policy name: "strict", "accept-new" or "ask". Returns false for
 * anything else. */
bool chat_pin_policy_parse(const char *name, chat_pin_policy *out);

typedef enum {
  CHAT_PIN_ACCEPTED = 1,           /* matches the configured or the recorded key */
  CHAT_PIN_ACCEPTED_NEW = 2,       /* ACCEPT_NEW: unknown host, now recorded */
  CHAT_PIN_NEEDS_CONFIRMATION = 3, /* ASK: unknown host; ask the user */
  CHAT_PIN_REJECTED = 4,           /* refuse the connection; see code and message */
} chat_pin_decision;

typedef struct {
  chat_pin_decision decision;
  int code;                             /* 0, or why it was rejected */
  char offered[CHAT_FINGERPRINT_SIZE];  /* the server's key */
  char expected[CHAT_FINGERPRINT_SIZE]; /* configured / recorded key, "" if none */
  char message[CHAT_PIN_MESSAGE_MAX];   /* one paragraph for the user */
} chat_pin_result;

/* Decides whether to trust the server key with fingerprint offered for
 * host_port (see the top of this file). configured: the pinned key from the
 * configuration, a fingerprint or a base64 public key, or NULL.
 * known_hosts_path: the file for ACCEPT_NEW and ASK (may be NULL for
 * STRICT). Returns 0 for ACCEPTED, ACCEPTED_NEW and NEEDS_CONFIRMATION;
 * otherwise result->decision is REJECTED and the code is returned. The
 * message names the host and, for a changed or mismatching key, both
 * fingerprints.
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT (NULL, bad host:port or offered
 * fingerprint, bad policy, no path for ACCEPT_NEW / ASK),
 * CHAT_PIN_ERR_CHANGED, CHAT_PIN_ERR_MISMATCH, CHAT_PIN_ERR_NOT_CONFIGURED,
 * CHAT_PIN_ERR_BAD_CONFIGURED, and the known_hosts errors CHAT_KEY_ERR_IO,
 * CHAT_KEY_ERR_MALFORMED, CHAT_KEY_ERR_NOMEM. */
int chat_pin_check(chat_pin_policy policy, const char *host_port, const char *offered,
                   const char *configured, const char *known_hosts_path, chat_pin_result *result);

#endif
