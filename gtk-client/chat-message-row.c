#include "gtk-client/chat-message-row.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>

#include "gtk-client/chat-a11y.h"
#include "gtk-client/chat-format.h"
#include "gtk-client/chat-reasons.h"
#include "gtk-client/core/chat-color-contrast.h"
#include "gtk-client/core/chat-names.h"

/* style.css's names for the colours under a message's text. */
#define INCOMING_BUBBLE_COLOR "chat_incoming_bubble_color"
#define OUTGOING_BUBBLE_COLOR "chat_outgoing_bubble_color"
#define MESSAGES_BACKGROUND_COLOR "chat_messages_bg_color"

struct _ChatMessageRow {
  GtkWidget parent_instance;

  ChatMessageItem *item;
  ChatConversation *conversation;
  gboolean show_sender;
  gboolean continued;

  GtkStack *stack;
  GtkWidget *message_box;
  GtkLabel *header_label;
  GtkWidget *bubble;
  GtkLabel *text_label;
  GtkWidget *image_button;
  GtkPicture *picture;
  GtkWidget *status_box;
  GtkLabel *status_label;
  GtkWidget *retry_button;
  GtkSpinner *marker_spinner;
  GtkLabel *marker_label;
  GtkWidget *load_button;
};

G_DEFINE_FINAL_TYPE(ChatMessageRow, chat_message_row, GTK_TYPE_WIDGET)

enum { SIGNAL_RETRY_REQUESTED, SIGNAL_IMAGE_ACTIVATED, SIGNAL_LOAD_OLDER_REQUESTED, N_SIGNALS };
static guint signals[N_SIGNALS];

ChatMessageItem *chat_message_row_get_item(ChatMessageRow *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ROW(self), NULL);
  return self->item;
}

/* ---- images ---- */

static void on_size_prepared(GdkPixbufLoader *loader, int width, int height, gpointer data) {
  int max = GPOINTER_TO_INT(data);
  if (max <= 0 || (width <= max && height <= max))
    return;
  double scale = MIN((double)max / width, (double)max / height);
  gdk_pixbuf_loader_set_size(loader, MAX(1, (int)(width * scale)), MAX(1, (int)(height * scale)));
}

/* Decodes image bytes, scaled down to fit max (0: full size). */
static GdkTexture *decode_image(GBytes *bytes, int max) {
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new();
  g_signal_connect(loader, "size-prepared", G_CALLBACK(on_size_prepared), GINT_TO_POINTER(max));
  gboolean ok = gdk_pixbuf_loader_write_bytes(loader, bytes, NULL);
  ok = gdk_pixbuf_loader_close(loader, NULL) && ok;
  GdkPixbuf *pixbuf = ok ? gdk_pixbuf_loader_get_pixbuf(loader) : NULL;
  return pixbuf ? gdk_texture_new_for_pixbuf(pixbuf) : NULL;
}

GdkTexture *chat_message_row_get_texture(ChatMessageItem *item, gboolean thumbnail) {
  static GQuark thumbnail_quark, full_quark;
  if (thumbnail_quark == 0) {
    thumbnail_quark = g_quark_from_static_string("chat-message-row-thumbnail");
    full_quark = g_quark_from_static_string("chat-message-row-full");
  }
  GQuark quark = thumbnail ? thumbnail_quark : full_quark;
  GdkTexture *texture = g_object_get_qdata(G_OBJECT(item), quark);
  if (texture)
    return texture;
  GBytes *bytes = chat_message_item_get_image(item);
  if (bytes == NULL)
    return NULL;
  texture = decode_image(bytes, thumbnail ? CHAT_IMAGE_THUMBNAIL_MAX : 0);
  if (texture)
    g_object_set_qdata_full(G_OBJECT(item), quark, texture, g_object_unref);
  return texture;
}

/* ---- text ---- */

static gboolean is_default_color(const GdkRGBA *rgba) {
  /* Black is what senders use when they chose nothing; showing it in the
   * theme's colour keeps dark themes readable. */
  return rgba->red == 0 && rgba->green == 0 && rgba->blue == 0;
}

static guint8 channel_to_8_bits(float channel) {
  return (guint8)lroundf(CLAMP(channel, 0.f, 1.f) * 255);
}

static ChatColor color_from_rgba(const GdkRGBA *rgba) {
  return (ChatColor){channel_to_8_bits(rgba->red), channel_to_8_bits(rgba->green),
                     channel_to_8_bits(rgba->blue)};
}

/* The bubble's colour as drawn: style.css names it (and the list under it,
 * where the bubble is not opaque). FALSE when the theme does not have the
 * names. */
static gboolean bubble_color(ChatMessageRow *self, gboolean outgoing, ChatColor *color) {
  GtkStyleContext *context = gtk_widget_get_style_context(self->bubble);
  GdkRGBA bubble, under;
  if (!gtk_style_context_lookup_color(
          context, outgoing ? OUTGOING_BUBBLE_COLOR : INCOMING_BUBBLE_COLOR, &bubble) ||
      !gtk_style_context_lookup_color(context, MESSAGES_BACKGROUND_COLOR, &under))
    return FALSE;
  GdkRGBA drawn = {
      bubble.red * bubble.alpha + under.red * (1 - bubble.alpha),
      bubble.green * bubble.alpha + under.green * (1 - bubble.alpha),
      bubble.blue * bubble.alpha + under.blue * (1 - bubble.alpha),
      1,
  };
  *color = color_from_rgba(&drawn);
  return TRUE;
}

static PangoAttrList *text_attributes(ChatMessageRow *self, ChatMessageItem *item) {
  PangoAttrList *attrs = pango_attr_list_new();
  int size = chat_message_item_get_font_size(item);
  if (size > 0)
    pango_attr_list_insert(
        attrs,
        pango_attr_size_new(CLAMP(size, CHAT_FONT_SIZE_MIN, CHAT_FONT_SIZE_MAX) * PANGO_SCALE));
  const char *color = chat_message_item_get_font_color(item);
  GdkRGBA rgba;
  if (color && *color && gdk_rgba_parse(&rgba, color) && !is_default_color(&rgba)) {
    /* Drawn readable on this theme's bubble (defect: red on the dark
     * bubble was 2:1), lighter or darker, of the same hue. */
    ChatColor shown = color_from_rgba(&rgba), bubble;
    if (bubble_color(self, chat_message_item_get_outgoing(item), &bubble))
      shown = chat_color_ensure_contrast(shown, bubble, CHAT_CONTRAST_MIN_RATIO);
    pango_attr_list_insert(attrs, pango_attr_foreground_new((guint16)(shown.red * 257),
                                                            (guint16)(shown.green * 257),
                                                            (guint16)(shown.blue * 257)));
  }
  return attrs;
}

/* ---- syncing ---- */

static void sync_message(ChatMessageRow *self) {
  ChatMessageItem *item = self->item;
  gboolean outgoing = chat_message_item_get_outgoing(item);
  if (outgoing) {
    gtk_widget_add_css_class(self->message_box, "outgoing");
    gtk_widget_remove_css_class(self->message_box, "incoming");
  } else {
    gtk_widget_add_css_class(self->message_box, "incoming");
    gtk_widget_remove_css_class(self->message_box, "outgoing");
  }
  GtkAlign align = outgoing ? GTK_ALIGN_END : GTK_ALIGN_START;
  gtk_widget_set_halign(self->bubble, align);
  gtk_widget_set_halign(GTK_WIDGET(self->header_label), align);
  gtk_widget_set_halign(self->status_box, align);

  g_autofree char *time_text = chat_format_message_time(chat_message_item_get_time(item));
  /* "Alice (alice)": the nickname alone could be anyone's. */
  g_autofree char *sender_label = chat_sender_label(chat_message_item_get_sender_name(item),
                                                    chat_message_item_get_sender_username(item));
  g_autofree char *sender = chat_name_single_line(sender_label);
  g_autofree char *header = NULL;
  if (self->show_sender && !outgoing && *sender)
    /* Translators: above a room message: "sender · time" ("Alice (alice) · 12:03"). */
    header = g_strdup_printf(_("%s · %s"), sender, time_text);
  else
    header = g_strdup(time_text);
  gtk_label_set_text(self->header_label, header);
  gtk_widget_set_visible(GTK_WIDGET(self->header_label), *header != '\0' && !self->continued);
  if (self->continued)
    gtk_widget_add_css_class(self->message_box, "continued");
  else
    gtk_widget_remove_css_class(self->message_box, "continued");

  gboolean image = chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE;
  GdkTexture *texture = image ? chat_message_row_get_texture(item, TRUE) : NULL;
  if (image && texture) {
    gtk_picture_set_paintable(self->picture, GDK_PAINTABLE(texture));
    gtk_widget_set_size_request(GTK_WIDGET(self->picture), gdk_texture_get_width(texture),
                                gdk_texture_get_height(texture));
    g_autofree char *name =
        outgoing || !*sender
            ? g_strdup(_("Image, activate to view it full size"))
            : g_strdup_printf(_("Image from %s, activate to view it full size"), sender);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->image_button),
                                   GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    gtk_widget_set_visible(self->image_button, TRUE);
    gtk_widget_set_visible(GTK_WIDGET(self->text_label), FALSE);
    gtk_widget_add_css_class(self->bubble, "image");
  } else {
    gtk_picture_set_paintable(self->picture, NULL);
    gtk_widget_set_visible(self->image_button, FALSE);
    gtk_widget_set_visible(GTK_WIDGET(self->text_label), TRUE);
    gtk_widget_remove_css_class(self->bubble, "image");
    gtk_widget_remove_css_class(GTK_WIDGET(self->text_label), "image-placeholder");
    if (image && chat_message_item_is_image_preview(item)) {
      /* The server sent only its format and size (an image too large). */
      g_autofree char *placeholder = chat_image_preview_text(
          chat_message_item_get_image_format(item), chat_message_item_get_image_size(item));
      gtk_label_set_attributes(self->text_label, NULL);
      gtk_label_set_text(self->text_label, placeholder);
      gtk_widget_add_css_class(GTK_WIDGET(self->text_label), "image-placeholder");
    } else if (image) {
      gtk_label_set_attributes(self->text_label, NULL);
      gtk_label_set_text(self->text_label, _("[This image cannot be shown]"));
    } else {
      PangoAttrList *attrs = text_attributes(self, item);
      gtk_label_set_attributes(self->text_label, attrs);
      pango_attr_list_unref(attrs);
      const char *text = chat_message_item_get_text(item);
      gtk_label_set_text(self->text_label, text ? text : "");
    }
  }

  const char *status = NULL;
  g_autofree char *failure = NULL;
  switch (chat_message_item_get_delivery(item)) {
  case CHAT_DELIVERY_PENDING:
    status = image ? _("Sending image…") : _("Sending…");
    break;
  case CHAT_DELIVERY_FAILED: {
    const char *error = chat_message_item_get_error(item);
    /* v2 gives a code, worded in the user's language; seed only English. */
    g_autofree char *reason =
        error && *error ? chat_reasons_for_failure(chat_message_item_get_error_code(item), error)
                        : NULL;
    failure = reason ? g_strdup_printf(_("Not sent: %s"), reason) : g_strdup(_("Not sent."));
    status = failure;
    break;
  }
  case CHAT_DELIVERY_SENT:
    break;
  }
  gtk_widget_set_visible(self->status_box, status != NULL);
  gtk_label_set_text(self->status_label, status ? status : "");
  gboolean failed = chat_message_item_get_delivery(item) == CHAT_DELIVERY_FAILED;
  gtk_widget_set_visible(self->retry_button, failed);
  if (failed)
    gtk_widget_add_css_class(GTK_WIDGET(self->status_label), "error");
  else
    gtk_widget_remove_css_class(GTK_WIDGET(self->status_label), "error");
}

static void sync_marker(ChatMessageRow *self) {
  ChatConversation *conversation = self->conversation;
  gboolean loading = chat_conversation_get_loading(conversation);
  gboolean complete = chat_conversation_get_complete(conversation);
  guint n = g_list_model_get_n_items(chat_conversation_get_messages(conversation));
  gtk_spinner_set_spinning(self->marker_spinner, loading);
  gtk_widget_set_visible(GTK_WIDGET(self->marker_spinner), loading);
  gtk_widget_set_visible(self->load_button, !loading && !complete);
  const char *text = NULL;
  if (loading)
    text = _("Loading older messages…");
  else if (complete)
    text = n > 0 ? _("Beginning of the conversation") : _("No messages yet. Say hello!");
  gtk_widget_set_visible(GTK_WIDGET(self->marker_label), text != NULL);
  gtk_label_set_text(self->marker_label, text ? text : "");
}

static void on_item_notify(ChatMessageItem *item, GParamSpec *pspec, ChatMessageRow *self) {
  sync_message(self);
}

/* Light to dark or back: the bubbles changed colour, so the text colours
 * made readable on them are worked out again. */
static void on_style_changed(AdwStyleManager *manager, GParamSpec *pspec, ChatMessageRow *self) {
  if (self->item)
    sync_message(self);
}

static void on_conversation_notify(ChatConversation *conversation, GParamSpec *pspec,
                                   ChatMessageRow *self) {
  sync_marker(self);
}

static void on_messages_changed(GListModel *model, guint position, guint removed, guint added,
                                ChatMessageRow *self) {
  if (self->conversation)
    sync_marker(self);
}

void chat_message_row_clear(ChatMessageRow *self) {
  g_return_if_fail(CHAT_IS_MESSAGE_ROW(self));
  if (self->item) {
    g_signal_handlers_disconnect_by_data(self->item, self);
    g_clear_object(&self->item);
  }
  if (self->conversation) {
    g_signal_handlers_disconnect_by_data(chat_conversation_get_messages(self->conversation), self);
    g_signal_handlers_disconnect_by_data(self->conversation, self);
    g_clear_object(&self->conversation);
  }
  if (self->picture)
    gtk_picture_set_paintable(self->picture, NULL);
}

void chat_message_row_set_message(ChatMessageRow *self, ChatMessageItem *item, gboolean show_sender,
                                  gboolean continued) {
  g_return_if_fail(CHAT_IS_MESSAGE_ROW(self));
  chat_message_row_clear(self);
  self->item = g_object_ref(item);
  self->show_sender = show_sender;
  self->continued = continued;
  g_signal_connect(item, "notify", G_CALLBACK(on_item_notify), self);
  gtk_stack_set_visible_child_name(self->stack, "message");
  sync_message(self);
}

void chat_message_row_set_marker(ChatMessageRow *self, ChatConversation *conversation) {
  g_return_if_fail(CHAT_IS_MESSAGE_ROW(self));
  chat_message_row_clear(self);
  self->conversation = g_object_ref(conversation);
  g_signal_connect(conversation, "notify::loading", G_CALLBACK(on_conversation_notify), self);
  g_signal_connect(conversation, "notify::complete", G_CALLBACK(on_conversation_notify), self);
  g_signal_connect(chat_conversation_get_messages(conversation), "items-changed",
                   G_CALLBACK(on_messages_changed), self);
  gtk_stack_set_visible_child_name(self->stack, "marker");
  sync_marker(self);
}

static void on_image_clicked(GtkButton *button, ChatMessageRow *self) {
  if (self->item)
    g_signal_emit(self, signals[SIGNAL_IMAGE_ACTIVATED], 0, self->item);
}

static void on_retry_clicked(GtkButton *button, ChatMessageRow *self) {
  if (self->item)
    g_signal_emit(self, signals[SIGNAL_RETRY_REQUESTED], 0, self->item);
}

static void on_load_clicked(GtkButton *button, ChatMessageRow *self) {
  g_signal_emit(self, signals[SIGNAL_LOAD_OLDER_REQUESTED], 0);
}

ChatMessageRow *chat_message_row_new(void) {
  return g_object_new(CHAT_TYPE_MESSAGE_ROW, NULL);
}

static void chat_message_row_dispose(GObject *object) {
  ChatMessageRow *self = CHAT_MESSAGE_ROW(object);
  chat_message_row_clear(self);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_MESSAGE_ROW);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(chat_message_row_parent_class)->dispose(object);
}

static void chat_message_row_class_init(ChatMessageRowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_message_row_dispose;

  signals[SIGNAL_RETRY_REQUESTED] =
      g_signal_new("retry-requested", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 1, CHAT_TYPE_MESSAGE_ITEM);
  signals[SIGNAL_IMAGE_ACTIVATED] =
      g_signal_new("image-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 1, CHAT_TYPE_MESSAGE_ITEM);
  signals[SIGNAL_LOAD_OLDER_REQUESTED] =
      g_signal_new("load-older-requested", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                   NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-message-row.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, stack);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, message_box);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, header_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, bubble);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, text_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, image_button);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, picture);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, status_box);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, status_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, retry_button);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, marker_spinner);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, marker_label);
  gtk_widget_class_bind_template_child(widget_class, ChatMessageRow, load_button);
  gtk_widget_class_bind_template_callback(widget_class, on_image_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_retry_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_load_clicked);
}

static void chat_message_row_init(ChatMessageRow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
  AdwStyleManager *style =
      adw_style_manager_get_for_display(gtk_widget_get_display(GTK_WIDGET(self)));
  g_signal_connect_object(style, "notify::dark", G_CALLBACK(on_style_changed), self, 0);
  g_signal_connect_object(style, "notify::high-contrast", G_CALLBACK(on_style_changed), self, 0);
}
