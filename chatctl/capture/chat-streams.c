/* Chat connections in a capture. See chat-streams.h. */
#include "chatctl/capture/chat-streams.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/keylog.h"
#include "protocol/seed-decoder.h"
#include "protocol/v2-channel.h"

/* The session id as hex, with its NUL. */
#define SESSION_ID_HEX_MAX (2u * CHAT_KEYLOG_ID_LEN + 1u)
/* A seed peer reads the other's DH value with one read of this many bytes:
 * a longer first flight is not a DH value. */
#define SEED_PUBLIC_MAX CHAT_SEED_PUBLIC_READ_MAX
/* A first flight of at least this many bytes, all printable text, is some
 * other protocol (HTTP, SMTP, ...), not a DH value. */
#define TEXT_PROBE_MIN 4u
/* Characters of such text quoted in the note. */
#define TEXT_QUOTE_MAX 40u
/* The v2 preamble's magic: 0x00 "CHAT". */
static const uint8_t v2_magic[CHAT_V2_MAGIC_LEN] = {0x00, 'C', 'H', 'A', 'T'};

typedef enum {
  PHASE_START, /* nothing from the client yet */
  PHASE_V2,
  PHASE_SEED_CLIENT_PUBLIC, /* reading the client's DH value */
  PHASE_SEED_SERVER_PUBLIC, /* reading the server's DH value */
  PHASE_SEED_FRAMES,
  PHASE_NOT_CHAT,
} conn_phase;

struct chat_dump {
  chat_dump_config config;
  tcp_streams *tcp;
  chat_dump_stats stats;
};

typedef struct {
  chat_dump *dump;
  const tcp_connection_info *info;
  chat_dump_connection conn;
  bool candidate; /* not on the port: followed while it may be v2 */
  bool announced;
  conn_phase phase;
  chat_dialect dialect;
  bool done[2]; /* nothing more is decoded in that direction */
  uint64_t bytes[2];
  /* v2 */
  chat_v2_stream_decoder *v2[2];
  uint8_t suite;
  bool have_key[2];
  uint8_t key[2][CHAT_V2_KEY_LEN];
  /* seed */
  uint8_t client_public[SEED_PUBLIC_MAX];
  size_t client_public_len;
  size_t server_public_len;
  bool server_public_reported;
  bool have_seed_key;
  uint8_t seed_key[CHAT_SEED_KEY_BYTES];
  chat_seed_decoder *seed[2];
} dump_conn;

/* Optional numbers of a note. */
typedef struct {
  bool has_length;
  uint64_t length;
  bool has_offset;
  uint64_t offset;
  bool has_missing;
  uint64_t missing;
  const char *session_id;
} note_extras;

static const char *suite_name(uint8_t suite) {
  switch (suite) {
  case CHAT_V2_SUITE_AESGCM:
    return "Noise_NX_25519_AESGCM_SHA256";
  case CHAT_V2_SUITE_CHACHAPOLY:
    return "Noise_NX_25519_ChaChaPoly_SHA256";
  default:
    return "unknown suite";
  }
}

static void to_hex(const uint8_t *data, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0Fu];
  }
  out[2 * len] = '\0';
}

/* ---- notes -------------------------------------------------------------- */

static void emit_note(dump_conn *c, int dir, uint64_t time, const char *event,
                      const note_extras *extras, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* dir: a tcp_direction, or -1 for the connection as a whole. */
static void emit_note(dump_conn *c, int dir, uint64_t time, const char *event,
                      const note_extras *extras, const char *fmt, ...) {
  char text[CHAT_DUMP_NOTE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  chat_dump_item item;
  memset(&item, 0, sizeof item);
  item.kind = CHAT_DUMP_ITEM_NOTE;
  item.time_usec = time;
  item.connection = &c->conn;
  item.has_direction = dir >= 0;
  item.direction = dir >= 0 ? (tcp_direction)dir : TCP_CLIENT_TO_SERVER;
  item.dialect = c->dialect;
  item.event = event;
  item.text = text;
  if (extras != NULL) {
    item.has_length = extras->has_length;
    item.length = extras->length;
    item.has_offset = extras->has_offset;
    item.offset = extras->offset;
    item.has_missing = extras->has_missing;
    item.missing = extras->missing;
    item.session_id = extras->session_id;
  }
  c->dump->config.sink(c->dump->config.sink_user, &item);
}

static void emit_message(dump_conn *c, tcp_direction dir, uint64_t time, const uint8_t *data,
                         size_t len) {
  chat_dump_item item;
  memset(&item, 0, sizeof item);
  item.kind = CHAT_DUMP_ITEM_MESSAGE;
  item.time_usec = time;
  item.connection = &c->conn;
  item.has_direction = true;
  item.direction = dir;
  item.dialect = c->dialect;
  item.data = data;
  item.len = len;
  c->dump->stats.messages++;
  c->dump->config.sink(c->dump->config.sink_user, &item);
}

static void announce(dump_conn *c, uint64_t time) {
  if (c->announced)
    return;
  c->announced = true;
  c->dump->stats.connections++;
  emit_note(c, -1, time, "connection", NULL, "%s: new connection%s", c->conn.text,
            c->info->saw_syn[TCP_CLIENT_TO_SERVER]
                ? ""
                : " (no SYN captured: it was already open, or its start is missing)");
}

/* The connection is not chat: say why (when it was shown) and stop. */
static tcp_verdict not_chat(dump_conn *c, uint64_t time, const char *why) {
  c->dialect = CHAT_DIALECT_UNKNOWN;
  if (c->announced) {
    c->dump->stats.not_chat++;
    emit_note(c, -1, time, "not_chat", NULL, "not a chat connection: %s", why);
  }
  c->phase = PHASE_NOT_CHAT;
  c->done[0] = c->done[1] = true;
  return TCP_STOP_CONNECTION;
}

/* The name of a decoder's error as a note shows it: without the prefix the
 * one error space gives the generic names of a band ("truncated", not
 * "v2_truncated"), the dialect being known from the connection. */
static const char *decode_error_name(int code, const char *band_prefix) {
  const char *name = chat_error_name(code);
  if (name == NULL)
    return "error";
  size_t n = strlen(band_prefix);
  return strncmp(name, band_prefix, n) == 0 ? name + n : name;
}

/* ---- v2 ----------------------------------------------------------------- */

static void v2_error(dump_conn *c, tcp_direction dir, uint64_t time, chat_v2_stream_decoder *dec) {
  int code = chat_v2_stream_decoder_error(dec);
  note_extras ex = {.has_offset = true, .offset = chat_v2_stream_decoder_error_offset(dec)};
  const char *reason = chat_v2_stream_decoder_error_message(dec);
  if (dir == TCP_CLIENT_TO_SERVER && code == CHAT_V2_ERR_BAD_MAGIC) {
    /* 0x00 and then not "CHAT": some other protocol. */
    not_chat(c, time, "it starts with 0x00 but not with the v2 preamble");
    return;
  }
  emit_note(c, dir, time, "decode_error", &ex, "cannot decode further (%s): %s",
            decode_error_name(code, "v2_"), reason[0] ? reason : chat_strerror(code));
  c->done[dir] = true;
}

static void v2_look_up_keys(dump_conn *c, uint64_t time, const uint8_t id[CHAT_V2_SESSION_ID_LEN],
                            const char *id_hex) {
  const keylog_table *keys = c->dump->config.keys;
  c->have_key[TCP_CLIENT_TO_SERVER] =
      keylog_table_find(keys, CHAT_KEYLOG_V2_C2S, id, c->key[TCP_CLIENT_TO_SERVER]);
  c->have_key[TCP_SERVER_TO_CLIENT] =
      keylog_table_find(keys, CHAT_KEYLOG_V2_S2C, id, c->key[TCP_SERVER_TO_CLIENT]);
  note_extras ex = {.session_id = id_hex};
  bool c2s = c->have_key[TCP_CLIENT_TO_SERVER], s2c = c->have_key[TCP_SERVER_TO_CLIENT];
  if (c2s && s2c) {
    emit_note(c, -1, time, "keys", &ex, "keys found in the key log for session id %s", id_hex);
  } else if (!c2s && !s2c) {
    c->dump->stats.without_keys++;
    emit_note(c, -1, time, "no_key", &ex,
              "no key found in the key log for session id %s: records are shown by size only",
              id_hex);
  } else {
    emit_note(c, -1, time, "no_key", &ex, "only the %s key found in the key log for session id %s",
              c2s ? "c->s" : "s->c", id_hex);
  }
  chat_v2_stream_decoder *c2s_dec = c->v2[TCP_CLIENT_TO_SERVER];
  if (c2s && c2s_dec != NULL)
    chat_v2_stream_decoder_set_key(c2s_dec, c->key[TCP_CLIENT_TO_SERVER]);
  chat_v2_stream_decoder *s2c_dec = c->v2[TCP_SERVER_TO_CLIENT];
  if (s2c && s2c_dec != NULL &&
      chat_v2_stream_decoder_set_key(s2c_dec, c->key[TCP_SERVER_TO_CLIENT]) < 0)
    emit_note(c, TCP_SERVER_TO_CLIENT, time, "no_key", NULL,
              "the s->c key came too late to decrypt this direction");
}

static void v2_event(dump_conn *c, tcp_direction dir, uint64_t time,
                     const chat_v2_stream_event *ev) {
  note_extras ex = {
      .has_length = true, .length = ev->wire_len, .has_offset = true, .offset = ev->offset};
  switch (ev->kind) {
  case CHAT_V2_EVENT_PREAMBLE:
    c->suite = ev->suite;
    c->dump->stats.v2++;
    emit_note(c, dir, time, "preamble", &ex, "preamble: version %u, suite %u (%s), %zu bytes",
              (unsigned)ev->version, (unsigned)ev->suite, suite_name(ev->suite), ev->wire_len);
    break;
  case CHAT_V2_EVENT_HANDSHAKE:
    if (ev->handshake_message == 1 && ev->has_session_id) {
      char id[SESSION_ID_HEX_MAX];
      to_hex(ev->session_id, CHAT_V2_SESSION_ID_LEN, id);
      ex.session_id = id;
      emit_note(c, dir, time, "handshake", &ex,
                "handshake message 1: %zu bytes (the client's ephemeral key and %zu bytes of "
                "client info, in the clear); session id %s",
                ev->noise_len, ev->noise_len - CHAT_V2_HANDSHAKE1_LEN, id);
      v2_look_up_keys(c, time, ev->session_id, id);
    } else {
      size_t info = ev->noise_len >= CHAT_V2_HANDSHAKE2_MIN_LEN
                        ? ev->noise_len - CHAT_V2_HANDSHAKE2_MIN_LEN
                        : 0;
      emit_note(c, dir, time, "handshake", &ex,
                "handshake message 2: %zu bytes (the server's ephemeral key, its static key and "
                "%zu bytes of server info, encrypted with handshake keys)",
                ev->noise_len, info);
    }
    break;
  case CHAT_V2_EVENT_RECORD:
    if (!ev->decrypted)
      emit_note(c, dir, time, "record", &ex, "record: %zu bytes (encrypted)", ev->noise_len);
    else if (ev->record_type == CHAT_V2_RECORD_REKEY)
      emit_note(c, dir, time, "rekey", &ex, "REKEY record: the sender changed its key");
    else if (ev->record_type == CHAT_V2_RECORD_CLOSE)
      emit_note(c, dir, time, "close", &ex, "CLOSE record: the sender is done");
    break;
  case CHAT_V2_EVENT_MESSAGE:
    emit_message(c, dir, time, ev->data, ev->len);
    break;
  default:
    break;
  }
}

static chat_v2_stream_decoder *v2_decoder(dump_conn *c, tcp_direction dir, uint64_t time) {
  if (c->v2[dir] != NULL)
    return c->v2[dir];
  uint8_t suite = CHAT_V2_SUITE_ANY;
  const uint8_t *key = NULL;
  if (dir == TCP_SERVER_TO_CLIENT) {
    suite = c->suite; /* ANY until the preamble was seen */
    if (suite != CHAT_V2_SUITE_ANY && c->have_key[dir])
      key = c->key[dir];
  } else if (c->have_key[dir]) {
    key = c->key[dir];
  }
  int rc = chat_v2_stream_decoder_new(dir == TCP_CLIENT_TO_SERVER ? CHAT_V2_CLIENT_TO_SERVER
                                                                  : CHAT_V2_SERVER_TO_CLIENT,
                                      suite, key, 0, &c->v2[dir]);
  if (rc < 0) {
    emit_note(c, dir, time, "decode_error", NULL, "cannot decode: %s", chat_strerror(rc));
    c->done[dir] = true;
    return NULL;
  }
  return c->v2[dir];
}

/* A stream decoder (v2 or seed) as feed_decoder drives it. */
typedef union {
  chat_v2_stream_event v2;
  chat_seed_event seed;
} decoder_event;

typedef struct {
  ptrdiff_t (*feed)(void *dec, const uint8_t *data, size_t len);
  int (*next_event)(void *dec, decoder_event *ev); /* 1, 0 (none) or < 0 */
  void (*event)(dump_conn *c, tcp_direction dir, uint64_t time, const decoder_event *ev);
  void (*error)(dump_conn *c, tcp_direction dir, uint64_t time, void *dec);
} decoder_ops;

/* Feeds data to dec and reports its events, until all is taken, the
 * decoder wants no more for now, or the direction is done (an error). */
static void feed_decoder(dump_conn *c, tcp_direction dir, uint64_t time, void *dec,
                         const decoder_ops *ops, const uint8_t *data, size_t len) {
  while (dec != NULL && !c->done[dir]) {
    ptrdiff_t n = ops->feed(dec, data, len);
    if (n < 0) {
      ops->error(c, dir, time, dec);
      return;
    }
    decoder_event ev;
    int rc;
    size_t events = 0;
    while ((rc = ops->next_event(dec, &ev)) == 1) {
      ops->event(c, dir, time, &ev);
      events++;
    }
    if (rc < 0) {
      ops->error(c, dir, time, dec);
      return;
    }
    data += n;
    len -= (size_t)n;
    if (len == 0 || (n == 0 && events == 0))
      return;
  }
}

static ptrdiff_t v2_ops_feed(void *dec, const uint8_t *data, size_t len) {
  return chat_v2_stream_decoder_feed(dec, data, len);
}

static int v2_ops_next_event(void *dec, decoder_event *ev) {
  return chat_v2_stream_decoder_next_event(dec, &ev->v2);
}

static void v2_ops_event(dump_conn *c, tcp_direction dir, uint64_t time, const decoder_event *ev) {
  v2_event(c, dir, time, &ev->v2);
}

static void v2_ops_error(dump_conn *c, tcp_direction dir, uint64_t time, void *dec) {
  v2_error(c, dir, time, dec);
}

static const decoder_ops v2_ops = {v2_ops_feed, v2_ops_next_event, v2_ops_event, v2_ops_error};

static void v2_data(dump_conn *c, tcp_direction dir, uint64_t time, const uint8_t *data,
                    size_t len) {
  feed_decoder(c, dir, time, v2_decoder(c, dir, time), &v2_ops, data, len);
}

/* The end of a v2 direction: what was left unfinished goes to detail. */
static void v2_end(dump_conn *c, tcp_direction dir, char *detail, size_t detail_size) {
  chat_v2_stream_decoder *dec = c->v2[dir];
  if (dec == NULL || c->done[dir])
    return;
  if (chat_v2_stream_decoder_finish(dec) < 0)
    snprintf(detail, detail_size, "%s", chat_v2_stream_decoder_error_message(dec));
  c->done[dir] = true;
}

/* ---- seed --------------------------------------------------------------- */

static bool is_text(const uint8_t *data, size_t len) {
  if (len < TEXT_PROBE_MIN)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((data[i] >= 0x20 && data[i] < 0x7F) || data[i] == '\t' || data[i] == '\r' ||
          data[i] == '\n'))
      return false;
  return true;
}

/* The client's first flight is complete (the server answered, or the
 * stream ended). False when it is not a DH value. */
static bool seed_client_public_done(dump_conn *c, uint64_t time) {
  if (is_text(c->client_public, c->client_public_len)) {
    char quote[TEXT_QUOTE_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < c->client_public_len && n < TEXT_QUOTE_MAX; i++) {
      uint8_t b = c->client_public[i];
      if (b == '\r' || b == '\n')
        break;
      quote[n++] = (char)b;
    }
    quote[n] = '\0';
    char why[TEXT_QUOTE_MAX + 64];
    snprintf(why, sizeof why, "the client's first bytes are text (\"%s\")", quote);
    not_chat(c, time, why);
    return false;
  }
  c->dialect = CHAT_DIALECT_SEED;
  c->dump->stats.seed++;
  uint8_t id[CHAT_KEYLOG_ID_LEN];
  char id_hex[SESSION_ID_HEX_MAX];
  chat_keylog_seed_session_id(c->client_public, c->client_public_len, id);
  to_hex(id, sizeof id, id_hex);
  note_extras ex = {.has_length = true,
                    .length = c->client_public_len,
                    .has_offset = true,
                    .offset = 0,
                    .session_id = id_hex};
  emit_note(c, TCP_CLIENT_TO_SERVER, time, "dh_value", &ex,
            "client DH value: %zu bytes; session id (its SHA-256) %s", c->client_public_len,
            id_hex);
  c->have_seed_key = keylog_table_find(c->dump->config.keys, CHAT_KEYLOG_SEED, id, c->seed_key);
  ex.has_length = ex.has_offset = false;
  if (c->have_seed_key) {
    emit_note(c, -1, time, "keys", &ex, "key found in the key log for session id %s", id_hex);
  } else {
    c->dump->stats.without_keys++;
    emit_note(c, -1, time, "no_key", &ex,
              "no key found in the key log for session id %s: frames are shown by size only",
              id_hex);
  }
  return true;
}

static void seed_server_public_done(dump_conn *c, uint64_t time) {
  if (c->server_public_reported || c->server_public_len == 0)
    return;
  c->server_public_reported = true;
  note_extras ex = {
      .has_length = true, .length = c->server_public_len, .has_offset = true, .offset = 0};
  emit_note(c, TCP_SERVER_TO_CLIENT, time, "dh_value", &ex, "server DH value: %zu bytes",
            c->server_public_len);
}

static void seed_error(dump_conn *c, tcp_direction dir, uint64_t time, chat_seed_decoder *dec) {
  int code = chat_seed_decoder_error(dec);
  note_extras ex = {.has_offset = true, .offset = chat_seed_decoder_error_offset(dec)};
  emit_note(c, dir, time, "decode_error", &ex, "cannot decode further (%s): %s",
            decode_error_name(code, "seed_"), chat_seed_decoder_error_message(dec));
  c->done[dir] = true;
}

static void seed_event(dump_conn *c, tcp_direction dir, uint64_t time, const chat_seed_event *ev) {
  note_extras ex = {
      .has_length = true, .length = ev->wire_len, .has_offset = true, .offset = ev->offset};
  if (ev->kind == CHAT_SEED_EVENT_FRAME) {
    if (!ev->decrypted)
      emit_note(c, dir, time, "frame", &ex,
                "frame: %zu bytes of ciphertext, %u padding (%zu bytes on the wire)",
                ev->cipher_len, ev->pad, ev->wire_len);
  } else {
    emit_message(c, dir, time, ev->data, ev->len);
  }
}

static ptrdiff_t seed_ops_feed(void *dec, const uint8_t *data, size_t len) {
  return chat_seed_decoder_feed(dec, data, len);
}

static int seed_ops_next_event(void *dec, decoder_event *ev) {
  return chat_seed_decoder_next_event(dec, &ev->seed);
}

static void seed_ops_event(dump_conn *c, tcp_direction dir, uint64_t time,
                           const decoder_event *ev) {
  seed_event(c, dir, time, &ev->seed);
}

static void seed_ops_error(dump_conn *c, tcp_direction dir, uint64_t time, void *dec) {
  seed_error(c, dir, time, dec);
}

static const decoder_ops seed_ops = {seed_ops_feed, seed_ops_next_event, seed_ops_event,
                                     seed_ops_error};

static void seed_start_frames(dump_conn *c, uint64_t time) {
  seed_server_public_done(c, time);
  c->phase = PHASE_SEED_FRAMES;
  for (int d = 0; d < 2; d++) {
    if (c->done[d])
      continue;
    uint64_t start = d == TCP_CLIENT_TO_SERVER ? c->client_public_len : c->server_public_len;
    c->seed[d] = chat_seed_decoder_new(c->have_seed_key ? c->seed_key : NULL, 0, start);
    if (c->seed[d] == NULL) {
      emit_note(c, d, time, "decode_error", NULL, "out of memory");
      c->done[d] = true;
    }
  }
}

static tcp_verdict seed_data(dump_conn *c, tcp_direction dir, uint64_t time, const uint8_t *data,
                             size_t len) {
  switch (c->phase) {
  case PHASE_SEED_CLIENT_PUBLIC:
    if (dir == TCP_CLIENT_TO_SERVER) {
      if (len > SEED_PUBLIC_MAX - c->client_public_len)
        return not_chat(c, time, "the client's first flight is longer than any DH value");
      memcpy(c->client_public + c->client_public_len, data, len);
      c->client_public_len += len;
      return TCP_CONTINUE;
    }
    if (c->done[TCP_CLIENT_TO_SERVER]) {
      /* The client's value broke off: no session id (already noted). */
      c->dialect = CHAT_DIALECT_SEED;
    } else if (!seed_client_public_done(c, time)) {
      return TCP_STOP_CONNECTION;
    }
    c->phase = PHASE_SEED_SERVER_PUBLIC;
    /* fall through: these are the first bytes of the server's value */
    /* FALLTHROUGH */
  case PHASE_SEED_SERVER_PUBLIC:
    if (dir == TCP_SERVER_TO_CLIENT) {
      if (len > SEED_PUBLIC_MAX - c->server_public_len) {
        seed_server_public_done(c, time);
        emit_note(c, dir, time, "decode_error", NULL,
                  "the server sent over %d bytes before the client's first frame: not a DH "
                  "value",
                  SEED_PUBLIC_MAX);
        c->done[dir] = true;
        return TCP_STOP_DIRECTION;
      }
      c->server_public_len += len;
      return TCP_CONTINUE;
    }
    seed_start_frames(c, time);
    break;
  default:
    break;
  }
  feed_decoder(c, dir, time, c->seed[dir], &seed_ops, data, len);
  return c->done[dir] ? TCP_STOP_DIRECTION : TCP_CONTINUE;
}

static void seed_end(dump_conn *c, tcp_direction dir, uint64_t time, char *detail,
                     size_t detail_size) {
  if (c->phase == PHASE_SEED_CLIENT_PUBLIC && dir == TCP_CLIENT_TO_SERVER) {
    /* The client's value was never answered. */
    if (c->client_public_len > 0 && !c->done[dir] && seed_client_public_done(c, time))
      c->phase = PHASE_SEED_SERVER_PUBLIC;
    return;
  }
  if (c->phase == PHASE_SEED_SERVER_PUBLIC) {
    seed_server_public_done(c, time);
    return;
  }
  chat_seed_decoder *dec = c->seed[dir];
  if (c->phase != PHASE_SEED_FRAMES || dec == NULL || c->done[dir])
    return;
  if (chat_seed_decoder_finish(dec) < 0)
    snprintf(detail, detail_size, "%s", chat_seed_decoder_error_message(dec));
  c->done[dir] = true;
}

/* ---- tcp-streams callbacks ---------------------------------------------- */

static tcp_classification on_classify(void *user, const capture_segment *seg) {
  chat_dump *d = user;
  if (seg->dst.port == d->config.port)
    return TCP_FOLLOW_SRC_CLIENT;
  if (seg->src.port == d->config.port)
    return TCP_FOLLOW_SRC_SERVER;
  if (d->config.guess_ports && (seg->flags & CAPTURE_TCP_SYN) && !(seg->flags & CAPTURE_TCP_ACK))
    return TCP_FOLLOW_SRC_CLIENT;
  return TCP_IGNORE;
}

static void *on_open(void *user, const tcp_connection_info *info, uint64_t time) {
  chat_dump *d = user;
  dump_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->dump = d;
  c->info = info;
  c->dialect = CHAT_DIALECT_UNKNOWN;
  c->conn.number = info->number;
  char client[CAPTURE_ENDPOINT_TEXT_MAX], server[CAPTURE_ENDPOINT_TEXT_MAX];
  capture_endpoint_format(&info->client, client);
  capture_endpoint_format(&info->server, server);
  snprintf(c->conn.text, sizeof c->conn.text, "%s -> %s", client, server);
  c->candidate = info->server.port != d->config.port;
  c->phase = PHASE_START;
  if (!c->candidate)
    announce(c, time);
  return c;
}

static bool starts_like_v2(const uint8_t *data, size_t len) {
  size_t n = len < CHAT_V2_MAGIC_LEN ? len : CHAT_V2_MAGIC_LEN;
  return memcmp(data, v2_magic, n) == 0;
}

/* The client's first bytes decide the dialect. */
static tcp_verdict start(dump_conn *c, tcp_direction dir, uint64_t time, const uint8_t *data,
                         size_t len) {
  if (dir == TCP_SERVER_TO_CLIENT) {
    if (c->done[TCP_CLIENT_TO_SERVER])
      return not_chat(c, time, "the client's first bytes are missing: the dialect is unknown");
    return not_chat(c, time, "the server spoke first");
  }
  if (c->candidate) {
    if (!starts_like_v2(data, len))
      return not_chat(c, time, "no v2 preamble");
    announce(c, time);
  }
  if (data[0] == v2_magic[0]) {
    c->phase = PHASE_V2;
    c->dialect = CHAT_DIALECT_V2;
    return TCP_CONTINUE;
  }
  c->phase = PHASE_SEED_CLIENT_PUBLIC;
  c->dialect = CHAT_DIALECT_SEED;
  return TCP_CONTINUE;
}

static tcp_verdict on_data(void *user, void *ctx, tcp_direction dir, uint64_t time,
                           const uint8_t *data, size_t len) {
  (void)user;
  dump_conn *c = ctx;
  if (c == NULL)
    return TCP_STOP_CONNECTION;
  if (c->done[dir] || len == 0)
    return c->done[dir] ? TCP_STOP_DIRECTION : TCP_CONTINUE;
  c->bytes[dir] += len;
  if (c->phase == PHASE_START) {
    tcp_verdict v = start(c, dir, time, data, len);
    if (v != TCP_CONTINUE)
      return v;
  }
  switch (c->phase) {
  case PHASE_V2:
    v2_data(c, dir, time, data, len);
    if (c->phase == PHASE_NOT_CHAT)
      return TCP_STOP_CONNECTION;
    return c->done[dir] ? TCP_STOP_DIRECTION : TCP_CONTINUE;
  case PHASE_SEED_CLIENT_PUBLIC:
  case PHASE_SEED_SERVER_PUBLIC:
  case PHASE_SEED_FRAMES:
    return seed_data(c, dir, time, data, len);
  case PHASE_NOT_CHAT:
  case PHASE_START:
  default:
    return TCP_STOP_CONNECTION;
  }
}

static void on_broken(void *user, void *ctx, tcp_direction dir, uint64_t time, uint64_t offset,
                      uint64_t missing, tcp_break_reason reason) {
  chat_dump *d = user;
  dump_conn *c = ctx;
  if (c == NULL || !c->announced || c->phase == PHASE_NOT_CHAT)
    return;
  d->stats.breaks++;
  note_extras ex = {.has_offset = true, .offset = offset, .has_missing = true, .missing = missing};
  if (missing > 0)
    emit_note(c, dir, time, "stream_broken", &ex,
              "stream broken at byte %" PRIu64 ": %" PRIu64 " bytes missing (%s); this direction "
              "is not decoded further",
              offset, missing, tcp_break_reason_text(reason));
  else
    emit_note(c, dir, time, "stream_broken", &ex,
              "stream broken at byte %" PRIu64 ": bytes missing (%s); this direction is not "
              "decoded further",
              offset, tcp_break_reason_text(reason));
  c->done[dir] = true;
  /* A break is also news about the other side: the peer acknowledged the
   * missing bytes, so it had sent them (and read what came before). */
  if (c->phase == PHASE_SEED_CLIENT_PUBLIC && dir == TCP_CLIENT_TO_SERVER) {
    emit_note(c, -1, time, "no_key", NULL,
              "the client's DH value is incomplete: no session id, nothing can be decrypted");
  } else if (c->phase == PHASE_SEED_CLIENT_PUBLIC && dir == TCP_SERVER_TO_CLIENT) {
    /* The server answered: the client's first flight is complete. */
    if (c->client_public_len > 0 && seed_client_public_done(c, time))
      c->phase = PHASE_SEED_SERVER_PUBLIC;
  } else if (c->phase == PHASE_SEED_SERVER_PUBLIC && dir == TCP_CLIENT_TO_SERVER) {
    /* The client sent its first frame: the server's value is complete. */
    seed_start_frames(c, time);
  }
}

static void on_end(void *user, void *ctx, tcp_direction dir, uint64_t time, tcp_end_reason reason) {
  (void)user;
  dump_conn *c = ctx;
  if (c == NULL || !c->announced || c->phase == PHASE_NOT_CHAT)
    return;
  char detail[CHAT_DUMP_NOTE_MAX / 2] = "";
  if (c->phase == PHASE_V2)
    v2_end(c, dir, detail, sizeof detail);
  else if (c->phase != PHASE_START)
    seed_end(c, dir, time, detail, sizeof detail);
  if (c->phase == PHASE_NOT_CHAT)
    return;
  static const char *const reasons[] = {
      [TCP_END_FIN] = "FIN",
      [TCP_END_RST] = "reset",
      [TCP_END_CAPTURE] = "the capture ends",
      [TCP_END_REUSED] = "a new connection took over the addresses",
  };
  note_extras ex = {.has_length = true, .length = c->bytes[dir]};
  emit_note(c, dir, time, "end", &ex, "end of stream (%s) after %" PRIu64 " bytes%s%s",
            reasons[reason], c->bytes[dir], detail[0] ? "; " : "", detail);
}

static void on_close(void *user, void *ctx, uint64_t time) {
  (void)user;
  dump_conn *c = ctx;
  if (c == NULL)
    return;
  if (c->announced && c->phase == PHASE_START)
    emit_note(c, -1, time, "no_data", NULL, "the connection ended before the client sent anything");
  for (int d = 0; d < 2; d++) {
    chat_v2_stream_decoder_free(c->v2[d]);
    chat_seed_decoder_free(c->seed[d]);
  }
  explicit_bzero(c, sizeof *c);
  free(c);
}

/* ---- the API ------------------------------------------------------------ */

chat_dump *chat_dump_new(const chat_dump_config *config) {
  chat_dump *d = calloc(1, sizeof *d);
  if (d == NULL)
    return NULL;
  d->config = *config;
  static const tcp_callbacks callbacks = {
      .classify = on_classify,
      .open = on_open,
      .data = on_data,
      .broken = on_broken,
      .end = on_end,
      .close = on_close,
  };
  d->tcp = tcp_streams_new(&callbacks, d);
  if (d->tcp == NULL) {
    free(d);
    return NULL;
  }
  return d;
}

void chat_dump_segment(chat_dump *d, const capture_segment *seg) {
  tcp_streams_add(d->tcp, seg);
}

void chat_dump_finish(chat_dump *d, uint64_t time) {
  tcp_streams_finish(d->tcp, time);
}

const chat_dump_stats *chat_dump_get_stats(const chat_dump *d) {
  return &d->stats;
}

const tcp_streams_stats *chat_dump_get_tcp_stats(const chat_dump *d) {
  return tcp_streams_get_stats(d->tcp);
}

void chat_dump_free(chat_dump *d) {
  if (d == NULL)
    return;
  tcp_streams_free(d->tcp);
  free(d);
}
