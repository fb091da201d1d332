/* Reading a packet capture (pcap or pcapng, through libpcap) as a sequence
 * of TCP segments with their capture times.
 *
 * Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked capture
 * (SLL and SLL2), BSD loopback (NULL, in either byte order, and LOOP), raw
 * IP (RAW, IPV4, IPV6). Network: IPv4 and IPv6 (hop-by-hop, routing,
 * destination-options and AH extension headers are skipped). Everything
 * else -- other protocols, IP fragments, packets too short for their
 * headers -- is counted and skipped, never an error: a capture is evidence,
 * and one odd packet must not hide the rest.
 *
 * Every parser checks each length against what is left of the packet; a
 * packet's claimed lengths are never trusted beyond the captured bytes. */
#ifndef CHATCTL_CAPTURE_PCAP_READER_H
#define CHATCTL_CAPTURE_PCAP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest address (IPv6). */
#define CAPTURE_ADDR_MAX 16u
/* Room for "[ipv6]:port" with its NUL. */
#define CAPTURE_ENDPOINT_TEXT_MAX 56u
/* Room for an error message of the reader, with its NUL. */
#define CAPTURE_ERROR_MAX 320u

/* TCP flags (the low byte of the TCP flags field). */
enum {
  CAPTURE_TCP_FIN = 0x01,
  CAPTURE_TCP_SYN = 0x02,
  CAPTURE_TCP_RST = 0x04,
  CAPTURE_TCP_PSH = 0x08,
  CAPTURE_TCP_ACK = 0x10,
};

typedef struct {
  int family;                     /* CAPTURE_FAMILY_IPV4 / _IPV6 */
  uint8_t addr[CAPTURE_ADDR_MAX]; /* 4 bytes used for IPv4 */
  uint16_t port;
} capture_endpoint;

enum {
  CAPTURE_FAMILY_IPV4 = 4,
  CAPTURE_FAMILY_IPV6 = 6,
};

typedef struct {
  uint64_t time_usec;     /* capture time: microseconds since the epoch, UTC */
  uint64_t packet_number; /* 1-based position in the file */
  capture_endpoint src, dst;
  uint32_t seq, ack;
  uint8_t flags;           /* CAPTURE_TCP_* */
  const uint8_t *payload;  /* the captured payload bytes (valid until the next read) */
  size_t payload_len;      /* captured payload bytes */
  size_t payload_wire_len; /* payload bytes the segment carried: more than
                              payload_len when the snapshot length cut it */
} capture_segment;

typedef struct {
  uint64_t packets;      /* packets read */
  uint64_t tcp_segments; /* of them, TCP segments handed out */
  uint64_t not_tcp;      /* other link, network or transport protocols */
  uint64_t fragments;    /* IP fragments (not reassembled) */
  uint64_t malformed;    /* too short for the headers they claim */
} capture_stats;

/* What capture_parse_packet made of one packet. */
typedef enum {
  CAPTURE_PACKET_TCP,
  CAPTURE_PACKET_NOT_TCP,
  CAPTURE_PACKET_FRAGMENT,
  CAPTURE_PACKET_MALFORMED,
} capture_packet_kind;

typedef struct capture_reader capture_reader;

/* Opens a capture file; path "-" reads standard input. On failure returns
 * -1 with a reason in err (cannot open, not a pcap/pcapng file, a link type
 * this reader does not know). */
int capture_reader_open(const char *path, capture_reader **out, char err[CAPTURE_ERROR_MAX]);

/* The next TCP segment: returns 1 and fills *seg, 0 at the end of the file,
 * -1 when the file cannot be read further (truncated in the middle of a
 * packet, I/O error): capture_reader_error then says why. Packets that are
 * not TCP are counted in the stats and skipped. */
int capture_reader_next(capture_reader *reader, capture_segment *seg);

/* The reason of the last -1 from capture_reader_next, or "". */
const char *capture_reader_error(const capture_reader *reader);

const capture_stats *capture_reader_stats(const capture_reader *reader);

/* The link type's name ("EN10MB", "LINUX_SLL2", ...). */
const char *capture_reader_link_name(const capture_reader *reader);

/* Time of the last packet read (0 before the first). */
uint64_t capture_reader_last_time(const capture_reader *reader);

void capture_reader_close(capture_reader *reader);

/* Parses one captured packet of a libpcap link type (DLT_*). caplen bytes
 * were captured of a packet of wire_len bytes. On CAPTURE_PACKET_TCP fills
 * the addresses, ports, numbers, flags and payload of *seg (not the time or
 * the packet number). True when the link type is one this reader knows. */
capture_packet_kind capture_parse_packet(int linktype, const uint8_t *data, size_t caplen,
                                         size_t wire_len, capture_segment *seg);
bool capture_link_type_supported(int linktype);

/* "1.2.3.4:80" or "[::1]:80". */
void capture_endpoint_format(const capture_endpoint *ep, char out[CAPTURE_ENDPOINT_TEXT_MAX]);

/* True when both endpoints are the same address and port. */
bool capture_endpoint_equal(const capture_endpoint *a, const capture_endpoint *b);

#endif
