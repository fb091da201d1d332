#include "gtk-client/chat-dialogs.h"

#include "gtk-client/chat-message-dialog.h"

void chat_dialogs_show_message(GtkWindow *parent, const char *heading, const char *body) {
  gtk_window_present(GTK_WINDOW(chat_message_dialog_new(parent, heading, body)));
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

static void on_answered(ChatMessageDialog *dialog, gboolean confirmed, gpointer data) {
  ConfirmData *confirm = data;
  confirm->func(confirmed, confirm->user_data);
}

void chat_dialogs_confirm(GtkWindow *parent, const char *heading, const char *body,
                          const char *confirm_label, ChatConfirmFunc func, gpointer user_data,
                          GDestroyNotify destroy) {
  ChatMessageDialog *dialog =
      chat_message_dialog_new_question(parent, heading, body, confirm_label);
  ConfirmData *confirm = g_new0(ConfirmData, 1);
  confirm->func = func;
  confirm->user_data = user_data;
  confirm->destroy = destroy;
  /* Freed with the dialog, answered or not (a dialog destroyed with its
   * parent is never answered). */
  g_object_set_data_full(G_OBJECT(dialog), "chat-confirm", confirm, confirm_data_free);
  g_signal_connect(dialog, "answered", G_CALLBACK(on_answered), confirm);
  gtk_window_present(GTK_WINDOW(dialog));
}
