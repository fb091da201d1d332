#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-room-member.h"

#include "gtk-client/core/chat-util-private.h"

struct _ChatRoomMember {
  GObject parent_instance;
  gint64 user_id;
  char *nickname;
  char *username;
  gboolean online;
};

G_DEFINE_FINAL_TYPE(ChatRoomMember, chat_room_member, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_USER_ID,
  PROP_NICKNAME,
  PROP_USERNAME,
  PROP_ONLINE,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void chat_room_member_finalize(GObject *object) {
  ChatRoomMember *self = CHAT_ROOM_MEMBER(object);
  g_free(self->nickname);
  g_free(self->username);
  G_OBJECT_CLASS(chat_room_member_parent_class)->finalize(object);
}

static void chat_room_member_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec) {
  ChatRoomMember *self = CHAT_ROOM_MEMBER(object);
  switch (prop_id) {
  case PROP_USER_ID:
    g_value_set_int64(value, self->user_id);
    break;
  case PROP_NICKNAME:
    g_value_set_string(value, self->nickname);
    break;
  case PROP_USERNAME:
    g_value_set_string(value, self->username);
    break;
  case PROP_ONLINE:
    g_value_set_boolean(value, self->online);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_room_member_class_init(ChatRoomMemberClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->finalize = chat_room_member_finalize;
  object_class->get_property = chat_room_member_get_property;
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_USER_ID] = g_param_spec_int64("user-id", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_NICKNAME] = g_param_spec_string("nickname", NULL, NULL, NULL, flags);
  properties[PROP_USERNAME] = g_param_spec_string("username", NULL, NULL, NULL, flags);
  properties[PROP_ONLINE] = g_param_spec_boolean("online", NULL, NULL, FALSE, flags);
  g_object_class_install_properties(object_class, N_PROPS, properties);
}

static void chat_room_member_init(ChatRoomMember *self) {
  (void)self;
}

ChatRoomMember *chat_room_member_new(gint64 user_id, const char *nickname, const char *username,
                                     gboolean online) {
  ChatRoomMember *self = g_object_new(CHAT_TYPE_ROOM_MEMBER, NULL);
  self->user_id = user_id;
  self->nickname = g_strdup(nickname ? nickname : "");
  self->username = g_strdup(username ? username : "");
  self->online = online;
  return self;
}

gint64 chat_room_member_get_user_id(ChatRoomMember *self) {
  g_return_val_if_fail(CHAT_IS_ROOM_MEMBER(self), 0);
  return self->user_id;
}

const char *chat_room_member_get_nickname(ChatRoomMember *self) {
  g_return_val_if_fail(CHAT_IS_ROOM_MEMBER(self), NULL);
  return self->nickname;
}

const char *chat_room_member_get_username(ChatRoomMember *self) {
  g_return_val_if_fail(CHAT_IS_ROOM_MEMBER(self), NULL);
  return self->username;
}

gboolean chat_room_member_get_online(ChatRoomMember *self) {
  g_return_val_if_fail(CHAT_IS_ROOM_MEMBER(self), FALSE);
  return self->online;
}

void chat_room_member_set_nickname(ChatRoomMember *self, const char *nickname) {
  g_return_if_fail(CHAT_IS_ROOM_MEMBER(self));
  chat_notify_str(self, &self->nickname, nickname ? nickname : "", properties[PROP_NICKNAME]);
}

void chat_room_member_set_online(ChatRoomMember *self, gboolean online) {
  g_return_if_fail(CHAT_IS_ROOM_MEMBER(self));
  CHAT_NOTIFY_SET(self, online, !!online, properties[PROP_ONLINE]);
}

int chat_room_member_compare(gconstpointer a, gconstpointer b, gpointer unused) {
  const ChatRoomMember *x = a, *y = b;
  (void)unused;
  if (x->online != y->online)
    return x->online ? -1 : 1;
  return chat_compare_name_then_id(x->nickname, x->user_id, y->nickname, y->user_id);
}
