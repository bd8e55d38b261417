/*
 * ONNX operator schemas: a table of every version of every operator of
 * onnx's built-in domains (ai.onnx, ai.onnx.ml, ai.onnx.training,
 * ai.onnx.preview.training), generated from Debian's python3-onnx by
 * gen_schemas.py into onnx_schemas.inc, and the node check onnx.checker does
 * with it (check_node + OpSchema::Verify: arity, empty required names,
 * attribute names, types and presence).
 *
 * Lookups are binary searches over static tables: no allocation, no global
 * state, safe from any thread.
 */
#ifndef MSI_FORMATS_ONNX_SCHEMA_H
#define MSI_FORMATS_ONNX_SCHEMA_H

#include "../../core/report.h"

/* A node as the schema check sees it. Names are NUL-terminated; an absent
 * optional input or output is "" (ONNX's convention). attr_types holds the
 * AttributeProto.type value of each attribute (0 when unset); attr_is_ref is
 * true when the attribute only refers to a function attribute (ref_attr_name).
 * attr_has_value (may be NULL: not checked) is true when the attribute holds
 * a value field (f, i, s, t, g, tp, sparse_tensor, or a non-empty list):
 * Verify requires one for tensor, graph, type-proto and list types unless the
 * attribute is a reference. A NULL name counts as "". */
typedef struct msi_onnx_node_sig {
	const char *op_type;
	const char *domain;            /* "" or "ai.onnx" for the default domain */
	size_t n_inputs;  const char *const *inputs;
	size_t n_outputs; const char *const *outputs;
	size_t n_attrs;   const char *const *attr_names; const int *attr_types; const bool *attr_is_ref;
	const bool *attr_has_value;    /* optional, see above */
} msi_onnx_node_sig;

struct msi_onnx_op_schema;

/* The onnx release the table was generated from, e.g. "1.12.0". */
const char *msi_onnx_schema_table_version(void);

/* Newest opset version the table knows for `domain` ("" and "ai.onnx" are
 * the same), 0 when the table does not cover the domain (a custom domain:
 * the caller skips schema checks for it). */
int64_t msi_onnx_schema_max_opset(const char *domain);

/* The schema in force for op_type at `opset`: the entry with the largest
 * since_version <= opset; NULL when none. */
const struct msi_onnx_op_schema *msi_onnx_schema_find(const char *domain, const char *op_type, int64_t opset);

/* The since_version of that schema, or 0 (used to compare a function's
 * opset import with the model's: two opset versions are compatible for an op
 * when they resolve to the same since_version). */
int msi_onnx_schema_since(const struct msi_onnx_op_schema *s);

/* The operator's name ("" for NULL). */
const char *msi_onnx_schema_name(const struct msi_onnx_op_schema *s);

/* true for the op_types onnx.checker calls experimental (ATen, Affine,
 * ConstantFill, ...): it warns and checks nothing else about such a node,
 * whatever its domain. */
bool msi_onnx_op_is_experimental(const char *op_type);

/* Checks one node of a built-in domain against the table, as onnx.checker's
 * check_node + OpSchema::Verify do, adding findings to `r` at `where` (e.g.
 * "graph 'main' node 12 'Conv_3' (Conv)"). `opset` is the version the model
 * (or function) imports for the node's domain. Every problem is reported,
 * not only the first. When `opset` is newer than the table's newest version
 * for the domain, only onnx.node.op_newer_than_table is reported (plus
 * onnx.node.deprecated_op for an operator the table has deprecated: onnx
 * never revives one). Returns the number of error findings added. */
int msi_onnx_check_node_schema(ms_report *r, const char *where, const msi_onnx_node_sig *node, int64_t opset);

/* The same with the lookups remembered: a graph of 200,000 nodes has a few
 * dozen distinct (domain, op_type, opset), so each is resolved once. The
 * cache belongs to one caller (no locking); NULL makes it the plain check.
 * It also remembers the op_type and domain *pointers* it was given (the
 * ONNX reader keeps one copy of each distinct op_type and domain), so their
 * strings must stay unchanged while the cache lives. */
typedef struct msi_onnx_schema_cache msi_onnx_schema_cache;
msi_onnx_schema_cache *msi_onnx_schema_cache_new(void);
void msi_onnx_schema_cache_free(msi_onnx_schema_cache *cache);
int msi_onnx_check_node_schema_cached(ms_report *r, const char *where, const msi_onnx_node_sig *node,
                                      int64_t opset, msi_onnx_schema_cache *cache);

#endif
