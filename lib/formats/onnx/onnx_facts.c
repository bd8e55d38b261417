/*
 * ONNX facts for inspect: the model header, the graph's shape of things and
 * its typed inputs and outputs, written from a model read by onnx_read.c.
 * Values absent from the file are written as protobuf reads them ("" and 0),
 * the way onnx's Python objects show them.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx_ir.h"

/* Writes a repeated key/value list as an object; protobuf readers that turn
 * it into a map keep the last value of a repeated key, and so do we. */
static void write_entries(msi_json *j, Onnx__StringStringEntryProto **e, size_t n)
{
	msi_json_object_begin(j);
	for (size_t i = 0; i < n; i++) {
		bool later = false;
		for (size_t k = i + 1; k < n && !later; k++)
			later = strcmp(onnx_str(e[k]->key), onnx_str(e[i]->key)) == 0;
		if (later)
			continue;
		msi_json_key(j, onnx_str(e[i]->key));
		msi_json_string(j, onnx_str(e[i]->value));
	}
	msi_json_object_end(j);
}

static void write_opsets(msi_json *j, Onnx__OperatorSetIdProto **o, size_t n)
{
	msi_json_object_begin(j);
	for (size_t i = 0; i < n; i++) {
		bool later = false;
		for (size_t k = i + 1; k < n && !later; k++)
			later = strcmp(onnx_str(o[k]->domain), onnx_str(o[i]->domain)) == 0;
		if (later)
			continue;
		msi_json_key(j, onnx_str(o[i]->domain));
		msi_json_int(j, o[i]->version);
	}
	msi_json_object_end(j);
}

static int write_op_types(msi_json *j, const onnx_graph *g)
{
	onnx_strset seen = { 0 };         /* key -> its index in `ops` + 1 */
	/* the distinct keys in first-seen order, with their counts: sized by
	 * the distinct ops (a few dozen), not by the nodes */
	struct {
		const char *key;
		uint64_t count;
	} *ops = NULL;
	size_t nops = 0, ops_cap = 0;
	char **owned = NULL;              /* "domain:op" keys made here */
	size_t nowned = 0, owned_cap = 0;
	/* the reader shares one copy of each op_type and domain (onnx_read.c):
	 * a node whose pointers were met before skips making and hashing its key */
	struct {
		const char *op, *domain;
		size_t index;
	} memo[32] = { { 0 } };
	int rc = MS_OK;
	for (size_t i = 0; i < g->n_nodes; i++) {
		const onnx_node *n = &g->nodes[i];
		uintptr_t ph = ((uintptr_t)n->op_type >> 3) ^ ((uintptr_t)n->domain >> 4);
		__typeof__(memo[0]) *e = &memo[(ph ^ (ph >> 9)) % MSI_ARRAY_LEN(memo)];
		if (n->op_type && e->op == n->op_type && e->domain == n->domain) {
			ops[e->index].count++;
			continue;
		}
		const char *key = onnx_str(n->op_type);
		char *made = NULL;
		if (!onnx_domain_is_default(n->domain)) {
			size_t dl = strlen(n->domain), ol = strlen(key);
			if (!(made = msi_malloc(dl + ol + 2))) {
				rc = MS_ENOMEM;
				goto out;
			}
			memcpy(made, n->domain, dl);
			made[dl] = ':';
			memcpy(made + dl + 1, key, ol + 1);
			key = made;
		}
		uint32_t *index;
		bool existed;
		if (!onnx_strset_put(&seen, key, &index, &existed)) {
			msi_free(made);
			rc = MS_ENOMEM;
			goto out;
		}
		if (existed) {
			msi_free(made); /* the key is there already */
		} else {
			__typeof__(ops) grown = nops < UINT32_MAX ? msi_grow(ops, &ops_cap, nops, sizeof *ops, 16) : NULL;
			char **grown_owned = made ? msi_grow(owned, &owned_cap, nowned, sizeof *owned, 16) : owned;
			if (grown)
				ops = grown;
			if (grown_owned)
				owned = grown_owned;
			if (!grown || (made && !grown_owned)) {
				msi_free(made); /* the set is not read again */
				rc = MS_ENOMEM;
				goto out;
			}
			if (made)
				owned[nowned++] = made;
			ops[nops].key = key;
			ops[nops].count = 0;
			*index = (uint32_t)++nops;
		}
		ops[*index - 1].count++;
		e->op = n->op_type;
		e->domain = n->domain;
		e->index = *index - 1;
	}
	msi_json_object_begin(j);
	for (size_t i = 0; i < nops; i++) {
		msi_json_key(j, ops[i].key);
		msi_json_uint(j, ops[i].count);
	}
	msi_json_object_end(j);
out:
	onnx_strset_free(&seen);
	for (size_t i = 0; i < nowned; i++)
		msi_free(owned[i]);
	msi_free(owned);
	msi_free(ops);
	return rc == MS_OK ? MS_OK : msi_error(rc, "out of memory writing ONNX facts");
}

static void write_value(msi_json *j, const Onnx__ValueInfoProto *v)
{
	msi_json_object_begin(j);
	msi_json_key(j, "name");
	msi_json_string(j, onnx_str(v->name));
	const Onnx__TypeProto *t = v->type;
	const Onnx__TensorShapeProto *shape = NULL;
	msi_json_key(j, "dtype");
	if (!t) {
		msi_json_null(j);
	} else {
		switch (t->value_case) {
		case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
			msi_json_string(j, t->tensor_type->has_elem_type ? onnx_dtype_name(t->tensor_type->elem_type)
			                                                  : "undefined");
			shape = t->tensor_type->shape;
			break;
		case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
			msi_json_string(j, t->sparse_tensor_type->has_elem_type
			                       ? onnx_dtype_name(t->sparse_tensor_type->elem_type) : "undefined");
			shape = t->sparse_tensor_type->shape;
			break;
		case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: msi_json_string(j, "sequence"); break;
		case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: msi_json_string(j, "map"); break;
		case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: msi_json_string(j, "optional"); break;
		case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE: msi_json_string(j, "opaque"); break;
		default: msi_json_null(j); break;
		}
	}
	msi_json_key(j, "shape");
	if (!shape) {
		msi_json_null(j);
	} else {
		msi_json_array_begin(j);
		for (size_t i = 0; i < shape->n_dim; i++) {
			const Onnx__TensorShapeProto__Dimension *d = shape->dim[i];
			if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
				msi_json_int(j, d->dim_value);
			else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
			         *d->dim_param)
				msi_json_string(j, d->dim_param);
			else
				msi_json_null(j);
		}
		msi_json_array_end(j);
	}
	msi_json_object_end(j);
}

static int write_io(msi_json *j, const onnx_graph *g)
{
	onnx_strset inits = { 0 };
	for (size_t i = 0; i < g->n_initializers; i++) {
		uint32_t *v;
		bool existed;
		if (!onnx_strset_put(&inits, onnx_str(g->initializers[i]->pb->name), &v, &existed)) {
			onnx_strset_free(&inits);
			return msi_error(MS_ENOMEM, "out of memory writing ONNX facts");
		}
	}
	msi_json_key(j, "inputs");
	msi_json_array_begin(j);
	for (size_t i = 0; i < g->n_inputs; i++) {
		if (!onnx_strset_get(&inits, onnx_str(g->inputs[i]->name)))
			write_value(j, g->inputs[i]);
	}
	msi_json_array_end(j);
	onnx_strset_free(&inits);
	msi_json_key(j, "outputs");
	msi_json_array_begin(j);
	for (size_t i = 0; i < g->n_outputs; i++)
		write_value(j, g->outputs[i]);
	msi_json_array_end(j);
	return MS_OK;
}

static void write_external(msi_json *j, const onnx_model *m)
{
	msi_json_key(j, "external_data");
	msi_json_array_begin(j);
	for (size_t i = 0; i < m->n_tensors; i++) {
		const onnx_tensor *t = m->tensors[i];
		if (!t->pb->has_data_location || t->pb->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
			continue;
		onnx_ext_info e;
		onnx_ext_info_parse(t, &e);
		msi_json_object_begin(j);
		msi_json_key(j, "tensor");
		msi_json_string(j, onnx_str(t->pb->name));
		msi_json_key(j, "location");
		msi_json_string(j, e.location);
		msi_json_key(j, "offset");
		if (e.bad_offset)
			msi_json_null(j);
		else
			msi_json_uint(j, e.offset);
		msi_json_key(j, "length");
		if (e.has_length && !e.bad_length)
			msi_json_uint(j, e.length);
		else
			msi_json_null(j);
		msi_json_object_end(j);
	}
	msi_json_array_end(j);
}

int onnx_write_facts(const onnx_model *m, msi_inspect_out *out)
{
	msi_json *j = out->model;
	const Onnx__ModelProto *pb = m->pb;
	msi_json_key(j, "ir_version");
	msi_json_int(j, pb->ir_version);
	msi_json_key(j, "producer_name");
	msi_json_string(j, onnx_str(pb->producer_name));
	msi_json_key(j, "producer_version");
	msi_json_string(j, onnx_str(pb->producer_version));
	msi_json_key(j, "domain");
	msi_json_string(j, onnx_str(pb->domain));
	msi_json_key(j, "model_version");
	msi_json_int(j, pb->model_version);
	msi_json_key(j, "doc_string");
	msi_json_string(j, onnx_str(pb->doc_string));
	msi_json_key(j, "opset_import");
	write_opsets(j, pb->opset_import, pb->n_opset_import);
	msi_json_key(j, "metadata_props");
	write_entries(j, pb->metadata_props, pb->n_metadata_props);

	const onnx_graph *g = m->graph;
	msi_json_key(j, "graph");
	if (!g) {
		msi_json_null(j);
	} else {
		msi_json_object_begin(j);
		msi_json_key(j, "name");
		msi_json_string(j, onnx_str(g->name));
		msi_json_key(j, "node_count");
		msi_json_uint(j, g->n_nodes);
		msi_json_key(j, "node_count_total");
		msi_json_uint(j, m->nodes_total);
		msi_json_key(j, "op_types");
		int rc = write_op_types(j, g);
		if (rc != MS_OK)
			return rc;
		msi_json_key(j, "initializer_count");
		msi_json_uint(j, g->n_initializers);
		msi_json_key(j, "sparse_initializer_count");
		msi_json_uint(j, g->n_sparse_initializers);
		msi_json_object_end(j);
	}
	msi_json_key(j, "functions");
	msi_json_array_begin(j);
	for (size_t i = 0; i < m->n_functions; i++)
		msi_json_string(j, onnx_str(m->functions[i].pb->name));
	msi_json_array_end(j);
	write_external(j, m);

	if (g) {
		int rc = write_io(out->root, g);
		if (rc != MS_OK)
			return rc;
		/* element counts of the dense initializers; a tensor whose dims
		 * do not give a count (negative, overflow) adds nothing */
		uint64_t params = 0;
		for (size_t i = 0; i < g->n_initializers; i++) {
			uint64_t n;
			if (onnx_tensor_elements(g->initializers[i], &n) && !msi_add_u64(params, n, &params))
				params = UINT64_MAX;
		}
		msi_json_key(out->root, "parameters");
		msi_json_uint(out->root, params);
	}
	return MS_OK;
}
