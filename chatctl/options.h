/* Small helpers for reading a subcommand's own options. */
#ifndef CHATCTL_OPTIONS_H
#define CHATCTL_OPTIONS_H

#include <stdbool.h>

/* If argv[*i] is the option `name` ("--limit"), as "--limit VALUE" or
 * "--limit=VALUE", stores the value, advances *i past it and returns 1.
 * Returns 0 when argv[*i] is another argument, -1 when the value is missing. */
int chatctl_option_value(int *i, int argc, char **argv, const char *name, const char **value);

/* True when argv[i] is exactly the flag `name`. */
bool chatctl_option_flag(char **argv, int i, const char *name);

/* True when arg looks like an option ("-x", "--xyz"), not "-" or a number. */
bool chatctl_is_option(const char *arg);

#endif
