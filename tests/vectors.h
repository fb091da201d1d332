/* Loading the data-driven vectors of spec/vectors/ in tests. */
#ifndef CHAT_TESTS_VECTORS_H
#define CHAT_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/arena.h"
#include "protocol/buffer.h"
#include "protocol/json.h"

/* The parameter of a ParameterizedTest over one list of a vector file: just
 * an index, so nothing but plain data crosses into the test process. */
typedef struct {
  size_t index;
} vector_param;

/* Parses spec/vectors/<file> into arena; a failure fails the test. */
const chat_json *vectors_load(const char *file, chat_arena *arena);

/* The index-th element of the array `list` of spec/vectors/<file>. */
const chat_json *vectors_get(const char *file, const char *list, size_t index, chat_arena *arena);

/* The number of elements of that array (0 when the file is missing). */
size_t vectors_count(const char *file, const char *list);

/* An array of n vector_params 0..n-1 in Criterion's shared memory. */
vector_param *vectors_params(size_t n);

/* The body of a ParameterizedTestParameters over the array `list` of
 * spec/vectors/<file>: returns one vector_param per element. */
#define VECTOR_PARAMS(file, list)                                                                  \
  do {                                                                                             \
    size_t n_ = vectors_count((file), (list));                                                     \
    return cr_make_param_array(vector_param, vectors_params(n_), n_);                              \
  } while (0)

/* A member of a vector object that must be a string / integer. */
const char *vector_string(const chat_json *vector, const char *key);
int64_t vector_int(const chat_json *vector, const char *key);

/* Decodes the vector's "hex" member into buf (reset first). */
void vector_hex(const chat_json *vector, const char *key, chat_buffer *buf);

#endif
