/* Fuzz target: chatd's configuration file (chatd/config.c,
 * chatd_config_load) and the client sections every client reads
 * (protocol/config-file.h, chat_client_config_read). A failed load leaves
 * the configuration as it was. Seeds: the repository's config.json. */
#include "chatd/config.h"
#include "fuzz-util.h"
#include "protocol/config-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_scratch_file("-config.json", data, size);
  ChatdConfig config;
  chatd_config_init_defaults(&config);
  GError *error = NULL;
  if (!chatd_config_load(&config, path, &error)) {
    FUZZ_CHECK(error != NULL && error->message != NULL);
    g_error_free(error);
  }
  chatd_config_clear(&config);

  chat_arena arena;
  chat_arena_init(&arena);
  chat_json *root = NULL;
  chat_error err;
  if (chat_json_parse((const char *)data, size, &arena, &root, &err) == 0) {
    chat_client_config client;
    chat_config_problem problem;
    if (chat_client_config_read(root, &client, &problem))
      chat_client_config_clear(&client);
  }
  chat_arena_clear(&arena);
  return 0;
}
