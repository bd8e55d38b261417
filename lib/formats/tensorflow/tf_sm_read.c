/*
 * Reading saved_model.pb without trusting it (see tf_sm.h).
 *
 * The walk goes SavedModel → MetaGraphDef → {MetaInfoDef, GraphDef →
 * NodeDef / FunctionDefLibrary → FunctionDef → NodeDef, SavedObjectGraph},
 * through a bounded window over the source: a frozen graph's Const
 * tensor_content is skipped by its length, never read, so a 1 GiB graph
 * costs its headers. Every field header is checked (field number, wire
 * type, length inside its message), nesting is capped at TF_MAX_DEPTH, and
 * strings are copied into one arena capped by max_metadata. The small
 * messages (signatures, saver, assets, object-graph nodes) are checked the
 * same way, recursively, then handed to protobuf-c with the arena as its
 * allocator; protobuf-c alone would recurse without limit and copy every
 * bytes field of the whole file.
 *
 * Arrays of nodes and functions are sized by a first pass over their
 * parent's field headers; a node's short lists go through scratch vectors
 * and are copied once the node is done.
 *
 * This file holds the message walk (attributes, nodes, functions, graphs,
 * meta graphs, the object graph) and tf_sm_read/tf_sm_free; the wire
 * primitives it is written in are in tf_sm_wire.c.
 */
#include <stdio.h>
#include <string.h>

#include "../pb.h"
#include "tf_sm_wire.h"

#define CONST_STRINGS_MAX (4u * 1024u * 1024u) /* a string Const kept for the restore checks */
/* the arena keeps 64 KiB chunks (msi_arena_init's chunk_max at the minimum) */
#define ARENA_CHUNK_MAX MSI_ARENA_CHUNK_MIN

/* ---- attributes ---- */

static bool walk_attr_value(rd *r, const field *vf, const char *key, tf_node *n, unsigned depth);

/* NameAttrList: its name is a function the node calls; its attrs may name
 * more. */
static bool walk_name_attr_list(rd *r, const field *lf, tf_node *n, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, lf->start, "NameAttrList"))
		return false;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, lf->end, "NameAttrList", &f))
			return false;
		if (f.num == 1) {
			if (!tf_rd_want_wt(r, &f, 2, "NameAttrList.name"))
				return false;
			const char *s = tf_rd_copy_str(r, &f);
			if (!s || !tf_rd_vec_push(r, &r->calls, &s, sizeof s))
				return false;
		} else if (f.num == 2) {
			if (!tf_rd_want_wt(r, &f, 2, "NameAttrList.attr"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field e;
				if (!tf_rd_next_field(r, &p2, f.end, "NameAttrList.AttrEntry", &e))
					return false;
				if (e.num == 2 && (!tf_rd_want_wt(r, &e, 2, "AttrEntry.value") ||
				                   !walk_attr_value(r, &e, "", n, depth + 2)))
					return false;
			}
		}
	}
	return true;
}

/* The string values of a string Const's tensor (restore ops read their
 * variable names from them). Payload fields are stepped over unread. */
static bool walk_tensor(rd *r, const field *tf, tf_node *n, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, tf->start, "TensorProto"))
		return false;
	bool keep = tf->value <= CONST_STRINGS_MAX;
	if (!keep)
		n->strings_elided = true;
	for (uint64_t pos = tf->off; pos < tf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, tf->end, "TensorProto", &f))
			return false;
		if (f.num == 1 && !tf_rd_want_wt(r, &f, 0, "TensorProto.dtype"))
			return false;
		if (f.num == 8) {
			if (!tf_rd_want_wt(r, &f, 2, "TensorProto.string_val"))
				return false;
			if (keep) {
				const char *s = tf_rd_copy_str(r, &f);
				if (!s || !tf_rd_vec_push(r, &r->strings, &s, sizeof s))
					return false;
			}
		}
	}
	return true;
}

/* Packed or plain varints of a list field (ListValue.type). */
static bool read_varints(rd *r, const field *f, vec *out)
{
	if (f->wt == 0) {
		int32_t v = (int32_t)f->value;
		return tf_rd_vec_push(r, out, &v, sizeof v);
	}
	if (f->wt != 2)
		return tf_rd_want_wt(r, f, 2, "ListValue.type");
	for (uint64_t pos = f->off; pos < f->end;) {
		uint64_t x;
		if (!tf_rd_varint(r, &pos, f->end, &x))
			return false;
		int32_t v = (int32_t)x;
		if (!tf_rd_vec_push(r, out, &v, sizeof v))
			return false;
	}
	return true;
}

static bool walk_list_value(rd *r, const field *lf, const char *key, tf_node *n, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, lf->start, "AttrValue.ListValue"))
		return false;
	bool urls = strcmp(key, "debug_urls") == 0 || strcmp(key, "debug_ops_spec") == 0;
	bool dtypes = strcmp(key, "dtypes") == 0;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, lf->end, "AttrValue.ListValue", &f))
			return false;
		if (f.num == 2 && urls) {
			if (!tf_rd_want_wt(r, &f, 2, "ListValue.s"))
				return false;
			const char *s = tf_rd_copy_str(r, &f);
			if (!s || !tf_rd_vec_push(r, &r->urls, &s, sizeof s))
				return false;
		} else if (f.num == 6 && dtypes) {
			if (!read_varints(r, &f, &r->dtypes))
				return false;
		} else if (f.num == 9) {
			if (!tf_rd_want_wt(r, &f, 2, "ListValue.func") || !walk_name_attr_list(r, &f, n, depth + 1))
				return false;
		}
	}
	return true;
}

/* TensorShapeProto {dim = 2 {size = 1}, unknown_rank = 3} of a variable's
 * `shape` attr (the TF1 restore checks compare it with the bundle). */
static bool walk_shape(rd *r, const field *sf, tf_node *n)
{
	vec dims = { 0 };
	bool ok = true, unknown = false;
	for (uint64_t pos = sf->off; ok && pos < sf->end;) {
		field f;
		if (!(ok = tf_rd_next_field(r, &pos, sf->end, "TensorShapeProto", &f)))
			break;
		if (f.num == 3 && (ok = tf_rd_want_wt(r, &f, 0, "TensorShapeProto.unknown_rank")))
			unknown = f.value != 0;
		if (f.num != 2 || !(ok = tf_rd_want_wt(r, &f, 2, "TensorShapeProto.dim")))
			continue;
		int64_t size = -1;
		for (uint64_t p2 = f.off; ok && p2 < f.end;) {
			field d;
			if ((ok = tf_rd_next_field(r, &p2, f.end, "TensorShapeProto.Dim", &d)) && d.num == 1)
				if ((ok = tf_rd_want_wt(r, &d, 0, "Dim.size")))
					size = (int64_t)d.value;
		}
		ok = ok && tf_rd_vec_push(r, &dims, &size, sizeof size);
	}
	if (ok && dims.n > UINT32_MAX)
		ok = tf_rd_fail(r, "tf.proto.limit", sf->start, "a shape at offset %llu has more than 2^32 dims",
		                (unsigned long long)sf->start);
	if (ok) {
		n->has_shape = true;
		n->shape_unknown_rank = unknown;
		n->shape_rank = 0;
		n->shape = NULL;
		if (dims.n && !(n->shape = msi_arena_zalloc(r->arena, dims.n, sizeof *n->shape)))
			ok = tf_rd_fail_alloc(r, sf->start);
		else if (dims.n) {
			memcpy(n->shape, dims.items, dims.n * sizeof *n->shape);
			n->shape_rank = (uint32_t)dims.n;
		}
	}
	msi_free(dims.items);
	return ok;
}

static bool walk_attr_value(rd *r, const field *vf, const char *key, tf_node *n, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, vf->start, "AttrValue"))
		return false;
	for (uint64_t pos = vf->off; pos < vf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, vf->end, "AttrValue", &f))
			return false;
		switch (f.num) {
		case 1:
			if (!tf_rd_want_wt(r, &f, 2, "AttrValue.list") || !walk_list_value(r, &f, key, n, depth + 1))
				return false;
			break;
		case 2:
			if (!tf_rd_want_wt(r, &f, 2, "AttrValue.s"))
				return false;
			if (strcmp(key, "output_stream") == 0 && !(n->output_stream = tf_rd_copy_str(r, &f)))
				return false;
			if (strcmp(key, "descriptor_source") == 0 && !(n->descriptor_source = tf_rd_copy_str(r, &f)))
				return false;
			break;
		case 7:
			if (!tf_rd_want_wt(r, &f, 2, "AttrValue.shape"))
				return false;
			if (strcmp(key, "shape") == 0 && !walk_shape(r, &f, n))
				return false;
			break;
		case 6:
			if (!tf_rd_want_wt(r, &f, 0, "AttrValue.type"))
				return false;
			if (strcmp(key, "dtype") == 0)
				n->dtype = (int32_t)f.value;
			break;
		case 8:
			if (!tf_rd_want_wt(r, &f, 2, "AttrValue.tensor"))
				return false;
			if (strcmp(key, "value") == 0 && !walk_tensor(r, &f, n, depth + 1))
				return false;
			break;
		case 10:
			if (!tf_rd_want_wt(r, &f, 2, "AttrValue.func") || !walk_name_attr_list(r, &f, n, depth + 1))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

/* ---- nodes, functions, graphs ---- */

static bool walk_node(rd *r, const field *nf, tf_node *n, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, nf->start, "NodeDef"))
		return false;
	memset(n, 0, sizeof *n);
	n->name = n->op = n->device = "";
	n->dtype = -1;
	n->off = nf->start;
	r->inputs.n = r->calls.n = r->urls.n = r->strings.n = r->dtypes.n = 0;
	for (uint64_t pos = nf->off; pos < nf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, nf->end, "NodeDef", &f))
			return false;
		const char *s = NULL;
		switch (f.num) {
		case 1: case 2: case 3: case 4:
			if (!tf_rd_want_wt(r, &f, 2, "NodeDef string") || !(s = tf_rd_copy_str(r, &f)))
				return false;
			if (f.num == 1)
				n->name = s;
			else if (f.num == 2)
				n->op = s;
			else if (f.num == 4)
				n->device = s;
			else if (!tf_rd_vec_push(r, &r->inputs, &s, sizeof s))
				return false;
			break;
		case 5: {
			if (!tf_rd_want_wt(r, &f, 2, "NodeDef.attr"))
				return false;
			/* map entry: key 1, value 2 (the key usually first; a value
			 * before its key is read with the key "" and loses nothing
			 * but the special cases) */
			const char *key = "";
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field e;
				if (!tf_rd_next_field(r, &p2, f.end, "NodeDef.AttrEntry", &e))
					return false;
				if (e.num == 1) {
					if (!tf_rd_want_wt(r, &e, 2, "AttrEntry.key") || !(key = tf_rd_copy_str(r, &e)))
						return false;
				} else if (e.num == 2) {
					if (!tf_rd_want_wt(r, &e, 2, "AttrEntry.value") || !walk_attr_value(r, &e, key, n, depth + 2))
						return false;
				}
			}
			break;
		}
		default:
			break;
		}
	}
	void *p;
	if (!tf_rd_vec_take(r, &r->inputs, sizeof(char *), &p, &n->n_inputs, nf->start))
		return false;
	n->inputs = p;
	if (!tf_rd_vec_take(r, &r->calls, sizeof(char *), &p, &n->n_calls, nf->start))
		return false;
	n->calls = p;
	if (!tf_rd_vec_take(r, &r->urls, sizeof(char *), &p, &n->n_debug_urls, nf->start))
		return false;
	n->debug_urls = p;
	if (!tf_rd_vec_take(r, &r->strings, sizeof(char *), &p, &n->n_strings, nf->start))
		return false;
	n->strings = p;
	if (!tf_rd_vec_take(r, &r->dtypes, sizeof(int32_t), &p, &n->n_dtypes, nf->start))
		return false;
	n->dtypes = p;
	return true;
}

/* The repeated NodeDef field `num` of a message, into an exact array. */
static bool walk_nodes(rd *r, const char *msg, const field *mf, uint32_t num, unsigned depth, tf_node **out,
                       size_t *n_out)
{
	uint64_t count;
	if (!tf_rd_count_fields(r, msg, mf->off, mf->end, num, &count))
		return false;
	/* a message that comes twice (two graph_def fields) merges: its nodes
	 * follow the ones read before */
	size_t have = *n_out;
	tf_node *nodes = msi_arena_zalloc(r->arena, (uint64_t)have + count, sizeof *nodes);
	if (!nodes)
		return tf_rd_fail_alloc(r, mf->start);
	if (have)
		memcpy(nodes, *out, have * sizeof *nodes);
	/* the nodes read so far stay visible when a later one is broken (the
	 * op rules still see them) */
	*out = nodes;
	for (uint64_t pos = mf->off; pos < mf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, mf->end, msg, &f))
			return false;
		if (f.num == num && f.wt == 2 && *n_out < have + count) {
			if (!walk_node(r, &f, &nodes[*n_out], depth + 1))
				return false;
			(*n_out)++;
		} else if (f.num == num && !tf_rd_want_wt(r, &f, 2, "node")) {
			return false;
		}
	}
	return true;
}

/* OpDef (a function's signature): its name and its input argument names. */
static bool walk_signature(rd *r, const field *sf, tf_function *fn)
{
	for (uint64_t pos = sf->off; pos < sf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, sf->end, "OpDef", &f))
			return false;
		if (f.num == 1) {
			const char *s;
			if (!tf_rd_want_wt(r, &f, 2, "OpDef.name") || !(s = tf_rd_copy_str(r, &f)))
				return false;
			fn->name = s;
		} else if (f.num == 2) {
			if (!tf_rd_want_wt(r, &f, 2, "OpDef.input_arg"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field a;
				if (!tf_rd_next_field(r, &p2, f.end, "OpDef.ArgDef", &a))
					return false;
				if (a.num == 1) {
					const char *s;
					if (!tf_rd_want_wt(r, &a, 2, "ArgDef.name") || !(s = tf_rd_copy_str(r, &a)) ||
					    !tf_rd_vec_push(r, &r->inputs, &s, sizeof s))
						return false;
				}
			}
		}
	}
	return true;
}

static bool walk_function(rd *r, const field *ff, tf_function *fn, unsigned depth)
{
	fn->name = "";
	fn->off = ff->start;
	if (!tf_rd_depth_ok(r, depth, ff->start, "FunctionDef"))
		return false;
	r->inputs.n = 0;
	vec rets = { 0 };
	bool ok = true;
	for (uint64_t pos = ff->off; ok && pos < ff->end;) {
		field f;
		if (!(ok = tf_rd_next_field(r, &pos, ff->end, "FunctionDef", &f)))
			break;
		if (f.num == 1) {
			ok = tf_rd_want_wt(r, &f, 2, "FunctionDef.signature") && walk_signature(r, &f, fn);
		} else if (f.num == 4) {
			ok = tf_rd_want_wt(r, &f, 2, "FunctionDef.ret");
			for (uint64_t p2 = f.off; ok && p2 < f.end;) {
				field e;
				const char *s;
				ok = tf_rd_next_field(r, &p2, f.end, "FunctionDef.RetEntry", &e);
				if (ok && e.num == 2)
					ok = tf_rd_want_wt(r, &e, 2, "RetEntry.value") && (s = tf_rd_copy_str(r, &e)) &&
					     tf_rd_vec_push(r, &rets, &s, sizeof s);
			}
		}
	}
	void *p;
	if (ok)
		ok = tf_rd_vec_take(r, &r->inputs, sizeof(char *), &p, &fn->n_args, ff->start);
	if (ok) {
		fn->args = p;
		ok = tf_rd_vec_take(r, &rets, sizeof(char *), &p, &fn->n_rets, ff->start);
		fn->rets = p;
	}
	msi_free(rets.items);
	/* the body after the signature: walk_node reuses the scratch vectors */
	return ok && walk_nodes(r, "FunctionDef", ff, 3, depth, &fn->nodes, &fn->n_nodes);
}

static bool walk_library(rd *r, const field *lf, tf_meta_graph *mg, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, lf->start, "FunctionDefLibrary"))
		return false;
	uint64_t count;
	if (!tf_rd_count_fields(r, "FunctionDefLibrary", lf->off, lf->end, 1, &count))
		return false;
	/* merged with a library read before (the field came twice) */
	size_t have = mg->n_functions;
	tf_function *fns = msi_arena_zalloc(r->arena, (uint64_t)have + count, sizeof *fns);
	if (!fns)
		return tf_rd_fail_alloc(r, lf->start);
	if (have)
		memcpy(fns, mg->functions, have * sizeof *fns);
	mg->functions = fns;
	count += have;
	for (uint64_t pos = lf->off; pos < lf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, lf->end, "FunctionDefLibrary", &f))
			return false;
		if (f.num == 1) {
			if (!tf_rd_want_wt(r, &f, 2, "FunctionDefLibrary.function"))
				return false;
			if (mg->n_functions < count) {
				/* counted before it is read: a broken function keeps
				 * the nodes it had (name "" until its signature) */
				tf_function *fn = &fns[mg->n_functions++];
				if (!walk_function(r, &f, fn, depth + 1))
					return false;
			}
		}
	}
	return true;
}

static bool walk_graph(rd *r, const field *gf, tf_meta_graph *mg, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, gf->start, "GraphDef"))
		return false;
	mg->has_graph = true;
	if (!walk_nodes(r, "GraphDef", gf, 1, depth, &mg->nodes, &mg->n_nodes))
		return false;
	for (uint64_t pos = gf->off; pos < gf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, gf->end, "GraphDef", &f))
			return false;
		if (f.num == 2) {
			if (!tf_rd_want_wt(r, &f, 2, "GraphDef.library") || !walk_library(r, &f, mg, depth + 1))
				return false;
		} else if (f.num == 4) {
			if (!tf_rd_want_wt(r, &f, 2, "GraphDef.versions"))
				return false;
			for (uint64_t p2 = f.off; p2 < f.end;) {
				field v;
				if (!tf_rd_next_field(r, &p2, f.end, "VersionDef", &v))
					return false;
				if (v.num == 1) {
					if (!tf_rd_want_wt(r, &v, 0, "VersionDef.producer"))
						return false;
					mg->producer = (int32_t)v.value;
				}
			}
		}
	}
	return true;
}

/* ---- meta graphs ---- */

static bool walk_meta_info(rd *r, const field *mf, tf_meta_graph *mg, unsigned depth)
{
	mg->has_meta_info = true;
	vec tags = { 0 }, ops = { 0 };
	bool ok = tf_rd_depth_ok(r, depth, mf->start, "MetaInfoDef");
	for (uint64_t pos = mf->off; ok && pos < mf->end;) {
		field f;
		const char *s = NULL;
		if (!(ok = tf_rd_next_field(r, &pos, mf->end, "MetaInfoDef", &f)))
			break;
		switch (f.num) {
		case 2: /* stripped_op_list: OpList { repeated OpDef op = 1 { name = 1 } } */
			ok = tf_rd_want_wt(r, &f, 2, "MetaInfoDef.stripped_op_list");
			mg->has_op_list = true;
			for (uint64_t p2 = f.off; ok && p2 < f.end;) {
				field o;
				if (!(ok = tf_rd_next_field(r, &p2, f.end, "OpList", &o)) || o.num != 1)
					continue;
				ok = tf_rd_want_wt(r, &o, 2, "OpList.op");
				for (uint64_t p3 = o.off; ok && p3 < o.end;) {
					field nf;
					if ((ok = tf_rd_next_field(r, &p3, o.end, "OpDef", &nf)) && nf.num == 1)
						ok = tf_rd_want_wt(r, &nf, 2, "OpDef.name") && (s = tf_rd_copy_str(r, &nf)) &&
						     tf_rd_vec_push(r, &ops, &s, sizeof s);
				}
			}
			break;
		case 4:
			ok = tf_rd_want_wt(r, &f, 2, "MetaInfoDef.tags") && (s = tf_rd_copy_str(r, &f)) &&
			     tf_rd_vec_push(r, &tags, &s, sizeof s);
			break;
		case 5:
			ok = tf_rd_want_wt(r, &f, 2, "MetaInfoDef.tensorflow_version") && (mg->tf_version = tf_rd_copy_str(r, &f));
			break;
		case 6:
			ok = tf_rd_want_wt(r, &f, 2, "MetaInfoDef.tensorflow_git_version") &&
			     (mg->tf_git_version = tf_rd_copy_str(r, &f));
			break;
		default:
			break;
		}
	}
	if (ok)
		ok = tf_rd_append_ptrs(r, &tags, &mg->tags, &mg->n_tags, mf->start) &&
		     tf_rd_append_ptrs(r, &ops, &mg->op_list, &mg->n_op_list, mf->start);
	msi_free(tags.items);
	msi_free(ops.items);
	return ok;
}

static bool walk_object_graph(rd *r, const field *of, tf_meta_graph *mg, unsigned depth)
{
	if (!tf_rd_depth_ok(r, depth, of->start, "SavedObjectGraph"))
		return false;
	mg->has_object_graph = true;
	for (uint64_t pos = of->off; pos < of->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, of->end, "SavedObjectGraph", &f))
			return false;
		void *msg;
		if (f.num == 1) {
			if (!tf_rd_want_wt(r, &f, 2, "SavedObjectGraph.nodes") ||
			    !(msg = tf_rd_read_leaf(r, &tfsm__saved_object__descriptor, &f, depth + 1)) ||
			    !tf_rd_push_msg(r, (void ***)&mg->objects, &mg->n_objects, &mg->cap_objects, msg, f.start))
				return false;
		} else if (f.num == 2) {
			if (!tf_rd_want_wt(r, &f, 2, "SavedObjectGraph.concrete_functions") ||
			    !(msg = tf_rd_read_leaf(r, &tfsm__saved_object_graph__concrete_functions_entry__descriptor, &f,
			                            depth + 1)) ||
			    !tf_rd_push_msg(r, (void ***)&mg->concrete, &mg->n_concrete, &mg->cap_concrete, msg, f.start))
				return false;
		}
	}
	return true;
}

static bool walk_meta_graph(rd *r, const field *mf, tf_meta_graph *mg, unsigned depth)
{
	mg->producer = -1;
	mg->off = mf->start;
	for (uint64_t pos = mf->off; pos < mf->end;) {
		field f;
		if (!tf_rd_next_field(r, &pos, mf->end, "MetaGraphDef", &f))
			return false;
		if (f.num >= 1 && f.num <= 7 && !tf_rd_want_wt(r, &f, 2, "MetaGraphDef field"))
			return false;
		void *msg;
		switch (f.num) {
		case 1:
			if (!walk_meta_info(r, &f, mg, depth + 1))
				return false;
			break;
		case 2:
			if (!walk_graph(r, &f, mg, depth + 1))
				return false;
			break;
		case 3:
			if (!(mg->saver = tf_rd_read_leaf(r, &tfsm__saver_def__descriptor, &f, depth + 1)))
				return false;
			break;
		case 4:
			mg->n_collections++;
			break;
		case 5:
			if (!(msg = tf_rd_read_leaf(r, &tfsm__meta_graph_def__signature_def_entry__descriptor, &f, depth + 1)) ||
			    !tf_rd_push_msg(r, (void ***)&mg->signatures, &mg->n_signatures, &mg->cap_signatures, msg, f.start))
				return false;
			break;
		case 6:
			if (!(msg = tf_rd_read_leaf(r, &tfsm__asset_file_def__descriptor, &f, depth + 1)) ||
			    !tf_rd_push_msg(r, (void ***)&mg->assets, &mg->n_assets, &mg->cap_assets, msg, f.start))
				return false;
			break;
		case 7:
			if (!walk_object_graph(r, &f, mg, depth + 1))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

static void walk_model(rd *r)
{
	tf_savedmodel *m = r->m;
	uint64_t count;
	if (!tf_rd_count_fields(r, "SavedModel", 0, m->size, 2, &count))
		return;
	if (!(m->metas = msi_arena_zalloc(r->arena, count, sizeof *m->metas))) {
		tf_rd_fail_alloc(r, 0);
		return;
	}
	for (uint64_t pos = 0; pos < m->size;) {
		field f;
		if (!tf_rd_next_field(r, &pos, m->size, "SavedModel", &f))
			return;
		if (f.num == 1) {
			if (!tf_rd_want_wt(r, &f, 0, "SavedModel.saved_model_schema_version"))
				return;
			m->has_schema_version = true;
			m->schema_version = (int64_t)f.value;
		} else if (f.num == 2) {
			if (!tf_rd_want_wt(r, &f, 2, "SavedModel.meta_graphs"))
				return;
			if (m->n_metas < count && !walk_meta_graph(r, &f, &m->metas[m->n_metas++], 2))
				return;
		}
	}
}

int tf_sm_read(const msi_source *src, const msi_limits *limits, tf_savedmodel **out)
{
	*out = NULL;
	msi_arena *arena = msi_calloc(1, sizeof *arena);
	if (!arena)
		return msi_error(MS_ENOMEM, "out of memory");
	msi_arena_init(arena, limits && limits->max_metadata ? limits->max_metadata : 256u * 1024u * 1024u,
	               ARENA_CHUNK_MAX);
	tf_savedmodel *m = msi_arena_alloc(arena, sizeof *m);
	if (!m) {
		msi_free(arena);
		return msi_error(MS_ENOMEM, "out of memory");
	}
	memset(m, 0, sizeof *m);
	m->arena = arena;
	m->size = src->size;
	rd r;
	memset(&r, 0, sizeof r);
	r.src = src;
	r.mem = msi_source_memory(src);
	r.size = src->size;
	r.m = m;
	r.arena = arena;
	r.pa = msi_pb_arena_allocator(arena);
	walk_model(&r);
	msi_free(r.win);
	msi_free(r.inputs.items);
	msi_free(r.calls.items);
	msi_free(r.urls.items);
	msi_free(r.strings.items);
	msi_free(r.dtypes.items);
	if (r.rc) {
		tf_sm_free(m);
		return r.rc == MS_ENOMEM ? msi_error(MS_ENOMEM, "out of memory") : r.rc;
	}
	*out = m;
	return MS_OK;
}

void tf_sm_free(tf_savedmodel *m)
{
	if (!m)
		return;
	/* m itself lives in the arena */
	msi_arena *a = m->arena;
	msi_arena_free(a);
	msi_free(a);
}
