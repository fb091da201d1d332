/* ChatFriendRequestDialog: someone asks to be a friend: Accept, Reject or
 * Later (asked again at the next login). Emits "answered" once with a
 * ChatFriendRequestAnswer, then closes; closing the window means Later. */
#pragma once

#include <adwaita.h>

#include "gtk-client/core/chat-contact.h"

G_BEGIN_DECLS

typedef enum {
  CHAT_FRIEND_REQUEST_ACCEPT,
  CHAT_FRIEND_REQUEST_REJECT,
  CHAT_FRIEND_REQUEST_LATER,
} ChatFriendRequestAnswer;

#define CHAT_TYPE_FRIEND_REQUEST_DIALOG (chat_friend_request_dialog_get_type())
G_DECLARE_FINAL_TYPE(ChatFriendRequestDialog, chat_friend_request_dialog, CHAT,
                     FRIEND_REQUEST_DIALOG, AdwWindow)

ChatFriendRequestDialog *chat_friend_request_dialog_new(GtkWindow *parent, ChatContact *requester);
ChatContact *chat_friend_request_dialog_get_requester(ChatFriendRequestDialog *self);

/* Signal: answered (int answer) */

G_END_DECLS
