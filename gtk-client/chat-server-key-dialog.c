#include "gtk-client/chat-server-key-dialog.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

struct _ChatServerKeyDialog {
  AdwWindow parent_instance;

  char *fingerprint;
  gboolean decided;

  GtkLabel *intro_label;
  GtkLabel *fingerprint_label;
  GtkWidget *cancel_button;
  GtkWidget *trust_button;
};

G_DEFINE_FINAL_TYPE(ChatServerKeyDialog, chat_server_key_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_DECIDED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void decide(ChatServerKeyDialog *self, gboolean trust) {
  if (self->decided)
    return;
  self->decided = TRUE;
  g_signal_emit(self, signals[SIGNAL_DECIDED], 0, trust);
}

static void on_trust_clicked(GtkButton *button, ChatServerKeyDialog *self) {
  decide(self, TRUE);
  gtk_window_destroy(GTK_WINDOW(self));
}

static void on_cancel_clicked(GtkButton *button, ChatServerKeyDialog *self) {
  decide(self, FALSE);
  gtk_window_destroy(GTK_WINDOW(self));
}

static gboolean chat_server_key_dialog_close_request(GtkWindow *window) {
  decide(CHAT_SERVER_KEY_DIALOG(window), FALSE);
  return GTK_WINDOW_CLASS(chat_server_key_dialog_parent_class)->close_request(window);
}

const char *chat_server_key_dialog_get_fingerprint(ChatServerKeyDialog *self) {
  g_return_val_if_fail(CHAT_IS_SERVER_KEY_DIALOG(self), NULL);
  return self->fingerprint;
}

ChatServerKeyDialog *chat_server_key_dialog_new(GtkWindow *parent, const char *host_port,
                                                const char *fingerprint) {
  ChatServerKeyDialog *self =
      g_object_new(CHAT_TYPE_SERVER_KEY_DIALOG, "transient-for", parent, NULL);
  self->fingerprint = g_strdup(fingerprint);
  g_autofree char *intro = g_strdup_printf(
      _("This is the first connection to the server %s. Its key fingerprint is:"), host_port);
  gtk_label_set_text(self->intro_label, intro);
  gtk_label_set_text(self->fingerprint_label, fingerprint);
  /* A fingerprint wraps anywhere, without hyphens that are not in it. */
  PangoAttrList *attrs = pango_attr_list_new();
  pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
  gtk_label_set_attributes(self->fingerprint_label, attrs);
  pango_attr_list_unref(attrs);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->fingerprint_label),
                                 GTK_ACCESSIBLE_PROPERTY_LABEL, fingerprint, -1);
  gtk_window_set_default_widget(GTK_WINDOW(self), self->cancel_button);
  gtk_widget_grab_focus(self->cancel_button);
  return self;
}

static void chat_server_key_dialog_dispose(GObject *object) {
  gtk_widget_dispose_template(GTK_WIDGET(object), CHAT_TYPE_SERVER_KEY_DIALOG);
  G_OBJECT_CLASS(chat_server_key_dialog_parent_class)->dispose(object);
}

static void chat_server_key_dialog_finalize(GObject *object) {
  g_free(CHAT_SERVER_KEY_DIALOG(object)->fingerprint);
  G_OBJECT_CLASS(chat_server_key_dialog_parent_class)->finalize(object);
}

static void chat_server_key_dialog_class_init(ChatServerKeyDialogClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);
  object_class->dispose = chat_server_key_dialog_dispose;
  object_class->finalize = chat_server_key_dialog_finalize;
  window_class->close_request = chat_server_key_dialog_close_request;

  signals[SIGNAL_DECIDED] = g_signal_new("decided", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_DIALOG);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-server-key-dialog.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatServerKeyDialog, intro_label);
  gtk_widget_class_bind_template_child(widget_class, ChatServerKeyDialog, fingerprint_label);
  gtk_widget_class_bind_template_child(widget_class, ChatServerKeyDialog, cancel_button);
  gtk_widget_class_bind_template_child(widget_class, ChatServerKeyDialog, trust_button);
  gtk_widget_class_bind_template_callback(widget_class, on_trust_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_cancel_clicked);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void chat_server_key_dialog_init(ChatServerKeyDialog *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
}
