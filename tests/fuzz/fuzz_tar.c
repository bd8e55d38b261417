/* libFuzzer target: the tar container on arbitrary bytes. The listing is
 * parsed with small limits, every safe member is opened and read to its
 * end (the slice must stay inside the archive), and the sizes the listing
 * promises are checked against what the open member delivers. Then the
 * same bytes go through the artifact layer as a tf_pure SavedModel, the
 * format serialzy wraps in a tar. */
#include <stdlib.h>
#include <string.h>

#include "containers/container.h"
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_bytes(const uint8_t *d, size_t n, void *user)
{
	MSI_UNUSED(d);
	*(uint64_t *)user += n;
	return MS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msi_source *src = NULL;
	if (msi_source_from_memory(data, size, false, &src) != MS_OK)
		return 0;
	msi_limits limits = { .max_members = 256, .max_member_size = 1u << 20, .max_header_size = 1u << 16,
	                      .max_depth = 16, .max_metadata = 1u << 20 };
	msi_container *c = NULL;
	if (msi_tar_open(src, &limits, &c) == MS_OK) {
		for (size_t i = 0; i < c->count; i++) {
			const msi_entry *e = &c->entries[i];
			msi_source *m = NULL;
			if (e->type != MSI_ENTRY_FILE || e->unsafe || c->ops->open_entry(c, i, UINT64_MAX, &m) != MS_OK)
				continue;
			uint64_t got = 0, len = m->size;
			if (msi_source_stream(m, 0, len, count_bytes, &got, NULL) == MS_OK && (got != len || len != e->size))
				abort(); /* a member must deliver exactly what the listing declares */
			msi_source_release(m);
		}
		msi_container_free(c);
	}
	msi_source_release(src);
	return fuzz_forced_format("tf_pure", data, size);
}
