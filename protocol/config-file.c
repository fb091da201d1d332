/* The shared parts of config.json. See protocol/config-file.h. */
#include "protocol/config-file.h"

#include "protocol/host-port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTINUATION_MASK 0xC0
#define CONTINUATION_BITS 0x80
#define ASCII_DEL 0x7F
#define ELLIPSIS "..."

size_t chat_config_quote(const char *s, size_t len, char out[CHAT_CONFIG_QUOTE_SIZE]) {
  size_t n = len < CHAT_CONFIG_QUOTE_MAX ? len : CHAT_CONFIG_QUOTE_MAX;
  while (n < len && n > 0 && ((unsigned char)s[n] & CONTINUATION_MASK) == CONTINUATION_BITS)
    n--;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < ' ' || c == ASCII_DEL) {
      o += (size_t)snprintf(out + o, CHAT_CONFIG_QUOTE_SIZE - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  if (n < len) {
    memcpy(out + o, ELLIPSIS, sizeof ELLIPSIS - 1);
    o += sizeof ELLIPSIS - 1;
  }
  out[o] = '\0';
  return o;
}

void chat_config_describe(const chat_json *value, char out[CHAT_CONFIG_DESCRIBE_SIZE]) {
  switch (value->kind) {
  case CHAT_JSON_STRING: {
    out[0] = '"';
    size_t n = chat_config_quote(value->as.string.data, value->as.string.len, out + 1);
    out[n + 1] = '"';
    out[n + 2] = '\0';
    return;
  }
  case CHAT_JSON_NUMBER:
    chat_config_quote(value->as.number.text, value->as.number.len, out);
    return;
  case CHAT_JSON_BOOL:
    snprintf(out, CHAT_CONFIG_DESCRIBE_SIZE, "%s", value->as.boolean ? "true" : "false");
    return;
  case CHAT_JSON_NULL:
    snprintf(out, CHAT_CONFIG_DESCRIBE_SIZE, "null");
    return;
  case CHAT_JSON_ARRAY:
    snprintf(out, CHAT_CONFIG_DESCRIBE_SIZE, "an array");
    return;
  case CHAT_JSON_OBJECT:
    snprintf(out, CHAT_CONFIG_DESCRIBE_SIZE, "an object");
    return;
  }
  snprintf(out, CHAT_CONFIG_DESCRIBE_SIZE, "?");
}

void chat_config_problem_format(const chat_config_problem *problem, char *out, size_t cap) {
  char got[CHAT_CONFIG_DESCRIBE_SIZE];
  chat_config_describe(problem->value, got);
  snprintf(out, cap, "%s: expected %s, got %s", problem->key, problem->expected, got);
}

static bool fail(chat_config_problem *problem, const char *key, const char *expected,
                 const chat_json *value) {
  problem->key = key;
  snprintf(problem->expected, sizeof problem->expected, "%s", expected);
  problem->value = value;
  return false;
}

bool chat_config_read_digits(const char *key, const chat_json *value, const char **digits,
                             size_t *len, chat_config_problem *problem) {
  const char *text;
  size_t n;
  if (value->kind == CHAT_JSON_NUMBER) {
    text = value->as.number.text;
    n = value->as.number.len;
  } else if (value->kind == CHAT_JSON_STRING) {
    text = value->as.string.data;
    n = value->as.string.len;
  } else {
    return fail(problem, key, CHAT_CONFIG_DIGITS_EXPECTED, value);
  }
  /* [1-9][0-9]*: no sign, fraction, exponent, leading zero or zero. */
  if (n == 0 || text[0] < '1' || text[0] > '9')
    return fail(problem, key, CHAT_CONFIG_DIGITS_EXPECTED, value);
  for (size_t i = 1; i < n; i++) {
    if (text[i] < '0' || text[i] > '9')
      return fail(problem, key, CHAT_CONFIG_DIGITS_EXPECTED, value);
  }
  if (n > CHAT_CONFIG_CRYPTO_DIGITS_MAX) {
    char expected[sizeof problem->expected];
    snprintf(expected, sizeof expected, "at most %d digits", CHAT_CONFIG_CRYPTO_DIGITS_MAX);
    return fail(problem, key, expected, value);
  }
  *digits = text;
  *len = n;
  return true;
}

/* A string value without NUL bytes (a C string can hold it), or NULL. */
static const char *plain_string(const chat_json *value) {
  if (value->kind != CHAT_JSON_STRING || strlen(value->as.string.data) != value->as.string.len)
    return NULL;
  return value->as.string.data;
}

/* A non-empty plain string into *out (replacing it). */
static bool read_text(const char *key, const chat_json *value, const char *expected, char **out,
                      chat_config_problem *problem) {
  const char *s = plain_string(value);
  if (s == NULL || s[0] == '\0')
    return fail(problem, key, expected, value);
  char *copy = strdup(s);
  if (copy == NULL)
    return fail(problem, key, "a value that fits in memory", value);
  free(*out);
  *out = copy;
  return true;
}

static bool read_crypto_value(const char *key, const chat_json *value, char **out,
                              chat_config_problem *problem) {
  const char *digits;
  size_t len;
  if (!chat_config_read_digits(key, value, &digits, &len, problem))
    return false;
  char *copy = strndup(digits, len);
  if (copy == NULL)
    return fail(problem, key, "a value that fits in memory", value);
  free(*out);
  *out = copy;
  return true;
}

#define SERVERS_EXPECTED "a non-empty array of \"host:port\" strings (\"[::1]:8111\" for IPv6)"

static bool read_servers(const chat_json *value, chat_client_config *c,
                         chat_config_problem *problem) {
  if (value->kind != CHAT_JSON_ARRAY || value->as.array.count == 0)
    return fail(problem, "client.servers", SERVERS_EXPECTED, value);
  size_t n = value->as.array.count;
  if (n > CHAT_CONFIG_SERVERS_MAX) {
    char expected[sizeof problem->expected];
    snprintf(expected, sizeof expected, "at most %d servers", CHAT_CONFIG_SERVERS_MAX);
    return fail(problem, "client.servers", expected, value);
  }
  chat_server_address *servers = calloc(n, sizeof *servers);
  if (servers == NULL)
    return fail(problem, "client.servers", "a value that fits in memory", value);
  c->servers = servers;
  for (size_t i = 0; i < n; i++) {
    const chat_json *item = &value->as.array.items[i];
    const char *text = plain_string(item);
    if (text == NULL || !chat_host_port_parse(text, &servers[i].host, &servers[i].port))
      return fail(problem, "client.servers", "\"host:port\" strings (\"[::1]:8111\" for IPv6)",
                  item);
    c->n_servers = i + 1;
  }
  return true;
}

static bool read_client(const chat_json *client, chat_client_config *c,
                        chat_config_problem *problem) {
  if (client->kind != CHAT_JSON_OBJECT)
    return fail(problem, CHAT_CONFIG_SECTION_CLIENT, "an object", client);
  const chat_json *v;
  if ((v = chat_json_object_get(client, "server_ip")) &&
      !read_text("client.server_ip", v, "a host name or address string", &c->host, problem))
    return false;
  if ((v = chat_json_object_get(client, "server_port"))) {
    uint64_t port;
    if (!chat_json_get_u64(v, &port) || port < 1 || port > CHAT_PORT_MAX)
      return fail(problem, "client.server_port", "an integer 1..65535", v);
    c->has_port = true;
    c->port = (uint16_t)port;
  }
  if ((v = chat_json_object_get(client, "servers")) && !read_servers(v, c, problem))
    return false;
  if ((v = chat_json_object_get(client, "dialect"))) {
    const char *s = plain_string(v);
    if (s == NULL || !chat_dialect_parse(s, &c->dialect))
      return fail(problem, "client.dialect", "\"v2\" or \"seed\"", v);
    c->has_dialect = true;
  }
  if ((v = chat_json_object_get(client, "pin"))) {
    const char *s = plain_string(v);
    if (s == NULL || !chat_pin_policy_parse(s, &c->pin))
      return fail(problem, "client.pin", "\"strict\", \"accept-new\" or \"ask\"", v);
    c->has_pin = true;
  }
  if ((v = chat_json_object_get(client, "server_key")) && v->kind != CHAT_JSON_NULL &&
      !read_text("client.server_key", v, "a SHA256: fingerprint or a base64 public key",
                 &c->server_key, problem))
    return false;
  return true;
}

static bool read_crypto(const chat_json *crypto, chat_client_config *c,
                        chat_config_problem *problem) {
  if (crypto->kind != CHAT_JSON_OBJECT)
    return fail(problem, CHAT_CONFIG_SECTION_CRYPTO, "an object", crypto);
  const chat_json *v;
  if ((v = chat_json_object_get(crypto, "base")) &&
      !read_crypto_value("crypto.base", v, &c->crypto_base, problem))
    return false;
  if ((v = chat_json_object_get(crypto, "modulus")) &&
      !read_crypto_value("crypto.modulus", v, &c->crypto_modulus, problem))
    return false;
  return true;
}

bool chat_client_config_read(const chat_json *root, chat_client_config *config,
                             chat_config_problem *problem) {
  memset(config, 0, sizeof *config);
  if (root->kind != CHAT_JSON_OBJECT)
    return fail(problem, "the top level", "an object", root);
  const chat_json *client = chat_json_object_get(root, CHAT_CONFIG_SECTION_CLIENT);
  const chat_json *crypto = chat_json_object_get(root, CHAT_CONFIG_SECTION_CRYPTO);
  bool ok = (client == NULL || read_client(client, config, problem)) &&
            (crypto == NULL || read_crypto(crypto, config, problem));
  if (!ok)
    chat_client_config_clear(config);
  return ok;
}

void chat_client_config_clear(chat_client_config *config) {
  free(config->host);
  for (size_t i = 0; i < config->n_servers; i++)
    free(config->servers[i].host);
  free(config->servers);
  free(config->server_key);
  free(config->crypto_base);
  free(config->crypto_modulus);
  memset(config, 0, sizeof *config);
}
