/* The shared write flusher of the GIO adapter (private to protocol/gio/).
 *
 * After Redis's "handlers only queue replies; writes are flushed once per
 * loop turn": a connection that has something to write (or a `closed` signal
 * to emit) puts itself on its context's dirty list; the first connection to
 * become dirty arms the context's one flusher source with
 * g_source_set_ready_time (source, 0), and on the next loop turn the flusher
 * walks the list and calls the flush function once for each connection.
 *
 * The list is intrusive (a ChatFlushLink embedded in the connection), so
 * marking a connection dirty never allocates. There is one flusher per
 * GMainContext, shared by every connection attached to it and freed with the
 * last of them. All calls for one context must come from the thread that
 * runs it (as for the connections themselves).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A node of the dirty list, embedded in the object it stands for. */
typedef struct _ChatFlushLink ChatFlushLink;
struct _ChatFlushLink {
  ChatFlushLink *prev;
  ChatFlushLink *next;
};

/* Called once per loop turn for each link that was marked dirty; the link is
 * already off the list (the function may mark it dirty again). */
typedef void (*ChatFlushFunc) (ChatFlushLink *link);

typedef struct _ChatFlusher ChatFlusher;

/* Makes a link that is on no list. */
void chat_flush_link_init (ChatFlushLink *link);

/* Whether the link is on a dirty list. */
gboolean chat_flush_link_is_linked (const ChatFlushLink *link);

/* Takes the link off its list (no-op when it is on none). */
void chat_flush_link_unlink (ChatFlushLink *link);

/* The flusher of context (created and attached on first use), with one more
 * user. Every connection of a context must pass the same func.
 * Errors: none (aborts on out-of-memory like GLib). */
ChatFlusher *chat_flusher_acquire (GMainContext *context, ChatFlushFunc func);

/* Drops a user; the last one destroys the flusher. The caller must have
 * unlinked its links first. */
void chat_flusher_release (ChatFlusher *flusher);

/* Puts link at the end of the dirty list unless it is on it already, and
 * arms the flusher for the next loop turn. Never allocates. */
void chat_flusher_mark_dirty (ChatFlusher *flusher, ChatFlushLink *link);

/* TESTS AND DIAGNOSTICS: how many times this flusher has run (loop turns
 * with at least one dirty connection). */
guint64 chat_flusher_get_runs (const ChatFlusher *flusher);

G_END_DECLS
