/* The app.* actions: quit, about, preferences, log out, open a
 * conversation (from a notification), review friend requests. */
#include "gtk-client/chat-application-private.h"

#include "build-config.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-preferences-window.h"

static void quit_activated(GSimpleAction *action, GVariant *param, gpointer data) {
  g_application_quit(G_APPLICATION(data));
}

static void about_activated(GSimpleAction *action, GVariant *param, gpointer data) {
  ChatApplication *self = data;
  gtk_show_about_dialog(gtk_application_get_active_window(GTK_APPLICATION(self)), "program-name",
                        _("Chat"), "version", CHAT_VERSION, "comments",
                        _("A desktop client for the chat server."), "logo-icon-name",
                        "user-available", "license-type", GTK_LICENSE_MIT_X11, NULL);
}

/* One preferences window: asked again, it comes to the front. */
static void preferences_activated(GSimpleAction *action, GVariant *param, gpointer data) {
  static GtkWindow *preferences; /* weak */
  if (preferences == NULL) {
    preferences = GTK_WINDOW(
        chat_preferences_window_new(gtk_application_get_active_window(GTK_APPLICATION(data))));
    g_object_add_weak_pointer(G_OBJECT(preferences), (gpointer *)&preferences);
  }
  gtk_window_present(preferences);
}

static void log_out_activated(GSimpleAction *action, GVariant *param, gpointer data) {
  chat_application_log_out(data);
}

static void open_conversation_activated(GSimpleAction *action, GVariant *param, gpointer data) {
  ChatApplication *self = data;
  gint32 kind = 0;
  gint64 id = 0;
  g_variant_get(param, "(ix)", &kind, &id);
  if (self->session == NULL)
    return;
  ChatContact *contact = chat_session_find_contact(self->session, (ChatContactKind)kind, id);
  if (contact)
    chat_application_open_conversation(self, contact);
}

static void review_friend_requests_activated(GSimpleAction *action, GVariant *param,
                                             gpointer data) {
  chat_application_review_friend_requests(data);
}

void _chat_application_actions_init(ChatApplication *self) {
  static const GActionEntry entries[] = {
      {.name = "quit", .activate = quit_activated},
      {.name = "about", .activate = about_activated},
      {.name = "preferences", .activate = preferences_activated},
      {.name = "log-out", .activate = log_out_activated},
      {.name = "open-conversation",
       .activate = open_conversation_activated,
       .parameter_type = "(ix)"},
      {.name = "review-friend-requests", .activate = review_friend_requests_activated},
  };
  g_action_map_add_action_entries(G_ACTION_MAP(self), entries, G_N_ELEMENTS(entries), self);

  static const char *const quit_accels[] = {"<Control>q", NULL};
  gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.quit", quit_accels);
  static const char *const preferences_accels[] = {"<Control>comma", NULL};
  gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.preferences",
                                        preferences_accels);
}
