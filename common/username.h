/* The username rule every peer follows (spec/protocol.md, 5.5 "Usernames"):
 * the server trims surrounding white space from a username and lower-cases
 * it, at register, login and add_friend; "  Alice " and "alice" are the same
 * account. Clients apply the same rule to find their own account's files
 * (resume tokens) and to compare names with what the server says.
 *
 * Lower-casing is Unicode lower-casing as GLib does it (g_utf8_strdown), so
 * this lives in the GLib helper library, not in the plain-C protocol core:
 * a client must produce byte for byte the name the server keeps. */
#ifndef CHAT_COMMON_USERNAME_H
#define CHAT_COMMON_USERNAME_H

#include <glib.h>

G_BEGIN_DECLS

/* The normalised form of name[0..len) (len -1: up to the NUL; the name also
 * ends at an embedded NUL): ASCII white space as g_ascii_isspace sees it
 * (space, \t, \n, \f, \r; not \v) trimmed from both ends, then
 * lower-cased. name should be valid UTF-8 (the callers check it where it
 * comes from outside); NULL is taken as "". Never returns NULL; g_free the
 * result. */
char *chat_username_normalize(const char *name, gssize len);

G_END_DECLS

#endif
