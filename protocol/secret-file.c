/* Writing a secret file atomically with mode 0600. See
 * protocol/secret-file.h. */
#include "protocol/secret-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0)
      return -EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The directory of path ("." when it has none), malloc'ed. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    return strdup(".");
  if (slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/* Moves temp to path; with no_replace, an existing path is kept and 1
 * returned. */
static int move_into_place(const char *temp, const char *path, bool no_replace) {
  if (!no_replace)
    return rename(temp, path) == 0 ? 0 : -errno;
  if (renameat2(AT_FDCWD, temp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno == EEXIST)
    return 1;
  if (errno != EINVAL && errno != ENOSYS)
    return -errno;
  /* A file system without RENAME_NOREPLACE: link() does not replace
   * either. */
  if (link(temp, path) != 0)
    return errno == EEXIST ? 1 : -errno;
  unlink(temp);
  return 0;
}

int chat_secret_file_write(const char *path, const void *data, size_t len, unsigned flags) {
  if (path == NULL || path[0] == '\0' || (data == NULL && len > 0))
    return -EINVAL;
  size_t path_len = strlen(path);
  char *temp = malloc(path_len + sizeof CHAT_SECRET_FILE_TEMP_SUFFIX);
  char *dir = dir_of(path);
  if (temp == NULL || dir == NULL) {
    free(temp);
    free(dir);
    return -ENOMEM;
  }
  memcpy(temp, path, path_len);
  memcpy(temp + path_len, CHAT_SECRET_FILE_TEMP_SUFFIX, sizeof CHAT_SECRET_FILE_TEMP_SUFFIX);

  /* mkostemp creates the file with mode 0600 (less the umask) and O_EXCL;
   * fchmod makes it exactly CHAT_SECRET_FILE_MODE before any byte is in. */
  int fd = mkostemp(temp, O_CLOEXEC);
  if (fd < 0) {
    int rc = -errno;
    free(temp);
    free(dir);
    return rc;
  }
  int rc = fchmod(fd, CHAT_SECRET_FILE_MODE) == 0 ? 0 : -errno;
  if (rc == 0)
    rc = write_all(fd, data, len);
  if (rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0)
    rc = move_into_place(temp, path, (flags & CHAT_SECRET_FILE_NO_REPLACE) != 0);
  if (rc != 0) {
    unlink(temp);
  } else {
    /* Make the rename itself durable. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  free(temp);
  free(dir);
  return rc;
}
