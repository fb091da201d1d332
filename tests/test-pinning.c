/* Tests of the server key file, fingerprints, known_hosts and the pin
 * decision (protocol/server-key.h, protocol/known-hosts.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/known-hosts.h"
#include "protocol/noise.h"
#include "protocol/server-key.h"
#include "test-util.h"

/* RFC 7748, section 6.1: Alice's X25519 private and public key. */
static const uint8_t rfc7748_alice_private[32] = {
    0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
    0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
static const uint8_t rfc7748_alice_public[32] = {
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
    0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
/* base64 of the private key, computed with:
 *   echo -n 77076d0a...1db92c2a | xxd -r -p | openssl base64 -A */
#define ALICE_PRIVATE_B64 "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
/* base64 of the public key (same command on 8520f009...aa9b4e6a). */
#define ALICE_PUBLIC_B64 "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
/* The fingerprint of the public key, computed independently with:
 *   echo -n 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a \
 *     | xxd -r -p | openssl dgst -sha256 -binary | openssl base64 -A
 * -> MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja4=, then without the '='. */
#define ALICE_FINGERPRINT "SHA256:MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja4"
/* Another valid fingerprint (SHA-256 of the empty string, "47DEQ..."). */
#define OTHER_FINGERPRINT "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"

static char *dir;
static char path[256];

static void make_dir(void) {
  dir = test_make_tmp_dir("chat-pinning-XXXXXX");
  snprintf(path, sizeof path, "%s/server.key", dir);
}

static void remove_dir(void) {
  cr_assert(test_remove_tree(dir), "cannot remove %s", dir);
  g_clear_pointer(&dir, g_free);
}

TestSuite(pinning, .init = make_dir, .fini = remove_dir);

static void write_file(const char *p, const char *text, mode_t mode) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  cr_assert_eq(fchmod(fd, mode), 0);
  close(fd);
}

static mode_t file_mode(const char *p) {
  struct stat st;
  cr_assert_eq(stat(p, &st), 0, "%s", p);
  return st.st_mode & 07777;
}

/* ---- server key file ----------------------------------------------------- */

Test(pinning, key_file_is_created_0600_and_loaded_again) {
  umask(0);
  uint8_t priv[32], pub[32], priv2[32], pub2[32], expect[32];
  bool created = false;
  chat_error err;
  cr_assert_eq(chat_server_key_load_or_create(path, priv, pub, &created, &err), 0, "%s",
               err.message);
  cr_assert(created);
  cr_assert_eq(file_mode(path), 0600);
  cr_assert_eq(chat_noise_public_key(priv, 32, expect, 32), 0);
  cr_assert(memcmp(pub, expect, 32) == 0);

  /* The text: the header, then 44 base64 characters and a newline. */
  const char *text = test_read_text(path);
  cr_assert(strncmp(text, CHAT_SERVER_KEY_FILE_HEADER, strlen(CHAT_SERVER_KEY_FILE_HEADER)) == 0);
  const char *line = text + strlen(CHAT_SERVER_KEY_FILE_HEADER);
  cr_assert_eq(strlen(line), 45);
  cr_assert_eq(line[44], '\n');
  uint8_t decoded[32];
  cr_assert(chat_key_base64_decode(line, 44, decoded));
  cr_assert(memcmp(decoded, priv, 32) == 0);

  cr_assert_eq(chat_server_key_load_or_create(path, priv2, pub2, &created, &err), 0);
  cr_assert_not(created);
  cr_assert(memcmp(priv, priv2, 32) == 0);
  cr_assert(memcmp(pub, pub2, 32) == 0);

  /* A second server key is different (random). */
  char other[300];
  snprintf(other, sizeof other, "%s/other.key", dir);
  cr_assert_eq(chat_server_key_load_or_create(other, priv2, pub2, &created, &err), 0);
  cr_assert(memcmp(priv, priv2, 32) != 0);
}

Test(pinning, key_file_with_the_rfc7748_key_gives_its_public_key_and_fingerprint) {
  write_file(path, "# chat server key (X25519 private key, base64)\n" ALICE_PRIVATE_B64 "\n", 0600);
  uint8_t priv[32], pub[32];
  chat_error err;
  cr_assert_eq(chat_server_key_load(path, priv, pub, &err), 0, "%s", err.message);
  cr_assert(memcmp(priv, rfc7748_alice_private, 32) == 0);
  cr_assert(memcmp(pub, rfc7748_alice_public, 32) == 0);
  char fp[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(pub, fp);
  cr_assert_str_eq(fp, ALICE_FINGERPRINT);
}

Test(pinning, unprotected_key_file_is_refused) {
  static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620, 0777};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_file(path, ALICE_PRIVATE_B64 "\n", bad[i]);
    uint8_t priv[32] = {0}, pub[32];
    chat_error err;
    int rc = chat_server_key_load_or_create(path, priv, pub, NULL, &err);
    cr_assert_eq(rc, CHAT_KEY_ERR_PERMISSIONS, "mode %04o", (unsigned)bad[i]);
    cr_assert(strstr(err.message, "UNPROTECTED PRIVATE KEY FILE") != NULL, "%s", err.message);
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)bad[i]);
    cr_assert(strstr(err.message, mode) != NULL, "%s", err.message);
    cr_assert(strstr(err.message, "chmod 600") != NULL, "%s", err.message);
    static const uint8_t zero[32];
    cr_assert(memcmp(priv, zero, 32) == 0, "no key handed out");
  }
  /* Owner-only modes are fine. */
  write_file(path, ALICE_PRIVATE_B64 "\n", 0400);
  uint8_t priv[32], pub[32];
  cr_assert_eq(chat_server_key_load(path, priv, pub, NULL), 0);
}

/* Loads text as a key file; returns the code and the line of the error. */
static int load_text(const char *text, size_t *line, char *message) {
  write_file(path, text, 0600);
  uint8_t priv[32], pub[32];
  chat_error err = {0};
  int rc = chat_server_key_load(path, priv, pub, &err);
  *line = err.offset;
  if (message != NULL)
    snprintf(message, CHAT_ERROR_MESSAGE_MAX, "%s", err.message);
  return rc;
}

Test(pinning, malformed_key_files_report_the_line) {
  size_t line;
  char message[CHAT_ERROR_MESSAGE_MAX];
  cr_assert_eq(load_text("# only a comment\n\n", &line, message), CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(line, 3);
  cr_assert(strstr(message, "without a key") != NULL, "%s", message);
  cr_assert_eq(load_text("", &line, NULL), CHAT_KEY_ERR_MALFORMED);

  cr_assert_eq(load_text("# header\nnot base64 at all!\n", &line, message), CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(line, 2);
  cr_assert(strstr(message, "line 2") != NULL, "%s", message);

  /* 44 characters that decode to 31 bytes ("==") and to 33 bytes (no
   * padding), and the right key without its padding. */
  cr_assert_eq(load_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n", &line, NULL),
               CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(load_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", &line, NULL),
               CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(load_text("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo\n", &line, NULL),
               CHAT_KEY_ERR_MALFORMED);
  /* Non-canonical: the last character's unused bits are not zero. */
  cr_assert_eq(load_text("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=\n", &line, NULL),
               CHAT_KEY_ERR_MALFORMED);

  cr_assert_eq(
      load_text("# one\n" ALICE_PRIVATE_B64 "\n# two\n" ALICE_PRIVATE_B64 "\n", &line, message),
      CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(line, 4);
  cr_assert(strstr(message, "second key") != NULL, "%s", message);

  /* Accepted variants: CRLF, surrounding blanks, no final newline. */
  cr_assert_eq(load_text("# header\r\n  " ALICE_PRIVATE_B64 "\t\r\n", &line, NULL), 0);
  cr_assert_eq(load_text(ALICE_PRIVATE_B64, &line, NULL), 0);

  /* Not a regular file; too large. */
  uint8_t priv[32], pub[32];
  chat_error err;
  cr_assert_eq(chat_server_key_load(dir, priv, pub, &err), CHAT_KEY_ERR_MALFORMED);
  cr_assert(strstr(err.message, "not a regular file") != NULL, "%s", err.message);
  char *big = malloc(CHAT_SERVER_KEY_FILE_MAX + 100);
  memset(big, '#', CHAT_SERVER_KEY_FILE_MAX + 99);
  big[CHAT_SERVER_KEY_FILE_MAX + 99] = '\0';
  cr_assert_eq(load_text(big, &line, NULL), CHAT_KEY_ERR_MALFORMED);
  free(big);
}

Test(pinning, key_file_errors_for_missing_directories) {
  char missing[300];
  snprintf(missing, sizeof missing, "%s/no/such/dir/server.key", dir);
  uint8_t priv[32], pub[32];
  chat_error err;
  cr_assert_eq(chat_server_key_load_or_create(missing, priv, pub, NULL, &err), CHAT_KEY_ERR_IO);
  cr_assert(strstr(err.message, "cannot create") != NULL, "%s", err.message);
  cr_assert_eq(chat_server_key_load(missing, priv, pub, &err), CHAT_KEY_ERR_IO);
  cr_assert_eq(chat_server_key_load_or_create(NULL, priv, pub, NULL, &err),
               CHAT_KEY_ERR_INVALID_ARGUMENT);
}

/* ---- fingerprints -------------------------------------------------------- */

Test(pinning, fingerprint_format) {
  char fp[CHAT_FINGERPRINT_SIZE];
  chat_fingerprint(rfc7748_alice_public, fp);
  cr_assert_str_eq(fp, ALICE_FINGERPRINT);
  cr_assert_eq(strlen(fp), 7 + 43);
  cr_assert_null(strchr(fp, '='), "no padding, as OpenSSH prints it");
  cr_assert(chat_fingerprint_valid(fp));
  cr_assert(chat_fingerprint_valid(OTHER_FINGERPRINT));
  cr_assert_not(chat_fingerprint_valid(ALICE_FINGERPRINT "="));
  cr_assert_not(chat_fingerprint_valid("SHA256:MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja"));
  cr_assert_not(chat_fingerprint_valid("MD5:MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja4"));
  cr_assert_not(chat_fingerprint_valid("sha256:MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja4"));
  cr_assert_not(chat_fingerprint_valid("SHA256:MAyclgO5Kks57TlYv5JAEUgE20/TcwEsDKR0MtY0Ja5"),
                "non-canonical last character");
  cr_assert_not(chat_fingerprint_valid("SHA256:MAyclgO5Kks57TlYv5JAEUgE20_TcwEsDKR0MtY0Ja4"));
  cr_assert_not(chat_fingerprint_valid(NULL));
}

/* ---- known_hosts --------------------------------------------------------- */

static void hosts_path(char *out, size_t cap) {
  snprintf(out, cap, "%s/data/chat/known_hosts", dir);
}

Test(pinning, known_hosts_add_lookup_remove) {
  char kh[300];
  hosts_path(kh, sizeof kh);
  char fp[CHAT_FINGERPRINT_SIZE];
  chat_error err;
  cr_assert_eq(chat_known_hosts_lookup(kh, "a.example:7000", fp, &err), 0, "missing file: unknown");

  cr_assert_eq(chat_known_hosts_add(kh, "a.example:7000", ALICE_FINGERPRINT, &err), 0, "%s",
               err.message);
  cr_assert_eq(file_mode(kh), 0600);
  char parent[300];
  snprintf(parent, sizeof parent, "%s/data/chat", dir);
  cr_assert_eq(file_mode(parent), 0700);
  snprintf(parent, sizeof parent, "%s/data", dir);
  cr_assert_eq(file_mode(parent), 0700);
  cr_assert_str_eq(test_read_text(kh), "a.example:7000 " ALICE_FINGERPRINT "\n");

  cr_assert_eq(chat_known_hosts_lookup(kh, "a.example:7000", fp, &err), 1);
  cr_assert_str_eq(fp, ALICE_FINGERPRINT);
  cr_assert_eq(chat_known_hosts_lookup(kh, "a.example:7001", fp, &err), 0, "the port counts");
  cr_assert_eq(chat_known_hosts_lookup(kh, "b.example:7000", fp, &err), 0);

  /* Same again: no change. Another key: refused. */
  cr_assert_eq(chat_known_hosts_add(kh, "a.example:7000", ALICE_FINGERPRINT, &err), 0);
  cr_assert_eq(chat_known_hosts_add(kh, "a.example:7000", OTHER_FINGERPRINT, &err),
               CHAT_KEY_ERR_EXISTS);
  cr_assert(strstr(err.message, "forget-host") != NULL, "%s", err.message);
  cr_assert_eq(chat_known_hosts_add(kh, "[::1]:7000", OTHER_FINGERPRINT, &err), 0);
  cr_assert_str_eq(test_read_text(kh),
                   "a.example:7000 " ALICE_FINGERPRINT "\n[::1]:7000 " OTHER_FINGERPRINT "\n");

  cr_assert_eq(chat_known_hosts_remove(kh, "a.example:7000", &err), 1);
  cr_assert_eq(chat_known_hosts_lookup(kh, "a.example:7000", fp, &err), 0);
  cr_assert_eq(chat_known_hosts_lookup(kh, "[::1]:7000", fp, &err), 1);
  cr_assert_str_eq(fp, OTHER_FINGERPRINT);
  cr_assert_eq(chat_known_hosts_remove(kh, "a.example:7000", &err), 0, "already gone");
  /* After forget-host the new key can be recorded. */
  cr_assert_eq(chat_known_hosts_add(kh, "a.example:7000", OTHER_FINGERPRINT, &err), 0);
}

Test(pinning, known_hosts_rewrite_is_atomic_and_keeps_comments) {
  char kh[300];
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  write_file(kh,
             "# my servers\n"
             "\n"
             "a.example:7000\t" ALICE_FINGERPRINT "\n"
             "   # indented comment\n"
             "b.example:7000 " OTHER_FINGERPRINT,
             0644);
  struct stat before;
  cr_assert_eq(stat(kh, &before), 0);
  chat_error err;
  cr_assert_eq(chat_known_hosts_remove(kh, "a.example:7000", &err), 1, "%s", err.message);
  cr_assert_str_eq(test_read_text(kh),
                   "# my servers\n\n   # indented comment\nb.example:7000 " OTHER_FINGERPRINT "\n");
  struct stat after;
  cr_assert_eq(stat(kh, &after), 0);
  cr_assert_neq(before.st_ino, after.st_ino, "replaced by rename, not rewritten in place");
  cr_assert_eq(after.st_mode & 07777, 0600, "the rewrite is 0600");
  /* No temporary file is left behind. */
  cr_assert_eq(test_count_entries(dir), 1);

  /* A failed rewrite (here: writes over 16 bytes fail with EFBIG) leaves
   * the old file intact and no temporary file behind. */
  const char *old_text =
      "# my servers\n\n   # indented comment\nb.example:7000 " OTHER_FINGERPRINT "\n";
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = {16, 16};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
  int rc = chat_known_hosts_add(kh, "c.example:7000", ALICE_FINGERPRINT, &err);
  cr_assert_eq(rc, CHAT_KEY_ERR_IO, "%d %s", rc, err.message);
  cr_assert_str_eq(test_read_text(kh), old_text);
  cr_assert_eq(test_count_entries(dir), 1);
}

Test(pinning, malformed_known_hosts_lines_are_errors_with_the_line) {
  char kh[300];
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  static const char *bad[] = {
      "a.example:7000\n",                             /* one field */
      "a.example:7000 " ALICE_FINGERPRINT " extra\n", /* three */
      "a.example " ALICE_FINGERPRINT "\n",            /* no port */
      "a.example:0 " ALICE_FINGERPRINT "\n",          /* port 0 */
      "a.example:65536 " ALICE_FINGERPRINT "\n",      /* port too large */
      "a.example:70x " ALICE_FINGERPRINT "\n",        /* not a number */
      "a.example:7000 SHA256:short\n",                /* bad fingerprint */
      "a.example:7000 " ALICE_PUBLIC_B64 "\n",        /* a key, not a fingerprint */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "# ok\nb.example:7000 %s\n%s", OTHER_FINGERPRINT, bad[i]);
    write_file(kh, text, 0600);
    chat_error err = {0};
    cr_assert_eq(chat_known_hosts_lookup(kh, "b.example:7000", NULL, &err), CHAT_KEY_ERR_MALFORMED,
                 "case %zu", i);
    cr_assert_eq(err.offset, 3, "case %zu: line %zu", i, err.offset);
    cr_assert(strstr(err.message, "line 3") != NULL, "%s", err.message);
    cr_assert_eq(chat_known_hosts_add(kh, "c.example:7000", ALICE_FINGERPRINT, &err),
                 CHAT_KEY_ERR_MALFORMED, "no rewrite of a file it cannot read");
    cr_assert_eq(chat_known_hosts_remove(kh, "b.example:7000", &err), CHAT_KEY_ERR_MALFORMED);
  }
}

Test(pinning, host_port_validation) {
  cr_assert(chat_host_port_valid("chat.example.org:7000"));
  cr_assert(chat_host_port_valid("127.0.0.1:1"));
  cr_assert(chat_host_port_valid("[2001:db8::1]:65535"));
  cr_assert_not(chat_host_port_valid("chat.example.org"));
  cr_assert_not(chat_host_port_valid(":7000"));
  cr_assert_not(chat_host_port_valid("a b:7000"));
  cr_assert_not(chat_host_port_valid("#a:7000"));
  cr_assert_not(chat_host_port_valid("a:07000"));
  cr_assert_not(chat_host_port_valid("[::1:7000"));
  cr_assert_not(chat_host_port_valid(""));
  cr_assert_not(chat_host_port_valid(NULL));
  cr_assert_eq(chat_known_hosts_add("/tmp/x", "no-port", ALICE_FINGERPRINT, NULL),
               CHAT_KEY_ERR_INVALID_ARGUMENT);
  cr_assert_eq(chat_known_hosts_add("/tmp/x", "a:1", "SHA256:bad", NULL),
               CHAT_KEY_ERR_INVALID_ARGUMENT);
}

Test(pinning, default_known_hosts_path) {
  char out[512];
  chat_error err;
  setenv("XDG_DATA_HOME", "/xdg/data", 1);
  setenv("HOME", "/home/user", 1);
  cr_assert_eq(chat_known_hosts_default_path(out, sizeof out, &err), 0);
  cr_assert_str_eq(out, "/xdg/data/chat/known_hosts");
  setenv("XDG_DATA_HOME", "relative/path", 1); /* ignored, as the XDG spec says */
  cr_assert_eq(chat_known_hosts_default_path(out, sizeof out, &err), 0);
  cr_assert_str_eq(out, "/home/user/.local/share/chat/known_hosts");
  unsetenv("XDG_DATA_HOME");
  cr_assert_eq(chat_known_hosts_default_path(out, sizeof out, &err), 0);
  cr_assert_str_eq(out, "/home/user/.local/share/chat/known_hosts");
  unsetenv("HOME");
  cr_assert_eq(chat_known_hosts_default_path(out, sizeof out, &err), CHAT_KEY_ERR_NO_PATH);
  setenv("HOME", "/home/user", 1);
  cr_assert_eq(chat_known_hosts_default_path(out, 10, &err), CHAT_KEY_ERR_NO_PATH);
}

/* ---- the pin decision ---------------------------------------------------- */

#define HOST "chat.example.org:7000"

Test(pinning, strict_policy) {
  chat_pin_result r;
  cr_assert_eq(
      chat_pin_check(CHAT_PIN_STRICT, HOST, ALICE_FINGERPRINT, ALICE_FINGERPRINT, NULL, &r), 0);
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED);
  cr_assert_eq(chat_pin_check(CHAT_PIN_STRICT, HOST, ALICE_FINGERPRINT, ALICE_PUBLIC_B64, NULL, &r),
               0, "the full public key in base64 works too");
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED);

  int rc = chat_pin_check(CHAT_PIN_STRICT, HOST, OTHER_FINGERPRINT, ALICE_FINGERPRINT, NULL, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_MISMATCH);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  cr_assert_eq(r.code, CHAT_PIN_ERR_MISMATCH);
  cr_assert(strstr(r.message, ALICE_FINGERPRINT) && strstr(r.message, OTHER_FINGERPRINT), "%s",
            r.message);
  cr_assert(strstr(r.message, HOST) != NULL);
  cr_assert_str_eq(r.expected, ALICE_FINGERPRINT);
  cr_assert_str_eq(r.offered, OTHER_FINGERPRINT);
  rc = chat_pin_check(CHAT_PIN_STRICT, HOST, OTHER_FINGERPRINT, ALICE_PUBLIC_B64, NULL, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_MISMATCH);
  cr_assert(strstr(r.message, ALICE_FINGERPRINT) != NULL, "%s", r.message);

  rc = chat_pin_check(CHAT_PIN_STRICT, HOST, ALICE_FINGERPRINT, NULL, NULL, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_NOT_CONFIGURED);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  rc = chat_pin_check(CHAT_PIN_STRICT, HOST, ALICE_FINGERPRINT, "garbage", NULL, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_BAD_CONFIGURED);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);

  /* STRICT does not consult known_hosts, even when one says otherwise. */
  char kh[300];
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  cr_assert_eq(chat_known_hosts_add(kh, HOST, OTHER_FINGERPRINT, NULL), 0);
  cr_assert_eq(chat_pin_check(CHAT_PIN_STRICT, HOST, ALICE_FINGERPRINT, ALICE_FINGERPRINT, kh, &r),
               0);
}

Test(pinning, accept_new_policy) {
  char kh[300];
  hosts_path(kh, sizeof kh);
  chat_pin_result r;
  /* Unknown: recorded and accepted. */
  cr_assert_eq(chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, ALICE_FINGERPRINT, NULL, kh, &r), 0, "%s",
               r.message);
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED_NEW);
  char fp[CHAT_FINGERPRINT_SIZE];
  cr_assert_eq(chat_known_hosts_lookup(kh, HOST, fp, NULL), 1);
  cr_assert_str_eq(fp, ALICE_FINGERPRINT);
  /* Known and equal. */
  cr_assert_eq(chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, ALICE_FINGERPRINT, NULL, kh, &r), 0);
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED);
  /* Known and different: hard failure, both fingerprints shown, file kept. */
  int rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, OTHER_FINGERPRINT, NULL, kh, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_CHANGED);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  cr_assert(strstr(r.message, ALICE_FINGERPRINT) && strstr(r.message, OTHER_FINGERPRINT), "%s",
            r.message);
  cr_assert(strstr(r.message, "CHANGED") != NULL);
  cr_assert(strstr(r.message, "chatctl forget-host " HOST) != NULL, "%s", r.message);
  cr_assert_eq(chat_known_hosts_lookup(kh, HOST, fp, NULL), 1);
  cr_assert_str_eq(fp, ALICE_FINGERPRINT, "a changed key is never recorded");
  /* A configured key that does not match fails whatever known_hosts says. */
  rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, ALICE_FINGERPRINT, OTHER_FINGERPRINT, kh, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_MISMATCH);
  /* A configured key that matches is accepted without touching the file. */
  cr_assert_eq(chat_pin_check(CHAT_PIN_ACCEPT_NEW, "other.example:1", OTHER_FINGERPRINT,
                              OTHER_FINGERPRINT, kh, &r),
               0);
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED);
  cr_assert_eq(chat_known_hosts_lookup(kh, "other.example:1", NULL, NULL), 0);
}

Test(pinning, ask_policy) {
  char kh[300];
  hosts_path(kh, sizeof kh);
  chat_pin_result r;
  cr_assert_eq(chat_pin_check(CHAT_PIN_ASK, HOST, ALICE_FINGERPRINT, NULL, kh, &r), 0);
  cr_assert_eq(r.decision, CHAT_PIN_NEEDS_CONFIRMATION);
  cr_assert(strstr(r.message, ALICE_FINGERPRINT) != NULL, "the user sees the fingerprint");
  cr_assert_neq(access(kh, F_OK), 0, "nothing recorded before the user says yes");
  /* The user said yes. */
  cr_assert_eq(chat_known_hosts_add(kh, HOST, ALICE_FINGERPRINT, NULL), 0);
  cr_assert_eq(chat_pin_check(CHAT_PIN_ASK, HOST, ALICE_FINGERPRINT, NULL, kh, &r), 0);
  cr_assert_eq(r.decision, CHAT_PIN_ACCEPTED);
  int rc = chat_pin_check(CHAT_PIN_ASK, HOST, OTHER_FINGERPRINT, NULL, kh, &r);
  cr_assert_eq(rc, CHAT_PIN_ERR_CHANGED, "a changed key is not a question");
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  cr_assert(strstr(r.message, ALICE_FINGERPRINT) && strstr(r.message, OTHER_FINGERPRINT), "%s",
            r.message);
}

Test(pinning, broken_known_hosts_fails_closed) {
  char kh[300];
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  write_file(kh, HOST " not-a-fingerprint\n", 0600);
  chat_pin_result r;
  int rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, ALICE_FINGERPRINT, NULL, kh, &r);
  cr_assert_eq(rc, CHAT_KEY_ERR_MALFORMED);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  cr_assert(strstr(r.message, "line 1") != NULL, "%s", r.message);
  rc = chat_pin_check(CHAT_PIN_ASK, HOST, ALICE_FINGERPRINT, NULL, kh, &r);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  /* Bad arguments are refusals too. */
  rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, ALICE_FINGERPRINT, NULL, NULL, &r);
  cr_assert_eq(rc, CHAT_KEY_ERR_INVALID_ARGUMENT);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  rc = chat_pin_check(CHAT_PIN_ACCEPT_NEW, HOST, "SHA256:nope", NULL, kh, &r);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
  rc = chat_pin_check((chat_pin_policy)0, HOST, ALICE_FINGERPRINT, ALICE_FINGERPRINT, kh, &r);
  cr_assert_eq(r.decision, CHAT_PIN_REJECTED);
}

Test(pinning, policy_names) {
  chat_pin_policy p;
  cr_assert(chat_pin_policy_parse("strict", &p));
  cr_assert_eq(p, CHAT_PIN_STRICT);
  cr_assert(chat_pin_policy_parse("accept-new", &p));
  cr_assert_eq(p, CHAT_PIN_ACCEPT_NEW);
  cr_assert(chat_pin_policy_parse("ask", &p));
  cr_assert_eq(p, CHAT_PIN_ASK);
  cr_assert_not(chat_pin_policy_parse("yes", &p));
  cr_assert_str_neq(chat_strerror(CHAT_PIN_ERR_CHANGED), "unknown error");
}
