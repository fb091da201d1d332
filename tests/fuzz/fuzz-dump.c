/* Fuzz target: chatctl dump on a capture file: the pcap / pcapng reader
 * (chatctl/capture/pcap-reader.c), TCP reassembly (tcp-streams.c) and the
 * chat stream decoding of both dialects (chat-streams.c), with a key log
 * holding the keys of the spec/vectors sessions (v2-channel.json, and the
 * seed handshakes of seed-channel.json), so captures of those sessions
 * decrypt. Every message it shows is checked as a receiver would. Seeds:
 * captures of the vector sessions made by make-seeds.py. */
#include <stdio.h>
#include <string.h>

#include "chatctl/capture/chat-streams.h"
#include "fuzz-util.h"
#include "protocol/hex.h"
#include "protocol/keylog.h"

static keylog_table *keys;

static void append_line(chat_buffer *text, const char *label, const uint8_t *id, size_t id_len,
                        const uint8_t *secret, size_t secret_len) {
  FUZZ_CHECK(chat_buffer_append(text, label, strlen(label)) == 0);
  FUZZ_CHECK(chat_buffer_append_byte(text, ' ') == 0);
  chat_hex_encode(id, id_len, text);
  FUZZ_CHECK(chat_buffer_append_byte(text, ' ') == 0);
  chat_hex_encode(secret, secret_len, text);
  FUZZ_CHECK(chat_buffer_append_byte(text, '\n') == 0);
}

static void load_keys(void) {
  chat_buffer text;
  chat_buffer_init(&text);
  const chat_json *sessions = chat_json_object_get(fuzz_vectors("v2-channel.json"), "sessions");
  for (size_t i = 0; sessions && i < sessions->as.array.count; i++) {
    const chat_json *s = &sessions->as.array.items[i];
    uint8_t id[CHAT_KEYLOG_ID_LEN], c2s[CHAT_KEYLOG_SECRET_LEN], s2c[CHAT_KEYLOG_SECRET_LEN];
    fuzz_vector_hex(s, "session_id", id, sizeof id);
    fuzz_vector_hex(s, "c2s_key", c2s, sizeof c2s);
    fuzz_vector_hex(s, "s2c_key", s2c, sizeof s2c);
    append_line(&text, "CHAT_V2_C2S_KEY", id, sizeof id, c2s, sizeof c2s);
    append_line(&text, "CHAT_V2_S2C_KEY", id, sizeof id, s2c, sizeof s2c);
  }
  const chat_json *handshakes =
      chat_json_object_get(fuzz_vectors("seed-channel.json"), "handshakes");
  for (size_t i = 0; handshakes && i < handshakes->as.array.count; i++) {
    const chat_json *h = &handshakes->as.array.items[i];
    uint8_t pub[1024], id[CHAT_KEYLOG_ID_LEN], key[CHAT_KEYLOG_SECRET_LEN];
    size_t pub_len = fuzz_vector_hex(h, "client_public", pub, sizeof pub);
    fuzz_vector_hex(h, "key", key, sizeof key);
    chat_keylog_seed_session_id(pub, pub_len, id);
    append_line(&text, "CHAT_SEED_KEY", id, sizeof id, key, sizeof key);
  }
  const char *path = fuzz_scratch_file("-dump.keylog", text.data, text.len);
  char err[KEYLOG_TABLE_ERROR_MAX];
  FUZZ_CHECK(keylog_table_load(path, NULL, NULL, &keys, err) == 0);
  chat_buffer_clear(&text);
}

static void sink(void *user, const chat_dump_item *item) {
  (void)user;
  FUZZ_CHECK(item->kind != CHAT_DUMP_ITEM_NOTE || item->text != NULL);
  if (item->kind == CHAT_DUMP_ITEM_MESSAGE)
    fuzz_check_message(item->dialect, item->data, item->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!keys)
    load_keys();
  const char *path = fuzz_scratch_file("-capture.pcap", data, size);
  capture_reader *reader = NULL;
  char err[CAPTURE_ERROR_MAX];
  if (capture_reader_open(path, &reader, err) != 0)
    return 0;
  chat_dump_config config = {
      .keys = keys,
      .port = CHAT_DUMP_DEFAULT_PORT,
      .guess_ports = true,
      .sink = sink,
  };
  chat_dump *dump = chat_dump_new(&config);
  FUZZ_CHECK(dump != NULL);
  capture_segment seg;
  int rc;
  while ((rc = capture_reader_next(reader, &seg)) == 1)
    chat_dump_segment(dump, &seg);
  chat_dump_finish(dump, capture_reader_last_time(reader));
  chat_dump_free(dump);
  capture_reader_close(reader);
  return 0;
}
