/* The --dialect option of the offline subcommands (decode, encode, dump). */
#ifndef CHATCTL_DIALECT_OPTION_H
#define CHATCTL_DIALECT_OPTION_H

#include "chatctl/command.h"
#include "protocol/message.h"

/* Reads globals->dialect (default v2). Returns 0 or a usage-error status. */
int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out);

#endif
