#include "test-util.h"

#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"

#define READ_CHUNK 65536
/* The sleep of test_spin_until when the context has nothing ready. */
#define SPIN_IDLE_US 500

gboolean test_spin_until(gboolean (*done)(gpointer), gpointer data, guint timeout_ms) {
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!done(data)) {
    if (g_get_monotonic_time() >= end)
      return done(data);
    if (!g_main_context_iteration(NULL, FALSE))
      g_usleep(SPIN_IDLE_US);
  }
  return TRUE;
}

char *test_make_tmp_dir(const char *tmpl) {
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp(tmpl, &error);
  cr_assert_not_null(dir, "cannot make a temporary directory: %s", error ? error->message : "?");
  return dir;
}

gboolean test_remove_tree(const char *path) {
  if (path == NULL)
    return TRUE;
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      test_remove_tree(child);
    }
    g_rmdir(path);
  } else {
    g_remove(path);
  }
  return !g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK);
}

int test_count_entries(const char *path) {
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  if (dir == NULL)
    return -1;
  int n = 0;
  while (g_dir_read_name(dir))
    n++;
  return n;
}

char *read_whole_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  chat_buffer buf;
  chat_buffer_init(&buf);
  char chunk[READ_CHUNK];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    chat_buffer_append(&buf, chunk, n);
  fclose(f);
  chat_buffer_append_byte(&buf, 0);
  if (buf.failed) {
    chat_buffer_clear(&buf);
    return NULL;
  }
  size_t total;
  char *text = (char *)chat_buffer_steal(&buf, &total);
  if (len)
    *len = total - 1;
  return text;
}

char *test_read_text(const char *path) {
  static char *last;
  free(last);
  last = read_whole_file(path, NULL);
  cr_assert_not_null(last, "cannot read %s", path);
  return last;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool test_hex_decode(const char *hex, uint8_t **data, size_t *len) {
  size_t n = strlen(hex);
  *data = NULL;
  *len = 0;
  if (n % 2 != 0)
    return false;
  uint8_t *out = malloc(n / 2 + 1);
  cr_assert_not_null(out);
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(out);
      return false;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *data = out;
  *len = n / 2;
  return true;
}

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void);
size_t test_heap_in_use(void) {
  return __sanitizer_get_current_allocated_bytes();
}
#else
size_t test_heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
#endif
