/* Login attempt limiting: one token bucket per key.
 *
 * Keys are strings chosen by the caller, e.g. the source address
 * ("192.0.2.7") and the account ("user:alice"). Each bucket holds up to
 * `burst` tokens and refills at `per_minute` tokens per minute; an attempt
 * takes one token and is refused when none is left. A key not seen before
 * starts with a full bucket. Arithmetic is exact (integers: a token is
 * 60,000,000 units and each microsecond adds per_minute units), and the time
 * is a parameter (monotonic microseconds, g_get_monotonic_time()) so tests
 * are deterministic; a time earlier than a bucket's last one refills nothing.
 *
 * Memory is bounded: at most max_keys buckets (CHATD_RATE_LIMIT_MAX_KEYS for
 * chatd_rate_limit_new). When a new key arrives and the table is full, the
 * buckets that have refilled completely are dropped (a full bucket is the
 * same as no bucket). If none has, the new key is DENIED — the limiter fails
 * closed: during a flood of distinct keys, new sources are refused until
 * buckets refill, while keys already tracked keep their normal budget. So
 * that a flood cannot make every attempt scan the table, a scan that finds
 * nothing to drop is not repeated before the earliest time a bucket can be
 * full again.
 *
 * Not thread-safe: use it from the event loop's thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Buckets kept, at most, by chatd_rate_limit_new. */
#define CHATD_RATE_LIMIT_MAX_KEYS 65536
/* Longest per_minute and burst accepted (keeps the integer arithmetic far
 * from overflow). */
#define CHATD_RATE_LIMIT_MAX_PER_MINUTE 1000000
#define CHATD_RATE_LIMIT_MAX_BURST 1000000

typedef struct _ChatdRateLimit ChatdRateLimit;

/* A limiter allowing `burst` attempts at once and `per_minute` attempts per
 * minute in the long run, per key, with at most CHATD_RATE_LIMIT_MAX_KEYS
 * keys. per_minute and burst must be 1..their maximum (a critical and NULL
 * otherwise). */
ChatdRateLimit *chatd_rate_limit_new(guint per_minute, guint burst);

/* The same with another bound on the number of keys (>= 1). */
ChatdRateLimit *chatd_rate_limit_new_full(guint per_minute, guint burst, guint max_keys);

/* Frees the limiter; NULL is ignored. */
void chatd_rate_limit_free(ChatdRateLimit *limit);

/* Takes one token from key's bucket at time now_us (monotonic
 * microseconds). TRUE: the attempt is allowed. FALSE: the bucket is empty,
 * or key is new and the table is full of buckets that are not full (see
 * above). */
gboolean chatd_rate_limit_take(ChatdRateLimit *limit, const char *key, gint64 now_us);

/* Gives back one token taken from key's bucket (never above burst), e.g.
 * when the attempt it was taken for succeeded: only failures count.
 * Unknown keys are ignored. */
void chatd_rate_limit_refund(ChatdRateLimit *limit, const char *key);

/* Forgets key (its bucket is full again), e.g. after a successful login.
 * Unknown keys are ignored. */
void chatd_rate_limit_reset(ChatdRateLimit *limit, const char *key);

/* Number of keys currently tracked (for tests and statistics). */
guint chatd_rate_limit_size(ChatdRateLimit *limit);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdRateLimit, chatd_rate_limit_free)

G_END_DECLS
