/* Runs the public cacophony Noise test vectors against the Noise core.
 *
 * The vector file (JSON, {"vectors": [...]}, see spec/vectors/noise/README.md)
 * is named by $CHAT_NOISE_VECTORS, else by the compile-time default
 * CHAT_DEFAULT_NOISE_VECTORS. Every vector whose protocol the core supports is
 * run from both sides: each handshake and transport ciphertext is compared
 * byte for byte, each decrypted payload and the handshake hash too.
 *
 * A key field that the vector's pattern does not use (a responder
 * ephemeral for the one-way patterns N, X and K, a static key of NN, ...)
 * is ignored, as other implementations' vector files carry them.
 *
 * The default file is the vendored copy in spec/vectors/noise, so a plain
 * clone runs them. When the file is missing the program exits 77, meson's
 * "skipped", so a skip shows instead of passing with nothing run. */
#include <criterion/criterion.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/noise.h"
#include "test-util.h"

#ifndef CHAT_DEFAULT_NOISE_VECTORS
#define CHAT_DEFAULT_NOISE_VECTORS "spec/vectors/noise/cacophony.txt"
#endif

#define ERROR_TEXT_MAX 512

/* Protocols that must have been run, so the test cannot pass by skipping. */
static const char *const required_protocols[] = {
    "Noise_NN_25519_AESGCM_SHA256", "Noise_NN_25519_ChaChaPoly_SHA256",
    "Noise_NX_25519_AESGCM_SHA256", "Noise_NX_25519_ChaChaPoly_SHA256",
    "Noise_XX_25519_AESGCM_SHA256", "Noise_XX_25519_ChaChaPoly_SHA256",
};
#define REQUIRED_COUNT (sizeof required_protocols / sizeof required_protocols[0])

typedef enum { VECTOR_PASSED, VECTOR_SKIPPED, VECTOR_FAILED } vector_result;

typedef struct {
  const char *side; /* "initiator" / "responder" */
  chat_noise_handshake *hs;
  chat_noise_cipher *send;
  chat_noise_cipher *recv;
} party;

typedef struct {
  uint8_t *data;
  size_t len;
} bytes;

static const char *vectors_path(void) {
  const char *env = getenv("CHAT_NOISE_VECTORS");
  return env != NULL && env[0] != '\0' ? env : CHAT_DEFAULT_NOISE_VECTORS;
}

/* Decodes a hex string; false if malformed. */
static bool hex_decode(const char *hex, bytes *out) {
  return test_hex_decode(hex, &out->data, &out->len);
}

/* The decoded hex member `field` of v; *present tells whether it exists. */
static bool get_hex(JsonObject *v, const char *field, bytes *out, bool *present) {
  out->data = NULL;
  out->len = 0;
  *present = json_object_has_member(v, field);
  if (!*present)
    return true;
  const char *s = json_object_get_string_member(v, field);
  return s != NULL && hex_decode(s, out);
}

static void party_clear(party *p) {
  chat_noise_handshake_free(p->hs);
  chat_noise_cipher_free(p->send);
  chat_noise_cipher_free(p->recv);
  p->hs = NULL;
  p->send = NULL;
  p->recv = NULL;
}

typedef int (*key_setter)(chat_noise_handshake *, const uint8_t *, size_t);

/* Applies the optional hex field "<prefix>_<name>" with setter. */
static bool apply_key(JsonObject *v, const char *prefix, const char *name, key_setter setter,
                      party *p, char *err) {
  char field[64];
  snprintf(field, sizeof field, "%s_%s", prefix, name);
  bytes key;
  bool present;
  if (!get_hex(v, field, &key, &present)) {
    snprintf(err, ERROR_TEXT_MAX, "malformed hex in %s", field);
    return false;
  }
  if (!present)
    return true;
  int rc = setter(p->hs, key.data, key.len);
  free(key.data);
  if (rc == CHAT_NOISE_ERR_NOT_APPLICABLE)
    return true; /* a key this pattern does not use for this side */
  if (rc != CHAT_NOISE_OK) {
    snprintf(err, ERROR_TEXT_MAX, "%s: setting %s: %s", p->side, field, chat_strerror(rc));
    return false;
  }
  return true;
}

/* Creates and starts one side. Returns VECTOR_SKIPPED for an unsupported
 * protocol. */
static vector_result setup_party(JsonObject *v, const char *name, chat_noise_role role, party *p,
                                 char *err) {
  const char *prefix = role == CHAT_NOISE_ROLE_INITIATOR ? "init" : "resp";
  p->side = role == CHAT_NOISE_ROLE_INITIATOR ? "initiator" : "responder";
  int rc = chat_noise_handshake_new(name, role, &p->hs);
  if (rc == CHAT_NOISE_ERR_UNSUPPORTED_PATTERN || rc == CHAT_NOISE_ERR_UNSUPPORTED_DH ||
      rc == CHAT_NOISE_ERR_UNSUPPORTED_CIPHER || rc == CHAT_NOISE_ERR_UNSUPPORTED_HASH)
    return VECTOR_SKIPPED;
  if (rc != CHAT_NOISE_OK) {
    snprintf(err, ERROR_TEXT_MAX, "%s: handshake_new: %s", p->side, chat_strerror(rc));
    return VECTOR_FAILED;
  }

  char field[64];
  snprintf(field, sizeof field, "%s_prologue", prefix);
  bytes prologue;
  bool present;
  if (!get_hex(v, field, &prologue, &present)) {
    snprintf(err, ERROR_TEXT_MAX, "malformed hex in %s", field);
    return VECTOR_FAILED;
  }
  if (present) {
    rc = chat_noise_handshake_set_prologue(p->hs, prologue.data, prologue.len);
    free(prologue.data);
    if (rc != CHAT_NOISE_OK) {
      snprintf(err, ERROR_TEXT_MAX, "%s: set_prologue: %s", p->side, chat_strerror(rc));
      return VECTOR_FAILED;
    }
  }
  if (!apply_key(v, prefix, "static", chat_noise_handshake_set_local_static, p, err) ||
      !apply_key(v, prefix, "remote_static", chat_noise_handshake_set_remote_static, p, err) ||
      !apply_key(v, prefix, "ephemeral", chat_noise_handshake_set_fixed_ephemeral, p, err))
    return VECTOR_FAILED;
  rc = chat_noise_handshake_start(p->hs);
  if (rc != CHAT_NOISE_OK) {
    snprintf(err, ERROR_TEXT_MAX, "%s: start: %s", p->side, chat_strerror(rc));
    return VECTOR_FAILED;
  }
  return VECTOR_PASSED;
}

static bool same_bytes(const uint8_t *got, size_t got_len, const bytes *want) {
  return got_len == want->len && (want->len == 0 || memcmp(got, want->data, want->len) == 0);
}

/* Splits both sides and checks the handshake hash of each. */
static bool finish_handshake(JsonObject *v, party *init, party *resp, char *err) {
  party *sides[] = {init, resp};
  bytes want;
  bool present;
  if (!get_hex(v, "handshake_hash", &want, &present)) {
    snprintf(err, ERROR_TEXT_MAX, "malformed hex in handshake_hash");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; ok && i < 2; i++) {
    party *p = sides[i];
    uint8_t h[CHAT_NOISE_MAX_HASH_LEN];
    size_t hlen = 0;
    int rc = chat_noise_handshake_get_hash(p->hs, h, sizeof h, &hlen);
    if (rc != CHAT_NOISE_OK) {
      snprintf(err, ERROR_TEXT_MAX, "%s: get_hash: %s", p->side, chat_strerror(rc));
      ok = false;
    } else if (present && !same_bytes(h, hlen, &want)) {
      snprintf(err, ERROR_TEXT_MAX, "%s: handshake_hash mismatch", p->side);
      ok = false;
    } else if ((rc = chat_noise_handshake_split(p->hs, &p->send, &p->recv)) != CHAT_NOISE_OK) {
      snprintf(err, ERROR_TEXT_MAX, "%s: split: %s", p->side, chat_strerror(rc));
      ok = false;
    }
  }
  free(want.data);
  return ok;
}

/* Checks one step of a message: rc is CHAT_NOISE_OK (else "<side> <op>: <error>")
 * and got is want (else "<side> <what> mismatch"); says why in err. */
static bool step_ok(size_t index, const char *side, const char *op, int rc, const uint8_t *got,
                    size_t got_len, const bytes *want, const char *what, char *err) {
  if (rc != CHAT_NOISE_OK) {
    snprintf(err, ERROR_TEXT_MAX, "message %zu: %s %s: %s", index, side, op, chat_strerror(rc));
    return false;
  }
  if (!same_bytes(got, got_len, want)) {
    snprintf(err, ERROR_TEXT_MAX, "message %zu: %s %s mismatch", index, side, what);
    return false;
  }
  return true;
}

/* One handshake message from writer to reader. */
static bool handshake_message(size_t index, party *writer, party *reader, const bytes *payload,
                              const bytes *ciphertext, uint8_t *buf, uint8_t *plain, char *err) {
  if (chat_noise_handshake_action(writer->hs) != CHAT_NOISE_ACTION_WRITE_MESSAGE ||
      chat_noise_handshake_action(reader->hs) != CHAT_NOISE_ACTION_READ_MESSAGE) {
    snprintf(err, ERROR_TEXT_MAX, "message %zu: %s is not due to write", index, writer->side);
    return false;
  }
  size_t len = 0;
  int rc = chat_noise_handshake_write_message(writer->hs, payload->data, payload->len, buf,
                                              CHAT_NOISE_MAX_MESSAGE, &len);
  if (!step_ok(index, writer->side, "write", rc, buf, len, ciphertext, "handshake ciphertext", err))
    return false;
  size_t plen = 0;
  rc =
      chat_noise_handshake_read_message(reader->hs, buf, len, plain, CHAT_NOISE_MAX_MESSAGE, &plen);
  if (!step_ok(index, reader->side, "read", rc, plain, plen, payload, "decrypted payload", err))
    return false;
  return true;
}

/* One transport message from writer to reader. */
static bool transport_message(size_t index, party *writer, party *reader, const bytes *payload,
                              const bytes *ciphertext, uint8_t *buf, uint8_t *plain, char *err) {
  if (writer->send == NULL || reader->recv == NULL) {
    snprintf(err, ERROR_TEXT_MAX, "message %zu: no transport cipher %s -> %s", index, writer->side,
             reader->side);
    return false;
  }
  size_t len = 0;
  int rc = chat_noise_cipher_encrypt(writer->send, NULL, 0, payload->data, payload->len, buf,
                                     CHAT_NOISE_MAX_MESSAGE, &len);
  if (!step_ok(index, writer->side, "encrypt", rc, buf, len, ciphertext, "transport ciphertext",
               err))
    return false;
  size_t plen = 0;
  rc = chat_noise_cipher_decrypt(reader->recv, NULL, 0, buf, len, plain, CHAT_NOISE_MAX_MESSAGE,
                                 &plen);
  if (!step_ok(index, reader->side, "decrypt", rc, plain, plen, payload, "decrypted payload", err))
    return false;
  return true;
}

static vector_result run_vector(JsonObject *v, const char *name, char *err) {
  party init = {0}, resp = {0};
  vector_result r = setup_party(v, name, CHAT_NOISE_ROLE_INITIATOR, &init, err);
  if (r == VECTOR_PASSED)
    r = setup_party(v, name, CHAT_NOISE_ROLE_RESPONDER, &resp, err);
  if (r != VECTOR_PASSED) {
    party_clear(&init);
    party_clear(&resp);
    return r;
  }

  JsonArray *messages = json_object_get_array_member(v, "messages");
  guint count = messages != NULL ? json_array_get_length(messages) : 0;
  uint8_t *buf = g_malloc(CHAT_NOISE_MAX_MESSAGE);
  uint8_t *plain = g_malloc(CHAT_NOISE_MAX_MESSAGE);
  bool handshaking = true;
  bool ok = count > 0;
  if (!ok)
    snprintf(err, ERROR_TEXT_MAX, "no messages");
  for (guint i = 0; ok && i < count; i++) {
    JsonObject *m = json_array_get_object_element(messages, i);
    bytes payload = {0}, ciphertext = {0};
    const char *ps = m ? json_object_get_string_member(m, "payload") : NULL;
    const char *cs = m ? json_object_get_string_member(m, "ciphertext") : NULL;
    if (ps == NULL || cs == NULL || !hex_decode(ps, &payload) || !hex_decode(cs, &ciphertext)) {
      snprintf(err, ERROR_TEXT_MAX, "message %u: malformed", i);
      ok = false;
    } else {
      /* Messages alternate, initiator first; after a one-way handshake only
       * the initiator sends (its receive cipher is NULL). */
      bool from_init = i % 2 == 0 || (!handshaking && init.recv == NULL);
      party *writer = from_init ? &init : &resp;
      party *reader = from_init ? &resp : &init;
      if (handshaking) {
        ok = handshake_message(i, writer, reader, &payload, &ciphertext, buf, plain, err);
        if (ok && chat_noise_handshake_action(init.hs) == CHAT_NOISE_ACTION_SPLIT &&
            chat_noise_handshake_action(resp.hs) == CHAT_NOISE_ACTION_SPLIT) {
          ok = finish_handshake(v, &init, &resp, err);
          handshaking = false;
        }
      } else {
        ok = transport_message(i, writer, reader, &payload, &ciphertext, buf, plain, err);
      }
    }
    free(payload.data);
    free(ciphertext.data);
  }
  if (ok && handshaking) {
    snprintf(err, ERROR_TEXT_MAX, "handshake did not finish within the messages");
    ok = false;
  }
  g_free(buf);
  g_free(plain);
  party_clear(&init);
  party_clear(&resp);
  return ok ? VECTOR_PASSED : VECTOR_FAILED;
}

typedef struct {
  size_t ran, skipped, failed;
  bool required_seen[REQUIRED_COUNT];
} run_counts;

/* Runs every vector of the array; failures are reported with cr_expect. */
static void run_vectors(JsonArray *vectors, run_counts *c) {
  guint n = json_array_get_length(vectors);
  for (guint i = 0; i < n; i++) {
    JsonObject *v = json_array_get_object_element(vectors, i);
    const char *name = v != NULL && json_object_has_member(v, "protocol_name")
                           ? json_object_get_string_member(v, "protocol_name")
                           : NULL;
    if (name == NULL) {
      cr_expect_fail("vector %u: no protocol_name", i);
      c->failed++;
      continue;
    }
    char err[ERROR_TEXT_MAX] = "";
    vector_result r = run_vector(v, name, err);
    if (r == VECTOR_SKIPPED) {
      c->skipped++;
      continue;
    }
    c->ran++;
    if (r == VECTOR_FAILED) {
      c->failed++;
      cr_expect_fail("vector %u (%s): %s", i, name, err);
      continue;
    }
    for (size_t k = 0; k < REQUIRED_COUNT; k++) {
      if (strcmp(name, required_protocols[k]) == 0)
        c->required_seen[k] = true;
    }
  }
}

/* The file's "vectors" array; the parser owns it. */
static JsonArray *load_vectors(JsonParser *parser, const char *path) {
  GError *error = NULL;
  if (!json_parser_load_from_file(parser, path, &error)) {
    char msg[ERROR_TEXT_MAX];
    snprintf(msg, sizeof msg, "%s", error->message);
    g_error_free(error);
    cr_assert_fail("cannot parse %s: %s", path, msg);
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *top =
      root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonArray *vectors = top != NULL && json_object_has_member(top, "vectors")
                           ? json_object_get_array_member(top, "vectors")
                           : NULL;
  cr_assert_not_null(vectors, "%s: no \"vectors\" array", path);
  return vectors;
}

Test(noise_vectors, cacophony) {
  const char *path = vectors_path();
  JsonParser *parser = json_parser_new();
  JsonArray *vectors = load_vectors(parser, path);
  run_counts c = {0};
  run_vectors(vectors, &c);
  g_object_unref(parser);

  fprintf(stderr, "noise vectors: ran %zu, skipped %zu (unsupported), failed %zu, from %s\n", c.ran,
          c.skipped, c.failed, path);
  for (size_t k = 0; k < REQUIRED_COUNT; k++)
    cr_expect(c.required_seen[k], "required vector %s was not run successfully",
              required_protocols[k]);
  cr_assert_eq(c.failed, 0, "%zu Noise vectors failed", c.failed);
}

/* A fixed 32-byte key as hex: what another implementation's file may give
 * for a key the pattern never uses. */
#define UNUSED_KEY_HEX "2222222222222222222222222222222222222222222222222222222222222222"

Test(noise_vectors, fields_a_pattern_does_not_use_are_ignored) {
  JsonParser *parser = json_parser_new();
  JsonArray *vectors = load_vectors(parser, vectors_path());
  /* The one-way patterns with a responder ephemeral (and NN with static
   * keys on both sides): run as they are, with the extra fields. */
  static const char *const wanted[] = {
      "Noise_N_25519_ChaChaPoly_SHA256",
      "Noise_X_25519_ChaChaPoly_SHA256",
      "Noise_K_25519_AESGCM_SHA256",
      "Noise_NN_25519_AESGCM_SHA256",
  };
  JsonArray *picked = json_array_new();
  guint n = json_array_get_length(vectors);
  for (guint i = 0; i < n; i++) {
    JsonObject *v = json_array_get_object_element(vectors, i);
    const char *name = json_object_get_string_member(v, "protocol_name");
    for (size_t k = 0; k < G_N_ELEMENTS(wanted); k++) {
      if (strcmp(name, wanted[k]) != 0)
        continue;
      JsonObject *copy = json_node_get_object(json_node_copy(json_array_get_element(vectors, i)));
      if (strcmp(name, "Noise_NN_25519_AESGCM_SHA256") != 0) {
        json_object_set_string_member(copy, "resp_ephemeral", UNUSED_KEY_HEX);
      } else {
        json_object_set_string_member(copy, "init_static", UNUSED_KEY_HEX);
        json_object_set_string_member(copy, "resp_static", UNUSED_KEY_HEX);
        json_object_set_string_member(copy, "init_remote_static", UNUSED_KEY_HEX);
      }
      json_array_add_object_element(picked, copy);
    }
  }
  cr_assert_eq(json_array_get_length(picked), G_N_ELEMENTS(wanted),
               "the vendored file has each of the patterns");
  run_counts c = {0};
  run_vectors(picked, &c);
  cr_assert_eq(c.ran, G_N_ELEMENTS(wanted));
  cr_assert_eq(c.failed, 0);
  json_array_unref(picked);
  g_object_unref(parser);
}

/* Criterion's main, preceded by the check that the vectors exist: without
 * them there is nothing to run, and meson is told so (77, skipped). */
int main(int argc, char *argv[]) {
  const char *path = vectors_path();
  if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
    fprintf(stderr, "SKIP: Noise vector file %s not found (set CHAT_NOISE_VECTORS)\n", path);
    return 77;
  }
  struct criterion_test_set *tests = criterion_initialize();
  int result = 0;
  if (criterion_handle_args(argc, argv, true))
    result = !criterion_run_all_tests(tests);
  criterion_finalize(tests);
  return result;
}
