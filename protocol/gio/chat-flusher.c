/* The per-context write flusher; see chat-flusher.h. */
#define G_LOG_DOMAIN "chat-connection"

#include "protocol/gio/chat-flusher.h"

/* The flusher runs after the I/O sources of the same loop turn have queued
 * their replies: at the default priority it becomes ready on the turn after
 * the one that armed it, whatever order the sources are dispatched in. */
#define CHAT_FLUSHER_PRIORITY G_PRIORITY_DEFAULT
/* g_source_set_ready_time value that means "ready now" / "not armed". */
#define CHAT_FLUSHER_READY_NOW 0
#define CHAT_FLUSHER_DISARMED (-1)

struct _ChatFlusher {
  GSource source;           /* must be first: a ChatFlusher is a GSource */
  GMainContext *context;    /* a reference, while the flusher is in the table */
  ChatFlushLink dirty;      /* sentinel of the circular dirty list */
  ChatFlushFunc func;
  guint users;
  guint64 runs;
};

/* context -> ChatFlusher, for every context that has a flusher. A context
 * is reachable from several threads only through this table. */
static GMutex flusher_table_lock;
static GHashTable *flusher_table;

void
chat_flush_link_init (ChatFlushLink *link)
{
  link->prev = NULL;
  link->next = NULL;
}

gboolean
chat_flush_link_is_linked (const ChatFlushLink *link)
{
  return link->next != NULL;
}

void
chat_flush_link_unlink (ChatFlushLink *link)
{
  if (link->next == NULL)
    return;
  link->prev->next = link->next;
  link->next->prev = link->prev;
  link->prev = NULL;
  link->next = NULL;
}

static void
list_init (ChatFlushLink *sentinel)
{
  sentinel->prev = sentinel;
  sentinel->next = sentinel;
}

static gboolean
list_empty (const ChatFlushLink *sentinel)
{
  return sentinel->next == sentinel;
}

static void
list_append (ChatFlushLink *sentinel, ChatFlushLink *link)
{
  link->prev = sentinel->prev;
  link->next = sentinel;
  sentinel->prev->next = link;
  sentinel->prev = link;
}

/* Moves every link of from to the empty list to. */
static void
list_splice (ChatFlushLink *from, ChatFlushLink *to)
{
  list_init (to);
  if (list_empty (from))
    return;
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  list_init (from);
}

static gboolean
flusher_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  ChatFlusher *flusher = (ChatFlusher *) source;
  ChatFlushLink batch;

  g_source_set_ready_time (source, CHAT_FLUSHER_DISARMED);
  flusher->runs++;
  /* Only the connections dirty at the start of this turn: one that becomes
   * dirty again while we flush (a `closed` handler that sends, ...) goes on
   * the flusher's own list and waits for the next turn. A link unlinks
   * itself from the batch when its connection goes away meanwhile. */
  list_splice (&flusher->dirty, &batch);
  while (!list_empty (&batch))
    {
      ChatFlushLink *link = batch.next;
      chat_flush_link_unlink (link);
      flusher->func (link);
    }
  return G_SOURCE_CONTINUE;
}

static void
flusher_finalize (GSource *source)
{
  ChatFlusher *flusher = (ChatFlusher *) source;
  g_warn_if_fail (list_empty (&flusher->dirty));
}

static GSourceFuncs flusher_funcs = {
  .prepare = NULL,
  .check = NULL,
  .dispatch = flusher_dispatch,
  .finalize = flusher_finalize,
};

ChatFlusher *
chat_flusher_acquire (GMainContext *context, ChatFlushFunc func)
{
  ChatFlusher *flusher;

  g_return_val_if_fail (context != NULL, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  g_mutex_lock (&flusher_table_lock);
  if (flusher_table == NULL)
    flusher_table = g_hash_table_new (g_direct_hash, g_direct_equal);
  flusher = g_hash_table_lookup (flusher_table, context);
  if (flusher == NULL)
    {
      GSource *source = g_source_new (&flusher_funcs, sizeof (ChatFlusher));
      flusher = (ChatFlusher *) source;
      flusher->context = g_main_context_ref (context);
      list_init (&flusher->dirty);
      flusher->func = func;
      g_source_set_priority (source, CHAT_FLUSHER_PRIORITY);
      g_source_set_static_name (source, "chat-connection flusher");
      g_source_set_ready_time (source, CHAT_FLUSHER_DISARMED);
      g_source_attach (source, context);
      g_hash_table_insert (flusher_table, context, flusher);
    }
  g_warn_if_fail (flusher->func == func);
  flusher->users++;
  g_mutex_unlock (&flusher_table_lock);
  return flusher;
}

void
chat_flusher_release (ChatFlusher *flusher)
{
  GMainContext *context = NULL;

  g_return_if_fail (flusher != NULL);

  g_mutex_lock (&flusher_table_lock);
  g_assert (flusher->users > 0);
  if (--flusher->users == 0)
    {
      g_hash_table_remove (flusher_table, flusher->context);
      if (g_hash_table_size (flusher_table) == 0)
        g_clear_pointer (&flusher_table, g_hash_table_unref);
      context = flusher->context;
      flusher->context = NULL;
    }
  g_mutex_unlock (&flusher_table_lock);

  if (context != NULL)
    {
      /* A flusher that is dispatching right now stays alive (the loop holds
       * a reference) until its dispatch returns. */
      g_source_destroy (&flusher->source);
      g_source_unref (&flusher->source);
      g_main_context_unref (context);
    }
}

void
chat_flusher_mark_dirty (ChatFlusher *flusher, ChatFlushLink *link)
{
  if (chat_flush_link_is_linked (link))
    return;
  if (list_empty (&flusher->dirty))
    g_source_set_ready_time (&flusher->source, CHAT_FLUSHER_READY_NOW);
  list_append (&flusher->dirty, link);
}

guint64
chat_flusher_get_runs (const ChatFlusher *flusher)
{
  return flusher->runs;
}
