/* chatd/resume-tokens: which account a token belongs to, until when, and
 * how many each account may hold. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd/resume-tokens.h"

#define DAY_MS (24 * 3600 * G_GINT64_CONSTANT(1000))

static void fill(guint8 hash[CHATD_RESUME_TOKEN_HASH_LEN], guint8 seed) {
  for (int i = 0; i < CHATD_RESUME_TOKEN_HASH_LEN; i++)
    hash[i] = (guint8)(seed * 31 + i);
}

Test(resume_tokens, a_token_belongs_to_its_account_until_it_expires) {
  g_autoptr(ChatdResumeTokens) tokens = chatd_resume_tokens_new(30 * DAY_MS, 4);
  guint8 a[32], b[32];
  fill(a, 1);
  fill(b, 2);
  chatd_resume_tokens_add(tokens, a, 7, 1000);
  cr_assert_eq(chatd_resume_tokens_owner(tokens, a, 1000), 7);
  cr_assert_eq(chatd_resume_tokens_owner(tokens, a, 1000 + 30 * DAY_MS - 1), 7);
  cr_assert_eq(chatd_resume_tokens_owner(tokens, a, 1000 + 30 * DAY_MS), 0, "expired");
  cr_assert_eq(chatd_resume_tokens_owner(tokens, b, 1000), 0, "unknown");
  cr_assert_eq(chatd_resume_tokens_issued_ms(tokens, a), 1000);
}

Test(resume_tokens, removed_tokens_are_gone) {
  g_autoptr(ChatdResumeTokens) tokens = chatd_resume_tokens_new(DAY_MS, 4);
  guint8 a[32];
  fill(a, 1);
  chatd_resume_tokens_add(tokens, a, 7, 1000);
  cr_assert(chatd_resume_tokens_remove(tokens, a));
  cr_assert_not(chatd_resume_tokens_remove(tokens, a));
  cr_assert_eq(chatd_resume_tokens_owner(tokens, a, 1000), 0);
  guint n = 99;
  cr_assert_null(chatd_resume_tokens_of_user(tokens, 7, &n));
  cr_assert_eq(n, 0);
  cr_assert_eq(chatd_resume_tokens_count(tokens), 0);
}

Test(resume_tokens, an_account_holds_at_most_max_per_user_oldest_first) {
  g_autoptr(ChatdResumeTokens) tokens = chatd_resume_tokens_new(DAY_MS, 3);
  guint8 h[5][32];
  /* issued out of order: 3, 1, 4, 2 */
  gint64 issued[] = {3000, 1000, 4000, 2000};
  for (int i = 0; i < 4; i++) {
    fill(h[i], (guint8)(i + 1));
    cr_assert_eq(chatd_resume_tokens_excess(tokens, 9), i < 3 ? 0 : 1, "before token %d", i);
    chatd_resume_tokens_add(tokens, h[i], 9, issued[i]);
  }
  fill(h[4], 50);
  chatd_resume_tokens_add(tokens, h[4], 10, 500); /* another account */
  cr_assert_eq(chatd_resume_tokens_excess(tokens, 9), 2,
               "4 held, 3 allowed: 2 must go for one more");
  cr_assert_eq(chatd_resume_tokens_excess(tokens, 10), 0);
  guint n = 0;
  g_autofree guint8 *of_user = chatd_resume_tokens_of_user(tokens, 9, &n);
  cr_assert_eq(n, 4);
  const int order[] = {1, 3, 0, 2};
  for (int i = 0; i < 4; i++)
    cr_assert_eq(memcmp(of_user + i * 32, h[order[i]], 32), 0, "position %d", i);
}

Test(resume_tokens, expired_tokens_are_swept) {
  g_autoptr(ChatdResumeTokens) tokens = chatd_resume_tokens_new(DAY_MS, 8);
  guint8 old[32], fresh[32];
  fill(old, 1);
  fill(fresh, 2);
  chatd_resume_tokens_add(tokens, old, 7, 0);
  chatd_resume_tokens_add(tokens, fresh, 7, DAY_MS);
  cr_assert_eq(chatd_resume_tokens_remove_expired(tokens, DAY_MS), 1);
  cr_assert_eq(chatd_resume_tokens_count(tokens), 1);
  cr_assert_eq(chatd_resume_tokens_owner(tokens, fresh, DAY_MS), 7);
  guint n = 0;
  g_autofree guint8 *of_user = chatd_resume_tokens_of_user(tokens, 7, &n);
  cr_assert_eq(n, 1);
  cr_assert_eq(memcmp(of_user, fresh, 32), 0);
}

Test(resume_tokens, adding_a_known_hash_replaces_it) {
  g_autoptr(ChatdResumeTokens) tokens = chatd_resume_tokens_new(DAY_MS, 8);
  guint8 a[32];
  fill(a, 1);
  chatd_resume_tokens_add(tokens, a, 7, 0);
  chatd_resume_tokens_add(tokens, a, 8, 10);
  cr_assert_eq(chatd_resume_tokens_count(tokens), 1);
  cr_assert_eq(chatd_resume_tokens_owner(tokens, a, 10), 8);
  cr_assert_eq(chatd_resume_tokens_excess(tokens, 7), 0);
  guint n = 9;
  cr_assert_null(chatd_resume_tokens_of_user(tokens, 7, &n));
}
