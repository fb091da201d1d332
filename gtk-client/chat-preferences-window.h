/* The preferences window (app.preferences, Ctrl+comma): the colour scheme
 * and the font size and text colour of sent messages, kept in GSettings
 * (core/chat-settings.h) and applied at once. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CHAT_TYPE_PREFERENCES_WINDOW (chat_preferences_window_get_type())
G_DECLARE_FINAL_TYPE(ChatPreferencesWindow, chat_preferences_window, CHAT, PREFERENCES_WINDOW,
                     AdwPreferencesWindow)

/* A preferences window over parent (may be NULL). */
ChatPreferencesWindow *chat_preferences_window_new(GtkWindow *parent);

G_END_DECLS
