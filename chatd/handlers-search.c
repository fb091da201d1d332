/* search (v2): the user's text messages that contain a query, newest first
 * (spec/protocol.md 5.6, "Search"). The store reads the candidates of the
 * user's conversations and keeps those the matcher (search-match.h) takes,
 * on its reader thread; this file checks the request, writes the page and
 * the byte spans of every match. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/search-match.h"
#include "chatd/server-private.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"

/* An upper bound of one [start, length] span's encoding: a list of two
 * ints (tag and length, then each int's tag, length and 8 bytes). */
#define SPAN_ENCODED_BOUND 32

typedef struct {
  ChatdPendingReply reply;
  ChatdSearchMatcher *matcher; /* read by the store's reader thread until on_search */
  char *query;                 /* query_len bytes, echoed in the answer */
  gsize query_len;
} search_job;

static void search_job_finish(search_job *job) {
  chatd_pending_reply_clear(&job->reply);
  chatd_search_matcher_free(job->matcher);
  g_free(job->query);
  g_free(job);
}

static gboolean text_matches(const char *text, gsize len, gpointer matcher) {
  return chatd_search_matcher_found(matcher, text, len);
}

/* The results of one page, as the viewer sees them. */
typedef struct {
  ChatdDirectory *directory;
  GPtrArray *records;
  ChatdSearchSpan **spans; /* per record */
  gsize *n_spans;
  chat_dialect dialect;
  gint64 viewer_id;
} search_items;

typedef struct {
  const ChatdSearchSpan *spans;
} span_items;

static void write_span_item(chat_writer *w, size_t i, const void *data) {
  const ChatdSearchSpan *span = &((const span_items *)data)->spans[i];
  chat_msg_search_span x = {(int64_t)span->start, (int64_t)span->length};
  chat_msg_search_span_write(w, &x);
}

static void write_result_item(chat_writer *w, size_t i, const void *data) {
  const search_items *items = data;
  const ChatdMessageRecord *r = g_ptr_array_index(items->records, i);
  span_items spans = {items->spans[i]};
  chat_msg_search_result result = {
      .notice =
          chatd_notice_of(items->dialect, r, chatd_directory_user(items->directory, r->sender_id),
                          items->viewer_id, CHATD_BODY_FULL),
      .matches = {.count = items->n_spans[i], .write_item = write_span_item, .data = &spans},
  };
  chat_msg_search_result_write(w, &result);
}

static void send_results(ChatdSession *s, ChatdSlot *slot, const char *query, gsize query_len,
                         const search_items *items, guint count, gboolean more) {
  chat_msg_search_results page = {
      .query = {query, query_len},
      .results = {.count = count, .write_item = write_result_item, .data = items},
      .more = more,
  };
  chat_msg_search_results_write(chatd_session_begin(s, CHAT_MSG_SEARCH_RESULTS), &page);
  if (slot)
    chatd_reply_send_to_slot(s, slot);
  else
    chatd_reply_send(s);
}

static void on_search(const GError *error, GPtrArray *records, gboolean more, gpointer user_data) {
  search_job *job = user_data;
  ChatdSession *s = job->reply.session;
  if (error || !s->user) {
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the search could not be read; try again");
    search_job_finish(job);
    return;
  }
  ChatdDirectory *directory = s->server->directory;
  g_autofree ChatdSearchSpan **spans = g_new0(ChatdSearchSpan *, records->len + 1);
  g_autofree gsize *n_spans = g_new0(gsize, records->len + 1);
  /* The store counted each record at its longest names; this counts the
   * notices and their spans exactly, and ends the page where the message
   * would be too large (the first result always goes). */
  gsize budget = chatd_page_budget(s->server), used = 0;
  guint n = 0;
  for (; n < records->len; n++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, n);
    gsize cost = chatd_notice_size_bound(r, chatd_directory_user(directory, r->sender_id),
                                         s->dialect, CHATD_BODY_FULL);
    spans[n] = g_new(ChatdSearchSpan, CHATD_SEARCH_SPANS_MAX);
    n_spans[n] = chatd_search_matcher_spans(job->matcher, r->text, r->text_len, spans[n],
                                            CHATD_SEARCH_SPANS_MAX);
    if (n == 0 && cost + n_spans[n] * SPAN_ENCODED_BOUND > budget)
      n_spans[n] = cost < budget ? (budget - cost) / SPAN_ENCODED_BOUND : 0;
    cost += n_spans[n] * SPAN_ENCODED_BOUND;
    if (n > 0 && used + cost > budget)
      break;
    used += cost;
  }
  /* An empty page ends the search (spec): nothing among the candidates the
   * store looked at. */
  more = n > 0 && (more || n < records->len);
  search_items items = {directory, records, spans, n_spans, s->dialect, s->user->id};
  send_results(s, job->reply.slot, job->query, job->query_len, &items, n, more);
  for (guint i = 0; i < records->len; i++)
    g_free(spans[i]);
  search_job_finish(job);
}

/* Whether the user may search the conversation: a friend's, or a room's
 * the user is a member of. Anything else is searched as an empty one. */
static gboolean target_visible(ChatdSession *s, gint64 target_type, gint64 target_id) {
  ChatdDirectory *directory = s->server->directory;
  if (target_type == CHATD_STORE_TARGET_USER)
    return target_id != s->user->id && chatd_directory_user(directory, target_id) != NULL &&
           chatd_user_is_friend(s->user, target_id);
  ChatdRoom *room = chatd_directory_room(directory, target_id);
  return room != NULL && chatd_room_has_member(room, s->user->id);
}

void chatd_handle_search(ChatdSession *s, const chat_value *params, const guint8 *raw,
                         gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_search req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_search_read(params, &req, &err), &err))
    return;
  chat_request_error code;
  const char *problem = chat_msg_search_problem(&req, &code);
  if (problem) {
    chatd_session_send_failure(s, code, problem);
    return;
  }
  if (req.has_target_type && !target_visible(s, req.target_type, req.target_id)) {
    search_items none = {0};
    send_results(s, NULL, req.query.ptr, req.query.len, &none, 0, FALSE);
    return;
  }
  search_job *job = g_new0(search_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->matcher = chatd_search_matcher_new(req.query.ptr, req.query.len);
  job->query = g_memdup2(req.query.ptr, req.query.len);
  job->query_len = req.query.len;
  ChatdStoreSearch search = {
      .user_id = s->user->id,
      .has_target = req.has_target_type,
      .target_type = (int)req.target_type,
      .target_id = req.target_id,
      .query = job->query,
      .query_len = job->query_len,
      .before_id = req.before_id > 0 ? req.before_id : 0,
      .bound =
          {
              .limit = (guint)req.limit,
              .max_bytes = chatd_page_budget(s->server),
              .record_overhead = CHATD_NOTICE_RECORD_OVERHEAD,
              .max_image_bytes = G_MAXSIZE, /* text only */
          },
      .accept = text_matches,
      .accept_data = job->matcher,
  };
  if (!chatd_store_search(s->server->store, &search, on_search, job)) {
    chatd_reply_busy(s, job->reply.slot);
    search_job_finish(job);
  }
}
