/* Tests of the session key log (protocol/keylog.h). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/keylog.h"
#include "protocol/v2-channel.h"
#include "test-util.h"

#define WRITERS 4
#define LINES_PER_WRITER 250

static char *dir;
static char path[256];

static void make_dir(void) {
  dir = test_make_tmp_dir("chat-keylog-XXXXXX");
  snprintf(path, sizeof path, "%s/keys.log", dir);
}

static void remove_dir(void) {
  cr_assert(test_remove_tree(dir), "cannot remove %s", dir);
  g_clear_pointer(&dir, g_free);
}

TestSuite(keylog, .init = make_dir, .fini = remove_dir);

static void fill(uint8_t *p, size_t n, uint8_t start) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(start + i);
}

Test(keylog, created_with_mode_0600_whatever_the_umask) {
  umask(0);
  chat_keylog *log;
  chat_error err;
  cr_assert_eq(chat_keylog_open(path, &log, &err), 0, "%s", err.message);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600);
  chat_keylog_close(log);
}

Test(keylog, an_existing_file_open_to_others_is_refused) {
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(fchmod(fd, 0644), 0);
  close(fd);
  chat_keylog *log = (chat_keylog *)1;
  chat_error err;
  cr_assert_eq(chat_keylog_open(path, &log, &err), CHAT_KEYLOG_ERR_PERMISSIONS);
  cr_assert_null(log);
  cr_assert(strstr(err.message, "0644") != NULL, "%s", err.message);
  cr_assert_eq(chat_keylog_open("/nonexistent-dir/keys.log", &log, &err), CHAT_KEYLOG_ERR_IO);
}

Test(keylog, lines_have_the_nss_format_and_are_appended) {
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  cr_assert_eq(write(fd, "# earlier\n", 10), 10);
  close(fd);
  chat_keylog *log;
  cr_assert_eq(chat_keylog_open(path, &log, NULL), 0);
  uint8_t id[32], c2s[32], s2c[32];
  fill(id, 32, 0x00);
  fill(c2s, 32, 0xA0);
  fill(s2c, 32, 0x10);
  cr_assert_eq(chat_keylog_write_v2(log, id, c2s, s2c), 0);
  chat_keylog_close(log);
  /* Reopened: appends. */
  cr_assert_eq(chat_keylog_open(path, &log, NULL), 0);
  static const uint8_t seed_public[] = {'a', 'b', 'c'};
  cr_assert_eq(chat_keylog_write_seed(log, seed_public, sizeof seed_public, c2s), 0);
  chat_keylog_close(log);
  /* SHA-256("abc") is the FIPS 180-2 example digest ba7816bf...f20015ad. */
  cr_assert_str_eq(
      test_read_text(path),
      "# earlier\n"
      "CHAT_V2_C2S_KEY 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n"
      "CHAT_V2_S2C_KEY 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
      "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\n"
      "CHAT_SEED_KEY ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n");
}

Test(keylog, only_the_known_labels_and_lengths_are_written) {
  chat_keylog *log;
  cr_assert_eq(chat_keylog_open(path, &log, NULL), 0);
  uint8_t id[32] = {0}, secret[32] = {0};
  cr_assert_eq(chat_keylog_write(log, "CHAT_SERVER_STATIC_KEY", id, 32, secret, 32),
               CHAT_KEYLOG_ERR_INVALID_ARGUMENT, "static keys are never logged");
  cr_assert_eq(chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_C2S, id, 31, secret, 32),
               CHAT_KEYLOG_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_C2S, id, 32, secret, 64),
               CHAT_KEYLOG_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_keylog_write_seed(log, NULL, 0, secret), CHAT_KEYLOG_ERR_INVALID_ARGUMENT);
  chat_keylog_close(log);
  cr_assert_str_eq(test_read_text(path), "");
}

Test(keylog, concurrent_writers_never_interleave_lines) {
  for (int w = 0; w < WRITERS; w++) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      chat_keylog *log;
      if (chat_keylog_open(path, &log, NULL) != 0)
        _exit(1);
      uint8_t id[32], secret[32];
      for (int i = 0; i < LINES_PER_WRITER; i++) {
        memset(id, w, sizeof id);
        memset(secret, i, sizeof secret);
        if (chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_S2C, id, 32, secret, 32) != 0)
          _exit(1);
      }
      chat_keylog_close(log);
      _exit(0);
    }
  }
  for (int w = 0; w < WRITERS; w++) {
    int status;
    cr_assert_gt(wait(&status), 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  char *text = test_read_text(path);
  size_t lines = 0;
  int per_writer[WRITERS] = {0};
  for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    chat_keylog_entry e;
    chat_error err;
    cr_assert_eq(chat_keylog_parse_line(line, strlen(line), lines + 1, &e, &err), 1, "%s",
                 err.message);
    cr_assert_eq(e.label, CHAT_KEYLOG_V2_S2C);
    cr_assert_lt(e.id[0], WRITERS);
    for (int i = 1; i < 32; i++) {
      cr_assert_eq(e.id[i], e.id[0]);
      cr_assert_eq(e.secret[i], e.secret[0]);
    }
    per_writer[e.id[0]]++;
    lines++;
  }
  cr_assert_eq(lines, WRITERS * LINES_PER_WRITER);
  for (int w = 0; w < WRITERS; w++)
    cr_assert_eq(per_writer[w], LINES_PER_WRITER);
}

Test(keylog, parse_round_trip_of_a_real_session) {
  /* The keys of an in-process v2 session, logged and read back. */
  chat_v2_config ccfg, scfg;
  chat_v2_config_init(&ccfg);
  chat_v2_config_init(&scfg);
  uint8_t spriv[32] = {42};
  scfg.server_private_key = spriv;
  chat_v2_channel *client, *server;
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_CLIENT, &ccfg, &client), 0);
  cr_assert_eq(chat_v2_channel_new(CHAT_V2_ROLE_SERVER, &scfg, &server), 0);
  cr_assert_eq(chat_v2_channel_start(client), 0);
  for (int round = 0; round < 2; round++) {
    chat_v2_channel *from = round == 0 ? client : server, *to = round == 0 ? server : client;
    const uint8_t *d;
    size_t l;
    cr_assert_eq(chat_v2_channel_output(from, &d, &l), 0);
    cr_assert_eq(chat_v2_channel_feed(to, d, l), (ptrdiff_t)l);
    cr_assert_eq(chat_v2_channel_output_consumed(from, l), 0);
  }
  uint8_t id[32], c2s[32], s2c[32];
  cr_assert_eq(chat_v2_channel_session_keys(client, id, c2s, s2c), 0);
  chat_keylog *log;
  cr_assert_eq(chat_keylog_open(path, &log, NULL), 0);
  cr_assert_eq(chat_keylog_write_v2(log, id, c2s, s2c), 0);
  chat_keylog_close(log);

  char *text = test_read_text(path);
  char *second = strchr(text, '\n') + 1;
  chat_keylog_entry e;
  chat_error err;
  cr_assert_eq(chat_keylog_parse_line(text, (size_t)(second - text), 1, &e, &err), 1, "%s",
               err.message);
  cr_assert_eq(e.label, CHAT_KEYLOG_V2_C2S);
  cr_assert(memcmp(e.id, id, 32) == 0);
  cr_assert(memcmp(e.secret, c2s, 32) == 0);
  cr_assert_eq(chat_keylog_parse_line(second, strlen(second), 2, &e, &err), 1);
  cr_assert_eq(e.label, CHAT_KEYLOG_V2_S2C);
  cr_assert(memcmp(e.secret, s2c, 32) == 0);
  chat_v2_channel_free(client);
  chat_v2_channel_free(server);
}

#define ID64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

Test(keylog, parser_skips_comments_blank_lines_and_unknown_labels) {
  chat_keylog_entry e;
  chat_error err;
  cr_assert_eq(chat_keylog_parse_line("# a comment", 11, 1, &e, &err), 0);
  cr_assert_eq(chat_keylog_parse_line("", 0, 2, &e, &err), 0);
  cr_assert_eq(chat_keylog_parse_line("   \t\r\n", 6, 3, &e, &err), 0);
  const char *tls = "CLIENT_RANDOM " ID64 " " ID64 ID64;
  cr_assert_eq(chat_keylog_parse_line(tls, strlen(tls), 4, &e, &err), 0);
  const char *upper = "CHAT_SEED_KEY " ID64 " "
                      "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF\r\n";
  cr_assert_eq(chat_keylog_parse_line(upper, strlen(upper), 5, &e, &err), 1);
  cr_assert_eq(e.label, CHAT_KEYLOG_SEED);
  cr_assert_eq(e.secret[31], 0xBF);
}

Test(keylog, malformed_lines_report_the_line_number) {
  static const char *bad[] = {
      "CHAT_V2_C2S_KEY",
      "CHAT_V2_C2S_KEY " ID64,
      "CHAT_V2_C2S_KEY " ID64 " " ID64 " extra",
      "CHAT_V2_C2S_KEY " ID64 " 0001",
      "CHAT_V2_C2S_KEY 0001 " ID64,
      "CHAT_V2_S2C_KEY " ID64 " "
      "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      "CHAT_SEED_KEY " ID64 " " ID64 "00",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    chat_keylog_entry e;
    chat_error err;
    size_t line = 100 + i;
    cr_assert_eq(chat_keylog_parse_line(bad[i], strlen(bad[i]), line, &e, &err),
                 CHAT_KEYLOG_ERR_MALFORMED, "case %zu", i);
    char want[16];
    snprintf(want, sizeof want, "line %zu", line);
    cr_assert(strstr(err.message, want) != NULL, "case %zu: %s", i, err.message);
  }
}

/* Runs chat_keylog_open_from_env with stderr sent to a file; returns what
 * was printed. */
static char *open_from_env_capturing(chat_keylog **log, int *rc) {
  char errpath[300];
  snprintf(errpath, sizeof errpath, "%s/stderr", dir);
  fflush(stderr);
  int saved = dup(2);
  int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  dup2(fd, 2);
  close(fd);
  *rc = chat_keylog_open_from_env(log, NULL);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  return test_read_text(errpath);
}

Test(keylog, open_from_env_warns_and_does_nothing_when_unset) {
  chat_keylog *log;
  int rc;
  unsetenv(CHAT_KEYLOG_ENV);
  char *printed = open_from_env_capturing(&log, &rc);
  cr_assert_eq(rc, 0);
  cr_assert_null(log);
  cr_assert_str_eq(printed, "");
  cr_assert_neq(access(path, F_OK), 0);

  setenv(CHAT_KEYLOG_ENV, path, 1);
  printed = open_from_env_capturing(&log, &rc);
  cr_assert_eq(rc, 0);
  cr_assert_not_null(log);
  cr_assert(strstr(printed, "session keys are being logged") != NULL, "%s", printed);
  cr_assert(strstr(printed, path) != NULL, "%s", printed);
  cr_assert_eq(strchr(printed, '\n'), printed + strlen(printed) - 1, "one line");
  uint8_t id[32] = {1}, secret[32] = {2};
  cr_assert_eq(chat_keylog_write(log, CHAT_KEYLOG_LABEL_V2_C2S, id, 32, secret, 32), 0);
  chat_keylog_close(log);
  cr_assert_eq(strncmp(test_read_text(path), "CHAT_V2_C2S_KEY 01", 18), 0);
}
