/*
 * A SavedModel with its directory: finding and loading its files
 * (saved_model.pb or .pbtxt, variables/, fingerprint.pb, keras_metadata.pb),
 * and the inspect facts (FORMATS.md §7.4; key names fixed by the issue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_sm.h"

#define SMALL_FILE_MAX (16u * 1024u * 1024u) /* fingerprint.pb, keras_metadata.pb */
#define PBTXT_SCAN_MAX (4u * 1024u * 1024u)

/* ---- dtypes ---- */

static const char *const dtype_names[] = {
	[1] = "float", [2] = "double", [3] = "int32", [4] = "uint8", [5] = "int16", [6] = "int8",
	[7] = "string", [8] = "complex64", [9] = "int64", [10] = "bool", [11] = "qint8", [12] = "quint8",
	[13] = "qint32", [14] = "bfloat16", [15] = "qint16", [16] = "quint16", [17] = "uint16",
	[18] = "complex128", [19] = "half", [20] = "resource", [21] = "variant", [22] = "uint32",
	[23] = "uint64", [24] = "float8_e5m2", [25] = "float8_e4m3fn", [26] = "float8_e4m3fnuz",
	[27] = "float8_e4m3b11fnuz", [28] = "float8_e5m2fnuz", [29] = "int4", [30] = "uint4", [31] = "int2",
	[32] = "uint2", [33] = "float4_e2m1fn",
};

const char *tf_sm_dtype_name(int dtype, char buf[24])
{
	int base = dtype > 100 ? dtype - 100 : dtype;
	if (base > 0 && (size_t)base < MSI_ARRAY_LEN(dtype_names) && dtype_names[base]) {
		if (dtype < 100)
			return dtype_names[base];
		snprintf(buf, 24, "%s_ref", dtype_names[base]);
		return buf;
	}
	snprintf(buf, 24, "dtype_%d", dtype);
	return buf;
}

size_t tf_ref_node_len(const char *ref, const char **start)
{
	if (*ref == '^')
		ref++;
	*start = ref;
	const char *colon = strchr(ref, ':');
	return colon ? (size_t)(colon - ref) : strlen(ref);
}

const Tfsm__SignatureDef *tf_sm_serving_default(const tf_savedmodel *m)
{
	if (!m || !m->n_metas)
		return NULL;
	const tf_meta_graph *mg = &m->metas[0];
	const Tfsm__SignatureDef *found = NULL;
	for (size_t i = 0; i < mg->n_signatures; i++) /* the last of a repeated key wins, as in a map */
		if (mg->signatures[i]->key && strcmp(mg->signatures[i]->key, "serving_default") == 0)
			found = mg->signatures[i]->value;
	return found;
}

/* ---- the directory ---- */

/* The file entry named `<dir><leaf>` (names compared without "./"). */
static ssize_t find_at(const msi_container *c, const char *dir, const char *leaf)
{
	const char *d = msi_entry_strip_dot(dir);
	size_t dl = strlen(d);
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		if (strncmp(n, d, dl) == 0 && strcmp(n + dl, leaf) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* Reads a whole small entry; MS_ELIMIT when larger than `cap`. */
static int read_entry(msi_container *c, ssize_t idx, size_t cap, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	const msi_entry *e = &c->entries[idx];
	if (e->unsafe || !c->ops || !c->ops->open_entry)
		return MS_EFORMAT;
	if (e->size > cap)
		return MS_ELIMIT;
	msi_source *s;
	int rc = c->ops->open_entry(c, (size_t)idx, cap, &s);
	if (rc != MS_OK)
		return rc;
	if (s->size > cap) {
		msi_source_release(s);
		return MS_ELIMIT;
	}
	uint8_t *buf = msi_malloc(s->size ? (size_t)s->size : 1);
	if (!buf) {
		msi_source_release(s);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	rc = s->size ? msi_source_read(s, 0, buf, (size_t)s->size) : MS_OK;
	*len = (size_t)s->size;
	msi_source_release(s);
	if (rc != MS_OK) {
		msi_free(buf);
		return rc;
	}
	*out = buf;
	return MS_OK;
}

/* pbtxt: the tags and version lines of the meta graphs, from the first
 * megabytes (the text format is only recognised, not parsed). Tags are kept
 * as "a\x1fb\x1ec": \x1f between the tags of a meta graph, \x1e between
 * meta graphs (a top-level `meta_graphs {` line starts one). */
static void scan_pbtxt(tf_sm_doc *d, msi_container *c)
{
	const msi_entry *e = &c->entries[d->probe.graph];
	if (e->unsafe || !c->ops || !c->ops->open_entry)
		return;
	msi_source *s;
	if (c->ops->open_entry(c, (size_t)d->probe.graph, UINT64_MAX, &s) != MS_OK)
		return;
	size_t n = s->size > PBTXT_SCAN_MAX ? PBTXT_SCAN_MAX : (size_t)s->size;
	char *buf = msi_malloc(n + 1);
	if (buf && msi_source_read(s, 0, buf, n) == MS_OK) {
		buf[n] = 0;
		msi_buf tags = { 0 };
		bool first_tag = true;
		for (char *line = buf; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			if (strncmp(line, "meta_graphs {", 13) == 0) {
				if (d->pbtxt_metas++)
					msi_buf_putc(&tags, '\x1e');
				first_tag = true;
			}
			while (*line == ' ' || *line == '\t')
				line++;
			char *q;
			if (strncmp(line, "tags: \"", 7) == 0 && (q = strchr(line + 7, '"'))) {
				if (!first_tag)
					msi_buf_putc(&tags, '\x1f');
				first_tag = false;
				msi_buf_append(&tags, line + 7, (size_t)(q - line - 7));
			} else if (strncmp(line, "tensorflow_version: \"", 21) == 0 && !d->pbtxt_tf_version &&
			           (q = strchr(line + 21, '"'))) {
				d->pbtxt_tf_version = msi_strndup(line + 21, (size_t)(q - line - 21));
			}
			line = nl ? nl + 1 : NULL;
		}
		msi_buf_putc(&tags, 0);
		if (tags.failed)
			msi_buf_free(&tags);
		else
			d->pbtxt_tags = msi_buf_detach(&tags, NULL);
	}
	msi_free(buf);
	msi_source_release(s);
}

static char *jstr_dup(const msi_jval *v)
{
	return v && v->kind == MSI_JSTRING ? msi_strdup(v->text) : NULL;
}

/* keras_metadata.pb: a SavedMetadata {repeated SavedObject nodes = 1 {node_id 2,
 * node_path 3, identifier 4, metadata 5 (JSON), version 6}} (Keras 2's
 * saved_metadata.proto; field 1 is reserved). Walked with a
 * bounded cursor; the root's metadata JSON gives class_name and
 * keras_version. The full checks are tf_keras_metadata_check's. */
void tf_keras_metadata_facts(tf_keras_meta *k, const uint8_t *p, size_t n)
{
	msi_cursor c = msi_cursor_make(p, n);
	while (c.pos < n) {
		uint64_t tag = msi_cursor_varint(&c);
		if (c.failed || tag != ((1u << 3) | 2)) {
			if (!c.failed && (tag & 7) == 2 && tag >> 3) {
				uint64_t len = msi_cursor_varint(&c);
				if (!c.failed && len <= n - c.pos) {
					c.pos += (size_t)len;
					continue;
				}
			}
			k->error = msi_strdup("the SavedMetadata wire format is broken");
			return;
		}
		uint64_t len = msi_cursor_varint(&c);
		if (c.failed || len > n - c.pos) {
			k->error = msi_strdup("a node runs past the end of the file");
			return;
		}
		k->nodes++;
		if (k->nodes == 1) {
			/* the first node is the root model: its metadata JSON */
			msi_cursor m = msi_cursor_make(p + c.pos, (size_t)len);
			while (m.pos < m.len && !m.failed) {
				uint64_t t = msi_cursor_varint(&m);
				if ((t & 7) == 0) {
					msi_cursor_varint(&m);
					continue;
				}
				if ((t & 7) != 2)
					break;
				uint64_t l = msi_cursor_varint(&m);
				if (m.failed || l > m.len - m.pos)
					break;
				if (t >> 3 == 5) {
					msi_jval *j = NULL;
					static const msi_json_limits lim = { 64, 1000000 };
					if (msi_json_parse((const char *)m.data + m.pos, (size_t)l, &lim, &j) == MS_OK &&
					    j->kind == MSI_JOBJECT) {
						k->class_name = jstr_dup(msi_jval_get(j, "class_name"));
						k->keras_version = jstr_dup(msi_jval_get(j, "keras_version"));
					}
					msi_jval_free(j);
				}
				m.pos += (size_t)l;
			}
		}
		c.pos += (size_t)len;
	}
	k->parsed = true;
}

static int load_listing(const msi_view *v, tf_sm_doc *d)
{
	msi_container *c = v->container;
	const char *name = c->entries[d->probe.graph].name;
	d->graph_name = name;
	const char *base = msi_entry_base(name);
	if (!(d->dir = msi_strndup(name, (size_t)(base - name))))
		return msi_error(MS_ENOMEM, "out of memory");
	d->both_files = find_at(c, d->dir, "saved_model.pb") >= 0 && find_at(c, d->dir, "saved_model.pbtxt") >= 0;
	d->chunked = find_at(c, d->dir, "saved_model.cpb") >= 0;
	if (d->probe.pbtxt) {
		scan_pbtxt(d, c);
	} else {
		const msi_entry *e = &c->entries[d->probe.graph];
		msi_source *s;
		if (!e->unsafe && c->ops && c->ops->open_entry &&
		    c->ops->open_entry(c, (size_t)d->probe.graph, UINT64_MAX, &s) == MS_OK) {
			int rc = tf_sm_read(s, v->limits, &d->sm);
			msi_source_release(s);
			if (rc != MS_OK)
				return rc;
		}
	}
	ssize_t idx = find_at(c, d->dir, "variables/variables.index");
	if (idx >= 0) {
		const char *iname = c->entries[idx].name;
		if (!(d->bundle_prefix = msi_strndup(iname, strlen(iname) - 6)))
			return msi_error(MS_ENOMEM, "out of memory");
		msi_source *s;
		if (!c->entries[idx].unsafe && c->ops && c->ops->open_entry &&
		    c->ops->open_entry(c, (size_t)idx, UINT64_MAX, &s) == MS_OK) {
			if (!(d->bundle_findings = msi_report_new(NULL, NULL))) {
				msi_source_release(s);
				return msi_error(MS_ENOMEM, "out of memory");
			}
			int rc = tf_bundle_read_at(s, msi_entry_strip_dot(iname), v->limits, d->bundle_findings, &d->bundle);
			msi_source_release(s);
			if (rc != MS_OK && rc != MS_EFORMAT)
				return rc;
		}
	}
	uint8_t *buf;
	size_t len;
	idx = find_at(c, d->dir, "fingerprint.pb");
	if (idx >= 0) {
		int rc = read_entry(c, idx, SMALL_FILE_MAX, &buf, &len);
		if (rc == MS_ENOMEM)
			return rc;
		if (rc == MS_OK) {
			d->fingerprint = (Tfsm__FingerprintDef *)tf_sm_decode_small(&tfsm__fingerprint_def__descriptor, buf,
			                                                             len);
			msi_free(buf);
		}
		d->fingerprint_bad = !d->fingerprint;
	}
	idx = find_at(c, d->dir, "keras_metadata.pb");
	if (idx >= 0) {
		d->keras.present = true;
		uint64_t cap = v->limits && v->limits->max_metadata ? v->limits->max_metadata : SMALL_FILE_MAX;
		int rc = read_entry(c, idx, cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)cap, &buf, &len);
		if (rc == MS_ENOMEM)
			return rc;
		if (rc == MS_OK) {
			tf_keras_metadata_facts(&d->keras, buf, len);
			msi_free(buf);
		} else {
			d->keras.error = msi_strdup(rc == MS_ELIMIT ? "keras_metadata.pb is larger than max_metadata"
			                                            : "keras_metadata.pb cannot be read");
		}
	}
	return MS_OK;
}

int tf_sm_load(const msi_view *v, tf_sm_doc *d)
{
	memset(d, 0, sizeof *d);
	d->v = v;
	msi_tf_savedmodel_probe(v, &d->probe);
	if (v->container) {
		if (!d->probe.found)
			return MS_OK; /* tf.savedmodel.missing */
		return load_listing(v, d);
	}
	if (!v->src)
		return MS_OK;
	/* a lone graph file; read even when the probe did not claim it (a
	 * forced format): what is wrong becomes findings */
	d->probe.found = true;
	d->probe.lone_file = true;
	d->graph_name = v->name ? v->name : "saved_model.pb";
	return tf_sm_read(v->src, v->limits, &d->sm);
}

void tf_sm_doc_free(tf_sm_doc *d)
{
	tf_sm_free(d->sm);
	msi_free(d->dir);
	msi_free(d->pbtxt_tags);
	msi_free(d->pbtxt_tf_version);
	tf_bundle_free(d->bundle);
	if (d->bundle_findings)
		ms_report_free(d->bundle_findings);
	msi_free(d->bundle_prefix);
	if (d->fingerprint)
		protobuf_c_message_free_unpacked(&d->fingerprint->base, NULL);
	msi_free(d->keras.class_name);
	msi_free(d->keras.keras_version);
	msi_free(d->keras.error);
	memset(d, 0, sizeof *d);
}

/* ---- facts ---- */

static void write_shape(msi_json *j, const Tfsm__TensorShapeProto *s)
{
	if (!s || s->unknown_rank) {
		msi_json_null(j);
		return;
	}
	msi_json_array_begin(j);
	for (size_t i = 0; i < s->n_dim; i++)
		msi_json_int(j, s->dim[i]->has_size ? s->dim[i]->size : -1);
	msi_json_array_end(j);
}

static int cmp_input_entry(const void *a, const void *b)
{
	const Tfsm__SignatureDef__InputsEntry *x = *(Tfsm__SignatureDef__InputsEntry *const *)a;
	const Tfsm__SignatureDef__InputsEntry *y = *(Tfsm__SignatureDef__InputsEntry *const *)b;
	return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

/* A signature's inputs or outputs (same entry layout), sorted by key. */
static void write_tensor_list(msi_json *j, Tfsm__SignatureDef__InputsEntry **items, size_t n)
{
	Tfsm__SignatureDef__InputsEntry **sorted = n ? msi_reallocarray(NULL, n, sizeof *sorted) : NULL;
	if (sorted) {
		memcpy(sorted, items, n * sizeof *sorted);
		qsort(sorted, n, sizeof *sorted, cmp_input_entry);
		items = sorted;
	}
	msi_json_array_begin(j);
	char buf[24];
	for (size_t i = 0; i < n; i++) {
		const Tfsm__TensorInfo *t = items[i]->value;
		msi_json_object_begin(j);
		msi_json_key(j, "name");
		msi_json_string(j, items[i]->key ? items[i]->key : "");
		msi_json_key(j, "dtype");
		if (t && t->has_dtype)
			msi_json_string(j, tf_sm_dtype_name(t->dtype, buf));
		else
			msi_json_null(j);
		msi_json_key(j, "shape");
		write_shape(j, t ? t->tensor_shape : NULL);
		if (t && t->encoding_case == TFSM__TENSOR_INFO__ENCODING_NAME) {
			msi_json_key(j, "tensor");
			msi_json_string(j, t->name);
		}
		msi_json_object_end(j);
	}
	msi_json_array_end(j);
	msi_free(sorted);
}

static int cmp_sig(const void *a, const void *b)
{
	const Tfsm__MetaGraphDef__SignatureDefEntry *x = *(Tfsm__MetaGraphDef__SignatureDefEntry *const *)a;
	const Tfsm__MetaGraphDef__SignatureDefEntry *y = *(Tfsm__MetaGraphDef__SignatureDefEntry *const *)b;
	return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

static void write_signatures(msi_json *j, const tf_meta_graph *mg)
{
	size_t n = mg->n_signatures;
	Tfsm__MetaGraphDef__SignatureDefEntry **s = n ? msi_reallocarray(NULL, n, sizeof *s) : NULL;
	msi_json_key(j, "signatures");
	msi_json_object_begin(j);
	if (s) {
		memcpy(s, mg->signatures, n * sizeof *s);
		qsort(s, n, sizeof *s, cmp_sig);
		for (size_t i = 0; i < n; i++) {
			/* a map keeps the last entry of a repeated key */
			if (i + 1 < n && strcmp(s[i]->key ? s[i]->key : "", s[i + 1]->key ? s[i + 1]->key : "") == 0)
				continue;
			const Tfsm__SignatureDef *sd = s[i]->value;
			msi_json_key(j, s[i]->key ? s[i]->key : "");
			msi_json_object_begin(j);
			msi_json_key(j, "method_name");
			msi_json_string(j, sd && sd->method_name ? sd->method_name : "");
			msi_json_key(j, "inputs");
			write_tensor_list(j, sd ? sd->inputs : NULL, sd ? sd->n_inputs : 0);
			msi_json_key(j, "outputs");
			write_tensor_list(j, sd ? (Tfsm__SignatureDef__InputsEntry **)sd->outputs : NULL,
			                  sd ? sd->n_outputs : 0);
			msi_json_object_end(j);
		}
	}
	msi_json_object_end(j);
	msi_free(s);
}

typedef struct hist_item {
	const char *key;
	uint64_t count;
} hist_item;

static int cmp_hist(const void *a, const void *b)
{
	return strcmp(((const hist_item *)a)->key, ((const hist_item *)b)->key);
}

/* A histogram {string → count} sorted by key; `keys` may repeat. */
static void write_histogram(msi_json *j, const char **keys, size_t n)
{
	hist_item *h = n ? msi_reallocarray(NULL, n, sizeof *h) : NULL;
	msi_json_object_begin(j);
	if (h) {
		for (size_t i = 0; i < n; i++)
			h[i] = (hist_item){ keys[i], 1 };
		qsort(h, n, sizeof *h, cmp_hist);
		for (size_t i = 0; i < n;) {
			size_t k = i;
			while (k < n && strcmp(h[k].key, h[i].key) == 0)
				k++;
			msi_json_key(j, h[i].key);
			msi_json_uint(j, k - i);
			i = k;
		}
	}
	msi_json_object_end(j);
	msi_free(h);
}

static void write_op_types(msi_json *j, const tf_meta_graph *mg)
{
	uint64_t total = mg->n_nodes;
	for (size_t f = 0; f < mg->n_functions; f++)
		total += mg->functions[f].n_nodes;
	const char **ops = total && total < SIZE_MAX / sizeof(char *) ? msi_reallocarray(NULL, (size_t)total,
	                                                                                  sizeof *ops) : NULL;
	size_t n = 0;
	if (ops) {
		for (size_t i = 0; i < mg->n_nodes; i++)
			ops[n++] = mg->nodes[i].op;
		for (size_t f = 0; f < mg->n_functions; f++)
			for (size_t i = 0; i < mg->functions[f].n_nodes; i++)
				ops[n++] = mg->functions[f].nodes[i].op;
	}
	msi_json_key(j, "op_types");
	write_histogram(j, ops, n);
	msi_free(ops);
}

static const char *object_kind(const Tfsm__SavedObject *o)
{
	switch (o->kind_case) {
	case TFSM__SAVED_OBJECT__KIND_USER_OBJECT: return "user_object";
	case TFSM__SAVED_OBJECT__KIND_ASSET: return "asset";
	case TFSM__SAVED_OBJECT__KIND_FUNCTION: return "function";
	case TFSM__SAVED_OBJECT__KIND_VARIABLE: return "variable";
	case TFSM__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION: return "bare_concrete_function";
	case TFSM__SAVED_OBJECT__KIND_CONSTANT: return "constant";
	case TFSM__SAVED_OBJECT__KIND_RESOURCE: return "resource";
	case TFSM__SAVED_OBJECT__KIND_CAPTURED_TENSOR: return "captured_tensor";
	default: return "none";
	}
}

static void write_object_graph(msi_json *j, const tf_meta_graph *mg)
{
	msi_json_key(j, "object_graph");
	msi_json_object_begin(j);
	msi_json_key(j, "nodes");
	msi_json_uint(j, mg->n_objects);
	const char **keys = mg->n_objects ? msi_reallocarray(NULL, mg->n_objects, sizeof *keys) : NULL;
	size_t n = 0;
	if (keys)
		for (size_t i = 0; i < mg->n_objects; i++)
			keys[n++] = object_kind(mg->objects[i]);
	msi_json_key(j, "kinds");
	write_histogram(j, keys, n);
	n = 0;
	if (keys)
		for (size_t i = 0; i < mg->n_objects; i++)
			if (mg->objects[i]->kind_case == TFSM__SAVED_OBJECT__KIND_USER_OBJECT)
				keys[n++] = mg->objects[i]->user_object->identifier ? mg->objects[i]->user_object->identifier : "";
	msi_json_key(j, "user_object_identifiers");
	msi_json_array_begin(j);
	if (keys) {
		hist_item *h = n ? msi_reallocarray(NULL, n, sizeof *h) : NULL;
		if (h) {
			for (size_t i = 0; i < n; i++)
				h[i] = (hist_item){ keys[i], 1 };
			qsort(h, n, sizeof *h, cmp_hist);
			for (size_t i = 0; i < n; i++)
				if (i == 0 || strcmp(h[i].key, h[i - 1].key) != 0)
					msi_json_string(j, h[i].key);
			msi_free(h);
		}
	}
	msi_json_array_end(j);
	msi_json_object_end(j);
	msi_free(keys);
}

static void write_variables(msi_json *j, const tf_sm_doc *d, uint64_t *params)
{
	*params = 0;
	msi_json_key(j, "variables");
	msi_json_array_begin(j);
	const tf_bundle *b = d->bundle;
	char buf[24];
	for (size_t i = 0; b && i < b->count; i++) {
		const tf_bundle_entry *e = &b->entries[i];
		if (strcmp(e->key, TF_OBJECT_GRAPH_KEY) == 0)
			continue;
		msi_json_object_begin(j);
		msi_json_key(j, "name");
		msi_json_string(j, e->key);
		msi_json_key(j, "dtype");
		msi_json_string(j, tf_sm_dtype_name(e->dtype, buf));
		msi_json_key(j, "shape");
		if (e->unknown_rank) {
			msi_json_null(j);
		} else {
			msi_json_array_begin(j);
			for (uint32_t k = 0; k < e->rank; k++)
				msi_json_int(j, e->dims[k]);
			msi_json_array_end(j);
		}
		msi_json_object_end(j);
		bool known = !e->unknown_rank;
		for (uint32_t k = 0; k < e->rank; k++)
			known = known && e->dims[k] >= 0;
		if (known)
			*params = msi_sat_add_u64(*params, e->numel);
	}
	msi_json_array_end(j);
}

static void write_fingerprint(msi_json *j, const Tfsm__FingerprintDef *f)
{
	msi_json_key(j, "fingerprint");
	msi_json_object_begin(j);
	msi_json_key(j, "saved_model_checksum");
	msi_json_uint(j, f->saved_model_checksum);
	msi_json_key(j, "graph_def_program_hash");
	msi_json_uint(j, f->graph_def_program_hash);
	msi_json_key(j, "signature_def_hash");
	msi_json_uint(j, f->signature_def_hash);
	msi_json_key(j, "saved_object_graph_hash");
	msi_json_uint(j, f->saved_object_graph_hash);
	msi_json_key(j, "checkpoint_hash");
	msi_json_uint(j, f->checkpoint_hash);
	msi_json_key(j, "version");
	if (f->version && f->version->has_producer)
		msi_json_int(j, f->version->producer);
	else
		msi_json_null(j);
	msi_json_object_end(j);
}

/* Files under the SavedModel's assets/ folder, relative to it. */
static void write_assets(msi_json *j, const tf_sm_doc *d)
{
	const msi_container *c = d->v->container;
	bool any = false;
	msi_json_key(j, "assets");
	msi_json_array_begin(j);
	if (c && d->dir) {
		const char *dir = msi_entry_strip_dot(d->dir);
		size_t dl = strlen(dir);
		for (size_t i = 0; i < c->count; i++) {
			const msi_entry *e = &c->entries[i];
			const char *n = msi_entry_strip_dot(e->name);
			if (e->type == MSI_ENTRY_FILE && strncmp(n, dir, dl) == 0 && strncmp(n + dl, "assets/", 7) == 0) {
				msi_json_string(j, n + dl + 7);
				any = true;
			}
		}
	}
	msi_json_array_end(j);
	msi_json_key(j, "has_assets");
	msi_json_bool(j, any);
}

int tf_sm_write_facts(const tf_sm_doc *d, const char *kind, msi_inspect_out *out)
{
	msi_json *j = out->model;
	msi_json_key(j, "kind");
	msi_json_string(j, kind);
	if (!d->probe.found)
		return MS_OK;
	msi_json_key(j, "graph_file");
	msi_json_string(j, msi_entry_strip_dot(d->graph_name));
	msi_json_key(j, "format");
	msi_json_string(j, d->probe.pbtxt ? "pbtxt" : "pb");
	const tf_savedmodel *m = d->sm;
	if (d->probe.pbtxt && d->pbtxt_tags) {
		/* text format: what the line scan saw */
		msi_json_key(j, "meta_graphs");
		msi_json_uint(j, d->pbtxt_metas);
		msi_json_key(j, "tags");
		msi_json_array_begin(j);
		for (size_t k = 0; k < d->pbtxt_metas; k++) {
			msi_json_array_begin(j);
			const char *t = d->pbtxt_tags;
			for (size_t q = 0; q < k && t; q++) {
				t = strchr(t, '\x1e');
				t = t ? t + 1 : NULL;
			}
			while (t && *t && *t != '\x1e') {
				size_t len = strcspn(t, "\x1e\x1f");
				msi_json_stringn(j, t, len);
				t += len;
				if (*t == '\x1f')
					t++;
			}
			msi_json_array_end(j);
		}
		msi_json_array_end(j);
		if (d->pbtxt_tf_version) {
			msi_json_key(j, "tensorflow_version");
			msi_json_string(j, d->pbtxt_tf_version);
		}
	}
	if (m) {
		if (m->has_schema_version) {
			msi_json_key(j, "saved_model_schema_version");
			msi_json_int(j, m->schema_version);
		}
		msi_json_key(j, "meta_graphs");
		msi_json_uint(j, m->n_metas);
		msi_json_key(j, "tags");
		msi_json_array_begin(j);
		for (size_t i = 0; i < m->n_metas; i++) {
			msi_json_array_begin(j);
			for (size_t k = 0; k < m->metas[i].n_tags; k++)
				msi_json_string(j, m->metas[i].tags[k]);
			msi_json_array_end(j);
		}
		msi_json_array_end(j);
		if (m->n_metas) {
			const tf_meta_graph *mg = &m->metas[0];
			if (mg->tf_version) {
				msi_json_key(j, "tensorflow_version");
				msi_json_string(j, mg->tf_version);
			}
			if (mg->tf_git_version) {
				msi_json_key(j, "tensorflow_git_version");
				msi_json_string(j, mg->tf_git_version);
			}
			write_signatures(j, mg);
			msi_json_key(j, "node_count");
			msi_json_uint(j, mg->n_nodes);
			msi_json_key(j, "function_count");
			msi_json_uint(j, mg->n_functions);
			write_op_types(j, mg);
			if (mg->has_object_graph)
				write_object_graph(j, mg);
		}
	}
	uint64_t params = 0;
	write_variables(j, d, &params);
	if (d->fingerprint)
		write_fingerprint(j, d->fingerprint);
	if (!d->probe.lone_file) {
		msi_json_key(j, "has_variables");
		msi_json_bool(j, d->probe.variables);
		write_assets(j, d);
	}
	msi_json_key(j, "keras_metadata");
	msi_json_bool(j, d->keras.present);
	if (d->keras.present && d->keras.parsed) {
		msi_json_key(j, "keras_metadata_nodes");
		msi_json_uint(j, d->keras.nodes);
		if (d->keras.class_name) {
			msi_json_key(j, "keras_class_name");
			msi_json_string(j, d->keras.class_name);
		}
		if (d->keras.keras_version) {
			msi_json_key(j, "keras_version");
			msi_json_string(j, d->keras.keras_version);
		}
	}
	msi_json_key(out->root, "parameters");
	msi_json_uint(out->root, params);
	const Tfsm__SignatureDef *sd = tf_sm_serving_default(m);
	if (sd) {
		msi_json_key(out->root, "inputs");
		write_tensor_list(out->root, sd->inputs, sd->n_inputs);
		msi_json_key(out->root, "outputs");
		write_tensor_list(out->root, (Tfsm__SignatureDef__InputsEntry **)sd->outputs, sd->n_outputs);
	}
	return MS_OK;
}

int tf_sm_inspect(const msi_view *v, const char *kind, msi_inspect_out *out)
{
	tf_sm_doc d;
	int rc = tf_sm_load(v, &d);
	if (rc == MS_OK)
		rc = tf_sm_write_facts(&d, kind, out);
	tf_sm_doc_free(&d);
	return rc;
}
