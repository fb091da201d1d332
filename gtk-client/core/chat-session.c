/* ChatSession: see chat-session.h. This file holds the GObject, the
 * account and the public API; the other jobs have their own files
 * (chat-session-private.h lists them).
 *
 * The session is a state machine driven by three inputs: the user's
 * actions (the public functions), the server's messages
 * (chat-session-handlers.c, also reached by chat_session_test_feed) and
 * the connection's life (chat-session-connection.c: dial results,
 * `closed`, the reconnect timer).
 *
 * Replies. The server answers a connection's requests in the order it got
 * them (chatd holds later output behind a pending reply; the seed server
 * handles one request at a time). The session keeps the requests that
 * expect an answer in a FIFO (`replies`). In v2 every request carries a
 * request id and its answers echo it (spec/protocol.md 5.7): an answer or
 * a request_failed settles the entry of its id. In seed a general_failure,
 * which names no request, is charged to the oldest unanswered one. Either
 * way a refused send_message is marked FAILED with the server's reason. Answers that
 * carry their subject (history_page, read_marker, the acknowledgement of a
 * send) settle their own entry. resolve_friend_request is the one request
 * that may get no answer at all (a rejection succeeds silently), so a
 * client_echo follows it as a fence: its server_echo settles both.
 *
 * Outbox. Every outgoing message is an item of its conversation at once
 * (PENDING) and an entry of the outbox. Entries go out in order while
 * ONLINE. v2: each carries a random client_msg_id; the sender's copy of the
 * message with that id is the acknowledgement (SENT, with the server id);
 * after a lost connection, entries sent but not acknowledged go out again
 * with the same id, which the server never stores twice. Seed: there are
 * no ids; the sender's own copy acknowledges the oldest send in flight to
 * the same target, and a send in flight when the connection drops is
 * marked FAILED (it may or may not have been stored; resending could
 * duplicate it).
 *
 * Dedup. A message with a server id is shown once: a live copy or a
 * repeated acknowledgement of an id the conversation already shows, or
 * not newer than the newest id seen for that contact, is dropped before it
 * can count as unread. */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-session-private.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "common/username.h"
#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-resume-store.h"
#include "gtk-client/core/chat-util-private.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chat-session-error-quark, chat_session_error)
/* clang-format on */

G_DEFINE_ENUM_TYPE(ChatSessionState, chat_session_state,
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_DISCONNECTED, "disconnected"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_CONNECTING, "connecting"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_CONNECTED, "connected"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_LOGGING_IN, "logging-in"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_ONLINE, "online"),
                   G_DEFINE_ENUM_VALUE(CHAT_SESSION_RECONNECTING, "reconnecting"))

G_DEFINE_FINAL_TYPE(ChatSession, chat_session, G_TYPE_OBJECT)

GParamSpec *chat_session_properties[N_PROPS];
guint chat_session_signals[N_SIGNALS];

static gint64 now_ms(void) {
  return g_get_real_time() / 1000;
}

void chat_session_set_state(ChatSession *self, ChatSessionState state) {
  if (self->state == state)
    return;
  g_debug("state %d -> %d", self->state, state);
  self->state = state;
  g_object_notify_by_pspec(G_OBJECT(self), chat_session_properties[PROP_STATE]);
  g_signal_emit(self, chat_session_signals[SIGNAL_STATE_CHANGED], 0);
}

void chat_session_set_last_error(ChatSession *self, const char *message) {
  chat_notify_str(self, &self->last_error, message, chat_session_properties[PROP_LAST_ERROR]);
}

void chat_session_pending_clear(PendingAction *pending) {
  if (pending->password) {
    explicit_bzero(pending->password, strlen(pending->password));
    g_free(pending->password);
  }
  g_free(pending->username);
  g_free(pending->nickname);
  memset(pending, 0, sizeof *pending);
}

void chat_session_pending_set(ChatSession *self, ActionKind kind, const char *username,
                              const char *password, const char *nickname) {
  chat_session_pending_clear(&self->pending);
  self->pending.kind = kind;
  self->pending.username = g_strdup(username);
  self->pending.password = g_strdup(password);
  self->pending.nickname = g_strdup(nickname);
}

void chat_session_clear_resume_token(ChatSession *self) {
  g_clear_pointer(&self->resume_token, g_bytes_unref);
}

void chat_session_set_account(ChatSession *self, gint64 user_id, const char *username,
                              const char *nickname) {
  g_object_freeze_notify(G_OBJECT(self));
  CHAT_NOTIFY_SET(self, user_id, user_id, chat_session_properties[PROP_USER_ID]);
  chat_notify_str(self, &self->username, username, chat_session_properties[PROP_USERNAME]);
  chat_notify_str(self, &self->nickname, nickname, chat_session_properties[PROP_NICKNAME]);
  g_object_thaw_notify(G_OBJECT(self));
}

void chat_session_reset_account(ChatSession *self) {
  chat_session_clear_replies(self);
  chat_session_clear_outbox(self);
  chat_session_unwatch_all(self);
  g_list_store_remove_all(self->contacts);
  g_hash_table_remove_all(self->states);
  g_list_store_remove_all(self->friend_requests);
  chat_session_clear_resume_token(self);
  chat_session_set_account(self, 0, NULL, NULL);
  chat_session_update_unread_total(self);
}

/* ======================================================================
 * GObject
 * ====================================================================== */

static void chat_session_dispose(GObject *object) {
  ChatSession *self = CHAT_SESSION(object);
  chat_session_cancel_dial(self);
  chat_session_cancel_reconnect(self);
  if (self->connection) {
    g_signal_handlers_disconnect_by_data(self->connection, self);
    chat_connection_close(self->connection, FALSE);
    g_clear_object(&self->connection);
  }
  /* Quietly: no signals from an object going away. */
  g_queue_clear_full(&self->replies, g_free);
  if (self->outbox_by_id)
    g_hash_table_remove_all(self->outbox_by_id);
  g_queue_clear_full(&self->outbox, (GDestroyNotify)chat_session_outbox_entry_free);
  if (self->states)
    chat_session_unwatch_all(self);
  g_clear_object(&self->contacts);
  g_clear_object(&self->friend_requests);
  g_clear_pointer(&self->states, g_hash_table_unref);
  g_clear_pointer(&self->outbox_by_id, g_hash_table_unref);
  G_OBJECT_CLASS(chat_session_parent_class)->dispose(object);
}

static void chat_session_finalize(GObject *object) {
  ChatSession *self = CHAT_SESSION(object);
  chat_session_pending_clear(&self->pending);
  chat_session_clear_resume_token(self);
  if (self->have_seed_group)
    chat_dh_group_clear(&self->seed_group);
  chat_session_options_clear(&self->options);
  for (gsize i = 0; i < self->n_servers; i++)
    g_free((char *)self->servers[i].host);
  g_free(self->servers);
  g_free(self->state_dir);
  g_free(self->last_error);
  g_free(self->username);
  g_free(self->nickname);
  g_free(self->test);
  G_OBJECT_CLASS(chat_session_parent_class)->finalize(object);
}

static void chat_session_get_property(GObject *object, guint prop_id, GValue *value,
                                      GParamSpec *pspec) {
  ChatSession *self = CHAT_SESSION(object);
  switch (prop_id) {
  case PROP_STATE:
    g_value_set_enum(value, self->state);
    break;
  case PROP_USER_ID:
    g_value_set_int64(value, self->user_id);
    break;
  case PROP_USERNAME:
    g_value_set_string(value, self->username);
    break;
  case PROP_NICKNAME:
    g_value_set_string(value, self->nickname);
    break;
  case PROP_UNREAD_TOTAL:
    g_value_set_uint(value, self->unread_total);
    break;
  case PROP_LAST_ERROR:
    g_value_set_string(value, self->last_error);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void chat_session_class_init(ChatSessionClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = chat_session_dispose;
  object_class->finalize = chat_session_finalize;
  object_class->get_property = chat_session_get_property;

  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  chat_session_properties[PROP_STATE] = g_param_spec_enum(
      "state", NULL, NULL, CHAT_TYPE_SESSION_STATE, CHAT_SESSION_DISCONNECTED, flags);
  chat_session_properties[PROP_USER_ID] =
      g_param_spec_int64("user-id", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  chat_session_properties[PROP_USERNAME] = g_param_spec_string("username", NULL, NULL, NULL, flags);
  chat_session_properties[PROP_NICKNAME] = g_param_spec_string("nickname", NULL, NULL, NULL, flags);
  chat_session_properties[PROP_UNREAD_TOTAL] =
      g_param_spec_uint("unread-total", NULL, NULL, 0, G_MAXUINT, 0, flags);
  chat_session_properties[PROP_LAST_ERROR] =
      g_param_spec_string("last-error", NULL, NULL, NULL, flags);
  g_object_class_install_properties(object_class, N_PROPS, chat_session_properties);

  GType type = G_TYPE_FROM_CLASS(klass);
  chat_session_signals[SIGNAL_STATE_CHANGED] =
      g_signal_new("state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  chat_session_signals[SIGNAL_LOGIN_FAILED] = g_signal_new(
      "login-failed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  chat_session_signals[SIGNAL_REGISTER_DONE] = g_signal_new(
      "register-done", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  chat_session_signals[SIGNAL_CONFIRM_SERVER_KEY] =
      g_signal_new("confirm-server-key", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                   2, G_TYPE_STRING, G_TYPE_STRING);
  chat_session_signals[SIGNAL_SERVER_KEY_CHANGED] =
      g_signal_new("server-key-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                   1, G_TYPE_STRING);
  chat_session_signals[SIGNAL_KICKED] =
      g_signal_new("kicked", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                   G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT64);
  chat_session_signals[SIGNAL_FRIEND_REQUEST] =
      g_signal_new("friend-request", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                   CHAT_TYPE_CONTACT);
  chat_session_signals[SIGNAL_ROOM_CREATED] =
      g_signal_new("room-created", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                   CHAT_TYPE_CONTACT);
  chat_session_signals[SIGNAL_NOTICE] = g_signal_new("notice", type, G_SIGNAL_RUN_LAST, 0, NULL,
                                                     NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  chat_session_signals[SIGNAL_NEW_MESSAGE] =
      g_signal_new("new-message", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                   CHAT_TYPE_CONTACT, CHAT_TYPE_MESSAGE_ITEM);
  chat_session_signals[SIGNAL_TRANSFER_PROGRESS] =
      g_signal_new("transfer-progress", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                   2, CHAT_TYPE_MESSAGE_ITEM, G_TYPE_DOUBLE);
  chat_session_signals[SIGNAL_ERROR] = g_signal_new("error", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                                    NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  chat_session_signals[SIGNAL_ADD_FRIEND_RESULT] =
      g_signal_new("add-friend-result", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                   2, G_TYPE_BOOLEAN, G_TYPE_STRING);
  chat_session_signals[SIGNAL_JOIN_ROOM_RESULT] =
      g_signal_new("join-room-result", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                   G_TYPE_INT64, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void chat_session_init(ChatSession *self) {
  self->contacts = g_list_store_new(CHAT_TYPE_CONTACT);
  self->friend_requests = g_list_store_new(CHAT_TYPE_CONTACT);
  self->states =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, chat_session_contact_state_free);
  self->outbox_by_id = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&self->outbox);
  g_queue_init(&self->replies);
  chat_backoff_init(&self->backoff, CHAT_RECONNECT_INITIAL_MS, CHAT_RECONNECT_MAX_MS);
}

ChatSession *chat_session_new(const ChatSessionOptions *options) {
  g_return_val_if_fail(options != NULL, NULL);
  ChatSession *self = g_object_new(CHAT_TYPE_SESSION, NULL);
  ChatSessionOptions *o = &self->options;
  o->host = g_strdup(options->host);
  o->port = options->port;
  o->servers = g_strdupv(options->servers);
  GArray *servers = g_array_new(FALSE, TRUE, sizeof(ChatDialServer));
  for (char **s = o->servers; s && *s; s++) {
    ChatDialServer server = {NULL, 0};
    if (chat_host_port_parse(*s, (char **)&server.host, &server.port))
      g_array_append_val(servers, server);
    else
      g_warning("not a host:port server, left out: %s", *s);
  }
  if (servers->len > 0) {
    g_free(o->host);
    o->host = g_strdup(g_array_index(servers, ChatDialServer, 0).host);
    o->port = g_array_index(servers, ChatDialServer, 0).port;
  } else if (o->host) {
    ChatDialServer server = {g_strdup(o->host), o->port};
    g_array_append_val(servers, server);
  }
  self->n_servers = servers->len;
  self->servers = (ChatDialServer *)g_array_free(servers, FALSE);
  o->dialect = options->dialect;
  o->crypto_base = g_strdup(options->crypto_base);
  o->crypto_modulus = g_strdup(options->crypto_modulus);
  o->pin_policy = options->pin_policy ? options->pin_policy : CHAT_PIN_ASK;
  o->pinned_key = g_strdup(options->pinned_key);
  o->known_hosts_path = g_strdup(options->known_hosts_path);
  o->state_dir = g_strdup(options->state_dir);
  self->dialect = o->dialect;
  self->state_dir = o->state_dir
                        ? g_strdup(o->state_dir)
                        : g_build_filename(g_get_user_data_dir(), CHAT_STATE_DIR_RELATIVE, NULL);
  const char *host = o->host ? o->host : "";
  chat_host_port_format(host, o->port, self->host_port, sizeof self->host_port);
  if (o->crypto_base && o->crypto_modulus) {
    chat_error err;
    if (chat_dh_group_init(&self->seed_group, o->crypto_base, o->crypto_modulus, &err) == 0)
      self->have_seed_group = TRUE;
    else
      g_message("the configured DH group is unusable: %s", err.message);
  }
  return self;
}

/* ======================================================================
 * Public API
 * ====================================================================== */

void chat_session_login(ChatSession *self, const char *username, const char *password) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(username != NULL && password != NULL);
  if (self->state == CHAT_SESSION_ONLINE || self->phase != PHASE_NONE) {
    g_debug("login ignored: already logged in or logging in");
    return;
  }
  chat_session_pending_set(self, ACTION_LOGIN, username, password, NULL);
  chat_session_go(self);
}

void chat_session_register(ChatSession *self, const char *username, const char *password,
                           const char *nickname) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(username != NULL && password != NULL && nickname != NULL);
  if (self->state == CHAT_SESSION_ONLINE || self->phase != PHASE_NONE) {
    g_debug("register ignored: logged in or busy");
    return;
  }
  chat_session_pending_set(self, ACTION_REGISTER, username, password, nickname);
  chat_session_go(self);
}

gboolean chat_session_resume(ChatSession *self, const char *username) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  g_return_val_if_fail(username != NULL, FALSE);
  if (self->options.dialect != CHAT_DIALECT_V2 || self->state == CHAT_SESSION_ONLINE ||
      self->phase != PHASE_NONE)
    return FALSE;
  /* The name as the server keeps it (common/username.h). */
  g_autofree char *normalized = chat_username_normalize(username, -1);
  g_autoptr(GError) error = NULL;
  GBytes *token = chat_resume_store_load(self->state_dir, self->host_port, normalized, &error);
  if (!token) {
    if (error)
      g_message("cannot read the saved login: %s", error->message);
    return FALSE;
  }
  chat_session_clear_resume_token(self);
  self->resume_token = token;
  if (g_strcmp0(self->username, normalized) != 0 && self->user_id == 0)
    chat_session_set_account(self, 0, normalized, NULL);
  chat_session_pending_set(self, ACTION_RESUME, normalized, NULL, NULL);
  chat_session_go(self);
  return TRUE;
}

void chat_session_trust_server(ChatSession *self, const char *fingerprint, gboolean accept) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  if (!accept || !fingerprint) {
    chat_session_pending_clear(&self->pending);
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    return;
  }
  ChatDialOptions o;
  chat_session_fill_dial_options(self, &o);
  g_autoptr(GError) error = NULL;
  if (!chat_dial_trust(&o, fingerprint, &error)) {
    chat_session_pending_clear(&self->pending);
    chat_session_set_last_error(self, error->message);
    chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
    g_signal_emit(self, chat_session_signals[SIGNAL_ERROR], 0, error->message);
    return;
  }
  chat_session_go(self);
}

void chat_session_logout(ChatSession *self) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  chat_session_cancel_dial(self);
  chat_session_cancel_reconnect(self);
  chat_session_pending_clear(&self->pending);
  if (self->username)
    chat_resume_store_forget(self->state_dir, self->host_port, self->username);
  if (chat_session_is_connected(self) && self->dialect == CHAT_DIALECT_V2 &&
      self->state == CHAT_SESSION_ONLINE)
    chat_session_send_request(self, chat_wire_null(self->dialect, CHAT_MSG_LOGOUT));
  chat_session_retire_connection(self);
  self->phase = PHASE_NONE;
  chat_session_reset_account(self);
  chat_session_set_state(self, CHAT_SESSION_DISCONNECTED);
}

ChatSessionState chat_session_get_state(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), CHAT_SESSION_DISCONNECTED);
  return self->state;
}

const char *chat_session_get_last_error(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->last_error;
}

const char *chat_session_get_server_address(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->server_address;
}

gboolean chat_session_is_reporting_failure(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  return self->reporting_failure;
}

chat_request_error chat_session_get_failure_code(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), CHAT_REQUEST_ERROR_UNKNOWN);
  return self->failure_code;
}

gint64 chat_session_get_user_id(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->user_id;
}

const char *chat_session_get_username(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->user_id ? self->username : NULL;
}

const char *chat_session_get_nickname(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return self->user_id ? self->nickname : NULL;
}

GListModel *chat_session_get_contacts(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return G_LIST_MODEL(self->contacts);
}

ChatContact *chat_session_find_contact(ChatSession *self, ChatContactKind kind, gint64 id) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  ContactState *st = chat_session_find_state(self, kind, id);
  return st ? st->contact : NULL;
}

guint chat_session_get_unread_total(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->unread_total;
}

ChatConversation *chat_session_get_conversation(ChatSession *self, ChatContact *contact) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  g_return_val_if_fail(CHAT_IS_CONTACT(contact), NULL);
  ContactState *st = chat_session_state_of(self, contact);
  if (!st) {
    g_debug("no conversation with a contact the session does not know");
    return NULL;
  }
  return chat_session_ensure_conversation(self, st);
}

gsize chat_session_get_max_image(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), 0);
  return self->max_image;
}

GListModel *chat_session_get_friend_requests(ChatSession *self) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), NULL);
  return G_LIST_MODEL(self->friend_requests);
}

/* A new outgoing message from this account, pending; the caller adds
 * the body. */
static ChatMessageItemFields outgoing_fields(ChatSession *self, ChatMessageKind kind) {
  return (ChatMessageItemFields){
      .sender_id = self->user_id,
      .sender_name = self->nickname,
      .sender_username = self->username,
      .outgoing = TRUE,
      .kind = kind,
      .time_ms = now_ms(),
      .delivery = CHAT_DELIVERY_PENDING,
  };
}

void chat_session_send_text(ChatSession *self, ChatContact *to, const char *text, int font_size,
                            const char *font_color) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(to));
  g_return_if_fail(text != NULL);
  ContactState *st = chat_session_state_of(self, to);
  if (!st || !*text || !g_utf8_validate(text, -1, NULL))
    return;
  ChatMessageItemFields fields = outgoing_fields(self, CHAT_MESSAGE_TEXT);
  fields.text = text;
  fields.font_size = font_size > 0 ? font_size : CHAT_FONT_SIZE_DEFAULT;
  fields.font_color = font_color && *font_color ? font_color : CHAT_FONT_COLOR_DEFAULT;
  g_autoptr(ChatMessageItem) item = chat_message_item_new(&fields);
  chat_session_send_item(self, st, item);
}

void chat_session_send_image(ChatSession *self, ChatContact *to, GBytes *image) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(to));
  g_return_if_fail(image != NULL);
  ContactState *st = chat_session_state_of(self, to);
  if (!st || g_bytes_get_size(image) == 0)
    return;
  ChatMessageItemFields fields = outgoing_fields(self, CHAT_MESSAGE_IMAGE);
  fields.image = image;
  g_autoptr(ChatMessageItem) item = chat_message_item_new(&fields);
  g_autofree char *refused = chat_session_refuse_image(self, item);
  if (refused) {
    chat_message_item_set_failed(item, CHAT_REQUEST_ERROR_UNKNOWN, refused);
    chat_conversation_append(chat_session_ensure_conversation(self, st), item);
    return;
  }
  chat_session_send_item(self, st, item);
}

void chat_session_retry(ChatSession *self, ChatMessageItem *item) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_MESSAGE_ITEM(item));
  if (!chat_message_item_get_outgoing(item) ||
      chat_message_item_get_delivery(item) != CHAT_DELIVERY_FAILED ||
      !chat_message_item_get_client_msg_id(item) ||
      g_hash_table_contains(self->outbox_by_id, chat_message_item_get_client_msg_id(item)))
    return;
  g_autofree char *refused = chat_session_refuse_image(self, item);
  if (refused)
    return;
  chat_message_item_set_pending(item);
  chat_session_queue_item(self, item);
}

void chat_session_load_older(ChatSession *self, ChatConversation *conversation) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONVERSATION(conversation));
  if (chat_conversation_get_complete(conversation) || chat_conversation_get_loading(conversation))
    return;
  ContactState *st = chat_session_state_of(self, chat_conversation_get_contact(conversation));
  if (!st || st->conversation != conversation)
    return;
  chat_session_request_page(self, st, chat_conversation_get_oldest_id(conversation));
}

void chat_session_mark_read(ChatSession *self, ChatContact *contact) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(contact));
  ContactState *st = chat_session_state_of(self, contact);
  if (!st)
    return;
  chat_contact_set_unread(contact, 0);
  chat_session_send_mark_read(self, st);
}

void chat_session_set_conversation_open(ChatSession *self, ChatContact *contact, gboolean open) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(contact));
  ContactState *st = chat_session_state_of(self, contact);
  if (!st)
    return;
  st->open = !!open;
  if (open)
    chat_session_mark_read(self, contact);
}

gboolean chat_session_add_friend(ChatSession *self, const char *username) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  g_return_val_if_fail(username != NULL, FALSE);
  if (!chat_session_require_online(self))
    return FALSE;
  if (!chat_session_send_request(self, chat_wire_str(self->dialect, CHAT_MSG_ADD_FRIEND, username)))
    return FALSE;
  chat_session_expect_reply(self, REPLY_ADD_FRIEND);
  return TRUE;
}

void chat_session_answer_friend_request(ChatSession *self, ChatContact *requester,
                                        gboolean accept) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(requester));
  if (!chat_session_require_online(self))
    return;
  guint position;
  if (g_list_store_find(self->friend_requests, requester, &position))
    g_list_store_remove(self->friend_requests, position);
  if (!chat_session_send_request(self, chat_wire_resolve_friend_request(
                                           self->dialect, chat_contact_get_id(requester), accept)))
    return;
  chat_session_expect_reply(self, REPLY_RESOLVE);
  if (chat_session_send_request(
          self, chat_wire_str(self->dialect, CHAT_MSG_CLIENT_ECHO, CHAT_FENCE_TEXT)))
    chat_session_expect_reply(self, REPLY_FENCE);
}

gboolean chat_session_join_room(ChatSession *self, gint64 room_id) {
  g_return_val_if_fail(CHAT_IS_SESSION(self), FALSE);
  if (!chat_session_require_online(self))
    return FALSE;
  if (!chat_session_send_request(self, chat_wire_int(self->dialect, CHAT_MSG_JOIN_ROOM, room_id)))
    return FALSE;
  ReplyEntry *reply = chat_session_expect_reply(self, REPLY_JOIN_ROOM);
  reply->target_kind = CHAT_CONTACT_ROOM;
  reply->target_id = room_id;
  return TRUE;
}

void chat_session_create_room(ChatSession *self, const char *name) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(name != NULL);
  if (!chat_session_require_online(self))
    return;
  if (chat_session_send_request(self, chat_wire_str(self->dialect, CHAT_MSG_CREATE_ROOM, name)))
    chat_session_expect_reply(self, REPLY_CREATE_ROOM);
}

void chat_session_query_members(ChatSession *self, ChatContact *room) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONTACT(room));
  if (chat_contact_get_kind(room) != CHAT_CONTACT_ROOM || !chat_session_require_online(self))
    return;
  gint64 id = chat_contact_get_id(room);
  if (!chat_session_send_request(self, chat_wire_int(self->dialect, CHAT_MSG_QUERY_ROOM_USERS, id)))
    return;
  ReplyEntry *reply = chat_session_expect_reply(self, REPLY_QUERY_MEMBERS);
  reply->target_kind = CHAT_CONTACT_ROOM;
  reply->target_id = id;
}
