/*
 * TensorFlow SavedModel (tf.Module, tf.train.Checkpoint): sniff here; the
 * reading, facts and checks are tf_sm_*.c's (shared with Keras 2 SavedModels).
 *
 * A SavedModel is a directory (serialzy wraps it in a tar) holding
 * saved_model.pb or saved_model.pbtxt (FORMATS.md §7.1). Keras 2 saves the
 * same layout plus keras_metadata.pb, or, before TF 2.5, only `_tf_keras_*`
 * identifiers in the object graph: those belong to tf_keras, which scores
 * higher, and this format keeps the plain ones.
 */
#include <string.h>

#include "tf.h"
#include "tf_sm.h"

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

/* The field header at *pos: number and, for a length-delimited field, its
 * length (*len is 0 for a varint, whose value is stepped over). *pos moves
 * to the field's value. Other wire types end the walk. */
static bool read_header(const msi_source *s, uint64_t *pos, uint64_t end, uint32_t *num, uint64_t *len)
{
	uint8_t b[20];
	size_t n = msi_source_read_some(s, *pos, b, end - *pos < sizeof b ? (size_t)(end - *pos) : sizeof b);
	msi_cursor c = msi_cursor_make(b, n);
	uint64_t tag = msi_cursor_varint(&c);
	uint64_t v = msi_cursor_varint(&c);
	if (c.failed || ((tag & 7) != 2 && (tag & 7) != 0))
		return false;
	*num = (uint32_t)(tag >> 3);
	*len = (tag & 7) == 2 ? v : 0;
	*pos += c.pos;
	return true;
}

/* The first bytes of the first meta graph's object graph (MetaGraphDef
 * field 7): its first nodes name the Keras model (`_tf_keras_model`, ...)
 * even when the object graph is too large for the head and tail windows.
 * A walk over field headers only; a few small reads. */
static bool keras_ids_in_object_graph(const msi_source *s, uint8_t *buf, size_t cap)
{
	uint64_t pos = 0, end = s->size, len;
	uint32_t num;
	for (unsigned i = 0; i < 16 && pos < end; i++) {
		if (!read_header(s, &pos, end, &num, &len))
			return false;
		if (num == 2 && len <= end - pos) {
			/* the first meta graph: its fields */
			uint64_t mend = pos + len;
			for (unsigned k = 0; k < 4096 && pos < mend; k++) {
				uint64_t flen;
				if (!read_header(s, &pos, mend, &num, &flen) || flen > mend - pos)
					return false;
				if (num == 7) {
					size_t got = msi_source_read_some(s, pos, buf, flen < cap ? (size_t)flen : cap);
					return has_keras_ids(buf, got);
				}
				pos += flen;
			}
			return false;
		}
		if (len > end - pos)
			return false;
		pos += len;
	}
	return false;
}

/* A folder (the root or one top folder) that holds a SavedModel's other
 * files but no saved_model.pb(txt). */
static void probe_without_graph(const msi_container *c, msi_tf_savedmodel *out)
{
	bool variables = false, companion = false;
	for (size_t i = 0; i < c->count; i++) {
		const msi_entry *e = &c->entries[i];
		if (e->type != MSI_ENTRY_FILE)
			continue;
		const char *n = msi_entry_strip_dot(e->name);
		/* at the root, or under one top folder */
		const char *slash = strchr(n, '/');
		const char *rels[2] = { n, slash ? slash + 1 : n };
		for (int k = 0; k < 2; k++) {
			const char *rel = rels[k];
			if (strcmp(rel, "variables/variables.index") == 0)
				variables = true;
			else if (strcmp(rel, "fingerprint.pb") == 0 || strcmp(rel, "keras_metadata.pb") == 0)
				companion = true;
			else if (strcmp(rel, "saved_model.cpb") == 0)
				companion = out->chunked = true;
		}
	}
	out->graph_missing = (variables && companion) || out->chunked;
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
		if (!out->keras_ids && v->size > 2 * TF_WINDOW) {
			uint8_t *buf = msi_malloc(TF_WINDOW);
			if (buf)
				out->keras_ids = keras_ids_in_object_graph(v->src, buf, TF_WINDOW);
			msi_free(buf);
		}
		return;
	}
	if (strcmp(c->kind, "zip") == 0)
		return; /* SavedModels travel as directories or tars */
	size_t plen = 0;
	ssize_t g = find_graph(c, &out->pbtxt, &plen);
	if (g < 0) {
		probe_without_graph(c, out);
		return;
	}
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
		msi_source *s;
		if (!out->keras_ids && !out->pbtxt && c->entries[g].size > 2 * TF_WINDOW && !c->entries[g].unsafe &&
		    c->ops && c->ops->open_entry && c->ops->open_entry(c, (size_t)g, UINT64_MAX, &s) == MS_OK) {
			out->keras_ids = keras_ids_in_object_graph(s, buf, TF_WINDOW);
			msi_source_release(s);
		}
	}
	msi_free(buf);
}

static int sniff(const msi_view *v)
{
	msi_tf_savedmodel sm;
	msi_tf_savedmodel_probe(v, &sm);
	if (sm.graph_missing)
		return 60; /* a SavedModel all the same: validation says what is missing */
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
	return tf_sm_inspect(v, "saved_model", out);
}

static int validate(const msi_view *v, msi_validate_ctx *ctx)
{
	return tf_sm_validate(v, ctx);
}

const msi_format msi_format_tf_pure = {
	.name = "tf_pure",
	.description = "TensorFlow SavedModel (tf.Module, tf.train.Checkpoint)",
	.is_model = true,
	.sniff = sniff,
	.inspect = inspect,
	.validate = validate,
};
