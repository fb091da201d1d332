/* Password input (see password.h). Copies of the secret are wiped before
 * their memory is freed. */
#include "chatctl/password.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"

/* A prompted line: the password, its line end and a NUL. */
#define PROMPT_BUFFER_SIZE (CHATCTL_PASSWORD_MAX + 2)

int chatctl_password_read_account(const char *password_file, const char *prompt, bool confirm,
                                  char **out) {
  chatctl_password_source source = {
      .file = password_file,
      .file_option = "--password-file",
      .env = CHATCTL_PASSWORD_ENV,
      .prompt = prompt,
      .confirm = confirm,
  };
  return chatctl_password_read(&source, out);
}

void chatctl_password_free(char *password) {
  if (!password)
    return;
  explicit_bzero(password, strlen(password));
  g_free(password);
}

/* Length of the first line of text[0..len): up to '\n', without a '\r'
 * before it. */
static size_t first_line_length(const char *text, size_t len) {
  const char *nl = memchr(text, '\n', len);
  size_t n = nl ? (size_t)(nl - text) : len;
  if (n > 0 && text[n - 1] == '\r')
    n--;
  return n;
}

static int check_password(const char *what, const char *password, size_t len) {
  if (len == 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: the password is empty", what);
  if (len > CHATCTL_PASSWORD_MAX)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: the password is longer than %d bytes", what,
                        CHATCTL_PASSWORD_MAX);
  if (memchr(password, '\0', len) || !g_utf8_validate(password, (gssize)len, NULL))
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: the password is not valid UTF-8 text", what);
  return 0;
}

static int read_password_file(const chatctl_password_source *source, char **out) {
  int fd = open(source->file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s %s: %s", source->file_option, source->file,
                        g_strerror(errno));
  char buf[CHATCTL_PASSWORD_FILE_MAX + 1];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      explicit_bzero(buf, sizeof buf);
      return chatctl_fail(CHATCTL_EXIT_USAGE, "%s %s: %s", source->file_option, source->file,
                          g_strerror(saved));
    }
    len += (size_t)n;
  }
  close(fd);
  size_t line = first_line_length(buf, len);
  int status = 0;
  if (len == sizeof buf && line == len)
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "%s %s: the password is longer than %d bytes",
                          source->file_option, source->file, CHATCTL_PASSWORD_MAX);
  else
    status = check_password(source->file, buf, line);
  if (status == 0)
    *out = g_strndup(buf, line);
  explicit_bzero(buf, sizeof buf);
  return status;
}

/* Prompts on the terminal of standard input with echo off; reads one line
 * into buf (NUL-terminated). Returns its length, or -1 (end of input, read
 * error, line too long). */
static gssize prompt_line(const char *prompt, char *buf, size_t cap) {
  struct termios saved, quiet;
  gboolean have_termios = tcgetattr(STDIN_FILENO, &saved) == 0;
  fputs(prompt, stderr);
  fflush(stderr);
  if (have_termios) {
    quiet = saved;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  size_t len = 0;
  gboolean ok = FALSE, too_long = FALSE;
  for (;;) {
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (c == '\n') {
      ok = TRUE;
      break;
    }
    if (len + 1 < cap)
      buf[len++] = c;
    else
      too_long = TRUE;
  }
  if (have_termios)
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  fputc('\n', stderr);
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  buf[len] = '\0';
  if (!ok || too_long) {
    explicit_bzero(buf, cap);
    return -1;
  }
  return (gssize)len;
}

static int read_from_terminal(const chatctl_password_source *source, char **out) {
  char first[PROMPT_BUFFER_SIZE], second[PROMPT_BUFFER_SIZE];
  int status = 0;
  gssize len = prompt_line(source->prompt, first, sizeof first);
  if (len < 0) {
    status = chatctl_fail(CHATCTL_EXIT_USAGE,
                          "no password read (end of input, or longer "
                          "than %d bytes)",
                          CHATCTL_PASSWORD_MAX);
  } else {
    status = check_password("the prompt", first, (size_t)len);
  }
  if (status == 0 && source->confirm) {
    gssize again = prompt_line("Again: ", second, sizeof second);
    if (again != len || memcmp(first, second, (size_t)len) != 0)
      status = chatctl_fail(CHATCTL_EXIT_USAGE, "the two passwords differ");
  }
  if (status == 0)
    *out = g_strndup(first, (gsize)len);
  explicit_bzero(first, sizeof first);
  explicit_bzero(second, sizeof second);
  return status;
}

int chatctl_password_read(const chatctl_password_source *source, char **out) {
  *out = NULL;
  if (source->file)
    return read_password_file(source, out);
  const char *env = g_getenv(source->env);
  if (env && env[0] != '\0') {
    int status = check_password(source->env, env, strlen(env));
    if (status == 0)
      *out = g_strdup(env);
    return status;
  }
  if (isatty(STDIN_FILENO))
    return read_from_terminal(source, out);
  return chatctl_fail(CHATCTL_EXIT_USAGE,
                      "no password: set %s, use %s FILE, or run on a terminal to be asked",
                      source->env, source->file_option);
}
