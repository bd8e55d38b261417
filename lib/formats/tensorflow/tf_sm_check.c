/*
 * Validating a SavedModel: FORMATS.md §7.5 (files, meta graphs,
 * signatures, nodes, object graph, assets, variables) and the op rules of
 * issue 7 — a SavedModel is a program, and some ops touch files, run
 * Python or talk to the network when it runs. Those are reported wherever
 * they sit (graph or function, wired to an output or not), except the
 * checkpoint ops of the saver itself.
 *
 * This file holds the checks' shared tools (tf_sm_check.h), the file,
 * meta graph, signature, node, object-graph, asset, tag-set and
 * keras_metadata.pb checks, and tf_sm_check itself; the op rules are in
 * tf_sm_ops.c, the variables against the bundle in tf_sm_variables.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../keras/keras_config.h"
#include "tf_sm_check.h"

/* ---- a string set over (pointer, length) keys ---- */

static uint64_t hash_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

bool tf_sset_init(sset *s, size_t n)
{
	memset(s, 0, sizeof *s);
	size_t cap = 16;
	while (cap < n * 2 + 1) {
		if (cap > SIZE_MAX / 4) {
			s->failed = true;
			return false;
		}
		cap *= 2;
	}
	s->keys = msi_calloc(cap, sizeof *s->keys);
	s->lens = msi_calloc(cap, sizeof *s->lens);
	s->cap = cap;
	if (!s->keys || !s->lens) {
		s->failed = true;
		return false;
	}
	return true;
}

void tf_sset_free(sset *s)
{
	msi_free(s->keys);
	msi_free(s->lens);
	memset(s, 0, sizeof *s);
}

/* The slot holding `k`, or the empty one where it would go: there is
 * always one, as tf_sset_add never fills the last. */
static size_t sset_slot(const sset *s, const char *k, size_t n)
{
	size_t i = (size_t)hash_n(k, n) & (s->cap - 1);
	while (s->keys[i] && (s->lens[i] != n || memcmp(s->keys[i], k, n) != 0))
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Adds a key (not copied); false when it was there already. Sized by
 * tf_sset_init for every key to come, so it never grows. */
bool tf_sset_add(sset *s, const char *k, size_t n)
{
	if (s->failed || s->n + 1 >= s->cap)
		return true;
	size_t i = sset_slot(s, k, n);
	if (s->keys[i])
		return false;
	s->keys[i] = k;
	s->lens[i] = n;
	s->n++;
	return true;
}

/* False for a set whose init failed (its arrays may be missing). */
bool tf_sset_has(const sset *s, const char *k, size_t n)
{
	if (!s->cap || s->failed)
		return false;
	return s->keys[sset_slot(s, k, n)] != NULL;
}

/* ---- a sorted name → index table (functions, graph nodes) ---- */

int tf_cmp_name_ix(const void *a, const void *b)
{
	return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* The entry of `name` (`len` bytes, not NUL-terminated) in a table sorted
 * by name, or -1. */
ssize_t tf_name_ix_findn(const name_ix *t, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(t[mid].name, name, len);
		if (c == 0 && t[mid].name[len] != 0)
			c = 1;
		if (c == 0)
			return (ssize_t)t[mid].index;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The same for a NUL-terminated name. */
ssize_t tf_name_ix_find(const name_ix *t, size_t n, const char *name)
{
	return tf_name_ix_findn(t, n, name, strlen(name));
}

/* ---- findings with a cap per code ---- */

void tf_ck_add(ck *c, const char *code, const char *where, const char *fmt, ...)
{
	size_t k = 0;
	while (k < c->n_counts && strcmp(c->counts[k].code, code) != 0)
		k++;
	if (k == c->n_counts && k < MSI_ARRAY_LEN(c->counts)) {
		c->counts[k].code = code;
		c->counts[k].n = 0;
		c->n_counts++;
	}
	if (k < c->n_counts && c->counts[k].n++ >= PER_CODE_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(c->r, code, where, fmt, ap);
	va_end(ap);
}

static void add_overflow(ck *c)
{
	for (size_t k = 0; k < c->n_counts; k++)
		if (c->counts[k].n > PER_CODE_MAX)
			msi_report_add(c->r, c->counts[k].code, c->file, "%zu more findings of this kind are not listed",
			               c->counts[k].n - PER_CODE_MAX);
}

/* ---- meta graph checks ---- */

/* Node names unique, inputs resolvable, ops listed (invariant 3). */
static void check_body(ck *c, mg_ctx *m, const tf_function *fn, const tf_node *nodes, size_t n)
{
	sset names;
	size_t n_args = fn ? fn->n_args : 0;
	if (!tf_sset_init(&names, n + n_args)) {
		c->rc = MS_ENOMEM;
		tf_sset_free(&names);
		return;
	}
	for (size_t i = 0; i < n_args; i++)
		tf_sset_add(&names, fn->args[i], strlen(fn->args[i]));
	for (size_t i = 0; i < n; i++)
		if (!tf_sset_add(&names, nodes[i].name, strlen(nodes[i].name)))
			tf_ck_add(c, "tf.node.name_duplicate", m->where, "%s: two nodes are named '%s'", fn_label(fn),
			          nodes[i].name);
	sset ops = { 0 };
	const tf_meta_graph *mg = m->mg;
	if (!fn && mg->has_op_list && tf_sset_init(&ops, mg->n_op_list))
		for (size_t i = 0; i < mg->n_op_list; i++)
			tf_sset_add(&ops, mg->op_list[i], strlen(mg->op_list[i]));
	for (size_t i = 0; i < n; i++) {
		const tf_node *nd = &nodes[i];
		for (uint32_t k = 0; k < nd->n_inputs; k++) {
			const char *start;
			size_t len = tf_ref_node_len(nd->inputs[k], &start);
			if (!tf_sset_has(&names, start, len))
				tf_ck_add(c, "tf.node.input_missing", m->where, "%s: node '%s' (%s) takes input '%s', which names no "
				          "node%s", fn_label(fn), nd->name, nd->op, nd->inputs[k], fn ? " or argument" : "");
		}
		/* TF2 lists only the ops of the top-level graph (function bodies'
		 * ops are missing even from valid exports) */
		if (!fn && mg->has_op_list && !tf_sset_has(&ops, nd->op, strlen(nd->op)) &&
		    !tf_sset_has(&m->fn_names, nd->op, strlen(nd->op)))
			tf_ck_add(c, "tf.node.op_unlisted", m->where, "%s: node '%s' runs op '%s', which the meta graph's "
			          "stripped_op_list does not list and no library function defines", fn_label(fn), nd->name, nd->op);
	}
	if (fn)
		for (uint32_t k = 0; k < fn->n_rets; k++) {
			const char *start;
			size_t len = tf_ref_node_len(fn->rets[k], &start);
			if (!tf_sset_has(&names, start, len))
				tf_ck_add(c, "tf.node.input_missing", m->where, "%s: the function returns '%s', which names no node or "
				          "argument", fn->name, fn->rets[k]);
		}
	tf_sset_free(&ops);
	tf_sset_free(&names);
}

static void check_tensor_name(ck *c, mg_ctx *m, const char *sig, const char *io, const char *key, const char *name)
{
	const char *start;
	size_t len = tf_ref_node_len(name ? name : "", &start);
	if (!tf_sset_has(&m->all_nodes, start, len))
		tf_ck_add(c, "tf.signature.tensor_missing", m->where, "signature '%s' %s '%s' names tensor '%s', whose node "
		          "is in neither the graph nor a function", sig, io, key, name ? name : "");
}

static void check_tensor_info(ck *c, mg_ctx *m, const char *sig, const char *io, const char *key,
                              const Tfsm__TensorInfo *t, unsigned depth)
{
	if (!t || depth > TF_MAX_DEPTH)
		return;
	switch (t->encoding_case) {
	case TFSM__TENSOR_INFO__ENCODING_NAME:
		check_tensor_name(c, m, sig, io, key, t->name);
		break;
	case TFSM__TENSOR_INFO__ENCODING_COO_SPARSE:
		if (t->coo_sparse) {
			check_tensor_name(c, m, sig, io, key, t->coo_sparse->values_tensor_name);
			check_tensor_name(c, m, sig, io, key, t->coo_sparse->indices_tensor_name);
			check_tensor_name(c, m, sig, io, key, t->coo_sparse->dense_shape_tensor_name);
		}
		break;
	case TFSM__TENSOR_INFO__ENCODING_COMPOSITE_TENSOR:
		for (size_t i = 0; t->composite_tensor && i < t->composite_tensor->n_components; i++)
			check_tensor_info(c, m, sig, io, key, t->composite_tensor->components[i], depth + 1);
		return;
	default:
		tf_ck_add(c, "tf.signature.invalid", m->where, "signature '%s' %s '%s' has no encoding (no tensor name, sparse "
		          "or composite tensor)", sig, io, key);
		return;
	}
	/* an absent dtype is what TF 0.x wrote: only an explicit INVALID is flagged */
	if (t->has_dtype && (t->dtype == 0 || t->dtype == 100))
		tf_ck_add(c, "tf.signature.invalid", m->where, "signature '%s' %s '%s' has dtype DT_INVALID", sig, io, key);
	if (t->tensor_shape && t->tensor_shape->unknown_rank && t->tensor_shape->n_dim)
		tf_ck_add(c, "tf.signature.invalid", m->where, "signature '%s' %s '%s' has unknown_rank set and %zu dims", sig,
		          io, key, t->tensor_shape->n_dim);
}

static void check_signatures(ck *c, mg_ctx *m)
{
	const tf_meta_graph *mg = m->mg;
	for (size_t i = 0; i < mg->n_signatures; i++) {
		const char *key = mg->signatures[i]->key ? mg->signatures[i]->key : "";
		const Tfsm__SignatureDef *sd = mg->signatures[i]->value;
		if (!sd)
			continue;
		for (size_t k = 0; k < sd->n_inputs; k++)
			check_tensor_info(c, m, key, "input", sd->inputs[k]->key ? sd->inputs[k]->key : "",
			                  sd->inputs[k]->value, 0);
		for (size_t k = 0; k < sd->n_outputs; k++)
			check_tensor_info(c, m, key, "output", sd->outputs[k]->key ? sd->outputs[k]->key : "",
			                  sd->outputs[k]->value, 0);
	}
}

static void check_function_name(ck *c, mg_ctx *m, size_t node, const char *name)
{
	if (!tf_sset_has(&m->concrete, name, strlen(name)))
		tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu names concrete function '%s', which is not in "
		          "the object graph's concrete_functions", node, name);
	else if (!tf_sset_has(&m->fn_names, name, strlen(name)))
		tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu names concrete function '%s', which is not in "
		          "the function library", node, name);
}

/* Invariant 4: references inside the object graph. */
static void check_object_graph(ck *c, mg_ctx *m)
{
	const tf_meta_graph *mg = m->mg;
	size_t n = mg->n_objects;
	for (size_t i = 0; i < n; i++) {
		const Tfsm__SavedObject *o = mg->objects[i];
		for (size_t k = 0; k < o->n_children; k++)
			if (!o->children[k]->has_node_id || o->children[k]->node_id < 0 || (size_t)o->children[k]->node_id >= n)
				tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu has child '%s' with node id %d, out of "
				          "range (%zu nodes)", i, o->children[k]->local_name ? o->children[k]->local_name : "",
				          o->children[k]->node_id, n);
		for (size_t k = 0; k < o->n_dependencies; k++)
			if (o->dependencies[k]->node_id < 0 || (size_t)o->dependencies[k]->node_id >= n)
				tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu has dependency '%s' with node id %d, "
				          "out of range (%zu nodes)", i,
				          o->dependencies[k]->local_name ? o->dependencies[k]->local_name : "",
				          o->dependencies[k]->node_id, n);
		for (size_t k = 0; k < o->n_slot_variables; k++) {
			const Tfsm__SlotVariableReference *s = o->slot_variables[k];
			if (s->original_variable_node_id < 0 || (size_t)s->original_variable_node_id >= n ||
			    s->slot_variable_node_id < 0 || (size_t)s->slot_variable_node_id >= n)
				tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu has slot variable '%s' with node ids "
				          "%d/%d, out of range (%zu nodes)", i, s->slot_name ? s->slot_name : "",
				          s->original_variable_node_id, s->slot_variable_node_id, n);
		}
		for (size_t k = 0; k < o->n_saveable_objects; k++) {
			const Tfsm__SaveableObject *so = o->saveable_objects[k]->value;
			if (so && ((so->has_save_function && (so->save_function < 0 || (size_t)so->save_function >= n)) ||
			           (so->has_restore_function && (so->restore_function < 0 || (size_t)so->restore_function >= n))))
				tf_ck_add(c, "tf.object_graph.invalid", m->where, "object %zu has saveable object '%s' whose "
				          "functions are out of range (%zu nodes)", i,
				          o->saveable_objects[k]->key ? o->saveable_objects[k]->key : "", n);
		}
		switch (o->kind_case) {
		case TFSM__SAVED_OBJECT__KIND_FUNCTION:
			for (size_t k = 0; k < o->function->n_concrete_functions; k++)
				check_function_name(c, m, i, o->function->concrete_functions[k]);
			break;
		case TFSM__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION:
			check_function_name(c, m, i, o->bare_concrete_function->concrete_function_name
			                                     ? o->bare_concrete_function->concrete_function_name : "");
			break;
		case TFSM__SAVED_OBJECT__KIND_ASSET:
			if (o->asset->asset_file_def_index < 0 || (size_t)o->asset->asset_file_def_index >= mg->n_assets)
				tf_ck_add(c, "tf.asset.invalid", m->where, "object %zu is asset %d, but the meta graph has %zu "
				          "asset_file_def entries", i, o->asset->asset_file_def_index, mg->n_assets);
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < mg->n_concrete; i++) {
		const char *key = mg->concrete[i]->key ? mg->concrete[i]->key : "";
		if (!tf_sset_has(&m->fn_names, key, strlen(key)))
			tf_ck_add(c, "tf.object_graph.invalid", m->where, "concrete function '%s' is not in the function library",
			          key);
		const Tfsm__SavedConcreteFunction *cf = mg->concrete[i]->value;
		for (size_t k = 0; cf && k < cf->n_bound_inputs; k++)
			if (cf->bound_inputs[k] < 0 || (size_t)cf->bound_inputs[k] >= n)
				tf_ck_add(c, "tf.object_graph.invalid", m->where, "concrete function '%s' binds input node %d, out of "
				          "range (%zu nodes)", key, cf->bound_inputs[k], n);
	}
}

static bool listing_has(const msi_container *cn, const char *dir, const char *mid, const char *leaf)
{
	const char *d = msi_entry_strip_dot(dir ? dir : "");
	size_t dl = strlen(d), ml = strlen(mid);
	for (size_t i = 0; i < cn->count; i++) {
		const char *n = msi_entry_strip_dot(cn->entries[i].name);
		if (cn->entries[i].type == MSI_ENTRY_FILE && strncmp(n, d, dl) == 0 && strncmp(n + dl, mid, ml) == 0 &&
		    strcmp(n + dl + ml, leaf) == 0)
			return true;
	}
	return false;
}

static void check_assets(ck *c, mg_ctx *m)
{
	const msi_container *cn = c->d->v->container;
	for (size_t i = 0; i < m->mg->n_assets; i++) {
		const char *f = m->mg->assets[i]->filename;
		if (!f || !*f) {
			tf_ck_add(c, "tf.asset.invalid", m->where, "asset_file_def %zu has no file name", i);
			continue;
		}
		bool dots = strcmp(f, "..") == 0 || strncmp(f, "../", 3) == 0 || strstr(f, "/../") ||
		            (strlen(f) >= 3 && strcmp(f + strlen(f) - 3, "/..") == 0);
		if (f[0] == '/' || strchr(f, '\\') || dots) {
			tf_ck_add(c, "tf.asset.invalid", m->where, "asset_file_def %zu names '%s', which leaves assets/", i, f);
			continue;
		}
		if (cn && !listing_has(cn, c->d->dir, "assets/", f))
			tf_ck_add(c, "tf.asset.missing", m->where, "asset file '%s' is not in assets/", f);
	}
}

static void check_meta_graph(ck *c, size_t index)
{
	const tf_meta_graph *mg = &c->d->sm->metas[index];
	mg_ctx m;
	memset(&m, 0, sizeof m);
	m.mg = mg;
	m.index = index;
	snprintf(m.where, sizeof m.where, "%s:meta_graphs[%zu]", c->file, index);
	uint64_t total = mg->n_nodes;
	for (size_t i = 0; i < mg->n_functions; i++)
		total += mg->functions[i].n_nodes;
	m.saver_fn = msi_calloc(mg->n_functions ? mg->n_functions : 1, sizeof *m.saver_fn);
	if (!m.saver_fn || total > SIZE_MAX / 4 || !tf_sset_init(&m.fn_names, mg->n_functions) ||
	    !tf_sset_init(&m.all_nodes, (size_t)total)) {
		c->rc = MS_ENOMEM;
		goto out;
	}
	m.fns = msi_reallocarray(NULL, mg->n_functions ? mg->n_functions : 1, sizeof *m.fns);
	m.nodes = msi_reallocarray(NULL, mg->n_nodes ? mg->n_nodes : 1, sizeof *m.nodes);
	if (!m.fns || !m.nodes || !tf_sset_init(&m.concrete, mg->n_concrete)) {
		c->rc = MS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < mg->n_functions; i++) {
		tf_sset_add(&m.fn_names, mg->functions[i].name, strlen(mg->functions[i].name));
		m.fns[i] = (name_ix){ mg->functions[i].name, i };
	}
	qsort(m.fns, mg->n_functions, sizeof *m.fns, tf_cmp_name_ix);
	for (size_t i = 0; i < mg->n_nodes; i++)
		m.nodes[i] = (name_ix){ mg->nodes[i].name, i };
	qsort(m.nodes, mg->n_nodes, sizeof *m.nodes, tf_cmp_name_ix);
	for (size_t i = 0; i < mg->n_concrete; i++)
		if (mg->concrete[i]->key)
			tf_sset_add(&m.concrete, mg->concrete[i]->key, strlen(mg->concrete[i]->key));
	for (size_t i = 0; i < mg->n_nodes; i++)
		tf_sset_add(&m.all_nodes, mg->nodes[i].name, strlen(mg->nodes[i].name));
	for (size_t f = 0; f < mg->n_functions; f++)
		for (size_t i = 0; i < mg->functions[f].n_nodes; i++)
			tf_sset_add(&m.all_nodes, mg->functions[f].nodes[i].name, strlen(mg->functions[f].nodes[i].name));
	tf_ck_mark_saver_functions(&m, m.saver_fn);

	/* after a wire error the graphs are partial: the op rules still hold
	 * for what was read, references into the lost part would only echo
	 * the error */
	bool partial = c->d->sm->error.code != NULL;
	if (!partial)
		check_body(c, &m, NULL, mg->nodes, mg->n_nodes);
	tf_ck_ops(c, &m, NULL, false, mg->nodes, mg->n_nodes);
	for (size_t f = 0; f < mg->n_functions; f++) {
		const tf_function *fn = &mg->functions[f];
		if (!partial)
			check_body(c, &m, fn, fn->nodes, fn->n_nodes);
		tf_ck_ops(c, &m, fn, m.saver_fn[f], fn->nodes, fn->n_nodes);
	}
	if (partial)
		goto out;
	check_signatures(c, &m);
	check_object_graph(c, &m);
	check_assets(c, &m);
	if (c->d->v->container && !c->d->bundle_prefix && tf_ck_meta_uses_variables(mg))
		tf_ck_add(c, "tf.variables.missing", m.where, "the graph restores variables, but there is no "
		          "variables/variables.index");
	if (c->d->bundle) {
		tf_ck_restore_ops(c, &m, c->d->bundle, NULL, mg->nodes, mg->n_nodes);
		for (size_t f = 0; f < mg->n_functions && c->rc == MS_OK; f++)
			tf_ck_restore_ops(c, &m, c->d->bundle, &mg->functions[f], mg->functions[f].nodes,
			                  mg->functions[f].n_nodes);
		tf_ck_object_variables(c, &m, c->d->bundle);
	}
out:
	msi_free(m.fns);
	msi_free(m.nodes);
	tf_sset_free(&m.concrete);
	msi_free(m.saver_fn);
	tf_sset_free(&m.fn_names);
	tf_sset_free(&m.all_nodes);
}

/* Tag sets unique across meta graphs (invariant 1), order-insensitive:
 * each set becomes its sorted tags joined by NUL bytes, and equal keys end
 * up side by side once the keys are sorted. */
typedef struct tag_key {
	char *key;
	size_t len, meta;
} tag_key;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tag_key(const void *a, const void *b)
{
	const tag_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->meta < y->meta ? -1 : x->meta > y->meta;
}

static void check_tag_sets(ck *c, const tf_savedmodel *m)
{
	if (m->n_metas < 2)
		return;
	tag_key *keys = msi_calloc(m->n_metas, sizeof *keys);
	if (!keys) {
		c->rc = MS_ENOMEM;
		return;
	}
	for (size_t i = 0; i < m->n_metas && c->rc == MS_OK; i++) {
		const tf_meta_graph *mg = &m->metas[i];
		const char **tags = msi_reallocarray(NULL, mg->n_tags ? mg->n_tags : 1, sizeof *tags);
		msi_buf b = { 0 };
		if (tags) {
			if (mg->n_tags)
				memcpy(tags, mg->tags, mg->n_tags * sizeof *tags);
			qsort(tags, mg->n_tags, sizeof *tags, cmp_str);
			for (size_t k = 0; k < mg->n_tags; k++)
				if (k == 0 || strcmp(tags[k], tags[k - 1]) != 0) /* a set: [serve, serve] is {serve} */
					msi_buf_append(&b, tags[k], strlen(tags[k]) + 1);
		}
		msi_buf_putc(&b, 0);
		msi_free(tags);
		if (!tags || b.failed) {
			msi_buf_free(&b);
			c->rc = MS_ENOMEM;
			break;
		}
		keys[i].key = msi_buf_detach(&b, &keys[i].len);
		keys[i].meta = i;
	}
	if (c->rc == MS_OK) {
		qsort(keys, m->n_metas, sizeof *keys, cmp_tag_key);
		for (size_t i = 1; i < m->n_metas; i++)
			if (keys[i].len == keys[i - 1].len && memcmp(keys[i].key, keys[i - 1].key, keys[i].len) == 0)
				tf_ck_add(c, "tf.meta_graph.tags_duplicate", c->file, "meta graphs %zu and %zu have the same tags",
				          keys[i - 1].meta, keys[i].meta);
	}
	for (size_t i = 0; i < m->n_metas; i++)
		msi_free(keys[i].key);
	msi_free(keys);
}

/* keras_metadata.pb (SavedMetadata {repeated SavedObject nodes = 1 {node_id 2,
 * node_path 3, identifier 4, metadata 5 (JSON), version 6}}, as Keras 2's
 * saved_metadata.proto numbers them): every node's metadata is a Keras
 * object config; the Keras config walk flags what loading it would import
 * or run. */
int tf_keras_metadata_check(const uint8_t *buf, size_t n, ms_report *r)
{
	msi_cursor cur = msi_cursor_make(buf, n);
	size_t node = 0, bad = 0;
	while (cur.pos < n) {
		uint64_t tag = msi_cursor_varint(&cur);
		uint64_t len = (tag & 7) == 2 ? msi_cursor_varint(&cur) : 0;
		if (cur.failed || (tag & 7) != 2 || tag >> 3 == 0 || len > n - cur.pos) {
			msi_report_add(r, "tf.keras_metadata.invalid", "keras_metadata.pb", "the SavedMetadata wire format "
			               "is broken at offset %zu", cur.pos);
			return MS_OK;
		}
		if (tag >> 3 == 1) {
			msi_cursor m = msi_cursor_make(buf + cur.pos, (size_t)len);
			const char *path = NULL;
			size_t path_len = 0;
			bool has_metadata = false;
			while (m.pos < m.len) {
				uint64_t t = msi_cursor_varint(&m);
				if (!m.failed && (t & 7) == 0) {
					msi_cursor_varint(&m);
					if (!m.failed)
						continue;
				}
				uint64_t l = !m.failed && (t & 7) == 2 ? msi_cursor_varint(&m) : 0;
				if (m.failed || (t & 7) != 2 || t >> 3 == 0 || l > m.len - m.pos) {
					if (bad++ < PER_CODE_MAX)
						msi_report_add(r, "tf.keras_metadata.invalid", "keras_metadata.pb", "node %zu: the "
						               "SavedObject wire format is broken", node);
					break;
				}
				const char *p = (const char *)m.data + m.pos;
				if (t >> 3 == 3) {
					path = p;
					path_len = (size_t)l;
				} else if (t >> 3 == 5) {
					has_metadata = true;
					char where[160];
					snprintf(where, sizeof where, "keras_metadata.pb:%.*s", (int)(path_len > 100 ? 100 : path_len),
					         path ? path : "");
					msi_keras_facts facts;
					if (msi_keras_config_check(p, (size_t)l, where, NULL, r, &facts) != MS_OK)
						return MS_ENOMEM;
					if (!facts.is_object && bad++ < PER_CODE_MAX)
						msi_report_add(r, "tf.keras_metadata.invalid", "keras_metadata.pb", "node %zu: its "
						               "metadata is not a JSON object", node);
					msi_keras_facts_free(&facts);
				}
				m.pos += (size_t)l;
			}
			if (!has_metadata && bad++ < PER_CODE_MAX)
				msi_report_add(r, "tf.keras_metadata.invalid", "keras_metadata.pb", "node %zu has no metadata",
				               node);
			node++;
		}
		cur.pos += (size_t)len;
	}
	return MS_OK;
}

static void check_keras_metadata(ck *c)
{
	const tf_sm_doc *d = c->d;
	if (!d->keras.present)
		return;
	if (d->keras.error || !d->keras.parsed) {
		tf_ck_add(c, "tf.keras_metadata.invalid", "keras_metadata.pb", "%s",
		          d->keras.error ? d->keras.error : "keras_metadata.pb does not parse");
		return;
	}
	msi_container *cn = d->v->container;
	ssize_t idx = -1;
	const char *dir = msi_entry_strip_dot(d->dir ? d->dir : "");
	for (size_t i = 0; cn && i < cn->count && idx < 0; i++) {
		const char *n = msi_entry_strip_dot(cn->entries[i].name);
		if (cn->entries[i].type == MSI_ENTRY_FILE && strncmp(n, dir, strlen(dir)) == 0 &&
		    strcmp(n + strlen(dir), "keras_metadata.pb") == 0)
			idx = (ssize_t)i;
	}
	if (idx < 0 || cn->entries[idx].unsafe || !cn->ops || !cn->ops->open_entry)
		return;
	msi_source *s;
	uint64_t cap = d->v->limits && d->v->limits->max_metadata ? d->v->limits->max_metadata : 16u << 20;
	if (cn->entries[idx].size > cap || cap > SIZE_MAX / 2 || cn->ops->open_entry(cn, (size_t)idx, cap, &s) != MS_OK)
		return;
	size_t n = (size_t)s->size;
	uint8_t *buf = n <= cap ? msi_malloc(n ? n : 1) : NULL;
	if (buf && (!n || msi_source_read(s, 0, buf, n) == MS_OK) && tf_keras_metadata_check(buf, n, c->r) != MS_OK)
		c->rc = MS_ENOMEM;
	msi_free(buf);
	msi_source_release(s);
}

int tf_sm_check(const tf_sm_doc *d, msi_validate_ctx *ctx)
{
	ck c;
	memset(&c, 0, sizeof c);
	c.d = d;
	c.r = ctx->report;
	c.file = d->graph_name ? msi_entry_strip_dot(d->graph_name) : "saved_model.pb";
	const msi_container *cn = d->v->container;
	if (!d->probe.found) {
		bool cpb = false;
		for (size_t i = 0; cn && i < cn->count; i++)
			cpb = cpb || strcmp(msi_entry_base(cn->entries[i].name), "saved_model.cpb") == 0;
		if (cpb)
			msi_report_add(c.r, "tf.unsupported", NULL, "the graph is a chunked saved_model.cpb (TF 2.15+ proto "
			               "splitter), which is not read");
		else
			msi_report_add(c.r, "tf.savedmodel.missing", NULL, "no saved_model.pb or saved_model.pbtxt at the "
			               "root or under one top folder");
		return MS_OK;
	}
	const char *dir = d->dir && *d->dir ? d->dir : NULL;
	if (d->both_files)
		msi_report_add(c.r, "tf.savedmodel.ambiguous", dir, "both saved_model.pb and saved_model.pbtxt are present; "
		               "TensorFlow reads the binary one");
	if (d->chunked)
		msi_report_add(c.r, "tf.unsupported", dir, "a chunked saved_model.cpb sits next to the graph and is not "
		               "read");
	if (d->probe.pbtxt) {
		msi_report_add(c.r, "tf.savedmodel.pbtxt", c.file, "the graph is in protobuf text format: only its tags "
		               "are read, the graph is not checked");
	} else if (d->sm) {
		const tf_savedmodel *m = d->sm;
		if (m->error.code)
			msi_report_add(c.r, m->error.code, c.file, "%s", m->error.message);
		/* after a wire error, a missing version or meta graph is only its echo */
		if (m->has_schema_version ? m->schema_version != 1 : !m->error.code)
			tf_ck_add(&c, "tf.schema_version", c.file, "saved_model_schema_version is %lld, not 1",
			          (long long)(m->has_schema_version ? m->schema_version : 0));
		if (!m->n_metas && !m->error.code)
			tf_ck_add(&c, "tf.meta_graph.missing", c.file, "the SavedModel holds no MetaGraphDef");
		if (!m->error.code)
			check_tag_sets(&c, m);
		for (size_t i = 0; i < m->n_metas && c.rc == MS_OK; i++)
			check_meta_graph(&c, i);
	}
	if (d->fingerprint_bad)
		tf_ck_add(&c, "tf.fingerprint.invalid", "fingerprint.pb", "fingerprint.pb does not parse as a FingerprintDef");
	if (d->bundle_findings)
		for (size_t i = 0; i < d->bundle_findings->count; i++) {
			const msi_finding *f = &d->bundle_findings->items[i];
			msi_report_add(c.r, f->code, f->where, "%s", f->message);
		}
	if (d->bundle && cn) {
		int rc = tf_bundle_check_shards(d->bundle, (msi_container *)cn, d->bundle_prefix, ctx->quick, c.r,
		                                ctx->progress);
		if (rc != MS_OK && c.rc == MS_OK)
			c.rc = rc;
	}
	check_keras_metadata(&c);
	add_overflow(&c);
	return c.rc == MS_OK ? MS_OK : msi_error(c.rc, "out of memory");
}

int tf_sm_validate(const msi_view *v, msi_validate_ctx *ctx)
{
	tf_sm_doc d;
	int rc = tf_sm_load(v, &d);
	if (rc == MS_OK)
		rc = tf_sm_check(&d, ctx);
	tf_sm_doc_free(&d);
	return rc;
}
