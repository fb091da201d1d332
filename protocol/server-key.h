/* The server's static key file and key fingerprints.
 *
 * Server key file: the X25519 static private key of a v2 server
 * (protocol/v2-channel.h), as text:
 *
 *   # chat server key (X25519 private key, base64)
 *   <base64 of the 32-byte private key, with padding: 44 characters>
 *
 * Lines starting with '#' and blank lines are ignored; exactly one other
 * line must hold the key, in canonical base64 (RFC 4648, with '=' padding)
 * with optional surrounding spaces or tabs; "\r\n" line ends are accepted.
 * The file is created on first start with mode 0600, and a file readable or
 * writable by group or others is refused, like OpenSSH's "UNPROTECTED
 * PRIVATE KEY FILE".
 *
 * Fingerprint: "SHA256:" followed by the base64 of SHA-256(public key)
 * WITHOUT the '=' padding (43 characters), as OpenSSH prints fingerprints.
 * Users compare and pin these (protocol/known-hosts.h).
 *
 * Errors of this file and of known-hosts.h are the chat_key_status codes
 * below (band CHAT_ERR_BAND_KEY of protocol/error.h); functions that take a chat_error fill it with
 * the code and a one-line reason (path, line number, errno text).
 */
#ifndef CHAT_PROTOCOL_SERVER_KEY_H
#define CHAT_PROTOCOL_SERVER_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/error.h"
#include "protocol/secret-file.h"

#define CHAT_SERVER_KEY_LEN 32u
#define CHAT_SERVER_KEY_FILE_HEADER "# chat server key (X25519 private key, base64)\n"
/* Base64 of 32 bytes, with padding. */
#define CHAT_SERVER_KEY_BASE64_LEN 44u
/* Larger key files are refused as malformed. */
#define CHAT_SERVER_KEY_FILE_MAX 4096u
/* Mode of a created key file; any group/other bit makes loading fail. */
#define CHAT_SERVER_KEY_FILE_MODE CHAT_SECRET_FILE_MODE
#define CHAT_SERVER_KEY_FORBIDDEN_MODE_BITS 0077

#define CHAT_FINGERPRINT_PREFIX "SHA256:"
#define CHAT_FINGERPRINT_PREFIX_LEN 7u
/* Base64 of a 32-byte digest without the one '=' of padding. */
#define CHAT_FINGERPRINT_DIGEST_CHARS 43u
/* A fingerprint with its terminating NUL. */
#define CHAT_FINGERPRINT_SIZE (CHAT_FINGERPRINT_PREFIX_LEN + CHAT_FINGERPRINT_DIGEST_CHARS + 1u)

typedef enum {
  CHAT_KEY_ERR_INVALID_ARGUMENT =
      CHAT_ERR_BAND_KEY, /* NULL pointer, bad host:port or fingerprint text */
  CHAT_KEY_ERR_IO =
      CHAT_ERR_BAND_KEY - 1, /* open/read/write/rename/mkdir failed (errno in the reason) */
  CHAT_KEY_ERR_PERMISSIONS = CHAT_ERR_BAND_KEY - 2, /* key file accessible by group or others */
  CHAT_KEY_ERR_MALFORMED =
      CHAT_ERR_BAND_KEY - 3, /* key file or known_hosts line malformed (line in the reason) */
  CHAT_KEY_ERR_RANDOM = CHAT_ERR_BAND_KEY - 4, /* getrandom() failed */
  CHAT_KEY_ERR_EXISTS =
      CHAT_ERR_BAND_KEY - 5,                  /* known_hosts already has another key for the host */
  CHAT_KEY_ERR_NOMEM = CHAT_ERR_BAND_KEY - 6, /* out of memory */
  CHAT_KEY_ERR_NO_PATH =
      CHAT_ERR_BAND_KEY - 7, /* no XDG_DATA_HOME and no HOME, or a path too long */
  CHAT_PIN_ERR_CHANGED = CHAT_ERR_BAND_KEY - 8,  /* the known host offered a different key */
  CHAT_PIN_ERR_MISMATCH = CHAT_ERR_BAND_KEY - 9, /* the offered key is not the configured one */
  CHAT_PIN_ERR_NOT_CONFIGURED = CHAT_ERR_BAND_KEY - 10, /* policy strict without a configured key */
  CHAT_PIN_ERR_BAD_CONFIGURED =
      CHAT_ERR_BAND_KEY - 11, /* configured key is neither a fingerprint nor a key */
} chat_key_status;

/* Loads the server key from path; when the file does not exist, creates it
 * with a fresh key from getrandom() (chat_secret_file_write with
 * CHAT_SECRET_FILE_NO_REPLACE: mode 0600 from the start, fsynced, renamed
 * into place only if no other process created the file meanwhile, whose
 * key is then loaded). The directory must exist. *created tells which happened (may be NULL). pub
 * gets the X25519 public key. Errors: CHAT_KEY_ERR_INVALID_ARGUMENT, CHAT_KEY_ERR_IO (cannot open,
 * read, create or write), CHAT_KEY_ERR_PERMISSIONS (group/other bits set: "chmod 600"),
 * CHAT_KEY_ERR_MALFORMED (not a regular file, too large, no key, two keys, bad base64, not 32
 * bytes: with the line number), CHAT_KEY_ERR_RANDOM. */
int chat_server_key_load_or_create(const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN],
                                   uint8_t pub[CHAT_SERVER_KEY_LEN], bool *created,
                                   chat_error *err);

/* Loads an existing key file (as above, without creating).
 * Errors: as chat_server_key_load_or_create except RANDOM; a missing file
 * is CHAT_KEY_ERR_IO. */
int chat_server_key_load(const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN],
                         uint8_t pub[CHAT_SERVER_KEY_LEN], chat_error *err);

/* Parses the text of a key file (len bytes, need not be NUL-terminated).
 * err->offset is the 1-based line number of the problem.
 * Errors: CHAT_KEY_ERR_INVALID_ARGUMENT, CHAT_KEY_ERR_MALFORMED. */
int chat_server_key_parse(const char *text, size_t len, uint8_t priv[CHAT_SERVER_KEY_LEN],
                          chat_error *err);

/* Writes the fingerprint of a 32-byte public key ("SHA256:" + 43 chars). */
void chat_fingerprint(const uint8_t pub[CHAT_SERVER_KEY_LEN], char out[CHAT_FINGERPRINT_SIZE]);

/* True when s is a well-formed fingerprint: the prefix, then 43 base64
 * characters that decode canonically to 32 bytes. */
bool chat_fingerprint_valid(const char *s);

/* Decodes canonical padded base64 of exactly CHAT_SERVER_KEY_LEN bytes
 * (44 characters; len bytes of text). Returns true on success. */
bool chat_key_base64_decode(const char *text, size_t len, uint8_t out[CHAT_SERVER_KEY_LEN]);

#endif
