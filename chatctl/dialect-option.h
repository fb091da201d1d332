/* The offline subcommands' common parts: the --dialect option (decode, encode,
 * dump) and the frame of decode and encode (flags, standard input, one line
 * out). */
#ifndef CHATCTL_DIALECT_OPTION_H
#define CHATCTL_DIALECT_OPTION_H

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "protocol/message.h"

/* Reads globals->dialect (default v2). Returns 0 or a usage-error status. */
int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out);

/* Turns all of standard input into one line of output (without the line
 * end). Returns 0 or an exit status (the reason printed). */
typedef int (*chatctl_convert_func)(chat_dialect dialect, const chat_buffer *input,
                                    chat_buffer *output, const void *options);

/* decode and encode: reads the arguments (only the flags of
 * flags[0..n_flags); anything else is "unexpected argument", a usage
 * error) and the dialect (chatctl_dialect_option), then standard input,
 * converts it and prints the output and a line end. Returns 0 or an exit
 * status. */
int chatctl_convert_stdin(const chatctl_command *command, int argc, char **argv,
                          const chatctl_globals *globals, const chatctl_arg_option *flags,
                          size_t n_flags, chatctl_convert_func convert, const void *options);

#endif
