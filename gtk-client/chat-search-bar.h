/* Search in a window: a GtkSearchBar holding a ChatSearchPanel, a search
 * button in the window's header bar, and Ctrl+F. Kept out of the windows'
 * templates so their layout stays theirs. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/chat-search-panel.h"

G_BEGIN_DECLS

/* Puts the search bar into anchor's parent box right after anchor, the
 * button at the end of window's header bar (a GtkHeaderBar titlebar or an
 * AdwHeaderBar in its content) and Ctrl+F on window. The panel searches
 * conversation (NULL: all of them). Returns the panel (owned by the
 * window). */
ChatSearchPanel *chat_search_bar_attach(GtkWindow *window, GtkWidget *anchor, ChatSession *session,
                                        ChatContact *conversation);

G_END_DECLS
