/* Password hashing for chatd: Argon2id PHC strings, computed off the event
 * loop.
 *
 * Hashing and verifying take tens of milliseconds at production cost, so
 * they run on a small GThreadPool (CHATD_PASSWORDS_THREADS threads) and
 * report on the GMainContext given to chatd_passwords_new(). Every
 * submission's callback runs exactly once, on that context, never from
 * inside the submitting call — unless the object is freed first (see
 * chatd_passwords_free).
 *
 * Stored hashes are PHC strings
 *   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
 * with a CHATD_PASSWORD_SALT_LEN-byte salt from getrandom() and a
 * CHATD_PASSWORD_HASH_LEN-byte hash. The seed's stored passwords — unsalted
 * MD5 as 32 lowercase hex characters — are accepted by verification and
 * reported as needing a rehash, so the server can replace them.
 *
 * Timing: verifying against an unknown user (stored == NULL), a legacy MD5
 * hash or an unreadable stored hash also runs one full Argon2id verification
 * at the configured cost (against a dummy hash made at creation), so the time
 * of an answer does not tell which case it was.
 *
 * Passwords are copied on submission and the copies wiped (explicit_bzero)
 * once used. The ChatdPasswords object is not thread-safe: call its
 * functions from the thread that runs the context. chatd_passwords_hash_sync
 * and the cost helpers work on any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- errors ---- */

#define CHATD_PASSWORDS_ERROR (chatd_passwords_error_quark())

typedef enum {
  CHATD_PASSWORDS_ERROR_FAILED,   /* libargon2 failed (out of memory, internal) */
  CHATD_PASSWORDS_ERROR_BUSY,     /* CHATD_PASSWORDS_MAX_IN_FLIGHT jobs already pending */
  CHATD_PASSWORDS_ERROR_BAD_HASH, /* a stored hash that is neither Argon2id PHC nor MD5 hex */
  CHATD_PASSWORDS_ERROR_RANDOM,   /* getrandom() failed */
} ChatdPasswordsError;

GQuark chatd_passwords_error_quark(void);

/* ---- limits ---- */

/* Worker threads hashing and verifying. */
#define CHATD_PASSWORDS_THREADS 4
/* Jobs submitted whose callback has not run yet, at most; a submission
 * beyond that is answered CHATD_PASSWORDS_ERROR_BUSY at once (on the
 * context), so a login flood cannot queue unbounded work. */
#define CHATD_PASSWORDS_MAX_IN_FLIGHT 64
/* Of those, new hashes (new accounts, password changes) at most: the rest
 * is kept for verifications, which also run first, so a flood of
 * registrations cannot starve logins. */
#define CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT (CHATD_PASSWORDS_MAX_IN_FLIGHT / 4)
/* Salt and raw hash lengths of the hashes this module writes. */
#define CHATD_PASSWORD_SALT_LEN 16
#define CHATD_PASSWORD_HASH_LEN 32
/* Longest password accepted, in bytes (a longer one never verifies and
 * cannot be hashed: libargon2's own limit is far above any real password,
 * this keeps a hostile client from making a worker hash megabytes). */
#define CHATD_PASSWORD_MAX_LEN 4096

/* Ranges of the Argon2id cost parameters (config keys
 * server.password_hash.*). The floors are libargon2's: weak costs are allowed
 * so tests run fast; production uses the defaults. m_cost_kib must also be
 * at least 8 × parallelism (libargon2's rule). */
#define CHATD_PASSWORD_T_COST_MIN 1
#define CHATD_PASSWORD_T_COST_MAX 32
#define CHATD_PASSWORD_T_COST_DEFAULT 3
#define CHATD_PASSWORD_M_COST_KIB_MIN 8
#define CHATD_PASSWORD_M_COST_KIB_MAX (1024u * 1024u) /* 1 GiB */
#define CHATD_PASSWORD_M_COST_KIB_DEFAULT 65536       /* 64 MiB */
#define CHATD_PASSWORD_PARALLELISM_MIN 1
#define CHATD_PASSWORD_PARALLELISM_MAX 16
#define CHATD_PASSWORD_PARALLELISM_DEFAULT 1
/* KiB of memory libargon2 needs per lane, at least. */
#define CHATD_PASSWORD_M_COST_KIB_PER_LANE 8

/* The Argon2id cost of new hashes. */
typedef struct {
  guint t_cost;      /* passes over memory */
  guint m_cost_kib;  /* memory, KiB */
  guint parallelism; /* lanes (threads libargon2 uses for one hash) */
} ChatdPasswordCost;

/* Fills *cost with the defaults above. */
void chatd_password_cost_init_defaults(ChatdPasswordCost *cost);

/* TRUE when every parameter is within its range and m_cost_kib >=
 * CHATD_PASSWORD_M_COST_KIB_PER_LANE × parallelism. */
gboolean chatd_password_cost_is_valid(const ChatdPasswordCost *cost);

/* ---- synchronous ---- */

/* Hashes password with a fresh random salt at cost, on the calling thread
 * (tests, account import). Returns a newly allocated PHC string.
 * Errors: CHATD_PASSWORDS_ERROR_RANDOM, CHATD_PASSWORDS_ERROR_FAILED (also
 * for a password longer than CHATD_PASSWORD_MAX_LEN). cost must be valid. */
char *chatd_passwords_hash_sync(const ChatdPasswordCost *cost, const char *password,
                                GError **error);

/* TRUE when stored looks like a seed password hash: exactly 32 lowercase
 * hexadecimal characters (unsalted MD5). */
gboolean chatd_passwords_is_legacy_hash(const char *stored);

/* ---- asynchronous ---- */

typedef struct _ChatdPasswords ChatdPasswords;

/* Result of chatd_passwords_hash: phc is the new PHC string (owned by the
 * module: copy it) or NULL with error set (CHATD_PASSWORDS_ERROR_BUSY,
 * _RANDOM, _FAILED). */
typedef void (*ChatdPasswordHashDone)(const char *phc, const GError *error, gpointer user_data);

/* Result of chatd_passwords_verify. ok is TRUE when the password matches;
 * needs_rehash (only ever TRUE with ok) says the stored hash is a legacy MD5
 * hash or uses another cost than the configured one, and should be replaced
 * by a fresh chatd_passwords_hash of the same password. error is NULL for a
 * plain match or mismatch, and set (with ok FALSE) for
 * CHATD_PASSWORDS_ERROR_BUSY (nothing was checked: answer "busy", not "wrong
 * password"), CHATD_PASSWORDS_ERROR_BAD_HASH (the stored hash is damaged) or
 * CHATD_PASSWORDS_ERROR_FAILED. */
typedef void (*ChatdPasswordVerifyDone)(gboolean ok, gboolean needs_rehash, const GError *error,
                                        gpointer user_data);

/* Creates the hasher: starts the worker pool and makes the dummy hash used
 * for unknown users (one hash at cost, on the calling thread). Callbacks run
 * on context (NULL: the thread-default context of the calling thread). cost
 * must be valid (chatd_password_cost_is_valid; the config loader checks it):
 * returns NULL with a critical otherwise. Aborts on out-of-memory like
 * g_malloc. */
ChatdPasswords *chatd_passwords_new(const ChatdPasswordCost *cost, GMainContext *context);

/* Stops the hasher: jobs not started yet are dropped, running jobs are
 * waited for. Callbacks that have not run by then never run (their
 * user_data is not touched). NULL is ignored. */
void chatd_passwords_free(ChatdPasswords *passwords);

/* The cost new hashes are made with. */
const ChatdPasswordCost *chatd_passwords_get_cost(ChatdPasswords *passwords);

/* Hashes password (copied) at the configured cost on a worker; cb runs on
 * the context with the PHC string or an error (see ChatdPasswordHashDone). */
void chatd_passwords_hash(ChatdPasswords *passwords, const char *password, ChatdPasswordHashDone cb,
                          gpointer user_data);

/* Checks password (copied) against stored on a worker: an Argon2id PHC
 * string, a seed MD5 hex hash, or NULL for an unknown user (always answers
 * FALSE after a full dummy verification). cb runs on the context (see
 * ChatdPasswordVerifyDone). */
void chatd_passwords_verify(ChatdPasswords *passwords, const char *stored, const char *password,
                            ChatdPasswordVerifyDone cb, gpointer user_data);

/* The same on behalf of `who` (a source address; NULL: anyone): jobs
 * waiting for workers are taken from each `who` in turn (fair queuing), so
 * one address with many jobs waiting delays another one by at most about
 * one job per worker. Verifications still go before new hashes. */
void chatd_passwords_hash_for(ChatdPasswords *passwords, const char *who, const char *password,
                              ChatdPasswordHashDone cb, gpointer user_data);
void chatd_passwords_verify_for(ChatdPasswords *passwords, const char *who, const char *stored,
                                const char *password, ChatdPasswordVerifyDone cb,
                                gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChatdPasswords, chatd_passwords_free)

G_END_DECLS
