/* ChatContactsWindow: the main window once logged in. Friends and rooms
 * in one list, newest conversation first, with unread badges, online dots
 * and last-message previews; the unread total in the title. Activating a
 * contact opens its chat window. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/chat-application.h"
#include "protocol/request-error.h"

G_BEGIN_DECLS

#define CHAT_TYPE_CONTACTS_WINDOW (chat_contacts_window_get_type())
G_DECLARE_FINAL_TYPE(ChatContactsWindow, chat_contacts_window, CHAT, CONTACTS_WINDOW,
                     GtkApplicationWindow)

ChatContactsWindow *chat_contacts_window_new(ChatApplication *app);

/* Shows a message from the server (a refused friend request, ...) in a
 * strip above the list until dismissed. */
/* Shows text (a failure's: with its code, CHAT_REQUEST_ERROR_UNKNOWN for
 * none) in the notice bar, as chat-reasons.h words it. */
void chat_contacts_window_show_notice(ChatContactsWindow *self, chat_request_error code,
                                      const char *text);

G_END_DECLS
