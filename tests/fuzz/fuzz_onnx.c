/* libFuzzer target: the ONNX wire walk, protobuf-c decoding, facts and checks on arbitrary bytes
 * (the format is forced, so every input reaches the reader; run_all.sh
 * seeds it with the generated fixtures). */
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forced_format("onnx", data, size);
}
