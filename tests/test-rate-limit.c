/* Tests of chatd's login attempt limiter (chatd/rate-limit.h): the bucket
 * arithmetic at exact microsecond boundaries, independence of keys, reset,
 * a clock going back, and the bound on the number of keys. */
#include <criterion/criterion.h>

#include "chatd/rate-limit.h"

#define PER_MINUTE 10
#define BURST 5
/* With PER_MINUTE 10, one token comes back every 6 seconds. */
#define TOKEN_US (60 * G_USEC_PER_SEC / PER_MINUTE)
#define T0 G_GINT64_CONSTANT(1000000000)

/* Takes n tokens at now, asserting each is allowed. */
static void take_n(ChatdRateLimit *limit, const char *key, int n, gint64 now) {
  for (int i = 0; i < n; i++)
    cr_assert(chatd_rate_limit_take(limit, key, now), "take %d of %d for %s", i + 1, n, key);
}

Test(rate_limit, new_key_gets_the_burst_then_is_refused) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "192.0.2.1", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "192.0.2.1", T0));
  cr_assert_not(chatd_rate_limit_take(limit, "192.0.2.1", T0 + 1));
}

Test(rate_limit, one_token_comes_back_per_interval_exactly) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "k", T0 + TOKEN_US - 1));
  cr_assert(chatd_rate_limit_take(limit, "k", T0 + TOKEN_US));
  cr_assert_not(chatd_rate_limit_take(limit, "k", T0 + TOKEN_US));
  /* The refused attempt at TOKEN_US - 1 did not lose the partial token. */
  cr_assert_not(chatd_rate_limit_take(limit, "k", T0 + 2 * TOKEN_US - 1));
  cr_assert(chatd_rate_limit_take(limit, "k", T0 + 2 * TOKEN_US));
}

Test(rate_limit, long_run_rate_is_per_minute) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  int allowed = 0;
  /* Ten minutes of an attempt every 100 ms. */
  for (gint64 t = 0; t <= 10 * 60 * G_USEC_PER_SEC; t += 100 * 1000)
    allowed += chatd_rate_limit_take(limit, "k", T0 + t);
  cr_assert_eq(allowed, BURST + 10 * PER_MINUTE);
}

Test(rate_limit, idle_bucket_refills_to_burst_only) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "k", BURST, T0);
  gint64 later = T0 + G_GINT64_CONSTANT(24) * 3600 * G_USEC_PER_SEC;
  take_n(limit, "k", BURST, later);
  cr_assert_not(chatd_rate_limit_take(limit, "k", later));
}

Test(rate_limit, keys_are_independent) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "user:alice", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "user:alice", T0));
  take_n(limit, "user:bob", BURST, T0);
  take_n(limit, "192.0.2.1", BURST, T0);
  cr_assert_eq(chatd_rate_limit_size(limit), 3);
}

Test(rate_limit, reset_gives_a_full_bucket) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "user:alice", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "user:alice", T0));
  chatd_rate_limit_reset(limit, "user:alice");
  cr_assert_eq(chatd_rate_limit_size(limit), 0);
  take_n(limit, "user:alice", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "user:alice", T0));
  chatd_rate_limit_reset(limit, "never-seen");  /* ignored */
}

Test(rate_limit, clock_going_back_refills_nothing) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  take_n(limit, "k", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "k", T0 - 100 * TOKEN_US));
  /* Refill still counts from the latest time seen. */
  cr_assert_not(chatd_rate_limit_take(limit, "k", T0 + TOKEN_US - 1));
  cr_assert(chatd_rate_limit_take(limit, "k", T0 + TOKEN_US));
}

Test(rate_limit, full_table_denies_new_keys_until_a_bucket_is_full_again) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new_full(PER_MINUTE, BURST, 4);
  const char *keys[] = {"a", "b", "c", "d"};
  for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
    take_n(limit, keys[i], 1, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "e", T0), "a new key when full is denied");
  cr_assert_eq(chatd_rate_limit_size(limit), 4);
  /* Known keys keep their budget meanwhile. */
  take_n(limit, "a", BURST - 1, T0);
  /* b, c, d are full again after one token interval: they are dropped. */
  cr_assert_not(chatd_rate_limit_take(limit, "e", T0 + TOKEN_US - 1));
  cr_assert(chatd_rate_limit_take(limit, "e", T0 + TOKEN_US));
  cr_assert_eq(chatd_rate_limit_size(limit), 2, "a (not full) and e remain");
  /* a kept its state: it has one token back, not a fresh burst. */
  cr_assert(chatd_rate_limit_take(limit, "a", T0 + TOKEN_US));
  cr_assert_not(chatd_rate_limit_take(limit, "a", T0 + TOKEN_US));
}

/* A bucket added after a fruitless scan may be full before the time that
 * scan noted: the limiter must not wait for the older time. */
Test(rate_limit, bucket_added_after_a_fruitless_scan_is_pruned_in_time) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new_full(PER_MINUTE, BURST, 2);
  take_n(limit, "a", BURST, T0);  /* full again at T0 + 5 tokens */
  take_n(limit, "b", BURST, T0);
  cr_assert_not(chatd_rate_limit_take(limit, "c", T0 + 1));
  chatd_rate_limit_reset(limit, "b");
  take_n(limit, "d", 1, T0 + 1);  /* full again at T0 + 1 + 1 token */
  cr_assert(chatd_rate_limit_take(limit, "e", T0 + 1 + TOKEN_US));
}

Test(rate_limit, default_bound_is_max_keys) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(PER_MINUTE, BURST);
  char key[32];
  for (guint i = 0; i < CHATD_RATE_LIMIT_MAX_KEYS; i++) {
    g_snprintf(key, sizeof key, "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    cr_assert(chatd_rate_limit_take(limit, key, T0));
  }
  cr_assert_eq(chatd_rate_limit_size(limit), CHATD_RATE_LIMIT_MAX_KEYS);
  cr_assert_not(chatd_rate_limit_take(limit, "192.0.2.1", T0));
  cr_assert_not(chatd_rate_limit_take(limit, "192.0.2.2", T0 + 1));
  cr_assert_eq(chatd_rate_limit_size(limit), CHATD_RATE_LIMIT_MAX_KEYS);
  cr_assert(chatd_rate_limit_take(limit, "192.0.2.1", T0 + TOKEN_US));
  cr_assert_eq(chatd_rate_limit_size(limit), 1);
}

Test(rate_limit, refunds_give_back_one_token_up_to_the_burst) {
  g_autoptr(ChatdRateLimit) limit = chatd_rate_limit_new(1, 2);
  /* Successful attempts, each refunded: never refused. */
  for (int i = 0; i < 100; i++) {
    cr_assert(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0), "attempt %d", i);
    chatd_rate_limit_refund(limit, "addr:127.0.0.1");
  }
  /* Failures are not refunded: the burst of 2, then refused. */
  cr_assert(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  cr_assert(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  cr_assert_not(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  /* Refunds never raise a bucket above the burst. */
  chatd_rate_limit_refund(limit, "addr:127.0.0.1");
  chatd_rate_limit_refund(limit, "addr:127.0.0.1");
  chatd_rate_limit_refund(limit, "addr:127.0.0.1");
  cr_assert(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  cr_assert(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  cr_assert_not(chatd_rate_limit_take(limit, "addr:127.0.0.1", 0));
  chatd_rate_limit_refund(limit, "unknown");  /* ignored */
  cr_assert_eq(chatd_rate_limit_size(limit), 1);
}
