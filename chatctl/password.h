/* Reading a password without it ever being on the command line: from a
 * file named by an option, from an environment variable, or from a prompt
 * on the terminal with echo turned off. */
#ifndef CHATCTL_PASSWORD_H
#define CHATCTL_PASSWORD_H

#include <stdbool.h>

#include "protocol/chat-limits.h"

/* The server accepts passwords of 1 to this many bytes. */
#define CHATCTL_PASSWORD_MAX CHAT_PASSWORD_MAX
/* Larger password files are refused (a password and a line end fit). */
#define CHATCTL_PASSWORD_FILE_MAX (CHATCTL_PASSWORD_MAX + 2)

#define CHATCTL_PASSWORD_ENV "CHAT_PASSWORD"
#define CHATCTL_NEW_PASSWORD_ENV "CHAT_NEW_PASSWORD"

typedef struct {
  const char *file;        /* --password-file / --new-password-file, or NULL */
  const char *file_option; /* its name, for messages */
  const char *env;         /* CHAT_PASSWORD / CHAT_NEW_PASSWORD */
  const char *prompt;      /* "Password for alice: " */
  bool confirm;            /* a prompt asks twice and compares */
} chatctl_password_source;

/* Reads the password: the file first (its first line, without the line
 * end), else the environment variable (when set and not empty), else a
 * prompt when standard input is a terminal. Returns 0 and *out (free it with
 * chatctl_password_free), or prints why not ("no password: ...", an
 * unreadable file, an empty password, prompts that differ) and returns
 * CHATCTL_EXIT_USAGE. */
int chatctl_password_read(const chatctl_password_source *source, char **out);

/* The account's password: chatctl_password_read from the --password-file
 * FILE (password_file, or NULL), CHAT_PASSWORD, or the prompt (asked twice
 * with confirm). */
int chatctl_password_read_account(const char *password_file, const char *prompt, bool confirm,
                                  char **out);

/* Wipes and frees a password; NULL is fine. */
void chatctl_password_free(char *password);

#endif
