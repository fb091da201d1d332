/* host:port text. See protocol/host-port.h. */
#include "protocol/host-port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECIMAL_BASE 10u
/* Digits of the largest port, 65535. */
#define PORT_MAX_DIGITS 5u
/* Bytes above ASCII: host names here are plain ASCII. */
#define ASCII_DEL 0x7F

size_t chat_host_port_format(const char *host, unsigned port, char *out, size_t cap) {
  if (host == NULL)
    host = "";
  bool v6 = strchr(host, ':') != NULL;
  int n = snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", host, port);
  return n < 0 ? 0 : (size_t)n;
}

char *chat_host_port_new(const char *host, unsigned port) {
  size_t len = chat_host_port_format(host, port, NULL, 0);
  char *out = malloc(len + 1);
  if (out != NULL)
    chat_host_port_format(host, port, out, len + 1);
  return out;
}

bool chat_host_port_valid(const char *host_port) {
  if (host_port == NULL)
    return false;
  size_t len = strnlen(host_port, CHAT_HOST_PORT_MAX + 1);
  if (len == 0 || len > CHAT_HOST_PORT_MAX || host_port[0] == '#')
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)host_port[i];
    if (c <= ' ' || c >= ASCII_DEL)
      return false;
  }
  const char *colon = strrchr(host_port, ':');
  if (colon == NULL || colon == host_port)
    return false;
  const char *port = colon + 1;
  size_t digits = strlen(port);
  if (digits == 0 || digits > PORT_MAX_DIGITS || port[0] == '0')
    return false;
  unsigned long value = 0;
  for (size_t i = 0; i < digits; i++) {
    if (port[i] < '0' || port[i] > '9')
      return false;
    value = value * DECIMAL_BASE + (unsigned long)(port[i] - '0');
  }
  if (value > CHAT_PORT_MAX)
    return false;
  /* A bracketed IPv6 host must close its bracket right before the port. */
  if (host_port[0] == '[' && colon[-1] != ']')
    return false;
  return true;
}

bool chat_host_port_parse(const char *host_port, char **host, uint16_t *port) {
  if (!chat_host_port_valid(host_port))
    return false;
  const char *colon = strrchr(host_port, ':');
  const char *start = host_port;
  size_t len = (size_t)(colon - host_port);
  if (host_port[0] == '[') {
    start++;
    len -= 2; /* the brackets; valid() saw "]" right before the colon */
    if (len == 0 || memchr(start, '[', len) || memchr(start, ']', len))
      return false;
  } else if (memchr(host_port, ':', len) || memchr(host_port, '[', len) ||
             memchr(host_port, ']', len)) {
    return false;
  }
  char *copy = strndup(start, len);
  if (copy == NULL)
    return false;
  *host = copy;
  *port = (uint16_t)strtoul(colon + 1, NULL, DECIMAL_BASE);
  return true;
}
