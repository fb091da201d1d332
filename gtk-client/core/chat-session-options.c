/* chat_session_options_load: the client part of the shared config.json. */
#define G_LOG_DOMAIN "chat-client"

#include <string.h>

#include "gtk-client/core/chat-session.h"
#include "protocol/json.h"

/* The policy when client.pin is not set: the GUI asks the user. */
#define CHAT_SESSION_DEFAULT_PIN_POLICY CHAT_PIN_ASK
#define CHAT_SESSION_DEFAULT_DIALECT CHAT_DIALECT_V2

static gboolean invalid(GError **error, const char *key, const char *problem) {
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", key, problem);
  return FALSE;
}

/* A string member, or NULL when absent; FALSE when present but not a
 * string. */
static gboolean get_string(const chat_json *object, const char *section, const char *key,
                           char **out, GError **error) {
  const chat_json *value = chat_json_object_get(object, key);
  if (!value)
    return TRUE;
  g_autofree char *name = g_strdup_printf("%s.%s", section, key);
  if (value->kind != CHAT_JSON_STRING || memchr(value->as.string.data, 0, value->as.string.len))
    return invalid(error, name, "expected a string");
  *out = g_strndup(value->as.string.data, value->as.string.len);
  return TRUE;
}

/* crypto.base / crypto.modulus: the seed writes bare JSON numbers of a few
 * hundred digits; the exact digits are kept (a string of digits is also
 * accepted). */
static gboolean get_digits(const chat_json *crypto, const char *key, char **out, GError **error) {
  const chat_json *value = chat_json_object_get(crypto, key);
  if (!value)
    return TRUE;
  g_autofree char *name = g_strdup_printf("crypto.%s", key);
  const char *text = NULL;
  size_t len = 0;
  if (value->kind == CHAT_JSON_NUMBER) {
    text = value->as.number.text;
    len = value->as.number.len;
  } else if (value->kind == CHAT_JSON_STRING) {
    text = value->as.string.data;
    len = value->as.string.len;
  }
  if (!text || len == 0)
    return invalid(error, name, "expected a non-negative integer");
  for (size_t i = 0; i < len; i++)
    if (!g_ascii_isdigit(text[i]))
      return invalid(error, name, "expected a non-negative integer");
  *out = g_strndup(text, len);
  return TRUE;
}

static gboolean read_options(ChatSessionOptions *options, const chat_json *doc, GError **error) {
  if (doc->kind != CHAT_JSON_OBJECT)
    return invalid(error, "(top level)", "expected an object");
  const chat_json *client = chat_json_object_get(doc, "client");
  if (!client || client->kind != CHAT_JSON_OBJECT)
    return invalid(error, "client", "missing or not an object");

  if (!get_string(client, "client", "server_ip", &options->host, error))
    return FALSE;
  if (!options->host || !*options->host)
    return invalid(error, "client.server_ip", "missing");

  const chat_json *port = chat_json_object_get(client, "server_port");
  int64_t port_number = 0;
  if (!port)
    return invalid(error, "client.server_port", "missing");
  if (!chat_json_get_i64(port, &port_number) || port_number < 1 || port_number > G_MAXUINT16)
    return invalid(error, "client.server_port", "expected an integer from 1 to 65535");
  options->port = (guint16)port_number;

  g_autofree char *dialect = NULL, *pin = NULL;
  if (!get_string(client, "client", "dialect", &dialect, error) ||
      !get_string(client, "client", "pin", &pin, error) ||
      !get_string(client, "client", "server_key", &options->pinned_key, error))
    return FALSE;
  options->dialect = CHAT_SESSION_DEFAULT_DIALECT;
  if (dialect && !chat_dialect_parse(dialect, &options->dialect))
    return invalid(error, "client.dialect", "expected \"seed\" or \"v2\"");
  options->pin_policy = CHAT_SESSION_DEFAULT_PIN_POLICY;
  if (pin && !chat_pin_policy_parse(pin, &options->pin_policy))
    return invalid(error, "client.pin", "expected \"strict\", \"accept-new\" or \"ask\"");

  const chat_json *crypto = chat_json_object_get(doc, "crypto");
  if (crypto && crypto->kind != CHAT_JSON_OBJECT)
    return invalid(error, "crypto", "expected an object");
  if (crypto && (!get_digits(crypto, "base", &options->crypto_base, error) ||
                 !get_digits(crypto, "modulus", &options->crypto_modulus, error)))
    return FALSE;
  if (options->dialect == CHAT_DIALECT_SEED && (!options->crypto_base || !options->crypto_modulus))
    return invalid(error, "crypto", "the seed dialect needs crypto.base and crypto.modulus");
  return TRUE;
}

gboolean chat_session_options_load(ChatSessionOptions *options, const char *config_path,
                                   GError **error) {
  g_return_val_if_fail(options != NULL && config_path != NULL, FALSE);
  memset(options, 0, sizeof *options);
  g_autoptr(GFile) file = g_file_new_for_path(config_path);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_load_contents(file, NULL, &text, &len, NULL, error))
    return FALSE;
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *doc = NULL;
  chat_error err;
  gboolean ok;
  if (chat_json_parse(text, len, &arena, &doc, &err) != 0) {
    /* The parser's message starts with "line L column C: ". */
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", config_path, err.message);
    ok = FALSE;
  } else {
    ok = read_options(options, doc, error);
    if (!ok)
      g_prefix_error(error, "%s: ", config_path);
  }
  chat_arena_clear(&arena);
  if (!ok)
    chat_session_options_clear(options);
  return ok;
}

void chat_session_options_clear(ChatSessionOptions *options) {
  g_return_if_fail(options != NULL);
  g_free(options->host);
  g_free(options->crypto_base);
  g_free(options->crypto_modulus);
  g_free(options->pinned_key);
  g_free(options->known_hosts_path);
  g_free(options->state_dir);
  memset(options, 0, sizeof *options);
}
