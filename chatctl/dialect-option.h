/* The --dialect option of the offline subcommands (decode, encode, dump). */
#ifndef CHATCTL_DIALECT_OPTION_H
#define CHATCTL_DIALECT_OPTION_H

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "protocol/message.h"

/* Reads globals->dialect (default v2). Returns 0 or a usage-error status. */
int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out);

/* The arguments of decode and encode: only the flags of flags[0..n_flags)
 * (anything else: "unexpected argument", a usage error), then the dialect
 * as chatctl_dialect_option. Returns 0 or a usage-error status. */
int chatctl_offline_args(const chatctl_command *command, int argc, char **argv,
                         const chatctl_globals *globals, const chatctl_arg_option *flags,
                         size_t n_flags, chat_dialect *dialect);

#endif
