#include "chatctl/dialect-option.h"

#include "chatctl/options.h"

int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out) {
  *out = CHAT_DIALECT_V2;
  if (globals->dialect && !chat_dialect_parse(globals->dialect, out))
    return chatctl_usage_error(command, "unknown dialect '%s' (use seed or v2)",
                               globals->dialect);
  return 0;
}

int chatctl_offline_args(const chatctl_command *command, int argc, char **argv,
                         const chatctl_globals *globals, const chatctl_arg_option *flags,
                         size_t n_flags, chat_dialect *dialect) {
  for (int i = 1; i < argc; i++) {
    size_t k = 0;
    while (k < n_flags && !chatctl_option_flag(argv, i, flags[k].name))
      k++;
    if (k == n_flags)
      return chatctl_usage_error(command, "unexpected argument '%s'", argv[i]);
    *flags[k].flag = true;
  }
  return chatctl_dialect_option(command, globals, dialect);
}
