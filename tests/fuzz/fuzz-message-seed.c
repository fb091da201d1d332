/* Fuzz target: a plaintext message of the seed dialect (1-byte type):
 * decode (copying and borrowing), catalogue check, and decode -> encode
 * gives back the input bytes. Seeds: spec/vectors/messages.json (seed). */
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_check_message(CHAT_DIALECT_SEED, data, size);
  return 0;
}
