#include "gtk-client/chat-reasons.h"

#include <glib/gi18n.h>
#include <string.h>

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
