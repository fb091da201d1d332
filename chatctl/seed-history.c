/* Stored messages of a seed login_bundle (see seed-history.h). */
#include "chatctl/seed-history.h"

#include <string.h>

#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "protocol/catalogue.h"
#include "protocol/shape.h"

static const char *named_shape(const char *name, size_t len, void *data) {
  (void)data;
  g_autofree char *key = g_strndup(name, len);
  const chat_shape_definition *shape = chat_catalogue_shape_by_name(key);
  return shape ? shape->shape : NULL;
}

int chatctl_seed_stored_messages(const chat_value *bundle, chat_arena *arena, GArray *out) {
  const chat_value *messages = bundle ? chat_value_dict_get(bundle, "messages") : NULL;
  for (size_t i = 0; messages && i < messages->as.list.count; i++) {
    const chat_value *pair = messages->as.list.items[i].as.list.items;
    chat_value *notice = NULL;
    chat_error err;
    g_autofree char *path = g_strdup_printf("messages[%zu][0]", i);
    gint64 sent = 0;
    chat_value_get_i64(&pair[1], &sent);
    if (chat_value_decode(pair[0].as.blob.data, pair[0].as.blob.len, NULL, 0, arena, &notice,
                          &err) != 0 ||
        chat_shape_check("@notice", notice, path, named_shape, NULL, &err) != 0)
      return chatctl_fail(CHATCTL_EXIT_CONNECTION,
                          "the server sent a bad stored message (number %zu of the login "
                          "bundle): %s",
                          i + 1, err.message);
    chatctl_stored_message stored = {notice, sent != 0};
    g_array_append_val(out, stored);
  }
  return 0;
}
