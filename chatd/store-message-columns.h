/* The columns both SQL backends (store-statements.c, SQLite, and
 * store-pg-statements.c, PostgreSQL) select for a message record, in one
 * order, so that one list and one enum serve both readers. */
#pragma once

/* The columns of a message record, in MessageColumn order; m is messages,
 * u the sender's users row; image is the image column's expression (the
 * bytes, or a NULL of the backend's type to leave them out). */
#define MESSAGE_COLUMNS_WITH_IMAGE(image)                                                          \
  "m.id, m.sender_id, m.target_type, m.target_id, m.sent_ms, m.kind, m.text, "                     \
  "m.font_size, m.font_color, " image ", m.client_msg_id, u.nickname, "                            \
  "coalesce(m.image_size, 0), coalesce(m.image_format, '')"
#define MESSAGE_COLUMNS MESSAGE_COLUMNS_WITH_IMAGE("m.image")

typedef enum {
  COL_ID,
  COL_SENDER_ID,
  COL_TARGET_TYPE,
  COL_TARGET_ID,
  COL_SENT_MS,
  COL_KIND,
  COL_TEXT,
  COL_FONT_SIZE,
  COL_FONT_COLOR,
  COL_IMAGE,
  COL_CLIENT_MSG_ID,
  COL_SENDER_NICKNAME,
  COL_IMAGE_SIZE,
  COL_IMAGE_FORMAT,
  COL_AFTER_MESSAGE, /* first extra column of a statement */
} MessageColumn;
