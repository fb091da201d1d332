/* "host:port" text: how every program writes an endpoint (known_hosts
 * entries, resume-token keys, connection and log messages) and which texts
 * known_hosts accepts. An IPv6 address (any host holding a ':') goes in
 * brackets: "[::1]:8111"; anything else is written as is: "127.0.0.1:8111",
 * "example.org:8111". Plain C. */
#ifndef CHAT_PROTOCOL_HOST_PORT_H
#define CHAT_PROTOCOL_HOST_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest host:port: a 253-character DNS name (or a bracketed IPv6
 * address), ':' and 5 digits. */
#define CHAT_HOST_PORT_MAX 261u
#define CHAT_PORT_MAX 65535u

/* Writes host:port (see above) into out, at most cap bytes with the NUL,
 * like snprintf: returns the length of the whole text, so a result >= cap
 * means it was cut. host NULL is taken as "". */
size_t chat_host_port_format(const char *host, unsigned port, char *out, size_t cap);

/* The same text in a new malloc'ed string (free() or g_free() it), NULL
 * when out of memory. */
char *chat_host_port_new(const char *host, unsigned port);

/* True for "host:port" as known_hosts keeps it: a non-empty host of
 * printable ASCII characters without spaces, not starting with '#' (an IPv6
 * host in brackets), ':' and a decimal port 1..65535 without leading zeros;
 * at most CHAT_HOST_PORT_MAX characters. */
bool chat_host_port_valid(const char *host_port);

/* Reads "host:port" as chat_host_port_format() writes it (and as
 * client.servers lists servers): valid for known_hosts (above), and a host
 * holding ':' only in brackets ("[::1]:8111", not "::1:8111"). On success
 * *host is a new malloc'ed string without the brackets (free() it) and
 * *port the port; on failure false, and nothing is stored. */
bool chat_host_port_parse(const char *host_port, char **host, uint16_t *port);

#endif
