/* The matcher of search (spec/protocol.md 5.6, "Search"): whether a
 * message's text contains the query, and where. ASCII letters compare
 * without case, every other byte exactly (no Unicode folding or
 * normalisation); occurrences may overlap ("哈哈" is twice in "哈哈哈").
 * Spans are byte offsets into the text. The store's index only narrows the
 * candidates: this decides. Plain bytes: a text holding U+0000 or bytes that
 * are not UTF-8 is matched like any other. A matcher is read-only once
 * made, so one may serve several threads. */
#pragma once

#include <glib.h>

#include "protocol/chat-limits.h"

G_BEGIN_DECLS

/* The most spans a search result carries for one message. */
#define CHATD_SEARCH_SPANS_MAX CHAT_SEARCH_SPANS_MAX

typedef struct {
  gsize start;  /* bytes from the start of the text */
  gsize length; /* the query's length in bytes */
} ChatdSearchSpan;

typedef struct _ChatdSearchMatcher ChatdSearchMatcher;

/* A matcher of the len bytes at query (copied; len >= 1). */
ChatdSearchMatcher *chatd_search_matcher_new(const char *query, gsize len);
void chatd_search_matcher_free(ChatdSearchMatcher *matcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdSearchMatcher, chatd_search_matcher_free)

/* Whether the text holds the query at least once. */
gboolean chatd_search_matcher_found(const ChatdSearchMatcher *matcher, const char *text, gsize len);
/* Writes the first max_spans occurrences of the query in the text to
 * spans, in text order; returns how many it wrote (0: none). Linear in
 * len whatever the text and query (no backtracking). */
gsize chatd_search_matcher_spans(const ChatdSearchMatcher *matcher, const char *text, gsize len,
                                 ChatdSearchSpan *spans, gsize max_spans);

G_END_DECLS
