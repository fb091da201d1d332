/* ChatContact: a friend or a room as the contacts list shows it. Its
 * properties notify, so list rows bind to them. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  CHAT_CONTACT_FRIEND = 0, /* target_type 0 */
  CHAT_CONTACT_ROOM = 1,   /* target_type 1 */
} ChatContactKind;

#define CHAT_TYPE_CONTACT_KIND (chat_contact_kind_get_type())
GType chat_contact_kind_get_type(void);

#define CHAT_TYPE_CONTACT (chat_contact_get_type())
G_DECLARE_FINAL_TYPE(ChatContact, chat_contact, CHAT, CONTACT, GObject)

ChatContact *chat_contact_new(ChatContactKind kind, gint64 id, const char *name,
                              const char *username);

/* Properties (all readable; the session writes them):
 *  kind, id, name (nickname or room name), username (friends),
 *  online (friends), unread (guint), last-time (gint64 ms; 0 = none),
 *  preview (the QQ-style last-message line: see chat-preview.h) */
ChatContactKind chat_contact_get_kind(ChatContact *self);
gint64 chat_contact_get_id(ChatContact *self);
const char *chat_contact_get_name(ChatContact *self);
const char *chat_contact_get_username(ChatContact *self);
gboolean chat_contact_get_online(ChatContact *self);
guint chat_contact_get_unread(ChatContact *self);
gint64 chat_contact_get_last_time(ChatContact *self);
const char *chat_contact_get_preview(ChatContact *self);

void chat_contact_set_name(ChatContact *self, const char *name);
void chat_contact_set_online(ChatContact *self, gboolean online);
void chat_contact_set_unread(ChatContact *self, guint unread);
void chat_contact_set_last(ChatContact *self, gint64 time_ms, const char *preview);

/* Rooms: the members (ChatRoomMember items), online members first, then by
 * name; filled by chat_session_query_members() and updated live from
 * room_user_on_off_line. Empty for friends. */
GListModel *chat_contact_get_members(ChatContact *self);

/* The contacts list's order (a GCompareDataFunc): the newest last message
 * first; contacts without messages (last-time 0) after all others; ties by
 * name (g_utf8_collate), then friends before rooms, then by id. */
int chat_contact_compare(gconstpointer a, gconstpointer b, gpointer unused);

G_END_DECLS
