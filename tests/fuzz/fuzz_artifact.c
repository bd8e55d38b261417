/* libFuzzer target: detection, container parsing (serialzy, zip, tar),
 * format sniffing, inspection and validation of arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "modelstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ms_artifact *a = NULL;
	ms_open_options o = MS_OPEN_OPTIONS_INIT;
	/* small limits so the fuzzer explores the limit paths too */
	o.max_members = 256;
	o.max_member_size = 1 << 20;
	if (ms_artifact_open_buffer(&a, data, size, &o) != MS_OK)
		return 0;
	char *json = NULL;
	ms_inspect_options io = MS_INSPECT_OPTIONS_INIT;
	io.flags = size < 4096 ? MS_INSPECT_HASH : 0;
	ms_artifact_inspect(a, &io, &json, NULL);
	ms_free(json);
	ms_report *r = NULL;
	if (ms_artifact_validate(a, NULL, &r) == MS_OK) {
		char *text = NULL;
		ms_report_json(r, &text, NULL);
		ms_free(text);
		ms_report_free(r);
	}
	ms_artifact_free(a);
	return 0;
}
