/* The v2 error codes (protocol/request-error.h): the table is well formed,
 * names map back to codes, and spec/protocol.md 5.7 documents exactly the
 * table's codes, each with its class. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/messages.h"
#include "protocol/request-error.h"
#include "test-util.h"

static bool is_snake_case(const char *s) {
  if (!*s || *s == '_')
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
      return false;
  return true;
}

Test(request_error, table_is_complete_and_names_are_unique) {
  for (unsigned i = 0; i < CHAT_REQUEST_ERROR_COUNT; i++) {
    const chat_request_error_info *e = chat_request_error_info_of((chat_request_error)i);
    cr_assert_eq(e->code, (chat_request_error)i, "entry %u is out of place", i);
    cr_assert(is_snake_case(e->name), "%s", e->name);
    cr_assert_neq(e->text[0], '\0', "%s", e->name);
    cr_assert_neq(e->when[0], '\0', "%s", e->name);
    if (i != CHAT_REQUEST_ERROR_UNKNOWN)
      cr_assert_eq(chat_request_error_by_name(e->name, strlen(e->name)), e->code, "%s", e->name);
    for (unsigned k = 0; k < i; k++)
      cr_assert_str_neq(chat_request_error_info_of((chat_request_error)k)->name, e->name);
  }
  cr_assert_eq(chat_request_error_by_name("no_such_thing", 13), CHAT_REQUEST_ERROR_UNKNOWN);
  cr_assert_eq(chat_request_error_by_name("unknown", 7), CHAT_REQUEST_ERROR_UNKNOWN,
               "unknown is not a code a server sends");
  cr_assert_eq(chat_request_error_by_name("not_member_", 10), CHAT_REQUEST_ERROR_NOT_MEMBER);
  cr_assert_eq(chat_request_error_info_of(CHAT_REQUEST_ERROR_COUNT)->code,
               CHAT_REQUEST_ERROR_UNKNOWN);
}

Test(request_error, a_request_failed_reads_back_its_code) {
  chat_msg_request_failed x = {chat_span_cstr("too_many_attempts"), chat_span_cstr("later")};
  cr_assert_eq(chat_msg_request_failed_code(&x), CHAT_REQUEST_ERROR_TOO_MANY_ATTEMPTS);
  x.error = chat_span_cstr("from_the_future");
  cr_assert_eq(chat_msg_request_failed_code(&x), CHAT_REQUEST_ERROR_UNKNOWN);
}

/* The section of the spec that holds the error table, NUL-terminated. */
static char *error_table_section(char *spec) {
  char *start = strstr(spec, "\n### 5.7 ");
  cr_assert_not_null(start, "spec/protocol.md has no section 5.7");
  char *end = strstr(start + 1, "\n## ");
  char *next = strstr(start + 1, "\n### ");
  if (next && (!end || next < end))
    end = next;
  if (end)
    *end = '\0';
  return start;
}

Test(request_error, spec_documents_every_code_and_no_other) {
  char path[4096];
  snprintf(path, sizeof path, "%s/../protocol.md", CHAT_SPEC_VECTORS_DIR);
  char *spec = read_whole_file(path, NULL);
  cr_assert_not_null(spec, "cannot read %s", path);
  char *section = error_table_section(spec);
  unsigned rows = 0;
  for (unsigned i = 1; i < CHAT_REQUEST_ERROR_COUNT; i++) {
    const chat_request_error_info *e = chat_request_error_info_of((chat_request_error)i);
    char cell[256];
    snprintf(cell, sizeof cell, "\n| `%s` | %s |", e->name, e->text);
    char *row = strstr(section, cell);
    cr_assert_not_null(row, "section 5.7 has no row \"| `%s` | %s |\"", e->name, e->text);
    char *eol = strchr(row + 1, '\n');
    char cls[64];
    snprintf(cls, sizeof cls, "| %s |", chat_request_error_class_name(e->error_class));
    char saved = eol ? *eol : '\0';
    if (eol)
      *eol = '\0';
    cr_assert_not_null(strstr(row, cls), "the row of %s does not give its class %s", e->name,
                       chat_request_error_class_name(e->error_class));
    if (eol)
      *eol = saved;
  }
  /* Every code row of the spec's table names a code of ours. */
  char *codes = strstr(section, "\n| code | meaning");
  cr_assert_not_null(codes, "section 5.7 has no error table");
  for (char *p = strstr(codes, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
    char *name = p + 4;
    char *tick = strchr(name, '`');
    cr_assert_not_null(tick);
    if (tick[1] != ' ' || tick[2] != '|')
      continue;
    rows++;
    cr_assert_neq(chat_request_error_by_name(name, (size_t)(tick - name)),
                  CHAT_REQUEST_ERROR_UNKNOWN, "section 5.7 names an unknown code %.*s",
                  (int)(tick - name), name);
  }
  cr_assert_geq(rows, CHAT_REQUEST_ERROR_COUNT - 1);
  free(spec);
}
