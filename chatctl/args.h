/* Parsing a network subcommand's own arguments: its options (with a value
 * or flags) and its positional arguments, "--" ending the options. */
#ifndef CHATCTL_ARGS_H
#define CHATCTL_ARGS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "chatctl/command.h"

typedef struct {
  const char *name;   /* "--to-user" */
  const char **value; /* set for an option with a value ... */
  bool *flag;         /* ... or for a flag */
} chatctl_arg_option;

/* Reads argv[1..argc): the options of options[0..n_options) and between
 * min_positional and max_positional positional arguments (into
 * positional[], *n_positional of them). Returns 0, or reports an unknown
 * option, a missing value or the wrong number of arguments as a usage error
 * (CHATCTL_EXIT_USAGE). */
int chatctl_parse_args(const chatctl_command *command, int argc, char **argv,
                       const chatctl_arg_option *options, size_t n_options, const char **positional,
                       int min_positional, int max_positional, int *n_positional);

/* For a subcommand without options of its own: exactly n_operands
 * positional arguments, into operands[] (NULL when n_operands is 0). Returns
 * 0 or a usage error, as chatctl_parse_args. */
int chatctl_parse_operands(const chatctl_command *command, int argc, char **argv,
                           const char **operands, int n_operands);

/* A verb of a subcommand with verbs ("friends add NAME"). */
typedef struct {
  const char *name;    /* "add" */
  const char *operand; /* what it takes, for the error ("a username"), or NULL: nothing */
} chatctl_verb;

/* Reads VERB [OPERAND] (no options of its own): the verb one of
 * verbs[0..n_verbs), with its operand exactly when it takes one. Returns 0
 * with *verb (its index) and *operand (NULL for none), or a usage error. */
int chatctl_parse_verb(const chatctl_command *command, int argc, char **argv,
                       const chatctl_verb *verbs, size_t n_verbs, size_t *verb,
                       const char **operand);

/* Reads a decimal integer in [min, max] for a message ("--limit", "ROOM").
 * Returns 0, or a usage error. */
int chatctl_parse_int(const chatctl_command *command, const char *what, const char *text,
                      gint64 min, gint64 max, gint64 *out);

#endif
