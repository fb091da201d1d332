/* The message catalogue table. spec/protocol.md documents these entries; a
 * test checks that the two agree. */
#include "protocol/catalogue.h"

#include <string.h>

#include "protocol/shape.h"

static const chat_shape_definition shapes[] = {
    {"user", "{id:int, username:str, nickname:str, online:bool}", "a user as others see it"},
    {"room", "{id:int, room_name:str}", "a room"},
    {"body",
     "{type:int, data:str, fontsize:int, fontcolor:str} | {type:int, data:bytes}"
     " | {type:int, format:str, size:int}",
     "a message body: text (type 0, font size, colour \"#rrggbb\"), image (type 1, the file's "
     "bytes) or, from a v2 server only, an image preview (type 1, the image's format and size)"},
    {"notice",
     "{message:@body, sender_id:int, sender_name:str, target_type:int, time:int, target_id:int,"
     " id?:int, client_msg_id?:str, sender_username?:str}",
     "a delivered message: target_type 0 = user, 1 = room; time in ms since the epoch; "
     "v2 adds the server's message id, on the sender's copy its client_msg_id, and the "
     "sender's username"},
    {"contact",
     "{id:int, username:str, nickname:str, online:bool, type:int} | {id:int, room_name:str, "
     "type:int}",
     "a friend (@user plus type 0) or a room (@room plus type 1)"},
    {"conversation",
     "{target_type:int, target_id:int, last:@notice | null, unread:int, last_read_id:int}",
     "v2: one conversation's newest message and the number of unread messages in it"},
};

static const chat_message_info messages[] = {
    /* client to server */
    {CHAT_MSG_LOGIN, "login", CHAT_TO_SERVER, CHAT_IN_BOTH, "[username:str, password:str]",
     "log in"},
    {CHAT_MSG_REGISTER, "register", CHAT_TO_SERVER, CHAT_IN_BOTH,
     "[username:str, password:str, nickname:str]", "create an account"},
    {CHAT_MSG_CLIENT_ECHO, "client_echo", CHAT_TO_SERVER, CHAT_IN_BOTH, "any",
     "ask the server to send a value back"},
    {CHAT_MSG_ADD_FRIEND, "add_friend", CHAT_TO_SERVER, CHAT_IN_BOTH, "str",
     "send a friend request to a username"},
    {CHAT_MSG_RESOLVE_FRIEND_REQUEST, "resolve_friend_request", CHAT_TO_SERVER, CHAT_IN_BOTH,
     "[from_user_id:int, accept:bool]", "accept or reject a friend request"},
    {CHAT_MSG_SEND_MESSAGE, "send_message", CHAT_TO_SERVER, CHAT_IN_BOTH,
     "{target_type:int, target_id:int, message:@body, client_msg_id?:str}",
     "send a message to a friend (target_type 0) or a room (1); v2 adds an idempotency key"},
    {CHAT_MSG_JOIN_ROOM, "join_room", CHAT_TO_SERVER, CHAT_IN_BOTH, "int", "join a room by number"},
    {CHAT_MSG_CREATE_ROOM, "create_room", CHAT_TO_SERVER, CHAT_IN_BOTH, "str",
     "create a room with a name"},
    {CHAT_MSG_QUERY_ROOM_USERS, "query_room_users", CHAT_TO_SERVER, CHAT_IN_BOTH, "int",
     "list a room's members"},
    {CHAT_MSG_BAD, "bad", CHAT_TO_SERVER, CHAT_IN_BOTH, "any",
     "a deliberately bad request; the server answers general_failure"},

    /* client to server, v2 only */
    {CHAT_MSG_RESUME, "resume", CHAT_TO_SERVER, CHAT_IN_V2, "{username:str, token:bytes}",
     "log in again with the resume token of an earlier login"},
    {CHAT_MSG_LOGOUT, "logout", CHAT_TO_SERVER, CHAT_IN_V2, "null",
     "log out and revoke the resume token"},
    {CHAT_MSG_FETCH_HISTORY, "fetch_history", CHAT_TO_SERVER, CHAT_IN_V2,
     "{target_type:int, target_id:int, before_id:int, limit:int}",
     "a page of a conversation's history, newest first, older than before_id (0 = newest)"},
    {CHAT_MSG_MARK_READ, "mark_read", CHAT_TO_SERVER, CHAT_IN_V2,
     "{target_type:int, target_id:int, up_to_id:int}",
     "mark a conversation read up to a message id"},
    {CHAT_MSG_LEAVE_ROOM, "leave_room", CHAT_TO_SERVER, CHAT_IN_V2, "int", "leave a room"},
    {CHAT_MSG_SET_NICKNAME, "set_nickname", CHAT_TO_SERVER, CHAT_IN_V2, "str",
     "change one's nickname"},
    {CHAT_MSG_SET_PASSWORD, "set_password", CHAT_TO_SERVER, CHAT_IN_V2,
     "[old_password:str, new_password:str]", "change one's password"},
    {CHAT_MSG_SEARCH, "search", CHAT_TO_SERVER, CHAT_IN_V2,
     "{query:str, before_id:int, limit:int, target_type?:int, target_id?:int}",
     "search the text messages of one's conversations (or of one), newest first, older than "
     "before_id (0 = newest)"},

    /* server to client */
    {CHAT_MSG_LOGIN_SUCCESSFUL, "login_successful", CHAT_TO_CLIENT, CHAT_IN_BOTH, "@user",
     "the login worked; the logged-in user"},
    {CHAT_MSG_REGISTER_SUCCESSFUL, "register_successful", CHAT_TO_CLIENT, CHAT_IN_BOTH, "int",
     "the account was created; its user id"},
    {CHAT_MSG_INCOMING_FRIEND_REQUEST, "incoming_friend_request", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "@user", "someone asks to be a friend"},
    {CHAT_MSG_CONTACT_INFO, "contact_info", CHAT_TO_CLIENT, CHAT_IN_BOTH, "@contact",
     "a new contact: a friend or a room"},
    {CHAT_MSG_CHAT_HISTORY, "chat_history", CHAT_TO_CLIENT, CHAT_IN_BOTH, "any",
     "unused by the seed system"},
    {CHAT_MSG_SERVER_ECHO, "server_echo", CHAT_TO_CLIENT, CHAT_IN_BOTH, "any",
     "the value of client_echo, unchanged"},
    {CHAT_MSG_ADD_FRIEND_RESULT, "add_friend_result", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "[ok:bool, reason:str]", "the answer to add_friend; reason is empty when ok"},
    {CHAT_MSG_FRIEND_ON_OFF_LINE, "friend_on_off_line", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "[online:bool, user_id:int]", "a friend came online or went offline"},
    {CHAT_MSG_NOTIFY_CHAT_HISTORY, "notify_chat_history", CHAT_TO_CLIENT, CHAT_IN_BOTH, "any",
     "unused by the seed system"},
    {CHAT_MSG_ON_NEW_MESSAGE, "on_new_message", CHAT_TO_CLIENT, CHAT_IN_BOTH, "@notice",
     "a message for this user, or the sender's own copy"},
    {CHAT_MSG_SERVER_KICK, "server_kick", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "null | {reason:str, address:str, time:int}",
     "the account logged in elsewhere; the connection closes (v2 says why, from where, when)"},
    {CHAT_MSG_QUERY_ROOM_USERS_RESULT, "query_room_users_result", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "[members:[[user_id:int, nickname:str, online:bool, username:str] ...], room_id:int]",
     "the members of a room"},
    {CHAT_MSG_ROOM_USER_ON_OFF_LINE, "room_user_on_off_line", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "[room_id:int, user_id:int, online:bool]", "a room member came online or went offline"},
    {CHAT_MSG_LOGIN_BUNDLE, "login_bundle", CHAT_TO_CLIENT, CHAT_IN_BOTH,
     "{rooms:[@contact ...], friends:[@contact ...], messages:[[data:bytes, sent:int] ...]}",
     "everything a client needs after login: rooms, friends, stored messages"},

    /* server to client, v2 only */
    {CHAT_MSG_SESSION_BUNDLE, "session_bundle", CHAT_TO_CLIENT, CHAT_IN_V2,
     "{token:bytes, friends:[@contact ...], rooms:[@contact ...], conversations:[@conversation "
     "...]}",
     "v2's login bundle: the resume token, contacts, and each conversation's last message and "
     "unread count"},
    {CHAT_MSG_HISTORY_PAGE, "history_page", CHAT_TO_CLIENT, CHAT_IN_V2,
     "{target_type:int, target_id:int, messages:[@notice ...], more:bool}",
     "the answer to fetch_history; more is true when older messages remain"},
    {CHAT_MSG_READ_MARKER, "read_marker", CHAT_TO_CLIENT, CHAT_IN_V2,
     "{target_type:int, target_id:int, last_read_id:int, unread:int}",
     "a conversation's read marker moved"},
    {CHAT_MSG_LOGGED_OUT, "logged_out", CHAT_TO_CLIENT, CHAT_IN_V2, "null",
     "the logout is done; the server closes the connection"},
    {CHAT_MSG_LEFT_ROOM, "left_room", CHAT_TO_CLIENT, CHAT_IN_V2, "int", "the user left this room"},
    {CHAT_MSG_PROFILE_UPDATED, "profile_updated", CHAT_TO_CLIENT, CHAT_IN_V2, "@user",
     "the user's own profile after a change"},
    {CHAT_MSG_PASSWORD_CHANGED, "password_changed", CHAT_TO_CLIENT, CHAT_IN_V2, "null",
     "the password was changed; other resume tokens are revoked"},
    {CHAT_MSG_SEARCH_RESULTS, "search_results", CHAT_TO_CLIENT, CHAT_IN_V2,
     "{query:str, results:[{notice:@notice, matches:[[start:int, length:int] ...]} ...], "
     "more:bool}",
     "the answer to search: matching messages newest first, each with the byte spans of the "
     "matches in its text; more is true when older matches remain"},

    {CHAT_MSG_LOGIN_FAILED, "login_failed", CHAT_TO_CLIENT, CHAT_IN_BOTH, "null",
     "wrong username or password"},
    {CHAT_MSG_USERNAME_TAKEN, "username_taken", CHAT_TO_CLIENT, CHAT_IN_BOTH, "null",
     "register: the username exists"},
    {CHAT_MSG_GENERAL_FAILURE, "general_failure", CHAT_TO_CLIENT, CHAT_IN_BOTH, "str",
     "a request failed; the reason"},
    {CHAT_MSG_GENERAL_MSG, "general_msg", CHAT_TO_CLIENT, CHAT_IN_BOTH, "str",
     "a notice for the user"},

    /* server to client, v2 only */
    {CHAT_MSG_REQUEST_FAILED, "request_failed", CHAT_TO_CLIENT, CHAT_IN_V2, "{error:str, text:str}",
     "v2: a request failed; error is a code of the error table (section 5.7), text English "
     "for people"},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

size_t chat_catalogue_count(void) {
  return COUNT_OF(messages);
}

const chat_message_info *chat_catalogue_at(size_t index) {
  return index < COUNT_OF(messages) ? &messages[index] : NULL;
}

const chat_message_info *chat_catalogue_by_code(uint32_t code) {
  for (size_t i = 0; i < COUNT_OF(messages); i++)
    if (messages[i].code == code)
      return &messages[i];
  return NULL;
}

const chat_message_info *chat_catalogue_by_name(const char *name) {
  for (size_t i = 0; i < COUNT_OF(messages); i++)
    if (strcmp(messages[i].name, name) == 0)
      return &messages[i];
  return NULL;
}

const chat_message_info *chat_catalogue_lookup(uint32_t code, chat_dialect dialect,
                                               chat_direction direction) {
  const chat_message_info *info = chat_catalogue_by_code(code);
  unsigned wanted = dialect == CHAT_DIALECT_SEED ? CHAT_IN_SEED : CHAT_IN_V2;
  if (!info || info->direction != direction || !(info->dialects & wanted))
    return NULL;
  return info;
}

size_t chat_catalogue_shape_count(void) {
  return COUNT_OF(shapes);
}

const chat_shape_definition *chat_catalogue_shape_at(size_t index) {
  return index < COUNT_OF(shapes) ? &shapes[index] : NULL;
}

const chat_shape_definition *chat_catalogue_shape_by_name(const char *name) {
  for (size_t i = 0; i < COUNT_OF(shapes); i++)
    if (strcmp(shapes[i].name, name) == 0)
      return &shapes[i];
  return NULL;
}

static const char *resolve_named_shape(const char *name, size_t len, void *data) {
  (void)data;
  for (size_t i = 0; i < COUNT_OF(shapes); i++)
    if (strlen(shapes[i].name) == len && memcmp(shapes[i].name, name, len) == 0)
      return shapes[i].shape;
  return NULL;
}

int chat_catalogue_check(uint32_t code, const chat_value *params, chat_error *err) {
  const chat_message_info *info = chat_catalogue_by_code(code);
  if (!info)
    return chat_error_set(err, CHAT_ERR_UNKNOWN_MESSAGE, 0, "unknown message type %u",
                          (unsigned)code);
  return chat_shape_check(info->shape, params, "params", resolve_named_shape, NULL, err);
}
