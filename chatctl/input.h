/* Reading chatctl's standard input. */
#ifndef CHATCTL_INPUT_H
#define CHATCTL_INPUT_H

#include <stdio.h>

#include "protocol/buffer.h"

/* The most chatctl reads from standard input (hex of a 16 MiB image is
 * 32 MiB, plus whitespace). */
#define CHATCTL_MAX_INPUT (64u << 20)

/* Appends all of f to out. Returns 0, or -1 with errno-like reason text in
 * *reason (a read error, or input over CHATCTL_MAX_INPUT). */
int chatctl_read_all(FILE *f, chat_buffer *out, const char **reason);

/* chatctl_read_all of standard input. Returns 0, or prints the reason and
 * returns CHATCTL_EXIT_USAGE. */
int chatctl_read_stdin(chat_buffer *out);

#endif
