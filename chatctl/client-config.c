/* Reading the client's part of config.json (see client-config.h). */
#include "chatctl/client-config.h"

#include <errno.h>
#include <string.h>

#include "chatctl/exit-status.h"
#include "protocol/arena.h"
#include "protocol/json.h"

/* Longest piece of a bad value quoted in a message, in bytes. */
#define QUOTE_MAX 48
#define DECIMAL_BASE 10

#define CLIENT_SECTION "client"
#define CRYPTO_SECTION "crypto"

/* What a bad value was, for "got ...". */
static char *describe(const chat_json *value) {
  switch (value->kind) {
  case CHAT_JSON_STRING:
    return g_strdup_printf("\"%.*s\"", (int)MIN(value->as.string.len, QUOTE_MAX),
                           value->as.string.data);
  case CHAT_JSON_NUMBER:
    return g_strdup_printf("%.*s", (int)MIN(value->as.number.len, QUOTE_MAX),
                           value->as.number.text);
  case CHAT_JSON_BOOL:
    return g_strdup(value->as.boolean ? "true" : "false");
  case CHAT_JSON_NULL:
    return g_strdup("null");
  case CHAT_JSON_ARRAY:
    return g_strdup("an array");
  case CHAT_JSON_OBJECT:
    return g_strdup("an object");
  }
  return g_strdup("?");
}

static int bad_value(const char *path, const char *key, const char *expected,
                     const chat_json *value) {
  g_autofree char *got = describe(value);
  return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s: expected %s, got %s", path, key, expected,
                      got);
}

/* A string value without NUL bytes, or NULL. */
static const char *plain_string(const chat_json *value) {
  if (!value || value->kind != CHAT_JSON_STRING ||
      strlen(value->as.string.data) != value->as.string.len)
    return NULL;
  return value->as.string.data;
}

/* crypto.base / crypto.modulus: digits from a bare number or a string. */
static int read_digits(const char *path, const char *key, const chat_json *value, char **out) {
  static const char expected[] =
      "a positive decimal integer (a JSON number or a string of digits)";
  const char *digits;
  size_t len;
  if (value->kind == CHAT_JSON_NUMBER) {
    digits = value->as.number.text;
    len = value->as.number.len;
  } else if (value->kind == CHAT_JSON_STRING) {
    digits = value->as.string.data;
    len = value->as.string.len;
  } else {
    return bad_value(path, key, expected, value);
  }
  if (len == 0 || len > CHATCTL_CONFIG_MAX_DIGITS || digits[0] < '1' || digits[0] > '9')
    return bad_value(path, key, expected, value);
  for (size_t i = 1; i < len; i++)
    if (!g_ascii_isdigit(digits[i]))
      return bad_value(path, key, expected, value);
  g_free(*out);
  *out = g_strndup(digits, len);
  return 0;
}

static int read_client_section(const char *path, const chat_json *client,
                               chatctl_client_config *config) {
  if (client->kind != CHAT_JSON_OBJECT)
    return bad_value(path, CLIENT_SECTION, "an object", client);
  const chat_json *v;
  if ((v = chat_json_object_get(client, "server_ip"))) {
    const char *s = plain_string(v);
    if (!s || s[0] == '\0')
      return bad_value(path, "client.server_ip", "a host name or address string", v);
    g_free(config->host);
    config->host = g_strdup(s);
  }
  if ((v = chat_json_object_get(client, "server_port"))) {
    uint64_t port;
    if (!chat_json_get_u64(v, &port) || port < 1 || port > CHAT_PORT_MAX)
      return bad_value(path, "client.server_port", "an integer 1..65535", v);
    config->port = (guint16)port;
  }
  if ((v = chat_json_object_get(client, "dialect"))) {
    const char *s = plain_string(v);
    if (!s || !chat_dialect_parse(s, &config->dialect))
      return bad_value(path, "client.dialect", "\"v2\" or \"seed\"", v);
  }
  if ((v = chat_json_object_get(client, "pin"))) {
    const char *s = plain_string(v);
    if (!s || !chat_pin_policy_parse(s, &config->pin))
      return bad_value(path, "client.pin", "\"strict\", \"accept-new\" or \"ask\"", v);
  }
  if ((v = chat_json_object_get(client, "server_key")) && v->kind != CHAT_JSON_NULL) {
    const char *s = plain_string(v);
    if (!s || s[0] == '\0')
      return bad_value(path, "client.server_key",
                       "a SHA256: fingerprint or a base64 public key", v);
    g_free(config->server_key);
    config->server_key = g_strdup(s);
  }
  return 0;
}

static int read_crypto_section(const char *path, const chat_json *crypto,
                               chatctl_client_config *config) {
  if (crypto->kind != CHAT_JSON_OBJECT)
    return bad_value(path, CRYPTO_SECTION, "an object", crypto);
  const chat_json *v;
  int status = 0;
  if ((v = chat_json_object_get(crypto, "base")))
    status = read_digits(path, "crypto.base", v, &config->crypto_base);
  if (status == 0 && (v = chat_json_object_get(crypto, "modulus")))
    status = read_digits(path, "crypto.modulus", v, &config->crypto_modulus);
  return status;
}

static int read_file(const char *path, chatctl_client_config *config) {
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents(path, &text, &len, &error))
    return chatctl_fail(CHATCTL_EXIT_USAGE, "cannot read the config: %s", error->message);
  if (len > CHATCTL_CONFIG_MAX_FILE)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "%s: larger than %d bytes, not a config file", path,
                        CHATCTL_CONFIG_MAX_FILE);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *root = NULL;
  chat_error err;
  int status = 0;
  if (chat_json_parse(text, len, &arena, &root, &err) != 0) {
    status = chatctl_fail(CHATCTL_EXIT_USAGE, "%s: %s", path, err.message);
  } else if (root->kind != CHAT_JSON_OBJECT) {
    status = bad_value(path, "the top level", "an object", root);
  } else {
    const chat_json *client = chat_json_object_get(root, CLIENT_SECTION);
    const chat_json *crypto = chat_json_object_get(root, CRYPTO_SECTION);
    if (client)
      status = read_client_section(path, client, config);
    if (status == 0 && crypto)
      status = read_crypto_section(path, crypto, config);
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
    return chatctl_usage_error(command, "unknown dialect '%s' (use seed or v2)",
                               globals->dialect);
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
  gboolean v6 = strchr(config->host, ':') != NULL;
  return g_strdup_printf(v6 ? "[%s]:%u" : "%s:%u", config->host, (unsigned)config->port);
}

void chatctl_client_config_clear(chatctl_client_config *config) {
  g_free(config->path);
  g_free(config->host);
  g_free(config->server_key);
  g_free(config->crypto_base);
  g_free(config->crypto_modulus);
  memset(config, 0, sizeof *config);
}
