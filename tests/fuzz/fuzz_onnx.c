/* libFuzzer target: the ONNX wire walk, protobuf-c decoding, facts and
 * checks on arbitrary bytes (the format is forced, so every input reaches
 * the reader). run_all.sh seeds it with the generated fixtures, the
 * ONNX ones among them. */
#include <stddef.h>
#include <stdint.h>

#include "modelstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ms_artifact *a = NULL;
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = "onnx";
	o.max_metadata = 1 << 20;
	o.max_depth = 16;
	if (ms_artifact_open_buffer(&a, data, size, &o) != MS_OK)
		return 0;
	char *json = NULL;
	ms_artifact_inspect(a, NULL, &json, NULL);
	ms_free(json);
	ms_report *r = NULL;
	if (ms_artifact_validate(a, NULL, &r) == MS_OK)
		ms_report_free(r);
	ms_artifact_free(a);
	return 0;
}
