/* Password guesses and new accounts, limited; see attempts.h. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/attempts.h"

#include <arpa/inet.h>
#include <string.h>

#include "chatd/rate-limit.h"

#define MINUTE_S 60
#define HOUR_S 3600
/* Bytes of an IPv6 address that name its /64. */
#define IPV6_PREFIX_BYTES 8

struct _ChatdAttempts {
  ChatdRateLimit *guesses_by_address;
  ChatdRateLimit *guesses_by_account; /* keyed by address + account */
  ChatdRateLimit *accounts_by_address;
  ChatdRateLimit *accounts_in_total;
};

ChatdAttempts *chatd_attempts_new(const ChatdConfig *config) {
  ChatdAttempts *attempts = g_new0(ChatdAttempts, 1);
  guint factor = CHATD_ATTEMPTS_ADDRESS_FACTOR;
  attempts->guesses_by_account =
      chatd_rate_limit_new(config->login_rate_per_minute, MINUTE_S, config->login_rate_burst);
  attempts->guesses_by_address = chatd_rate_limit_new(
      MIN(config->login_rate_per_minute * factor, (guint)CHATD_RATE_LIMIT_MAX_COUNT), MINUTE_S,
      MIN(config->login_rate_burst * factor, (guint)CHATD_RATE_LIMIT_MAX_BURST));
  attempts->accounts_by_address =
      chatd_rate_limit_new(config->register_per_hour, HOUR_S, config->register_burst);
  attempts->accounts_in_total = chatd_rate_limit_new(config->register_total_per_minute, MINUTE_S,
                                                     config->register_total_per_minute);
  return attempts;
}

void chatd_attempts_free(ChatdAttempts *attempts) {
  if (!attempts)
    return;
  chatd_rate_limit_free(attempts->guesses_by_address);
  chatd_rate_limit_free(attempts->guesses_by_account);
  chatd_rate_limit_free(attempts->accounts_by_address);
  chatd_rate_limit_free(attempts->accounts_in_total);
  g_free(attempts);
}

char *chatd_attempts_address_key(const char *peer) {
  /* "[ipv6]:port" or "ipv4:port" */
  g_autofree char *host = NULL;
  if (peer[0] == '[') {
    const char *end = strchr(peer, ']');
    host = end ? g_strndup(peer + 1, (gsize)(end - peer - 1)) : g_strdup(peer);
  } else {
    const char *colon = strrchr(peer, ':');
    host = colon ? g_strndup(peer, (gsize)(colon - peer)) : g_strdup(peer);
  }
  struct in6_addr v6;
  if (inet_pton(AF_INET6, host, &v6) == 1) {
    memset(v6.s6_addr + IPV6_PREFIX_BYTES, 0, sizeof v6.s6_addr - IPV6_PREFIX_BYTES);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    return g_strdup_printf("%s/64", text);
  }
  return g_steal_pointer(&host);
}

static guint seconds_of(gint64 us) {
  return (guint)MIN((us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, (gint64)G_MAXUINT);
}

ChatdAttemptVerdict chatd_attempts_password_begin(ChatdAttempts *attempts, const char *peer,
                                                  const char *username, guint *retry_s) {
  g_autofree char *address = chatd_attempts_address_key(peer);
  g_autofree char *account = g_strdup_printf("%s/%s", address, username);
  gint64 now = g_get_monotonic_time();
  gint64 wait = chatd_rate_limit_wait_us(attempts->guesses_by_address, address, now);
  ChatdAttemptVerdict verdict = CHATD_ATTEMPT_ALLOWED;
  if (wait > 0) {
    verdict = CHATD_ATTEMPT_ADDRESS_LIMIT;
  } else {
    wait = chatd_rate_limit_wait_us(attempts->guesses_by_account, account, now);
    if (wait > 0)
      verdict = CHATD_ATTEMPT_ACCOUNT_LIMIT;
  }
  if (retry_s)
    *retry_s = seconds_of(wait);
  if (verdict == CHATD_ATTEMPT_ALLOWED) {
    chatd_rate_limit_charge(attempts->guesses_by_address, address, now);
    chatd_rate_limit_charge(attempts->guesses_by_account, account, now);
  }
  return verdict;
}

void chatd_attempts_password_refund(ChatdAttempts *attempts, const char *peer,
                                    const char *username) {
  g_autofree char *address = chatd_attempts_address_key(peer);
  g_autofree char *account = g_strdup_printf("%s/%s", address, username);
  gint64 now = g_get_monotonic_time();
  chatd_rate_limit_refund(attempts->guesses_by_address, address, now);
  chatd_rate_limit_refund(attempts->guesses_by_account, account, now);
}

ChatdAttemptVerdict chatd_attempts_register(ChatdAttempts *attempts, const char *peer,
                                            guint *retry_s) {
  g_autofree char *address = chatd_attempts_address_key(peer);
  gint64 now = g_get_monotonic_time();
  gint64 wait = chatd_rate_limit_wait_us(attempts->accounts_by_address, address, now);
  if (wait > 0) {
    if (retry_s)
      *retry_s = seconds_of(wait);
    return CHATD_ATTEMPT_ADDRESS_LIMIT;
  }
  wait = chatd_rate_limit_wait_us(attempts->accounts_in_total, "", now);
  if (wait > 0) {
    if (retry_s)
      *retry_s = seconds_of(wait);
    return CHATD_ATTEMPT_TOTAL_LIMIT;
  }
  chatd_rate_limit_charge(attempts->accounts_by_address, address, now);
  chatd_rate_limit_charge(attempts->accounts_in_total, "", now);
  if (retry_s)
    *retry_s = 0;
  return CHATD_ATTEMPT_ALLOWED;
}
