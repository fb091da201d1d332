/* Internal to the protocol library: what the two passive capture decoders
 * (chat_seed_decoder in seed-decoder.c, chat_v2_stream_decoder in
 * v2-decoder.c) share.
 *
 * A capture decoder reads one direction of a recorded connection as a
 * sequence of items (a frame header, a frame body, a length prefix, a
 * record...). The core gathers each item's bytes, split anywhere across
 * feed calls, and hands the complete item to the decoder (ops->complete),
 * which checks it, queues at most CHAT_DECODER_MAX_EVENTS events and says
 * which item comes next (chat_decoder_expect). Feeding stops after an item
 * that queued events and consumes nothing while events wait; once the caller
 * has taken every event, ops->release wipes what they pointed to. Errors
 * are sticky, carry a stream offset and a one-line reason, and wipe the
 * decoder's secrets (ops->wipe).
 *
 * The decoder's struct starts with a chat_decoder_core, so the callbacks
 * cast the core pointer back to it. Plain C, no GLib. */
#ifndef CHAT_PROTOCOL_DECODER_CORE_H
#define CHAT_PROTOCOL_DECODER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One item gives at most two events (a FRAME or RECORD, and its MESSAGE). */
#define CHAT_DECODER_MAX_EVENTS 2u
/* Room for the longest reason of either decoder, including the NUL. */
#define CHAT_DECODER_REASON_CAPACITY 256u

typedef struct chat_decoder_core chat_decoder_core;

typedef struct {
  /* Before more bytes go into an item: 0, or a sticky error (the v2
   * decoder refuses bytes after CLOSE). `left`: bytes still to feed. NULL
   * when every byte is welcome. */
  int (*accept)(chat_decoder_core *core, size_t left);
  /* Where the current item's bytes go: sets *dst to a buffer with room for
   * its first `upto` bytes, or to NULL to count them without keeping them.
   * Returns 0, or a sticky error (out of memory). */
  int (*buffer)(chat_decoder_core *core, size_t upto, uint8_t **dst);
  /* The current item is complete: check it, queue its events and expect
   * the next item. Returns 0 or a sticky error. */
  int (*complete)(chat_decoder_core *core);
  /* Every queued event was taken: wipe the plaintext they pointed to. */
  void (*release)(chat_decoder_core *core);
  /* On a sticky error: wipe the keys and plaintext. */
  void (*wipe)(chat_decoder_core *core);
} chat_decoder_ops;

struct chat_decoder_core {
  const chat_decoder_ops *ops;
  size_t need;          /* bytes of the current item */
  size_t have;          /* of which read so far */
  uint64_t consumed;    /* stream offset of the next byte */
  uint64_t item_offset; /* stream offset where the current item started */

  void *events; /* the decoder's array of CHAT_DECODER_MAX_EVENTS events */
  size_t event_size;
  size_t nevents, next_event;

  int error;
  uint64_t error_offset;
  size_t reason_max; /* the decoder's documented reason length, NUL included */
  char reason[CHAT_DECODER_REASON_CAPACITY];
};

/* Sets up a zeroed core: events is an array of CHAT_DECODER_MAX_EVENTS
 * elements of event_size bytes; reasons are cut to reason_max bytes (at most
 * CHAT_DECODER_REASON_CAPACITY); the first item starts at stream_offset and
 * is `need` bytes long. */
void chat_decoder_init(chat_decoder_core *core, const chat_decoder_ops *ops, void *events,
                       size_t event_size, size_t reason_max, uint64_t stream_offset, size_t need);

/* The next item is `need` bytes long. starts_item: it begins a new item
 * whose offset events report (a header or a length prefix), rather than
 * continuing the last one (the body after its header). */
void chat_decoder_expect(chat_decoder_core *core, size_t need, bool starts_item);

/* A zeroed slot for the next event (the caller fills in kind and offset). */
void *chat_decoder_add_event(chat_decoder_core *core);

/* Records a sticky error: the code, the stream offset it concerns and the
 * formatted reason; drops the pending events and calls ops->wipe. Returns
 * code. */
int chat_decoder_fail(chat_decoder_core *core, int code, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Feeds bytes (see above). Returns the number consumed, or the sticky error. */
ptrdiff_t chat_decoder_feed(chat_decoder_core *core, const uint8_t *data, size_t len);

/* Copies the next event into *event (event_size bytes) and returns 1, 0 when
 * none waits, or the sticky error. */
int chat_decoder_next_event(chat_decoder_core *core, void *event);

/* The detailed reason of the sticky error, "" if none. */
const char *chat_decoder_error_message(const chat_decoder_core *core);

#endif
