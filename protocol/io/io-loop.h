/* ChatIoLoop: the epoll-based event loop that connections run on.
 *
 * GLib's main loop polls every file descriptor on every turn, so each
 * message would pay for every idle connection. A ChatIoLoop keeps its file
 * descriptors in one epoll set: a turn costs what is ready, not what is
 * open. One loop per thread; each has
 *   - watches: file descriptors in its epoll set, each with a ready
 *     function (level-triggered);
 *   - timers: a heap of deadlines (io-timers.h), so an idle connection's
 *     timeout costs nothing until it fires;
 *   - deferred work: a list of things to do once at the end of the turn,
 *     after every ready watch ran (connections flush their writes there, so
 *     the replies a turn produced leave in one write per connection);
 *   - a mailbox (io-mailbox.h): other threads hand it tasks.
 *
 * A turn: wait for events (not at all when deferred work is pending; at
 * most until the earliest timer), run the ready watches, the mailbox's
 * tasks, the due timers, then the deferred work that was pending when the
 * deferred phase began (what is deferred during it waits for the next
 * turn).
 *
 * A loop runs either on a thread of its own (chat_io_loop_spawn) or inside
 * a GMainContext (chat_io_loop_attach: the whole epoll set is one GSource
 * with one file descriptor, whatever the number of connections).
 *
 * Threading: everything but chat_io_loop_post and chat_io_loop_quit must
 * be called on the loop's thread (for an attached loop: the thread that
 * runs its context).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "protocol/io/io-mailbox.h"
#include "protocol/io/io-timers.h"

G_BEGIN_DECLS

typedef struct _ChatIoLoop ChatIoLoop;

/* ---- watches ---- */

typedef struct _ChatIoWatch ChatIoWatch;
/* events: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, ... (sys/epoll.h). */
typedef void (*ChatIoReadyFunc)(ChatIoWatch *watch, guint32 events);

struct _ChatIoWatch {
  int fd;
  guint32 events; /* what the epoll set asks for */
  ChatIoReadyFunc ready;
};

/* ---- deferred work ---- */

typedef struct _ChatIoDeferred ChatIoDeferred;
typedef void (*ChatIoDeferredFunc)(ChatIoDeferred *deferred);

struct _ChatIoDeferred {
  ChatIoDeferred *prev;
  ChatIoDeferred *next; /* NULL when not pending */
  ChatIoDeferredFunc run;
};

void chat_io_deferred_init(ChatIoDeferred *deferred, ChatIoDeferredFunc run);
gboolean chat_io_deferred_is_pending(const ChatIoDeferred *deferred);

/* ---- the loop ---- */

/* A new loop, not running yet. NULL with error when the kernel refuses an
 * epoll set or an eventfd (file descriptor limit). */
ChatIoLoop *chat_io_loop_new(GError **error);

/* Frees a loop that is not running (a spawned loop must have been joined
 * with chat_io_loop_join, an attached one is detached here). Its watches,
 * timers and deferred work must be gone. */
void chat_io_loop_free(ChatIoLoop *loop);

/* Runs the loop inside context: its epoll set becomes one GSource. */
void chat_io_loop_attach(ChatIoLoop *loop, GMainContext *context);

/* Runs the loop on a new thread named name until chat_io_loop_quit. */
gboolean chat_io_loop_spawn(ChatIoLoop *loop, const char *name, GError **error);
/* Asks a spawned loop to stop after its current turn (any thread). */
void chat_io_loop_quit(ChatIoLoop *loop);
/* Waits for a spawned loop's thread to end. */
void chat_io_loop_join(ChatIoLoop *loop);

/* The loop that is running on this thread (spawned, or attached and being
 * dispatched or registered with chat_io_loop_attach on this thread), or
 * NULL. */
ChatIoLoop *chat_io_loop_get_current(void);

/* The loop attached to context, made and attached on first use, shared by
 * every user of that context (ChatConnection uses this), with one more
 * user. Never NULL: aborts when no loop can be made. Any thread. */
ChatIoLoop *chat_io_loop_acquire_for_context(GMainContext *context);
/* Drops a user of such a shared loop; the last one frees it (after a
 * dispatch that is running now). */
void chat_io_loop_release(ChatIoLoop *loop);

/* Adds fd to the epoll set with the given events; FALSE (errno set) when
 * the kernel refuses. */
gboolean chat_io_loop_watch(ChatIoLoop *loop, ChatIoWatch *watch, int fd, guint32 events,
                            ChatIoReadyFunc ready);
/* Changes the events asked for (no system call when unchanged). */
void chat_io_loop_rewatch(ChatIoLoop *loop, ChatIoWatch *watch, guint32 events);
/* Takes fd out of the epoll set (before it is closed). */
void chat_io_loop_unwatch(ChatIoLoop *loop, ChatIoWatch *watch);

/* Arms timer to fire delay_ms from now, or disarms it. */
void chat_io_loop_start_timer(ChatIoLoop *loop, ChatIoTimer *timer, guint delay_ms);
void chat_io_loop_stop_timer(ChatIoLoop *loop, ChatIoTimer *timer);

/* The timers' clock, in microseconds: g_get_monotonic_time() plus an offset
 * that only chat_io_clock_advance_for_tests() moves (0 otherwise). Code that
 * measures time against these timers (an idle period) reads this clock. */
gint64 chat_io_now(void);
/* FOR TESTS ONLY: moves the clock forward by us for every loop of the
 * process, so a test sees a timeout fire without waiting for it. Timers
 * never fire later for it, only sooner. A loop notices at its next turn
 * (an attached one when its context next prepares it). */
void chat_io_clock_advance_for_tests(gint64 us);

/* Runs deferred->run once at the end of this turn (or of the next one when
 * called during the deferred phase). No-op when already pending. Never
 * allocates. */
void chat_io_loop_defer(ChatIoLoop *loop, ChatIoDeferred *deferred);
/* Takes it off the list (no-op when not pending). */
void chat_io_loop_cancel_deferred(ChatIoLoop *loop, ChatIoDeferred *deferred);

/* Queues func(target, copy of data) to run on the loop's thread, after
 * everything posted before it (any thread; see io-mailbox.h). */
void chat_io_loop_post(ChatIoLoop *loop, ChatIoTaskFunc func, gpointer target, const void *data,
                       gsize len);

/* Runs one turn, waiting at most timeout_ms for events (-1: until the
 * next timer or event). For loops run by hand (tests). */
void chat_io_loop_iterate(ChatIoLoop *loop, int timeout_ms);

/* TESTS AND DIAGNOSTICS: turns run so far, and file descriptors watched
 * (not counting the loop's own). */
guint64 chat_io_loop_get_turns(ChatIoLoop *loop);
guint chat_io_loop_get_watch_count(ChatIoLoop *loop);

G_END_DECLS
