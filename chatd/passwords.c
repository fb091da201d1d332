/* Argon2id password hashing on a worker pool (see passwords.h).
 *
 * A job carries everything its worker needs (a copy of the password, the
 * stored hash, the cost and dummy hash through a reference to the shared
 * state) and its results. The worker computes, then attaches an idle source
 * to the caller's context; dispatching it runs the callback. The shared state
 * is reference-counted so that a source dispatched after
 * chatd_passwords_free() finds the "closed" flag instead of freed memory. */
#define G_LOG_DOMAIN "chatd"

#include "chatd/passwords.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>
#include <nettle/md5.h>
#include <nettle/memops.h>

/* The PHC prefix of the hashes this module writes and verifies. */
#define PHC_ARGON2ID_PREFIX "$argon2id$"
/* Length of a seed password hash: MD5 as lowercase hex. */
#define LEGACY_HASH_HEX_LEN (2 * MD5_DIGEST_SIZE)
/* Bytes of random password the dummy hash is made from. */
#define DUMMY_PASSWORD_LEN 32

/* The quark name is stringified as written: no spaces around its dashes. */
/* clang-format off */
G_DEFINE_QUARK(chatd-passwords-error-quark, chatd_passwords_error)
/* clang-format on */

/* State shared by the object and its jobs. */
typedef struct {
  ChatdPasswordCost cost;
  GMainContext *context;
  char *dummy_hash;      /* a PHC string at cost, for unknown users */
  gint in_flight;        /* submitted jobs whose callback has not run (atomic) */
  gint hashes_in_flight; /* of which new hashes (atomic) */
  gint closed;           /* set by chatd_passwords_free (atomic) */
  GMutex rank_lock;
  guint64 started_rank; /* the highest rank a worker has started (under rank_lock) */
} PasswordsShared;

/* Owners remembered for fair queuing, at most; past it they are all
 * forgotten (each starts again from the current rank). */
#define MAX_OWNERS 4096

struct _ChatdPasswords {
  PasswordsShared *shared;
  GThreadPool *pool;
  guint64 next_seq;      /* submission order, for the pool's sort */
  GHashTable *next_rank; /* owner -> the rank its next job gets (submitting thread) */
};

typedef enum {
  JOB_HASH,
  JOB_VERIFY,
} JobKind;

typedef struct {
  PasswordsShared *shared; /* a reference */
  JobKind kind;
  guint64 seq;      /* submission order */
  guint64 rank;     /* its turn among its owner's jobs (fair queuing) */
  gboolean counted; /* still counts in shared->in_flight */
  char *password;   /* wiped before it is freed */
  gsize password_len;
  char *stored; /* verify: the stored hash, or NULL */
  ChatdPasswordHashDone hash_done;
  ChatdPasswordVerifyDone verify_done;
  gpointer user_data;
  /* results */
  char *phc;
  gboolean ok;
  gboolean needs_rehash;
  GError *error;
} PasswordJob;

/* ---- cost ---- */

void chatd_password_cost_init_defaults(ChatdPasswordCost *cost) {
  g_return_if_fail(cost != NULL);
  cost->t_cost = CHATD_PASSWORD_T_COST_DEFAULT;
  cost->m_cost_kib = CHATD_PASSWORD_M_COST_KIB_DEFAULT;
  cost->parallelism = CHATD_PASSWORD_PARALLELISM_DEFAULT;
}

gboolean chatd_password_cost_is_valid(const ChatdPasswordCost *cost) {
  return cost != NULL && cost->t_cost >= CHATD_PASSWORD_T_COST_MIN &&
         cost->t_cost <= CHATD_PASSWORD_T_COST_MAX &&
         cost->m_cost_kib >= CHATD_PASSWORD_M_COST_KIB_MIN &&
         cost->m_cost_kib <= CHATD_PASSWORD_M_COST_KIB_MAX &&
         cost->parallelism >= CHATD_PASSWORD_PARALLELISM_MIN &&
         cost->parallelism <= CHATD_PASSWORD_PARALLELISM_MAX &&
         cost->m_cost_kib >= CHATD_PASSWORD_M_COST_KIB_PER_LANE * cost->parallelism;
}

static gboolean cost_equal(const ChatdPasswordCost *a, const ChatdPasswordCost *b) {
  return a->t_cost == b->t_cost && a->m_cost_kib == b->m_cost_kib &&
         a->parallelism == b->parallelism;
}

/* ---- hashing and verifying (any thread) ---- */

static gboolean fill_random(guint8 *out, gsize len, GError **error) {
  gsize done = 0;
  while (done < len) {
    ssize_t n = getrandom(out + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int saved = errno;
      g_set_error(error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_RANDOM,
                  "getrandom failed: %s", g_strerror(saved));
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

/* Hashes password[0..len) at cost into a new PHC string. */
static char *hash_password(const ChatdPasswordCost *cost, const char *password, gsize len,
                           GError **error) {
  if (len > CHATD_PASSWORD_MAX_LEN) {
    g_set_error(error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_FAILED,
                "password longer than %d bytes", CHATD_PASSWORD_MAX_LEN);
    return NULL;
  }
  guint8 salt[CHATD_PASSWORD_SALT_LEN];
  if (!fill_random(salt, sizeof salt, error))
    return NULL;
  gsize encoded_len = argon2_encodedlen(cost->t_cost, cost->m_cost_kib, cost->parallelism,
                                        sizeof salt, CHATD_PASSWORD_HASH_LEN, Argon2_id);
  g_autofree char *encoded = g_malloc0(encoded_len);
  int rc = argon2id_hash_encoded(cost->t_cost, cost->m_cost_kib, cost->parallelism, password, len,
                                 salt, sizeof salt, CHATD_PASSWORD_HASH_LEN, encoded, encoded_len);
  explicit_bzero(salt, sizeof salt);
  if (rc != ARGON2_OK) {
    g_set_error(error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_FAILED,
                "argon2id hashing failed: %s", argon2_error_message(rc));
    return NULL;
  }
  return g_steal_pointer(&encoded);
}

char *chatd_passwords_hash_sync(const ChatdPasswordCost *cost, const char *password,
                                GError **error) {
  g_return_val_if_fail(chatd_password_cost_is_valid(cost), NULL);
  g_return_val_if_fail(password != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  return hash_password(cost, password, strlen(password), error);
}

gboolean chatd_passwords_is_legacy_hash(const char *stored) {
  if (stored == NULL)
    return FALSE;
  gsize i;
  for (i = 0; stored[i] != '\0'; i++) {
    if (i >= LEGACY_HASH_HEX_LEN)
      return FALSE;
    char c = stored[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return FALSE;
  }
  return i == LEGACY_HASH_HEX_LEN;
}

/* Reads a decimal guint at *p, advancing it. No sign, no leading zeros. */
static gboolean read_decimal(const char **p, guint *out) {
  const char *s = *p;
  if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
    return FALSE;
  guint64 value = 0;
  while (*s >= '0' && *s <= '9') {
    value = value * 10 + (guint64)(*s - '0');
    if (value > G_MAXUINT)
      return FALSE;
    s++;
  }
  *out = (guint)value;
  *p = s;
  return TRUE;
}

static gboolean expect(const char **p, const char *literal) {
  gsize n = strlen(literal);
  if (strncmp(*p, literal, n) != 0)
    return FALSE;
  *p += n;
  return TRUE;
}

/* Reads the version and cost of an Argon2id PHC string
 * ("$argon2id$v=19$m=M,t=T,p=P$..."). FALSE when the string does not start
 * that way, or its cost is outside our ranges (a damaged or hostile row must
 * not make a worker run for hours). */
static gboolean parse_argon2id_cost(const char *phc, ChatdPasswordCost *cost) {
  const char *p = phc;
  guint version;
  if (!expect(&p, PHC_ARGON2ID_PREFIX "v=") || !read_decimal(&p, &version) ||
      version != ARGON2_VERSION_NUMBER || !expect(&p, "$m=") ||
      !read_decimal(&p, &cost->m_cost_kib) || !expect(&p, ",t=") ||
      !read_decimal(&p, &cost->t_cost) || !expect(&p, ",p=") ||
      !read_decimal(&p, &cost->parallelism) || !expect(&p, "$"))
    return FALSE;
  return chatd_password_cost_is_valid(cost);
}

/* MD5 hex (seed) check in constant time over the digest bytes. */
static gboolean legacy_matches(const char *stored_hex, const char *password, gsize len) {
  guint8 expected[MD5_DIGEST_SIZE];
  for (gsize i = 0; i < MD5_DIGEST_SIZE; i++) {
    expected[i] = (guint8)((g_ascii_xdigit_value(stored_hex[2 * i]) << 4) |
                           g_ascii_xdigit_value(stored_hex[2 * i + 1]));
  }
  struct md5_ctx ctx;
  guint8 actual[MD5_DIGEST_SIZE];
  md5_init(&ctx);
  md5_update(&ctx, len, (const guint8 *)password);
  md5_digest(&ctx, sizeof actual, actual);
  gboolean same = memeql_sec(expected, actual, sizeof actual) != 0;
  explicit_bzero(&ctx, sizeof ctx);
  explicit_bzero(actual, sizeof actual);
  return same;
}

/* One full Argon2id verification at the configured cost whose answer is
 * thrown away: unknown users, legacy and damaged hashes take as long as a
 * real check. */
static void verify_dummy(const PasswordsShared *shared, const char *password, gsize len) {
  (void)argon2id_verify(shared->dummy_hash, password, len);
}

static void run_verify(PasswordJob *job) {
  const PasswordsShared *shared = job->shared;
  const char *password = job->password;
  gsize len = job->password_len;
  ChatdPasswordCost stored_cost;

  job->ok = FALSE;
  job->needs_rehash = FALSE;
  if (len > CHATD_PASSWORD_MAX_LEN) {
    /* Never matches; still cost the same (on a bounded prefix). */
    verify_dummy(shared, password, CHATD_PASSWORD_MAX_LEN);
  } else if (job->stored == NULL) {
    verify_dummy(shared, password, len);
  } else if (chatd_passwords_is_legacy_hash(job->stored)) {
    verify_dummy(shared, password, len);
    job->ok = legacy_matches(job->stored, password, len);
    job->needs_rehash = job->ok;
  } else if (parse_argon2id_cost(job->stored, &stored_cost)) {
    int rc = argon2id_verify(job->stored, password, len);
    if (rc == ARGON2_OK) {
      job->ok = TRUE;
      job->needs_rehash = !cost_equal(&stored_cost, &shared->cost);
    } else if (rc != ARGON2_VERIFY_MISMATCH) {
      /* The cost was readable; what else fails is the string itself
       * (bad base64, lengths), unless the machine ran out of resources. */
      gboolean resources = rc == ARGON2_MEMORY_ALLOCATION_ERROR || rc == ARGON2_THREAD_FAIL;
      g_set_error(&job->error, CHATD_PASSWORDS_ERROR,
                  resources ? CHATD_PASSWORDS_ERROR_FAILED : CHATD_PASSWORDS_ERROR_BAD_HASH,
                  "argon2id verification failed: %s", argon2_error_message(rc));
    }
  } else {
    verify_dummy(shared, password, len);
    g_set_error_literal(&job->error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BAD_HASH,
                        "stored password hash is neither an Argon2id PHC string "
                        "with a supported cost nor a seed MD5 hash");
  }
}

/* ---- jobs ---- */

static PasswordsShared *shared_ref(PasswordsShared *shared) {
  return g_atomic_rc_box_acquire(shared);
}

static void shared_clear(gpointer data) {
  PasswordsShared *shared = data;
  g_main_context_unref(shared->context);
  g_free(shared->dummy_hash);
  g_mutex_clear(&shared->rank_lock);
}

static void shared_unref(PasswordsShared *shared) {
  g_atomic_rc_box_release_full(shared, shared_clear);
}

static PasswordJob *job_new(PasswordsShared *shared, JobKind kind, const char *password,
                            gpointer user_data) {
  PasswordJob *job = g_new0(PasswordJob, 1);
  job->shared = shared_ref(shared);
  job->kind = kind;
  job->password_len = strlen(password);
  job->password = g_memdup2(password, job->password_len + 1);
  job->user_data = user_data;
  return job;
}

static void job_uncount(PasswordJob *job) {
  if (job->counted) {
    job->counted = FALSE;
    g_atomic_int_add(&job->shared->in_flight, -1);
    if (job->kind == JOB_HASH)
      g_atomic_int_add(&job->shared->hashes_in_flight, -1);
  }
}

static void job_free(gpointer data) {
  PasswordJob *job = data;
  job_uncount(job);
  explicit_bzero(job->password, job->password_len);
  g_free(job->password);
  g_free(job->stored);
  g_free(job->phc);
  g_clear_error(&job->error);
  shared_unref(job->shared);
  g_free(job);
}

/* Runs on the caller's context: reports the job, unless the object was
 * freed meanwhile. */
static gboolean job_complete(gpointer data) {
  PasswordJob *job = data;
  job_uncount(job);
  if (g_atomic_int_get(&job->shared->closed))
    return G_SOURCE_REMOVE;
  if (job->kind == JOB_HASH)
    job->hash_done(job->phc, job->error, job->user_data);
  else
    job->verify_done(job->ok, job->needs_rehash, job->error, job->user_data);
  return G_SOURCE_REMOVE;
}

/* Hands the job (and its ownership) to the caller's context. */
static void job_post(PasswordJob *job) {
  g_autoptr(GSource) source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_static_name(source, "chatd password job");
  g_source_set_callback(source, job_complete, job, job_free);
  g_source_attach(source, job->shared->context);
}

/* Worker thread. */
static void job_run(gpointer data, gpointer pool_data) {
  PasswordJob *job = data;
  (void)pool_data;
  g_mutex_lock(&job->shared->rank_lock);
  job->shared->started_rank = MAX(job->shared->started_rank, job->rank);
  g_mutex_unlock(&job->shared->rank_lock);
  if (job->kind == JOB_HASH) {
    job->phc = hash_password(&job->shared->cost, job->password, job->password_len, &job->error);
  } else {
    run_verify(job);
  }
  /* The password is no longer needed: wipe it now rather than when the
   * context gets round to the callback. */
  explicit_bzero(job->password, job->password_len);
  job_post(job);
}

/* Takes a place in flight for the job: one of CHATD_PASSWORDS_MAX_IN_FLIGHT,
 * and for a new hash one of CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT, so new
 * accounts cannot take every place from logins. */
static gboolean job_count(PasswordsShared *shared, PasswordJob *job) {
  if (job->kind == JOB_HASH &&
      g_atomic_int_add(&shared->hashes_in_flight, 1) >= CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT) {
    g_atomic_int_add(&shared->hashes_in_flight, -1);
    return FALSE;
  }
  if (g_atomic_int_add(&shared->in_flight, 1) >= CHATD_PASSWORDS_MAX_IN_FLIGHT) {
    g_atomic_int_add(&shared->in_flight, -1);
    if (job->kind == JOB_HASH)
      g_atomic_int_add(&shared->hashes_in_flight, -1);
    return FALSE;
  }
  job->counted = TRUE;
  return TRUE;
}

/* The pool's order: verifications (logins waiting) before new hashes; then
 * by rank (an owner's n-th waiting job has rank "now" + n, so owners take
 * turns); then in submission order. */
static gint job_order(gconstpointer a, gconstpointer b, gpointer data) {
  const PasswordJob *x = a, *y = b;
  (void)data;
  if (x->kind != y->kind)
    return x->kind == JOB_VERIFY ? -1 : 1;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Start-time fair queuing: the job's rank is its owner's next one, but
 * never behind the rank the workers have reached. */
static void job_rank(ChatdPasswords *passwords, PasswordJob *job, const char *who) {
  PasswordsShared *shared = passwords->shared;
  g_mutex_lock(&shared->rank_lock);
  guint64 now = shared->started_rank;
  g_mutex_unlock(&shared->rank_lock);
  if (g_hash_table_size(passwords->next_rank) >= MAX_OWNERS)
    g_hash_table_remove_all(passwords->next_rank);
  const char *key = who ? who : "";
  guint64 *next = g_hash_table_lookup(passwords->next_rank, key);
  if (!next) {
    next = g_new0(guint64, 1);
    g_hash_table_insert(passwords->next_rank, g_strdup(key), next);
  }
  job->rank = MAX(*next, now);
  *next = job->rank + 1;
}

/* Queues the job, or answers it "busy" when too many are in flight. */
static void job_submit(ChatdPasswords *passwords, PasswordJob *job) {
  PasswordsShared *shared = passwords->shared;
  job->seq = passwords->next_seq++;
  if (!job_count(shared, job)) {
    g_set_error(&job->error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BUSY,
                "busy: too many password jobs already pending");
    job->ok = FALSE;
    job->needs_rehash = FALSE;
    job_post(job);
    return;
  }
  g_autoptr(GError) error = NULL;
  if (!g_thread_pool_push(passwords->pool, job, &error)) {
    /* A new worker thread could not be started. The pool has queued the job
     * all the same: a running or later worker takes it, or
     * chatd_passwords_free drops it. */
    g_warning("cannot start a password worker thread: %s", error->message);
  }
}

/* ---- object ---- */

ChatdPasswords *chatd_passwords_new(const ChatdPasswordCost *cost, GMainContext *context) {
  g_return_val_if_fail(chatd_password_cost_is_valid(cost), NULL);

  guint8 dummy_password[DUMMY_PASSWORD_LEN];
  g_autoptr(GError) error = NULL;
  if (!fill_random(dummy_password, sizeof dummy_password, &error))
    g_error("chatd_passwords_new: %s", error->message);
  char *dummy_hash =
      hash_password(cost, (const char *)dummy_password, sizeof dummy_password, &error);
  explicit_bzero(dummy_password, sizeof dummy_password);
  if (dummy_hash == NULL)
    g_error("chatd_passwords_new: cannot make the dummy hash: %s", error->message);

  PasswordsShared *shared = g_atomic_rc_box_new0(PasswordsShared);
  g_mutex_init(&shared->rank_lock);
  shared->cost = *cost;
  shared->context =
      context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
  shared->dummy_hash = dummy_hash;

  ChatdPasswords *passwords = g_new0(ChatdPasswords, 1);
  passwords->shared = shared;
  passwords->pool =
      g_thread_pool_new_full(job_run, NULL, job_free, CHATD_PASSWORDS_THREADS, FALSE, &error);
  if (passwords->pool == NULL) /* not for a non-exclusive pool; kept for safety */
    g_error("chatd_passwords_new: cannot create the worker pool: %s", error->message);
  g_thread_pool_set_sort_function(passwords->pool, job_order, NULL);
  passwords->next_rank = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return passwords;
}

void chatd_passwords_free(ChatdPasswords *passwords) {
  if (passwords == NULL)
    return;
  g_atomic_int_set(&passwords->shared->closed, TRUE);
  /* immediate: queued jobs are dropped (job_free); wait: running ones end. */
  g_thread_pool_free(passwords->pool, TRUE, TRUE);
  g_hash_table_unref(passwords->next_rank);
  shared_unref(passwords->shared);
  g_free(passwords);
}

const ChatdPasswordCost *chatd_passwords_get_cost(ChatdPasswords *passwords) {
  g_return_val_if_fail(passwords != NULL, NULL);
  return &passwords->shared->cost;
}

void chatd_passwords_hash_for(ChatdPasswords *passwords, const char *who, const char *password,
                              ChatdPasswordHashDone cb, gpointer user_data) {
  g_return_if_fail(passwords != NULL);
  g_return_if_fail(password != NULL);
  g_return_if_fail(cb != NULL);
  PasswordJob *job = job_new(passwords->shared, JOB_HASH, password, user_data);
  job->hash_done = cb;
  job_rank(passwords, job, who);
  job_submit(passwords, job);
}

void chatd_passwords_verify_for(ChatdPasswords *passwords, const char *who, const char *stored,
                                const char *password, ChatdPasswordVerifyDone cb,
                                gpointer user_data) {
  g_return_if_fail(passwords != NULL);
  g_return_if_fail(password != NULL);
  g_return_if_fail(cb != NULL);
  PasswordJob *job = job_new(passwords->shared, JOB_VERIFY, password, user_data);
  job->stored = g_strdup(stored);
  job->verify_done = cb;
  job_rank(passwords, job, who);
  job_submit(passwords, job);
}

void chatd_passwords_hash(ChatdPasswords *passwords, const char *password, ChatdPasswordHashDone cb,
                          gpointer user_data) {
  chatd_passwords_hash_for(passwords, NULL, password, cb, user_data);
}

void chatd_passwords_verify(ChatdPasswords *passwords, const char *stored, const char *password,
                            ChatdPasswordVerifyDone cb, gpointer user_data) {
  chatd_passwords_verify_for(passwords, NULL, stored, password, cb, user_data);
}
