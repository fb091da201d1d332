/* The seed dialect keeps no history on demand: its login_bundle carries
 * every stored message as [data, sent], data being the encoding of a
 * @notice. history and unread read them from there. */
#ifndef CHATCTL_SEED_HISTORY_H
#define CHATCTL_SEED_HISTORY_H

#include <glib.h>

#include "protocol/arena.h"
#include "protocol/value.h"

typedef struct {
  const chat_value *notice; /* @notice, in the arena */
  gboolean delivered;       /* sent = 1: delivered live; 0: arrived while offline */
} chatctl_stored_message;

/* Decodes the bundle's messages into arena, in the bundle's order (oldest
 * first), appending chatctl_stored_message to out. Returns 0, or prints why
 * a stored message is not a @notice and returns CHATCTL_EXIT_CONNECTION (a
 * server that sends garbage is not talked to further). */
int chatctl_seed_stored_messages(const chat_value *bundle, chat_arena *arena, GArray *out);

#endif
