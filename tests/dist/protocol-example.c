/* A program of another project that speaks the chat protocol through the
 * installed libchat-protocol (pkg-config chat-protocol): it encodes a v2
 * send_message, decodes the bytes again, checks them against the catalogue
 * and reads the typed message back. protocol/README.md shows it; the dist
 * suite (test-install.sh) builds it against the installed headers and
 * library and runs it. Prints the message and exits 0 when the round trip
 * gives back what was sent. */
#include <stdio.h>
#include <string.h>

#include <protocol/catalogue.h>
#include <protocol/message.h>
#include <protocol/messages.h>

int main(void) {
  /* Encode: the message header, then its parameters. */
  chat_msg_send_message out = {
      .target_type = CHAT_TARGET_USER,
      .target_id = 2,
      .message = {.form = CHAT_BODY_TEXT,
                  .type = CHAT_BODY_TYPE_TEXT,
                  .data = chat_span_cstr("hello, 世界"),
                  .font_size = 12,
                  .font_color = chat_span_cstr("#1c71d8")},
  };
  chat_buffer wire;
  chat_buffer_init(&wire);
  chat_writer w;
  chat_writer_init(&w, &wire);
  chat_message_begin(&w, CHAT_DIALECT_V2, CHAT_MSG_SEND_MESSAGE);
  chat_msg_send_message_write(&w, &out);
  if (chat_writer_finish(&w) != 0) {
    fprintf(stderr, "encoding failed\n");
    return 1;
  }

  /* Decode: the type and the parameters, checked against the catalogue. */
  chat_limits limits;
  chat_limits_init(&limits);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_error err;
  uint32_t type;
  chat_value *params;
  chat_msg_send_message in;
  int status =
      chat_message_decode(CHAT_DIALECT_V2, chat_buffer_unread(&wire), chat_buffer_unread_len(&wire),
                          &limits, 0, &arena, &type, &params, &err);
  if (status == 0)
    status = chat_catalogue_check(type, params, &err);
  if (status == 0)
    status = chat_msg_send_message_read(params, &in, &err);
  if (status != 0) {
    fprintf(stderr, "decoding failed at byte %zu: %s\n", err.offset, err.message);
    return 1;
  }

  const chat_message_info *info = chat_catalogue_by_code(type);
  printf("%zu bytes: %s to user %lld: %.*s\n", chat_buffer_unread_len(&wire), info->name,
         (long long)in.target_id, (int)in.message.data.len, in.message.data.ptr);
  int same = type == CHAT_MSG_SEND_MESSAGE && in.target_id == out.target_id &&
             chat_span_eq(in.message.data, "hello, 世界") &&
             chat_span_eq(in.message.font_color, "#1c71d8");
  chat_arena_clear(&arena);
  chat_buffer_clear(&wire);
  return same ? 0 : 1;
}
