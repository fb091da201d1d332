/* ChatMessageDialog: a heading, a paragraph and one or two buttons: a
 * message with Close, or a question with Cancel and a confirm button.
 * Emits "answered" once (TRUE: confirmed) and closes; closing the window
 * answers FALSE. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CHAT_TYPE_MESSAGE_DIALOG (chat_message_dialog_get_type())
G_DECLARE_FINAL_TYPE(ChatMessageDialog, chat_message_dialog, CHAT, MESSAGE_DIALOG, GtkWindow)

/* A message: Close only. */
ChatMessageDialog *chat_message_dialog_new(GtkWindow *parent, const char *heading,
                                           const char *body);
/* A question: Cancel and confirm_label (the suggested action). */
ChatMessageDialog *chat_message_dialog_new_question(GtkWindow *parent, const char *heading,
                                                    const char *body, const char *confirm_label);

/* Signal: answered (gboolean confirmed) */

G_END_DECLS
