/* The chat window's search and its jump to a message (see
 * chat-chat-window-search.h). */
#include "gtk-client/chat-chat-window-search.h"

#include "gtk-client/chat-chat-window-private.h"
#include "gtk-client/chat-message-row.h"
#include "gtk-client/chat-search-bar.h"

/* How long the message a search opened stays highlighted. */
#define TARGET_HIGHLIGHT_MS 2500
/* How many frames after a scroll the message is waited for in view (the
 * list makes the rows of its new place as it lays itself out). */
#define TARGET_FRAMES_MAX 30
/* The jump's state, kept on the window. */
#define JUMP_KEY "chat-search-jump"

typedef struct {
  GCancellable *cancellable; /* the history loading of the last jump */
  GtkWidget *highlighted;    /* the row highlighted, not a reference */
  gint64 shown_us;           /* frame time the message came into view, 0: not yet */
  ChatChatWindow *window;    /* the owner, not a reference */
  guint tick_id;             /* looking for the row on the list's frames */
  guint frames;
  gint64 message_id;
} Jump;

static void jump_free(gpointer data) {
  Jump *jump = data;
  g_cancellable_cancel(jump->cancellable);
  g_clear_object(&jump->cancellable);
  if (jump->tick_id && jump->window->messages_view)
    gtk_widget_remove_tick_callback(GTK_WIDGET(jump->window->messages_view), jump->tick_id);
  if (jump->highlighted)
    g_object_remove_weak_pointer(G_OBJECT(jump->highlighted), (gpointer *)&jump->highlighted);
  g_free(jump);
}

static Jump *jump_of(ChatChatWindow *self) {
  Jump *jump = g_object_get_data(G_OBJECT(self), JUMP_KEY);
  if (!jump) {
    jump = g_new0(Jump, 1);
    jump->window = self;
    g_object_set_data_full(G_OBJECT(self), JUMP_KEY, jump, jump_free);
  }
  return jump;
}

static void unhighlight(Jump *jump) {
  if (jump->highlighted) {
    gtk_widget_remove_css_class(jump->highlighted, "search-target");
    g_object_remove_weak_pointer(G_OBJECT(jump->highlighted), (gpointer *)&jump->highlighted);
    jump->highlighted = NULL;
  }
}

/* The row showing item among the list's rows (only those on screen, and a
 * few around them, exist). */
static GtkWidget *row_of(GtkWidget *widget, ChatMessageItem *item) {
  if (CHAT_IS_MESSAGE_ROW(widget))
    return chat_message_row_get_item(CHAT_MESSAGE_ROW(widget)) == item ? widget : NULL;
  for (GtkWidget *child = gtk_widget_get_first_child(widget); child;
       child = gtk_widget_get_next_sibling(child)) {
    GtkWidget *found = row_of(child, item);
    if (found)
      return found;
  }
  return NULL;
}

/* Whether a row lies (at least partly) in the visible part of the list. */
static gboolean row_in_view(ChatChatWindow *self, GtkWidget *row) {
  graphene_rect_t bounds;
  if (!gtk_widget_get_mapped(row) ||
      !gtk_widget_compute_bounds(row, GTK_WIDGET(self->scroller), &bounds))
    return FALSE;
  double top = graphene_rect_get_y(&bounds);
  return top + graphene_rect_get_height(&bounds) > 0 &&
         top < gtk_widget_get_height(GTK_WIDGET(self->scroller));
}

/* The row of the message, once it is in view. The list reuses its row
 * widgets as it scrolls, so the highlight follows the message, frame by
 * frame, for TARGET_HIGHLIGHT_MS from when it comes into view. */
static gboolean follow_target(GtkWidget *list, GdkFrameClock *clock, gpointer data) {
  Jump *jump = data;
  ChatChatWindow *self = jump->window;
  gint64 now = gdk_frame_clock_get_frame_time(clock);
  guint position;
  GtkWidget *row = NULL;
  if (chat_conversation_find_position(self->conversation, jump->message_id, &position)) {
    g_autoptr(ChatMessageItem) item =
        g_list_model_get_item(chat_conversation_get_messages(self->conversation), position);
    row = row_of(list, item);
    if (row && !row_in_view(self, row))
      row = NULL;
  }
  if (row != jump->highlighted) {
    unhighlight(jump);
    if (row) {
      gtk_widget_add_css_class(row, "search-target");
      jump->highlighted = row;
      g_object_add_weak_pointer(G_OBJECT(row), (gpointer *)&jump->highlighted);
    }
  }
  if (row && jump->shown_us == 0)
    jump->shown_us = now;
  gboolean over = jump->shown_us
                      ? now - jump->shown_us >= TARGET_HIGHLIGHT_MS * G_TIME_SPAN_MILLISECOND
                      : ++jump->frames >= TARGET_FRAMES_MAX;
  if (!over)
    return G_SOURCE_CONTINUE;
  unhighlight(jump);
  jump->tick_id = 0;
  return G_SOURCE_REMOVE;
}

static void scroll_to(ChatChatWindow *self, gint64 message_id) {
  guint position;
  if (!chat_conversation_find_position(self->conversation, message_id, &position))
    return;
  /* Stay here: new messages must not pull the view to the bottom. */
  self->stick_to_bottom = FALSE;
  g_clear_handle_id(&self->scroll_source, g_source_remove);
  /* The rows are the history marker, then the messages. */
  gtk_widget_activate_action(GTK_WIDGET(self->messages_view), "list.scroll-to-item", "u",
                             position + 1);
  Jump *jump = jump_of(self);
  jump->message_id = message_id;
  jump->frames = 0;
  jump->shown_us = 0;
  if (!jump->tick_id)
    jump->tick_id =
        gtk_widget_add_tick_callback(GTK_WIDGET(self->messages_view), follow_target, jump, NULL);
}

static void on_loaded(GObject *source, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = NULL;
  gboolean ok = chat_session_load_until_finish(CHAT_SESSION(source), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* another jump, or the window closed */
  ChatChatWindow *self = data;
  if (!ok) {
    chat_chat_window_show_toast(self, error->message);
    return;
  }
  scroll_to(self, jump_of(self)->message_id);
}

void chat_chat_window_show_message(ChatChatWindow *self, gint64 message_id) {
  g_return_if_fail(CHAT_IS_CHAT_WINDOW(self));
  Jump *jump = jump_of(self);
  g_cancellable_cancel(jump->cancellable);
  g_clear_object(&jump->cancellable);
  jump->cancellable = g_cancellable_new();
  jump->message_id = message_id;
  chat_session_load_until_async(self->session, self->conversation, message_id, jump->cancellable,
                                on_loaded, self);
}

static void on_hit_activated(ChatSearchPanel *panel, ChatSearchHit *hit, ChatChatWindow *self) {
  chat_chat_window_show_message(self, chat_search_hit_get_message_id(hit));
}

void _chat_chat_window_search_attach(ChatChatWindow *self) {
  ChatSearchPanel *panel = chat_search_bar_attach(
      GTK_WINDOW(self), self->header_bar, GTK_WIDGET(self->banner), self->session, self->contact);
  g_signal_connect_object(panel, "hit-activated", G_CALLBACK(on_hit_activated), self, 0);
}
