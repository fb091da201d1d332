/* chatctl dump on other input: foreign traffic on the chat port, TCP edge cases
 * on made-up v2 bytes, unreadable files and usage errors, bad key log lines, and
 * a tcpdump capture of a real session when it can capture on lo. Fixture:
 * dump-fixture.h. */
#include "dump-fixture.h"

/* ---- other traffic ------------------------------------------------------ */

static GPtrArray *made_up_traffic(const char *client, gsize client_len, const char *server,
                                  gsize server_len) {
  GPtrArray *ev = g_ptr_array_new();
  gint64 t = 1714564800000000; /* 2024-05-01T12:00:00Z */
  capture_events_add(ev, REC_OPEN, t, 0, 0, 40000, NULL, 0);
  capture_events_add(ev, REC_DATA, t + 1000, 0, 0, 40000, client, client_len);
  capture_events_add(ev, REC_DATA, t + 2000, 0, 1, 40000, server, server_len);
  capture_events_add(ev, REC_DATA, t + 3000, 0, 0, 40000, client, client_len);
  capture_events_add(ev, REC_FIN, t + 4000, 0, 0, 40000, NULL, 0);
  capture_events_add(ev, REC_FIN, t + 5000, 0, 1, 40000, NULL, 0);
  return ev;
}

static void free_made_up(GPtrArray *ev) {
  for (guint i = 0; i < ev->len; i++) {
    rec_event *e = ev->pdata[i];
    if (e->data)
      g_bytes_unref(e->data);
    g_free(e);
  }
  g_ptr_array_unref(ev);
}

Test(dump, http_on_the_chat_port_is_not_chat, .init = setup, .fini = teardown) {
  static const char get[] = "GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n";
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
  GPtrArray *ev = made_up_traffic(get, sizeof get - 1, ok, sizeof ok - 1);
  capture_write_options o = {.linktype = DLT_EN10MB};
  g_autofree char *cap = write_capture(ev, &o, "http.pcap");
  program_result r;
  DUMP(&r, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "2024-05-01T12:00:00.000Z #1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: "
                          "new connection") != NULL,
            "%s", r.out);
  cr_assert(strstr(r.out, "not a chat connection: the client's first bytes are text (\"GET "
                          "/index.html HTTP/1.1\")") != NULL,
            "%s", r.out);
  cr_assert(strstr(r.out, "-- no chat connections found") != NULL, "%s", r.out);
  program_result_clear(&r);
  DUMP(&r, "--json", cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "\"event\": \"no_chat_connections\"") != NULL, "%s", r.out);
  program_result_clear(&r);

  /* The same on another port: not even looked at. */
  o.server_port = 8080;
  g_autofree char *other = write_capture(ev, &o, "http8080.pcap");
  DUMP(&r, other);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_null(strstr(r.out, "#1"), "%s", r.out);
  cr_assert(strstr(r.out, "-- no chat connections found (port 8111") != NULL, "%s", r.out);
  program_result_clear(&r);
  free_made_up(ev);
}

Test(dump, binary_garbage_on_the_chat_port, .init = setup, .fini = teardown) {
  char client[300], server[200];
  GRand *rand = g_rand_new_with_seed(7);
  for (size_t i = 0; i < sizeof client; i++)
    client[i] = (char)g_rand_int_range(rand, 0, 256);
  for (size_t i = 0; i < sizeof server; i++)
    server[i] = (char)g_rand_int_range(rand, 0, 256);
  g_rand_free(rand);
  for (int first = 0; first < 2; first++) {
    client[0] = first ? 0x00 : 0x42; /* v2-looking, then seed-looking */
    GPtrArray *ev = made_up_traffic(client, sizeof client, server, sizeof server);
    capture_write_options o = {0};
    g_autofree char *cap = write_capture(ev, &o, "garbage.pcap");
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "#1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection") != NULL,
              "%s", r.out);
    if (first) /* 0x00 and then not "CHAT" */
      cr_assert(strstr(r.out, "not a chat connection") != NULL, "%s", r.out);
    else /* a "DH value", then frames that make no sense */
      cr_assert(strstr(r.out, "cannot decode further") != NULL, "%s", r.out);
    program_result_clear(&r);
    free_made_up(ev);
  }
}

/* A v2 connection on another port is found by its preamble, unless --port
 * says where to look. */
Test(dump, v2_found_on_another_port, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_V2, CHAT_DIALECT_V2, &alice, &bob);
  capture_write_options o = {.server_port = 9999};
  g_autofree char *cap = write_capture(events, &o, "9999.pcap");
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  decoded_clear(&d);
  program_result_clear(&r);
  DUMP(&r, "--port", "9999", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  parse_text(r.out, &d);
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  decoded_clear(&d);
  program_result_clear(&r);
  DUMP(&r, "--port", "1234", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "no chat connections found (port 1234;") != NULL, "%s", r.out);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- TCP edge cases, on made-up v2 bytes (no key: records by size) ------ */

#define FAKE_RECORD_BODY 100u
#define FAKE_MSS 64u

/* A v2 client's bytes: preamble, handshake message 1, n records; or a
 * server's: handshake message 2, n records. */
static GByteArray *fake_v2(bool client, int records) {
  GByteArray *b = g_byte_array_new();
  if (client) {
    static const guint8 preamble[] = {0x00, 'C', 'H', 'A', 'T', 0x02, 0x01, 0x00};
    g_byte_array_append(b, preamble, sizeof preamble);
    guint8 hs1[2 + 32] = {0x00, 0x20};
    memset(hs1 + 2, 0x11, 32);
    g_byte_array_append(b, hs1, sizeof hs1);
  } else {
    guint8 hs2[2 + 96] = {0x00, 0x60};
    memset(hs2 + 2, 0x22, 96);
    g_byte_array_append(b, hs2, sizeof hs2);
  }
  for (int i = 0; i < records; i++) {
    guint8 rec[2 + FAKE_RECORD_BODY] = {0x00, FAKE_RECORD_BODY};
    memset(rec + 2, 0x30 + i, FAKE_RECORD_BODY);
    g_byte_array_append(b, rec, sizeof rec);
  }
  return b;
}

typedef enum { END_FIN, END_RST, END_NONE } fake_end;

/* One made-up connection: handshake, then 5 client and 3 server records. */
static void fake_connection(GPtrArray *ev, gint64 t, guint conn, guint16 port, bool syn,
                            bool server_after, fake_end end) {
  g_autoptr(GByteArray) c = fake_v2(true, 5), s = fake_v2(false, 3);
  gsize hello = 8 + 2 + 32;
  if (syn)
    capture_events_add(ev, REC_OPEN, t, conn, 0, port, NULL, 0);
  capture_events_add(ev, REC_DATA, t + 1, conn, 0, port, c->data, hello);
  capture_events_add(ev, REC_DATA, t + 2, conn, 1, port, s->data, 98);
  capture_events_add(ev, REC_DATA, t + 3, conn, 0, port, c->data + hello, c->len - hello);
  if (server_after)
    capture_events_add(ev, REC_DATA, t + 4, conn, 1, port, s->data + 98, s->len - 98);
  if (end == END_FIN) {
    capture_events_add(ev, REC_FIN, t + 5, conn, 0, port, NULL, 0);
    capture_events_add(ev, REC_FIN, t + 6, conn, 1, port, NULL, 0);
  } else if (end == END_RST) {
    capture_events_add(ev, REC_RST, t + 5, conn, 0, port, NULL, 0);
  }
}

static char *dump_fake(GPtrArray *ev, const capture_write_options *o) {
  g_autofree char *cap = write_capture(ev, o, "fake.pcap");
  program_result r;
  DUMP(&r, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  char *out = g_strdup(r.out);
  program_result_clear(&r);
  return out;
}

static guint count_of(const char *haystack, const char *needle) {
  guint n = 0;
  for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

Test(dump, tcp_gaps_resets_and_reused_ports, .init = setup, .fini = teardown) {
  gint64 t = 1714564800000000;
  /* Whole: every record, then FIN both ways. */
  GPtrArray *ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, true, END_FIN);
  capture_write_options o = {.mss = FAKE_MSS};
  g_autofree char *whole = dump_fake(ev, &o);
  cr_assert_eq(count_of(whole, "#1 c->s v2 -- record: 100 bytes (encrypted)"), 5, "%s", whole);
  cr_assert_eq(count_of(whole, "#1 s->c v2 -- record: 100 bytes (encrypted)"), 3, "%s", whole);
  cr_assert(strstr(whole, "c->s v2 -- end of stream (FIN) after 552 bytes") != NULL, "%s", whole);
  cr_assert_null(strstr(whole, "no SYN"), "%s", whole);
  free_made_up(ev);

  /* A client packet lost (bytes 170..233), and the server's later packets
   * acknowledge it: the break is known at once. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, true, true, END_FIN);
  o.drop_set = true;
  o.drop_conn = 0;
  o.drop_dir = 0;
  o.drop_index = 3;
  g_autofree char *acked = dump_fake(ev, &o);
  cr_assert(strstr(acked, "#1 c->s v2 -- stream broken at byte 170: 64 bytes missing (the peer "
                          "acknowledged bytes the capture does not have)") != NULL,
            "%s", acked);
  cr_assert_eq(count_of(acked, "#1 c->s v2 -- record: 100 bytes"), 1, "%s", acked);
  cr_assert_eq(count_of(acked, "#1 s->c v2 -- record: 100 bytes"), 3, "%s", acked);
  cr_assert(strstr(acked, "1 broken stream") != NULL, "%s", acked);
  free_made_up(ev);

  /* The same loss, nobody acknowledges, then a reset; or the capture stops. */
  static const struct {
    fake_end end;
    const char *broken;
    const char *ending;
  } unacked[] = {
      {END_RST,
       "stream broken at byte 170: 64 bytes missing (the connection ended with the bytes still "
       "missing)",
       "#1 c->s v2 -- end of stream (reset)"},
      {END_NONE,
       "stream broken at byte 170: 64 bytes missing (the capture ended before the missing "
       "bytes)",
       "#1 c->s v2 -- end of stream (the capture ends)"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(unacked); i++) {
    ev = g_ptr_array_new();
    fake_connection(ev, t, 0, 40000, true, false, unacked[i].end);
    g_autofree char *out = dump_fake(ev, &o);
    cr_assert(strstr(out, unacked[i].broken) != NULL, "%s", out);
    cr_assert(strstr(out, unacked[i].ending) != NULL, "%s", out);
    free_made_up(ev);
  }

  /* No SYN (the capture started late), and the client port used again by a
   * second connection after the first ended. */
  ev = g_ptr_array_new();
  fake_connection(ev, t, 0, 40000, false, true, END_FIN);
  fake_connection(ev, t + 100, 1, 40000, true, true, END_FIN);
  o.drop_set = false;
  g_autofree char *two = dump_fake(ev, &o);
  cr_assert(strstr(two, "#1 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection (no SYN "
                        "captured") != NULL,
            "%s", two);
  cr_assert(strstr(two, "#2 -- 127.0.0.1:40000 -> 127.0.0.1:8111: new connection\n") != NULL, "%s",
            two);
  for (int k = 1; k <= 2; k++) {
    g_autofree char *c2s = g_strdup_printf("#%d c->s v2 -- record: 100 bytes", k);
    g_autofree char *s2c = g_strdup_printf("#%d s->c v2 -- record: 100 bytes", k);
    cr_assert_eq(count_of(two, c2s), 5, "%s", two);
    cr_assert_eq(count_of(two, s2c), 3, "%s", two);
  }
  cr_assert(strstr(two, "2 chat connections (v2: 2, seed: 0)") != NULL, "%s", two);
  free_made_up(ev);
}

/* ---- unreadable input and usage ------------------------------------------ */

Test(dump, unreadable_files_and_usage_errors, .init = setup, .fini = teardown) {
  g_autofree char *garbage = path_in_work_dir("garbage.pcap");
  cr_assert(g_file_set_contents(garbage, "this is not a capture file at all\n", -1, NULL));
  g_autofree char *empty = path_in_work_dir("empty.pcap");
  cr_assert(g_file_set_contents(empty, "", 0, NULL));
  g_autofree char *missing = path_in_work_dir("missing.pcap");
  const char *files[] = {garbage, empty, missing, work_dir};
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    program_result r;
    DUMP(&r, files[i]);
    cr_assert_eq(r.status, 2, "%s: %s", files[i], r.out);
    cr_assert(g_str_has_prefix(r.err, "chatctl: cannot read the capture "), "%s", r.err);
    cr_assert(is_one_line(r.err), "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    program_result_clear(&r);
  }
  /* A good capture, with bad options. */
  GPtrArray *ev = made_up_traffic("x", 1, "y", 1);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(ev, &o, "small.pcap");
  free_made_up(ev);
  const char *const bad[][4] = {
      {NULL},
      {"--keylog", missing, cap, NULL},
      {"--keylog", NULL},
      {"--port", "0", cap, NULL},
      {"--port", "70000", cap, NULL},
      {"--port", "http", cap, NULL},
      {"--frobnicate", cap, NULL},
      {cap, cap, NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    program_result r;
    dump(&r, bad[i]);
    cr_assert_eq(r.status, 2, "case %zu: %s", i, r.out);
    cr_assert(is_one_line(r.err), "case %zu: %s", i, r.err);
    program_result_clear(&r);
  }
  /* --help lists every option and an example, and warns about passwords. */
  const char *argv[] = {CHATCTL_PATH, "dump", "--help", NULL};
  program_result r;
  run_program(argv, NULL, 0, NULL, &r);
  cr_assert_eq(r.status, 0);
  const char *words[] = {"--keylog", "--port", "--json", "--with-data", "Example:", "password"};
  for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
    cr_assert(strstr(r.out, words[i]) != NULL, "help lacks %s", words[i]);
  program_result_clear(&r);
}

/* A key log with bad lines: they are skipped with a warning. */
Test(dump, bad_key_log_lines_are_skipped, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_SEED, CHAT_DIALECT_V2, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  g_autofree char *keys = NULL;
  cr_assert(g_file_get_contents(keylog_path, &keys, NULL, NULL));
  g_autofree char *messy = g_strdup_printf("CHAT_SEED_KEY zz 00\n# comment\nFUTURE_LABEL a b\n"
                                           "%s"
                                           "CHAT_V2_C2S_KEY 0011\r\n",
                                           keys);
  g_autofree char *path = path_in_work_dir("messy.log");
  cr_assert(g_file_set_contents(path, messy, -1, NULL));
  program_result r;
  DUMP(&r, "--keylog", path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.err, "line 1 skipped") != NULL, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, "seed", "v2");
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- tcpdump ------------------------------------------------------------ */

static gboolean tcpdump_works(void) {
  const char *argv[] = {"tcpdump", "--version", NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv(
      argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  return p != NULL && g_subprocess_wait_check(p, NULL, NULL);
}

/* tcpdump on lo records a session straight between clients and chatd. */
Test(dump, tcpdump_capture_of_a_real_session, .init = setup, .fini = teardown, .timeout = 120) {
  if (!tcpdump_works())
    cr_skip_test("tcpdump is not installed");
  g_autofree char *cap = path_in_work_dir("tcpdump.pcap");
  g_autofree char *filter = g_strdup_printf("tcp port %u", chatd.port);
  const char *argv[] = {"tcpdump", "-i", "lo", "-U", "-n", "-Z", "root", "-w", cap, filter, NULL};
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv(
      argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (p == NULL)
    cr_skip_test("cannot run tcpdump: %s", error->message);
  GString *err = g_string_new(NULL);
  harness_reader *reader = harness_reader_start(g_subprocess_get_stderr_pipe(p), err);
  gint64 end = g_get_monotonic_time() + TCPDUMP_START_MS * 1000;
  while (!strstr(err->str, "listening on") && !reader->done && g_get_monotonic_time() < end)
    harness_spin(20);
  if (!strstr(err->str, "listening on")) {
    g_subprocess_force_exit(p);
    g_subprocess_wait(p, NULL, NULL);
    cr_skip_test("tcpdump cannot capture on lo here: %s", err->str);
  }
  actor alice = {0}, bob = {0};
  run_session(chatd.port, CHAT_DIALECT_V2, CHAT_DIALECT_SEED, &alice, &bob);
  harness_spin(500);
  g_subprocess_send_signal(p, SIGINT);
  g_subprocess_wait(p, NULL, NULL);
  while (!reader->done)
    harness_spin(10);
  g_string_free(err, TRUE);
  g_free(reader);

  g_autofree char *port = g_strdup_printf("%u", chatd.port);
  program_result r;
  DUMP(&r, "--port", port, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  assert_prefix(alice.received, d.msgs[1][1], "alice s->c");
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  assert_prefix(bob.received, d.msgs[2][1], "bob s->c");
  cr_assert_str_eq(d.dialect[1], "v2");
  cr_assert_str_eq(d.dialect[2], "seed");
  decoded_clear(&d);
  cr_assert_null(strstr(r.out, "stream broken"), "%s", r.out);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}
