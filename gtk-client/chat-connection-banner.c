#include "gtk-client/chat-connection-banner.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

struct _ChatConnectionBanner {
  GtkWidget parent_instance;

  ChatSession *session;

  GtkWidget *box;
  GtkSpinner *spinner;
  GtkLabel *label;
  GtkWidget *log_in_button;
};

G_DEFINE_FINAL_TYPE(ChatConnectionBanner, chat_connection_banner, GTK_TYPE_WIDGET)

static void update(ChatConnectionBanner *self) {
  ChatSessionState state =
      self->session ? chat_session_get_state(self->session) : CHAT_SESSION_DISCONNECTED;
  const char *text = NULL;
  gboolean working = TRUE;
  switch (state) {
  case CHAT_SESSION_ONLINE:
    break;
  case CHAT_SESSION_RECONNECTING:
    text = _("Connection lost. Reconnecting…");
    break;
  case CHAT_SESSION_CONNECTING:
  case CHAT_SESSION_CONNECTED:
  case CHAT_SESSION_LOGGING_IN:
    text = _("Reconnecting…");
    break;
  case CHAT_SESSION_DISCONNECTED:
    text = _("Disconnected from the server.");
    working = FALSE;
    break;
  }
  if (text)
    gtk_label_set_text(self->label, text);
  gtk_spinner_set_spinning(self->spinner, text != NULL && working);
  gtk_widget_set_visible(GTK_WIDGET(self->spinner), working);
  gtk_widget_set_visible(self->log_in_button, !working);
  gtk_widget_set_visible(self->box, text != NULL);
  if (text)
    gtk_widget_add_css_class(self->box, working ? "warning" : "error");
  gtk_widget_remove_css_class(self->box, working ? "error" : "warning");
}

static void on_state_changed(ChatSession *session, ChatConnectionBanner *self) {
  update(self);
}

void chat_connection_banner_set_session(ChatConnectionBanner *self, ChatSession *session) {
  g_return_if_fail(CHAT_IS_CONNECTION_BANNER(self));
  if (self->session == session)
    return;
  if (self->session) {
    g_signal_handlers_disconnect_by_data(self->session, self);
    g_clear_object(&self->session);
  }
  if (session) {
    self->session = g_object_ref(session);
    g_signal_connect(session, "state-changed", G_CALLBACK(on_state_changed), self);
  }
  update(self);
}

static void chat_connection_banner_dispose(GObject *object) {
  ChatConnectionBanner *self = CHAT_CONNECTION_BANNER(object);
  chat_connection_banner_set_session(self, NULL);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_CONNECTION_BANNER);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(chat_connection_banner_parent_class)->dispose(object);
}

static void chat_connection_banner_class_init(ChatConnectionBannerClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_connection_banner_dispose;
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-connection-banner.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatConnectionBanner, box);
  gtk_widget_class_bind_template_child(widget_class, ChatConnectionBanner, spinner);
  gtk_widget_class_bind_template_child(widget_class, ChatConnectionBanner, label);
  gtk_widget_class_bind_template_child(widget_class, ChatConnectionBanner, log_in_button);
}

static void chat_connection_banner_init(ChatConnectionBanner *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
  update(self);
}
