/* send_message, fetch_history, mark_read. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/notify.h"
#include "chatd/server-private.h"
#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"

/* Bounds on what a client sends (besides the message size limit). */
#define FONT_SIZE_MAX CHAT_FONT_SIZE_HIGHEST
#define TEXT_MAX CHAT_TEXT_MAX
#define CLIENT_MSG_ID_MAX CHAT_CLIENT_MSG_ID_MAX
#define HISTORY_PAGE_MAX CHAT_HISTORY_PAGE_MAX

typedef struct {
  ChatdPendingReply reply; /* the sender's session */
  ChatdMessageRecord *record;
} send_job;

static void send_job_finish(send_job *job) {
  chatd_pending_reply_clear(&job->reply);
  chatd_message_record_free(job->record);
  g_free(job);
}

/* The sender's copy: the answer to its send_message. */
static void send_sender_copy(ChatdSession *s, const ChatdMessageRecord *r, const ChatdUser *sender,
                             ChatdSlot *slot) {
  chatd_write_notice(chatd_session_begin(s, CHAT_MSG_ON_NEW_MESSAGE), s->dialect, r, sender,
                     r->sender_id, CHATD_BODY_FULL);
  chatd_reply_send_to_slot(s, slot);
}

static void on_stored_copy(const GError *error, const ChatdMessageRecord *record,
                           gpointer user_data) {
  send_job *job = user_data;
  ChatdSession *s = job->reply.session;
  if (error || !record) {
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_SERVER_ERROR,
                            "the message could not be read back");
  } else {
    ChatdMessageRecord copy = *record;
    copy.client_msg_id = job->record->client_msg_id;
    ChatdUser *sender = chatd_directory_user(s->server->directory, record->sender_id);
    send_sender_copy(s, &copy, sender, job->reply.slot);
  }
  send_job_finish(job);
}

static void on_message_stored(const GError *error, gboolean inserted, gint64 stored_id,
                              gpointer user_data) {
  send_job *job = user_data;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  if (error) {
    g_warning("%s: cannot store a message: %s", s->peer, error->message);
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the message could not be saved; try again");
    send_job_finish(job);
    return;
  }
  if (!inserted) {
    /* A resend of a message already stored: the sender gets its copy (the
     * acknowledgement) again; nobody gets it twice. */
    g_debug("%s: message %s already stored as %" G_GINT64_FORMAT, s->peer,
            job->record->client_msg_id, stored_id);
    if (!chatd_store_message(server->store, stored_id, on_stored_copy, job)) {
      chatd_reply_busy(s, job->reply.slot);
      send_job_finish(job);
    }
    return;
  }
  if (job->record->id == 0)
    job->record->id = stored_id; /* the store chose it (a cluster's shared sequence) */
  ChatdDirectory *directory = server->directory;
  if (chatd_directory_last_message_id(directory) < job->record->id)
    chatd_directory_set_last_message_id(directory, job->record->id);
  ChatdUser *sender = chatd_directory_user(directory, job->record->sender_id);
  chatd_deliver_message(server, job->record);
  chatd_cluster_message(server->cluster, job->record);
  if (!s->closed && s->user == sender)
    send_sender_copy(s, job->record, sender, job->reply.slot);
  send_job_finish(job);
}

/* What is wrong with a body (NULL: nothing); *code its error code. */
static const char *body_problem(ChatdServer *server, const chat_msg_body *body,
                                ChatdMessageRecord *r, chat_request_error *code) {
  *code = CHAT_REQUEST_ERROR_INVALID_MESSAGE;
  if (body->type == CHATD_STORE_KIND_TEXT && body->form == CHAT_BODY_TEXT) {
    if (body->font_size < 1 || body->font_size > FONT_SIZE_MAX)
      return "the font size must be 1 to 1000";
    if (!chat_font_color_valid(body->font_color.ptr, body->font_color.len))
      return "the font colour must be \"#rrggbb\" (# and six hexadecimal digits)";
    if (body->data.len == 0)
      return "the message is empty";
    if (body->data.len > TEXT_MAX) {
      *code = CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE;
      return "the text is longer than 1 MiB (1048576 bytes)";
    }
    r->kind = CHATD_STORE_KIND_TEXT;
    r->text = body->data.ptr;
    r->text_len = body->data.len;
    r->font_size = (int)body->font_size;
    r->font_color = g_strndup(body->font_color.ptr, body->font_color.len);
    return NULL;
  }
  if (body->type == CHATD_STORE_KIND_IMAGE && body->form == CHAT_BODY_IMAGE) {
    if (body->data.len == 0)
      return "the image is empty";
    if (body->data.len > server->config->max_image_size) {
      *code = CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE;
      return "the image is larger than the server accepts (server-info max_image)";
    }
    r->kind = CHATD_STORE_KIND_IMAGE;
    r->image = g_bytes_new(body->data.ptr, body->data.len);
    return NULL;
  }
  /* an image preview: the server sends those, clients do not */
  return "a message body is text (type 0) or an image (type 1)";
}

void chatd_handle_send_message(ChatdSession *s, const chat_value *params, const guint8 *raw,
                               gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  ChatdUser *me = s->user;
  chat_msg_send_message req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_send_message_read(params, &req, &err), &err))
    return;
  gint64 target_type = req.target_type, target_id = req.target_id;
  if (req.has_client_msg_id &&
      (req.client_msg_id.len == 0 || req.client_msg_id.len > CLIENT_MSG_ID_MAX)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_MESSAGE,
                               "client_msg_id must be 1 to 64 bytes");
    return;
  }

  g_autoptr(GArray) offline = g_array_new(FALSE, FALSE, sizeof(gint64));
  if (target_type == CHATD_STORE_TARGET_USER) {
    ChatdUser *to = chatd_directory_user(server->directory, target_id);
    if (!to || !chatd_user_is_friend(me, to->id)) {
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NOT_FRIEND, NULL);
      return;
    }
    if (!chatd_user_online(to))
      g_array_append_val(offline, to->id);
  } else if (target_type == CHATD_STORE_TARGET_ROOM) {
    ChatdRoom *room = chatd_directory_room(server->directory, target_id);
    if (!room || !chatd_room_has_member(room, me->id)) {
      chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NOT_MEMBER, NULL);
      return;
    }
    for (guint i = 0; i < room->members->len; i++) {
      gint64 id = g_array_index(room->members, gint64, i);
      ChatdUser *member = chatd_directory_user(server->directory, id);
      if (id != me->id && member && !chatd_user_online(member))
        g_array_append_val(offline, id);
    }
  } else {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_TARGET, NULL);
    return;
  }

  ChatdMessageRecord r = {
      .sender_id = me->id,
      .target_type = (int)target_type,
      .target_id = target_id,
      .sent_ms = chatd_now_ms(),
  };
  g_autofree char *client_msg_id =
      req.has_client_msg_id ? g_strndup(req.client_msg_id.ptr, req.client_msg_id.len) : NULL;
  r.client_msg_id = client_msg_id;
  chat_request_error code;
  const char *problem = body_problem(server, &req.message, &r, &code);
  /* Never store what could not be sent back: its notice must fit in a
   * message, with a history page around it. */
  if (!problem && chatd_notice_size_bound(&r, me, CHAT_DIALECT_V2, CHATD_BODY_FULL) >
                      chatd_page_budget(server)) {
    problem = "the message is larger than the server accepts";
    code = CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE;
  }
  if (problem) {
    chatd_session_send_failure(s, code, problem);
    g_free((char *)r.font_color);
    g_clear_pointer(&r.image, g_bytes_unref);
    return;
  }
  /* Alone, chatd numbers messages itself; a cluster's nodes share the
   * store's sequence, so the store numbers them (in commit order). */
  r.id = server->cluster ? 0 : chatd_directory_next_message_id(server->directory);

  send_job *job = g_new0(send_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->record = chatd_message_record_copy(&r);
  g_free((char *)r.font_color);
  g_clear_pointer(&r.image, g_bytes_unref);
  if (!chatd_store_add_message(server->store, job->record, (const gint64 *)(void *)offline->data,
                               offline->len, on_message_stored, job)) {
    chatd_reply_busy(s, job->reply.slot);
    send_job_finish(job);
  }
}

/* ---- history and read markers ---- */

/* Can the session's user see the conversation? When not, answers the
 * request with why and returns FALSE. */
static gboolean conversation_allowed(ChatdSession *s, gint64 target_type, gint64 target_id) {
  ChatdServer *server = s->server;
  if (target_type == CHATD_STORE_TARGET_USER) {
    ChatdUser *other = chatd_directory_user(server->directory, target_id);
    if (other && other != s->user)
      return TRUE;
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NO_SUCH_USER, "there is no such user");
    return FALSE;
  }
  if (target_type == CHATD_STORE_TARGET_ROOM) {
    ChatdRoom *room = chatd_directory_room(server->directory, target_id);
    if (room && chatd_room_has_member(room, s->user->id))
      return TRUE;
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NOT_MEMBER, NULL);
    return FALSE;
  }
  chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_TARGET, NULL);
  return FALSE;
}

typedef struct {
  ChatdPendingReply reply;
  gint64 target_type, target_id, limit;
} history_job;

static void history_job_finish(history_job *job) {
  chatd_pending_reply_clear(&job->reply);
  g_free(job);
}

/* The notices of a history page, as its viewer sees them. */
typedef struct {
  ChatdDirectory *directory;
  GPtrArray *records;
  chat_dialect dialect;
  gint64 viewer_id;
} history_items;

static void write_history_item(chat_writer *w, size_t i, const void *data) {
  const history_items *items = data;
  const ChatdMessageRecord *r = g_ptr_array_index(items->records, i);
  chatd_write_notice(w, items->dialect, r, chatd_directory_user(items->directory, r->sender_id),
                     items->viewer_id, CHATD_BODY_FULL);
}

static void on_history(const GError *error, GPtrArray *records, gboolean more, gpointer user_data) {
  history_job *job = user_data;
  ChatdSession *s = job->reply.session;
  if (error || !s->user) {
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the history could not be read; try again");
    history_job_finish(job);
    return;
  }
  /* The store's bound counted each notice's names at their longest; this is
   * the exact check (which a sender's longer legacy name could still fail). */
  ChatdDirectory *directory = s->server->directory;
  gsize budget = chatd_page_budget(s->server), used = 0;
  guint n = 0;
  for (; n < records->len; n++) {
    const ChatdMessageRecord *r = g_ptr_array_index(records, n);
    used += chatd_notice_size_bound(r, chatd_directory_user(directory, r->sender_id), s->dialect,
                                    CHATD_BODY_FULL);
    if (n > 0 && used > budget)
      break;
  }
  more = more || n < records->len;
  history_items items = {directory, records, s->dialect, s->user->id};
  chat_msg_history_page page = {
      .target_type = job->target_type,
      .target_id = job->target_id,
      .messages = {.count = n, .write_item = write_history_item, .data = &items},
      .more = more,
  };
  chat_msg_history_page_write(chatd_session_begin(s, CHAT_MSG_HISTORY_PAGE), &page);
  chatd_reply_send_to_slot(s, job->reply.slot);
  history_job_finish(job);
}

void chatd_handle_fetch_history(ChatdSession *s, const chat_value *params, const guint8 *raw,
                                gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_fetch_history req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_fetch_history_read(params, &req, &err), &err))
    return;
  gint64 target_type = req.target_type, target_id = req.target_id, before = req.before_id,
         limit = req.limit;
  if (!conversation_allowed(s, target_type, target_id))
    return;
  if (before < 0)
    before = 0;
  limit = CLAMP(limit, 1, HISTORY_PAGE_MAX);
  history_job *job = g_new0(history_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->target_type = target_type;
  job->target_id = target_id;
  job->limit = limit;
  const ChatdConfig *config = s->server->config;
  ChatdStorePageBound bound = {
      .limit = (guint)limit,
      .max_bytes = chatd_page_budget(s->server),
      .record_overhead = CHATD_NOTICE_RECORD_OVERHEAD,
      /* a larger image is from before the limit: it goes as a preview */
      .max_image_bytes = config->max_image_size,
  };
  if (!chatd_store_history(s->server->store, s->user->id, (int)target_type, target_id, before,
                           &bound, on_history, job)) {
    chatd_reply_busy(s, job->reply.slot);
    history_job_finish(job);
  }
}

static void on_marker_counted(const GError *error, GPtrArray *conversations, gpointer user_data) {
  history_job *job = user_data;
  ChatdSession *s = job->reply.session;
  if (error) {
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the read marker could not be read back");
    history_job_finish(job);
    return;
  }
  gint64 last_read = job->limit, unread = 0;
  for (guint i = 0; i < conversations->len; i++) {
    const ChatdConversation *c = g_ptr_array_index(conversations, i);
    if (c->target_type == job->target_type && c->target_id == job->target_id) {
      last_read = c->last_read_id;
      unread = c->unread;
    }
  }
  chat_msg_read_marker marker = {
      .target_type = job->target_type,
      .target_id = job->target_id,
      .last_read_id = last_read,
      .unread = unread,
  };
  chat_msg_read_marker_write(chatd_session_begin(s, CHAT_MSG_READ_MARKER), &marker);
  chatd_reply_send_to_slot(s, job->reply.slot);
  history_job_finish(job);
}

static void on_marker_stored(const GError *error, gpointer user_data) {
  history_job *job = user_data;
  ChatdSession *s = job->reply.session;
  if (error || !s->user ||
      !chatd_store_conversations(s->server->store, s->user->id, on_marker_counted, job)) {
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the read marker could not be saved; try again");
    history_job_finish(job);
  }
}

void chatd_handle_mark_read(ChatdSession *s, const chat_value *params, const guint8 *raw,
                            gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_mark_read req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_mark_read_read(params, &req, &err), &err))
    return;
  gint64 target_type = req.target_type, target_id = req.target_id, up_to = req.up_to_id;
  if (!conversation_allowed(s, target_type, target_id))
    return;
  /* Nobody marks read what the server has not handed out. */
  up_to = CLAMP(up_to, 0, chatd_directory_last_message_id(s->server->directory));
  history_job *job = g_new0(history_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->target_type = target_type;
  job->target_id = target_id;
  job->limit = up_to; /* the marker, if the conversation has no row yet */
  if (!chatd_store_mark_read(s->server->store, s->user->id, (int)target_type, target_id, up_to,
                             on_marker_stored, job)) {
    chatd_reply_busy(s, job->reply.slot);
    history_job_finish(job);
  }
}
