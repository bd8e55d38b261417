/*
 * Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel. This file
 * tells them apart and writes the facts; keras_v3.c and keras_h5.c read
 * them, keras_config.c checks the config for what would run code.
 *
 *   v3 zip      config.json + metadata.json at the root (FORMATS.md §6.1)
 *   legacy h5   an HDF5 file with Keras' root attributes (§6.2): content
 *               decides, so an HDF5 file named .keras is a legacy model
 *   SavedModel  a SavedModel with keras_metadata.pb or `_tf_keras_*`
 *               identifiers in its object graph (§6.4, tf.h); read and
 *               checked by the TensorFlow SavedModel reader (tf_sm.h)
 */
#include <string.h>

#include "../hdf5/hdf5.h"
#include "../tensorflow/tf_sm.h"
#include "keras.h"

typedef enum keras_kind {
	KERAS_NONE,
	KERAS_V3,
	KERAS_H5,
	KERAS_SAVEDMODEL,
} keras_kind;

typedef struct keras_probe {
	keras_kind kind;
	bool from_local_headers; /* v3 member names from local headers (no listing) */
	bool partial;            /* v3 without metadata.json: a lower score */
	unsigned h5_markers;
	msi_tf_savedmodel sm;
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
	const msi_container *c = v->container;
	if (c && strcmp(c->kind, "zip") == 0) {
		/* config.json with metadata.json or a weights file: a v3 archive, even
		 * one that lost a member (validation says which) */
		if (msi_container_find(c, "config.json") >= 0 &&
		    (msi_container_find(c, "metadata.json") >= 0 || msi_container_find(c, "model.weights.h5") >= 0 ||
		     msi_container_find(c, "model.weights.npz") >= 0)) {
			p->kind = KERAS_V3;
			p->partial = msi_container_find(c, "metadata.json") < 0;
			return;
		}
	}
	static const uint8_t local_sig[4] = { 'P', 'K', 3, 4 };
	/* no central directory (a cut archive: no listing, or an empty one):
	 * the local headers still name the members */
	bool no_listing = !c || (strcmp(c->kind, "zip") == 0 && c->count == 0);
	if (no_listing && v->src && msi_has_prefix(v->head, v->head_len, local_sig, 4)) {
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
	case KERAS_V3: return p.from_local_headers ? 80 : p.partial ? 70 : 90;
	case KERAS_H5: return 90; /* above hdf5's 50 */
	case KERAS_SAVEDMODEL:
		if (p.sm.lone_file)
			return 60;
		return p.sm.keras_metadata ? 95 : 90;
	default: return 0;
	}
}

static void doc_free(keras_doc *d)
{
	msi_free(d->keras_version);
	msi_free(d->backend);
	msi_free(d->date_saved);
	msi_keras_facts_free(&d->cfg);
	for (size_t i = 0; i < d->nweights; i++) {
		msi_free(d->weights[i].name);
		msi_free(d->weights[i].dims);
	}
	msi_free(d->weights);
	keras_strs_free(&d->root_attributes);
	keras_strs_free(&d->root_groups);
	keras_strs_free(&d->layer_names);
}

/* The format can be forced on bytes the sniffer did not claim: read any
 * zip as a v3 archive and any HDF5 file as a legacy model, so that what is
 * missing becomes findings. */
static void probe_forced(const msi_view *v, keras_probe *p)
{
	/* an HDF5 file is read as a legacy model either way: the Keras markers
	 * (which open the file's root object) are only the sniffer's business,
	 * and the loader reads the root attributes itself */
	if (!v->container && msi_hdf5_signature(v) >= 0) {
		memset(p, 0, sizeof *p);
		p->kind = KERAS_H5;
		return;
	}
	probe(v, p);
	if (p->kind == KERAS_NONE && v->container && strcmp(v->container->kind, "zip") == 0)
		p->kind = KERAS_V3;
}

/* One load serves inspect (findings go to a scratch report) and validate. */
static int doc_load(const msi_view *v, const keras_probe *p, keras_doc *d)
{
	if (p->kind == KERAS_V3)
		return keras_v3_load(d);
	int64_t off = msi_hdf5_signature(v);
	if (off < 0)
		return MS_OK;
	return keras_h5_load(d, v->src, (uint64_t)off);
}

static void write_strs(msi_json *j, const char *key, const keras_strs *s)
{
	msi_json_key(j, key);
	msi_json_array_begin(j);
	for (size_t i = 0; i < s->count; i++)
		msi_json_string(j, s->items[i]);
	msi_json_array_end(j);
}

static void write_optional(msi_json *j, const char *key, const char *value)
{
	if (!value)
		return;
	msi_json_key(j, key);
	msi_json_string(j, value);
}

static void write_doc(const msi_view *v, const keras_doc *d, msi_inspect_out *out)
{
	msi_json *j = out->model;
	msi_json_key(j, "container");
	msi_json_string(j, d->container == KERAS_CONTAINER_V3 ? "keras_v3" : "hdf5");
	write_optional(j, "keras_version", d->keras_version);
	write_optional(j, "backend", d->backend);
	write_optional(j, "date_saved", d->date_saved);
	if (d->cfg.is_object) {
		write_optional(j, "class_name", d->cfg.class_name);
		if (d->cfg.has_module) { /* Keras 3 writes it: null for a custom class */
			msi_json_key(j, "module");
			msi_json_string(j, d->cfg.module); /* NULL writes null */
		}
		if (d->cfg.registered_name)
			write_optional(j, "registered_name", d->cfg.registered_name);
		msi_json_key(j, "layers");
		msi_json_array_begin(j);
		for (size_t i = 0; i < d->cfg.layer_count; i++)
			msi_json_string(j, d->cfg.layers[i]);
		msi_json_array_end(j);
	}
	msi_json_key(j, "weights");
	msi_json_array_begin(j);
	for (size_t i = 0; i < d->nweights; i++) {
		const keras_weight *w = &d->weights[i];
		msi_json_object_begin(j);
		msi_json_key(j, "name");
		msi_json_string(j, w->name);
		msi_json_key(j, "shape");
		msi_json_array_begin(j);
		for (unsigned k = 0; k < w->rank; k++)
			msi_json_uint(j, w->dims[k]);
		msi_json_array_end(j);
		msi_json_key(j, "dtype");
		msi_json_string(j, w->dtype);
		msi_json_object_end(j);
	}
	msi_json_array_end(j);
	msi_json_key(j, "optimizer_weights");
	msi_json_uint(j, d->optimizer_weights);
	if (d->container == KERAS_CONTAINER_V3) {
		write_optional(j, "weights_file", d->weights_file);
		const msi_container *c = v->container;
		msi_json_key(j, "members");
		msi_json_array_begin(j);
		for (size_t i = 0; i < c->count; i++)
			if (c->entries[i].type == MSI_ENTRY_FILE)
				msi_json_string(j, c->entries[i].name);
		msi_json_array_end(j);
	} else {
		msi_json_key(j, "weights_only");
		msi_json_bool(j, d->weights_only);
		msi_json_key(j, "has_training_config");
		msi_json_bool(j, d->has_training_config);
		write_strs(j, "root_attributes", &d->root_attributes);
		write_strs(j, "root_groups", &d->root_groups);
		write_strs(j, "layer_names", &d->layer_names);
	}
	msi_json_key(out->root, "parameters");
	msi_json_uint(out->root, d->parameters);
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	keras_probe p;
	probe_forced(v, &p);
	msi_json *j = out->model;
	switch (p.kind) {
	case KERAS_V3:
	case KERAS_H5: {
		msi_json_key(j, "kind");
		msi_json_string(j, p.kind == KERAS_V3 ? "keras_v3" : "hdf5");
		if (p.from_local_headers) {
			/* no central directory: members are unknown beyond the names */
			msi_json_key(j, "listing");
			msi_json_string(j, "local_headers");
			return MS_OK;
		}
		keras_doc d;
		memset(&d, 0, sizeof d);
		d.v = v;
		d.r = msi_report_new(NULL, NULL); /* inspect keeps no findings */
		if (!d.r)
			return msi_error(MS_ENOMEM, "out of memory");
		d.r->max_findings = 0;
		int rc = doc_load(v, &p, &d);
		if (rc == MS_OK)
			write_doc(v, &d, out);
		doc_free(&d);
		ms_report_free(d.r);
		return rc;
	}
	case KERAS_SAVEDMODEL:
		return tf_sm_inspect(v, "keras_saved_model", out);
	default:
		return MS_OK;
	}
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	keras_probe p;
	probe_forced(v, &p);
	if (p.kind == KERAS_SAVEDMODEL) {
		/* the TensorFlow reader's checks, keras_metadata.pb's included */
		return tf_sm_validate(v, ctx);
	}
	if (p.kind == KERAS_NONE) {
		msi_report_add(ctx->report, "keras.config.invalid", NULL,
		               "neither a .keras archive nor an HDF5 file: there is no Keras config to read");
		return MS_OK;
	}
	if (p.from_local_headers) {
		msi_report_add(ctx->report, "keras.config.invalid", NULL, "the zip archive has no readable central "
		               "directory (cut short?): config.json cannot be read");
		return MS_OK;
	}
	keras_doc d;
	memset(&d, 0, sizeof d);
	d.v = v;
	d.r = ctx->report;
	d.validating = true;
	int rc = doc_load(v, &p, &d);
	doc_free(&d);
	return rc;
}

const msi_format msi_format_tf_keras = {
	.name = "tf_keras",
	.description = "Keras model: .keras v3 zip, legacy HDF5 or Keras 2 SavedModel",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
