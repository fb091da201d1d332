/* chatctl encode: one message as JSON on stdin -> hex of its plaintext. */
#include <stdio.h>
#include <string.h>

#include "chatctl/command.h"
#include "chatctl/dialect-option.h"
#include "chatctl/exit-status.h"
#include "protocol/catalogue.h"
#include "protocol/gio/chat-autocleanups.h"
#include "protocol/hex.h"
#include "protocol/json.h"

/* Works out the message type from "type" and/or "name". Returns 0 or prints
 * the problem and returns the exit status. */
static int message_type(const chat_json *doc, bool lenient, uint32_t *type) {
  const chat_json *code = chat_json_object_get(doc, "type");
  const chat_json *name = chat_json_object_get(doc, "name");
  const chat_message_info *by_name = NULL;
  if (name && name->kind != CHAT_JSON_NULL) {
    if (name->kind != CHAT_JSON_STRING)
      return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: \"name\" must be a string");
    by_name = chat_catalogue_by_name(name->as.string.data);
    if (!by_name)
      return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: unknown message name \"%s\"",
                          name->as.string.data);
  }
  if (code) {
    uint64_t n;
    if (!chat_json_get_u64(code, &n) || n > UINT32_MAX)
      return chatctl_fail(CHATCTL_EXIT_USAGE,
                          "bad message: \"type\" must be an integer 0..4294967295");
    if (by_name && by_name->code != n)
      return chatctl_fail(CHATCTL_EXIT_USAGE,
                          "bad message: type %u is not \"%s\" (that is type %u)", (unsigned)n,
                          by_name->name, (unsigned)by_name->code);
    if (!by_name && !lenient && !chat_catalogue_by_code((uint32_t)n))
      return chatctl_fail(CHATCTL_EXIT_USAGE,
                          "bad message: unknown message type %u (--lenient allows it)",
                          (unsigned)n);
    *type = (uint32_t)n;
    return 0;
  }
  if (!by_name)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: give \"type\" or \"name\"");
  *type = by_name->code;
  return 0;
}

static int encode_document(const chat_json *doc, chat_dialect dialect, bool lenient,
                           chat_arena *arena, chat_buffer *bytes) {
  if (doc->kind != CHAT_JSON_OBJECT)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: expected a JSON object, got %s",
                        chat_json_kind_name(doc->kind));
  for (size_t i = 0; i < doc->as.object.count; i++) {
    const char *key = doc->as.object.members[i].key;
    if (strcmp(key, "type") != 0 && strcmp(key, "name") != 0 && strcmp(key, "params") != 0 &&
        strcmp(key, "request_id") != 0)
      return chatctl_fail(
          CHATCTL_EXIT_USAGE,
          "bad message: unknown member \"%s\" (expected type, name, request_id, params)", key);
  }
  chat_message_header header = {0};
  int status = message_type(doc, lenient, &header.type);
  if (status)
    return status;
  uint32_t type = header.type;
  const chat_json *request_id = chat_json_object_get(doc, "request_id");
  if (request_id) {
    uint64_t n;
    if (!chat_json_get_u64(request_id, &n) || n > UINT32_MAX)
      return chatctl_fail(CHATCTL_EXIT_USAGE,
                          "bad message: \"request_id\" must be an integer 0..4294967295");
    if (dialect == CHAT_DIALECT_SEED)
      return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: the seed dialect has no request ids");
    header.has_request_id = true;
    header.request_id = (uint32_t)n;
  }
  const chat_json *params_json = chat_json_object_get(doc, "params");
  if (!params_json)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: \"params\" is missing");
  chat_value *params;
  chat_error err;
  if (chat_json_to_value(params_json, arena, &params, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad params at offset %zu: %s", err.offset,
                        err.message);
  if (!lenient && chat_catalogue_check(type, params, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: %s %s (--lenient allows it)",
                        chat_catalogue_by_code(type)->name, err.message);
  int rc = chat_message_encode_with_id(dialect, &header, params, bytes);
  if (rc == CHAT_ERR_INVALID_ARGUMENT && dialect == CHAT_DIALECT_SEED && type > 255)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "bad message: type %u does not fit the seed dialect's one byte",
                        (unsigned)type);
  if (rc)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "cannot encode: %s", chat_strerror(rc));
  return 0;
}

/* A message as JSON -> the hex of its encoding. */
static int encode_json(chat_dialect dialect, const chat_buffer *text, chat_buffer *hex,
                       const void *options) {
  const bool *lenient = options;
  g_auto(chat_arena) arena = {0};
  g_auto(chat_buffer) bytes = {0};
  chat_json *doc;
  chat_error err;
  if (chat_json_parse((const char *)text->data, text->len, &arena, &doc, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad JSON: %s", err.message);
  int status = encode_document(doc, dialect, *lenient, &arena, &bytes);
  if (status == 0)
    chat_hex_encode(bytes.data, bytes.len, hex);
  return status;
}

static int chatctl_encode(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  bool lenient = false;
  const chatctl_arg_option flags[] = {{"--lenient", NULL, &lenient}};
  return chatctl_convert_stdin(self, argc, argv, globals, flags, G_N_ELEMENTS(flags), encode_json,
                               &lenient);
}

const chatctl_command chatctl_command_encode = {
    "encode",
    chatctl_encode,
    "encode one message from JSON to hex",
    "encode [--dialect seed|v2] [--lenient]",
    "Reads one message as JSON on standard input and prints the hex of its\n"
    "plaintext (layer 2). The message names its type by \"type\" (a number), by\n"
    "\"name\", or both (then they must agree); \"params\" is its parameters;\n"
    "\"request_id\" (v2 only, 0..4294967295) sets the header's request id.\n"
    "\n"
    "Options:\n"
    "  --dialect seed|v2   write a 1-byte (seed) or 4-byte (v2) type; default v2\n"
    "  --lenient           allow types outside the catalogue and parameters that do\n"
    "                      not fit the catalogue's shape\n"
    "\n"
    "Exit status: 0 encoded; 2 bad JSON or a bad message (the reason on stderr).\n"
    "\n"
    "Example:\n"
    "  echo '{\"name\": \"login\", \"params\": [\"alice\", \"secret\"]}' | chatctl encode "
    "--dialect seed\n",
};
