/* ChatServerKeyDialog: the first connection to a server shows its key
 * fingerprint and asks whether to trust it. Emits "decided" once (TRUE:
 * trust) and closes; closing the window refuses. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CHAT_TYPE_SERVER_KEY_DIALOG (chat_server_key_dialog_get_type())
G_DECLARE_FINAL_TYPE(ChatServerKeyDialog, chat_server_key_dialog, CHAT, SERVER_KEY_DIALOG,
                     AdwWindow)

ChatServerKeyDialog *chat_server_key_dialog_new(GtkWindow *parent, const char *host_port,
                                                const char *fingerprint);
const char *chat_server_key_dialog_get_fingerprint(ChatServerKeyDialog *self);

/* Signal: decided (gboolean trust) */

G_END_DECLS
