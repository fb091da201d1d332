#include "gtk-client/chat-dialogs.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

static void on_message_response(GtkDialog *dialog, int response, gpointer data) {
  gtk_window_destroy(GTK_WINDOW(dialog));
}

static GtkWidget *new_message_dialog(GtkWindow *parent, GtkButtonsType buttons,
                                     const char *heading, const char *body) {
  GtkWidget *dialog = gtk_message_dialog_new(
      parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT, GTK_MESSAGE_OTHER, buttons, "%s",
      heading);
  gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog), "%s", body);
  /* The title names the window for assistive technologies (and tests). */
  gtk_window_set_title(GTK_WINDOW(dialog), heading);
  return dialog;
}

void chat_dialogs_show_message(GtkWindow *parent, const char *heading, const char *body) {
  GtkWidget *dialog = new_message_dialog(parent, GTK_BUTTONS_CLOSE, heading, body);
  chat_a11y_fix_button_names(dialog);
  g_signal_connect(dialog, "response", G_CALLBACK(on_message_response), NULL);
  gtk_window_present(GTK_WINDOW(dialog));
}

typedef struct {
  ChatConfirmFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} ConfirmData;

static void confirm_data_free(gpointer data) {
  ConfirmData *confirm = data;
  if (confirm->destroy)
    confirm->destroy(confirm->user_data);
  g_free(confirm);
}

static void on_confirm_response(GtkDialog *dialog, int response, gpointer data) {
  ConfirmData *confirm = data;
  g_signal_handlers_disconnect_by_func(dialog, on_confirm_response, data);
  confirm->func(response == GTK_RESPONSE_ACCEPT, confirm->user_data);
  gtk_window_destroy(GTK_WINDOW(dialog));
}

void chat_dialogs_confirm(GtkWindow *parent, const char *heading, const char *body,
                          const char *confirm_label, ChatConfirmFunc func, gpointer user_data,
                          GDestroyNotify destroy) {
  GtkWidget *dialog = new_message_dialog(parent, GTK_BUTTONS_NONE, heading, body);
  gtk_dialog_add_button(GTK_DIALOG(dialog), _("_Cancel"), GTK_RESPONSE_CANCEL);
  GtkWidget *confirm_button = gtk_dialog_add_button(GTK_DIALOG(dialog), confirm_label,
                                                    GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class(confirm_button, "suggested-action");
  gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_ACCEPT);
  chat_a11y_fix_button_names(dialog);
  ConfirmData *confirm = g_new0(ConfirmData, 1);
  confirm->func = func;
  confirm->user_data = user_data;
  confirm->destroy = destroy;
  /* Freed with the dialog, answered or not (a dialog destroyed with its
   * parent is never answered). */
  g_object_set_data_full(G_OBJECT(dialog), "chat-confirm", confirm, confirm_data_free);
  g_signal_connect(dialog, "response", G_CALLBACK(on_confirm_response), confirm);
  gtk_window_present(GTK_WINDOW(dialog));
}
