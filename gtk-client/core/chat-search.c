/* Searching (see chat-search.h). A search is a request like the others:
 * it goes out with a request id and waits in the session's reply queue
 * (REPLY_SEARCH, holding its GTask) until search_results or a
 * request_failed with that id settles it, or the connection is lost. */
#define G_LOG_DOMAIN "chat-client"

#include "gtk-client/core/chat-search-private.h"

#include <glib/gi18n-lib.h>

#include "gtk-client/core/chat-conversation-private.h"
#include "gtk-client/core/chat-util-private.h"
#include "protocol/chat-limits.h"

/* clang-format off */
G_DEFINE_QUARK(chat-request-failed-error-quark, chat_request_failed_error)
/* clang-format on */

/* ---- the hit ---- */

struct _ChatSearchHit {
  GObject parent_instance;
  gint64 message_id;
  ChatContactKind contact_kind;
  gint64 target_id;
  gint64 sender_id;
  char *sender_name;
  char *sender_username;
  gboolean outgoing;
  gint64 time;
  char *text;
  GArray *matches; /* guint pairs: start, length */
};

G_DEFINE_FINAL_TYPE(ChatSearchHit, chat_search_hit, G_TYPE_OBJECT)

static void chat_search_hit_finalize(GObject *object) {
  ChatSearchHit *self = CHAT_SEARCH_HIT(object);
  g_free(self->sender_name);
  g_free(self->sender_username);
  g_free(self->text);
  g_clear_pointer(&self->matches, g_array_unref);
  G_OBJECT_CLASS(chat_search_hit_parent_class)->finalize(object);
}

static void chat_search_hit_class_init(ChatSearchHitClass *klass) {
  G_OBJECT_CLASS(klass)->finalize = chat_search_hit_finalize;
}

static void chat_search_hit_init(ChatSearchHit *self) {
  self->matches = g_array_new(FALSE, FALSE, sizeof(guint));
}

gint64 chat_search_hit_get_message_id(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), 0);
  return self->message_id;
}

ChatContactKind chat_search_hit_get_contact_kind(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), CHAT_CONTACT_FRIEND);
  return self->contact_kind;
}

gint64 chat_search_hit_get_target_id(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), 0);
  return self->target_id;
}

gint64 chat_search_hit_get_sender_id(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), 0);
  return self->sender_id;
}

const char *chat_search_hit_get_sender_name(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), NULL);
  return self->sender_name;
}

const char *chat_search_hit_get_sender_username(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), NULL);
  return self->sender_username;
}

gboolean chat_search_hit_get_outgoing(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), FALSE);
  return self->outgoing;
}

gint64 chat_search_hit_get_time(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), 0);
  return self->time;
}

const char *chat_search_hit_get_text(ChatSearchHit *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), NULL);
  return self->text;
}

const guint *chat_search_hit_get_matches(ChatSearchHit *self, guint *n_pairs) {
  g_return_val_if_fail(CHAT_IS_SEARCH_HIT(self), NULL);
  *n_pairs = self->matches->len / 2;
  return (const guint *)(gpointer)self->matches->data;
}

/* Keeps the spans a display can use: in order, not overlapping, inside
 * the text, on character boundaries. */
static void add_matches(ChatSearchHit *hit, const chat_msg_list *matches) {
  gsize len = strlen(hit->text);
  gsize done = 0;
  for (size_t i = 0; i < matches->count && i < CHAT_SEARCH_SPANS_MAX; i++) {
    chat_msg_search_span m;
    chat_msg_search_span_at(matches, i, &m);
    if (m.start < 0 || m.length <= 0 || (guint64)m.start < done || (guint64)m.start > len ||
        (guint64)m.length > len - (guint64)m.start)
      continue;
    const char *start = hit->text + m.start, *end = start + m.length;
    if (g_utf8_find_prev_char(hit->text, start + 1) != start ||
        (*end && g_utf8_find_prev_char(hit->text, end + 1) != end))
      continue;
    guint pair[2] = {(guint)m.start, (guint)m.length};
    g_array_append_vals(hit->matches, pair, 2);
    done = (gsize)(m.start + m.length);
  }
}

/* A hit from a result the server sent, or NULL when it is not a usable
 * text message. */
static ChatSearchHit *hit_from_result(ChatSession *self, const chat_msg_search_result *result) {
  ChatWireNotice n;
  if (!chat_wire_notice_from_msg(&result->notice, &n))
    return NULL;
  ChatSearchHit *hit = NULL;
  if (n.kind == CHAT_MESSAGE_TEXT && n.id > 0) {
    hit = g_object_new(CHAT_TYPE_SEARCH_HIT, NULL);
    hit->message_id = n.id;
    hit->outgoing = self->user_id != 0 && n.sender_id == self->user_id;
    /* A 1:1 message names its receiver: from the user's side, the
     * conversation is with the other one. */
    hit->contact_kind = n.target_kind;
    hit->target_id = n.target_kind == CHAT_CONTACT_FRIEND && n.target_id == self->user_id
                         ? n.sender_id
                         : n.target_id;
    hit->sender_id = n.sender_id;
    hit->sender_name = g_steal_pointer(&n.sender_name);
    hit->sender_username = g_steal_pointer(&n.sender_username);
    hit->time = n.time_ms;
    hit->text = g_steal_pointer(&n.text);
    add_matches(hit, &result->matches);
  }
  chat_wire_notice_clear(&n);
  return hit;
}

void chat_search_results_free(ChatSearchResults *results) {
  if (!results)
    return;
  g_free(results->query);
  g_clear_pointer(&results->hits, g_ptr_array_unref);
  g_free(results);
}

/* ---- searching ---- */

/* The server's rules for a request (protocol/messages.h), so a refusal
 * is never a round trip away. */
static gboolean request_is_valid(const char *query, gint64 before_id, guint limit) {
  chat_msg_search request = {
      .query = chat_span_cstr(query),
      .before_id = before_id,
      .limit = limit,
  };
  return before_id >= 0 && chat_msg_search_problem(&request, NULL) == NULL;
}

void chat_session_search_async(ChatSession *self, const char *query, ChatContact *conversation,
                               gint64 before_id, guint limit, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(query != NULL);
  g_return_if_fail(conversation == NULL || CHAT_IS_CONTACT(conversation));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, chat_session_search_async);
  if (!request_is_valid(query, before_id, limit)) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            _("Search for 1 to 256 bytes of text that is not only spaces."));
  } else if (self->dialect != CHAT_DIALECT_V2) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                            _("This server cannot search messages."));
  } else if (self->state != CHAT_SESSION_ONLINE) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                            _("You are not connected to the server."));
  } else {
    gboolean has_target = conversation != NULL;
    GBytes *request =
        chat_wire_search(self->dialect, query, before_id, limit, has_target,
                         has_target ? chat_contact_get_kind(conversation) : CHAT_CONTACT_FRIEND,
                         has_target ? chat_contact_get_id(conversation) : 0);
    if (!chat_session_send_request(self, request)) {
      g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                              _("You are not connected to the server."));
    } else {
      ReplyEntry *reply = chat_session_expect_reply(self, REPLY_SEARCH);
      reply->task = g_steal_pointer(&task);
    }
  }
  g_clear_object(&task);
}

ChatSearchResults *chat_session_search_finish(ChatSession *self, GAsyncResult *result,
                                              GError **error) {
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

chat_request_error chat_search_error_get_code(const GError *error) {
  if (error && error->domain == CHAT_REQUEST_FAILED_ERROR)
    return (chat_request_error)error->code;
  return CHAT_REQUEST_ERROR_UNKNOWN;
}

void chat_session_handle_search_results(ChatSession *self, const chat_msg_search_results *page) {
  ReplyEntry *reply = chat_session_settle_reply(self, REPLY_SEARCH, CHAT_CONTACT_FRIEND, 0);
  if (!reply)
    return;
  GTask *task = g_steal_pointer(&reply->task);
  g_free(reply);
  if (!task || g_task_return_error_if_cancelled(task)) {
    g_clear_object(&task);
    return;
  }
  ChatSearchResults *results = g_new0(ChatSearchResults, 1);
  results->query = chat_wire_dup_span(page->query);
  results->hits = g_ptr_array_new_with_free_func(g_object_unref);
  results->more = page->more;
  for (size_t i = 0; i < page->results.count; i++) {
    chat_msg_search_result result;
    chat_msg_search_result_at(&page->results, i, &result);
    ChatSearchHit *hit = hit_from_result(self, &result);
    if (hit)
      g_ptr_array_add(results->hits, hit);
    if (result.notice.has_id && (results->before_id == 0 || result.notice.id < results->before_id))
      results->before_id = result.notice.id;
  }
  g_task_return_pointer(task, results, (GDestroyNotify)chat_search_results_free);
  g_object_unref(task);
}

void chat_session_search_reply_failed(ReplyEntry *reply, chat_request_error code,
                                      const char *reason) {
  GTask *task = g_steal_pointer(&reply->task);
  if (!task)
    return;
  if (reason)
    g_task_return_new_error(task, CHAT_REQUEST_FAILED_ERROR, code, "%s", reason);
  else
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                            _("The connection to the server was lost."));
  g_object_unref(task);
}

/* ---- loading history up to a message ---- */

typedef struct {
  ChatSession *session;
  ChatConversation *conversation;
  gint64 message_id;
  guint pages;
  gulong loading_handler;
  guint idle_source;
} LoadUntil;

static void load_until_free(gpointer data) {
  LoadUntil *l = data;
  g_clear_signal_handler(&l->loading_handler, l->conversation);
  g_object_unref(l->conversation);
  g_object_unref(l->session);
  g_free(l);
}

/* Done, or asks for the next older page and waits for it. Returns TRUE
 * when the task got its result. */
static gboolean load_until_step(GTask *task) {
  LoadUntil *l = g_task_get_task_data(task);
  if (g_task_return_error_if_cancelled(task))
    return TRUE;
  if (chat_conversation_lookup(l->conversation, l->message_id)) {
    g_task_return_boolean(task, TRUE);
    return TRUE;
  }
  if (chat_conversation_get_loading(l->conversation))
    return FALSE;
  if (chat_conversation_get_complete(l->conversation) || l->pages >= CHAT_LOAD_UNTIL_MAX_PAGES) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s",
                            _("The message is no longer in the conversation."));
    return TRUE;
  }
  if (chat_session_get_state(l->session) != CHAT_SESSION_ONLINE) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                            _("You are not connected to the server."));
    return TRUE;
  }
  chat_session_load_older(l->session, l->conversation);
  l->pages++;
  if (!chat_conversation_get_loading(l->conversation)) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                            _("You are not connected to the server."));
    return TRUE;
  }
  return FALSE;
}

static void load_until_continue(GTask *task) {
  if (load_until_step(task)) {
    LoadUntil *l = g_task_get_task_data(task);
    g_clear_signal_handler(&l->loading_handler, l->conversation);
    g_object_unref(task); /* the handler's reference */
  }
}

static gboolean continue_idle(gpointer data) {
  GTask *task = data;
  LoadUntil *l = g_task_get_task_data(task);
  l->idle_source = 0;
  load_until_continue(task);
  return G_SOURCE_REMOVE;
}

/* "loading" ends before the page is merged into the conversation: the
 * next step waits until the session is done with it. */
static void on_loading_changed(ChatConversation *conversation, GParamSpec *pspec, GTask *task) {
  LoadUntil *l = g_task_get_task_data(task);
  if (!chat_conversation_get_loading(conversation) && l->idle_source == 0)
    l->idle_source = g_idle_add(continue_idle, task);
}

void chat_session_load_until_async(ChatSession *self, ChatConversation *conversation,
                                   gint64 message_id, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data) {
  g_return_if_fail(CHAT_IS_SESSION(self));
  g_return_if_fail(CHAT_IS_CONVERSATION(conversation));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, chat_session_load_until_async);
  LoadUntil *l = g_new0(LoadUntil, 1);
  l->session = g_object_ref(self);
  l->conversation = g_object_ref(conversation);
  l->message_id = message_id;
  g_task_set_task_data(task, l, load_until_free);
  if (load_until_step(task)) {
    g_object_unref(task);
    return;
  }
  /* The handler holds the task until a step finishes it; a lost
   * connection abandons the page being fetched, which ends "loading". */
  l->loading_handler =
      g_signal_connect(conversation, "notify::loading", G_CALLBACK(on_loading_changed), task);
}

gboolean chat_session_load_until_finish(ChatSession *self, GAsyncResult *result, GError **error) {
  g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
  return g_task_propagate_boolean(G_TASK(result), error);
}

gboolean chat_conversation_find_position(ChatConversation *conversation, gint64 message_id,
                                         guint *position) {
  g_return_val_if_fail(CHAT_IS_CONVERSATION(conversation), FALSE);
  ChatMessageItem *item = chat_conversation_lookup(conversation, message_id);
  return item && g_list_store_find(G_LIST_STORE(chat_conversation_get_messages(conversation)), item,
                                   position);
}
