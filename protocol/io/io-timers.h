/* Timers of one I/O loop: a binary min-heap of deadlines.
 *
 * Each timer is embedded in its owner (a connection, a session) and knows
 * its place in the heap, so starting, moving and stopping one is O(log n)
 * and an idle timer costs nothing: a loop turn looks only at the earliest
 * deadline. Not thread-safe: a heap belongs to its loop's thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ChatIoTimer ChatIoTimer;
typedef void (*ChatIoTimerFunc)(ChatIoTimer *timer);

struct _ChatIoTimer {
  gint64 deadline_us; /* on the loops' clock (chat_io_now) */
  guint index;        /* place in the heap + 1; 0 when not armed */
  ChatIoTimerFunc fire;
};

typedef struct {
  ChatIoTimer **items;
  guint len;
  guint capacity;
} ChatIoTimers;

void chat_io_timers_init(ChatIoTimers *timers);
void chat_io_timers_clear(ChatIoTimers *timers);

/* A timer that is not armed. */
void chat_io_timer_init(ChatIoTimer *timer, ChatIoTimerFunc fire);
gboolean chat_io_timer_is_armed(const ChatIoTimer *timer);

/* Arms (or moves) timer to fire at deadline_us. */
void chat_io_timers_arm(ChatIoTimers *timers, ChatIoTimer *timer, gint64 deadline_us);
/* Disarms timer (no-op when it is not armed). */
void chat_io_timers_disarm(ChatIoTimers *timers, ChatIoTimer *timer);

/* The earliest deadline, or G_MAXINT64 when none is armed. */
gint64 chat_io_timers_next(const ChatIoTimers *timers);

/* Disarms and fires every timer whose deadline is at or before now_us, in
 * deadline order. A fire function may arm or disarm any timer; one armed
 * again for a time already past waits for the next call. Returns how many
 * fired. */
guint chat_io_timers_run(ChatIoTimers *timers, gint64 now_us);

G_END_DECLS
