/* Subcommand argument parsing (see args.h). */
#include "chatctl/args.h"

#include <errno.h>
#include <string.h>

#include "chatctl/exit-status.h"
#include "chatctl/options.h"

#define DECIMAL_BASE 10

int chatctl_parse_args(const chatctl_command *command, int argc, char **argv,
                       const chatctl_arg_option *options, size_t n_options, const char **positional,
                       int min_positional, int max_positional, int *n_positional) {
  int n = 0;
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    if (!options_done && strcmp(argv[i], "--") == 0) {
      options_done = true;
      continue;
    }
    if (!options_done && chatctl_is_option(argv[i])) {
      bool known = false;
      for (size_t k = 0; k < n_options && !known; k++) {
        if (options[k].flag) {
          if (chatctl_option_flag(argv, i, options[k].name)) {
            *options[k].flag = true;
            known = true;
          }
          continue;
        }
        int rc = chatctl_option_value(&i, argc, argv, options[k].name, options[k].value);
        if (rc < 0)
          return chatctl_usage_error(command, "%s needs a value", options[k].name);
        known = rc > 0;
      }
      if (!known)
        return chatctl_usage_error(command, "unknown option '%s'", argv[i]);
      continue;
    }
    if (n >= max_positional)
      return chatctl_usage_error(command, "unexpected argument '%s'", argv[i]);
    positional[n++] = argv[i];
  }
  if (n < min_positional)
    return chatctl_usage_error(command, "missing argument; usage: chatctl %s", command->usage);
  *n_positional = n;
  return 0;
}

int chatctl_parse_operands(const chatctl_command *command, int argc, char **argv,
                           const char **operands, int n_operands) {
  int n;
  return chatctl_parse_args(command, argc, argv, NULL, 0, operands, n_operands, n_operands, &n);
}

int chatctl_parse_verb(const chatctl_command *command, int argc, char **argv,
                       const chatctl_verb *verbs, size_t n_verbs, size_t *verb,
                       const char **operand) {
  const char *args[2] = {NULL, NULL};
  int n;
  int status = chatctl_parse_args(command, argc, argv, NULL, 0, args, 1, 2, &n);
  if (status)
    return status;
  size_t k = 0;
  while (k < n_verbs && strcmp(args[0], verbs[k].name) != 0)
    k++;
  if (k == n_verbs) {
    g_autoptr(GString) names = g_string_new(NULL);
    for (size_t i = 0; i < n_verbs; i++)
      g_string_append_printf(names, "%s%s", i ? ", " : "", verbs[i].name);
    return chatctl_usage_error(command, "unknown verb '%s' (%s)", args[0], names->str);
  }
  if (verbs[k].operand && n != 2)
    return chatctl_usage_error(command, "%s needs %s", args[0], verbs[k].operand);
  if (!verbs[k].operand && n != 1)
    return chatctl_usage_error(command, "unexpected argument '%s'", args[1]);
  *verb = k;
  *operand = args[1];
  return 0;
}

int chatctl_parse_int(const chatctl_command *command, const char *what, const char *text,
                      gint64 min, gint64 max, gint64 *out) {
  char *end = NULL;
  errno = 0;
  gint64 value = g_ascii_strtoll(text, &end, DECIMAL_BASE);
  if (errno || end == text || *end != '\0' || value < min || value > max)
    return chatctl_usage_error(
        command, "%s must be an integer %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ", not '%s'", what,
        min, max, text);
  *out = value;
  return 0;
}
