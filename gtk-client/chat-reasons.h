/* The session passes some texts on from the server unchanged (a refused
 * friend request, a failed request, a refused login): these are chatd's
 * English words. This gives the user a translated sentence instead when
 * the text is a known one; texts the core already wrote for the user are
 * returned as they are. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *chat_reasons_translate(const char *text);

G_END_DECLS
