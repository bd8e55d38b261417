/* libFuzzer target: the TF table and tensor-bundle reader on arbitrary
 * bytes. The input is read as a `.index` table (findings on), every key is
 * looked up again, and the bundle is checked against a one-file listing in
 * which the same bytes are also shard 0 (so entry offsets, sizes, string
 * headers and CRCs are exercised on real bytes), quick and full; the object
 * graph checker gets the input as a TrackableObjectGraph. Then the bytes go
 * through the artifact layer with the tf_checkpoint format forced (a lone
 * index file). */
#include <string.h>

#include "formats/tensorflow/tf_bundle.h"
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static msi_source *g_src;

static int open_entry(msi_container *c, size_t index, uint64_t max_size, msi_source **out)
{
	MSI_UNUSED(c);
	MSI_UNUSED(index);
	MSI_UNUSED(max_size);
	*out = msi_source_ref(g_src);
	return MS_OK;
}

static const msi_container_ops ops = { open_entry, NULL, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msi_source *src = NULL;
	if (msi_source_from_memory(data, size, false, &src) != MS_OK)
		return 0;
	g_src = src;
	msi_limits limits = { .max_members = 4096, .max_member_size = 1u << 20, .max_header_size = 1u << 16,
	                      .max_depth = 16, .max_metadata = 1u << 20 };
	ms_report *r = msi_report_new("fuzz", "tf_checkpoint");
	tf_bundle *b = NULL;
	if (r && tf_bundle_read_at(src, "f.index", &limits, r, &b) == MS_OK) {
		for (size_t i = 0; i < b->count; i++) {
			const tf_bundle_entry *e = tf_bundle_find(b, b->entries[i].key);
			if (!e || strcmp(e->key, b->entries[i].key) != 0)
				__builtin_trap();
			(void)tf_dtype_name(e->dtype);
			(void)tf_dtype_size(e->dtype);
		}
		msi_entry entries[2] = {
			{ .name = (char *)"f.index", .type = MSI_ENTRY_FILE, .size = size },
			{ .name = (char *)"f.data-00000-of-00001", .type = MSI_ENTRY_FILE, .size = size },
		};
		msi_container c = { .kind = "directory", .entries = entries, .count = 2, .ops = &ops };
		tf_bundle_check_shards(b, &c, "f", true, r, NULL);
		tf_bundle_check_shards(b, &c, "./f", false, r, NULL);
		uint8_t *og = NULL;
		size_t og_len = 0;
		if (tf_bundle_read_object_graph(b, &c, "f", &og, &og_len) == MS_OK) {
			tf_object_graph_check(b, og, og_len, r, "f.index", NULL);
			msi_free(og);
		}
		tf_object_graph_check(b, data, size, r, "f.index", NULL);
	}
	tf_bundle_free(b);
	if (r)
		ms_report_free(r);
	msi_source_release(src);
	g_src = NULL;
	return fuzz_forced_format("tf_checkpoint", data, size);
}
