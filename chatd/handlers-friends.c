/* add_friend and resolve_friend_request. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/notify.h"
#include "chatd/server-private.h"
#include "protocol/catalogue.h"

typedef struct {
  ChatdPendingReply reply;
  gint64 from_id, to_id;
  gboolean accept;
} friend_job;

static friend_job *friend_job_new(ChatdSession *s, gint64 from_id, gint64 to_id) {
  friend_job *job = g_new0(friend_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->from_id = from_id;
  job->to_id = to_id;
  return job;
}

static void friend_job_finish(friend_job *job) {
  chatd_pending_reply_clear(&job->reply);
  g_free(job);
}

/* add_friend's success answer (a failure goes through chatd_*_send_failure,
 * which makes it an add_friend_result [false, reason] in the seed dialect). */
static void send_add_ok(ChatdSession *s, ChatdSlot *slot) {
  chat_msg_add_friend_result result = {.ok = TRUE, .reason = chat_span_cstr("")};
  chat_msg_add_friend_result_write(chatd_session_begin(s, CHAT_MSG_ADD_FRIEND_RESULT), &result);
  chatd_reply_send_to_slot(s, slot);
}

static void on_request_stored(const GError *error, gpointer user_data) {
  friend_job *job = user_data;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  if (error) {
    g_warning("%s: cannot store a friend request: %s", s->peer, error->message);
    /* Memory goes back to what the database holds. */
    ChatdUser *from = chatd_directory_user(server->directory, job->from_id);
    ChatdUser *to = chatd_directory_user(server->directory, job->to_id);
    if (from && to)
      chatd_directory_remove_request(server->directory, from, to);
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the request could not be saved; try again");
  } else {
    send_add_ok(s, job->reply.slot);
    ChatdUser *from = chatd_directory_user(server->directory, job->from_id);
    ChatdUser *to = chatd_directory_user(server->directory, job->to_id);
    if (from && to) {
      chatd_notify_friend_request(server, from, to);
      chatd_cluster_request(server->cluster, from->id, to->id);
    }
  }
  friend_job_finish(job);
}

void chatd_handle_add_friend(ChatdSession *s, const chat_value *params, const guint8 *raw,
                             gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_str req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_str_read(params, &req, &err), &err))
    return;
  g_autofree char *name = chatd_normalize_username(req.value.ptr, req.value.len);
  ChatdUser *me = s->user;
  ChatdUser *target = name ? chatd_directory_user_by_name(server->directory, name) : NULL;
  if (!target) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NO_SUCH_USER, NULL);
    return;
  }
  if (target == me) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_CANNOT_ADD_SELF, NULL);
    return;
  }
  if (chatd_user_is_friend(me, target->id)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_ALREADY_FRIENDS, NULL);
    return;
  }
  if (chatd_user_has_asked(me, target->id)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_REQUEST_PENDING, NULL);
    return;
  }
  chatd_directory_add_request(server->directory, me, target);
  friend_job *job = friend_job_new(s, me->id, target->id);
  if (!chatd_store_add_friend_request(server->store, me->id, target->id, chatd_now_ms(),
                                      on_request_stored, job)) {
    chatd_directory_remove_request(server->directory, me, target);
    chatd_reply_busy(s, job->reply.slot);
    friend_job_finish(job);
  }
}

static void on_resolution_stored(const GError *error, gpointer user_data) {
  friend_job *job = user_data;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  ChatdUser *requester = chatd_directory_user(server->directory, job->from_id);
  ChatdUser *accepter = chatd_directory_user(server->directory, job->to_id);
  if (error) {
    g_warning("%s: cannot store a friend request's answer: %s", s->peer, error->message);
    /* Memory goes back to what the database holds: the request waits. */
    if (requester && accepter) {
      if (job->accept)
        chatd_directory_remove_friendship(server->directory, requester, accepter);
      if (!chatd_user_has_asked(requester, accepter->id))
        chatd_directory_add_request(server->directory, requester, accepter);
    }
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the answer could not be saved; try again");
  } else if (job->accept && requester && accepter) {
    chatd_write_friend_contact(chatd_session_begin(s, CHAT_MSG_CONTACT_INFO), requester);
    chatd_reply_send_to_slot(s, job->reply.slot);
    chatd_notify_friend_accepted(server, requester, accepter);
    chatd_cluster_answer(server->cluster, requester->id, accepter->id, TRUE);
  } else if (!job->accept) {
    chatd_cluster_answer(server->cluster, job->from_id, job->to_id, FALSE);
  }
  friend_job_finish(job);
}

/* The request the other way, answered by an acceptance: if its deletion
 * fails it is still in the database, so it comes back in memory. */
static void on_reverse_request_deleted(const GError *error, gpointer user_data) {
  friend_job *job = user_data;
  ChatdServer *server = job->reply.session->server;
  ChatdUser *from = chatd_directory_user(server->directory, job->from_id);
  ChatdUser *to = chatd_directory_user(server->directory, job->to_id);
  if (error && from && to && !chatd_user_has_asked(from, to->id))
    chatd_directory_add_request(server->directory, from, to);
  chatd_session_unref(job->reply.session);
  g_free(job);
}

void chatd_handle_resolve_friend_request(ChatdSession *s, const chat_value *params,
                                         const guint8 *raw, gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_resolve_friend_request req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_resolve_friend_request_read(params, &req, &err), &err))
    return;
  gint64 from_id = req.from_user_id;
  gboolean accept = req.accept;
  ChatdUser *me = s->user;
  ChatdUser *from = chatd_directory_user(server->directory, from_id);
  if (!from || !chatd_user_has_asked(from, me->id)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NO_SUCH_FRIEND_REQUEST, NULL);
    return;
  }
  chatd_directory_remove_request(server->directory, from, me);
  friend_job *job = friend_job_new(s, from->id, me->id);
  job->accept = accept;
  gboolean queued;
  if (accept) {
    chatd_directory_add_friendship(server->directory, from, me);
    queued = chatd_store_accept_friend_request(server->store, from->id, me->id, chatd_now_ms(),
                                               on_resolution_stored, job);
    /* A request the other way is answered by this too. */
    if (queued && chatd_directory_remove_request(server->directory, me, from)) {
      friend_job *reverse = g_new0(friend_job, 1);
      reverse->reply.session = chatd_session_ref(s); /* no reply: no slot */
      reverse->from_id = me->id;
      reverse->to_id = from->id;
      if (!chatd_store_delete_friend_request(server->store, me->id, from->id,
                                             on_reverse_request_deleted, reverse)) {
        chatd_directory_add_request(server->directory, me, from);
        chatd_session_unref(s);
        g_free(reverse);
      }
    }
  } else {
    queued = chatd_store_delete_friend_request(server->store, from->id, me->id,
                                               on_resolution_stored, job);
  }
  if (!queued) {
    /* The store refused: memory goes back to what the database holds. */
    if (accept)
      chatd_directory_remove_friendship(server->directory, from, me);
    chatd_directory_add_request(server->directory, from, me);
    chatd_reply_busy(s, job->reply.slot);
    friend_job_finish(job);
  }
}
