/* ChatConnectionBanner: a strip at the top of the contacts and chat
 * windows that says when the session is not online ("Reconnecting…",
 * "Disconnected"); hidden while online. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-session.h"

G_BEGIN_DECLS

#define CHAT_TYPE_CONNECTION_BANNER (chat_connection_banner_get_type())
G_DECLARE_FINAL_TYPE(ChatConnectionBanner, chat_connection_banner, CHAT, CONNECTION_BANNER,
                     GtkWidget)

void chat_connection_banner_set_session(ChatConnectionBanner *self, ChatSession *session);

G_END_DECLS
