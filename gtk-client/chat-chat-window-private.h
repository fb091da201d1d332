/* ChatChatWindow internals shared with chat-chat-window-actions.c. */
#pragma once

#include "gtk-client/chat-chat-window.h"
#include "gtk-client/chat-connection-banner.h"
#include "gtk-client/chat-room-members.h"
#include "protocol/chat-limits.h"

G_BEGIN_DECLS

/* Larger images are refused before sending when the server does not
 * announce its own limit (v2 server-info max_image: then the session
 * refuses larger ones). */
#define CHAT_IMAGE_MAX_BYTES CHAT_MAX_IMAGE_DEFAULT
/* Longer texts are refused before sending. */
#define CHAT_TEXT_MAX_BYTES (64u << 10)

struct _ChatChatWindow {
  AdwApplicationWindow parent_instance;

  ChatSession *session;
  ChatContact *contact;
  ChatConversation *conversation;
  GtkFlattenListModel *rows; /* the history marker, then the messages */
  GtkNoSelection *selection;
  GCancellable *cancellable; /* image loads, clipboard reads */
  GtkNativeDialog *file_dialog;
  GtkTextTag *style_tag; /* the composer shows the chosen size and colour */

  gboolean stick_to_bottom; /* follow new messages */
  double last_scroll_value;
  guint scroll_source;
  GPtrArray *transfers; /* ChatMessageItem images being sent */
  guint pulse_source;

  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  GtkWidget *members_button;
  AdwHeaderBar *header_bar;
  ChatConnectionBanner *banner;
  AdwFlap *flap;
  AdwToastOverlay *toast_overlay;
  GtkScrolledWindow *scroller;
  GtkListView *messages_view;
  GtkRevealer *jump_revealer;
  GtkWidget *empty_page;
  GtkRevealer *progress_revealer;
  GtkProgressBar *progress_bar;
  GtkSpinButton *size_spin;
  GtkWidget *color_button;
  GtkWidget *color_swatch;
  GtkPopover *color_popover;
  GtkColorChooser *color_chooser;
  GdkRGBA text_color; /* the composer's chosen colour */
  GtkTextView *input_view;
  GtkWidget *send_button;
  ChatRoomMembers *members;
};

/* Sends what the composer holds. */
void _chat_chat_window_send_text(ChatChatWindow *self);
/* Checks that bytes are an image of an acceptable size and sends it;
 * otherwise tells the user why not. */
void _chat_chat_window_send_image_bytes(ChatChatWindow *self, GBytes *bytes);
/* Reads an image file and sends it. */
void _chat_chat_window_send_image_file(ChatChatWindow *self, GFile *file);
/* Scrolls to the newest message and follows new ones again. */
void _chat_chat_window_scroll_to_newest(ChatChatWindow *self);
/* Scrolls to the oldest message shown and pages in older history. */
void _chat_chat_window_scroll_to_oldest(ChatChatWindow *self);

/* Installs the win.* actions and shortcuts. */
void _chat_chat_window_class_actions_init(ChatChatWindowClass *klass);
/* Adds the per-window key handling (Ctrl+Enter in the composer). */
void _chat_chat_window_actions_attach(ChatChatWindow *self);

G_END_DECLS
