/* ChatSearchPanel: a search entry and the messages that match, as the user
 * types (debounced): each row names the conversation, the sender and the
 * time and shows the text with the matches highlighted. Older matches page
 * in at the end of the list (scrolling there, or "Show older results").
 * Searches every conversation, or one (chat_search_panel_set_conversation).
 * A window puts it in a GtkSearchBar and opens the message a row
 * activates ("hit-activated"). */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-search.h"

G_BEGIN_DECLS

#define CHAT_TYPE_SEARCH_PANEL (chat_search_panel_get_type())
G_DECLARE_FINAL_TYPE(ChatSearchPanel, chat_search_panel, CHAT, SEARCH_PANEL, GtkBox)

ChatSearchPanel *chat_search_panel_new(void);
void chat_search_panel_set_session(ChatSearchPanel *self, ChatSession *session);
/* Only this conversation (NULL: all of them). */
void chat_search_panel_set_conversation(ChatSearchPanel *self, ChatContact *conversation);
/* The entry, for gtk_search_bar_connect_entry and focus. */
GtkEditable *chat_search_panel_get_entry(ChatSearchPanel *self);
/* Empties the entry and the results (the bar was closed). */
void chat_search_panel_clear(ChatSearchPanel *self);

/* The text of a hit as Pango markup: escaped, each match highlighted. */
char *chat_search_panel_hit_markup(ChatSearchHit *hit);

/* Signals:
 *  hit-activated (ChatSearchHit *hit)   the user chose a result */

G_END_DECLS
