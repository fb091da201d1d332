/* The mailbox of an I/O loop; see io-mailbox.h. */
#define G_LOG_DOMAIN "chat-io"

#include "protocol/io/io-mailbox.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A consumer buffer larger than this is freed after use, so one burst does
 * not pin memory for the life of the loop. */
#define MAILBOX_RETAIN_BYTES ((gsize)1 << 20)
#define MAILBOX_INITIAL_BYTES 4096u

/* One task in the buffer: this header, then len bytes, padded to 8. */
typedef struct {
  ChatIoTaskFunc func;
  gpointer target;
  gsize len;
} TaskHeader;

#define TASK_ALIGN 8u
#define TASK_SIZE(len) ((sizeof(TaskHeader) + (len) + TASK_ALIGN - 1) & ~(gsize)(TASK_ALIGN - 1))

typedef struct {
  guint8 *data;
  gsize len;
  gsize capacity;
} TaskBuffer;

struct _ChatIoMailbox {
  GMutex lock;
  TaskBuffer pending; /* producers append here, under lock */
  gboolean signalled; /* the eventfd was written since the last swap */
  TaskBuffer running; /* the consumer's batch */
  int wake_fd;
};

ChatIoMailbox *chat_io_mailbox_new(void) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0)
    return NULL;
  ChatIoMailbox *mailbox = g_new0(ChatIoMailbox, 1);
  g_mutex_init(&mailbox->lock);
  mailbox->wake_fd = fd;
  return mailbox;
}

void chat_io_mailbox_free(ChatIoMailbox *mailbox) {
  if (mailbox == NULL)
    return;
  close(mailbox->wake_fd);
  g_free(mailbox->pending.data);
  g_free(mailbox->running.data);
  g_mutex_clear(&mailbox->lock);
  g_free(mailbox);
}

int chat_io_mailbox_fd(ChatIoMailbox *mailbox) {
  return mailbox->wake_fd;
}

static void buffer_reserve(TaskBuffer *buffer, gsize more) {
  if (buffer->capacity - buffer->len >= more)
    return;
  gsize capacity = buffer->capacity ? buffer->capacity : MAILBOX_INITIAL_BYTES;
  while (capacity - buffer->len < more)
    capacity *= 2;
  buffer->data = g_realloc(buffer->data, capacity);
  buffer->capacity = capacity;
}

void chat_io_mailbox_post(ChatIoMailbox *mailbox, ChatIoTaskFunc func, gpointer target,
                          const void *data, gsize len) {
  TaskHeader header = {func, target, len};
  gsize size = TASK_SIZE(len);
  gboolean wake;

  g_mutex_lock(&mailbox->lock);
  buffer_reserve(&mailbox->pending, size);
  guint8 *at = mailbox->pending.data + mailbox->pending.len;
  memcpy(at, &header, sizeof header);
  if (len > 0)
    memcpy(at + sizeof header, data, len);
  mailbox->pending.len += size;
  wake = !mailbox->signalled;
  mailbox->signalled = TRUE;
  g_mutex_unlock(&mailbox->lock);

  if (wake) {
    guint64 one = 1;
    while (write(mailbox->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
      ;
  }
}

guint chat_io_mailbox_run(ChatIoMailbox *mailbox) {
  guint64 count;
  /* Drain the eventfd before taking the batch: a post after the swap
   * writes it again and wakes the next turn. */
  while (read(mailbox->wake_fd, &count, sizeof count) < 0 && errno == EINTR)
    ;

  g_mutex_lock(&mailbox->lock);
  TaskBuffer batch = mailbox->pending;
  mailbox->pending = mailbox->running;
  mailbox->pending.len = 0;
  mailbox->signalled = FALSE;
  g_mutex_unlock(&mailbox->lock);

  guint ran = 0;
  for (gsize at = 0; at < batch.len;) {
    TaskHeader header;
    memcpy(&header, batch.data + at, sizeof header);
    header.func(header.target, batch.data + at + sizeof header, header.len);
    at += TASK_SIZE(header.len);
    ran++;
  }

  if (batch.capacity > MAILBOX_RETAIN_BYTES) {
    g_free(batch.data);
    batch.data = NULL;
    batch.capacity = 0;
  }
  batch.len = 0;
  mailbox->running = batch;
  return ran;
}
