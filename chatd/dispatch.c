/* The handler table, built on the catalogue's codes. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/dispatch.h"

#include "chatd/server-private.h"
#include "protocol/catalogue.h"

typedef struct {
  guint32 type;
  ChatdHandler handler;
  gboolean needs_login;
} route;

static const route routes[] = {
    {CHAT_MSG_LOGIN, chatd_handle_login, FALSE},
    {CHAT_MSG_REGISTER, chatd_handle_register, FALSE},
    {CHAT_MSG_CLIENT_ECHO, chatd_handle_client_echo, FALSE},
    {CHAT_MSG_ADD_FRIEND, chatd_handle_add_friend, TRUE},
    {CHAT_MSG_RESOLVE_FRIEND_REQUEST, chatd_handle_resolve_friend_request, TRUE},
    {CHAT_MSG_SEND_MESSAGE, chatd_handle_send_message, TRUE},
    {CHAT_MSG_JOIN_ROOM, chatd_handle_join_room, TRUE},
    {CHAT_MSG_CREATE_ROOM, chatd_handle_create_room, TRUE},
    {CHAT_MSG_QUERY_ROOM_USERS, chatd_handle_query_room_users, TRUE},
    {CHAT_MSG_BAD, chatd_handle_bad, FALSE},
    {CHAT_MSG_RESUME, chatd_handle_resume, FALSE},
    {CHAT_MSG_LOGOUT, chatd_handle_logout, TRUE},
    {CHAT_MSG_FETCH_HISTORY, chatd_handle_fetch_history, TRUE},
    {CHAT_MSG_MARK_READ, chatd_handle_mark_read, TRUE},
    {CHAT_MSG_LEAVE_ROOM, chatd_handle_leave_room, TRUE},
    {CHAT_MSG_SET_NICKNAME, chatd_handle_set_nickname, TRUE},
    {CHAT_MSG_SET_PASSWORD, chatd_handle_set_password, TRUE},
    {CHAT_MSG_SEARCH, chatd_handle_search, TRUE},
};

void chatd_dispatch(ChatdSession *s, guint32 type, const chat_value *params, const guint8 *raw,
                    gsize raw_len) {
  for (gsize i = 0; i < G_N_ELEMENTS(routes); i++) {
    if (routes[i].type != type)
      continue;
    if (routes[i].needs_login && !s->user) {
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NOT_LOGGED_IN, NULL);
      return;
    }
    routes[i].handler(s, params, raw, raw_len);
    return;
  }
  /* Every request of the catalogue has a route; a test checks it. */
  chatd_session_send_failure(s, CHAT_REQUEST_ERROR_UNSUPPORTED_REQUEST, NULL);
}

gint64 chatd_now_ms(void) {
  return g_get_real_time() / 1000;
}

char *chatd_param_string(const chat_value *v) {
  if (!v || v->kind != CHAT_VALUE_STR)
    return g_strdup("");
  return g_strndup((const char *)v->as.blob.data, v->as.blob.len);
}

void chatd_reply_busy(ChatdSession *s, ChatdSlot *slot) {
  if (slot)
    chatd_slot_send_failure(s, slot, CHAT_REQUEST_ERROR_SERVER_BUSY, NULL);
  else
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_SERVER_BUSY, NULL);
}
