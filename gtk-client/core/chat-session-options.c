/* chat_session_options_load: the client part of the shared config.json. */
#define G_LOG_DOMAIN "chat-client"

#include <string.h>

#include "gtk-client/core/chat-session.h"
#include "protocol/config-file.h"
#include "protocol/host-port.h"
#include "protocol/json.h"

/* The policy when client.pin is not set: the GUI asks the user. */
#define CHAT_SESSION_DEFAULT_PIN_POLICY CHAT_PIN_ASK
#define CHAT_SESSION_DEFAULT_DIALECT CHAT_DIALECT_V2

static gboolean invalid(GError **error, const char *key, const char *problem) {
  g_set_error(error, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG, "%s: %s", key, problem);
  return FALSE;
}

/* The shared keys are read by the shared rules (protocol/config-file.h);
 * the GUI needs a server and port in the file and has its own defaults. */
static gboolean read_options(ChatSessionOptions *options, const chat_json *doc, GError **error) {
  chat_client_config file;
  chat_config_problem problem;
  if (!chat_client_config_read(doc, &file, &problem)) {
    char message[CHAT_CONFIG_MESSAGE_SIZE];
    chat_config_problem_format(&problem, message, sizeof message);
    g_set_error(error, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG, "%s", message);
    return FALSE;
  }
  gboolean ok = FALSE;
  if (file.n_servers > 0) {
    options->servers = g_new0(char *, file.n_servers + 1);
    for (size_t i = 0; i < file.n_servers; i++)
      options->servers[i] = chat_host_port_new(file.servers[i].host, file.servers[i].port);
    g_free(file.host);
    file.host = strdup(file.servers[0].host);
    file.port = file.servers[0].port;
    file.has_port = TRUE;
  }
  if (!file.host) {
    invalid(error, "client.server_ip", "missing (or give client.servers)");
  } else if (!file.has_port) {
    invalid(error, "client.server_port", "missing");
  } else if (file.has_dialect && file.dialect == CHAT_DIALECT_SEED &&
             (!file.crypto_base || !file.crypto_modulus)) {
    invalid(error, "crypto", "the seed dialect needs crypto.base and crypto.modulus");
  } else {
    options->host = g_strdup(file.host);
    options->port = file.port;
    options->dialect = file.has_dialect ? file.dialect : CHAT_SESSION_DEFAULT_DIALECT;
    options->pin_policy = file.has_pin ? file.pin : CHAT_SESSION_DEFAULT_PIN_POLICY;
    options->pinned_key = g_strdup(file.server_key);
    options->crypto_base = g_strdup(file.crypto_base);
    options->crypto_modulus = g_strdup(file.crypto_modulus);
    ok = TRUE;
  }
  chat_client_config_clear(&file);
  return ok;
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
  if (len > CHAT_CONFIG_FILE_MAX) {
    g_set_error(error, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG,
                "%s: larger than %d bytes, not a config file", config_path, CHAT_CONFIG_FILE_MAX);
    return FALSE;
  }
  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *doc = NULL;
  chat_error err;
  gboolean ok;
  if (chat_json_parse(text, len, &arena, &doc, &err) != 0) {
    /* The parser's message starts with "line L column C: ". */
    g_set_error(error, CHAT_SESSION_ERROR, CHAT_SESSION_ERROR_CONFIG, "%s: %s", config_path,
                err.message);
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
  g_strfreev(options->servers);
  g_free(options->crypto_base);
  g_free(options->crypto_modulus);
  g_free(options->pinned_key);
  g_free(options->known_hosts_path);
  g_free(options->state_dir);
  memset(options, 0, sizeof *options);
}
