#include "gtk-client/chat-chat-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gtk-client/chat-a11y.h"
#include "gtk-client/chat-chat-window-search.h"
#include "gtk-client/chat-dialogs.h"
#include "gtk-client/chat-image-viewer.h"
#include "gtk-client/chat-message-row.h"
#include "gtk-client/chat-settings-bind.h"
#include "gtk-client/chat-window-size.h"
#include "gtk-client/core/chat-names.h"
#include "gtk-client/core/chat-settings.h"

/* Within this many pixels of the bottom counts as "at the newest". */
#define BOTTOM_SLACK_PX 48
/* How often the upload bar pulses while an image is being sent. */
#define PULSE_INTERVAL_MS 120
/* How far back a progress report is looked for in the conversation. */
#define TRANSFER_SCAN_MAX 200
/* Messages of one sender closer than this share one sender and time line. */
#define MESSAGE_GROUP_GAP_MS (3 * 60 * 1000)

G_DEFINE_FINAL_TYPE(ChatChatWindow, chat_chat_window, ADW_TYPE_APPLICATION_WINDOW)

ChatContact *chat_chat_window_get_contact(ChatChatWindow *self) {
  g_return_val_if_fail(CHAT_IS_CHAT_WINDOW(self), NULL);
  return self->contact;
}

static gboolean is_room(ChatChatWindow *self) {
  return chat_contact_get_kind(self->contact) == CHAT_CONTACT_ROOM;
}

/* ---- title ---- */

static void update_title(ChatChatWindow *self) {
  g_autofree char *name = chat_name_single_line(chat_contact_get_name(self->contact));
  gtk_window_set_title(GTK_WINDOW(self), name);
  gtk_label_set_text(self->title_label, name);
  g_autofree char *subtitle = NULL;
  if (is_room(self)) {
    g_autofree char *number =
        g_strdup_printf("%" G_GINT64_FORMAT, chat_contact_get_id(self->contact));
    subtitle = g_strdup_printf(_("Room number %s"), number);
  } else {
    g_autofree char *username = chat_name_single_line(chat_contact_get_username(self->contact));
    const char *state = chat_contact_get_online(self->contact) ? _("Online") : _("Offline");
    subtitle = *username ? g_strdup_printf(_("@%s · %s"), username, state) : g_strdup(state);
  }
  gtk_label_set_text(self->subtitle_label, subtitle);
}

static void on_contact_notify(ChatContact *contact, GParamSpec *pspec, ChatChatWindow *self) {
  const char *name = g_param_spec_get_name(pspec);
  if (g_str_equal(name, "name") || g_str_equal(name, "online") || g_str_equal(name, "username"))
    update_title(self);
}

/* ---- scrolling ---- */

static GtkAdjustment *vadjustment(ChatChatWindow *self) {
  return gtk_scrolled_window_get_vadjustment(self->scroller);
}

static void maybe_load_older(ChatChatWindow *self) {
  if (!chat_conversation_get_complete(self->conversation) &&
      !chat_conversation_get_loading(self->conversation))
    chat_session_load_older(self->session, self->conversation);
}

static gboolean scroll_to_bottom_idle(gpointer data) {
  ChatChatWindow *self = data;
  self->scroll_source = 0;
  GtkAdjustment *adj = vadjustment(self);
  gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj));
  return G_SOURCE_REMOVE;
}

/* The list ignores a new value set while it lays itself out (it keeps its
 * own anchor), so the move waits until the layout is done. */
static void schedule_scroll_to_bottom(ChatChatWindow *self) {
  if (self->scroll_source == 0)
    self->scroll_source = g_idle_add(scroll_to_bottom_idle, self);
}

void _chat_chat_window_scroll_to_oldest(ChatChatWindow *self) {
  g_clear_handle_id(&self->scroll_source, g_source_remove);
  self->stick_to_bottom = FALSE;
  gtk_adjustment_set_value(vadjustment(self), 0);
  maybe_load_older(self);
}

void _chat_chat_window_scroll_to_newest(ChatChatWindow *self) {
  self->stick_to_bottom = TRUE;
  gtk_revealer_set_reveal_child(self->jump_revealer, FALSE);
  schedule_scroll_to_bottom(self);
}

static void on_scroll_value_changed(GtkAdjustment *adj, ChatChatWindow *self) {
  double value = gtk_adjustment_get_value(adj);
  /* The list reconfigures the adjustment when rows grow (a new upper, the
   * same value) before "changed": only a move of the view itself says
   * whether the user left the bottom. */
  if (value == self->last_scroll_value)
    return;
  self->last_scroll_value = value;
  double bottom = gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj);
  self->stick_to_bottom = value >= bottom - BOTTOM_SLACK_PX;
  gtk_revealer_set_reveal_child(self->jump_revealer, !self->stick_to_bottom);
}

/* The content grew or the window was resized: stay at the newest message
 * if that is where the user was; page in more history while the view is
 * not even full. */
static void on_scroll_changed(GtkAdjustment *adj, ChatChatWindow *self) {
  double page = gtk_adjustment_get_page_size(adj);
  double upper = gtk_adjustment_get_upper(adj);
  if (self->stick_to_bottom && gtk_adjustment_get_value(adj) < upper - page)
    schedule_scroll_to_bottom(self);
  if (upper <= page + 1 && page > 0)
    maybe_load_older(self);
}

static void on_edge_reached(GtkScrolledWindow *scroller, GtkPositionType pos,
                            ChatChatWindow *self) {
  if (pos == GTK_POS_TOP)
    maybe_load_older(self);
}

/* A conversation without any message says so (once its history is known
 * to be empty). */
static void update_empty_page(ChatChatWindow *self) {
  GListModel *messages = chat_conversation_get_messages(self->conversation);
  gtk_widget_set_visible(self->empty_page, g_list_model_get_n_items(messages) == 0 &&
                                               chat_conversation_get_complete(self->conversation));
}

static void on_complete_changed(ChatConversation *conversation, GParamSpec *pspec,
                                ChatChatWindow *self) {
  update_empty_page(self);
}

static void on_messages_changed(GListModel *messages, guint position, guint removed, guint added,
                                ChatChatWindow *self) {
  update_empty_page(self);
  /* Older pages are inserted at the start: the list keeps its place. New
   * messages are appended: follow them if the user is at the bottom. */
  if (added > 0 && position + added == g_list_model_get_n_items(messages) && self->stick_to_bottom)
    _chat_chat_window_scroll_to_newest(self);
}

/* ---- the message rows ---- */

static void on_row_retry(ChatMessageRow *row, ChatMessageItem *item, ChatChatWindow *self) {
  chat_session_retry(self->session, item);
}

static void on_row_image(ChatMessageRow *row, ChatMessageItem *item, ChatChatWindow *self) {
  GdkTexture *texture = chat_message_row_get_texture(item, FALSE);
  if (texture == NULL)
    return;
  g_autofree char *label = chat_sender_label(chat_message_item_get_sender_name(item),
                                             chat_message_item_get_sender_username(item));
  g_autofree char *sender = chat_name_single_line(label);
  g_autofree char *title = !chat_message_item_get_outgoing(item) && *sender
                               ? g_strdup_printf(_("Image from %s"), sender)
                               : g_strdup(_("Image"));
  ChatImageViewer *viewer =
      chat_image_viewer_new(GTK_WINDOW(self), texture, chat_message_item_get_image(item), title);
  gtk_window_present(GTK_WINDOW(viewer));
}

static void on_row_load_older(ChatMessageRow *row, ChatChatWindow *self) {
  maybe_load_older(self);
}

static void setup_row(GtkSignalListItemFactory *factory, GtkListItem *item, ChatChatWindow *self) {
  ChatMessageRow *row = chat_message_row_new();
  g_signal_connect(row, "retry-requested", G_CALLBACK(on_row_retry), self);
  g_signal_connect(row, "image-activated", G_CALLBACK(on_row_image), self);
  g_signal_connect(row, "load-older-requested", G_CALLBACK(on_row_load_older), self);
  gtk_list_item_set_child(item, GTK_WIDGET(row));
  gtk_list_item_set_activatable(item, FALSE);
  gtk_list_item_set_selectable(item, FALSE);
}

/* Whether a message follows one of the same sender closely. */
static gboolean continues_previous(ChatChatWindow *self, guint position, ChatMessageItem *item) {
  if (position == 0)
    return FALSE;
  g_autoptr(GObject) previous = g_list_model_get_item(G_LIST_MODEL(self->rows), position - 1);
  if (!CHAT_IS_MESSAGE_ITEM(previous))
    return FALSE;
  ChatMessageItem *before = CHAT_MESSAGE_ITEM(previous);
  gint64 gap = chat_message_item_get_time(item) - chat_message_item_get_time(before);
  return chat_message_item_get_outgoing(before) == chat_message_item_get_outgoing(item) &&
         chat_message_item_get_sender_id(before) == chat_message_item_get_sender_id(item) &&
         gap >= 0 && gap < MESSAGE_GROUP_GAP_MS;
}

static void bind_row(GtkSignalListItemFactory *factory, GtkListItem *item, ChatChatWindow *self) {
  ChatMessageRow *row = CHAT_MESSAGE_ROW(gtk_list_item_get_child(item));
  gpointer object = gtk_list_item_get_item(item);
  if (CHAT_IS_CONVERSATION(object))
    chat_message_row_set_marker(row, object);
  else
    chat_message_row_set_message(
        row, object, is_room(self),
        continues_previous(self, gtk_list_item_get_position(item), object));
}

static void unbind_row(GtkSignalListItemFactory *factory, GtkListItem *item, ChatChatWindow *self) {
  chat_message_row_clear(CHAT_MESSAGE_ROW(gtk_list_item_get_child(item)));
}

static void teardown_row(GtkSignalListItemFactory *factory, GtkListItem *item,
                         ChatChatWindow *self) {
  GtkWidget *row = gtk_list_item_get_child(item);
  if (row)
    g_signal_handlers_disconnect_by_data(row, self);
}

/* ---- image uploads ---- */

static gboolean pulse(gpointer data) {
  ChatChatWindow *self = data;
  gtk_progress_bar_pulse(self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void update_transfers(ChatChatWindow *self) {
  gboolean busy = self->transfers->len > 0;
  gtk_revealer_set_reveal_child(self->progress_revealer, busy);
  if (busy && self->pulse_source == 0)
    self->pulse_source = g_timeout_add(PULSE_INTERVAL_MS, pulse, self);
  else if (!busy)
    g_clear_handle_id(&self->pulse_source, g_source_remove);
  g_clear_handle_id(&self->scroll_source, g_source_remove);
}

static void on_transfer_delivery(ChatMessageItem *item, GParamSpec *pspec, ChatChatWindow *self) {
  if (chat_message_item_get_delivery(item) == CHAT_DELIVERY_PENDING)
    return;
  g_signal_handlers_disconnect_by_data(item, self);
  g_ptr_array_remove(self->transfers, item);
  update_transfers(self);
}

static gboolean in_conversation(ChatChatWindow *self, ChatMessageItem *item) {
  GListModel *messages = chat_conversation_get_messages(self->conversation);
  guint n = g_list_model_get_n_items(messages);
  for (guint i = n; i > 0 && n - i < TRANSFER_SCAN_MAX; i--) {
    g_autoptr(GObject) candidate = g_list_model_get_item(messages, i - 1);
    if (candidate == (GObject *)item)
      return TRUE;
  }
  return FALSE;
}

static void on_transfer_progress(ChatSession *session, ChatMessageItem *item, double fraction,
                                 ChatChatWindow *self) {
  gboolean known = g_ptr_array_find(self->transfers, item, NULL);
  if (fraction >= 1.0) {
    if (known)
      on_transfer_delivery(item, NULL, self);
    return;
  }
  if (!known) {
    if (!in_conversation(self, item))
      return;
    g_ptr_array_add(self->transfers, g_object_ref(item));
    g_signal_connect(item, "notify::delivery", G_CALLBACK(on_transfer_delivery), self);
  }
  if (fraction > 0.0)
    gtk_progress_bar_set_fraction(self->progress_bar, fraction);
  update_transfers(self);
}

/* ---- being looked at ---- */

static void update_open(ChatChatWindow *self) {
  gboolean open =
      gtk_widget_get_visible(GTK_WIDGET(self)) && gtk_window_is_active(GTK_WINDOW(self));
  chat_session_set_conversation_open(self->session, self->contact, open);
}

static void on_active_changed(GtkWindow *window, GParamSpec *pspec, ChatChatWindow *self) {
  update_open(self);
}

static void on_state_changed(ChatSession *session, ChatChatWindow *self) {
  /* Member lists are not pushed after a reconnect: ask again. */
  if (chat_session_get_state(session) == CHAT_SESSION_ONLINE && is_room(self))
    chat_session_query_members(session, self->contact);
}

/* ---- room members ---- */

typedef struct {
  GWeakRef window;
  char *username;
} FriendRequestOffer;

static void friend_request_offer_free(gpointer data) {
  FriendRequestOffer *offer = data;
  g_weak_ref_clear(&offer->window);
  g_free(offer->username);
  g_free(offer);
}

/* The answer comes back to this window (a toast), not the contacts window. */
static void on_add_friend_confirmed(gboolean confirmed, gpointer data) {
  FriendRequestOffer *offer = data;
  g_autoptr(GtkWidget) window = g_weak_ref_get(&offer->window);
  if (!confirmed || window == NULL)
    return;
  GtkApplication *app = gtk_window_get_application(GTK_WINDOW(window));
  if (app)
    chat_application_add_friend(CHAT_APPLICATION(app), offer->username, window);
}

static void on_member_activated(ChatRoomMembers *members, ChatRoomMember *member,
                                ChatChatWindow *self) {
  gint64 user_id = chat_room_member_get_user_id(member);
  if (user_id == chat_session_get_user_id(self->session))
    return;
  ChatContact *friend = chat_session_find_contact(self->session, CHAT_CONTACT_FRIEND, user_id);
  if (friend) {
    chat_application_open_conversation(
        CHAT_APPLICATION(gtk_window_get_application(GTK_WINDOW(self))), friend);
    return;
  }
  const char *username = chat_room_member_get_username(member);
  g_autofree char *nickname = chat_name_single_line(chat_room_member_get_nickname(member));
  g_autofree char *shown_username = chat_name_single_line(username);
  g_autofree char *body = g_strdup_printf(
      _("%s (@%s) is not your friend yet. Send a friend request? You can chat once it is "
        "accepted."),
      nickname, shown_username);
  FriendRequestOffer *offer = g_new0(FriendRequestOffer, 1);
  g_weak_ref_init(&offer->window, self);
  offer->username = g_strdup(username);
  chat_dialogs_confirm(GTK_WINDOW(self), _("Add a Friend?"), body, _("_Send Request"),
                       on_add_friend_confirmed, offer, friend_request_offer_free);
}

/* ---- composer style ---- */

static void on_style_changed(GtkWidget *widget, ChatChatWindow *self) {
  GtkTextBuffer *buffer = gtk_text_view_get_buffer(self->input_view);
  const GdkRGBA *rgba = &self->text_color;
  gboolean black = rgba->red == 0 && rgba->green == 0 && rgba->blue == 0;
  g_object_set(self->style_tag, "size-points", (double)gtk_spin_button_get_value(self->size_spin),
               "foreground-rgba", black ? NULL : rgba, NULL);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(buffer, &start, &end);
  gtk_text_buffer_apply_tag(buffer, self->style_tag, &start, &end);
}

/* The color button shows the chosen color as a round swatch. Black is the
 * default, which the composer and the message rows draw in the theme's
 * text color: so does the swatch (visible in dark mode too). */
static void draw_swatch(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data) {
  ChatChatWindow *self = data;
  const GdkRGBA *rgba = &self->text_color;
  GdkRGBA foreground;
  gtk_style_context_get_color(gtk_widget_get_style_context(GTK_WIDGET(area)), &foreground);
  gboolean black = rgba->red == 0 && rgba->green == 0 && rgba->blue == 0;
  double radius = MIN(width, height) / 2.0;
  cairo_arc(cr, width / 2.0, height / 2.0, radius, 0, 2 * G_PI);
  gdk_cairo_set_source_rgba(cr, black ? &foreground : rgba);
  cairo_fill_preserve(cr);
  GdkRGBA border = foreground;
  border.alpha *= 0.3;
  gdk_cairo_set_source_rgba(cr, &border);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
}

static void on_color_chosen(GtkColorChooser *chooser, GParamSpec *pspec, ChatChatWindow *self) {
  gtk_color_chooser_get_rgba(chooser, &self->text_color);
  self->text_color.alpha = 1;
  gtk_widget_queue_draw(self->color_swatch);
  on_style_changed(NULL, self);
}

static void on_color_activated(GtkColorChooser *chooser, GdkRGBA *color, ChatChatWindow *self) {
  on_color_chosen(chooser, NULL, self);
  gtk_popover_popdown(self->color_popover);
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
}

void chat_chat_window_show_toast(ChatChatWindow *self, const char *text) {
  g_return_if_fail(CHAT_IS_CHAT_WINDOW(self));
  adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(text));
}

static void on_buffer_changed(GtkTextBuffer *buffer, ChatChatWindow *self) {
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(buffer, &start, &end);
  gtk_text_buffer_apply_tag(buffer, self->style_tag, &start, &end);
}

/* ---- paste and drop ---- */

static void on_texture_read(GObject *source, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture =
      gdk_clipboard_read_texture_finish(GDK_CLIPBOARD(source), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  ChatChatWindow *self = data;
  if (texture == NULL) {
    g_warning("cannot read the image from the clipboard: %s", error ? error->message : "?");
    return;
  }
  g_autoptr(GBytes) png = gdk_texture_save_to_png_bytes(texture);
  _chat_chat_window_send_image_bytes(self, png);
}

static void on_files_read(GObject *source, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = NULL;
  const GValue *value = gdk_clipboard_read_value_finish(GDK_CLIPBOARD(source), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  ChatChatWindow *self = data;
  if (value == NULL || !G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
    return;
  for (GSList *l = g_value_get_boxed(value); l; l = l->next)
    _chat_chat_window_send_image_file(self, l->data);
}

/* Ctrl+V of an image (or of image files) sends it; text pastes as usual. */
static void on_paste_clipboard(GtkTextView *view, ChatChatWindow *self) {
  GdkClipboard *clipboard = gtk_widget_get_clipboard(GTK_WIDGET(view));
  GdkContentFormats *formats = gdk_clipboard_get_formats(clipboard);
  g_autoptr(GdkContentFormats) types =
      gdk_content_formats_union_deserialize_gtypes(gdk_content_formats_ref(formats));
  if (gdk_content_formats_contain_gtype(types, G_TYPE_STRING))
    return;
  if (gdk_content_formats_contain_gtype(types, GDK_TYPE_TEXTURE)) {
    g_signal_stop_emission_by_name(view, "paste-clipboard");
    gdk_clipboard_read_texture_async(clipboard, self->cancellable, on_texture_read, self);
  } else if (gdk_content_formats_contain_gtype(types, GDK_TYPE_FILE_LIST)) {
    g_signal_stop_emission_by_name(view, "paste-clipboard");
    gdk_clipboard_read_value_async(clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_files_read, self);
  }
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y,
                        ChatChatWindow *self) {
  if (G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) {
    for (GSList *l = g_value_get_boxed(value); l; l = l->next)
      _chat_chat_window_send_image_file(self, l->data);
    return TRUE;
  }
  if (G_VALUE_HOLDS(value, GDK_TYPE_TEXTURE)) {
    g_autoptr(GBytes) png = gdk_texture_save_to_png_bytes(g_value_get_object(value));
    _chat_chat_window_send_image_bytes(self, png);
    return TRUE;
  }
  return FALSE;
}

/* ---- sending ---- */

void _chat_chat_window_send_text(ChatChatWindow *self) {
  GtkTextBuffer *buffer = gtk_text_view_get_buffer(self->input_view);
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(buffer, &start, &end);
  g_autofree char *text = gtk_text_buffer_get_text(buffer, &start, &end, FALSE);
  g_strchomp(text);
  g_autofree char *check = g_strstrip(g_strdup(text));
  if (*check == '\0')
    return;
  if (strlen(text) > CHAT_TEXT_MAX_BYTES) {
    chat_dialogs_show_message(GTK_WINDOW(self), _("Message Too Long"),
                              _("The message is too long to send. Split it into several "
                                "messages."));
    return;
  }
  const GdkRGBA *rgba = &self->text_color;
  g_autofree char *color =
      g_strdup_printf("#%02x%02x%02x", (int)(rgba->red * 255 + 0.5), (int)(rgba->green * 255 + 0.5),
                      (int)(rgba->blue * 255 + 0.5));
  chat_session_send_text(self->session, self->contact, text,
                         gtk_spin_button_get_value_as_int(self->size_spin), color);
  gtk_text_buffer_set_text(buffer, "", 0);
  _chat_chat_window_scroll_to_newest(self);
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
}

static gboolean is_image(GBytes *bytes) {
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new();
  gboolean ok = gdk_pixbuf_loader_write_bytes(loader, bytes, NULL);
  ok = gdk_pixbuf_loader_close(loader, NULL) && ok;
  return ok && gdk_pixbuf_loader_get_pixbuf(loader) != NULL;
}

void _chat_chat_window_send_image_bytes(ChatChatWindow *self, GBytes *bytes) {
  gsize size = g_bytes_get_size(bytes);
  gsize server_limit = chat_session_get_max_image(self->session);
  if (server_limit > 0 && size > server_limit) {
    /* The session refuses it at once: a failed message saying the
     * server's limit, like any other send the server would refuse. */
    chat_session_send_image(self->session, self->contact, bytes);
    _chat_chat_window_scroll_to_newest(self);
    return;
  }
  if (server_limit == 0 && size > CHAT_IMAGE_MAX_BYTES) {
    g_autofree char *have = g_format_size(size);
    g_autofree char *limit = g_format_size(CHAT_IMAGE_MAX_BYTES);
    /* Translators: the first %s is the image's size, the second the limit ("8.4 MB"). */
    g_autofree char *body =
        g_strdup_printf(_("The image is %s; images up to %s can be sent."), have, limit);
    chat_dialogs_show_message(GTK_WINDOW(self), _("Image Too Large"), body);
    return;
  }
  if (!is_image(bytes)) {
    chat_dialogs_show_message(GTK_WINDOW(self), _("Not an Image"),
                              _("Only images (PNG, JPEG, GIF, …) can be sent."));
    return;
  }
  chat_session_send_image(self->session, self->contact, bytes);
  _chat_chat_window_scroll_to_newest(self);
}

static void on_file_loaded(GObject *source, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_file_load_bytes_finish(G_FILE(source), result, NULL, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  ChatChatWindow *self = data;
  if (bytes == NULL) {
    chat_dialogs_show_message(GTK_WINDOW(self), _("Cannot Read the File"), error->message);
    return;
  }
  _chat_chat_window_send_image_bytes(self, bytes);
}

void _chat_chat_window_send_image_file(ChatChatWindow *self, GFile *file) {
  g_file_load_bytes_async(file, self->cancellable, on_file_loaded, self);
}

/* ---- GObject ---- */

ChatChatWindow *chat_chat_window_new(ChatApplication *app, ChatContact *contact) {
  ChatSession *session = chat_application_get_session(app);
  g_return_val_if_fail(session != NULL, NULL);
  ChatChatWindow *self = g_object_new(CHAT_TYPE_CHAT_WINDOW, "application", app, NULL);
  self->session = g_object_ref(session);
  self->contact = g_object_ref(contact);
  self->conversation = g_object_ref(chat_session_get_conversation(session, contact));

  /* The rows: the history marker (the conversation itself), then the
   * messages. */
  GListStore *marker = g_list_store_new(CHAT_TYPE_CONVERSATION);
  g_list_store_append(marker, self->conversation);
  GListStore *sections = g_list_store_new(G_TYPE_LIST_MODEL);
  g_list_store_append(sections, marker);
  g_list_store_append(sections, chat_conversation_get_messages(self->conversation));
  g_object_unref(marker);
  self->rows = gtk_flatten_list_model_new(G_LIST_MODEL(sections));
  self->selection = gtk_no_selection_new(g_object_ref(G_LIST_MODEL(self->rows)));
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
  g_signal_connect(factory, "setup", G_CALLBACK(setup_row), self);
  g_signal_connect(factory, "bind", G_CALLBACK(bind_row), self);
  g_signal_connect(factory, "unbind", G_CALLBACK(unbind_row), self);
  g_signal_connect(factory, "teardown", G_CALLBACK(teardown_row), self);
  gtk_list_view_set_factory(self->messages_view, factory);
  g_object_unref(factory);
  gtk_list_view_set_model(self->messages_view, GTK_SELECTION_MODEL(self->selection));

  g_signal_connect(chat_conversation_get_messages(self->conversation), "items-changed",
                   G_CALLBACK(on_messages_changed), self);
  g_signal_connect(contact, "notify", G_CALLBACK(on_contact_notify), self);
  g_signal_connect(self->conversation, "notify::complete", G_CALLBACK(on_complete_changed), self);
  update_empty_page(self);
  g_signal_connect(session, "transfer-progress", G_CALLBACK(on_transfer_progress), self);
  g_signal_connect(session, "state-changed", G_CALLBACK(on_state_changed), self);
  chat_connection_banner_set_session(self->banner, session);

  if (is_room(self)) {
    gtk_widget_set_visible(self->members_button, TRUE);
    chat_room_members_set_room(self->members, contact, chat_session_get_user_id(session));
    /* The member pane folds over the messages in a narrow window (then it
     * starts hidden); the header button shows and hides it. */
    gtk_widget_set_visible(GTK_WIDGET(self->members), TRUE);
    adw_flap_set_swipe_to_open(self->flap, TRUE);
    g_object_bind_property(self->flap, "reveal-flap", self->members_button, "active",
                           G_BINDING_SYNC_CREATE | G_BINDING_BIDIRECTIONAL);
    g_signal_connect(self->members, "member-activated", G_CALLBACK(on_member_activated), self);
    chat_session_query_members(session, contact);
  }

  _chat_chat_window_search_attach(self);
  update_title(self);
  /* Opening a conversation reads it. */
  chat_session_mark_read(session, contact);
  if (g_list_model_get_n_items(chat_conversation_get_messages(self->conversation)) == 0)
    maybe_load_older(self);
  g_signal_connect(self, "notify::is-active", G_CALLBACK(on_active_changed), self);
  gtk_widget_grab_focus(GTK_WIDGET(self->input_view));
  return self;
}

static void chat_chat_window_dispose(GObject *object) {
  ChatChatWindow *self = CHAT_CHAT_WINDOW(object);
  g_cancellable_cancel(self->cancellable);
  if (self->file_dialog) {
    g_signal_handlers_disconnect_by_data(self->file_dialog, self);
    gtk_native_dialog_destroy(self->file_dialog);
    g_clear_object(&self->file_dialog);
  }
  g_clear_handle_id(&self->pulse_source, g_source_remove);
  if (self->transfers) {
    for (guint i = 0; i < self->transfers->len; i++)
      g_signal_handlers_disconnect_by_data(g_ptr_array_index(self->transfers, i), self);
    g_ptr_array_set_size(self->transfers, 0);
  }
  if (self->session) {
    chat_session_set_conversation_open(self->session, self->contact, FALSE);
    g_signal_handlers_disconnect_by_data(self->session, self);
    g_signal_handlers_disconnect_by_data(self->contact, self);
    g_signal_handlers_disconnect_by_data(chat_conversation_get_messages(self->conversation), self);
    g_signal_handlers_disconnect_by_data(self->conversation, self);
  }
  if (self->messages_view)
    gtk_list_view_set_model(self->messages_view, NULL);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_CHAT_WINDOW);
  g_clear_object(&self->selection);
  g_clear_object(&self->rows);
  g_clear_object(&self->conversation);
  g_clear_object(&self->contact);
  g_clear_object(&self->session);
  G_OBJECT_CLASS(chat_chat_window_parent_class)->dispose(object);
}

static void chat_chat_window_finalize(GObject *object) {
  ChatChatWindow *self = CHAT_CHAT_WINDOW(object);
  g_clear_object(&self->cancellable);
  g_clear_pointer(&self->transfers, g_ptr_array_unref);
  G_OBJECT_CLASS(chat_chat_window_parent_class)->finalize(object);
}

static void chat_chat_window_class_init(ChatChatWindowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_chat_window_dispose;
  object_class->finalize = chat_chat_window_finalize;

  g_type_ensure(CHAT_TYPE_CONNECTION_BANNER);
  g_type_ensure(CHAT_TYPE_ROOM_MEMBERS);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-chat-window.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, title_label);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, subtitle_label);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, members_button);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, header_bar);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, banner);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, flap);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, toast_overlay);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, scroller);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, messages_view);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, jump_revealer);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, empty_page);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, progress_revealer);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, progress_bar);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, size_spin);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, color_button);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, color_swatch);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, color_popover);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, color_chooser);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, input_view);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, send_button);
  gtk_widget_class_bind_template_child(widget_class, ChatChatWindow, members);
  gtk_widget_class_bind_template_callback(widget_class, on_edge_reached);
  gtk_widget_class_bind_template_callback(widget_class, on_style_changed);
  gtk_widget_class_bind_template_callback(widget_class, on_color_chosen);
  gtk_widget_class_bind_template_callback(widget_class, on_color_activated);
  gtk_widget_class_bind_template_callback(widget_class, on_paste_clipboard);

  _chat_chat_window_class_actions_init(klass);
}

static void chat_chat_window_init(ChatChatWindow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_a11y_fix_button_names(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();
  self->transfers = g_ptr_array_new_with_free_func(g_object_unref);
  self->stick_to_bottom = TRUE;

  GtkTextBuffer *buffer = gtk_text_view_get_buffer(self->input_view);
  self->style_tag = gtk_text_buffer_create_tag(buffer, "chat-style", NULL);
  g_signal_connect(buffer, "changed", G_CALLBACK(on_buffer_changed), self);
  self->text_color = (GdkRGBA){0, 0, 0, 1};
  gtk_color_chooser_set_rgba(self->color_chooser, &self->text_color);
  gtk_drawing_area_set_draw_func(GTK_DRAWING_AREA(self->color_swatch), draw_swatch, self, NULL);
  /* The spec's default font size (protocol/chat-limits.h), not the .ui's;
   * then the preferences (every chat window and the preferences window
   * share them). */
  gtk_spin_button_set_value(self->size_spin, CHAT_FONT_SIZE_DEFAULT);
  GSettings *settings = chat_settings_get_default();
  chat_settings_bind_font_size(settings, self->size_spin);
  chat_settings_bind_font_color(settings, self->color_chooser);
  on_style_changed(NULL, self);
  chat_window_size_remember(GTK_WINDOW(self), settings, CHAT_SETTINGS_CHAT_WINDOW_WIDTH,
                            CHAT_SETTINGS_CHAT_WINDOW_HEIGHT);

  GtkAdjustment *adj = vadjustment(self);
  g_signal_connect(adj, "value-changed", G_CALLBACK(on_scroll_value_changed), self);
  g_signal_connect(adj, "changed", G_CALLBACK(on_scroll_changed), self);

  _chat_chat_window_actions_attach(self);

  /* Images dropped anywhere on the chat are sent. */
  GtkDropTarget *drop = gtk_drop_target_new(G_TYPE_INVALID, GDK_ACTION_COPY);
  GType types[] = {GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE};
  gtk_drop_target_set_gtypes(drop, types, G_N_ELEMENTS(types));
  g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
}
