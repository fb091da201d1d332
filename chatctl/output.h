/* chatctl's output: JSON documents (--json) in the project's JSON mapping,
 * and the human-readable lines of the network subcommands. */
#ifndef CHATCTL_OUTPUT_H
#define CHATCTL_OUTPUT_H

#include <glib.h>
#include <stdio.h>

#include "protocol/arena.h"
#include "protocol/messages.h"
#include "protocol/value.h"

/* Prints value as one line of JSON on stdout and flushes. Bytes (images)
 * are written as {"$bytes_len": N} unless with_data. Returns 0 or
 * CHATCTL_EXIT_USAGE when the value cannot be written. */
int chatctl_print_json(const chat_value *value, gboolean with_data);

/* One member of a small --json result document. */
typedef struct {
  const char *key; /* not copied */
  enum { CHATCTL_FIELD_STR, CHATCTL_FIELD_INT, CHATCTL_FIELD_BOOL } kind;
  const char *s;
  gint64 i; /* an int, or a bool (0 or not) */
} chatctl_field;

#define CHATCTL_STR(key, value)                                                                    \
  { (key), CHATCTL_FIELD_STR, (value), 0 }
#define CHATCTL_INT(key, value)                                                                    \
  { (key), CHATCTL_FIELD_INT, NULL, (value) }
#define CHATCTL_BOOL(key, value)                                                                   \
  { (key), CHATCTL_FIELD_BOOL, NULL, (value) ? 1 : 0 }

/* Prints {fields[0].key: ..., ...} as chatctl_print_json does (a NULL
 * string is null). */
int chatctl_print_fields(const chatctl_field *fields, size_t n_fields);

/* A @user: as JSON with json, else the line of chatctl_format_user.
 * Returns 0 or an exit status. */
int chatctl_print_user(gboolean json, const chat_value *user);

/* The fingerprint of a server's public key: the line "SHA256:...", or with
 * --json {"file": path, "fingerprint": ...}. Returns 0 or an exit status. */
int chatctl_print_fingerprint(gboolean json, const char *path, const uint8_t *public_key);

/* ---- building documents in an arena (out of memory aborts) ---- */

chat_value *chatctl_new_dict(chat_arena *arena);
chat_value *chatctl_new_list(chat_arena *arena);
/* key is not copied: a literal or something that outlives the document. */
void chatctl_dict_add(chat_arena *arena, chat_value *dict, const char *key,
                      const chat_value *value);
void chatctl_dict_add_int(chat_arena *arena, chat_value *dict, const char *key, gint64 i);
void chatctl_dict_add_str(chat_arena *arena, chat_value *dict, const char *key, const char *s);
void chatctl_list_add(chat_arena *arena, chat_value *list, const chat_value *value);

/* A @room / @user as a document: {id, room_name} / {id, username,
 * nickname, online}. */
chat_value *chatctl_room_document(chat_arena *arena, const chat_msg_room *room);
chat_value *chatctl_user_document(chat_arena *arena, const chat_msg_user *user);

/* ---- reading what the server sent ---- */

/* The rooms or the friends (lists of @contact) of a login_bundle or a
 * session_bundle; FALSE when bundle is neither. */
gboolean chatctl_bundle_contacts(const chat_value *bundle, gboolean rooms, chat_msg_list *out);

/* ---- human-readable forms ---- */

/* "2024-05-01 12:00:03" in local time, from ms since the epoch. */
char *chatctl_format_date_time(gint64 ms);
/* "12:00:03". */
char *chatctl_format_time(gint64 ms);
/* A message body: the text, "[image, N bytes]", or for a preview
 * "[image (png), N bytes, not sent]". */
char *chatctl_format_body(const chat_msg_body *body);
/* A @user / friend contact: "alice (id 1, nickname "Alice", online)". */
char *chatctl_format_user(const chat_value *user);
/* Who sent a notice: "Alice (alice)" with the sender_username of a v2
 * server, else "Alice (id 3)": a nickname alone is not unique. */
char *chatctl_format_sender(const chat_msg_notice *notice);
/* A history line of a @notice: "2024-05-01 12:00:03 #12 Alice (alice): hello". */
char *chatctl_format_notice(const chat_value *notice);

/* ---- printing human-readable lines ---- */

/* s with everything that could break or disguise a line of a terminal
 * escaped: C0 and C1 controls and DEL as \n, \t, \r, \e or \xNN, line
 * and paragraph separators and bidi controls as \u{XXXX}, bytes that are
 * not UTF-8 as \xNN, and the backslash as \\. Free it. */
char *chatctl_escape_text(const char *s, gsize len);

/* Prints one human-readable line (printf-style, no newline in fmt) on
 * stdout with what the server sent in it escaped (chatctl_escape_text), and
 * a newline. */
void chatctl_human_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#endif
