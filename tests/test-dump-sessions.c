/* chatctl dump on real captures of a real chatd (through the recording proxy
 * of tests/capture-proxy.h): a session in each dialect, without keys, and
 * damaged or truncated captures. Fixture: dump-fixture.h. */
#include "dump-fixture.h"

/* ---- a session in each dialect ------------------------------------------ */

static void check_full_session(chat_dialect da, chat_dialect db) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(da, db, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  const char *na = chat_dialect_name(da), *nb = chat_dialect_name(db);

  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, na, nb);
  cr_assert(strstr(r.out, "\"$bytes_len\": 150000") != NULL, "the image is summarised");
  cr_assert(strstr(r.out, "login [\"alice\", \"pw-alice\"]") != NULL, "passwords are shown");
  cr_assert(strstr(r.out, "\"data\": \"hello bob, 你好\"") != NULL);
  cr_assert(strstr(r.out, "2 chat connections") != NULL, "%s", r.out);
  program_result_clear(&r);

  /* --json, with the data: each line parses, params exactly as sent. */
  DUMP(&r, "--json", "--with-data", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_json_session(r.out, &alice, &bob);
  program_result_clear(&r);

  /* --json alone: still one object per line. */
  DUMP(&r, "--keylog", keylog_path, "--json", cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l == '\0')
      continue;
    chat_arena arena;
    chat_arena_init(&arena);
    parse_json_line(*l, &arena);
    chat_arena_clear(&arena);
  }
  program_result_clear(&r);

  /* $CHAT_KEYLOGFILE instead of --keylog; the capture on standard input. */
  gsize len;
  g_autofree char *bytes = NULL;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  const char *argv[] = {CHATCTL_PATH, "dump", "-", NULL};
  g_autofree char *env_kv = g_strdup_printf("%s=%s", CHAT_KEYLOG_ENV, keylog_path);
  const char *env[] = {env_kv, NULL};
  run_program(argv, bytes, len, env, &r);
  cr_assert_eq(r.status, 0, "%s", r.err);
  assert_session_decoded(r.out, &alice, &bob, na, nb);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_session_decoded_in_order, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_V2, CHAT_DIALECT_V2);
}

Test(dump, seed_session_decoded_in_order, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_SEED, CHAT_DIALECT_SEED);
}

Test(dump, mixed_dialects_in_one_capture, .init = setup, .fini = teardown, .timeout = 120) {
  check_full_session(CHAT_DIALECT_V2, CHAT_DIALECT_SEED);
}

/* The same traffic through every link type, IPv6, pcapng, and a capture
 * with reordered, repeated and overlapping segments decodes the same. */
static void check_variants(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  const char *name = chat_dialect_name(dialect);
  const struct {
    const char *file;
    capture_write_options o;
  } variants[] = {
      {"ethernet.pcap", {.linktype = DLT_EN10MB}},
      {"sll.pcap", {.linktype = DLT_LINUX_SLL}},
      {"sll2.pcap", {.linktype = DLT_LINUX_SLL2}},
      {"null.pcap", {.linktype = DLT_NULL}},
      {"raw6.pcap", {.linktype = DLT_RAW, .ipv6 = true}},
      {"ethernet6.pcapng", {.linktype = DLT_EN10MB, .ipv6 = true, .pcapng = true}},
      {"sll2.pcapng", {.linktype = DLT_LINUX_SLL2, .pcapng = true}},
      {"disorder.pcap", {.linktype = DLT_EN10MB, .mss = 700, .disorder = true}},
      {"disorder6.pcapng",
       {.linktype = DLT_RAW, .ipv6 = true, .pcapng = true, .mss = 1460, .disorder = true}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(variants); i++) {
    g_autofree char *cap = write_capture(events, &variants[i].o, variants[i].file);
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s: %s", variants[i].file, r.err);
    decoded d;
    parse_text(r.out, &d);
    cr_assert_gt(d.msgs[1][0]->len, 0, "%s: nothing decoded:\n%s", variants[i].file, r.out);
    assert_same_list(alice.sent, d.msgs[1][0], variants[i].file);
    assert_prefix(alice.received, d.msgs[1][1], variants[i].file);
    assert_same_list(bob.sent, d.msgs[2][0], variants[i].file);
    assert_prefix(bob.received, d.msgs[2][1], variants[i].file);
    cr_assert_str_eq(d.dialect[1], name);
    decoded_clear(&d);
    cr_assert_null(strstr(r.out, "stream broken"), "%s:\n%s", variants[i].file, r.out);
    if (variants[i].o.ipv6)
      cr_assert(strstr(r.out, "[::1]:8111") != NULL, "%s", variants[i].file);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_link_types_and_disorder, .init = setup, .fini = teardown, .timeout = 120) {
  check_variants(CHAT_DIALECT_V2);
}

Test(dump, seed_link_types_and_disorder, .init = setup, .fini = teardown, .timeout = 120) {
  check_variants(CHAT_DIALECT_SEED);
}

/* ---- without keys ------------------------------------------------------- */

/* The ids of one label in the key log. */
static GPtrArray *keylog_ids(const char *label) {
  g_autofree char *text = NULL;
  cr_assert(g_file_get_contents(keylog_path, &text, NULL, NULL));
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto(GStrv) f = g_strsplit(*l, " ", 3);
    if (g_strv_length(f) == 3 && strcmp(f[0], label) == 0)
      g_ptr_array_add(ids, g_strdup(f[1]));
  }
  return ids;
}

static void check_without_keys(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "session.pcap");
  g_autofree char *empty = path_in_work_dir("empty.log");
  cr_assert(g_file_set_contents(empty, "# no keys here\n", -1, NULL));
  for (int run = 0; run < 2; run++) {
    program_result r;
    if (run == 0)
      DUMP(&r, cap);
    else
      DUMP(&r, "--keylog", empty, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    decoded d;
    parse_text(r.out, &d);
    for (int c = 1; c <= 2; c++)
      for (int dir = 0; dir < 2; dir++)
        cr_assert_eq(d.msgs[c][dir]->len, 0, "decoded without a key?\n%s", r.out);
    decoded_clear(&d);
    /* The note names the session id the key log would need. */
    g_autoptr(GPtrArray) ids =
        keylog_ids(dialect == CHAT_DIALECT_V2 ? CHAT_KEYLOG_LABEL_V2_C2S : CHAT_KEYLOG_LABEL_SEED);
    cr_assert_eq(ids->len, 2);
    for (guint i = 0; i < ids->len; i++) {
      g_autofree char *note =
          g_strdup_printf("no key found in the key log for session id %s", (char *)ids->pdata[i]);
      cr_assert(strstr(r.out, note) != NULL, "missing: %s\n%s", note, r.out);
    }
    if (dialect == CHAT_DIALECT_V2) {
      cr_assert(strstr(r.out, "c->s v2 -- preamble: version 2, suite 1") != NULL, "%s", r.out);
      /* 32 bytes of key, then the client-info ChatConnection sends. */
      cr_assert(strstr(r.out, "c->s v2 -- handshake message 1: ") != NULL &&
                    strstr(r.out, "(the client's ephemeral key and ") != NULL &&
                    strstr(r.out, " bytes of client info, in the clear)") != NULL,
                "%s", r.out);
      cr_assert(strstr(r.out, "s->c v2 -- handshake message 2: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "c->s v2 -- record: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c v2 -- record: ") != NULL, "%s", r.out);
    } else {
      cr_assert(strstr(r.out, "c->s seed -- client DH value: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c seed -- server DH value: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "c->s seed -- frame: ") != NULL, "%s", r.out);
      cr_assert(strstr(r.out, "s->c seed -- frame: ") != NULL, "%s", r.out);
    }
    cr_assert(strstr(r.out, "2 sessions without keys") != NULL, "%s", r.out);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_without_keys_shows_sizes, .init = setup, .fini = teardown, .timeout = 120) {
  check_without_keys(CHAT_DIALECT_V2);
}

Test(dump, seed_without_keys_shows_sizes, .init = setup, .fini = teardown, .timeout = 120) {
  check_without_keys(CHAT_DIALECT_SEED);
}

/* ---- damage ------------------------------------------------------------- */

static void check_lost_segment(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  gsize n = capture_count_data_packets(events, 0, 0, 1);
  cr_assert_gt(n, 4);
  capture_write_options o = {
      .drop_set = true, .drop_conn = 0, .drop_dir = 1, .drop_index = (int)(n / 2)};
  g_autofree char *cap = write_capture(events, &o, "lost.pcap");
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "#1 s->c") && strstr(r.out, "-- stream broken at byte "), "%s", r.out);
  cr_assert(g_regex_match_simple("#1 s->c \\S+ -- stream broken at byte \\d+: \\d+ bytes missing",
                                 r.out, 0, 0),
            "%s", r.out);
  decoded d;
  parse_text(r.out, &d);
  /* What came before the hole is decoded; nothing after it in that
   * direction; the other direction and the other connection are whole. */
  cr_assert_gt(d.msgs[1][1]->len, 2, "%s", r.out);
  cr_assert_lt(d.msgs[1][1]->len, alice.received->len, "%s", r.out);
  GPtrArray *before = g_ptr_array_new();
  for (guint i = 0; i < d.msgs[1][1]->len; i++)
    g_ptr_array_add(before, alice.received->pdata[i]);
  assert_same_list(before, d.msgs[1][1], "alice s->c before the hole");
  g_ptr_array_unref(before);
  assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
  assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
  assert_prefix(bob.received, d.msgs[2][1], "bob s->c");
  decoded_clear(&d);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_lost_segment_breaks_one_direction, .init = setup, .fini = teardown, .timeout = 120) {
  check_lost_segment(CHAT_DIALECT_V2);
}

Test(dump, seed_lost_segment_breaks_one_direction, .init = setup, .fini = teardown,
     .timeout = 120) {
  check_lost_segment(CHAT_DIALECT_SEED);
}

/* Seed: the server's DH value lost, or the client's first frame lost. The
 * other direction is still decoded: the break itself tells where the other
 * side's first flight ended. */
Test(dump, seed_lost_first_flights, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_SEED, CHAT_DIALECT_SEED, &alice, &bob);
  for (int dir = 0; dir < 2; dir++) {
    /* s->c packet 0 is the server's DH value; c->s packet 1 the first frame. */
    capture_write_options o = {
        .drop_set = true, .drop_conn = 0, .drop_dir = dir, .drop_index = dir == 1 ? 0 : 1};
    g_autofree char *cap = write_capture(events, &o, "lost-first.pcap");
    program_result r;
    DUMP(&r, "--keylog", keylog_path, cap);
    cr_assert_eq(r.status, 0, "%s", r.err);
    decoded d;
    parse_text(r.out, &d);
    if (dir == 1) {
      cr_assert(strstr(r.out, "#1 s->c seed -- stream broken at byte 0: 256 bytes missing") != NULL,
                "%s", r.out);
      assert_same_list(alice.sent, d.msgs[1][0], "alice c->s");
      cr_assert_eq(d.msgs[1][1]->len, 0);
    } else {
      cr_assert(strstr(r.out, "#1 c->s seed -- stream broken at byte 256: ") != NULL, "%s", r.out);
      cr_assert_eq(d.msgs[1][0]->len, 0);
      assert_prefix(alice.received, d.msgs[1][1], "alice s->c");
    }
    assert_same_list(bob.sent, d.msgs[2][0], "bob c->s");
    decoded_clear(&d);
    program_result_clear(&r);
  }
  act_clear(&alice);
  act_clear(&bob);
}

/* The offset in a pcap file of a point in the middle of the packet that
 * covers `at`. */
static gsize middle_of_packet(const guint8 *file, gsize len, gsize at) {
  gsize off = 24;
  while (off + 16 <= len) {
    guint32 caplen;
    memcpy(&caplen, file + off + 8, 4);
    gsize end = off + 16 + caplen;
    if (end > at && caplen > 2)
      return off + 16 + caplen / 2;
    off = end;
  }
  cr_assert_fail("no packet at %zu", at);
  return 0;
}

static void check_truncated_file(chat_dialect dialect) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(dialect, dialect, &alice, &bob);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(events, &o, "whole.pcap");
  g_autofree char *bytes = NULL;
  gsize len;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  gsize cut = middle_of_packet((const guint8 *)bytes, len, len * 3 / 5);
  g_autofree char *cut_path = path_in_work_dir("cut.pcap");
  cr_assert(g_file_set_contents(cut_path, bytes, (gssize)cut, NULL));
  program_result r;
  DUMP(&r, "--keylog", keylog_path, cut_path);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(g_regex_match_simple("-- the capture file cannot be read past packet \\d+ "
                                 "\\(truncated dump file",
                                 r.out, 0, 0),
            "%s", r.out);
  cr_assert(strstr(r.err, "truncated") != NULL, "%s", r.err);
  decoded d;
  parse_text(r.out, &d);
  cr_assert_geq(d.msgs[1][0]->len, 3, "%s", r.out);
  GPtrArray *got = d.msgs[1][0];
  cr_assert_leq(got->len, alice.sent->len);
  for (guint i = 0; i < got->len; i++)
    cr_assert_str_eq(got->pdata[i], alice.sent->pdata[i]);
  decoded_clear(&d);
  program_result_clear(&r);

  /* Cut inside the file header: not a capture at all. */
  g_autofree char *stub = path_in_work_dir("stub.pcap");
  cr_assert(g_file_set_contents(stub, bytes, 10, NULL));
  DUMP(&r, stub);
  cr_assert_eq(r.status, 2, "%s", r.out);
  cr_assert(strstr(r.err, "cannot read the capture") != NULL, "%s", r.err);
  program_result_clear(&r);
  act_clear(&alice);
  act_clear(&bob);
}

Test(dump, v2_truncated_file, .init = setup, .fini = teardown, .timeout = 120) {
  check_truncated_file(CHAT_DIALECT_V2);
}

Test(dump, seed_truncated_file, .init = setup, .fini = teardown, .timeout = 120) {
  check_truncated_file(CHAT_DIALECT_SEED);
}

/* Random bytes changed all over a real capture: never a crash. */
Test(dump, corrupted_captures_never_crash, .init = setup, .fini = teardown, .timeout = 120) {
  actor alice = {0}, bob = {0};
  GPtrArray *events = record_session(CHAT_DIALECT_V2, CHAT_DIALECT_SEED, &alice, &bob);
  capture_write_options o = {.mss = 1000};
  g_autofree char *cap = write_capture(events, &o, "whole.pcap");
  g_autofree char *bytes = NULL;
  gsize len;
  cr_assert(g_file_get_contents(cap, &bytes, &len, NULL));
  g_autofree char *bad = path_in_work_dir("bad.pcap");
  GRand *rand = g_rand_new_with_seed(20240501);
  /* One assertion at the end: the failures are collected. */
  GString *failures = g_string_new(NULL);
  for (int round = 0; round < 12; round++) {
    g_autofree char *copy = g_memdup2(bytes, len);
    int flips = round < 6 ? 8 : 200;
    for (int k = 0; k < flips; k++) {
      /* Past the file header; the later rounds also hit record headers. */
      gsize at = 24 + (gsize)g_rand_int_range(rand, 0, (gint32)(len - 24));
      copy[at] = (char)g_rand_int_range(rand, 0, 256);
    }
    cr_assert(g_file_set_contents(bad, copy, (gssize)len, NULL));
    program_result r;
    DUMP(&r, "--keylog", keylog_path, bad);
    if (r.status != 0 || strstr(r.out, "--") == NULL)
      g_string_append_printf(failures, "round %d: status %d: %s\n", round, r.status, r.err);
    program_result_clear(&r);
    DUMP(&r, "--json", bad);
    if (r.status != 0)
      g_string_append_printf(failures, "round %d --json: status %d: %s\n", round, r.status, r.err);
    program_result_clear(&r);
  }
  g_rand_free(rand);
  cr_assert_eq(failures->len, 0, "%s", failures->str);
  g_string_free(failures, TRUE);
  act_clear(&alice);
  act_clear(&bob);
}

/* ---- request ids (spec/protocol.md 3 and 5.7) ---------------------------- */

/* A v2 request with an id and its answer show the id: "#N " after the name
 * in text, "request_id" in JSON; a message without one shows none. */
Test(dump, v2_request_ids_are_shown, .init = setup, .fini = teardown, .timeout = 120) {
  proxy = capture_proxy_start(chatd.port);
  test_client *c = client_connect(capture_proxy_port(proxy), CHAT_DIALECT_V2);
  client_send_with_id(c, "client_echo", "\"ping\"", 4242);
  gboolean has_id = FALSE;
  guint32 id = 0;
  g_autofree char *echo = client_next_with_id(c, HARNESS_TIMEOUT_MS, &has_id, &id);
  cr_assert(echo && has_id && id == 4242, "%s", echo ? echo : "(nothing)");
  client_send(c, "client_echo", "\"pong\"");
  g_free(client_next(c, HARNESS_TIMEOUT_MS));
  client_free(c);
  cr_assert(capture_proxy_wait_idle(proxy, IDLE_TIMEOUT_MS), "connections did not end");
  capture_proxy_stop(proxy);
  capture_write_options o = {0};
  g_autofree char *cap = write_capture(capture_proxy_events(proxy), &o, "ids.pcap");

  program_result r;
  DUMP(&r, "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "client_echo #4242 \"ping\""), "%s", r.out);
  cr_assert(strstr(r.out, "server_echo #4242 \"ping\""), "%s", r.out);
  cr_assert(strstr(r.out, "client_echo \"pong\""), "%s", r.out);
  cr_assert(strstr(r.out, "server_echo \"pong\""), "%s", r.out);
  program_result_clear(&r);

  DUMP(&r, "--json", "--keylog", keylog_path, cap);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "\"name\": \"server_echo\", \"request_id\": 4242, \"params\": \"ping\""),
            "%s", r.out);
  program_result_clear(&r);
}
