#include "gtk-client/chat-login-window.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"
#include "gtk-client/chat-reasons.h"
#include "gtk-client/core/chat-settings.h"

typedef enum {
  PENDING_NONE,
  PENDING_LOGIN,
  PENDING_REGISTER,
} PendingAction;

struct _ChatLoginWindow {
  AdwApplicationWindow parent_instance;

  ChatSession *session;
  PendingAction pending;  /* what the Retry button does again */
  gboolean busy;          /* waiting for the session */
  gboolean failure_shown; /* a specific failure is on screen */
  gboolean awaiting_key;  /* the server key dialog is open */
  guint disconnect_check;

  GtkLabel *title_label;
  GtkWidget *status_box;
  GtkSpinner *status_spinner;
  GtkLabel *status_label;
  GtkWidget *retry_button;
  GtkStack *stack;
  GtkLabel *server_label;
  GtkLabel *register_server_label;
  GtkEditable *username_entry;
  GtkEditable *password_entry;
  GtkWidget *login_button;
  GtkWidget *to_register_button;
  GtkEditable *register_username_entry;
  GtkEditable *register_nickname_entry;
  GtkEditable *register_password_entry;
  GtkEditable *register_confirm_entry;
  GtkWidget *register_button;
  GtkWidget *to_login_button;
};

G_DEFINE_FINAL_TYPE(ChatLoginWindow, chat_login_window, ADW_TYPE_APPLICATION_WINDOW)

typedef enum {
  STATUS_PROGRESS,
  STATUS_INFO,
  STATUS_ERROR,
} StatusKind;

static void show_status(ChatLoginWindow *self, StatusKind kind, const char *text,
                        gboolean can_retry) {
  gtk_label_set_text(self->status_label, text);
  gtk_spinner_set_spinning(self->status_spinner, kind == STATUS_PROGRESS);
  gtk_widget_set_visible(GTK_WIDGET(self->status_spinner), kind == STATUS_PROGRESS);
  gtk_widget_set_visible(self->retry_button, can_retry && self->pending != PENDING_NONE);
  if (kind == STATUS_ERROR)
    gtk_widget_add_css_class(self->status_box, "error");
  else
    gtk_widget_remove_css_class(self->status_box, "error");
  gtk_widget_set_visible(self->status_box, TRUE);
  /* Screen readers hear about failures. */
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->status_label), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 text, -1);
}

static void hide_status(ChatLoginWindow *self) {
  gtk_spinner_set_spinning(self->status_spinner, FALSE);
  gtk_widget_set_visible(self->status_box, FALSE);
}

static void set_busy(ChatLoginWindow *self, gboolean busy) {
  self->busy = busy;
  gboolean usable = !busy && self->session != NULL;
  /* A focused entry made insensitive never gets its focus-out (GTK 4.8):
   * its cursor blink then warns "GtkText - did not receive a focus-out
   * event". Take the focus off first; an error puts it back. */
  if (!usable)
    gtk_window_set_focus(GTK_WINDOW(self), NULL);
  GtkWidget *controls[] = {
      GTK_WIDGET(self->username_entry),
      GTK_WIDGET(self->password_entry),
      self->login_button,
      self->to_register_button,
      GTK_WIDGET(self->register_username_entry),
      GTK_WIDGET(self->register_nickname_entry),
      GTK_WIDGET(self->register_password_entry),
      GTK_WIDGET(self->register_confirm_entry),
      self->register_button,
      self->to_login_button,
  };
  for (guint i = 0; i < G_N_ELEMENTS(controls); i++)
    gtk_widget_set_sensitive(controls[i], usable);
}

static const char *server_address(ChatLoginWindow *self) {
  GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
  return app ? chat_application_get_server_address(CHAT_APPLICATION(app)) : "";
}

void chat_login_window_show_error(ChatLoginWindow *self, const char *message, gboolean can_retry) {
  g_return_if_fail(CHAT_IS_LOGIN_WINDOW(self));
  set_busy(self, FALSE);
  self->failure_shown = TRUE;
  self->awaiting_key = FALSE;
  show_status(self, STATUS_ERROR, message, can_retry);
}

static void show_unreachable(ChatLoginWindow *self) {
  g_autofree char *text = g_strdup_printf(
      _("Cannot reach the server at %s. Check that it is running and that the address in the "
        "configuration is right, then try again."),
      server_address(self));
  chat_login_window_show_error(self, text, TRUE);
}

/* ---- the actions ---- */

static void start_login(ChatLoginWindow *self) {
  const char *username = gtk_editable_get_text(self->username_entry);
  const char *password = gtk_editable_get_text(self->password_entry);
  g_autofree char *trimmed = g_strstrip(g_strdup(username));
  if (*trimmed == '\0') {
    chat_login_window_show_error(self, _("Enter your username."), FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->username_entry));
    return;
  }
  if (*password == '\0') {
    chat_login_window_show_error(self, _("Enter your password."), FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->password_entry));
    return;
  }
  self->pending = PENDING_LOGIN;
  self->failure_shown = FALSE;
  set_busy(self, TRUE);
  g_autofree char *text = g_strdup_printf(_("Connecting to %s…"), server_address(self));
  show_status(self, STATUS_PROGRESS, text, FALSE);
  chat_session_login(self->session, trimmed, password);
}

static void start_register(ChatLoginWindow *self) {
  g_autofree char *username =
      g_strstrip(g_strdup(gtk_editable_get_text(self->register_username_entry)));
  g_autofree char *nickname =
      g_strstrip(g_strdup(gtk_editable_get_text(self->register_nickname_entry)));
  const char *password = gtk_editable_get_text(self->register_password_entry);
  const char *confirm = gtk_editable_get_text(self->register_confirm_entry);
  if (*username == '\0') {
    chat_login_window_show_error(self, _("Choose a username."), FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->register_username_entry));
    return;
  }
  if (*password == '\0') {
    chat_login_window_show_error(self, _("Choose a password."), FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->register_password_entry));
    return;
  }
  if (g_strcmp0(password, confirm) != 0) {
    chat_login_window_show_error(self, _("The passwords do not match."), FALSE);
    gtk_widget_grab_focus(GTK_WIDGET(self->register_confirm_entry));
    return;
  }
  self->pending = PENDING_REGISTER;
  self->failure_shown = FALSE;
  set_busy(self, TRUE);
  g_autofree char *text = g_strdup_printf(_("Connecting to %s…"), server_address(self));
  show_status(self, STATUS_PROGRESS, text, FALSE);
  chat_session_register(self->session, username, password, *nickname ? nickname : username);
}

static void on_login_clicked(GtkButton *button, ChatLoginWindow *self) {
  if (self->session && !self->busy)
    start_login(self);
}

static void on_register_clicked(GtkButton *button, ChatLoginWindow *self) {
  if (self->session && !self->busy)
    start_register(self);
}

static void on_retry_clicked(GtkButton *button, ChatLoginWindow *self) {
  if (self->session == NULL || self->busy)
    return;
  if (self->pending == PENDING_REGISTER)
    start_register(self);
  else
    start_login(self);
}

static void on_username_activate(GtkEntry *entry, ChatLoginWindow *self) {
  gtk_widget_grab_focus(GTK_WIDGET(self->password_entry));
}

static void on_to_register_clicked(GtkButton *button, ChatLoginWindow *self) {
  gtk_stack_set_visible_child_name(self->stack, "register");
}

static void on_to_login_clicked(GtkButton *button, ChatLoginWindow *self) {
  gtk_stack_set_visible_child_name(self->stack, "login");
}

static void on_page_changed(GtkStack *stack, GParamSpec *pspec, ChatLoginWindow *self) {
  if (self->title_label == NULL) /* disposing */
    return;
  gboolean login = g_strcmp0(gtk_stack_get_visible_child_name(stack), "login") == 0;
  gtk_label_set_text(self->title_label, login ? _("Log In") : _("Create an Account"));
  gtk_window_set_title(GTK_WINDOW(self), login ? _("Log In") : _("Create an Account"));
  gtk_window_set_default_widget(GTK_WINDOW(self),
                                login ? self->login_button : self->register_button);
  if (!self->busy && !self->failure_shown)
    hide_status(self);
  gtk_widget_grab_focus(login ? GTK_WIDGET(self->username_entry)
                              : GTK_WIDGET(self->register_username_entry));
}

/* ---- session signals ---- */

/* The session went DISCONNECTED: it says why right after ("error",
 * "login-failed", "confirm-server-key", ...). Only when it did not is the
 * generic message shown. */
static gboolean check_disconnected(gpointer data) {
  ChatLoginWindow *self = data;
  self->disconnect_check = 0;
  if (self->busy && !self->failure_shown && !self->awaiting_key &&
      chat_session_get_state(self->session) == CHAT_SESSION_DISCONNECTED)
    show_unreachable(self);
  return G_SOURCE_REMOVE;
}

static void on_state_changed(ChatSession *session, ChatLoginWindow *self) {
  if (!self->busy)
    return;
  const char *text = NULL;
  switch (chat_session_get_state(session)) {
  case CHAT_SESSION_CONNECTING:
    self->awaiting_key = FALSE;
    return;
  case CHAT_SESSION_CONNECTED:
    text = self->pending == PENDING_REGISTER ? _("Creating the account…") : _("Logging in…");
    break;
  case CHAT_SESSION_LOGGING_IN:
    text = _("Logging in…");
    break;
  case CHAT_SESSION_ONLINE:
    text = _("Logged in.");
    break;
  case CHAT_SESSION_DISCONNECTED:
  case CHAT_SESSION_RECONNECTING:
    if (self->disconnect_check == 0)
      self->disconnect_check = g_idle_add(check_disconnected, self);
    return;
  }
  show_status(self, STATUS_PROGRESS, text, FALSE);
}

static void on_error(ChatSession *session, const char *message, ChatLoginWindow *self) {
  if (!self->busy)
    return;
  /* Translators: the session's reason, then the hint below. */
  g_autofree char *text = g_strdup_printf(
      _("%s. %s"), message,
      _("Check that the server is running and that its address in the configuration is right."));
  chat_login_window_show_error(self, text, TRUE);
}

static void on_confirm_server_key(ChatSession *session, const char *host_port,
                                  const char *fingerprint, ChatLoginWindow *self) {
  if (!self->busy)
    return;
  self->awaiting_key = TRUE;
  show_status(self, STATUS_PROGRESS, _("Check the server's key to continue…"), FALSE);
}

static void on_login_failed(ChatSession *session, const char *reason, ChatLoginWindow *self) {
  g_autofree char *text = chat_reasons_for_failure(chat_session_get_failure_code(session), reason);
  chat_login_window_show_error(self, text, FALSE);
  gboolean login = g_strcmp0(gtk_stack_get_visible_child_name(self->stack), "login") == 0;
  GtkWidget *focus =
      login ? GTK_WIDGET(self->password_entry) : GTK_WIDGET(self->register_username_entry);
  gtk_widget_grab_focus(focus);
  if (GTK_IS_EDITABLE(focus))
    gtk_editable_select_region(GTK_EDITABLE(focus), 0, -1);
}

static void on_register_done(ChatSession *session, gint64 user_id, ChatLoginWindow *self) {
  set_busy(self, FALSE);
  self->failure_shown = FALSE;
  self->pending = PENDING_NONE;
  gtk_editable_set_text(self->username_entry, gtk_editable_get_text(self->register_username_entry));
  gtk_editable_set_text(self->password_entry, "");
  gtk_editable_set_text(self->register_password_entry, "");
  gtk_editable_set_text(self->register_confirm_entry, "");
  gtk_stack_set_visible_child_name(self->stack, "login");
  show_status(self, STATUS_INFO, _("Account created. Log in with your new password."), FALSE);
  gtk_widget_grab_focus(GTK_WIDGET(self->password_entry));
}

/* ---- GObject ---- */

ChatLoginWindow *chat_login_window_new(ChatApplication *app) {
  ChatLoginWindow *self = g_object_new(CHAT_TYPE_LOGIN_WINDOW, "application", app, NULL);
  ChatSession *session = chat_application_get_session(app);
  g_autofree char *server =
      g_strdup_printf(_("Server: %s"), chat_application_get_server_address(app));
  gtk_label_set_text(self->server_label, server);
  gtk_label_set_text(self->register_server_label, server);
  if (session) {
    self->session = g_object_ref(session);
    g_signal_connect(session, "state-changed", G_CALLBACK(on_state_changed), self);
    g_signal_connect(session, "login-failed", G_CALLBACK(on_login_failed), self);
    g_signal_connect(session, "register-done", G_CALLBACK(on_register_done), self);
    g_signal_connect(session, "error", G_CALLBACK(on_error), self);
    g_signal_connect(session, "confirm-server-key", G_CALLBACK(on_confirm_server_key), self);
    const char *username = chat_session_get_username(session);
    if (username)
      gtk_editable_set_text(self->username_entry, username);
  }
  /* The username of the last sign-in, kept between launches. */
  GSettings *settings = chat_settings_get_default();
  if (settings && *gtk_editable_get_text(self->username_entry) == '\0') {
    g_autofree char *last = g_settings_get_string(settings, CHAT_SETTINGS_LAST_USERNAME);
    gtk_editable_set_text(self->username_entry, last);
  }
  set_busy(self, FALSE);
  if (session == NULL)
    chat_login_window_show_error(self, chat_application_get_config_error(app), FALSE);
  gtk_window_set_default_widget(GTK_WINDOW(self), self->login_button);
  gtk_widget_grab_focus(*gtk_editable_get_text(self->username_entry)
                            ? GTK_WIDGET(self->password_entry)
                            : GTK_WIDGET(self->username_entry));
  return self;
}

static void chat_login_window_dispose(GObject *object) {
  ChatLoginWindow *self = CHAT_LOGIN_WINDOW(object);
  g_clear_handle_id(&self->disconnect_check, g_source_remove);
  if (self->session) {
    g_signal_handlers_disconnect_by_data(self->session, self);
    g_clear_object(&self->session);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_LOGIN_WINDOW);
  G_OBJECT_CLASS(chat_login_window_parent_class)->dispose(object);
}

static void chat_login_window_class_init(ChatLoginWindowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_login_window_dispose;

  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-login-window.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, title_label);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, status_box);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, status_spinner);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, status_label);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, retry_button);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, stack);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, server_label);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_server_label);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, username_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, password_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, login_button);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, to_register_button);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_username_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_nickname_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_password_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_confirm_entry);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, register_button);
  gtk_widget_class_bind_template_child(widget_class, ChatLoginWindow, to_login_button);
  gtk_widget_class_bind_template_callback(widget_class, on_login_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_register_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_retry_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_username_activate);
  gtk_widget_class_bind_template_callback(widget_class, on_to_register_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_to_login_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_page_changed);
}

static void chat_login_window_init(ChatLoginWindow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
}
