/* ChatLoginWindow: log in, or create an account (a second page). Shows
 * the connection's progress and its failures (server unreachable, with
 * Retry; wrong password; username taken). */
#pragma once

#include <adwaita.h>

#include "gtk-client/chat-application.h"

G_BEGIN_DECLS

#define CHAT_TYPE_LOGIN_WINDOW (chat_login_window_get_type())
G_DECLARE_FINAL_TYPE(ChatLoginWindow, chat_login_window, CHAT, LOGIN_WINDOW, AdwApplicationWindow)

ChatLoginWindow *chat_login_window_new(ChatApplication *app);

/* Shows a failure above the form; can_retry offers the Retry button. */
void chat_login_window_show_error(ChatLoginWindow *self, const char *message, gboolean can_retry);

G_END_DECLS
