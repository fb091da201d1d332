/* The store's write path (see store.h): the submission of writes, the
 * writer thread that commits them in batches, and the checkpointer thread.
 *
 * Checkpoints (copying the WAL back into the database, with an fsync) run
 * on a thread of their own, as PASSIVE checkpoints that never block the
 * writer: done inside the writer's commits they stalled every write for
 * milliseconds and were most of the send -> ack p99. The writer asks for
 * one when the WAL passes STORE_CHECKPOINT_PAGES, and runs a blocking one
 * itself only if the WAL still grows past STORE_WAL_LIMIT_PAGES (the
 * checkpointer cannot finish while writes never pause). */
#define G_LOG_DOMAIN "chatd-store"

#include <string.h>

#include "chatd/store-backend.h"

/* WAL pages (of 4 KiB) after which the checkpointer is woken: SQLite's own
 * automatic checkpoint threshold. */
#define STORE_CHECKPOINT_PAGES 1000
/* WAL pages after which the writer checkpoints itself (RESTART). */
#define STORE_WAL_LIMIT_PAGES (16 * STORE_CHECKPOINT_PAGES)
/* How long the writer stays idle before it has its last frames copied back. */
#define STORE_IDLE_CHECKPOINT_MS 100
/* Checkpoints run back to back at most, while each copies more. */
#define STORE_CHECKPOINT_ROUNDS 16

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

void chatd_store_write_free(StoreWrite *w) {
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

/* ---- the writer ---- */

/* Gives cause to every write in [from, stop) that has no error yet. */
static void fail_writes(GList *from, GList *stop, const GError *cause) {
  for (GList *l = from; l != stop; l = l->next) {
    StoreWrite *w = l->data;
    if (w->error == NULL)
      w->error = g_error_copy(cause);
  }
}

/* Runs one write so that on failure only this write is undone and w->error
 * says why. */
static gboolean apply_one(const StoreBackend *b, gpointer conn, StoreWrite *w) {
  if (!b->needs_savepoint(w))
    return b->apply_write(conn, w, &w->error);
  if (!b->txn(conn, STORE_TXN_SAVEPOINT, &w->error))
    return FALSE;
  gboolean ok = b->apply_write(conn, w, &w->error) && b->txn(conn, STORE_TXN_RELEASE, &w->error);
  if (!ok && b->in_transaction(conn)) {
    if (b->txn(conn, STORE_TXN_ROLLBACK_TO, NULL))
      b->txn(conn, STORE_TXN_RELEASE, NULL);
    else /* cannot undo just this write: give up the whole transaction */
      b->txn(conn, STORE_TXN_ROLLBACK, NULL);
  }
  return ok;
}

/* The fast way for backends with savepoints_on_failure_only: the whole
 * batch in one transaction without savepoints. Returns 1 when it was
 * committed, 0 when it failed as a whole (every write has its error), -1
 * when a write failed: then the transaction is rolled back, no write has a
 * result, and the batch must run again with savepoints. */
static int run_batch_without_savepoints(const StoreBackend *b, gpointer conn, GQueue *batch) {
  g_autoptr(GError) error = NULL;
  if (!b->txn(conn, STORE_TXN_BEGIN, &error)) {
    fail_writes(batch->head, NULL, error);
    return 0;
  }
  for (GList *l = batch->head; l != NULL; l = l->next) {
    StoreWrite *w = l->data;
    if (!b->apply_write(conn, w, &error)) {
      if (b->in_transaction(conn))
        b->txn(conn, STORE_TXN_ROLLBACK, NULL);
      return -1;
    }
  }
  if (!b->txn(conn, STORE_TXN_COMMIT, &error)) {
    if (b->in_transaction(conn))
      b->txn(conn, STORE_TXN_ROLLBACK, NULL);
    fail_writes(batch->head, NULL, error);
    return 0;
  }
  return 1;
}

/* Commits the batch's writes in one transaction (more only if the database
 * rolls one back by itself or loses the connection); returns the number of
 * commits. Each write ends with w->error set or not. */
static guint run_batch(const StoreBackend *b, gpointer conn, GQueue *batch) {
  if (b->savepoints_on_failure_only) {
    int fast = b->run_batch_fast != NULL ? b->run_batch_fast(conn, batch)
                                         : run_batch_without_savepoints(b, conn, batch);
    if (fast >= 0)
      return (guint)fast;
    for (GList *l = batch->head; l != NULL; l = l->next) { /* none of it was kept */
      StoreWrite *w = l->data;
      w->inserted = FALSE;
      w->stored_id = 0;
    }
  }
  guint commits = 0;
  GList *txn_first = NULL; /* the first write of the open transaction */
  for (GList *l = batch->head; l != NULL; l = l->next) {
    StoreWrite *w = l->data;
    if (txn_first == NULL) {
      g_autoptr(GError) begin_error = NULL;
      if (!b->txn(conn, STORE_TXN_BEGIN, &begin_error)) {
        fail_writes(l, NULL, begin_error);
        return commits;
      }
      txn_first = l;
    }
    if (!apply_one(b, conn, w) && !b->in_transaction(conn)) {
      /* the database rolled the transaction back (I/O error, disk full, a
       * lost connection, ...): the earlier writes of this transaction are
       * lost as well */
      g_autoptr(GError) lost = g_error_new(w->error->domain, w->error->code,
                                           "rolled back with its batch: %s", w->error->message);
      fail_writes(txn_first, l, lost);
      txn_first = NULL;
    }
  }
  if (txn_first != NULL) {
    g_autoptr(GError) commit_error = NULL;
    if (b->txn(conn, STORE_TXN_COMMIT, &commit_error)) {
      commits++;
    } else {
      if (b->in_transaction(conn))
        b->txn(conn, STORE_TXN_ROLLBACK, NULL);
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
int chatd_store_on_wal_commit(void *data, sqlite3 *db, const char *name, int pages) {
  ChatdStore *store = data;
  (void)db, (void)name;
  g_atomic_int_set(&store->wal_pages, pages);
  if (pages < store->wal_pages_at_request)
    store->wal_pages_at_request = 0; /* the WAL started over */
  /* Once per STORE_CHECKPOINT_PAGES new pages, not after every commit:
   * each checkpoint ends with an fsync. */
  if (pages >= store->wal_pages_at_request + STORE_CHECKPOINT_PAGES)
    request_checkpoint(store);
  return SQLITE_OK;
}

gpointer chatd_store_checkpoint_main(gpointer data) {
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
  if (store->checkpoint_db == NULL || g_atomic_int_get(&store->wal_pages) < STORE_WAL_LIMIT_PAGES)
    return;
  int rc = sqlite3_wal_checkpoint_v2(store->writer.db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    g_warning("checkpoint of a %d-page WAL: %s", store->wal_pages,
              sqlite3_errmsg(store->writer.db));
  g_atomic_int_set(&store->wal_pages, 0);
  store->wal_pages_at_request = 0;
}

gpointer chatd_store_writer_main(gpointer data) {
  ChatdStore *store = data;
  for (;;) {
    GQueue batch = G_QUEUE_INIT;
    g_mutex_lock(&store->lock);
    while (!store->stopping && (g_queue_is_empty(&store->writes) || store->hold_count > 0)) {
      store->writer_waiting = TRUE;
      gint64 reconnect_at = store->backend->reconnect_at != NULL
                                ? store->backend->reconnect_at(store->writer_conn)
                                : 0;
      if (reconnect_at > 0 && !store->stopping) {
        /* The connection is lost and nothing is queued: reconnect when the
         * backoff allows, so that the next write finds it up. */
        if (!g_cond_wait_until(&store->writer_cond, &store->lock, reconnect_at)) {
          g_mutex_unlock(&store->lock);
          store->backend->reconnect(store->writer_conn, NULL);
          g_mutex_lock(&store->lock);
        }
      } else if (has_uncopied_pages(store)) {
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

    guint commits = run_batch(store->backend, store->writer_conn, &batch);
    limit_wal(store);

    g_mutex_lock(&store->lock);
    store->stats.transactions += commits;
    store->stats.largest_batch = MAX(store->stats.largest_batch, batch.length);
    store->last_finished_seq = ((StoreWrite *)g_queue_peek_tail(&batch))->seq;
    while ((link = g_queue_pop_head_link(&batch)) != NULL) {
      StoreWrite *w = link->data;
      if (w->error == NULL)
        store->stats.writes_committed++;
      else
        store->stats.writes_failed++;
      chatd_store_push_completion_locked(store, &w->job);
    }
    g_cond_broadcast(&store->finished_cond);
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
    chatd_store_write_free(w);
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

static gsize text_cost(const char *s) {
  return s != NULL ? strlen(s) : 0;
}

/* ---- writes ---- */

gboolean chatd_store_add_user(ChatdStore *store, gint64 id, const char *username,
                              const char *nickname, const char *password_hash, gint64 created_ms,
                              ChatdStoreDone done, gpointer user_data) {
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

gboolean chatd_store_create_user(ChatdStore *store, const char *username, const char *nickname,
                                 const char *password_hash, gint64 created_ms,
                                 ChatdStoreIdDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_ADD_USER, NULL, user_data);
  w->id_done = done;
  w->op.add_user.username = g_strdup(username);
  w->op.add_user.nickname = g_strdup(nickname);
  w->op.add_user.password_hash = g_strdup(password_hash);
  w->op.add_user.created_ms = created_ms;
  w->cost_bytes = text_cost(username) + text_cost(nickname) + text_cost(password_hash);
  return submit_write(store, w);
}

static gboolean submit_set_user_text(ChatdStore *store, StoreWriteKind kind, gint64 user_id,
                                     const char *value, ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  w->op.set_user_text.user_id = user_id;
  w->op.set_user_text.value = g_strdup(value);
  w->cost_bytes = text_cost(value);
  return submit_write(store, w);
}

gboolean chatd_store_set_password_hash(ChatdStore *store, gint64 user_id, const char *password_hash,
                                       ChatdStoreDone done, gpointer user_data) {
  return submit_set_user_text(store, STORE_WRITE_SET_PASSWORD_HASH, user_id, password_hash, done,
                              user_data);
}

gboolean chatd_store_set_nickname(ChatdStore *store, gint64 user_id, const char *nickname,
                                  ChatdStoreDone done, gpointer user_data) {
  return submit_set_user_text(store, STORE_WRITE_SET_NICKNAME, user_id, nickname, done, user_data);
}

static gboolean submit_friend_request(ChatdStore *store, StoreWriteKind kind, gint64 from_user_id,
                                      gint64 to_user_id, gint64 ms, ChatdStoreDone done,
                                      gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(kind, done, user_data);
  w->op.friend_request.from_user_id = from_user_id;
  w->op.friend_request.to_user_id = to_user_id;
  w->op.friend_request.ms = ms;
  return submit_write(store, w);
}

gboolean chatd_store_add_friend_request(ChatdStore *store, gint64 from_user_id, gint64 to_user_id,
                                        gint64 created_ms, ChatdStoreDone done,
                                        gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_ADD_FRIEND_REQUEST, from_user_id, to_user_id,
                               created_ms, done, user_data);
}

gboolean chatd_store_accept_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, gint64 since_ms, ChatdStoreDone done,
                                           gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_ACCEPT_FRIEND_REQUEST, from_user_id, to_user_id,
                               since_ms, done, user_data);
}

gboolean chatd_store_delete_friend_request(ChatdStore *store, gint64 from_user_id,
                                           gint64 to_user_id, ChatdStoreDone done,
                                           gpointer user_data) {
  return submit_friend_request(store, STORE_WRITE_DELETE_FRIEND_REQUEST, from_user_id, to_user_id,
                               0, done, user_data);
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

gboolean chatd_store_create_room(ChatdStore *store, const char *room_name, gint64 creator_id,
                                 gint64 created_ms, ChatdStoreIdDone done, gpointer user_data) {
  g_return_val_if_fail(store != NULL, FALSE);
  StoreWrite *w = write_new(STORE_WRITE_ADD_ROOM, NULL, user_data);
  w->id_done = done;
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
                                gint64 first_message_id, gint64 joined_ms, ChatdStoreDone done,
                                gpointer user_data) {
  return submit_member(store, STORE_WRITE_ADD_MEMBER, room_id, user_id, first_message_id, joined_ms,
                       done, user_data);
}

gboolean chatd_store_remove_member(ChatdStore *store, gint64 room_id, gint64 user_id,
                                   ChatdStoreDone done, gpointer user_data) {
  return submit_member(store, STORE_WRITE_REMOVE_MEMBER, room_id, user_id, 0, 0, done, user_data);
}

static gboolean submit_session(ChatdStore *store, StoreWriteKind kind, const guint8 *token_hash,
                               gint64 user_id, gint64 ms, ChatdStoreDone done, gpointer user_data) {
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
                                   gint64 last_used_ms, ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(token_hash != NULL, FALSE);
  return submit_session(store, STORE_WRITE_TOUCH_SESSION, token_hash, 0, last_used_ms, done,
                        user_data);
}

gboolean chatd_store_revoke_session(ChatdStore *store,
                                    const guint8 token_hash[CHATD_STORE_TOKEN_HASH_LEN],
                                    ChatdStoreDone done, gpointer user_data) {
  g_return_val_if_fail(token_hash != NULL, FALSE);
  return submit_session(store, STORE_WRITE_REVOKE_SESSION, token_hash, 0, 0, done, user_data);
}

gboolean chatd_store_revoke_user_sessions(ChatdStore *store, gint64 user_id, ChatdStoreDone done,
                                          gpointer user_data) {
  return submit_session(store, STORE_WRITE_REVOKE_USER_SESSIONS, NULL, user_id, 0, done, user_data);
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

gboolean chatd_store_mark_read(ChatdStore *store, gint64 user_id, int target_type, gint64 target_id,
                               gint64 last_read_id, ChatdStoreDone done, gpointer user_data) {
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
  g_return_val_if_fail(n_offline <= CHATD_STORE_MAX_WRITE_BYTES_IN_FLIGHT / sizeof(gint64), FALSE);
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
