/*
 * The variables of a SavedModel against its bundle
 * (variables/variables.index): TF1 graphs name them in the tensor_names
 * Const of their RestoreV2 ops, TF2 object graphs through the checkpoint's
 * own object graph; each must be in the bundle with the dtype and shape
 * the graph gives it.
 */
#include <stdlib.h>
#include <string.h>

#include "tf_sm_check.h"

bool tf_ck_meta_uses_variables(const tf_meta_graph *mg)
{
	for (size_t i = 0; i < mg->n_objects; i++)
		if (mg->objects[i]->kind_case == TFSM__SAVED_OBJECT__KIND_VARIABLE)
			return true;
	for (size_t i = 0; i < mg->n_nodes; i++)
		if (strcmp(mg->nodes[i].op, "RestoreV2") == 0 || strcmp(mg->nodes[i].op, "RestoreSlice") == 0 ||
		    strcmp(mg->nodes[i].op, "Restore") == 0)
			return true;
	return false;
}

static int base_dtype(int dt) { return dt > 100 ? dt - 100 : dt; }

static bool is_variable_op(const char *op)
{
	return strcmp(op, "VariableV2") == 0 || strcmp(op, "Variable") == 0 || strcmp(op, "VarHandleOp") == 0;
}

/* TF1 variables: the node named like the checkpoint key holds the shape. */
static void check_variable_shape(ck *c, mg_ctx *m, const char *key, const tf_bundle_entry *e)
{
	ssize_t vi = tf_name_ix_find(m->nodes, m->mg->n_nodes, key);
	const tf_node *v = vi >= 0 ? &m->mg->nodes[vi] : NULL;
	if (!v || !is_variable_op(v->op) || !v->has_shape || v->shape_unknown_rank || e->unknown_rank)
		return;
	bool same = v->shape_rank == e->rank;
	for (uint32_t q = 0; same && q < v->shape_rank; q++)
		same = v->shape[q] < 0 || e->dims[q] < 0 || v->shape[q] == e->dims[q];
	if (!same)
		tf_ck_add(c, "tf.variable.mismatch", m->where, "variable '%s' has rank %u in the graph and rank %u in the "
		          "bundle, or a dimension differs", key, v->shape_rank, e->rank);
}

/* The variables a graph's or function's RestoreV2 ops read: the strings of
 * the Const feeding their tensor_names input (TF1 savers in the graph, TF2
 * ones in __inference__traced_restore_*). */
void tf_ck_restore_ops(ck *c, mg_ctx *m, const tf_bundle *b, const tf_function *fn, const tf_node *nodes,
                       size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		any = strcmp(nodes[i].op, "RestoreV2") == 0;
	if (!any)
		return;
	name_ix *ix = fn ? msi_reallocarray(NULL, n, sizeof *ix) : m->nodes;
	if (!ix) {
		c->rc = MS_ENOMEM;
		return;
	}
	if (fn) {
		for (size_t i = 0; i < n; i++)
			ix[i] = (name_ix){ nodes[i].name, i };
		qsort(ix, n, sizeof *ix, tf_cmp_name_ix);
	}
	for (size_t i = 0; i < n; i++) {
		const tf_node *nd = &nodes[i];
		if (strcmp(nd->op, "RestoreV2") != 0 || nd->n_inputs < 2)
			continue;
		const char *start;
		size_t len = tf_ref_node_len(nd->inputs[1], &start);
		ssize_t ni = tf_name_ix_findn(ix, n, start, len);
		const tf_node *names = ni >= 0 ? &nodes[ni] : NULL;
		if (!names || strcmp(names->op, "Const") != 0)
			continue;
		for (uint32_t k = 0; k < names->n_strings; k++) {
			const tf_bundle_entry *e = tf_bundle_find(b, names->strings[k]);
			if (!e) {
				tf_ck_add(c, "tf.variable.missing", m->where, "restore op '%s' in %s reads variable '%s', which is "
				          "not in variables/variables.index", nd->name, fn_label(fn), names->strings[k]);
				continue;
			}
			if (k < nd->n_dtypes && base_dtype(nd->dtypes[k]) != base_dtype(e->dtype)) {
				char b1[24], b2[24];
				tf_ck_add(c, "tf.variable.mismatch", m->where, "restore op '%s' in %s reads '%s' as %s; the bundle "
				          "holds %s", nd->name, fn_label(fn), names->strings[k], tf_sm_dtype_name(nd->dtypes[k], b1),
				          tf_sm_dtype_name(e->dtype, b2));
			}
			if (!fn)
				check_variable_shape(c, m, names->strings[k], e);
		}
	}
	if (fn)
		msi_free(ix);
}

/* TF2: the checkpoint's object graph names each variable's key; node i
 * of it is node i of the SavedObjectGraph. */
void tf_ck_object_variables(ck *c, mg_ctx *m, const tf_bundle *b)
{
	const tf_sm_doc *d = c->d;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (!tf_bundle_find(b, TF_OBJECT_GRAPH_KEY))
		return;
	if (tf_bundle_read_object_graph(b, d->v->container, d->bundle_prefix, &buf, &len) != MS_OK)
		return; /* the bundle's own checks report it */
	Tfsm__TrackableObjectGraph *g = (Tfsm__TrackableObjectGraph *)tf_sm_decode_small(
		&tfsm__trackable_object_graph__descriptor, buf, len);
	msi_free(buf);
	if (!g)
		return;
	const tf_meta_graph *mg = m->mg;
	for (size_t i = 0; i < mg->n_objects; i++) {
		if (mg->objects[i]->kind_case != TFSM__SAVED_OBJECT__KIND_VARIABLE)
			continue;
		bool value = false;
		for (size_t k = 0; i < g->n_nodes && k < g->nodes[i]->n_attributes && !value; k++)
			value = g->nodes[i]->attributes[k]->name &&
			        strcmp(g->nodes[i]->attributes[k]->name, "VARIABLE_VALUE") == 0;
		if (!value)
			tf_ck_add(c, "tf.variable.missing", m->where, "object %zu is variable '%s', but the checkpoint's object "
			          "graph gives it no VARIABLE_VALUE", i, mg->objects[i]->variable->name ?
			          mg->objects[i]->variable->name : "");
	}
	for (size_t i = 0; i < g->n_nodes; i++) {
		const Tfsm__TrackableObjectGraph__TrackableObject *t = g->nodes[i];
		for (size_t k = 0; k < t->n_attributes; k++) {
			const char *key = t->attributes[k]->checkpoint_key;
			if (!key || !t->attributes[k]->name || strcmp(t->attributes[k]->name, "VARIABLE_VALUE") != 0)
				continue;
			const tf_bundle_entry *e = tf_bundle_find(b, key);
			if (!e) {
				tf_ck_add(c, "tf.variable.missing", m->where, "object %zu's variable is saved under '%s', which is not "
				          "in variables/variables.index", i, key);
				continue;
			}
			if (i >= mg->n_objects || mg->objects[i]->kind_case != TFSM__SAVED_OBJECT__KIND_VARIABLE)
				continue;
			const Tfsm__SavedVariable *sv = mg->objects[i]->variable;
			char b1[24], b2[24];
			if (sv->has_dtype && base_dtype(sv->dtype) != base_dtype(e->dtype))
				tf_ck_add(c, "tf.variable.mismatch", m->where, "variable '%s' (object %zu) is %s in the object graph "
				          "and %s in the bundle", key, i, tf_sm_dtype_name(sv->dtype, b1),
				          tf_sm_dtype_name(e->dtype, b2));
			const Tfsm__TensorShapeProto *s = sv->shape;
			if (s && !s->unknown_rank && !e->unknown_rank) {
				bool same = s->n_dim == e->rank;
				for (size_t q = 0; same && q < s->n_dim; q++)
					same = s->dim[q]->size < 0 || e->dims[q] < 0 || s->dim[q]->size == e->dims[q];
				if (!same)
					tf_ck_add(c, "tf.variable.mismatch", m->where, "variable '%s' (object %zu) has rank %zu in the "
					          "object graph and rank %u in the bundle, or a dimension differs", key, i, s->n_dim,
					          e->rank);
			}
		}
	}
	protobuf_c_message_free_unpacked(&g->base, NULL);
}
