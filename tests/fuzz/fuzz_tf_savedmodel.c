/* libFuzzer target: SavedModel decoding. The bytes go through the artifact
 * layer as a lone saved_model.pb (format forced to tf_pure: inspect and
 * validate from memory), then through the reader once more from a file
 * descriptor, so that the bounded window (refills, jumps over payloads)
 * is exercised too, and finally through the keras_metadata.pb parser and
 * checks. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "formats/tensorflow/tf_sm.h"
#include "fuzz_forced.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_from_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz_tf_savedmodel", 0)) < 0)
		return;
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	msi_source *src = NULL;
	if (msi_source_from_fd(fd, false, &src) != MS_OK)
		return;
	msi_limits limits = { .max_members = 256, .max_member_size = 1u << 20, .max_header_size = 1u << 16,
	                      .max_depth = 16, .max_metadata = 1u << 20 };
	tf_savedmodel *m = NULL;
	if (tf_sm_read(src, &limits, &m) == MS_OK)
		tf_sm_free(m);
	msi_source_release(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_forced_format("tf_pure", data, size);
	read_from_fd(data, size);
	tf_keras_meta k;
	memset(&k, 0, sizeof k);
	tf_keras_metadata_facts(&k, data, size);
	msi_free(k.class_name);
	msi_free(k.keras_version);
	msi_free(k.error);
	ms_report *r = msi_report_new(NULL, NULL);
	if (r) {
		tf_keras_metadata_check(data, size, r);
		ms_report_free(r);
	}
	return 0;
}
