/* Tests of chat_random_bytes (protocol/random.h): it fills exactly the
 * buffer it is given, len 0 is allowed, large requests (more than one
 * getrandom call may return) are filled whole, and two draws differ. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "protocol/random.h"

#define GUARD 0xa5
#define SMALL_LEN 32u
/* getrandom returns at most 32 MiB - 1 at a time; 1 MiB exercises the loop
 * on kernels with smaller per-call limits and is cheap elsewhere. */
#define LARGE_LEN ((size_t)1 << 20)

Test(random, zero_length_touches_nothing) {
  uint8_t buf[4];
  memset(buf, GUARD, sizeof buf);
  cr_assert_eq(chat_random_bytes(buf, 0), 0);
  for (size_t i = 0; i < sizeof buf; i++)
    cr_assert_eq(buf[i], GUARD);
}

Test(random, fills_exactly_the_buffer) {
  uint8_t buf[SMALL_LEN + 2];
  memset(buf, GUARD, sizeof buf);
  cr_assert_eq(chat_random_bytes(buf + 1, SMALL_LEN), 0);
  cr_assert_eq(buf[0], GUARD);
  cr_assert_eq(buf[SMALL_LEN + 1], GUARD);
}

Test(random, two_draws_differ) {
  uint8_t a[SMALL_LEN], b[SMALL_LEN];
  cr_assert_eq(chat_random_bytes(a, sizeof a), 0);
  cr_assert_eq(chat_random_bytes(b, sizeof b), 0);
  /* 2^-256 chance of a false failure. */
  cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(random, large_request_is_filled_whole) {
  static uint8_t buf[LARGE_LEN];
  memset(buf, 0, sizeof buf);
  cr_assert_eq(chat_random_bytes(buf, sizeof buf), 0);
  /* Each 4 KiB block of the output holds some non-zero byte: a short read
   * left unfilled would leave a whole block of zeros (chance 2^-32768). */
  for (size_t block = 0; block < sizeof buf; block += 4096) {
    bool nonzero = false;
    for (size_t i = block; i < block + 4096 && !nonzero; i++)
      nonzero = buf[i] != 0;
    cr_assert(nonzero, "block at %zu is all zero", block);
  }
}
