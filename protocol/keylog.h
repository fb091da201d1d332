/* Session key log, for decrypting captures (`chatctl dump`).
 *
 * When the environment variable CHAT_KEYLOGFILE names a file, clients and
 * servers append the keys of every session to it, one line per key, in the
 * style of NSS's SSLKEYLOGFILE:
 *
 *   <LABEL> <session id, lowercase hex> <secret, lowercase hex>\n
 *
 * Labels:
 *   CHAT_V2_C2S_KEY  v2 channel; id = the client's ephemeral public key of
 *                    handshake message 1 (32 bytes); secret = the initial
 *                    32-byte cipher key of the client -> server direction.
 *   CHAT_V2_S2C_KEY  the same for server -> client.
 *   CHAT_SEED_KEY    seed dialect; id = SHA-256 of the client's DH public
 *                    value exactly as sent (minimal big-endian bytes);
 *                    secret = the 32-byte AES-256 key (both directions).
 * Only these labels can be written: static private keys are never logged.
 *
 * The file is opened with O_WRONLY|O_APPEND|O_CREAT and mode 0600; an
 * existing file accessible by group or others is refused. Each line is
 * written with ONE write() call, so lines of concurrent processes appending
 * to the same file do not interleave.
 *
 * Reading (chat_keylog_parse_line): lines starting with '#' and blank lines
 * are skipped, and so are lines with an unknown label (for later additions);
 * a known label with a bad id or secret is an error with the line number.
 *
 * Anyone who can read the file can decrypt the recorded traffic: it is a
 * debugging aid, and opening it prints a warning on stderr.
 */
#ifndef CHAT_PROTOCOL_KEYLOG_H
#define CHAT_PROTOCOL_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/error.h"

#define CHAT_KEYLOG_ENV "CHAT_KEYLOGFILE"
#define CHAT_KEYLOG_LABEL_V2_C2S "CHAT_V2_C2S_KEY"
#define CHAT_KEYLOG_LABEL_V2_S2C "CHAT_V2_S2C_KEY"
#define CHAT_KEYLOG_LABEL_SEED "CHAT_SEED_KEY"
/* Every known label has a 32-byte id and a 32-byte secret. */
#define CHAT_KEYLOG_ID_LEN 32u
#define CHAT_KEYLOG_SECRET_LEN 32u
#define CHAT_KEYLOG_FILE_MODE 0600
#define CHAT_KEYLOG_FORBIDDEN_MODE_BITS 0077
/* Longest label written or parsed. */
#define CHAT_KEYLOG_LABEL_MAX 32u
/* Longest line: label, two hex fields, two spaces and the newline. */
#define CHAT_KEYLOG_LINE_MAX                                                                       \
  (CHAT_KEYLOG_LABEL_MAX + 2u * CHAT_KEYLOG_ID_LEN + 2u * CHAT_KEYLOG_SECRET_LEN + 3u)

typedef enum {
  CHAT_KEYLOG_ERR_INVALID_ARGUMENT =
      CHAT_ERR_BAND_KEYLOG,                      /* NULL, unknown label, wrong id/secret length */
  CHAT_KEYLOG_ERR_IO = CHAT_ERR_BAND_KEYLOG - 1, /* open/fstat/write failed, or a short write */
  CHAT_KEYLOG_ERR_PERMISSIONS =
      CHAT_ERR_BAND_KEYLOG - 2, /* existing file accessible by group/others */
  CHAT_KEYLOG_ERR_MALFORMED = CHAT_ERR_BAND_KEYLOG - 3, /* a line that does not parse */
  CHAT_KEYLOG_ERR_NOMEM = CHAT_ERR_BAND_KEYLOG - 4,     /* out of memory */
} chat_keylog_status;

typedef struct chat_keylog chat_keylog;

/* Opens (creates) a key log at path (see the top of this file). No warning
 * is printed.
 * Errors: CHAT_KEYLOG_ERR_INVALID_ARGUMENT, CHAT_KEYLOG_ERR_IO,
 * CHAT_KEYLOG_ERR_PERMISSIONS, CHAT_KEYLOG_ERR_NOMEM. */
int chat_keylog_open(const char *path, chat_keylog **out, chat_error *err);

/* Opens the file named by $CHAT_KEYLOGFILE and prints a one-line warning
 * on stderr that session keys are being logged there. When the variable is
 * unset or empty, returns 0 with *out NULL and prints nothing.
 * Errors: as chat_keylog_open. */
int chat_keylog_open_from_env(chat_keylog **out, chat_error *err);

/* Closes the log. NULL is allowed. */
void chat_keylog_close(chat_keylog *log);

/* Appends `label id-hex secret-hex\n` with one write(). label must be one
 * of the three CHAT_KEYLOG_LABEL_*; id_len must be CHAT_KEYLOG_ID_LEN and
 * secret_len CHAT_KEYLOG_SECRET_LEN. The line buffer is wiped afterwards.
 * Errors: CHAT_KEYLOG_ERR_INVALID_ARGUMENT, CHAT_KEYLOG_ERR_IO (including a
 * short write). */
int chat_keylog_write(chat_keylog *log, const char *label, const uint8_t *id, size_t id_len,
                      const uint8_t *secret, size_t secret_len);

/* Writes both lines of a v2 session (chat_v2_channel_session_keys).
 * Errors: as chat_keylog_write. */
int chat_keylog_write_v2(chat_keylog *log, const uint8_t session_id[CHAT_KEYLOG_ID_LEN],
                         const uint8_t c2s_key[CHAT_KEYLOG_SECRET_LEN],
                         const uint8_t s2c_key[CHAT_KEYLOG_SECRET_LEN]);

/* The seed session id: SHA-256 of the client's public value bytes. */
void chat_keylog_seed_session_id(const uint8_t *client_public, size_t len,
                                 uint8_t id[CHAT_KEYLOG_ID_LEN]);

/* Writes the CHAT_SEED_KEY line of a seed session.
 * Errors: as chat_keylog_write (INVALID_ARGUMENT also for a NULL or empty
 * public value). */
int chat_keylog_write_seed(chat_keylog *log, const uint8_t *client_public, size_t len,
                           const uint8_t key[CHAT_KEYLOG_SECRET_LEN]);

typedef enum {
  CHAT_KEYLOG_V2_C2S = 1,
  CHAT_KEYLOG_V2_S2C = 2,
  CHAT_KEYLOG_SEED = 3,
} chat_keylog_label;

typedef struct {
  chat_keylog_label label;
  uint8_t id[CHAT_KEYLOG_ID_LEN];
  uint8_t secret[CHAT_KEYLOG_SECRET_LEN];
} chat_keylog_entry;

/* Parses one line (len bytes, without or with its '\n'; "\r\n" accepted).
 * line_number is only used in the error message. Returns 1 and fills
 * *entry, 0 for a comment, blank line or unknown label, or an error with
 * err->offset = the column (0-based) of the problem.
 * Errors: CHAT_KEYLOG_ERR_INVALID_ARGUMENT (NULL), CHAT_KEYLOG_ERR_MALFORMED
 * (missing or extra fields, non-hex characters, an id or secret of the
 * wrong length). */
int chat_keylog_parse_line(const char *line, size_t len, size_t line_number,
                           chat_keylog_entry *entry, chat_error *err);

#endif
