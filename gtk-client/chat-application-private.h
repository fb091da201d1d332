/* ChatApplication internals shared with chat-application-actions.c. */
#pragma once

#include "gtk-client/chat-application.h"

G_BEGIN_DECLS

struct _ChatApplication {
  AdwApplication parent_instance;

  char *config_path;
  ChatSessionOptions options;
  gboolean have_options;
  char *config_error;
  char *server_address;

  ChatSession *session;
  GtkWindow *login_window;          /* weak */
  GtkWindow *contacts_window;       /* weak */
  GHashTable *chat_windows;         /* "kind:id" -> GtkWindow (weak) */
  GtkWindow *friend_request_dialog; /* weak */
  GHashTable *deferred_requests;    /* user ids put off with "Later" */
  /* Who asked for the add_friend / join_room requests in flight, oldest
   * first (GWeakRef *): their answers are shown there. */
  GQueue add_friend_askers;
  GQueue join_room_askers;
  /* The "notice" that follows a result was shown by its asker. */
  gboolean notice_claimed;
};

/* Installs the app.* actions and their accelerators. */
void _chat_application_actions_init(ChatApplication *self);

/* The key of a contact in chat_windows and of its notifications. */
char *_chat_application_contact_key(ChatContact *contact);

G_END_DECLS
