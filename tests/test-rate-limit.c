/* Tests of chatd's rate limiter (chatd/rate-limit.h): the bucket arithmetic
 * at exact microsecond boundaries, asking without charging, independence of
 * keys, reset, a clock going back, periods other than a minute, and a full
 * table that forgets the oldest bucket instead of refusing anyone. */
#include <criterion/criterion.h>

#include "chatd/rate-limit.h"

#define PER_MINUTE 10
#define MINUTE_S 60
#define BURST 5
/* With PER_MINUTE 10, one token comes back every 6 seconds. */
#define TOKEN_US (60 * G_USEC_PER_SEC / PER_MINUTE)
#define T0 G_GINT64_CONSTANT(1000000000)

/* Charges n tokens at now, asserting each was there. */
static void charge_n(ChatdRateLimit *limit, const char *key, int n, gint64 now) {
  for (int i = 0; i < n; i++)
    cr_assert(chatd_rate_limit_charge(limit, key, now), "charge %d of %d for %s", i + 1, n, key);
}

static ChatdRateLimit *per_minute(void) {
  return chatd_rate_limit_new(PER_MINUTE, MINUTE_S, BURST);
}

Test(rate_limit, a_key_allows_its_burst_of_charges_then_not) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  cr_assert(chatd_rate_limit_allows(limit, "a:192.0.2.1", T0));
  charge_n(limit, "a:192.0.2.1", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "a:192.0.2.1", T0));
  cr_assert_not(chatd_rate_limit_charge(limit, "a:192.0.2.1", T0 + 1));
  cr_assert_eq(chatd_rate_limit_wait_us(limit, "a:192.0.2.1", T0 + 1), TOKEN_US - 1);
}

Test(rate_limit, asking_changes_nothing_and_creates_no_key) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  for (int i = 0; i < 1000; i++)
    cr_assert(chatd_rate_limit_allows(limit, "a:192.0.2.1", T0));
  cr_assert_eq(chatd_rate_limit_size(limit), 0, "asking made a bucket");
  charge_n(limit, "a:192.0.2.1", BURST, T0);
}

Test(rate_limit, one_token_comes_back_per_interval_exactly) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 + TOKEN_US - 1));
  cr_assert_eq(chatd_rate_limit_wait_us(limit, "k", T0 + TOKEN_US - 1), 1);
  cr_assert(chatd_rate_limit_charge(limit, "k", T0 + TOKEN_US));
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 + TOKEN_US));
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 + 2 * TOKEN_US - 1));
  cr_assert(chatd_rate_limit_allows(limit, "k", T0 + 2 * TOKEN_US));
}

Test(rate_limit, a_charge_on_an_empty_bucket_keeps_it_empty_and_loses_no_partial_token) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_charge(limit, "k", T0 + TOKEN_US - 1));
  cr_assert(chatd_rate_limit_allows(limit, "k", T0 + TOKEN_US));
}

Test(rate_limit, long_run_rate_is_count_per_period) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  int allowed = 0;
  /* Ten minutes of an attempt every 100 ms, charged only when allowed. */
  for (gint64 t = 0; t <= 10 * 60 * G_USEC_PER_SEC; t += 100 * 1000) {
    if (chatd_rate_limit_allows(limit, "k", T0 + t)) {
      chatd_rate_limit_charge(limit, "k", T0 + t);
      allowed++;
    }
  }
  cr_assert_eq(allowed, BURST + 10 * PER_MINUTE);
}

Test(rate_limit, periods_other_than_a_minute) {
  /* 3 per hour, burst 2: after the burst one every 20 minutes. */
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(3, 3600, 2);
  charge_n(limit, "k", 2, T0);
  gint64 twenty_minutes = G_GINT64_CONSTANT(20) * 60 * G_USEC_PER_SEC;
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 + twenty_minutes - 1));
  cr_assert(chatd_rate_limit_allows(limit, "k", T0 + twenty_minutes));
}

Test(rate_limit, idle_bucket_refills_to_burst_only) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  gint64 later = T0 + G_GINT64_CONSTANT(24) * 3600 * G_USEC_PER_SEC;
  charge_n(limit, "k", BURST, later);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", later));
}

Test(rate_limit, keys_are_independent) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "u:192.0.2.1/alice", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "u:192.0.2.1/alice", T0));
  cr_assert(chatd_rate_limit_allows(limit, "u:192.0.2.2/alice", T0));
  charge_n(limit, "u:192.0.2.1/bob", BURST, T0);
  charge_n(limit, "a:192.0.2.1", BURST, T0);
  cr_assert_eq(chatd_rate_limit_size(limit), 3);
}

Test(rate_limit, reset_gives_a_full_bucket) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  chatd_rate_limit_reset(limit, "k");
  cr_assert_eq(chatd_rate_limit_size(limit), 0);
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0));
  chatd_rate_limit_reset(limit, "never-seen"); /* ignored */
}

Test(rate_limit, clock_going_back_refills_nothing) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 - 100 * TOKEN_US));
  /* Refill still counts from the latest time seen. */
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0 + TOKEN_US - 1));
  cr_assert(chatd_rate_limit_allows(limit, "k", T0 + TOKEN_US));
}

Test(rate_limit, a_full_table_forgets_the_bucket_charged_longest_ago_and_refuses_nobody) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new_full(PER_MINUTE, MINUTE_S, BURST, 3);
  charge_n(limit, "a", BURST, T0);
  charge_n(limit, "b", BURST, T0 + 1);
  charge_n(limit, "c", BURST, T0 + 2);
  /* A fourth key is charged: the oldest charge (a) is forgotten. */
  cr_assert(chatd_rate_limit_charge(limit, "d", T0 + 4), "a full table refused a new key");
  cr_assert_eq(chatd_rate_limit_size(limit), 3);
  cr_assert(chatd_rate_limit_allows(limit, "a", T0 + 4), "a was forgotten");
  cr_assert_not(chatd_rate_limit_allows(limit, "b", T0 + 4), "b keeps its history");
  /* Charging b makes c the oldest. */
  chatd_rate_limit_charge(limit, "b", T0 + 5);
  cr_assert(chatd_rate_limit_charge(limit, "e", T0 + 6));
  cr_assert(chatd_rate_limit_allows(limit, "c", T0 + 6), "c was forgotten");
  cr_assert_not(chatd_rate_limit_allows(limit, "b", T0 + 6));
}

Test(rate_limit, default_bound_is_max_keys) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  char key[32];
  for (guint i = 0; i < CHATD_RATE_LIMIT_MAX_KEYS + 100; i++) {
    g_snprintf(key, sizeof key, "a:10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    cr_assert(chatd_rate_limit_charge(limit, key, T0));
  }
  cr_assert_eq(chatd_rate_limit_size(limit), CHATD_RATE_LIMIT_MAX_KEYS);
}

/* A charge taken up front and given back leaves the bucket as it was, and a
 * refund never fills a bucket past its burst. */
Test(rate_limit, a_refund_gives_back_one_token_up_to_the_burst) {
  g_autoptr(ChatdRateLimit) limit = per_minute();
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0));
  chatd_rate_limit_refund(limit, "k", T0);
  cr_assert(chatd_rate_limit_allows(limit, "k", T0));
  charge_n(limit, "k", 1, T0);
  cr_assert_not(chatd_rate_limit_allows(limit, "k", T0));
  for (int i = 0; i < 2 * BURST; i++)
    chatd_rate_limit_refund(limit, "k", T0);
  charge_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_charge(limit, "k", T0), "more than the burst after refunds");
  chatd_rate_limit_refund(limit, "unknown", T0);
  cr_assert_eq(chatd_rate_limit_size(limit), 1, "a refund creates no key");
}
