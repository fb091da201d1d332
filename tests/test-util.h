/* Helpers the test programs share: waiting for a condition, temporary
 * directories, reading files, hex, heap use. Linked into every test
 * (tests/meson.build). */
#ifndef CHAT_TESTS_TEST_UTIL_H
#define CHAT_TESTS_TEST_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Iterates the default main context until done(data) is true or timeout_ms
 * has passed; returns done(data). Sleeps a little when nothing is ready. */
gboolean test_spin_until(gboolean (*done)(gpointer), gpointer data, guint timeout_ms);

/* Creates a new directory from tmpl ("name-XXXXXX") in the temp directory
 * and returns its path (g_free it); a failure fails the test. */
char *test_make_tmp_dir(const char *tmpl);

/* Removes path and everything below it (links are removed, not followed).
 * TRUE when path is gone (or was NULL or absent). */
gboolean test_remove_tree(const char *path);

/* The number of entries of a directory (-1 when it cannot be read). */
int test_count_entries(const char *dir);

/* The whole of a file as a NUL-terminated string (free it). NULL if absent. */
char *read_whole_file(const char *path, size_t *len);

/* The whole of a file as text; a failure fails the test. The string stays
 * valid until the next call. */
char *test_read_text(const char *path);

/* Decodes a string of hex digits (either case) into *data (free it) and
 * *len; false, with *data NULL, when it is not hex. */
bool test_hex_decode(const char *hex, uint8_t **data, size_t *len);

/* Heap bytes in use: AddressSanitizer's allocator under ASan (mallinfo2
 * does not see it), glibc's otherwise. */
size_t test_heap_in_use(void);

#endif
