/* A budget of memory for messages in transit, shared by every connection of
 * a process (chatd's server.max_transit_bytes).
 *
 * A channel holds two kinds of buffers that grow with what peers do: what it
 * receives of a message not yet complete, and what it queues to send. Each
 * connection may hold CHAT_TRANSIT_FREE_BYTES of each without asking; every
 * byte beyond that comes out of the budget, and goes back when the buffer
 * shrinks. So the process holds at most connections x 2 x the free bytes
 * plus the budget, whatever max_message and max_queue are, and a peer that
 * announces a large message gets nothing before its bytes arrive.
 *
 * Thread-safe (atomic); a NULL budget grants everything. Plain C. */
#ifndef CHAT_PROTOCOL_TRANSIT_H
#define CHAT_PROTOCOL_TRANSIT_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes a connection holds in each direction without the budget. */
#define CHAT_TRANSIT_FREE_BYTES ((size_t)64 * 1024)

typedef struct chat_transit chat_transit;

/* A budget of limit bytes; NULL when out of memory. */
chat_transit *chat_transit_new(size_t limit);
void chat_transit_free(chat_transit *transit);

/* Takes n bytes; false (taking nothing) when fewer than n are left. */
bool chat_transit_take(chat_transit *transit, size_t n);
/* Gives back n bytes taken before. */
void chat_transit_give(chat_transit *transit, size_t n);

/* Bytes taken now, and the limit. */
size_t chat_transit_used(const chat_transit *transit);
size_t chat_transit_limit(const chat_transit *transit);

/* Moves *held (bytes a buffer took) to what a buffer of `bytes` needs:
 * everything beyond CHAT_TRANSIT_FREE_BYTES. Taking more can fail (false,
 * *held unchanged); giving back cannot. */
bool chat_transit_cover(chat_transit *transit, size_t *held, size_t bytes);

#endif
