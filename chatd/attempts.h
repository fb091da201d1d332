/* Who may try what, and how often: password guesses and new accounts.
 *
 * Password guesses (failed logins, and wrong old passwords in
 * set_password) are limited per source address and per address + account,
 * never per account alone: a guesser elsewhere cannot lock a user out, and
 * an attempt with the right password is never counted, so it goes through
 * from any address that has not been failing itself. Each guess is charged
 * when it starts (so guesses in flight at once cannot exceed the budget)
 * and refunded when it turns out right (or was never checked). server.login_rate is the budget of
 * one address + account; an address as a whole gets CHATD_ATTEMPTS_ADDRESS_FACTOR times it (a
 * shared address, a NAT, has many honest users).
 *
 * New accounts are limited per source address (server.register_rate
 * per_hour and burst) and in total (total_per_minute), whether or not they
 * end up created.
 *
 * An address is an IPv4 address, or the /64 prefix of an IPv6 address (one
 * host usually owns a whole /64). Main thread only. */
#pragma once

#include <glib.h>

#include "chatd/config.h"

G_BEGIN_DECLS

#define CHATD_ATTEMPTS_ADDRESS_FACTOR 4

typedef struct _ChatdAttempts ChatdAttempts;

typedef enum {
  CHATD_ATTEMPT_ALLOWED,
  CHATD_ATTEMPT_ADDRESS_LIMIT, /* this address used its budget */
  CHATD_ATTEMPT_ACCOUNT_LIMIT, /* this address + account used its budget */
  CHATD_ATTEMPT_TOTAL_LIMIT,   /* the whole server used its budget (registrations) */
} ChatdAttemptVerdict;

ChatdAttempts *chatd_attempts_new(const ChatdConfig *config);
void chatd_attempts_free(ChatdAttempts *attempts);

/* The limiter's name for a peer "ip:port" / "[ipv6]:port": "192.0.2.7", or
 * "2001:db8:1:2::/64". Newly allocated. */
char *chatd_attempts_address_key(const char *peer);

/* May this address guess this account's password now? When it may, the
 * guess is charged to the address and the address + account; when not,
 * *retry_s (may be NULL) gets the seconds until it may. */
ChatdAttemptVerdict chatd_attempts_password_begin(ChatdAttempts *attempts, const char *peer,
                                                  const char *username, guint *retry_s);
/* A guess charged by _begin did not count (the password was right, or the
 * server was too busy to check it): its charge is given back. */
void chatd_attempts_password_refund(ChatdAttempts *attempts, const char *peer,
                                    const char *username);

/* May this address create an account now? When it may, the attempt is
 * charged at once. */
ChatdAttemptVerdict chatd_attempts_register(ChatdAttempts *attempts, const char *peer,
                                            guint *retry_s);

G_END_DECLS
