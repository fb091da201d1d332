/* ChatEntryDialog: asks for one value (a username to add, a room number
 * to join, a name for a new room). Emits "submitted" with the trimmed text;
 * Cancel or Escape close it. By default it closes on submitting; a dialog
 * made to wait (chat_entry_dialog_set_waits) stays open until its owner
 * calls chat_entry_dialog_finish, or chat_entry_dialog_show_error, which
 * keeps what was typed and shows why it did not work. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CHAT_TYPE_ENTRY_DIALOG (chat_entry_dialog_get_type())
G_DECLARE_FINAL_TYPE(ChatEntryDialog, chat_entry_dialog, CHAT, ENTRY_DIALOG, AdwWindow)

/* entry_label names the entry (also for assistive technologies) and may
 * have a mnemonic ("_Username"). */
ChatEntryDialog *chat_entry_dialog_new(GtkWindow *parent, const char *title, const char *body,
                                       const char *entry_label, const char *confirm_label);
/* Accepts only a positive whole number (a room number): the confirm button
 * stays insensitive until the entry holds one. */
void chat_entry_dialog_set_numeric(ChatEntryDialog *self, gboolean numeric);
/* Stays open after "submitted", waiting (a spinner, no second submit)
 * for the owner's answer. */
void chat_entry_dialog_set_waits(ChatEntryDialog *self, gboolean waits);
/* The request failed: shows reason under the entry, ready to try again. */
void chat_entry_dialog_show_error(ChatEntryDialog *self, const char *reason);
/* The request worked: closes the dialog. */
void chat_entry_dialog_finish(ChatEntryDialog *self);

/* Signal: submitted (const char *text) */

G_END_DECLS
