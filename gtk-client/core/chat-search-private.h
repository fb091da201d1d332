/* What the session's other files call for searches (chat-search.c). */
#pragma once

#include "gtk-client/core/chat-search.h"
#include "gtk-client/core/chat-session-private.h"

G_BEGIN_DECLS

/* The server's search_results: settles the REPLY_SEARCH of its request id
 * and completes its task. */
void chat_session_handle_search_results(ChatSession *self, const chat_msg_search_results *page);
/* A REPLY_SEARCH that will not get its results: refused by the server
 * (reason, code) or (reason NULL) the connection was lost. */
void chat_session_search_reply_failed(ReplyEntry *reply, chat_request_error code,
                                      const char *reason);

G_END_DECLS
