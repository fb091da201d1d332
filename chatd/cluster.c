/* A node's part in a cluster: events out, events in, presence of the users
 * of other nodes (cluster.h says the rules). */
#define G_LOG_DOMAIN "chatd-cluster"

#include "chatd/cluster.h"

#include <string.h>

#include "chatd/cluster-bus.h"
#include "chatd/encode.h"
#include "chatd/log-limit.h"
#include "chatd/notify.h"
#include "chatd/presence.h"
#include "chatd/session.h"
#include "protocol/random.h"

#define SUBJECT_DIRECTORY "chat.directory"
#define SUBJECT_PRESENCE "chat.presence"
#define SUBJECT_NODE_PREFIX "chat.node."
/* A message event larger than this carries only the message id: the nodes
 * that get it read the message from the store (NATS' default max_payload is
 * 1 MiB). */
#define INLINE_MESSAGE_MAX (512u * 1024u)

typedef struct {
  const char *name;  /* interned */
  char *subject;     /* chat.node.<name>, its messages' subject */
  guint64 boot;      /* random per start of that node */
  gint64 seen_us;    /* monotonic time of its last heartbeat or event */
  GHashTable *users; /* ids (as pointers) of users logged in there */
} ClusterNode;

struct _ChatdCluster {
  ChatdServer *server;
  ChatdClusterBus *bus;
  const char *node; /* interned */
  char *node_subject;
  guint64 boot;
  GHashTable *nodes; /* interned name -> ClusterNode */
  GSource *heartbeat;
  chat_arena arena; /* one incoming event at a time */
  chat_limits limits;
  gboolean was_connected;
};

static ChatdLogLimit bad_events = CHATD_LOG_LIMIT_INIT;

#define ID_KEY(id) ((gpointer)(gintptr)(id))
#define KEY_ID(p) ((gint64)(gintptr)(p))

/* ---- subjects ---- */

/* chat.node.<name>, with every character NATS gives a meaning ('.', '*',
 * '>', white space) and anything not printable ASCII as '_'. */
static char *node_subject(const char *name) {
  GString *s = g_string_new(SUBJECT_NODE_PREFIX);
  for (const char *p = name; *p; p++) {
    char c = *p;
    gboolean plain = g_ascii_isalnum(c) || c == '-' || c == '_' || c == ':';
    g_string_append_c(s, plain ? c : '_');
  }
  return g_string_free(s, FALSE);
}

const char *chatd_cluster_node_name(const ChatdCluster *cluster) {
  return cluster->node;
}

/* ---- events out ---- */

typedef struct {
  chat_buffer buffer;
  chat_writer w;
} event;

static void event_begin(ChatdCluster *c, event *e, const char *kind) {
  chat_buffer_init(&e->buffer);
  chat_writer_init(&e->w, &e->buffer);
  chat_write_dict_begin(&e->w);
  chat_write_key_cstr(&e->w, "k");
  chat_write_cstr(&e->w, kind);
  chat_write_key_cstr(&e->w, "n");
  chat_write_cstr(&e->w, c->node);
}

static void put_int(event *e, const char *key, gint64 value) {
  chat_write_key_cstr(&e->w, key);
  chat_write_int(&e->w, value);
}

static void put_str(event *e, const char *key, const char *value) {
  chat_write_key_cstr(&e->w, key);
  chat_write_cstr(&e->w, value ? value : "");
}

static void event_publish(ChatdCluster *c, event *e, const char *subject) {
  chat_write_dict_end(&e->w);
  if (chat_writer_finish(&e->w) == 0) {
    if (!chatd_cluster_bus_publish(c->bus, subject, e->buffer.data, e->buffer.len))
      chatd_log_limited(&bad_events, G_LOG_LEVEL_WARNING,
                        "cannot publish on %s: the other nodes miss an event until they "
                        "resynchronise",
                        subject);
  }
  chat_buffer_clear(&e->buffer);
}

static void publish_beat(ChatdCluster *c) {
  event e;
  event_begin(c, &e, "beat");
  put_int(&e, "b", (gint64)(c->boot >> 1));
  event_publish(c, &e, SUBJECT_PRESENCE);
}

/* Every user logged in here, to one node (or to all with SUBJECT_PRESENCE). */
static void publish_all(ChatdCluster *c, const char *subject) {
  event e;
  event_begin(c, &e, "all");
  put_int(&e, "b", (gint64)(c->boot >> 1));
  chat_write_key_cstr(&e.w, "u");
  chat_write_list_begin(&e.w);
  for (GList *l = c->server->sessions.head; l; l = l->next) {
    ChatdSession *s = l->data;
    if (!s->user || s->user->session != s)
      continue;
    chat_write_list_begin(&e.w);
    chat_write_int(&e.w, s->user->id);
    chat_write_int(&e.w, s->logged_in_ms);
    chat_write_list_end(&e.w);
  }
  chat_write_list_end(&e.w);
  event_publish(c, &e, subject);
}

static void ask_who(ChatdCluster *c, const char *subject) {
  event e;
  event_begin(c, &e, "who");
  event_publish(c, &e, subject);
}

void chatd_cluster_presence(ChatdCluster *c, const ChatdUser *user, gboolean online) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, online ? "on" : "off");
  put_int(&e, "u", user->id);
  if (online && user->session) {
    put_int(&e, "t", user->session->logged_in_ms);
    put_str(&e, "a", user->session->peer); /* for the kicked connection: from where */
  }
  event_publish(c, &e, SUBJECT_PRESENCE);
}

static void write_record(chat_writer *w, const ChatdMessageRecord *r, gboolean with_body) {
  chat_write_dict_begin(w);
  chat_write_key_cstr(w, "id");
  chat_write_int(w, r->id);
  if (with_body) {
    chat_write_key_cstr(w, "s");
    chat_write_int(w, r->sender_id);
    chat_write_key_cstr(w, "tt");
    chat_write_int(w, r->target_type);
    chat_write_key_cstr(w, "ti");
    chat_write_int(w, r->target_id);
    chat_write_key_cstr(w, "ms");
    chat_write_int(w, r->sent_ms);
    chat_write_key_cstr(w, "kind");
    chat_write_int(w, r->kind);
    if (r->kind == CHATD_STORE_KIND_TEXT) {
      chat_write_key_cstr(w, "text");
      chat_write_bytes(w, (const guint8 *)r->text, r->text_len);
      chat_write_key_cstr(w, "fs");
      chat_write_int(w, r->font_size);
      chat_write_key_cstr(w, "fc");
      chat_write_cstr(w, r->font_color ? r->font_color : "");
    } else if (r->image) {
      gsize n;
      const guint8 *data = g_bytes_get_data(r->image, &n);
      chat_write_key_cstr(w, "img");
      chat_write_bytes(w, data, n);
    }
  }
  chat_write_dict_end(w);
}

/* The node (of c->nodes) where user is logged in when not here, or NULL. */
static ClusterNode *remote_node_of(ChatdCluster *c, const ChatdUser *user) {
  if (!user || user->session || !user->online_at)
    return NULL;
  return g_hash_table_lookup(c->nodes, user->online_at);
}

void chatd_cluster_message(ChatdCluster *c, const ChatdMessageRecord *r) {
  if (!c)
    return;
  ChatdDirectory *d = c->server->directory;
  /* The nodes where at least one receiver is logged in: a 1:1 message has
   * at most one, a room's are collected without repeats. */
  ClusterNode *receiver_node = NULL;
  g_autoptr(GHashTable) nodes = NULL;
  if (r->target_type == CHATD_STORE_TARGET_USER) {
    receiver_node = remote_node_of(c, chatd_directory_user(d, r->target_id));
    if (!receiver_node)
      return;
  } else {
    ChatdRoom *room = chatd_directory_room(d, r->target_id);
    for (guint i = 0; room && i < room->members->len; i++) {
      gint64 id = g_array_index(room->members, gint64, i);
      ClusterNode *n = id != r->sender_id ? remote_node_of(c, chatd_directory_user(d, id)) : NULL;
      if (!n)
        continue;
      if (!nodes)
        nodes = g_hash_table_new(g_direct_hash, g_direct_equal);
      g_hash_table_add(nodes, n);
    }
    if (!nodes)
      return;
  }
  gsize body = r->kind == CHATD_STORE_KIND_TEXT
                   ? r->text_len
                   : (r->image ? g_bytes_get_size(r->image) : INLINE_MESSAGE_MAX + 1);
  event e;
  event_begin(c, &e, "msg");
  chat_write_key_cstr(&e.w, "r");
  write_record(&e.w, r, body <= INLINE_MESSAGE_MAX);
  chat_write_dict_end(&e.w);
  if (chat_writer_finish(&e.w) != 0) {
    /* nothing to send */
  } else if (receiver_node) {
    chatd_cluster_bus_publish(c->bus, receiver_node->subject, e.buffer.data, e.buffer.len);
  } else {
    GHashTableIter it;
    gpointer n;
    g_hash_table_iter_init(&it, nodes);
    while (g_hash_table_iter_next(&it, &n, NULL))
      chatd_cluster_bus_publish(c->bus, ((ClusterNode *)n)->subject, e.buffer.data, e.buffer.len);
  }
  chat_buffer_clear(&e.buffer);
}

void chatd_cluster_user_added(ChatdCluster *c, const ChatdUser *user) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "user");
  put_int(&e, "id", user->id);
  put_str(&e, "un", user->username);
  put_str(&e, "nick", user->nickname);
  put_str(&e, "hash", user->password_hash);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_nickname(ChatdCluster *c, const ChatdUser *user) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "nick");
  put_int(&e, "id", user->id);
  put_str(&e, "nick", user->nickname);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_password(ChatdCluster *c, const ChatdUser *user) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "pass");
  put_int(&e, "id", user->id);
  put_str(&e, "hash", user->password_hash);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_request(ChatdCluster *c, gint64 from_id, gint64 to_id) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "req");
  put_int(&e, "from", from_id);
  put_int(&e, "to", to_id);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_answer(ChatdCluster *c, gint64 from_id, gint64 to_id, gboolean accepted) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "ans");
  put_int(&e, "from", from_id);
  put_int(&e, "to", to_id);
  put_int(&e, "acc", accepted);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_room(ChatdCluster *c, const ChatdRoom *room) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "room");
  put_int(&e, "id", room->id);
  put_str(&e, "name", room->name);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_member(ChatdCluster *c, gint64 room_id, gint64 user_id, gint64 first_message_id,
                          gboolean joined) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, joined ? "join" : "leave");
  put_int(&e, "room", room_id);
  put_int(&e, "user", user_id);
  put_int(&e, "first", first_message_id);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

void chatd_cluster_token(ChatdCluster *c, const guint8 *hash, gint64 user_id, gint64 issued_ms) {
  if (!c)
    return;
  event e;
  event_begin(c, &e, "token");
  chat_write_key_cstr(&e.w, "h");
  chat_write_bytes(&e.w, hash, CHATD_RESUME_TOKEN_HASH_LEN);
  put_int(&e, "user", user_id);
  put_int(&e, "ms", issued_ms);
  event_publish(c, &e, SUBJECT_DIRECTORY);
}

/* ---- presence of other nodes' users ---- */

static ClusterNode *node_get(ChatdCluster *c, const char *name) {
  const char *interned = g_intern_string(name);
  ClusterNode *n = g_hash_table_lookup(c->nodes, interned);
  if (!n) {
    n = g_new0(ClusterNode, 1);
    n->name = interned;
    n->subject = node_subject(interned);
    n->users = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_insert(c->nodes, (gpointer)interned, n);
    g_message("node %s joined the cluster", interned);
  }
  n->seen_us = g_get_monotonic_time();
  return n;
}

static void node_free(gpointer data) {
  ClusterNode *n = data;
  g_free(n->subject);
  g_hash_table_unref(n->users);
  g_free(n);
}

/* user is no longer logged in at node n. */
static void remote_offline(ChatdCluster *c, ClusterNode *n, ChatdUser *user) {
  g_hash_table_remove(n->users, ID_KEY(user->id));
  if (user->online_at != n->name)
    return;
  user->online_at = NULL;
  user->online_since_ms = 0;
  if (!user->session)
    chatd_presence_announce(c->server, user, FALSE);
}

/* user logged in at node n at login_ms, from address (NULL: unknown). */
static void remote_online(ChatdCluster *c, ClusterNode *n, ChatdUser *user, gint64 login_ms,
                          const char *address) {
  ChatdSession *local = user->session;
  if (local && (local->logged_in_ms > login_ms ||
                (local->logged_in_ms == login_ms && strcmp(c->node, n->name) > 0)))
    return; /* ours is the newer login: that node closes its connection */
  if (local) {
    /* The kicked client sees the new login's address, as without a
     * cluster; the log names the node too. */
    g_autofree char *where = address && address[0]
                                 ? g_strdup_printf("%s (on node %s)", address, n->name)
                                 : g_strdup_printf("node %s", n->name);
    chatd_session_kick(local, where);
  }
  if (user->online_at && user->online_at != n->name) {
    ClusterNode *old = g_hash_table_lookup(c->nodes, user->online_at);
    if (old)
      g_hash_table_remove(old->users, ID_KEY(user->id));
  }
  gboolean was_online = user->online_at != NULL;
  user->online_at = n->name;
  user->online_since_ms = login_ms;
  g_hash_table_add(n->users, ID_KEY(user->id));
  if (!was_online || local)
    chatd_presence_announce(c->server, user, TRUE);
}

/* The node is gone (no heartbeat) or restarted: its users are offline. */
static void node_forget_users(ChatdCluster *c, ClusterNode *n) {
  GList *ids = g_hash_table_get_keys(n->users);
  for (GList *l = ids; l; l = l->next) {
    ChatdUser *user = chatd_directory_user(c->server->directory, KEY_ID(l->data));
    if (user)
      remote_offline(c, n, user);
  }
  g_list_free(ids);
  g_hash_table_remove_all(n->users);
}

static gboolean on_heartbeat(gpointer data) {
  ChatdCluster *c = data;
  /* Cut off from the bus, this node cannot tell a dead node from a live
   * one: it keeps what it knew until the bus is back. */
  if (!chatd_cluster_bus_is_connected(c->bus))
    return G_SOURCE_CONTINUE;
  publish_beat(c);
  gint64 now = g_get_monotonic_time();
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, c->nodes);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    ClusterNode *n = value;
    if (now - n->seen_us > (gint64)CHATD_CLUSTER_NODE_TIMEOUT_MS * 1000) {
      g_warning("node %s is gone (no heartbeat for %d ms): its %u users are offline", n->name,
                CHATD_CLUSTER_NODE_TIMEOUT_MS, g_hash_table_size(n->users));
      node_forget_users(c, n);
      g_hash_table_iter_remove(&it);
    }
  }
  return G_SOURCE_CONTINUE;
}

/* ---- events in ---- */

static gint64 get_int(const chat_value *dict, const char *key) {
  int64_t v = 0;
  const chat_value *x = chat_value_dict_get(dict, key);
  if (!x || !chat_value_get_i64(x, &v))
    return 0;
  return v;
}

/* A str or bytes field as a new NUL-terminated string ("" when absent). */
static char *get_str(const chat_value *dict, const char *key, gsize *len) {
  const chat_value *x = chat_value_dict_get(dict, key);
  if (!x || (x->kind != CHAT_VALUE_STR && x->kind != CHAT_VALUE_BYTES)) {
    if (len)
      *len = 0;
    return g_strdup("");
  }
  if (len)
    *len = x->as.blob.len;
  return g_strndup((const char *)x->as.blob.data, x->as.blob.len);
}

static void on_node_message_read(const GError *error, const ChatdMessageRecord *record,
                                 gpointer user_data) {
  ChatdCluster *c = user_data;
  if (!error && record)
    chatd_deliver_message(c->server, record);
}

static void apply_message(ChatdCluster *c, const chat_value *ev) {
  const chat_value *r = chat_value_dict_get(ev, "r");
  if (!r || r->kind != CHAT_VALUE_DICT)
    return;
  gint64 id = get_int(r, "id");
  if (id <= 0)
    return;
  ChatdDirectory *d = c->server->directory;
  if (chatd_directory_last_message_id(d) < id)
    chatd_directory_set_last_message_id(d, id);
  if (!chat_value_dict_get(r, "s")) {
    /* Too large to travel inline: read it from the store. */
    chatd_store_message(c->server->store, id, on_node_message_read, c);
    return;
  }
  ChatdMessageRecord m = {
      .id = id,
      .sender_id = get_int(r, "s"),
      .target_type = (int)get_int(r, "tt"),
      .target_id = get_int(r, "ti"),
      .sent_ms = get_int(r, "ms"),
      .kind = (int)get_int(r, "kind"),
  };
  g_autofree char *text = NULL, *color = NULL;
  if (m.kind == CHATD_STORE_KIND_TEXT) {
    text = get_str(r, "text", &m.text_len);
    m.text = text;
    m.font_size = (int)get_int(r, "fs");
    color = get_str(r, "fc", NULL);
    m.font_color = color[0] ? color : NULL;
  } else {
    const chat_value *img = chat_value_dict_get(r, "img");
    if (!img || img->kind != CHAT_VALUE_BYTES)
      return;
    m.image = g_bytes_new(img->as.blob.data, img->as.blob.len);
    m.image_size = img->as.blob.len;
  }
  chatd_deliver_message(c->server, &m);
  g_clear_pointer(&m.image, g_bytes_unref);
}

static void apply_directory(ChatdCluster *c, const char *kind, const chat_value *ev) {
  ChatdServer *server = c->server;
  ChatdDirectory *d = server->directory;
  if (strcmp(kind, "user") == 0) {
    gint64 id = get_int(ev, "id");
    g_autofree char *un = get_str(ev, "un", NULL);
    g_autofree char *nick = get_str(ev, "nick", NULL);
    g_autofree char *hash = get_str(ev, "hash", NULL);
    if (id > 0 && !chatd_directory_user(d, id) && !chatd_directory_user_by_name(d, un))
      chatd_directory_add_user(d, id, un, nick, hash);
  } else if (strcmp(kind, "nick") == 0) {
    ChatdUser *user = chatd_directory_user(d, get_int(ev, "id"));
    g_autofree char *nick = get_str(ev, "nick", NULL);
    if (user) {
      chatd_user_set_nickname(user, nick);
      chatd_notify_contact_changed(server, user);
    }
  } else if (strcmp(kind, "pass") == 0) {
    ChatdUser *user = chatd_directory_user(d, get_int(ev, "id"));
    g_autofree char *hash = get_str(ev, "hash", NULL);
    if (user)
      chatd_user_set_password_hash(user, hash);
  } else if (strcmp(kind, "req") == 0) {
    ChatdUser *from = chatd_directory_user(d, get_int(ev, "from"));
    ChatdUser *to = chatd_directory_user(d, get_int(ev, "to"));
    if (from && to && !chatd_user_has_asked(from, to->id) && !chatd_user_is_friend(from, to->id)) {
      chatd_directory_add_request(d, from, to);
      chatd_notify_friend_request(server, from, to);
    }
  } else if (strcmp(kind, "ans") == 0) {
    ChatdUser *from = chatd_directory_user(d, get_int(ev, "from"));
    ChatdUser *to = chatd_directory_user(d, get_int(ev, "to"));
    if (!from || !to)
      return;
    chatd_directory_remove_request(d, from, to);
    if (get_int(ev, "acc")) {
      chatd_directory_remove_request(d, to, from);
      if (!chatd_user_is_friend(from, to->id)) {
        chatd_directory_add_friendship(d, from, to);
        chatd_notify_friend_accepted(server, from, to);
      }
    }
  } else if (strcmp(kind, "room") == 0) {
    gint64 id = get_int(ev, "id");
    g_autofree char *name = get_str(ev, "name", NULL);
    if (id > 0 && !chatd_directory_room(d, id))
      chatd_directory_add_room(d, id, name);
  } else if (strcmp(kind, "join") == 0 || strcmp(kind, "leave") == 0) {
    ChatdRoom *room = chatd_directory_room(d, get_int(ev, "room"));
    ChatdUser *user = chatd_directory_user(d, get_int(ev, "user"));
    if (!room || !user)
      return;
    gboolean member = chatd_room_has_member(room, user->id);
    if (kind[0] == 'j' && !member) {
      chatd_directory_add_member(d, room, user, get_int(ev, "first"));
    } else if (kind[0] == 'l' && member) {
      chatd_directory_remove_member(d, room, user);
      chatd_notify_member_left(server, room, user->id);
    }
  } else if (strcmp(kind, "token") == 0) {
    const chat_value *h = chat_value_dict_get(ev, "h");
    if (!h || h->kind != CHAT_VALUE_BYTES || h->as.blob.len != CHATD_RESUME_TOKEN_HASH_LEN)
      return;
    gint64 user_id = get_int(ev, "user");
    if (user_id > 0) {
      if (chatd_directory_user(d, user_id))
        chatd_resume_tokens_add(server->tokens, h->as.blob.data, user_id, get_int(ev, "ms"));
    } else {
      chatd_resume_tokens_remove(server->tokens, h->as.blob.data);
    }
  }
}

static void apply_all(ChatdCluster *c, ClusterNode *n, const chat_value *ev) {
  const chat_value *list = chat_value_dict_get(ev, "u");
  if (!list || list->kind != CHAT_VALUE_LIST)
    return;
  g_autoptr(GHashTable) now_there = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (size_t i = 0; i < list->as.list.count; i++) {
    const chat_value *pair = &list->as.list.items[i];
    int64_t id = 0, since = 0;
    if (pair->kind != CHAT_VALUE_LIST || pair->as.list.count != 2 ||
        !chat_value_get_i64(&pair->as.list.items[0], &id) ||
        !chat_value_get_i64(&pair->as.list.items[1], &since))
      continue;
    ChatdUser *user = chatd_directory_user(c->server->directory, id);
    if (!user)
      continue;
    g_hash_table_add(now_there, ID_KEY(id));
    if (user->online_at != n->name)
      remote_online(c, n, user, since, NULL);
  }
  GList *ids = g_hash_table_get_keys(n->users);
  for (GList *l = ids; l; l = l->next) {
    ChatdUser *user = chatd_directory_user(c->server->directory, KEY_ID(l->data));
    if (user && !g_hash_table_contains(now_there, l->data))
      remote_offline(c, n, user);
  }
  g_list_free(ids);
}

static void apply_presence(ChatdCluster *c, const char *kind, ClusterNode *n,
                           const chat_value *ev) {
  guint64 boot = (guint64)get_int(ev, "b");
  if (strcmp(kind, "beat") == 0 || strcmp(kind, "all") == 0) {
    if (n->boot != 0 && boot != 0 && n->boot != boot) {
      g_message("node %s restarted", n->name);
      node_forget_users(c, n);
    }
    if (n->boot == 0 && strcmp(kind, "beat") == 0) {
      /* A node we have not heard from: who is online there? */
      ask_who(c, n->subject);
    }
    n->boot = boot;
    if (kind[0] == 'a')
      apply_all(c, n, ev);
    return;
  }
  if (strcmp(kind, "bye") == 0) {
    g_message("node %s left the cluster", n->name);
    node_forget_users(c, n);
    g_hash_table_remove(c->nodes, n->name);
    return;
  }
  if (strcmp(kind, "who") == 0) {
    publish_all(c, n->subject);
    return;
  }
  ChatdUser *user = chatd_directory_user(c->server->directory, get_int(ev, "u"));
  if (!user)
    return;
  if (strcmp(kind, "on") == 0) {
    g_autofree char *address = get_str(ev, "a", NULL);
    remote_online(c, n, user, get_int(ev, "t"), address);
  } else if (strcmp(kind, "off") == 0)
    remote_offline(c, n, user);
}

static void on_bus_message(const char *subject, const guint8 *data, gsize len, gpointer user_data) {
  ChatdCluster *c = user_data;
  chat_arena_reset(&c->arena);
  chat_value *ev = NULL;
  chat_error err;
  if (chat_value_decode(data, len, &c->limits, CHAT_DECODE_BORROW, &c->arena, &ev, &err) != 0 ||
      ev->kind != CHAT_VALUE_DICT) {
    chatd_log_limited(&bad_events, G_LOG_LEVEL_WARNING, "%s: an event that does not decode: %s",
                      subject, ev ? "not a dict" : err.message);
    return;
  }
  g_autofree char *kind = get_str(ev, "k", NULL);
  g_autofree char *sender = get_str(ev, "n", NULL);
  if (!sender[0])
    return;
  if (g_intern_string(sender) == c->node) {
    /* NATS does not echo our own events: another node has our name. */
    chatd_log_limited(&bad_events, G_LOG_LEVEL_WARNING,
                      "another node also calls itself %s: give each node its own "
                      "server.node_name (its events are ignored here)",
                      c->node);
    return;
  }
  ClusterNode *n = node_get(c, sender);
  if (strcmp(kind, "msg") == 0)
    apply_message(c, ev);
  else if (strcmp(subject, SUBJECT_DIRECTORY) == 0)
    apply_directory(c, kind, ev);
  else
    apply_presence(c, kind, n, ev);
}

static void on_bus_state(gboolean connected, gpointer user_data) {
  ChatdCluster *c = user_data;
  if (!connected) {
    g_warning("lost the connection to NATS: other nodes miss this node's events until it is back");
    return;
  }
  g_message("connected to NATS as node %s", c->node);
  if (c->was_connected) {
    /* Events of the outage are lost: what they changed is in the store. */
    GError *error = NULL;
    if (!chatd_server_reload_directory(c->server, &error)) {
      g_warning("cannot reload the directory after the NATS outage: %s", error->message);
      g_clear_error(&error);
    }
  }
  c->was_connected = TRUE;
  /* Every node gets a fresh timeout: silence during our outage says nothing. */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, c->nodes);
  while (g_hash_table_iter_next(&it, NULL, &value))
    ((ClusterNode *)value)->seen_us = g_get_monotonic_time();
  publish_all(c, SUBJECT_PRESENCE);
  ask_who(c, SUBJECT_PRESENCE);
}

/* ---- lifetime ---- */

ChatdCluster *chatd_cluster_new(ChatdServer *server, GError **error) {
  const ChatdConfig *config = server->config;
  ChatdCluster *c = g_new0(ChatdCluster, 1);
  c->server = server;
  c->node = g_intern_string(config->node_name);
  c->node_subject = node_subject(c->node);
  while (c->boot == 0)
    if (chat_random_bytes((guint8 *)&c->boot, sizeof c->boot) != 0)
      c->boot = (guint64)g_get_real_time();
  c->nodes = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, node_free);
  chat_arena_init(&c->arena);
  chat_limits_init(&c->limits);
  c->limits.max_bytes_len = config->max_message_size;
  c->limits.max_str_len = config->max_message_size;
  c->bus = chatd_cluster_bus_connect((const char *const *)config->nats, c->node, server->context,
                                     on_bus_state, on_bus_message, c, error);
  if (!c->bus) {
    chatd_cluster_free(c);
    return NULL;
  }
  if (!chatd_cluster_bus_subscribe(c->bus, SUBJECT_DIRECTORY) ||
      !chatd_cluster_bus_subscribe(c->bus, SUBJECT_PRESENCE) ||
      !chatd_cluster_bus_subscribe(c->bus, c->node_subject)) {
    g_set_error(error, CHATD_SERVER_ERROR, CHATD_SERVER_ERROR_CLUSTER,
                "cannot subscribe to the cluster's subjects on NATS");
    chatd_cluster_free(c);
    return NULL;
  }
  c->heartbeat = g_timeout_source_new(CHATD_CLUSTER_HEARTBEAT_MS);
  g_source_set_callback(c->heartbeat, on_heartbeat, c, NULL);
  g_source_attach(c->heartbeat, server->context);
  g_message("cluster node %s, NATS %s", c->node, config->nats[0]);
  return c;
}

void chatd_cluster_free(ChatdCluster *c) {
  if (!c)
    return;
  if (c->bus && chatd_cluster_bus_is_connected(c->bus)) {
    event e;
    event_begin(c, &e, "bye");
    event_publish(c, &e, SUBJECT_PRESENCE);
  }
  if (c->heartbeat) {
    g_source_destroy(c->heartbeat);
    g_source_unref(c->heartbeat);
  }
  g_clear_pointer(&c->bus, chatd_cluster_bus_free);
  g_hash_table_unref(c->nodes);
  chat_arena_clear(&c->arena);
  g_free(c->node_subject);
  g_free(c);
}
