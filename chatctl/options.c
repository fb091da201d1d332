#include "chatctl/options.h"

#include <ctype.h>
#include <string.h>

int chatctl_option_value(int *i, int argc, char **argv, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *value = argv[++*i];
  return 1;
}

bool chatctl_option_flag(char **argv, int i, const char *name) {
  return strcmp(argv[i], name) == 0;
}

bool chatctl_is_option(const char *arg) {
  return arg[0] == '-' && arg[1] != '\0' && !isdigit((unsigned char)arg[1]);
}
