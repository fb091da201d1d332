/* A key log file (protocol/keylog.h) read into memory for lookups by label
 * and session id.
 *
 * Lines are parsed with chat_keylog_parse_line: comments, blank lines and
 * unknown labels are skipped; a malformed line is reported through the
 * warning callback and skipped, since one bad line should not hide every
 * other session. When the same label and id appear twice the first wins.
 * Bounded: lines longer than KEYLOG_TABLE_LINE_MAX are malformed, and at
 * most KEYLOG_TABLE_MAX_ENTRIES keys are kept. The secrets are wiped on
 * free. */
#ifndef CHATCTL_CAPTURE_KEYLOG_TABLE_H
#define CHATCTL_CAPTURE_KEYLOG_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/keylog.h"

/* Most keys kept (two per v2 session, one per seed session). */
#define KEYLOG_TABLE_MAX_ENTRIES ((size_t)1 << 20)
/* Longest line read; a longer one is malformed. */
#define KEYLOG_TABLE_LINE_MAX (2u * CHAT_KEYLOG_LINE_MAX)
#define KEYLOG_TABLE_ERROR_MAX 320u

typedef struct keylog_table keylog_table;

typedef void (*keylog_table_warning)(void *user, const char *path, size_t line_number,
                                     const char *reason);

/* Reads the key log at path. Returns 0 and *out, or -1 with a reason in err
 * (cannot open or read the file; out of memory). */
int keylog_table_load(const char *path, keylog_table_warning warn, void *warn_user,
                      keylog_table **out, char err[KEYLOG_TABLE_ERROR_MAX]);

/* Copies the secret for (label, id) into secret; false when there is none. */
bool keylog_table_find(const keylog_table *table, chat_keylog_label label,
                       const uint8_t id[CHAT_KEYLOG_ID_LEN],
                       uint8_t secret[CHAT_KEYLOG_SECRET_LEN]);

/* The number of keys kept. */
size_t keylog_table_count(const keylog_table *table);

/* Wipes and frees; NULL is allowed. */
void keylog_table_free(keylog_table *table);

#endif
