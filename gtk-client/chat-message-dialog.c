#include "gtk-client/chat-message-dialog.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

struct _ChatMessageDialog {
  GtkWindow parent_instance;

  gboolean answered;

  GtkLabel *heading_label;
  GtkLabel *body_label;
  GtkWidget *cancel_button;
  GtkWidget *confirm_button;
};

G_DEFINE_FINAL_TYPE(ChatMessageDialog, chat_message_dialog, GTK_TYPE_WINDOW)

enum { SIGNAL_ANSWERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void answer(ChatMessageDialog *self, gboolean confirmed) {
  if (self->answered)
    return;
  self->answered = TRUE;
  g_signal_emit(self, signals[SIGNAL_ANSWERED], 0, confirmed);
}

static void on_confirm_clicked(GtkButton *button, ChatMessageDialog *self) {
  answer(self, TRUE);
  gtk_window_destroy(GTK_WINDOW(self));
}

static void on_cancel_clicked(GtkButton *button, ChatMessageDialog *self) {
  answer(self, FALSE);
  gtk_window_destroy(GTK_WINDOW(self));
}

static gboolean chat_message_dialog_close_request(GtkWindow *window) {
  answer(CHAT_MESSAGE_DIALOG(window), FALSE);
  return GTK_WINDOW_CLASS(chat_message_dialog_parent_class)->close_request(window);
}

ChatMessageDialog *chat_message_dialog_new(GtkWindow *parent, const char *heading,
                                           const char *body) {
  /* The title names the window for assistive technologies (and tests);
   * the header bar shows the heading in the content instead. */
  ChatMessageDialog *self =
      g_object_new(CHAT_TYPE_MESSAGE_DIALOG, "transient-for", parent, "title", heading, NULL);
  gtk_label_set_text(self->heading_label, heading);
  gtk_label_set_text(self->body_label, body);
  gtk_window_set_default_widget(GTK_WINDOW(self), self->confirm_button);
  gtk_widget_grab_focus(self->confirm_button);
  return self;
}

ChatMessageDialog *chat_message_dialog_new_question(GtkWindow *parent, const char *heading,
                                                    const char *body, const char *confirm_label) {
  ChatMessageDialog *self = chat_message_dialog_new(parent, heading, body);
  gtk_widget_set_visible(self->cancel_button, TRUE);
  gtk_button_set_label(GTK_BUTTON(self->confirm_button), confirm_label);
  gtk_widget_add_css_class(self->confirm_button, "suggested-action");
  chat_a11y_fix_button_names(self->confirm_button);
  return self;
}

static void chat_message_dialog_dispose(GObject *object) {
  gtk_widget_dispose_template(GTK_WIDGET(object), CHAT_TYPE_MESSAGE_DIALOG);
  G_OBJECT_CLASS(chat_message_dialog_parent_class)->dispose(object);
}

static void chat_message_dialog_class_init(ChatMessageDialogClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);
  object_class->dispose = chat_message_dialog_dispose;
  window_class->close_request = chat_message_dialog_close_request;

  signals[SIGNAL_ANSWERED] = g_signal_new("answered", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_DIALOG);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-message-dialog.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatMessageDialog, heading_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageDialog, body_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageDialog, cancel_button);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageDialog, confirm_button);
  gtk_widget_class_bind_template_callback(widget_class, on_confirm_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_cancel_clicked);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void chat_message_dialog_init(ChatMessageDialog *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
}
