/* The typed message layer: a C struct for each named shape and each message
 * of the catalogue (catalogue.c), with a writer and a strict reader.
 *
 * Writers (`chat_msg_X_write(w, &x)`) write the parameters of one message
 * with a chat_writer, in the key order chatd has always used (the order of
 * the catalogue's shape text): the bytes are those of spec/vectors. The
 * message header is the caller's (chat_message_begin).
 *
 * Readers (`chat_msg_X_read(value, &x, err)`) accept exactly what the
 * catalogue's shape accepts, except that an int must fit int64_t (the
 * catalogue's int reaches 2^64 - 1): wrong kinds and missing required keys
 * fail with CHAT_ERR_SHAPE and a message naming the field. Keys a shape does
 * not name are ignored, as the shape checker does. Ranges (a target_type of
 * 0 or 1, a positive id) are the application's to check.
 *
 * Lifetimes: a read struct borrows. Its chat_span fields point into the
 * decoded value (and so, with CHAT_DECODE_BORROW, into the received bytes),
 * and its lists keep a pointer to the decoded list: the struct is valid as
 * long as the value is. Spans are not NUL-terminated.
 *
 * Dialects: optional keys of v2 are explicit (`has_id`, ...); a writer
 * writes an optional key only when its flag is set, so the caller decides
 * what a seed peer gets. Nothing here allocates. */
#ifndef CHAT_PROTOCOL_MESSAGES_H
#define CHAT_PROTOCOL_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/request-error.h"
#include "protocol/value.h"

/* A borrowed str or bytes. A reader never leaves ptr NULL (an empty one
 * points to ""); a writer takes NULL with len 0. */
typedef struct {
  const char *ptr;
  size_t len;
} chat_span;

/* A span over a NUL-terminated string, or over len bytes (NULL reads as ""). */
chat_span chat_span_cstr(const char *s);
chat_span chat_span_bytes(const uint8_t *data, size_t len);
/* True when the span holds exactly the bytes of the NUL-terminated s. */
bool chat_span_eq(chat_span a, const char *s);

/* Values of the target_type, contact type and body type fields. */
enum {
  CHAT_TARGET_USER = 0,
  CHAT_TARGET_ROOM = 1,
};
enum {
  CHAT_CONTACT_TYPE_FRIEND = 0,
  CHAT_CONTACT_TYPE_ROOM = 1,
};
enum {
  CHAT_BODY_TYPE_TEXT = 0,
  CHAT_BODY_TYPE_IMAGE = 1,
};

/* ---- the named shapes ---- */

/* @user */
typedef struct {
  int64_t id;
  chat_span username;
  chat_span nickname;
  bool online;
} chat_msg_user;

/* @room */
typedef struct {
  int64_t id;
  chat_span room_name;
} chat_msg_room;

/* @body: which of its three shapes. */
typedef enum {
  CHAT_BODY_TEXT,    /* {type, data:str, fontsize, fontcolor} */
  CHAT_BODY_IMAGE,   /* {type, data:bytes} */
  CHAT_BODY_PREVIEW, /* {type, format, size}: v2 servers only */
} chat_body_form;

typedef struct {
  chat_body_form form;
  int64_t type;         /* as on the wire: CHAT_BODY_TYPE_* when well-formed */
  chat_span data;       /* text: the str; image: the bytes */
  int64_t font_size;    /* text */
  chat_span font_color; /* text */
  chat_span format;     /* preview */
  int64_t size;         /* preview */
} chat_msg_body;

/* @notice */
typedef struct {
  chat_msg_body message;
  int64_t sender_id;
  chat_span sender_name;
  int64_t target_type; /* CHAT_TARGET_* when well-formed */
  int64_t time;        /* ms since the epoch */
  int64_t target_id;
  /* v2 */
  bool has_id;
  int64_t id;
  bool has_client_msg_id;
  chat_span client_msg_id;
  bool has_sender_username;
  chat_span sender_username;
} chat_msg_notice;

/* @contact: a friend (@user plus type) or a room (@room plus type). */
typedef struct {
  bool is_room;
  chat_msg_user user; /* !is_room */
  chat_msg_room room; /* is_room */
  int64_t type;       /* CHAT_CONTACT_TYPE_* when well-formed */
} chat_msg_contact;

/* @conversation (v2) */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  bool has_last; /* false: last is null */
  chat_msg_notice last;
  int64_t unread;
  int64_t last_read_id;
} chat_msg_conversation;

/* A list of items of one shape. Read: `decoded` is the checked list value,
 * its items read with the item type's _at function. Written: `write_item`
 * writes item i with the item type's writer (a caller's callback, so a
 * sender need not build an array; writing nothing skips the item), or,
 * without it, the decoded items are written back. */
typedef struct chat_msg_list {
  size_t count;
  const chat_value *decoded;
  void (*write_item)(chat_writer *w, size_t index, const void *data);
  const void *data;
} chat_msg_list;

/* The index-th item of a list that was read (index < count). They cannot
 * fail on a list a reader accepted. */
void chat_msg_contact_at(const chat_msg_list *list, size_t index, chat_msg_contact *out);
void chat_msg_notice_at(const chat_msg_list *list, size_t index, chat_msg_notice *out);
void chat_msg_conversation_at(const chat_msg_list *list, size_t index, chat_msg_conversation *out);

void chat_msg_user_write(chat_writer *w, const chat_msg_user *x);
int chat_msg_user_read(const chat_value *v, chat_msg_user *x, chat_error *err);
void chat_msg_room_write(chat_writer *w, const chat_msg_room *x);
int chat_msg_room_read(const chat_value *v, chat_msg_room *x, chat_error *err);
void chat_msg_body_write(chat_writer *w, const chat_msg_body *x);
int chat_msg_body_read(const chat_value *v, chat_msg_body *x, chat_error *err);
void chat_msg_notice_write(chat_writer *w, const chat_msg_notice *x);
int chat_msg_notice_read(const chat_value *v, chat_msg_notice *x, chat_error *err);
void chat_msg_contact_write(chat_writer *w, const chat_msg_contact *x);
int chat_msg_contact_read(const chat_value *v, chat_msg_contact *x, chat_error *err);
void chat_msg_conversation_write(chat_writer *w, const chat_msg_conversation *x);
int chat_msg_conversation_read(const chat_value *v, chat_msg_conversation *x, chat_error *err);

/* A stored notice (a seed login_bundle's messages, the seed database):
 * decodes data (borrowing: data must outlive *x) into arena and reads it. */
int chat_msg_notice_decode(const uint8_t *data, size_t len, chat_arena *arena, chat_msg_notice *x,
                           chat_error *err);

/* ---- parameters of the messages ---- */

/* Messages whose parameters are one primitive share these. */
typedef struct {
  char unused;
} chat_msg_null; /* null */
typedef struct {
  const chat_value *value;
} chat_msg_any; /* any: written as is */
typedef struct {
  int64_t value;
} chat_msg_int; /* int */
typedef struct {
  chat_span value;
} chat_msg_str; /* str */

void chat_msg_null_write(chat_writer *w, const chat_msg_null *x);
int chat_msg_null_read(const chat_value *v, chat_msg_null *x, chat_error *err);
void chat_msg_any_write(chat_writer *w, const chat_msg_any *x);
int chat_msg_any_read(const chat_value *v, chat_msg_any *x, chat_error *err);
void chat_msg_int_write(chat_writer *w, const chat_msg_int *x);
int chat_msg_int_read(const chat_value *v, chat_msg_int *x, chat_error *err);
void chat_msg_str_write(chat_writer *w, const chat_msg_str *x);
int chat_msg_str_read(const chat_value *v, chat_msg_str *x, chat_error *err);

/* login: [username, password] */
typedef struct {
  chat_span username;
  chat_span password;
} chat_msg_login;
/* register: [username, password, nickname] */
typedef struct {
  chat_span username;
  chat_span password;
  chat_span nickname;
} chat_msg_register;
/* resolve_friend_request: [from_user_id, accept] */
typedef struct {
  int64_t from_user_id;
  bool accept;
} chat_msg_resolve_friend_request;
/* send_message */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  chat_msg_body message;
  bool has_client_msg_id; /* v2 */
  chat_span client_msg_id;
} chat_msg_send_message;
/* resume (v2) */
typedef struct {
  chat_span username;
  chat_span token;
} chat_msg_resume;
/* fetch_history (v2) */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  int64_t before_id;
  int64_t limit;
} chat_msg_fetch_history;
/* mark_read (v2) */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  int64_t up_to_id;
} chat_msg_mark_read;
/* set_password (v2): [old_password, new_password] */
typedef struct {
  chat_span old_password;
  chat_span new_password;
} chat_msg_set_password;
/* add_friend_result: [ok, reason] */
typedef struct {
  bool ok;
  chat_span reason;
} chat_msg_add_friend_result;
/* friend_on_off_line: [online, user_id] */
typedef struct {
  bool online;
  int64_t user_id;
} chat_msg_friend_on_off_line;
/* server_kick: null (seed) or, with has_details (v2), {reason, address, time} */
typedef struct {
  bool has_details;
  chat_span reason;
  chat_span address;
  int64_t time;
} chat_msg_server_kick;
/* One member of query_room_users_result: [user_id, nickname, online, username] */
typedef struct {
  int64_t user_id;
  chat_span nickname;
  bool online;
  chat_span username;
} chat_msg_room_member;
/* query_room_users_result: [members, room_id] */
typedef struct {
  chat_msg_list members; /* of chat_msg_room_member */
  int64_t room_id;
} chat_msg_query_room_users_result;
void chat_msg_room_member_at(const chat_msg_list *list, size_t index, chat_msg_room_member *out);
void chat_msg_room_member_write(chat_writer *w, const chat_msg_room_member *x);
/* room_user_on_off_line: [room_id, user_id, online] */
typedef struct {
  int64_t room_id;
  int64_t user_id;
  bool online;
} chat_msg_room_user_on_off_line;
/* One stored message of login_bundle: [data, sent], data a notice's encoding */
typedef struct {
  chat_span data;
  int64_t sent;
} chat_msg_stored_message;
/* login_bundle (seed) */
typedef struct {
  chat_msg_list rooms;    /* of chat_msg_contact */
  chat_msg_list friends;  /* of chat_msg_contact */
  chat_msg_list messages; /* of chat_msg_stored_message */
} chat_msg_login_bundle;
void chat_msg_stored_message_at(const chat_msg_list *list, size_t index,
                                chat_msg_stored_message *out);
void chat_msg_stored_message_write(chat_writer *w, const chat_msg_stored_message *x);
/* session_bundle (v2) */
typedef struct {
  chat_span token;
  chat_msg_list friends;       /* of chat_msg_contact */
  chat_msg_list rooms;         /* of chat_msg_contact */
  chat_msg_list conversations; /* of chat_msg_conversation */
} chat_msg_session_bundle;
/* history_page (v2) */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  chat_msg_list messages; /* of chat_msg_notice */
  bool more;
} chat_msg_history_page;
/* read_marker (v2) */
typedef struct {
  int64_t target_type;
  int64_t target_id;
  int64_t last_read_id;
  int64_t unread;
} chat_msg_read_marker;

/* search (v2): {query, before_id, limit, target_type?, target_id?}. The
 * reader takes what the shape takes; chat_msg_search_problem says whether
 * a server runs it. */
typedef struct {
  chat_span query;
  int64_t before_id; /* 0: from the newest */
  int64_t limit;
  bool has_target_type;
  int64_t target_type;
  bool has_target_id;
  int64_t target_id;
} chat_msg_search;
/* One match of a search result: [start, length], bytes into the text. */
typedef struct {
  int64_t start;
  int64_t length;
} chat_msg_search_span;
/* One result of search_results: {notice, matches} */
typedef struct {
  chat_msg_notice notice;
  chat_msg_list matches; /* of chat_msg_search_span */
} chat_msg_search_result;
/* search_results (v2) */
typedef struct {
  chat_span query;
  chat_msg_list results; /* of chat_msg_search_result */
  bool more;
} chat_msg_search_results;
void chat_msg_search_span_at(const chat_msg_list *list, size_t index, chat_msg_search_span *out);
void chat_msg_search_span_write(chat_writer *w, const chat_msg_search_span *x);
void chat_msg_search_result_at(const chat_msg_list *list, size_t index,
                               chat_msg_search_result *out);
void chat_msg_search_result_write(chat_writer *w, const chat_msg_search_result *x);

/* The rules of a search request (spec/protocol.md 5.8, chat-limits.h):
 * NULL when a server runs it, else the English reason, with *code the
 * error a server answers (CHAT_REQUEST_ERROR_BAD_REQUEST: the query is not
 * 1..CHAT_SEARCH_QUERY_MAX bytes of UTF-8 or only white space, the limit is
 * not 1..CHAT_SEARCH_LIMIT_MAX, target_type and target_id are not both
 * present or both absent; CHAT_REQUEST_ERROR_INVALID_TARGET: target_type is
 * neither 0 nor 1). code may be NULL. */
const char *chat_msg_search_problem(const chat_msg_search *x, chat_request_error *code);

/* request_failed (v2): {error, text}; error a name of protocol/request-error.h */
typedef struct {
  chat_span error;
  chat_span text;
} chat_msg_request_failed;

#define CHAT_MSG_DECLARE(name)                                                                     \
  void chat_msg_##name##_write(chat_writer *w, const chat_msg_##name *x);                          \
  int chat_msg_##name##_read(const chat_value *v, chat_msg_##name *x, chat_error *err)

CHAT_MSG_DECLARE(login);
CHAT_MSG_DECLARE(register);
CHAT_MSG_DECLARE(resolve_friend_request);
CHAT_MSG_DECLARE(send_message);
CHAT_MSG_DECLARE(resume);
CHAT_MSG_DECLARE(fetch_history);
CHAT_MSG_DECLARE(mark_read);
CHAT_MSG_DECLARE(set_password);
CHAT_MSG_DECLARE(add_friend_result);
CHAT_MSG_DECLARE(friend_on_off_line);
CHAT_MSG_DECLARE(server_kick);
CHAT_MSG_DECLARE(query_room_users_result);
CHAT_MSG_DECLARE(room_user_on_off_line);
CHAT_MSG_DECLARE(login_bundle);
CHAT_MSG_DECLARE(session_bundle);
CHAT_MSG_DECLARE(history_page);
CHAT_MSG_DECLARE(read_marker);
CHAT_MSG_DECLARE(search);
CHAT_MSG_DECLARE(search_results);
CHAT_MSG_DECLARE(request_failed);

/* The code of a request_failed's error (CHAT_REQUEST_ERROR_UNKNOWN for a
 * name the table does not have). */
chat_request_error chat_msg_request_failed_code(const chat_msg_request_failed *x);

/* ---- the table: every catalogue entry's typed counterpart ---- */

typedef void (*chat_msg_writer)(chat_writer *w, const void *x);
typedef int (*chat_msg_reader)(const chat_value *v, void *x, chat_error *err);

typedef struct {
  uint32_t code;         /* chat_message_type */
  const char *type_name; /* the struct: "chat_msg_login", "chat_msg_int", ... */
  size_t size;           /* sizeof the struct */
  chat_msg_writer write;
  chat_msg_reader read;
} chat_msg_codec;

/* NULL when the code has no typed counterpart (a test checks there is
 * none such in the catalogue). */
/* The server-info payload of a v2 handshake (spec section 7), not a catalogue
 * message: {server: str, max_message: int, max_image: int}. A reader takes
 * the keys it knows with the right type and ignores everything else, so a
 * newer server may add keys. */
typedef struct {
  bool has_server;
  chat_span server;
  bool has_max_message;
  uint64_t max_message;
  bool has_max_image;
  uint64_t max_image;
} chat_msg_server_info;

void chat_msg_server_info_write(chat_writer *w, const chat_msg_server_info *m);
/* Decodes data into arena and reads it; false when it is not a dict (out is
 * then all absent). The spans borrow from arena. */
bool chat_msg_server_info_decode(const uint8_t *data, size_t len, chat_arena *arena,
                                 chat_msg_server_info *out);

/* The client-info payload of a v2 handshake's message 1 (spec section 7.3),
 * not a catalogue message: {client?: str, max_message?: int}. Read like the
 * server-info: known keys with the right type, everything else ignored. */
typedef struct {
  bool has_client;
  chat_span client;
  bool has_max_message;
  uint64_t max_message;
} chat_msg_client_info;

void chat_msg_client_info_write(chat_writer *w, const chat_msg_client_info *m);
/* As chat_msg_server_info_decode. */
bool chat_msg_client_info_decode(const uint8_t *data, size_t len, chat_arena *arena,
                                 chat_msg_client_info *out);

const chat_msg_codec *chat_msg_codec_by_code(uint32_t code);
size_t chat_msg_codec_count(void);
const chat_msg_codec *chat_msg_codec_at(size_t index);

#endif
