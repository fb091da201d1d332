/* Rate limits: one token bucket per key.
 *
 * Keys are strings chosen by the caller, e.g. a source address ("a:192.0.2.7")
 * or an address and an account ("u:192.0.2.7/alice"). Each bucket holds up
 * to `burst` tokens and refills at `count` tokens per `period_s` seconds. The
 * caller asks whether a key may act (chatd_rate_limit_allows: nothing is
 * taken or created) and charges it when the act counts (a failed login, a
 * registration): so a limiter of failures never stands in the way of an
 * attempt that succeeds, and concurrent attempts do not borrow tokens.
 * Arithmetic is exact (integers: a token is period_s × 10^6 units and each
 * microsecond adds `count` units), and the time is a parameter (monotonic
 * microseconds, g_get_monotonic_time()) so tests are deterministic; a time
 * earlier than a bucket's last one refills nothing.
 *
 * Memory is bounded: at most max_keys buckets (CHATD_RATE_LIMIT_MAX_KEYS by
 * default). When a charge needs a new bucket and the table is full, the
 * bucket charged longest ago is forgotten (it is the most likely to be full
 * again, and a full bucket is the same as none): a full table never refuses
 * anyone, it only forgets the oldest history.
 *
 * Not thread-safe: use it from the main thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Buckets kept, at most, by chatd_rate_limit_new. */
#define CHATD_RATE_LIMIT_MAX_KEYS 65536
/* Largest count, period and burst accepted (keeps the integer arithmetic
 * far from overflow). */
#define CHATD_RATE_LIMIT_MAX_COUNT 1000000
#define CHATD_RATE_LIMIT_MAX_PERIOD_S (7 * 24 * 3600)
#define CHATD_RATE_LIMIT_MAX_BURST 1000000

typedef struct _ChatdRateLimit ChatdRateLimit;

/* A limiter allowing `burst` acts at once and `count` per `period_s`
 * seconds in the long run, per key, with at most max_keys keys. Each value
 * must be 1..its maximum (a critical and NULL otherwise). */
ChatdRateLimit *chatd_rate_limit_new_full(guint count, guint period_s, guint burst, guint max_keys);

/* The same with CHATD_RATE_LIMIT_MAX_KEYS keys. */
ChatdRateLimit *chatd_rate_limit_new(guint count, guint period_s, guint burst);

/* Frees the limiter; NULL is ignored. */
void chatd_rate_limit_free(ChatdRateLimit *limit);

/* Whether key has a token at now_us. A key never charged (or forgotten)
 * has a full bucket. Changes nothing. */
gboolean chatd_rate_limit_allows(ChatdRateLimit *limit, const char *key, gint64 now_us);

/* Takes a token from key's bucket at now_us (making the bucket, which may
 * forget the oldest one, see above). Returns FALSE when the bucket was
 * already empty (it stays empty). */
gboolean chatd_rate_limit_charge(ChatdRateLimit *limit, const char *key, gint64 now_us);

/* Gives back a token charged earlier (an attempt charged up front that
 * turned out not to count); the bucket never holds more than burst. */
void chatd_rate_limit_refund(ChatdRateLimit *limit, const char *key, gint64 now_us);

/* Microseconds until key has a token again (0 when it has one). */
gint64 chatd_rate_limit_wait_us(ChatdRateLimit *limit, const char *key, gint64 now_us);

/* Forgets key (its bucket is full again). Unknown keys are ignored. */
void chatd_rate_limit_reset(ChatdRateLimit *limit, const char *key);

/* Number of keys currently tracked (for tests and statistics). */
guint chatd_rate_limit_size(ChatdRateLimit *limit);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdRateLimit, chatd_rate_limit_free)

G_END_DECLS
