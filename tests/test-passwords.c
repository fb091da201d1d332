/* Tests of chatd's password hashing (chatd/passwords.h): PHC strings,
 * verification, the seed's MD5 hashes, rehash signalling, unknown users
 * costing as much as known ones, callbacks on the given context, the bound on
 * pending jobs, and freeing with jobs pending. A cheap cost keeps them fast;
 * the timing test uses a moderate one so the work dominates the noise. */
#include <string.h>

#include <criterion/criterion.h>
#include <glib.h>

#include "chatd/passwords.h"

static const ChatdPasswordCost cheap_cost = {.t_cost = 1, .m_cost_kib = 64, .parallelism = 1};
static const ChatdPasswordCost other_cost = {.t_cost = 2, .m_cost_kib = 64, .parallelism = 1};
/* About 10 ms per verification: far above scheduling noise. */
static const ChatdPasswordCost timing_cost = {.t_cost = 2, .m_cost_kib = 8192, .parallelism = 1};

#define PASSWORD "correct horse battery staple"
#define WRONG_PASSWORD "correct horse battery stapler"
/* The seed stored hex(md5(password)): md5("secret"). */
#define LEGACY_PASSWORD "secret"
#define LEGACY_HASH "5ebe2294ecd0e0f08eab7690d2a6ee69"
/* Base64 without padding of 16 and 32 bytes: 22 and 43 characters. */
#define PHC_PATTERN_CHEAP                                                                          \
  "^\\$argon2id\\$v=19\\$m=64,t=1,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$"
#define WAIT_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define TIMING_ROUNDS 7
/* Unknown-user and legacy answers must take between 1/FACTOR and FACTOR
 * times a real verification. Without the dummy check they would take some
 * 100x less (a thread hand-off of ~0.1 ms instead of Argon2's 10-25 ms),
 * which FACTOR still catches; the margin absorbs a loaded machine and a
 * sanitizer's slower code around the (uninstrumented) Argon2 library. */
#define TIMING_FACTOR 8.0

/* ---- collecting results ---- */

static void assert_error_is(const GError *error, GQuark domain, int code, const char *context) {
  cr_assert_not_null(error, "%s: no error", context);
  cr_assert(g_error_matches(error, domain, code), "%s: got error %s:%d %s", context,
            g_quark_to_string(error->domain), error->code, error->message);
}

typedef struct {
  int calls;
  gboolean ok;
  gboolean needs_rehash;
  char *phc;
  GError *error;
  GThread *thread;
  gboolean owned_context; /* the callback ran while its context was being iterated */
  GMainContext *context;
} Result;

static void result_clear(Result *r) {
  g_free(r->phc);
  g_clear_error(&r->error);
  memset(r, 0, sizeof *r);
}

static void on_hashed(const char *phc, const GError *error, gpointer data) {
  Result *r = data;
  r->calls++;
  r->phc = g_strdup(phc);
  r->error = error != NULL ? g_error_copy(error) : NULL;
  r->thread = g_thread_self();
  r->owned_context = r->context != NULL && g_main_context_is_owner(r->context);
}

static void on_verified(gboolean ok, gboolean needs_rehash, const GError *error, gpointer data) {
  Result *r = data;
  r->calls++;
  r->ok = ok;
  r->needs_rehash = needs_rehash;
  r->error = error != NULL ? g_error_copy(error) : NULL;
  r->thread = g_thread_self();
  r->owned_context = r->context != NULL && g_main_context_is_owner(r->context);
}

/* Iterates context until *calls reaches want (or fails after a timeout). */
static void wait_calls(GMainContext *context, const int *calls, int want) {
  gint64 deadline = g_get_monotonic_time() + WAIT_TIMEOUT_US;
  while (*calls < want) {
    cr_assert_lt(g_get_monotonic_time(), deadline, "callbacks did not run in time");
    g_main_context_iteration(context, TRUE);
  }
}

static void verify_now(ChatdPasswords *passwords, GMainContext *context, const char *stored,
                       const char *password, Result *r) {
  result_clear(r);
  chatd_passwords_verify(passwords, stored, password, on_verified, r);
  wait_calls(context, &r->calls, 1);
  cr_assert_eq(r->calls, 1);
}

static char *hash_now(ChatdPasswords *passwords, GMainContext *context, const char *password) {
  Result r = {0};
  chatd_passwords_hash(passwords, password, on_hashed, &r);
  wait_calls(context, &r.calls, 1);
  cr_assert_null(r.error, "hash failed: %s", r.error->message);
  char *phc = g_steal_pointer(&r.phc);
  result_clear(&r);
  return phc;
}

/* ---- fixture: a hasher at the cheap cost on a private context ---- */

static GMainContext *context;
static ChatdPasswords *passwords;

static void setup(void) {
  context = g_main_context_new();
  passwords = chatd_passwords_new(&cheap_cost, context);
  cr_assert_not_null(passwords);
}

static void teardown(void) {
  chatd_passwords_free(passwords);
  /* Drain whatever the freed hasher left attached (nothing must run). */
  while (g_main_context_iteration(context, FALSE)) {
  }
  g_main_context_unref(context);
}

TestSuite(passwords, .init = setup, .fini = teardown);

/* ---- tests ---- */

Test(passwords, hash_sync_writes_argon2id_phc_with_the_cost) {
  g_autoptr(GError) error = NULL;
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, &error);
  cr_assert_null(error);
  cr_assert(g_regex_match_simple(PHC_PATTERN_CHEAP, phc, 0, 0), "not a PHC string: %s", phc);
}

Test(passwords, salts_are_unique) {
  g_autofree char *a = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  g_autofree char *b = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  cr_assert_not_null(a);
  cr_assert_not_null(b);
  /* The salt is the 4th '$' field. */
  g_auto(GStrv) fa = g_strsplit(a, "$", -1);
  g_auto(GStrv) fb = g_strsplit(b, "$", -1);
  cr_assert_eq(g_strv_length(fa), 6);
  cr_assert_eq(g_strv_length(fb), 6);
  cr_assert_str_neq(fa[4], fb[4], "two hashes share a salt");
  cr_assert_str_neq(fa[5], fb[5]);
}

Test(passwords, hash_then_verify) {
  g_autofree char *phc = hash_now(passwords, context, PASSWORD);
  cr_assert(g_regex_match_simple(PHC_PATTERN_CHEAP, phc, 0, 0), "not a PHC string: %s", phc);
  Result r = {0};
  verify_now(passwords, context, phc, PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert_not(r.needs_rehash);
  cr_assert_null(r.error);
  verify_now(passwords, context, phc, WRONG_PASSWORD, &r);
  cr_assert_not(r.ok);
  cr_assert_not(r.needs_rehash);
  cr_assert_null(r.error, "a wrong password is not an error");
  verify_now(passwords, context, phc, "", &r);
  cr_assert_not(r.ok);
  result_clear(&r);
}

Test(passwords, sync_hash_verifies_asynchronously) {
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  Result r = {0};
  verify_now(passwords, context, phc, PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert_not(r.needs_rehash);
  result_clear(&r);
}

Test(passwords, password_is_copied_at_submission) {
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  char buffer[] = PASSWORD;
  Result r = {0};
  chatd_passwords_verify(passwords, phc, buffer, on_verified, &r);
  memset(buffer, 'x', sizeof buffer - 1);
  wait_calls(context, &r.calls, 1);
  cr_assert(r.ok);
  result_clear(&r);
}

Test(passwords, unknown_user_answers_false) {
  Result r = {0};
  verify_now(passwords, context, NULL, PASSWORD, &r);
  cr_assert_not(r.ok);
  cr_assert_not(r.needs_rehash);
  cr_assert_null(r.error);
  result_clear(&r);
}

/* One verification's time, in microseconds. */
static gint64 time_verify_us(ChatdPasswords *p, GMainContext *ctx, const char *stored,
                             const char *password, gboolean expect_ok) {
  Result r = {0};
  gint64 start = g_get_monotonic_time();
  verify_now(p, ctx, stored, password, &r);
  gint64 took = g_get_monotonic_time() - start;
  cr_assert_eq(r.ok, expect_ok);
  result_clear(&r);
  return took;
}

static gint64 median_us(gint64 times[TIMING_ROUNDS]) {
  for (int i = 1; i < TIMING_ROUNDS; i++) { /* insertion sort */
    for (int j = i; j > 0 && times[j - 1] > times[j]; j--) {
      gint64 t = times[j];
      times[j] = times[j - 1];
      times[j - 1] = t;
    }
  }
  return times[TIMING_ROUNDS / 2];
}

static void assert_similar(const char *what, gint64 t, gint64 reference) {
  cr_assert(t * TIMING_FACTOR >= reference && t <= reference * TIMING_FACTOR,
            "%s took %" G_GINT64_FORMAT " us, a known user %" G_GINT64_FORMAT " us", what, t,
            reference);
}

Test(passwords, unknown_and_legacy_users_cost_as_much_as_known_ones) {
  g_autoptr(ChatdPasswords) slow = chatd_passwords_new(&timing_cost, context);
  g_autofree char *phc = chatd_passwords_hash_sync(&timing_cost, PASSWORD, NULL);
  /* The four kinds take turns in each round, so a burst of load on the
   * machine slows them alike; each is then its median. */
  gint64 ok_times[TIMING_ROUNDS], wrong_times[TIMING_ROUNDS], unknown_times[TIMING_ROUNDS],
      legacy_times[TIMING_ROUNDS];
  for (int i = 0; i < TIMING_ROUNDS; i++) {
    ok_times[i] = time_verify_us(slow, context, phc, PASSWORD, TRUE);
    wrong_times[i] = time_verify_us(slow, context, phc, WRONG_PASSWORD, FALSE);
    unknown_times[i] = time_verify_us(slow, context, NULL, PASSWORD, FALSE);
    legacy_times[i] = time_verify_us(slow, context, LEGACY_HASH, LEGACY_PASSWORD, TRUE);
  }
  gint64 known_ok = median_us(ok_times);
  gint64 known_wrong = median_us(wrong_times);
  gint64 unknown = median_us(unknown_times);
  gint64 legacy = median_us(legacy_times);
  assert_similar("a wrong password", known_wrong, known_ok);
  assert_similar("an unknown user", unknown, known_ok);
  assert_similar("a legacy hash", legacy, known_ok);
}

Test(passwords, legacy_md5_is_accepted_once_with_needs_rehash) {
  cr_assert(chatd_passwords_is_legacy_hash(LEGACY_HASH));
  Result r = {0};
  verify_now(passwords, context, LEGACY_HASH, LEGACY_PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert(r.needs_rehash);
  cr_assert_null(r.error);
  verify_now(passwords, context, LEGACY_HASH, "Secret", &r);
  cr_assert_not(r.ok);
  cr_assert_not(r.needs_rehash);
  cr_assert_null(r.error);
  result_clear(&r);
}

Test(passwords, legacy_hash_shape_is_exact) {
  cr_assert_not(chatd_passwords_is_legacy_hash(NULL));
  cr_assert_not(chatd_passwords_is_legacy_hash("5EBE2294ECD0E0F08EAB7690D2A6EE69"));
  cr_assert_not(chatd_passwords_is_legacy_hash("5ebe2294ecd0e0f08eab7690d2a6ee6"));
  cr_assert_not(chatd_passwords_is_legacy_hash("5ebe2294ecd0e0f08eab7690d2a6ee699"));
  cr_assert_not(chatd_passwords_is_legacy_hash("5ebe2294ecd0e0f08eab7690d2a6ee6g"));
  /* An uppercase hex hash is not the seed's format: reported as damaged. */
  Result r = {0};
  verify_now(passwords, context, "5EBE2294ECD0E0F08EAB7690D2A6EE69", LEGACY_PASSWORD, &r);
  cr_assert_not(r.ok);
  assert_error_is(r.error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BAD_HASH,
                  "an uppercase hex hash");
  result_clear(&r);
}

Test(passwords, cost_change_needs_rehash) {
  g_autofree char *old = chatd_passwords_hash_sync(&other_cost, PASSWORD, NULL);
  Result r = {0};
  verify_now(passwords, context, old, PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert(r.needs_rehash, "a hash at t=2 under a t=1 config needs a rehash");
  verify_now(passwords, context, old, WRONG_PASSWORD, &r);
  cr_assert_not(r.ok);
  cr_assert_not(r.needs_rehash);
  /* The rehash is at the configured cost and no longer needs one. */
  g_autofree char *fresh = hash_now(passwords, context, PASSWORD);
  verify_now(passwords, context, fresh, PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert_not(r.needs_rehash);
  result_clear(&r);
}

Test(passwords, damaged_or_hostile_stored_hashes_are_errors) {
  const char *bad[] = {
      "",
      "plaintext",
      "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA"
      "$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA"
      "$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      "$argon2id$v=19$m=64,t=1,p=1$!!!$???",
      /* A cost that would keep a worker busy for hours is refused unread. */
      "$argon2id$v=19$m=4294967295,t=4294967295,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaA",
      "$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaA",
  };
  Result r = {0};
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    verify_now(passwords, context, bad[i], PASSWORD, &r);
    cr_assert_not(r.ok, "stored %s", bad[i]);
    cr_assert_not(r.needs_rehash);
    assert_error_is(r.error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BAD_HASH, bad[i]);
  }
  result_clear(&r);
}

Test(passwords, callbacks_run_on_the_given_context) {
  Result r = {.context = context};
  chatd_passwords_hash(passwords, PASSWORD, on_hashed, &r);
  cr_assert_eq(r.calls, 0, "never from inside the submitting call");
  /* Iterating the global default context must not run it. */
  gint64 until = g_get_monotonic_time() + 200 * 1000;
  while (g_get_monotonic_time() < until) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
  }
  cr_assert_eq(r.calls, 0);
  wait_calls(context, &r.calls, 1);
  cr_assert_eq(r.thread, g_thread_self());
  cr_assert(r.owned_context);
  cr_assert_not_null(r.phc);
  result_clear(&r);

  r.context = context;
  chatd_passwords_verify(passwords, NULL, PASSWORD, on_verified, &r);
  cr_assert_eq(r.calls, 0);
  wait_calls(context, &r.calls, 1);
  cr_assert_eq(r.thread, g_thread_self());
  cr_assert(r.owned_context);
  result_clear(&r);
}

Test(passwords, busy_past_max_in_flight) {
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  Result results[CHATD_PASSWORDS_MAX_IN_FLIGHT + 2];
  memset(results, 0, sizeof results);
  /* The context is not iterated: none of these callbacks can run yet. */
  for (int i = 0; i < CHATD_PASSWORDS_MAX_IN_FLIGHT; i++)
    chatd_passwords_verify(passwords, phc, PASSWORD, on_verified, &results[i]);
  Result *over_verify = &results[CHATD_PASSWORDS_MAX_IN_FLIGHT];
  Result *over_hash = &results[CHATD_PASSWORDS_MAX_IN_FLIGHT + 1];
  chatd_passwords_verify(passwords, phc, PASSWORD, on_verified, over_verify);
  chatd_passwords_hash(passwords, PASSWORD, on_hashed, over_hash);
  for (gsize i = 0; i < G_N_ELEMENTS(results); i++)
    wait_calls(context, &results[i].calls, 1);

  for (int i = 0; i < CHATD_PASSWORDS_MAX_IN_FLIGHT; i++) {
    cr_assert_eq(results[i].calls, 1);
    cr_assert(results[i].ok, "job %d", i);
    cr_assert_null(results[i].error);
  }
  cr_assert_not(over_verify->ok);
  assert_error_is(over_verify->error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BUSY,
                  "the verify past the bound");
  cr_assert(strstr(over_verify->error->message, "busy") != NULL);
  cr_assert_null(over_hash->phc);
  assert_error_is(over_hash->error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BUSY,
                  "the hash past the bound");
  for (gsize i = 0; i < G_N_ELEMENTS(results); i++)
    result_clear(&results[i]);

  /* Once the callbacks ran, there is room again. */
  Result r = {0};
  verify_now(passwords, context, phc, PASSWORD, &r);
  cr_assert(r.ok);
  cr_assert_null(r.error);
  result_clear(&r);
}

Test(passwords, new_hashes_cannot_take_the_places_of_logins) {
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, PASSWORD, NULL);
  enum { HASHES = CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT + 5 };
  Result hashes[HASHES];
  Result verifies[CHATD_PASSWORDS_MAX_IN_FLIGHT];
  memset(hashes, 0, sizeof hashes);
  memset(verifies, 0, sizeof verifies);
  /* The context is not iterated: nothing completes meanwhile. A flood of
   * registrations takes only its share... */
  for (int i = 0; i < HASHES; i++)
    chatd_passwords_hash(passwords, PASSWORD, on_hashed, &hashes[i]);
  /* ...and logins still get every other place. */
  int verify_places = CHATD_PASSWORDS_MAX_IN_FLIGHT - CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT;
  for (int i = 0; i < verify_places; i++)
    chatd_passwords_verify(passwords, phc, PASSWORD, on_verified, &verifies[i]);
  for (int i = 0; i < HASHES; i++)
    wait_calls(context, &hashes[i].calls, 1);
  for (int i = 0; i < verify_places; i++)
    wait_calls(context, &verifies[i].calls, 1);
  int busy = 0;
  for (int i = 0; i < HASHES; i++)
    busy += hashes[i].error != NULL &&
            g_error_matches(hashes[i].error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_BUSY);
  cr_assert_eq(busy, HASHES - CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT);
  for (int i = 0; i < verify_places; i++) {
    cr_assert_null(verifies[i].error, "login %d: %s", i, verifies[i].error->message);
    cr_assert(verifies[i].ok, "login %d", i);
  }
  for (int i = 0; i < HASHES; i++)
    result_clear(&hashes[i]);
  for (int i = 0; i < verify_places; i++)
    result_clear(&verifies[i]);
}

/* Completion order, as the callbacks see it. */
static int finished;
typedef struct {
  Result result;
  int finished_as;
} Ordered;

static void on_hashed_in_order(const char *phc, const GError *error, gpointer data) {
  Ordered *o = data;
  on_hashed(phc, error, &o->result);
  o->finished_as = finished++;
}

static void on_verified_in_order(gboolean ok, gboolean needs_rehash, const GError *error,
                                 gpointer data) {
  Ordered *o = data;
  on_verified(ok, needs_rehash, error, &o->result);
  o->finished_as = finished++;
}

Test(passwords, waiting_logins_run_before_waiting_new_hashes) {
  chatd_passwords_free(passwords);
  passwords = chatd_passwords_new(&timing_cost, context);
  g_autofree char *phc = chatd_passwords_hash_sync(&timing_cost, PASSWORD, NULL);
  enum { HASHES = CHATD_PASSWORDS_MAX_HASHES_IN_FLIGHT, LOGINS = CHATD_PASSWORDS_THREADS };
  Ordered hashes[HASHES], logins[LOGINS];
  memset(hashes, 0, sizeof hashes);
  memset(logins, 0, sizeof logins);
  finished = 0;
  for (int i = 0; i < HASHES; i++)
    chatd_passwords_hash(passwords, PASSWORD, on_hashed_in_order, &hashes[i]);
  for (int i = 0; i < LOGINS; i++)
    chatd_passwords_verify(passwords, phc, PASSWORD, on_verified_in_order, &logins[i]);
  for (int i = 0; i < HASHES; i++)
    wait_calls(context, &hashes[i].result.calls, 1);
  for (int i = 0; i < LOGINS; i++)
    wait_calls(context, &logins[i].result.calls, 1);
  /* The logins came after every hash but overtook those still queued: at
   * most the hashes the workers had already started (one round, plus one
   * for a worker that took the next before the logins were queued) finish
   * before them. */
  int last_login = 0;
  for (int i = 0; i < LOGINS; i++) {
    cr_assert(logins[i].result.ok);
    last_login = MAX(last_login, logins[i].finished_as);
  }
  int hashes_before = 0;
  for (int i = 0; i < HASHES; i++)
    hashes_before += hashes[i].finished_as < last_login;
  cr_assert_leq(hashes_before, 2 * CHATD_PASSWORDS_THREADS,
                "%d of %d queued hashes finished before the last login", hashes_before, HASHES);
  for (int i = 0; i < HASHES; i++)
    result_clear(&hashes[i].result);
  for (int i = 0; i < LOGINS; i++)
    result_clear(&logins[i].result);
}

/* One address with many logins waiting (a guesser's burst) does not make
 * another address's login wait for all of them: the pool takes the
 * addresses in turn. */
Test(passwords, a_busy_address_does_not_delay_another_one) {
  chatd_passwords_free(passwords);
  passwords = chatd_passwords_new(&timing_cost, context);
  g_autofree char *phc = chatd_passwords_hash_sync(&timing_cost, PASSWORD, NULL);
  enum { FLOOD = 8 * CHATD_PASSWORDS_THREADS };
  Ordered flood[FLOOD], probe;
  memset(flood, 0, sizeof flood);
  memset(&probe, 0, sizeof probe);
  finished = 0;
  for (int i = 0; i < FLOOD; i++)
    chatd_passwords_verify_for(passwords, "192.0.2.1", phc, PASSWORD, on_verified_in_order,
                               &flood[i]);
  chatd_passwords_verify_for(passwords, "198.51.100.7", phc, PASSWORD, on_verified_in_order,
                             &probe);
  wait_calls(context, &probe.result.calls, 1);
  for (int i = 0; i < FLOOD; i++)
    wait_calls(context, &flood[i].result.calls, 1);
  cr_assert(probe.result.ok);
  /* In arrival order it would finish last; in turn, within the first two
   * rounds of the workers. */
  cr_assert_leq(probe.finished_as, 2 * CHATD_PASSWORDS_THREADS,
                "the other address finished as %d of %d", probe.finished_as, FLOOD + 1);
  for (int i = 0; i < FLOOD; i++)
    result_clear(&flood[i].result);
  result_clear(&probe.result);
}

Test(passwords, free_with_jobs_pending_runs_no_callback) {
  g_autoptr(GMainContext) own = g_main_context_new();
  ChatdPasswords *p = chatd_passwords_new(&cheap_cost, own);
  Result results[CHATD_PASSWORDS_MAX_IN_FLIGHT];
  memset(results, 0, sizeof results);
  for (int i = 0; i < CHATD_PASSWORDS_MAX_IN_FLIGHT; i++) {
    if (i % 2 == 0)
      chatd_passwords_verify(p, NULL, PASSWORD, on_verified, &results[i]);
    else
      chatd_passwords_hash(p, PASSWORD, on_hashed, &results[i]);
  }
  chatd_passwords_free(p);
  while (g_main_context_iteration(own, FALSE)) {
  }
  for (int i = 0; i < CHATD_PASSWORDS_MAX_IN_FLIGHT; i++)
    cr_assert_eq(results[i].calls, 0, "job %d reported after free", i);
}

Test(passwords, overlong_password) {
  g_autofree char *long_password = g_strnfill(CHATD_PASSWORD_MAX_LEN + 1, 'a');
  g_autoptr(GError) error = NULL;
  g_autofree char *phc = chatd_passwords_hash_sync(&cheap_cost, long_password, &error);
  cr_assert_null(phc);
  assert_error_is(error, CHATD_PASSWORDS_ERROR, CHATD_PASSWORDS_ERROR_FAILED,
                  "hashing an overlong password");

  /* Verifying one never matches, even against a hash of its prefix. */
  long_password[CHATD_PASSWORD_MAX_LEN] = '\0';
  g_autofree char *prefix_hash = chatd_passwords_hash_sync(&cheap_cost, long_password, NULL);
  long_password[CHATD_PASSWORD_MAX_LEN] = 'a';
  Result r = {0};
  verify_now(passwords, context, prefix_hash, long_password, &r);
  cr_assert_not(r.ok);
  result_clear(&r);
}

Test(passwords, cost_validation) {
  ChatdPasswordCost cost;
  chatd_password_cost_init_defaults(&cost);
  cr_assert_eq(cost.t_cost, 3);
  cr_assert_eq(cost.m_cost_kib, 65536);
  cr_assert_eq(cost.parallelism, 1);
  cr_assert(chatd_password_cost_is_valid(&cost));
  cr_assert(chatd_password_cost_is_valid(&cheap_cost));
  ChatdPasswordCost lanes = {.t_cost = 1, .m_cost_kib = 64, .parallelism = 9};
  cr_assert_not(chatd_password_cost_is_valid(&lanes), "64 KiB < 8 KiB x 9 lanes");
  ChatdPasswordCost zero = {.t_cost = 0, .m_cost_kib = 64, .parallelism = 1};
  cr_assert_not(chatd_password_cost_is_valid(&zero));
}
