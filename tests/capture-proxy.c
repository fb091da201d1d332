/* The recording proxy and the capture writer. See capture-proxy.h. */
#include "capture-proxy.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_READ_CHUNK 65536u
#define PROXY_MAX_PAIRS 64u
#define DEFAULT_SERVER_PORT 8111u
#define DEFAULT_MSS 8192u
#define SNAPLEN 262144u
#define MAX_PACKET (64u + 40u + 20u + 65536u)

/* TCP flags. */
#define F_FIN 0x01u
#define F_SYN 0x02u
#define F_RST 0x04u
#define F_PSH 0x08u
#define F_ACK 0x10u

/* pcapng LINKTYPE_ values for the DLT_ values used here. */
#define LINKTYPE_NULL 0u
#define LINKTYPE_ETHERNET 1u
#define LINKTYPE_RAW 101u
#define LINKTYPE_LINUX_SLL 113u
#define LINKTYPE_LINUX_SLL2 276u

/* ---- the proxy ---------------------------------------------------------- */

typedef struct {
  int fd[2];   /* client side, server side */
  bool eof[2]; /* read side ended: [0] client's data, [1] server's */
  guint conn;
  guint16 client_port;
} pair;

struct capture_proxy {
  int listen_fd;
  int wake[2];
  guint16 port, target;
  GThread *thread;
  GMutex lock;
  GPtrArray *events;
  pair pairs[PROXY_MAX_PAIRS];
  guint npairs; /* protected by lock for wait_idle */
  guint next_conn;
};

void capture_events_add(GPtrArray *events, rec_kind kind, gint64 time_usec, guint conn, int dir,
                        guint16 client_port, const void *data, gsize len) {
  rec_event *ev = g_new0(rec_event, 1);
  ev->kind = kind;
  ev->time_usec = time_usec;
  ev->conn = conn;
  ev->dir = dir;
  ev->client_port = client_port;
  if (kind == REC_DATA)
    ev->data = g_bytes_new(data, len);
  g_ptr_array_add(events, ev);
}

static void free_event(gpointer p) {
  rec_event *ev = p;
  if (ev->data)
    g_bytes_unref(ev->data);
  g_free(ev);
}

static void record(capture_proxy *proxy, rec_kind kind, const pair *pr, int dir, const void *data,
                   gsize len) {
  g_mutex_lock(&proxy->lock);
  capture_events_add(proxy->events, kind, g_get_real_time(), pr->conn, dir, pr->client_port, data,
                     len);
  g_mutex_unlock(&proxy->lock);
}

static bool send_all(int fd, const guint8 *data, gsize len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    len -= (gsize)n;
  }
  return true;
}

static void close_pair(pair *pr) {
  for (int i = 0; i < 2; i++)
    if (pr->fd[i] >= 0)
      close(pr->fd[i]);
  pr->fd[0] = pr->fd[1] = -1;
}

/* Reads one chunk from side `dir` and forwards it. False when the pair is
 * over. */
static bool forward(capture_proxy *proxy, pair *pr, int dir) {
  guint8 buf[PROXY_READ_CHUNK];
  ssize_t n;
  do
    n = recv(pr->fd[dir], buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    record(proxy, REC_DATA, pr, dir, buf, (gsize)n);
    if (!send_all(pr->fd[1 - dir], buf, (gsize)n)) {
      record(proxy, REC_RST, pr, 1 - dir, NULL, 0);
      return false;
    }
    return true;
  }
  if (n == 0) {
    record(proxy, REC_FIN, pr, dir, NULL, 0);
    shutdown(pr->fd[1 - dir], SHUT_WR);
    pr->eof[dir] = true;
    return !(pr->eof[0] && pr->eof[1]);
  }
  record(proxy, REC_RST, pr, dir, NULL, 0);
  return false;
}

static void accept_one(capture_proxy *proxy) {
  struct sockaddr_in peer;
  socklen_t peer_len = sizeof peer;
  int cfd = accept(proxy->listen_fd, (struct sockaddr *)&peer, &peer_len);
  if (cfd < 0)
    return;
  int sfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons(proxy->target)};
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sfd < 0 || connect(sfd, (struct sockaddr *)&target, sizeof target) != 0 ||
      proxy->npairs == PROXY_MAX_PAIRS) {
    close(cfd);
    if (sfd >= 0)
      close(sfd);
    return;
  }
  pair *pr = &proxy->pairs[proxy->npairs];
  memset(pr, 0, sizeof *pr);
  pr->fd[0] = cfd;
  pr->fd[1] = sfd;
  pr->conn = proxy->next_conn++;
  pr->client_port = ntohs(peer.sin_port);
  record(proxy, REC_OPEN, pr, 0, NULL, 0);
  g_mutex_lock(&proxy->lock);
  proxy->npairs++;
  g_mutex_unlock(&proxy->lock);
}

static gpointer proxy_thread(gpointer data) {
  capture_proxy *proxy = data;
  for (;;) {
    struct pollfd fds[2 + 2 * PROXY_MAX_PAIRS];
    int who[2 + 2 * PROXY_MAX_PAIRS][2];
    nfds_t n = 0;
    fds[n++] = (struct pollfd){.fd = proxy->listen_fd, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = proxy->wake[0], .events = POLLIN};
    for (guint i = 0; i < proxy->npairs; i++)
      for (int d = 0; d < 2; d++)
        if (!proxy->pairs[i].eof[d]) {
          who[n][0] = (int)i;
          who[n][1] = d;
          fds[n++] = (struct pollfd){.fd = proxy->pairs[i].fd[d], .events = POLLIN};
        }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[1].revents)
      break;
    bool over[PROXY_MAX_PAIRS] = {false};
    for (nfds_t k = 2; k < n; k++) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int i = who[k][0];
      if (!over[i] && !forward(proxy, &proxy->pairs[i], who[k][1]))
        over[i] = true;
    }
    /* Drop the pairs that are over, keeping the order of the rest. */
    guint kept = 0;
    g_mutex_lock(&proxy->lock);
    for (guint i = 0; i < proxy->npairs; i++) {
      if (over[i])
        close_pair(&proxy->pairs[i]);
      else
        proxy->pairs[kept++] = proxy->pairs[i];
    }
    proxy->npairs = kept;
    g_mutex_unlock(&proxy->lock);
    if (fds[0].revents & POLLIN)
      accept_one(proxy);
  }
  return NULL;
}

capture_proxy *capture_proxy_start(guint16 target_port) {
  capture_proxy *proxy = g_new0(capture_proxy, 1);
  proxy->target = target_port;
  g_mutex_init(&proxy->lock);
  proxy->events = g_ptr_array_new_with_free_func(free_event);
  proxy->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(proxy->listen_fd, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(proxy->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(proxy->listen_fd, 16), 0);
  socklen_t len = sizeof addr;
  cr_assert_eq(getsockname(proxy->listen_fd, (struct sockaddr *)&addr, &len), 0);
  proxy->port = ntohs(addr.sin_port);
  cr_assert_eq(pipe(proxy->wake), 0);
  proxy->thread = g_thread_new("capture-proxy", proxy_thread, proxy);
  return proxy;
}

guint16 capture_proxy_port(capture_proxy *proxy) {
  return proxy->port;
}

gboolean capture_proxy_wait_idle(capture_proxy *proxy, guint timeout_ms) {
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  for (;;) {
    g_mutex_lock(&proxy->lock);
    guint n = proxy->npairs;
    g_mutex_unlock(&proxy->lock);
    if (n == 0)
      return TRUE;
    if (g_get_monotonic_time() >= end)
      return FALSE;
    g_main_context_iteration(NULL, FALSE);
    g_usleep(2000);
  }
}

void capture_proxy_stop(capture_proxy *proxy) {
  if (proxy->thread == NULL)
    return;
  cr_assert_eq(write(proxy->wake[1], "x", 1), 1);
  g_thread_join(proxy->thread);
  proxy->thread = NULL;
  for (guint i = 0; i < proxy->npairs; i++)
    close_pair(&proxy->pairs[i]);
  proxy->npairs = 0;
  close(proxy->listen_fd);
  close(proxy->wake[0]);
  close(proxy->wake[1]);
}

GPtrArray *capture_proxy_events(capture_proxy *proxy) {
  return proxy->events;
}

void capture_proxy_free(capture_proxy *proxy) {
  if (proxy == NULL)
    return;
  capture_proxy_stop(proxy);
  g_ptr_array_unref(proxy->events);
  g_mutex_clear(&proxy->lock);
  g_free(proxy);
}

/* ---- packets ------------------------------------------------------------ */

typedef struct {
  gint64 time_usec;
  guint conn;
  int dir;
  guint8 flags;
  guint32 seq, ack;
  gsize off, len; /* payload: a slice of the direction's stream */
  bool data;
} packet;

typedef struct {
  guint16 client_port;
  guint32 isn[2];
  guint32 next[2];
  GByteArray *stream[2];
} conn_state;

static void put16(guint8 *p, unsigned v) {
  p[0] = (guint8)(v >> 8);
  p[1] = (guint8)v;
}

static void put32(guint8 *p, guint32 v) {
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

static GArray *expand(GPtrArray *events, gsize mss, GPtrArray *conns) {
  GArray *packets = g_array_new(FALSE, TRUE, sizeof(packet));
  for (guint i = 0; i < events->len; i++) {
    rec_event *ev = events->pdata[i];
    while (conns->len <= ev->conn) {
      conn_state *cs = g_new0(conn_state, 1);
      guint k = conns->len;
      /* Sequence numbers that wrap around and cross 2^31 soon. */
      cs->isn[0] = 0xFFFFFF00u + k * 0x01000193u;
      cs->isn[1] = 0x7FFFFFF0u + k * 977u;
      cs->stream[0] = g_byte_array_new();
      cs->stream[1] = g_byte_array_new();
      g_ptr_array_add(conns, cs);
    }
    conn_state *cs = conns->pdata[ev->conn];
    cs->client_port = ev->client_port;
    int d = ev->dir;
    packet p = {.time_usec = ev->time_usec, .conn = ev->conn, .dir = d};
    switch (ev->kind) {
    case REC_OPEN:
      p.dir = 0;
      p.flags = F_SYN;
      p.seq = cs->isn[0];
      g_array_append_val(packets, p);
      p.dir = 1;
      p.flags = F_SYN | F_ACK;
      p.seq = cs->isn[1];
      p.ack = cs->isn[0] + 1;
      g_array_append_val(packets, p);
      p.dir = 0;
      p.flags = F_ACK;
      p.seq = cs->isn[0] + 1;
      p.ack = cs->isn[1] + 1;
      g_array_append_val(packets, p);
      cs->next[0] = cs->isn[0] + 1;
      cs->next[1] = cs->isn[1] + 1;
      break;
    case REC_DATA: {
      gsize len;
      const guint8 *data = g_bytes_get_data(ev->data, &len);
      gsize base = cs->stream[d]->len;
      g_byte_array_append(cs->stream[d], data, (guint)len);
      for (gsize at = 0; at < len; at += mss) {
        gsize n = len - at < mss ? len - at : mss;
        p.flags = F_ACK | F_PSH;
        p.seq = cs->next[d];
        p.ack = cs->next[1 - d];
        p.off = base + at;
        p.len = n;
        p.data = true;
        g_array_append_val(packets, p);
        cs->next[d] += (guint32)n;
      }
      break;
    }
    case REC_FIN:
      p.flags = F_FIN | F_ACK;
      p.seq = cs->next[d];
      p.ack = cs->next[1 - d];
      g_array_append_val(packets, p);
      cs->next[d] += 1;
      break;
    case REC_RST:
    default:
      p.flags = F_RST | F_ACK;
      p.seq = cs->next[d];
      p.ack = cs->next[1 - d];
      g_array_append_val(packets, p);
      break;
    }
  }
  return packets;
}

static void free_conn_state(gpointer p) {
  conn_state *cs = p;
  g_byte_array_unref(cs->stream[0]);
  g_byte_array_unref(cs->stream[1]);
  g_free(cs);
}

static bool same_stream(const packet *a, const packet *b) {
  return a->data && b->data && a->conn == b->conn && a->dir == b->dir;
}

/* Reorders, repeats and overlaps data packets without losing any byte. */
static GArray *disorder(GArray *in) {
  GArray *out = g_array_new(FALSE, TRUE, sizeof(packet));
  packet *pk = (packet *)(void *)in->data;
  guint n = in->len;
  /* 1. swap neighbours of the same stream */
  for (guint i = 0; i + 1 < n; i++) {
    if (i % 5 == 1 && same_stream(&pk[i], &pk[i + 1])) {
      packet t = pk[i];
      pk[i] = pk[i + 1];
      pk[i + 1] = t;
      i++;
    }
  }
  /* 2. overlaps and repeats */
  GArray *repeat_after = g_array_new(FALSE, TRUE, sizeof(packet));
  for (guint i = 0; i < n; i++) {
    packet p = pk[i];
    if (p.data && i % 11 == 4 && i > 0 && same_stream(&pk[i - 1], &p) && pk[i - 1].len >= 10 &&
        p.len >= 10 && pk[i - 1].off + pk[i - 1].len == p.off) {
      packet overlap = p;
      overlap.seq = p.seq - 10;
      overlap.off = p.off - 10;
      overlap.len = 20;
      g_array_append_val(out, overlap);
    }
    g_array_append_val(out, p);
    for (guint k = 0; k < repeat_after->len; k++)
      g_array_append_val(out, g_array_index(repeat_after, packet, k));
    g_array_set_size(repeat_after, 0);
    if (p.data && i % 7 == 3)
      g_array_append_val(repeat_after, p);
  }
  for (guint k = 0; k < repeat_after->len; k++)
    g_array_append_val(out, g_array_index(repeat_after, packet, k));
  g_array_unref(repeat_after);
  g_array_unref(in);
  return out;
}

/* Link header + IP + TCP + payload into buf; returns the length. */
static gsize encode(const capture_write_options *o, guint16 server_port, const conn_state *cs,
                    const packet *p, guint8 *buf) {
  gsize at = 0;
  unsigned ethertype = o->ipv6 ? 0x86DDu : 0x0800u;
  switch (o->linktype) {
  case DLT_EN10MB:
    memset(buf, 0, 12);
    buf[5] = 1;
    buf[11] = 2;
    put16(buf + 12, ethertype);
    at = 14;
    break;
  case DLT_LINUX_SLL:
    memset(buf, 0, 16);
    put16(buf, p->dir == 0 ? 4u : 0u); /* outgoing / to us */
    put16(buf + 2, 772u);              /* ARPHRD_LOOPBACK */
    put16(buf + 4, 6u);
    put16(buf + 14, ethertype);
    at = 16;
    break;
  case DLT_LINUX_SLL2:
    memset(buf, 0, 20);
    put16(buf, ethertype);
    put32(buf + 4, 1u); /* interface index */
    put16(buf + 8, 772u);
    buf[10] = p->dir == 0 ? 4 : 0;
    buf[11] = 6;
    at = 20;
    break;
  case DLT_NULL: {
    guint32 family = o->ipv6 ? 10u : 2u; /* host byte order */
    memcpy(buf, &family, 4);
    at = 4;
    break;
  }
  default:
    break;
  }
  const guint8 *payload = p->len ? cs->stream[p->dir]->data + p->off : NULL;
  gsize tcp_len = 20 + p->len;
  guint16 sport = p->dir == 0 ? cs->client_port : server_port;
  guint16 dport = p->dir == 0 ? server_port : cs->client_port;
  guint8 *ip = buf + at;
  gsize ip_header;
  if (o->ipv6) {
    ip_header = 40;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (unsigned)tcp_len);
    ip[6] = 6;
    ip[7] = 64;
    ip[23] = 1; /* ::1 */
    ip[39] = 1;
  } else {
    ip_header = 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + tcp_len));
    put16(ip + 6, 0x4000u);
    ip[8] = 64;
    ip[9] = 6;
    ip[12] = ip[16] = 127;
    ip[15] = ip[19] = 1;
    guint32 sum = 0;
    for (int i = 0; i < 20; i += 2)
      sum += ((guint32)ip[i] << 8) | ip[i + 1];
    while (sum >> 16)
      sum = (sum & 0xFFFFu) + (sum >> 16);
    put16(ip + 10, (~sum) & 0xFFFFu);
  }
  guint8 *tcp = ip + ip_header;
  memset(tcp, 0, 20);
  put16(tcp, sport);
  put16(tcp + 2, dport);
  put32(tcp + 4, p->seq);
  put32(tcp + 8, p->ack);
  tcp[12] = 5 << 4;
  tcp[13] = p->flags;
  put16(tcp + 14, 65535u);
  if (p->len)
    memcpy(tcp + 20, payload, p->len);
  return at + ip_header + tcp_len;
}

static guint32 pcapng_linktype(int dlt) {
  switch (dlt) {
  case DLT_EN10MB:
    return LINKTYPE_ETHERNET;
  case DLT_LINUX_SLL:
    return LINKTYPE_LINUX_SLL;
  case DLT_LINUX_SLL2:
    return LINKTYPE_LINUX_SLL2;
  case DLT_NULL:
    return LINKTYPE_NULL;
  default:
    return LINKTYPE_RAW;
  }
}

static void put_block(FILE *f, guint32 type, const void *body, gsize len) {
  static const guint8 zeros[4] = {0};
  gsize padded = (len + 3) & ~(gsize)3;
  guint32 total = (guint32)(12 + padded);
  fwrite(&type, 4, 1, f);
  fwrite(&total, 4, 1, f);
  fwrite(body, 1, len, f);
  fwrite(zeros, 1, padded - len, f);
  fwrite(&total, 4, 1, f);
}

gsize capture_count_data_packets(GPtrArray *events, gsize mss, guint conn, int dir) {
  if (mss == 0)
    mss = DEFAULT_MSS;
  gsize count = 0;
  for (guint i = 0; i < events->len; i++) {
    rec_event *ev = events->pdata[i];
    if (ev->kind == REC_DATA && ev->conn == conn && ev->dir == dir)
      count += (g_bytes_get_size(ev->data) + mss - 1) / mss;
  }
  return count;
}

gsize capture_write(GPtrArray *events, const capture_write_options *options, const char *path) {
  capture_write_options o = *options;
  if (o.linktype == 0)
    o.linktype = DLT_RAW;
  guint16 server_port = o.server_port ? o.server_port : DEFAULT_SERVER_PORT;
  gsize mss = o.mss ? o.mss : DEFAULT_MSS;
  GPtrArray *conns = g_ptr_array_new_with_free_func(free_conn_state);
  GArray *packets = expand(events, mss, conns);
  if (o.disorder)
    packets = disorder(packets);

  guint8 *buf = g_malloc(MAX_PACKET);
  pcap_t *dead = NULL;
  pcap_dumper_t *dumper = NULL;
  FILE *f = NULL;
  if (o.pcapng) {
    f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    guint8 shb[16];
    guint32 magic = 0x1A2B3C4Du;
    guint16 major = 1, minor = 0;
    gint64 section = -1;
    memcpy(shb, &magic, 4);
    memcpy(shb + 4, &major, 2);
    memcpy(shb + 6, &minor, 2);
    memcpy(shb + 8, &section, 8);
    put_block(f, 0x0A0D0D0Au, shb, sizeof shb);
    guint8 idb[8];
    guint16 lt = (guint16)pcapng_linktype(o.linktype), reserved = 0;
    guint32 snap = SNAPLEN;
    memcpy(idb, &lt, 2);
    memcpy(idb + 2, &reserved, 2);
    memcpy(idb + 4, &snap, 4);
    put_block(f, 1u, idb, sizeof idb);
  } else {
    dead = pcap_open_dead(o.linktype, SNAPLEN);
    cr_assert_not_null(dead);
    dumper = pcap_dump_open(dead, path);
    cr_assert_not_null(dumper, "cannot write %s: %s", path, pcap_geterr(dead));
  }
  gsize written = 0;
  guint data_index[64][2] = {{0}};
  for (guint i = 0; i < packets->len; i++) {
    const packet *p = &g_array_index(packets, packet, i);
    if (p->data && p->conn < 64) {
      guint k = data_index[p->conn][p->dir]++;
      if (o.drop_set && o.drop_index >= 0 && p->conn == o.drop_conn && p->dir == o.drop_dir &&
          k == (guint)o.drop_index)
        continue;
    }
    gsize len = encode(&o, server_port, conns->pdata[p->conn], p, buf);
    if (o.pcapng) {
      gsize body_len = 20 + len;
      guint8 *body = g_malloc(body_len);
      guint32 iface = 0, hi = (guint32)((guint64)p->time_usec >> 32),
              lo = (guint32)(guint64)p->time_usec, cap = (guint32)len;
      memcpy(body, &iface, 4);
      memcpy(body + 4, &hi, 4);
      memcpy(body + 8, &lo, 4);
      memcpy(body + 12, &cap, 4);
      memcpy(body + 16, &cap, 4);
      memcpy(body + 20, buf, len);
      put_block(f, 6u, body, body_len);
      g_free(body);
    } else {
      struct pcap_pkthdr h;
      memset(&h, 0, sizeof h);
      h.ts.tv_sec = (time_t)(p->time_usec / G_USEC_PER_SEC);
      h.ts.tv_usec = (suseconds_t)(p->time_usec % G_USEC_PER_SEC);
      h.caplen = h.len = (bpf_u_int32)len;
      pcap_dump((u_char *)dumper, &h, buf);
    }
    written++;
  }
  if (o.pcapng) {
    cr_assert_eq(fclose(f), 0);
  } else {
    pcap_dump_close(dumper);
    pcap_close(dead);
  }
  g_free(buf);
  g_array_unref(packets);
  g_ptr_array_unref(conns);
  return written;
}
