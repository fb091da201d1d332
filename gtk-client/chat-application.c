#include "gtk-client/chat-application-private.h"

#include "build-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "chat-client-resources.h"
#include "gtk-client/chat-chat-window.h"
#include "gtk-client/chat-color-scheme.h"
#include "gtk-client/chat-contacts-window.h"
#include "gtk-client/chat-dialogs.h"
#include "gtk-client/chat-entry-dialog.h"
#include "gtk-client/chat-format.h"
#include "gtk-client/chat-friend-request-dialog.h"
#include "gtk-client/chat-login-window.h"
#include "gtk-client/chat-reasons.h"
#include "gtk-client/chat-server-key-dialog.h"
#include "gtk-client/core/chat-names.h"
#include "gtk-client/core/chat-settings.h"
#include "protocol/host-port.h"

#define DEFAULT_CONFIG_PATH "config.json"
#define RESOURCE_BASE_PATH "/io/github/chatd/Chat"
/* A notification shows at most this many characters of a message. */
#define NOTIFICATION_BODY_MAX_CHARS 120
#define CHAT_WINDOW_KEY "chat-application-key"

/* Why a friend request is not asked about now. */
enum { REQUEST_DEFERRED = 1, REQUEST_ANSWERED = 2 };

G_DEFINE_FINAL_TYPE(ChatApplication, chat_application, ADW_TYPE_APPLICATION)

ChatApplication *chat_application_new(void) {
  return g_object_new(CHAT_TYPE_APPLICATION, "application-id", CHAT_APPLICATION_ID, "flags",
                      G_APPLICATION_DEFAULT_FLAGS, "resource-base-path", RESOURCE_BASE_PATH, NULL);
}

ChatSession *chat_application_get_session(ChatApplication *self) {
  g_return_val_if_fail(CHAT_IS_APPLICATION(self), NULL);
  return self->session;
}

const char *chat_application_get_config_error(ChatApplication *self) {
  g_return_val_if_fail(CHAT_IS_APPLICATION(self), NULL);
  return self->config_error;
}

const char *chat_application_get_server_address(ChatApplication *self) {
  g_return_val_if_fail(CHAT_IS_APPLICATION(self), "");
  return self->server_address ? self->server_address : "";
}

char *_chat_application_contact_key(ChatContact *contact) {
  return g_strdup_printf("conversation-%d-%" G_GINT64_FORMAT, (int)chat_contact_get_kind(contact),
                         chat_contact_get_id(contact));
}

/* The window dialogs go over: the focused one, else any. */
static GtkWindow *dialog_parent(ChatApplication *self) {
  GtkWindow *active = gtk_application_get_active_window(GTK_APPLICATION(self));
  if (active)
    return active;
  if (self->contacts_window)
    return self->contacts_window;
  return self->login_window;
}

/* ---- windows ---- */

static void show_login_window(ChatApplication *self) {
  if (self->login_window == NULL) {
    self->login_window = GTK_WINDOW(chat_login_window_new(self));
    g_object_add_weak_pointer(G_OBJECT(self->login_window), (gpointer *)&self->login_window);
  }
  gtk_window_present(self->login_window);
}

/* Closes the contacts window, the chat windows and the friend request
 * dialog (logging out, logged in elsewhere). */
static void close_session_windows(ChatApplication *self) {
  if (self->friend_request_dialog)
    gtk_window_destroy(self->friend_request_dialog);
  GList *windows = g_list_copy(gtk_application_get_windows(GTK_APPLICATION(self)));
  for (GList *l = windows; l; l = l->next) {
    if (l->data != (gpointer)self->login_window)
      gtk_window_destroy(GTK_WINDOW(l->data));
  }
  g_list_free(windows);
  g_hash_table_remove_all(self->deferred_requests);
}

static void show_contacts_window(ChatApplication *self) {
  if (self->contacts_window == NULL) {
    self->contacts_window = GTK_WINDOW(chat_contacts_window_new(self));
    g_object_add_weak_pointer(G_OBJECT(self->contacts_window), (gpointer *)&self->contacts_window);
  }
  gtk_window_present(self->contacts_window);
  if (self->login_window)
    gtk_window_destroy(self->login_window);
}

static void on_chat_window_destroy(GtkWidget *window, gpointer data) {
  ChatApplication *self = data;
  const char *key = g_object_get_data(G_OBJECT(window), CHAT_WINDOW_KEY);
  if (self->chat_windows && key && g_hash_table_lookup(self->chat_windows, key) == window)
    g_hash_table_remove(self->chat_windows, key);
}

GtkWindow *chat_application_lookup_chat_window(ChatApplication *self, ChatContact *contact) {
  g_return_val_if_fail(CHAT_IS_APPLICATION(self), NULL);
  g_autofree char *key = _chat_application_contact_key(contact);
  return g_hash_table_lookup(self->chat_windows, key);
}

void chat_application_open_conversation(ChatApplication *self, ChatContact *contact) {
  g_return_if_fail(CHAT_IS_APPLICATION(self));
  g_return_if_fail(CHAT_IS_CONTACT(contact));
  if (self->session == NULL)
    return;
  g_autofree char *key = _chat_application_contact_key(contact);
  GtkWindow *window = g_hash_table_lookup(self->chat_windows, key);
  if (window == NULL) {
    window = GTK_WINDOW(chat_chat_window_new(self, contact));
    g_object_set_data_full(G_OBJECT(window), CHAT_WINDOW_KEY, g_strdup(key), g_free);
    g_hash_table_insert(self->chat_windows, g_strdup(key), window);
    g_signal_connect(window, "destroy", G_CALLBACK(on_chat_window_destroy), self);
  }
  gtk_window_present(window);
  g_application_withdraw_notification(G_APPLICATION(self), key);
}

void chat_application_log_out(ChatApplication *self) {
  g_return_if_fail(CHAT_IS_APPLICATION(self));
  show_login_window(self);
  close_session_windows(self);
  if (self->session)
    chat_session_logout(self->session);
}

/* ---- friend requests ---- */

static void show_next_friend_request(ChatApplication *self);

static void on_friend_request_answered(ChatFriendRequestDialog *dialog, int answer, gpointer data) {
  ChatApplication *self = data;
  ChatContact *requester = chat_friend_request_dialog_get_requester(dialog);
  gint64 id = chat_contact_get_id(requester);
  int why = answer == CHAT_FRIEND_REQUEST_LATER ? REQUEST_DEFERRED : REQUEST_ANSWERED;
  g_hash_table_insert(self->deferred_requests, g_memdup2(&id, sizeof id), GINT_TO_POINTER(why));
  if (answer != CHAT_FRIEND_REQUEST_LATER && self->session)
    chat_session_answer_friend_request(self->session, requester,
                                       answer == CHAT_FRIEND_REQUEST_ACCEPT);
}

static void on_friend_request_dialog_destroy(GtkWidget *dialog, gpointer data) {
  ChatApplication *self = data;
  if (self->friend_request_dialog == GTK_WINDOW(dialog))
    self->friend_request_dialog = NULL;
  show_next_friend_request(self);
}

static void show_next_friend_request(ChatApplication *self) {
  if (self->friend_request_dialog || self->contacts_window == NULL || self->session == NULL)
    return;
  GListModel *requests = chat_session_get_friend_requests(self->session);
  guint n = g_list_model_get_n_items(requests);
  for (guint i = 0; i < n; i++) {
    g_autoptr(ChatContact) requester = g_list_model_get_item(requests, i);
    gint64 id = chat_contact_get_id(requester);
    if (g_hash_table_contains(self->deferred_requests, &id))
      continue;
    ChatFriendRequestDialog *dialog =
        chat_friend_request_dialog_new(self->contacts_window, requester);
    self->friend_request_dialog = GTK_WINDOW(dialog);
    g_signal_connect(dialog, "answered", G_CALLBACK(on_friend_request_answered), self);
    g_signal_connect(dialog, "destroy", G_CALLBACK(on_friend_request_dialog_destroy), self);
    gtk_window_present(GTK_WINDOW(dialog));
    return;
  }
}

static gboolean remove_if_deferred(gpointer key, gpointer value, gpointer data) {
  return GPOINTER_TO_INT(value) == REQUEST_DEFERRED;
}

void chat_application_review_friend_requests(ChatApplication *self) {
  g_return_if_fail(CHAT_IS_APPLICATION(self));
  g_hash_table_foreach_remove(self->deferred_requests, remove_if_deferred, NULL);
  show_next_friend_request(self);
}

/* ---- requests answered where they were asked ---- */

static void push_asker(GQueue *askers, gpointer asker) {
  GWeakRef *ref = g_new0(GWeakRef, 1);
  g_weak_ref_init(ref, asker);
  g_queue_push_tail(askers, ref);
}

/* The oldest asker waiting (a new reference), or NULL when it has gone
 * away or none waits. */
static gpointer pop_asker(GQueue *askers) {
  GWeakRef *ref = g_queue_pop_head(askers);
  if (ref == NULL)
    return NULL;
  gpointer asker = g_weak_ref_get(ref);
  g_weak_ref_clear(ref);
  g_free(ref);
  return asker;
}

/* Tells every asker still waiting that no answer will come. */
static void fail_askers(GQueue *askers, const char *reason) {
  while (!g_queue_is_empty(askers)) {
    g_autoptr(GObject) asker = pop_asker(askers);
    if (CHAT_IS_ENTRY_DIALOG(asker))
      chat_entry_dialog_show_error(CHAT_ENTRY_DIALOG(asker), reason);
  }
}

static void show_toast(ChatApplication *self, gpointer where, const char *text) {
  if (CHAT_IS_CHAT_WINDOW(where))
    chat_chat_window_show_toast(CHAT_CHAT_WINDOW(where), text);
  else if (self->contacts_window)
    chat_contacts_window_show_toast(CHAT_CONTACTS_WINDOW(self->contacts_window), text);
}

/* A result with its asker: a dialog closes (success) or says why not; a
 * chat window shows a toast. Returns FALSE when nobody waits for it (the
 * contacts window then shows the notice). */
static gboolean answer_asker(ChatApplication *self, gpointer asker, gboolean ok,
                             const char *success, const char *reason) {
  if (CHAT_IS_ENTRY_DIALOG(asker)) {
    if (ok) {
      chat_entry_dialog_finish(CHAT_ENTRY_DIALOG(asker));
      show_toast(self, NULL, success);
    } else {
      chat_entry_dialog_show_error(CHAT_ENTRY_DIALOG(asker), reason);
    }
    return TRUE;
  }
  if (CHAT_IS_CHAT_WINDOW(asker)) {
    show_toast(self, asker, ok ? success : reason);
    return TRUE;
  }
  return FALSE;
}

static gboolean ask_online(ChatApplication *self, gpointer asker) {
  if (self->session && chat_session_get_state(self->session) == CHAT_SESSION_ONLINE)
    return TRUE;
  const char *reason = _("You are not connected to the server.");
  if (!answer_asker(self, asker, FALSE, NULL, reason) && self->contacts_window)
    chat_contacts_window_show_error(CHAT_CONTACTS_WINDOW(self->contacts_window),
                                    CHAT_REQUEST_ERROR_UNKNOWN, reason);
  return FALSE;
}

void chat_application_add_friend(ChatApplication *self, const char *username, gpointer asker) {
  g_return_if_fail(CHAT_IS_APPLICATION(self));
  if (ask_online(self, asker) && chat_session_add_friend(self->session, username))
    push_asker(&self->add_friend_askers, asker);
}

void chat_application_join_room(ChatApplication *self, gint64 room_id, gpointer asker) {
  g_return_if_fail(CHAT_IS_APPLICATION(self));
  if (ask_online(self, asker) && chat_session_join_room(self->session, room_id))
    push_asker(&self->join_room_askers, asker);
}

static void on_add_friend_result(ChatSession *session, gboolean ok, const char *reason,
                                 gpointer data) {
  ChatApplication *self = data;
  g_autoptr(GObject) asker = pop_asker(&self->add_friend_askers);
  g_autofree char *why = chat_reasons_for_failure(chat_session_get_failure_code(session), reason);
  /* The session's "notice" with the same news follows. */
  self->notice_claimed = answer_asker(self, asker, ok, _("The friend request was sent."), why);
}

static void on_join_room_result(ChatSession *session, gint64 room_id, gboolean ok,
                                const char *reason, gpointer data) {
  ChatApplication *self = data;
  g_autoptr(GObject) asker = pop_asker(&self->join_room_askers);
  g_autofree char *why = chat_reasons_for_failure(chat_session_get_failure_code(session), reason);
  g_autofree char *joined = NULL;
  if (ok) {
    ChatContact *room = chat_session_find_contact(session, CHAT_CONTACT_ROOM, room_id);
    g_autofree char *name = chat_name_single_line(room ? chat_contact_get_name(room) : "");
    /* Translators: a toast after joining a room; %s is its name. */
    joined = g_strdup_printf(_("Joined “%s”."), name);
  }
  gboolean answered = answer_asker(self, asker, ok, joined, why);
  if (ok && !answered)
    show_toast(self, NULL, joined);
  /* A failure's "notice" follows; a success has none. */
  self->notice_claimed = answered && !ok;
}

/* ---- session signals ---- */

static void on_state_changed(ChatSession *session, gpointer data) {
  ChatApplication *self = data;
  if (chat_session_get_state(session) != CHAT_SESSION_ONLINE) {
    /* The session forgets the requests in flight: no answer will come. */
    const char *reason = _("You are not connected to the server.");
    fail_askers(&self->add_friend_askers, reason);
    fail_askers(&self->join_room_askers, reason);
  }
  if (chat_session_get_state(session) == CHAT_SESSION_ONLINE && self->contacts_window == NULL) {
    /* Signed in: the next launch fills the username in (never a password). */
    GSettings *settings = chat_settings_get_default();
    const char *username = chat_session_get_username(session);
    if (settings && username)
      g_settings_set_string(settings, CHAT_SETTINGS_LAST_USERNAME, username);
    show_contacts_window(self);
    show_next_friend_request(self);
  }
}

static void on_friend_request(ChatSession *session, ChatContact *requester, gpointer data) {
  show_next_friend_request(data);
}

static void on_kicked(ChatSession *session, const char *reason, const char *address, gint64 time_ms,
                      gpointer data) {
  ChatApplication *self = data;
  show_login_window(self);
  close_session_windows(self);
  g_autofree char *body = NULL;
  if (address && *address && time_ms > 0) {
    g_autofree char *when = chat_format_full_time(time_ms);
    /* Translators: the first %s is an address like 192.0.2.7:51234, the second a date and time. */
    body = g_strdup_printf(_("Your account was logged in from %s at %s, so you have been logged "
                             "out here."),
                           address, when);
  } else if (address && *address) {
    body = g_strdup_printf(_("Your account was logged in from %s, so you have been logged out "
                             "here."),
                           address);
  } else {
    body = g_strdup(_("Your account was logged in from another place, so you have been logged "
                      "out here."));
  }
  chat_login_window_show_error(CHAT_LOGIN_WINDOW(self->login_window),
                               _("Logged out: your account was logged in elsewhere."), FALSE);
  chat_dialogs_show_message(self->login_window, _("Logged In Elsewhere"), body);
}

static void on_server_key_decided(ChatServerKeyDialog *dialog, gboolean accept, gpointer data) {
  ChatApplication *self = data;
  if (self->session == NULL)
    return;
  chat_session_trust_server(self->session, chat_server_key_dialog_get_fingerprint(dialog), accept);
  if (!accept && self->login_window)
    chat_login_window_show_error(CHAT_LOGIN_WINDOW(self->login_window),
                                 _("Not connected: the server's key was not trusted."), TRUE);
}

static void on_confirm_server_key(ChatSession *session, const char *host_port,
                                  const char *fingerprint, gpointer data) {
  ChatApplication *self = data;
  ChatServerKeyDialog *dialog =
      chat_server_key_dialog_new(dialog_parent(self), host_port, fingerprint);
  g_signal_connect(dialog, "decided", G_CALLBACK(on_server_key_decided), self);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_server_key_changed(ChatSession *session, const char *message, gpointer data) {
  ChatApplication *self = data;
  if (self->login_window)
    chat_login_window_show_error(CHAT_LOGIN_WINDOW(self->login_window),
                                 _("Not connected: the server's key has changed."), TRUE);
  g_autofree char *body = g_strdup_printf(
      "%s\n\n%s", message,
      _("The connection was refused. Someone may be impersonating the server. If the server's "
        "key was changed on purpose, remove the old key (chatctl forget-host) and connect "
        "again."));
  chat_dialogs_show_message(dialog_parent(self), _("The Server's Key Has Changed"), body);
}

static void on_room_created(ChatSession *session, ChatContact *room, gpointer data) {
  ChatApplication *self = data;
  g_autofree char *number = g_strdup_printf("%" G_GINT64_FORMAT, chat_contact_get_id(room));
  g_autofree char *name = chat_name_single_line(chat_contact_get_name(room));
  g_autofree char *body = g_strdup_printf(
      /* Translators: the first %s is a room name, the second its number. */
      _("The room “%s” was created. Its number is %s; others can join it with this number."), name,
      number);
  chat_dialogs_show_message(dialog_parent(self), _("Room Created"), body);
}

static void on_notice(ChatSession *session, const char *text, gpointer data) {
  ChatApplication *self = data;
  /* chatd follows create_room with 'Room "NAME" created: its number is N';
   * the "room-created" dialog already says so. */
  if (text && g_str_has_prefix(text, "Room \"") && strstr(text, "\" created: its number is "))
    return;
  if (self->notice_claimed) {
    self->notice_claimed = FALSE;
    return;
  }
  chat_request_error code = chat_session_get_failure_code(session);
  gboolean failure = chat_session_is_reporting_failure(session);
  if (self->contacts_window) {
    ChatContactsWindow *contacts = CHAT_CONTACTS_WINDOW(self->contacts_window);
    if (failure) {
      chat_contacts_window_show_error(contacts, code, text);
    } else {
      g_autofree char *translated = chat_reasons_for_failure(code, text);
      chat_contacts_window_show_toast(contacts, translated);
    }
  } else if (self->login_window) {
    g_autofree char *reason = chat_reasons_for_failure(code, text);
    chat_login_window_show_error(CHAT_LOGIN_WINDOW(self->login_window), reason, FALSE);
  }
}

static void on_error(ChatSession *session, const char *message, gpointer data) {
  ChatApplication *self = data;
  /* Before login the login window shows it; afterwards the contacts
   * window's banner says "Disconnected" and this says why. */
  if (self->contacts_window)
    chat_contacts_window_show_error(CHAT_CONTACTS_WINDOW(self->contacts_window),
                                    CHAT_REQUEST_ERROR_UNKNOWN, message);
}

/* "Bob: see you" / "[Image]", one line, shortened. */
static char *notification_body(ChatContact *contact, ChatMessageItem *item) {
  g_autofree char *text = NULL;
  if (chat_message_item_get_kind(item) == CHAT_MESSAGE_IMAGE) {
    text = g_strdup(_("[Image]"));
  } else {
    text = g_strdup(chat_message_item_get_text(item) ? chat_message_item_get_text(item) : "");
    g_strdelimit(text, "\r\n\t", ' ');
    if (g_utf8_validate(text, -1, NULL) && g_utf8_strlen(text, -1) > NOTIFICATION_BODY_MAX_CHARS) {
      g_autofree char *shortened = g_utf8_substring(text, 0, NOTIFICATION_BODY_MAX_CHARS);
      g_free(text);
      text = g_strconcat(shortened, "…", NULL);
    }
  }
  if (chat_contact_get_kind(contact) == CHAT_CONTACT_ROOM) {
    g_autofree char *label = chat_sender_label(chat_message_item_get_sender_name(item),
                                               chat_message_item_get_sender_username(item));
    g_autofree char *sender = chat_name_single_line(label);
    /* Translators: a room message in a notification: "sender: message". */
    return g_strdup_printf(_("%s: %s"), sender, text);
  }
  return g_steal_pointer(&text);
}

static void on_new_message(ChatSession *session, ChatContact *contact, ChatMessageItem *item,
                           gpointer data) {
  ChatApplication *self = data;
  if (chat_message_item_get_outgoing(item))
    return;
  GtkWindow *window = chat_application_lookup_chat_window(self, contact);
  if (window && gtk_window_is_active(window))
    return;
  g_autofree char *key = _chat_application_contact_key(contact);
  g_autofree char *body = notification_body(contact, item);
  g_autofree char *title = chat_name_single_line(chat_contact_get_name(contact));
  g_autoptr(GNotification) notification = g_notification_new(title);
  g_notification_set_body(notification, body);
  g_notification_set_category(notification, "im.received");
  g_notification_set_default_action_and_target(notification, "app.open-conversation", "(ix)",
                                               (gint32)chat_contact_get_kind(contact),
                                               chat_contact_get_id(contact));
  g_application_send_notification(G_APPLICATION(self), key, notification);
}

static void connect_session(ChatApplication *self) {
  g_signal_connect(self->session, "state-changed", G_CALLBACK(on_state_changed), self);
  g_signal_connect(self->session, "friend-request", G_CALLBACK(on_friend_request), self);
  g_signal_connect(self->session, "kicked", G_CALLBACK(on_kicked), self);
  g_signal_connect(self->session, "confirm-server-key", G_CALLBACK(on_confirm_server_key), self);
  g_signal_connect(self->session, "server-key-changed", G_CALLBACK(on_server_key_changed), self);
  g_signal_connect(self->session, "room-created", G_CALLBACK(on_room_created), self);
  g_signal_connect(self->session, "notice", G_CALLBACK(on_notice), self);
  g_signal_connect(self->session, "error", G_CALLBACK(on_error), self);
  g_signal_connect(self->session, "new-message", G_CALLBACK(on_new_message), self);
  g_signal_connect(self->session, "add-friend-result", G_CALLBACK(on_add_friend_result), self);
  g_signal_connect(self->session, "join-room-result", G_CALLBACK(on_join_room_result), self);
}

/* ---- GApplication ---- */

static char *format_host_port(const char *host, guint16 port) {
  char *host_port = chat_host_port_new(host, port);
  if (host_port == NULL)
    g_error("out of memory");
  return host_port;
}

static void load_configuration(ChatApplication *self) {
  const char *path = self->config_path ? self->config_path : DEFAULT_CONFIG_PATH;
  g_autoptr(GError) error = NULL;
  if (!chat_session_options_load(&self->options, path, &error)) {
    chat_session_options_clear(&self->options);
    g_autofree char *display = g_filename_display_name(path);
    /* Translators: the first %s is a file name, the second the reason. */
    self->config_error =
        g_strdup_printf(_("Cannot read the configuration %s: %s"), display, error->message);
    g_warning("%s", self->config_error);
    return;
  }
  self->have_options = TRUE;
  self->server_address = format_host_port(self->options.host, self->options.port);
}

static gint chat_application_handle_local_options(GApplication *app, GVariantDict *options) {
  ChatApplication *self = CHAT_APPLICATION(app);
  g_autofree char *path = NULL;
  if (g_variant_dict_lookup(options, "config", "^ay", &path)) {
    g_free(self->config_path);
    self->config_path = g_steal_pointer(&path);
  }
  return -1;
}

static void chat_application_startup(GApplication *app) {
  ChatApplication *self = CHAT_APPLICATION(app);
  chat_client_register_resource();
  G_APPLICATION_CLASS(chat_application_parent_class)->startup(app);

  g_set_application_name(_("Chat"));
  gtk_window_set_default_icon_name("user-available");
  /* AdwApplication loads style.css (and style-dark.css) from the resource
   * base path and follows the system's colour scheme through its style
   * manager. */

  chat_color_scheme_follow_settings(chat_settings_get_default());
  _chat_application_actions_init(self);
  load_configuration(self);
  if (self->have_options) {
    self->session = chat_session_new(&self->options);
    connect_session(self);
  }
}

static void chat_application_activate(GApplication *app) {
  ChatApplication *self = CHAT_APPLICATION(app);
  if (self->contacts_window) {
    gtk_window_present(self->contacts_window);
    return;
  }
  show_login_window(self);
}

static void chat_application_shutdown(GApplication *app) {
  ChatApplication *self = CHAT_APPLICATION(app);
  GList *windows;
  while ((windows = gtk_application_get_windows(GTK_APPLICATION(app))) != NULL)
    gtk_window_destroy(GTK_WINDOW(windows->data));
  if (self->session) {
    g_signal_handlers_disconnect_by_data(self->session, self);
    g_clear_object(&self->session);
  }
  G_APPLICATION_CLASS(chat_application_parent_class)->shutdown(app);
  chat_client_unregister_resource();
}

static void chat_application_finalize(GObject *object) {
  ChatApplication *self = CHAT_APPLICATION(object);
  g_clear_object(&self->session);
  g_clear_pointer(&self->chat_windows, g_hash_table_unref);
  g_clear_pointer(&self->deferred_requests, g_hash_table_unref);
  fail_askers(&self->add_friend_askers, NULL);
  fail_askers(&self->join_room_askers, NULL);
  chat_session_options_clear(&self->options);
  g_free(self->config_path);
  g_free(self->config_error);
  g_free(self->server_address);
  G_OBJECT_CLASS(chat_application_parent_class)->finalize(object);
}

static void chat_application_class_init(ChatApplicationClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS(klass);
  object_class->finalize = chat_application_finalize;
  app_class->handle_local_options = chat_application_handle_local_options;
  app_class->startup = chat_application_startup;
  app_class->activate = chat_application_activate;
  app_class->shutdown = chat_application_shutdown;
}

static void chat_application_init(ChatApplication *self) {
  self->chat_windows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  self->deferred_requests = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  g_application_add_main_option(G_APPLICATION(self), "config", 'c', G_OPTION_FLAG_NONE,
                                G_OPTION_ARG_FILENAME,
                                _("The configuration file (default ./config.json)"), _("PATH"));
  g_application_set_option_context_summary(G_APPLICATION(self),
                                           _("A desktop client for the chat server."));
}
