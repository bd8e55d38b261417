/*
 * TensorFlow SavedModel (tf.Module, tf.train.Checkpoint): sniff and a cheap
 * inspect (the protobuf walk and validate come with the format's own issue).
 *
 * A SavedModel is a directory (serialzy wraps it in a tar) holding
 * saved_model.pb or saved_model.pbtxt (FORMATS.md §7.1). Keras 2 saves the
 * same layout plus keras_metadata.pb, or, before TF 2.5, only `_tf_keras_*`
 * identifiers in the object graph: those belong to tf_keras, which scores
 * higher, and this format keeps the plain ones.
 */
#include <string.h>

#include "tf.h"

#define TF_WINDOW (64u * 1024u)

/* true when `name` is `<prefix><leaf>` */
static bool is_at(const char *name, const char *prefix, size_t plen, const char *leaf)
{
	return strncmp(name, prefix, plen) == 0 && strcmp(name + plen, leaf) == 0;
}

/* The graph file at the root, or under a single top folder. Sets the
 * folder prefix (with its '/') through *prefix_len. */
static ssize_t find_graph(const msi_container *c, bool *pbtxt, size_t *prefix_len)
{
	ssize_t best = -1;
	size_t best_depth = 2;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		const char *base = msi_entry_base(n);
		bool pb = strcmp(base, "saved_model.pb") == 0, txt = strcmp(base, "saved_model.pbtxt") == 0;
		if (!pb && !txt)
			continue;
		size_t depth = base == n ? 0 : 1;
		if (depth == 1 && memchr(n, '/', (size_t)(base - n) - 1))
			continue; /* deeper than one folder */
		/* the binary file wins over the text one at the same depth */
		if (depth < best_depth || (depth == best_depth && pb && *pbtxt)) {
			best = (ssize_t)i;
			best_depth = depth;
			*pbtxt = txt;
			*prefix_len = (size_t)(base - n);
		}
	}
	return best;
}

/* `08 01 12 <len> <MetaGraphDef field>`: schema version 1, then a meta
 * graph whose first field is one MetaGraphDef has (fields 1-7, all
 * length-delimited). ONNX also starts `08 xx 12`, but its field 2 is a
 * producer name, which is text. */
static bool lone_graph_plausible(const uint8_t *p, size_t n, uint64_t size)
{
	msi_cursor c = msi_cursor_make(p, n);
	if (msi_cursor_u8(&c) != 0x08 || msi_cursor_u8(&c) != 0x01 || msi_cursor_u8(&c) != 0x12)
		return false;
	uint64_t len = msi_cursor_varint(&c);
	uint8_t first = msi_cursor_u8(&c);
	if (c.failed || len == 0 || len > size - (c.pos - 1))
		return false;
	return first == 0x0A || first == 0x12 || first == 0x1A || first == 0x22 || first == 0x2A || first == 0x32 ||
	       first == 0x3A;
}

static bool has_keras_ids(const uint8_t *p, size_t n)
{
	return msi_find(p, n, "_tf_keras_", 10) != NULL;
}

void msi_tf_savedmodel_probe(const msi_view *v, msi_tf_savedmodel *out)
{
	memset(out, 0, sizeof *out);
	out->graph = -1;
	out->schema_version = -1;
	msi_container *c = v->container;
	if (!c) {
		if (!v->src || !lone_graph_plausible(v->head, v->head_len, v->size))
			return;
		out->found = out->lone_file = true;
		out->schema_version = 1;
		out->keras_ids = has_keras_ids(v->head, v->head_len) ||
		                 (v->size > v->head_len && has_keras_ids(v->tail, v->tail_len));
		return;
	}
	if (strcmp(c->kind, "zip") == 0)
		return; /* SavedModels travel as directories or tars */
	size_t plen = 0;
	ssize_t g = find_graph(c, &out->pbtxt, &plen);
	if (g < 0)
		return;
	out->found = true;
	out->graph = g;
	const char *prefix = msi_entry_strip_dot(c->entries[g].name);
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		if (is_at(n, prefix, plen, "keras_metadata.pb"))
			out->keras_metadata = true;
		else if (is_at(n, prefix, plen, "variables/variables.index"))
			out->variables = true;
		else if (is_at(n, prefix, plen, "fingerprint.pb"))
			out->fingerprint = true;
	}
	/* The object graph (MetaGraphDef field 7, written last) names each
	 * Keras object `_tf_keras_*`: the tail window sees it even in large
	 * graphs; the head covers small ones and text files. */
	uint8_t *buf = msi_malloc(TF_WINDOW);
	if (!buf)
		return;
	size_t got;
	if (msi_container_read_window(c, (size_t)g, false, buf, TF_WINDOW, &got) == MS_OK) {
		if (!out->pbtxt && got >= 2 && buf[0] == 0x08 && buf[1] < 0x80)
			out->schema_version = buf[1];
		out->keras_ids = has_keras_ids(buf, got);
		if (!out->keras_ids && c->entries[g].size > TF_WINDOW &&
		    msi_container_read_window(c, (size_t)g, true, buf, TF_WINDOW, &got) == MS_OK)
			out->keras_ids = has_keras_ids(buf, got);
	}
	msi_free(buf);
}

static int sniff(const msi_view *v)
{
	msi_tf_savedmodel sm;
	msi_tf_savedmodel_probe(v, &sm);
	if (!sm.found)
		return 0;
	bool keras = msi_tf_savedmodel_is_keras(&sm);
	if (sm.lone_file) {
		/* structure without magic; the file's usual name makes it likelier */
		int score = v->name && strcmp(v->name, "saved_model.pb") == 0 ? 60 : 50;
		return keras ? score - 20 : score;
	}
	/* a Keras SavedModel is still a SavedModel, but tf_keras says more */
	return keras ? 40 : 90;
}

static int inspect(const msi_view *v, msi_inspect_out *out)
{
	msi_tf_savedmodel sm;
	msi_tf_savedmodel_probe(v, &sm);
	if (!sm.found)
		return MS_OK;
	msi_json_key(out->model, "kind");
	msi_json_string(out->model, "savedmodel");
	msi_json_key(out->model, "graph_file");
	msi_json_string(out->model, sm.lone_file ? (v->name ? v->name : "saved_model.pb")
	                                         : msi_entry_strip_dot(v->container->entries[sm.graph].name));
	if (sm.schema_version >= 0) {
		msi_json_key(out->model, "saved_model_schema_version");
		msi_json_int(out->model, sm.schema_version);
	}
	if (!sm.lone_file) {
		msi_json_key(out->model, "has_variables");
		msi_json_bool(out->model, sm.variables);
		msi_json_key(out->model, "has_fingerprint");
		msi_json_bool(out->model, sm.fingerprint);
	}
	return MS_OK;
}

const msi_format msi_format_tf_pure = {
	.name = "tf_pure",
	.description = "TensorFlow SavedModel (tf.Module, tf.train.Checkpoint)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = NULL,
};
