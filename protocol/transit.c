/* The shared budget of messages in transit; see transit.h. */
#include "protocol/transit.h"

#include <stdatomic.h>
#include <stdlib.h>

struct chat_transit {
  atomic_size_t used;
  size_t limit;
};

chat_transit *chat_transit_new(size_t limit) {
  chat_transit *transit = calloc(1, sizeof *transit);
  if (transit == NULL)
    return NULL;
  atomic_init(&transit->used, 0);
  transit->limit = limit;
  return transit;
}

void chat_transit_free(chat_transit *transit) {
  free(transit);
}

bool chat_transit_take(chat_transit *transit, size_t n) {
  if (transit == NULL || n == 0)
    return true;
  size_t used = atomic_load_explicit(&transit->used, memory_order_relaxed);
  do {
    if (n > transit->limit - used)
      return false;
  } while (!atomic_compare_exchange_weak_explicit(&transit->used, &used, used + n,
                                                  memory_order_relaxed, memory_order_relaxed));
  return true;
}

void chat_transit_give(chat_transit *transit, size_t n) {
  if (transit != NULL && n > 0)
    atomic_fetch_sub_explicit(&transit->used, n, memory_order_relaxed);
}

size_t chat_transit_used(const chat_transit *transit) {
  return transit == NULL ? 0 : atomic_load_explicit(&transit->used, memory_order_relaxed);
}

size_t chat_transit_limit(const chat_transit *transit) {
  return transit == NULL ? 0 : transit->limit;
}

bool chat_transit_cover(chat_transit *transit, size_t *held, size_t bytes) {
  size_t wanted = bytes > CHAT_TRANSIT_FREE_BYTES ? bytes - CHAT_TRANSIT_FREE_BYTES : 0;
  if (wanted > *held) {
    if (!chat_transit_take(transit, wanted - *held))
      return false;
  } else {
    chat_transit_give(transit, *held - wanted);
  }
  *held = wanted;
  return true;
}
