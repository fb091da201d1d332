#include "gtk-client/chat-contact-row.h"

#include "build-config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "gtk-client/chat-format.h"
#include "gtk-client/core/chat-names.h"

struct _ChatContactRow {
  GtkWidget parent_instance;

  GtkListItem *list_item; /* the list item showing this row (it owns the row) */

  ChatContact *contact;

  AdwAvatar *avatar;
  GtkWidget *presence;
  GtkLabel *name_label;
  GtkLabel *time_label;
  GtkLabel *preview_label;
  GtkLabel *badge;
};

G_DEFINE_FINAL_TYPE(ChatContactRow, chat_contact_row, GTK_TYPE_WIDGET)

char *chat_contact_row_badge_text(guint unread) {
  if (unread == 0)
    return g_strdup("");
  if (unread > CHAT_BADGE_MAX)
    return g_strdup_printf("%u+", (guint)CHAT_BADGE_MAX);
  return g_strdup_printf("%u", unread);
}

static void sync_row(ChatContactRow *self) {
  ChatContact *contact = self->contact;
  if (contact == NULL)
    return;
  gboolean room = chat_contact_get_kind(contact) == CHAT_CONTACT_ROOM;
  g_autofree char *name = chat_name_single_line(chat_contact_get_name(contact));
  gtk_label_set_text(self->name_label, name);

  adw_avatar_set_text(self->avatar, name);

  gboolean online = !room && chat_contact_get_online(contact);
  gtk_widget_set_visible(self->presence, !room);
  if (online) {
    gtk_widget_add_css_class(self->presence, "online");
    gtk_widget_remove_css_class(self->presence, "offline");
  } else {
    gtk_widget_add_css_class(self->presence, "offline");
    gtk_widget_remove_css_class(self->presence, "online");
  }
  const char *presence_text = room ? NULL : online ? _("Online") : _("Offline");
  gtk_widget_set_tooltip_text(self->presence, presence_text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->presence), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 presence_text ? presence_text : "", -1);

  g_autofree char *time_text = chat_format_list_time(chat_contact_get_last_time(contact));
  gtk_label_set_text(self->time_label, time_text);

  g_autofree char *preview = chat_format_preview(chat_contact_get_preview(contact));
  if (*preview == '\0') {
    g_free(preview);
    if (room) {
      g_autofree char *number = g_strdup_printf("%" G_GINT64_FORMAT, chat_contact_get_id(contact));
      /* Translators: shown for a room without messages; %s is its number. */
      preview = g_strdup_printf(_("Room number %s"), number);
    } else {
      preview = g_strdup(online ? _("Online") : _("Offline"));
    }
  }
  gtk_label_set_text(self->preview_label, preview);

  guint unread = chat_contact_get_unread(contact);
  g_autofree char *badge = chat_contact_row_badge_text(unread);
  gtk_label_set_text(self->badge, badge);
  gtk_widget_set_visible(GTK_WIDGET(self->badge), unread > 0);
  g_autofree char *unread_text = g_strdup_printf(
      g_dngettext(GETTEXT_PACKAGE, "%u unread message", "%u unread messages", unread), unread);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->badge), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 unread_text, -1);

  /* One sentence for the whole row. */
  g_autofree char *summary = NULL;
  if (room)
    summary = unread ? g_strdup_printf(_("Room %s, %s"), name, unread_text)
                     : g_strdup_printf(_("Room %s"), name);
  else
    summary = unread ? g_strdup_printf(_("%s, %s, %s"), name, presence_text, unread_text)
                     : g_strdup_printf(_("%s, %s"), name, presence_text);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, summary,
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, preview, -1);
}

static void on_contact_notify(ChatContact *contact, GParamSpec *pspec, ChatContactRow *self) {
  sync_row(self);
}

void chat_contact_row_set_contact(ChatContactRow *self, ChatContact *contact) {
  g_return_if_fail(CHAT_IS_CONTACT_ROW(self));
  if (self->contact == contact)
    return;
  if (self->contact) {
    g_signal_handlers_disconnect_by_data(self->contact, self);
    g_clear_object(&self->contact);
  }
  if (contact) {
    self->contact = g_object_ref(contact);
    g_signal_connect(contact, "notify", G_CALLBACK(on_contact_notify), self);
    sync_row(self);
  }
}

/* "contact.open": what activating the row in the list does (double click,
 * Enter), also offered to assistive technologies. */
static void open_activated(GtkWidget *widget, const char *action, GVariant *param) {
  ChatContactRow *self = (ChatContactRow *)widget;
  if (self->list_item)
    gtk_widget_activate_action(widget, "list.activate-item", "u",
                               gtk_list_item_get_position(self->list_item));
}

void chat_contact_row_set_list_item(ChatContactRow *self, GtkListItem *list_item) {
  g_return_if_fail(G_TYPE_CHECK_INSTANCE_TYPE(self, chat_contact_row_get_type()));
  self->list_item = list_item;
}

guint chat_contact_row_get_position(ChatContactRow *self) {
  g_return_val_if_fail(G_TYPE_CHECK_INSTANCE_TYPE(self, chat_contact_row_get_type()),
                       GTK_INVALID_LIST_POSITION);
  return self->list_item ? gtk_list_item_get_position(self->list_item) : GTK_INVALID_LIST_POSITION;
}

ChatContactRow *chat_contact_row_new(void) {
  return g_object_new(CHAT_TYPE_CONTACT_ROW, NULL);
}

static void chat_contact_row_dispose(GObject *object) {
  ChatContactRow *self = CHAT_CONTACT_ROW(object);
  chat_contact_row_set_contact(self, NULL);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_CONTACT_ROW);
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))) != NULL)
    gtk_widget_unparent(child);
  G_OBJECT_CLASS(chat_contact_row_parent_class)->dispose(object);
}

static void chat_contact_row_class_init(ChatContactRowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_contact_row_dispose;
  gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_install_action(widget_class, "contact.open", NULL, open_activated);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-contact-row.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, avatar);
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, presence);
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, name_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, time_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, preview_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactRow, badge);
}

static void chat_contact_row_init(ChatContactRow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
}
