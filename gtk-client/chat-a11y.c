#include "gtk-client/chat-a11y.h"

void chat_a11y_fix_button_names(GtkWidget *widget) {
  g_return_if_fail(GTK_IS_WIDGET(widget));
  if (GTK_IS_BUTTON(widget) && gtk_button_get_label(GTK_BUTTON(widget)) != NULL)
    gtk_accessible_reset_property(GTK_ACCESSIBLE(widget), GTK_ACCESSIBLE_PROPERTY_LABEL);
  for (GtkWidget *child = gtk_widget_get_first_child(widget); child;
       child = gtk_widget_get_next_sibling(child))
    chat_a11y_fix_button_names(child);
}
