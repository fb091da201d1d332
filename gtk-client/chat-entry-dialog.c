#include "gtk-client/chat-entry-dialog.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"

struct _ChatEntryDialog {
  AdwWindow parent_instance;

  gboolean numeric;
  gboolean waits;
  gboolean waiting;

  GtkWidget *confirm_button;
  GtkLabel *body_label;
  GtkLabel *entry_label;
  GtkEntry *entry;
  GtkLabel *error_label;
  GtkSpinner *spinner;
};

G_DEFINE_FINAL_TYPE(ChatEntryDialog, chat_entry_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_SUBMITTED, N_SIGNALS };
static guint signals[N_SIGNALS];

static gboolean valid_number(const char *text) {
  guint64 value = 0;
  return g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &value, NULL);
}

static void set_error(ChatEntryDialog *self, const char *reason) {
  gtk_label_set_text(self->error_label, reason ? reason : "");
  gtk_widget_set_visible(GTK_WIDGET(self->error_label), reason != NULL);
  if (reason)
    gtk_accessible_update_state(GTK_ACCESSIBLE(self->entry), GTK_ACCESSIBLE_STATE_INVALID,
                                GTK_ACCESSIBLE_INVALID_TRUE, -1);
  else
    gtk_accessible_reset_state(GTK_ACCESSIBLE(self->entry), GTK_ACCESSIBLE_STATE_INVALID);
}

static void set_waiting(ChatEntryDialog *self, gboolean waiting) {
  self->waiting = waiting;
  gtk_widget_set_visible(GTK_WIDGET(self->spinner), waiting);
  gtk_spinner_set_spinning(self->spinner, waiting);
  gtk_editable_set_editable(GTK_EDITABLE(self->entry), !waiting);
}

/* The text typed, trimmed, if it can be submitted; else NULL. */
static char *acceptable_text(ChatEntryDialog *self) {
  g_autofree char *text = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));
  if (*text == '\0' || (self->numeric && !valid_number(text)))
    return NULL;
  return g_steal_pointer(&text);
}

static void update_confirm(ChatEntryDialog *self) {
  g_autofree char *text = acceptable_text(self);
  gtk_widget_set_sensitive(self->confirm_button, text != NULL && !self->waiting);
}

static void on_entry_changed(GtkEditable *editable, ChatEntryDialog *self) {
  g_autofree char *typed = g_strstrip(g_strdup(gtk_editable_get_text(editable)));
  g_autofree char *text = acceptable_text(self);
  /* A room number is digits only: say so as soon as something else is typed. */
  set_error(self,
            self->numeric && *typed && text == NULL ? _("Enter a number, such as 1001.") : NULL);
  update_confirm(self);
}

static void on_confirm_clicked(GtkButton *button, ChatEntryDialog *self) {
  g_autofree char *text = acceptable_text(self);
  if (text == NULL || self->waiting)
    return;
  if (!self->waits) {
    g_signal_emit(self, signals[SIGNAL_SUBMITTED], 0, text);
    gtk_window_destroy(GTK_WINDOW(self));
    return;
  }
  set_error(self, NULL);
  set_waiting(self, TRUE);
  update_confirm(self);
  g_signal_emit(self, signals[SIGNAL_SUBMITTED], 0, text);
}

void chat_entry_dialog_set_waits(ChatEntryDialog *self, gboolean waits) {
  g_return_if_fail(CHAT_IS_ENTRY_DIALOG(self));
  self->waits = waits;
}

void chat_entry_dialog_show_error(ChatEntryDialog *self, const char *reason) {
  g_return_if_fail(CHAT_IS_ENTRY_DIALOG(self));
  set_waiting(self, FALSE);
  set_error(self, reason);
  update_confirm(self);
  gtk_widget_grab_focus(GTK_WIDGET(self->entry));
}

void chat_entry_dialog_finish(ChatEntryDialog *self) {
  g_return_if_fail(CHAT_IS_ENTRY_DIALOG(self));
  gtk_window_destroy(GTK_WINDOW(self));
}

void chat_entry_dialog_set_numeric(ChatEntryDialog *self, gboolean numeric) {
  g_return_if_fail(CHAT_IS_ENTRY_DIALOG(self));
  self->numeric = numeric;
  gtk_entry_set_input_purpose(self->entry,
                              numeric ? GTK_INPUT_PURPOSE_DIGITS : GTK_INPUT_PURPOSE_FREE_FORM);
  update_confirm(self);
}

ChatEntryDialog *chat_entry_dialog_new(GtkWindow *parent, const char *title, const char *body,
                                       const char *entry_label, const char *confirm_label) {
  ChatEntryDialog *self =
      g_object_new(CHAT_TYPE_ENTRY_DIALOG, "transient-for", parent, "title", title, NULL);
  gtk_label_set_text(self->body_label, body);
  gtk_label_set_text_with_mnemonic(self->entry_label, entry_label);
  gtk_button_set_label(GTK_BUTTON(self->confirm_button), confirm_label);
  chat_a11y_fix_button_names(self->confirm_button);
  gtk_window_set_default_widget(GTK_WINDOW(self), self->confirm_button);
  gtk_widget_set_sensitive(self->confirm_button, FALSE);
  gtk_widget_grab_focus(GTK_WIDGET(self->entry));
  return self;
}

static void chat_entry_dialog_dispose(GObject *object) {
  gtk_widget_dispose_template(GTK_WIDGET(object), CHAT_TYPE_ENTRY_DIALOG);
  G_OBJECT_CLASS(chat_entry_dialog_parent_class)->dispose(object);
}

static void chat_entry_dialog_class_init(ChatEntryDialogClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_entry_dialog_dispose;

  signals[SIGNAL_SUBMITTED] = g_signal_new("submitted", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_DIALOG);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-entry-dialog.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, confirm_button);
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, body_label);
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, entry_label);
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, entry);
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, error_label);
  gtk_widget_class_bind_template_child(widget_class, ChatEntryDialog, spinner);
  gtk_widget_class_bind_template_callback(widget_class, on_entry_changed);
  gtk_widget_class_bind_template_callback(widget_class, on_confirm_clicked);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void chat_entry_dialog_init(ChatEntryDialog *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
}
