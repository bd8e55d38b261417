/*
 * XGBoost model checks (FORMATS.md §4.6) and facts (§4.5), shared by the
 * three encodings. Trees arrive one at a time in the JSON conventions.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "xgb.h"

void xgb_ctx_init(xgb_ctx *c, const msi_view *v, ms_report *report, xgb_encoding e)
{
	memset(c, 0, sizeof *c);
	c->v = v;
	c->report = report;
	c->encoding = e;
	c->num_feature = c->num_class = c->num_target = -1;
	c->num_trees_param = c->num_parallel_tree = c->size_leaf_vector = -1;
	c->weight_drop = c->weights = c->boosted_rounds = -1;
	c->n_feature_names = c->n_feature_types = -1;
}

static void tree_free(xgb_tree *t)
{
	msi_i64vec *vs[] = { &t->left, &t->right, &t->parent, &t->split_index, &t->split_type, &t->default_left,
		             &t->cat_nodes, &t->cat_segments, &t->cat_sizes, &t->categories };
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++)
		msi_i64vec_free(vs[i]);
	msi_u8vec_free(&t->cond_flags);
}

void xgb_tree_reset(xgb_tree *t)
{
	msi_i64vec *vs[] = { &t->left, &t->right, &t->parent, &t->split_index, &t->split_type, &t->default_left,
		             &t->cat_nodes, &t->cat_segments, &t->cat_sizes, &t->categories };
	for (size_t i = 0; i < MSI_ARRAY_LEN(vs); i++)
		vs[i]->len = 0;
	t->cond_flags.len = 0;
	t->num_nodes = t->num_deleted = t->id = -1;
	t->has_split_type = t->has_cat_nodes = t->has_cat_segments = t->has_cat_sizes = t->has_categories = false;
	t->n_cond = t->n_base_weights = t->base_weights_nonfinite = 0;
	t->n_loss = t->loss_nonfinite = t->n_hess = t->bad_ints = 0;
	t->has_cond = t->has_base_weights = t->has_loss = t->has_hess = false;
}

void xgb_ctx_free(xgb_ctx *c)
{
	tree_free(&c->tree);
	msi_i64vec_free(&c->tree_info);
	msi_i64vec_free(&c->indptr);
	msi_i64vec_free(&c->max_split);
	msi_i64vec_free(&c->max_split_node);
	msi_buf_free(&c->feature_names);
	msi_buf_free(&c->feature_types);
	msi_buf_free(&c->attributes);
	msi_free(c->scikit_learn);
	msi_free(c->scratch);
}

void xgb_find(xgb_ctx *c, const char *code, const char *where, const char *fmt, ...)
{
	if (!c->report)
		return;
	if (c->findings++ >= XGB_MAX_FINDINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	msi_report_addv(c->report, code, where, fmt, ap);
	va_end(ap);
}

static bool push_i64(msi_i64vec *v, int64_t x)
{
	if (v->len == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 64;
		int64_t *nv = msi_reallocarray(v->v, ncap, sizeof *nv);
		if (!nv)
			return false;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->len++] = x;
	return true;
}

/* Per-tree finding with a cap, so a hostile tree of a million broken nodes
 * costs a few findings, not a million. */
typedef struct tree_findings {
	xgb_ctx *c;
	size_t index, n;
} tree_findings;

static void tfind(tree_findings *tf, const char *code, int64_t node, const char *fmt, ...) MSI_PRINTF(4, 5);
static void tfind(tree_findings *tf, const char *code, int64_t node, const char *fmt, ...)
{
	if (!tf->c->report)
		return;
	if (tf->n++ == XGB_MAX_FINDINGS_PER_TREE) {
		char where[64];
		snprintf(where, sizeof where, "tree %zu", tf->index);
		xgb_find(tf->c, "xgb.tree.too_many_findings", where, "further findings in this tree are not listed");
		return;
	}
	if (tf->n > XGB_MAX_FINDINGS_PER_TREE)
		return;
	char where[64], msg[400];
	if (node >= 0)
		snprintf(where, sizeof where, "tree %zu, node %lld", tf->index, (long long)node);
	else
		snprintf(where, sizeof where, "tree %zu", tf->index);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	xgb_find(tf->c, code, where, "%s", msg);
}

/* `cat_splits`: false when no split is categorical (the last check then
 * has nothing to find). */
static void check_categories(tree_findings *tf, xgb_tree *t, size_t n, bool cat_splits)
{
	size_t k = t->cat_nodes.len;
	if (!t->has_cat_nodes && !t->has_cat_segments && !t->has_cat_sizes && !t->has_categories)
		return;
	if (t->cat_segments.len != k || t->cat_sizes.len != k) {
		tfind(tf, "xgb.tree.categories", -1,
		      "categories_nodes has %zu entries but categories_segments %zu and categories_sizes %zu", k,
		      t->cat_segments.len, t->cat_sizes.len);
		return;
	}
	for (size_t i = 0; i < t->categories.len; i++)
		if (t->categories.v[i] < 0) {
			tfind(tf, "xgb.tree.categories", -1, "category id %lld at categories[%zu] is negative",
			      (long long)t->categories.v[i], i);
			break;
		}
	for (size_t i = 0; i < k; i++) {
		int64_t node = t->cat_nodes.v[i];
		if (node < 0 || (uint64_t)node >= n) {
			tfind(tf, "xgb.tree.categories", -1, "categories_nodes[%zu] = %lld is not a node of the tree", i,
			      (long long)node);
			continue;
		}
		if (i > 0 && node <= t->cat_nodes.v[i - 1])
			tfind(tf, "xgb.tree.categories", node, "categories_nodes is not strictly ascending");
		if (t->split_type.len == n && t->split_type.v[node] != 1)
			tfind(tf, "xgb.tree.categories", node, "the node lists categories but its split_type is not 1");
		int64_t seg = t->cat_segments.v[i], size = t->cat_sizes.v[i];
		uint64_t end;
		if (seg < 0 || size < 0 || !msi_add_u64((uint64_t)seg, (uint64_t)size, &end) || end > t->categories.len)
			tfind(tf, "xgb.tree.categories", node,
			      "category range [%lld, +%lld) lies outside categories (%zu entries)", (long long)seg,
			      (long long)size, t->categories.len);
	}
	/* every categorical split has its categories listed */
	if (t->split_type.len == n && cat_splits) {
		size_t j = 0;
		for (size_t node = 0; node < n; node++) {
			if (t->split_type.v[node] != 1 || t->left.v[node] == -1)
				continue;
			while (j < k && t->cat_nodes.v[j] < (int64_t)node)
				j++;
			if (j >= k || t->cat_nodes.v[j] != (int64_t)node)
				tfind(tf, "xgb.tree.categories", (int64_t)node,
				      "a categorical split without an entry in categories_nodes");
		}
	}
}

/* The bitwise or of n values (two at a time where SSE2 is there). */
static uint64_t or_all(const int64_t *v, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;
#ifdef __SSE2__
	__m128i a = _mm_setzero_si128();
	for (; n - i >= 2; i += 2)
		a = _mm_or_si128(a, _mm_loadu_si128((const __m128i *)(v + i)));
	uint64_t two[2];
	_mm_storeu_si128((__m128i *)two, a);
	acc = two[0] | two[1];
#endif
	for (; i < n; i++)
		acc |= (uint64_t)v[i];
	return acc;
}

static bool any_byte(const uint8_t *v, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	__m128i a = _mm_setzero_si128();
	for (; n - i >= 16; i += 16)
		a = _mm_or_si128(a, _mm_loadu_si128((const __m128i *)(v + i)));
	if (_mm_movemask_epi8(_mm_cmpeq_epi8(a, _mm_setzero_si128())) != 0xFFFF)
		return true;
#endif
	for (; i < n; i++)
		if (v[i])
			return true;
	return false;
}

/*
 * The common tree in one pass and no finding: no deleted node; split_type
 * and default_left all 0 or 1; every split condition finite; leaves with
 * right child -1; every split with a split index in [0, 2^31 - 1) and two
 * distinct later nodes that name it as their parent; and the splits
 * account for all n - 1 other nodes. Then each non-root node has exactly
 * one parent before it, so every node is reached from the root, once, and
 * the per-node checks and the walk in xgb_check_tree would report nothing.
 * False: anything else (xgb_check_tree then looks closer). Sets the
 * largest split index and its first node, and whether a split is
 * categorical.
 */
static bool tree_is_plain(const xgb_tree *t, size_t n, int64_t *maxs, int64_t *maxs_node, bool *cat_splits)
{
	const int64_t *L = t->left.v, *R = t->right.v, *P = t->parent.v, *SI = t->split_index.v;
	const int64_t *ST = t->split_type.len == n ? t->split_type.v : NULL;
	if ((ST && or_all(ST, n) > 1) || (t->default_left.len == n && or_all(t->default_left.v, n) > 1) ||
	    (t->cond_flags.len == n && any_byte(t->cond_flags.v, n)))
		return false;
	size_t splits = 0;
	int64_t mx = -1, mxn = -1;
	bool cat = false;
	for (size_t i = 0; i < n; i++) {
		int64_t l = L[i], r = R[i], si = SI[i];
		if (l == -1) {
			if (r != -1 || si == XGB_DELETED_SPLIT || si == (int64_t)0xFFFFFFFF)
				return false;
			continue;
		}
		size_t after = n - i - 1; /* nodes after i */
		if ((uint64_t)l - i - 1 >= after || (uint64_t)r - i - 1 >= after || l == r || P[l] != (int64_t)i ||
		    P[r] != (int64_t)i || (uint64_t)si >= XGB_DELETED_SPLIT)
			return false;
		if (si > mx) {
			mx = si;
			mxn = (int64_t)i;
		}
		cat |= ST && ST[i] == 1;
		splits++;
	}
	if (2 * splits != n - 1)
		return false;
	*maxs = mx;
	*maxs_node = mxn;
	*cat_splits = cat;
	return true;
}

void xgb_check_tree(xgb_ctx *c, size_t index)
{
	xgb_tree *t = &c->tree;
	tree_findings tf = { c, index, 0 };
	int64_t maxs = -1, maxs_node = -1;
	bool categorical = false;
	/* the split maxima stay aligned with the tree numbers whatever happens */
	bool pushed = false;
	size_t n = t->left.len;

	if (t->id >= 0 && (uint64_t)t->id != index)
		tfind(&tf, "xgb.tree.id", -1, "the tree's id is %lld, its position %zu", (long long)t->id, index);
	if (t->bad_ints)
		tfind(&tf, "xgb.schema", -1, "%zu elements of integer arrays are not integers", t->bad_ints);
	if (t->num_nodes >= 0 && (uint64_t)t->num_nodes != n) {
		tfind(&tf, "xgb.tree.array_length", -1, "num_nodes is %lld but left_children has %zu entries",
		      (long long)t->num_nodes, n);
		goto done;
	}
	if (n == 0) {
		tfind(&tf, "xgb.tree.empty", -1, "the tree has no nodes");
		goto done;
	}
	struct {
		const char *name;
		size_t len;
		bool present;
	} arrays[] = {
		{ "right_children", t->right.len, true },
		{ "parents", t->parent.len, true },
		{ "split_indices", t->split_index.len, true },
		{ "split_conditions", t->n_cond, true },
		{ "default_left", t->default_left.len, t->default_left.len > 0 },
		{ "split_type", t->split_type.len, t->has_split_type },
		{ "base_weights", t->n_base_weights, t->has_base_weights },
		{ "loss_changes", t->n_loss, t->has_loss },
		{ "sum_hessian", t->n_hess, t->has_hess },
	};
	bool lengths_ok = true;
	for (size_t i = 0; i < MSI_ARRAY_LEN(arrays); i++) {
		if (!arrays[i].present || arrays[i].len == n)
			continue;
		/* multi-target trees keep n * targets base weights */
		if (i == 6 && c->size_leaf_vector > 1 && arrays[i].len == n * (size_t)c->size_leaf_vector)
			continue;
		tfind(&tf, "xgb.tree.array_length", -1, "%s has %zu entries, the tree %zu nodes", arrays[i].name,
		      arrays[i].len, n);
		lengths_ok = false;
	}
	if (!lengths_ok || t->right.len != n || t->parent.len != n || t->split_index.len != n)
		goto done;

	/* the arrays in locals: tfind cannot change them, the compiler cannot
	 * know that */
	const int64_t *L = t->left.v, *R = t->right.v, *P = t->parent.v;
	size_t deleted = 0;
	bool cat_splits = false;
	bool plain = tree_is_plain(t, n, &maxs, &maxs_node, &cat_splits);
	int64_t *stack = NULL;
	uint8_t *color = NULL;
	bool simple = true;
	if (plain) {
		categorical = cat_splits;
	} else {
		/* scratch reused across trees */
		if (c->scratch_cap < n) {
			msi_free(c->scratch);
			c->scratch = msi_malloc(n * (2 * sizeof(int64_t) + 1) + sizeof(int64_t));
			c->scratch_cap = c->scratch ? n : 0;
			if (!c->scratch)
				goto done;
		}
		stack = c->scratch;
		color = (uint8_t *)(stack + 2 * n + 1);
		memset(color, 0, n);
		const int64_t *SI = t->split_index.v;
		const int64_t *ST = t->split_type.len == n ? t->split_type.v : NULL;
		const int64_t *DL = t->default_left.len == n ? t->default_left.v : NULL;
		const uint8_t *CF = t->cond_flags.len == n ? t->cond_flags.v : NULL;
		/* simple: no deleted node and every split names two distinct later
		 * nodes that name it as their parent. Then every node has at most one
		 * parent, edges only go forward, so from the root there is no cycle and
		 * no node is reached twice, and one forward pass finds what the walk
		 * below would reach. */
		for (size_t i = 0; i < n; i++) {
			int64_t l = L[i], r = R[i];
			int64_t si = SI[i];
			if (si == XGB_DELETED_SPLIT || si == (int64_t)0xFFFFFFFF) {
				deleted++;
				simple = false;
				continue;
			}
			if (ST && ST[i] != 0 && ST[i] != 1)
				tfind(&tf, "xgb.tree.split_type", (int64_t)i, "split_type %lld is neither 0 (numerical) nor 1 (categorical)",
				      (long long)ST[i]);
			if (DL && DL[i] != 0 && DL[i] != 1)
				tfind(&tf, "xgb.tree.default_left", (int64_t)i, "default_left %lld is not 0 or 1", (long long)DL[i]);
			bool cat = ST && ST[i] == 1;
			if (l == -1) {
				if (r != -1)
					tfind(&tf, "xgb.tree.child_out_of_range", (int64_t)i,
					      "a leaf (left child -1) has right child %lld", (long long)r);
				if (CF && CF[i])
					tfind(&tf, "xgb.tree.nonfinite", (int64_t)i, "the leaf value is not a finite number");
				continue;
			}
			bool l_ok = l >= 1 && (uint64_t)l < n, r_ok = r >= 1 && (uint64_t)r < n;
			if (l_ok && r_ok && l != r && P[l] == (int64_t)i && P[r] == (int64_t)i && l > (int64_t)i && r > (int64_t)i) {
				/* the common case: nothing to report about the children */
			} else {
				simple = false;
				if (l == 0 || r == 0) {
					/* the root is every node's ancestor: XGBoost loops forever */
					tfind(&tf, "xgb.tree.cycle", (int64_t)i, "%s child is the root: the tree has a cycle",
					      l == 0 ? "the left" : "the right");
					continue;
				}
				if (!l_ok)
					tfind(&tf, "xgb.tree.child_out_of_range", (int64_t)i, "left child %lld is outside [1, %zu)",
					      (long long)l, n);
				if (!r_ok)
					tfind(&tf, "xgb.tree.child_out_of_range", (int64_t)i, "right child %lld is outside [1, %zu)",
					      (long long)r, n);
				if (l_ok && r_ok && l == r)
					tfind(&tf, "xgb.tree.child_out_of_range", (int64_t)i, "both children are node %lld", (long long)l);
				if (l_ok && P[l] != (int64_t)i)
					tfind(&tf, "xgb.tree.parent_mismatch", l, "parent is %lld, but node %zu names it as its left child",
					      (long long)P[l], i);
				if (r_ok && P[r] != (int64_t)i)
					tfind(&tf, "xgb.tree.parent_mismatch", r, "parent is %lld, but node %zu names it as its right child",
					      (long long)P[r], i);
			}
			if (si < 0)
				tfind(&tf, "xgb.tree.split_index", (int64_t)i, "split index %lld is negative", (long long)si);
			else if (si > maxs) {
				maxs = si;
				maxs_node = (int64_t)i;
			}
			if (cat)
				categorical = true;
			else if (CF && CF[i])
				tfind(&tf, "xgb.tree.nonfinite", (int64_t)i, "the split condition is not a finite number");
		}
	}
	if (P[0] != XGB_ROOT_PARENT)
		tfind(&tf, "xgb.tree.parent_mismatch", 0, "the root's parent is %lld, not %d", (long long)P[0],
		      XGB_ROOT_PARENT);
	if (t->num_deleted >= 0 && (uint64_t)t->num_deleted != deleted)
		tfind(&tf, "xgb.tree.num_deleted", -1, "num_deleted is %lld but %zu nodes are deleted",
		      (long long)t->num_deleted, deleted);
	if (t->base_weights_nonfinite)
		tfind(&tf, "xgb.tree.nonfinite", -1, "%zu base weights are not finite numbers", t->base_weights_nonfinite);
	if (t->loss_nonfinite)
		tfind(&tf, "xgb.tree.loss_nonfinite", -1, "%zu loss changes are not finite numbers", t->loss_nonfinite);

	if (plain) {
		/* every node is reached (see tree_is_plain) */
	} else if (simple) {
		/* reachability in one forward pass (colour 2: reached) */
		color[0] = 2;
		for (size_t i = 0; i < n; i++)
			if (color[i] && L[i] != -1)
				color[L[i]] = color[R[i]] = 2;
	} else {
		/* depth-first walk from the root: colour 1 on the path, 2 done */
		size_t sp = 0;
		stack[sp++] = 0;
		while (sp) {
			int64_t x = stack[--sp];
			if (x < 0) {
				color[~x] = 2;
				continue;
			}
			color[x] = 1;
			stack[sp++] = ~x;
			int64_t kids[2] = { L[x], R[x] };
			if (kids[0] == -1)
				continue;
			for (int k = 0; k < 2; k++) {
				int64_t y = kids[k];
				if (y < 1 || (uint64_t)y >= n || (k == 1 && y == kids[0]))
					continue;
				if (color[y] == 1) {
					tfind(&tf, "xgb.tree.cycle", (int64_t)x, "child %lld is an ancestor: the tree has a cycle",
					      (long long)y);
				} else if (color[y] == 2 || color[y] == 3) {
					tfind(&tf, "xgb.tree.node_reused", y, "the node is reached twice from the root");
				} else if (sp + 2 <= 2 * n + 1) {
					color[y] = 3; /* queued */
					stack[sp++] = y;
				}
			}
		}
	}
	size_t unreachable = 0;
	int64_t first = -1;
	for (size_t i = 0; !plain && i < n; i++) {
		int64_t si = t->split_index.v[i];
		if (color[i] == 0 && si != XGB_DELETED_SPLIT && si != (int64_t)0xFFFFFFFF) {
			if (first < 0)
				first = (int64_t)i;
			unreachable++;
		}
	}
	if (unreachable)
		tfind(&tf, "xgb.tree.unreachable", first, "%zu nodes are not reachable from the root (first: node %lld)",
		      unreachable, (long long)first);
	if (lengths_ok)
		check_categories(&tf, t, n, !plain || cat_splits);
done:
	if (categorical)
		c->trees_categorical++;
	pushed = push_i64(&c->max_split, maxs) && push_i64(&c->max_split_node, maxs_node);
	if (!pushed)
		c->findings = XGB_MAX_FINDINGS; /* out of memory: stop adding */
}

static int64_t groups(const xgb_ctx *c)
{
	int64_t g = 1;
	if (c->num_class > g)
		g = c->num_class;
	if (c->num_target > g)
		g = c->num_target;
	return g;
}

static bool is_tree_booster(const char *b)
{
	return strcmp(b, "gbtree") == 0 || strcmp(b, "dart") == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void check_feature_types(xgb_ctx *c)
{
	if (c->n_feature_types <= 0 || !c->feature_types.data)
		return;
	msi_jval *v = NULL;
	msi_json_limits lim = { 4, (size_t)c->n_feature_types + 2 };
	if (msi_json_parse(c->feature_types.data, c->feature_types.len, &lim, &v) != MS_OK)
		return;
	static const char *const allowed[] = { "float", "int", "i", "q", "c" };
	for (size_t i = 0; i < v->count; i++) {
		const msi_jval *e = v->items[i];
		bool ok = false;
		for (size_t k = 0; e->kind == MSI_JSTRING && k < MSI_ARRAY_LEN(allowed); k++)
			ok = ok || strcmp(e->text, allowed[k]) == 0;
		if (!ok) {
			char where[64];
			snprintf(where, sizeof where, "learner.feature_types[%zu]", i);
			xgb_find(c, "xgb.features.type", where, "feature type '%.40s' is not float, int, i, q or c",
			         e->kind == MSI_JSTRING ? e->text : "(not a string)");
			break;
		}
	}
	msi_jval_free(v);
}

void xgb_check_model(xgb_ctx *c)
{
	if (!c->report)
		return;
	bool binary = c->encoding == XGB_BINARY;
	if (!binary) {
		if (!c->has_version)
			xgb_find(c, "xgb.missing_key", "", "the document has no \"version\"");
		if (!c->has_learner) {
			xgb_find(c, "xgb.missing_key", "", "the document has no \"learner\" object");
			return;
		}
		if (!c->has_gbm)
			xgb_find(c, "xgb.missing_key", "learner", "the learner has no \"gradient_booster\"");
		if (!c->has_objective)
			xgb_find(c, "xgb.missing_key", "learner", "the learner has no \"objective\" with a \"name\"");
		if (!c->has_lmp)
			xgb_find(c, "xgb.missing_key", "learner", "the learner has no \"learner_model_param\"");
	}
	if (c->has_lmp || binary) {
		if (c->num_feature < 0)
			xgb_find(c, "xgb.param.invalid", "learner.learner_model_param.num_feature",
			         "num_feature is missing or invalid");
		if (c->num_class < 0)
			xgb_find(c, "xgb.param.invalid", "learner.learner_model_param.num_class", "num_class is missing or invalid");
		if (c->num_target == 0)
			xgb_find(c, "xgb.param.invalid", "learner.learner_model_param.num_target", "num_target is 0");
	}
	if (c->has_booster && !is_tree_booster(c->booster) && strcmp(c->booster, "gblinear") != 0)
		xgb_find(c, "xgb.booster.unknown", "learner.gradient_booster.name",
		         "booster '%s' is not gbtree, dart or gblinear", c->booster);
	if (c->n_feature_names > 0 && c->num_feature >= 0 && c->n_feature_names != c->num_feature)
		xgb_find(c, "xgb.features.length", "learner.feature_names", "%lld feature names for %lld features",
		         (long long)c->n_feature_names, (long long)c->num_feature);
	if (c->n_feature_types > 0 && c->num_feature >= 0 && c->n_feature_types != c->num_feature)
		xgb_find(c, "xgb.features.length", "learner.feature_types", "%lld feature types for %lld features",
		         (long long)c->n_feature_types, (long long)c->num_feature);
	check_feature_types(c);
	if (c->has_objective && c->num_class >= 0) {
		if (starts_with(c->objective, "multi:") && c->num_class < 2)
			xgb_find(c, "xgb.objective.num_class", "learner.objective.name",
			         "objective %s needs num_class >= 2, the model has %lld", c->objective, (long long)c->num_class);
		if ((starts_with(c->objective, "binary:") || starts_with(c->objective, "reg:")) && c->num_class > 1)
			xgb_find(c, "xgb.objective.num_class", "learner.objective.name",
			         "objective %s with num_class %lld", c->objective, (long long)c->num_class);
	}

	bool trees = c->has_trees || (c->has_booster && is_tree_booster(c->booster));
	if (trees) {
		size_t nt = c->trees_seen;
		if (c->num_trees_param >= 0 && (uint64_t)c->num_trees_param != nt)
			xgb_find(c, "xgb.trees.count", "gbtree_model_param.num_trees",
			         "num_trees is %lld but the model holds %zu trees", (long long)c->num_trees_param, nt);
		if (c->num_parallel_tree == 0)
			xgb_find(c, "xgb.param.invalid", "gbtree_model_param.num_parallel_tree", "num_parallel_tree is 0");
		if (c->has_tree_info || nt) {
			if (c->tree_info.len != nt)
				xgb_find(c, "xgb.tree_info.length", "tree_info", "tree_info has %zu entries for %zu trees",
				         c->tree_info.len, nt);
			int64_t g = groups(c);
			for (size_t i = 0; i < c->tree_info.len; i++)
				if (c->tree_info.v[i] < 0 || c->tree_info.v[i] >= g) {
					char where[48];
					snprintf(where, sizeof where, "tree_info[%zu]", i);
					xgb_find(c, "xgb.tree_info.range", where, "output group %lld is outside [0, %lld)",
					         (long long)c->tree_info.v[i], (long long)g);
					break;
				}
		}
		if (c->has_indptr) {
			msi_i64vec *ip = &c->indptr;
			bool ok = ip->len >= 1 && ip->v[0] == 0 && (uint64_t)ip->v[ip->len - 1] == nt;
			for (size_t i = 1; ok && i < ip->len; i++)
				ok = ip->v[i] >= ip->v[i - 1];
			if (!ok)
				xgb_find(c, "xgb.trees.iteration_indptr", "iteration_indptr",
				         "iteration_indptr does not run from 0 to %zu without decreasing", nt);
		}
		if (c->weight_drop >= 0 && (uint64_t)c->weight_drop != nt)
			xgb_find(c, "xgb.trees.weight_drop", "weight_drop", "weight_drop has %lld entries for %zu trees",
			         (long long)c->weight_drop, nt);
		if (c->num_feature >= 0) {
			for (size_t i = 0; i < c->max_split.len; i++) {
				if (c->max_split.v[i] >= c->num_feature) {
					char where[64];
					snprintf(where, sizeof where, "tree %zu, node %lld", i, (long long)c->max_split_node.v[i]);
					xgb_find(c, "xgb.tree.split_index", where, "split feature %lld >= num_feature %lld",
					         (long long)c->max_split.v[i], (long long)c->num_feature);
				}
			}
		}
	}
	if (c->weights >= 0 || (c->has_booster && strcmp(c->booster, "gblinear") == 0)) {
		int64_t g = groups(c);
		uint64_t want;
		if (c->num_feature >= 0 && msi_mul_u64((uint64_t)c->num_feature + 1, (uint64_t)g, &want) &&
		    (c->weights < 0 || (uint64_t)c->weights != want))
			xgb_find(c, "xgb.gblinear.weights", "gradient_booster.model.weights",
			         "%lld weights, expected (num_feature + 1) x groups = %llu", (long long)c->weights,
			         (unsigned long long)want);
		if (c->weights_nonfinite)
			xgb_find(c, "xgb.gblinear.nonfinite", "gradient_booster.model.weights",
			         "%zu weights are not finite numbers", c->weights_nonfinite);
	}
}

void xgb_write_facts(xgb_ctx *c, msi_json *j)
{
	static const char *const enc[] = { NULL, "json", "ubjson", "binary" };
	msi_json_key(j, "encoding");
	msi_json_string(j, enc[c->encoding]);
	if (c->nversion > 0) {
		msi_json_key(j, "version");
		msi_json_array_begin(j);
		for (int i = 0; i < c->nversion; i++)
			msi_json_int(j, c->version[i]);
		msi_json_array_end(j);
	}
#define INT_OR_NULL(key, v)              \
	do {                             \
		msi_json_key(j, key);    \
		if ((v) >= 0)            \
			msi_json_int(j, v); \
		else                     \
			msi_json_null(j); \
	} while (0)
	INT_OR_NULL("num_feature", c->num_feature);
	INT_OR_NULL("num_class", c->num_class);
	INT_OR_NULL("num_target", c->num_target >= 0 ? c->num_target : (c->has_lmp || c->encoding == XGB_BINARY ? 1 : -1));
	msi_json_key(j, "objective");
	msi_json_string(j, c->has_objective ? c->objective : NULL);
	msi_json_key(j, "booster");
	msi_json_string(j, c->has_booster ? c->booster : NULL);
	bool linear = c->has_booster && strcmp(c->booster, "gblinear") == 0;
	size_t nt = c->trees_seen;
	msi_json_key(j, "num_trees");
	msi_json_uint(j, nt);
	int64_t rounds = -1, npt = c->num_parallel_tree;
	if (linear) {
		npt = -1;
		rounds = c->boosted_rounds >= 0 ? c->boosted_rounds : 0;
	} else if (c->has_booster || c->has_trees) {
		if (npt < 0)
			npt = 1;
		if (c->has_indptr && c->indptr.len >= 1)
			rounds = (int64_t)c->indptr.len - 1;
		else if (npt > 0)
			rounds = (int64_t)nt / (npt * groups(c));
	}
	INT_OR_NULL("num_boosted_rounds", rounds);
	INT_OR_NULL("num_parallel_tree", npt);
#undef INT_OR_NULL
	msi_json_key(j, "base_score");
	if (c->has_base_score)
		msi_json_double(j, c->base_score);
	else
		msi_json_null(j);
	msi_json_key(j, "feature_names");
	if (c->n_feature_names > 0 && !c->feature_names.failed)
		msi_json_raw(j, c->feature_names.data, c->feature_names.len);
	else
		msi_json_null(j);
	msi_json_key(j, "feature_types");
	if (c->n_feature_types > 0 && !c->feature_types.failed)
		msi_json_raw(j, c->feature_types.data, c->feature_types.len);
	else
		msi_json_null(j);
	msi_json_key(j, "attributes");
	if (c->attributes.len && !c->attributes.failed)
		msi_json_raw(j, c->attributes.data, c->attributes.len);
	else
		msi_json_null(j);
	if (c->scikit_learn) {
		msi_jval *v = NULL;
		msi_json_limits lim = { 32, 100000 };
		if (msi_json_parse(c->scikit_learn, c->scikit_len, &lim, &v) == MS_OK) {
			msi_json_key(j, "scikit_learn");
			msi_jval_write(j, v);
		}
		msi_jval_free(v);
	}
}
