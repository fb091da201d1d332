/* chat-client: the GTK 4 desktop client. Everything lives in the
 * chat-client-ui library; this only sets up translations and runs the
 * application. */
#include "gtk-client/chat-application.h"
#include "gtk-client/chat-i18n.h"

int main(int argc, char **argv) {
  chat_i18n_init();
  g_autoptr(ChatApplication) app = chat_application_new();
  return g_application_run(G_APPLICATION(app), argc, argv);
}
