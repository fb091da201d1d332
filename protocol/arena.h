/* A bump allocator: every node of one decoded message comes from one arena and
 * is freed at once, so decoding allocates a few chunks, not one block per
 * value. */
#ifndef CHAT_PROTOCOL_ARENA_H
#define CHAT_PROTOCOL_ARENA_H

#include <stddef.h>

typedef struct chat_arena_chunk chat_arena_chunk;

typedef struct {
  chat_arena_chunk *head;
  size_t used;  /* bytes used in head */
  size_t total; /* bytes handed out over all chunks */
} chat_arena;

void chat_arena_init(chat_arena *arena);
/* Frees every chunk; the arena can be used again. */
void chat_arena_clear(chat_arena *arena);
/* Forgets everything allocated but keeps the newest chunk for reuse, so an
 * arena used for one message after another stops calling malloc once it has
 * grown to the usual message size. */
void chat_arena_reset(chat_arena *arena);
/* Zeroed, max_align_t-aligned memory, or NULL when out of memory or when
 * n * size overflows. */
void *chat_arena_alloc(chat_arena *arena, size_t n, size_t size);
/* A copy of len bytes; a NUL byte is added after them. */
void *chat_arena_copy(chat_arena *arena, const void *src, size_t len);

#endif
