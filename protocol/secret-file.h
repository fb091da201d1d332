/* Writing a secret file: a key, a resume token, the pins of known_hosts.
 *
 * The one way every program writes a file that only its owner may read:
 * the data goes to a temporary file next to the target, created with mode
 * CHAT_SECRET_FILE_MODE from the start (never readable by others, whatever
 * the umask), written, fsync'ed, then renamed over the target, and the
 * directory is fsync'ed so the rename is durable. A reader sees the old
 * file or the new one, never a part of either. Plain C, no GLib. */
#ifndef CHAT_PROTOCOL_SECRET_FILE_H
#define CHAT_PROTOCOL_SECRET_FILE_H

#include <stddef.h>

/* The mode of every secret file, and of the directories made for them. */
#define CHAT_SECRET_FILE_MODE 0600
#define CHAT_SECRET_DIR_MODE 0700

/* The suffix of the temporary file (a mkstemp template) next to the target. */
#define CHAT_SECRET_FILE_TEMP_SUFFIX ".tmp.XXXXXX"

/* Flags of chat_secret_file_write. */
enum {
  /* Leave an existing file alone: the rename does not replace it, and the
   * call returns 1 (someone else created it first). */
  CHAT_SECRET_FILE_NO_REPLACE = 1u << 0,
};

/* Writes data[0..len) to path as described above. The directory must exist.
 * Returns 0 when written, 1 when CHAT_SECRET_FILE_NO_REPLACE was given and
 * path already existed (nothing written), or a negative errno value (the
 * temporary file is removed; path is unchanged). */
int chat_secret_file_write(const char *path, const void *data, size_t len, unsigned flags);

#endif
