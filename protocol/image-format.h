/* The format of an image, from its first bytes: what an image preview
 * (spec section 5.2, @body) names, and what chatd stores beside each image.
 * The database migration that fills it for older messages
 * (chatd/store-schema.c, migration 2) applies the same signatures. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* How many first bytes chat_image_format looks at, at most. */
#define CHAT_IMAGE_FORMAT_HEAD 12

/* "png", "jpeg", "gif", "webp" or "bmp", or "" when the bytes start with
 * none of their signatures. A static string. */
const char *chat_image_format(const uint8_t *data, size_t len);
