/* The search matcher (chatd/search-match.h): ASCII letters without case,
 * every other byte exactly, overlapping occurrences, Chinese, the span cap,
 * texts that hold U+0000, and a pathological text in linear time. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd/search-match.h"

/* The spans of query in text, as "start+length ..." for easy comparison. */
static char *spans_of(const char *query, const char *text, gsize text_len) {
  g_autoptr(ChatdSearchMatcher) m = chatd_search_matcher_new(query, strlen(query));
  ChatdSearchSpan spans[16];
  gsize n = chatd_search_matcher_spans(m, text, text_len, spans, G_N_ELEMENTS(spans));
  cr_assert_eq(chatd_search_matcher_found(m, text, text_len), n > 0);
  GString *out = g_string_new(NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf(out, "%s%zu+%zu", i > 0 ? " " : "", spans[i].start, spans[i].length);
  return g_string_free(out, FALSE);
}

static void assert_spans(const char *query, const char *text, const char *want) {
  g_autofree char *got = spans_of(query, text, strlen(text));
  cr_assert_str_eq(got, want, "\"%s\" in \"%s\": %s, want %s", query, text, got, want);
}

Test(search_match, ascii_letters_compare_without_case) {
  assert_spans("hello", "Say HELLO, hello and HeLLo", "4+5 11+5 21+5");
  assert_spans("HELLO", "hello", "0+5");
  assert_spans("a1_", "A1_ a1_", "0+3 4+3");
  assert_spans("hello", "help", "");
  /* '@' (0x40) and '`' (0x60) differ from 'A'/'a' by the case bit, yet are
   * not letters: they do not match each other. */
  assert_spans("@", "`", "");
  assert_spans("[", "{", "");
}

Test(search_match, non_ascii_bytes_compare_exactly) {
  assert_spans("é", "École école", "7+2");
  assert_spans("É", "école", "");
  assert_spans("ß", "SS ss ß", "6+2");
}

Test(search_match, chinese_text) {
  assert_spans("明天", "明天见！See you 明天", "0+6 20+6");
  assert_spans("天", "明天见", "3+3");
  assert_spans("你好吗", "你好，你好吗？", "9+9");
  assert_spans("明天见", "明天", "");
}

Test(search_match, occurrences_overlap) {
  assert_spans("哈哈", "哈哈哈", "0+6 3+6");
  assert_spans("aa", "aAaA", "0+2 1+2 2+2");
  assert_spans("abab", "ababab", "0+4 2+4");
  assert_spans("aab", "aaab", "1+3");
}

Test(search_match, texts_with_nul_bytes) {
  static const char text[] = "a\0b\0ab";
  g_autofree char *got = spans_of("ab", text, sizeof text - 1);
  cr_assert_str_eq(got, "4+2");
  g_autoptr(ChatdSearchMatcher) nul = chatd_search_matcher_new("\0b", 2);
  ChatdSearchSpan spans[4];
  cr_assert_eq(chatd_search_matcher_spans(nul, text, sizeof text - 1, spans, 4), 1);
  cr_assert_eq(spans[0].start, 1);
}

Test(search_match, spans_stop_at_the_cap) {
  gsize len = 3 * CHATD_SEARCH_SPANS_MAX;
  g_autofree char *text = g_malloc(len);
  memset(text, 'x', len);
  g_autoptr(ChatdSearchMatcher) m = chatd_search_matcher_new("X", 1);
  g_autofree ChatdSearchSpan *spans = g_new(ChatdSearchSpan, CHATD_SEARCH_SPANS_MAX);
  gsize n = chatd_search_matcher_spans(m, text, len, spans, CHATD_SEARCH_SPANS_MAX);
  cr_assert_eq(n, CHATD_SEARCH_SPANS_MAX);
  cr_assert_eq(spans[CHATD_SEARCH_SPANS_MAX - 1].start, CHATD_SEARCH_SPANS_MAX - 1);
  cr_assert_eq(chatd_search_matcher_spans(m, text, len, NULL, 0), 0);
}

Test(search_match, empty_and_short_texts) {
  g_autoptr(ChatdSearchMatcher) m = chatd_search_matcher_new("abc", 3);
  cr_assert_not(chatd_search_matcher_found(m, "", 0));
  cr_assert_not(chatd_search_matcher_found(m, "ab", 2));
  cr_assert_not(chatd_search_matcher_found(m, NULL, 0));
  cr_assert(chatd_search_matcher_found(m, "abc", 3));
}

/* 1 MiB of 'a' against 255 'a's and a 'b': no match, and one pass (a naive
 * search would compare about 256 million bytes). */
Test(search_match, pathological_text_is_one_pass, .timeout = 5) {
  gsize len = (gsize)1 << 20;
  g_autofree char *text = g_malloc(len);
  memset(text, 'a', len);
  char query[256];
  memset(query, 'a', sizeof query - 1);
  query[sizeof query - 1] = 'b';
  g_autoptr(ChatdSearchMatcher) m = chatd_search_matcher_new(query, sizeof query);
  for (int round = 0; round < 20; round++)
    cr_assert_not(chatd_search_matcher_found(m, text, len));
}
