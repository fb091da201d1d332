/* Running a program of the project as a test would from a shell. */
#ifndef CHAT_TESTS_RUN_PROGRAM_H
#define CHAT_TESTS_RUN_PROGRAM_H

#include <glib.h>

typedef struct {
  int status; /* exit status, or -1 when killed by a signal */
  char *out;  /* standard output, NUL-terminated */
  gsize out_len;
  char *err; /* standard error, NUL-terminated */
  gsize err_len;
} program_result;

/* Runs argv (NULL-terminated) with `input` (may be NULL) on standard input
 * and waits for it. Extra environment as "NAME=VALUE" strings in env (may be
 * NULL). Fails the test if it cannot be started. */
void run_program(const char *const *argv, const char *input, gsize input_len,
                 const char *const *env, program_result *result);

/* The same with no input, as user uid when the tests run as root (0: as
 * the tests). */
void run_program_as(const char *const *argv, guint uid, program_result *result);

void program_result_clear(program_result *result);

/* Standard error has exactly one line (one '\n', at the end). */
gboolean is_one_line(const char *text);

#endif
