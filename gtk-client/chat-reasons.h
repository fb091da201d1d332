/* What the user reads when the server refuses something.
 *
 * v2 failures carry an error code (spec/protocol.md 5.7): the code gives a
 * translated sentence from one table, whatever English the server wrote.
 * The seed dialect has no codes: there chatd's known English sentences are
 * matched instead. Texts the core already wrote for the user, and server
 * texts nothing here knows, are returned as they are (made a sentence). */
#pragma once

#include <glib.h>

#include "protocol/request-error.h"

G_BEGIN_DECLS

/* The sentence for a failure: its code's (CHAT_REQUEST_ERROR_UNKNOWN: none
 * or one this client does not know), else text's. */
char *chat_reasons_for_failure(chat_request_error code, const char *text);
/* The same for a text without a code. */
char *chat_reasons_translate(const char *text);

G_END_DECLS
