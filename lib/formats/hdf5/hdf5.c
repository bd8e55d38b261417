/*
 * HDF5 file that is not a Keras model: sniff and a cheap inspect (the
 * HDF5 reader comes with the Keras issue).
 *
 * An HDF5 file is recognised by its 8-byte signature at offset 0 or at a
 * power of two from 512 on (a user block may precede the superblock,
 * FORMATS.md §6.3). Keras' legacy .h5 files are HDF5 too: the tf_keras
 * format claims them with a higher score when Keras' root attributes are
 * there, so this format only gets plain HDF5 data files, which are no model.
 */
#include <string.h>

#include "hdf5.h"

static const uint8_t signature[8] = { 0x89, 'H', 'D', 'F', 0x0D, 0x0A, 0x1A, 0x0A };

int64_t msi_hdf5_signature(const msi_view *v)
{
	if (!v->src)
		return -1;
	for (uint64_t off = 0; off < v->size && off <= (UINT64_C(1) << 50); off = off ? off * 2 : 512) {
		uint8_t b[9];
		if (msi_view_read(v, off, b, sizeof b) != sizeof b)
			return -1;
		/* superblock versions 0..3 are the ones HDF5 1.8-1.14 write */
		if (memcmp(b, signature, 8) == 0 && b[8] <= 3)
			return (int64_t)off;
	}
	return -1;
}

/* true when the name at p[i..i+nl) is the name of an HDF5 attribute
 * message: preceded by the message header of version 1, 2 or 3 whose name
 * size (which counts the NUL) matches, and followed by the NUL. This keeps
 * a word inside some dataset's bytes from counting as an attribute. */
static bool attribute_name_at(const uint8_t *p, size_t n, size_t i, size_t nl)
{
	if (i + nl >= n || p[i + nl] != 0)
		return false;
	if (i >= 8) {
		const uint8_t *h = p + i - 8;
		if (h[0] == 1 && h[1] == 0 && msi_le16(h + 2) == nl + 1)
			return true;
		if (h[0] == 2 && (h[1] & ~3u) == 0 && msi_le16(h + 2) == nl + 1)
			return true;
	}
	if (i >= 9) {
		const uint8_t *h = p + i - 9;
		if (h[0] == 3 && (h[1] & ~3u) == 0 && msi_le16(h + 2) == nl + 1 && h[8] <= 1)
			return true;
	}
	return false;
}

static unsigned scan_window(const uint8_t *p, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} markers[] = {
		{ "model_config", MSI_KERAS_MODEL_CONFIG },
		{ "keras_version", MSI_KERAS_KERAS_VERSION },
		{ "layer_names", MSI_KERAS_LAYER_NAMES },
		{ "backend", MSI_KERAS_BACKEND },
		{ "training_config", MSI_KERAS_TRAINING_CONFIG },
	};
	unsigned found = 0;
	for (size_t k = 0; k < MSI_ARRAY_LEN(markers); k++) {
		size_t nl = strlen(markers[k].name);
		size_t from = 0;
		const uint8_t *hit;
		while (from < n && (hit = msi_find(p + from, n - from, markers[k].name, nl)) != NULL) {
			size_t i = (size_t)(hit - p);
			if (attribute_name_at(p, n, i, nl)) {
				found |= markers[k].bit;
				break;
			}
			from = i + 1;
		}
	}
	return found;
}

/*
 * A bounded scan of the head and tail windows for the attribute names, not
 * a walk of the root group's object header: h5py writes the root attributes
 * within the first few KiB, and model_weights' near them. Files whose root
 * attributes sit in a continuation block beyond both windows are missed
 * until the HDF5 reader (the Keras issue) replaces this scan.
 */
unsigned msi_hdf5_keras_markers(const msi_view *v)
{
	unsigned found = scan_window(v->head, v->head_len);
	if (v->size > v->head_len)
		found |= scan_window(v->tail, v->tail_len);
	return found;
}

static int sniff(const msi_view *v)
{
	if (v->container)
		return 0;
	/* a generic container format: any model format that also matches wins */
	return msi_hdf5_signature(v) >= 0 ? 50 : 0;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	int64_t off = msi_hdf5_signature(v);
	if (off < 0)
		return MS_OK;
	uint8_t b[9];
	if (msi_view_read(v, (uint64_t)off, b, sizeof b) != sizeof b)
		return MS_OK;
	msi_json_key(out->model, "superblock_version");
	msi_json_int(out->model, b[8]);
	msi_json_key(out->model, "user_block_size");
	msi_json_int(out->model, off);
	return MS_OK;
}

const msi_format msi_format_hdf5 = {
	.name = "hdf5",
	.description = "HDF5 file that is not a Keras model",
	.is_model = false,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
