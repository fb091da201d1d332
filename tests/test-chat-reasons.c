/* gtk-client/chat-reasons.c: every v2 error code has the GTK client's own
 * sentence, translated in every language the client ships; a code it does
 * not know, and the seed dialect's texts, fall back to the server's words. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtk-client/chat-reasons.h"
#include "test-util.h"

/* The msgid of s as it appears in a .po file. */
static char *po_msgid(const char *s) {
  GString *out = g_string_new("\nmsgid \"");
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(out, '\\');
    g_string_append_c(out, *p);
  }
  g_string_append(out, "\"\nmsgstr \"");
  return g_string_free(out, FALSE);
}

Test(chat_reasons, every_code_has_a_translated_sentence) {
  char path[4096];
  snprintf(path, sizeof path, "%s/gtk-client/po/zh_CN.po", CHAT_SOURCE_ROOT);
  char *po = read_whole_file(path, NULL);
  cr_assert_not_null(po, "cannot read %s", path);
  for (unsigned i = 1; i < CHAT_REQUEST_ERROR_COUNT; i++) {
    const chat_request_error_info *e = chat_request_error_info_of((chat_request_error)i);
    g_autofree char *text = chat_reasons_for_failure(e->code, "SERVER WORDS");
    cr_assert_str_neq(text, "SERVER WORDS", "%s has no sentence of its own", e->name);
    cr_assert_str_neq(text, "SERVER WORDS.", "%s has no sentence of its own", e->name);
    g_autofree char *entry = po_msgid(text);
    char *at = strstr(po, entry);
    cr_assert_not_null(at, "zh_CN.po does not translate \"%s\" (%s)", text, e->name);
    cr_assert_neq(at[strlen(entry)], '"', "zh_CN.po leaves \"%s\" untranslated", text);
  }
  free(po);
}

Test(chat_reasons, without_a_known_code_the_text_decides) {
  g_autofree char *unknown = chat_reasons_for_failure(CHAT_REQUEST_ERROR_UNKNOWN, "new rule");
  cr_assert_str_eq(unknown, "New rule.");
  /* The seed dialect: chatd's English sentence is recognised. */
  g_autofree char *seed = chat_reasons_for_failure(CHAT_REQUEST_ERROR_UNKNOWN, "no such user");
  cr_assert_str_eq(seed, "There is no user with that username.");
  g_autofree char *coded = chat_reasons_for_failure(CHAT_REQUEST_ERROR_NOT_MEMBER, "whatever");
  cr_assert_str_eq(coded, "You are not a member of this room.");
}
