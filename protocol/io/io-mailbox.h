/* The mailbox of an I/O loop: how other threads hand it work.
 *
 * Any thread posts a task (a function, a target pointer and a copy of some
 * bytes); the loop's thread runs the tasks in the order they were posted.
 * Tasks are appended to one growing buffer under a mutex held only for the
 * copy; the consumer swaps the whole buffer out at once, so a busy mailbox
 * costs one lock and at most one eventfd write per batch, and nothing is
 * allocated per task once the buffers have grown. The eventfd is written
 * only when the mailbox goes from empty to non-empty.
 *
 * Nothing runs while the lock is held: a task may post to any mailbox,
 * its own included (it then runs on the next turn). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*ChatIoTaskFunc)(gpointer target, const guint8 *data, gsize len);

typedef struct _ChatIoMailbox ChatIoMailbox;

/* NULL (with errno) when no eventfd can be made. */
ChatIoMailbox *chat_io_mailbox_new(void);
/* Frees; tasks still queued are dropped without running. */
void chat_io_mailbox_free(ChatIoMailbox *mailbox);

/* The eventfd to watch for input: readable when tasks wait. */
int chat_io_mailbox_fd(ChatIoMailbox *mailbox);

/* Queues func(target, copy of data, len). Any thread. */
void chat_io_mailbox_post(ChatIoMailbox *mailbox, ChatIoTaskFunc func, gpointer target,
                          const void *data, gsize len);

/* Runs every task posted so far, in order (the loop's thread only). Returns
 * how many ran. */
guint chat_io_mailbox_run(ChatIoMailbox *mailbox);

G_END_DECLS
