/* client_echo and bad. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/dispatch.h"
#include "protocol/catalogue.h"

/* Before login an echo costs its connection a pause: at least
 * PRELOGIN_ECHO_PAUSE_MS, and a millisecond per PRELOGIN_ECHO_BYTES_PER_MS
 * bytes, so strangers cannot keep chatd encrypting for them. */
#define PRELOGIN_ECHO_PAUSE_MS 100
#define PRELOGIN_ECHO_BYTES_PER_MS 64

void chatd_handle_client_echo(ChatdSession *s, const chat_value *params, const guint8 *raw,
                              gsize raw_len) {
  (void)params;
  /* The value goes back byte for byte, whatever it holds. */
  chatd_session_begin(s, CHAT_MSG_SERVER_ECHO);
  chatd_reply_append_encoded(raw, raw_len);
  chatd_reply_send(s);
  if (!s->user)
    chatd_session_pause(s,
                        MAX(PRELOGIN_ECHO_PAUSE_MS, (guint)(raw_len / PRELOGIN_ECHO_BYTES_PER_MS)));
}

void chatd_handle_bad(ChatdSession *s, const chat_value *params, const guint8 *raw, gsize raw_len) {
  (void)params;
  (void)raw;
  (void)raw_len;
  chatd_session_send_failure(s, CHAT_REQUEST_ERROR_BAD_REQUEST, NULL);
}
