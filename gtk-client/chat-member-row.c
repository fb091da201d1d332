#include "gtk-client/chat-member-row.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "gtk-client/core/chat-names.h"

struct _ChatMemberRow {
  GtkWidget parent_instance;

  GtkListItem *list_item; /* the list item showing this row (it owns the row) */

  ChatRoomMember *member;
  gboolean is_self;

  AdwAvatar *avatar;
  GtkWidget *presence;
  GtkLabel *name_label;
};

G_DEFINE_FINAL_TYPE(ChatMemberRow, chat_member_row, GTK_TYPE_WIDGET)

static void sync_row(ChatMemberRow *self) {
  if (self->member == NULL)
    return;
  g_autofree char *nickname = chat_name_single_line(chat_room_member_get_nickname(self->member));
  g_autofree char *username = chat_name_single_line(chat_room_member_get_username(self->member));
  if (*nickname == '\0') {
    g_free(nickname);
    nickname = g_strdup(username);
  }
  gboolean online = chat_room_member_get_online(self->member);
  g_autofree char *name = self->is_self
                              /* Translators: the user in a room's member list: "Alice (you)". */
                              ? g_strdup_printf(_("%s (you)"), nickname)
                              : g_strdup(nickname);
  gtk_label_set_text(self->name_label, name);
  adw_avatar_set_text(self->avatar, nickname);
  if (*username) {
    g_autofree char *tooltip = g_strdup_printf("@%s", username);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->name_label), tooltip);
  } else {
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->name_label), NULL);
  }
  const char *state = online ? _("Online") : _("Offline");
  gtk_widget_add_css_class(self->presence, online ? "online" : "offline");
  gtk_widget_remove_css_class(self->presence, online ? "offline" : "online");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->presence), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 state, -1);
  if (online)
    gtk_widget_remove_css_class(GTK_WIDGET(self->name_label), "dim-label");
  else
    gtk_widget_add_css_class(GTK_WIDGET(self->name_label), "dim-label");
  /* Translators: a room member for screen readers: "Bob, online". */
  g_autofree char *summary = g_strdup_printf(_("%s, %s"), name, state);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, summary, -1);
}

static void on_member_notify(ChatRoomMember *member, GParamSpec *pspec, ChatMemberRow *self) {
  sync_row(self);
}

void chat_member_row_set_member(ChatMemberRow *self, ChatRoomMember *member, gboolean is_self) {
  g_return_if_fail(CHAT_IS_MEMBER_ROW(self));
  if (self->member) {
    g_signal_handlers_disconnect_by_data(self->member, self);
    g_clear_object(&self->member);
  }
  self->is_self = is_self;
  if (member) {
    self->member = g_object_ref(member);
    g_signal_connect(member, "notify", G_CALLBACK(on_member_notify), self);
    sync_row(self);
  }
}

/* "member.open": what activating the row does (chat, or offer a friend
 * request), also offered to assistive technologies. */
static void open_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatMemberRow *self = (ChatMemberRow *)widget;
  if (self->list_item)
    gtk_widget_activate_action(widget, "list.activate-item", "u",
                               gtk_list_item_get_position(self->list_item));
}

void chat_member_row_set_list_item(ChatMemberRow *self, GtkListItem *list_item) {
  g_return_if_fail(G_TYPE_CHECK_INSTANCE_TYPE(self, chat_member_row_get_type()));
  self->list_item = list_item;
}

ChatMemberRow *chat_member_row_new(void) {
  return g_object_new(CHAT_TYPE_MEMBER_ROW, NULL);
}

static void chat_member_row_dispose(GObject *object) {
  ChatMemberRow *self = CHAT_MEMBER_ROW(object);
  chat_member_row_set_member(self, NULL, FALSE);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_MEMBER_ROW);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(chat_member_row_parent_class)->dispose(object);
}

static void chat_member_row_class_init(ChatMemberRowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_member_row_dispose;
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_install_action(widget_class, "member.open", NULL, open_activated);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-member-row.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatMemberRow, avatar);
  gtk_widget_class_bind_template_child(widget_class, ChatMemberRow, presence);
  gtk_widget_class_bind_template_child(widget_class, ChatMemberRow, name_label);
}

static void chat_member_row_init(ChatMemberRow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
}
