/* The error codes of v2 (spec/protocol.md section 5.7): the one table of
 * them. A v2 server answers every failed request with request_failed
 * {error, text}: `error` is a code's stable name from this table, `text`
 * English for people. Clients act on the code (chatctl's exit status, the
 * GTK client's translated message) through its class, and show the text of
 * a code they do not know.
 *
 * Each entry: the code, its name on the wire (snake_case, never renamed),
 * the English text chatd sends unless a call site says more, its class, and
 * when a server sends it (the spec's table says the same; a test checks the
 * names against the spec). */
#ifndef CHAT_PROTOCOL_REQUEST_ERROR_H
#define CHAT_PROTOCOL_REQUEST_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  CHAT_REQUEST_ERROR_UNKNOWN = 0, /* a name this table does not know (a newer server) */
  CHAT_REQUEST_ERROR_BAD_REQUEST,
  CHAT_REQUEST_ERROR_NOT_LOGGED_IN,
  CHAT_REQUEST_ERROR_UNSUPPORTED_REQUEST,
  CHAT_REQUEST_ERROR_SERVER_BUSY,
  CHAT_REQUEST_ERROR_STORAGE_FAILED,
  CHAT_REQUEST_ERROR_SERVER_ERROR,
  CHAT_REQUEST_ERROR_TOO_MANY_ATTEMPTS,
  CHAT_REQUEST_ERROR_TOO_MANY_ACCOUNTS,
  CHAT_REQUEST_ERROR_LOGIN_FAILED,
  CHAT_REQUEST_ERROR_TOKEN_REFUSED,
  CHAT_REQUEST_ERROR_WRONG_PASSWORD,
  CHAT_REQUEST_ERROR_USERNAME_TAKEN,
  CHAT_REQUEST_ERROR_INVALID_USERNAME,
  CHAT_REQUEST_ERROR_INVALID_PASSWORD,
  CHAT_REQUEST_ERROR_INVALID_NICKNAME,
  CHAT_REQUEST_ERROR_INVALID_ROOM_NAME,
  CHAT_REQUEST_ERROR_INVALID_MESSAGE,
  CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE,
  CHAT_REQUEST_ERROR_INVALID_TARGET,
  CHAT_REQUEST_ERROR_NO_SUCH_USER,
  CHAT_REQUEST_ERROR_CANNOT_ADD_SELF,
  CHAT_REQUEST_ERROR_ALREADY_FRIENDS,
  CHAT_REQUEST_ERROR_REQUEST_PENDING,
  CHAT_REQUEST_ERROR_NO_SUCH_FRIEND_REQUEST,
  CHAT_REQUEST_ERROR_NOT_FRIEND,
  CHAT_REQUEST_ERROR_NO_SUCH_ROOM,
  CHAT_REQUEST_ERROR_ALREADY_MEMBER,
  CHAT_REQUEST_ERROR_NOT_MEMBER,
  CHAT_REQUEST_ERROR_COUNT
} chat_request_error;

/* What a client can do about a failure. */
typedef enum {
  /* The request is wrong or not allowed now: the same request fails again. */
  CHAT_REQUEST_ERROR_CLASS_REFUSED,
  /* The server could not do it now (busy, storage, rate limit): the same
   * request may work later. */
  CHAT_REQUEST_ERROR_CLASS_RETRY_LATER,
  /* A username, password or resume token was not accepted. */
  CHAT_REQUEST_ERROR_CLASS_BAD_CREDENTIALS,
} chat_request_error_class;

typedef struct {
  chat_request_error code;
  const char *name; /* on the wire */
  const char *text; /* English, for people */
  chat_request_error_class error_class;
  const char *when; /* when a server sends it */
} chat_request_error_info;

/* The entry of a code; the UNKNOWN entry for a value outside the table. */
const chat_request_error_info *chat_request_error_info_of(chat_request_error code);
/* The code of a name on the wire (len bytes), CHAT_REQUEST_ERROR_UNKNOWN
 * when the table has none. */
chat_request_error chat_request_error_by_name(const char *name, size_t len);
/* "refused", "retry_later", "bad_credentials". */
const char *chat_request_error_class_name(chat_request_error_class error_class);

#endif
