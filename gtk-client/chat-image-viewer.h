/* ChatImageViewer: an image message at full size, scrollable, with "Save
 * As…". Escape closes it. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* The viewer opens at most this large (pixels); larger images scroll. */
#define CHAT_IMAGE_VIEWER_MAX_WIDTH 1100
#define CHAT_IMAGE_VIEWER_MAX_HEIGHT 720

#define CHAT_TYPE_IMAGE_VIEWER (chat_image_viewer_get_type())
G_DECLARE_FINAL_TYPE(ChatImageViewer, chat_image_viewer, CHAT, IMAGE_VIEWER, AdwWindow)

/* bytes: the encoded image (saved as is); texture: it decoded. */
ChatImageViewer *chat_image_viewer_new(GtkWindow *parent, GdkTexture *texture, GBytes *bytes,
                                       const char *title);

G_END_DECLS
