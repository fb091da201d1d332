/* ChatChatWindow: the conversation with one friend or room. The whole
 * history pages in as the user scrolls up (with a marker where it ends);
 * new messages scroll into view unless the user scrolled up to read. A
 * multi-line composer (Enter: new line, Ctrl+Enter: send) with font size
 * and colour; images from a file chooser, the clipboard or drag and drop.
 * Rooms show their members beside the chat. */
#pragma once

#include <adwaita.h>

#include "gtk-client/chat-application.h"

G_BEGIN_DECLS

#define CHAT_TYPE_CHAT_WINDOW (chat_chat_window_get_type())
G_DECLARE_FINAL_TYPE(ChatChatWindow, chat_chat_window, CHAT, CHAT_WINDOW, AdwApplicationWindow)

ChatChatWindow *chat_chat_window_new(ChatApplication *app, ChatContact *contact);
ChatContact *chat_chat_window_get_contact(ChatChatWindow *self);
/* Shows a short-lived status over the chat (a friend request sent, ...). */
void chat_chat_window_show_toast(ChatChatWindow *self, const char *text);

G_END_DECLS
