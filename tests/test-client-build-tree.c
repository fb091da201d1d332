/* gtk-client/core/chat-build-tree.c and gtk-client/chat-i18n.c: a program
 * run from the build tree knows it, and the client run from there binds its
 * translations to the .mo files built there, so LANG=zh_CN.UTF-8 alone
 * shows Chinese with no install and no CHAT_LOCALEDIR. */
#include <criterion/criterion.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdlib.h>

#include "build-config.h"

#include "gtk-client/chat-i18n.h"
#include "gtk-client/core/chat-build-tree.h"

Test(build_tree, contains_whole_directory_names_only) {
  cr_assert(chat_build_tree_contains("/src/build", "/src/build/gtk-client/chat-client"));
  cr_assert(chat_build_tree_contains("/src/build/", "/src/build/gtk-client/chat-client"));
  cr_assert(chat_build_tree_contains("/src/build", "/src/build"));
  cr_assert(chat_build_tree_contains("/", "/usr/bin/chat-client"));
  cr_assert_not(chat_build_tree_contains("/src/build", "/src/build-asan/gtk-client/chat-client"));
  cr_assert_not(chat_build_tree_contains("/src/build", "/usr/bin/chat-client"));
  cr_assert_not(chat_build_tree_contains("/src/build", "/src"));
}

Test(build_tree, this_test_runs_uninstalled) {
  cr_assert(chat_build_tree_is_running_uninstalled());
}

Test(build_tree, translations_come_from_the_build_tree_without_chat_localedir) {
  unsetenv(CHAT_LOCALEDIR_ENV);
  cr_assert_str_eq(chat_i18n_localedir(), CHAT_BUILD_LOCALEDIR);
  setenv(CHAT_LOCALEDIR_ENV, "/elsewhere/locale", 1);
  cr_assert_str_eq(chat_i18n_localedir(), "/elsewhere/locale");
  setenv(CHAT_LOCALEDIR_ENV, "", 1);
  cr_assert_str_eq(chat_i18n_localedir(), CHAT_BUILD_LOCALEDIR);
}

/* What a user sees: LANG=zh_CN.UTF-8, nothing else. */
Test(build_tree, lang_alone_gives_chinese) {
  unsetenv(CHAT_LOCALEDIR_ENV);
  unsetenv("LANGUAGE");
  unsetenv("LC_ALL");
  unsetenv("LC_MESSAGES");
  setenv("LANG", "zh_CN.UTF-8", 1);
  if (setlocale(LC_ALL, "zh_CN.UTF-8") == NULL)
    cr_skip_test("the zh_CN.UTF-8 locale is not generated (ci/setup generates it)");
  chat_i18n_init();
  cr_assert_str_eq(g_dgettext(GETTEXT_PACKAGE, "Beginning of the conversation"),
                   "聊天记录从这里开始");
}
