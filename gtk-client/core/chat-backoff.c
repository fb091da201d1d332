#include "gtk-client/core/chat-backoff.h"

void chat_backoff_init(ChatBackoff *backoff, guint initial_ms, guint max_ms) {
  backoff->initial_ms = MAX(initial_ms, 1u);
  backoff->max_ms = MAX(max_ms, backoff->initial_ms);
  backoff->next_ms = backoff->initial_ms;
}

guint chat_backoff_next(ChatBackoff *backoff) {
  guint delay = backoff->next_ms;
  backoff->next_ms = delay > backoff->max_ms / 2 ? backoff->max_ms : delay * 2;
  return delay;
}

void chat_backoff_reset(ChatBackoff *backoff) {
  backoff->next_ms = backoff->initial_ms;
}
