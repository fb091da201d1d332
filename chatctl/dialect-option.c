#include "chatctl/dialect-option.h"

#include "chatctl/input.h"
#include "chatctl/options.h"
#include "protocol/gio/chat-autocleanups.h"

int chatctl_dialect_option(const chatctl_command *command, const chatctl_globals *globals,
                           chat_dialect *out) {
  *out = CHAT_DIALECT_V2;
  if (globals->dialect && !chat_dialect_parse(globals->dialect, out))
    return chatctl_usage_error(command, "unknown dialect '%s' (use seed or v2)", globals->dialect);
  return 0;
}

int chatctl_convert_stdin(const chatctl_command *command, int argc, char **argv,
                          const chatctl_globals *globals, const chatctl_arg_option *flags,
                          size_t n_flags, chatctl_convert_func convert, const void *options) {
  for (int i = 1; i < argc; i++) {
    size_t k = 0;
    while (k < n_flags && !chatctl_option_flag(argv, i, flags[k].name))
      k++;
    if (k == n_flags)
      return chatctl_usage_error(command, "unexpected argument '%s'", argv[i]);
    *flags[k].flag = true;
  }
  chat_dialect dialect;
  int status = chatctl_dialect_option(command, globals, &dialect);
  if (status)
    return status;
  g_auto(chat_buffer) input = {0};
  g_auto(chat_buffer) output = {0};
  status = chatctl_read_stdin(&input);
  if (status == 0)
    status = convert(dialect, &input, &output, options);
  if (status == 0) {
    fwrite(output.data, 1, output.len, stdout);
    fputc('\n', stdout);
  }
  return status;
}
