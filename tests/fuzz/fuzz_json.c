/* libFuzzer target: the bounded JSON reader and the writer round trip. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msi_jval *v = NULL;
	msi_json_limits lim = { 64, 100000 };
	if (msi_json_parse((const char *)data, size, &lim, &v) != MS_OK)
		return 0;
	msi_buf b = MSI_BUF_INIT;
	msi_json j;
	msi_json_init(&j, &b, MSI_JSON_PYTHON);
	msi_jval_write(&j, v);
	char *text = msi_buf_detach(&b, NULL);
	/* what we write must read back */
	if (text) {
		msi_jval *again = NULL;
		int rc = msi_json_parse(text, strlen(text), &lim, &again);
		if (rc != MS_OK && rc != MS_ELIMIT)
			__builtin_trap();
		msi_jval_free(again);
	}
	msi_free(text);
	msi_jval_free(v);
	return 0;
}
