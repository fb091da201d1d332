/* Handing a checked request to its handler. */
#pragma once

#include "chatd/session.h"

G_BEGIN_DECLS

/* A request handler. params has passed the catalogue's shape check; raw is
 * the encoded parameters as received (client_echo sends them back as they
 * are). Everything params points to is valid only during the call. */
typedef void (*ChatdHandler)(ChatdSession *session, const chat_value *params, const guint8 *raw,
                             gsize raw_len);

/* Runs the handler of `type` (a request of the session's dialect), or
 * answers the failure not_logged_in when it needs a login the session lacks. */
void chatd_dispatch(ChatdSession *session, guint32 type, const chat_value *params,
                    const guint8 *raw, gsize raw_len);

/* ---- the handlers, by topic ---- */
/* handlers-accounts.c */
void chatd_handle_register(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_login(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_resume(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_logout(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_set_nickname(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_set_password(ChatdSession *, const chat_value *, const guint8 *, gsize);
/* handlers-friends.c */
void chatd_handle_add_friend(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_resolve_friend_request(ChatdSession *, const chat_value *, const guint8 *, gsize);
/* handlers-rooms.c */
void chatd_handle_create_room(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_join_room(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_leave_room(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_query_room_users(ChatdSession *, const chat_value *, const guint8 *, gsize);
/* handlers-messages.c */
void chatd_handle_send_message(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_fetch_history(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_mark_read(ChatdSession *, const chat_value *, const guint8 *, gsize);
/* handlers-search.c */
void chatd_handle_search(ChatdSession *, const chat_value *, const guint8 *, gsize);
/* handlers-misc.c */
void chatd_handle_client_echo(ChatdSession *, const chat_value *, const guint8 *, gsize);
void chatd_handle_bad(ChatdSession *, const chat_value *, const guint8 *, gsize);

/* ---- helpers the handlers share ---- */
/* Milliseconds since the Unix epoch. */
gint64 chatd_now_ms(void);
/* A str parameter as a new NUL-terminated string. */
char *chatd_param_string(const chat_value *v);
/* Answers "server busy" (the store refused more work). */
void chatd_reply_busy(ChatdSession *session, ChatdSlot *slot);

G_END_DECLS
