#include "gtk-client/chat-reasons.h"

#include <glib/gi18n.h>
#include <string.h>

/* v2: what each error code means to the user. A code missing here (a
 * newer server's) falls back to the server's text. */
static const char *const by_code[CHAT_REQUEST_ERROR_COUNT] = {
    [CHAT_REQUEST_ERROR_BAD_REQUEST] = N_("The server did not understand the request."),
    [CHAT_REQUEST_ERROR_NOT_LOGGED_IN] = N_("Log in first."),
    [CHAT_REQUEST_ERROR_UNSUPPORTED_REQUEST] = N_("The server does not support this request."),
    [CHAT_REQUEST_ERROR_SERVER_BUSY] = N_("The server is busy. Try again."),
    [CHAT_REQUEST_ERROR_STORAGE_FAILED] = N_("The server could not save the change. Try again."),
    [CHAT_REQUEST_ERROR_SERVER_ERROR] = N_("The server failed. Try again."),
    [CHAT_REQUEST_ERROR_TOO_MANY_ATTEMPTS] =
        N_("Too many failed attempts. Wait a minute and try again."),
    [CHAT_REQUEST_ERROR_TOO_MANY_ACCOUNTS] = N_("Too many new accounts. Try again later."),
    [CHAT_REQUEST_ERROR_LOGIN_FAILED] = N_("Wrong username or password."),
    [CHAT_REQUEST_ERROR_TOKEN_REFUSED] =
        N_("The saved login has expired; log in with your password."),
    [CHAT_REQUEST_ERROR_WRONG_PASSWORD] = N_("The old password is wrong."),
    [CHAT_REQUEST_ERROR_USERNAME_TAKEN] = N_("That username is already taken."),
    [CHAT_REQUEST_ERROR_INVALID_USERNAME] =
        N_("A username is 1 to 32 bytes without spaces or control characters."),
    [CHAT_REQUEST_ERROR_INVALID_PASSWORD] = N_("A password is 1 to 1024 bytes."),
    [CHAT_REQUEST_ERROR_INVALID_NICKNAME] =
        N_("A nickname is 1 to 64 bytes without line breaks or control characters."),
    [CHAT_REQUEST_ERROR_INVALID_ROOM_NAME] =
        N_("A room name is 1 to 64 bytes without line breaks or control characters."),
    [CHAT_REQUEST_ERROR_INVALID_MESSAGE] = N_("The server refused the message."),
    [CHAT_REQUEST_ERROR_MESSAGE_TOO_LARGE] = N_("The message is larger than the server accepts."),
    [CHAT_REQUEST_ERROR_INVALID_TARGET] = N_("The server refused the request."),
    [CHAT_REQUEST_ERROR_NO_SUCH_USER] = N_("There is no user with that username."),
    [CHAT_REQUEST_ERROR_CANNOT_ADD_SELF] = N_("You cannot add yourself as a friend."),
    [CHAT_REQUEST_ERROR_ALREADY_FRIENDS] = N_("You are already friends."),
    [CHAT_REQUEST_ERROR_REQUEST_PENDING] = N_("A friend request is already waiting for an answer."),
    [CHAT_REQUEST_ERROR_NO_SUCH_FRIEND_REQUEST] = N_("That friend request no longer exists."),
    [CHAT_REQUEST_ERROR_NOT_FRIEND] = N_("You can only send messages to friends."),
    [CHAT_REQUEST_ERROR_NO_SUCH_ROOM] = N_("There is no room with that number."),
    [CHAT_REQUEST_ERROR_ALREADY_MEMBER] = N_("You are already a member of this room."),
    [CHAT_REQUEST_ERROR_NOT_MEMBER] = N_("You are not a member of this room."),
};

/* The seed dialect has no codes: chatd's English sentences. */
typedef struct {
  const char *server; /* the server's words (chatd) */
  const char *user;   /* what the user reads (translated) */
} Reason;

static const Reason notices[] = {
    {"no such user", N_("There is no user with that username.")},
    {"there is no such user", N_("There is no user with that username.")},
    {"you cannot add yourself", N_("You cannot add yourself as a friend.")},
    {"you are already friends", N_("You are already friends.")},
    {"a request is already waiting for an answer",
     N_("A friend request is already waiting for an answer.")},
    {"there is no such friend request", N_("That friend request no longer exists.")},
    {"there is no such room", N_("There is no room with that number.")},
    {"you are already a member of this room", N_("You are already a member of this room.")},
    {"you are not a member of this room", N_("You are not a member of this room.")},
    {"you can only send messages to your friends", N_("You can only send messages to friends.")},
    {"the message is empty", N_("The message is empty.")},
    {"the image is empty", N_("The image is empty.")},
    {"too many login attempts; try again later",
     N_("Too many login attempts. Wait a minute and try again.")},
    {"the server is busy; try again", N_("The server is busy. Try again.")},
    {"the username is empty", N_("Choose a username.")},
    {"the username contains spaces or control characters",
     N_("A username cannot contain spaces or control characters.")},
    {"the nickname is empty", N_("Choose a nickname.")},
};

/* A raw server text ("something went wrong") as a sentence ("Something
 * went wrong."); anything else is left alone. */
static char *as_sentence(const char *text) {
  if (!g_ascii_islower(text[0]))
    return g_strdup(text);
  GString *out = g_string_new(text);
  out->str[0] = g_ascii_toupper(out->str[0]);
  if (!g_str_has_suffix(out->str, ".") && !g_str_has_suffix(out->str, "!") &&
      !g_str_has_suffix(out->str, "?"))
    g_string_append_c(out, '.');
  return g_string_free(out, FALSE);
}

char *chat_reasons_for_failure(chat_request_error code, const char *text) {
  if ((unsigned)code < CHAT_REQUEST_ERROR_COUNT && by_code[code])
    return g_strdup(_(by_code[code]));
  return chat_reasons_translate(text);
}

char *chat_reasons_translate(const char *text) {
  if (text == NULL || *text == '\0')
    return g_strdup(_("The server refused the request."));
  for (guint i = 0; i < G_N_ELEMENTS(notices); i++) {
    if (g_ascii_strcasecmp(text, notices[i].server) == 0)
      return g_strdup(_(notices[i].user));
  }
  /* chatd: Room "NAME" created: its number is N */
  if (g_str_has_prefix(text, "Room \"")) {
    const char *end = strstr(text, "\" created: its number is ");
    if (end) {
      g_autofree char *name = g_strndup(text + strlen("Room \""), end - text - strlen("Room \""));
      const char *number = end + strlen("\" created: its number is ");
      /* Translators: the first %s is a room name, the second its number. */
      return g_strdup_printf(_("Room “%s” created. Its number is %s."), name, number);
    }
  }
  return as_sentence(text);
}
