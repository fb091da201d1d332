/* The table of v2 error codes; spec/protocol.md 5.7 documents it and a
 * test checks that the two agree. */
#include "protocol/request-error.h"

#include <string.h>

#define REFUSED CHAT_REQUEST_ERROR_CLASS_REFUSED
#define RETRY CHAT_REQUEST_ERROR_CLASS_RETRY_LATER
#define CREDENTIALS CHAT_REQUEST_ERROR_CLASS_BAD_CREDENTIALS

static const chat_request_error_info table[CHAT_REQUEST_ERROR_COUNT] = {
    {CHAT_REQUEST_ERROR_UNKNOWN, "unknown", "the request failed", REFUSED,
     "never sent: what a client makes of a code it does not know"},
    {CHAT_REQUEST_ERROR_BAD_REQUEST, "bad_request", "bad request", REFUSED,
     "the parameters do not fit the request's shape, an integer is out of range, or the request "
     "is `bad`"},
    {CHAT_REQUEST_ERROR_NOT_LOGGED_IN, "not_logged_in", "log in first", REFUSED,
     "a request that needs a login came before one"},
    {CHAT_REQUEST_ERROR_UNSUPPORTED_REQUEST, "unsupported_request", "this request is not supported",
     REFUSED, "a request of the catalogue that this server does not handle"},
    {CHAT_REQUEST_ERROR_SERVER_BUSY, "server_busy", "the server is busy; try again", RETRY,
     "the server's password hashing or database queue is full"},
    {CHAT_REQUEST_ERROR_STORAGE_FAILED, "storage_failed",
     "the server could not save or read the data; try again", RETRY,
     "the database failed to write or read what the request needs"},
    {CHAT_REQUEST_ERROR_SERVER_ERROR, "server_error", "the server failed; try again", RETRY,
     "an internal failure that is not the request's fault (no randomness for a token, a "
     "password hash that failed, a stored message that cannot be read back)"},
    {CHAT_REQUEST_ERROR_TOO_MANY_ATTEMPTS, "too_many_attempts",
     "too many failed attempts from your address; try again later", RETRY,
     "login, resume or set_password: too many wrong passwords or tokens from the address (or "
     "for the account); the text says when to try again"},
    {CHAT_REQUEST_ERROR_TOO_MANY_ACCOUNTS, "too_many_accounts",
     "too many new accounts; try again later", RETRY,
     "register: too many new accounts from the address or on the server"},
    {CHAT_REQUEST_ERROR_LOGIN_FAILED, "login_failed", "wrong username or password", CREDENTIALS,
     "login: the username is unknown or the password is wrong"},
    {CHAT_REQUEST_ERROR_TOKEN_REFUSED, "token_refused",
     "the resume token is not valid (used, expired or revoked)", CREDENTIALS,
     "resume: the token is unknown, used, expired, revoked or not the user's"},
    {CHAT_REQUEST_ERROR_WRONG_PASSWORD, "wrong_password", "the old password is wrong", CREDENTIALS,
     "set_password: the old password is wrong"},
    {CHAT_REQUEST_ERROR_USERNAME_TAKEN, "username_taken", "the username is taken", REFUSED,
     "register: an account has the username"},
    {CHAT_REQUEST_ERROR_INVALID_USERNAME, "invalid_username", "the username is not valid", REFUSED,
     "register: the username breaks the rules of usernames"},
    {CHAT_REQUEST_ERROR_INVALID_PASSWORD, "invalid_password",
     "the password must be 1 to 1024 bytes", REFUSED,
     "register or set_password: the (new) password is empty or too long"},
    {CHAT_REQUEST_ERROR_INVALID_NICKNAME, "invalid_nickname", "the nickname is not valid", REFUSED,
     "register or set_nickname: the nickname breaks the rules of display names"},
    {CHAT_REQUEST_ERROR_INVALID_ROOM_NAME, "invalid_room_name", "the room name is not valid",
     REFUSED, "create_room: the name breaks the rules of display names"},
    {CHAT_REQUEST_ERROR_INVALID_MESSAGE, "invalid_message", "the message is not valid", REFUSED,
     "send_message: the body breaks a rule (empty, font size or colour, a preview body) or the "
     "client_msg_id is not 1 to 64 bytes"},
    {CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE, "message_too_large",
     "the message is larger than the server accepts", REFUSED,
     "send_message: the image is larger than the server-info's max_image, the text is longer "
     "than 1 MiB, or the message "
     "would not fit in one message to its readers"},
    {CHAT_REQUEST_ERROR_INVALID_TARGET, "invalid_target",
     "target_type must be 0 (a user) or 1 (a room)", REFUSED,
     "send_message, fetch_history or mark_read: target_type is neither 0 nor 1"},
    {CHAT_REQUEST_ERROR_NO_SUCH_USER, "no_such_user", "no such user", REFUSED,
     "add_friend: no account has the username; fetch_history or mark_read: the user does not "
     "exist (or is oneself)"},
    {CHAT_REQUEST_ERROR_CANNOT_ADD_SELF, "cannot_add_self", "you cannot add yourself", REFUSED,
     "add_friend: the username is one's own"},
    {CHAT_REQUEST_ERROR_ALREADY_FRIENDS, "already_friends", "you are already friends", REFUSED,
     "add_friend: the user is a friend already"},
    {CHAT_REQUEST_ERROR_REQUEST_PENDING, "request_pending",
     "a request is already waiting for an answer", REFUSED,
     "add_friend: an earlier request to the user waits for an answer"},
    {CHAT_REQUEST_ERROR_NO_SUCH_FRIEND_REQUEST, "no_such_friend_request",
     "there is no such friend request", REFUSED,
     "resolve_friend_request: the user has not asked to be a friend"},
    {CHAT_REQUEST_ERROR_NOT_FRIEND, "not_friend", "you can only send messages to your friends",
     REFUSED, "send_message to a user who is not a friend"},
    {CHAT_REQUEST_ERROR_NO_SUCH_ROOM, "no_such_room", "there is no such room", REFUSED,
     "join_room: no room has the number"},
    {CHAT_REQUEST_ERROR_ALREADY_MEMBER, "already_member", "you are already a member of this room",
     REFUSED, "join_room: one is a member already"},
    {CHAT_REQUEST_ERROR_NOT_MEMBER, "not_member", "you are not a member of this room", REFUSED,
     "send_message, query_room_users, leave_room, fetch_history or mark_read: the room does not "
     "exist or one is not a member"},
};

const chat_request_error_info *chat_request_error_info_of(chat_request_error code) {
  if ((unsigned)code >= CHAT_REQUEST_ERROR_COUNT)
    code = CHAT_REQUEST_ERROR_UNKNOWN;
  return &table[code];
}

chat_request_error chat_request_error_by_name(const char *name, size_t len) {
  for (unsigned i = 1; i < CHAT_REQUEST_ERROR_COUNT; i++)
    if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0)
      return table[i].code;
  return CHAT_REQUEST_ERROR_UNKNOWN;
}

const char *chat_request_error_class_name(chat_request_error_class error_class) {
  switch (error_class) {
  case CHAT_REQUEST_ERROR_CLASS_RETRY_LATER:
    return "retry_later";
  case CHAT_REQUEST_ERROR_CLASS_BAD_CREDENTIALS:
    return "bad_credentials";
  case CHAT_REQUEST_ERROR_CLASS_REFUSED:
  default:
    return "refused";
  }
}
