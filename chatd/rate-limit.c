/* Token buckets for login attempts (see rate-limit.h). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/rate-limit.h"

/* One token, in bucket units: each microsecond adds per_minute units, so a
 * token is as many units as there are microseconds in a minute. */
#define UNITS_PER_TOKEN (G_GINT64_CONSTANT(60) * G_USEC_PER_SEC)

typedef struct {
  gint64 units;    /* tokens × UNITS_PER_TOKEN */
  gint64 last_us;  /* time of the last refill */
} Bucket;

struct _ChatdRateLimit {
  gint64 units_per_us;  /* = per_minute */
  gint64 capacity;      /* burst × UNITS_PER_TOKEN */
  guint max_keys;
  GHashTable *buckets;  /* owned key -> owned Bucket */
  /* When the table is full: no bucket can be full before this time, so a
   * prune before it would drop nothing. */
  gint64 next_prune_us;
};

ChatdRateLimit *chatd_rate_limit_new_full(guint per_minute, guint burst, guint max_keys) {
  g_return_val_if_fail(per_minute >= 1 && per_minute <= CHATD_RATE_LIMIT_MAX_PER_MINUTE, NULL);
  g_return_val_if_fail(burst >= 1 && burst <= CHATD_RATE_LIMIT_MAX_BURST, NULL);
  g_return_val_if_fail(max_keys >= 1, NULL);
  ChatdRateLimit *limit = g_new0(ChatdRateLimit, 1);
  limit->units_per_us = per_minute;
  limit->capacity = (gint64)burst * UNITS_PER_TOKEN;
  limit->max_keys = max_keys;
  limit->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  limit->next_prune_us = G_MININT64;
  return limit;
}

ChatdRateLimit *chatd_rate_limit_new(guint per_minute, guint burst) {
  return chatd_rate_limit_new_full(per_minute, burst, CHATD_RATE_LIMIT_MAX_KEYS);
}

void chatd_rate_limit_free(ChatdRateLimit *limit) {
  if (limit == NULL)
    return;
  g_hash_table_unref(limit->buckets);
  g_free(limit);
}

/* Microseconds a bucket needs from its last refill to be full. */
static gint64 time_to_full(const ChatdRateLimit *limit, const Bucket *bucket) {
  gint64 missing = limit->capacity - bucket->units;
  return (missing + limit->units_per_us - 1) / limit->units_per_us;
}

static void refill(const ChatdRateLimit *limit, Bucket *bucket, gint64 now_us) {
  if (now_us <= bucket->last_us)
    return;  /* the same instant, or the clock went back: nothing to add */
  gint64 elapsed = now_us - bucket->last_us;
  if (elapsed >= time_to_full(limit, bucket))
    bucket->units = limit->capacity;
  else  /* elapsed × rate < missing + rate: no overflow */
    bucket->units += elapsed * limit->units_per_us;
  bucket->last_us = now_us;
}

/* Drops every bucket that is full at now_us; TRUE when at least one was
 * dropped. Remembers when the first remaining one will be full, and skips
 * the scan until then. */
static gboolean prune(ChatdRateLimit *limit, gint64 now_us) {
  if (now_us < limit->next_prune_us)
    return FALSE;
  gboolean dropped = FALSE;
  gint64 first_full_us = G_MAXINT64;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, limit->buckets);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    Bucket *bucket = value;
    refill(limit, bucket, now_us);
    if (bucket->units == limit->capacity) {
      g_hash_table_iter_remove(&iter);
      dropped = TRUE;
    } else {
      gint64 full_us = bucket->last_us + time_to_full(limit, bucket);
      first_full_us = MIN(first_full_us, full_us);
    }
  }
  /* Buckets added later lower this (chatd_rate_limit_take). */
  limit->next_prune_us = first_full_us;
  return dropped;
}

gboolean chatd_rate_limit_take(ChatdRateLimit *limit, const char *key, gint64 now_us) {
  g_return_val_if_fail(limit != NULL, FALSE);
  g_return_val_if_fail(key != NULL, FALSE);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket == NULL) {
    if (g_hash_table_size(limit->buckets) >= limit->max_keys && !prune(limit, now_us))
      return FALSE;
    bucket = g_new(Bucket, 1);
    bucket->units = limit->capacity;
    bucket->last_us = now_us;
    g_hash_table_insert(limit->buckets, g_strdup(key), bucket);
    bucket->units -= UNITS_PER_TOKEN;  /* burst >= 1: a new key always has one */
    /* This bucket may be full again before the time a past scan noted. */
    limit->next_prune_us =
        MIN(limit->next_prune_us, bucket->last_us + time_to_full(limit, bucket));
    return TRUE;
  }
  /* Taking only moves an existing bucket's full time later, so
   * next_prune_us stays a safe (early) bound. */
  refill(limit, bucket, now_us);
  if (bucket->units < UNITS_PER_TOKEN)
    return FALSE;
  bucket->units -= UNITS_PER_TOKEN;
  return TRUE;
}

void chatd_rate_limit_refund(ChatdRateLimit *limit, const char *key) {
  g_return_if_fail(limit != NULL);
  g_return_if_fail(key != NULL);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket)
    bucket->units = MIN(limit->capacity, bucket->units + UNITS_PER_TOKEN);
}

void chatd_rate_limit_reset(ChatdRateLimit *limit, const char *key) {
  g_return_if_fail(limit != NULL);
  g_return_if_fail(key != NULL);
  g_hash_table_remove(limit->buckets, key);
}

guint chatd_rate_limit_size(ChatdRateLimit *limit) {
  g_return_val_if_fail(limit != NULL, 0);
  return g_hash_table_size(limit->buckets);
}
