/* The subcommand table (after wireguard-tools' wg.c): each subcommand is a
 * function in a file of its own; --help comes from the same table. */
#ifndef CHATCTL_COMMAND_H
#define CHATCTL_COMMAND_H

#include <stdbool.h>
#include <stdio.h>

/* Options every subcommand understands, wherever they stand on the line. */
typedef struct {
  bool json;
  bool help;
  const char *config_path;
  const char *host;
  const char *port;
  const char *dialect;
  const char *user;
  const char *password_file;
} chatctl_globals;

typedef struct chatctl_command chatctl_command;

/* argv[0] is the subcommand's name; the global options are already taken
 * out. Returns an exit status (exit-status.h). */
typedef int (*chatctl_run)(const chatctl_command *self, int argc, char **argv,
                           const chatctl_globals *globals);

struct chatctl_command {
  const char *name;
  chatctl_run run;
  const char *summary; /* one line for `chatctl --help` */
  const char *usage;   /* the synopsis line(s) */
  const char *help;    /* options and an example, for `chatctl NAME --help` */
};

/* Prints "usage: chatctl <usage>" and the help text. */
void chatctl_print_help(const chatctl_command *command, FILE *out);

/* Reports a usage error for a subcommand: one line on stderr, then the hint
 * to run --help. Returns CHATCTL_EXIT_USAGE. */
int chatctl_usage_error(const chatctl_command *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports any other error: "chatctl: <message>" on stderr. Returns status. */
int chatctl_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The subcommands, each defined in its cmd-NAME.c. */
extern const chatctl_command chatctl_command_decode;
extern const chatctl_command chatctl_command_encode;
extern const chatctl_command chatctl_command_dump;
extern const chatctl_command chatctl_command_register;
extern const chatctl_command chatctl_command_whoami;
extern const chatctl_command chatctl_command_passwd;
extern const chatctl_command chatctl_command_nick;
extern const chatctl_command chatctl_command_logout;
extern const chatctl_command chatctl_command_send;
extern const chatctl_command chatctl_command_send_image;
extern const chatctl_command chatctl_command_friends;
extern const chatctl_command chatctl_command_rooms;
extern const chatctl_command chatctl_command_history;
extern const chatctl_command chatctl_command_search;
extern const chatctl_command chatctl_command_unread;
extern const chatctl_command chatctl_command_watch;
extern const chatctl_command chatctl_command_echo;
extern const chatctl_command chatctl_command_keygen;
extern const chatctl_command chatctl_command_fingerprint;
extern const chatctl_command chatctl_command_forget_host;

#endif
