#include "gtk-client/chat-search-bar.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#define SEARCH_BAR_KEY "chat-search-bar"

static void add_button(AdwHeaderBar *header, GtkSearchBar *bar) {
  GtkWidget *button = gtk_toggle_button_new();
  gtk_button_set_icon_name(GTK_BUTTON(button), "system-search-symbolic");
  gtk_widget_set_tooltip_text(button, _("Search Messages (Ctrl+F)"));
  gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Search messages"), -1);
  g_object_bind_property(button, "active", bar, "search-mode-enabled",
                         G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  adw_header_bar_pack_end(header, button);
}

static gboolean open_search(GtkWidget *widget, GVariant *args, gpointer data) {
  GtkSearchBar *bar = g_object_get_data(G_OBJECT(widget), SEARCH_BAR_KEY);
  ChatSearchPanel *panel = CHAT_SEARCH_PANEL(gtk_search_bar_get_child(bar));
  gtk_search_bar_set_search_mode(bar, TRUE);
  gtk_widget_grab_focus(GTK_WIDGET(chat_search_panel_get_entry(panel)));
  return TRUE;
}

static void on_search_mode(GtkSearchBar *bar, GParamSpec *pspec, ChatSearchPanel *panel) {
  if (gtk_search_bar_get_search_mode(bar))
    return;
  chat_search_panel_clear(panel);
  /* Focus must not stay in the hidden bar: GTK 4.8's accessibility
   * reports a focus on an unmapped widget with no object path (a
   * critical) when the window is focused again. */
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(bar));
  GtkWidget *focus = root ? gtk_root_get_focus(root) : NULL;
  if (focus && gtk_widget_is_ancestor(focus, GTK_WIDGET(bar)))
    gtk_root_set_focus(root, NULL);
}

ChatSearchPanel *chat_search_bar_attach(GtkWindow *window, AdwHeaderBar *header, GtkWidget *anchor,
                                        ChatSession *session, ChatContact *conversation) {
  g_return_val_if_fail(GTK_IS_WINDOW(window), NULL);
  g_return_val_if_fail(GTK_IS_BOX(gtk_widget_get_parent(anchor)), NULL);
  ChatSearchPanel *panel = chat_search_panel_new();
  chat_search_panel_set_session(panel, session);
  chat_search_panel_set_conversation(panel, conversation);
  GtkWidget *bar = gtk_search_bar_new();
  gtk_search_bar_set_child(GTK_SEARCH_BAR(bar), GTK_WIDGET(panel));
  gtk_search_bar_connect_entry(GTK_SEARCH_BAR(bar), chat_search_panel_get_entry(panel));
  /* Escape and the header bar button close it: the bar's own close button
   * has no accessible name in GTK 4.8. */
  gtk_search_bar_set_show_close_button(GTK_SEARCH_BAR(bar), FALSE);
  gtk_box_insert_child_after(GTK_BOX(gtk_widget_get_parent(anchor)), bar, anchor);
  g_signal_connect_object(bar, "notify::search-mode-enabled", G_CALLBACK(on_search_mode), panel, 0);
  g_object_set_data(G_OBJECT(window), SEARCH_BAR_KEY, bar);
  add_button(header, GTK_SEARCH_BAR(bar));

  GtkEventController *shortcuts = gtk_shortcut_controller_new();
  gtk_shortcut_controller_add_shortcut(
      GTK_SHORTCUT_CONTROLLER(shortcuts),
      gtk_shortcut_new(gtk_shortcut_trigger_parse_string("<Control>f"),
                       gtk_callback_action_new(open_search, NULL, NULL)));
  /* Before the composer, which would take the key otherwise. */
  gtk_event_controller_set_propagation_phase(shortcuts, GTK_PHASE_CAPTURE);
  gtk_widget_add_controller(GTK_WIDGET(window), shortcuts);
  return panel;
}
