/* Notices and questions as AdwMessageDialog. */
#include "gtk-client/chat-dialogs.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

#define RESPONSE_CLOSE "close"
#define RESPONSE_CANCEL "cancel"
#define RESPONSE_CONFIRM "confirm"

/* The dialog's window title names it for assistive technologies (the
 * heading is only a label inside). */
static AdwMessageDialog *new_dialog(GtkWindow *parent, const char *heading, const char *body) {
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG(adw_message_dialog_new(parent, heading, body));
  gtk_window_set_title(GTK_WINDOW(dialog), heading);
  gtk_window_set_destroy_with_parent(GTK_WINDOW(dialog), TRUE);
  return dialog;
}

void chat_dialogs_show_message(GtkWindow *parent, const char *heading, const char *body) {
  AdwMessageDialog *dialog = new_dialog(parent, heading, body);
  adw_message_dialog_add_response(dialog, RESPONSE_CLOSE, _("_Close"));
  adw_message_dialog_set_default_response(dialog, RESPONSE_CLOSE);
  adw_message_dialog_set_close_response(dialog, RESPONSE_CLOSE);
  /* Its buttons' names: "Close", not "_Close Close". */
  chat_a11y_fix_button_names(GTK_WIDGET(dialog));
  gtk_window_present(GTK_WINDOW(dialog));
}

typedef struct {
  ChatConfirmFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean answered;
} ConfirmData;

static void confirm_data_free(gpointer data) {
  ConfirmData *confirm = data;
  if (confirm->destroy)
    confirm->destroy(confirm->user_data);
  g_free(confirm);
}

static void on_response(AdwMessageDialog *dialog, const char *response, gpointer data) {
  ConfirmData *confirm = data;
  if (confirm->answered)
    return;
  confirm->answered = TRUE;
  confirm->func(g_strcmp0(response, RESPONSE_CONFIRM) == 0, confirm->user_data);
}

void chat_dialogs_confirm(GtkWindow *parent, const char *heading, const char *body,
                          const char *confirm_label, ChatConfirmFunc func, gpointer user_data,
                          GDestroyNotify destroy) {
  AdwMessageDialog *dialog = new_dialog(parent, heading, body);
  adw_message_dialog_add_responses(dialog, RESPONSE_CANCEL, _("_Cancel"), RESPONSE_CONFIRM,
                                   confirm_label, NULL);
  adw_message_dialog_set_response_appearance(dialog, RESPONSE_CONFIRM, ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(dialog, RESPONSE_CONFIRM);
  adw_message_dialog_set_close_response(dialog, RESPONSE_CANCEL);
  ConfirmData *confirm = g_new0(ConfirmData, 1);
  confirm->func = func;
  confirm->user_data = user_data;
  confirm->destroy = destroy;
  /* Freed with the dialog, answered or not (a dialog destroyed with its
   * parent is never answered). */
  g_object_set_data_full(G_OBJECT(dialog), "chat-confirm", confirm, confirm_data_free);
  g_signal_connect(dialog, "response", G_CALLBACK(on_response), confirm);
  chat_a11y_fix_button_names(GTK_WIDGET(dialog));
  gtk_window_present(GTK_WINDOW(dialog));
}
