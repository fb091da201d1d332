/* Stored messages of a seed login_bundle (see seed-history.h). */
#include "chatctl/seed-history.h"

#include <string.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "protocol/messages.h"

int chatctl_seed_stored_messages(const chat_value *bundle, chat_arena *arena, GArray *out) {
  chat_msg_login_bundle b;
  if (!bundle || chat_msg_login_bundle_read(bundle, &b, NULL) != 0)
    return 0;
  for (size_t i = 0; i < b.messages.count; i++) {
    chat_msg_stored_message m;
    chat_msg_stored_message_at(&b.messages, i, &m);
    chat_value *notice = NULL;
    chat_msg_notice checked;
    chat_error err;
    if (chat_value_decode((const uint8_t *)m.data.ptr, m.data.len, NULL, 0, arena, &notice, &err) !=
            0 ||
        chat_msg_notice_read(notice, &checked, &err) != 0)
      return chatctl_fail(CHATCTL_EXIT_CONNECTION,
                          "the server sent a bad stored message (number %zu of the login "
                          "bundle): %s",
                          i + 1, err.message);
    chatctl_stored_message stored = {notice, m.sent != 0};
    g_array_append_val(out, stored);
  }
  return 0;
}
