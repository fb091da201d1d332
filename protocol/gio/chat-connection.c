/* ChatConnection: the GIO adapter over the sans-IO channels. See
 * chat-connection.h for the contract, chat-flusher.h for the write side. */
#define G_LOG_DOMAIN "chat-connection"

#include "protocol/gio/chat-connection.h"

#include <stdarg.h>
#include <string.h>

#include "protocol/gio/chat-flusher.h"
#include "protocol/seed-channel.h"

/* The first byte of the v2 preamble (0x00 "CHAT" ...): a seed client's first
 * byte is the top byte of a minimal big-endian number, never zero. */
#define V2_PREAMBLE_FIRST_BYTE 0x00u

/* The adapter's seed queue: each plaintext is stored behind a native-endian
 * u32 length (messages are at most CHAT_CONNECTION_MAX_MESSAGE_LIMIT). */
#define SEED_QUEUE_PREFIX_BYTES sizeof (guint32)
/* First allocation of the seed queue, grown by doubling. */
#define SEED_QUEUE_INITIAL_BYTES 4096u
/* An emptied seed queue buffer larger than this is freed, so one burst does
 * not pin memory for the life of the connection. */
#define SEED_QUEUE_RETAIN_BYTES 16384u
/* Plaintexts are moved from the seed queue into the seed channel until this
 * much ciphertext waits there: a batch per write, not a copy of the queue. */
#define SEED_OUTPUT_BATCH_BYTES CHAT_V2_OUTPUT_BATCH_BYTES
/* Most bytes written for one connection in one flush; the rest goes on the
 * next loop turn, so one fast bulk transfer does not starve the others. */
#define FLUSH_BYTES_PER_TURN ((gsize) 1 << 20)
/* Bytes of a session key in the key log. */
#define KEYLOG_KEY_BYTES CHAT_KEYLOG_SECRET_LEN

/* The gsize parameter of `message`, as a GType of the same width. */
#if GLIB_SIZEOF_SIZE_T == GLIB_SIZEOF_LONG
#define CHAT_TYPE_SIZE G_TYPE_ULONG
#define chat_value_get_size(v) ((gsize) g_value_get_ulong (v))
#else
#define CHAT_TYPE_SIZE G_TYPE_UINT64
#define chat_value_get_size(v) ((gsize) g_value_get_uint64 (v))
#endif

G_STATIC_ASSERT (CHAT_CONNECTION_MAX_MESSAGE_LIMIT <= G_MAXUINT32);
G_STATIC_ASSERT (CHAT_CONNECTION_MAX_MESSAGE_LIMIT <= CHAT_SEED_MAX_FRAME_LIMIT);
G_STATIC_ASSERT (CHAT_KEYLOG_SECRET_LEN == CHAT_SEED_KEY_BYTES);
G_STATIC_ASSERT (CHAT_KEYLOG_SECRET_LEN == CHAT_V2_KEY_LEN);
G_STATIC_ASSERT (CHAT_KEYLOG_ID_LEN == CHAT_V2_SESSION_ID_LEN);
G_STATIC_ASSERT (CHAT_CONNECTION_READ_BUFFER_BYTES >= CHAT_SEED_PUBLIC_READ_MAX);

typedef enum {
  STATE_NEW,         /* not started */
  STATE_HANDSHAKE,   /* started, handshake in progress */
  STATE_ESTABLISHED,
  STATE_CLOSING,     /* graceful close: draining the queue (and the CLOSE record) */
  STATE_LINGER,      /* drained, write side shut: waiting for the peer's end */
  STATE_CLOSED,      /* stream closed; `closed` emitted or about to be */
} ConnectionState;

enum {
  SIGNAL_ESTABLISHED,
  SIGNAL_MESSAGE,
  SIGNAL_CLOSED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

struct _ChatConnection {
  GObject parent_instance;

  GIOStream *stream;
  GPollableInputStream *input;   /* owned by stream */
  GPollableOutputStream *output; /* owned by stream */
  GMainContext *context;
  ChatFlusher *flusher;
  ChatFlushLink dirty_link;

  GSource *read_source;
  GSource *write_source;  /* only while a write would block */
  GSource *timer_source;  /* handshake timeout, then close timeout */

  ConnectionState state;
  ChatConnectionDialect dialect;
  gboolean is_server;
  gboolean closed_emitted;
  gboolean write_blocked;   /* the last write would block */
  gboolean peer_eof;        /* the input stream ended */
  gboolean peer_sent_close; /* v2: the peer's CLOSE record came */
  GError *close_reason;     /* for `closed`, until it is emitted */

  chat_seed_channel *seed;
  chat_v2_channel *v2;

  /* Configuration, defaults applied. Pointers are the caller's. */
  gsize max_message;
  gsize max_queue;
  guint handshake_timeout_ms;
  guint64 rekey_bytes;
  guint8 suite;
  gboolean allow_legacy;
  const chat_dh_group *seed_group;
  const guint8 *static_private_key;
  const guint8 *server_info;
  gsize server_info_len;
  chat_keylog *keylog;
  ChatVerifyServerKeyFunc verify_server_key;
  gpointer verify_user_data;

  /* Seed: plaintexts waiting to enter the channel, [start, end) of buf. */
  guint8 *seed_queue;
  gsize seed_queue_start;
  gsize seed_queue_end;
  gsize seed_queue_capacity;
  gsize seed_queued_plaintext; /* plaintext bytes in the queue (no prefixes) */
  /* Seed client with a key log: SHA-256 of the public value it sent. */
  guint8 seed_keylog_id[CHAT_KEYLOG_ID_LEN];

  GTask *handshake_task;
  GSource *cancel_source;

  guint64 write_calls;
  guint64 flushes;
  char peer[CHAT_CONNECTION_PEER_ADDRESS_MAX];
};

G_DEFINE_FINAL_TYPE (ChatConnection, chat_connection, G_TYPE_OBJECT)
G_DEFINE_QUARK (chat-connection-error-quark, chat_connection_error)

static void flush_output (ChatConnection *self);
static void start_graceful_close (ChatConnection *self);

/* ---- the per-thread read buffer ------------------------------------------ */

/* One read buffer for all connections of a thread (not one per connection).
 * A signal handler that iterates the main context recursively could start a
 * read while an outer one still uses the buffer: that nested read gets a
 * buffer of its own. */
static _Thread_local guint8 thread_read_buffer[CHAT_CONNECTION_READ_BUFFER_BYTES];
static _Thread_local gboolean thread_read_buffer_busy;

static guint8 *
read_buffer_acquire (void)
{
  if (thread_read_buffer_busy)
    return g_malloc (CHAT_CONNECTION_READ_BUFFER_BYTES);
  thread_read_buffer_busy = TRUE;
  return thread_read_buffer;
}

static void
read_buffer_release (guint8 *buffer, gsize used)
{
  /* Received ciphertext is not secret, but the seed public value path and
   * partial records are cheap to wipe. */
  explicit_bzero (buffer, used);
  if (buffer == thread_read_buffer)
    thread_read_buffer_busy = FALSE;
  else
    g_free (buffer);
}

/* ---- small helpers ------------------------------------------------------- */

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_source_unref (*source);
  *source = NULL;
}

static GSource *
attach_timeout (ChatConnection *self, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new (ms);
  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* A CHAT_CONNECTION_ERROR whose message starts with the peer address. */
G_GNUC_PRINTF (3, 4)
static GError *
connection_error (ChatConnection *self, ChatConnectionError code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  return g_error_new (CHAT_CONNECTION_ERROR, code, "%s: %s", self->peer, text);
}

static void
format_peer_address (ChatConnection *self)
{
  g_strlcpy (self->peer, "unknown", sizeof self->peer);
  if (!G_IS_SOCKET_CONNECTION (self->stream))
    return;
  g_autoptr (GSocketAddress) address =
      g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (self->stream), NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return;
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  GInetAddress *ip = g_inet_socket_address_get_address (inet);
  g_autofree char *ip_text = g_inet_address_to_string (ip);
  guint16 port = g_inet_socket_address_get_port (inet);
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    g_snprintf (self->peer, sizeof self->peer, "[%s]:%u", ip_text, port);
  else
    g_snprintf (self->peer, sizeof self->peer, "%s:%u", ip_text, port);
}

static void
schedule_flush (ChatConnection *self)
{
  /* While a write would block, the output source drives the writes. */
  if (self->write_source != NULL && self->state != STATE_CLOSED)
    return;
  chat_flusher_mark_dirty (self->flusher, &self->dirty_link);
}

static gboolean
has_output (ChatConnection *self)
{
  if (self->v2 != NULL)
    return !chat_v2_channel_output_idle (self->v2);
  if (self->seed != NULL)
    {
      const uint8_t *data;
      size_t len = 0;
      if (chat_seed_channel_output (self->seed, &data, &len) < 0)
        return FALSE;
      return len > 0 || self->seed_queue_end > self->seed_queue_start;
    }
  return FALSE;
}

/* ---- ending the connection ----------------------------------------------- */

static void
on_stream_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_debug ("closing the stream failed: %s", error->message);
}

/* Stops all I/O and closes the stream (without blocking). */
static void
close_transport (ChatConnection *self)
{
  clear_source (&self->read_source);
  clear_source (&self->write_source);
  clear_source (&self->timer_source);
  self->state = STATE_CLOSED;
  if (!g_io_stream_is_closed (self->stream) && !g_io_stream_has_pending (self->stream))
    g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, on_stream_closed, NULL);
}

static void
complete_handshake_task (ChatConnection *self, const GError *error)
{
  GTask *task = g_steal_pointer (&self->handshake_task);
  clear_source (&self->cancel_source);
  if (task == NULL)
    return;
  if (error == NULL && self->state == STATE_ESTABLISHED)
    g_task_return_boolean (task, TRUE);
  else if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_new_error (task, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                             "%s: connection closed during the handshake", self->peer);
  g_object_unref (task);
}

/* Ends the connection now: the stream is closed, and `closed` (with reason,
 * which is taken; NULL for a clean close) is emitted by the flusher on the
 * next loop turn. Only the first reason counts. */
static void
finish (ChatConnection *self, GError *reason)
{
  if (self->state == STATE_CLOSED)
    {
      g_clear_error (&reason);
      return;
    }
  /* After the peer's CLOSE the session ended cleanly; what happens to the
   * transport afterwards (a reset while we answer) is not an error. */
  if (reason != NULL && self->peer_sent_close &&
      !g_error_matches (reason, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_TIMEOUT))
    g_clear_error (&reason);
  close_transport (self);
  self->close_reason = reason;
  chat_flusher_mark_dirty (self->flusher, &self->dirty_link);
}

static void
emit_closed (ChatConnection *self)
{
  if (self->closed_emitted)
    return;
  self->closed_emitted = TRUE;
  g_autoptr (GError) reason = g_steal_pointer (&self->close_reason);
  if (reason != NULL)
    g_debug ("%s", reason->message);
  complete_handshake_task (self, reason);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, reason);
}

/* The channel failed with code: ends the connection with its reason. */
static void
fail_channel (ChatConnection *self, int code)
{
  const char *reason;
  const char *what;
  ChatConnectionError error_code;
  gboolean handshake = self->state == STATE_HANDSHAKE;

  if (self->v2 != NULL)
    {
      reason = chat_v2_channel_error_message (self->v2);
      if (reason[0] == '\0')
        reason = chat_v2_strerror (code);
      what = handshake ? "v2 handshake failed" : "v2 channel failed";
    }
  else
    {
      reason = self->seed != NULL ? chat_seed_channel_error_message (self->seed) : "";
      if (reason[0] == '\0')
        reason = chat_seed_channel_strerror (code);
      what = handshake ? "seed handshake failed" : "seed channel failed";
    }
  if (code == CHAT_V2_ERR_TRUNCATED)
    error_code = CHAT_CONNECTION_ERROR_TRUNCATED;
  else if (handshake)
    error_code = CHAT_CONNECTION_ERROR_HANDSHAKE;
  else
    error_code = CHAT_CONNECTION_ERROR_PROTOCOL;
  finish (self, connection_error (self, error_code, "%s: %s", what, reason));
}

static void
fail_io (ChatConnection *self, const char *operation, const GError *io_error)
{
  if (self->state == STATE_CLOSING || self->state == STATE_LINGER)
    {
      /* We were closing anyway and had said all we had to say, or the peer
       * reset while we drained: a close timeout would be the error. */
      finish (self, self->state == STATE_LINGER
                        ? NULL
                        : connection_error (self, CHAT_CONNECTION_ERROR_IO,
                                            "%s failed while closing: %s", operation,
                                            io_error->message));
      return;
    }
  finish (self, connection_error (self, CHAT_CONNECTION_ERROR_IO, "%s failed: %s", operation,
                                  io_error->message));
}

/* ---- key log ------------------------------------------------------------- */

static void
keylog_report (ChatConnection *self, int rc)
{
  if (rc < 0)
    g_message ("%s: cannot write the key log: %s", self->peer, chat_keylog_strerror (rc));
}

static void
keylog_seed (ChatConnection *self, const guint8 *client_public, gsize len)
{
  guint8 key[KEYLOG_KEY_BYTES];
  if (self->keylog == NULL)
    return;
  int rc = chat_seed_channel_session_key (self->seed, key);
  if (rc == 0)
    {
      if (client_public != NULL)
        rc = chat_keylog_write_seed (self->keylog, client_public, len, key);
      else
        rc = chat_keylog_write (self->keylog, CHAT_KEYLOG_LABEL_SEED, self->seed_keylog_id,
                                sizeof self->seed_keylog_id, key, sizeof key);
    }
  explicit_bzero (key, sizeof key);
  keylog_report (self, rc);
}

static void
keylog_v2 (ChatConnection *self)
{
  guint8 session_id[CHAT_V2_SESSION_ID_LEN];
  guint8 c2s[CHAT_V2_KEY_LEN];
  guint8 s2c[CHAT_V2_KEY_LEN];
  if (self->keylog == NULL)
    return;
  int rc = chat_v2_channel_session_keys (self->v2, session_id, c2s, s2c);
  if (rc == 0)
    rc = chat_keylog_write_v2 (self->keylog, session_id, c2s, s2c);
  explicit_bzero (c2s, sizeof c2s);
  explicit_bzero (s2c, sizeof s2c);
  keylog_report (self, rc);
}

/* ---- the seed queue ------------------------------------------------------ */

static void
seed_queue_free (ChatConnection *self)
{
  if (self->seed_queue != NULL)
    explicit_bzero (self->seed_queue, self->seed_queue_capacity);
  g_clear_pointer (&self->seed_queue, g_free);
  self->seed_queue_start = self->seed_queue_end = self->seed_queue_capacity = 0;
  self->seed_queued_plaintext = 0;
}

/* Appends one plaintext; the caller checked the bound. */
static void
seed_queue_push (ChatConnection *self, const guint8 *data, gsize len)
{
  gsize need = SEED_QUEUE_PREFIX_BYTES + len;
  gsize waiting = self->seed_queue_end - self->seed_queue_start;

  if (self->seed_queue_capacity - self->seed_queue_end < need)
    {
      gsize capacity = MAX (self->seed_queue_capacity, (gsize) SEED_QUEUE_INITIAL_BYTES);
      while (capacity < waiting + need)
        capacity *= 2;
      /* A fresh buffer rather than realloc, so no unwiped copy is left. */
      guint8 *fresh = g_malloc (capacity);
      if (waiting > 0)
        memcpy (fresh, self->seed_queue + self->seed_queue_start, waiting);
      gsize plaintext = self->seed_queued_plaintext;
      seed_queue_free (self);
      self->seed_queue = fresh;
      self->seed_queue_capacity = capacity;
      self->seed_queue_end = waiting;
      self->seed_queued_plaintext = plaintext;
    }
  guint32 prefix = (guint32) len;
  memcpy (self->seed_queue + self->seed_queue_end, &prefix, sizeof prefix);
  memcpy (self->seed_queue + self->seed_queue_end + SEED_QUEUE_PREFIX_BYTES, data, len);
  self->seed_queue_end += need;
  self->seed_queued_plaintext += len;
}

/* Moves queued plaintexts into the seed channel while it has room and less
 * than a batch of ciphertext waits. Returns FALSE when the channel failed
 * (the connection is then finished). */
static gboolean
seed_queue_drain_into_channel (ChatConnection *self, gsize waiting)
{
  while (self->seed_queue_start < self->seed_queue_end && waiting < SEED_OUTPUT_BATCH_BYTES)
    {
      guint32 len;
      guint8 *record = self->seed_queue + self->seed_queue_start;
      memcpy (&len, record, sizeof len);
      int rc = chat_seed_channel_send (self->seed, record + SEED_QUEUE_PREFIX_BYTES, len);
      if (rc == CHAT_SEED_ERR_OUTPUT_FULL || rc == CHAT_SEED_ERR_CLIENT_FIRST)
        return TRUE;  /* later: when the peer reads / sends its first frame */
      if (rc < 0)
        {
          fail_channel (self, rc);
          return FALSE;
        }
      explicit_bzero (record, SEED_QUEUE_PREFIX_BYTES + len);
      self->seed_queue_start += SEED_QUEUE_PREFIX_BYTES + len;
      self->seed_queued_plaintext -= len;
      waiting += chat_seed_frame_size (len);
    }
  if (self->seed_queue_start == self->seed_queue_end)
    {
      self->seed_queue_start = self->seed_queue_end = 0;
      if (self->seed_queue_capacity > SEED_QUEUE_RETAIN_BYTES)
        seed_queue_free (self);
    }
  return TRUE;
}

/* ---- writing ------------------------------------------------------------- */

/* The next bytes to write (len 0: nothing). FALSE when the channel failed. */
static gboolean
next_output (ChatConnection *self, const guint8 **data, gsize *len)
{
  int rc;
  size_t n = 0;

  *data = NULL;
  *len = 0;
  if (self->v2 != NULL)
    {
      rc = chat_v2_channel_output (self->v2, data, &n);
    }
  else if (self->seed != NULL)
    {
      rc = chat_seed_channel_output (self->seed, data, &n);
      if (rc == 0 && n < SEED_OUTPUT_BATCH_BYTES && self->seed_queue_start < self->seed_queue_end &&
          chat_seed_channel_is_established (self->seed))
        {
          if (!seed_queue_drain_into_channel (self, n))
            return FALSE;
          rc = chat_seed_channel_output (self->seed, data, &n);
        }
    }
  else
    {
      return TRUE;
    }
  if (rc < 0)
    {
      fail_channel (self, rc);
      return FALSE;
    }
  *len = n;
  return TRUE;
}

static gboolean
output_consumed (ChatConnection *self, gsize n)
{
  int rc = self->v2 != NULL ? chat_v2_channel_output_consumed (self->v2, n)
                            : chat_seed_channel_output_consumed (self->seed, n);
  if (rc < 0)
    {
      fail_channel (self, rc);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_close_timeout (gpointer user_data)
{
  ChatConnection *self = user_data;
  clear_source (&self->timer_source);
  if (self->state == STATE_LINGER)
    finish (self, NULL);  /* all was written; the peer just did not close */
  else
    finish (self, connection_error (self, CHAT_CONNECTION_ERROR_TIMEOUT,
                                    "graceful close: the queue did not drain within %u ms",
                                    CHAT_CONNECTION_CLOSE_TIMEOUT_MS));
  return G_SOURCE_REMOVE;
}

/* Everything is written during a graceful close: shut the write side down
 * and wait for the peer's end of the stream, so that our last bytes are not
 * lost to a reset caused by unread input. */
static void
begin_linger (ChatConnection *self)
{
  self->state = STATE_LINGER;
  if (self->peer_eof || !G_IS_SOCKET_CONNECTION (self->stream))
    {
      finish (self, NULL);
      return;
    }
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));
  g_autoptr (GError) error = NULL;
  if (!g_socket_shutdown (socket, FALSE, TRUE, &error))
    finish (self, NULL);
}

static void
output_drained (ChatConnection *self)
{
  clear_source (&self->write_source);
  if (self->state != STATE_CLOSING)
    return;
  if (self->seed_queue_start < self->seed_queue_end)
    {
      /* A seed server whose client never sent a frame cannot send these. */
      g_debug ("%s: dropping %" G_GSIZE_FORMAT " queued bytes the seed dialect cannot send yet",
               self->peer, self->seed_queued_plaintext);
      seed_queue_free (self);
    }
  begin_linger (self);
}

static gboolean
on_writable (GObject *stream, gpointer user_data)
{
  ChatConnection *self = g_object_ref (user_data);
  self->write_blocked = FALSE;
  flush_output (self);
  gboolean keep = self->write_source != NULL && self->write_blocked;
  if (!keep)
    clear_source (&self->write_source);
  g_object_unref (self);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
wait_writable (ChatConnection *self)
{
  self->write_blocked = TRUE;
  if (self->write_source != NULL)
    return;
  self->write_source = g_pollable_output_stream_create_source (self->output, NULL);
  g_source_set_callback (self->write_source, G_SOURCE_FUNC (on_writable), self, NULL);
  g_source_attach (self->write_source, self->context);
}

/* Writes what the channel has, until it is drained, a write would block, or
 * FLUSH_BYTES_PER_TURN went out. */
static void
flush_output (ChatConnection *self)
{
  gsize written = 0;

  while (self->state == STATE_HANDSHAKE || self->state == STATE_ESTABLISHED ||
         self->state == STATE_CLOSING)
    {
      const guint8 *data;
      gsize len;
      g_autoptr (GError) error = NULL;

      if (!next_output (self, &data, &len))
        return;
      if (len == 0)
        {
          output_drained (self);
          return;
        }
      if (written >= FLUSH_BYTES_PER_TURN)
        {
          chat_flusher_mark_dirty (self->flusher, &self->dirty_link);
          return;
        }
      gssize n = g_pollable_output_stream_write_nonblocking (self->output, data, len, NULL, &error);
      self->write_calls++;
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            wait_writable (self);
          else
            fail_io (self, "write", error);
          return;
        }
      if (!output_consumed (self, (gsize) n))
        return;
      written += (gsize) n;
    }
}

/* The flusher's callback: once per loop turn for each dirty connection. */
static void
on_flush (ChatFlushLink *link)
{
  ChatConnection *self =
      g_object_ref ((ChatConnection *) ((char *) link - G_STRUCT_OFFSET (ChatConnection, dirty_link)));
  self->flushes++;
  if (self->state == STATE_CLOSED)
    emit_closed (self);
  else if (self->write_source == NULL)
    flush_output (self);
  g_object_unref (self);
}

/* ---- the handshake ------------------------------------------------------- */

static void
become_established (ChatConnection *self)
{
  clear_source (&self->timer_source);
  self->state = STATE_ESTABLISHED;
  complete_handshake_task (self, NULL);
  g_signal_emit (self, signals[SIGNAL_ESTABLISHED], 0);
}

/* The v2 handshake just completed: key log, then (client) the pin check
 * before anything else can happen. FALSE when the connection ended. */
static gboolean
v2_handshake_done (ChatConnection *self)
{
  keylog_v2 (self);
  if (!self->is_server && self->verify_server_key != NULL)
    {
      guint8 key[CHAT_V2_KEY_LEN];
      const uint8_t *info = NULL;
      size_t info_len = 0;
      g_autoptr (GError) error = NULL;
      int rc = chat_v2_channel_server_static (self->v2, key);
      if (rc == 0)
        rc = chat_v2_channel_server_info (self->v2, &info, &info_len);
      if (rc < 0)
        {
          fail_channel (self, rc);
          return FALSE;
        }
      if (!self->verify_server_key (self, key, info, info_len, self->verify_user_data, &error))
        {
          finish (self, connection_error (self, CHAT_CONNECTION_ERROR_PINNING,
                                          "server key refused: %s",
                                          error != NULL ? error->message : "not trusted"));
          return FALSE;
        }
      if (self->state != STATE_HANDSHAKE)
        return FALSE;  /* the callback closed the connection */
    }
  become_established (self);
  return self->state == STATE_ESTABLISHED;
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  ChatConnection *self = user_data;
  clear_source (&self->timer_source);
  finish (self, connection_error (self, CHAT_CONNECTION_ERROR_TIMEOUT,
                                  "handshake not completed within %u ms",
                                  self->handshake_timeout_ms));
  return G_SOURCE_REMOVE;
}

static int
new_seed_channel (ChatConnection *self, chat_seed_role role)
{
  /* max_frame caps L, the padded plaintext length. */
  gsize max_frame = (self->max_message + CHAT_SEED_BLOCK_BYTES - 1) / CHAT_SEED_BLOCK_BYTES *
                    CHAT_SEED_BLOCK_BYTES;
  self->dialect = CHAT_CONNECTION_DIALECT_SEED;
  return chat_seed_channel_new (role, self->seed_group, max_frame, &self->seed);
}

static int
new_v2_channel (ChatConnection *self, chat_v2_role role)
{
  chat_v2_config config;
  chat_v2_config_init (&config);
  config.suite = self->suite;
  config.max_message = self->max_message;
  config.max_queue_bytes = self->max_queue;
  config.rekey_bytes = self->rekey_bytes;
  if (role == CHAT_V2_ROLE_SERVER)
    {
      config.server_private_key = self->static_private_key;
      config.server_info = self->server_info;
      config.server_info_len = self->server_info_len;
    }
  self->dialect = CHAT_CONNECTION_DIALECT_V2;
  return chat_v2_channel_new (role, &config, &self->v2);
}

/* Client: makes the channel and queues its first bytes. */
static void
client_begin (ChatConnection *self)
{
  int rc;
  if (self->dialect == CHAT_CONNECTION_DIALECT_V2)
    {
      rc = new_v2_channel (self, CHAT_V2_ROLE_CLIENT);
      if (rc == 0)
        rc = chat_v2_channel_start (self->v2);
    }
  else
    {
      rc = new_seed_channel (self, CHAT_SEED_ROLE_CLIENT);
      if (rc == 0)
        rc = chat_seed_channel_start (self->seed);
      if (rc == 0 && self->keylog != NULL)
        {
          /* The key log names a seed session by the public value we send:
           * all that is in the output right now. */
          const uint8_t *a;
          size_t a_len;
          rc = chat_seed_channel_output (self->seed, &a, &a_len);
          if (rc == 0)
            chat_keylog_seed_session_id (a, a_len, self->seed_keylog_id);
        }
    }
  if (rc < 0)
    {
      if (self->v2 != NULL || self->seed != NULL)
        fail_channel (self, rc);
      else
        finish (self, connection_error (self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                        "cannot create the channel: %s",
                                        self->dialect == CHAT_CONNECTION_DIALECT_V2
                                            ? chat_v2_strerror (rc)
                                            : chat_seed_channel_strerror (rc)));
      return;
    }
  schedule_flush (self);
}

/* Server, first bytes: tell the dialect. FALSE when the connection ended or
 * the bytes were all used (seed), TRUE to feed them to the v2 channel. */
static gboolean
server_detect_dialect (ChatConnection *self, const guint8 *data, gsize len)
{
  int rc;
  if (data[0] == V2_PREAMBLE_FIRST_BYTE)
    {
      rc = new_v2_channel (self, CHAT_V2_ROLE_SERVER);
      if (rc < 0)
        {
          finish (self, connection_error (self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                          "cannot create the v2 channel: %s",
                                          chat_v2_strerror (rc)));
          return FALSE;
        }
      return TRUE;
    }
  if (!self->allow_legacy)
    {
      self->dialect = CHAT_CONNECTION_DIALECT_SEED;
      finish (self, connection_error (self, CHAT_CONNECTION_ERROR_LEGACY_REFUSED,
                                      "seed-dialect client refused (first byte 0x%02x, not a v2 "
                                      "preamble): the legacy dialect is disabled "
                                      "(allow_legacy is false)",
                                      data[0]));
      return FALSE;
    }
  rc = new_seed_channel (self, CHAT_SEED_ROLE_SERVER);
  if (rc < 0)
    {
      finish (self, connection_error (self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                      "cannot create the seed channel: %s",
                                      chat_seed_channel_strerror (rc)));
      return FALSE;
    }
  /* As the seed does: the bytes of the first read are the client's value. */
  rc = chat_seed_channel_receive_public (self->seed, data, len);
  if (rc < 0)
    {
      fail_channel (self, rc);
      return FALSE;
    }
  keylog_seed (self, data, len);
  schedule_flush (self);  /* B */
  become_established (self);
  return FALSE;
}

/* ---- reading ------------------------------------------------------------- */

/* Hands out every waiting message. FALSE when the connection stopped
 * delivering (closed or closing) or the channel failed. */
static gboolean
deliver_messages (ChatConnection *self, gboolean *delivered)
{
  for (;;)
    {
      const uint8_t *message;
      size_t len;
      int rc = self->v2 != NULL ? chat_v2_channel_next_message (self->v2, &message, &len)
                                : chat_seed_channel_next_message (self->seed, &message, &len);
      if (rc < 0)
        {
          fail_channel (self, rc);
          return FALSE;
        }
      if (rc == 0)
        return TRUE;
      *delivered = TRUE;
      g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, (gconstpointer) message, (gsize) len);
      if (self->state != STATE_ESTABLISHED)
        return FALSE;
    }
}

/* Feeds received bytes to the channel and acts on what comes out. */
static void
feed_channel (ChatConnection *self, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      gboolean progress = FALSE;
      ptrdiff_t used = self->v2 != NULL ? chat_v2_channel_feed (self->v2, data, len)
                                        : chat_seed_channel_feed (self->seed, data, len);
      if (used < 0)
        {
          fail_channel (self, (int) used);
          return;
        }
      data += used;
      len -= (gsize) used;
      progress = used > 0;

      if (self->v2 != NULL && self->state == STATE_HANDSHAKE &&
          chat_v2_channel_is_established (self->v2))
        {
          progress = TRUE;
          if (!v2_handshake_done (self))
            return;
        }
      if (self->state == STATE_ESTABLISHED && !deliver_messages (self, &progress))
        return;
      if (self->v2 != NULL && chat_v2_channel_peer_closed (self->v2))
        {
          /* The peer is done: answer with our own CLOSE after what is
           * queued, then close. Anything after its CLOSE is ignored. */
          self->peer_sent_close = TRUE;
          start_graceful_close (self);
          return;
        }
      if (!progress)
        {
          finish (self, connection_error (self, CHAT_CONNECTION_ERROR_PROTOCOL,
                                          "the channel stopped taking input"));
          return;
        }
    }
}

static void
on_bytes (ChatConnection *self, const guint8 *data, gsize len)
{
  switch (self->state)
    {
    case STATE_HANDSHAKE:
    case STATE_ESTABLISHED:
      break;
    case STATE_NEW:
    case STATE_CLOSING:
    case STATE_LINGER:
    case STATE_CLOSED:
    default:
      return;  /* closing: input is read only to see the peer's end */
    }

  if (self->is_server && self->dialect == CHAT_CONNECTION_DIALECT_UNKNOWN)
    {
      if (!server_detect_dialect (self, data, len))
        return;
    }
  else if (self->seed != NULL && self->state == STATE_HANDSHAKE)
    {
      /* Seed client: the bytes of the first read are the server's value. */
      int rc = chat_seed_channel_receive_public (self->seed, data, len);
      if (rc < 0)
        {
          fail_channel (self, rc);
          return;
        }
      keylog_seed (self, NULL, 0);
      become_established (self);
      return;
    }

  feed_channel (self, data, len);
  if (self->state != STATE_CLOSED && has_output (self))
    schedule_flush (self);
}

static void
on_eof (ChatConnection *self)
{
  int rc;
  /* A stream at its end stays readable: stop watching it. */
  clear_source (&self->read_source);
  self->peer_eof = TRUE;
  switch (self->state)
    {
    case STATE_NEW:
    case STATE_HANDSHAKE:
      finish (self, connection_error (self, CHAT_CONNECTION_ERROR_HANDSHAKE,
                                      "the peer closed the connection during the handshake"));
      break;
    case STATE_ESTABLISHED:
      if (self->v2 == NULL)
        {
          finish (self, NULL);  /* the seed dialect ends with the stream */
          break;
        }
      rc = chat_v2_channel_eof (self->v2);
      if (rc < 0)
        fail_channel (self, rc);
      else
        finish (self, NULL);
      break;
    case STATE_LINGER:
      finish (self, NULL);
      break;
    case STATE_CLOSING:
      /* Still draining; begin_linger sees peer_eof and finishes. A peer that
       * went away entirely makes the next write fail instead. */
    case STATE_CLOSED:
    default:
      break;
    }
}

static void
read_once (ChatConnection *self)
{
  g_autoptr (GError) error = NULL;
  gsize capacity = CHAT_CONNECTION_READ_BUFFER_BYTES;

  /* The seed reads the peer's public value with one read of at most
   * CHAT_SEED_PUBLIC_READ_MAX bytes; so do we (a server does not know the
   * dialect yet, and a v2 client's first bytes are far fewer). */
  if ((self->is_server && self->dialect == CHAT_CONNECTION_DIALECT_UNKNOWN) ||
      (self->seed != NULL && self->state == STATE_HANDSHAKE))
    capacity = CHAT_SEED_PUBLIC_READ_MAX;

  guint8 *buffer = read_buffer_acquire ();
  gssize n = g_pollable_input_stream_read_nonblocking (self->input, buffer, capacity, NULL, &error);
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        fail_io (self, "read", error);
    }
  else if (n == 0)
    {
      on_eof (self);
    }
  else
    {
      on_bytes (self, buffer, (gsize) n);
    }
  read_buffer_release (buffer, n > 0 ? (gsize) n : 0);
}

static gboolean
on_readable (GObject *stream, gpointer user_data)
{
  ChatConnection *self = g_object_ref (user_data);
  read_once (self);
  gboolean keep = self->read_source != NULL;
  g_object_unref (self);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- public API ---------------------------------------------------------- */

void
chat_connection_start (ChatConnection *self)
{
  g_return_if_fail (CHAT_IS_CONNECTION (self));
  if (self->state != STATE_NEW)
    return;
  self->state = STATE_HANDSHAKE;
  self->timer_source = attach_timeout (self, self->handshake_timeout_ms, on_handshake_timeout);
  self->read_source = g_pollable_input_stream_create_source (self->input, NULL);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_readable), self, NULL);
  g_source_attach (self->read_source, self->context);
  if (!self->is_server)
    client_begin (self);
}

static gboolean
on_handshake_cancelled (GCancellable *cancellable, gpointer user_data)
{
  ChatConnection *self = user_data;
  GTask *task = g_steal_pointer (&self->handshake_task);
  clear_source (&self->cancel_source);
  if (task != NULL)
    {
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

void
chat_connection_handshake_async (ChatConnection *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (CHAT_IS_CONNECTION (self));
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, chat_connection_handshake_async);

  if (self->handshake_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "%s: a handshake wait is already pending", self->peer);
      return;
    }
  if (self->state == STATE_ESTABLISHED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->closed_emitted || self->state == STATE_CLOSING || self->state == STATE_LINGER)
    {
      g_task_return_new_error (task, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                               "%s: the connection is closed", self->peer);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  self->handshake_task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      self->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->cancel_source, G_SOURCE_FUNC (on_handshake_cancelled), self,
                             NULL);
      g_source_attach (self->cancel_source, self->context);
    }
  chat_connection_start (self);
}

gboolean
chat_connection_handshake_finish (ChatConnection *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The outgoing queue is full: the peer does not read. Drop it. */
static gboolean
drop_slow_peer (ChatConnection *self, gsize queued, gsize len, GError **error)
{
  GError *reason = connection_error (self, CHAT_CONNECTION_ERROR_QUEUE_FULL,
                                     "%s: %" G_GSIZE_FORMAT " bytes queued, %" G_GSIZE_FORMAT
                                     " more would pass the limit of %" G_GSIZE_FORMAT,
                                     CHAT_CONNECTION_SLOW_PEER_REASON, queued, len,
                                     self->max_queue);
  if (error != NULL)
    *error = g_error_copy (reason);
  finish (self, reason);
  return FALSE;
}

gboolean
chat_connection_send (ChatConnection *self, const uint8_t *plaintext, gsize len, GError **error)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (plaintext != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  switch (self->state)
    {
    case STATE_ESTABLISHED:
      break;
    case STATE_NEW:
    case STATE_HANDSHAKE:
      g_set_error (error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_NOT_ESTABLISHED,
                   "%s: cannot send before the handshake is complete", self->peer);
      return FALSE;
    case STATE_CLOSING:
    case STATE_LINGER:
    case STATE_CLOSED:
    default:
      g_set_error (error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_CLOSED,
                   "%s: the connection is closed", self->peer);
      return FALSE;
    }
  if (len == 0 || len > self->max_message)
    {
      g_set_error (error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_MESSAGE_SIZE,
                   "%s: cannot send a message of %" G_GSIZE_FORMAT " bytes (1 .. %" G_GSIZE_FORMAT
                   ")",
                   self->peer, len, self->max_message);
      return FALSE;
    }

  if (self->v2 != NULL)
    {
      int rc = chat_v2_channel_send (self->v2, plaintext, len);
      if (rc == CHAT_V2_ERR_QUEUE_FULL)
        return drop_slow_peer (self, 0, len, error);
      if (rc < 0)
        {
          fail_channel (self, rc);
          g_set_error (error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_PROTOCOL,
                       "%s: send failed: %s", self->peer, chat_v2_strerror (rc));
          return FALSE;
        }
    }
  else
    {
      const uint8_t *out;
      size_t out_len = 0;
      int rc = chat_seed_channel_output (self->seed, &out, &out_len);
      if (rc < 0)
        {
          fail_channel (self, rc);
          g_set_error (error, CHAT_CONNECTION_ERROR, CHAT_CONNECTION_ERROR_PROTOCOL,
                       "%s: send failed: %s", self->peer, chat_seed_channel_strerror (rc));
          return FALSE;
        }
      gsize queued = self->seed_queued_plaintext + out_len;
      if (queued > self->max_queue || len > self->max_queue - queued)
        return drop_slow_peer (self, queued, len, error);
      seed_queue_push (self, plaintext, len);
    }
  schedule_flush (self);
  return TRUE;
}

static void
start_graceful_close (ChatConnection *self)
{
  self->state = STATE_CLOSING;
  if (self->v2 != NULL)
    {
      int rc = chat_v2_channel_close (self->v2);
      if (rc < 0 && rc != CHAT_V2_ERR_CLOSED)
        {
          fail_channel (self, rc);
          return;
        }
    }
  clear_source (&self->timer_source);
  self->timer_source = attach_timeout (self, CHAT_CONNECTION_CLOSE_TIMEOUT_MS, on_close_timeout);
  schedule_flush (self);
}

void
chat_connection_close (ChatConnection *self, gboolean graceful)
{
  g_return_if_fail (CHAT_IS_CONNECTION (self));
  switch (self->state)
    {
    case STATE_ESTABLISHED:
      if (graceful)
        start_graceful_close (self);
      else
        finish (self, NULL);
      break;
    case STATE_CLOSING:
    case STATE_LINGER:
      if (!graceful)
        finish (self, NULL);
      break;
    case STATE_NEW:
    case STATE_HANDSHAKE:
      finish (self, NULL);
      break;
    case STATE_CLOSED:
    default:
      break;
    }
}

ChatConnectionDialect
chat_connection_get_dialect (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), CHAT_CONNECTION_DIALECT_UNKNOWN);
  return self->dialect;
}

const char *
chat_connection_get_peer_address (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), NULL);
  return self->peer;
}

gboolean
chat_connection_is_established (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), FALSE);
  return self->state == STATE_ESTABLISHED;
}

gboolean
chat_connection_is_server (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), FALSE);
  return self->is_server;
}

static gboolean
has_session (ChatConnection *self)
{
  return self->v2 != NULL && self->state != STATE_NEW && self->state != STATE_HANDSHAKE &&
         self->state != STATE_CLOSED && chat_v2_channel_error (self->v2) == 0;
}

gboolean
chat_connection_get_server_key (ChatConnection *self, guint8 out[CHAT_V2_KEY_LEN])
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  return has_session (self) && chat_v2_channel_server_static (self->v2, out) == 0;
}

const guint8 *
chat_connection_get_server_info (ChatConnection *self, gsize *len)
{
  const uint8_t *data = NULL;
  size_t n = 0;
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), NULL);
  g_return_val_if_fail (len != NULL, NULL);
  *len = 0;
  if (!has_session (self) || chat_v2_channel_server_info (self->v2, &data, &n) < 0)
    return NULL;
  *len = n;
  /* A non-NULL pointer for an empty blob: "present, empty". */
  return data != NULL ? data : (const guint8 *) "";
}

guint64
chat_connection_get_write_calls (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), 0);
  return self->write_calls;
}

guint64
chat_connection_get_flushes (ChatConnection *self)
{
  g_return_val_if_fail (CHAT_IS_CONNECTION (self), 0);
  return self->flushes;
}

/* ---- construction -------------------------------------------------------- */

static gboolean
limits_valid (gsize max_message, gsize max_queue, guint8 suite)
{
  return max_message >= 1 && max_message <= CHAT_CONNECTION_MAX_MESSAGE_LIMIT &&
         max_queue >= max_message &&
         (suite == CHAT_V2_SUITE_ANY || suite == CHAT_V2_SUITE_AESGCM ||
          suite == CHAT_V2_SUITE_CHACHAPOLY);
}

static ChatConnection *
connection_new (GIOStream *stream, gboolean is_server, gsize max_message, gsize max_queue,
                guint handshake_timeout_ms, guint64 rekey_bytes, guint8 suite, chat_keylog *keylog)
{
  ChatConnection *self = g_object_new (CHAT_TYPE_CONNECTION, NULL);
  self->stream = g_object_ref (stream);
  self->input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  self->output = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  self->context = g_main_context_ref_thread_default ();
  self->flusher = chat_flusher_acquire (self->context, on_flush);
  self->is_server = is_server;
  self->max_message = max_message != 0 ? max_message : CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES;
  self->max_queue = max_queue != 0 ? max_queue : MAX (CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES,
                                                      self->max_message);
  self->handshake_timeout_ms =
      handshake_timeout_ms != 0 ? handshake_timeout_ms : CHAT_CONNECTION_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  self->rekey_bytes = rekey_bytes != 0 ? rekey_bytes : CHAT_CONNECTION_DEFAULT_REKEY_BYTES;
  self->suite = suite;
  self->keylog = keylog;
  format_peer_address (self);
  return self;
}

static gboolean
stream_pollable (GIOStream *stream)
{
  GInputStream *in = g_io_stream_get_input_stream (stream);
  GOutputStream *out = g_io_stream_get_output_stream (stream);
  return G_IS_POLLABLE_INPUT_STREAM (in) &&
         g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in)) &&
         G_IS_POLLABLE_OUTPUT_STREAM (out) &&
         g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));
}

ChatConnection *
chat_connection_new_server (GIOStream *stream, const ChatServerSecurity *security)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (stream_pollable (stream), NULL);
  g_return_val_if_fail (security != NULL, NULL);
  g_return_val_if_fail (security->static_private_key != NULL, NULL);
  g_return_val_if_fail (!security->allow_legacy || security->seed_group != NULL, NULL);
  g_return_val_if_fail (security->server_info_len <= CHAT_V2_MAX_SERVER_INFO, NULL);
  g_return_val_if_fail (security->server_info != NULL || security->server_info_len == 0, NULL);
  gsize max_message = security->max_message_bytes != 0 ? security->max_message_bytes
                                                       : CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES;
  gsize max_queue = security->max_queue_bytes != 0
                        ? security->max_queue_bytes
                        : MAX (CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES, max_message);
  g_return_val_if_fail (limits_valid (max_message, max_queue, security->v2_suite), NULL);

  ChatConnection *self =
      connection_new (stream, TRUE, max_message, max_queue, security->handshake_timeout_ms,
                      security->rekey_bytes, security->v2_suite, security->keylog);
  self->allow_legacy = security->allow_legacy;
  self->seed_group = security->seed_group;
  self->static_private_key = security->static_private_key;
  self->server_info = security->server_info;
  self->server_info_len = security->server_info_len;
  return self;
}

ChatConnection *
chat_connection_new_client (GIOStream *stream, const ChatClientSecurity *security)
{
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (stream_pollable (stream), NULL);
  g_return_val_if_fail (security != NULL, NULL);
  g_return_val_if_fail (security->dialect == CHAT_CONNECTION_DIALECT_SEED ||
                            security->dialect == CHAT_CONNECTION_DIALECT_V2,
                        NULL);
  g_return_val_if_fail (security->dialect != CHAT_CONNECTION_DIALECT_SEED ||
                            security->seed_group != NULL,
                        NULL);
  gsize max_message = security->max_message_bytes != 0 ? security->max_message_bytes
                                                       : CHAT_CONNECTION_DEFAULT_MAX_MESSAGE_BYTES;
  gsize max_queue = security->max_queue_bytes != 0
                        ? security->max_queue_bytes
                        : MAX (CHAT_CONNECTION_DEFAULT_MAX_QUEUE_BYTES, max_message);
  g_return_val_if_fail (limits_valid (max_message, max_queue, security->v2_suite), NULL);

  ChatConnection *self =
      connection_new (stream, FALSE, max_message, max_queue, security->handshake_timeout_ms,
                      security->rekey_bytes, security->v2_suite, security->keylog);
  self->dialect = security->dialect;
  self->seed_group = security->seed_group;
  self->verify_server_key = security->verify_server_key;
  self->verify_user_data = security->verify_user_data;
  return self;
}

static void
chat_connection_init (ChatConnection *self)
{
  chat_flush_link_init (&self->dirty_link);
  self->state = STATE_NEW;
  self->dialect = CHAT_CONNECTION_DIALECT_UNKNOWN;
}

static void
chat_connection_dispose (GObject *object)
{
  ChatConnection *self = CHAT_CONNECTION (object);

  /* Dropped without waiting for `closed`: close silently. */
  if (self->stream != NULL && self->state != STATE_CLOSED)
    close_transport (self);
  self->closed_emitted = TRUE;
  g_clear_error (&self->close_reason);
  clear_source (&self->read_source);
  clear_source (&self->write_source);
  clear_source (&self->timer_source);
  clear_source (&self->cancel_source);
  chat_flush_link_unlink (&self->dirty_link);
  if (self->flusher != NULL)
    {
      chat_flusher_release (self->flusher);
      self->flusher = NULL;
    }
  g_clear_object (&self->stream);
  self->input = NULL;
  self->output = NULL;
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (chat_connection_parent_class)->dispose (object);
}

static void
chat_connection_finalize (GObject *object)
{
  ChatConnection *self = CHAT_CONNECTION (object);

  chat_seed_channel_free (self->seed);
  chat_v2_channel_free (self->v2);
  seed_queue_free (self);
  explicit_bzero (self->seed_keylog_id, sizeof self->seed_keylog_id);

  G_OBJECT_CLASS (chat_connection_parent_class)->finalize (object);
}

/* ---- signal marshallers -------------------------------------------------- */

typedef void (*MessageHandler) (gpointer instance, gconstpointer data, gsize len, gpointer user_data);

static void
marshal_message (GClosure *closure, GValue *return_value, guint n_param_values,
                 const GValue *param_values, gpointer invocation_hint, gpointer marshal_data)
{
  GCClosure *cclosure = (GCClosure *) closure;
  gpointer instance = g_value_peek_pointer (param_values + 0);
  gpointer data1 = G_CCLOSURE_SWAP_DATA (closure) ? closure->data : instance;
  gpointer data2 = G_CCLOSURE_SWAP_DATA (closure) ? instance : closure->data;
  MessageHandler handler =
      (MessageHandler) (marshal_data != NULL ? marshal_data : cclosure->callback);

  g_return_if_fail (n_param_values == 3);
  handler (data1, g_value_get_pointer (param_values + 1), chat_value_get_size (param_values + 2),
           data2);
}

static void
marshal_message_va (GClosure *closure, GValue *return_value, gpointer instance, va_list args,
                    gpointer marshal_data, int n_params, GType *param_types)
{
  GCClosure *cclosure = (GCClosure *) closure;
  va_list copy;
  G_VA_COPY (copy, args);
  gconstpointer data = va_arg (copy, gconstpointer);
  gsize len = va_arg (copy, gsize);
  va_end (copy);
  gpointer data1 = G_CCLOSURE_SWAP_DATA (closure) ? closure->data : instance;
  gpointer data2 = G_CCLOSURE_SWAP_DATA (closure) ? instance : closure->data;
  MessageHandler handler =
      (MessageHandler) (marshal_data != NULL ? marshal_data : cclosure->callback);
  handler (data1, data, len, data2);
}

static void
chat_connection_class_init (ChatConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chat_connection_dispose;
  object_class->finalize = chat_connection_finalize;

  /* The handshake is complete (a v2 client: the server key was accepted). */
  signals[SIGNAL_ESTABLISHED] =
      g_signal_new ("established", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    g_cclosure_marshal_VOID__VOID, G_TYPE_NONE, 0);
  g_signal_set_va_marshaller (signals[SIGNAL_ESTABLISHED], G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__VOIDv);

  /* One received message; data is valid only during the emission. */
  signals[SIGNAL_MESSAGE] =
      g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    marshal_message, G_TYPE_NONE, 2, G_TYPE_POINTER, CHAT_TYPE_SIZE);
  g_signal_set_va_marshaller (signals[SIGNAL_MESSAGE], G_TYPE_FROM_CLASS (klass),
                              marshal_message_va);

  /* The connection is over; the GError is NULL for a clean close. */
  signals[SIGNAL_CLOSED] =
      g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    g_cclosure_marshal_VOID__BOXED, G_TYPE_NONE, 1,
                    G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
  g_signal_set_va_marshaller (signals[SIGNAL_CLOSED], G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__BOXEDv);
}
