/* libFuzzer target: the hdf5 format forced on arbitrary bytes, so that every
 * input reaches its reader (run_all.sh seeds it with the generated fixtures);
 * then the reader's own interface (h5.h), as the Keras format drives it:
 * every object's dataset facts, attribute strings and numbers, link lists
 * and path lookups, with a report so that findings are formatted too. */
#include <string.h>

#include "core/report.h"
#include "formats/hdf5/h5.h"
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_string(void *user, size_t index, const char *s, size_t len)
{
	(void)index;
	size_t *sum = user;
	for (size_t i = 0; i < len; i++)
		*sum += (unsigned char)s[i];
	return 0;
}

static int on_attr(void *user, msi_h5 *h, const msi_h5_attr *a)
{
	size_t *sum = user;
	char tn[40];
	msi_h5_type_name(&a->type, tn, sizeof tn);
	double d;
	uint64_t bits;
	bool neg;
	for (uint64_t i = 0; i < a->space.elements && i < 16; i++) {
		if (msi_h5_attr_number(a, i, &d))
			*sum += d == d;
		if (msi_h5_attr_integer(a, i, &bits, &neg))
			*sum += (size_t)bits;
	}
	msi_h5_attr_strings(h, a, 1 << 16, on_string, user);
	return 0;
}

static int on_link(void *user, const char *name, size_t name_len, msi_h5_link_type type, uint64_t target)
{
	(void)name;
	(void)type;
	(void)target;
	*(size_t *)user += name_len;
	return 0;
}

static int on_object(void *user, msi_h5 *h, const char *path, size_t path_len, const msi_h5_obj *o)
{
	size_t *sum = user;
	msi_h5_dataset d;
	if (msi_h5_obj_is_dataset(o) && msi_h5_obj_dataset(h, o, &d) == MS_OK)
		*sum += d.space.rank + d.chunk_rank;
	msi_h5_obj_attrs(h, o, on_attr, user);
	if (msi_h5_obj_is_group(o))
		msi_h5_group_links(h, o, on_link, user);
	/* a lookup re-reads every group on the path: a few are enough */
	uint64_t addr;
	if ((*sum & 7) == 0 && msi_h5_lookup(h, msi_h5_root_address(h), path, path_len, &addr) == MS_OK &&
	    addr != msi_h5_obj_address(o))
		*sum += 1; /* a second link to the object, or a name listed twice */
	return 0;
}

static void reader(const uint8_t *data, size_t size)
{
	msi_source *src = NULL;
	if (msi_source_from_memory(data, size, false, &src) != MS_OK)
		return;
	msi_limits limits = { 1000, 1 << 20, 1 << 20, 16, 1 << 20 };
	ms_report *r = msi_report_new("fuzz", "hdf5");
	for (uint64_t off = 0; off < size; off = off ? off * 2 : 512) {
		if (size - off >= 8 && memcmp(data + off, "\211HDF\r\n\032\n", 8) == 0) {
			msi_h5 *h;
			if (msi_h5_open(src, off, &limits, r, &h) == MS_OK) {
				size_t sum = 0;
				msi_h5_obj *root;
				if (msi_h5_obj_load(h, msi_h5_root_address(h), "/", &root) == MS_OK) {
					on_object(&sum, h, "", 0, root);
					msi_h5_obj_free(root);
				}
				msi_h5_walk(h, msi_h5_root_address(h), on_object, &sum);
				msi_h5_had_errors(h);
				msi_h5_close(h);
			}
			break;
		}
	}
	ms_report_free(r);
	msi_source_release(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_forced_format("hdf5", data, size);
	reader(data, size);
	return 0;
}
