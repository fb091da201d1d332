/* chatctl send: send a text message to a friend or a room. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/input.h"
#include "chatctl/send-common.h"
#include "protocol/chat-limits.h"

#define DEFAULT_FONT_SIZE G_STRINGIFY(CHAT_FONT_SIZE_DEFAULT)
#define DEFAULT_FONT_COLOR CHAT_FONT_COLOR_DEFAULT
/* The server's bounds on a font size. */
#define FONT_SIZE_MIN CHAT_FONT_SIZE_LOWEST
#define FONT_SIZE_MAX CHAT_FONT_SIZE_HIGHEST
/* "#rrggbb", as the server checks it (chat-limits.h). */
static gboolean color_valid(const char *color) {
  return chat_font_color_valid(color, strlen(color));
}

/* The text: the argument, or standard input without its final line end. */
static int read_text(const chatctl_command *self, const char *arg, char **text) {
  if (arg) {
    *text = g_strdup(arg);
  } else {
    chat_buffer in;
    chat_buffer_init(&in);
    int status = chatctl_read_stdin(&in);
    if (status) {
      chat_buffer_clear(&in);
      return status;
    }
    size_t len = in.len;
    if (len > 0 && in.data[len - 1] == '\n')
      len--;
    if (len > 0 && in.data[len - 1] == '\r')
      len--;
    *text = g_strndup(in.data ? (const char *)in.data : "", len);
    gboolean has_nul = in.data && memchr(in.data, '\0', len) != NULL;
    chat_buffer_clear(&in);
    if (has_nul)
      return chatctl_usage_error(self, "the text on standard input contains a NUL byte");
  }
  if (!g_utf8_validate(*text, -1, NULL))
    return chatctl_usage_error(self, "the text is not valid UTF-8");
  if ((*text)[0] == '\0')
    return chatctl_usage_error(self, "the message is empty");
  return 0;
}

static int chatctl_send(const chatctl_command *self, int argc, char **argv,
                        const chatctl_globals *globals) {
  const char *to_user = NULL, *to_room = NULL;
  const char *font_size_text = DEFAULT_FONT_SIZE, *font_color = DEFAULT_FONT_COLOR;
  const chatctl_arg_option options[] = {
      {"--to-user", &to_user, NULL},
      {"--to-room", &to_room, NULL},
      {"--font-size", &font_size_text, NULL},
      {"--font-color", &font_color, NULL},
  };
  const char *args[1] = {NULL};
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), args, 0, 1, &n);
  if (status)
    return status;
  status = chatctl_target_check(self, to_user, to_room);
  gint64 font_size = 0;
  if (status == 0)
    status = chatctl_parse_int(self, "--font-size", font_size_text, FONT_SIZE_MIN, FONT_SIZE_MAX,
                               &font_size);
  if (status == 0 && !color_valid(font_color))
    status = chatctl_usage_error(self, "--font-color must be #rrggbb, not '%s'", font_color);
  if (status)
    return status;
  g_autofree char *text = NULL;
  status = read_text(self, args[0], &text);
  if (status)
    return status;

  chat_msg_body body = {
      .form = CHAT_BODY_TEXT,
      .type = CHAT_BODY_TYPE_TEXT,
      .data = chat_span_cstr(text),
      .font_size = font_size,
      .font_color = chat_span_cstr(font_color),
  };
  chatctl_send_request request = {to_user, to_room, &body, "the text", NULL};
  return chatctl_send_body(self, globals, &request);
}

const chatctl_command chatctl_command_send = {
    "send",
    chatctl_send,
    "send a text message to a friend or a room",
    "send --user NAME (--to-user FRIEND | --to-room ID) [--font-size N]\n"
    "       [--font-color #rrggbb] [TEXT]",
    "Logs in and sends TEXT, or standard input when TEXT is absent (several lines\n"
    "are kept; one final line end is dropped), to a friend or a room. It exits 0\n"
    "only once the server has stored the message: in v2 when its copy with this\n"
    "send's random client_msg_id comes back, in seed when the sender's own copy\n"
    "comes back.\n"
    "\n"
    "Options:\n"
    "  --to-user FRIEND     a friend's username (from the friends of the login)\n"
    "  --to-room ID         a room's number (you must be a member)\n"
    "  --font-size N        1..1000 (default 12)\n"
    "  --font-color COLOR   #rrggbb (default #000000)\n"
    "  --json               print the acknowledged message (the server's copy)\n"
    "\n"
    "Exit status: 1 when FRIEND is not a friend or the server refuses\n"
    "(its reason on stderr; 5 when the server could not do it now).\n"
    "\n"
    "Examples:\n"
    "  chatctl --user alice send --to-user bob 'see you at 8'\n"
    "  sent message #12 to bob\n"
    "  fortune | chatctl --user alice send --to-room 3 --font-color '#aa0000'\n",
};
