/* The search matcher (search-match.h): Knuth-Morris-Pratt over bytes with
 * ASCII letters folded to lower case, so that a 1 MiB text of "aaaa..."
 * against a 256-byte query costs one pass, not one per offset. */
#include "chatd/search-match.h"

struct _ChatdSearchMatcher {
  gsize len;
  guchar *folded; /* the query, ASCII letters in lower case */
  gsize *border;  /* border[i]: the longest proper border of folded[0..i] */
};

static guchar fold(guchar c) {
  return c >= 'A' && c <= 'Z' ? (guchar)(c - 'A' + 'a') : c;
}

ChatdSearchMatcher *chatd_search_matcher_new(const char *query, gsize len) {
  g_return_val_if_fail(query != NULL && len > 0, NULL);
  ChatdSearchMatcher *m = g_new0(ChatdSearchMatcher, 1);
  m->len = len;
  m->folded = g_malloc(len);
  for (gsize i = 0; i < len; i++)
    m->folded[i] = fold((guchar)query[i]);
  m->border = g_new0(gsize, len);
  for (gsize i = 1, k = 0; i < len; i++) {
    while (k > 0 && m->folded[i] != m->folded[k])
      k = m->border[k - 1];
    if (m->folded[i] == m->folded[k])
      k++;
    m->border[i] = k;
  }
  return m;
}

void chatd_search_matcher_free(ChatdSearchMatcher *matcher) {
  if (matcher == NULL)
    return;
  g_free(matcher->folded);
  g_free(matcher->border);
  g_free(matcher);
}

/* Runs the automaton over the text; writes (when spans is not NULL) the
 * first max_spans occurrences and returns how many it found. */
static gsize scan(const ChatdSearchMatcher *m, const char *text, gsize len, ChatdSearchSpan *spans,
                  gsize max_spans) {
  gsize found = 0;
  if (max_spans == 0 || len < m->len)
    return 0;
  for (gsize i = 0, k = 0; i < len; i++) {
    guchar c = fold((guchar)text[i]);
    while (k > 0 && c != m->folded[k])
      k = m->border[k - 1];
    if (c == m->folded[k])
      k++;
    if (k == m->len) {
      if (spans != NULL)
        spans[found] = (ChatdSearchSpan){i + 1 - m->len, m->len};
      if (++found == max_spans)
        break;
      k = m->border[k - 1]; /* overlapping occurrences count too */
    }
  }
  return found;
}

gboolean chatd_search_matcher_found(const ChatdSearchMatcher *matcher, const char *text,
                                    gsize len) {
  g_return_val_if_fail(matcher != NULL, FALSE);
  return text != NULL && scan(matcher, text, len, NULL, 1) > 0;
}

gsize chatd_search_matcher_spans(const ChatdSearchMatcher *matcher, const char *text, gsize len,
                                 ChatdSearchSpan *spans, gsize max_spans) {
  g_return_val_if_fail(matcher != NULL && (spans != NULL || max_spans == 0), 0);
  return text != NULL ? scan(matcher, text, len, spans, max_spans) : 0;
}
