/* ChatApplication: the GtkApplication. It reads the configuration
 * (--config PATH, default ./config.json), owns the ChatSession and its
 * windows: the login window until the session is online, then the contacts
 * window and one chat window per open conversation. It answers the
 * session's questions (server key, friend requests, being logged in
 * elsewhere) with dialogs and posts desktop notifications. */
#pragma once

#include <adwaita.h>

#include "gtk-client/core/chat-session.h"

G_BEGIN_DECLS

#define CHAT_TYPE_APPLICATION (chat_application_get_type())
G_DECLARE_FINAL_TYPE(ChatApplication, chat_application, CHAT, APPLICATION, AdwApplication)

ChatApplication *chat_application_new(void);

/* The session; NULL when the configuration could not be read (see
 * chat_application_get_config_error). */
ChatSession *chat_application_get_session(ChatApplication *self);
/* Why the configuration could not be read, or NULL. */
const char *chat_application_get_config_error(ChatApplication *self);
/* "host:port" of the configured server ("" without a configuration). */
const char *chat_application_get_server_address(ChatApplication *self);

/* Presents the chat window of a contact, opening it when there is none. */
void chat_application_open_conversation(ChatApplication *self, ChatContact *contact);
/* The open chat window of a contact, or NULL. */
GtkWindow *chat_application_lookup_chat_window(ChatApplication *self, ChatContact *contact);
/* Sends a friend request / joins a room. The answer is shown where it was
 * asked: asker is a ChatEntryDialog (closed when it worked, the reason in
 * it otherwise) or a ChatChatWindow (a toast); NULL: the contacts window. */
void chat_application_add_friend(ChatApplication *self, const char *username, gpointer asker);
void chat_application_join_room(ChatApplication *self, gint64 room_id, gpointer asker);
/* Asks again about the friend requests put off with "Later". */
void chat_application_review_friend_requests(ChatApplication *self);
/* Logs out: closes the contacts and chat windows and shows the login
 * window. */
void chat_application_log_out(ChatApplication *self);

G_END_DECLS
