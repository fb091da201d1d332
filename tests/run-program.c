#include "run-program.h"

#include <criterion/criterion.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

/* In the child: become uid (only when the tests run as root). */
static void drop_to_uid(gpointer data) {
  guint uid = GPOINTER_TO_UINT(data);
  if (uid > 0 && getuid() == 0 && (setgid(uid) != 0 || setuid(uid) != 0))
    _exit(126);
}

static void run_program_with(const char *const *argv, const char *input, gsize input_len,
                             const char *const *env, guint uid, program_result *result);

void run_program(const char *const *argv, const char *input, gsize input_len,
                 const char *const *env, program_result *result) {
  run_program_with(argv, input, input_len, env, 0, result);
}

void run_program_as(const char *const *argv, guint uid, program_result *result) {
  run_program_with(argv, NULL, 0, NULL, uid, result);
}

static void run_program_with(const char *const *argv, const char *input, gsize input_len,
                             const char *const *env, guint uid, program_result *result) {
  /* The input comes from a file, not a pipe: a program that exits before
   * reading all of it (a usage error) must not make the test fail on a
   * broken pipe. */
  g_autoptr(GError) error = NULL;
  g_autofree char *input_path = NULL;
  int fd = g_file_open_tmp("chat-test-input-XXXXXX", &input_path, &error);
  cr_assert_geq(fd, 0, "%s", error ? error->message : "?");
  close(fd);
  cr_assert(
      g_file_set_contents(input_path, input ? input : "", input ? (gssize)input_len : 0, &error),
      "%s", error ? error->message : "?");
  g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path(launcher, input_path);
  if (uid > 0) {
    /* the input file must be readable by that user */
    g_chmod(input_path, 0644);
    g_subprocess_launcher_set_child_setup(launcher, drop_to_uid, GUINT_TO_POINTER(uid), NULL);
  }
  for (const char *const *e = env; e && *e; e++) {
    g_auto(GStrv) kv = g_strsplit(*e, "=", 2);
    g_subprocess_launcher_setenv(launcher, kv[0], kv[1] ? kv[1] : "", TRUE);
  }
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  cr_assert_not_null(proc, "cannot run %s: %s", argv[0], error ? error->message : "?");
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  cr_assert(g_subprocess_communicate(proc, NULL, NULL, &out, &err, &error), "%s",
            error ? error->message : "?");
  g_unlink(input_path);
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
