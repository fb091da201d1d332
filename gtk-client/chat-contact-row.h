/* ChatContactRow: one friend or room in the contacts list: avatar with the
 * online dot (friends), name, time and preview of the last message, and
 * the red unread badge. It follows the contact's property changes. */
#pragma once

#include <gtk/gtk.h>

#include "gtk-client/core/chat-contact.h"

G_BEGIN_DECLS

#define CHAT_TYPE_CONTACT_ROW (chat_contact_row_get_type())
G_DECLARE_FINAL_TYPE(ChatContactRow, chat_contact_row, CHAT, CONTACT_ROW, GtkWidget)

/* Counts above this show as "99+". */
#define CHAT_BADGE_MAX 99

ChatContactRow *chat_contact_row_new(void);
/* The contact shown (NULL: none). */
void chat_contact_row_set_contact(ChatContactRow *self, ChatContact *contact);

/* The badge text for a count: "" for 0, "7", "99+". */
char *chat_contact_row_badge_text(guint unread);

/* The list item the row is the child of: the "contact.open" action activates it
 * in its list, as a double click or Enter does. */
void chat_contact_row_set_list_item(ChatContactRow *self, GtkListItem *list_item);
/* The row's position in its list (GTK_INVALID_LIST_POSITION when unbound). */
guint chat_contact_row_get_position(ChatContactRow *self);

G_END_DECLS
