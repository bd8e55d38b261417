/*
 * Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel: sniff and a
 * cheap inspect (the HDF5 reader, config walk and validate come with the
 * format's own issue).
 *
 *   v3 zip      config.json + metadata.json at the root (FORMATS.md §6.1)
 *   legacy h5   an HDF5 file with Keras' root attributes (§6.2); until the
 *               HDF5 reader lands this is a bounded scan of the head and
 *               tail windows for the attribute messages (hdf5.c)
 *   SavedModel  a SavedModel with keras_metadata.pb or `_tf_keras_*`
 *               identifiers in its object graph (§6.4, tf.h)
 */
#include <string.h>

#include "../hdf5/hdf5.h"
#include "../tensorflow/tf.h"

typedef enum keras_kind {
	KERAS_NONE,
	KERAS_V3,
	KERAS_H5,
	KERAS_SAVEDMODEL,
} keras_kind;

typedef struct keras_probe {
	keras_kind kind;
	bool from_local_headers; /* v3 member names from local headers (no listing) */
	unsigned h5_markers;
	msi_tf_savedmodel sm;
	ssize_t metadata;        /* v3: metadata.json entry, -1 when unknown */
} keras_probe;

typedef struct v3_names {
	bool config, metadata;
} v3_names;

static bool take_v3_name(const char *name, size_t len, void *user)
{
	v3_names *n = user;
	if (len == 11 && memcmp(name, "config.json", 11) == 0)
		n->config = true;
	if (len == 13 && memcmp(name, "metadata.json", 13) == 0)
		n->metadata = true;
	return !(n->config && n->metadata);
}

static void probe(const msi_view *v, keras_probe *p)
{
	memset(p, 0, sizeof *p);
	p->metadata = -1;
	const msi_container *c = v->container;
	if (c && strcmp(c->kind, "zip") == 0) {
		ssize_t cfg = msi_container_find(c, "config.json");
		p->metadata = msi_container_find(c, "metadata.json");
		if (cfg >= 0 && p->metadata >= 0) {
			p->kind = KERAS_V3;
			return;
		}
		p->metadata = -1;
	}
	static const uint8_t local_sig[4] = { 'P', 'K', 3, 4 };
	if ((!c || strcmp(c->kind, "zip") == 0) && v->src && msi_has_prefix(v->head, v->head_len, local_sig, 4)) {
		v3_names n = { false, false };
		msi_zip_scan_local_names(v->head, v->head_len, take_v3_name, &n);
		if (n.config && n.metadata) {
			p->kind = KERAS_V3;
			p->from_local_headers = true;
		}
		return;
	}
	if (!c && msi_hdf5_signature(v) >= 0) {
		p->h5_markers = msi_hdf5_keras_markers(v);
		if (msi_hdf5_is_keras(p->h5_markers))
			p->kind = KERAS_H5;
		return;
	}
	msi_tf_savedmodel_probe(v, &p->sm);
	if (msi_tf_savedmodel_is_keras(&p->sm))
		p->kind = KERAS_SAVEDMODEL;
}

static int sniff(const msi_view *v)
{
	keras_probe p;
	probe(v, &p);
	switch (p.kind) {
	case KERAS_V3: return p.from_local_headers ? 80 : 90;
	case KERAS_H5: return 90; /* above hdf5's 50 */
	case KERAS_SAVEDMODEL:
		if (p.sm.lone_file)
			return 60;
		return p.sm.keras_metadata ? 95 : 90;
	default: return 0;
	}
}

/* keras_version and date_saved from a v3 archive's metadata.json (a small
 * JSON object; larger ones are not read for a cheap inspect). */
static int write_v3_metadata(const msi_view *v, ssize_t idx, msi_json *j)
{
	enum { MAX_METADATA = 64 * 1024 };
	msi_container *c = v->container;
	if (idx < 0 || c->entries[idx].size > MAX_METADATA)
		return MS_OK;
	uint8_t *buf = msi_malloc(MAX_METADATA);
	if (!buf)
		return msi_error(MS_ENOMEM, "out of memory");
	size_t got;
	int rc = msi_container_read_window(c, (size_t)idx, false, buf, MAX_METADATA, &got);
	msi_jval *doc = NULL;
	msi_json_limits lim = { 16, 4096 };
	if (rc == MS_OK && msi_json_parse((const char *)buf, got, &lim, &doc) == MS_OK && doc->kind == MSI_JOBJECT) {
		static const char *const keys[] = { "keras_version", "date_saved" };
		for (size_t k = 0; k < MSI_ARRAY_LEN(keys); k++) {
			const msi_jval *s = msi_jval_get(doc, keys[k]);
			if (s && s->kind == MSI_JSTRING) {
				msi_json_key(j, keys[k]);
				msi_json_stringn(j, s->text, s->text_len);
			}
		}
	}
	msi_jval_free(doc);
	msi_free(buf);
	return MS_OK;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	keras_probe p;
	probe(v, &p);
	msi_json *j = out->model;
	switch (p.kind) {
	case KERAS_V3:
		msi_json_key(j, "kind");
		msi_json_string(j, "keras_v3");
		if (p.from_local_headers) {
			msi_json_key(j, "listing");
			msi_json_string(j, "local_headers");
			return MS_OK;
		}
		return write_v3_metadata(v, p.metadata, j);
	case KERAS_H5:
		msi_json_key(j, "kind");
		msi_json_string(j, "hdf5");
		/* save_weights() files carry layer_names but no model_config */
		msi_json_key(j, "weights_only");
		msi_json_bool(j, !(p.h5_markers & MSI_KERAS_MODEL_CONFIG));
		return MS_OK;
	case KERAS_SAVEDMODEL:
		msi_json_key(j, "kind");
		msi_json_string(j, "savedmodel");
		msi_json_key(j, "has_keras_metadata");
		msi_json_bool(j, p.sm.keras_metadata);
		return MS_OK;
	default:
		return MS_OK;
	}
}

const msi_format msi_format_tf_keras = {
	.name = "tf_keras",
	.description = "Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
