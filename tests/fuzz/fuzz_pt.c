/* libFuzzer target: PyTorch archives and legacy saves on arbitrary bytes (the
 * format is forced, so every input reaches the zip layer, the record reader,
 * the pickle engine and the tensor checks; run_all.sh seeds it with the
 * generated fixtures). */
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forced_format("pt", data, size);
}
