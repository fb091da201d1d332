/* The store's read path (see store.h): the start-up loaders, the
 * submission of reads and the reader thread that runs them. */
#define G_LOG_DOMAIN "chatd-store"

#include <string.h>

#include "chatd/store-backend.h"

/* ---- requests ---- */

static StoreRead *read_new(StoreReadKind kind, gpointer user_data) {
  StoreRead *r = g_new0(StoreRead, 1);
  r->job.type = STORE_JOB_READ;
  r->job.link.data = r;
  r->kind = kind;
  r->user_data = user_data;
  return r;
}

void chatd_store_read_free(StoreRead *r) {
  g_clear_pointer(&r->results, g_ptr_array_unref);
  g_free(r->query_copy);
  chatd_message_record_free(r->record);
  g_clear_error(&r->error);
  g_free(r);
}

/* ---- the reader ---- */

/* With store->lock held and nothing to read: when the connection is lost,
 * waits until the backoff allows an attempt (or a read comes) and tries to
 * reconnect; FALSE when the connection is up. */
static gboolean wait_or_reconnect(ChatdStore *store) {
  /* a loader may hold reader_lock and wait for store->lock (its func
   * submits writes): only try it here; a loader reconnects by itself */
  if (store->backend->reconnect_at == NULL || !g_mutex_trylock(&store->reader_lock))
    return FALSE;
  gint64 at = store->backend->reconnect_at(store->reader_conn);
  g_mutex_unlock(&store->reader_lock);
  if (at == 0)
    return FALSE;
  if (!g_cond_wait_until(&store->reader_cond, &store->lock, at)) {
    g_mutex_unlock(&store->lock);
    g_mutex_lock(&store->reader_lock);
    store->backend->reconnect(store->reader_conn, NULL);
    g_mutex_unlock(&store->reader_lock);
    g_mutex_lock(&store->lock);
  }
  return TRUE;
}

gpointer chatd_store_reader_main(gpointer data) {
  ChatdStore *store = data;
  for (;;) {
    g_mutex_lock(&store->lock);
    while (!store->stopping && g_queue_is_empty(&store->reads)) {
      store->reader_waiting = TRUE;
      if (!wait_or_reconnect(store))
        g_cond_wait(&store->reader_cond, &store->lock);
      store->reader_waiting = FALSE;
    }
    GList *link = g_queue_pop_head_link(&store->reads);
    g_mutex_unlock(&store->lock);
    if (link == NULL)
      return NULL; /* stopping, and every read is done */

    StoreRead *r = link->data;
    g_mutex_lock(&store->reader_lock);
    store->backend->run_read(store->reader_conn, r, &r->error);
    g_mutex_unlock(&store->reader_lock);

    g_mutex_lock(&store->lock);
    store->stats.reads++;
    chatd_store_push_completion_locked(store, &r->job);
    g_mutex_unlock(&store->lock);
  }
}

static gboolean submit_read(ChatdStore *store, StoreRead *r) {
  g_mutex_lock(&store->lock);
  if (store->closing || store->reads_in_flight >= CHATD_STORE_MAX_READS_IN_FLIGHT) {
    g_mutex_unlock(&store->lock);
    chatd_store_read_free(r);
    return FALSE;
  }
  store->reads_in_flight++;
  g_queue_push_tail_link(&store->reads, &r->job.link);
  if (store->reader_waiting)
    g_cond_signal(&store->reader_cond);
  g_mutex_unlock(&store->lock);
  return TRUE;
}

/* ---- loaders ---- */

/* The loaders run on the caller's thread with the reader connection, which
 * the reader thread shares: reader_lock keeps them apart. A loader's func
 * must not call another loader. */

static gboolean load(ChatdStore *store, StoreLoad what, StoreLoadFunc func, gpointer user_data,
                     GError **error) {
  g_mutex_lock(&store->reader_lock);
  gboolean ok = store->backend->load(store->reader_conn, what, func, user_data, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

gboolean chatd_store_foreach_user(ChatdStore *store, ChatdStoreUserFunc func, gpointer user_data,
                                  GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_USERS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_foreach_friend(ChatdStore *store, ChatdStorePairFunc func, gpointer user_data,
                                    GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_FRIENDS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_foreach_friend_request(ChatdStore *store, ChatdStorePairFunc func,
                                            gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_FRIEND_REQUESTS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_foreach_room(ChatdStore *store, ChatdStoreRoomFunc func, gpointer user_data,
                                  GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_ROOMS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_foreach_member(ChatdStore *store, ChatdStoreMemberFunc func,
                                    gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_MEMBERS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_foreach_session(ChatdStore *store, ChatdStoreSessionFunc func,
                                     gpointer user_data, GError **error) {
  g_return_val_if_fail(store != NULL && func != NULL, FALSE);
  return load(store, STORE_LOAD_SESSIONS, (StoreLoadFunc)func, user_data, error);
}

gboolean chatd_store_max_ids(ChatdStore *store, gint64 *max_user_id, gint64 *max_room_id,
                             gint64 *max_message_id, GError **error) {
  g_return_val_if_fail(store != NULL, FALSE);
  g_mutex_lock(&store->reader_lock);
  gboolean ok =
      store->backend->max_ids(store->reader_conn, max_user_id, max_room_id, max_message_id, error);
  g_mutex_unlock(&store->reader_lock);
  return ok;
}

/* ---- reads ---- */

/* No bound: every message, every image. */
static const ChatdStorePageBound unbounded = {0, 0, 0, G_MAXSIZE};

gboolean chatd_store_history(ChatdStore *store, gint64 viewer_id, int target_type, gint64 target_id,
                             gint64 before_id, const ChatdStorePageBound *bound,
                             ChatdStoreMessagesDone callback, gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  g_return_val_if_fail(
      target_type == CHATD_STORE_TARGET_USER || target_type == CHATD_STORE_TARGET_ROOM, FALSE);
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
                                  const ChatdStorePageBound *bound, ChatdStoreMessagesDone callback,
                                  gpointer user_data) {
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

StoreSearchVerdict chatd_store_search_consider(StoreRead *read, StoreSearchTally *tally,
                                               guint taken, const char *text, gsize len,
                                               gsize cost) {
  const ChatdStoreSearch *search = &read->search;
  if (tally->examined++ == search->max_examined ||
      tally->examined_bytes >= search->max_examined_bytes) {
    read->more = TRUE;
    return STORE_SEARCH_STOP;
  }
  tally->examined_bytes += len;
  if (search->accept != NULL && !search->accept(text, len, search->accept_data))
    return STORE_SEARCH_SKIP;
  const ChatdStorePageBound *bound = &search->bound;
  if (taken >= bound->limit ||
      (bound->max_bytes > 0 && taken > 0 && tally->used + cost > bound->max_bytes)) {
    read->more = TRUE;
    return STORE_SEARCH_STOP;
  }
  tally->used += cost;
  return STORE_SEARCH_TAKE;
}

gboolean chatd_store_search(ChatdStore *store, const ChatdStoreSearch *search,
                            ChatdStoreMessagesDone callback, gpointer user_data) {
  g_return_val_if_fail(store != NULL && search != NULL && callback != NULL, FALSE);
  g_return_val_if_fail(search->query != NULL || search->query_len == 0, FALSE);
  StoreRead *r = read_new(STORE_READ_SEARCH, user_data);
  r->search = *search;
  r->query_copy = g_malloc(search->query_len + 1);
  if (search->query_len > 0)
    memcpy(r->query_copy, search->query, search->query_len);
  r->query_copy[search->query_len] = '\0';
  r->search.query = r->query_copy;
  if (r->search.before_id <= 0)
    r->search.before_id = G_MAXINT64;
  if (r->search.max_examined == 0 || r->search.max_examined > CHATD_STORE_MAX_SEARCH_EXAMINED)
    r->search.max_examined = CHATD_STORE_MAX_SEARCH_EXAMINED;
  if (r->search.max_examined_bytes == 0 ||
      r->search.max_examined_bytes > CHATD_STORE_MAX_SEARCH_EXAMINED_BYTES)
    r->search.max_examined_bytes = CHATD_STORE_MAX_SEARCH_EXAMINED_BYTES;
  if (r->search.bound.limit == 0 || r->search.bound.limit > CHATD_STORE_MAX_HISTORY_PAGE)
    r->search.bound.limit = CHATD_STORE_MAX_HISTORY_PAGE;
  r->callback.messages = callback;
  return submit_read(store, r);
}

gboolean chatd_store_message(ChatdStore *store, gint64 message_id, ChatdStoreRecordDone callback,
                             gpointer user_data) {
  g_return_val_if_fail(store != NULL && callback != NULL, FALSE);
  StoreRead *r = read_new(STORE_READ_MESSAGE, user_data);
  r->message_id = message_id;
  r->callback.record = callback;
  return submit_read(store, r);
}
