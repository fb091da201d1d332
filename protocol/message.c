/* Layer 2: message header + one value, in the seed and v2 dialects. */
#include "protocol/message.h"

#define SEED_TYPE_SIZE 1
#define V2_TYPE_SIZE 4
#define SEED_TYPE_MAX 0xFFu

size_t chat_dialect_type_size(chat_dialect dialect) {
  return dialect == CHAT_DIALECT_SEED ? SEED_TYPE_SIZE : V2_TYPE_SIZE;
}

size_t chat_message_header_size(chat_dialect dialect, const chat_message_header *header) {
  return chat_dialect_type_size(dialect) +
         (dialect == CHAT_DIALECT_V2 && header->has_request_id ? CHAT_MESSAGE_REQUEST_ID_SIZE : 0);
}

int chat_message_header_read(chat_dialect dialect, const uint8_t *data, size_t len,
                             chat_message_header *header, size_t *size, chat_error *err) {
  size_t type_size = chat_dialect_type_size(dialect);
  *header = (chat_message_header){0};
  if (len < type_size)
    return chat_error_set(err, CHAT_ERR_BAD_MESSAGE, 0,
                          "message of %zu bytes is shorter than its %zu-byte type (%s dialect)",
                          len, type_size, chat_dialect_name(dialect));
  if (dialect == CHAT_DIALECT_SEED) {
    header->type = data[0];
    *size = SEED_TYPE_SIZE;
    return 0;
  }
  uint32_t word = chat_load_u32be(data);
  if (word & CHAT_MESSAGE_RESERVED_MASK)
    return chat_error_set(err, CHAT_ERR_BAD_MESSAGE, 0,
                          "reserved bits of the message header are set (0x%08x)", (unsigned)word);
  header->type = word & CHAT_MESSAGE_TYPE_MASK;
  *size = V2_TYPE_SIZE;
  if (word & CHAT_MESSAGE_REQUEST_ID_FLAG) {
    if (len < V2_TYPE_SIZE + CHAT_MESSAGE_REQUEST_ID_SIZE)
      return chat_error_set(err, CHAT_ERR_BAD_MESSAGE, 0,
                            "message of %zu bytes has the REQUEST_ID flag but no request id", len);
    header->has_request_id = true;
    header->request_id = chat_load_u32be(data + V2_TYPE_SIZE);
    *size += CHAT_MESSAGE_REQUEST_ID_SIZE;
  }
  return 0;
}

int chat_message_decode_with_id(chat_dialect dialect, const uint8_t *data, size_t len,
                                const chat_limits *limits, unsigned flags, chat_arena *arena,
                                chat_message_header *header, chat_value **params, chat_error *err) {
  size_t size;
  int rc = chat_message_header_read(dialect, data, len, header, &size, err);
  if (rc)
    return rc;
  return chat_value_decode_at(data + size, len - size, size, limits, flags, arena, params, err);
}

int chat_message_decode(chat_dialect dialect, const uint8_t *data, size_t len,
                        const chat_limits *limits, unsigned flags, chat_arena *arena,
                        uint32_t *type, chat_value **params, chat_error *err) {
  chat_message_header header;
  int rc =
      chat_message_decode_with_id(dialect, data, len, limits, flags, arena, &header, params, err);
  *type = header.type;
  return rc;
}

static void append_u32(chat_writer *w, uint32_t v) {
  if (chat_buffer_append_u32be(w->out, v) != 0)
    w->status = w->out->failure;
}

void chat_message_begin_with_id(chat_writer *w, chat_dialect dialect,
                                const chat_message_header *header) {
  if (w->status)
    return;
  if (dialect == CHAT_DIALECT_SEED) {
    if (header->type > SEED_TYPE_MAX || header->has_request_id) {
      w->status = CHAT_ERR_INVALID_ARGUMENT;
      return;
    }
    if (chat_buffer_append_byte(w->out, (uint8_t)header->type) != 0)
      w->status = w->out->failure;
    return;
  }
  if (header->type > CHAT_MESSAGE_TYPE_MASK) {
    w->status = CHAT_ERR_INVALID_ARGUMENT;
    return;
  }
  append_u32(w, header->type | (header->has_request_id ? CHAT_MESSAGE_REQUEST_ID_FLAG : 0));
  if (header->has_request_id && !w->status)
    append_u32(w, header->request_id);
}

void chat_message_begin(chat_writer *w, chat_dialect dialect, uint32_t type) {
  chat_message_header header = {.type = type};
  chat_message_begin_with_id(w, dialect, &header);
}

int chat_message_encode_with_id(chat_dialect dialect, const chat_message_header *header,
                                const chat_value *params, chat_buffer *out) {
  chat_writer w;
  chat_writer_init(&w, out);
  chat_message_begin_with_id(&w, dialect, header);
  if (w.status)
    return w.status;
  int rc = chat_value_encode(params, out);
  return rc ? rc : chat_writer_finish(&w);
}

int chat_message_encode(chat_dialect dialect, uint32_t type, const chat_value *params,
                        chat_buffer *out) {
  chat_message_header header = {.type = type};
  return chat_message_encode_with_id(dialect, &header, params, out);
}

void chat_message_insert_request_id(uint8_t *message, uint32_t request_id) {
  uint8_t *start = message - CHAT_MESSAGE_REQUEST_ID_SIZE;
  uint32_t word = chat_load_u32be(message);
  chat_store_u32be(start, word | CHAT_MESSAGE_REQUEST_ID_FLAG);
  chat_store_u32be(message, request_id);
}
