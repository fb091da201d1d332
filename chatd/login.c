#define G_LOG_DOMAIN "chatd"

#include "chatd/login.h"

#include <string.h>

#include "chatd/cluster.h"
#include "chatd/dispatch.h"
#include "chatd/encode.h"
#include "chatd/notify.h"
#include "chatd/presence.h"
#include "chatd/server-private.h"
#include "chatd/tokens.h"
#include "protocol/catalogue.h"

typedef struct {
  ChatdSession *session;
  ChatdSlot *slot;
  gint64 user_id;
  gint64 cutoff;
  gboolean session_holds; /* the session holds live messages until this bundle (s->held) */
  guint8 token[CHATD_TOKEN_LEN];
} bundle_job;

/* The messages held for a seed login in a cluster while its bundle was
 * read: those newer than what the bundle carried go now. */
static void release_held(ChatdSession *s, gint64 carried_up_to) {
  g_autoptr(GPtrArray) held = g_steal_pointer(&s->held);
  if (!held)
    return;
  s->history_cutoff = carried_up_to;
  for (guint i = 0; i < held->len; i++) {
    const ChatdMessageRecord *r = g_ptr_array_index(held, i);
    if (r->id > carried_up_to && !s->closed && s->user)
      chatd_deliver_to(s, r);
  }
}

static void bundle_job_free(bundle_job *job) {
  /* Whatever became of the bundle, the held messages go (or a busy server
   * would keep them for ever). */
  if (job->session_holds)
    release_held(job->session, job->cutoff);
  explicit_bzero(job->token, sizeof job->token);
  chatd_session_unref(job->session);
  g_free(job);
}

static gboolean still_current(const bundle_job *job) {
  return !job->session->closed && job->session->user && job->session->user->id == job->user_id;
}

static gint compare_ids(gconstpointer a, gconstpointer b) {
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

/* A user's rooms or friends, as a list a bundle writes. */
typedef struct {
  ChatdServer *server;
  GArray *ids; /* room or user ids, in the order they go */
  gboolean rooms;
  gboolean own_ids; /* ids is this source's (friends, sorted) */
} contact_source;

static void contact_source_init(contact_source *src, ChatdServer *server, ChatdUser *user,
                                gboolean rooms) {
  src->server = server;
  src->rooms = rooms;
  src->own_ids = !rooms;
  if (rooms) {
    src->ids = user->rooms;
    return;
  }
  /* Friends in id order, so bundles are stable. */
  src->ids = g_array_new(FALSE, FALSE, sizeof(gint64));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, user->friends);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    gint64 id = (gint64)(gintptr)key;
    g_array_append_val(src->ids, id);
  }
  g_array_sort(src->ids, compare_ids);
}

static void contact_source_clear(contact_source *src) {
  if (src->own_ids)
    g_array_unref(src->ids);
}

/* Item i of a contact list; nothing for one that is gone. */
static void write_contact_item(chat_writer *w, size_t i, const void *data) {
  const contact_source *src = data;
  gint64 id = g_array_index(src->ids, gint64, i);
  if (src->rooms) {
    ChatdRoom *room = chatd_directory_room(src->server->directory, id);
    if (room)
      chatd_write_room_contact(w, room);
  } else {
    ChatdUser *friend = chatd_directory_user(src->server->directory, id);
    if (friend)
      chatd_write_friend_contact(w, friend);
  }
}

static chat_msg_list contact_list(const contact_source *src) {
  return (chat_msg_list){.count = src->ids->len, .write_item = write_contact_item, .data = src};
}

/* ---- seed: login_bundle with the newest history that fits ---- */

/* What a login_bundle holds besides its messages (the contact lists),
 * encoded: the messages get the rest of one message. */
static gsize bundle_room_for_messages(ChatdServer *server, ChatdUser *user) {
  chat_buffer scratch;
  chat_buffer_init(&scratch);
  chat_writer w;
  chat_writer_init(&w, &scratch);
  contact_source rooms, friends;
  contact_source_init(&rooms, server, user, TRUE);
  contact_source_init(&friends, server, user, FALSE);
  chat_write_list_begin(&w);
  for (int k = 0; k < 2; k++) {
    const contact_source *src = k == 0 ? &rooms : &friends;
    chat_write_list_begin(&w);
    for (guint i = 0; i < src->ids->len; i++)
      write_contact_item(&w, i, src);
    chat_write_list_end(&w);
  }
  chat_write_list_end(&w);
  contact_source_clear(&rooms);
  contact_source_clear(&friends);
  gsize contacts = chat_writer_finish(&w) == 0 ? scratch.len : G_MAXSIZE / 2;
  chat_buffer_clear(&scratch);
  gsize budget = chatd_page_budget(server);
  return contacts < budget ? budget - contacts : 0;
}

/* Each message of a login_bundle is [bytes, int]: its notice's encoding
 * and the sent flag, in at most this much besides the notice. */
#define BUNDLE_ITEM_OVERHEAD 32

/* The messages a login_bundle carries: notices[ends[k-1] .. ends[k]) is the
 * encoding of carried[k], newest first. */
typedef struct {
  const chat_buffer *notices;
  GArray *ends;
  GPtrArray *carried;
} bundle_messages;

/* Item i, oldest first, as the seed sends them. */
static void write_bundle_message(chat_writer *w, size_t i, const void *data) {
  const bundle_messages *m = data;
  guint k = m->carried->len - 1 - (guint)i;
  const ChatdMessageRecord *r = g_ptr_array_index(m->carried, k);
  gsize start = k > 0 ? g_array_index(m->ends, gsize, k - 1) : 0;
  gsize end = g_array_index(m->ends, gsize, k);
  chat_msg_stored_message x = {
      .data = chat_span_bytes(m->notices->data + start, end - start),
      .sent = r->offline ? 0 : 1,
  };
  chat_msg_stored_message_write(w, &x);
}

static void on_full_history(const GError *error, GPtrArray *records, gboolean more,
                            gpointer user_data) {
  bundle_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  /* Alone, chatd's own last id is the store's: the bundle carries up to
   * it, and later ones come live. In a cluster this node may not have heard
   * of the newest messages yet: the bundle carries all the read found (ids
   * follow commit order, so later ones are larger), and what came live
   * meanwhile was held (s->held). */
  gint64 cutoff = job->cutoff;
  if (s->held && !error)
    for (guint i = 0; i < records->len; i++)
      cutoff = MAX(cutoff, ((const ChatdMessageRecord *)g_ptr_array_index(records, i))->id);
  if (error) {
    g_warning("%s: cannot read the history: %s", s->peer, error->message);
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "cannot read your history; try again later");
  } else if (still_current(job)) {
    ChatdUser *user = s->user;
    /* Each stored message goes as the encoding of its notice: encode the
     * notices first into one buffer (newest first, while they fit; one that
     * could never fit is passed over), then the bundle around them. */
    chat_buffer notices;
    chat_buffer_init(&notices);
    g_autoptr(GArray) ends = g_array_new(FALSE, FALSE, sizeof(gsize));
    g_autoptr(GPtrArray) carried = g_ptr_array_new();
    gsize room = bundle_room_for_messages(server, user);
    gint64 last_offline = 0;
    for (guint i = records->len; i-- > 0;) {
      const ChatdMessageRecord *r = g_ptr_array_index(records, i);
      if (r->id > cutoff)
        continue;
      gsize before = notices.len;
      chat_writer nw;
      chat_writer_init(&nw, &notices);
      chatd_write_notice(&nw, CHAT_DIALECT_SEED, r,
                         chatd_directory_user(server->directory, r->sender_id), user->id,
                         CHATD_BODY_FULL);
      if (chat_writer_finish(&nw) != 0)
        break;
      gsize size = notices.len - before + BUNDLE_ITEM_OVERHEAD;
      if (size > room) {
        notices.len = before;
        more = TRUE;
        if (size > chatd_page_budget(server))
          continue; /* a legacy message too large for any bundle */
        break;
      }
      room -= size;
      g_array_append_val(ends, notices.len);
      g_ptr_array_add(carried, (gpointer)r);
      if (r->offline && r->id > last_offline)
        last_offline = r->id;
    }
    if (more)
      g_message("%s: the login bundle of %s carries its newest %u messages; older ones do not "
                "fit in one message",
                s->peer, user->username, carried->len);
    contact_source rooms, friends;
    contact_source_init(&rooms, server, user, TRUE);
    contact_source_init(&friends, server, user, FALSE);
    bundle_messages messages = {&notices, ends, carried};
    chat_msg_login_bundle bundle = {
        .rooms = contact_list(&rooms),
        .friends = contact_list(&friends),
        .messages = {.count = carried->len, .write_item = write_bundle_message, .data = &messages},
    };
    chat_msg_login_bundle_write(chatd_session_begin(s, CHAT_MSG_LOGIN_BUNDLE), &bundle);
    contact_source_clear(&rooms);
    contact_source_clear(&friends);
    chatd_reply_send_to_slot(s, job->slot);
    chat_buffer_clear(&notices);
    /* The client has counted the offline ones as unread: next time they
     * count as delivered, as with the seed. */
    if (last_offline > 0)
      chatd_store_clear_offline(server->store, user->id, last_offline, NULL, NULL);
  }
  job->cutoff = cutoff; /* the held messages go past what the bundle carried */
  chatd_session_release(s, job->slot);
  bundle_job_free(job);
}

/* ---- v2: session_bundle with conversations ---- */

typedef struct {
  ChatdServer *server;
  ChatdUser *user;
  GPtrArray *conversations; /* of ChatdConversation */
} conversation_source;

static void write_conversation(chat_writer *w, size_t i, const void *data) {
  const conversation_source *src = data;
  const ChatdConversation *c = g_ptr_array_index(src->conversations, i);
  chat_msg_conversation x = {
      .target_type = c->target_type,
      .target_id = c->target_id,
      .has_last = c->last != NULL,
      .unread = c->unread,
      .last_read_id = c->last_read_id,
  };
  if (c->last)
    x.last = chatd_notice_of(CHAT_DIALECT_V2, c->last,
                             chatd_directory_user(src->server->directory, c->last->sender_id),
                             src->user->id, CHATD_BODY_PREVIEW);
  chat_msg_conversation_write(w, &x);
}

static void on_conversations(const GError *error, GPtrArray *conversations, gpointer user_data) {
  bundle_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  if (error) {
    g_warning("%s: cannot read the conversations: %s", s->peer, error->message);
    chatd_slot_send_failure(s, job->slot, CHAT_REQUEST_ERROR_STORAGE_FAILED,
                            "cannot read your conversations; try again later");
  } else if (still_current(job)) {
    ChatdUser *user = s->user;
    contact_source rooms, friends;
    contact_source_init(&rooms, server, user, TRUE);
    contact_source_init(&friends, server, user, FALSE);
    conversation_source source = {server, user, conversations};
    chat_msg_session_bundle bundle = {
        .token = chat_span_bytes(job->token, sizeof job->token),
        .friends = contact_list(&friends),
        .rooms = contact_list(&rooms),
        .conversations = {.count = conversations->len,
                          .write_item = write_conversation,
                          .data = &source},
    };
    chat_msg_session_bundle_write(chatd_session_begin(s, CHAT_MSG_SESSION_BUNDLE), &bundle);
    contact_source_clear(&rooms);
    contact_source_clear(&friends);
    chatd_reply_send_to_slot(s, job->slot);
  }
  chatd_session_release(s, job->slot);
  bundle_job_free(job);
}

/* Every write submitted before the login has been committed: now the
 * bundle's read sees every message up to the cutoff. */
static void on_barrier(const GError *error, gpointer user_data) {
  bundle_job *job = user_data;
  ChatdSession *s = job->session;
  ChatdServer *server = s->server;
  (void)error;
  gboolean queued;
  if (s->dialect == CHAT_DIALECT_SEED && still_current(job)) {
    ChatdStorePageBound bound = {
        .limit = 0,
        .max_bytes = bundle_room_for_messages(server, s->user),
        .record_overhead = CHATD_NOTICE_RECORD_OVERHEAD + BUNDLE_ITEM_OVERHEAD,
        .max_image_bytes = G_MAXSIZE, /* the seed has no previews */
    };
    queued = chatd_store_full_history(server->store, job->user_id, &bound, on_full_history, job);
  } else {
    queued = chatd_store_conversations(server->store, job->user_id, on_conversations, job);
  }
  if (!queued) {
    chatd_reply_busy(s, job->slot);
    chatd_session_release(s, job->slot);
    bundle_job_free(job);
  }
}

void chatd_login_complete(ChatdSession *s, ChatdUser *user, const guint8 *token) {
  ChatdServer *server = s->server;
  chatd_session_attach_user(s, user);
  s->history_cutoff = chatd_directory_last_message_id(server->directory);
  s->logged_in_ms = g_get_real_time() / 1000;
  g_message("%s: %s logged in (%s dialect, I/O thread %u)", s->peer, user->username,
            chat_dialect_name(s->dialect), s->io_thread);

  chat_writer *w = chatd_session_begin(s, CHAT_MSG_LOGIN_SUCCESSFUL);
  chatd_write_user(w, user);
  chatd_reply_send(s);
  for (guint i = 0; i < user->incoming_requests->len; i++) {
    ChatdUser *from =
        chatd_directory_user(server->directory, g_array_index(user->incoming_requests, gint64, i));
    if (!from)
      continue;
    chatd_write_user(chatd_session_begin(s, CHAT_MSG_INCOMING_FRIEND_REQUEST), from);
    chatd_reply_send(s);
  }

  bundle_job *job = g_new0(bundle_job, 1);
  job->session = chatd_session_ref(s);
  job->slot = chatd_session_reserve(s);
  job->user_id = user->id;
  job->cutoff = s->history_cutoff;
  if (server->cluster && s->dialect == CHAT_DIALECT_SEED) {
    g_clear_pointer(&s->held, g_ptr_array_unref);
    s->held = g_ptr_array_new_with_free_func((GDestroyNotify)chatd_message_record_free);
    job->session_holds = TRUE;
  }
  if (s->dialect == CHAT_DIALECT_V2) {
    /* A resume's token is already stored; a new one is committed before the
     * barrier below completes, so before the bundle carries it. */
    if (token)
      memcpy(job->token, token, CHATD_TOKEN_LEN);
    else if (!chatd_tokens_issue(server, user->id, job->token))
      g_warning("no randomness for a resume token: the bundle carries an unusable one");
    chatd_token_hash(job->token, CHATD_TOKEN_LEN, s->token_hash);
    s->has_token = TRUE;
  }
  /* A no-op write: its completion means every earlier write is committed. */
  if (!chatd_store_clear_offline(server->store, user->id, 0, on_barrier, job)) {
    chatd_reply_busy(s, job->slot);
    chatd_session_release(s, job->slot);
    bundle_job_free(job);
  }
  chatd_presence_announce(server, user, TRUE);
  chatd_cluster_presence(server->cluster, user, TRUE);
}
