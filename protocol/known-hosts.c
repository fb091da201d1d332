/* known_hosts and the pin decision. See protocol/known-hosts.h. */
#include "protocol/known-hosts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/secret-file.h"

int chat_known_hosts_default_path(char *out, size_t cap, chat_error *err) {
  if (out == NULL || cap == 0)
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  const char *xdg = getenv("XDG_DATA_HOME");
  int n;
  if (xdg != NULL && xdg[0] == '/') {
    n = snprintf(out, cap, "%s/%s", xdg, CHAT_KNOWN_HOSTS_XDG_RELATIVE);
  } else {
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
      return chat_error_set(err, CHAT_KEY_ERR_NO_PATH, 0,
                            "neither XDG_DATA_HOME (absolute) nor HOME is set: no place for "
                            "known_hosts");
    n = snprintf(out, cap, "%s/%s", home, CHAT_KNOWN_HOSTS_HOME_RELATIVE);
  }
  if (n < 0 || (size_t)n >= cap)
    return chat_error_set(err, CHAT_KEY_ERR_NO_PATH, 0, "the known_hosts path is too long");
  return 0;
}

/* ---- reading and parsing ------------------------------------------------- */

/* Reads the whole file into a malloc'd buffer. A missing file is empty
 * (*text NULL, *len 0). */
static int read_file(const char *path, char **text, size_t *len, chat_error *err) {
  *text = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: not a readable regular file", path);
  }
  if ((size_t)st.st_size > CHAT_KNOWN_HOSTS_MAX_FILE) {
    close(fd);
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, 0, "%s: larger than %zu bytes", path,
                          CHAT_KNOWN_HOSTS_MAX_FILE);
  }
  size_t cap = (size_t)st.st_size + 1;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return chat_error_set(err, CHAT_KEY_ERR_NOMEM, 0, "out of memory reading %s", path);
  }
  size_t have = 0;
  for (;;) {
    if (have == cap) {
      /* The file grew while we read it. */
      free(buf);
      close(fd);
      return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: changed while being read", path);
    }
    ssize_t n = read(fd, buf + have, cap - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "%s: cannot read: %s", path, strerror(e));
    }
    if (n == 0)
      break;
    have += (size_t)n;
  }
  close(fd);
  *text = buf;
  *len = have;
  return 0;
}

typedef struct {
  size_t start; /* the line's bytes [start, end) in the text, without '\n' */
  size_t end;
  size_t number; /* 1-based */
  bool entry;    /* not a comment or blank line */
  char host_port[CHAT_HOST_PORT_MAX + 1];
  char fingerprint[CHAT_FINGERPRINT_SIZE];
} known_line;

typedef struct {
  const char *text;
  size_t len;
  size_t pos;
  size_t number;
} line_reader;

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* Copies the next whitespace-separated field of [*pos, end) into out (cap
 * bytes with the NUL). Returns its length, 0 when there is none, or cap
 * when it does not fit. */
static size_t next_field(const char *text, size_t *pos, size_t end, char *out, size_t cap) {
  size_t p = *pos;
  while (p < end && is_space(text[p]))
    p++;
  size_t start = p;
  while (p < end && !is_space(text[p]))
    p++;
  *pos = p;
  size_t n = p - start;
  if (n >= cap)
    return cap;
  memcpy(out, text + start, n);
  out[n] = '\0';
  return n;
}

/* Reads and parses the next line. Returns 1, 0 at the end, or MALFORMED. */
static int read_line(line_reader *r, const char *path, known_line *line, chat_error *err) {
  if (r->pos >= r->len)
    return 0;
  memset(line, 0, sizeof *line);
  line->start = r->pos;
  size_t end = r->pos;
  while (end < r->len && r->text[end] != '\n')
    end++;
  line->end = end;
  line->number = ++r->number;
  r->pos = end < r->len ? end + 1 : end;

  size_t p = line->start;
  while (p < end && is_space(r->text[p]))
    p++;
  if (p == end || r->text[p] == '#')
    return 1;
  line->entry = true;
  char extra[2];
  size_t host_len = next_field(r->text, &p, end, line->host_port, sizeof line->host_port);
  size_t fp_len = next_field(r->text, &p, end, line->fingerprint, sizeof line->fingerprint);
  size_t extra_len = next_field(r->text, &p, end, extra, sizeof extra);
  if (fp_len == 0 || extra_len != 0)
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line->number,
                          "%s: line %zu: expected two fields, \"host:port SHA256:...\"", path,
                          line->number);
  if (host_len >= sizeof line->host_port || !chat_host_port_valid(line->host_port))
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line->number,
                          "%s: line %zu: not a valid host:port", path, line->number);
  if (fp_len >= sizeof line->fingerprint || !chat_fingerprint_valid(line->fingerprint))
    return chat_error_set(err, CHAT_KEY_ERR_MALFORMED, line->number,
                          "%s: line %zu: not a valid SHA256: fingerprint", path, line->number);
  return 1;
}

/* Finds host_port in the text; checks every line. Returns 1 (found, the
 * fingerprint copied to fp when not NULL), 0, or an error. */
static int find_host(const char *text, size_t len, const char *path, const char *host_port,
                     char *fp, chat_error *err) {
  line_reader r = {text, len, 0, 0};
  known_line line;
  int found = 0;
  int rc;
  while ((rc = read_line(&r, path, &line, err)) == 1) {
    if (found || !line.entry || strcmp(line.host_port, host_port) != 0)
      continue;
    found = 1;
    if (fp != NULL)
      memcpy(fp, line.fingerprint, CHAT_FINGERPRINT_SIZE);
  }
  return rc < 0 ? rc : found;
}

/* Checks the arguments of a lookup or removal and reads the file. */
static int read_for_host(const char *path, const char *host_port, char **text, size_t *len,
                         chat_error *err) {
  if (path == NULL || !chat_host_port_valid(host_port))
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0, "invalid path or host:port");
  return read_file(path, text, len, err);
}

int chat_known_hosts_lookup(const char *path, const char *host_port,
                            char fingerprint_out[CHAT_FINGERPRINT_SIZE], chat_error *err) {
  char *text;
  size_t len;
  int rc = read_for_host(path, host_port, &text, &len, err);
  if (rc < 0)
    return rc;
  rc = find_host(text, len, path, host_port, fingerprint_out, err);
  free(text);
  return rc;
}

/* ---- atomic rewrite ------------------------------------------------------ */

/* mkdir -p with CHAT_KNOWN_HOSTS_DIR_MODE for every missing directory. */
static int make_dirs(char *dir, chat_error *err) {
  size_t len = strlen(dir);
  for (size_t i = 1; i <= len; i++) {
    if (i < len && dir[i] != '/')
      continue;
    char saved = dir[i];
    dir[i] = '\0';
    int rc = mkdir(dir, CHAT_KNOWN_HOSTS_DIR_MODE);
    int e = errno;
    dir[i] = saved;
    if (rc != 0 && e != EEXIST) {
      char part[CHAT_KNOWN_HOSTS_PATH_MAX];
      snprintf(part, sizeof part, "%.*s", (int)i, dir);
      return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "cannot create directory %s: %s", part,
                            strerror(e));
    }
  }
  return 0;
}

/* Makes the file's directory, then replaces its content with data (see
 * protocol/secret-file.h). */
static int write_atomic(const char *path, const char *data, size_t len, chat_error *err) {
  char dir[CHAT_KNOWN_HOSTS_PATH_MAX];
  if (strlen(path) + sizeof CHAT_SECRET_FILE_TEMP_SUFFIX > sizeof dir)
    return chat_error_set(err, CHAT_KEY_ERR_NO_PATH, 0, "%s: path too long", path);
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int rc = make_dirs(dir, err);
  if (rc < 0)
    return rc;
  rc = chat_secret_file_write(path, data, len, 0);
  if (rc != 0)
    return chat_error_set(err, CHAT_KEY_ERR_IO, 0, "cannot rewrite %s: %s", path, strerror(-rc));
  return 0;
}

int chat_known_hosts_add(const char *path, const char *host_port, const char *fingerprint,
                         chat_error *err) {
  if (path == NULL || !chat_host_port_valid(host_port) || !chat_fingerprint_valid(fingerprint))
    return chat_error_set(err, CHAT_KEY_ERR_INVALID_ARGUMENT, 0,
                          "invalid path, host:port or fingerprint");
  char *text;
  size_t len;
  int rc = read_file(path, &text, &len, err);
  if (rc < 0)
    return rc;
  char known[CHAT_FINGERPRINT_SIZE];
  rc = find_host(text, len, path, host_port, known, err);
  if (rc < 0 || rc == 1) {
    free(text);
    if (rc == 1 && strcmp(known, fingerprint) != 0)
      return chat_error_set(err, CHAT_KEY_ERR_EXISTS, 0,
                            "%s already has another key (%s); remove it first: chatctl "
                            "forget-host %s",
                            host_port, known, host_port);
    return rc < 0 ? rc : 0;
  }
  bool need_newline = len > 0 && text[len - 1] != '\n';
  size_t host_len = strlen(host_port), fp_len = strlen(fingerprint);
  size_t new_len = len + (need_newline ? 1 : 0) + host_len + 1 + fp_len + 1;
  char *data = malloc(new_len);
  if (data == NULL) {
    free(text);
    return chat_error_set(err, CHAT_KEY_ERR_NOMEM, 0, "out of memory");
  }
  size_t p = 0;
  if (len > 0)
    memcpy(data, text, len);
  p = len;
  if (need_newline)
    data[p++] = '\n';
  memcpy(data + p, host_port, host_len);
  p += host_len;
  data[p++] = ' ';
  memcpy(data + p, fingerprint, fp_len);
  p += fp_len;
  data[p++] = '\n';
  rc = write_atomic(path, data, p, err);
  free(data);
  free(text);
  return rc;
}

int chat_known_hosts_remove(const char *path, const char *host_port, chat_error *err) {
  char *text;
  size_t len;
  int rc = read_for_host(path, host_port, &text, &len, err);
  if (rc < 0)
    return rc;
  char *data = malloc(len + 1);
  if (data == NULL) {
    free(text);
    return chat_error_set(err, CHAT_KEY_ERR_NOMEM, 0, "out of memory");
  }
  line_reader r = {text, len, 0, 0};
  known_line line;
  size_t out = 0;
  bool removed = false;
  while ((rc = read_line(&r, path, &line, err)) == 1) {
    if (line.entry && strcmp(line.host_port, host_port) == 0) {
      removed = true;
      continue;
    }
    memcpy(data + out, text + line.start, line.end - line.start);
    out += line.end - line.start;
    data[out++] = '\n';
  }
  if (rc == 0 && removed)
    rc = write_atomic(path, data, out, err);
  free(data);
  free(text);
  if (rc < 0)
    return rc;
  return removed ? 1 : 0;
}

/* ---- the pin decision ---------------------------------------------------- */

bool chat_pin_policy_parse(const char *name, chat_pin_policy *out) {
  if (name == NULL || out == NULL)
    return false;
  if (strcmp(name, "strict") == 0)
    *out = CHAT_PIN_STRICT;
  else if (strcmp(name, "accept-new") == 0)
    *out = CHAT_PIN_ACCEPT_NEW;
  else if (strcmp(name, "ask") == 0)
    *out = CHAT_PIN_ASK;
  else
    return false;
  return true;
}

static int decide(chat_pin_result *result, chat_pin_decision decision, int code, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* Fills in the decision and its message; returns code. */
static int decide(chat_pin_result *result, chat_pin_decision decision, int code, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(result->message, sizeof result->message, fmt, ap);
  va_end(ap);
  result->decision = decision;
  result->code = code;
  return code;
}

/* The fingerprint of a configured key: a fingerprint as is, or the
 * fingerprint of a base64 public key. */
static bool configured_fingerprint(const char *configured, char out[CHAT_FINGERPRINT_SIZE]) {
  if (chat_fingerprint_valid(configured)) {
    memcpy(out, configured, CHAT_FINGERPRINT_SIZE);
    return true;
  }
  uint8_t pub[CHAT_SERVER_KEY_LEN];
  if (!chat_key_base64_decode(configured, strlen(configured), pub))
    return false;
  chat_fingerprint(pub, out);
  return true;
}

int chat_pin_check(chat_pin_policy policy, const char *host_port, const char *offered,
                   const char *configured, const char *known_hosts_path, chat_pin_result *result) {
  if (result == NULL)
    return CHAT_KEY_ERR_INVALID_ARGUMENT;
  memset(result, 0, sizeof *result);
  if (!chat_host_port_valid(host_port) || !chat_fingerprint_valid(offered) ||
      (policy != CHAT_PIN_STRICT && policy != CHAT_PIN_ACCEPT_NEW && policy != CHAT_PIN_ASK) ||
      (policy != CHAT_PIN_STRICT && known_hosts_path == NULL))
    return decide(result, CHAT_PIN_REJECTED, CHAT_KEY_ERR_INVALID_ARGUMENT,
                  "cannot check the server key: invalid host:port, fingerprint, policy or "
                  "known_hosts path");
  memcpy(result->offered, offered, CHAT_FINGERPRINT_SIZE);

  if (configured != NULL) {
    if (!configured_fingerprint(configured, result->expected))
      return decide(result, CHAT_PIN_REJECTED, CHAT_PIN_ERR_BAD_CONFIGURED,
                    "the configured server key for %s is neither a SHA256: fingerprint nor a "
                    "base64 public key; connection refused",
                    host_port);
    if (strcmp(result->expected, offered) != 0)
      return decide(result, CHAT_PIN_REJECTED, CHAT_PIN_ERR_MISMATCH,
                    "WARNING: the key of server %s does not match the configured key.\n"
                    "  configured: %s\n  offered:    %s\n"
                    "Someone may be intercepting the connection (man in the middle), or the "
                    "server's key was replaced. Connection refused.",
                    host_port, result->expected, offered);
  }
  if (policy == CHAT_PIN_STRICT) {
    if (configured == NULL)
      return decide(result, CHAT_PIN_REJECTED, CHAT_PIN_ERR_NOT_CONFIGURED,
                    "policy strict: no server key is configured for %s (the server offered %s); "
                    "connection refused",
                    host_port, offered);
    return decide(result, CHAT_PIN_ACCEPTED, 0, "the key of %s matches the configured key %s",
                  host_port, offered);
  }

  chat_error err;
  char known[CHAT_FINGERPRINT_SIZE];
  int rc = chat_known_hosts_lookup(known_hosts_path, host_port, known, &err);
  if (rc < 0)
    return decide(result, CHAT_PIN_REJECTED, rc,
                  "cannot check the key of %s against known_hosts: %s; connection refused",
                  host_port, err.message);
  if (rc == 1) {
    memcpy(result->expected, known, CHAT_FINGERPRINT_SIZE);
    if (strcmp(known, offered) != 0)
      return decide(result, CHAT_PIN_REJECTED, CHAT_PIN_ERR_CHANGED,
                    "WARNING: the key of server %s has CHANGED.\n"
                    "  known (%s): %s\n  offered:    %s\n"
                    "Someone may be intercepting the connection (man in the middle), or the "
                    "server's key was replaced. Connection refused. If the change is expected, "
                    "remove the old key with: chatctl forget-host %s",
                    host_port, known_hosts_path, known, offered, host_port);
    return decide(result, CHAT_PIN_ACCEPTED, 0, "the key of %s matches known_hosts (%s)", host_port,
                  offered);
  }
  if (configured != NULL)
    return decide(result, CHAT_PIN_ACCEPTED, 0, "the key of %s matches the configured key %s",
                  host_port, offered);
  if (policy == CHAT_PIN_ASK)
    return decide(result, CHAT_PIN_NEEDS_CONFIRMATION, 0,
                  "The server %s is not known yet. Its key fingerprint is\n  %s\n"
                  "Trust this server?",
                  host_port, offered);
  rc = chat_known_hosts_add(known_hosts_path, host_port, offered, &err);
  if (rc < 0)
    return decide(result, CHAT_PIN_REJECTED, rc,
                  "cannot record the key of %s in known_hosts: %s; connection refused", host_port,
                  err.message);
  return decide(result, CHAT_PIN_ACCEPTED_NEW, 0,
                "the server %s was not known: its key %s was added to %s", host_port, offered,
                known_hosts_path);
}
