/* One interface over the seed and v2 channels; see protocol/channel.h.
 * Each engine sits behind a small table of operations, picked once (a
 * server: at its first byte); nothing else here branches on the dialect. */
#include "protocol/channel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/seed-channel.h"

/* The first byte of the v2 preamble (0x00 "CHAT" ...): a seed client's first
 * byte is the top byte of a minimal big-endian number, never zero. */
#define V2_PREAMBLE_FIRST_BYTE 0x00u
#define CHANNEL_REASON_MAX 256u

typedef struct {
  int (*start)(chat_channel *ch);
  ptrdiff_t (*feed)(chat_channel *ch, const uint8_t *data, size_t len);
  bool (*is_established)(const chat_channel *ch);
  int (*next_message)(chat_channel *ch, const uint8_t **msg, size_t *len);
  int (*send)(chat_channel *ch, const uint8_t *msg, size_t len);
  int (*output)(chat_channel *ch, const uint8_t **data, size_t *len);
  int (*output_consumed)(chat_channel *ch, size_t n);
  bool (*output_idle)(const chat_channel *ch);
  int (*close)(chat_channel *ch);
  bool (*peer_closed)(const chat_channel *ch);
  int (*eof)(chat_channel *ch);
  int (*log_keys)(const chat_channel *ch, chat_keylog *keylog);
  int (*error)(const chat_channel *ch);
  const char *(*error_message)(const chat_channel *ch);
  void (*free)(chat_channel *ch);
} channel_ops;

struct chat_channel {
  const channel_ops *ops; /* NULL: a server before its first byte */
  chat_dialect dialect;   /* known from creation or the first byte */
  bool is_server;
  bool started;
  bool closed; /* close was called */
  int error;   /* the channel's own fatal code (engines keep theirs) */
  char reason[CHANNEL_REASON_MAX];
  chat_channel_config config;
  union {
    chat_seed_channel *seed;
    chat_v2_channel *v2;
  } engine;
  /* Seed: the key log's name for the session (SHA-256 of the client's
   * public value), known from start (client) or the first read (server). */
  uint8_t seed_session_id[CHAT_KEYLOG_ID_LEN];
};

static int fail(chat_channel *ch, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(chat_channel *ch, int code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(ch->reason, sizeof ch->reason, format, args);
  va_end(args);
  ch->error = code;
  return code;
}

/* Maps an engine's non-fatal caller errors to the channel's codes; fatal
 * codes pass through. */
static int map_seed(int rc) {
  switch (rc) {
  case CHAT_SEED_ERR_QUEUE_FULL:
    return CHAT_CHANNEL_ERR_QUEUE_FULL;
  case CHAT_SEED_ERR_TRANSIT_FULL:
    return CHAT_CHANNEL_ERR_TRANSIT_FULL;
  case CHAT_SEED_ERR_MESSAGE_EMPTY:
  case CHAT_SEED_ERR_MESSAGE_TOO_LARGE:
    return CHAT_CHANNEL_ERR_MESSAGE_SIZE;
  case CHAT_SEED_ERR_STATE:
    return CHAT_CHANNEL_ERR_STATE;
  case CHAT_SEED_ERR_INVALID_ARGUMENT:
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  default:
    return rc;
  }
}

static int map_v2(int rc) {
  switch (rc) {
  case CHAT_V2_ERR_QUEUE_FULL:
    return CHAT_CHANNEL_ERR_QUEUE_FULL;
  case CHAT_V2_ERR_TRANSIT_FULL:
    return CHAT_CHANNEL_ERR_TRANSIT_FULL;
  case CHAT_V2_ERR_MESSAGE_EMPTY:
  case CHAT_V2_ERR_MESSAGE_TOO_LARGE:
    return CHAT_CHANNEL_ERR_MESSAGE_SIZE;
  case CHAT_V2_ERR_STATE:
    return CHAT_CHANNEL_ERR_STATE;
  case CHAT_V2_ERR_CLOSED:
    return CHAT_CHANNEL_ERR_CLOSED;
  case CHAT_V2_ERR_INVALID_ARGUMENT:
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  case CHAT_V2_ERR_TRUNCATED:
    return CHAT_CHANNEL_ERR_TRUNCATED;
  default:
    return rc;
  }
}

/* ---- seed ---------------------------------------------------------------- */

static int seed_start(chat_channel *ch) {
  int rc = chat_seed_channel_start(ch->engine.seed);
  if (rc == 0 && !ch->is_server) {
    /* The key log names a seed session by the public value the client
     * sends: all that is in the output right now. */
    const uint8_t *a;
    size_t a_len;
    rc = chat_seed_channel_output(ch->engine.seed, &a, &a_len);
    if (rc == 0)
      chat_keylog_seed_session_id(a, a_len, ch->seed_session_id);
  }
  return map_seed(rc);
}

static ptrdiff_t seed_feed(chat_channel *ch, const uint8_t *data, size_t len) {
  if (!chat_seed_channel_is_established(ch->engine.seed) &&
      chat_seed_channel_error(ch->engine.seed) == 0) {
    /* As the seed does: the bytes of this one read are the peer's value. */
    int rc = chat_seed_channel_receive_public(ch->engine.seed, data, len);
    if (rc < 0)
      return map_seed(rc);
    if (ch->is_server)
      chat_keylog_seed_session_id(data, len, ch->seed_session_id);
    return (ptrdiff_t)len;
  }
  ptrdiff_t used = chat_seed_channel_feed(ch->engine.seed, data, len);
  return used < 0 ? map_seed((int)used) : used;
}

static bool seed_is_established(const chat_channel *ch) {
  return chat_seed_channel_is_established(ch->engine.seed);
}

static int seed_next_message(chat_channel *ch, const uint8_t **msg, size_t *len) {
  int rc = chat_seed_channel_next_message(ch->engine.seed, msg, len);
  return rc < 0 ? map_seed(rc) : rc;
}

static int seed_send(chat_channel *ch, const uint8_t *msg, size_t len) {
  if (ch->closed)
    return CHAT_CHANNEL_ERR_CLOSED;
  return map_seed(chat_seed_channel_send(ch->engine.seed, msg, len));
}

static int seed_output(chat_channel *ch, const uint8_t **data, size_t *len) {
  return map_seed(chat_seed_channel_output(ch->engine.seed, data, len));
}

static int seed_output_consumed(chat_channel *ch, size_t n) {
  return map_seed(chat_seed_channel_output_consumed(ch->engine.seed, n));
}

static bool seed_output_idle(const chat_channel *ch) {
  return chat_seed_channel_output_idle(ch->engine.seed);
}

static int seed_close(chat_channel *ch) {
  if (!chat_seed_channel_is_established(ch->engine.seed))
    return CHAT_CHANNEL_ERR_STATE;
  if (ch->closed)
    return CHAT_CHANNEL_ERR_CLOSED;
  ch->closed = true; /* the seed dialect ends with the stream itself */
  return 0;
}

static bool seed_peer_closed(const chat_channel *ch) {
  (void)ch;
  return false; /* the seed dialect has no CLOSE; its end is the stream's */
}

static int seed_eof(chat_channel *ch) {
  if (!chat_seed_channel_is_established(ch->engine.seed))
    return fail(ch, CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE,
                "the peer closed the connection during the handshake");
  return 0;
}

static int seed_log_keys(const chat_channel *ch, chat_keylog *keylog) {
  uint8_t key[CHAT_SEED_KEY_BYTES];
  int rc = chat_seed_channel_session_key(ch->engine.seed, key);
  if (rc == 0)
    rc = chat_keylog_write(keylog, CHAT_KEYLOG_LABEL_SEED, ch->seed_session_id,
                           sizeof ch->seed_session_id, key, sizeof key);
  else
    rc = map_seed(rc);
  explicit_bzero(key, sizeof key);
  return rc;
}

static int seed_error(const chat_channel *ch) {
  return chat_seed_channel_error(ch->engine.seed);
}

static const char *seed_error_message(const chat_channel *ch) {
  return chat_seed_channel_error_message(ch->engine.seed);
}

static void seed_free(chat_channel *ch) {
  chat_seed_channel_free(ch->engine.seed);
}

static const channel_ops seed_ops = {
    .start = seed_start,
    .feed = seed_feed,
    .is_established = seed_is_established,
    .next_message = seed_next_message,
    .send = seed_send,
    .output = seed_output,
    .output_consumed = seed_output_consumed,
    .output_idle = seed_output_idle,
    .close = seed_close,
    .peer_closed = seed_peer_closed,
    .eof = seed_eof,
    .log_keys = seed_log_keys,
    .error = seed_error,
    .error_message = seed_error_message,
    .free = seed_free,
};

/* ---- v2 ------------------------------------------------------------------ */

static int v2_start(chat_channel *ch) {
  return map_v2(chat_v2_channel_start(ch->engine.v2));
}

static ptrdiff_t v2_feed(chat_channel *ch, const uint8_t *data, size_t len) {
  ptrdiff_t used = chat_v2_channel_feed(ch->engine.v2, data, len);
  return used < 0 ? map_v2((int)used) : used;
}

static bool v2_is_established(const chat_channel *ch) {
  return chat_v2_channel_is_established(ch->engine.v2);
}

static int v2_next_message(chat_channel *ch, const uint8_t **msg, size_t *len) {
  int rc = chat_v2_channel_next_message(ch->engine.v2, msg, len);
  return rc < 0 ? map_v2(rc) : rc;
}

static int v2_send(chat_channel *ch, const uint8_t *msg, size_t len) {
  return map_v2(chat_v2_channel_send(ch->engine.v2, msg, len));
}

static int v2_output(chat_channel *ch, const uint8_t **data, size_t *len) {
  return map_v2(chat_v2_channel_output(ch->engine.v2, data, len));
}

static int v2_output_consumed(chat_channel *ch, size_t n) {
  return map_v2(chat_v2_channel_output_consumed(ch->engine.v2, n));
}

static bool v2_output_idle(const chat_channel *ch) {
  return chat_v2_channel_output_idle(ch->engine.v2);
}

static int v2_close(chat_channel *ch) {
  int rc = map_v2(chat_v2_channel_close(ch->engine.v2));
  if (rc == 0)
    ch->closed = true;
  return rc;
}

static bool v2_peer_closed(const chat_channel *ch) {
  return chat_v2_channel_peer_closed(ch->engine.v2);
}

static int v2_eof(chat_channel *ch) {
  if (!chat_v2_channel_is_established(ch->engine.v2) && chat_v2_channel_error(ch->engine.v2) == 0)
    return fail(ch, CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE,
                "the peer closed the connection during the handshake");
  return map_v2(chat_v2_channel_eof(ch->engine.v2));
}

static int v2_log_keys(const chat_channel *ch, chat_keylog *keylog) {
  uint8_t session_id[CHAT_V2_SESSION_ID_LEN];
  uint8_t c2s[CHAT_V2_KEY_LEN];
  uint8_t s2c[CHAT_V2_KEY_LEN];
  int rc = chat_v2_channel_session_keys(ch->engine.v2, session_id, c2s, s2c);
  if (rc == 0)
    rc = chat_keylog_write_v2(keylog, session_id, c2s, s2c);
  else
    rc = map_v2(rc);
  explicit_bzero(c2s, sizeof c2s);
  explicit_bzero(s2c, sizeof s2c);
  return rc;
}

static int v2_error(const chat_channel *ch) {
  return chat_v2_channel_error(ch->engine.v2);
}

static const char *v2_error_message(const chat_channel *ch) {
  return chat_v2_channel_error_message(ch->engine.v2);
}

static void v2_free(chat_channel *ch) {
  chat_v2_channel_free(ch->engine.v2);
}

static const channel_ops v2_ops = {
    .start = v2_start,
    .feed = v2_feed,
    .is_established = v2_is_established,
    .next_message = v2_next_message,
    .send = v2_send,
    .output = v2_output,
    .output_consumed = v2_output_consumed,
    .output_idle = v2_output_idle,
    .close = v2_close,
    .peer_closed = v2_peer_closed,
    .eof = v2_eof,
    .log_keys = v2_log_keys,
    .error = v2_error,
    .error_message = v2_error_message,
    .free = v2_free,
};

/* ---- making the engines -------------------------------------------------- */

/* The seed's max_frame caps L, the padded plaintext length. */
static size_t seed_max_frame(size_t max_message) {
  return (max_message + CHAT_SEED_BLOCK_BYTES - 1) / CHAT_SEED_BLOCK_BYTES * CHAT_SEED_BLOCK_BYTES;
}

static int make_engine(chat_channel *ch, chat_dialect dialect) {
  const chat_channel_config *config = &ch->config;
  int rc;
  if (dialect == CHAT_DIALECT_V2) {
    chat_v2_config v2;
    chat_v2_config_init(&v2);
    v2.suite = config->v2_suite;
    v2.max_message = config->max_message;
    v2.max_queue_bytes = config->max_queue;
    v2.rekey_bytes = config->rekey_bytes;
    v2.transit = config->transit;
    if (ch->is_server) {
      v2.server_private_key = config->server_private_key;
      v2.server_info = config->server_info;
      v2.server_info_len = config->server_info_len;
    } else {
      v2.client_info = config->client_info;
      v2.client_info_len = config->client_info_len;
    }
    rc = chat_v2_channel_new(ch->is_server ? CHAT_V2_ROLE_SERVER : CHAT_V2_ROLE_CLIENT, &v2,
                             &ch->engine.v2);
    if (rc < 0)
      return fail(ch, map_v2(rc), "cannot create the v2 channel: %s", chat_strerror(rc));
    ch->ops = &v2_ops;
    return 0;
  }
  size_t max_frame = seed_max_frame(config->max_message);
  rc = chat_seed_channel_new(ch->is_server ? CHAT_SEED_ROLE_SERVER : CHAT_SEED_ROLE_CLIENT,
                             config->seed_group, max_frame, &ch->engine.seed);
  if (rc == 0)
    rc = chat_seed_channel_set_limits(
        ch->engine.seed, max_frame, config->max_queue > max_frame ? config->max_queue : max_frame);
  if (rc == 0)
    rc = chat_seed_channel_set_transit(ch->engine.seed, config->transit);
  if (rc < 0) {
    chat_seed_channel_free(ch->engine.seed);
    ch->engine.seed = NULL;
    return fail(ch, map_seed(rc), "cannot create the seed channel: %s", chat_strerror(rc));
  }
  ch->ops = &seed_ops;
  return 0;
}

void chat_channel_config_init(chat_channel_config *config) {
  memset(config, 0, sizeof *config);
  config->max_message = CHAT_V2_DEFAULT_MAX_MESSAGE;
  config->max_queue = CHAT_V2_DEFAULT_MAX_QUEUE_BYTES;
  config->v2_suite = CHAT_V2_SUITE_ANY;
  config->rekey_bytes = CHAT_V2_DEFAULT_REKEY_BYTES;
}

static bool config_valid(const chat_channel_config *config) {
  return config->max_message >= 1 && config->max_message <= CHAT_V2_MAX_MESSAGE_LIMIT &&
         config->max_queue >= config->max_message && config->rekey_bytes >= 1 &&
         (config->v2_suite == CHAT_V2_SUITE_ANY || config->v2_suite == CHAT_V2_SUITE_AESGCM ||
          config->v2_suite == CHAT_V2_SUITE_CHACHAPOLY) &&
         config->server_info_len <= CHAT_V2_MAX_SERVER_INFO &&
         (config->server_info != NULL || config->server_info_len == 0) &&
         config->client_info_len <= CHAT_V2_MAX_CLIENT_INFO &&
         (config->client_info != NULL || config->client_info_len == 0);
}

static chat_channel *channel_alloc(const chat_channel_config *config, bool is_server) {
  chat_channel *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return NULL;
  ch->config = *config;
  ch->is_server = is_server;
  ch->dialect = CHAT_DIALECT_UNKNOWN;
  return ch;
}

int chat_channel_new_server(const chat_channel_config *config, chat_channel **out) {
  if (out == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (config == NULL || !config_valid(config) || config->server_private_key == NULL ||
      (config->allow_seed && config->seed_group == NULL))
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  *out = channel_alloc(config, true);
  return *out == NULL ? CHAT_CHANNEL_ERR_NOMEM : 0;
}

int chat_channel_new_client(chat_dialect dialect, const chat_channel_config *config,
                            chat_channel **out) {
  if (out == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (config == NULL || !config_valid(config) ||
      (dialect != CHAT_DIALECT_SEED && dialect != CHAT_DIALECT_V2) ||
      (dialect == CHAT_DIALECT_SEED && config->seed_group == NULL))
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  chat_channel *ch = channel_alloc(config, false);
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_NOMEM;
  ch->dialect = dialect;
  int rc = make_engine(ch, dialect);
  if (rc < 0) {
    chat_channel_free(ch);
    return rc;
  }
  *out = ch;
  return 0;
}

void chat_channel_free(chat_channel *ch) {
  if (ch == NULL)
    return;
  if (ch->ops != NULL)
    ch->ops->free(ch);
  explicit_bzero(ch, sizeof *ch);
  free(ch);
}

/* ---- the calls ------------------------------------------------------------ */

int chat_channel_error(const chat_channel *ch) {
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0 || ch->ops == NULL)
    return ch->error;
  return ch->ops->error(ch);
}

const char *chat_channel_error_message(const chat_channel *ch) {
  if (ch == NULL)
    return "";
  if (ch->error != 0 || ch->ops == NULL)
    return ch->reason;
  const char *reason = ch->ops->error_message(ch);
  int code = ch->ops->error(ch);
  return reason[0] != '\0' || code == 0 ? reason : chat_strerror(code);
}

int chat_channel_start(chat_channel *ch) {
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->started)
    return CHAT_CHANNEL_ERR_STATE;
  ch->started = true;
  if (ch->is_server)
    return 0;
  return ch->ops->start(ch);
}

size_t chat_channel_read_limit(const chat_channel *ch) {
  if (ch == NULL || ch->ops == NULL ||
      (ch->ops == &seed_ops && !chat_seed_channel_is_established(ch->engine.seed)))
    return CHAT_SEED_PUBLIC_READ_MAX;
  return SIZE_MAX;
}

/* A server's first bytes: pick the engine. */
static int pick_dialect(chat_channel *ch, uint8_t first_byte) {
  ch->dialect = first_byte == V2_PREAMBLE_FIRST_BYTE ? CHAT_DIALECT_V2 : CHAT_DIALECT_SEED;
  if (ch->dialect == CHAT_DIALECT_V2)
    return make_engine(ch, CHAT_DIALECT_V2);
  if (!ch->config.allow_seed)
    return fail(ch, CHAT_CHANNEL_ERR_LEGACY_REFUSED,
                "seed-dialect client refused (first byte 0x%02x, not a v2 preamble): the "
                "legacy dialect is disabled (allow_legacy is false)",
                first_byte);
  return make_engine(ch, CHAT_DIALECT_SEED);
}

ptrdiff_t chat_channel_feed(chat_channel *ch, const uint8_t *data, size_t len) {
  if (ch == NULL || (data == NULL && len > 0))
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  int error = chat_channel_error(ch);
  if (error != 0)
    return error;
  if (len == 0)
    return 0;
  if (ch->ops == NULL) {
    int rc = pick_dialect(ch, data[0]);
    if (rc < 0)
      return rc;
  }
  return ch->ops->feed(ch, data, len);
}

bool chat_channel_is_established(const chat_channel *ch) {
  return ch != NULL && ch->error == 0 && ch->ops != NULL && ch->ops->is_established(ch);
}

chat_dialect chat_channel_get_dialect(const chat_channel *ch) {
  return ch == NULL ? CHAT_DIALECT_UNKNOWN : ch->dialect;
}

int chat_channel_next_message(chat_channel *ch, const uint8_t **msg, size_t *len) {
  if (ch == NULL || msg == NULL || len == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return 0;
  return ch->ops->next_message(ch, msg, len);
}

int chat_channel_set_limits(chat_channel *ch, size_t max_message, size_t max_queue) {
  if (ch == NULL || max_message == 0 || max_message > CHAT_V2_MAX_MESSAGE_LIMIT ||
      max_queue < max_message)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  ch->config.max_message = max_message;
  ch->config.max_queue = max_queue;
  if (ch->ops == &v2_ops)
    return map_v2(chat_v2_channel_set_limits(ch->engine.v2, max_message, max_queue));
  if (ch->ops == &seed_ops) {
    size_t max_frame = seed_max_frame(max_message);
    return map_seed(chat_seed_channel_set_limits(ch->engine.seed, max_frame,
                                                 max_queue > max_frame ? max_queue : max_frame));
  }
  return 0;
}

int chat_channel_send(chat_channel *ch, const uint8_t *msg, size_t len) {
  if (ch == NULL || (msg == NULL && len > 0))
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return CHAT_CHANNEL_ERR_STATE;
  if (len == 0 || len > ch->config.max_message)
    return CHAT_CHANNEL_ERR_MESSAGE_SIZE;
  return ch->ops->send(ch, msg, len);
}

int chat_channel_output(chat_channel *ch, const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  *data = NULL;
  *len = 0;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return 0;
  return ch->ops->output(ch, data, len);
}

int chat_channel_output_consumed(chat_channel *ch, size_t n) {
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return n == 0 ? 0 : CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  return ch->ops->output_consumed(ch, n);
}

bool chat_channel_output_idle(const chat_channel *ch) {
  return ch == NULL || ch->error != 0 || ch->ops == NULL || ch->ops->output_idle(ch);
}

int chat_channel_close(chat_channel *ch) {
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return CHAT_CHANNEL_ERR_STATE;
  return ch->ops->close(ch);
}

bool chat_channel_peer_closed(const chat_channel *ch) {
  return ch != NULL && ch->ops != NULL && ch->ops->peer_closed(ch);
}

int chat_channel_eof(chat_channel *ch) {
  if (ch == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops == NULL)
    return fail(ch, CHAT_CHANNEL_ERR_EOF_IN_HANDSHAKE,
                "the peer closed the connection during the handshake");
  return ch->ops->eof(ch);
}

int chat_channel_server_key(const chat_channel *ch, uint8_t out[CHAT_V2_KEY_LEN]) {
  if (ch == NULL || out == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops != &v2_ops)
    return CHAT_CHANNEL_ERR_STATE;
  return map_v2(chat_v2_channel_server_static(ch->engine.v2, out));
}

/* A v2 handshake payload through get (server-info or client-info). */
static int handshake_info(const chat_channel *ch,
                          int (*get)(const chat_v2_channel *, const uint8_t **, size_t *),
                          const uint8_t **data, size_t *len) {
  if (ch == NULL || data == NULL || len == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  *data = NULL;
  *len = 0;
  if (ch->error != 0)
    return ch->error;
  if (ch->ops != &v2_ops)
    return CHAT_CHANNEL_ERR_STATE;
  return map_v2(get(ch->engine.v2, data, len));
}

int chat_channel_server_info(const chat_channel *ch, const uint8_t **data, size_t *len) {
  return handshake_info(ch, chat_v2_channel_server_info, data, len);
}

int chat_channel_client_info(const chat_channel *ch, const uint8_t **data, size_t *len) {
  return handshake_info(ch, chat_v2_channel_client_info, data, len);
}

int chat_channel_log_keys(const chat_channel *ch, chat_keylog *keylog) {
  if (ch == NULL || keylog == NULL)
    return CHAT_CHANNEL_ERR_INVALID_ARGUMENT;
  if (!chat_channel_is_established(ch))
    return CHAT_CHANNEL_ERR_STATE;
  return ch->ops->log_keys(ch, keylog);
}
