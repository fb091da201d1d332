/* chatctl rooms list | create NAME | join ID | leave ID | members ID. */
#include "chatctl/args.h"
#include "chatctl/command.h"
#include "chatctl/exit-status.h"
#include "chatctl/output.h"
#include "chatctl/session.h"

static int print_room(const chatctl_globals *globals, const char *verb, const chat_msg_room *room) {
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
      chatctl_human_line("%" G_GINT64_FORMAT " %.*s", room.room.id, (int)room.room.room_name.len,
                         room.room.room_name.ptr);
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
  chat_msg_str create = {chat_span_cstr(name)};
  chat_msg_int join = {id};
  if (name)
    chat_msg_str_write(chatctl_session_begin(session, CHAT_MSG_CREATE_ROOM), &create);
  else
    chat_msg_int_write(chatctl_session_begin(session, CHAT_MSG_JOIN_ROOM), &join);
  g_autoptr(chatctl_message) room = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_CONTACT_INFO, is_room_contact, &id, &room);
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
  chat_msg_int request = {id};
  chat_msg_int_write(chatctl_session_begin(session, CHAT_MSG_LEAVE_ROOM), &request);
  g_autoptr(chatctl_message) left = NULL;
  int status = chatctl_session_ask(session, CHAT_MSG_LEFT_ROOM, is_left_room, &id, &left);
  if (status)
    return status;
  if (!globals->json) {
    chatctl_human_line("left room %" G_GINT64_FORMAT, id);
    return 0;
  }
  const chatctl_field fields[] = {CHATCTL_INT("left", id)};
  return chatctl_print_fields(fields, G_N_ELEMENTS(fields));
}

static gboolean is_member_list(const chatctl_message *m, gpointer data) {
  chat_msg_query_room_users_result result;
  return chat_msg_query_room_users_result_read(m->params, &result, NULL) == 0 &&
         result.room_id == *(const gint64 *)data;
}

static int members(chatctl_session *session, const chatctl_globals *globals, gint64 id) {
  chat_msg_int request = {id};
  chat_msg_int_write(chatctl_session_begin(session, CHAT_MSG_QUERY_ROOM_USERS), &request);
  g_autoptr(chatctl_message) result = NULL;
  int status =
      chatctl_session_ask(session, CHAT_MSG_QUERY_ROOM_USERS_RESULT, is_member_list, &id, &result);
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
    for (size_t i = 0; i < users->as.list.count; i++)
      chatctl_print_user(FALSE, &users->as.list.items[i]);
  }
  chat_arena_clear(&arena);
  return status;
}

enum { VERB_LIST, VERB_CREATE, VERB_JOIN, VERB_LEAVE, VERB_MEMBERS };

static const chatctl_verb verbs[] = {
    [VERB_LIST] = {"list", NULL},
    [VERB_CREATE] = {"create", "a room name"},
    [VERB_JOIN] = {"join", "a room ID"},
    [VERB_LEAVE] = {"leave", "a room ID"},
    [VERB_MEMBERS] = {"members", "a room ID"},
};

typedef struct {
  size_t verb;
  const char *operand;
  gint64 id; /* join, leave, members */
} rooms_request;

static int run_verb(chatctl_session *session, const chatctl_globals *globals, gpointer data) {
  const rooms_request *r = data;
  switch (r->verb) {
  case VERB_LIST:
    return list_rooms(session, globals);
  case VERB_CREATE:
    return create_or_join(session, globals, r->operand, 0);
  case VERB_JOIN:
    return create_or_join(session, globals, NULL, r->id);
  case VERB_LEAVE:
    return leave(session, globals, r->id);
  default:
    return members(session, globals, r->id);
  }
}

static int chatctl_rooms(const chatctl_command *self, int argc, char **argv,
                         const chatctl_globals *globals) {
  rooms_request r = {0};
  int status =
      chatctl_parse_verb(self, argc, argv, verbs, G_N_ELEMENTS(verbs), &r.verb, &r.operand);
  if (status)
    return status;
  gboolean by_id = r.verb == VERB_JOIN || r.verb == VERB_LEAVE || r.verb == VERB_MEMBERS;
  if (by_id && (status = chatctl_parse_int(self, "the room ID", r.operand, 1, G_MAXINT64, &r.id)))
    return status;
  if (r.verb == VERB_CREATE && !g_utf8_validate(r.operand, -1, NULL))
    return chatctl_usage_error(self, "the room name must be UTF-8 text");
  unsigned flags = CHATCTL_SESSION_LOGIN;
  if (r.verb == VERB_LEAVE)
    flags |= CHATCTL_SESSION_V2_ONLY;
  return chatctl_session_run(self, globals, flags, run_verb, &r);
}

const chatctl_command chatctl_command_rooms = {
    "rooms",
    chatctl_rooms,
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
