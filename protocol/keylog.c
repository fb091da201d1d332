/* Session key log. See protocol/keylog.h. */
#include "protocol/keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "protocol/hex.h"

_Static_assert(SHA256_DIGEST_SIZE == CHAT_KEYLOG_ID_LEN, "seed session id is a SHA-256");

#define HEX_DIGITS_PER_BYTE 2u
#define NIBBLE_BITS 4u
/* The permission bits of st_mode, as printed in messages. */
#define MODE_PERMISSION_BITS 07777
/* A line is a label and two values; one more field is looked for to report it. */
#define LINE_FIELDS 3u
#define FIELDS_SCANNED (LINE_FIELDS + 1u)

struct chat_keylog {
  int fd;
};

static const struct {
  const char *name;
  chat_keylog_label label;
} labels[] = {
    {CHAT_KEYLOG_LABEL_V2_C2S, CHAT_KEYLOG_V2_C2S},
    {CHAT_KEYLOG_LABEL_V2_S2C, CHAT_KEYLOG_V2_S2C},
    {CHAT_KEYLOG_LABEL_SEED, CHAT_KEYLOG_SEED},
};

#define LABEL_COUNT (sizeof labels / sizeof labels[0])

int chat_keylog_open(const char *path, chat_keylog **out, chat_error *err) {
  if (out == NULL)
    return chat_error_set(err, CHAT_KEYLOG_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  *out = NULL;
  if (path == NULL || path[0] == '\0')
    return chat_error_set(err, CHAT_KEYLOG_ERR_INVALID_ARGUMENT, 0, "no key log path");
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, CHAT_KEYLOG_FILE_MODE);
  if (fd < 0)
    return chat_error_set(err, CHAT_KEYLOG_ERR_IO, 0, "key log %s: cannot open: %s", path,
                          strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return chat_error_set(err, CHAT_KEYLOG_ERR_IO, 0, "key log %s: cannot stat: %s", path,
                          strerror(e));
  }
  if ((st.st_mode & CHAT_KEYLOG_FORBIDDEN_MODE_BITS) != 0) {
    close(fd);
    return chat_error_set(err, CHAT_KEYLOG_ERR_PERMISSIONS, 0,
                          "key log %s has permissions %04o: others could read the session keys; "
                          "refusing to log (chmod 600)",
                          path, (unsigned)(st.st_mode & MODE_PERMISSION_BITS));
  }
  chat_keylog *log = malloc(sizeof *log);
  if (log == NULL) {
    close(fd);
    return chat_error_set(err, CHAT_KEYLOG_ERR_NOMEM, 0, "out of memory");
  }
  log->fd = fd;
  *out = log;
  return 0;
}

int chat_keylog_open_from_env(chat_keylog **out, chat_error *err) {
  if (out == NULL)
    return chat_error_set(err, CHAT_KEYLOG_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  *out = NULL;
  const char *path = getenv(CHAT_KEYLOG_ENV);
  if (path == NULL || path[0] == '\0')
    return 0;
  int rc = chat_keylog_open(path, out, err);
  if (rc == 0)
    fprintf(stderr,
            "WARNING: %s is set: session keys are being logged to %s; anyone who can read it "
            "can decrypt the recorded traffic\n",
            CHAT_KEYLOG_ENV, path);
  return rc;
}

void chat_keylog_close(chat_keylog *log) {
  if (log == NULL)
    return;
  close(log->fd);
  free(log);
}

static size_t put_hex(char *out, const uint8_t *data, size_t len) {
  chat_hex_format(out, data, len);
  return HEX_DIGITS_PER_BYTE * len;
}

static bool known_label(const char *label) {
  for (size_t i = 0; i < LABEL_COUNT; i++)
    if (strcmp(labels[i].name, label) == 0)
      return true;
  return false;
}

int chat_keylog_write(chat_keylog *log, const char *label, const uint8_t *id, size_t id_len,
                      const uint8_t *secret, size_t secret_len) {
  if (log == NULL || label == NULL || id == NULL || secret == NULL || !known_label(label) ||
      id_len != CHAT_KEYLOG_ID_LEN || secret_len != CHAT_KEYLOG_SECRET_LEN)
    return CHAT_KEYLOG_ERR_INVALID_ARGUMENT;
  char line[CHAT_KEYLOG_LINE_MAX];
  size_t label_len = strlen(label);
  size_t n = 0;
  memcpy(line, label, label_len);
  n += label_len;
  line[n++] = ' ';
  n += put_hex(line + n, id, id_len);
  line[n++] = ' ';
  n += put_hex(line + n, secret, secret_len);
  line[n++] = '\n';
  ssize_t written;
  do {
    written = write(log->fd, line, n); /* one call: the line is never split */
  } while (written < 0 && errno == EINTR);
  explicit_bzero(line, sizeof line);
  return written == (ssize_t)n ? 0 : CHAT_KEYLOG_ERR_IO;
}

int chat_keylog_write_v2(chat_keylog *log, const uint8_t session_id[CHAT_KEYLOG_ID_LEN],
                         const uint8_t c2s_key[CHAT_KEYLOG_SECRET_LEN],
                         const uint8_t s2c_key[CHAT_KEYLOG_SECRET_LEN]) {
  int rc = chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_C2S, session_id, CHAT_KEYLOG_ID_LEN, c2s_key,
                             CHAT_KEYLOG_SECRET_LEN);
  if (rc < 0)
    return rc;
  return chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_S2C, session_id, CHAT_KEYLOG_ID_LEN, s2c_key,
                           CHAT_KEYLOG_SECRET_LEN);
}

void chat_keylog_seed_session_id(const uint8_t *client_public, size_t len,
                                 uint8_t id[CHAT_KEYLOG_ID_LEN]) {
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, len, client_public);
  sha256_digest(&ctx, CHAT_KEYLOG_ID_LEN, id);
}

int chat_keylog_write_seed(chat_keylog *log, const uint8_t *client_public, size_t len,
                           const uint8_t key[CHAT_KEYLOG_SECRET_LEN]) {
  if (client_public == NULL || len == 0)
    return CHAT_KEYLOG_ERR_INVALID_ARGUMENT;
  uint8_t id[CHAT_KEYLOG_ID_LEN];
  chat_keylog_seed_session_id(client_public, len, id);
  return chat_keylog_write(log, CHAT_KEYLOG_LABEL_SEED, id, sizeof id, key, CHAT_KEYLOG_SECRET_LEN);
}

/* ---- parsing ------------------------------------------------------------- */

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

/* Decodes the hex field [start, end) of exactly out_len bytes. */
static int parse_hex_field(const char *line, size_t start, size_t end, uint8_t *out, size_t out_len,
                           const char *what, size_t line_number, chat_error *err) {
  if (end - start != HEX_DIGITS_PER_BYTE * out_len)
    return chat_error_set(err, CHAT_KEYLOG_ERR_MALFORMED, start,
                          "line %zu: the %s has %zu hex digits; %zu expected", line_number, what,
                          end - start, HEX_DIGITS_PER_BYTE * out_len);
  for (size_t i = 0; i < out_len; i++) {
    size_t at = start + HEX_DIGITS_PER_BYTE * i;
    int hi = chat_hex_digit(line[at]), lo = chat_hex_digit(line[at + 1]);
    if (hi < 0 || lo < 0) {
      explicit_bzero(out, out_len);
      return chat_error_set(err, CHAT_KEYLOG_ERR_MALFORMED, hi < 0 ? at : at + 1,
                            "line %zu: the %s has a non-hex character at column %zu", line_number,
                            what, (hi < 0 ? at : at + 1) + 1);
    }
    out[i] = (uint8_t)((hi << NIBBLE_BITS) | lo);
  }
  return 0;
}

int chat_keylog_parse_line(const char *line, size_t len, size_t line_number,
                           chat_keylog_entry *entry, chat_error *err) {
  if (line == NULL || entry == NULL)
    return chat_error_set(err, CHAT_KEYLOG_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  size_t p = 0;
  while (p < len && is_space(line[p]))
    p++;
  if (p == len || line[p] == '#')
    return 0;
  /* Up to four fields, to detect an extra one. */
  size_t start[FIELDS_SCANNED], end[FIELDS_SCANNED];
  size_t fields = 0;
  while (p < len && fields < FIELDS_SCANNED) {
    start[fields] = p;
    while (p < len && !is_space(line[p]))
      p++;
    end[fields] = p;
    fields++;
    while (p < len && is_space(line[p]))
      p++;
  }
  size_t label_len = end[0] - start[0];
  const chat_keylog_label *label = NULL;
  for (size_t i = 0; i < LABEL_COUNT; i++)
    if (strlen(labels[i].name) == label_len &&
        memcmp(labels[i].name, line + start[0], label_len) == 0)
      label = &labels[i].label;
  if (label == NULL)
    return 0; /* an unknown label: skipped, for future additions */
  if (fields != LINE_FIELDS)
    return chat_error_set(
        err, CHAT_KEYLOG_ERR_MALFORMED, fields > LINE_FIELDS ? start[LINE_FIELDS] : len,
        "line %zu: %.*s needs exactly two fields after it, a session id and "
        "a secret; found %s",
        line_number, (int)label_len, line + start[0], fields > LINE_FIELDS ? "more" : "fewer");
  int rc = parse_hex_field(line, start[1], end[1], entry->id, CHAT_KEYLOG_ID_LEN, "session id",
                           line_number, err);
  if (rc == 0)
    rc = parse_hex_field(line, start[2], end[2], entry->secret, CHAT_KEYLOG_SECRET_LEN, "secret",
                         line_number, err);
  if (rc < 0)
    return rc;
  entry->label = *label;
  return 1;
}
