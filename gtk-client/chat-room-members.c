#include "gtk-client/chat-room-members.h"

#include "build-config.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-member-row.h"

struct _ChatRoomMembers {
  GtkWidget parent_instance;

  GListModel *members;
  GPtrArray *watched; /* the members whose "online" the heading follows */
  GtkNoSelection *selection;
  gint64 self_id;

  GtkLabel *heading_label;
  GtkListView *members_view;
};

G_DEFINE_FINAL_TYPE(ChatRoomMembers, chat_room_members, GTK_TYPE_WIDGET)

enum { SIGNAL_MEMBER_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void update_heading(ChatRoomMembers *self) {
  guint n = self->members ? g_list_model_get_n_items(self->members) : 0;
  guint online = 0;
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatRoomMember) member = g_list_model_get_item(self->members, i);
    if (chat_room_member_get_online(member))
      online++;
  }
  g_autofree char *text = g_strdup_printf(
      /* Translators: under the heading of a room's member list: "2 of 5 online". */
      g_dngettext(GETTEXT_PACKAGE, "%u of %u online", "%u of %u online", n), online, n);
  gtk_label_set_text(self->heading_label, text);
}

static void on_member_online(ChatRoomMember *member, GParamSpec *pspec, ChatRoomMembers *self) {
  update_heading(self);
}

static void unwatch_members(ChatRoomMembers *self) {
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_data(g_ptr_array_index(self->watched, i), self);
  g_ptr_array_set_size(self->watched, 0);
}

/* A member's state can change without the list moving it: follow each
 * member's "online" too. */
static void watch_members(ChatRoomMembers *self) {
  unwatch_members(self);
  guint n = self->members ? g_list_model_get_n_items(self->members) : 0;
  for (guint i = 0; i < n; i++) {
    ChatRoomMember *member = g_list_model_get_item(self->members, i);
    g_signal_connect(member, "notify::online", G_CALLBACK(on_member_online), self);
    g_ptr_array_add(self->watched, member);
  }
}

static void on_members_changed(GListModel *model, guint position, guint removed, guint added,
                               ChatRoomMembers *self) {
  watch_members(self);
  update_heading(self);
}

static void setup_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  ChatMemberRow *row = chat_member_row_new();
  chat_member_row_set_list_item(row, item);
  gtk_list_item_set_child(item, GTK_WIDGET(row));
}

static void bind_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  ChatRoomMembers *self = data;
  ChatRoomMember *member = CHAT_ROOM_MEMBER(gtk_list_item_get_item(item));
  chat_member_row_set_member(CHAT_MEMBER_ROW(gtk_list_item_get_child(item)), member,
                             chat_room_member_get_user_id(member) == self->self_id);
}

static void unbind_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  chat_member_row_set_member(CHAT_MEMBER_ROW(gtk_list_item_get_child(item)), NULL, FALSE);
}

static void on_member_activated(GtkListView *view, guint position, ChatRoomMembers *self) {
  if (self->members == NULL)
    return;
  g_autoptr(ChatRoomMember) member = g_list_model_get_item(self->members, position);
  if (member)
    g_signal_emit(self, signals[SIGNAL_MEMBER_ACTIVATED], 0, member);
}

void chat_room_members_set_room(ChatRoomMembers *self, ChatContact *room, gint64 self_id) {
  g_return_if_fail(CHAT_IS_ROOM_MEMBERS(self));
  if (self->members) {
    g_signal_handlers_disconnect_by_data(self->members, self);
    g_clear_object(&self->members);
  }
  self->self_id = self_id;
  if (room) {
    self->members = g_object_ref(chat_contact_get_members(room));
    g_signal_connect(self->members, "items-changed", G_CALLBACK(on_members_changed), self);
  }
  gtk_no_selection_set_model(self->selection, self->members);
  watch_members(self);
  update_heading(self);
}

ChatRoomMembers *chat_room_members_new(void) {
  return g_object_new(CHAT_TYPE_ROOM_MEMBERS, NULL);
}

static void chat_room_members_dispose(GObject *object) {
  ChatRoomMembers *self = CHAT_ROOM_MEMBERS(object);
  if (self->watched)
    unwatch_members(self);
  if (self->members) {
    g_signal_handlers_disconnect_by_data(self->members, self);
    g_clear_object(&self->members);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_ROOM_MEMBERS);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  g_clear_object(&self->selection);
  G_OBJECT_CLASS(chat_room_members_parent_class)->dispose(object);
}

static void chat_room_members_finalize(GObject *object) {
  g_ptr_array_unref(CHAT_ROOM_MEMBERS(object)->watched);
  G_OBJECT_CLASS(chat_room_members_parent_class)->finalize(object);
}

static void chat_room_members_class_init(ChatRoomMembersClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_room_members_dispose;
  object_class->finalize = chat_room_members_finalize;

  signals[SIGNAL_MEMBER_ACTIVATED] =
      g_signal_new("member-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 1, CHAT_TYPE_ROOM_MEMBER);

  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-room-members.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatRoomMembers, heading_label);
  gtk_widget_class_bind_template_child(widget_class, ChatRoomMembers, members_view);
  gtk_widget_class_bind_template_callback(widget_class, on_member_activated);
}

static void chat_room_members_init(ChatRoomMembers *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  self->watched = g_ptr_array_new_with_free_func(g_object_unref);
  self->selection = gtk_no_selection_new(NULL);
  gtk_list_view_set_model(self->members_view, GTK_SELECTION_MODEL(self->selection));
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
  g_signal_connect(factory, "setup", G_CALLBACK(setup_row), self);
  g_signal_connect(factory, "bind", G_CALLBACK(bind_row), self);
  g_signal_connect(factory, "unbind", G_CALLBACK(unbind_row), self);
  gtk_list_view_set_factory(self->members_view, factory);
  g_object_unref(factory);
  update_heading(self);
}
