/* Packets of a pcap/pcapng file -> TCP segments. See pcap-reader.h. */
#include "chatctl/capture/pcap-reader.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/buffer.h"
#include "protocol/host-port.h"

/* Link-layer header sizes and offsets. */
#define ETHER_HEADER_LEN 14u
#define ETHER_TYPE_OFFSET 12u
#define VLAN_TAG_LEN 4u
#define MAX_VLAN_TAGS 4u
#define SLL_HEADER_LEN 16u
#define SLL_PROTOCOL_OFFSET 14u
#define SLL2_HEADER_LEN 20u
#define SLL2_PROTOCOL_OFFSET 0u
#define NULL_HEADER_LEN 4u

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86DDu
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88A8u
#define ETHERTYPE_QINQ_OLD 0x9100u

/* Address family values of the BSD loopback header, as the capturing
 * system wrote them: IPv4 is 2 everywhere, IPv6 differs. */
#define BSD_AF_INET 2u
#define BSD_AF_INET6_LINUX 10u
#define BSD_AF_INET6_WINDOWS 23u
#define BSD_AF_INET6_NETBSD 24u
#define BSD_AF_INET6_FREEBSD 28u
#define BSD_AF_INET6_DARWIN 30u

/* IP and TCP. */
#define IPV4_MIN_HEADER_LEN 20u
#define IPV4_TOTAL_LEN_OFFSET 2u
#define IPV4_FRAG_OFFSET 6u
#define IPV4_FRAG_MASK 0x3FFFu /* MF flag and fragment offset */
#define IPV4_PROTOCOL_OFFSET 9u
#define IPV4_SRC_OFFSET 12u
#define IPV4_DST_OFFSET 16u
#define IPV4_ADDR_LEN 4u
#define IPV6_HEADER_LEN 40u
#define IPV6_PAYLOAD_LEN_OFFSET 4u
#define IPV6_NEXT_HEADER_OFFSET 6u
#define IPV6_SRC_OFFSET 8u
#define IPV6_DST_OFFSET 24u
#define IPV6_ADDR_LEN 16u
#define IPV6_MAX_EXTENSION_HEADERS 8u
#define IP_PROTO_HOPOPTS 0u
#define IP_PROTO_TCP 6u
#define IP_PROTO_ROUTING 43u
#define IP_PROTO_FRAGMENT 44u
#define IP_PROTO_AH 51u
#define IP_PROTO_DSTOPTS 60u
#define TCP_MIN_HEADER_LEN 20u
#define TCP_SEQ_OFFSET 4u
#define TCP_ACK_OFFSET 8u
#define TCP_DATA_OFFSET_OFFSET 12u
#define TCP_FLAGS_OFFSET 13u
#define USEC_PER_SEC 1000000u

struct capture_reader {
  pcap_t *pcap;
  int linktype;
  capture_stats stats;
  uint64_t last_time;
  char error[CAPTURE_ERROR_MAX];
};

static uint32_t load_u32le(const uint8_t *p) {
  return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

/* The link-layer headers the parser knows, each DLT_ value once. */
typedef enum {
  LINK_UNSUPPORTED,
  LINK_ETHERNET,
  LINK_SLL,
  LINK_SLL2,
  LINK_NULL, /* BSD loopback, host byte order */
  LINK_LOOP, /* BSD loopback, network byte order */
  LINK_IP,   /* no link header: IPv4 or IPv6 */
} link_kind;

static link_kind link_kind_of(int linktype) {
  switch (linktype) {
  case DLT_EN10MB:
    return LINK_ETHERNET;
  case DLT_LINUX_SLL:
    return LINK_SLL;
#ifdef DLT_LINUX_SLL2
  case DLT_LINUX_SLL2:
    return LINK_SLL2;
#endif
  case DLT_NULL:
    return LINK_NULL;
  case DLT_LOOP:
    return LINK_LOOP;
  case DLT_RAW:
#ifdef DLT_IPV4
  case DLT_IPV4:
#endif
#ifdef DLT_IPV6
  case DLT_IPV6:
#endif
    return LINK_IP;
  default:
    return LINK_UNSUPPORTED;
  }
}

bool capture_link_type_supported(int linktype) {
  return link_kind_of(linktype) != LINK_UNSUPPORTED;
}

/* The TCP header and payload; ip_payload_wire is the number of bytes the IP
 * header says its payload has (at least len when the packet is whole). */
static capture_packet_kind parse_tcp(const uint8_t *p, size_t len, size_t ip_payload_wire,
                                     capture_segment *seg) {
  if (len < TCP_MIN_HEADER_LEN)
    return CAPTURE_PACKET_MALFORMED;
  size_t header_len = (size_t)(p[TCP_DATA_OFFSET_OFFSET] >> 4) * 4u;
  if (header_len < TCP_MIN_HEADER_LEN || header_len > len || header_len > ip_payload_wire)
    return CAPTURE_PACKET_MALFORMED;
  seg->src.port = chat_load_u16be(p);
  seg->dst.port = chat_load_u16be(p + 2);
  seg->seq = chat_load_u32be(p + TCP_SEQ_OFFSET);
  seg->ack = chat_load_u32be(p + TCP_ACK_OFFSET);
  seg->flags = p[TCP_FLAGS_OFFSET];
  seg->payload = p + header_len;
  seg->payload_len = len - header_len;
  seg->payload_wire_len = ip_payload_wire - header_len;
  return CAPTURE_PACKET_TCP;
}

static capture_packet_kind parse_ipv4(const uint8_t *p, size_t len, capture_segment *seg) {
  if (len < IPV4_MIN_HEADER_LEN || (p[0] >> 4) != 4)
    return CAPTURE_PACKET_MALFORMED;
  size_t header_len = (size_t)(p[0] & 0x0Fu) * 4u;
  if (header_len < IPV4_MIN_HEADER_LEN || header_len > len)
    return CAPTURE_PACKET_MALFORMED;
  size_t total = chat_load_u16be(p + IPV4_TOTAL_LEN_OFFSET);
  /* A total length of 0 is what a capture of a TSO segment shows: use what
   * was captured. */
  if (total == 0)
    total = len;
  if (total < header_len)
    return CAPTURE_PACKET_MALFORMED;
  if ((chat_load_u16be(p + IPV4_FRAG_OFFSET) & IPV4_FRAG_MASK) != 0)
    return CAPTURE_PACKET_FRAGMENT;
  if (p[IPV4_PROTOCOL_OFFSET] != IP_PROTO_TCP)
    return CAPTURE_PACKET_NOT_TCP;
  /* Link-layer padding after the IP packet is not payload. */
  size_t have = len < total ? len : total;
  seg->src.family = seg->dst.family = CAPTURE_FAMILY_IPV4;
  memset(seg->src.addr, 0, sizeof seg->src.addr);
  memset(seg->dst.addr, 0, sizeof seg->dst.addr);
  memcpy(seg->src.addr, p + IPV4_SRC_OFFSET, IPV4_ADDR_LEN);
  memcpy(seg->dst.addr, p + IPV4_DST_OFFSET, IPV4_ADDR_LEN);
  return parse_tcp(p + header_len, have - header_len, total - header_len, seg);
}

static capture_packet_kind parse_ipv6(const uint8_t *p, size_t len, capture_segment *seg) {
  if (len < IPV6_HEADER_LEN || (p[0] >> 4) != 6)
    return CAPTURE_PACKET_MALFORMED;
  size_t payload_wire = chat_load_u16be(p + IPV6_PAYLOAD_LEN_OFFSET);
  size_t have = len - IPV6_HEADER_LEN;
  if (payload_wire == 0) /* a jumbogram, or a TSO capture */
    payload_wire = have;
  if (have > payload_wire)
    have = payload_wire;
  seg->src.family = seg->dst.family = CAPTURE_FAMILY_IPV6;
  memcpy(seg->src.addr, p + IPV6_SRC_OFFSET, IPV6_ADDR_LEN);
  memcpy(seg->dst.addr, p + IPV6_DST_OFFSET, IPV6_ADDR_LEN);
  unsigned next = p[IPV6_NEXT_HEADER_OFFSET];
  const uint8_t *q = p + IPV6_HEADER_LEN;
  for (unsigned i = 0; i <= IPV6_MAX_EXTENSION_HEADERS; i++) {
    if (next == IP_PROTO_TCP)
      return parse_tcp(q, have, payload_wire, seg);
    if (next == IP_PROTO_FRAGMENT)
      return CAPTURE_PACKET_FRAGMENT;
    size_t ext_len;
    if (next == IP_PROTO_HOPOPTS || next == IP_PROTO_ROUTING || next == IP_PROTO_DSTOPTS) {
      if (have < 2)
        return CAPTURE_PACKET_MALFORMED;
      ext_len = ((size_t)q[1] + 1u) * 8u;
    } else if (next == IP_PROTO_AH) {
      if (have < 2)
        return CAPTURE_PACKET_MALFORMED;
      ext_len = ((size_t)q[1] + 2u) * 4u;
    } else {
      return CAPTURE_PACKET_NOT_TCP;
    }
    if (ext_len > have)
      return CAPTURE_PACKET_MALFORMED;
    next = q[0];
    q += ext_len;
    have -= ext_len;
    payload_wire -= ext_len;
  }
  return CAPTURE_PACKET_MALFORMED;
}

/* IPv4 or IPv6 by the version nibble (raw IP link types). */
static capture_packet_kind parse_ip(const uint8_t *p, size_t len, capture_segment *seg) {
  if (len < 1)
    return CAPTURE_PACKET_MALFORMED;
  switch (p[0] >> 4) {
  case 4:
    return parse_ipv4(p, len, seg);
  case 6:
    return parse_ipv6(p, len, seg);
  default:
    return CAPTURE_PACKET_NOT_TCP;
  }
}

static capture_packet_kind parse_ethertype(unsigned type, const uint8_t *p, size_t len,
                                           capture_segment *seg) {
  if (type == ETHERTYPE_IPV4)
    return parse_ipv4(p, len, seg);
  if (type == ETHERTYPE_IPV6)
    return parse_ipv6(p, len, seg);
  return CAPTURE_PACKET_NOT_TCP;
}

static capture_packet_kind parse_bsd_family(uint32_t family, const uint8_t *p, size_t len,
                                            capture_segment *seg) {
  switch (family) {
  case BSD_AF_INET:
    return parse_ipv4(p, len, seg);
  case BSD_AF_INET6_LINUX:
  case BSD_AF_INET6_WINDOWS:
  case BSD_AF_INET6_NETBSD:
  case BSD_AF_INET6_FREEBSD:
  case BSD_AF_INET6_DARWIN:
    return parse_ipv6(p, len, seg);
  default:
    return CAPTURE_PACKET_NOT_TCP;
  }
}

capture_packet_kind capture_parse_packet(int linktype, const uint8_t *data, size_t caplen,
                                         size_t wire_len, capture_segment *seg) {
  (void)wire_len; /* the IP header's lengths tell what the snapshot cut */
  if (data == NULL)
    return CAPTURE_PACKET_MALFORMED;
  switch (link_kind_of(linktype)) {
  case LINK_ETHERNET: {
    if (caplen < ETHER_HEADER_LEN)
      return CAPTURE_PACKET_MALFORMED;
    size_t off = ETHER_TYPE_OFFSET;
    unsigned type = chat_load_u16be(data + off);
    for (unsigned tags = 0;
         (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD); tags++) {
      if (tags == MAX_VLAN_TAGS || caplen < off + VLAN_TAG_LEN + 2u)
        return CAPTURE_PACKET_MALFORMED;
      off += VLAN_TAG_LEN;
      type = chat_load_u16be(data + off);
    }
    off += 2u;
    return parse_ethertype(type, data + off, caplen - off, seg);
  }
  case LINK_SLL:
    if (caplen < SLL_HEADER_LEN)
      return CAPTURE_PACKET_MALFORMED;
    return parse_ethertype(chat_load_u16be(data + SLL_PROTOCOL_OFFSET), data + SLL_HEADER_LEN,
                           caplen - SLL_HEADER_LEN, seg);
  case LINK_SLL2:
    if (caplen < SLL2_HEADER_LEN)
      return CAPTURE_PACKET_MALFORMED;
    return parse_ethertype(chat_load_u16be(data + SLL2_PROTOCOL_OFFSET), data + SLL2_HEADER_LEN,
                           caplen - SLL2_HEADER_LEN, seg);
  case LINK_NULL: {
    if (caplen < NULL_HEADER_LEN)
      return CAPTURE_PACKET_MALFORMED;
    /* Written in the capturing host's byte order: a small number either way. */
    uint32_t family = load_u32le(data);
    if (family > 0xFFFFu)
      family = chat_load_u32be(data);
    return parse_bsd_family(family, data + NULL_HEADER_LEN, caplen - NULL_HEADER_LEN, seg);
  }
  case LINK_LOOP:
    if (caplen < NULL_HEADER_LEN)
      return CAPTURE_PACKET_MALFORMED;
    return parse_bsd_family(chat_load_u32be(data), data + NULL_HEADER_LEN, caplen - NULL_HEADER_LEN,
                            seg);
  case LINK_IP:
    return parse_ip(data, caplen, seg);
  case LINK_UNSUPPORTED:
    break;
  }
  return CAPTURE_PACKET_NOT_TCP;
}

int capture_reader_open(const char *path, capture_reader **out, char err[CAPTURE_ERROR_MAX]) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  *out = NULL;
  pcap_t *pcap;
  if (strcmp(path, "-") == 0)
    pcap = pcap_fopen_offline(stdin, errbuf);
  else
    pcap = pcap_open_offline(path, errbuf);
  if (pcap == NULL) {
    snprintf(err, CAPTURE_ERROR_MAX, "%s", errbuf[0] ? errbuf : "not a capture file");
    return -1;
  }
  int linktype = pcap_datalink(pcap);
  if (!capture_link_type_supported(linktype)) {
    const char *name = pcap_datalink_val_to_name(linktype);
    snprintf(err, CAPTURE_ERROR_MAX,
             "unsupported link type %d (%s); supported: Ethernet, Linux cooked (SLL, SLL2), "
             "BSD loopback, raw IP",
             linktype, name ? name : "unknown");
    pcap_close(pcap);
    return -1;
  }
  capture_reader *reader = calloc(1, sizeof *reader);
  if (reader == NULL) {
    snprintf(err, CAPTURE_ERROR_MAX, "out of memory");
    pcap_close(pcap);
    return -1;
  }
  reader->pcap = pcap;
  reader->linktype = linktype;
  *out = reader;
  return 0;
}

int capture_reader_next(capture_reader *reader, capture_segment *seg) {
  for (;;) {
    struct pcap_pkthdr *header;
    const u_char *data;
    int rc = pcap_next_ex(reader->pcap, &header, &data);
    if (rc == PCAP_ERROR_BREAK) /* end of the file */
      return 0;
    if (rc != 1) {
      snprintf(reader->error, sizeof reader->error, "%s", pcap_geterr(reader->pcap));
      return -1;
    }
    reader->stats.packets++;
    reader->last_time = (uint64_t)header->ts.tv_sec * USEC_PER_SEC + (uint64_t)header->ts.tv_usec;
    memset(seg, 0, sizeof *seg);
    switch (capture_parse_packet(reader->linktype, data, header->caplen, header->len, seg)) {
    case CAPTURE_PACKET_TCP:
      reader->stats.tcp_segments++;
      seg->time_usec = reader->last_time;
      seg->packet_number = reader->stats.packets;
      return 1;
    case CAPTURE_PACKET_FRAGMENT:
      reader->stats.fragments++;
      break;
    case CAPTURE_PACKET_MALFORMED:
      reader->stats.malformed++;
      break;
    case CAPTURE_PACKET_NOT_TCP:
    default:
      reader->stats.not_tcp++;
      break;
    }
  }
}

const char *capture_reader_error(const capture_reader *reader) {
  return reader->error;
}

const capture_stats *capture_reader_stats(const capture_reader *reader) {
  return &reader->stats;
}

const char *capture_reader_link_name(const capture_reader *reader) {
  const char *name = pcap_datalink_val_to_name(reader->linktype);
  return name ? name : "unknown";
}

uint64_t capture_reader_last_time(const capture_reader *reader) {
  return reader->last_time;
}

void capture_reader_close(capture_reader *reader) {
  if (reader == NULL)
    return;
  pcap_close(reader->pcap);
  free(reader);
}

void capture_endpoint_format(const capture_endpoint *ep, char out[CAPTURE_ENDPOINT_TEXT_MAX]) {
  char addr[INET6_ADDRSTRLEN] = "?";
  if (ep->family == CAPTURE_FAMILY_IPV6) {
    inet_ntop(AF_INET6, ep->addr, addr, sizeof addr);
    chat_host_port_format(addr, ep->port, out, CAPTURE_ENDPOINT_TEXT_MAX);
  } else {
    inet_ntop(AF_INET, ep->addr, addr, sizeof addr);
    chat_host_port_format(addr, ep->port, out, CAPTURE_ENDPOINT_TEXT_MAX);
  }
}

bool capture_endpoint_equal(const capture_endpoint *a, const capture_endpoint *b) {
  return a->family == b->family && a->port == b->port &&
         memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}
