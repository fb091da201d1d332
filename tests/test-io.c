/* Tests of the I/O core's parts (protocol/io/): the timer heap, the
 * mailbox, and the loop's turn (deferred work, timers, threads). The
 * connections on top are tested by test-connection.c. */
#include <criterion/criterion.h>
#include <glib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "protocol/io/io-loop.h"
#include "protocol/io/io-mailbox.h"
#include "protocol/io/io-timers.h"

#define TIMER_COUNT 2000u
#define PRODUCERS 4u
#define TASKS_PER_PRODUCER 20000u
#define WAIT_US (30 * G_USEC_PER_SEC)

/* ---- timers ---- */

typedef struct {
  ChatIoTimer timer;
  gint64 *fired_at; /* deadlines in firing order */
  guint *fired;
} Probe;

static void probe_fire(ChatIoTimer *timer) {
  Probe *p = (Probe *)timer;
  p->fired_at[(*p->fired)++] = timer->deadline_us;
}

Test(timers, fire_in_deadline_order_after_random_arms_moves_and_disarms) {
  ChatIoTimers timers;
  chat_io_timers_init(&timers);
  Probe *probes = g_new0(Probe, TIMER_COUNT);
  gint64 *fired_at = g_new0(gint64, TIMER_COUNT);
  guint fired = 0;
  GRand *rand = g_rand_new_with_seed(7);
  for (guint i = 0; i < TIMER_COUNT; i++) {
    chat_io_timer_init(&probes[i].timer, probe_fire);
    probes[i].fired_at = fired_at;
    probes[i].fired = &fired;
    chat_io_timers_arm(&timers, &probes[i].timer, g_rand_int_range(rand, 1, 1000000));
  }
  guint armed = TIMER_COUNT;
  for (guint i = 0; i < TIMER_COUNT; i += 3) {
    chat_io_timers_disarm(&timers, &probes[i].timer);
    cr_assert_not(chat_io_timer_is_armed(&probes[i].timer));
    armed--;
  }
  for (guint i = 1; i < TIMER_COUNT; i += 3) /* moved, earlier or later */
    chat_io_timers_arm(&timers, &probes[i].timer, g_rand_int_range(rand, 1, 1000000));
  cr_assert_eq(chat_io_timers_run(&timers, 0), 0, "nothing is due at 0");
  gint64 next = chat_io_timers_next(&timers);
  cr_assert_eq(chat_io_timers_run(&timers, 500000) + chat_io_timers_run(&timers, 1000000), armed);
  cr_assert_eq(fired, armed);
  cr_assert_eq(fired_at[0], next);
  for (guint i = 1; i < fired; i++)
    cr_assert_leq(fired_at[i - 1], fired_at[i], "fired out of order at %u", i);
  cr_assert_eq(chat_io_timers_next(&timers), G_MAXINT64);
  g_rand_free(rand);
  g_free(fired_at);
  g_free(probes);
  chat_io_timers_clear(&timers);
}

static ChatIoTimers *rearm_heap;
static guint rearm_count;

static void rearm_in_the_past(ChatIoTimer *timer) {
  rearm_count++;
  chat_io_timers_arm(rearm_heap, timer, 0);
}

Test(timers, a_timer_rearmed_for_the_past_waits_for_the_next_run) {
  ChatIoTimers timers;
  chat_io_timers_init(&timers);
  ChatIoTimer t;
  chat_io_timer_init(&t, rearm_in_the_past);
  rearm_heap = &timers;
  rearm_count = 0;
  chat_io_timers_arm(&timers, &t, 10);
  cr_assert_eq(chat_io_timers_run(&timers, 100), 1);
  cr_assert_eq(rearm_count, 1);
  cr_assert(chat_io_timer_is_armed(&t));
  cr_assert_eq(chat_io_timers_run(&timers, 100), 1);
  chat_io_timers_disarm(&timers, &t);
  chat_io_timers_clear(&timers);
}

/* ---- mailbox ---- */

typedef struct {
  ChatIoMailbox *mailbox;
  guint producer;
} Producer;

static guint next_expected[PRODUCERS];
static guint tasks_seen;

static void count_task(gpointer target, const guint8 *data, gsize len) {
  guint producer = GPOINTER_TO_UINT(target);
  guint value;
  cr_assert_eq(len, sizeof value);
  memcpy(&value, data, sizeof value);
  cr_assert_eq(value, next_expected[producer], "producer %u: task %u came before %u", producer,
               value, next_expected[producer]);
  next_expected[producer]++;
  tasks_seen++;
}

static gpointer produce(gpointer data) {
  Producer *p = data;
  for (guint i = 0; i < TASKS_PER_PRODUCER; i++)
    chat_io_mailbox_post(p->mailbox, count_task, GUINT_TO_POINTER(p->producer), &i, sizeof i);
  return NULL;
}

Test(mailbox, tasks_of_each_thread_run_in_order_and_none_is_lost) {
  ChatIoMailbox *mailbox = chat_io_mailbox_new();
  cr_assert_not_null(mailbox);
  memset(next_expected, 0, sizeof next_expected);
  tasks_seen = 0;
  Producer producers[PRODUCERS];
  GThread *threads[PRODUCERS];
  for (guint i = 0; i < PRODUCERS; i++) {
    producers[i] = (Producer){mailbox, i};
    threads[i] = g_thread_new("producer", produce, &producers[i]);
  }
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  cr_assert_eq(epoll_ctl(epoll_fd, EPOLL_CTL_ADD, chat_io_mailbox_fd(mailbox), &ev), 0);
  gint64 deadline = g_get_monotonic_time() + WAIT_US;
  while (tasks_seen < PRODUCERS * TASKS_PER_PRODUCER && g_get_monotonic_time() < deadline) {
    struct epoll_event out;
    /* The eventfd must wake us whenever tasks wait. */
    if (epoll_wait(epoll_fd, &out, 1, 1000) == 1)
      chat_io_mailbox_run(mailbox);
  }
  for (guint i = 0; i < PRODUCERS; i++)
    g_thread_join(threads[i]);
  cr_assert_eq(tasks_seen, PRODUCERS * TASKS_PER_PRODUCER);
  close(epoll_fd);
  chat_io_mailbox_free(mailbox);
}

/* ---- the loop ---- */

typedef struct {
  ChatIoDeferred deferred;
  ChatIoLoop *loop;
  guint runs;
  guint64 turn_of_last_run;
  gboolean defer_again;
} Dirty;

static void dirty_run(ChatIoDeferred *deferred) {
  Dirty *d = (Dirty *)deferred;
  d->runs++;
  d->turn_of_last_run = chat_io_loop_get_turns(d->loop);
  if (d->defer_again) {
    d->defer_again = FALSE;
    chat_io_loop_defer(d->loop, &d->deferred);
  }
}

Test(loop, deferred_work_runs_once_per_turn_and_work_deferred_meanwhile_waits) {
  ChatIoLoop *loop = chat_io_loop_new(NULL);
  cr_assert_not_null(loop);
  Dirty d = {.loop = loop};
  chat_io_deferred_init(&d.deferred, dirty_run);
  for (int i = 0; i < 5; i++)
    chat_io_loop_defer(loop, &d.deferred);
  d.defer_again = TRUE;
  chat_io_loop_iterate(loop, 0);
  cr_assert_eq(d.runs, 1, "deferred five times in one turn, ran once");
  cr_assert(chat_io_deferred_is_pending(&d.deferred), "deferred again while running");
  gint64 before = g_get_monotonic_time();
  chat_io_loop_iterate(loop, 5000);
  cr_assert_lt(g_get_monotonic_time() - before, G_USEC_PER_SEC, "pending work does not wait");
  cr_assert_eq(d.runs, 2);
  cr_assert_eq(d.turn_of_last_run, 2);
  chat_io_loop_defer(loop, &d.deferred);
  chat_io_loop_cancel_deferred(loop, &d.deferred);
  chat_io_loop_iterate(loop, 0);
  cr_assert_eq(d.runs, 2, "cancelled work does not run");
  chat_io_loop_free(loop);
}

typedef struct {
  ChatIoTimer timer;
  gint64 fired_at;
} Alarm;

static void alarm_fire(ChatIoTimer *timer) {
  ((Alarm *)timer)->fired_at = g_get_monotonic_time();
}

Test(loop, a_turn_waits_for_the_earliest_timer_and_no_longer) {
  ChatIoLoop *loop = chat_io_loop_new(NULL);
  Alarm a = {0}, b = {0};
  chat_io_timer_init(&a.timer, alarm_fire);
  chat_io_timer_init(&b.timer, alarm_fire);
  gint64 start = g_get_monotonic_time();
  chat_io_loop_start_timer(loop, &a.timer, 50);
  chat_io_loop_start_timer(loop, &b.timer, 10000);
  while (a.fired_at == 0 && g_get_monotonic_time() - start < WAIT_US)
    chat_io_loop_iterate(loop, -1);
  cr_assert_geq(a.fired_at - start, 50000, "not before its time");
  cr_assert_lt(a.fired_at - start, 5 * G_USEC_PER_SEC);
  cr_assert_eq(b.fired_at, 0);
  chat_io_loop_stop_timer(loop, &b.timer);
  chat_io_loop_free(loop);
}

static gint tasks_run_on_loop_thread;
static ChatIoLoop *spawned_loop;

static void check_thread(gpointer target, const guint8 *data, gsize len) {
  (void)target, (void)data, (void)len;
  if (chat_io_loop_get_current() == spawned_loop)
    g_atomic_int_inc(&tasks_run_on_loop_thread);
}

Test(loop, a_spawned_loop_runs_posted_tasks_on_its_thread_and_quits) {
  spawned_loop = chat_io_loop_new(NULL);
  tasks_run_on_loop_thread = 0;
  cr_assert(chat_io_loop_spawn(spawned_loop, "test-io", NULL));
  for (int i = 0; i < 100; i++)
    chat_io_loop_post(spawned_loop, check_thread, NULL, NULL, 0);
  gint64 deadline = g_get_monotonic_time() + WAIT_US;
  while (g_atomic_int_get(&tasks_run_on_loop_thread) < 100 && g_get_monotonic_time() < deadline)
    g_usleep(1000);
  cr_assert_eq(g_atomic_int_get(&tasks_run_on_loop_thread), 100);
  chat_io_loop_quit(spawned_loop);
  chat_io_loop_join(spawned_loop);
  chat_io_loop_free(spawned_loop);
}

typedef struct {
  ChatIoWatch watch;
  ChatIoWatch *other;
  ChatIoLoop *loop;
  guint calls;
} PipeWatch;

static void drop_other(ChatIoWatch *watch, guint32 events) {
  PipeWatch *p = (PipeWatch *)watch;
  (void)events;
  p->calls++;
  if (p->other != NULL) {
    chat_io_loop_unwatch(p->loop, p->other);
    p->other = NULL;
  }
}

Test(loop, a_ready_function_may_drop_another_ready_watch) {
  ChatIoLoop *loop = chat_io_loop_new(NULL);
  int a[2], b[2];
  cr_assert_eq(pipe(a), 0);
  cr_assert_eq(pipe(b), 0);
  PipeWatch pa = {.loop = loop}, pb = {.loop = loop};
  pa.other = &pb.watch;
  pb.other = &pa.watch;
  cr_assert(chat_io_loop_watch(loop, &pa.watch, a[0], EPOLLIN, drop_other));
  cr_assert(chat_io_loop_watch(loop, &pb.watch, b[0], EPOLLIN, drop_other));
  cr_assert_eq(write(a[1], "x", 1), 1);
  cr_assert_eq(write(b[1], "x", 1), 1);
  chat_io_loop_iterate(loop, 1000);
  cr_assert_eq(pa.calls + pb.calls, 1, "the dropped watch's event is not delivered");
  ChatIoWatch *left = pa.calls ? &pa.watch : &pb.watch;
  chat_io_loop_unwatch(loop, left);
  cr_assert_eq(chat_io_loop_get_watch_count(loop), 0);
  close(a[0]), close(a[1]), close(b[0]), close(b[1]);
  chat_io_loop_free(loop);
}
