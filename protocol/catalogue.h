/* The message catalogue: every message type of the protocol, as one table.
 *
 * The code, chatctl and spec/protocol.md all read it. Each entry names the
 * parameters' shape in a small notation (see shape.h), so the server can
 * check a message before a handler sees it. */
#ifndef CHAT_PROTOCOL_CATALOGUE_H
#define CHAT_PROTOCOL_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/message.h"

typedef enum {
  CHAT_TO_SERVER,
  CHAT_TO_CLIENT,
} chat_direction;

/* Which dialects carry a message type. */
enum {
  CHAT_IN_SEED = 1u << 0,
  CHAT_IN_V2 = 1u << 1,
  CHAT_IN_BOTH = CHAT_IN_SEED | CHAT_IN_V2,
};

/* Codes of the message types. The seed's codes keep their values in both
 * dialects. */
typedef enum {
  CHAT_MSG_LOGIN = 1,
  CHAT_MSG_REGISTER = 2,
  CHAT_MSG_CLIENT_ECHO = 3,
  CHAT_MSG_ADD_FRIEND = 4,
  CHAT_MSG_RESOLVE_FRIEND_REQUEST = 5,
  CHAT_MSG_SEND_MESSAGE = 6,
  CHAT_MSG_JOIN_ROOM = 7,
  CHAT_MSG_CREATE_ROOM = 8,
  CHAT_MSG_QUERY_ROOM_USERS = 9,
  CHAT_MSG_BAD = 10,

  /* v2 only */
  CHAT_MSG_RESUME = 20,
  CHAT_MSG_LOGOUT = 21,
  CHAT_MSG_FETCH_HISTORY = 22,
  CHAT_MSG_MARK_READ = 23,
  CHAT_MSG_LEAVE_ROOM = 24,
  CHAT_MSG_SET_NICKNAME = 25,
  CHAT_MSG_SET_PASSWORD = 26,
  CHAT_MSG_SEARCH = 27,

  CHAT_MSG_LOGIN_SUCCESSFUL = 100,
  CHAT_MSG_REGISTER_SUCCESSFUL = 101,
  CHAT_MSG_INCOMING_FRIEND_REQUEST = 102,
  CHAT_MSG_CONTACT_INFO = 103,
  CHAT_MSG_CHAT_HISTORY = 104,
  CHAT_MSG_SERVER_ECHO = 105,
  CHAT_MSG_ADD_FRIEND_RESULT = 106,
  CHAT_MSG_FRIEND_ON_OFF_LINE = 107,
  CHAT_MSG_NOTIFY_CHAT_HISTORY = 108,
  CHAT_MSG_ON_NEW_MESSAGE = 109,
  CHAT_MSG_SERVER_KICK = 110,
  CHAT_MSG_QUERY_ROOM_USERS_RESULT = 111,
  CHAT_MSG_ROOM_USER_ON_OFF_LINE = 112,
  CHAT_MSG_LOGIN_BUNDLE = 113,

  /* v2 only */
  CHAT_MSG_SESSION_BUNDLE = 114,
  CHAT_MSG_HISTORY_PAGE = 115,
  CHAT_MSG_READ_MARKER = 116,
  CHAT_MSG_LOGGED_OUT = 117,
  CHAT_MSG_LEFT_ROOM = 118,
  CHAT_MSG_PROFILE_UPDATED = 119,
  CHAT_MSG_PASSWORD_CHANGED = 120,
  CHAT_MSG_SEARCH_RESULTS = 121,

  CHAT_MSG_LOGIN_FAILED = 201,
  CHAT_MSG_USERNAME_TAKEN = 202,
  CHAT_MSG_GENERAL_FAILURE = 203,
  CHAT_MSG_GENERAL_MSG = 204,

  /* v2 only */
  CHAT_MSG_REQUEST_FAILED = 205,
} chat_message_type;

typedef struct {
  uint32_t code;
  const char *name; /* snake_case, unique */
  chat_direction direction;
  unsigned dialects;   /* CHAT_IN_* */
  const char *shape;   /* parameters, in the shape notation */
  const char *summary; /* one line for humans */
} chat_message_info;

/* A named shape that message shapes refer to as `@name`. */
typedef struct {
  const char *name;
  const char *shape;
  const char *summary;
} chat_shape_definition;

size_t chat_catalogue_count(void);
const chat_message_info *chat_catalogue_at(size_t index);
/* NULL when unknown. */
const chat_message_info *chat_catalogue_by_code(uint32_t code);
const chat_message_info *chat_catalogue_by_name(const char *name);

/* The entry for a code that a peer may send in `direction` on a connection of
 * `dialect`; NULL when the code is unknown, belongs to the other direction,
 * or is not part of that dialect (a v2-only code on a seed connection). */
const chat_message_info *chat_catalogue_lookup(uint32_t code, chat_dialect dialect,
                                               chat_direction direction);

size_t chat_catalogue_shape_count(void);
const chat_shape_definition *chat_catalogue_shape_at(size_t index);
const chat_shape_definition *chat_catalogue_shape_by_name(const char *name);

/* Checks a message's parameters against its catalogue entry.
 * Errors: CHAT_ERR_UNKNOWN_MESSAGE, CHAT_ERR_SHAPE (the message names the path,
 * e.g. "params[1]: expected bool, got int"). */
int chat_catalogue_check(uint32_t code, const chat_value *params, chat_error *err);

#endif
