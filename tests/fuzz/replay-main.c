/* The replay driver: a main() for a fuzz target outside libFuzzer. It runs
 * LLVMFuzzerTestOneInput once on every regular file of the directories (or
 * on the files) named on the command line, in name order, and prints how
 * many it ran. A crash or a failed check aborts, naming the file on stderr
 * first, so a normal test run (meson test --suite fuzz-replay) replays the
 * saved corpus and the seeds made from spec/vectors. A missing directory
 * counts as empty (a target may have no saved corpus yet). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-util.h"

/* libFuzzer calls it before the first input when a target defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long long replayed;

static void replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    exit(1);
  }
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      data = realloc(data, cap);
      if (!data) {
        fprintf(stderr, "replay: out of memory for %s\n", path);
        exit(1);
      }
    }
    size_t n = fread(data + len, 1, cap - len, f);
    if (n == 0)
      break;
    len += n;
  }
  fclose(f);
  fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
  /* An exact-size copy, so reads past the end are caught as libFuzzer's. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    fprintf(stderr, "replay: out of memory for %s\n", path);
    exit(1);
  }
  if (len)
    memcpy(exact, data, len);
  free(data);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  replayed++;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return; /* no saved corpus (yet) */
  if (!S_ISDIR(st.st_mode)) {
    replay_file(path);
    return;
  }
  DIR *dir = opendir(path);
  if (!dir) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    exit(1);
  }
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.')
      continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, cap * sizeof *names);
      if (!names)
        exit(1);
    }
    size_t size = strlen(path) + strlen(entry->d_name) + 2;
    names[count] = malloc(size);
    if (!names[count])
      exit(1);
    snprintf(names[count], size, "%s/%s", path, entry->d_name);
    count++;
  }
  closedir(dir);
  if (count)
    qsort(names, count, sizeof *names, by_name);
  for (size_t i = 0; i < count; i++) {
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
      replay_file(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++)
    replay_path(argv[i]);
  printf("replayed %llu inputs\n", replayed);
  if (replayed == 0) {
    fprintf(stderr, "replay: no input found: the seeds or the corpus are missing\n");
    return 1;
  }
  return 0;
}
