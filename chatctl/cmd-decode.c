/* chatctl decode: hex of one plaintext message on stdin -> JSON. */
#include <stdio.h>
#include <string.h>

#include "chatctl/command.h"
#include "chatctl/dialect-option.h"
#include "chatctl/exit-status.h"
#include "protocol/catalogue.h"
#include "protocol/gio/chat-autocleanups.h"
#include "protocol/hex.h"
#include "protocol/json.h"

typedef struct {
  bool pretty, lenient;
} decode_options;

/* Hex of a message -> {"type": N, "name": ..., "params": ...}. */
static int decode_hex(chat_dialect dialect, const chat_buffer *text, chat_buffer *out,
                      const void *options) {
  const decode_options *o = options;
  g_auto(chat_buffer) bytes = {0};
  g_auto(chat_arena) arena = {0};
  chat_error err;
  chat_message_header header;
  chat_value *params;
  if (chat_hex_decode((const char *)text->data, text->len, &bytes, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad hex: %s", err.message);
  if (chat_message_decode_with_id(dialect, bytes.data, bytes.len, NULL, CHAT_DECODE_BORROW, &arena,
                                  &header, &params, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message (%s dialect): %s",
                        chat_dialect_name(dialect), err.message);
  uint32_t type = header.type;
  const chat_message_info *info = chat_catalogue_by_code(type);
  if (!o->lenient && !info)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "bad message: unknown message type %u (--lenient prints it anyway)",
                        (unsigned)type);
  if (!o->lenient && chat_catalogue_check(type, params, &err) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "bad message: %s %s (--lenient prints it anyway)",
                        info->name, err.message);
  /* {"type": N, "name": ..., "request_id"?: N, "params": ...} as one value,
   * so that --pretty indents it all alike. */
  chat_dict_entry entries[4] = {{.key = "type", .key_len = 4},
                                {.key = "name", .key_len = 4},
                                {.key = "request_id", .key_len = 10},
                                {.key = "params", .key_len = 6, .value = *params}};
  chat_value_set_uint(&entries[0].value, type);
  if (info)
    chat_value_set_str(&entries[1].value, info->name, strlen(info->name));
  else
    chat_value_set_null(&entries[1].value);
  size_t count = 4;
  if (header.has_request_id)
    chat_value_set_uint(&entries[2].value, header.request_id);
  else
    entries[2] = entries[--count];
  chat_value message = {.kind = CHAT_VALUE_DICT, .as.dict = {.entries = entries, .count = count}};
  if (chat_value_write_json(&message, o->pretty ? CHAT_JSON_PRETTY : 0, out) != 0)
    return chatctl_fail(CHATCTL_EXIT_USAGE, "cannot write the message as JSON");
  return CHATCTL_EXIT_OK;
}

static int chatctl_decode(const chatctl_command *self, int argc, char **argv,
                          const chatctl_globals *globals) {
  decode_options o = {false, false};
  const chatctl_arg_option flags[] = {{"--pretty", NULL, &o.pretty},
                                      {"--lenient", NULL, &o.lenient}};
  return chatctl_convert_stdin(self, argc, argv, globals, flags, G_N_ELEMENTS(flags), decode_hex,
                               &o);
}

const chatctl_command chatctl_command_decode = {
    "decode",
    chatctl_decode,
    "decode one plaintext message from hex to JSON",
    "decode [--dialect seed|v2] [--pretty] [--lenient]",
    "Reads the hex of one plaintext message (layer 2) on standard input\n"
    "(whitespace is ignored) and prints it as JSON:\n"
    "  {\"type\": 6, \"name\": \"send_message\", \"params\": ...}\n"
    "A v2 message with a request id (spec/protocol.md 5.7) also has \"request_id\": N.\n"
    "Values map to JSON as spec/protocol.md describes (bytes as {\"$bytes\": base64}).\n"
    "\n"
    "Options:\n"
    "  --dialect seed|v2   the message type is 1 byte (seed) or 4 bytes (v2); default v2\n"
    "  --pretty            indent the JSON\n"
    "  --lenient           print messages the catalogue does not know, or whose\n"
    "                      parameters do not fit their type (name is null when unknown)\n"
    "\n"
    "Exit status: 0 decoded; 2 bad hex or a bad message (the reason and the offset on\n"
    "stderr, nothing on stdout).\n"
    "\n"
    "Example:\n"
    "  echo 6e 00 | chatctl decode --dialect seed\n"
    "  {\"type\": 110, \"name\": \"server_kick\", \"params\": null}\n",
};
