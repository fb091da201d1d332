/* chatctl dump: the wire debugger. Reads a packet capture, follows the chat
 * connections in it and prints their handshakes and, with the session keys
 * from a key log, every message in capture order.
 *
 *   capture/pcap-reader    packets -> TCP segments
 *   capture/tcp-streams    segments -> ordered byte streams, breaks
 *   capture/chat-streams   streams -> dialect, handshake, keys, messages
 *   this file              options, and printing the messages and notes */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chatctl/capture/chat-streams.h"
#include "chatctl/capture/keylog-table.h"
#include "chatctl/capture/pcap-reader.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/options.h"
#include "protocol/catalogue.h"
#include "protocol/json.h"
#include "protocol/keylog.h"

/* Malformed key log lines reported one by one; then only a count. */
#define MAX_KEYLOG_WARNINGS 10u
/* "2024-05-01T12:00:00.123Z" with its NUL. */
#define TIME_TEXT_MAX 32u
#define USEC_PER_MSEC 1000u
#define MSEC_PER_SEC 1000u
#define PORT_MAX 65535ul

typedef struct {
  bool json;
  bool with_data;
  FILE *out;
  chat_buffer line;
  chat_arena arena;
  size_t keylog_warnings;
} printer;

/* ---- small writers ------------------------------------------------------ */

static void format_time(uint64_t usec, char out[TIME_TEXT_MAX]) {
  time_t sec = (time_t)(usec / (USEC_PER_MSEC * MSEC_PER_SEC));
  unsigned ms = (unsigned)((usec / USEC_PER_MSEC) % MSEC_PER_SEC);
  struct tm tm;
  if (gmtime_r(&sec, &tm) == NULL) {
    snprintf(out, TIME_TEXT_MAX, "?");
    return;
  }
  char date[TIME_TEXT_MAX];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, TIME_TEXT_MAX, "%.20s.%03uZ", date, ms);
}

static void append_text(chat_buffer *b, const char *s) {
  chat_buffer_append(b, s, strlen(s));
}

/* A JSON string; text that is not UTF-8 (it never should be) becomes "?". */
static void append_json_string(chat_buffer *b, const char *s) {
  if (chat_json_write_string(b, s, strlen(s)) == CHAT_ERR_UTF8)
    append_text(b, "\"?\"");
}

static void append_json_member(chat_buffer *b, const char *key, const char *value) {
  append_text(b, ", ");
  append_json_string(b, key);
  append_text(b, ": ");
  append_json_string(b, value);
}

static void append_json_number(chat_buffer *b, const char *key, uint64_t value) {
  char text[32];
  snprintf(text, sizeof text, "%" PRIu64, value);
  append_text(b, ", ");
  append_json_string(b, key);
  append_text(b, ": ");
  append_text(b, text);
}

static const char *direction_text(tcp_direction dir) {
  return dir == TCP_CLIENT_TO_SERVER ? "c->s" : "s->c";
}

static void flush_line(printer *p) {
  chat_buffer_append_byte(&p->line, '\n');
  if (!p->line.failed)
    fwrite(p->line.data, 1, p->line.len, p->out);
  else
    fputs("(out of memory printing this item)\n", p->out);
  chat_buffer_reset(&p->line);
  p->line.failed = false;
  p->line.failure = 0;
}

/* The start of a JSON object for an item: time, connection, direction,
 * dialect (the ones it has). */
static void json_item_start(printer *p, const chat_dump_item *item) {
  char when[TIME_TEXT_MAX];
  format_time(item->time_usec, when);
  append_text(&p->line, "{\"time\": ");
  append_json_string(&p->line, when);
  if (item->connection != NULL)
    append_json_member(&p->line, "connection", item->connection->text);
  if (item->has_direction)
    append_json_member(&p->line, "direction", direction_text(item->direction));
  if (item->dialect != CHAT_DIALECT_UNKNOWN)
    append_json_member(&p->line, "dialect", chat_dialect_name(item->dialect));
}

/* The start of a text line: time, #connection, direction, dialect. */
static void text_item_start(printer *p, const chat_dump_item *item) {
  char when[TIME_TEXT_MAX], head[TIME_TEXT_MAX + 64];
  format_time(item->time_usec, when);
  if (item->has_direction)
    snprintf(head, sizeof head, "%s #%" PRIu64 " %s %s ", when, item->connection->number,
             direction_text(item->direction), chat_dialect_name(item->dialect));
  else
    snprintf(head, sizeof head, "%s #%" PRIu64 " ", when, item->connection->number);
  append_text(&p->line, head);
}

/* ---- items -------------------------------------------------------------- */

static void print_note(printer *p, const chat_dump_item *item) {
  if (p->json) {
    json_item_start(p, item);
    append_json_member(&p->line, "event", item->event);
    append_json_member(&p->line, "note", item->text);
    if (item->has_length)
      append_json_number(&p->line, "length", item->length);
    if (item->has_offset)
      append_json_number(&p->line, "offset", item->offset);
    if (item->has_missing)
      append_json_number(&p->line, "missing", item->missing);
    if (item->session_id != NULL)
      append_json_member(&p->line, "session_id", item->session_id);
    append_text(&p->line, "}");
  } else {
    text_item_start(p, item);
    append_text(&p->line, "-- ");
    append_text(&p->line, item->text);
  }
  flush_line(p);
}

static void print_message(printer *p, const chat_dump_item *item) {
  chat_dialect dialect = item->dialect;
  chat_direction to = item->direction == TCP_CLIENT_TO_SERVER ? CHAT_TO_SERVER : CHAT_TO_CLIENT;
  chat_message_header header;
  chat_value *params;
  chat_error err;
  chat_arena_reset(&p->arena);
  if (chat_message_decode_with_id(dialect, item->data, item->len, NULL, CHAT_DECODE_BORROW,
                                  &p->arena, &header, &params, &err) != 0) {
    char text[CHAT_DUMP_NOTE_MAX];
    snprintf(text, sizeof text,
             "a message of %zu bytes that does not decode: %s (%s at offset %zu)", item->len,
             err.message, chat_error_name(err.code) ? chat_error_name(err.code) : "?", err.offset);
    chat_dump_item note = *item;
    note.kind = CHAT_DUMP_ITEM_NOTE;
    note.event = "bad_message";
    note.text = text;
    note.has_length = true;
    note.length = item->len;
    print_note(p, &note);
    return;
  }
  uint32_t type = header.type;
  const chat_message_info *info = chat_catalogue_lookup(type, dialect, to);
  const chat_message_info *any = info ? info : chat_catalogue_by_code(type);
  char problem[CHAT_DUMP_NOTE_MAX] = "";
  if (info == NULL)
    snprintf(problem, sizeof problem, "%s",
             any ? "not a message of this direction and dialect" : "unknown message type");
  else if (chat_catalogue_check(type, params, &err) != 0)
    snprintf(problem, sizeof problem, "parameters do not fit %s: %s", info->name, err.message);
  unsigned flags = p->with_data ? 0u : (unsigned)CHAT_JSON_BYTES_SUMMARY;

  if (p->json) {
    json_item_start(p, item);
    append_json_number(&p->line, "type", type);
    append_text(&p->line, ", \"name\": ");
    if (any != NULL)
      append_json_string(&p->line, any->name);
    else
      append_text(&p->line, "null");
    if (header.has_request_id)
      append_json_number(&p->line, "request_id", header.request_id);
    append_text(&p->line, ", \"params\": ");
    if (chat_value_write_json(params, flags, &p->line) != 0)
      append_text(&p->line, "null");
    if (problem[0])
      append_json_member(&p->line, "problem", problem);
    append_text(&p->line, "}");
  } else {
    text_item_start(p, item);
    char name[64];
    if (any != NULL)
      snprintf(name, sizeof name, "%s ", any->name);
    else
      snprintf(name, sizeof name, "unknown(%" PRIu32 ") ", type);
    append_text(&p->line, name);
    if (header.has_request_id) {
      char id[32];
      snprintf(id, sizeof id, "#%" PRIu32 " ", header.request_id);
      append_text(&p->line, id);
    }
    if (chat_value_write_json(params, flags, &p->line) != 0)
      append_text(&p->line, "(parameters not printable)");
    if (problem[0]) {
      append_text(&p->line, "  [");
      append_text(&p->line, problem);
      append_text(&p->line, "]");
    }
  }
  flush_line(p);
}

static void on_item(void *user, const chat_dump_item *item) {
  printer *p = user;
  if (item->kind == CHAT_DUMP_ITEM_MESSAGE)
    print_message(p, item);
  else
    print_note(p, item);
}

/* A line about the capture as a whole. */
static void print_capture_note(printer *p, const char *event, const char *text) {
  if (p->json) {
    append_text(&p->line, "{\"event\": ");
    append_json_string(&p->line, event);
    append_json_member(&p->line, "note", text);
    append_text(&p->line, "}");
  } else {
    append_text(&p->line, "-- ");
    append_text(&p->line, text);
  }
  flush_line(p);
}

static void print_summary(printer *p, const chat_dump_stats *s, const tcp_streams_stats *t,
                          const capture_stats *c, uint16_t port, bool guessing) {
  char text[CHAT_DUMP_NOTE_MAX];
  char skipped[160] = "";
  uint64_t other = c->not_tcp + c->fragments + c->malformed;
  if (other > 0)
    snprintf(skipped, sizeof skipped,
             "; %" PRIu64 " packets skipped (%" PRIu64 " not TCP, %" PRIu64
             " IP fragments, %" PRIu64 " malformed)",
             other, c->not_tcp, c->fragments, c->malformed);
  if (s->v2 + s->seed == 0) {
    snprintf(text, sizeof text,
             "no chat connections found (port %u%s; %" PRIu64 " packets, %" PRIu64
             " TCP segments%s)",
             (unsigned)port, guessing ? " and v2 preambles on any port" : "", c->packets,
             c->tcp_segments, skipped);
    print_capture_note(p, "no_chat_connections", text);
  } else {
    snprintf(text, sizeof text,
             "%" PRIu64 " chat connection%s (v2: %" PRIu64 ", seed: %" PRIu64 "), %" PRIu64
             " messages decoded, %" PRIu64 " session%s without keys, %" PRIu64
             " broken stream%s; %" PRIu64 " packets%s",
             s->v2 + s->seed, s->v2 + s->seed == 1 ? "" : "s", s->v2, s->seed, s->messages,
             s->without_keys, s->without_keys == 1 ? "" : "s", s->breaks, s->breaks == 1 ? "" : "s",
             c->packets, skipped);
    print_capture_note(p, "summary", text);
  }
  if (t->refused_full > 0) {
    snprintf(text, sizeof text,
             "%" PRIu64 " connections were not followed: %u were open at the same time already",
             t->refused_full, TCP_STREAMS_MAX_OPEN);
    print_capture_note(p, "not_followed", text);
  }
}

/* ---- options ------------------------------------------------------------ */

static void on_keylog_warning(void *user, const char *path, size_t line_number,
                              const char *reason) {
  printer *p = user;
  p->keylog_warnings++;
  if (p->keylog_warnings <= MAX_KEYLOG_WARNINGS)
    fprintf(stderr, "chatctl dump: key log %s line %zu skipped: %s\n", path, line_number, reason);
  else if (p->keylog_warnings == MAX_KEYLOG_WARNINGS + 1)
    fprintf(stderr, "chatctl dump: key log %s: more bad lines skipped\n", path);
}

static bool parse_port(const char *text, uint16_t *out) {
  if (text == NULL || text[0] < '0' || text[0] > '9')
    return false;
  char *end;
  unsigned long v = strtoul(text, &end, 10);
  if (*end != '\0' || v == 0 || v > PORT_MAX)
    return false;
  *out = (uint16_t)v;
  return true;
}

static int chatctl_dump(const chatctl_command *self, int argc, char **argv,
                        const chatctl_globals *globals) {
  const char *keylog_path = NULL, *capture_path = NULL;
  bool with_data = false, positional_only = false;
  for (int i = 1; i < argc; i++) {
    const char *value = NULL;
    int rc = positional_only ? 0 : chatctl_option_value(&i, argc, argv, "--keylog", &value);
    if (rc < 0)
      return chatctl_usage_error(self, "--keylog needs a file");
    if (rc > 0) {
      keylog_path = value;
    } else if (!positional_only && strcmp(argv[i], "--") == 0) {
      positional_only = true;
    } else if (!positional_only && chatctl_option_flag(argv, i, "--with-data")) {
      with_data = true;
    } else if (!positional_only && chatctl_is_option(argv[i])) {
      return chatctl_usage_error(self, "unknown option '%s'", argv[i]);
    } else if (capture_path != NULL) {
      return chatctl_usage_error(self, "one capture file only ('%s' and '%s')", capture_path,
                                 argv[i]);
    } else {
      capture_path = argv[i];
    }
  }
  if (capture_path == NULL)
    return chatctl_usage_error(self, "which capture file? (a pcap or pcapng file, or - for "
                                     "standard input)");
  uint16_t port = CHAT_DUMP_DEFAULT_PORT;
  if (globals->port != NULL && !parse_port(globals->port, &port))
    return chatctl_usage_error(self, "--port must be a number from 1 to 65535, not '%s'",
                               globals->port);

  printer p = {.json = globals->json, .with_data = with_data, .out = stdout};
  chat_buffer_init(&p.line);
  chat_arena_init(&p.arena);

  keylog_table *keys = NULL;
  char err[KEYLOG_TABLE_ERROR_MAX > CAPTURE_ERROR_MAX ? KEYLOG_TABLE_ERROR_MAX : CAPTURE_ERROR_MAX];
  if (keylog_path != NULL) {
    if (keylog_table_load(keylog_path, on_keylog_warning, &p, &keys, err) != 0)
      return chatctl_fail(CHATCTL_EXIT_USAGE, "%s", err);
  } else {
    const char *env = getenv(CHAT_KEYLOG_ENV);
    if (env != NULL && env[0] != '\0' &&
        keylog_table_load(env, on_keylog_warning, &p, &keys, err) != 0)
      fprintf(stderr, "chatctl dump: warning: $%s: %s; nothing will be decrypted\n",
              CHAT_KEYLOG_ENV, err);
  }

  capture_reader *reader = NULL;
  if (capture_reader_open(capture_path, &reader, err) != 0) {
    keylog_table_free(keys);
    return chatctl_fail(CHATCTL_EXIT_USAGE, "cannot read the capture %s: %s",
                        strcmp(capture_path, "-") == 0 ? "on standard input" : capture_path, err);
  }

  chat_dump_config config = {
      .keys = keys,
      .port = port,
      .guess_ports = globals->port == NULL,
      .sink = on_item,
      .sink_user = &p,
  };
  chat_dump *dump = chat_dump_new(&config);
  if (dump == NULL) {
    capture_reader_close(reader);
    keylog_table_free(keys);
    return chatctl_fail(CHATCTL_EXIT_USAGE, "out of memory");
  }
  capture_segment seg;
  int rc;
  while ((rc = capture_reader_next(reader, &seg)) == 1)
    chat_dump_segment(dump, &seg);
  if (rc < 0) {
    char text[CHAT_DUMP_NOTE_MAX];
    snprintf(text, sizeof text,
             "the capture file cannot be read past packet %" PRIu64 " (%s): decoded what came "
             "before",
             capture_reader_stats(reader)->packets, capture_reader_error(reader));
    print_capture_note(&p, "capture_truncated", text);
  }
  chat_dump_finish(dump, capture_reader_last_time(reader));
  print_summary(&p, chat_dump_get_stats(dump), chat_dump_get_tcp_stats(dump),
                capture_reader_stats(reader), port, config.guess_ports);
  if (rc < 0)
    fprintf(stderr, "chatctl dump: warning: the capture file cannot be read to its end: %s\n",
            capture_reader_error(reader));

  chat_dump_free(dump);
  capture_reader_close(reader);
  keylog_table_free(keys);
  chat_buffer_clear(&p.line);
  chat_arena_clear(&p.arena);
  fflush(stdout);
  return CHATCTL_EXIT_OK;
}

const chatctl_command chatctl_command_dump = {
    "dump",
    chatctl_dump,
    "decode the chat connections in a packet capture (pcap/pcapng)",
    "dump [--keylog FILE] [--port P] [--json] [--with-data] CAPTURE",
    "Reads a packet capture (pcap or pcapng, as written by tcpdump or Wireshark;\n"
    "- reads it from standard input), reassembles the TCP streams of the chat\n"
    "port and prints each chat connection: its dialect (v2 or seed), the\n"
    "handshake, and, when the key log holds the session's keys, every message\n"
    "in capture order, both directions merged, with its time (UTC), direction,\n"
    "type name and parameters as JSON. Without a key it shows the handshake,\n"
    "the session id it looked for, and every record or frame by size. Lost or\n"
    "missing packets are noted (\"stream broken at byte N: M bytes missing\") and\n"
    "that direction is not decoded further.\n"
    "\n"
    "Link types: Ethernet, Linux cooked (SLL, SLL2), BSD loopback, raw IP;\n"
    "IPv4 and IPv6.\n"
    "\n"
    "Options:\n"
    "  --keylog FILE  the key log to decrypt with (default: $CHAT_KEYLOGFILE if set).\n"
    "                 Programs write it when CHAT_KEYLOGFILE names a file.\n"
    "  --port P       the server's port (default 8111). Without --port, connections\n"
    "                 on other ports that start with the v2 preamble are shown too.\n"
    "  --json         one JSON object per line: messages as\n"
    "                   {\"time\": ..., \"connection\": \"a:p -> b:p\", \"direction\": \"c->s\",\n"
    "                    \"dialect\": \"v2\", \"type\": 1, \"name\": \"login\", \"params\": ...}\n"
    "                 and notes as {..., \"event\": \"handshake\", \"note\": ...}\n"
    "  --with-data    print bytes values (images) in full as {\"$bytes\": base64};\n"
    "                 by default only their size: {\"$bytes_len\": N}\n"
    "\n"
    "WARNING: with the keys, everything is shown as it was sent, including the\n"
    "passwords in login, register and set_password. The key log and the output\n"
    "are as secret as the traffic itself.\n"
    "\n"
    "Exit status: 0 the capture was read (also when streams break or the file\n"
    "is cut short: the output says where); 2 usage error, or a capture or key\n"
    "log that cannot be read.\n"
    "\n"
    "Example:\n"
    "  CHAT_KEYLOGFILE=$PWD/keys.log chatd --config config.json &   # logs the keys\n"
    "  tcpdump -i lo -U -w chat.pcap tcp port 8111 &                 # as root\n"
    "  ... use the chat, stop tcpdump ...\n"
    "  chatctl dump --keylog keys.log chat.pcap\n"
    "  2024-05-01T12:00:00.123Z #1 -- 127.0.0.1:40312 -> 127.0.0.1:8111: new connection\n"
    "  2024-05-01T12:00:00.124Z #1 c->s v2 -- preamble: version 2, suite 1 ...\n"
    "  2024-05-01T12:00:00.130Z #1 c->s v2 login [\"alice\", \"secret\"]\n"
    "  2024-05-01T12:00:00.141Z #1 s->c v2 login_successful {\"id\": 1, ...}\n",
};
