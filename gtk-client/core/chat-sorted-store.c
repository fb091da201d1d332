#include "gtk-client/core/chat-sorted-store.h"

gboolean chat_sorted_store_reposition(GListStore *store, gpointer item, GCompareDataFunc compare,
                                      gpointer data) {
  guint position;
  if (!g_list_store_find(store, item, &position))
    return FALSE;
  GListModel *model = G_LIST_MODEL(store);
  guint n = g_list_model_get_n_items(model);
  gboolean in_place = TRUE;
  if (position > 0) {
    g_autoptr(GObject) before = g_list_model_get_item(model, position - 1);
    in_place = compare(before, item, data) <= 0;
  }
  if (in_place && position + 1 < n) {
    g_autoptr(GObject) after = g_list_model_get_item(model, position + 1);
    in_place = compare(item, after, data) <= 0;
  }
  if (in_place)
    return FALSE;
  g_object_ref(item);
  g_list_store_remove(store, position);
  g_list_store_insert_sorted(store, item, compare, data);
  g_object_unref(item);
  return TRUE;
}

typedef struct {
  GCompareDataFunc compare;
  gpointer data;
} item_compare;

/* g_ptr_array_sort_with_data hands over pointers to the elements. */
static int compare_elements(gconstpointer a, gconstpointer b, gpointer user_data) {
  const item_compare *by = user_data;
  return by->compare(*(gpointer const *)a, *(gpointer const *)b, by->data);
}

void chat_sorted_store_replace_all(GListStore *store, GPtrArray *items, GCompareDataFunc compare,
                                   gpointer data) {
  item_compare by = {compare, data};
  g_ptr_array_sort_with_data(items, compare_elements, &by);
  guint n = g_list_model_get_n_items(G_LIST_MODEL(store));
  g_list_store_splice(store, 0, n, items->pdata, items->len);
}
