/* Layer 2: message type + one value, in the seed and v2 dialects. */
#include "protocol/message.h"

#define SEED_TYPE_SIZE 1
#define V2_TYPE_SIZE 4
#define SEED_TYPE_MAX 0xFFu

size_t chat_dialect_type_size(chat_dialect dialect) {
  return dialect == CHAT_DIALECT_SEED ? SEED_TYPE_SIZE : V2_TYPE_SIZE;
}

int chat_message_decode(chat_dialect dialect, const uint8_t *data, size_t len,
                        const chat_limits *limits, unsigned flags, chat_arena *arena,
                        uint32_t *type, chat_value **params, chat_error *err) {
  size_t type_size = chat_dialect_type_size(dialect);
  if (len < type_size)
    return chat_error_set(err, CHAT_ERR_BAD_MESSAGE, 0,
                          "message of %zu bytes is shorter than its %zu-byte type (%s dialect)",
                          len, type_size, chat_dialect_name(dialect));
  *type = type_size == SEED_TYPE_SIZE ? data[0] : chat_load_u32be(data);
  return chat_value_decode_at(data + type_size, len - type_size, type_size, limits, flags, arena,
                              params, err);
}

void chat_message_begin(chat_writer *w, chat_dialect dialect, uint32_t type) {
  if (w->status)
    return;
  if (dialect == CHAT_DIALECT_SEED) {
    if (type > SEED_TYPE_MAX) {
      w->status = CHAT_ERR_INVALID_ARGUMENT;
      return;
    }
    if (chat_buffer_append_byte(w->out, (uint8_t)type) != 0)
      w->status = w->out->failure;
    return;
  }
  if (chat_buffer_append_u32be(w->out, type) != 0)
    w->status = w->out->failure;
}

int chat_message_encode(chat_dialect dialect, uint32_t type, const chat_value *params,
                        chat_buffer *out) {
  chat_writer w;
  chat_writer_init(&w, out);
  chat_message_begin(&w, dialect, type);
  if (w.status)
    return w.status;
  int rc = chat_value_encode(params, out);
  return rc ? rc : chat_writer_finish(&w);
}
