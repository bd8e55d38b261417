/*
 * CatBoost tree checks (FORMATS.md §1.3, invariants 4-8 and 10) over the
 * verified TModelTrees vectors, read in place. Each kind of violation is
 * reported once, at its first occurrence, with the number of occurrences.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cbm.h"

/* First occurrence of one kind of violation, and how many there were. */
typedef struct first_bad {
	uint64_t count;
	char where[64];
	char message[200];
} first_bad;

MSI_PRINTF(3, 4)
static void note(first_bad *b, const char *where, const char *fmt, ...)
{
	if (b->count++ == 0) {
		snprintf(b->where, sizeof b->where, "%s", where);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(b->message, sizeof b->message, fmt, ap);
		va_end(ap);
	}
}

static void flush(cbm_sink *s, const char *code, const first_bad *b)
{
	if (!b->count)
		return;
	if (b->count == 1)
		cbm_add(s, code, b->where, "%s", b->message);
	else
		cbm_add(s, code, b->where, "%s (%llu occurrences; the first is shown)", b->message,
		        (unsigned long long)b->count);
}

static const char *tree_where(char *buf, size_t n, uint64_t t)
{
	snprintf(buf, n, "tree %llu", (unsigned long long)t);
	return buf;
}

/* The tree holding node/split k (trees are scanned in order). */
static uint64_t tree_of(const cbm_trees *t, uint32_t k)
{
	for (uint32_t i = 0; i < t->sizes.count; i++) {
		uint32_t s = msi_fb_vec_u32(t->fb, &t->starts, i), n = msi_fb_vec_u32(t->fb, &t->sizes, i);
		if (k >= s && k - s < n)
			return i;
	}
	return t->sizes.count;
}

static bool check_offsets(const cbm_trees *t, cbm_sink *sink)
{
	char w[32];
	uint32_t n = t->sizes.count;
	if (t->starts.count != n) {
		cbm_add(sink, "cbm.trees.offsets", "ModelTrees",
		        "TreeSizes has %u entries but TreeStartOffsets has %u", n, t->starts.count);
		return false;
	}
	if (n == 0) {
		if (t->splits.count) {
			cbm_add(sink, "cbm.trees.offsets", "ModelTrees", "there are no trees but TreeSplits has %u entries",
			        t->splits.count);
			return false;
		}
		return true;
	}
	first_bad bad = { 0 };
	int64_t prev = 0;
	uint64_t end = 0;
	for (uint32_t i = 0; i < n; i++) {
		int64_t s = msi_fb_vec_i32(t->fb, &t->starts, i), z = msi_fb_vec_i32(t->fb, &t->sizes, i);
		tree_where(w, sizeof w, i);
		if (s < 0 || z < 0)
			note(&bad, w, "negative start offset %lld or size %lld", (long long)s, (long long)z);
		else if (i == 0 && s != 0)
			note(&bad, w, "the first tree starts at split %lld, not 0", (long long)s);
		else if (s < prev)
			note(&bad, w, "start offset %lld is below the previous tree's %lld", (long long)s, (long long)prev);
		else if ((uint64_t)s + (uint64_t)z > t->splits.count)
			note(&bad, w, "splits [%lld, %lld) run past TreeSplits (%u entries)", (long long)s,
			     (long long)(s + z), t->splits.count);
		else
			end = (uint64_t)s + (uint64_t)z;
		if (s >= 0)
			prev = s;
	}
	if (!bad.count && end != t->splits.count) {
		tree_where(w, sizeof w, n - 1);
		note(&bad, w, "the last tree ends at split %llu but TreeSplits has %u entries", (unsigned long long)end,
		     t->splits.count);
	}
	flush(sink, "cbm.trees.offsets", &bad);
	return bad.count == 0;
}

static void check_split_range(const cbm_trees *t, cbm_sink *sink, uint32_t k, first_bad *bad)
{
	int32_t v = msi_fb_vec_i32(t->fb, &t->splits, k);
	if (v < 0 || (uint64_t)v >= t->bin_count) {
		char w[32];
		if (bad->count) { /* only the first one is described: tree_of() is a scan */
			bad->count++;
			return;
		}
		note(bad, tree_where(w, sizeof w, tree_of(t, k)),
		     "split %u uses index %d but the model has %llu binary features (float borders, one-hot values, CTR "
		     "borders)",
		     k, v, (unsigned long long)t->bin_count);
	}
	MSI_UNUSED(sink);
}

static void check_symmetric(const cbm_trees *t, cbm_sink *sink, cbm_tree_stats *st)
{
	char w[32];
	first_bad depth_bad = { 0 }, split_bad = { 0 };
	uint64_t leaves = 0;
	uint32_t dmin = UINT32_MAX, dmax = 0;
	bool depths_ok = true;
	for (uint32_t i = 0; i < t->sizes.count; i++) {
		int32_t d = msi_fb_vec_i32(t->fb, &t->sizes, i);
		if (d < 0 || d > CBM_MAX_SYMMETRIC_DEPTH) {
			note(&depth_bad, tree_where(w, sizeof w, i), "depth %d is outside 0..%d", d, CBM_MAX_SYMMETRIC_DEPTH);
			depths_ok = false;
			continue;
		}
		leaves += (uint64_t)1 << d; /* <= 2^31 trees x 2^16: no overflow */
		dmin = MSI_MIN(dmin, (uint32_t)d);
		dmax = MSI_MAX(dmax, (uint32_t)d);
	}
	flush(sink, "cbm.trees.depth", &depth_bad);
	if (t->sizes.count && depths_ok) {
		st->depth_known = true;
		st->depth_min = dmin;
		st->depth_max = dmax;
	}
	for (uint32_t k = 0; k < t->splits.count; k++)
		check_split_range(t, sink, k, &split_bad);
	flush(sink, "cbm.split.out_of_range", &split_bad);
	if (!depths_ok || t->dim < 1)
		return;
	uint64_t want;
	if (!msi_mul_u64(leaves, (uint64_t)t->dim, &want)) {
		cbm_add(sink, "cbm.leaf_values.count", "ModelTrees.LeafValues",
		        "the trees need %llu x %d leaf values, more than can be counted", (unsigned long long)leaves, t->dim);
		return;
	}
	st->expected_leaf_values = want;
	if (t->leaf_values.count != want)
		cbm_add(sink, "cbm.leaf_values.count", "ModelTrees.LeafValues",
		        "%u leaf values, but %u symmetric trees of the stored depths with dimension %d need %llu "
		        "(sum of 2^depth x dimension)",
		        t->leaf_values.count, t->sizes.count, t->dim, (unsigned long long)want);
	if (t->leaf_weights.count && t->leaf_weights.count != leaves)
		cbm_add(sink, "cbm.leaf_weights.count", "ModelTrees.LeafWeights",
		        "%u leaf weights, but the trees have %llu leaves", t->leaf_weights.count,
		        (unsigned long long)leaves);
}

static int check_non_symmetric(const cbm_trees *t, cbm_sink *sink, cbm_tree_stats *st)
{
	char w[32];
	if (t->step_nodes.count != t->splits.count || t->node_to_leaf.count != t->splits.count) {
		cbm_add(sink, "cbm.nonsym.invalid", "ModelTrees",
		        "NonSymmetricStepNodes (%u) and NonSymmetricNodeIdToLeafId (%u) must both have one entry per "
		        "TreeSplits entry (%u)",
		        t->step_nodes.count, t->node_to_leaf.count, t->splits.count);
		return MS_OK;
	}
	uint32_t largest = 0;
	for (uint32_t i = 0; i < t->sizes.count; i++)
		largest = MSI_MAX(largest, msi_fb_vec_u32(t->fb, &t->sizes, i));
	uint32_t *depth = msi_calloc(largest ? largest : 1, sizeof *depth);
	if (!depth)
		return msi_error(MS_ENOMEM, "out of memory checking %u tree nodes", largest);
	first_bad range_bad = { 0 }, leaf_bad = { 0 }, split_bad = { 0 }, empty_bad = { 0 };
	uint64_t value_nodes = 0;
	uint32_t dmin = UINT32_MAX, dmax = 0;
	uint32_t dim = t->dim >= 1 ? (uint32_t)t->dim : 1;
	for (uint32_t ti = 0; ti < t->sizes.count; ti++) {
		uint32_t s = msi_fb_vec_u32(t->fb, &t->starts, ti), n = msi_fb_vec_u32(t->fb, &t->sizes, ti);
		uint32_t e = s + n; /* checked: <= splits.count */
		tree_where(w, sizeof w, ti);
		if (n == 0) {
			note(&empty_bad, w, "a non-symmetric tree has no nodes");
			continue;
		}
		memset(depth, 0, (size_t)n * sizeof *depth);
		uint64_t values = 0, lo = UINT64_MAX, hi = 0;
		uint32_t tdepth = 0;
		for (uint32_t i = s; i < e; i++) {
			const uint8_t *node = msi_fb_vec_at(t->fb, &t->step_nodes, i);
			uint32_t l = msi_le16(node), r = msi_le16(node + 2);
			uint32_t d = depth[i - s];
			bool child_bad = false;
			if (l && (uint64_t)i + l >= e) {
				note(&range_bad, w, "node %u's left child (+%u) lies outside the tree's nodes [%u, %u)", i, l, s, e);
				child_bad = true;
			}
			if (r && (uint64_t)i + r >= e) {
				note(&range_bad, w, "node %u's right child (+%u) lies outside the tree's nodes [%u, %u)", i, r, s,
				     e);
				child_bad = true;
			}
			if (!child_bad) {
				if (l)
					depth[i + l - s] = MSI_MAX(depth[i + l - s], d + 1);
				if (r)
					depth[i + r - s] = MSI_MAX(depth[i + r - s], d + 1);
			}
			if (l && r) {
				check_split_range(t, sink, i, &split_bad);
				continue;
			}
			/* a value node: a leaf, or a split with one side ending here */
			if (l || r)
				check_split_range(t, sink, i, &split_bad);
			tdepth = MSI_MAX(tdepth, (l || r) ? d + 1 : d);
			uint32_t leaf = msi_fb_vec_u32(t->fb, &t->node_to_leaf, i);
			if (leaf == 0xFFFFFFFFu || leaf % dim != 0 || (uint64_t)leaf + dim > t->leaf_values.count) {
				note(&leaf_bad, w, "value node %u has leaf id %u (must be a multiple of %u below %u leaf values)", i,
				     leaf, dim, t->leaf_values.count);
				continue;
			}
			values++;
			lo = MSI_MIN(lo, leaf);
			hi = MSI_MAX(hi, leaf);
		}
		if (values && hi - lo != (values - 1) * dim)
			note(&leaf_bad, w, "the tree's %llu value nodes use leaf ids %llu..%llu, not one contiguous block",
			     (unsigned long long)values, (unsigned long long)lo, (unsigned long long)hi);
		value_nodes += values;
		dmin = MSI_MIN(dmin, tdepth);
		dmax = MSI_MAX(dmax, tdepth);
	}
	msi_free(depth);
	flush(sink, "cbm.nonsym.node_range", &range_bad);
	flush(sink, "cbm.nonsym.leaf_id", &leaf_bad);
	flush(sink, "cbm.nonsym.invalid", &empty_bad);
	flush(sink, "cbm.split.out_of_range", &split_bad);
	if (t->sizes.count && !range_bad.count) {
		st->depth_known = true;
		st->depth_min = dmin;
		st->depth_max = dmax;
	}
	if (t->dim < 1 || range_bad.count || leaf_bad.count)
		return MS_OK;
	st->expected_leaf_values = value_nodes * dim;
	if (t->leaf_values.count != value_nodes * dim)
		cbm_add(sink, "cbm.leaf_values.count", "ModelTrees.LeafValues",
		        "%u leaf values, but the non-symmetric trees have %llu value nodes with dimension %u (%llu values)",
		        t->leaf_values.count, (unsigned long long)value_nodes, dim,
		        (unsigned long long)(value_nodes * dim));
	if (t->leaf_weights.count && t->leaf_weights.count != value_nodes)
		cbm_add(sink, "cbm.leaf_weights.count", "ModelTrees.LeafWeights",
		        "%u leaf weights, but the trees have %llu value nodes", t->leaf_weights.count,
		        (unsigned long long)value_nodes);
	return MS_OK;
}

int cbm_check_trees(const cbm_trees *t, cbm_sink *sink, cbm_tree_stats *st)
{
	memset(st, 0, sizeof *st);
	st->symmetric = t->step_nodes.count == 0 && t->node_to_leaf.count == 0;
	if (t->dim < 1)
		cbm_add(sink, "cbm.trees.dimension", "ModelTrees.ApproxDimension",
		        "ApproxDimension is %d; it must be at least 1", t->dim);
	if (!isfinite(t->scale) || !isfinite(t->bias))
		cbm_add(sink, "cbm.bias.invalid", "ModelTrees", "Scale (%g) and Bias (%g) must be finite", t->scale,
		        t->bias);
	uint32_t mb = t->multi_bias.count;
	if (mb > 1 && (t->dim < 1 || mb != (uint32_t)t->dim))
		cbm_add(sink, "cbm.bias.invalid", "ModelTrees.MultiBias",
		        "MultiBias has %u entries; it must have 0, 1 or ApproxDimension (%d)", mb, t->dim);
	for (uint32_t i = 0; i < mb; i++) {
		double b = msi_fb_vec_f64(t->fb, &t->multi_bias, i);
		if (!isfinite(b)) {
			cbm_add(sink, "cbm.bias.invalid", "ModelTrees.MultiBias", "MultiBias[%u] is not finite (%g)", i, b);
			break;
		}
	}
	if (t->repacked.count && t->repacked.count != t->splits.count)
		cbm_add(sink, "cbm.repacked_bins.count", "ModelTrees.RepackedBins",
		        "RepackedBins has %u entries but TreeSplits has %u", t->repacked.count, t->splits.count);
	if (!check_offsets(t, sink))
		return MS_OK;
	if (st->symmetric) {
		check_symmetric(t, sink, st);
		return MS_OK;
	}
	return check_non_symmetric(t, sink, st);
}
