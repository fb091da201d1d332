/* Importing the seed's chat_history (see import-seed.h): the seed stores
 * one row per owner per message; the copies are merged into one stored
 * message each, keyed by (sender, target type, receiver or room, time,
 * body), and message ids 1..n follow (time, seed row id). Two scans of the
 * table, in the one read transaction: the first merges, the second stores
 * each message from its first copy. */
#define G_LOG_DOMAIN "chatd"

#include <string.h>

#include "chatd/import-seed-private.h"
#include "protocol/arena.h"
#include "protocol/error.h"
#include "protocol/messages.h"
#include "protocol/value.h"

/* Digest of a message body in the merge key. */
#define BODY_DIGEST_LEN 32

/* Values inside a stored notice N (spec/protocol.md 5.9, "The seed's
 * database"). */
enum { SEED_TARGET_USER = 0, SEED_TARGET_ROOM = 1 };
enum { SEED_BODY_TEXT = 0, SEED_BODY_IMAGE = 1 };

/* A stored notice N, as far as the import needs it. body and font_color
 * point into the row's data (valid until the next step). */
typedef struct {
  gint64 sender_id;
  int target_type;  /* SEED_TARGET_* */
  gint64 target_id; /* as stored: the receiver's copy names the sender */
  gint64 time_ms;
  int kind; /* SEED_BODY_* */
  const guint8 *body;
  gsize body_len;
  int font_size;
  const char *font_color;
  gsize font_color_len;
} SeedNotice;

typedef struct {
  gint64 seed_id;
  gint64 owner;
  gboolean offline; /* sent = 0 */
  gint64 target_id; /* the receiver or the room */
  SeedNotice notice;
} HistoryRow;

/* Reads N, a @notice (protocol/messages.h), and checks what the import
 * needs of it: positive sender and target ids, a target_type 0 or 1, a
 * non-negative time, and M = {type: 0, data: str, fontsize, fontcolor} or
 * {type: 1, data: bytes}. Returns NULL, or why it does not fit (in err's
 * message when the notice does not read). */
static const char *parse_notice(const chat_value *value, SeedNotice *out, chat_error *err) {
  chat_msg_notice n;
  if (value->kind != CHAT_VALUE_DICT)
    return "the data is not a dict";
  if (chat_msg_notice_read(value, &n, err) != CHAT_OK)
    return err->message;
  if (n.sender_id < 1)
    return "no positive integer sender_id";
  if (n.target_type != SEED_TARGET_USER && n.target_type != SEED_TARGET_ROOM)
    return "no target_type 0 or 1";
  if (n.target_id < 1)
    return "no positive integer target_id";
  if (n.time < 0)
    return "no time (a non-negative integer)";
  out->sender_id = n.sender_id;
  out->target_type = (int)n.target_type;
  out->target_id = n.target_id;
  out->time_ms = n.time;
  if (n.message.type != SEED_BODY_TEXT && n.message.type != SEED_BODY_IMAGE)
    return "the message's type is not 0 or 1";
  out->kind = (int)n.message.type;
  out->body = (const guint8 *)n.message.data.ptr;
  out->body_len = n.message.data.len;
  if (out->kind == SEED_BODY_IMAGE)
    return n.message.form == CHAT_BODY_IMAGE ? NULL : "an image message without bytes data";
  if (n.message.form != CHAT_BODY_TEXT)
    return "a text message without str data, fontsize and fontcolor";
  if (n.message.font_size < 0 || n.message.font_size > G_MAXINT)
    return "a text message without a font size in 0 .. 2^31 - 1";
  out->font_size = (int)n.message.font_size;
  out->font_color = n.message.font_color.ptr;
  out->font_color_len = n.message.font_color.len;
  return NULL;
}

/* Reads and checks the current chat_history row; returns NULL, or why the
 * row cannot be imported ("chat_history row ...: ..."). arena holds the
 * decoded tree until its next use. */
static char *read_history_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                              chat_arena *arena, HistoryRow *row) {
  memset(row, 0, sizeof *row);
  if (!seed_column_integer(stmt, HISTORY_ID, &row->seed_id))
    return g_strdup_printf("chat_history row %" G_GUINT64_FORMAT " (in id order): the id is not "
                           "an integer",
                           ordinal);
  const char *prefix = "chat_history row";
  if (!seed_column_integer(stmt, HISTORY_OWNER, &row->owner) ||
      !id_set_contains(st->user_ids, row->owner))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": the owner (user_id) is not a known user",
                           prefix, row->seed_id);
  /* sent: 1 delivered live, 0 received while offline; NULL counts as 1 */
  row->offline = sqlite3_column_type(stmt, HISTORY_SENT) != SQLITE_NULL &&
                 sqlite3_column_int64(stmt, HISTORY_SENT) == 0;

  const guint8 *data = sqlite3_column_blob(stmt, HISTORY_DATA);
  gsize len = (gsize)sqlite3_column_bytes(stmt, HISTORY_DATA);
  if (data == NULL || len == 0)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no data", prefix, row->seed_id);
  chat_arena_clear(arena);
  chat_value *value = NULL;
  chat_error decode_error = {0};
  int rc = chat_value_decode(data, len, NULL, CHAT_DECODE_BORROW, arena, &value, &decode_error);
  if (rc != CHAT_OK)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": the data does not decode: %s (at byte %zu)",
                           prefix, row->seed_id, decode_error.message, decode_error.offset);
  chat_error notice_error = {0};
  const char *shape = parse_notice(value, &row->notice, &notice_error);
  if (shape != NULL)
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": %s", prefix, row->seed_id, shape);

  const SeedNotice *n = &row->notice;
  if (!id_set_contains(st->user_ids, n->sender_id))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no sender %" G_GINT64_FORMAT, prefix,
                           row->seed_id, n->sender_id);
  if (n->target_type == SEED_TARGET_ROOM) {
    if (!id_set_contains(st->room_ids, n->target_id))
      return g_strdup_printf("%s %" G_GINT64_FORMAT ": no room %" G_GINT64_FORMAT, prefix,
                             row->seed_id, n->target_id);
    row->target_id = n->target_id;
    return NULL;
  }
  /* 1:1: the sender's copy names the receiver, the receiver's copy the sender */
  if (row->owner == n->sender_id)
    row->target_id = n->target_id;
  else if (n->target_id == n->sender_id)
    row->target_id = row->owner;
  else
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": a 1:1 message of user %" G_GINT64_FORMAT
                           " to user %" G_GINT64_FORMAT " stored for user %" G_GINT64_FORMAT
                           ", who is neither",
                           prefix, row->seed_id, n->sender_id, n->target_id, row->owner);
  if (!id_set_contains(st->user_ids, row->target_id))
    return g_strdup_printf("%s %" G_GINT64_FORMAT ": no receiver %" G_GINT64_FORMAT, prefix,
                           row->seed_id, row->target_id);
  return NULL;
}

/* What makes copies one message. extra is the owner in the occurrence
 * table and the occurrence number in the message table: each owner holds
 * one copy of a message, so a second copy of the same key for the same
 * owner is another message sent in the same millisecond. */
typedef struct {
  gint64 sender_id;
  gint64 target_id;
  gint64 time_ms;
  gint64 extra;
  int target_type;
  int kind;
  guint8 digest[BODY_DIGEST_LEN]; /* SHA-256 of the body bytes */
} MessageKey;

static guint message_key_hash(gconstpointer p) {
  const MessageKey *k = p;
  guint h;
  memcpy(&h, k->digest, sizeof h);
  const gint64 fields[] = {k->sender_id, k->target_id,   k->time_ms,
                           k->extra,     k->target_type, k->kind};
  for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
    h = h * 31u + g_int64_hash(&fields[i]);
  return h;
}

static gboolean message_key_equal(gconstpointer a, gconstpointer b) {
  const MessageKey *x = a, *y = b;
  return x->sender_id == y->sender_id && x->target_id == y->target_id && x->time_ms == y->time_ms &&
         x->extra == y->extra && x->target_type == y->target_type && x->kind == y->kind &&
         memcmp(x->digest, y->digest, sizeof x->digest) == 0;
}

/* One real message, merged from its copies. */
typedef struct {
  MessageKey key;
  gint64 seed_id;  /* the lowest seed row id of its copies */
  guint64 ordinal; /* that row's position in the history scan */
  gint64 new_id;
  GArray *offline; /* gint64: owners who received it offline */
} SeedMessage;

static void seed_message_free(gpointer data) {
  SeedMessage *message = data;
  g_array_unref(message->offline);
  g_free(message);
}

static gint seed_message_compare(gconstpointer a, gconstpointer b) {
  const SeedMessage *x = *(SeedMessage *const *)a, *y = *(SeedMessage *const *)b;
  if (x->key.time_ms != y->key.time_ms)
    return x->key.time_ms < y->key.time_ms ? -1 : 1;
  return x->seed_id < y->seed_id ? -1 : x->seed_id > y->seed_id ? 1 : 0;
}

static void key_from_row(const HistoryRow *row, GChecksum *checksum, MessageKey *key) {
  memset(key, 0, sizeof *key);
  key->sender_id = row->notice.sender_id;
  key->target_id = row->target_id;
  key->time_ms = row->notice.time_ms;
  key->target_type = row->notice.target_type;
  key->kind = row->notice.kind;
  g_checksum_reset(checksum);
  if (row->notice.body_len > 0)
    g_checksum_update(checksum, row->notice.body, (gssize)row->notice.body_len);
  gsize digest_len = sizeof key->digest;
  g_checksum_get_digest(checksum, key->digest, &digest_len);
}

/* Pass 1: what merging the copies needs. */
typedef struct {
  GPtrArray *messages;     /* SeedMessage, in the order their first copy appears */
  GHashTable *occurrences; /* MessageKey with extra = owner -> copies so far */
  GHashTable *by_key;      /* MessageKey with extra = occurrence -> SeedMessage */
  GChecksum *checksum;
  chat_arena arena;
} HistoryMerge;

/* Pass 1, one row: merges its copy into a message (a new one, whose
 * ordinal is the row's). */
static gboolean collect_message_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                                    gpointer data, GError **error) {
  (void)error;
  HistoryMerge *merge = data;
  st->report.history_rows++;
  HistoryRow row;
  g_autofree char *why = read_history_row(st, stmt, ordinal, &merge->arena, &row);
  if (why != NULL) {
    import_report_skip(st, "%s", why);
    return TRUE;
  }
  MessageKey key;
  key_from_row(&row, merge->checksum, &key);
  key.extra = row.owner;
  guint occurrence = GPOINTER_TO_UINT(g_hash_table_lookup(merge->occurrences, &key));
  g_hash_table_replace(merge->occurrences, g_memdup2(&key, sizeof key),
                       GUINT_TO_POINTER(occurrence + 1));
  key.extra = occurrence;
  SeedMessage *message = g_hash_table_lookup(merge->by_key, &key);
  if (message == NULL) {
    message = g_new0(SeedMessage, 1);
    message->key = key;
    message->seed_id = row.seed_id;
    message->ordinal = ordinal;
    message->offline = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_ptr_array_add(merge->messages, message);
    g_hash_table_insert(merge->by_key, &message->key, message);
  } else {
    st->report.copies_merged++;
    message->seed_id = MIN(message->seed_id, row.seed_id);
  }
  if (row.offline)
    g_array_append_val(message->offline, row.owner);
  return TRUE;
}

/* Pass 1: reads every row, merges the copies into messages (in the order
 * their first copy appears, so their ordinals increase). */
static gboolean collect_messages(ImportState *st, GPtrArray *messages, GError **error) {
  static const int order[] = {HISTORY_ID, -1};
  g_autoptr(GHashTable) occurrences =
      g_hash_table_new_full(message_key_hash, message_key_equal, g_free, NULL);
  g_autoptr(GHashTable) by_key = g_hash_table_new(message_key_hash, message_key_equal);
  g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
  HistoryMerge merge = {
      .messages = messages, .occurrences = occurrences, .by_key = by_key, .checksum = checksum};
  chat_arena_init(&merge.arena);
  gboolean ok = import_seed_scan(st, &st->history, order, collect_message_row, &merge, error);
  chat_arena_clear(&merge.arena);
  return ok;
}

static gboolean submit_message(ImportState *st, const SeedMessage *message, const HistoryRow *row,
                               GError **error) {
  const SeedNotice *n = &row->notice;
  ChatdMessageRecord record = {
      .id = message->new_id,
      .sender_id = n->sender_id,
      .target_type =
          n->target_type == SEED_TARGET_ROOM ? CHATD_STORE_TARGET_ROOM : CHATD_STORE_TARGET_USER,
      .target_id = row->target_id,
      .sent_ms = n->time_ms,
  };
  g_autofree char *font_color = NULL;
  g_autoptr(GBytes) image = NULL;
  if (n->kind == SEED_BODY_IMAGE) {
    record.kind = CHATD_STORE_KIND_IMAGE;
    image = g_bytes_new(n->body, n->body_len);
    record.image = image;
  } else {
    record.kind = CHATD_STORE_KIND_TEXT;
    record.text = n->body != NULL ? (const char *)n->body : "";
    record.text_len = n->body_len;
    record.font_size = n->font_size;
    font_color = g_strndup(n->font_color != NULL ? n->font_color : "", n->font_color_len);
    record.font_color = font_color;
  }
  WriteOp op = {.kind = WRITE_MESSAGE,
                .a = message->new_id,
                .counter = COUNT_MESSAGES,
                .record = &record,
                .offline = (const gint64 *)message->offline->data,
                .n_offline = message->offline->len};
  return import_submit(st, &op, error);
}

/* Pass 2: the messages and how far the scan got. */
typedef struct {
  GPtrArray *messages;
  guint next; /* the next message to store */
  chat_arena arena;
} HistoryStore;

/* Pass 2, one row: stores the message whose first copy it is, if any. */
static gboolean store_message_row(ImportState *st, sqlite3_stmt *stmt, guint64 ordinal,
                                  gpointer data, GError **error) {
  HistoryStore *pass = data;
  if (pass->next >= pass->messages->len)
    return TRUE;
  const SeedMessage *message = g_ptr_array_index(pass->messages, pass->next);
  if (ordinal != message->ordinal)
    return TRUE;
  pass->next++;
  HistoryRow row;
  g_autofree char *why = read_history_row(st, stmt, ordinal, &pass->arena, &row);
  if (why != NULL)
    return import_data_error(error, "chat_history changed while it was read: %s", why);
  return submit_message(st, message, &row, error);
}

/* Pass 2: the same scan again (same read transaction, same rows); each
 * message is stored from its first copy. */
static gboolean store_messages(ImportState *st, GPtrArray *messages, GError **error) {
  static const int order[] = {HISTORY_ID, -1};
  HistoryStore pass = {.messages = messages};
  chat_arena_init(&pass.arena);
  gboolean ok = import_seed_scan(st, &st->history, order, store_message_row, &pass, error);
  chat_arena_clear(&pass.arena);
  if (ok && pass.next < messages->len) {
    const SeedMessage *message = g_ptr_array_index(messages, pass.next);
    return import_data_error(
        error, "chat_history changed while it was read: row %" G_GINT64_FORMAT " is gone",
        message->seed_id);
  }
  return ok;
}

gboolean import_history(ImportState *st, GError **error) {
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(seed_message_free);
  if (!collect_messages(st, messages, error))
    return FALSE;

  /* ids 1..n in (time, seed id) order */
  g_autoptr(GPtrArray) by_time = g_ptr_array_sized_new(messages->len);
  for (guint i = 0; i < messages->len; i++)
    g_ptr_array_add(by_time, g_ptr_array_index(messages, i));
  g_ptr_array_sort(by_time, seed_message_compare);
  for (guint i = 0; i < by_time->len; i++)
    ((SeedMessage *)g_ptr_array_index(by_time, i))->new_id = (gint64)i + 1;

  return store_messages(st, messages, error) && import_settle(st, error);
}
