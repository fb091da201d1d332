/* Tests of the username rule (common/username.h): trimmed, lower-cased, as
 * spec/protocol.md 5.5 says, the same for every length convention. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "common/username.h"

static void assert_normalizes(const char *name, const char *expected) {
  g_autofree char *got = chat_username_normalize(name, -1);
  cr_assert_str_eq(got, expected, "\"%s\"", name);
  g_autofree char *counted = chat_username_normalize(name, (gssize)strlen(name));
  cr_assert_str_eq(counted, expected, "\"%s\" with a length", name);
}

Test(username, the_spec_example) {
  assert_normalizes("  Alice ", "alice");
  assert_normalizes("alice", "alice");
}

Test(username, ascii_white_space_is_trimmed_at_both_ends_only) {
  assert_normalizes("\t\n\f\r bob \r\n", "bob");
  /* g_ascii_isspace: a vertical tab is not white space. */
  assert_normalizes("\vbob", "\vbob");
  assert_normalizes("Bob  Smith", "bob  smith");
  assert_normalizes("   ", "");
  assert_normalizes("", "");
}

Test(username, unicode_is_lower_cased) {
  assert_normalizes("ÉCOLE", "école");
  assert_normalizes("ΑΘΗΝΑ", "αθηνα");
  assert_normalizes("Straße", "straße");
  assert_normalizes("小红", "小红");
}

Test(username, non_ascii_white_space_is_kept) {
  /* U+3000 IDEOGRAPHIC SPACE is not ASCII white space: the server keeps it. */
  assert_normalizes("\xe3\x80\x80"
                    "Carol",
                    "\xe3\x80\x80"
                    "carol");
}

Test(username, a_length_ends_the_name_and_so_does_a_nul) {
  g_autofree char *prefix = chat_username_normalize("ALICE and more", 5);
  cr_assert_str_eq(prefix, "alice");
  static const char with_nul[] = {'A', 'b', '\0', 'C'};
  g_autofree char *cut = chat_username_normalize(with_nul, sizeof with_nul);
  cr_assert_str_eq(cut, "ab");
}

Test(username, null_is_empty) {
  g_autofree char *empty = chat_username_normalize(NULL, -1);
  cr_assert_str_eq(empty, "");
}
