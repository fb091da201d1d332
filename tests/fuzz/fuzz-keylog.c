/* Fuzz target: key log reading. Each line through chat_keylog_parse_line
 * (protocol/keylog.h), and the whole file through chatctl dump's
 * keylog_table_load (chatctl/capture/keylog-table.c). */
#include <string.h>

#include "chatctl/capture/keylog-table.h"
#include "fuzz-util.h"
#include "protocol/keylog.h"

static void ignore_warning(void *user, const char *path, size_t line_number, const char *reason) {
  (void)user;
  (void)path;
  (void)line_number;
  (void)reason;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  size_t line_number = 1;
  size_t entries = 0;
  for (size_t start = 0; start < size; line_number++) {
    const char *nl = memchr(text + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - text) + 1 : size;
    chat_keylog_entry entry;
    chat_error err;
    int rc = chat_keylog_parse_line(text + start, end - start, line_number, &entry, &err);
    FUZZ_CHECK(rc <= 1);
    if (rc == 1)
      entries++;
    start = end;
  }
  keylog_table *table = NULL;
  char err[KEYLOG_TABLE_ERROR_MAX];
  const char *path = fuzz_scratch_file("-keylog", data, size);
  if (keylog_table_load(path, ignore_warning, NULL, &table, err) == 0) {
    FUZZ_CHECK(keylog_table_count(table) <= entries);
    keylog_table_free(table);
  }
  return 0;
}
