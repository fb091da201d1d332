/* TESTS ONLY: entry points that let the model tests drive a ChatSession
 * without a display and without a server (chat-session-test.c). Not for
 * the UI. Their state lives outside the session's own fields: the first
 * hook that needs it allocates it. */
#pragma once

#include "gtk-client/core/chat-session.h"

G_BEGIN_DECLS

/* Runs one server message (a layer-2 plaintext in `dialect`) through the
 * same handler as the network path; the session then speaks `dialect`.
 * Returns FALSE when the message was refused (does not decode, unknown
 * type, wrong shape): a connection would then be dropped. */
gboolean chat_session_test_feed(ChatSession *self, chat_dialect dialect, const guint8 *plaintext,
                                gsize len);

/* Every plaintext the session sends from now on is appended to outgoing
 * (GBytes*, the caller frees them). offline TRUE: there is no network at
 * all; dialling succeeds at once and sends only go to outgoing. offline
 * FALSE: sends still go to the server too (a tap). */
void chat_session_test_capture(ChatSession *self, GQueue *outgoing, gboolean offline);

/* Offline mode: the connection is lost, as when the server goes away
 * (the `closed` path: in-flight sends wait, v2 starts reconnecting). */
void chat_session_test_drop_connection(ChatSession *self);

/* Runs a scheduled reconnect attempt now instead of after its delay.
 * FALSE when none is scheduled. */
gboolean chat_session_test_reconnect_now(ChatSession *self);

/* The reconnect delays (tests use short ones). */
void chat_session_test_set_backoff(ChatSession *self, guint initial_ms, guint max_ms);

/* The delay of the reconnect attempt now scheduled, 0 when none. */
guint chat_session_test_get_reconnect_delay(ChatSession *self);

/* Offline mode: the server-info blob of a v2 handshake (a layer-3 dict),
 * as a connection would have received it; NULL / 0 for none. */
void chat_session_test_set_server_info(ChatSession *self, const guint8 *info, gsize len);

/* How many messages wait in the outbox (pending or in flight). */
guint chat_session_test_get_outbox_length(ChatSession *self);

G_END_DECLS
