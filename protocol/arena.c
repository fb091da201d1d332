#include "protocol/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* First chunk size; later chunks double, up to the maximum. */
#define ARENA_FIRST_CHUNK 1024
#define ARENA_MAX_CHUNK (1u << 20)

struct chat_arena_chunk {
  chat_arena_chunk *next;
  size_t size;
  alignas(max_align_t) unsigned char data[];
};

void chat_arena_init(chat_arena *arena) {
  arena->head = NULL;
  arena->used = 0;
  arena->total = 0;
}

void chat_arena_clear(chat_arena *arena) {
  chat_arena_chunk *c = arena->head;
  while (c) {
    chat_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  chat_arena_init(arena);
}

void chat_arena_reset(chat_arena *arena) {
  chat_arena_chunk *keep = arena->head;
  if (!keep)
    return;
  chat_arena_chunk *c = keep->next;
  while (c) {
    chat_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  keep->next = NULL;
  arena->head = keep;
  arena->used = 0;
  arena->total = 0;
}

static size_t align_up(size_t n) {
  const size_t a = alignof(max_align_t);
  return (n + a - 1) & ~(a - 1);
}

/* Blocks at least this big get a chunk of their own, so the current chunk
 * keeps its free space for the small nodes that follow. */
#define ARENA_DEDICATED_BLOCK (ARENA_MAX_CHUNK / 4)

static chat_arena_chunk *new_chunk(size_t size) {
  if (size > SIZE_MAX - sizeof(chat_arena_chunk))
    return NULL;
  chat_arena_chunk *c = malloc(sizeof(chat_arena_chunk) + size);
  if (c)
    c->size = size;
  return c;
}

void *chat_arena_alloc(chat_arena *arena, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size)
    return NULL;
  size_t bytes = n * size;
  if (bytes > SIZE_MAX - alignof(max_align_t))
    return NULL;
  bytes = align_up(bytes ? bytes : 1);

  void *p;
  chat_arena_chunk *head = arena->head;
  if (head && head->size - arena->used >= bytes) {
    p = head->data + arena->used;
    arena->used += bytes;
  } else if (head && bytes >= ARENA_DEDICATED_BLOCK) {
    chat_arena_chunk *own = new_chunk(bytes);
    if (!own)
      return NULL;
    own->next = head->next;
    head->next = own;
    p = own->data;
  } else {
    size_t chunk = head ? head->size * 2 : ARENA_FIRST_CHUNK;
    if (chunk > ARENA_MAX_CHUNK)
      chunk = ARENA_MAX_CHUNK;
    if (chunk < bytes)
      chunk = bytes;
    chat_arena_chunk *fresh = new_chunk(chunk);
    if (!fresh)
      return NULL;
    fresh->next = head;
    arena->head = fresh;
    arena->used = bytes;
    p = fresh->data;
  }
  arena->total += bytes;
  memset(p, 0, bytes);
  return p;
}

void *chat_arena_copy(chat_arena *arena, const void *src, size_t len) {
  if (len == SIZE_MAX)
    return NULL;
  unsigned char *p = chat_arena_alloc(arena, len + 1, 1);
  if (!p)
    return NULL;
  if (len)
    memcpy(p, src, len);
  p[len] = '\0';
  return p;
}
