/* The two dialects of the protocol, one enum for every layer: the message
 * codec (the width of the type field), the secure channels (seed DH + AES or
 * v2 Noise) and the connections above them. */
#ifndef CHAT_PROTOCOL_DIALECT_H
#define CHAT_PROTOCOL_DIALECT_H

#include <stdbool.h>

typedef enum {
  CHAT_DIALECT_SEED,
  CHAT_DIALECT_V2,
  /* Not known yet: a server's channel or connection before the peer's first
   * byte, or a captured connection that is not chat. */
  CHAT_DIALECT_UNKNOWN,
} chat_dialect;
/* How many dialects there are (for arrays indexed by chat_dialect). */
#define CHAT_DIALECT_COUNT 2

/* "seed" / "v2" ("?" for UNKNOWN). */
const char *chat_dialect_name(chat_dialect dialect);
/* Parses "seed" or "v2"; false for anything else. */
bool chat_dialect_parse(const char *name, chat_dialect *out);

#endif
