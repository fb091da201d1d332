#include "run-program.h"

#include <criterion/criterion.h>
#include <gio/gio.h>
#include <string.h>

void run_program(const char *const *argv, const char *input, gsize input_len,
                 const char *const *env, program_result *result) {
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (const char *const *e = env; e && *e; e++) {
    g_auto(GStrv) kv = g_strsplit(*e, "=", 2);
    g_subprocess_launcher_setenv(launcher, kv[0], kv[1] ? kv[1] : "", TRUE);
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  cr_assert_not_null(proc, "cannot run %s: %s", argv[0], error ? error->message : "?");
  g_autoptr(GBytes) in = g_bytes_new(input ? input : "", input ? input_len : 0);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  cr_assert(g_subprocess_communicate(proc, in, NULL, &out, &err, &error), "%s",
            error ? error->message : "?");
  result->status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
  result->out = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
  result->out_len = g_bytes_get_size(out);
  result->err = g_strndup(g_bytes_get_data(err, NULL), g_bytes_get_size(err));
  result->err_len = g_bytes_get_size(err);
}

void program_result_clear(program_result *result) {
  g_clear_pointer(&result->out, g_free);
  g_clear_pointer(&result->err, g_free);
}

gboolean is_one_line(const char *text) {
  const char *nl = strchr(text, '\n');
  return nl != NULL && nl[1] == '\0' && nl != text;
}
