/* libFuzzer target: the JSON/UBJSON pull reader. The first byte picks the
 * encoding and whether bulk readers are used; every token is consumed. */
#include <stddef.h>
#include <stdint.h>

#include "core/pull.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	msi_source *s = NULL;
	if (msi_source_from_memory(data + 1, size - 1, false, &s) != MS_OK)
		return 0;
	msi_pull p;
	msi_pull_limits lim = { 32, 1 << 16, 1 << 16 };
	if (msi_pull_open(&p, s, 0, s->size, mode & 1, &lim) == MS_OK) {
		msi_i64vec v = { 0 };
		msi_u8vec f = { 0 };
		msi_pull_tok t;
		size_t steps = 0;
		while ((t = msi_pull_next(&p)) > MSI_PULL_EOF && steps++ < 1000000) {
			if (t == MSI_PULL_ARRAY && (mode & 2)) {
				size_t bad, count, nf;
				double first;
				if (mode & 4)
					msi_pull_ints(&p, &v, &bad);
				else
					msi_pull_floats(&p, &count, &nf, &bad, &f, &first);
			} else if ((t == MSI_PULL_OBJECT || t == MSI_PULL_ARRAY) && (mode & 8)) {
				msi_pull_skip(&p, t);
			}
		}
		msi_i64vec_free(&v);
		msi_u8vec_free(&f);
		msi_pull_close(&p);
	}
	msi_source_release(s);
	return 0;
}
