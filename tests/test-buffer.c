/* chat_buffer (protocol/buffer.h) as a sliding queue: consuming moves a read
 * offset, the unread bytes move to the front only when an append needs the
 * room, a limit applies to the unread bytes, and a wiping buffer leaves no
 * consumed byte behind. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/error.h"

#define FIRST_CAPACITY 16u

static void append_text(chat_buffer *buf, const char *text) {
  cr_assert_eq(chat_buffer_append(buf, text, strlen(text)), 0);
}

static void assert_unread(const chat_buffer *buf, const char *text) {
  cr_assert_eq(chat_buffer_unread_len(buf), strlen(text));
  cr_assert_eq(memcmp(chat_buffer_unread(buf), text, strlen(text)), 0);
}

Test(buffer, consuming_moves_the_read_offset_only) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  buf.first_capacity = FIRST_CAPACITY;
  append_text(&buf, "abcdefgh");
  const uint8_t *data = buf.data;
  chat_buffer_consume(&buf, 3);
  assert_unread(&buf, "defgh");
  cr_assert_eq(buf.data, data, "no move on a read");
  cr_assert_eq(buf.start, 3);
  /* Room at the end: no move either. */
  append_text(&buf, "ij");
  assert_unread(&buf, "defghij");
  cr_assert_eq(buf.start, 3);
  cr_assert_eq(buf.capacity, FIRST_CAPACITY);
  /* Room only once the consumed bytes are gone: moved, not grown. */
  append_text(&buf, "klmnopqr");
  assert_unread(&buf, "defghijklmnopqr");
  cr_assert_eq(buf.start, 0);
  cr_assert_eq(buf.capacity, FIRST_CAPACITY);
  /* Everything consumed: empty again, memory kept. */
  chat_buffer_consume(&buf, chat_buffer_unread_len(&buf));
  cr_assert_eq(buf.start, 0);
  cr_assert_eq(buf.len, 0);
  cr_assert_eq(buf.capacity, FIRST_CAPACITY);
  chat_buffer_clear(&buf);
  cr_assert_null(buf.data);
  cr_assert_eq(buf.first_capacity, FIRST_CAPACITY, "settings survive a clear");
}

Test(buffer, growing_keeps_the_unread_bytes) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  buf.first_capacity = FIRST_CAPACITY;
  append_text(&buf, "0123456789");
  chat_buffer_consume(&buf, 8);
  append_text(&buf, "a longer tail than the capacity");
  assert_unread(&buf, "89a longer tail than the capacity");
  cr_assert_geq(buf.capacity, chat_buffer_unread_len(&buf));
  size_t len = 0;
  uint8_t *stolen = chat_buffer_steal(&buf, &len);
  cr_assert_eq(len, strlen("89a longer tail than the capacity"));
  cr_assert_eq(memcmp(stolen, "89a", 3), 0);
  free(stolen);
  cr_assert_eq(chat_buffer_unread_len(&buf), 0);
}

Test(buffer, the_limit_counts_unread_bytes) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  buf.max_len = 8;
  append_text(&buf, "12345678");
  cr_assert_eq(chat_buffer_append_byte(&buf, '9'), CHAT_ERR_LIMIT);
  chat_buffer_reset(&buf);
  append_text(&buf, "1234");
  chat_buffer_consume(&buf, 4);
  append_text(&buf, "abcdefgh");
  assert_unread(&buf, "abcdefgh");
  chat_buffer_clear(&buf);
}

Test(buffer, a_wiping_buffer_wipes_what_is_consumed) {
  chat_buffer buf;
  chat_buffer_init(&buf);
  buf.first_capacity = FIRST_CAPACITY;
  buf.wipe = true;
  append_text(&buf, "secretsecret");
  chat_buffer_consume(&buf, 6);
  static const uint8_t zeros[6];
  cr_assert_eq(memcmp(buf.data, zeros, sizeof zeros), 0);
  assert_unread(&buf, "secret");
  /* Moving to the front wipes the bytes left behind. */
  append_text(&buf, "0123456789");
  assert_unread(&buf, "secret0123456789");
  chat_buffer_consume(&buf, 10);
  append_text(&buf, "abcdefghij");
  assert_unread(&buf, "456789abcdefghij");
  cr_assert_eq(buf.start, 0);
  chat_buffer_clear(&buf);
}

Test(buffer, big_endian_helpers) {
  uint8_t b[4];
  chat_store_u16be(b, 0x1234);
  cr_assert_eq(b[0], 0x12);
  cr_assert_eq(b[1], 0x34);
  cr_assert_eq(chat_load_u16be(b), 0x1234);
  chat_store_u32be(b, 0x89abcdefu);
  cr_assert_eq(b[0], 0x89);
  cr_assert_eq(b[3], 0xef);
  cr_assert_eq(chat_load_u32be(b), 0x89abcdefu);
}
