/* ChatEntryDialog: asks for one value (a username to add, a room number
 * to join, a name for a new room). Emits "submitted" with the trimmed text
 * and closes; Cancel or Escape just close. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CHAT_TYPE_ENTRY_DIALOG (chat_entry_dialog_get_type())
G_DECLARE_FINAL_TYPE(ChatEntryDialog, chat_entry_dialog, CHAT, ENTRY_DIALOG, GtkWindow)

/* entry_label names the entry (also for assistive technologies) and may
 * have a mnemonic ("_Username"). */
ChatEntryDialog *chat_entry_dialog_new(GtkWindow *parent, const char *title, const char *body,
                                       const char *entry_label, const char *confirm_label);
/* Accepts only a positive whole number (a room number). */
void chat_entry_dialog_set_numeric(ChatEntryDialog *self, gboolean numeric);

/* Signal: submitted (const char *text) */

G_END_DECLS
