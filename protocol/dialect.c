/* The dialect enum's names. */
#include "protocol/dialect.h"

#include <string.h>

const char *chat_dialect_name(chat_dialect dialect) {
  switch (dialect) {
  case CHAT_DIALECT_SEED:
    return "seed";
  case CHAT_DIALECT_V2:
    return "v2";
  default:
    return "?";
  }
}

bool chat_dialect_parse(const char *name, chat_dialect *out) {
  if (strcmp(name, "seed") == 0) {
    *out = CHAT_DIALECT_SEED;
    return true;
  }
  if (strcmp(name, "v2") == 0) {
    *out = CHAT_DIALECT_V2;
    return true;
  }
  return false;
}
