/* The typed layer of search (protocol/messages.h): the spec's vectors read
 * field by field, a server's writer (items by callback) gives the vector's
 * bytes, and the rules of a search request (chat_msg_search_problem) hold
 * at each bound. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol/catalogue.h"
#include "protocol/chat-limits.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "protocol/messages.h"
#include "vectors.h"

#define MESSAGES "messages.json"

static chat_arena arena;

static void setup(void) {
  chat_arena_init(&arena);
}
static void teardown(void) {
  chat_arena_clear(&arena);
}

/* The parameters of the valid vector named `name`, and its bytes. */
static const chat_value *vector_params(const char *name, chat_buffer *bytes) {
  size_t n = vectors_count(MESSAGES, "valid");
  for (size_t i = 0; i < n; i++) {
    const chat_json *v = vectors_get(MESSAGES, "valid", i, &arena);
    if (strcmp(vector_string(v, "name"), name) != 0)
      continue;
    chat_buffer_init(bytes);
    vector_hex(v, "hex", bytes);
    chat_message_header header;
    chat_value *params = NULL;
    chat_error err;
    cr_assert_eq(chat_message_decode_with_id(CHAT_DIALECT_V2, bytes->data, bytes->len, NULL, 0,
                                             &arena, &header, &params, &err),
                 0, "%s: %s", name, err.message);
    return params;
  }
  cr_assert_fail("no vector \"%s\"", name);
  return NULL;
}

Test(messages_search, request_reads_field_by_field, .init = setup, .fini = teardown) {
  chat_buffer bytes;
  const chat_value *params =
      vector_params("v2 search (in one conversation, older than an id)", &bytes);
  chat_msg_search x;
  chat_error err;
  cr_assert_eq(chat_msg_search_read(params, &x, &err), 0, "%s", err.message);
  cr_assert(chat_span_eq(x.query, "明天"));
  cr_assert_eq(x.before_id, 42);
  cr_assert_eq(x.limit, 50);
  cr_assert(x.has_target_type && x.has_target_id);
  cr_assert_eq(x.target_type, CHAT_TARGET_USER);
  cr_assert_eq(x.target_id, 2);
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  chat_buffer_clear(&bytes);

  params = vector_params("v2 search (everywhere, from the newest)", &bytes);
  cr_assert_eq(chat_msg_search_read(params, &x, &err), 0, "%s", err.message);
  cr_assert(!x.has_target_type && !x.has_target_id);
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  chat_buffer_clear(&bytes);
}

Test(messages_search, results_read_field_by_field, .init = setup, .fini = teardown) {
  chat_buffer bytes;
  const chat_value *params = vector_params(
      "v2 search_results (every occurrence in any ASCII case, a 1:1 and a room message)", &bytes);
  chat_msg_search_results x;
  chat_error err;
  cr_assert_eq(chat_msg_search_results_read(params, &x, &err), 0, "%s", err.message);
  cr_assert(chat_span_eq(x.query, "hello"));
  cr_assert(x.more);
  cr_assert_eq(x.results.count, 2);
  chat_msg_search_result first, second;
  chat_msg_search_result_at(&x.results, 0, &first);
  chat_msg_search_result_at(&x.results, 1, &second);
  cr_assert_eq(first.notice.id, 12);
  cr_assert_eq(second.notice.id, 9);
  cr_assert_eq(second.notice.target_type, CHAT_TARGET_ROOM);
  static const int64_t want[][2] = {{0, 5}, {7, 5}, {14, 5}};
  cr_assert_eq(first.matches.count, 3);
  for (size_t i = 0; i < 3; i++) {
    chat_msg_search_span span;
    chat_msg_search_span_at(&first.matches, i, &span);
    cr_assert_eq(span.start, want[i][0]);
    cr_assert_eq(span.length, want[i][1]);
  }
  chat_buffer_clear(&bytes);
}

/* A server writes results from its own arrays: items by callback. */
typedef struct {
  const chat_msg_notice *notice;
  const chat_msg_search_span *spans;
  size_t count;
} built_result;

static void write_span_item(chat_writer *w, size_t index, const void *data) {
  chat_msg_search_span_write(w, &((const chat_msg_search_span *)data)[index]);
}

static void write_result_item(chat_writer *w, size_t index, const void *data) {
  const built_result *r = &((const built_result *)data)[index];
  chat_msg_search_result result = {
      .notice = *r->notice,
      .matches = {.count = r->count, .write_item = write_span_item, .data = r->spans},
  };
  chat_msg_search_result_write(w, &result);
}

Test(messages_search, a_servers_writer_gives_the_vectors_bytes, .init = setup, .fini = teardown) {
  chat_buffer bytes;
  vector_params("v2 search_results (Chinese, overlapping occurrences)", &bytes);
  chat_msg_notice notice = {
      .message = {.form = CHAT_BODY_TEXT,
                  .type = CHAT_BODY_TYPE_TEXT,
                  .data = chat_span_cstr("哈哈哈，明天见！"),
                  .font_size = 12,
                  .font_color = chat_span_cstr("#ff0000")},
      .sender_id = 2,
      .sender_name = chat_span_cstr("鲍勃"),
      .target_type = CHAT_TARGET_USER,
      .time = 1700000060000,
      .target_id = 1,
      .has_id = true,
      .id = 41,
      .has_sender_username = true,
      .sender_username = chat_span_cstr("bob"),
  };
  static const chat_msg_search_span spans[] = {{0, 6}, {3, 6}};
  built_result results[] = {{&notice, spans, 2}};
  chat_msg_search_results x = {
      .query = chat_span_cstr("哈哈"),
      .results = {.count = 1, .write_item = write_result_item, .data = results},
      .more = false,
  };
  chat_buffer message;
  chat_buffer_init(&message);
  chat_writer w;
  chat_writer_init(&w, &message);
  chat_message_begin(&w, CHAT_DIALECT_V2, CHAT_MSG_SEARCH_RESULTS);
  chat_msg_search_results_write(&w, &x);
  cr_assert_eq(chat_writer_finish(&w), 0);
  cr_assert_eq(message.len, bytes.len);
  cr_assert_eq(memcmp(message.data, bytes.data, bytes.len), 0);
  chat_buffer_clear(&message);
  chat_buffer_clear(&bytes);
}

static chat_msg_search valid_search(void) {
  return (chat_msg_search){.query = chat_span_cstr("hello"), .before_id = 0, .limit = 20};
}

static void assert_refused(const chat_msg_search *x, chat_request_error want, const char *words) {
  chat_request_error code = CHAT_REQUEST_ERROR_UNKNOWN;
  const char *problem = chat_msg_search_problem(x, &code);
  cr_assert_not_null(problem, "accepted, expected \"%s\"", words);
  cr_assert_eq(code, want, "%s: code %d", problem, code);
  cr_assert_not_null(strstr(problem, words), "\"%s\" does not say \"%s\"", problem, words);
}

Test(messages_search, query_is_1_to_256_bytes_not_only_white_space) {
  char query[CHAT_SEARCH_QUERY_MAX + 1];
  memset(query, 'a', sizeof query);
  chat_msg_search x = valid_search();
  x.query = (chat_span){query, CHAT_SEARCH_QUERY_MAX};
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.query = (chat_span){query, CHAT_SEARCH_QUERY_MAX + 1};
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "1 to 256 bytes");
  x.query = (chat_span){"", 0};
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "1 to 256 bytes");
  x.query = chat_span_cstr("a");
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.query = chat_span_cstr(" \t\r\n\f ");
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "white space");
  /* Only ASCII white space counts: U+3000 is a character one may look for. */
  x.query = chat_span_cstr("\xe3\x80\x80");
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.query = chat_span_cstr(" a ");
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.query = chat_span_cstr("\xe6\x98");
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "UTF-8");
}

Test(messages_search, limit_is_1_to_50) {
  chat_msg_search x = valid_search();
  x.limit = 1;
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.limit = CHAT_SEARCH_LIMIT_MAX;
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.limit = CHAT_SEARCH_LIMIT_MAX + 1;
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "limit must be 1 to 50");
  x.limit = 0;
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "limit must be 1 to 50");
  x.limit = -1;
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "limit must be 1 to 50");
}

Test(messages_search, target_keys_go_together_and_name_a_user_or_room) {
  chat_msg_search x = valid_search();
  x.has_target_type = true;
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "go together");
  x.has_target_type = false;
  x.has_target_id = true;
  assert_refused(&x, CHAT_REQUEST_ERROR_BAD_REQUEST, "go together");
  x.has_target_type = true;
  x.target_type = CHAT_TARGET_ROOM;
  cr_assert_null(chat_msg_search_problem(&x, NULL));
  x.target_type = 2;
  assert_refused(&x, CHAT_REQUEST_ERROR_INVALID_TARGET, "target_type must be 0");
  x.target_type = -1;
  assert_refused(&x, CHAT_REQUEST_ERROR_INVALID_TARGET, "target_type must be 0");
}
