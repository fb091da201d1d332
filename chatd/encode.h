/* Writers for the shapes chatd sends (@user, @contact, @notice, ...), shared
 * by the handlers. Each writes one value with a chat_writer; the message
 * header is written by chatd_reply_begin (outbox.h). */
#pragma once

#include <glib.h>

#include "chatd/directory.h"
#include "chatd/session.h"
#include "chatd/store.h"
#include "protocol/message.h"
#include "protocol/messages.h"
#include "protocol/value.h"

G_BEGIN_DECLS

/* @user: {id, username, nickname, online}. */
void chatd_write_user(chat_writer *w, const ChatdUser *user);
/* @contact of a friend: @user keys, then type 0. */
void chatd_write_friend_contact(chat_writer *w, const ChatdUser *user);
/* @contact of a room: {id, room_name, type 1}. */
void chatd_write_room_contact(chat_writer *w, const ChatdRoom *room);
/* How a notice carries an image. */
typedef enum {
  CHATD_BODY_FULL,    /* its bytes (a record read without them goes as a preview) */
  CHATD_BODY_PREVIEW, /* v2: {type 1, format, size}, never the bytes, and a
                         text's first CHATD_PREVIEW_TEXT_MAX bytes */
} ChatdBodyForm;

/* The longest text of a preview (a session_bundle's last messages). */
#define CHATD_PREVIEW_TEXT_MAX 1024

/* @notice of a stored message as `viewer_id` sees it: for a 1:1 message the
 * receiver's copy names the sender as target. sender is the sender's user
 * (NULL: the record's sender_nickname and no username). The v2 dialect adds
 * the id, the client_msg_id on the sender's own copy and the sender's
 * username; the seed dialect always gets image bytes (it has no previews).
 * The struct borrows from record and sender. */
chat_msg_notice chatd_notice_of(chat_dialect dialect, const ChatdMessageRecord *record,
                                const ChatdUser *sender, gint64 viewer_id, ChatdBodyForm form);
/* The same, written: the notice's spans point into record and sender. */
void chatd_write_notice(chat_writer *w, chat_dialect dialect, const ChatdMessageRecord *record,
                        const ChatdUser *sender, gint64 viewer_id, ChatdBodyForm form);

/* What a notice's encoding costs besides its names, strings and payload,
 * at most (keys, tags, lengths, integers). */
#define CHATD_NOTICE_FIXED_BOUND 256

/* The same plus the longest names and strings a record carries besides its
 * text or image (nickname, username, client_msg_id, colour, format): what a
 * store read counts per record (ChatdStorePageBound.record_overhead). */
#define CHATD_NOTICE_RECORD_OVERHEAD (CHATD_NOTICE_FIXED_BOUND + 64 + 32 + 64 + 16 + 8)

/* An upper bound of chatd_write_notice's encoding of record, whatever the
 * viewer and whatever the sender's names become. */
gsize chatd_notice_size_bound(const ChatdMessageRecord *record, const ChatdUser *sender,
                              chat_dialect dialect, ChatdBodyForm form);

/* For a handler: a typed reader's result rc on a request's params. The
 * catalogue has checked them, so only an int outside int64 fails; then the
 * session gets the failure bad_request with err's reason and this returns
 * TRUE. */
gboolean chatd_params_refused(ChatdSession *session, int rc, const chat_error *err);

/* True when the user has a live, logged-in connection. */
gboolean chatd_user_online(const ChatdUser *user);

G_END_DECLS
