/* The contacts window's win.* actions: add a friend, join a room, create a
 * room. Each asks for its value in a ChatEntryDialog; a friend request's
 * and a join's answer come back to their dialog (ChatApplication routes
 * them), a new room's as a "room-created". */
#include "gtk-client/chat-contacts-window-private.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-entry-dialog.h"

static ChatApplication *application_of(ChatContactsWindow *self) {
  return CHAT_APPLICATION(gtk_window_get_application(GTK_WINDOW(self)));
}

/* Both dialogs stay open until the server answers: with the reason in them
 * (and what was typed) if it did not work. */
static void on_add_friend_submitted(ChatEntryDialog *dialog, const char *username,
                                    ChatContactsWindow *self) {
  chat_application_add_friend(application_of(self), username, dialog);
}

static void on_join_room_submitted(ChatEntryDialog *dialog, const char *number,
                                   ChatContactsWindow *self) {
  gint64 room_id = 0;
  if (g_ascii_string_to_signed(number, 10, 1, G_MAXINT64, &room_id, NULL))
    chat_application_join_room(application_of(self), room_id, dialog);
}

static void on_create_room_submitted(ChatEntryDialog *dialog, const char *name,
                                     ChatContactsWindow *self) {
  chat_session_create_room(self->session, name);
}

static void add_friend_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatContactsWindow *self = CHAT_CONTACTS_WINDOW(widget);
  ChatEntryDialog *dialog = chat_entry_dialog_new(
      GTK_WINDOW(self), _("Add a Friend"),
      _("Enter the username of the person to add. They will be asked to accept."), _("_Username"),
      _("_Send Request"));
  chat_entry_dialog_set_waits(dialog, TRUE);
  g_signal_connect_object(dialog, "submitted", G_CALLBACK(on_add_friend_submitted), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void join_room_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatContactsWindow *self = CHAT_CONTACTS_WINDOW(widget);
  ChatEntryDialog *dialog = chat_entry_dialog_new(
      GTK_WINDOW(self), _("Join a Room"),
      _("Enter the number of the room. Its creator can tell you."), _("Room _number"), _("_Join"));
  chat_entry_dialog_set_numeric(dialog, TRUE);
  chat_entry_dialog_set_waits(dialog, TRUE);
  g_signal_connect_object(dialog, "submitted", G_CALLBACK(on_join_room_submitted), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void create_room_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatContactsWindow *self = CHAT_CONTACTS_WINDOW(widget);
  ChatEntryDialog *dialog = chat_entry_dialog_new(
      GTK_WINDOW(self), _("Create a Room"),
      _("Choose a name for the room. You will get its number to give to others."), _("Room _name"),
      _("C_reate"));
  g_signal_connect_object(dialog, "submitted", G_CALLBACK(on_create_room_submitted), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

void _chat_contacts_window_class_actions_init(ChatContactsWindowClass *klass) {
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  gtk_widget_class_install_action(widget_class, "win.add-friend", NULL, add_friend_activated);
  gtk_widget_class_install_action(widget_class, "win.join-room", NULL, join_room_activated);
  gtk_widget_class_install_action(widget_class, "win.create-room", NULL, create_room_activated);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.add-friend",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_j, GDK_CONTROL_MASK, "win.join-room",
                                      NULL);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_n, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                      "win.create-room", NULL);
}
