#include "gtk-client/chat-contacts-window-private.h"

#include "build-config.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-a11y.h"
#include "gtk-client/chat-chat-window-search.h"
#include "gtk-client/chat-contact-row.h"
#include "gtk-client/chat-format.h"
#include "gtk-client/chat-reasons.h"
#include "gtk-client/chat-search-bar.h"
#include "gtk-client/chat-window-size.h"
#include "gtk-client/core/chat-names.h"
#include "gtk-client/core/chat-settings.h"

G_DEFINE_FINAL_TYPE(ChatContactsWindow, chat_contacts_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- the list ---- */

static void setup_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  ChatContactRow *row = chat_contact_row_new();
  chat_contact_row_set_list_item(row, item);
  gtk_list_item_set_child(item, GTK_WIDGET(row));
}

static void bind_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  chat_contact_row_set_contact(CHAT_CONTACT_ROW(gtk_list_item_get_child(item)),
                               CHAT_CONTACT(gtk_list_item_get_item(item)));
}

static void unbind_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  chat_contact_row_set_contact(CHAT_CONTACT_ROW(gtk_list_item_get_child(item)), NULL);
}

static void on_contact_activated(GtkListView *view, guint position, ChatContactsWindow *self) {
  g_autoptr(ChatContact) contact = g_list_model_get_item(G_LIST_MODEL(self->selection), position);
  GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
  if (contact && app)
    chat_application_open_conversation(CHAT_APPLICATION(app), contact);
}

static void update_empty_state(ChatContactsWindow *self) {
  guint n = g_list_model_get_n_items(G_LIST_MODEL(self->selection));
  gtk_stack_set_visible_child_name(self->list_stack, n > 0 ? "list" : "empty");
}

static void on_contacts_changed(GListModel *model, guint position, guint removed, guint added,
                                ChatContactsWindow *self) {
  update_empty_state(self);
}

/* ---- keyboard focus into the list ---- */

/* GTK 4.8's list view gives the focus back to the position it last had,
 * which re-sorting (a new message moves its contact to the top) leaves
 * pointing at another contact. Tabbing into the list lands on the first
 * row instead (the newest conversation). */
static gboolean on_window_key(GtkEventControllerKey *controller, guint keyval, guint keycode,
                              GdkModifierType state, ChatContactsWindow *self) {
  self->tabbing =
      keyval == GDK_KEY_Tab || keyval == GDK_KEY_ISO_Left_Tab || keyval == GDK_KEY_KP_Tab;
  return GDK_EVENT_PROPAGATE;
}

static void forget_tab(ChatContactsWindow *self) {
  self->tabbing = FALSE;
}

static void on_list_focus_enter(GtkEventControllerFocus *controller, ChatContactsWindow *self) {
  if (!self->tabbing)
    return;
  self->tabbing = FALSE;
  GtkWidget *view = GTK_WIDGET(self->contacts_view);
  for (GtkWidget *item = gtk_widget_get_first_child(view); item;
       item = gtk_widget_get_next_sibling(item)) {
    GtkWidget *row = gtk_widget_get_first_child(item);
    if (CHAT_IS_CONTACT_ROW(row) && chat_contact_row_get_position(CHAT_CONTACT_ROW(row)) == 0) {
      if (!gtk_widget_is_focus(item) && !gtk_widget_has_focus(row))
        gtk_widget_grab_focus(item);
      return;
    }
  }
}

/* ---- the title, the user's card, the friend requests strip ---- */

/* The window's title says the unread total for the window list and
 * assistive technologies; the header shows it in a subtitle, so that the
 * title itself never has to be shortened. */
static void update_title(ChatContactsWindow *self) {
  guint unread = chat_session_get_unread_total(self->session);
  g_autofree char *title = NULL;
  if (unread > 0) {
    /* Translators: the contacts window's title with the number of unread messages. */
    title = g_strdup_printf(_("Contacts (%u)"), unread);
    g_autofree char *subtitle = g_strdup_printf(
        /* Translators: under the contacts window's title. */
        g_dngettext(GETTEXT_PACKAGE, "%u unread", "%u unread", unread), unread);
    gtk_label_set_text(self->subtitle_label, subtitle);
  } else {
    title = g_strdup(_("Contacts"));
  }
  gtk_widget_set_visible(GTK_WIDGET(self->subtitle_label), unread > 0);
  gtk_window_set_title(GTK_WINDOW(self), title);
}

static void update_self_card(ChatContactsWindow *self) {
  g_autofree char *nickname = chat_name_single_line(chat_session_get_nickname(self->session));
  g_autofree char *username = chat_name_single_line(chat_session_get_username(self->session));
  if (*nickname == '\0') {
    g_free(nickname);
    nickname = g_strdup(username);
  }
  gtk_label_set_text(self->self_name_label, nickname);
  adw_avatar_set_text(self->self_avatar, nickname);
  const char *state = NULL;
  switch (chat_session_get_state(self->session)) {
  case CHAT_SESSION_ONLINE:
    state = _("Online");
    break;
  case CHAT_SESSION_DISCONNECTED:
    state = _("Offline");
    break;
  default:
    state = _("Connecting…");
    break;
  }
  g_autofree char *detail = *username
                                /* Translators: "@username · Online" under the user's own name. */
                                ? g_strdup_printf(_("@%s · %s"), username, state)
                                : g_strdup(state);
  gtk_label_set_text(self->self_detail_label, detail);
}

static void update_requests(ChatContactsWindow *self) {
  GListModel *requests = chat_session_get_friend_requests(self->session);
  guint n = g_list_model_get_n_items(requests);
  if (n > 0) {
    g_autofree char *text =
        g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u friend request is waiting for an answer.",
                                    "%u friend requests are waiting for an answer.", n),
                        n);
    gtk_label_set_text(self->requests_label, text);
  }
  gtk_widget_set_visible(self->requests_bar, n > 0);
}

static void on_unread_total(ChatSession *session, GParamSpec *pspec, ChatContactsWindow *self) {
  update_title(self);
}

static void on_state_changed(ChatSession *session, ChatContactsWindow *self) {
  update_self_card(self);
}

static void on_requests_changed(GListModel *model, guint position, guint removed, guint added,
                                ChatContactsWindow *self) {
  update_requests(self);
}

void chat_contacts_window_show_error(ChatContactsWindow *self, chat_request_error code,
                                     const char *text) {
  g_return_if_fail(CHAT_IS_CONTACTS_WINDOW(self));
  g_autofree char *translated = chat_reasons_for_failure(code, text);
  gtk_label_set_text(self->notice_label, translated);
  gtk_widget_set_visible(self->notice_bar, TRUE);
}

void chat_contacts_window_show_toast(ChatContactsWindow *self, const char *text) {
  g_return_if_fail(CHAT_IS_CONTACTS_WINDOW(self));
  /* Something worked since: the earlier error is old news. */
  gtk_widget_set_visible(self->notice_bar, FALSE);
  adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(text));
}

static void on_notice_dismiss_clicked(GtkButton *button, ChatContactsWindow *self) {
  gtk_widget_set_visible(self->notice_bar, FALSE);
}

/* A search result: its conversation's window, at the message. */
static void on_search_hit_activated(ChatSearchPanel *panel, ChatSearchHit *hit,
                                    ChatContactsWindow *self) {
  ChatApplication *app = CHAT_APPLICATION(gtk_window_get_application(GTK_WINDOW(self)));
  ChatContact *contact = chat_session_find_contact(
      self->session, chat_search_hit_get_contact_kind(hit), chat_search_hit_get_target_id(hit));
  if (!app || !contact)
    return;
  chat_application_open_conversation(app, contact);
  GtkWindow *window = chat_application_lookup_chat_window(app, contact);
  if (window)
    chat_chat_window_show_message(CHAT_CHAT_WINDOW(window), chat_search_hit_get_message_id(hit));
}

/* Closing the main window quits (the chat windows go with it). */
static gboolean on_close_request(GtkWindow *window, gpointer data) {
  GtkApplication *app = gtk_window_get_application(window);
  if (app)
    g_application_quit(G_APPLICATION(app));
  return FALSE;
}

/* ---- GObject ---- */

ChatContactsWindow *chat_contacts_window_new(ChatApplication *app) {
  ChatSession *session = chat_application_get_session(app);
  g_return_val_if_fail(session != NULL, NULL);
  ChatContactsWindow *self = g_object_new(CHAT_TYPE_CONTACTS_WINDOW, "application", app, NULL);
  self->session = g_object_ref(session);

  GListModel *contacts = chat_session_get_contacts(session);
  self->selection = gtk_no_selection_new(g_object_ref(contacts));
  gtk_list_view_set_model(self->contacts_view, GTK_SELECTION_MODEL(self->selection));
  g_signal_connect_object(self->selection, "items-changed", G_CALLBACK(on_contacts_changed), self,
                          0);

  GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
  g_signal_connect(factory, "setup", G_CALLBACK(setup_row), NULL);
  g_signal_connect(factory, "bind", G_CALLBACK(bind_row), NULL);
  g_signal_connect(factory, "unbind", G_CALLBACK(unbind_row), NULL);
  gtk_list_view_set_factory(self->contacts_view, factory);
  g_object_unref(factory);

  chat_connection_banner_set_session(self->banner, session);
  g_signal_connect(session, "notify::unread-total", G_CALLBACK(on_unread_total), self);
  g_signal_connect(session, "state-changed", G_CALLBACK(on_state_changed), self);
  g_signal_connect(chat_session_get_friend_requests(session), "items-changed",
                   G_CALLBACK(on_requests_changed), self);

  ChatSearchPanel *search = chat_search_bar_attach(GTK_WINDOW(self), self->header_bar,
                                                   GTK_WIDGET(self->banner), session, NULL);
  g_signal_connect_object(search, "hit-activated", G_CALLBACK(on_search_hit_activated), self, 0);

  update_title(self);
  update_self_card(self);
  update_requests(self);
  update_empty_state(self);
  gtk_widget_grab_focus(GTK_WIDGET(self->contacts_view));
  return self;
}

static void chat_contacts_window_dispose(GObject *object) {
  ChatContactsWindow *self = CHAT_CONTACTS_WINDOW(object);
  if (self->session) {
    g_signal_handlers_disconnect_by_data(chat_session_get_friend_requests(self->session), self);
    g_signal_handlers_disconnect_by_data(self->session, self);
    g_clear_object(&self->session);
  }
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_CONTACTS_WINDOW);
  g_clear_object(&self->selection);
  G_OBJECT_CLASS(chat_contacts_window_parent_class)->dispose(object);
}

static void chat_contacts_window_class_init(ChatContactsWindowClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_contacts_window_dispose;

  g_type_ensure(CHAT_TYPE_CONNECTION_BANNER);
  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-contacts-window.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, header_bar);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, banner);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, title_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, subtitle_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, toast_overlay);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, self_avatar);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, self_name_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, self_detail_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, requests_bar);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, requests_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, notice_bar);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, notice_label);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, list_stack);
  gtk_widget_class_bind_template_child(widget_class, ChatContactsWindow, contacts_view);
  gtk_widget_class_bind_template_callback(widget_class, on_contact_activated);
  gtk_widget_class_bind_template_callback(widget_class, on_notice_dismiss_clicked);

  _chat_contacts_window_class_actions_init(klass);
}

static void chat_contacts_window_init(ChatContactsWindow *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  chat_window_size_remember(GTK_WINDOW(self), chat_settings_get_default(),
                            CHAT_SETTINGS_CONTACTS_WINDOW_WIDTH,
                            CHAT_SETTINGS_CONTACTS_WINDOW_HEIGHT);
  chat_a11y_fix_button_names(GTK_WIDGET(self));
  g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);
  GtkEventController *keys = gtk_event_controller_key_new();
  gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
  g_signal_connect(keys, "key-pressed", G_CALLBACK(on_window_key), self);
  gtk_widget_add_controller(GTK_WIDGET(self), keys);
  /* A click is no Tab. */
  GtkGesture *click = gtk_gesture_click_new();
  gtk_event_controller_set_propagation_phase(GTK_EVENT_CONTROLLER(click), GTK_PHASE_CAPTURE);
  g_signal_connect_swapped(click, "pressed", G_CALLBACK(forget_tab), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
  GtkEventController *focus = gtk_event_controller_focus_new();
  g_signal_connect(focus, "enter", G_CALLBACK(on_list_focus_enter), self);
  gtk_widget_add_controller(GTK_WIDGET(self->contacts_view), focus);
}
