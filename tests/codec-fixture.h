/* The fixture of the codec tests (test-value.c, test-message.c, test-json.c):
 * an arena and a buffer, fresh for each test. */
#ifndef CHAT_TESTS_CODEC_FIXTURE_H
#define CHAT_TESTS_CODEC_FIXTURE_H

#include "protocol/arena.h"
#include "protocol/buffer.h"

extern chat_arena arena;
extern chat_buffer buf;

/* Criterion .init / .fini: initialise / clear arena and buf. */
void setup(void);
void teardown(void);

#endif
