/* The v2 resume tokens on disk: one small file per server and user in the
 * state directory (0700), each file 0600. A token logs the account in
 * without the password (spec/protocol.md 5.6), so it is a secret. Internal
 * to the core. */
#pragma once

#include <gio/gio.h>

#include "protocol/secret-file.h"

G_BEGIN_DECLS

#define CHAT_STATE_DIR_MODE CHAT_SECRET_DIR_MODE
#define CHAT_RESUME_FILE_MODE CHAT_SECRET_FILE_MODE
/* The state directory below the XDG data dir when none is configured. */
#define CHAT_STATE_DIR_RELATIVE "chat"
/* The longest token file read back. */
#define CHAT_RESUME_FILE_MAX 4096

/* The file that holds the token of username at host_port:
 * state_dir/resume-<SHA-256 of "host_port\nusername">. */
char *chat_resume_store_path(const char *state_dir, const char *host_port, const char *username);

/* Writes the token (creating state_dir 0700, the file 0600, atomically).
 * Errors: G_FILE_ERROR_* */
gboolean chat_resume_store_save(const char *state_dir, const char *host_port, const char *username,
                                GBytes *token, GError **error);

/* The saved token, or NULL: when there is none (no error set), or when the
 * file is unreadable or malformed (error set; G_FILE_ERROR_* or
 * G_KEY_FILE_ERROR_*). */
GBytes *chat_resume_store_load(const char *state_dir, const char *host_port, const char *username,
                               GError **error);

/* Removes the saved token, if any. */
void chat_resume_store_forget(const char *state_dir, const char *host_port, const char *username);

G_END_DECLS
