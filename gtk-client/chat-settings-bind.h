/* Widgets bound to the font settings of sent messages: a spin button's
 * value to font-size, a colour chooser's colour to font-color ("#rrggbb").
 * The composer of every chat window and the preferences window share them:
 * a change in one shows in all and is kept for the next launch. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* settings may be NULL (no schema): nothing is bound. */
void chat_settings_bind_font_size(GSettings *settings, GtkSpinButton *spin);
void chat_settings_bind_font_color(GSettings *settings, GtkColorChooser *chooser);

G_END_DECLS
