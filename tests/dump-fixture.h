/* Shared fixture of the chatctl dump tests (test-dump-*.c, one executable): a
 * chatd and recording proxy per test, running dump, recorded sessions and
 * reading dump's output. */
#pragma once

#include "capture-proxy.h"
#include "chatd-harness.h"
#include "protocol/hex.h"
#include "protocol/json.h"
#include "protocol/keylog.h"
#include "run-program.h"
#include "test-util.h"
#include <criterion/criterion.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <string.h>

#ifndef CHATCTL_PATH
#error "meson passes CHATCTL_PATH"
#endif

#define MAX_CONNS 8
#define IMAGE_BYTES 150000u
#define IMAGE_PATTERN 251u
#define QUIET_MS 300u
#define IDLE_TIMEOUT_MS 10000u
#define TCPDUMP_START_MS 5000u

extern chatd_instance chatd;
extern capture_proxy *proxy;
extern char *work_dir;
extern char *keylog_path;

void setup(void);

void teardown(void);

char *path_in_work_dir(const char *name);

void dump(program_result *r, const char *const *args);

#define DUMP(r, ...) dump((r), (const char *const[]){__VA_ARGS__, NULL})

/* ---- a session, with what each client sent and received ----------------- */

typedef struct {
  test_client *client;
  GPtrArray *sent;      /* "name params" (params as JSON, bytes summarised) */
  GPtrArray *sent_json; /* the params as sent (bytes in full), same order */
  GPtrArray *sent_names;
  GPtrArray *received; /* "name params", as the client read them */
} actor;

char *summarised(const char *params_json);

void act_init(actor *a, guint16 port, chat_dialect dialect);

void act_clear(actor *a);

void act_send(actor *a, const char *name, const char *params_json);

char *act_until(actor *a, const char *name);

void act_drain(actor *a);

gint64 json_id(const char *params);

guint8 *image_bytes(void);

void login(actor *a, const char *user, chat_dialect dialect, gint64 *id);

void run_session(guint16 port, chat_dialect da, chat_dialect db, actor *alice, actor *bob);

GPtrArray *record_session(chat_dialect da, chat_dialect db, actor *alice, actor *bob);

/* ---- reading dump's output ---------------------------------------------- */

typedef struct {
  GPtrArray *msgs[MAX_CONNS + 1][2]; /* per #N and direction: "name params" */
  char *dialect[MAX_CONNS + 1];
  size_t notes;
} decoded;

void decoded_clear(decoded *d);

void parse_text(const char *out, decoded *d);

void assert_same_list(GPtrArray *expected, GPtrArray *got, const char *what);

void assert_prefix(GPtrArray *expected, GPtrArray *got, const char *what);

void assert_session_decoded(const char *out, actor *alice, actor *bob, const char *da,
                            const char *db);

chat_json *parse_json_line(const char *line, chat_arena *arena);

const char *json_str(const chat_json *obj, const char *key);

void assert_json_session(const char *out, actor *alice, actor *bob);

char *write_capture(GPtrArray *events, const capture_write_options *o, const char *name);
