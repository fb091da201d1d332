/* A TCP proxy that records the traffic it forwards, and a writer that turns
 * the recording into packet captures, for testing `chatctl dump` without
 * packet-capture privileges.
 *
 * The proxy listens on 127.0.0.1 (ephemeral port) and forwards each
 * accepted connection to 127.0.0.1:target_port, in a thread of its own
 * (blocking sockets and poll). Every chunk it reads is recorded with its
 * time, connection and direction, as are the connection's start, each
 * side's end of stream (FIN) and resets (RST): a real recording of real
 * traffic, only the packet headers are made up afterwards.
 *
 * The writer expands a recording into TCP/IP packets with consistent
 * sequence and acknowledgement numbers (three-way handshake, data split at
 * an MSS, FIN, RST) and writes them as pcap (through libpcap) or pcapng (by
 * hand), over IPv4 or IPv6, with one of several link types; it can also
 * damage the capture (drop a packet, reorder, duplicate, overlap). */
#ifndef CHAT_TESTS_CAPTURE_PROXY_H
#define CHAT_TESTS_CAPTURE_PROXY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
  REC_OPEN, /* the client connected (SYN, SYN-ACK, ACK) */
  REC_DATA,
  REC_FIN,
  REC_RST,
} rec_kind;

typedef struct {
  rec_kind kind;
  gint64 time_usec;
  guint conn; /* 0, 1, ... in the order of the clients' connections */
  int dir;    /* 0 client -> server, 1 server -> client */
  guint16 client_port;
  GBytes *data; /* REC_DATA */
} rec_event;

typedef struct capture_proxy capture_proxy;

/* Starts the proxy in front of 127.0.0.1:target_port. */
capture_proxy *capture_proxy_start(guint16 target_port);
/* The port clients connect to. */
guint16 capture_proxy_port(capture_proxy *proxy);
/* Waits (up to timeout_ms) until every connection has ended both ways. */
gboolean capture_proxy_wait_idle(capture_proxy *proxy, guint timeout_ms);
/* Stops the thread and closes what is still open (nothing more recorded).
 * The recording stays available until capture_proxy_free. */
void capture_proxy_stop(capture_proxy *proxy);
/* The events recorded (rec_event*), in order. Call after stop. */
GPtrArray *capture_proxy_events(capture_proxy *proxy);
void capture_proxy_free(capture_proxy *proxy);

/* How to write a recording as a capture. Zero is a sensible default: pcap,
 * raw IPv4 (DLT_RAW), server port 8111, MSS 8192, undamaged. */
typedef struct {
  int linktype; /* DLT_RAW (0 = DLT_RAW), DLT_EN10MB, DLT_LINUX_SLL,
                   DLT_LINUX_SLL2, DLT_NULL */
  bool ipv6;
  bool pcapng;
  guint16 server_port; /* 0: 8111 */
  gsize mss;           /* 0: 8192 */
  /* Damage: drop the drop_index-th data packet (from 0) of connection
   * drop_conn in direction drop_dir; active when drop_index >= 0 and
   * drop_set is true. */
  bool drop_set;
  guint drop_conn;
  int drop_dir;
  int drop_index;
  /* Damage that must not change what is decoded: swap neighbouring data
   * packets of one direction, repeat packets later (retransmissions) and
   * add packets that overlap the previous one. */
  bool disorder;
} capture_write_options;

/* Writes the recording to path; fails the test on an error. Returns the
 * number of packets written. */
gsize capture_write(GPtrArray *events, const capture_write_options *options, const char *path);

/* The number of data packets of (conn, dir) that capture_write would make
 * with this MSS (0: 8192). */
gsize capture_count_data_packets(GPtrArray *events, gsize mss, guint conn, int dir);

/* Appends a synthetic event (for traffic made up by a test). */
void capture_events_add(GPtrArray *events, rec_kind kind, gint64 time_usec, guint conn, int dir,
                        guint16 client_port, const void *data, gsize len);

#endif
