/* Keeping a GListStore sorted while its items change, with the fewest
 * items-changed emissions: an item that must move is removed and inserted
 * again (two emissions); one that stays in place emits nothing. Internal
 * to the core. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Puts item (already in store) back in its place after a change of its
 * sort key. Returns TRUE when it moved. FALSE also when it is not in the
 * store. */
gboolean chat_sorted_store_reposition(GListStore *store, gpointer item, GCompareDataFunc compare,
                                      gpointer data);

/* Replaces the whole content with items, sorted, in one emission. */
void chat_sorted_store_replace_all(GListStore *store, GPtrArray *items, GCompareDataFunc compare,
                                   gpointer data);

G_END_DECLS
