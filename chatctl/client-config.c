/* Reading the client's part of config.json (see client-config.h). */
#include "chatctl/client-config.h"

#include <errno.h>
#include <string.h>

#include "chatctl/exit-status.h"
#include "protocol/arena.h"
#include "protocol/config-file.h"
#include "protocol/host-port.h"
#include "protocol/json.h"

#define DECIMAL_BASE 10

/* Takes over the shared keys the file gave (protocol/config-file.h). */
static void apply_file(chat_client_config *file, chatctl_client_config *config) {
  if (file->host) {
    g_free(config->host);
    config->host = g_strdup(file->host);
  }
  if (file->has_port)
    config->port = file->port;
  if (file->n_servers > 0) {
    g_free(config->host);
    config->host = g_strdup(file->servers[0].host);
    config->port = file->servers[0].port;
    config->servers = g_new0(chatctl_server, file->n_servers);
    for (size_t i = 0; i < file->n_servers; i++) {
      config->servers[i].host = g_strdup(file->servers[i].host);
      config->servers[i].port = file->servers[i].port;
    }
    config->n_servers = file->n_servers;
  }
  if (file->has_dialect)
    config->dialect = file->dialect;
  if (file->has_pin)
    config->pin = file->pin;
  if (file->server_key) {
    g_free(config->server_key);
    config->server_key = g_strdup(file->server_key);
  }
  if (file->crypto_base) {
    g_free(config->crypto_base);
    config->crypto_base = g_strdup(file->crypto_base);
  }
  if (file->crypto_modulus) {
    g_free(config->crypto_modulus);
    config->crypto_modulus = g_strdup(file->crypto_modulus);
  }
}

static void clear_servers(chatctl_client_config *config) {
  for (gsize i = 0; i < config->n_servers; i++)
    g_free(config->servers[i].host);
  g_clear_pointer(&config->servers, g_free);
  config->n_servers = 0;
}

static int read_file(const char *path, chatctl_client_config *config) {
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents(path, &text, &len, &error))
    return chatctl_fail(CHATCTL_EXIT_USAGE, "cannot read the config: %s", error->message);
  if (len > CHAT_CONFIG_FILE_MAX)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: larger than %d bytes, not a config file", path,
                        CHAT_CONFIG_FILE_MAX);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *root = NULL;
  chat_error err;
  chat_client_config file;
  chat_config_problem problem;
  int status = 0;
  if (chat_json_parse(text, len, &arena, &root, &err) != 0) {
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", path, err.message);
  } else if (!chat_client_config_read(root, &file, &problem)) {
    char message[CHAT_CONFIG_MESSAGE_SIZE];
    chat_config_problem_format(&problem, message, sizeof message);
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", path, message);
  } else {
    apply_file(&file, config);
    chat_client_config_clear(&file);
  }
  chat_arena_clear(&arena);
  return status;
}

int chatctl_client_config_load(const chatctl_command *command, const chatctl_globals *globals,
                               chatctl_client_config *config) {
  memset(config, 0, sizeof *config);
  config->host = g_strdup(CHATCTL_DEFAULT_HOST);
  config->port = CHATCTL_DEFAULT_PORT;
  config->dialect = CHAT_DIALECT_V2;
  config->pin = CHATCTL_DEFAULT_PIN;

  const char *path = globals->config_path;
  if (!path && g_file_test(CHATCTL_DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
    path = CHATCTL_DEFAULT_CONFIG;
  if (path) {
    config->path = g_strdup(path);
    int status = read_file(path, config);
    if (status)
      return status;
  }

  if (globals->host) {
    if (globals->host[0] == '\0')
      return chatctl_usage_error(command, "--host needs a host name or address");
    g_free(config->host);
    config->host = g_strdup(globals->host);
  }
  if (globals->port) {
    char *end = NULL;
    errno = 0;
    guint64 port = g_ascii_strtoull(globals->port, &end, DECIMAL_BASE);
    if (errno || end == globals->port || *end != '\0' || port < 1 || port > CHAT_PORT_MAX ||
        !g_ascii_isdigit(globals->port[0]))
      return chatctl_usage_error(command, "--port needs a port number 1..65535, not '%s'",
                                 globals->port);
    config->port = (guint16)port;
  }
  if (globals->dialect && !chat_dialect_parse(globals->dialect, &config->dialect))
    return chatctl_usage_error(command, "unknown dialect '%s' (use seed or v2)", globals->dialect);
  if (config->n_servers == 0 || globals->host || globals->port) {
    /* One server: server_ip / server_port, or what --host / --port say. */
    clear_servers(config);
    config->servers = g_new0(chatctl_server, 1);
    config->servers[0].host = g_strdup(config->host);
    config->servers[0].port = config->port;
    config->n_servers = 1;
  }
  return 0;
}

int chatctl_client_config_seed_group(const chatctl_client_config *config, chat_dh_group *group) {
  memset(group, 0, sizeof *group);
  if (!config->crypto_base || !config->crypto_modulus)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "the seed dialect needs crypto.base and crypto.modulus in %s",
                        config->path ? config->path : "the config (use --config PATH)");
  chat_error err;
  if (chat_dh_group_init(group, config->crypto_base, config->crypto_modulus, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: crypto: %s",
                        config->path ? config->path : "config", err.message);
  return 0;
}

char *chatctl_client_config_host_port(const chatctl_client_config *config) {
  char *host_port = chat_host_port_new(config->host, config->port);
  if (host_port == NULL)
    g_error("out of memory");
  return host_port;
}

void chatctl_client_config_clear(chatctl_client_config *config) {
  g_free(config->path);
  g_free(config->host);
  clear_servers(config);
  g_free(config->server_key);
  g_free(config->crypto_base);
  g_free(config->crypto_modulus);
  memset(config, 0, sizeof *config);
}
