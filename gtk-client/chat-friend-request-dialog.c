#include "gtk-client/chat-friend-request-dialog.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"
#include "gtk-client/chat-format.h"
#include "gtk-client/core/chat-names.h"

struct _ChatFriendRequestDialog {
  AdwWindow parent_instance;

  ChatContact *requester;
  gboolean answered;

  AdwAvatar *avatar;
  GtkLabel *message_label;
  GtkWidget *accept_button;
};

G_DEFINE_FINAL_TYPE(ChatFriendRequestDialog, chat_friend_request_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_ANSWERED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void answer(ChatFriendRequestDialog *self, ChatFriendRequestAnswer value) {
  if (self->answered)
    return;
  self->answered = TRUE;
  g_signal_emit(self, signals[SIGNAL_ANSWERED], 0, (int)value);
}

static void on_accept_clicked(GtkButton *button, ChatFriendRequestDialog *self) {
  answer(self, CHAT_FRIEND_REQUEST_ACCEPT);
  gtk_window_destroy(GTK_WINDOW(self));
}

static void on_reject_clicked(GtkButton *button, ChatFriendRequestDialog *self) {
  answer(self, CHAT_FRIEND_REQUEST_REJECT);
  gtk_window_destroy(GTK_WINDOW(self));
}

static void on_later_clicked(GtkButton *button, ChatFriendRequestDialog *self) {
  answer(self, CHAT_FRIEND_REQUEST_LATER);
  gtk_window_destroy(GTK_WINDOW(self));
}

static gboolean chat_friend_request_dialog_close_request(GtkWindow *window) {
  answer(CHAT_FRIEND_REQUEST_DIALOG(window), CHAT_FRIEND_REQUEST_LATER);
  return GTK_WINDOW_CLASS(chat_friend_request_dialog_parent_class)->close_request(window);
}

ChatContact *chat_friend_request_dialog_get_requester(ChatFriendRequestDialog *self) {
  g_return_val_if_fail(CHAT_IS_FRIEND_REQUEST_DIALOG(self), NULL);
  return self->requester;
}

ChatFriendRequestDialog *chat_friend_request_dialog_new(GtkWindow *parent, ChatContact *requester) {
  ChatFriendRequestDialog *self =
      g_object_new(CHAT_TYPE_FRIEND_REQUEST_DIALOG, "transient-for", parent, NULL);
  self->requester = g_object_ref(requester);
  g_autofree char *name = chat_name_single_line(chat_contact_get_name(requester));
  g_autofree char *username = chat_name_single_line(chat_contact_get_username(requester));
  adw_avatar_set_text(self->avatar, name);
  g_autofree char *message = NULL;
  if (*username && g_strcmp0(username, name) != 0)
    /* Translators: "Bob (@bob) wants to ..." */
    message = g_strdup_printf(_("%s (@%s) wants to add you as a friend."), name, username);
  else
    message = g_strdup_printf(_("%s wants to add you as a friend."), name);
  gtk_label_set_text(self->message_label, message);
  gtk_window_set_default_widget(GTK_WINDOW(self), self->accept_button);
  gtk_widget_grab_focus(self->accept_button);
  return self;
}

static void chat_friend_request_dialog_dispose(GObject *object) {
  ChatFriendRequestDialog *self = CHAT_FRIEND_REQUEST_DIALOG(object);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_FRIEND_REQUEST_DIALOG);
  g_clear_object(&self->requester);
  G_OBJECT_CLASS(chat_friend_request_dialog_parent_class)->dispose(object);
}

static void chat_friend_request_dialog_class_init(ChatFriendRequestDialogClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);
  object_class->dispose = chat_friend_request_dialog_dispose;
  window_class->close_request = chat_friend_request_dialog_close_request;

  signals[SIGNAL_ANSWERED] = g_signal_new("answered", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_DIALOG);
  gtk_widget_class_set_template_from_resource(
      widget_class, "/io/github/chatd/Chat/chat-friend-request-dialog.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatFriendRequestDialog, avatar);
  gtk_widget_class_bind_template_child(widget_class, ChatFriendRequestDialog, message_label);
  gtk_widget_class_bind_template_child(widget_class, ChatFriendRequestDialog, accept_button);
  gtk_widget_class_bind_template_callback(widget_class, on_accept_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_reject_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_later_clicked);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void chat_friend_request_dialog_init(ChatFriendRequestDialog *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
}
