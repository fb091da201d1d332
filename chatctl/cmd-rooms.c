/* chatctl rooms list | create NAME | join ID | leave ID | members ID. */
#include <string.h>

#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

static int print_room(const chatctl_globals *globals, const char *verb,
                      const chat_msg_room *room) {
  if (globals->json) {
    chat_arena arena;
    chat_arena_init(&arena);
    int status = chatctl_print_json(chatctl_room_document(&arena, room), FALSE);
    chat_arena_clear(&arena);
    return status;
  }
  if (verb)
    chatctl_human_line("%s room %" G_GINT64_FORMAT " (%.*s)", verb, room->id,
                       (int)room->room_name.len, room->room_name.ptr);
  else
    chatctl_human_line("%" G_GINT64_FORMAT, room->id);
  return 0;
}

static int list_rooms(chatctl_session *session, const chatctl_globals *globals) {
  chat_msg_list rooms;
  chatctl_bundle_contacts(chatctl_session_bundle(session), TRUE, &rooms);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *list = chatctl_new_list(&arena);
  for (size_t i = 0; i < rooms.count; i++) {
    chat_msg_contact room;
    chat_msg_contact_at(&rooms, i, &room);
    if (globals->json)
      chatctl_list_add(&arena, list, chatctl_room_document(&arena, &room.room));
    else
      chatctl_human_line("%" G_GINT64_FORMAT " %.*s", room.room.id,
                         (int)room.room.room_name.len, room.room.room_name.ptr);
  }
  int status = globals->json ? chatctl_print_json(list, FALSE) : 0;
  chat_arena_clear(&arena);
  return status;
}

/* A room contact_info; data: the room id wanted, or 0 for any (create). */
static gboolean is_room_contact(const chatctl_message *m, gpointer data) {
  const gint64 *id = data;
  chat_msg_contact contact;
  return chat_msg_contact_read(m->params, &contact, NULL) == 0 && contact.is_room &&
         contact.type == CHAT_CONTACT_TYPE_ROOM && (*id == 0 || contact.room.id == *id);
}

static int create_or_join(chatctl_session *session, const chatctl_globals *globals,
                          const char *name, gint64 id) {
  if (name)
    chat_write_cstr(chatctl_session_begin(session, CHAT_MSG_CREATE_ROOM), name);
  else
    chat_write_int(chatctl_session_begin(session, CHAT_MSG_JOIN_ROOM), id);
  int status = chatctl_session_send(session);
  if (status)
    return status;
  static const guint32 answers[] = {CHAT_MSG_CONTACT_INFO};
  g_autoptr(chatctl_message) room = NULL;
  status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), is_room_contact, &id,
                                &room);
  if (status)
    return status;
  /* create prints the new room's number alone, for scripts. */
  chat_msg_contact contact;
  chat_msg_contact_read(room->params, &contact, NULL);
  return print_room(globals, name ? NULL : "joined", &contact.room);
}

static gboolean is_left_room(const chatctl_message *m, gpointer data) {
  chat_msg_int left;
  return chat_msg_int_read(m->params, &left, NULL) == 0 && left.value == *(const gint64 *)data;
}

static int leave(chatctl_session *session, const chatctl_globals *globals, gint64 id) {
  chat_write_int(chatctl_session_begin(session, CHAT_MSG_LEAVE_ROOM), id);
  int status = chatctl_session_send(session);
  if (status)
    return status;
  static const guint32 answers[] = {CHAT_MSG_LEFT_ROOM};
  g_autoptr(chatctl_message) left = NULL;
  status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), is_left_room, &id,
                                &left);
  if (status)
    return status;
  if (!globals->json) {
    chatctl_human_line("left room %" G_GINT64_FORMAT, id);
    return 0;
  }
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *doc = chatctl_new_dict(&arena);
  chatctl_dict_add_int(&arena, doc, "left", id);
  status = chatctl_print_json(doc, FALSE);
  chat_arena_clear(&arena);
  return status;
}

static gboolean is_member_list(const chatctl_message *m, gpointer data) {
  chat_msg_query_room_users_result result;
  return chat_msg_query_room_users_result_read(m->params, &result, NULL) == 0 &&
         result.room_id == *(const gint64 *)data;
}

static int members(chatctl_session *session, const chatctl_globals *globals, gint64 id) {
  chat_write_int(chatctl_session_begin(session, CHAT_MSG_QUERY_ROOM_USERS), id);
  int status = chatctl_session_send(session);
  if (status)
    return status;
  static const guint32 answers[] = {CHAT_MSG_QUERY_ROOM_USERS_RESULT};
  g_autoptr(chatctl_message) result = NULL;
  status = chatctl_session_wait(session, answers, G_N_ELEMENTS(answers), is_member_list, &id,
                                &result);
  if (status)
    return status;
  /* Each member goes as a @user. */
  chat_msg_query_room_users_result list;
  chat_msg_query_room_users_result_read(result->params, &list, NULL);
  chat_arena arena;
  chat_arena_init(&arena);
  chat_value *users = chatctl_new_list(&arena);
  for (size_t i = 0; i < list.members.count; i++) {
    chat_msg_room_member m;
    chat_msg_room_member_at(&list.members, i, &m);
    chat_msg_user user = {m.user_id, m.username, m.nickname, m.online};
    chatctl_list_add(&arena, users, chatctl_user_document(&arena, &user));
  }
  if (globals->json) {
    chat_value *doc = chatctl_new_dict(&arena);
    chatctl_dict_add_int(&arena, doc, "room_id", id);
    chatctl_dict_add(&arena, doc, "members", users);
    status = chatctl_print_json(doc, FALSE);
  } else {
    for (size_t i = 0; i < users->as.list.count; i++) {
      g_autofree char *line = chatctl_format_user(&users->as.list.items[i]);
      chatctl_human_line("%s", line);
    }
  }
  chat_arena_clear(&arena);
  return status;
}

static int chatctl_rooms(const chatctl_command *self, int argc, char **argv,
                         const chatctl_globals *globals) {
  const char *args[2] = {NULL, NULL};
  int n;
  int status = chatctl_parse_args(self, argc, argv, NULL, 0, args, 1, 2, &n);
  if (status)
    return status;
  const char *verb = args[0];
  gboolean by_id = strcmp(verb, "join") == 0 || strcmp(verb, "leave") == 0 ||
                   strcmp(verb, "members") == 0;
  gboolean create = strcmp(verb, "create") == 0;
  gboolean list = strcmp(verb, "list") == 0;
  if (!by_id && !create && !list)
    return chatctl_usage_error(self, "unknown verb '%s' (list, create, join, leave, members)",
                               verb);
  if (list && n != 1)
    return chatctl_usage_error(self, "unexpected argument '%s'", args[1]);
  if (!list && n != 2)
    return chatctl_usage_error(self, "%s needs %s", verb, create ? "a room name" : "a room ID");
  gint64 id = 0;
  if (by_id && (status = chatctl_parse_int(self, "the room ID", args[1], 1, G_MAXINT64, &id)))
    return status;
  if (create && !g_utf8_validate(args[1], -1, NULL))
    return chatctl_usage_error(self, "the room name must be UTF-8 text");
  unsigned flags = CHATCTL_SESSION_LOGIN;
  if (strcmp(verb, "leave") == 0)
    flags |= CHATCTL_SESSION_V2_ONLY;

  chatctl_session *session = NULL;
  status = chatctl_session_open(self, globals, flags, &session);
  if (status)
    return status;
  if (list)
    status = list_rooms(session, globals);
  else if (create)
    status = create_or_join(session, globals, args[1], 0);
  else if (strcmp(verb, "join") == 0)
    status = create_or_join(session, globals, NULL, id);
  else if (strcmp(verb, "leave") == 0)
    status = leave(session, globals, id);
  else
    status = members(session, globals, id);
  chatctl_session_close(session);
  return status;
}

const chatctl_command chatctl_command_rooms = {
    "rooms", chatctl_rooms,
    "list, create, join and leave rooms; list a room's members",
    "rooms --user NAME list | create NAME | join ID | leave ID | members ID",
    "Verbs:\n"
    "  list          your rooms (from the login): \"ID NAME\" per line\n"
    "  create NAME   create a room (you join it) and print its number\n"
    "  join ID       join room ID\n"
    "  leave ID      leave room ID (v2 only)\n"
    "  members ID    the members of room ID (you must be one), with their online state\n"
    "\n"
    "Refusals (exit 1, the server's reason on stderr): joining a room you are in\n"
    "or that does not exist; leaving or listing a room you are not in.\n"
    "\n"
    "Options:\n"
    "  --json        list: [{\"id\": N, \"room_name\": ...}, ...]; create, join:\n"
    "                {\"id\": N, \"room_name\": ...}; leave: {\"left\": N};\n"
    "                members: {\"room_id\": N, \"members\": [user, ...]}\n"
    "\n"
    "Examples:\n"
    "  chatctl --user alice rooms create 'book club'\n"
    "  3\n"
    "  chatctl --user bob rooms join 3\n"
    "  joined room 3 (book club)\n",
};
