/* The chat window's win.* actions and keys: send (Ctrl+Enter in the
 * composer, where plain Enter is a new line), send an image (Ctrl+I), jump
 * to the newest message (Ctrl+End) or to the oldest, paging in history
 * (Ctrl+Home), close (Ctrl+W). */
#include "gtk-client/chat-chat-window-private.h"

#include <glib/gi18n.h>

static void send_activated(GtkWidget *widget, const char *action, GVariant *param) {
  _chat_chat_window_send_text(CHAT_CHAT_WINDOW(widget));
}

static void on_image_chosen(GtkNativeDialog *dialog, int response, ChatChatWindow *self) {
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GListModel) files = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(dialog));
    guint n = g_list_model_get_n_items(files);
    for (guint i = 0; i < n; i++) {
      g_autoptr(GFile) file = g_list_model_get_item(files, i);
      _chat_chat_window_send_image_file(self, file);
    }
  }
  g_signal_handlers_disconnect_by_data(dialog, self);
  g_clear_object(&self->file_dialog);
  /* Back to writing, not to the image button. */
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
}

static void send_image_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatChatWindow *self = CHAT_CHAT_WINDOW(widget);
  if (self->file_dialog)
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
      _("Send an Image"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Send"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(chooser), TRUE);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats(filter);
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
  self->file_dialog = GTK_NATIVE_DIALOG(chooser);
  gtk_native_dialog_set_modal(self->file_dialog, TRUE);
  g_signal_connect(chooser, "response", G_CALLBACK(on_image_chosen), self);
  gtk_native_dialog_show(self->file_dialog);
}

static void jump_activated(GtkWidget *widget, const char *action, GVariant *param) {
  _chat_chat_window_scroll_to_newest(CHAT_CHAT_WINDOW(widget));
}

static void jump_oldest_activated(GtkWidget *widget, const char *action, GVariant *param) {
  _chat_chat_window_scroll_to_oldest(CHAT_CHAT_WINDOW(widget));
}

void _chat_chat_window_class_actions_init(ChatChatWindowClass *klass) {
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  gtk_widget_class_install_action(widget_class, "win.send", NULL, send_activated);
  gtk_widget_class_install_action(widget_class, "win.send-image", NULL, send_image_activated);
  gtk_widget_class_install_action(widget_class, "win.jump-to-newest", NULL, jump_activated);
  gtk_widget_class_install_action(widget_class, "win.jump-to-oldest", NULL, jump_oldest_activated);

  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_i, GDK_CONTROL_MASK, "win.send-image",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_End, GDK_CONTROL_MASK,
                                      "win.jump-to-newest", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Home, GDK_CONTROL_MASK,
                                      "win.jump-to-oldest", NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close",
                                      NULL);
}

void _chat_chat_window_actions_attach(ChatChatWindow *self) {
  /* The text view turns every Enter into a new line before the window's
   * own shortcuts see it, so Ctrl+Enter is caught on the way in. */
  GtkEventController *controller = gtk_shortcut_controller_new();
  gtk_event_controller_set_propagation_phase(controller, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut(
      GTK_SHORTCUT_CONTROLLER(controller),
      gtk_shortcut_new(gtk_shortcut_trigger_parse_string("<Control>Return|<Control>KP_Enter"),
                       gtk_named_action_new("win.send")));
  gtk_widget_add_controller(GTK_WIDGET(self->input_view), controller);
}
