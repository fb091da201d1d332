/* ChatContactsWindow internals shared with chat-contacts-window-actions.c. */
#pragma once

#include "gtk-client/chat-connection-banner.h"
#include "gtk-client/chat-contacts-window.h"

G_BEGIN_DECLS

struct _ChatContactsWindow {
  AdwApplicationWindow parent_instance;

  ChatSession *session;
  GtkNoSelection *selection;
  gboolean tabbing; /* the last key pressed was Tab: focus moves by keyboard */

  AdwHeaderBar *header_bar;
  ChatConnectionBanner *banner;
  GtkLabel *title_label;
  GtkLabel *subtitle_label;
  AdwToastOverlay *toast_overlay;
  AdwAvatar *self_avatar;
  GtkLabel *self_name_label;
  GtkLabel *self_detail_label;
  GtkWidget *requests_bar;
  GtkLabel *requests_label;
  GtkWidget *notice_bar;
  GtkLabel *notice_label;
  GtkStack *list_stack;
  GtkListView *contacts_view;
};

/* Installs the win.* actions (add a friend, join / create a room). */
void _chat_contacts_window_class_actions_init(ChatContactsWindowClass *klass);

G_END_DECLS
