/* The store's public API: submission, the writer, reader and checkpointer
 * threads, and the completion source that runs callbacks on the store's
 * GMainContext.
 *
 * Checkpoints (copying the WAL back into the database, with an fsync) run
 * on a thread of their own, as PASSIVE checkpoints that never block the
 * writer: done inside the writer's commits they stalled every write for
 * milliseconds and were most of the send -> ack p99. The writer asks for
 * one when the WAL passes STORE_CHECKPOINT_PAGES, and runs a blocking one
 * itself only if the WAL still grows past STORE_WAL_LIMIT_PAGES (the
 * checkpointer cannot finish while writes never pause).
 *
 * Requests travel on their embedded GList link through three queues, all
 * under store->lock: writes (to the writer thread), reads (to the reader
 * thread), completions (to the context). A worker that finishes requests
 * appends them to completions and, if that queue was empty, writes the
 * eventfd once; the completion source then takes the whole queue and runs
 * every callback in order in one dispatch. */
#define G_LOG_DOMAIN "chatd-store"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chatd/store-private.h"

G_DEFINE_QUARK(chatd-store-error-quark, chatd_store_error)

/* WAL pages (of 4 KiB) after which the checkpointer is woken: SQLite's own
 * automatic checkpoint threshold. */
#define STORE_CHECKPOINT_PAGES 1000
/* WAL pages after which the writer checkpoints itself (RESTART). */
#define STORE_WAL_LIMIT_PAGES (16 * STORE_CHECKPOINT_PAGES)
/* At most one log line about failed reads and writes per this long. */
#define STORE_FAILURE_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)
/* How long the writer stays idle before it has its last frames copied back. */
#define STORE_IDLE_CHECKPOINT_MS 100
/* Checkpoints run back to back at most, while each copies more. */
#define STORE_CHECKPOINT_ROUNDS 16

struct _ChatdStore {
  GMainContext *context;
  GSource *completion_source;
  int wake_fd; /* eventfd: the workers wake the context through it */
  int schema_version;

  StoreConnection writer;    /* the writer thread's */
  StoreConnection reader;    /* the reader thread's and the loaders', under reader_lock */
  GMutex reader_lock;
  GThread *writer_thread;
  GThread *reader_thread;
  sqlite3 *checkpoint_db;    /* the checkpointer thread's */
  GThread *checkpoint_thread;
  gint wal_pages;            /* the WAL's size after the last commit (written by the writer,
                              * read atomically by get_stats) */
  int wal_pages_at_request;  /* writer thread only: its size when a checkpoint was asked for */
  gboolean dispatching;      /* context thread only: callbacks are running */
  gint64 failure_logged_us;  /* context thread only: the last failure logged */
  guint failures_unlogged;

  GMutex lock;               /* guards every field below */
  GCond writer_cond;
  GCond reader_cond;
  GCond finished_cond;       /* last_finished_seq moved */
  GCond checkpoint_cond;
  gboolean checkpoint_wanted;
  gboolean checkpoint_running;
  GQueue writes;             /* StoreWrite waiting for the writer */
  GQueue reads;              /* StoreRead waiting for the reader */
  GQueue completions;        /* StoreJob waiting for the context */
  gboolean writer_waiting;
  gboolean reader_waiting;
  gboolean closing;          /* refuse submissions */
  gboolean stopping;         /* the threads exit once their queue is empty */
  guint hold_count;
  guint64 last_submitted_seq;
  guint64 last_finished_seq; /* every write up to it is committed or failed */
  gsize writes_in_flight;    /* submitted, completion not yet taken by the context */
  gsize write_bytes_in_flight;
  gsize reads_in_flight;
  ChatdStoreStats stats;
};

typedef struct {
  GSource source;
  ChatdStore *store;
} CompletionSource;

/* ---- records ---- */

static gsize string_size(const char *s) {
  return s != NULL ? strlen(s) + 1 : 0;
}

/* Copies len bytes of src and a NUL to *cursor and advances it. */
static const char *pack_string(char **cursor, const char *src, gsize len) {
  if (src == NULL)
    return NULL;
  char *dst = *cursor;
  memcpy(dst, src, len);
  dst[len] = '\0';
  *cursor += len + 1;
  return dst;
}

/* One allocation holds the record and its strings. */
ChatdMessageRecord *chatd_message_record_copy(const ChatdMessageRecord *record) {
  g_return_val_if_fail(record != NULL, NULL);
  g_return_val_if_fail(record->text == NULL || record->text_len < G_MAXSIZE / 2, NULL);
  gsize text_len = record->text != NULL ? record->text_len : 0;
  gsize color_size = string_size(record->font_color);
  gsize client_id_size = string_size(record->client_msg_id);
  gsize nickname_size = string_size(record->sender_nickname);
  gsize format_size = string_size(record->image_format);
  gsize total = sizeof(ChatdMessageRecord) + (record->text != NULL ? text_len + 1 : 0) +
                color_size + client_id_size + nickname_size + format_size;
  ChatdMessageRecord *copy = g_malloc(total);
  *copy = *record;
  char *cursor = (char *) (copy + 1);
  copy->text = pack_string(&cursor, record->text, text_len);
  copy->text_len = text_len;
  copy->font_color = pack_string(&cursor, record->font_color, color_size - 1);
  copy->client_msg_id = pack_string(&cursor, record->client_msg_id, client_id_size - 1);
  copy->sender_nickname = pack_string(&cursor, record->sender_nickname, nickname_size - 1);
  copy->image_format = pack_string(&cursor, record->image_format, format_size - 1);
  copy->image = record->image != NULL ? g_bytes_ref(record->image) : NULL;
  return copy;
}

void chatd_message_record_free(ChatdMessageRecord *record) {
  if (record == NULL)
    return;
  g_clear_pointer(&record->image, g_bytes_unref);
  g_free(record);
}

/* ---- requests ---- */

static StoreWrite *write_new(StoreWriteKind kind, ChatdStoreDone done, gpointer user_data) {
  StoreWrite *w = g_new0(StoreWrite, 1);
  w->job.type = STORE_JOB_WRITE;
  w->job.link.data = w;
  w->kind = kind;
  w->done = done;
  w->user_data = user_data;
  return w;
}

static void write_free(StoreWrite *w) {
  switch (w->kind) {
  case STORE_WRITE_ADD_USER:
    g_free(w->op.add_user.username);
    g_free(w->op.add_user.nickname);
    g_free(w->op.add_user.password_hash);
    break;
  case STORE_WRITE_SET_PASSWORD_HASH:
  case STORE_WRITE_SET_NICKNAME:
    g_free(w->op.set_user_text.value);
    break;
  case STORE_WRITE_ADD_ROOM:
    g_free(w->op.add_room.room_name);
    break;
  case STORE_WRITE_ADD_MESSAGE:
    chatd_message_record_free(w->op.message.record);
    g_free(w->op.message.offline_recipients);
    break;
  default:
    break;
  }
  g_clear_error(&w->error);
  g_free(w);
}

static StoreRead *read_new(StoreReadKind kind, gpointer user_data) {
  StoreRead *r = g_new0(StoreRead, 1);
  r->job.type = STORE_JOB_READ;
  r->job.link.data = r;
  r->kind = kind;
  r->user_data = user_data;
  return r;
}

static void read_free(StoreRead *r) {
  g_clear_pointer(&r->results, g_ptr_array_unref);
  chatd_message_record_free(r->record);
  g_clear_error(&r->error);
  g_free(r);
}

static void job_free(StoreJob *job) {
  if (job->type == STORE_JOB_WRITE)
    write_free((StoreWrite *) job);
  else
    read_free((StoreRead *) job);
}

/* Runs the job's callback. */
static void job_complete(StoreJob *job) {
  if (job->type == STORE_JOB_WRITE) {
    StoreWrite *w = (StoreWrite *) job;
    if (w->kind == STORE_WRITE_ADD_MESSAGE) {
      if (w->message_done != NULL)
        w->message_done(w->error, w->error == NULL && w->inserted,
                        w->error == NULL ? w->stored_id : 0, w->user_data);
    } else if (w->done != NULL) {
      w->done(w->error, w->user_data);
    }
    return;
  }
  StoreRead *r = (StoreRead *) job;
  switch (r->kind) {
  case STORE_READ_HISTORY:
  case STORE_READ_FULL_HISTORY:
    r->callback.messages(r->error, r->results, r->more, r->user_data);
    break;
  case STORE_READ_CONVERSATIONS:
    r->callback.conversations(r->error, r->results, r->user_data);
    break;
  case STORE_READ_MESSAGE:
    r->callback.record(r->error, r->record, r->user_data);
    break;
  }
}

/* ---- completions ---- */

static void wake_context(ChatdStore *store) {
  const guint64 one = 1;
  ssize_t n;
  do
    n = write(store->wake_fd, &one, sizeof one);
  while (n < 0 && errno == EINTR);
  /* EAGAIN: the counter is saturated, the context is being woken anyway */
  if (n < 0 && errno != EAGAIN)
    g_critical("cannot wake the store's context: %s", g_strerror(errno));
}

static void drain_wake_fd(ChatdStore *store) {
  guint64 count;
  ssize_t n;
  do
    n = read(store->wake_fd, &count, sizeof count);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN)
    g_critical("cannot read the store's eventfd: %s", g_strerror(errno));
}

/* Appends a finished job to the completions; wakes the context when the
 * queue was empty (else a wake-up is already pending). store->lock held. */
static void push_completion_locked(ChatdStore *store, StoreJob *job) {
  gboolean was_empty = g_queue_is_empty(&store->completions);
  g_queue_push_tail_link(&store->completions, &job->link);
  if (was_empty)
    wake_context(store);
}

/* A read or write that failed for the database's sake (an I/O error, a
 * full disk, a damaged page, a lock held too long) is worth a line in the
 * log, whatever the caller does with it: at most one per
 * STORE_FAILURE_LOG_INTERVAL_US, with the count of the others. A broken
 * rule (constraint, missing row) is the caller's answer, not the disk's. */
static void log_failed_job(ChatdStore *store, StoreJob *job) {
  const GError *error = job->type == STORE_JOB_WRITE ? ((StoreWrite *)job)->error
                                                     : ((StoreRead *)job)->error;
  if (error == NULL || g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CONSTRAINT) ||
      g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND))
    return;
  store->failures_unlogged++;
  gint64 now = g_get_monotonic_time();
  if (store->failure_logged_us != 0 && now - store->failure_logged_us < STORE_FAILURE_LOG_INTERVAL_US)
    return;
  g_warning("a database %s failed: %s (%u failure%s since the last such line)",
            job->type == STORE_JOB_WRITE ? "write" : "read", error->message,
            store->failures_unlogged, store->failures_unlogged == 1 ? "" : "s");
  store->failure_logged_us = now;
  store->failures_unlogged = 0;
}

/* Takes every pending completion and runs the callbacks in order. Runs on
 * the context's thread. */
static void deliver_completions(ChatdStore *store) {
  g_mutex_lock(&store->lock);
  drain_wake_fd(store);
  GQueue ready = store->completions;
  g_queue_init(&store->completions);
  /* the bounds count until the context takes the job: callbacks that submit
   * again see the room these jobs leave */
  for (GList *l = ready.head; l != NULL; l = l->next) {
    StoreJob *job = l->data;
    if (job->type == STORE_JOB_WRITE) {
      store->writes_in_flight--;
      store->write_bytes_in_flight -= ((StoreWrite *) job)->cost_bytes;
    } else {
      store->reads_in_flight--;
    }
  }
  g_mutex_unlock(&store->lock);

  store->dispatching = TRUE;
  GList *link;
  while ((link = g_queue_pop_head_link(&ready)) != NULL) {
    StoreJob *job = link->data;
    log_failed_job(store, job);
    job_complete(job);
    job_free(job);
  }
  store->dispatching = FALSE;
}

static gboolean completion_dispatch(GSource *source, GSourceFunc callback, gpointer data) {
  (void) callback;
  (void) data;
  deliver_completions(((CompletionSource *) source)->store);
  return G_SOURCE_CONTINUE;
}

/* No prepare/check: GLib dispatches the source when its fd is readable. */
static GSourceFuncs completion_source_funcs = {
  .dispatch = completion_dispatch,
};

/* ---- the writer ---- */

/* Gives cause to every write in [from, stop) that has no error yet. */
static void fail_writes(GList *from, GList *stop, const GError *cause) {
  for (GList *l = from; l != stop; l = l->next) {
    StoreWrite *w = l->data;
    if (w->error == NULL)
      w->error = g_error_copy(cause);
  }
}

/* Whether w changes the database with more than one statement. SQLite
 * backs out a failing statement by itself and leaves the transaction open
 * (or rolls the whole transaction back, which run_batch() detects), so a
 * write of one modifying statement is already atomic; the others need a
 * savepoint. Skipping it for single statements is worth ~30% of message
 * throughput (tests/bench-store.c). */
static gboolean write_needs_savepoint(const StoreWrite *w) {
  switch (w->kind) {
  case STORE_WRITE_ACCEPT_FRIEND_REQUEST:
    return TRUE;
  case STORE_WRITE_ADD_MESSAGE:
    return w->op.message.n_offline > 0;
  default:
    return FALSE;
  }
}

/* Runs one write so that on failure only this write is undone and w->error
 * says why. */
static gboolean apply_one(StoreConnection *conn, StoreWrite *w) {
  if (!write_needs_savepoint(w))
    return chatd_store_sql_apply_write(conn, w, &w->error);
  if (!chatd_store_sql_exec(conn, STORE_STMT_SAVEPOINT, &w->error))
    return FALSE;
  gboolean ok = chatd_store_sql_apply_write(conn, w, &w->error) &&
                chatd_store_sql_exec(conn, STORE_STMT_RELEASE, &w->error);
  if (!ok && !sqlite3_get_autocommit(conn->db)) {
    if (chatd_store_sql_exec(conn, STORE_STMT_ROLLBACK_TO, NULL))
      chatd_store_sql_exec(conn, STORE_STMT_RELEASE, NULL);
    else  /* cannot undo just this write: give up the whole transaction */
      chatd_store_sql_exec(conn, STORE_STMT_ROLLBACK, NULL);
  }
  return ok;
}

/* Commits the batch's writes in one transaction (more only if SQLite rolls
 * one back by itself); returns the number of commits. Each write ends with
 * w->error set or not. */
static guint run_batch(StoreConnection *conn, GQueue *batch) {
  guint commits = 0;
  GList *txn_first = NULL; /* the first write of the open transaction */
  for (GList *l = batch->head; l != NULL; l = l->next) {
    StoreWrite *w = l->data;
    if (txn_first == NULL) {
      g_autoptr(GError) begin_error = NULL;
      if (!chatd_store_sql_exec(conn, STORE_STMT_BEGIN, &begin_error)) {
        fail_writes(l, NULL, begin_error);
        return commits;
      }
      txn_first = l;
    }
    if (!apply_one(conn, w) && sqlite3_get_autocommit(conn->db)) {
      /* SQLite rolled the transaction back (I/O error, disk full, ...): the
       * earlier writes of this transaction are lost as well */
      g_autoptr(GError) lost = g_error_new(w->error->domain, w->error->code,
                                           "rolled back with its batch: %s",
                                           w->error->message);
      fail_writes(txn_first, l, lost);
      txn_first = NULL;
    }
  }
  if (txn_first != NULL) {
    g_autoptr(GError) commit_error = NULL;
    if (chatd_store_sql_exec(conn, STORE_STMT_COMMIT, &commit_error)) {
      commits++;
    } else {
      if (!sqlite3_get_autocommit(conn->db))
        chatd_store_sql_exec(conn, STORE_STMT_ROLLBACK, NULL);
      fail_writes(txn_first, NULL, commit_error);
    }
  }
  return commits;
}

/* ---- checkpoints ---- */

/* The writer thread asks the checkpointer to copy the WAL back. */
static void request_checkpoint(ChatdStore *store) {
  store->wal_pages_at_request = g_atomic_int_get(&store->wal_pages);
  g_mutex_lock(&store->lock);
  if (!store->checkpoint_wanted) {
    store->checkpoint_wanted = TRUE;
    g_cond_signal(&store->checkpoint_cond);
  }
  g_mutex_unlock(&store->lock);
}

/* Frames written since the last request (writer thread). The writer asks
 * for them when it has been idle STORE_IDLE_CHECKPOINT_MS: the next write
 * can then start the WAL over (frames never copied back keep it growing). */
static gboolean has_uncopied_pages(ChatdStore *store) {
  return g_atomic_int_get(&store->wal_pages) > store->wal_pages_at_request;
}

/* SQLite calls this in the writer thread after each commit, with the WAL's
 * size in pages. Installing it also turns SQLite's automatic (in-commit)
 * checkpoints off. */
static int on_wal_commit(void *data, sqlite3 *db, const char *name, int pages) {
  ChatdStore *store = data;
  (void)db, (void)name;
  g_atomic_int_set(&store->wal_pages, pages);
  if (pages < store->wal_pages_at_request)
    store->wal_pages_at_request = 0;  /* the WAL started over */
  /* Once per STORE_CHECKPOINT_PAGES new pages, not after every commit:
   * each checkpoint ends with an fsync. */
  if (pages >= store->wal_pages_at_request + STORE_CHECKPOINT_PAGES)
    request_checkpoint(store);
  return SQLITE_OK;
}

static gpointer checkpoint_main(gpointer data) {
  ChatdStore *store = data;
  for (;;) {
    g_mutex_lock(&store->lock);
    while (!store->stopping && !store->checkpoint_wanted)
      g_cond_wait(&store->checkpoint_cond, &store->lock);
    gboolean stop = store->stopping;
    store->checkpoint_wanted = FALSE;
    store->checkpoint_running = !stop;
    g_mutex_unlock(&store->lock);
    if (stop)
      return NULL;
    /* Again while it makes progress: the WAL is reused from its start only
     * once everything in it is copied back, and the writer may have added
     * frames meanwhile. */
    int frames = 0, copied = 0, previous = -1;
    for (int round = 0; round < STORE_CHECKPOINT_ROUNDS && copied != previous; round++) {
      previous = copied;
      int rc = sqlite3_wal_checkpoint_v2(store->checkpoint_db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                         &frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        g_warning("checkpoint: %s", sqlite3_errmsg(store->checkpoint_db));
        break;
      }
      if (copied >= frames)
        break;
    }
    g_mutex_lock(&store->lock);
    store->stats.checkpoints++;
    store->stats.wal_frames_checkpointed = (guint64)MAX(copied, 0);
    store->checkpoint_running = FALSE;
    g_mutex_unlock(&store->lock);
  }
}

/* The checkpointer could not keep the WAL small (writes never paused long
 * enough): the writer waits for a full checkpoint once. */
static void limit_wal(ChatdStore *store) {
  if (g_atomic_int_get(&store->wal_pages) < STORE_WAL_LIMIT_PAGES)
    return;
  int rc = sqlite3_wal_checkpoint_v2(store->writer.db, NULL, SQLITE_CHECKPOINT_RESTART, NULL,
                                     NULL);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    g_warning("checkpoint of a %d-page WAL: %s", store->wal_pages,
              sqlite3_errmsg(store->writer.db));
  g_atomic_int_set(&store->wal_pages, 0);
  store->wal_pages_at_request = 0;
}

static gpointer writer_main(gpointer data) {
  ChatdStore *store = data;
  for (;;) {
    GQueue batch = G_QUEUE_INIT;
    g_mutex_lock(&store->lock);
    while (!store->stopping && (g_queue_is_empty(&store->writes) || store->hold_count > 0)) {
      store->writer_waiting = TRUE;
      if (has_uncopied_pages(store)) {
        /* Idle with frames not copied back: after a pause, ask for them. */
        gint64 until = g_get_monotonic_time() + STORE_IDLE_CHECKPOINT_MS * G_TIME_SPAN_MILLISECOND;
        if (!g_cond_wait_until(&store->writer_cond, &store->lock, until)) {
          g_mutex_unlock(&store->lock);
          request_checkpoint(store);
          g_mutex_lock(&store->lock);
        }
      } else {
        g_cond_wait(&store->writer_cond, &store->lock);
      }
      store->writer_waiting = FALSE;
    }
    GList *link;
    while (batch.length < CHATD_STORE_MAX_BATCH_WRITES &&
           (link = g_queue_pop_head_link(&store->writes)) != NULL)
      g_queue_push_tail_link(&batch, link);
    g_mutex_unlock(&store->lock);
    if (g_queue_is_empty(&batch))
      return NULL; /* stopping, and everything is written */

    guint commits = run_batch(&store->writer, &batch);
    limit_wal(store);

    g_mutex_lock(&store->lock);
    store->stats.transactions += commits;
    store->stats.largest_batch = MAX(store->stats.largest_batch, batch.length);
    store->last_finished_seq = ((StoreWrite *) g_queue_peek_tail(&batch))->seq;
    while ((link = g_queue_pop_head_link(&batch)) != NULL) {
      StoreWrite *w = link->data;
      if (w->error == NULL)
        store->stats.writes_committed++;
      else
        store->stats.writes_failed++;
      push_completion_locked(store, &w->job);
    }
    g_cond_broadcast(&store->finished_cond);
    g_mutex_unlock(&store->lock);
  }
}

/* ---- the reader ---- */

static gpointer reader_main(gpointer data) {
  ChatdStore *store = data;
  for (;;) {
    g_mutex_lock(&store->lock);
    while (!store->stopping && g_queue_is_empty(&store->reads)) {
      store->reader_waiting = TRUE;
      g_cond_wait(&store->reader_cond, &store->lock);
      store->reader_waiting = FALSE;
    }
    GList *link = g_queue_pop_head_link(&store->reads);
    g_mutex_unlock(&store->lock);
    if (link == NULL)
      return NULL; /* stopping, and every read is done */

    StoreRead *r = link->data;
    g_mutex_lock(&store->reader_lock);
    chatd_store_sql_run_read(&store->reader, r, &r->error);
    g_mutex_unlock(&store->reader_lock);

    g_mutex_lock(&store->lock);
    store->stats.reads++;
    push_completion_locked(store, &r->job);
    g_mutex_unlock(&store->lock);
  }
}

/* ---- submission ---- */

/* Queues w for the writer, or frees it and returns FALSE when the store is
 * saturated or closing. */
static gboolean submit_write(ChatdStore *store, StoreWrite *w) {
  g_mutex_lock(&store->lock);
  if (store->closing || store->writes_in_flight >= CHATD_STORE_MAX_WRITES_IN_FLIGHT ||
      w->cost_bytes > CHATD_STORE_MAX_WRITE_BYTES_IN_FLIGHT - store->write_bytes_in_flight) {
    store->stats.writes_rejected++;
    g_mutex_unlock(&store->lock);
    write_free(w);
    return FALSE;
  }
  w->seq = ++store->last_submitted_seq;
  store->writes_in_flight++;
  store->write_bytes_in_flight += w->cost_bytes;
  g_queue_push_tail_link(&store->writes, &w->job.link);
  if (store->writer_waiting && store->hold_count == 0)
    g_cond_signal(&store->writer_cond);
  g_mutex_unlock(&store->lock);
  return TRUE;
}

static gboolean submit_read(ChatdStore *store, StoreRead *r) {
  g_mutex_lock(&store->lock);
  if (store->closing || store->reads_in_flight >= CHATD_STORE_MAX_READS_IN_FLIGHT) {
    g_mutex_unlock(&store->lock);
    read_free(r);
    return FALSE;
  }
  store->reads_in_flight++;
  g_queue_push_tail_link(&store->reads, &r->job.link);
  if (store->reader_waiting)
    g_cond_signal(&store->reader_cond);
  g_mutex_unlock(&store->lock);
  return TRUE;
}

static gsize text_cost(const char *s) {
  return s != NULL ? strlen(s) : 0;
}

/* ---- lifetime ---- */

/* Stops the threads after their queues are empty; refuses submissions. */
static void stop_threads(ChatdStore *store) {
  g_mutex_lock(&store->lock);
  store->closing = TRUE;
  store->stopping = TRUE;
  store->hold_count = 0;
  g_cond_signal(&store->writer_cond);
  g_cond_signal(&store->reader_cond);
  g_cond_signal(&store->checkpoint_cond);
  g_mutex_unlock(&store->lock);
  if (store->checkpoint_thread != NULL)
    g_thread_join(g_steal_pointer(&store->checkpoint_thread));
  if (store->writer_thread != NULL)
    g_thread_join(g_steal_pointer(&store->writer_thread));
  if (store->reader_thread != NULL)
    g_thread_join(g_steal_pointer(&store->reader_thread));
}

/* Releases everything; the threads must be stopped. */
static void store_free(ChatdStore *store) {
  GList *link;
  while ((link = g_queue_pop_head_link(&store->completions)) != NULL)
    job_free(link->data);
  if (store->completion_source != NULL) {
    g_source_destroy(store->completion_source);
    g_clear_pointer(&store->completion_source, g_source_unref);
  }
  if (store->wake_fd >= 0)
    close(store->wake_fd);
  /* the writer last: closing the last connection checkpoints the WAL */
  sqlite3_close(store->checkpoint_db);
  chatd_store_sql_close(&store->reader);
  chatd_store_sql_close(&store->writer);
  g_main_context_unref(store->context);
  g_mutex_clear(&store->reader_lock);
  g_mutex_clear(&store->lock);
  g_cond_clear(&store->writer_cond);
  g_cond_clear(&store->reader_cond);
  g_cond_clear(&store->finished_cond);
  g_cond_clear(&store->checkpoint_cond);
  g_free(store);
}

ChatdStore *chatd_store_open(const char *path, GMainContext *context, GError **error) {
  return chatd_store_open_with(path, context, CHATD_STORE_DURABILITY_FSYNC, error);
}

ChatdStore *chatd_store_open_with(const char *path, GMainContext *context,
                                  ChatdStoreDurability durability, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GError) thread_error = NULL;
  ChatdStore *store = g_new0(ChatdStore, 1);
  g_mutex_init(&store->reader_lock);
  g_mutex_init(&store->lock);
  g_cond_init(&store->writer_cond);
  g_cond_init(&store->reader_cond);
  g_cond_init(&store->finished_cond);
  g_cond_init(&store->checkpoint_cond);
  g_queue_init(&store->writes);
  g_queue_init(&store->reads);
  g_queue_init(&store->completions);
  store->wake_fd = -1;
  store->context = g_main_context_ref(context != NULL ? context : g_main_context_default());
  store->writer.role = STORE_ROLE_WRITER;
  store->reader.role = STORE_ROLE_READER;

  store->writer.db =
      chatd_store_schema_open_writer(path, durability, &store->schema_version, error);
  if (store->writer.db == NULL || !chatd_store_sql_prepare(&store->writer, error))
    goto fail;
  store->reader.db = chatd_store_schema_open_reader(path, error);
  if (store->reader.db == NULL || !chatd_store_sql_prepare(&store->reader, error))
    goto fail;
  store->checkpoint_db = chatd_store_schema_open_checkpointer(path, error);
  if (store->checkpoint_db == NULL)
    goto fail;
  sqlite3_wal_hook(store->writer.db, on_wal_commit, store);

  store->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (store->wake_fd < 0) {
    int saved = errno;
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot create an eventfd: %s",
                g_strerror(saved));
    goto fail;
  }
  store->completion_source = g_source_new(&completion_source_funcs, sizeof(CompletionSource));
  ((CompletionSource *) store->completion_source)->store = store;
  g_source_set_name(store->completion_source, "chatd-store completions");
  g_source_add_unix_fd(store->completion_source, store->wake_fd, G_IO_IN);
  g_source_attach(store->completion_source, store->context);

  store->writer_thread = g_thread_try_new("chatd-store-w", writer_main, store, &thread_error);
  if (store->writer_thread != NULL)
    store->reader_thread = g_thread_try_new("chatd-store-r", reader_main, store, &thread_error);
  if (store->reader_thread != NULL)
    store->checkpoint_thread =
        g_thread_try_new("chatd-store-c", checkpoint_main, store, &thread_error);
  if (store->checkpoint_thread == NULL) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot start a thread: %s",
                thread_error->message);
    goto fail;
  }
  g_debug("opened %s (schema version %d)", path, store->schema_version);
  return store;

fail:
  stop_threads(store);
  store_free(store);
  return NULL;
}

void chatd_store_close(ChatdStore *store) {
  if (store == NULL)
    return;
  g_return_if_fail(!store->dispatching);
  stop_threads(store); /* the writer commits everything queued first */
  if (g_main_context_acquire(store->context)) {
    deliver_completions(store);
    g_main_context_release(store->context);
  } else {
    g_critical("chatd_store_close: another thread runs the store's context; "
               "%u pending completions are dropped", store->completions.length);
  }
  store_free(store);
}

void chatd_store_flush(ChatdStore *store) {
  g_return_if_fail(store != NULL);
  g_mutex_lock(&store->lock);
  if (store->hold_count > 0) {
    g_mutex_unlock(&store->lock);
    g_critical("chatd_store_flush: writes are held, the flush would never end");
    return;
  }
  guint64 target = store->last_submitted_seq;
  while (store->last_finished_seq < target)
    g_cond_wait(&store->finished_cond, &store->lock);
  g_mutex_unlock(&store->lock);
}

void chatd_store_hold_writes(ChatdStore *store) {
  g_return_if_fail(store != NULL);
  g_mutex_lock(&store->lock);
  store->hold_count++;
  g_mutex_unlock(&store->lock);
}

void chatd_store_release_writes(ChatdStore *store) {
  g_return_if_fail(store != NULL);
  g_mutex_lock(&store->lock);
  if (store->hold_count > 0 && --store->hold_count == 0 && store->writer_waiting)
    g_cond_signal(&store->writer_cond);
  g_mutex_unlock(&store->lock);
}

int chatd_store_schema_version(ChatdStore *store) {
  g_return_val_if_fail(store != NULL, 0);
  return store->schema_version;
}

void chatd_store_get_stats(ChatdStore *store, ChatdStoreStats *stats) {
  g_return_if_fail(store != NULL && stats != NULL);
  g_mutex_lock(&store->lock);
  *stats = store->stats;
  stats->checkpoint_pending = store->checkpoint_wanted || store->checkpoint_running;
  stats->wal_frames = (guint64)g_atomic_int_get(&store->wal_pages);
  g_mutex_unlock(&store->lock);
}

/* ---- loaders ---- */

/* The loaders run on the caller's thread with the reader connection, which
 * the reader thread shares: reader_lock keeps them apart. A loader's func
 * must not call another loader. */

gboolean chatd_store_foreach_user(ChatdStore *store, ChatdStoreUserFunc func,
                                  gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_user(&store->reader, func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_friend(ChatdStore *store, ChatdStorePairFunc func,
                                    gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_pair(&store->reader, STORE_STMT_SELECT_FRIENDS,
                                             func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_friend_request(ChatdStore *store, ChatdStorePairFunc func,
                                            gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_pair(&store->reader, STORE_STMT_SELECT_FRIEND_REQUESTS,
                                             func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_room(ChatdStore *store, ChatdStoreRoomFunc func,
                                  gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_room(&store->reader, func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_member(ChatdStore *store, ChatdStoreMemberFunc func,
                                    gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_member(&store->reader, func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_session(ChatdStore *store, ChatdStoreSessionFunc func,
                                     gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_foreach_session(&store->reader, func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_max_ids(ChatdStore *store, gint64 *max_user_id, gint64 *max_room_id,
                             gint64 *max_message_id, GError **error) {
  g_return_val_if_fail(store != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok = chatd_store_sql_max_ids(&store->reader, max_user_id, max_room_id,
                                        max_message_id, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

/* ---- writes ---- */

gboolean chatd_store_add_user(ChatdStore *store, gint64 id, const char *username,
                              const char *nickname, const char *password_hash,
                              gint64 created_ms, ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_ADD_USER, done, user_data);
  w->op.add_user.id = id;
  w->op.add_user.username = g_strdup(username);
  w->op.add_user.nickname = g_strdup(nickname);
  w->op.add_user.password_hash = g_strdup(password_hash);
  w->op.add_user.created_ms = created_ms;
  w->cost_bytes = text_cost(username) + text_cost(nickname) + text_cost(password_hash);
  return submit_write(store, w);
}

static gboolean submit_set_user_text(ChatdStore *store, StoreWriteKind kind, gint64 user_id,
                                     const char *value, ChatdStoreDone done,
                                     gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  w->op.set_user_text.user_id = user_id;
  w->op.set_user_text.value = g_strdup(value);
  w->cost_bytes = text_cost(value);
  return submit_write(store, w);
}

gboolean chatd_store_set_password_hash(ChatdStore *store, gint64 user_id,
                                       const char *password_hash, ChatdStoreDone done,
                                       gpointer user_data) {
  return submit_set_user_text(store, STORE_WRITE_SET_PASSWORD_HASH, user_id, password_hash,
                              done, user_data);
}

gboolean chatd_store_set_nickname(ChatdStore *store, gint64 user_id, const char *nickname,
                                  ChatdStoreDone done, gpointer user_data) {
  return submit_set_user_text(store, STORE_WRITE_SET_NICKNAME, user_id, nickname, done,
                              user_data);
}

static gboolean submit_friend_request(ChatdStore *store, StoreWriteKind kind,
                                      gint64 from_user_id, gint64 to_user_id, gint64 ms,
                                      ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  w->op.friend_request.from_user_id = from_user_id;
  w->op.friend_request.to_user_id = to_user_id;
  w->op.friend_request.ms = ms;
  return submit_write(store, w);
}

gboolean chatd_store_add_friend_request(ChatdStore *store, gint64 from_user_id,
                                        gint64 to_user_id, gint64 created_ms,
                                        ChatdStoreDone done, gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_ADD_FRIEND_REQUEST, from_user_id,
                               to_user_id, created_ms, done, user_data);
}

gboolean chatd_store_accept_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, gint64 since_ms,
                                           ChatdStoreDone done, gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_ACCEPT_FRIEND_REQUEST, from_user_id,
                               to_user_id, since_ms, done, user_data);
}

gboolean chatd_store_delete_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, ChatdStoreDone done,
                                           gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_DELETE_FRIEND_REQUEST, from_user_id,
                               to_user_id, 0, done, user_data);
}

gboolean chatd_store_add_room(ChatdStore *store, gint64 id, const char *room_name,
                              gint64 creator_id, gint64 created_ms, ChatdStoreDone done,
                              gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_ADD_ROOM, done, user_data);
  w->op.add_room.id = id;
  w->op.add_room.room_name = g_strdup(room_name);
  w->op.add_room.creator_id = creator_id;
  w->op.add_room.created_ms = created_ms;
  w->cost_bytes = text_cost(room_name);
  return submit_write(store, w);
}

static gboolean submit_member(ChatdStore *store, StoreWriteKind kind, gint64 room_id,
                              gint64 user_id, gint64 first_message_id, gint64 joined_ms,
                              ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  w->op.member.room_id = room_id;
  w->op.member.user_id = user_id;
  w->op.member.first_message_id = first_message_id;
  w->op.member.joined_ms = joined_ms;
  return submit_write(store, w);
}

gboolean chatd_store_add_member(ChatdStore *store, gint64 room_id, gint64 user_id,
                                gint64 first_message_id, gint64 joined_ms,
                                ChatdStoreDone done, gpointer user_data) {
  return submit_member(store, STORE_WRITE_ADD_MEMBER, room_id, user_id, first_message_id,
                       joined_ms, done, user_data);
}

gboolean chatd_store_remove_member(ChatdStore *store, gint64 room_id, gint64 user_id,
                                   ChatdStoreDone done, gpointer user_data) {
  return submit_member(store, STORE_WRITE_REMOVE_MEMBER, room_id, user_id, 0, 0, done,
                       user_data);
}

static gboolean submit_session(ChatdStore *store, StoreWriteKind kind,
                               const guint8 *token_hash, gint64 user_id, gint64 ms,
                               ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  if (token_hash != NULL)
    memcpy(w->op.session.token_hash, token_hash, CHATD_STORE_TOKEN_HASH_LEN);
  w->op.session.user_id = user_id;
  w->op.session.ms = ms;
  return submit_write(store, w);
}

gboolean chatd_store_add_session(ChatdStore *store,
                                 const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                 gint64 user_id, gint64 created_ms, ChatdStoreDone done,
                                 gpointer user_data) {
  g_return_val_if_fail(token_hash != NULL, FALSE);
  return submit_session(store, STORE_WRITE_ADD_SESSION, token_hash, user_id, created_ms, done,
                        user_data);
}

gboolean chatd_store_touch_session(ChatdStore *store,
                                   const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                   gint64 last_used_ms, ChatdStoreDone done,
                                   gpointer user_data) {
  g_return_val_if_fail(token_hash != NULL, FALSE);
  return submit_session(store, STORE_WRITE_TOUCH_SESSION, token_hash, 0, last_used_ms, done,
                        user_data);
}

gboolean chatd_store_revoke_session(ChatdStore *store,
                                    const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(token_hash != NULL, FALSE);
  return submit_session(store, STORE_WRITE_REVOKE_SESSION, token_hash, 0, 0, done,
                        user_data);
}

gboolean chatd_store_revoke_user_sessions(ChatdStore *store, gint64 user_id,
                                          ChatdStoreDone done, gpointer user_data) {
  return submit_session(store, STORE_WRITE_REVOKE_USER_SESSIONS, NULL, user_id, 0, done,
                        user_data);
}

gboolean chatd_store_rotate_session(ChatdStore *store,
                                    const guint8 old_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    const guint8 new_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    gint64 user_id, gint64 created_ms, ChatdStoreDone done,
                                    gpointer user_data) {
  g_return_val_if_fail(store != NULL && old_hash != NULL && new_hash != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_ROTATE_SESSION, done, user_data);
  memcpy(w->op.session.old_hash, old_hash, CHATD_STORE_TOKEN_HASH_LEN);
  memcpy(w->op.session.token_hash, new_hash, CHATD_STORE_TOKEN_HASH_LEN);
  w->op.session.user_id = user_id;
  w->op.session.ms = created_ms;
  return submit_write(store, w);
}

gboolean chatd_store_forget_sessions_before(ChatdStore *store, gint64 created_ms,
                                            ChatdStoreDone done, gpointer user_data) {
  return submit_session(store, STORE_WRITE_FORGET_SESSIONS_BEFORE, NULL, 0, created_ms, done,
                        user_data);
}

gboolean chatd_store_mark_read(ChatdStore *store, gint64 user_id, int target_type,
                               gint64 target_id, gint64 last_read_id, ChatdStoreDone done,
                               gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_MARK_READ, done, user_data);
  w->op.mark_read.user_id = user_id;
  w->op.mark_read.target_type = target_type;
  w->op.mark_read.target_id = target_id;
  w->op.mark_read.last_read_id = last_read_id;
  return submit_write(store, w);
}

gboolean chatd_store_clear_offline(ChatdStore *store, gint64 user_id, gint64 up_to_message_id,
                                   ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_CLEAR_OFFLINE, done, user_data);
  w->op.clear_offline.user_id = user_id;
  w->op.clear_offline.up_to_message_id = up_to_message_id;
  return submit_write(store, w);
}

gboolean chatd_store_add_message(ChatdStore *store, const ChatdMessageRecord *record,
                                 const gint64 *offline_recipients, gsize n_offline,
                                 ChatdStoreMessageDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL && record != NULL, FALSE);
  g_return_val_if_fail(n_offline == 0 || offline_recipients != NULL, FALSE);
  g_return_val_if_fail(n_offline <= CHATD_STORE_MAX_WRITE_BYTES_IN_FLIGHT / sizeof(gint64),
                       FALSE);
  g_return_val_if_fail(record->text == NULL || record->text_len < G_MAXSIZE / 2, FALSE);

  ChatdMessageRecord submitted = *record;
  submitted.sender_nickname = NULL; /* read-only fields */
  submitted.offline = FALSE;
  StoreWrite *w = write_new(STORE_WRITE_ADD_MESSAGE, NULL, user_data);
  w->message_done = done;
  w->op.message.record = chatd_message_record_copy(&submitted);
  if (n_offline > 0)
    w->op.message.offline_recipients = g_memdup2(offline_recipients, n_offline * sizeof(gint64));
  w->op.message.n_offline = n_offline;
  w->cost_bytes = (record->text != NULL ? record->text_len : 0) +
                  (record->image != NULL ? g_bytes_get_size(record->image) : 0) +
                  text_cost(record->font_color) + text_cost(record->client_msg_id) +
                  n_offline * sizeof(gint64);
  return submit_write(store, w);
}

/* ---- reads ---- */

/* No bound: every message, every image. */
static const ChatdStorePageBound unbounded = {0, 0, 0, G_MAXSIZE};

gboolean chatd_store_history(ChatdStore *store, gint64 viewer_id, int target_type,
                             gint64 target_id, gint64 before_id,
                             const ChatdStorePageBound *bound, ChatdStoreMessagesDone callback,
                             gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  g_return_val_if_fail(target_type == CHATD_STORE_TARGET_USER ||
                         target_type == CHATD_STORE_TARGET_ROOM,
                       FALSE);
  StoreRead *r = read_new(STORE_READ_HISTORY, user_data);
  r->viewer_id = viewer_id;
  r->target_type = target_type;
  r->target_id = target_id;
  r->before_id = before_id;
  r->bound = bound ? *bound : unbounded;
  if (r->bound.limit == 0 || r->bound.limit > CHATD_STORE_MAX_HISTORY_PAGE)
    r->bound.limit = CHATD_STORE_MAX_HISTORY_PAGE;
  r->callback.messages = callback;
  return submit_read(store, r);
}

gboolean chatd_store_full_history(ChatdStore *store, gint64 user_id,
                                  const ChatdStorePageBound *bound,
                                  ChatdStoreMessagesDone callback, gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  StoreRead *r = read_new(STORE_READ_FULL_HISTORY, user_data);
  r->viewer_id = user_id;
  r->bound = bound ? *bound : unbounded;
  r->callback.messages = callback;
  return submit_read(store, r);
}

gboolean chatd_store_conversations(ChatdStore *store, gint64 user_id,
                                   ChatdStoreConversationsDone callback, gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  StoreRead *r = read_new(STORE_READ_CONVERSATIONS, user_data);
  r->viewer_id = user_id;
  r->callback.conversations = callback;
  return submit_read(store, r);
}

gboolean chatd_store_message(ChatdStore *store, gint64 message_id,
                             ChatdStoreRecordDone callback, gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  StoreRead *r = read_new(STORE_READ_MESSAGE, user_data);
  r->message_id = message_id;
  r->callback.record = callback;
  return submit_read(store, r);
}
