/*
 * CatBoost binary model internals shared by cbm.c (loading, facts, parts)
 * and cbm_trees.c (tree checks). FORMATS.md §1.
 */
#ifndef MSI_FORMATS_CATBOOST_CBM_H
#define MSI_FORMATS_CATBOOST_CBM_H

#include "../../core/report.h"
#include "flatbuf.h"

/* TModelTrees field slots (§1.2). */
enum {
	CBM_T_APPROX_DIMENSION = 0,
	CBM_T_TREE_SPLITS = 1,
	CBM_T_TREE_SIZES = 2,
	CBM_T_TREE_START_OFFSETS = 3,
	CBM_T_CAT_FEATURES = 4,
	CBM_T_FLOAT_FEATURES = 5,
	CBM_T_ONE_HOT_FEATURES = 6,
	CBM_T_CTR_FEATURES = 7,
	CBM_T_LEAF_VALUES = 8,
	CBM_T_LEAF_WEIGHTS = 9,
	CBM_T_STEP_NODES = 10,
	CBM_T_NODE_TO_LEAF = 11,
	CBM_T_TEXT_FEATURES = 12,
	CBM_T_ESTIMATED_FEATURES = 13,
	CBM_T_SCALE = 14,
	CBM_T_BIAS = 15,
	CBM_T_MULTI_BIAS = 16,
	CBM_T_REPACKED_BINS = 17,
	CBM_T_EMBEDDING_FEATURES = 18,
};

#define CBM_MAX_SYMMETRIC_DEPTH 16

/* What the tree checks compute. */
typedef struct cbm_tree_stats {
	bool symmetric;
	bool depth_known;   /* min/max valid (at least one tree, structure sound) */
	uint32_t depth_min, depth_max;
	uint64_t expected_leaf_values; /* symmetric: sum 2^depth * dim; else value nodes * dim */
} cbm_tree_stats;

/* The verified arrays of TModelTrees (absent vectors have count 0). */
typedef struct cbm_trees {
	const msi_fb *fb;
	int32_t dim;
	msi_fb_vec splits, sizes, starts, leaf_values, leaf_weights, step_nodes, node_to_leaf, multi_bias,
		repacked;
	double scale, bias;
	uint64_t bin_count; /* split list length (§1.3) */
} cbm_trees;

/* Adds a finding (to `r` when not NULL); returns false so callers can
 * `return cbm_finding(...)`. */
typedef struct cbm_sink {
	ms_report *report; /* NULL: inspect, findings are only counted */
	size_t errors;
} cbm_sink;
void cbm_add(cbm_sink *s, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);

/* Invariants 4-8 and 10 over the tree arrays (cbm_trees.c). Never reads
 * outside the verified vectors. Returns MS_OK or MS_ENOMEM. */
int cbm_check_trees(const cbm_trees *t, cbm_sink *sink, cbm_tree_stats *stats);

#endif
