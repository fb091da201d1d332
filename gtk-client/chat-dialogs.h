/* Simple message and question dialogs. They do not block: each closes
 * itself when answered. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Shows heading and body over parent (which may be NULL) with a Close
 * button. */
void chat_dialogs_show_message(GtkWindow *parent, const char *heading, const char *body);

typedef void (*ChatConfirmFunc)(gboolean confirmed, gpointer user_data);

/* Asks heading / body with Cancel and confirm_label; calls func once with
 * the answer (FALSE when the dialog is closed); destroy(user_data) runs when
 * the dialog goes away, answered or not. */
void chat_dialogs_confirm(GtkWindow *parent, const char *heading, const char *body,
                          const char *confirm_label, ChatConfirmFunc func, gpointer user_data,
                          GDestroyNotify destroy);

G_END_DECLS
