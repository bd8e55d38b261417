/* placeholder */
#include "fuzz_forced.h"
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_forced_format("tf_checkpoint", data, size); }
