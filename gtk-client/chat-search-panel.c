#include "gtk-client/chat-search-panel.h"

#include "build-config.h"

#include <glib/gi18n.h>

#include "gtk-client/chat-format.h"
#include "gtk-client/chat-reasons.h"
#include "gtk-client/core/chat-names.h"

/* Results per request: the server's largest page. */
#define SEARCH_PAGE_SIZE CHAT_SEARCH_LIMIT_MAX
/* A match further into a text than this many characters is shown with
 * the text before it cut to SNIPPET_LEAD_CHARS, so the row shows it. */
#define SNIPPET_CUT_AFTER_CHARS 40
#define SNIPPET_LEAD_CHARS 16
/* Lines of a hit's text a row shows at most. */
#define HIT_TEXT_LINES 3
/* The highlight of a match: dark text on yellow reads in light and dark
 * styles alike. */
#define MATCH_SPAN_OPEN "<span weight=\"bold\" background=\"#f9f06b\" foreground=\"#000000\">"
#define MATCH_SPAN_CLOSE "</span>"

struct _ChatSearchPanel {
  GtkBox parent_instance;

  ChatSession *session;
  ChatContact *conversation; /* NULL: all */
  GListStore *hits;          /* ChatSearchHit */
  GtkNoSelection *selection;
  GCancellable *cancellable; /* the search in flight */
  char *query;               /* the query shown, NULL when none */
  gint64 next_before_id;
  gboolean more;
  gboolean loading;

  GtkSearchEntry *entry;
  GtkStack *state_stack;
  GtkScrolledWindow *results_scroller;
  GtkListView *results_view;
  GtkWidget *more_button;
  GtkSpinner *more_spinner;
  GtkSpinner *loading_spinner;
  GtkLabel *message_label;
};

G_DEFINE_FINAL_TYPE(ChatSearchPanel, chat_search_panel, GTK_TYPE_BOX)

enum {
  SIGNAL_HIT_ACTIVATED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

/* ---- a hit's text ---- */

static void append_escaped(GString *markup, const char *text, gsize len) {
  g_autofree char *escaped = g_markup_escape_text(text, (gssize)len);
  g_string_append(markup, escaped);
}

char *chat_search_panel_hit_markup(ChatSearchHit *hit) {
  const char *text = chat_search_hit_get_text(hit);
  guint n_pairs = 0;
  const guint *pairs = chat_search_hit_get_matches(hit, &n_pairs);
  GString *markup = g_string_new(NULL);
  gsize done = 0;
  /* A long lead-in would hide the first match past the row's end. */
  if (n_pairs > 0 && g_utf8_strlen(text, pairs[0]) > SNIPPET_CUT_AFTER_CHARS) {
    const char *first = text + pairs[0];
    const char *lead = first;
    for (int i = 0; i < SNIPPET_LEAD_CHARS; i++)
      lead = g_utf8_prev_char(lead);
    g_string_append(markup, "…");
    done = (gsize)(lead - text);
  }
  for (guint i = 0; i < n_pairs; i++) {
    gsize start = pairs[2 * i], length = pairs[2 * i + 1];
    append_escaped(markup, text + done, start - done);
    g_string_append(markup, MATCH_SPAN_OPEN);
    append_escaped(markup, text + start, length);
    g_string_append(markup, MATCH_SPAN_CLOSE);
    done = start + length;
  }
  append_escaped(markup, text + done, strlen(text + done));
  return g_string_free(markup, FALSE);
}

/* "Hikers", "Bob": the conversation a hit is in. */
static char *conversation_name(ChatSearchPanel *self, ChatSearchHit *hit) {
  ChatContact *contact =
      self->session
          ? chat_session_find_contact(self->session, chat_search_hit_get_contact_kind(hit),
                                      chat_search_hit_get_target_id(hit))
          : NULL;
  if (contact)
    return chat_name_single_line(chat_contact_get_name(contact));
  if (chat_search_hit_get_contact_kind(hit) == CHAT_CONTACT_ROOM) {
    g_autofree char *number =
        g_strdup_printf("%" G_GINT64_FORMAT, chat_search_hit_get_target_id(hit));
    /* Translators: a room the user has left, by its number. */
    return g_strdup_printf(_("Room %s"), number);
  }
  return g_strdup(_("A former friend"));
}

static char *sender_name(ChatSearchHit *hit) {
  if (chat_search_hit_get_outgoing(hit))
    return g_strdup(_("You"));
  g_autofree char *label = chat_sender_label(chat_search_hit_get_sender_name(hit),
                                             chat_search_hit_get_sender_username(hit));
  return chat_name_single_line(label);
}

/* ---- rows ---- */

/* Each row is a flat button, so it can be activated from the keyboard, by
 * a click and through the accessibility tree alike. */
typedef struct {
  GtkLabel *where;
  GtkLabel *time;
  GtkLabel *text;
} HitRow;

#define HIT_ROW_KEY "chat-hit-row"
#define HIT_KEY "chat-hit"

static void on_row_clicked(GtkButton *button, ChatSearchPanel *self) {
  ChatSearchHit *hit = g_object_get_data(G_OBJECT(button), HIT_KEY);
  if (hit)
    g_signal_emit(self, signals[SIGNAL_HIT_ACTIVATED], 0, hit);
}

static void setup_row(GtkSignalListItemFactory *factory, GtkListItem *item, ChatSearchPanel *self) {
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *header = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *where = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(where), 0);
  gtk_label_set_ellipsize(GTK_LABEL(where), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand(where, TRUE);
  gtk_widget_add_css_class(where, "heading");
  GtkWidget *time = gtk_label_new(NULL);
  gtk_widget_add_css_class(time, "dim-label");
  gtk_box_append(GTK_BOX(header), where);
  gtk_box_append(GTK_BOX(header), time);
  GtkWidget *text = gtk_label_new(NULL);
  gtk_label_set_xalign(GTK_LABEL(text), 0);
  gtk_label_set_wrap(GTK_LABEL(text), TRUE);
  gtk_label_set_wrap_mode(GTK_LABEL(text), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_lines(GTK_LABEL(text), HIT_TEXT_LINES);
  gtk_label_set_ellipsize(GTK_LABEL(text), PANGO_ELLIPSIZE_END);
  gtk_box_append(GTK_BOX(box), header);
  gtk_box_append(GTK_BOX(box), text);
  GtkWidget *button = gtk_button_new();
  gtk_button_set_child(GTK_BUTTON(button), box);
  gtk_widget_add_css_class(button, "flat");
  gtk_widget_add_css_class(button, "search-hit");
  HitRow *row = g_new(HitRow, 1);
  *row = (HitRow){GTK_LABEL(where), GTK_LABEL(time), GTK_LABEL(text)};
  g_object_set_data_full(G_OBJECT(button), HIT_ROW_KEY, row, g_free);
  g_signal_connect(button, "clicked", G_CALLBACK(on_row_clicked), self);
  gtk_list_item_set_child(item, button);
  gtk_list_item_set_activatable(item, FALSE);
}

static void bind_row(GtkSignalListItemFactory *factory, GtkListItem *item, ChatSearchPanel *self) {
  ChatSearchHit *hit = gtk_list_item_get_item(item);
  GtkWidget *button = gtk_list_item_get_child(item);
  HitRow *row = g_object_get_data(G_OBJECT(button), HIT_ROW_KEY);
  g_object_set_data_full(G_OBJECT(button), HIT_KEY, g_object_ref(hit), g_object_unref);
  g_autofree char *where = conversation_name(self, hit);
  g_autofree char *sender = sender_name(hit);
  /* Translators: a search result's heading: the conversation, then who wrote it. */
  g_autofree char *heading = g_strdup_printf(_("%s · %s"), where, sender);
  gtk_label_set_text(row->where, heading);
  g_autofree char *time = chat_format_message_time(chat_search_hit_get_time(hit));
  gtk_label_set_text(row->time, time);
  g_autofree char *markup = chat_search_panel_hit_markup(hit);
  gtk_label_set_markup(row->text, markup);
  /* Translators: a search result as a screen reader says it: heading, time, text. */
  g_autofree char *spoken =
      g_strdup_printf(_("%s, %s: %s"), heading, time, chat_search_hit_get_text(hit));
  gtk_accessible_update_property(GTK_ACCESSIBLE(button), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
}

static void unbind_row(GtkSignalListItemFactory *factory, GtkListItem *item, gpointer data) {
  g_object_set_data(G_OBJECT(gtk_list_item_get_child(item)), HIT_KEY, NULL);
}

static void teardown_row(GtkSignalListItemFactory *factory, GtkListItem *item,
                         ChatSearchPanel *self) {
  GtkWidget *button = gtk_list_item_get_child(item);
  if (button)
    g_signal_handlers_disconnect_by_data(button, self);
}

/* ---- searching ---- */

static void show_message(ChatSearchPanel *self, const char *text) {
  gtk_label_set_text(self->message_label, text);
  gtk_stack_set_visible_child_name(self->state_stack, "message");
}

static void set_loading(ChatSearchPanel *self, gboolean loading) {
  self->loading = loading;
  gboolean first_page = g_list_model_get_n_items(G_LIST_MODEL(self->hits)) == 0;
  gtk_spinner_set_spinning(self->loading_spinner, loading && first_page);
  gtk_spinner_set_spinning(self->more_spinner, loading && !first_page);
  gtk_widget_set_visible(GTK_WIDGET(self->more_spinner), loading && !first_page);
  gtk_widget_set_visible(self->more_button, !loading && self->more);
  if (loading && first_page)
    gtk_stack_set_visible_child_name(self->state_stack, "loading");
}

static void on_page(GObject *source, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatSearchResults) page =
      chat_session_search_finish(CHAT_SESSION(source), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* a newer query replaced it, or the panel is gone */
  ChatSearchPanel *self = data;
  g_clear_object(&self->cancellable);
  if (!page) {
    self->more = FALSE;
    set_loading(self, FALSE);
    g_autofree char *text =
        chat_reasons_for_failure(chat_search_error_get_code(error), error->message);
    show_message(self, text);
    return;
  }
  self->more = page->more && page->hits->len > 0;
  self->next_before_id = page->before_id;
  g_list_store_splice(self->hits, g_list_model_get_n_items(G_LIST_MODEL(self->hits)), 0,
                      page->hits->pdata, page->hits->len);
  set_loading(self, FALSE);
  if (g_list_model_get_n_items(G_LIST_MODEL(self->hits)) == 0) {
    /* Translators: %s is what the user searched for. */
    g_autofree char *text = g_strdup_printf(_("No messages contain “%s”."), self->query);
    show_message(self, text);
  } else {
    gtk_stack_set_visible_child_name(self->state_stack, "results");
  }
}

static void request_page(ChatSearchPanel *self, gint64 before_id) {
  g_clear_object(&self->cancellable);
  self->cancellable = g_cancellable_new();
  set_loading(self, TRUE);
  chat_session_search_async(self->session, self->query, self->conversation, before_id,
                            SEARCH_PAGE_SIZE, self->cancellable, on_page, self);
}

static void stop_search(ChatSearchPanel *self) {
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  g_list_store_remove_all(self->hits);
  g_clear_pointer(&self->query, g_free);
  self->more = FALSE;
  self->next_before_id = 0;
  set_loading(self, FALSE);
}

static gboolean only_space(const char *text) {
  for (const char *p = text; *p; p = g_utf8_next_char(p))
    if (!g_unichar_isspace(g_utf8_get_char(p)))
      return FALSE;
  return TRUE;
}

static void start_search(ChatSearchPanel *self, const char *text) {
  stop_search(self);
  if (!self->session || only_space(text)) {
    gtk_widget_set_visible(GTK_WIDGET(self->state_stack), FALSE);
    return;
  }
  gtk_widget_set_visible(GTK_WIDGET(self->state_stack), TRUE);
  if (strlen(text) > CHAT_SEARCH_QUERY_MAX) {
    show_message(self, _("That is too long to search for."));
    return;
  }
  self->query = g_strdup(text);
  request_page(self, 0);
}

static void load_more(ChatSearchPanel *self) {
  if (self->more && !self->loading && self->query)
    request_page(self, self->next_before_id);
}

static void on_search_changed(GtkSearchEntry *entry, ChatSearchPanel *self) {
  start_search(self, gtk_editable_get_text(GTK_EDITABLE(entry)));
}

static void on_more_clicked(GtkButton *button, ChatSearchPanel *self) {
  load_more(self);
}

static void on_edge_reached(GtkScrolledWindow *scroller, GtkPositionType pos,
                            ChatSearchPanel *self) {
  if (pos == GTK_POS_BOTTOM)
    load_more(self);
}

static void activate_position(ChatSearchPanel *self, guint position) {
  g_autoptr(ChatSearchHit) hit = g_list_model_get_item(G_LIST_MODEL(self->hits), position);
  if (hit)
    g_signal_emit(self, signals[SIGNAL_HIT_ACTIVATED], 0, hit);
}

static void on_hit_activated(GtkListView *view, guint position, ChatSearchPanel *self) {
  activate_position(self, position);
}

/* Enter in the entry opens the newest hit. */
static void on_entry_activate(GtkSearchEntry *entry, ChatSearchPanel *self) {
  activate_position(self, 0);
}

/* ---- API ---- */

ChatSearchPanel *chat_search_panel_new(void) {
  return g_object_new(CHAT_TYPE_SEARCH_PANEL, NULL);
}

void chat_search_panel_set_session(ChatSearchPanel *self, ChatSession *session) {
  g_return_if_fail(CHAT_IS_SEARCH_PANEL(self));
  stop_search(self);
  g_set_object(&self->session, session);
}

void chat_search_panel_set_conversation(ChatSearchPanel *self, ChatContact *conversation) {
  g_return_if_fail(CHAT_IS_SEARCH_PANEL(self));
  g_set_object(&self->conversation, conversation);
}

GtkEditable *chat_search_panel_get_entry(ChatSearchPanel *self) {
  g_return_val_if_fail(CHAT_IS_SEARCH_PANEL(self), NULL);
  return GTK_EDITABLE(self->entry);
}

void chat_search_panel_clear(ChatSearchPanel *self) {
  g_return_if_fail(CHAT_IS_SEARCH_PANEL(self));
  gtk_editable_set_text(GTK_EDITABLE(self->entry), "");
  stop_search(self);
  gtk_widget_set_visible(GTK_WIDGET(self->state_stack), FALSE);
}

/* ---- GObject ---- */

static void chat_search_panel_dispose(GObject *object) {
  ChatSearchPanel *self = CHAT_SEARCH_PANEL(object);
  g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->results_view)
    gtk_list_view_set_model(self->results_view, NULL);
  gtk_widget_dispose_template(GTK_WIDGET(self), CHAT_TYPE_SEARCH_PANEL);
  g_clear_object(&self->selection);
  g_clear_object(&self->hits);
  g_clear_object(&self->conversation);
  g_clear_object(&self->session);
  G_OBJECT_CLASS(chat_search_panel_parent_class)->dispose(object);
}

static void chat_search_panel_finalize(GObject *object) {
  ChatSearchPanel *self = CHAT_SEARCH_PANEL(object);
  g_free(self->query);
  G_OBJECT_CLASS(chat_search_panel_parent_class)->finalize(object);
}

static void chat_search_panel_class_init(ChatSearchPanelClass *klass) {
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = chat_search_panel_dispose;
  object_class->finalize = chat_search_panel_finalize;

  signals[SIGNAL_HIT_ACTIVATED] =
      g_signal_new("hit-activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                   NULL, G_TYPE_NONE, 1, CHAT_TYPE_SEARCH_HIT);

  gtk_widget_class_set_template_from_resource(widget_class,
                                              "/io/github/chatd/Chat/chat-search-panel.ui");
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, entry);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, state_stack);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, results_scroller);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, results_view);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, more_button);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, more_spinner);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, loading_spinner);
  gtk_widget_class_bind_template_child(widget_class, ChatSearchPanel, message_label);
  gtk_widget_class_bind_template_callback(widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback(widget_class, on_entry_activate);
  gtk_widget_class_bind_template_callback(widget_class, on_more_clicked);
  gtk_widget_class_bind_template_callback(widget_class, on_edge_reached);
  gtk_widget_class_bind_template_callback(widget_class, on_hit_activated);
}

static void chat_search_panel_init(ChatSearchPanel *self) {
  gtk_widget_init_template(GTK_WIDGET(self));
  self->hits = g_list_store_new(CHAT_TYPE_SEARCH_HIT);
  self->selection = gtk_no_selection_new(g_object_ref(G_LIST_MODEL(self->hits)));
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
  g_signal_connect(factory, "setup", G_CALLBACK(setup_row), self);
  g_signal_connect(factory, "bind", G_CALLBACK(bind_row), self);
  g_signal_connect(factory, "unbind", G_CALLBACK(unbind_row), self);
  g_signal_connect(factory, "teardown", G_CALLBACK(teardown_row), self);
  gtk_list_view_set_factory(self->results_view, factory);
  g_object_unref(factory);
  gtk_list_view_set_model(self->results_view, GTK_SELECTION_MODEL(self->selection));
}
