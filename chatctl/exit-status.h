/* chatctl's exit statuses, documented in --help, the man page and README. */
#ifndef CHATCTL_EXIT_STATUS_H
#define CHATCTL_EXIT_STATUS_H

enum {
  CHATCTL_EXIT_OK = 0,         /* done */
  CHATCTL_EXIT_REFUSED = 1,    /* the server refused; its reason on stderr */
  CHATCTL_EXIT_USAGE = 2,      /* usage or input error */
  CHATCTL_EXIT_CONNECTION = 3, /* connection, handshake or pinning failure */
  CHATCTL_EXIT_TIMEOUT = 4,    /* timed out */
  CHATCTL_EXIT_RETRY = 5,      /* the server could not do it now (v2 error class retry_later) */
};

#endif
