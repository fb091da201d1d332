/* Search in a window: a GtkSearchBar holding a ChatSearchPanel, a search
 * button in the window's header bar, and Ctrl+F. Kept out of the windows'
 * templates so their layout stays theirs. */
#pragma once

#include <adwaita.h>
#include <gtk/gtk.h>

#include "gtk-client/chat-search-panel.h"

G_BEGIN_DECLS

/* Puts the search bar into anchor's parent box right after anchor, the
 * button at the end of header (the window's header bar) and Ctrl+F on
 * window. The panel searches conversation (NULL: all of them). Returns the
 * panel (owned by the window). */
ChatSearchPanel *chat_search_bar_attach(GtkWindow *window, AdwHeaderBar *header, GtkWidget *anchor,
                                        ChatSession *session, ChatContact *conversation);

G_END_DECLS
