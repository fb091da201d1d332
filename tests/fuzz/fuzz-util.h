/* What the fuzz targets share: the spec's vector files (read once, so the
 * targets use the same fixed keys as the seeds made from them), a scratch
 * file for parsers that read a path, and the checks every decoded message
 * gets. Every failed check aborts: that is what the fuzzer reports. */
#ifndef CHAT_TESTS_FUZZ_UTIL_H
#define CHAT_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/dialect.h"
#include "protocol/json.h"
#include "protocol/value.h"

/* The entry point of every target (libFuzzer's, or replay-main.c's). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message on stderr when cond is false. */
#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      fuzz_fail(__FILE__, __LINE__, #cond);                                                        \
  } while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* The root of spec/vectors/<name>, parsed on first use (aborts if missing). */
const chat_json *fuzz_vectors(const char *name);

/* The bytes of the hex string member `key` of obj (aborts if absent or
 * longer than cap). Returns the length. */
size_t fuzz_vector_hex(const chat_json *obj, const char *key, uint8_t *out, size_t cap);

/* Writes data to this process's scratch file (name ending in suffix, made
 * on first use in $TMPDIR, removed at exit) and returns its path. */
const char *fuzz_scratch_file(const char *suffix, const uint8_t *data, size_t size);

/* A scratch directory of this process (made on first use, removed at exit
 * with everything in it). */
const char *fuzz_scratch_dir(void);

/* Replaces every float NaN in v by the canonical quiet NaN of its width
 * (what the JSON "NaN" reads back as: spec section 4). */
void fuzz_canonical_nans(chat_value *v);

/* What a receiver does with a plaintext message: decode it (copying and
 * borrowing), check it against the catalogue in both directions, and, when
 * it decodes, encode it again: the bytes must be the same; and what
 * chatctl decode / encode do: write it as JSON inside a message object
 * and read that back to an equal value (NaN payloads aside). */
void fuzz_check_message(chat_dialect dialect, const uint8_t *data, size_t size);

#endif
