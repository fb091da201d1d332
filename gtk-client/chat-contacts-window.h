/* ChatContactsWindow: the main window once logged in. Friends and rooms
 * in one list, newest conversation first, with unread badges, online dots
 * and last-message previews; the unread total in the title. Activating a
 * contact opens its chat window. */
#pragma once

#include <adwaita.h>

#include "gtk-client/chat-application.h"
#include "protocol/request-error.h"

G_BEGIN_DECLS

#define CHAT_TYPE_CONTACTS_WINDOW (chat_contacts_window_get_type())
G_DECLARE_FINAL_TYPE(ChatContactsWindow, chat_contacts_window, CHAT, CONTACTS_WINDOW,
                     AdwApplicationWindow)

ChatContactsWindow *chat_contacts_window_new(ChatApplication *app);

/* Shows a refused request's reason (with its code,
 * CHAT_REQUEST_ERROR_UNKNOWN for none; worded by chat-reasons.h) as an
 * error strip above the list, until dismissed or a later success. */
void chat_contacts_window_show_error(ChatContactsWindow *self, chat_request_error code,
                                     const char *text);
/* Shows a confirmation or a message from the server as a toast; it also
 * clears an earlier error. */
void chat_contacts_window_show_toast(ChatContactsWindow *self, const char *text);

G_END_DECLS
