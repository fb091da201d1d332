/* The import's write pipeline (see import-seed-private.h): every write goes
 * through the store's asynchronous API; after each phase the import flushes
 * the store and runs the completions on the calling thread's thread-default
 * context, checking every one.
 *
 * Completions hold a reference to an ImportSink, not to the caller's stack,
 * so that even a completion that runs after the import gave up (wrong
 * context) touches valid memory. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/import-seed-private.h"

/* Writes submitted between two waits for their completions: bounds the
 * memory queued writes hold and stops an import soon after a write failed. */
#define IMPORT_WRITES_PER_SETTLE 4096
/* The write that changes nothing, used to check where completions run:
 * clearing offline deliveries of user 0 up to message 0 (no such rows). */
#define PROBE_USER_ID 0
#define PROBE_MESSAGE_ID 0
/* Members see every imported message. */
#define IMPORT_FIRST_MESSAGE_ID 1
/* Seed room rows have no creator. */
#define IMPORT_NO_CREATOR 0

struct _ImportSink {
  GMutex lock;
  guint outstanding; /* submitted writes whose completion has not run */
  GError *error;     /* the first failure */
  guint64 counts[COUNT_N];
  guint64 offline_deliveries;
};

/* A submitted write, until its completion ran. */
typedef struct {
  ImportSink *sink;
  WriteKind kind;
  gint64 a, b;
  ImportCounter counter;
  gsize n_offline;
} PendingWrite;

static void sink_clear(gpointer data) {
  ImportSink *sink = data;
  g_clear_error(&sink->error);
  g_mutex_clear(&sink->lock);
}

void import_sink_unref(ImportSink *sink) {
  g_atomic_rc_box_release_full(sink, sink_clear);
}

ImportSink *import_sink_new(void) {
  ImportSink *sink = g_atomic_rc_box_new0(ImportSink);
  g_mutex_init(&sink->lock);
  return sink;
}

guint import_sink_outstanding(ImportSink *sink) {
  g_mutex_lock(&sink->lock);
  guint outstanding = sink->outstanding;
  g_mutex_unlock(&sink->lock);
  return outstanding;
}

void import_sink_fill_report(ImportSink *sink, ChatdImportReport *report) {
  g_mutex_lock(&sink->lock);
  report->users = sink->counts[COUNT_USERS];
  report->friendships = sink->counts[COUNT_FRIENDSHIPS];
  report->friend_requests = sink->counts[COUNT_REQUESTS];
  report->rooms = sink->counts[COUNT_ROOMS];
  report->members = sink->counts[COUNT_MEMBERS];
  report->messages = sink->counts[COUNT_MESSAGES];
  report->offline_deliveries = sink->offline_deliveries;
  g_mutex_unlock(&sink->lock);
}

static char *describe_write(WriteKind kind, gint64 a, gint64 b) {
  switch (kind) {
  case WRITE_PROBE:
    return g_strdup("checking where the store's completions run");
  case WRITE_USER:
    return g_strdup_printf("importing user %" G_GINT64_FORMAT, a);
  case WRITE_FRIEND_REQUEST:
    return g_strdup_printf("importing the friend request %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT,
                           a, b);
  case WRITE_ACCEPT:
    return g_strdup_printf("importing the friendship %" G_GINT64_FORMAT " <-> %" G_GINT64_FORMAT, a,
                           b);
  case WRITE_ROOM:
    return g_strdup_printf("importing room %" G_GINT64_FORMAT, a);
  case WRITE_MEMBER:
    return g_strdup_printf("importing member %" G_GINT64_FORMAT " of room %" G_GINT64_FORMAT, b, a);
  case WRITE_MESSAGE:
    return g_strdup_printf("importing message %" G_GINT64_FORMAT, a);
  }
  return g_strdup("importing");
}

static PendingWrite *pending_new(ImportSink *sink, const WriteOp *op) {
  PendingWrite *p = g_new0(PendingWrite, 1);
  p->sink = g_atomic_rc_box_acquire(sink);
  p->kind = op->kind;
  p->a = op->a;
  p->b = op->b;
  p->counter = op->counter;
  p->n_offline = op->n_offline;
  g_mutex_lock(&sink->lock);
  sink->outstanding++;
  g_mutex_unlock(&sink->lock);
  return p;
}

/* Ends a pending write: its completion ran (error or not), or its
 * submission was refused (refused = TRUE: nothing is counted). */
static void pending_finish(PendingWrite *p, const GError *error, gboolean refused) {
  ImportSink *sink = p->sink;
  g_mutex_lock(&sink->lock);
  sink->outstanding--;
  if (error != NULL) {
    if (sink->error == NULL) {
      g_autofree char *what = describe_write(p->kind, p->a, p->b);
      sink->error = g_error_copy(error);
      g_prefix_error(&sink->error, "%s: ", what);
    }
  } else if (!refused && p->counter != COUNT_NONE) {
    sink->counts[p->counter]++;
    sink->offline_deliveries += p->n_offline;
  }
  g_mutex_unlock(&sink->lock);
  import_sink_unref(sink);
  g_free(p);
}

static void on_write_done(const GError *error, gpointer user_data) {
  pending_finish(user_data, error, FALSE);
}

static void on_message_done(const GError *error, gboolean inserted, gint64 stored_id,
                            gpointer user_data) {
  PendingWrite *p = user_data;
  if (error == NULL && (!inserted || stored_id != p->a)) {
    g_autoptr(GError) mismatch = g_error_new(
        CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_DATA,
        "the store kept message %" G_GINT64_FORMAT " instead of inserting it", stored_id);
    pending_finish(p, mismatch, FALSE);
    return;
  }
  pending_finish(p, error, FALSE);
}

/* Hands one write to the store; FALSE when the store refused it (p is then
 * still ours). */
static gboolean try_submit(ImportState *st, const WriteOp *op, PendingWrite *p) {
  switch (op->kind) {
  case WRITE_PROBE:
    return chatd_store_clear_offline(st->store, PROBE_USER_ID, PROBE_MESSAGE_ID, on_write_done, p);
  case WRITE_USER:
    return chatd_store_add_user(st->store, op->a, op->username, op->nickname, op->password_hash,
                                st->now_ms, on_write_done, p);
  case WRITE_FRIEND_REQUEST:
    return chatd_store_add_friend_request(st->store, op->a, op->b, st->now_ms, on_write_done, p);
  case WRITE_ACCEPT:
    return chatd_store_accept_friend_request(st->store, op->a, op->b, st->now_ms, on_write_done, p);
  case WRITE_ROOM:
    return chatd_store_add_room(st->store, op->a, op->room_name, IMPORT_NO_CREATOR, st->now_ms,
                                on_write_done, p);
  case WRITE_MEMBER:
    return chatd_store_add_member(st->store, op->a, op->b, IMPORT_FIRST_MESSAGE_ID, st->now_ms,
                                  on_write_done, p);
  case WRITE_MESSAGE:
    return chatd_store_add_message(st->store, op->record, op->offline, op->n_offline,
                                   on_message_done, p);
  }
  return FALSE;
}

/* Waits until every submitted write has completed: flushes the store, then
 * runs the completions on the context. Fails with the first write's error,
 * or with CHATD_IMPORT_ERROR_CONTEXT when the completions do not run here
 * (after a flush they are all queued and the store's source is ready, so a
 * non-blocking iteration dispatches them, or nothing ever will). */
gboolean import_settle(ImportState *st, GError **error) {
  chatd_store_flush(st->store);
  while (import_sink_outstanding(st->sink) > 0) {
    if (!g_main_context_iteration(st->context, FALSE)) {
      g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_CONTEXT,
                  "the store's completions do not run on this thread's thread-default main "
                  "context (%u still pending): open the store with that context, or push the "
                  "store's context with g_main_context_push_thread_default(), and import from "
                  "the thread that can run it",
                  import_sink_outstanding(st->sink));
      return FALSE;
    }
  }
  st->since_settle = 0;
  g_mutex_lock(&st->sink->lock);
  GError *failure = st->sink->error != NULL ? g_error_copy(st->sink->error) : NULL;
  g_mutex_unlock(&st->sink->lock);
  if (failure != NULL) {
    g_propagate_error(error, failure);
    return FALSE;
  }
  return TRUE;
}

/* Submits one write. A store that is saturated refuses it: the writes in
 * flight are then waited for (which makes room) and it is offered once
 * more. */
gboolean import_submit(ImportState *st, const WriteOp *op, GError **error) {
  if (st->since_settle >= IMPORT_WRITES_PER_SETTLE && !import_settle(st, error))
    return FALSE;
  for (int attempt = 0;; attempt++) {
    PendingWrite *p = pending_new(st->sink, op);
    if (try_submit(st, op, p)) {
      st->since_settle++;
      return TRUE;
    }
    pending_finish(p, NULL, TRUE);
    if (attempt > 0) {
      g_autofree char *what = describe_write(op->kind, op->a, op->b);
      g_set_error(error, CHATD_IMPORT_ERROR, CHATD_IMPORT_ERROR_REFUSED,
                  "%s: the store refused the write (it is closing)", what);
      return FALSE;
    }
    if (!import_settle(st, error))
      return FALSE;
  }
}
