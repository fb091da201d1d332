/* The one error space (protocol/error.h): every code of every band has its
 * own name and description, each band's codes lie inside the band, and the
 * bands do not overlap. */
#include <criterion/criterion.h>
#include <string.h>

#include "protocol/channel.h"
#include "protocol/dh-group.h"
#include "protocol/error.h"
#include "protocol/keylog.h"
#include "protocol/noise.h"
#include "protocol/seed-channel.h"
#include "protocol/server-key.h"
#include "protocol/v2-channel.h"

/* A module's codes, first (closest to 0) to last, as its header declares
 * them; hole: a retired code inside the range (0 for none). */
typedef struct {
  const char *module;
  int band;
  int first;
  int last;
  int hole;
} band_range;

static const band_range ranges[] = {
    {"codec", CHAT_ERR_BAND_CODEC, CHAT_ERR_TRUNCATED, CHAT_ERR_SYNTAX, 0},
    {"noise", CHAT_ERR_BAND_NOISE, CHAT_NOISE_ERR_INVALID_ARGUMENT, CHAT_NOISE_ERR_FAILED, 0},
    {"dh", CHAT_ERR_BAND_DH, CHAT_DH_ERR_INVALID_ARGUMENT, CHAT_DH_ERR_RANDOM, 0},
    {"seed", CHAT_ERR_BAND_SEED, CHAT_SEED_ERR_INVALID_ARGUMENT, CHAT_SEED_ERR_TRUNCATED,
     CHAT_SEED_ERR_STATE - 1},
    {"v2", CHAT_ERR_BAND_V2, CHAT_V2_ERR_INVALID_ARGUMENT, CHAT_V2_ERR_REFUSED, 0},
    {"key", CHAT_ERR_BAND_KEY, CHAT_KEY_ERR_INVALID_ARGUMENT, CHAT_PIN_ERR_BAD_CONFIGURED, 0},
    {"keylog", CHAT_ERR_BAND_KEYLOG, CHAT_KEYLOG_ERR_INVALID_ARGUMENT, CHAT_KEYLOG_ERR_NOMEM, 0},
    {"channel", CHAT_ERR_BAND_CHANNEL, CHAT_CHANNEL_ERR_INVALID_ARGUMENT,
     CHAT_CHANNEL_ERR_TRANSIT_FULL, 0},
};

#define RANGE_COUNT (sizeof ranges / sizeof ranges[0])
/* More than every code of every band. */
#define MAX_CODES (CHAT_ERR_BAND_COUNT * CHAT_ERR_BAND_SIZE)

Test(error, the_bands_do_not_overlap) {
  cr_assert_eq(RANGE_COUNT, CHAT_ERR_BAND_COUNT);
  for (size_t i = 0; i < RANGE_COUNT; i++) {
    const band_range *r = &ranges[i];
    cr_assert_eq(r->band % CHAT_ERR_BAND_SIZE, 0, "%s", r->module);
    cr_assert_geq(r->first, r->last, "%s", r->module);
    cr_assert_leq(r->first, r->band, "%s starts above its band", r->module);
    cr_assert_gt(r->last, r->band - CHAT_ERR_BAND_SIZE, "%s runs past its band", r->module);
    cr_assert_eq(chat_error_band(r->first), r->band, "%s", r->module);
    cr_assert_eq(chat_error_band(r->last), r->band, "%s", r->module);
    for (size_t j = 0; j < i; j++) {
      cr_assert_neq(ranges[j].band, r->band, "%s and %s", ranges[j].module, r->module);
      cr_assert(r->first < ranges[j].last || r->last > ranges[j].first, "%s overlaps %s", r->module,
                ranges[j].module);
    }
  }
}

Test(error, every_code_of_every_band_has_a_distinct_name_and_description) {
  static int codes[MAX_CODES];
  size_t n = 0;
  for (size_t i = 0; i < RANGE_COUNT; i++)
    for (int code = ranges[i].first; code >= ranges[i].last; code--)
      if (code != ranges[i].hole)
        codes[n++] = code;
  for (size_t i = 0; i < n; i++) {
    const char *name = chat_error_name(codes[i]);
    const char *text = chat_strerror(codes[i]);
    cr_assert_not_null(name, "code %d", codes[i]);
    cr_assert_str_neq(text, "unknown error", "code %d", codes[i]);
    cr_assert_str_neq(name, "", "code %d", codes[i]);
    for (size_t j = 0; j < i; j++) {
      cr_assert_str_neq(name, chat_error_name(codes[j]), "codes %d and %d", codes[i], codes[j]);
      cr_assert_str_neq(text, chat_strerror(codes[j]), "codes %d and %d", codes[i], codes[j]);
    }
  }
  cr_assert_str_eq(chat_error_name(CHAT_OK), "ok");
  cr_assert_str_eq(chat_strerror(CHAT_OK), "success");
}

Test(error, codes_outside_the_modules_have_no_name) {
  for (size_t i = 0; i < RANGE_COUNT; i++) {
    cr_assert_null(chat_error_name(ranges[i].last - 1), "%s", ranges[i].module);
    cr_assert_str_eq(chat_strerror(ranges[i].last - 1), "unknown error", "%s", ranges[i].module);
    if (ranges[i].hole != 0)
      cr_assert_null(chat_error_name(ranges[i].hole), "%s", ranges[i].module);
  }
  cr_assert_null(chat_error_name(-MAX_CODES - 1));
  cr_assert_null(chat_error_name(1));
}

/* The names in spec/vectors and spec/protocol.md section 6 do not change. */
Test(error, the_names_of_the_vectors_are_stable) {
  cr_assert_str_eq(chat_error_name(CHAT_ERR_TRUNCATED), "truncated");
  cr_assert_str_eq(chat_error_name(CHAT_ERR_SHAPE), "shape");
  cr_assert_str_eq(chat_error_name(CHAT_ERR_UNKNOWN_MESSAGE), "unknown_message");
  cr_assert_str_eq(chat_error_name(CHAT_SEED_ERR_FRAME_MISALIGNED), "frame_misaligned");
  cr_assert_str_eq(chat_error_name(CHAT_SEED_ERR_PADDING), "padding");
  cr_assert_str_eq(chat_error_name(CHAT_DH_ERR_PUBLIC_RANGE), "public_range");
  cr_assert_str_eq(chat_error_name(CHAT_DH_ERR_PUBLIC_TOO_LONG), "public_too_long");
}
