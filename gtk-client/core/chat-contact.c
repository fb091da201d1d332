#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-contact.h"

#include "gtk-client/core/chat-contact-private.h"
#include "gtk-client/core/chat-sorted-store.h"
#include "gtk-client/core/chat-util-private.h"

G_DEFINE_ENUM_TYPE(ChatContactKind, chat_contact_kind,
                   G_DEFINE_ENUM_VALUE(CHAT_CONTACT_FRIEND, "friend"),
                   G_DEFINE_ENUM_VALUE(CHAT_CONTACT_ROOM, "room"))

struct _ChatContact {
  GObject parent_instance;
  ChatContactKind kind;
  gint64 id;
  char *name;
  char *username;
  gboolean online;
  guint unread;
  gint64 last_time;
  char *preview;
  GListStore *members; /* ChatRoomMember, rooms only (empty for friends) */
};

G_DEFINE_FINAL_TYPE(ChatContact, chat_contact, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND,
  PROP_ID,
  PROP_NAME,
  PROP_USERNAME,
  PROP_ONLINE,
  PROP_UNREAD,
  PROP_LAST_TIME,
  PROP_PREVIEW,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void chat_contact_finalize(GObject *object) {
  ChatContact *self = CHAT_CONTACT(object);
  g_free(self->name);
  g_free(self->username);
  g_free(self->preview);
  g_clear_object(&self->members);
  G_OBJECT_CLASS(chat_contact_parent_class)->finalize(object);
}

static void chat_contact_get_property(GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec) {
  ChatContact *self = CHAT_CONTACT(object);
  switch (prop_id) {
  case PROP_KIND:
    g_value_set_enum(value, self->kind);
    break;
  case PROP_ID:
    g_value_set_int64(value, self->id);
    break;
  case PROP_NAME:
    g_value_set_string(value, self->name);
    break;
  case PROP_USERNAME:
    g_value_set_string(value, self->username);
    break;
  case PROP_ONLINE:
    g_value_set_boolean(value, self->online);
    break;
  case PROP_UNREAD:
    g_value_set_uint(value, self->unread);
    break;
  case PROP_LAST_TIME:
    g_value_set_int64(value, self->last_time);
    break;
  case PROP_PREVIEW:
    g_value_set_string(value, self->preview);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_contact_class_init(ChatContactClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->finalize = chat_contact_finalize;
  object_class->get_property = chat_contact_get_property;
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_KIND] =
      g_param_spec_enum("kind", NULL, NULL, CHAT_TYPE_CONTACT_KIND, CHAT_CONTACT_FRIEND, flags);
  properties[PROP_ID] = g_param_spec_int64("id", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL, flags);
  properties[PROP_USERNAME] = g_param_spec_string("username", NULL, NULL, NULL, flags);
  properties[PROP_ONLINE] = g_param_spec_boolean("online", NULL, NULL, FALSE, flags);
  properties[PROP_UNREAD] = g_param_spec_uint("unread", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_LAST_TIME] =
      g_param_spec_int64("last-time", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_PREVIEW] = g_param_spec_string("preview", NULL, NULL, NULL, flags);
  g_object_class_install_properties(object_class, N_PROPS, properties);
}

static void chat_contact_init(ChatContact *self) {
  self->members = g_list_store_new(CHAT_TYPE_ROOM_MEMBER);
}

ChatContact *chat_contact_new(ChatContactKind kind, gint64 id, const char *name,
                              const char *username) {
  ChatContact *self = g_object_new(CHAT_TYPE_CONTACT, NULL);
  self->kind = kind;
  self->id = id;
  self->name = g_strdup(name ? name : "");
  self->username = g_strdup(username);
  return self;
}

ChatContactKind chat_contact_get_kind(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), CHAT_CONTACT_FRIEND);
  return self->kind;
}

gint64 chat_contact_get_id(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), 0);
  return self->id;
}

const char *chat_contact_get_name(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), NULL);
  return self->name;
}

const char *chat_contact_get_username(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), NULL);
  return self->username;
}

gboolean chat_contact_get_online(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), FALSE);
  return self->online;
}

guint chat_contact_get_unread(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), 0);
  return self->unread;
}

gint64 chat_contact_get_last_time(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), 0);
  return self->last_time;
}

const char *chat_contact_get_preview(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), NULL);
  return self->preview;
}

void chat_contact_set_name(ChatContact *self, const char *name) {
  g_return_if_fail(CHAT_IS_CONTACT(self));
  chat_notify_str(self, &self->name, name ? name : "", properties[PROP_NAME]);
}

void chat_contact_set_online(ChatContact *self, gboolean online) {
  g_return_if_fail(CHAT_IS_CONTACT(self));
  CHAT_NOTIFY_SET(self, online, !!online, properties[PROP_ONLINE]);
}

void chat_contact_set_unread(ChatContact *self, guint unread) {
  g_return_if_fail(CHAT_IS_CONTACT(self));
  CHAT_NOTIFY_SET(self, unread, unread, properties[PROP_UNREAD]);
}

void chat_contact_set_last(ChatContact *self, gint64 time_ms, const char *preview) {
  g_return_if_fail(CHAT_IS_CONTACT(self));
  g_object_freeze_notify(G_OBJECT(self));
  chat_notify_str(self, &self->preview, preview, properties[PROP_PREVIEW]);
  CHAT_NOTIFY_SET(self, last_time, time_ms, properties[PROP_LAST_TIME]);
  g_object_thaw_notify(G_OBJECT(self));
}

GListModel *chat_contact_get_members(ChatContact *self) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), NULL);
  return G_LIST_MODEL(self->members);
}

int chat_contact_compare(gconstpointer a, gconstpointer b, gpointer unused) {
  const ChatContact *x = a, *y = b;
  (void)unused;
  if (x->last_time != y->last_time) {
    if (x->last_time == 0 || y->last_time == 0)
      return x->last_time == 0 ? 1 : -1;
    return x->last_time > y->last_time ? -1 : 1;
  }
  if (x->kind != y->kind && g_utf8_collate(x->name, y->name) == 0)
    return x->kind == CHAT_CONTACT_FRIEND ? -1 : 1;
  return chat_compare_name_then_id(x->name, x->id, y->name, y->id);
}

void chat_contact_set_members(ChatContact *self, GPtrArray *members) {
  g_return_if_fail(CHAT_IS_CONTACT(self));
  chat_sorted_store_replace_all(self->members, members, chat_room_member_compare, NULL);
}

gboolean chat_contact_set_member_online(ChatContact *self, gint64 user_id, gboolean online) {
  g_return_val_if_fail(CHAT_IS_CONTACT(self), FALSE);
  GListModel *model = G_LIST_MODEL(self->members);
  guint n = g_list_model_get_n_items(model);
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatRoomMember) member = g_list_model_get_item(model, i);
    if (chat_room_member_get_user_id(member) != user_id)
      continue;
    chat_room_member_set_online(member, online);
    chat_sorted_store_reposition(self->members, member, chat_room_member_compare, NULL);
    return TRUE;
  }
  return FALSE;
}
