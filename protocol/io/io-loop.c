/* The epoll event loop; see io-loop.h. */
#define G_LOG_DOMAIN "chat-io"

#include "protocol/io/io-loop.h"

#include <gio/gio.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Events taken from the kernel per turn, at most. */
#define LOOP_MAX_EVENTS 256
/* The attached loop's GSource: the same priority as GIO's own sources. */
#define LOOP_SOURCE_PRIORITY G_PRIORITY_DEFAULT

typedef struct _LoopSource LoopSource;

struct _ChatIoLoop {
  int epoll_fd;
  ChatIoTimers timers;
  ChatIoDeferred deferred; /* sentinel of the pending list */
  ChatIoMailbox *mailbox;
  ChatIoWatch mailbox_watch;
  guint watch_count;
  guint64 turns;

  /* The events of the turn being dispatched; unwatch clears what is left
   * of a watch there, so a ready function may drop another watch. */
  struct epoll_event *events;
  int event_count;
  int event_next;

  /* Spawned: the thread and its stop flag. */
  GThread *thread;
  gint quit;

  /* Attached: the GSource (which owns the loop), its context, users. */
  LoopSource *source;
  GMainContext *context;
  guint users;
};

struct _LoopSource {
  GSource source;
  ChatIoLoop *loop;
  gpointer fd_tag;
};

static _Thread_local ChatIoLoop *current_loop;

/* ---- deferred work ---- */

void chat_io_deferred_init(ChatIoDeferred *deferred, ChatIoDeferredFunc run) {
  deferred->prev = NULL;
  deferred->next = NULL;
  deferred->run = run;
}

gboolean chat_io_deferred_is_pending(const ChatIoDeferred *deferred) {
  return deferred->next != NULL;
}

static void list_init(ChatIoDeferred *sentinel) {
  sentinel->prev = sentinel;
  sentinel->next = sentinel;
}

static gboolean list_empty(const ChatIoDeferred *sentinel) {
  return sentinel->next == sentinel;
}

static void list_unlink(ChatIoDeferred *item) {
  if (item->next == NULL)
    return;
  item->prev->next = item->next;
  item->next->prev = item->prev;
  item->prev = NULL;
  item->next = NULL;
}

static void list_append(ChatIoDeferred *sentinel, ChatIoDeferred *item) {
  item->prev = sentinel->prev;
  item->next = sentinel;
  sentinel->prev->next = item;
  sentinel->prev = item;
}

/* Moves every item of from to the empty list to. */
static void list_splice(ChatIoDeferred *from, ChatIoDeferred *to) {
  list_init(to);
  if (list_empty(from))
    return;
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  list_init(from);
}

static void wake(ChatIoLoop *loop);

void chat_io_loop_defer(ChatIoLoop *loop, ChatIoDeferred *deferred) {
  if (deferred->next != NULL)
    return;
  gboolean was_empty = list_empty(&loop->deferred);
  list_append(&loop->deferred, deferred);
  if (was_empty)
    wake(loop);
}

void chat_io_loop_cancel_deferred(ChatIoLoop *loop, ChatIoDeferred *deferred) {
  (void)loop;
  list_unlink(deferred);
}

static void run_deferred(ChatIoLoop *loop) {
  if (list_empty(&loop->deferred))
    return;
  /* Only what is pending now: work deferred while this runs (a closed
   * handler that sends) waits for the next turn. An item leaves the batch
   * by itself when its owner cancels it meanwhile. */
  ChatIoDeferred batch;
  list_splice(&loop->deferred, &batch);
  while (!list_empty(&batch)) {
    ChatIoDeferred *item = batch.next;
    list_unlink(item);
    item->run(item);
  }
}

/* ---- watches ---- */

gboolean chat_io_loop_watch(ChatIoLoop *loop, ChatIoWatch *watch, int fd, guint32 events,
                            ChatIoReadyFunc ready) {
  watch->fd = fd;
  watch->events = events;
  watch->ready = ready;
  struct epoll_event ev = {.events = events, .data.ptr = watch};
  if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    return FALSE;
  loop->watch_count++;
  return TRUE;
}

void chat_io_loop_rewatch(ChatIoLoop *loop, ChatIoWatch *watch, guint32 events) {
  if (watch->events == events)
    return;
  watch->events = events;
  struct epoll_event ev = {.events = events, .data.ptr = watch};
  if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, watch->fd, &ev) != 0)
    g_warning("epoll_ctl(MOD, %d): %s", watch->fd, g_strerror(errno));
}

void chat_io_loop_unwatch(ChatIoLoop *loop, ChatIoWatch *watch) {
  if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL) != 0)
    g_warning("epoll_ctl(DEL, %d): %s", watch->fd, g_strerror(errno));
  else
    loop->watch_count--;
  for (int i = loop->event_next; i < loop->event_count; i++)
    if (loop->events[i].data.ptr == watch)
      loop->events[i].data.ptr = NULL;
}

/* ---- timers ---- */

/* Only chat_io_clock_advance_for_tests() moves it. */
static _Atomic gint64 clock_offset_us;

gint64 chat_io_now(void) {
  return g_get_monotonic_time() + atomic_load_explicit(&clock_offset_us, memory_order_relaxed);
}

void chat_io_clock_advance_for_tests(gint64 us) {
  g_return_if_fail(us >= 0);
  atomic_fetch_add_explicit(&clock_offset_us, us, memory_order_relaxed);
}

void chat_io_loop_start_timer(ChatIoLoop *loop, ChatIoTimer *timer, guint delay_ms) {
  gint64 deadline = chat_io_now() + (gint64)delay_ms * 1000;
  gboolean earlier = deadline < chat_io_timers_next(&loop->timers);
  chat_io_timers_arm(&loop->timers, timer, deadline);
  if (earlier)
    wake(loop);
}

void chat_io_loop_stop_timer(ChatIoLoop *loop, ChatIoTimer *timer) {
  chat_io_timers_disarm(&loop->timers, timer);
}

/* ---- the mailbox ---- */

void chat_io_loop_post(ChatIoLoop *loop, ChatIoTaskFunc func, gpointer target, const void *data,
                       gsize len) {
  chat_io_mailbox_post(loop->mailbox, func, target, data, len);
}

static void on_mailbox(ChatIoWatch *watch, guint32 events) {
  ChatIoLoop *loop = (ChatIoLoop *)((char *)watch - G_STRUCT_OFFSET(ChatIoLoop, mailbox_watch));
  (void)events;
  chat_io_mailbox_run(loop->mailbox);
}

/* ---- a turn ---- */

/* Milliseconds until the earliest timer, rounded up; -1 when none. */
static int timer_wait_ms(ChatIoLoop *loop) {
  gint64 next = chat_io_timers_next(&loop->timers);
  if (next == G_MAXINT64)
    return -1;
  gint64 wait = next - chat_io_now();
  if (wait <= 0)
    return 0;
  gint64 ms = (wait + 999) / 1000;
  return ms > G_MAXINT ? G_MAXINT : (int)ms;
}

void chat_io_loop_iterate(ChatIoLoop *loop, int timeout_ms) {
  struct epoll_event events[LOOP_MAX_EVENTS];
  ChatIoLoop *outer = current_loop;
  current_loop = loop;
  loop->turns++;

  int wait = timer_wait_ms(loop);
  if (timeout_ms >= 0 && (wait < 0 || timeout_ms < wait))
    wait = timeout_ms;
  if (!list_empty(&loop->deferred))
    wait = 0;

  int n = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS, wait);
  if (n < 0) {
    if (errno != EINTR)
      g_warning("epoll_wait: %s", g_strerror(errno));
    n = 0;
  }
  loop->events = events;
  loop->event_count = n;
  for (loop->event_next = 0; loop->event_next < n;) {
    struct epoll_event *event = &events[loop->event_next++];
    ChatIoWatch *watch = event->data.ptr;
    if (watch != NULL)
      watch->ready(watch, event->events);
  }
  loop->events = NULL;
  loop->event_count = loop->event_next = 0;

  chat_io_timers_run(&loop->timers, chat_io_now());
  run_deferred(loop);
  current_loop = outer;
}

/* ---- running on a thread ---- */

static gpointer loop_thread(gpointer data) {
  ChatIoLoop *loop = data;
  current_loop = loop;
  while (!g_atomic_int_get(&loop->quit))
    chat_io_loop_iterate(loop, -1);
  current_loop = NULL;
  return NULL;
}

gboolean chat_io_loop_spawn(ChatIoLoop *loop, const char *name, GError **error) {
  g_return_val_if_fail(loop->thread == NULL && loop->source == NULL, FALSE);
  loop->thread = g_thread_try_new(name, loop_thread, loop, error);
  return loop->thread != NULL;
}

static void quit_task(gpointer target, const guint8 *data, gsize len) {
  (void)target, (void)data, (void)len;
}

void chat_io_loop_quit(ChatIoLoop *loop) {
  g_atomic_int_set(&loop->quit, 1);
  chat_io_loop_post(loop, quit_task, NULL, NULL, 0); /* wakes it */
}

void chat_io_loop_join(ChatIoLoop *loop) {
  if (loop->thread == NULL)
    return;
  g_thread_join(loop->thread);
  loop->thread = NULL;
}

ChatIoLoop *chat_io_loop_get_current(void) {
  return current_loop;
}

/* ---- running in a GMainContext ---- */

static gboolean source_prepare(GSource *source, gint *timeout) {
  ChatIoLoop *loop = ((LoopSource *)source)->loop;
  if (!list_empty(&loop->deferred)) {
    *timeout = 0;
    return TRUE;
  }
  *timeout = timer_wait_ms(loop);
  return *timeout == 0;
}

static gboolean source_check(GSource *source) {
  LoopSource *self = (LoopSource *)source;
  ChatIoLoop *loop = self->loop;
  return (g_source_query_unix_fd(source, self->fd_tag) & G_IO_IN) != 0 ||
         !list_empty(&loop->deferred) || timer_wait_ms(loop) == 0;
}

static gboolean source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
  (void)callback, (void)user_data;
  chat_io_loop_iterate(((LoopSource *)source)->loop, 0);
  return G_SOURCE_CONTINUE;
}

static void loop_destroy(ChatIoLoop *loop);

static void source_finalize(GSource *source) {
  LoopSource *self = (LoopSource *)source;
  if (self->loop != NULL) {
    self->loop->source = NULL;
    loop_destroy(self->loop);
    self->loop = NULL;
  }
}

static GSourceFuncs loop_source_funcs = {
    .prepare = source_prepare,
    .check = source_check,
    .dispatch = source_dispatch,
    .finalize = source_finalize,
};

/* Wakes an attached loop's context for deferred work or an earlier timer
 * (a spawned loop computes its wait at the start of each turn, and these
 * are only called on its own thread). */
static void wake(ChatIoLoop *loop) {
  /* The thread running the context prepares the source again before it
   * waits: only another thread needs the wakeup's system call. */
  if (loop->context != NULL && current_loop != loop && !g_main_context_is_owner(loop->context))
    g_main_context_wakeup(loop->context);
}

void chat_io_loop_attach(ChatIoLoop *loop, GMainContext *context) {
  g_return_if_fail(loop->thread == NULL && loop->source == NULL);
  LoopSource *source = (LoopSource *)g_source_new(&loop_source_funcs, sizeof(LoopSource));
  source->loop = loop;
  source->fd_tag = g_source_add_unix_fd(&source->source, loop->epoll_fd, G_IO_IN);
  g_source_set_priority(&source->source, LOOP_SOURCE_PRIORITY);
  g_source_set_static_name(&source->source, "chat-io loop");
  loop->source = source;
  loop->context = g_main_context_ref(context);
  g_source_attach(&source->source, context);
  if (current_loop == NULL)
    current_loop = loop;
}

/* context -> attached ChatIoLoop, for loops shared through
 * chat_io_loop_acquire_for_context. */
static GMutex context_loops_lock;
static GHashTable *context_loops;

ChatIoLoop *chat_io_loop_acquire_for_context(GMainContext *context) {
  g_mutex_lock(&context_loops_lock);
  if (context_loops == NULL)
    context_loops = g_hash_table_new(g_direct_hash, g_direct_equal);
  ChatIoLoop *loop = g_hash_table_lookup(context_loops, context);
  if (loop == NULL) {
    g_autoptr(GError) error = NULL;
    loop = chat_io_loop_new(&error);
    if (loop == NULL)
      g_error("cannot make an I/O loop: %s", error->message);
    chat_io_loop_attach(loop, context);
    g_hash_table_insert(context_loops, context, loop);
  }
  loop->users++;
  g_mutex_unlock(&context_loops_lock);
  return loop;
}

void chat_io_loop_release(ChatIoLoop *loop) {
  g_mutex_lock(&context_loops_lock);
  gboolean last = --loop->users == 0;
  if (last) {
    g_hash_table_remove(context_loops, loop->context);
    if (g_hash_table_size(context_loops) == 0)
      g_clear_pointer(&context_loops, g_hash_table_unref);
  }
  g_mutex_unlock(&context_loops_lock);
  if (last)
    chat_io_loop_free(loop);
}

/* ---- life ---- */

ChatIoLoop *chat_io_loop_new(GError **error) {
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    int e = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot create an epoll set: %s",
                g_strerror(e));
    return NULL;
  }
  ChatIoMailbox *mailbox = chat_io_mailbox_new();
  if (mailbox == NULL) {
    int e = errno;
    close(epoll_fd);
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot create an eventfd: %s",
                g_strerror(e));
    return NULL;
  }
  ChatIoLoop *loop = g_new0(ChatIoLoop, 1);
  loop->epoll_fd = epoll_fd;
  loop->mailbox = mailbox;
  chat_io_timers_init(&loop->timers);
  list_init(&loop->deferred);
  if (!chat_io_loop_watch(loop, &loop->mailbox_watch, chat_io_mailbox_fd(mailbox), EPOLLIN,
                          on_mailbox)) {
    int e = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "cannot watch an eventfd: %s",
                g_strerror(e));
    chat_io_mailbox_free(mailbox);
    close(epoll_fd);
    g_free(loop);
    return NULL;
  }
  return loop;
}

static void loop_destroy(ChatIoLoop *loop) {
  if (current_loop == loop)
    current_loop = NULL;
  chat_io_loop_unwatch(loop, &loop->mailbox_watch);
  if (loop->watch_count != 0)
    g_warning("an I/O loop is freed with %u file descriptors still watched", loop->watch_count);
  /* The last tasks (releases) and ends of connections still run. */
  chat_io_mailbox_run(loop->mailbox);
  run_deferred(loop);
  chat_io_mailbox_free(loop->mailbox);
  chat_io_timers_clear(&loop->timers);
  close(loop->epoll_fd);
  if (loop->context != NULL)
    g_main_context_unref(loop->context);
  g_free(loop);
}

void chat_io_loop_free(ChatIoLoop *loop) {
  if (loop == NULL)
    return;
  g_return_if_fail(loop->thread == NULL);
  if (loop->source != NULL) {
    /* The source owns the loop: it is freed when the source is finalized,
     * after a dispatch that is running now. */
    GSource *source = &loop->source->source;
    g_source_destroy(source);
    g_source_unref(source);
    return;
  }
  loop_destroy(loop);
}

guint64 chat_io_loop_get_turns(ChatIoLoop *loop) {
  return loop->turns;
}

guint chat_io_loop_get_watch_count(ChatIoLoop *loop) {
  return loop->watch_count - 1; /* not the mailbox's own eventfd */
}
