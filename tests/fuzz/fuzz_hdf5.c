/* libFuzzer target: the hdf5 format forced on arbitrary bytes, so that every
 * input reaches its reader (run_all.sh seeds it with the generated fixtures). */
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forced_format("hdf5", data, size);
}
