/* Shared fixture of the test-connection.c tests. */
#include "connection-fixture.h"

GMainContext *ctx;

void setup(void) {
  ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
}

void teardown(void) {
  /* Let pending stream closes and GTask returns run before the end. */
  for (int i = 0; i < 100 && g_main_context_iteration(ctx, FALSE); i++)
    ;
  g_main_context_pop_thread_default(ctx);
  g_main_context_unref(ctx);
  ctx = NULL;
}

TestSuite(connection, .init = setup, .fini = teardown, .timeout = 170);

gboolean wake(gpointer data) {
  return G_SOURCE_CONTINUE;
}

gboolean run_until(Predicate done, gpointer data, guint timeout_ms) {
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  GSource *timer = g_timeout_source_new(WAKE_MS);
  g_source_set_callback(timer, wake, NULL, NULL);
  g_source_attach(timer, ctx);
  while (!done(data) && g_get_monotonic_time() < deadline)
    g_main_context_iteration(ctx, TRUE);
  g_source_destroy(timer);
  g_source_unref(timer);
  return done(data);
}

void spin(guint turns) {
  for (guint i = 0; i < turns; i++)
    g_main_context_iteration(ctx, FALSE);
}

void listener_open(Listener *l) {
  GError *error = NULL;
  l->socket =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  cr_assert_not_null(l->socket, "%s", error ? error->message : "");
  GSocketAddress *any = g_inet_socket_address_new_from_string(LOOPBACK, 0);
  cr_assert(g_socket_bind(l->socket, any, FALSE, &error), "%s", error ? error->message : "");
  g_object_unref(any);
  g_socket_set_listen_backlog(l->socket, LISTEN_BACKLOG);
  cr_assert(g_socket_listen(l->socket, &error), "%s", error ? error->message : "");
  GSocketAddress *local = g_socket_get_local_address(l->socket, &error);
  cr_assert_not_null(local);
  l->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local));
  g_object_unref(local);
}

void listener_close(Listener *l) {
  g_socket_close(l->socket, NULL);
  g_clear_object(&l->socket);
}

GSocket *raw_connect(guint16 port, int rcvbuf) {
  GError *error = NULL;
  GSocket *s =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  cr_assert_not_null(s);
  if (rcvbuf > 0)
    cr_assert(g_socket_set_option(s, SOL_SOCKET, SO_RCVBUF, rcvbuf, &error));
  GSocketAddress *addr = g_inet_socket_address_new_from_string(LOOPBACK, port);
  cr_assert(g_socket_connect(s, addr, NULL, &error), "connect: %s", error ? error->message : "");
  g_object_unref(addr);
  return s;
}

GSocketConnection *connect_stream(guint16 port) {
  GSocket *s = raw_connect(port, 0);
  GSocketConnection *c = g_socket_connection_factory_create_connection(s);
  g_object_unref(s);
  return c;
}

/* Blocking accept (a connect on loopback is already in the backlog). */
GSocketConnection *accept_stream(Listener *l) {
  GError *error = NULL;
  GSocket *s = g_socket_accept(l->socket, NULL, &error);
  cr_assert_not_null(s, "accept: %s", error ? error->message : "");
  GSocketConnection *c = g_socket_connection_factory_create_connection(s);
  g_object_unref(s);
  return c;
}

void raw_send_all(GSocket *s, const void *data, gsize len) {
  GError *error = NULL;
  const guint8 *p = data;
  while (len > 0) {
    gssize n = g_socket_send(s, (const gchar *)p, len, NULL, &error);
    cr_assert_gt(n, 0, "send: %s", error ? error->message : "");
    p += n;
    len -= (gsize)n;
  }
}

void keypair_make(KeyPair *k) {
  cr_assert_eq(chat_noise_generate_keypair(k->priv, sizeof k->priv, k->pub, sizeof k->pub), 0);
}

chat_dh_group seed_group;

gboolean seed_group_ready;

const chat_dh_group *group(void) {
  if (!seed_group_ready) {
    chat_error err;
    cr_assert_eq(chat_dh_group_init(&seed_group, SEED_GROUP_BASE, SEED_GROUP_MODULUS, &err), 0,
                 "%s", err.message);
    seed_group_ready = TRUE;
  }
  return &seed_group;
}

void group_clear(void) {
  if (seed_group_ready)
    chat_dh_group_clear(&seed_group);
  seed_group_ready = FALSE;
}

const guint8 server_info_blob[sizeof SERVER_INFO_TEXT] = SERVER_INFO_TEXT;

ChatServerSecurity server_security(const KeyPair *key, gboolean allow_legacy) {
  ChatServerSecurity s = {0};
  s.allow_legacy = allow_legacy;
  s.seed_group = allow_legacy ? group() : NULL;
  s.static_private_key = key->priv;
  s.server_info = server_info_blob;
  s.server_info_len = sizeof server_info_blob;
  return s;
}

/* verify_server_key: accepts exactly the key in user_data. */
gboolean verify_equals(ChatConnection *c, const guint8 key[CHAT_V2_KEY_LEN], const guint8 *info,
                       gsize info_len, gpointer user_data, GError **error) {
  if (memcmp(key, user_data, CHAT_V2_KEY_LEN) == 0)
    return TRUE;
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "unexpected server key");
  return FALSE;
}

ChatClientSecurity client_security(chat_dialect dialect, const KeyPair *server) {
  ChatClientSecurity s = {0};
  s.dialect = dialect;
  s.seed_group = dialect == CHAT_DIALECT_SEED ? group() : NULL;
  s.verify_server_key = dialect == CHAT_DIALECT_V2 ? verify_equals : NULL;
  s.verify_user_data = (gpointer)server->pub;
  return s;
}

guint8 pattern(guint index, gsize offset) {
  if (offset < sizeof(guint32))
    return (guint8)(index >> (8 * offset));
  return (guint8)(index * 131u + offset * 7u + (offset >> 9));
}

void fill_pattern(guint8 *buf, guint index, gsize len) {
  for (gsize j = 0; j < len; j++)
    buf[j] = pattern(index, j);
}

gboolean is_fragmented(gsize len) {
  return len > CHAT_V2_MAX_RECORD_BODY;
}

guint next_of_kind(const Expect *e, guint from, gboolean fragmented) {
  while (from < e->count && is_fragmented(e->sizes[from]) != fragmented)
    from++;
  return from;
}

void expect_check(Expect *e, const guint8 *data, gsize len) {
  guint index;
  if (e->per_kind_order) {
    gboolean frag = is_fragmented(len);
    guint *cursor = frag ? &e->next_fragmented : &e->next_whole;
    *cursor = next_of_kind(e, *cursor, frag);
    index = (*cursor)++;
  } else {
    index = e->next++;
  }
  gboolean ok = index < e->count && e->sizes[index] == len;
  for (gsize j = 0; ok && j < len; j++)
    ok = data[j] == pattern(index, j);
  if (!ok && e->mismatches++ == 0)
    g_snprintf(e->first_mismatch, sizeof e->first_mismatch,
               "message %u: got %zu bytes, expected %zu", index, len,
               index < e->count ? e->sizes[index] : 0);
}

void on_established(ChatConnection *c, gpointer data) {
  ((Peer *)data)->established = TRUE;
}

void on_message(ChatConnection *c, gconstpointer msg, gsize len, gpointer data) {
  Peer *p = data;
  p->messages++;
  p->bytes += len;
  if (p->expect != NULL)
    expect_check(p->expect, msg, len);
}

void on_closed(ChatConnection *c, const GError *error, gpointer data) {
  Peer *p = data;
  if (p->closed_count++ == 0 && error != NULL)
    p->closed_error = g_error_copy(error);
}

void peer_attach(Peer *p, ChatConnection *c) {
  cr_assert_not_null(c);
  p->conn = c;
  g_signal_connect(c, "established", G_CALLBACK(on_established), p);
  g_signal_connect(c, "message", G_CALLBACK(on_message), p);
  g_signal_connect(c, "closed", G_CALLBACK(on_closed), p);
}

void peer_clear(Peer *p) {
  if (p->conn != NULL)
    g_signal_handlers_disconnect_by_data(p->conn, p);
  g_clear_object(&p->conn);
  g_clear_error(&p->closed_error);
}

gboolean both_established(gpointer data) {
  PeerPair *pp = data;
  return pp->a->established && pp->b->established;
}

gboolean both_closed(gpointer data) {
  PeerPair *pp = data;
  return pp->a->closed_count > 0 && pp->b->closed_count > 0;
}

gboolean a_closed(gpointer data) {
  return ((PeerPair *)data)->a->closed_count > 0;
}

gboolean both_received(gpointer data) {
  PeerPair *pp = data;
  return (pp->a->messages >= pp->target && pp->b->messages >= pp->target) ||
         pp->a->closed_count > 0 || pp->b->closed_count > 0;
}

gboolean b_received(gpointer data) {
  PeerPair *pp = data;
  return pp->b->messages >= pp->target || pp->b->closed_count > 0;
}

/* GAsyncReadyCallback: keeps the result for the test to finish. */
void store_result(GObject *source, GAsyncResult *result, gpointer data) {
  *(GAsyncResult **)data = g_object_ref(result);
}

/* A connected, started client/server pair on listener l. */
void make_pair(Listener *l, const ChatServerSecurity *ss, const ChatClientSecurity *cs,
               Peer *server, Peer *client) {
  GSocketConnection *cstream = connect_stream(l->port);
  GSocketConnection *sstream = accept_stream(l);
  peer_attach(server, chat_connection_new_server(G_IO_STREAM(sstream), ss));
  peer_attach(client, chat_connection_new_client(G_IO_STREAM(cstream), cs));
  g_object_unref(sstream);
  g_object_unref(cstream);
  chat_connection_start(server->conn);
  chat_connection_start(client->conn);
}

void establish_pair(Listener *l, const ChatServerSecurity *ss, const ChatClientSecurity *cs,
                    Peer *server, Peer *client) {
  make_pair(l, ss, cs, server, client);
  PeerPair pp = {server, client, 0};
  cr_assert(run_until(both_established, &pp, WAIT_MS), "handshake did not complete: %s / %s",
            server->closed_error ? server->closed_error->message : "-",
            client->closed_error ? client->closed_error->message : "-");
}

void establish_plain(Listener *l, KeyPair *key, chat_dialect dialect, gboolean allow_legacy,
                     Peer *server, Peer *client) {
  listener_open(l);
  keypair_make(key);
  ChatServerSecurity ss = server_security(key, allow_legacy);
  ChatClientSecurity cs = client_security(dialect, key);
  establish_pair(l, &ss, &cs, server, client);
}

void close_pair(Peer *server, Peer *client) {
  PeerPair pp = {server, client, 0};
  if (server->conn != NULL && client->conn != NULL) {
    chat_connection_close(client->conn, TRUE);
    run_until(both_closed, &pp, WAIT_MS);
  }
  peer_clear(server);
  peer_clear(client);
}

void send_all(ChatConnection *c, const gsize *sizes, guint count) {
  guint8 *buf = g_malloc(BIG_MESSAGE);
  for (guint i = 0; i < count; i++) {
    GError *error = NULL;
    fill_pattern(buf, i, sizes[i]);
    cr_assert(chat_connection_send(c, buf, sizes[i], &error), "send %u (%zu bytes): %s", i,
              sizes[i], error ? error->message : "");
  }
  g_free(buf);
}
