/* libFuzzer target: the CatBoost quantized pool reader (pool.c), inspect
 * and validate with the format forced. When the input does not start with
 * the pool magic, the magic and a valid version header are put in front so
 * that the fuzzer spends its time on sections, protobufs and chunks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modelstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t header[34] = "CatboostQuantizedPool\0\x01\0\0\0\xA0\xF5\xBA\x62\0\0\0\0";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t n = size;
	uint8_t *buf = NULL;
	if (size < 22 || memcmp(data, header, 22) != 0) {
		buf = malloc(size + 48);
		if (!buf)
			return 0;
		memcpy(buf, header, 34);
		memset(buf + 34, 0, 14);
		if (size)
			memcpy(buf + 48, data, size);
		p = buf;
		n = size + 48;
	}
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	o.format = "catboost_quantized_pool";
	o.max_metadata = 1 << 20;
	ms_artifact *a = NULL;
	if (ms_artifact_open_buffer(&a, p, n, &o) == MS_OK) {
		char *json = NULL;
		ms_artifact_inspect(a, NULL, &json, NULL);
		ms_free(json);
		ms_report *r = NULL;
		if (ms_artifact_validate(a, NULL, &r) == MS_OK)
			ms_report_free(r);
		ms_artifact_free(a);
	}
	free(buf);
	return 0;
}
