/* Tests of host:port text (protocol/host-port.h): IPv6 in brackets, other
 * hosts as they are, a cut like snprintf, and what known_hosts accepts. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "protocol/host-port.h"

static void assert_formats(const char *host, unsigned port, const char *expected) {
  char out[CHAT_HOST_PORT_MAX + 1];
  size_t n = chat_host_port_format(host, port, out, sizeof out);
  cr_assert_str_eq(out, expected);
  cr_assert_eq(n, strlen(expected));
  char *copy = chat_host_port_new(host, port);
  cr_assert_str_eq(copy, expected);
  free(copy);
}

Test(host_port, ipv4_ipv6_and_names) {
  assert_formats("127.0.0.1", 8111, "127.0.0.1:8111");
  assert_formats("::1", 8111, "[::1]:8111");
  assert_formats("::", 7, "[::]:7");
  assert_formats("fe80::1%eth0", 65535, "[fe80::1%eth0]:65535");
  assert_formats("chat.example.org", 443, "chat.example.org:443");
  assert_formats(NULL, 1, ":1");
}

Test(host_port, a_small_buffer_cuts_and_says_how_long_it_would_be) {
  char out[6];
  cr_assert_eq(chat_host_port_format("::1", 8111, out, sizeof out), strlen("[::1]:8111"));
  cr_assert_str_eq(out, "[::1]");
  cr_assert_eq(chat_host_port_format("::1", 8111, NULL, 0), strlen("[::1]:8111"));
}

Test(host_port, what_is_formatted_is_valid_for_known_hosts) {
  static const char *const hosts[] = {"127.0.0.1", "::1", "chat.example.org", "2001:db8::7"};
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
    char out[CHAT_HOST_PORT_MAX + 1];
    chat_host_port_format(hosts[i], 8111, out, sizeof out);
    cr_assert(chat_host_port_valid(out), "%s", out);
  }
}

Test(host_port, known_hosts_refuses_bad_text) {
  static const char *const bad[] = {
      "",           "host",      ":8111",      "host:",      "host:0",    "host:08111",
      "host:65536", "host:81a1", "#host:8111", "ho st:8111", "[::1:8111", "::1]:8111x",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_not(chat_host_port_valid(bad[i]), "\"%s\"", bad[i]);
  cr_assert_not(chat_host_port_valid(NULL));
}

static void assert_parses(const char *text, const char *host, unsigned port) {
  char *got = NULL;
  uint16_t got_port = 0;
  cr_assert(chat_host_port_parse(text, &got, &got_port), "%s", text);
  cr_assert_str_eq(got, host);
  cr_assert_eq(got_port, port);
  free(got);
}

Test(host_port, parse_reads_what_format_writes) {
  assert_parses("127.0.0.1:8111", "127.0.0.1", 8111);
  assert_parses("[::1]:8111", "::1", 8111);
  assert_parses("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535);
  assert_parses("chat.example.org:1", "chat.example.org", 1);
}

Test(host_port, parse_refuses_bare_ipv6_and_bad_text) {
  static const char *const bad[] = {
      "::1:8111", "[]:8111", "[::1]]:8111", "a]:8111",    "[a:8111", "host",
      "host:0",   "",        "[::1]:",      "host:65536", "h[o:1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *host = NULL;
    uint16_t port = 0;
    cr_assert_not(chat_host_port_parse(bad[i], &host, &port), "\"%s\"", bad[i]);
    cr_assert_null(host);
  }
  cr_assert_not(chat_host_port_parse(NULL, NULL, NULL));
}
