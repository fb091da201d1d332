/* The chat window's search: Ctrl+F searches this conversation, and a
 * found message (from here or from the contacts window's search) is
 * scrolled to and highlighted, older history paging in as needed. */
#pragma once

#include "gtk-client/chat-chat-window.h"

G_BEGIN_DECLS

/* Adds the search bar to a new chat window. */
void _chat_chat_window_search_attach(ChatChatWindow *self);
/* Scrolls to the message with server id message_id, loading older pages
 * until it is there, and highlights it for a moment. A message that is
 * no longer there (or the connection lost) is said in the window. */
void chat_chat_window_show_message(ChatChatWindow *self, gint64 message_id);

G_END_DECLS
