/* The part both passive capture decoders share. See protocol/decoder-core.h. */
#include "protocol/decoder-core.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void chat_decoder_init(chat_decoder_core *core, const chat_decoder_ops *ops, void *events,
                       size_t event_size, size_t reason_max, uint64_t stream_offset, size_t need) {
  assert(reason_max > 0 && reason_max <= sizeof core->reason);
  core->ops = ops;
  core->events = events;
  core->event_size = event_size;
  core->reason_max = reason_max;
  core->consumed = stream_offset;
  chat_decoder_expect(core, need, true);
}

void chat_decoder_expect(chat_decoder_core *core, size_t need, bool starts_item) {
  core->need = need;
  core->have = 0;
  if (starts_item)
    core->item_offset = core->consumed;
}

void *chat_decoder_add_event(chat_decoder_core *core) {
  assert(core->nevents < CHAT_DECODER_MAX_EVENTS);
  uint8_t *slot = (uint8_t *)core->events + core->nevents++ * core->event_size;
  memset(slot, 0, core->event_size);
  return slot;
}

int chat_decoder_fail(chat_decoder_core *core, int code, uint64_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(core->reason, core->reason_max, fmt, ap);
  va_end(ap);
  core->error = code;
  core->error_offset = offset;
  core->nevents = core->next_event = 0;
  core->ops->wipe(core);
  return code;
}

/* Once every pending event was taken: lets the decoder wipe what they
 * pointed to. */
static void release_events(chat_decoder_core *core) {
  if (core->nevents == 0 || core->next_event < core->nevents)
    return;
  core->nevents = core->next_event = 0;
  core->ops->release(core);
}

ptrdiff_t chat_decoder_feed(chat_decoder_core *core, const uint8_t *data, size_t len) {
  if (core->error != 0)
    return core->error;
  release_events(core);
  if (core->nevents > 0)
    return 0;
  size_t used = 0;
  while (used < len && core->nevents == 0) {
    int rc;
    if (core->ops->accept != NULL && (rc = core->ops->accept(core, len - used)) < 0)
      return rc;
    size_t take = core->need - core->have;
    if (take > len - used)
      take = len - used;
    uint8_t *dst = NULL;
    rc = core->ops->buffer(core, core->have + take, &dst);
    if (rc < 0)
      return rc;
    if (dst != NULL)
      memcpy(dst + core->have, data + used, take);
    core->have += take;
    used += take;
    core->consumed += take;
    if (core->have < core->need)
      break;
    rc = core->ops->complete(core);
    if (rc < 0)
      return rc;
  }
  return (ptrdiff_t)used;
}

int chat_decoder_next_event(chat_decoder_core *core, void *event) {
  if (core->error != 0)
    return core->error;
  release_events(core);
  if (core->next_event >= core->nevents)
    return 0;
  memcpy(event, (const uint8_t *)core->events + core->next_event++ * core->event_size,
         core->event_size);
  return 1;
}

const char *chat_decoder_error_message(const chat_decoder_core *core) {
  return core->error != 0 ? core->reason : "";
}
