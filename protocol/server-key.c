/* The server's static key file and key fingerprints. See
 * protocol/server-key.h. */
#include "protocol/server-key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "protocol/noise.h"
#include "protocol/random.h"
#include "protocol/secret-file.h"

_Static_assert(BASE64_ENCODE_RAW_LENGTH(CHAT_SERVER_KEY_LEN) == CHAT_SERVER_KEY_BASE64_LEN,
               "base64 of a key is 44 characters");
_Static_assert(SHA256_DIGEST_SIZE == CHAT_SERVER_KEY_LEN, "digest and key have the same size");
_Static_assert(CHAT_SERVER_KEY_LEN == CHAT_NOISE_DH_LEN, "server keys are X25519 keys");

/* Bytes of a key file: header, base64 line, newline. */
#define KEY_FILE_TEXT_MAX (sizeof CHAT_SERVER_KEY_FILE_HEADER + CHAT_SERVER_KEY_BASE64_LEN + 1u)
#define PADDING_CHAR '='
/* The permission bits of st_mode, as printed in messages. */
#define MODE_PERMISSION_BITS 07777

/* ---- base64 and fingerprints --------------------------------------------- */

static bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool chat_key_base64_decode(const char *text, size_t len, uint8_t out[CHAT_SERVER_KEY_LEN]) {
  if (text == NULL || out == NULL || len != CHAT_SERVER_KEY_BASE64_LEN)
    return false;
  for (size_t i = 0; i + 1 < len; i++)
    if (!is_base64_char(text[i]))
      return false;
  if (text[len - 1] != PADDING_CHAR)
    return false;
  struct base64_decode_ctx ctx;
  uint8_t buf[BASE64_DECODE_LENGTH(CHAT_SERVER_KEY_BASE64_LEN)];
  size_t n = sizeof buf;
  base64_decode_init(&ctx);
  bool ok = base64_decode_update(&ctx, &n, buf, len, text) && base64_decode_final(&ctx) &&
            n == CHAT_SERVER_KEY_LEN;
  if (ok) {
    /* Canonical: the unused low bits of the last character are zero, i.e.
     * encoding the bytes again gives the same text. */
    char again[CHAT_SERVER_KEY_BASE64_LEN];
    base64_encode_raw(again, CHAT_SERVER_KEY_LEN, buf);
    ok = memcmp(again, text, len) == 0;
    if (ok)
      memcpy(out, buf, CHAT_SERVER_KEY_LEN);
    explicit_bzero(again, sizeof again);
  }
  explicit_bzero(buf, sizeof buf);
  explicit_bzero(&ctx, sizeof ctx);
  return ok;
}

void chat_fingerprint(const uint8_t pub[CHAT_SERVER_KEY_LEN], char out[CHAT_FINGERPRINT_SIZE]) {
  uint8_t digest[SHA256_DIGEST_SIZE];
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, CHAT_SERVER_KEY_LEN, pub);
  sha256_digest(&ctx, sizeof digest, digest);
  char b64[CHAT_SERVER_KEY_BASE64_LEN];
  base64_encode_raw(b64, sizeof digest, digest);
  memcpy(out, CHAT_FINGERPRINT_PREFIX, CHAT_FINGERPRINT_PREFIX_LEN);
  memcpy(out + CHAT_FINGERPRINT_PREFIX_LEN, b64, CHAT_FINGERPRINT_DIGEST_CHARS); /* no '=' */
  out[CHAT_FINGERPRINT_PREFIX_LEN + CHAT_FINGERPRINT_DIGEST_CHARS] = '\0';
}

bool chat_fingerprint_valid(const char *s) {
  if (s == NULL || strncmp(s, CHAT_FINGERPRINT_PREFIX, CHAT_FINGERPRINT_PREFIX_LEN) != 0)
    return false;
  const char *digest = s + CHAT_FINGERPRINT_PREFIX_LEN;
  if (strlen(digest) != CHAT_FINGERPRINT_DIGEST_CHARS)
    return false;
  char padded[CHAT_SERVER_KEY_BASE64_LEN];
  memcpy(padded, digest, CHAT_FINGERPRINT_DIGEST_CHARS);
  padded[CHAT_FINGERPRINT_DIGEST_CHARS] = PADDING_CHAR;
  uint8_t bytes[CHAT_SERVER_KEY_LEN];
  return chat_key_base64_decode(padded, sizeof padded, bytes);
}

/* ---- the key file -------------------------------------------------------- */

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

int chat_server_key_parse(const char *text, size_t len, uint8_t priv[CHAT_SERVER_KEY_LEN],
                          chat_error *err) {
  if (text == NULL || priv == NULL)
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  size_t line = 0;
  size_t key_line = 0;
  size_t pos = 0;
  while (pos < len) {
    line++;
    size_t end = pos;
    while (end < len && text[end] != '\n')
      end++;
    size_t a = pos, b = end;
    pos = end < len ? end + 1 : end;
    while (a < b && is_blank(text[a]))
      a++;
    while (b > a && is_blank(text[b - 1]))
      b--;
    if (a == b || text[a] == '#')
      continue;
    if (key_line != 0) {
      explicit_bzero(priv, CHAT_SERVER_KEY_LEN);
      return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line,
                            "line %zu: a second key (the first is on line %zu); the file holds "
                            "exactly one",
                            line, key_line);
    }
    if (!chat_key_base64_decode(text + a, b - a, priv))
      return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line,
                            "line %zu: not the base64 of a 32-byte key (%u characters ending "
                            "in '=' expected)",
                            line, CHAT_SERVER_KEY_BASE64_LEN);
    key_line = line;
  }
  if (key_line == 0)
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line + 1,
                          "line %zu: end of file without a key line", line + 1);
  return 0;
}

/* Reads a small file into buf (cap bytes); *len gets its size. */
static int read_key_file(int fd, const char *path, char *buf, size_t cap, size_t *len,
                         chat_error *err) {
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, cap - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot read: %s", path, strerror(errno));
    if (n == 0)
      break;
    have += (size_t)n;
    if (have == cap)
      return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, 0,
                            "%s: larger than %u bytes: not a server key file", path,
                            CHAT_SERVER_KEY_FILE_MAX);
  }
  *len = have;
  return 0;
}

/* Loads from an open descriptor: checks type and mode, then parses. */
static int load_fd(int fd, const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN],
                   uint8_t pub[CHAT_SERVER_KEY_LEN], chat_error *err) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot stat: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, 0, "%s: not a regular file", path);
  if ((st.st_mode & CHAT_SERVER_KEY_FORBIDDEN_MODE_BITS) != 0)
    return chat_error_set(err, CHAT_KEY_ERR_PERMISSIONS, 0,
                          "UNPROTECTED PRIVATE KEY FILE: permissions %04o for '%s' are too open; "
                          "it must not be accessible by group or others (chmod 600)",
                          (unsigned)(st.st_mode & MODE_PERMISSION_BITS), path);
  char text[CHAT_SERVER_KEY_FILE_MAX + 1];
  size_t len = 0;
  int rc = read_key_file(fd, path, text, sizeof text, &len, err);
  if (rc == 0) {
    chat_error perr;
    rc = chat_server_key_parse(text, len, priv, &perr);
    if (rc < 0)
      chat_error_set(err, rc, perr.offset, "%s: %s", path, perr.message);
  }
  explicit_bzero(text, sizeof text);
  if (rc < 0)
    return rc;
  if (chat_noise_public_key(priv, CHAT_SERVER_KEY_LEN, pub, CHAT_SERVER_KEY_LEN) != CHAT_NOISE_OK)
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "cannot derive the public key");
  return 0;
}

int chat_server_key_load(const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN],
                         uint8_t pub[CHAT_SERVER_KEY_LEN], chat_error *err) {
  if (path == NULL || priv == NULL || pub == NULL)
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
  int rc = load_fd(fd, path, priv, pub, err);
  close(fd);
  if (rc < 0)
    explicit_bzero(priv, CHAT_SERVER_KEY_LEN);
  return rc;
}

/* Creates the file with a new key. Returns 1 when it already existed (a
 * concurrent start), 0 when created, or an error. */
static int create_key_file(const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN], chat_error *err) {
  if (chat_random_bytes(priv, CHAT_SERVER_KEY_LEN) != 0)
    return chat_error_set(err, CHAT_KEY_ERR_RANDOM, 0, "getrandom failed: %s", strerror(errno));
  char text[KEY_FILE_TEXT_MAX];
  size_t header = strlen(CHAT_SERVER_KEY_FILE_HEADER);
  memcpy(text, CHAT_SERVER_KEY_FILE_HEADER, header);
  base64_encode_raw(text + header, CHAT_SERVER_KEY_LEN, priv);
  text[header + CHAT_SERVER_KEY_BASE64_LEN] = '\n';
  size_t len = header + CHAT_SERVER_KEY_BASE64_LEN + 1;
  int rc = chat_secret_file_write(path, text, len, CHAT_SECRET_FILE_NO_REPLACE);
  explicit_bzero(text, sizeof text);
  if (rc != 0)
    explicit_bzero(priv, CHAT_SERVER_KEY_LEN);
  if (rc < 0)
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot create: %s", path, strerror(-rc));
  return rc;
}

int chat_server_key_load_or_create(const char *path, uint8_t priv[CHAT_SERVER_KEY_LEN],
                                   uint8_t pub[CHAT_SERVER_KEY_LEN], bool *created,
                                   chat_error *err) {
  if (path == NULL || priv == NULL || pub == NULL)
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  if (created != NULL)
    *created = false;
  if (access(path, F_OK) != 0 && errno == ENOENT) {
    int rc = create_key_file(path, priv, err);
    if (rc < 0)
      return rc;
    if (rc == 0) {
      if (created != NULL)
        *created = true;
      if (chat_noise_public_key(priv, CHAT_SERVER_KEY_LEN, pub, CHAT_SERVER_KEY_LEN) !=
          CHAT_NOISE_OK)
        return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0,
                              "cannot derive the public key");
      return 0;
    }
    /* Someone else created it meanwhile: load theirs. */
  }
  return chat_server_key_load(path, priv, pub, err);
}
