/* Accessible names. GTK 4.8 names a button by its accessible label
 * property *and* its label child ("_Log In Log In"); this drops the
 * property so the name is the visible text ("Log In"). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Fixes every button with a text label in widget's subtree. Call it after
 * the widgets are built (and after a button's label changes). */
void chat_a11y_fix_button_names(GtkWidget *widget);

G_END_DECLS
