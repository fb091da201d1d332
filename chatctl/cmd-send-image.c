/* chatctl send-image: send an image file to a friend or a room. */
#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <string.h>
#include <sys/stat.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/send-common.h"

/* Checks that path is an image gdk-pixbuf knows, no larger than `limit`
 * bytes, and reads it. */
static int read_image(const chatctl_command *self, const char *path, gsize limit, GBytes **image,
                      char **what) {
  struct stat st;
  if (stat(path, &st) != 0)
    return chatctl_usage_error(self, "%s: %s", path, g_strerror(errno));
  if (!S_ISREG(st.st_mode))
    return chatctl_usage_error(self, "%s is not a regular file", path);
  if (st.st_size == 0)
    return chatctl_usage_error(self, "%s is empty", path);
  if ((guint64)st.st_size > limit)
    return chatctl_fail(CHATCTL_EXIT_USAGE,
                        "%s is too large: %" G_GUINT64_FORMAT " bytes, over the limit of %zu bytes",
                        path, (guint64)st.st_size, limit);
  int width = 0, height = 0;
  GdkPixbufFormat *format = gdk_pixbuf_get_file_info(path, &width, &height);
  if (!format || width <= 0 || height <= 0)
    return chatctl_usage_error(self, "%s is not an image (no image format recognises it)", path);
  g_autofree char *format_name = gdk_pixbuf_format_get_name(format);
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, &error))
    return chatctl_usage_error(self, "%s", error->message);
  *image = g_bytes_new_take(data, len);
  *what =
      g_strdup_printf("the image %s (%s, %dx%d, %zu bytes)", path, format_name, width, height, len);
  return 0;
}

static int chatctl_send_image(const chatctl_command *self, int argc, char **argv,
                              const chatctl_globals *globals) {
  const char *to_user = NULL, *to_room = NULL;
  const chatctl_arg_option options[] = {
      {"--to-user", &to_user, NULL},
      {"--to-room", &to_room, NULL},
  };
  const char *args[1];
  int n;
  int status = chatctl_parse_args(self, argc, argv, options, G_N_ELEMENTS(options), args, 1, 1, &n);
  if (status == 0)
    status = chatctl_target_check(self, to_user, to_room);
  if (status)
    return status;
  /* Before connecting: what no server takes. The server's own limit (v2:
   * its max_message; seed: 16 MiB) is checked on the whole message once
   * connected. */
  g_autoptr(GBytes) image = NULL;
  g_autofree char *what = NULL;
  status = read_image(self, args[0], CHATCTL_MAX_MESSAGE_BYTES, &image, &what);
  if (status)
    return status;

  gsize len;
  const guint8 *data = g_bytes_get_data(image, &len);
  chat_msg_body body = {
      .form = CHAT_BODY_IMAGE,
      .type = CHAT_BODY_TYPE_IMAGE,
      .data = chat_span_bytes(data, len),
  };
  chatctl_send_request request = {to_user, to_room, &body, what, args[0]};
  return chatctl_send_body(self, globals, &request);
}

const chatctl_command chatctl_command_send_image = {
    "send-image",
    chatctl_send_image,
    "send an image file to a friend or a room",
    "send-image --user NAME (--to-user FRIEND | --to-room ID) FILE",
    "Logs in and sends the image FILE as the seed client does: the file's bytes\n"
    "as they are, in a message body of type 1. FILE must be an image that\n"
    "gdk-pixbuf recognises (PNG, JPEG, GIF, ...), no larger than the max_image\n"
    "a v2 server announces in the handshake, and the message must fit the\n"
    "server's limit: in v2 the max_message it announces, in seed 16 MiB. Like send, it exits 0 "
    "once the server has\n"
    "stored the message.\n"
    "\n"
    "Options:\n"
    "  --to-user FRIEND   a friend's username\n"
    "  --to-room ID       a room's number\n"
    "  --json             print the acknowledged message (the image as {\"$bytes_len\": N})\n"
    "\n"
    "Exit status: 2 when FILE is not an image or is too large; 1 when FRIEND is\n"
    "not a friend or the server refuses.\n"
    "\n"
    "Example:\n"
    "  chatctl --user alice send-image --to-user bob cat.png\n"
    "  sent message #13 to bob\n",
};
