/* create_room, join_room, leave_room, query_room_users. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/names.h"
#include "chatd/notify.h"
#include "chatd/server-private.h"
#include "protocol/catalogue.h"

/* Longest room name, in bytes after trimming. */

typedef struct {
  ChatdPendingReply reply;
  gint64 room_id;
  gint64 user_id;
  gint64 first_message; /* join: the member's first message; leave: what it was */
  char *room_name;      /* create */
} room_job;

static room_job *room_job_new(ChatdSession *s, gint64 room_id) {
  room_job *job = g_new0(room_job, 1);
  chatd_pending_reply_init(&job->reply, s);
  job->room_id = room_id;
  job->user_id = s->user->id;
  return job;
}

static void room_job_finish(room_job *job) {
  chatd_pending_reply_clear(&job->reply);
  g_free(job->room_name);
  g_free(job);
}

static void on_membership_stored(const GError *error, gpointer user_data) {
  room_job *job = user_data;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  ChatdRoom *room = chatd_directory_room(server->directory, job->room_id);
  ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
  if (error || !room) {
    g_warning("%s: cannot store a room membership: %s", s->peer,
              error ? error->message : "the room is gone");
    /* Memory goes back to what the database holds. */
    if (room && user)
      chatd_directory_remove_member(server->directory, room, user);
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the room could not be saved; try again");
  } else {
    chatd_write_room_contact(chatd_session_begin(s, CHAT_MSG_CONTACT_INFO), room);
    chatd_reply_send_to_slot(s, job->reply.slot);
    chatd_cluster_member(server->cluster, room->id, job->user_id,
                         chatd_room_first_message(room, job->user_id), TRUE);
    if (job->room_name) {
      g_autofree char *text = g_strdup_printf(
          "Room \"%s\" created: its number is %" G_GINT64_FORMAT, room->name, room->id);
      chat_write_cstr(chatd_session_begin(s, CHAT_MSG_GENERAL_MSG), text);
      chatd_reply_send_to_slot(s, job->reply.slot);
    }
  }
  room_job_finish(job);
}

/* Adds the user to the room in memory (so a second join sees it at once)
 * and in the store, undone if the store fails; the job's slot gets the
 * answer. */
static void join(ChatdSession *s, ChatdRoom *room, room_job *job) {
  ChatdServer *server = s->server;
  gint64 first = chatd_directory_last_message_id(server->directory) + 1;
  chatd_directory_add_member(server->directory, room, s->user, first);
  if (!chatd_store_add_member(server->store, room->id, s->user->id, first, chatd_now_ms(),
                              on_membership_stored, job)) {
    chatd_directory_remove_member(server->directory, room, s->user);
    chatd_reply_busy(s, job->reply.slot);
    room_job_finish(job);
  }
}

/* The room is in the database: now in memory, and its creator joins it. */
static void on_room_stored(const GError *error, gint64 room_id, gpointer user_data) {
  room_job *job = user_data;
  job->room_id = room_id;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  if (error || s->closed || !s->user) {
    if (error)
      g_warning("%s: cannot store a room: %s", s->peer, error->message);
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "the room could not be saved; try again");
    room_job_finish(job);
    return;
  }
  ChatdRoom *room = chatd_directory_add_room(server->directory, job->room_id, job->room_name);
  chatd_cluster_room(server->cluster, room);
  g_message("%s: %s created room %" G_GINT64_FORMAT, s->peer, s->user->username, room->id);
  join(s, room, job);
}

void chatd_handle_create_room(ChatdSession *s, const chat_value *params, const guint8 *raw,
                              gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  chat_msg_str req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_str_read(params, &req, &err), &err))
    return;
  const char *problem = NULL;
  g_autofree char *name =
      chatd_display_name_clean(req.value.ptr, req.value.len, CHATD_NAME_ROOM, &problem);
  if (problem) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_INVALID_ROOM_NAME, problem);
    return;
  }
  room_job *job = room_job_new(s, 0);
  job->room_name = g_strdup(name);
  if (!chatd_store_create_room(server->store, job->room_name, s->user->id, chatd_now_ms(),
                               on_room_stored, job)) {
    chatd_reply_busy(s, job->reply.slot);
    room_job_finish(job);
  }
}

void chatd_handle_join_room(ChatdSession *s, const chat_value *params, const guint8 *raw,
                            gsize raw_len) {
  (void)raw;
  (void)raw_len;
  chat_msg_int req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_int_read(params, &req, &err), &err))
    return;
  ChatdRoom *room = chatd_directory_room(s->server->directory, req.value);
  if (!room) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NO_SUCH_ROOM, NULL);
    return;
  }
  if (chatd_room_has_member(room, s->user->id)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_ALREADY_MEMBER, NULL);
    return;
  }
  join(s, room, room_job_new(s, room->id));
}

static void on_left(const GError *error, gpointer user_data) {
  room_job *job = user_data;
  ChatdSession *s = job->reply.session;
  ChatdServer *server = s->server;
  if (error) {
    /* Still a member in the database: a member in memory again. */
    ChatdRoom *room = chatd_directory_room(server->directory, job->room_id);
    ChatdUser *user = chatd_directory_user(server->directory, job->user_id);
    if (room && user && !chatd_room_has_member(room, user->id))
      chatd_directory_add_member(server->directory, room, user, job->first_message);
    chatd_slot_send_failure(s, job->reply.slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "leaving the room could not be saved; try again");
  } else {
    chat_write_int(chatd_session_begin(s, CHAT_MSG_LEFT_ROOM), job->room_id);
    chatd_reply_send_to_slot(s, job->reply.slot);
    chatd_cluster_member(server->cluster, job->room_id, job->user_id, 0, FALSE);
  }
  room_job_finish(job);
}

/* The room a request names by id (its params), when the session's user is
 * a member of it; otherwise answers the failure not_member and returns NULL. */
static ChatdRoom *member_room(ChatdSession *s, const chat_value *params) {
  chat_msg_int req;
  chat_error err;
  if (chatd_params_refused(s, chat_msg_int_read(params, &req, &err), &err))
    return NULL;
  ChatdRoom *room = chatd_directory_room(s->server->directory, req.value);
  if (!room || !chatd_room_has_member(room, s->user->id)) {
    chatd_session_send_failure(s, CHAT_REQUEST_ERROR_NOT_MEMBER, NULL);
    return NULL;
  }
  return room;
}

void chatd_handle_leave_room(ChatdSession *s, const chat_value *params, const guint8 *raw,
                             gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  ChatdRoom *room = member_room(s, params);
  if (!room)
    return;
  gint64 first = chatd_room_first_message(room, s->user->id);
  chatd_directory_remove_member(server->directory, room, s->user);
  room_job *job = room_job_new(s, room->id);
  job->first_message = first;
  if (!chatd_store_remove_member(server->store, room->id, s->user->id, on_left, job)) {
    chatd_directory_add_member(server->directory, room, s->user, first);
    chatd_reply_busy(s, job->reply.slot);
    room_job_finish(job);
    return;
  }
  /* The others see the member go. */
  chatd_notify_member_left(server, room, s->user->id);
}

typedef struct {
  ChatdDirectory *directory;
  const ChatdRoom *room;
} member_source;

/* Member i of a room; nothing for one that is gone. */
static void write_member(chat_writer *w, size_t i, const void *data) {
  const member_source *src = data;
  ChatdUser *member =
      chatd_directory_user(src->directory, g_array_index(src->room->members, gint64, i));
  if (!member)
    return;
  chat_msg_room_member x = {
      .user_id = member->id,
      .nickname = chat_span_cstr(member->nickname),
      .online = chatd_user_online(member),
      .username = chat_span_cstr(member->username),
  };
  chat_msg_room_member_write(w, &x);
}

void chatd_handle_query_room_users(ChatdSession *s, const chat_value *params, const guint8 *raw,
                                   gsize raw_len) {
  (void)raw;
  (void)raw_len;
  ChatdServer *server = s->server;
  ChatdRoom *room = member_room(s, params);
  if (!room)
    return;
  member_source source = {server->directory, room};
  chat_msg_query_room_users_result result = {
      .members = {.count = room->members->len, .write_item = write_member, .data = &source},
      .room_id = room->id,
  };
  chat_msg_query_room_users_result_write(chatd_session_begin(s, CHAT_MSG_QUERY_ROOM_USERS_RESULT),
                                         &result);
  chatd_reply_send(s);
}
