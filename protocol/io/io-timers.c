/* The timer heap of an I/O loop; see io-timers.h. */
#include "protocol/io/io-timers.h"

#define TIMERS_INITIAL_CAPACITY 64u

void chat_io_timers_init(ChatIoTimers *timers) {
  timers->items = NULL;
  timers->len = 0;
  timers->capacity = 0;
}

void chat_io_timers_clear(ChatIoTimers *timers) {
  for (guint i = 0; i < timers->len; i++)
    timers->items[i]->index = 0;
  g_free(timers->items);
  chat_io_timers_init(timers);
}

void chat_io_timer_init(ChatIoTimer *timer, ChatIoTimerFunc fire) {
  timer->deadline_us = 0;
  timer->index = 0;
  timer->fire = fire;
}

gboolean chat_io_timer_is_armed(const ChatIoTimer *timer) {
  return timer->index != 0;
}

static void place(ChatIoTimers *timers, guint at, ChatIoTimer *timer) {
  timers->items[at] = timer;
  timer->index = at + 1;
}

static void sift_up(ChatIoTimers *timers, guint at) {
  ChatIoTimer *timer = timers->items[at];
  while (at > 0) {
    guint parent = (at - 1) / 2;
    if (timers->items[parent]->deadline_us <= timer->deadline_us)
      break;
    place(timers, at, timers->items[parent]);
    at = parent;
  }
  place(timers, at, timer);
}

static void sift_down(ChatIoTimers *timers, guint at) {
  ChatIoTimer *timer = timers->items[at];
  for (;;) {
    guint child = 2 * at + 1;
    if (child >= timers->len)
      break;
    if (child + 1 < timers->len &&
        timers->items[child + 1]->deadline_us < timers->items[child]->deadline_us)
      child++;
    if (timers->items[child]->deadline_us >= timer->deadline_us)
      break;
    place(timers, at, timers->items[child]);
    at = child;
  }
  place(timers, at, timer);
}

void chat_io_timers_arm(ChatIoTimers *timers, ChatIoTimer *timer, gint64 deadline_us) {
  if (timer->index != 0) {
    gint64 old = timer->deadline_us;
    timer->deadline_us = deadline_us;
    if (deadline_us < old)
      sift_up(timers, timer->index - 1);
    else
      sift_down(timers, timer->index - 1);
    return;
  }
  if (timers->len == timers->capacity) {
    timers->capacity = timers->capacity ? timers->capacity * 2 : TIMERS_INITIAL_CAPACITY;
    timers->items = g_renew(ChatIoTimer *, timers->items, timers->capacity);
  }
  timer->deadline_us = deadline_us;
  timers->items[timers->len] = timer;
  timers->len++;
  sift_up(timers, timers->len - 1);
}

void chat_io_timers_disarm(ChatIoTimers *timers, ChatIoTimer *timer) {
  if (timer->index == 0)
    return;
  guint at = timer->index - 1;
  timer->index = 0;
  timers->len--;
  if (at == timers->len)
    return;
  ChatIoTimer *last = timers->items[timers->len];
  place(timers, at, last);
  if (at > 0 && timers->items[(at - 1) / 2]->deadline_us > last->deadline_us)
    sift_up(timers, at);
  else
    sift_down(timers, at);
}

gint64 chat_io_timers_next(const ChatIoTimers *timers) {
  return timers->len > 0 ? timers->items[0]->deadline_us : G_MAXINT64;
}

guint chat_io_timers_run(ChatIoTimers *timers, gint64 now_us) {
  guint fired = 0;
  /* Only timers due now: one armed again for the past by a fire function
   * would otherwise keep this loop going. */
  guint budget = timers->len;
  while (budget-- > 0 && timers->len > 0 && timers->items[0]->deadline_us <= now_us) {
    ChatIoTimer *timer = timers->items[0];
    chat_io_timers_disarm(timers, timer);
    fired++;
    timer->fire(timer);
  }
  return fired;
}
