/* TCP reassembly. See tcp-streams.h. */
#include "chatctl/capture/tcp-streams.h"

#include <stdlib.h>
#include <string.h>

/* Hash buckets: twice the most pairs remembered. */
#define BUCKET_COUNT (2u * TCP_STREAMS_MAX_TRACKED)
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

typedef struct ooo_segment ooo_segment;
struct ooo_segment {
  ooo_segment *next;
  uint64_t offset; /* stream offset of data[0] */
  size_t len;
  uint8_t data[];
};

/* One direction. */
typedef struct {
  bool synced;        /* next_seq is known */
  uint32_t next_seq;  /* sequence number of the next byte to deliver */
  uint64_t delivered; /* bytes delivered: the stream offset of next_seq */
  bool fin_seen;
  uint64_t fin_offset;
  bool stopped;     /* broken, or the consumer asked to stop */
  bool ended;       /* the end callback ran */
  ooo_segment *ooo; /* sorted by offset */
  size_t ooo_bytes;
  size_t ooo_count;
} half;

typedef struct conn conn;
struct conn {
  conn *hash_next;
  conn *older, *newer; /* all pairs, oldest first */
  tcp_connection_info info;
  half h[2];
  void *ctx;
  bool open;           /* followed: callbacks still run */
  bool stop_requested; /* TCP_STOP_CONNECTION from a callback */
  bool have_client_isn;
  uint32_t client_isn;
};

struct tcp_streams {
  tcp_callbacks cb;
  void *user;
  conn *buckets[BUCKET_COUNT];
  conn *oldest, *newest;
  size_t tracked;
  size_t open;
  size_t ooo_total;
  uint64_t next_number;
  tcp_streams_stats stats;
};

/* ---- the table ---------------------------------------------------------- */

static uint32_t endpoint_hash(const capture_endpoint *ep) {
  uint32_t h = FNV_OFFSET;
  const uint8_t *a = ep->addr;
  for (size_t i = 0; i < CAPTURE_ADDR_MAX; i++)
    h = (h ^ a[i]) * FNV_PRIME;
  h = (h ^ (uint32_t)(ep->port >> 8)) * FNV_PRIME;
  h = (h ^ (uint32_t)(ep->port & 0xFFu)) * FNV_PRIME;
  h = (h ^ (uint32_t)ep->family) * FNV_PRIME;
  return h;
}

/* Symmetric: the same bucket for both directions. */
static size_t pair_bucket(const capture_endpoint *a, const capture_endpoint *b) {
  return (size_t)((endpoint_hash(a) ^ endpoint_hash(b)) % BUCKET_COUNT);
}

static conn *find(tcp_streams *t, const capture_segment *seg, tcp_direction *dir) {
  for (conn *c = t->buckets[pair_bucket(&seg->src, &seg->dst)]; c != NULL; c = c->hash_next) {
    if (capture_endpoint_equal(&seg->src, &c->info.client) &&
        capture_endpoint_equal(&seg->dst, &c->info.server)) {
      *dir = TCP_CLIENT_TO_SERVER;
      return c;
    }
    if (capture_endpoint_equal(&seg->src, &c->info.server) &&
        capture_endpoint_equal(&seg->dst, &c->info.client)) {
      *dir = TCP_SERVER_TO_CLIENT;
      return c;
    }
  }
  return NULL;
}

static void free_ooo(tcp_streams *t, half *h) {
  ooo_segment *s = h->ooo;
  while (s != NULL) {
    ooo_segment *next = s->next;
    t->ooo_total -= s->len;
    free(s);
    s = next;
  }
  h->ooo = NULL;
  h->ooo_bytes = 0;
  h->ooo_count = 0;
}

/* Unlinks and frees a pair that is no longer followed. */
static void remove_conn(tcp_streams *t, conn *c) {
  conn **p = &t->buckets[pair_bucket(&c->info.client, &c->info.server)];
  while (*p != NULL && *p != c)
    p = &(*p)->hash_next;
  if (*p == c)
    *p = c->hash_next;
  if (c->older != NULL)
    c->older->newer = c->newer;
  else
    t->oldest = c->newer;
  if (c->newer != NULL)
    c->newer->older = c->older;
  else
    t->newest = c->older;
  free_ooo(t, &c->h[0]);
  free_ooo(t, &c->h[1]);
  t->tracked--;
  free(c);
}

/* Makes room for one more pair by forgetting the oldest ended one. */
static bool make_room(tcp_streams *t) {
  if (t->tracked < TCP_STREAMS_MAX_TRACKED)
    return true;
  for (conn *c = t->oldest; c != NULL; c = c->newer) {
    if (!c->open) {
      remove_conn(t, c);
      return true;
    }
  }
  return false;
}

static conn *create(tcp_streams *t, const capture_segment *seg, tcp_classification cls) {
  if (t->open >= TCP_STREAMS_MAX_OPEN || !make_room(t)) {
    t->stats.refused_full++;
    return NULL;
  }
  conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    t->stats.refused_full++;
    return NULL;
  }
  if (cls == TCP_FOLLOW_SRC_CLIENT) {
    c->info.client = seg->src;
    c->info.server = seg->dst;
  } else {
    c->info.client = seg->dst;
    c->info.server = seg->src;
  }
  c->info.number = ++t->next_number;
  c->info.start_time = seg->time_usec;
  if (seg->flags & CAPTURE_TCP_SYN)
    c->info.saw_syn[cls == TCP_FOLLOW_SRC_CLIENT ? TCP_CLIENT_TO_SERVER : TCP_SERVER_TO_CLIENT] =
        true;
  size_t b = pair_bucket(&seg->src, &seg->dst);
  c->hash_next = t->buckets[b];
  t->buckets[b] = c;
  c->older = t->newest;
  if (t->newest != NULL)
    t->newest->newer = c;
  else
    t->oldest = c;
  t->newest = c;
  t->tracked++;
  t->open++;
  c->open = true;
  t->stats.followed++;
  c->ctx = t->cb.open(t->user, &c->info, seg->time_usec);
  return c;
}

/* ---- ending ------------------------------------------------------------- */

static void close_conn(tcp_streams *t, conn *c, uint64_t time) {
  if (!c->open)
    return;
  c->open = false;
  t->open--;
  free_ooo(t, &c->h[0]);
  free_ooo(t, &c->h[1]);
  t->cb.close(t->user, c->ctx, time);
  c->ctx = NULL;
}

static void maybe_close(tcp_streams *t, conn *c, uint64_t time) {
  if (c->open && (c->stop_requested || (c->h[0].ended && c->h[1].ended)))
    close_conn(t, c, time);
}

/* The size of the hole at the next expected byte, when known. */
static uint64_t hole_size(const half *h, uint64_t limit) {
  uint64_t end = limit;
  if (h->ooo != NULL && h->ooo->offset < end)
    end = h->ooo->offset;
  if (h->fin_seen && h->fin_offset < end)
    end = h->fin_offset;
  return end > h->delivered ? end - h->delivered : 0;
}

static void break_half(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time, uint64_t missing,
                       tcp_break_reason reason) {
  half *h = &c->h[dir];
  if (h->stopped || h->ended)
    return;
  h->stopped = true;
  t->stats.breaks++;
  free_ooo(t, h);
  t->cb.broken(t->user, c->ctx, dir, time, h->delivered, missing, reason);
}

static void end_half(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time,
                     tcp_end_reason reason) {
  half *h = &c->h[dir];
  if (h->ended || !c->open || c->stop_requested)
    return;
  h->ended = true;
  free_ooo(t, h);
  t->cb.end(t->user, c->ctx, dir, time, reason);
}

/* Ends every direction of c: a gap still open is a break. */
static void end_all(tcp_streams *t, conn *c, uint64_t time, tcp_end_reason reason,
                    tcp_break_reason break_reason) {
  for (int d = 0; d < 2; d++) {
    half *h = &c->h[d];
    if (h->ended)
      continue;
    if (!h->stopped && (h->ooo != NULL || (h->fin_seen && h->delivered < h->fin_offset)))
      break_half(t, c, (tcp_direction)d, time, hole_size(h, UINT64_MAX), break_reason);
    end_half(t, c, (tcp_direction)d, time, reason);
  }
  maybe_close(t, c, time);
}

static void check_fin(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time) {
  half *h = &c->h[dir];
  if (h->fin_seen && !h->ended && (h->stopped || h->delivered >= h->fin_offset))
    end_half(t, c, dir, time, TCP_END_FIN);
}

/* ---- delivering --------------------------------------------------------- */

static void deliver(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time, const uint8_t *data,
                    size_t len) {
  half *h = &c->h[dir];
  h->next_seq += (uint32_t)len;
  h->delivered += len;
  tcp_verdict v = t->cb.data(t->user, c->ctx, dir, time, data, len);
  if (v == TCP_STOP_DIRECTION) {
    h->stopped = true;
    free_ooo(t, h);
  } else if (v == TCP_STOP_CONNECTION) {
    c->stop_requested = true;
    h->stopped = c->h[1 - dir].stopped = true;
  }
}

static void drain(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time) {
  half *h = &c->h[dir];
  while (h->ooo != NULL && !h->stopped && h->ooo->offset <= h->delivered) {
    ooo_segment *s = h->ooo;
    h->ooo = s->next;
    h->ooo_bytes -= s->len;
    h->ooo_count--;
    t->ooo_total -= s->len;
    uint64_t end = s->offset + s->len;
    if (end > h->delivered) {
      size_t skip = (size_t)(h->delivered - s->offset);
      deliver(t, c, dir, time, s->data + skip, s->len - skip);
    }
    free(s);
  }
}

/* Keeps a segment that starts after a hole. */
static void store(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time, uint64_t offset,
                  const uint8_t *data, size_t len) {
  half *h = &c->h[dir];
  ooo_segment **p = &h->ooo;
  while (*p != NULL && (*p)->offset < offset)
    p = &(*p)->next;
  if (*p != NULL && (*p)->offset == offset && (*p)->len >= len) {
    t->stats.retransmitted++; /* the same segment again */
    return;
  }
  if (h->ooo_bytes + len > TCP_STREAMS_MAX_OOO_BYTES ||
      h->ooo_count >= TCP_STREAMS_MAX_OOO_SEGMENTS ||
      t->ooo_total + len > TCP_STREAMS_MAX_OOO_TOTAL) {
    break_half(t, c, dir, time, hole_size(h, offset), TCP_BREAK_BUFFER_FULL);
    return;
  }
  ooo_segment *s = malloc(sizeof *s + len);
  if (s == NULL) {
    break_half(t, c, dir, time, hole_size(h, offset), TCP_BREAK_BUFFER_FULL);
    return;
  }
  s->offset = offset;
  s->len = len;
  memcpy(s->data, data, len);
  s->next = *p;
  *p = s;
  h->ooo_bytes += len;
  h->ooo_count++;
  t->ooo_total += len;
  t->stats.out_of_order++;
}

/* Payload bytes starting at sequence number seq. */
static void segment_data(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time, uint32_t seq,
                         const uint8_t *data, size_t len) {
  half *h = &c->h[dir];
  if (h->stopped || h->ended)
    return;
  int64_t rel = (int32_t)(seq - h->next_seq);
  if (rel < 0 && (uint64_t)(-rel) >= len) {
    t->stats.retransmitted++;
    return;
  }
  if (rel > 0 && (uint64_t)rel > TCP_STREAMS_MAX_AHEAD) {
    t->stats.too_far++;
    return;
  }
  if (rel < 0) { /* partly a retransmission: keep the new tail */
    data += (size_t)(-rel);
    len -= (size_t)(-rel);
    rel = 0;
  }
  if (rel > 0) {
    store(t, c, dir, time, h->delivered + (uint64_t)rel, data, len);
  } else {
    deliver(t, c, dir, time, data, len);
    drain(t, c, dir, time);
  }
}

/* The peer acknowledged up to `ack` in direction dir. */
static void check_acked(tcp_streams *t, conn *c, tcp_direction dir, uint64_t time, uint32_t ack) {
  half *h = &c->h[dir];
  if (!h->synced || h->stopped || h->ended)
    return;
  int64_t diff = (int32_t)(ack - h->next_seq);
  if (diff <= 0)
    return;
  /* One past the last byte is also what acknowledges a FIN the capture may
   * have missed: not a hole unless data is known to follow it. */
  if (diff == 1 && !(h->ooo != NULL && h->ooo->offset == h->delivered + 1) &&
      !(h->fin_seen && h->fin_offset > h->delivered))
    return;
  if (h->fin_seen && h->fin_offset == h->delivered)
    return;
  break_half(t, c, dir, time, hole_size(h, h->delivered + (uint64_t)diff), TCP_BREAK_ACKED);
}

static void process(tcp_streams *t, conn *c, tcp_direction dir, const capture_segment *seg) {
  uint64_t time = seg->time_usec;
  half *h = &c->h[dir];
  if (seg->flags & CAPTURE_TCP_RST) {
    end_all(t, c, time, TCP_END_RST, TCP_BREAK_RESET);
    return;
  }
  uint32_t data_seq = seg->seq;
  if (seg->flags & CAPTURE_TCP_SYN) {
    c->info.saw_syn[dir] = true;
    if (dir == TCP_CLIENT_TO_SERVER && !(seg->flags & CAPTURE_TCP_ACK)) {
      c->have_client_isn = true;
      c->client_isn = seg->seq;
    }
    if (!h->synced) {
      h->synced = true;
      h->next_seq = seg->seq + 1u;
    }
    data_seq = seg->seq + 1u;
  }
  if (seg->flags & CAPTURE_TCP_ACK)
    check_acked(t, c, 1 - dir, time, seg->ack);
  bool fin = (seg->flags & CAPTURE_TCP_FIN) != 0;
  if (seg->payload_wire_len > 0 || fin) {
    if (!h->synced) { /* joined an open connection: start here */
      h->synced = true;
      h->next_seq = data_seq;
    }
    int64_t rel = (int32_t)(data_seq - h->next_seq);
    int64_t seg_start = (int64_t)h->delivered + rel;
    if (fin && seg_start >= 0) {
      uint64_t fin_offset = (uint64_t)seg_start + seg->payload_wire_len;
      if (!h->fin_seen || fin_offset < h->fin_offset) {
        h->fin_seen = true;
        h->fin_offset = fin_offset;
      }
    }
    if (seg->payload_len > 0)
      segment_data(t, c, dir, time, data_seq, seg->payload, seg->payload_len);
    /* A payload cut by the snapshot length: its tail will never come. */
    if (seg->payload_len < seg->payload_wire_len && seg_start >= 0 && !h->stopped && !h->ended &&
        h->delivered == (uint64_t)seg_start + seg->payload_len)
      break_half(t, c, dir, time, seg->payload_wire_len - seg->payload_len, TCP_BREAK_SNAPLEN);
  }
  if (c->open && !c->stop_requested)
    check_fin(t, c, dir, time);
  maybe_close(t, c, time);
}

/* ---- the API ------------------------------------------------------------ */

tcp_streams *tcp_streams_new(const tcp_callbacks *callbacks, void *user) {
  tcp_streams *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->cb = *callbacks;
  t->user = user;
  return t;
}

void tcp_streams_add(tcp_streams *t, const capture_segment *seg) {
  tcp_direction dir = TCP_CLIENT_TO_SERVER;
  conn *c = find(t, seg, &dir);
  bool new_syn = (seg->flags & CAPTURE_TCP_SYN) && !(seg->flags & CAPTURE_TCP_ACK);
  if (c != NULL && new_syn && dir == TCP_CLIENT_TO_SERVER && c->have_client_isn &&
      seg->seq == c->client_isn)
    new_syn = false; /* a retransmitted SYN */
  if (c != NULL && new_syn) {
    /* The pair is used again: the old connection is over. */
    if (c->open)
      end_all(t, c, seg->time_usec, TCP_END_REUSED, TCP_BREAK_RESET);
    remove_conn(t, c);
    c = NULL;
  }
  if (c != NULL) {
    if (c->open)
      process(t, c, dir, seg);
    return;
  }
  if (!(seg->flags & CAPTURE_TCP_SYN) && seg->payload_wire_len == 0)
    return;
  if (seg->flags & CAPTURE_TCP_RST)
    return;
  tcp_classification cls = t->cb.classify(t->user, seg);
  if (cls == TCP_IGNORE)
    return;
  c = create(t, seg, cls);
  if (c == NULL)
    return;
  process(t, c, cls == TCP_FOLLOW_SRC_CLIENT ? TCP_CLIENT_TO_SERVER : TCP_SERVER_TO_CLIENT, seg);
}

void tcp_streams_finish(tcp_streams *t, uint64_t time) {
  for (conn *c = t->oldest; c != NULL; c = c->newer)
    if (c->open)
      end_all(t, c, time, TCP_END_CAPTURE, TCP_BREAK_CAPTURE_END);
}

const tcp_streams_stats *tcp_streams_get_stats(const tcp_streams *t) {
  return &t->stats;
}

void tcp_streams_free(tcp_streams *t) {
  if (t == NULL)
    return;
  while (t->oldest != NULL)
    remove_conn(t, t->oldest);
  free(t);
}

const char *tcp_break_reason_text(tcp_break_reason reason) {
  switch (reason) {
  case TCP_BREAK_CAPTURE_END:
    return "the capture ended before the missing bytes";
  case TCP_BREAK_ACKED:
    return "the peer acknowledged bytes the capture does not have";
  case TCP_BREAK_RESET:
    return "the connection ended with the bytes still missing";
  case TCP_BREAK_BUFFER_FULL:
    return "too much data waiting behind the gap";
  case TCP_BREAK_SNAPLEN:
    return "the snapshot length cut a packet";
  default:
    return "unknown";
  }
}
