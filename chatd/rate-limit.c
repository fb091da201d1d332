/* Token buckets per key (see rate-limit.h). */
#define G_LOG_DOMAIN "chatd"

#include "chatd/rate-limit.h"

typedef struct {
  char *key;
  gint64 units;   /* tokens × units_per_token */
  gint64 last_us; /* time of the last refill */
  GList link;     /* in the limiter's charge order, oldest first */
} Bucket;

struct _ChatdRateLimit {
  gint64 units_per_us;    /* = count */
  gint64 units_per_token; /* = period in microseconds */
  gint64 capacity;        /* burst × units_per_token */
  guint max_keys;
  GHashTable *buckets; /* key (the bucket's own) -> Bucket */
  GQueue order;        /* Bucket*, by last charge, oldest first */
};

static void bucket_free(gpointer data) {
  Bucket *bucket = data;
  g_free(bucket->key);
  g_free(bucket);
}

ChatdRateLimit *chatd_rate_limit_new_full(guint count, guint period_s, guint burst,
                                          guint max_keys) {
  g_return_val_if_fail(count >= 1 && count <= CHATD_RATE_LIMIT_MAX_COUNT, NULL);
  g_return_val_if_fail(period_s >= 1 && period_s <= CHATD_RATE_LIMIT_MAX_PERIOD_S, NULL);
  g_return_val_if_fail(burst >= 1 && burst <= CHATD_RATE_LIMIT_MAX_BURST, NULL);
  g_return_val_if_fail(max_keys >= 1, NULL);
  ChatdRateLimit *limit = g_new0(ChatdRateLimit, 1);
  limit->units_per_us = count;
  limit->units_per_token = (gint64)period_s * G_USEC_PER_SEC;
  limit->capacity = (gint64)burst * limit->units_per_token;
  limit->max_keys = max_keys;
  limit->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, bucket_free);
  g_queue_init(&limit->order);
  return limit;
}

ChatdRateLimit *chatd_rate_limit_new(guint count, guint period_s, guint burst) {
  return chatd_rate_limit_new_full(count, period_s, burst, CHATD_RATE_LIMIT_MAX_KEYS);
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
    return; /* the same instant, or the clock went back: nothing to add */
  gint64 elapsed = now_us - bucket->last_us;
  if (elapsed >= time_to_full(limit, bucket))
    bucket->units = limit->capacity;
  else /* elapsed × rate < missing + rate: no overflow */
    bucket->units += elapsed * limit->units_per_us;
  bucket->last_us = now_us;
}

gboolean chatd_rate_limit_allows(ChatdRateLimit *limit, const char *key, gint64 now_us) {
  return chatd_rate_limit_wait_us(limit, key, now_us) == 0;
}

gint64 chatd_rate_limit_wait_us(ChatdRateLimit *limit, const char *key, gint64 now_us) {
  g_return_val_if_fail(limit != NULL && key != NULL, 0);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket == NULL)
    return 0;
  refill(limit, bucket, now_us);
  if (bucket->units >= limit->units_per_token)
    return 0;
  gint64 missing = limit->units_per_token - bucket->units;
  return (missing + limit->units_per_us - 1) / limit->units_per_us;
}

gboolean chatd_rate_limit_charge(ChatdRateLimit *limit, const char *key, gint64 now_us) {
  g_return_val_if_fail(limit != NULL && key != NULL, FALSE);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket == NULL) {
    if (g_hash_table_size(limit->buckets) >= limit->max_keys) {
      Bucket *oldest = g_queue_peek_head(&limit->order);
      g_queue_unlink(&limit->order, &oldest->link);
      g_hash_table_remove(limit->buckets, oldest->key);
    }
    bucket = g_new0(Bucket, 1);
    bucket->key = g_strdup(key);
    bucket->units = limit->capacity;
    bucket->last_us = now_us;
    bucket->link.data = bucket;
    g_hash_table_insert(limit->buckets, bucket->key, bucket);
  } else {
    g_queue_unlink(&limit->order, &bucket->link);
    refill(limit, bucket, now_us);
  }
  g_queue_push_tail_link(&limit->order, &bucket->link);
  if (bucket->units < limit->units_per_token)
    return FALSE;
  bucket->units -= limit->units_per_token;
  return TRUE;
}

void chatd_rate_limit_refund(ChatdRateLimit *limit, const char *key, gint64 now_us) {
  g_return_if_fail(limit != NULL && key != NULL);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket == NULL)
    return; /* forgotten: full anyway */
  refill(limit, bucket, now_us);
  bucket->units = MIN(bucket->units + limit->units_per_token, limit->capacity);
}

void chatd_rate_limit_reset(ChatdRateLimit *limit, const char *key) {
  g_return_if_fail(limit != NULL && key != NULL);
  Bucket *bucket = g_hash_table_lookup(limit->buckets, key);
  if (bucket == NULL)
    return;
  g_queue_unlink(&limit->order, &bucket->link);
  g_hash_table_remove(limit->buckets, key);
}

guint chatd_rate_limit_size(ChatdRateLimit *limit) {
  g_return_val_if_fail(limit != NULL, 0);
  return g_hash_table_size(limit->buckets);
}
