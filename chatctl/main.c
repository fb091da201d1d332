/* chatctl: script the chat system and debug its wire.
 *
 * Global options may stand before or after the subcommand; they are taken
 * out here and the rest goes to the subcommand in its original order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/options.h"

/* Every subcommand; each is defined in its own cmd-*.c file. */
static const chatctl_command *const commands[] = {
    &chatctl_command_decode,      &chatctl_command_encode,      &chatctl_command_dump,
    &chatctl_command_register,    &chatctl_command_whoami,      &chatctl_command_passwd,
    &chatctl_command_nick,        &chatctl_command_logout,      &chatctl_command_send,
    &chatctl_command_send_image,  &chatctl_command_friends,     &chatctl_command_rooms,
    &chatctl_command_history,     &chatctl_command_search,      &chatctl_command_unread,
    &chatctl_command_watch,       &chatctl_command_echo,        &chatctl_command_keygen,
    &chatctl_command_fingerprint, &chatctl_command_forget_host,
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const char *const global_help =
    "Global options (before or after the subcommand):\n"
    "  --config PATH         the shared config.json (default ./config.json)\n"
    "  --host HOST           the server address (overrides client.server_ip and\n"
    "                        client.servers)\n"
    "  --port PORT           the server port (overrides client.server_port and\n"
    "                        client.servers)\n"
    "  --dialect seed|v2     the protocol dialect (overrides client.dialect)\n"
    "  --user NAME           the account to act as\n"
    "  --password-file FILE  read the password from FILE (or set CHAT_PASSWORD)\n"
    "  --json                machine-readable output\n"
    "  -h, --help            help for chatctl or for a subcommand\n"
    "  --version             print the version\n"
    "\n"
    "Exit status:\n"
    "  0  done\n"
    "  1  refused by the server (the server's reason on stderr; v2: error class\n"
    "     refused or bad_credentials)\n"
    "  2  usage or input error\n"
    "  3  connection, handshake or pinning failure (with client.servers: none of\n"
    "     the servers could be reached; each is named with its reason)\n"
    "  4  timeout\n"
    "  5  v2: the server could not do it now (error class retry_later); try later\n"
    "With --json a refusal also prints {\"error\": code, \"class\": ..., \"text\": ...}.\n";

static void print_main_help(FILE *out) {
  fprintf(out, "usage: chatctl [global options] <command> [options] [arguments]\n\n");
  fprintf(out, "Commands:\n");
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "\n%s\nRun 'chatctl <command> --help' for a command's options and an example.\n",
          global_help);
}

void chatctl_print_help(const chatctl_command *command, FILE *out) {
  fprintf(out, "usage: chatctl %s\n\n%s\n%s", command->usage, command->summary, "");
  fprintf(out, "\n%s", command->help);
}

int chatctl_usage_error(const chatctl_command *command, const char *fmt, ...) {
  fprintf(stderr, "chatctl %s: ", command->name);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'chatctl %s --help')\n", command->name);
  return CHATCTL_EXIT_USAGE;
}

int chatctl_fail(int status, const char *fmt, ...) {
  fprintf(stderr, "chatctl: ");
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return status;
}

static const chatctl_command *find_command(const char *name) {
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

/* Takes the global options out of argv; what is left (subcommand first) goes
 * to rest. Returns 0, or an exit status on a usage error. */
static int take_globals(int argc, char **argv, chatctl_globals *g, int *rest_argc, char **rest,
                        bool *version) {
  static const struct {
    const char *name;
    size_t offset;
  } valued[] = {
      {"--config", offsetof(chatctl_globals, config_path)},
      {"--host", offsetof(chatctl_globals, host)},
      {"--port", offsetof(chatctl_globals, port)},
      {"--dialect", offsetof(chatctl_globals, dialect)},
      {"--user", offsetof(chatctl_globals, user)},
      {"--password-file", offsetof(chatctl_globals, password_file)},
  };
  int n = 0;
  bool positional_only = false;
  for (int i = 1; i < argc; i++) {
    if (positional_only) {
      rest[n++] = argv[i];
      continue;
    }
    if (strcmp(argv[i], "--") == 0) {
      positional_only = true;
      rest[n++] = argv[i];
      continue;
    }
    if (chatctl_option_flag(argv, i, "--json")) {
      g->json = true;
      continue;
    }
    if (chatctl_option_flag(argv, i, "--help") || chatctl_option_flag(argv, i, "-h")) {
      g->help = true;
      continue;
    }
    if (chatctl_option_flag(argv, i, "--version")) {
      *version = true;
      continue;
    }
    bool taken = false;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !taken; k++) {
      const char *value = NULL;
      int rc = chatctl_option_value(&i, argc, argv, valued[k].name, &value);
      if (rc < 0)
        return chatctl_fail(CHATCTL_EXIT_USAGE, "%s needs a value", valued[k].name);
      if (rc > 0) {
        *(const char **)((char *)g + valued[k].offset) = value;
        taken = true;
      }
    }
    if (taken)
      continue;
    if (n == 0 && chatctl_is_option(argv[i]))
      return chatctl_fail(CHATCTL_EXIT_USAGE, "unknown option '%s' (try 'chatctl --help')",
                          argv[i]);
    rest[n++] = argv[i];
  }
  *rest_argc = n;
  return 0;
}

int main(int argc, char **argv) {
  chatctl_globals globals = {0};
  bool version = false;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  if (!rest)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "out of memory");
  int rest_argc = 0;
  int status = take_globals(argc, argv, &globals, &rest_argc, rest, &version);
  if (status) {
    free(rest);
    return status;
  }
  if (version) {
    printf("chatctl %s\n", CHAT_VERSION);
    free(rest);
    return CHATCTL_EXIT_OK;
  }
  if (rest_argc == 0) {
    print_main_help(globals.help ? stdout : stderr);
    free(rest);
    return globals.help ? CHATCTL_EXIT_OK : CHATCTL_EXIT_USAGE;
  }
  const chatctl_command *command = find_command(rest[0]);
  if (!command) {
    status =
        chatctl_fail(CHATCTL_EXIT_USAGE, "unknown command '%s' (try 'chatctl --help')", rest[0]);
  } else if (globals.help) {
    chatctl_print_help(command, stdout);
    status = CHATCTL_EXIT_OK;
  } else {
    status = command->run(command, rest_argc, rest, &globals);
  }
  free(rest);
  return status;
}
