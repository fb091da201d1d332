/* The fixture of the codec tests: see codec-fixture.h. */
#include "codec-fixture.h"

chat_arena arena;
chat_buffer buf;

void setup(void) {
  chat_arena_init(&arena);
  chat_buffer_init(&buf);
}

void teardown(void) {
  chat_arena_clear(&arena);
  chat_buffer_clear(&buf);
}
