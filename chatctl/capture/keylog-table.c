/* The key log read into a sorted array. See keylog-table.h. */
#include "chatctl/capture/keylog-table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 16u

/* An entry and its position in the file, so the first of equal keys wins
 * after the (unstable) sort. */
typedef struct {
  chat_keylog_entry entry;
  size_t order;
} table_entry;

struct keylog_table {
  table_entry *entries;
  size_t count;
  size_t capacity;
};

static int compare_keys(const chat_keylog_entry *x, const chat_keylog_entry *y) {
  if (x->label != y->label)
    return x->label < y->label ? -1 : 1;
  return memcmp(x->id, y->id, sizeof x->id);
}

static int compare_entries(const void *a, const void *b) {
  const table_entry *x = a, *y = b;
  int c = compare_keys(&x->entry, &y->entry);
  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

static bool append(keylog_table *t, const chat_keylog_entry *entry) {
  if (t->count == t->capacity) {
    size_t cap = t->capacity ? 2 * t->capacity : INITIAL_CAPACITY;
    if (cap > KEYLOG_TABLE_MAX_ENTRIES)
      cap = KEYLOG_TABLE_MAX_ENTRIES;
    table_entry *bigger = calloc(cap, sizeof *bigger);
    if (bigger == NULL)
      return false;
    if (t->count > 0) {
      memcpy(bigger, t->entries, t->count * sizeof *bigger);
      explicit_bzero(t->entries, t->count * sizeof *t->entries);
    }
    free(t->entries);
    t->entries = bigger;
    t->capacity = cap;
  }
  t->entries[t->count].entry = *entry;
  t->entries[t->count].order = t->count;
  t->count++;
  return true;
}

/* Parses one line; a failure is a warning. */
static bool take_line(keylog_table *t, const char *path, const char *line, size_t len,
                      size_t number, keylog_table_warning warn, void *warn_user,
                      bool *full_warned) {
  chat_keylog_entry entry;
  chat_error err;
  int rc = chat_keylog_parse_line(line, len, number, &entry, &err);
  if (rc < 0) {
    if (warn)
      warn(warn_user, path, number, err.message);
    return true;
  }
  if (rc == 0)
    return true;
  bool ok = true;
  if (t->count >= KEYLOG_TABLE_MAX_ENTRIES) {
    if (!*full_warned && warn)
      warn(warn_user, path, number, "too many keys: this one and the rest are ignored");
    *full_warned = true;
  } else {
    ok = append(t, &entry);
  }
  explicit_bzero(&entry, sizeof entry);
  return ok;
}

int keylog_table_load(const char *path, keylog_table_warning warn, void *warn_user,
                      keylog_table **out, char err[KEYLOG_TABLE_ERROR_MAX]) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    snprintf(err, KEYLOG_TABLE_ERROR_MAX, "cannot open the key log %s: %s", path, strerror(errno));
    return -1;
  }
  keylog_table *t = calloc(1, sizeof *t);
  if (t == NULL) {
    fclose(f);
    snprintf(err, KEYLOG_TABLE_ERROR_MAX, "out of memory");
    return -1;
  }
  char line[KEYLOG_TABLE_LINE_MAX + 1];
  size_t len = 0, number = 1;
  bool too_long = false, full_warned = false, ok = true;
  int c;
  while (ok && (c = getc(f)) != EOF) {
    if (c != '\n') {
      if (len < KEYLOG_TABLE_LINE_MAX)
        line[len++] = (char)c;
      else
        too_long = true;
      continue;
    }
    if (too_long) {
      if (warn)
        warn(warn_user, path, number, "line too long");
    } else {
      ok = take_line(t, path, line, len, number, warn, warn_user, &full_warned);
    }
    len = 0;
    too_long = false;
    number++;
  }
  if (ok && !too_long && len > 0)
    ok = take_line(t, path, line, len, number, warn, warn_user, &full_warned);
  else if (ok && too_long && warn)
    warn(warn_user, path, number, "line too long");
  bool read_error = ferror(f) != 0;
  int saved_errno = errno;
  fclose(f);
  explicit_bzero(line, sizeof line);
  if (!ok || read_error) {
    if (!ok)
      snprintf(err, KEYLOG_TABLE_ERROR_MAX, "out of memory reading the key log %s", path);
    else
      snprintf(err, KEYLOG_TABLE_ERROR_MAX, "cannot read the key log %s: %s", path,
               strerror(saved_errno));
    keylog_table_free(t);
    return -1;
  }
  if (t->count > 1)
    qsort(t->entries, t->count, sizeof *t->entries, compare_entries);
  *out = t;
  return 0;
}

bool keylog_table_find(const keylog_table *t, chat_keylog_label label,
                       const uint8_t id[CHAT_KEYLOG_ID_LEN],
                       uint8_t secret[CHAT_KEYLOG_SECRET_LEN]) {
  if (t == NULL || t->count == 0)
    return false;
  chat_keylog_entry key;
  memset(&key, 0, sizeof key);
  key.label = label;
  memcpy(key.id, id, CHAT_KEYLOG_ID_LEN);
  /* The first of equal entries: a lower bound. */
  size_t lo = 0, hi = t->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (compare_keys(&t->entries[mid].entry, &key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == t->count || compare_keys(&t->entries[lo].entry, &key) != 0)
    return false;
  memcpy(secret, t->entries[lo].entry.secret, CHAT_KEYLOG_SECRET_LEN);
  return true;
}

size_t keylog_table_count(const keylog_table *t) {
  return t != NULL ? t->count : 0;
}

void keylog_table_free(keylog_table *t) {
  if (t == NULL)
    return;
  if (t->entries != NULL)
    explicit_bzero(t->entries, t->capacity * sizeof *t->entries);
  free(t->entries);
  free(t);
}
