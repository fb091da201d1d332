#include "chatctl/dialect-option.h"

int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out) {
  *out = CHAT_DIALECT_V2;
  if (globals->dialect && !chat_dialect_parse(globals->dialect, out))
    return chatctl_usage_error(command, "unknown dialect '%s' (use seed or v2)",
                               globals->dialect);
  return 0;
}
