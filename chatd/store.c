/* The store's public lifetime (open, close, flush, hold, stats), message
 * records, and the completion source that runs callbacks on the store's
 * GMainContext. The write path is store-writer.c, the read path
 * store-reader.c.
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

#include "chatd/store-backend.h"

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chatd-store-error-quark, chatd_store_error)
/* clang-format on */

/* At most one log line about failed reads and writes per this long. */
#define STORE_FAILURE_LOG_INTERVAL_US (10 * G_USEC_PER_SEC)

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
  char *cursor = (char *)(copy + 1);
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

static void job_free(StoreJob *job) {
  if (job->type == STORE_JOB_WRITE)
    chatd_store_write_free((StoreWrite *)job);
  else
    chatd_store_read_free((StoreRead *)job);
}

/* Runs the job's callback. */
static void job_complete(StoreJob *job) {
  if (job->type == STORE_JOB_WRITE) {
    StoreWrite *w = (StoreWrite *)job;
    if (w->id_done != NULL) {
      w->id_done(w->error, w->error == NULL ? w->stored_id : 0, w->user_data);
    } else if (w->kind == STORE_WRITE_ADD_MESSAGE) {
      if (w->message_done != NULL)
        w->message_done(w->error, w->error == NULL && w->inserted,
                        w->error == NULL ? w->stored_id : 0, w->user_data);
    } else if (w->done != NULL) {
      w->done(w->error, w->user_data);
    }
    return;
  }
  StoreRead *r = (StoreRead *)job;
  switch (r->kind) {
  case STORE_READ_HISTORY:
  case STORE_READ_FULL_HISTORY:
  case STORE_READ_SEARCH:
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
void chatd_store_push_completion_locked(ChatdStore *store, StoreJob *job) {
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
  const GError *error =
      job->type == STORE_JOB_WRITE ? ((StoreWrite *)job)->error : ((StoreRead *)job)->error;
  if (error == NULL || g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_CONSTRAINT) ||
      g_error_matches(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_NOT_FOUND))
    return;
  store->failures_unlogged++;
  gint64 now = g_get_monotonic_time();
  if (store->failure_logged_us != 0 &&
      now - store->failure_logged_us < STORE_FAILURE_LOG_INTERVAL_US)
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
      store->write_bytes_in_flight -= ((StoreWrite *)job)->cost_bytes;
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
  (void)callback;
  (void)data;
  deliver_completions(((CompletionSource *)source)->store);
  return G_SOURCE_CONTINUE;
}

/* No prepare/check: GLib dispatches the source when its fd is readable. */
static GSourceFuncs completion_source_funcs = {
    .dispatch = completion_dispatch,
};

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
  if (store->reader_conn != NULL)
    store->backend->close(store->reader_conn);
  if (store->writer_conn != NULL)
    store->backend->close(store->writer_conn);
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

/* A store with no connection and no thread yet. */
static ChatdStore *store_new(const StoreBackend *backend, GMainContext *context) {
  ChatdStore *store = g_new0(ChatdStore, 1);
  store->backend = backend;
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
  return store;
}

/* Creates the completion source and starts the threads (the checkpointer
 * for SQLite only). */
static gboolean store_start(ChatdStore *store, GError **error) {
  g_autoptr(GError) thread_error = NULL;
  store->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (store->wake_fd < 0) {
    int saved = errno;
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot create an eventfd: %s",
                g_strerror(saved));
    return FALSE;
  }
  store->completion_source = g_source_new(&completion_source_funcs, sizeof(CompletionSource));
  ((CompletionSource *)store->completion_source)->store = store;
  g_source_set_name(store->completion_source, "chatd-store completions");
  g_source_add_unix_fd(store->completion_source, store->wake_fd, G_IO_IN);
  g_source_attach(store->completion_source, store->context);

  gboolean with_checkpointer = store->checkpoint_db != NULL;
  store->writer_thread =
      g_thread_try_new("chatd-store-w", chatd_store_writer_main, store, &thread_error);
  if (store->writer_thread != NULL)
    store->reader_thread =
        g_thread_try_new("chatd-store-r", chatd_store_reader_main, store, &thread_error);
  if (store->reader_thread != NULL && with_checkpointer)
    store->checkpoint_thread =
        g_thread_try_new("chatd-store-c", chatd_store_checkpoint_main, store, &thread_error);
  if (store->reader_thread == NULL || (with_checkpointer && store->checkpoint_thread == NULL)) {
    g_set_error(error, CHATD_STORE_ERROR, CHATD_STORE_ERROR_OPEN, "cannot start a thread: %s",
                thread_error->message);
    return FALSE;
  }
  return TRUE;
}

ChatdStore *chatd_store_open_with(const char *path, GMainContext *context,
                                  ChatdStoreDurability durability, GError **error) {
  g_return_val_if_fail(path != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  ChatdStore *store = store_new(&chatd_store_sqlite_backend, context);
  store->writer.db =
      chatd_store_schema_open_writer(path, durability, &store->schema_version, error);
  if (store->writer.db != NULL)
    store->writer_conn = &store->writer;
  if (store->writer.db == NULL || !chatd_store_sql_prepare(&store->writer, error))
    goto fail;
  store->reader.db = chatd_store_schema_open_reader(path, error);
  if (store->reader.db != NULL)
    store->reader_conn = &store->reader;
  if (store->reader.db == NULL || !chatd_store_sql_prepare(&store->reader, error))
    goto fail;
  store->checkpoint_db = chatd_store_schema_open_checkpointer(path, error);
  if (store->checkpoint_db == NULL)
    goto fail;
  sqlite3_wal_hook(store->writer.db, chatd_store_on_wal_commit, store);
  if (!store_start(store, error))
    goto fail;
  g_debug("opened %s (schema version %d)", path, store->schema_version);
  return store;

fail:
  stop_threads(store);
  store_free(store);
  return NULL;
}

ChatdStore *chatd_store_open_postgresql(const char *conninfo, GMainContext *context,
                                        GError **error) {
  g_return_val_if_fail(conninfo != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  ChatdStore *store = store_new(&chatd_store_pg_backend, context);
  store->writer_conn =
      chatd_store_pg_open_connection(conninfo, STORE_ROLE_WRITER, &store->schema_version, error);
  if (store->writer_conn == NULL)
    goto fail;
  store->reader_conn = chatd_store_pg_open_connection(conninfo, STORE_ROLE_READER, NULL, error);
  if (store->reader_conn == NULL || !store_start(store, error))
    goto fail;
  g_debug("opened the PostgreSQL database (schema version %d)", store->schema_version);
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
               "%u pending completions are dropped",
               store->completions.length);
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
