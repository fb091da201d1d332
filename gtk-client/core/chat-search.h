/* Searching the user's own messages (v2 `search`), and bringing a found
 * message into its conversation's loaded history so a window can scroll
 * to it. Without GTK: the search panel (gtk-client/chat-search-panel.c)
 * shows what these return. */
#pragma once

#include <gio/gio.h>

#include "gtk-client/core/chat-session.h"
#include "protocol/chat-limits.h"

G_BEGIN_DECLS

/* How many history pages chat_session_load_until_async loads at most
 * before it gives up on a message. */
#define CHAT_LOAD_UNTIL_MAX_PAGES 1000u

/* The server refused a request (v2 request_failed): the codes are
 * chat_request_error values, the message the server's text. */
#define CHAT_REQUEST_FAILED_ERROR (chat_request_failed_error_quark())
GQuark chat_request_failed_error_quark(void);

/* One matching message (immutable). */
#define CHAT_TYPE_SEARCH_HIT (chat_search_hit_get_type())
G_DECLARE_FINAL_TYPE(ChatSearchHit, chat_search_hit, CHAT, SEARCH_HIT, GObject)

gint64 chat_search_hit_get_message_id(ChatSearchHit *self);
/* The conversation it belongs to, from the user's side. */
ChatContactKind chat_search_hit_get_contact_kind(ChatSearchHit *self);
gint64 chat_search_hit_get_target_id(ChatSearchHit *self);
gint64 chat_search_hit_get_sender_id(ChatSearchHit *self);
const char *chat_search_hit_get_sender_name(ChatSearchHit *self);
/* NULL when the server did not say. */
const char *chat_search_hit_get_sender_username(ChatSearchHit *self);
gboolean chat_search_hit_get_outgoing(ChatSearchHit *self);
gint64 chat_search_hit_get_time(ChatSearchHit *self);
const char *chat_search_hit_get_text(ChatSearchHit *self);
/* Where the query occurs in the text: n pairs (start, length) of byte
 * offsets, in order, not overlapping, each inside the text and on UTF-8
 * character boundaries (spans the server sent that are not are left out). */
const guint *chat_search_hit_get_matches(ChatSearchHit *self, guint *n_pairs);

/* One page of results, newest first. */
typedef struct {
  char *query;
  GPtrArray *hits;  /* ChatSearchHit */
  gboolean more;    /* older matches exist: ask again with before_id */
  gint64 before_id; /* the before_id of the next page (the oldest hit's id) */
} ChatSearchResults;

void chat_search_results_free(ChatSearchResults *results);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatSearchResults, chat_search_results_free)

/* Asks the server for the messages containing query (1..256 bytes of
 * UTF-8, not only white space), in every conversation or (conversation not
 * NULL) in that one only; only messages older than before_id (0: from the
 * newest); at most limit (1..CHAT_SEARCH_LIMIT_MAX). */
void chat_session_search_async(ChatSession *self, const char *query, ChatContact *conversation,
                               gint64 before_id, guint limit, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
/* The page, or NULL with an error: G_IO_ERROR_INVALID_ARGUMENT (a query or
 * limit the server would refuse), G_IO_ERROR_NOT_SUPPORTED (the seed
 * dialect has no search), G_IO_ERROR_NOT_CONNECTED (not logged in, or the
 * connection was lost before the answer), G_IO_ERROR_CANCELLED,
 * CHAT_REQUEST_FAILED_ERROR (the server refused: the message is its text,
 * the code a chat_request_error). */
ChatSearchResults *chat_session_search_finish(ChatSession *self, GAsyncResult *result,
                                              GError **error);
/* The request error code of a CHAT_REQUEST_FAILED_ERROR error
 * (CHAT_REQUEST_ERROR_UNKNOWN for any other). */
chat_request_error chat_search_error_get_code(const GError *error);

/* Loads older pages of the conversation until the message with server id
 * message_id is in chat_conversation_get_messages (at once when it is
 * already). FALSE with an error: G_IO_ERROR_NOT_FOUND (the history's start
 * was reached without it, or CHAT_LOAD_UNTIL_MAX_PAGES pages were),
 * G_IO_ERROR_NOT_CONNECTED (offline, or the connection was lost),
 * G_IO_ERROR_CANCELLED. */
void chat_session_load_until_async(ChatSession *self, ChatConversation *conversation,
                                   gint64 message_id, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean chat_session_load_until_finish(ChatSession *self, GAsyncResult *result, GError **error);

/* The position of the message with server id message_id in
 * chat_conversation_get_messages, or FALSE when it is not loaded. */
gboolean chat_conversation_find_position(ChatConversation *conversation, gint64 message_id,
                                         guint *position);

G_END_DECLS
