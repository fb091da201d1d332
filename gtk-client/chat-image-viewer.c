#include "gtk-client/chat-image-viewer.h"

#include <glib/gi18n.h>

struct _ChatImageViewer {
  AdwWindow parent_instance;

  GBytes *bytes;
  GtkNativeDialog *save_dialog;

  GtkPicture *picture;
};

G_DEFINE_FINAL_TYPE(ChatImageViewer, chat_image_viewer, ADW_TYPE_WINDOW)

/* What the image's bytes are: an extension for its file name. */
static const char *guess_extension(GBytes *bytes) {
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  g_autofree char *type = g_content_type_guess(NULL, data, len, NULL);
  if (g_content_type_is_a(type, "image/png"))
    return "png";
  if (g_content_type_is_a(type, "image/jpeg"))
    return "jpg";
  if (g_content_type_is_a(type, "image/gif"))
    return "gif";
  if (g_content_type_is_a(type, "image/webp"))
    return "webp";
  return "img";
}

static void on_save_response(GtkNativeDialog *dialog, int response, ChatImageViewer *self) {
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    const char *data = g_bytes_get_data(self->bytes, &len);
    if (file && !g_file_replace_contents(file, data, len, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                         NULL, &error))
      g_warning("cannot save the image: %s", error->message);
  }
  g_clear_object(&self->save_dialog);
}

static void on_save_clicked(GtkButton *button, ChatImageViewer *self) {
  if (self->bytes == NULL || self->save_dialog)
    return;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new(
      _("Save Image"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  g_autofree char *name = g_strdup_printf("%s.%s", _("image"), guess_extension(self->bytes));
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(chooser), name);
  self->save_dialog = GTK_NATIVE_DIALOG(chooser);
  gtk_native_dialog_set_modal(self->save_dialog, TRUE);
  g_signal_connect(chooser, "response", G_CALLBACK(on_save_response), self);
  gtk_native_dialog_show(self->save_dialog);
}

ChatImageViewer *chat_image_viewer_new(GtkWindow *parent, GdkTexture *texture, GBytes *bytes,
                                       const char *title) {
  ChatImageViewer *self = g_object_new(CHAT_TYPE_IMAGE_VIEWER, "transient-for", parent, NULL);
  if (title)
    gtk_window_set_title(GTK_WINDOW(self), title);
  self->bytes = bytes ? g_bytes_ref(bytes) : NULL;
  gtk_picture_set_paintable(self->picture, GDK_PAINTABLE(texture));
  int width = gdk_texture_get_width(texture), height = gdk_texture_get_height(texture);
  gtk_window_set_default_size(GTK_WINDOW(self), CLAMP(width, 240, CHAT_IMAGE_VIEWER_MAX_WIDTH),
                              CLAMP(height, 180, CHAT_IMAGE_VIEWER_MAX_HEIGHT));
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->picture), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 title ? title : _("Image"), -1);
  return self;
}

static void chat_image_viewer_dispose(GObject *object) {
  ChatImageViewer *self = CHAT_IMAGE_VIEWER(object);
  if (self->save_dialog) {
    g_signal_handlers_disconnect_by_data(self->save_dialog, self);
    gtk_native_dialog_destroy(self->save_dialog);
    g_clear_object(&self->save_dialog);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_IMAGE_VIEWER);
  g_clear_pointer(&self->bytes, g_bytes_unref);
  G_OBJECT_CLASS(chat_image_viewer_parent_class)->dispose(object);
}

static void chat_image_viewer_class_init(ChatImageViewerClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_image_viewer_dispose;
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-image-viewer.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatImageViewer, picture);
  gtk_widget_class_bind_template_callback(widget_class, on_save_clicked);
  gtk_widget_class_add_binding_action(widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void chat_image_viewer_init(ChatImageViewer *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
}
