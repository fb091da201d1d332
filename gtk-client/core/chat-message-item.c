#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-util-private.h"

G_DEFINE_ENUM_TYPE(ChatMessageKind, chat_message_kind,
                   G_DEFINE_ENUM_VALUE(CHAT_MESSAGE_TEXT, "text"),
                   G_DEFINE_ENUM_VALUE(CHAT_MESSAGE_IMAGE, "image"))

G_DEFINE_ENUM_TYPE(ChatDelivery, chat_delivery,
                   G_DEFINE_ENUM_VALUE(CHAT_DELIVERY_PENDING, "pending"),
                   G_DEFINE_ENUM_VALUE(CHAT_DELIVERY_SENT, "sent"),
                   G_DEFINE_ENUM_VALUE(CHAT_DELIVERY_FAILED, "failed"))

struct _ChatMessageItem {
  GObject parent_instance;
  gint64 id;
  gint64 sender_id;
  char *sender_name;
  char *sender_username;
  gboolean outgoing;
  ChatMessageKind kind;
  char *text;
  int font_size;
  char *font_color;
  GBytes *image;
  char *image_format;
  gint64 image_size;
  gint64 time_ms;
  ChatDelivery delivery;
  char *error;
  chat_request_error error_code;
  /* outgoing items */
  ChatContactKind target_kind;
  gint64 target_id;
  char *client_msg_id;
};

G_DEFINE_FINAL_TYPE(ChatMessageItem, chat_message_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_SENDER_ID,
  PROP_SENDER_NAME,
  PROP_SENDER_USERNAME,
  PROP_OUTGOING,
  PROP_KIND,
  PROP_TEXT,
  PROP_FONT_SIZE,
  PROP_FONT_COLOR,
  PROP_IMAGE,
  PROP_IMAGE_FORMAT,
  PROP_IMAGE_SIZE,
  PROP_TIME,
  PROP_DELIVERY,
  PROP_ERROR,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void chat_message_item_finalize(GObject *object) {
  ChatMessageItem *self = CHAT_MESSAGE_ITEM(object);
  g_free(self->sender_name);
  g_free(self->sender_username);
  g_free(self->text);
  g_free(self->font_color);
  g_clear_pointer(&self->image, g_bytes_unref);
  g_free(self->image_format);
  g_free(self->error);
  g_free(self->client_msg_id);
  G_OBJECT_CLASS(chat_message_item_parent_class)->finalize(object);
}

static void chat_message_item_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec) {
  ChatMessageItem *self = CHAT_MESSAGE_ITEM(object);
  switch (prop_id) {
  case PROP_ID:
    g_value_set_int64(value, self->id);
    break;
  case PROP_SENDER_ID:
    g_value_set_int64(value, self->sender_id);
    break;
  case PROP_SENDER_NAME:
    g_value_set_string(value, self->sender_name);
    break;
  case PROP_SENDER_USERNAME:
    g_value_set_string(value, self->sender_username);
    break;
  case PROP_OUTGOING:
    g_value_set_boolean(value, self->outgoing);
    break;
  case PROP_KIND:
    g_value_set_enum(value, self->kind);
    break;
  case PROP_TEXT:
    g_value_set_string(value, self->text);
    break;
  case PROP_FONT_SIZE:
    g_value_set_int(value, self->font_size);
    break;
  case PROP_FONT_COLOR:
    g_value_set_string(value, self->font_color);
    break;
  case PROP_IMAGE:
    g_value_set_boxed(value, self->image);
    break;
  case PROP_IMAGE_FORMAT:
    g_value_set_string(value, self->image_format);
    break;
  case PROP_IMAGE_SIZE:
    g_value_set_int64(value, self->image_size);
    break;
  case PROP_TIME:
    g_value_set_int64(value, self->time_ms);
    break;
  case PROP_DELIVERY:
    g_value_set_enum(value, self->delivery);
    break;
  case PROP_ERROR:
    g_value_set_string(value, self->error);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_message_item_class_init(ChatMessageItemClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->finalize = chat_message_item_finalize;
  object_class->get_property = chat_message_item_get_property;
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  properties[PROP_ID] = g_param_spec_int64("id", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_SENDER_ID] =
      g_param_spec_int64("sender-id", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_SENDER_NAME] = g_param_spec_string("sender-name", NULL, NULL, NULL, flags);
  properties[PROP_SENDER_USERNAME] =
      g_param_spec_string("sender-username", NULL, NULL, NULL, flags);
  properties[PROP_OUTGOING] = g_param_spec_boolean("outgoing", NULL, NULL, FALSE, flags);
  properties[PROP_KIND] =
      g_param_spec_enum("kind", NULL, NULL, CHAT_TYPE_MESSAGE_KIND, CHAT_MESSAGE_TEXT, flags);
  properties[PROP_TEXT] = g_param_spec_string("text", NULL, NULL, NULL, flags);
  properties[PROP_FONT_SIZE] = g_param_spec_int("font-size", NULL, NULL, 0, G_MAXINT, 0, flags);
  properties[PROP_FONT_COLOR] = g_param_spec_string("font-color", NULL, NULL, NULL, flags);
  properties[PROP_IMAGE] = g_param_spec_boxed("image", NULL, NULL, G_TYPE_BYTES, flags);
  properties[PROP_IMAGE_FORMAT] = g_param_spec_string("image-format", NULL, NULL, NULL, flags);
  properties[PROP_IMAGE_SIZE] =
      g_param_spec_int64("image-size", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_TIME] = g_param_spec_int64("time", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  properties[PROP_DELIVERY] =
      g_param_spec_enum("delivery", NULL, NULL, CHAT_TYPE_DELIVERY, CHAT_DELIVERY_SENT, flags);
  properties[PROP_ERROR] = g_param_spec_string("error", NULL, NULL, NULL, flags);
  g_object_class_install_properties(object_class, N_PROPS, properties);
}

static void chat_message_item_init(ChatMessageItem *self) {
  self->delivery = CHAT_DELIVERY_SENT;
}

ChatMessageItem *chat_message_item_new(const ChatMessageItemFields *fields) {
  ChatMessageItem *self = g_object_new(CHAT_TYPE_MESSAGE_ITEM, NULL);
  self->id = fields->id;
  self->sender_id = fields->sender_id;
  self->sender_name = g_strdup(fields->sender_name ? fields->sender_name : "");
  self->sender_username = fields->sender_username && *fields->sender_username
                              ? g_strdup(fields->sender_username)
                              : NULL;
  self->outgoing = fields->outgoing;
  self->kind = fields->kind;
  self->text = g_strdup(fields->text);
  self->font_size = MAX(fields->font_size, 0);
  self->font_color = g_strdup(fields->font_color);
  self->image = fields->image ? g_bytes_ref(fields->image) : NULL;
  if (self->kind == CHAT_MESSAGE_IMAGE) {
    if (self->image) {
      self->image_size = (gint64)MIN(g_bytes_get_size(self->image), (gsize)G_MAXINT64);
    } else {
      self->image_format = g_strdup(fields->image_format ? fields->image_format : "");
      self->image_size = MAX(fields->image_size, 0);
    }
  }
  self->time_ms = fields->time_ms;
  self->delivery = fields->delivery;
  return self;
}

gint64 chat_message_item_get_id(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->id;
}

gint64 chat_message_item_get_sender_id(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->sender_id;
}

const char *chat_message_item_get_sender_name(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->sender_name;
}

const char *chat_message_item_get_sender_username(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->sender_username;
}

gboolean chat_message_item_get_outgoing(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), FALSE);
  return self->outgoing;
}

ChatMessageKind chat_message_item_get_kind(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), CHAT_MESSAGE_TEXT);
  return self->kind;
}

const char *chat_message_item_get_text(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->text;
}

int chat_message_item_get_font_size(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->font_size;
}

const char *chat_message_item_get_font_color(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->font_color;
}

GBytes *chat_message_item_get_image(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->image;
}

gboolean chat_message_item_is_image_preview(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), FALSE);
  return self->kind == CHAT_MESSAGE_IMAGE && self->image == NULL;
}

const char *chat_message_item_get_image_format(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->image_format;
}

gint64 chat_message_item_get_image_size(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->image_size;
}

gint64 chat_message_item_get_time(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->time_ms;
}

ChatDelivery chat_message_item_get_delivery(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), CHAT_DELIVERY_SENT);
  return self->delivery;
}

const char *chat_message_item_get_error(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->error;
}

chat_request_error chat_message_item_get_error_code(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), CHAT_REQUEST_ERROR_UNKNOWN);
  return self->error_code;
}

static void set_delivery(ChatMessageItem *self, ChatDelivery delivery, const char *error) {
  self->error_code = CHAT_REQUEST_ERROR_UNKNOWN;
  g_object_freeze_notify(G_OBJECT(self));
  CHAT_NOTIFY_SET(self, delivery, delivery, properties[PROP_DELIVERY]);
  chat_notify_str(self, &self->error, error, properties[PROP_ERROR]);
  g_object_thaw_notify(G_OBJECT(self));
}

void chat_message_item_set_sent(ChatMessageItem *self, gint64 id, gint64 time_ms) {
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(self));
  g_object_freeze_notify(G_OBJECT(self));
  CHAT_NOTIFY_SET(self, id, id, properties[PROP_ID]);
  if (time_ms && self->time_ms != time_ms) {
    self->time_ms = time_ms;
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TIME]);
  }
  set_delivery(self, CHAT_DELIVERY_SENT, NULL);
  g_object_thaw_notify(G_OBJECT(self));
}

void chat_message_item_set_failed(ChatMessageItem *self, chat_request_error code,
                                  const char *error) {
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(self));
  /* The code first: the error's notification makes a display read both. */
  g_object_freeze_notify(G_OBJECT(self));
  set_delivery(self, CHAT_DELIVERY_FAILED, error ? error : "");
  self->error_code = code;
  g_object_thaw_notify(G_OBJECT(self));
}

void chat_message_item_set_pending(ChatMessageItem *self) {
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(self));
  set_delivery(self, CHAT_DELIVERY_PENDING, NULL);
}

void chat_message_item_set_target(ChatMessageItem *self, ChatContactKind kind, gint64 target_id,
                                  const char *client_msg_id) {
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(self));
  self->target_kind = kind;
  self->target_id = target_id;
  chat_set_str(&self->client_msg_id, client_msg_id);
}

ChatContactKind chat_message_item_get_target_kind(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), CHAT_CONTACT_FRIEND);
  return self->target_kind;
}

gint64 chat_message_item_get_target_id(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), 0);
  return self->target_id;
}

const char *chat_message_item_get_client_msg_id(ChatMessageItem *self) {
  g_return_val_if_fail(CHAT_IS_MESSAGE_ITEM(self), NULL);
  return self->client_msg_id;
}
