/* TCP stream reassembly for captures: segments in capture order -> the two
 * byte streams of each connection, in order, with the capture time of the
 * segment that made each piece available.
 *
 * Per connection and direction:
 *  - bytes are delivered by sequence number, exactly once: retransmitted
 *    bytes (whole or partial overlaps) are dropped;
 *  - segments ahead of the next expected byte wait in a bounded
 *    out-of-order buffer until the gap before them is filled;
 *  - a gap that can never be filled is a break: the capture ended with it
 *    open, the other side acknowledged bytes the capture never saw (it
 *    "moved on"), a RST ended the connection, the segment ahead is too far
 *    ahead, or the out-of-order buffer is full. The break is reported once
 *    (offset and size of the hole) and the direction delivers nothing more;
 *  - SYN fixes the initial sequence number; a direction whose SYN was not
 *    captured starts at its first data segment (the connection was already
 *    open when the capture started); FIN ends a direction once every byte
 *    before it was delivered; RST ends both. A new SYN on the address pair
 *    of a finished connection starts a new connection.
 *
 * Memory is bounded by the constants below: the number of connections
 * followed at once, and the out-of-order bytes per direction and in all. */
#ifndef CHATCTL_CAPTURE_TCP_STREAMS_H
#define CHATCTL_CAPTURE_TCP_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatctl/capture/pcap-reader.h"

/* Connections followed at the same time (ended ones are not counted). */
#define TCP_STREAMS_MAX_OPEN 256u
/* Address pairs remembered, ended connections included (so late
 * retransmissions of a finished connection are not taken for a new one). */
#define TCP_STREAMS_MAX_TRACKED 4096u
/* Out-of-order bytes and segments waiting in one direction. */
#define TCP_STREAMS_MAX_OOO_BYTES ((size_t)4 << 20)
#define TCP_STREAMS_MAX_OOO_SEGMENTS 1024u
/* Out-of-order bytes waiting over all connections. */
#define TCP_STREAMS_MAX_OOO_TOTAL ((size_t)64 << 20)
/* A segment starting further than this past the next expected byte is
 * ignored: it cannot belong to the current window (a gap before it is
 * still found through the peer's acknowledgements or the capture's end). */
#define TCP_STREAMS_MAX_AHEAD ((uint64_t)64 << 20)

typedef enum {
  TCP_CLIENT_TO_SERVER = 0,
  TCP_SERVER_TO_CLIENT = 1,
} tcp_direction;

/* What the classify callback decides about a segment of an unknown pair. */
typedef enum {
  TCP_IGNORE = 0,        /* not of interest */
  TCP_FOLLOW_SRC_CLIENT, /* follow; the segment's source is the client */
  TCP_FOLLOW_SRC_SERVER, /* follow; the segment's source is the server */
} tcp_classification;

/* What a data callback wants next. */
typedef enum {
  TCP_CONTINUE = 0,
  TCP_STOP_DIRECTION,  /* deliver nothing more in this direction */
  TCP_STOP_CONNECTION, /* forget the connection: no more callbacks but close */
} tcp_verdict;

typedef enum {
  TCP_END_FIN,     /* every byte up to the FIN was delivered */
  TCP_END_RST,     /* reset */
  TCP_END_CAPTURE, /* the capture ended first */
  TCP_END_REUSED,  /* a new connection (SYN) took over the address pair */
} tcp_end_reason;

/* Why a gap became a break. */
typedef enum {
  TCP_BREAK_CAPTURE_END, /* the capture ended with the gap open */
  TCP_BREAK_ACKED,       /* the peer acknowledged bytes the capture lacks */
  TCP_BREAK_RESET,       /* RST (or a new connection) with the gap open */
  TCP_BREAK_BUFFER_FULL, /* the out-of-order buffer reached its bound */
  TCP_BREAK_SNAPLEN,     /* the snapshot length cut a segment's payload */
} tcp_break_reason;

typedef struct {
  uint64_t number; /* 1, 2, ... in the order connections were followed */
  capture_endpoint client, server;
  bool saw_syn[2];     /* per tcp_direction: its SYN was captured */
  uint64_t start_time; /* time of its first segment */
} tcp_connection_info;

typedef struct {
  /* Decides whether to follow a pair not seen before. Only SYNs and
   * segments with payload are offered. */
  tcp_classification (*classify)(void *user, const capture_segment *seg);
  /* A connection is followed; returns its context (may be NULL). info stays
   * valid until close. */
  void *(*open)(void *user, const tcp_connection_info *info, uint64_t time);
  /* In-order bytes of one direction. */
  tcp_verdict (*data)(void *user, void *ctx, tcp_direction dir, uint64_t time, const uint8_t *data,
                      size_t len);
  /* A break: `missing` bytes from stream offset `offset` will never come
   * (missing is 0 when unknown). Nothing more is delivered that way. */
  void (*broken)(void *user, void *ctx, tcp_direction dir, uint64_t time, uint64_t offset,
                 uint64_t missing, tcp_break_reason reason);
  /* The direction ended (after its last data, or after its break). */
  void (*end)(void *user, void *ctx, tcp_direction dir, uint64_t time, tcp_end_reason reason);
  /* Both directions ended, or the connection was stopped: free ctx. */
  void (*close)(void *user, void *ctx, uint64_t time);
} tcp_callbacks;

typedef struct {
  uint64_t followed;      /* connections followed */
  uint64_t refused_full;  /* not followed: TCP_STREAMS_MAX_OPEN were open */
  uint64_t retransmitted; /* segments that only repeated delivered bytes */
  uint64_t out_of_order;  /* segments that had to wait */
  uint64_t too_far;       /* segments ignored: beyond TCP_STREAMS_MAX_AHEAD */
  uint64_t breaks;        /* directions broken */
} tcp_streams_stats;

typedef struct tcp_streams tcp_streams;

/* NULL when out of memory. */
tcp_streams *tcp_streams_new(const tcp_callbacks *callbacks, void *user);

/* One segment, in capture order. */
void tcp_streams_add(tcp_streams *streams, const capture_segment *seg);

/* The capture ended at `time`: open gaps become breaks, every direction
 * ends (TCP_END_CAPTURE) and every connection closes. */
void tcp_streams_finish(tcp_streams *streams, uint64_t time);

const tcp_streams_stats *tcp_streams_get_stats(const tcp_streams *streams);

/* Frees everything without callbacks (call tcp_streams_finish first). */
void tcp_streams_free(tcp_streams *streams);

const char *tcp_break_reason_text(tcp_break_reason reason);

#endif
