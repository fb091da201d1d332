/* chatd/names: which usernames, nicknames and room names chatd accepts. */
#include <criterion/criterion.h>
#include <string.h>

#include "chatd/names.h"

static const char *nickname_problem(const char *name) {
  const char *problem = NULL;
  g_free(chatd_display_name_clean(name, strlen(name), CHATD_NAME_NICKNAME, &problem));
  return problem;
}

Test(names, ordinary_names_pass_and_are_trimmed) {
  const char *problem = "unset";
  g_autofree char *clean = chatd_display_name_clean("  Zhang Wei 张伟 👩‍💻 ",
                                                    strlen("  Zhang Wei 张伟 👩‍💻 "),
                                                    CHATD_NAME_NICKNAME, &problem);
  cr_assert_null(problem, "%s", problem);
  cr_assert_str_eq(clean, "Zhang Wei 张伟 👩‍💻");
  cr_assert_null(chatd_username_problem("alice"));
}

Test(names, line_breaks_and_control_characters_are_refused) {
  const char *forged = "x: ok\n2026-12-03 09:00:00 #9 Admin";
  cr_assert_not_null(nickname_problem(forged), "a newline");
  cr_assert_not_null(nickname_problem("a\rb"));
  cr_assert_not_null(nickname_problem("tab\there"));
  cr_assert_not_null(nickname_problem("esc\x1b[31m"));
  cr_assert_not_null(nickname_problem("del\x7f"));
  cr_assert_not_null(nickname_problem("c1\xc2\x85"), "U+0085 NEXT LINE");
  cr_assert_not_null(nickname_problem("ls\xe2\x80\xa8"), "U+2028");
  cr_assert_not_null(nickname_problem("ps\xe2\x80\xa9"), "U+2029");
  cr_assert_not_null(nickname_problem("\xe2\x80\xae"
                                      "evil"),
                     "U+202E RIGHT-TO-LEFT OVERRIDE");
  cr_assert_not_null(nickname_problem("\xe2\x81\xa6"
                                      "x"),
                     "U+2066 LEFT-TO-RIGHT ISOLATE");
  cr_assert_not_null(nickname_problem("\xe2\x80\x8f"
                                      "x"),
                     "U+200F RIGHT-TO-LEFT MARK");
  cr_assert_str_eq(nickname_problem("a\nb"),
                   "the nickname contains a line break or control character");
  const char *problem = NULL;
  g_free(chatd_display_name_clean("a\nb", 3, CHATD_NAME_ROOM, &problem));
  cr_assert_str_eq(problem, "the room name contains a line break or control character");
}

Test(names, lengths_and_encoding) {
  cr_assert_str_eq(nickname_problem("   "), "the nickname is empty");
  char long_name[66];
  memset(long_name, 'n', 65);
  long_name[65] = '\0';
  cr_assert_str_eq(nickname_problem(long_name), "the nickname is longer than 64 bytes");
  long_name[64] = '\0';
  cr_assert_null(nickname_problem(long_name));
  cr_assert_str_eq(nickname_problem("bad \xff utf-8"), "the nickname is not valid UTF-8");
  const char *problem = NULL;
  g_free(chatd_display_name_clean("a\0b", 3, CHATD_NAME_NICKNAME, &problem));
  cr_assert_not_null(problem, "an embedded NUL");
}

Test(names, usernames) {
  cr_assert_str_eq(chatd_username_problem(""), "the username is empty");
  cr_assert_not_null(chatd_username_problem("a b"));
  cr_assert_not_null(chatd_username_problem("a\nb"));
  cr_assert_not_null(chatd_username_problem("\xe2\x80\xae"
                                            "x"));
  cr_assert_str_eq(chatd_username_problem("abcdefghijklmnopqrstuvwxyz1234567"),
                   "the username is longer than 32 bytes");
}
