/* Image formats by signature (see image-format.h). */
#include "protocol/image-format.h"

#include <string.h>

static int starts_with(const uint8_t *data, size_t len, size_t at, const char *magic,
                       size_t magic_len) {
  return len >= at + magic_len && memcmp(data + at, magic, magic_len) == 0;
}

const char *chat_image_format(const uint8_t *data, size_t len) {
  if (data == NULL)
    return "";
  if (starts_with(data, len, 0, "\x89PNG\r\n\x1a\n", 8))
    return "png";
  if (starts_with(data, len, 0, "\xff\xd8\xff", 3))
    return "jpeg";
  if (starts_with(data, len, 0, "GIF8", 4))
    return "gif";
  if (starts_with(data, len, 0, "RIFF", 4) && starts_with(data, len, 8, "WEBP", 4))
    return "webp";
  if (starts_with(data, len, 0, "BM", 2))
    return "bmp";
  return "";
}
