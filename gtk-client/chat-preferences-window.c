#include "gtk-client/chat-preferences-window.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-settings-bind.h"
#include "gtk-client/core/chat-settings.h"

/* The window's own action group: prefs.color-scheme, the key as a
 * stateful action the three style buttons are bound to. */
#define ACTION_GROUP "prefs"

struct _ChatPreferencesWindow {
  AdwPreferencesWindow parent_instance;

  GtkSpinButton *font_size_spin;
  GtkColorButton *font_color_button;
};

G_DEFINE_FINAL_TYPE(ChatPreferencesWindow, chat_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/* The window's own list of search results has no name (a screen reader
 * would say "GtkListBox"); the groups' lists are named by their titles. */
static void name_search_results(GtkWidget *widget, gboolean in_titled_group) {
  if (ADW_IS_PREFERENCES_GROUP(widget)) {
    const char *title = adw_preferences_group_get_title(ADW_PREFERENCES_GROUP(widget));
    in_titled_group = title && *title;
  }
  if (GTK_IS_LIST_BOX(widget)) {
    if (!in_titled_group)
      gtk_accessible_update_property(GTK_ACCESSIBLE(widget), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                     _("Search results"), -1);
    return;
  }
  for (GtkWidget *child = gtk_widget_get_first_child(widget); child;
       child = gtk_widget_get_next_sibling(child))
    name_search_results(child, in_titled_group);
}

ChatPreferencesWindow *chat_preferences_window_new(GtkWindow *parent) {
  return g_object_new(CHAT_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
}

static void chat_preferences_window_class_init(ChatPreferencesWindowClass *klass) {
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-preferences-window.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatPreferencesWindow, font_size_spin);
  gtk_widget_class_bind_template_child(widget_class, ChatPreferencesWindow, font_color_button);
}

static void chat_preferences_window_init(ChatPreferencesWindow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  name_search_results(GTK_WIDGET(self), FALSE);
  /* GtkColorButton names itself, not the button inside it. */
  GtkWidget *color_inner = gtk_widget_get_first_child(GTK_WIDGET(self->font_color_button));
  if (GTK_IS_BUTTON(color_inner))
    gtk_accessible_update_property(GTK_ACCESSIBLE(color_inner), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Text color"), -1);

  GSettings *settings = chat_settings_get_default();
  if (settings == NULL) {
    /* No schema: nothing could be kept or applied. */
    gtk_widget_set_sensitive(GTK_WIDGET(self), FALSE);
    return;
  }
  chat_settings_bind_font_size(settings, self->font_size_spin);
  chat_settings_bind_font_color(settings, GTK_COLOR_CHOOSER(self->font_color_button));
  g_autoptr(GSimpleActionGroup) actions = g_simple_action_group_new();
  g_autoptr(GAction) color_scheme = g_settings_create_action(settings, CHAT_SETTINGS_COLOR_SCHEME);
  g_action_map_add_action(G_ACTION_MAP(actions), color_scheme);
  gtk_widget_insert_action_group(GTK_WIDGET(self), ACTION_GROUP, G_ACTION_GROUP(actions));
}
