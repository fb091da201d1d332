/* Tests of chat_secret_file_write (protocol/secret-file.h): the mode is
 * exactly 0600 whatever the umask and whatever the old file's mode, the
 * content is the data, no temporary file is left behind, and NO_REPLACE
 * keeps an existing file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "protocol/secret-file.h"

#define PERMISSION_BITS 07777

static char dir[] = "/tmp/test-secret-file-XXXXXX";
static char path[sizeof dir + 16];

static void setup(void) {
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/secret", dir);
}

static void teardown(void) {
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    char name[sizeof dir + 300];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(name, sizeof name, "%s/%s", dir, e->d_name);
      unlink(name);
    }
    closedir(d);
  }
  rmdir(dir);
}

TestSuite(secret_file, .init = setup, .fini = teardown);

static mode_t mode_of(const char *p) {
  struct stat st;
  cr_assert_eq(stat(p, &st), 0, "%s: %s", p, strerror(errno));
  return st.st_mode & PERMISSION_BITS;
}

static void assert_content(const char *p, const char *expected) {
  char buf[256];
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  cr_assert_eq(n, strlen(expected));
  cr_assert_str_eq(buf, expected);
}

/* The number of directory entries besides . and .. */
static int entries(void) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

Test(secret_file, a_new_file_is_0600_whatever_the_umask) {
  mode_t old = umask(0);
  cr_assert_eq(chat_secret_file_write(path, "token\n", 6, 0), 0);
  umask(old);
  cr_assert_eq(mode_of(path), 0600, "mode %o", (unsigned)mode_of(path));
  assert_content(path, "token\n");
  cr_assert_eq(entries(), 1, "no temporary file left");
}

Test(secret_file, a_restrictive_umask_still_gives_0600) {
  mode_t old = umask(0277);
  cr_assert_eq(chat_secret_file_write(path, "x", 1, 0), 0);
  umask(old);
  cr_assert_eq(mode_of(path), 0600);
}

Test(secret_file, replacing_a_readable_file_makes_it_0600) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "old content", 11), 11);
  close(fd);
  chmod(path, 0644);
  cr_assert_eq(chat_secret_file_write(path, "new", 3, 0), 0);
  cr_assert_eq(mode_of(path), 0600);
  assert_content(path, "new");
  cr_assert_eq(entries(), 1);
}

Test(secret_file, empty_content) {
  cr_assert_eq(chat_secret_file_write(path, NULL, 0, 0), 0);
  assert_content(path, "");
  cr_assert_eq(mode_of(path), 0600);
}

Test(secret_file, no_replace_keeps_an_existing_file) {
  cr_assert_eq(chat_secret_file_write(path, "first", 5, CHAT_SECRET_FILE_NO_REPLACE), 0);
  cr_assert_eq(chat_secret_file_write(path, "second", 6, CHAT_SECRET_FILE_NO_REPLACE), 1);
  assert_content(path, "first");
  cr_assert_eq(entries(), 1, "the temporary file is removed");
}

Test(secret_file, a_missing_directory_is_an_error_and_leaves_nothing) {
  char missing[sizeof dir + 32];
  snprintf(missing, sizeof missing, "%s/no/such/file", dir);
  cr_assert_eq(chat_secret_file_write(missing, "x", 1, 0), -ENOENT);
  cr_assert_eq(entries(), 0);
  cr_assert_eq(chat_secret_file_write(NULL, "x", 1, 0), -EINVAL);
}

Test(secret_file, a_file_without_a_directory_part_is_written_in_the_current_one) {
  char cwd[4096];
  cr_assert_not_null(getcwd(cwd, sizeof cwd));
  cr_assert_eq(chdir(dir), 0);
  cr_assert_eq(chat_secret_file_write("plain", "p", 1, 0), 0);
  cr_assert_eq(chdir(cwd), 0);
  char full[sizeof dir + 16];
  snprintf(full, sizeof full, "%s/plain", dir);
  assert_content(full, "p");
  cr_assert_eq(mode_of(full), 0600);
}
