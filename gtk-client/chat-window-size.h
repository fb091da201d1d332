/* A window that opens with the size it had when one like it was last
 * closed: two integer keys of the settings (width, height). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Sets window's default size from the keys of settings, and writes its
 * size back when it is hidden or closed (not while maximized or
 * fullscreen: then the size it returns to is kept). Call before the window
 * is first shown. settings may be NULL (no schema): nothing is kept. */
void chat_window_size_remember(GtkWindow *window, GSettings *settings, const char *width_key,
                               const char *height_key);

G_END_DECLS
