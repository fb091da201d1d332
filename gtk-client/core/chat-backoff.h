/* The reconnect delay: starts at an initial delay, doubles after every
 * failed attempt up to a ceiling, and starts over after a success. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The client's reconnect schedule: 1 s, 2 s, 4 s, ... at most 30 s. */
#define CHAT_RECONNECT_INITIAL_MS 1000u
#define CHAT_RECONNECT_MAX_MS 30000u

typedef struct {
  guint initial_ms;
  guint max_ms;
  guint next_ms; /* the delay the next call to chat_backoff_next returns */
} ChatBackoff;

/* initial_ms >= 1; max_ms >= initial_ms. */
void chat_backoff_init(ChatBackoff *backoff, guint initial_ms, guint max_ms);
/* The delay before the next attempt; the one after it doubles (capped). */
guint chat_backoff_next(ChatBackoff *backoff);
/* After a success: the next delay is the initial one again. */
void chat_backoff_reset(ChatBackoff *backoff);

G_END_DECLS
