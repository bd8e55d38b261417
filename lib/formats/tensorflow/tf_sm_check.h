/*
 * Private to the SavedModel checks: their context, the per-code finding
 * cap, and the name lookups they share. tf_sm_check.c holds these tools and
 * the structural checks (FORMATS.md §7.5); tf_sm_ops.c the op rules;
 * tf_sm_variables.c the variables against the bundle.
 */
#ifndef MSI_FORMATS_TF_SM_CHECK_H
#define MSI_FORMATS_TF_SM_CHECK_H

#include <sys/types.h>

#include "tf_sm.h"

/* Findings per code and model before the rest are only counted. */
#define PER_CODE_MAX 50u

/* A set of (pointer, length) keys, not copied, sized once for every key to
 * come (tf_sset_init). */
typedef struct sset {
	const char **keys;
	size_t *lens;
	size_t cap, n;
	bool failed;
} sset;

/* A name → index table, sorted by name with tf_cmp_name_ix. */
typedef struct name_ix {
	const char *name;
	size_t index;
} name_ix;

/* One validation: the doc, its report, findings counted per code. */
typedef struct ck {
	const tf_sm_doc *d;
	ms_report *r;
	const char *file;          /* the graph file's name, for locations */
	struct { const char *code; size_t n; } counts[24];
	size_t n_counts;
	int rc;
} ck;

/* The meta graph being checked, with its lookup tables. */
typedef struct mg_ctx {
	const tf_meta_graph *mg;
	size_t index;
	char where[96];            /* "saved_model.pb:meta_graphs[0]" */
	sset fn_names;             /* library function names */
	sset all_nodes;            /* node names of the graph and every function */
	bool *saver_fn;            /* per function: part of the saver */
	name_ix *fns;              /* library functions by name */
	name_ix *nodes;            /* top-level graph nodes by name */
	sset concrete;             /* concrete_functions keys */
} mg_ctx;

static inline const char *fn_label(const tf_function *f)
{
	return f ? f->name : "graph";
}


bool tf_sset_init(sset *s, size_t n);
void tf_sset_free(sset *s);
/* Adds a key; false when it was there already. */
bool tf_sset_add(sset *s, const char *k, size_t n);
bool tf_sset_has(const sset *s, const char *k, size_t n);

int tf_cmp_name_ix(const void *a, const void *b);
/* The index of `name` (`len` bytes, not NUL-terminated) in a sorted
 * table, or -1. */
ssize_t tf_name_ix_findn(const name_ix *t, size_t n, const char *name, size_t len);
ssize_t tf_name_ix_find(const name_ix *t, size_t n, const char *name);

/* A finding, unless PER_CODE_MAX of its code are out already (the rest
 * are counted, and reported as one at the end). */
void tf_ck_add(ck *c, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);

/* tf_sm_ops.c: the op rules over a graph's or function's nodes (`saver_fn`:
 * the function belongs to the saver, whose checkpoint ops are expected),
 * and which library functions belong to TF2's saver. */
void tf_ck_ops(ck *c, mg_ctx *m, const tf_function *fn, bool saver_fn, const tf_node *nodes, size_t n);
void tf_ck_mark_saver_functions(const mg_ctx *m, bool *saver);

/* tf_sm_variables.c: whether a meta graph restores variables; the
 * variables its RestoreV2 ops and its object graph read, against the
 * bundle. */
bool tf_ck_meta_uses_variables(const tf_meta_graph *mg);
void tf_ck_restore_ops(ck *c, mg_ctx *m, const tf_bundle *b, const tf_function *fn, const tf_node *nodes, size_t n);
void tf_ck_object_variables(ck *c, mg_ctx *m, const tf_bundle *b);

#endif
