/*
 * LightGBM text model internals: the line reader and header (lgbm_read.c),
 * tree blocks and their checks (lgbm_tree.c), the format table
 * (lightgbm.c). One streaming pass over the lines fills an lgbm_ctx: facts
 * for inspect, findings for validate (report NULL when only inspecting).
 */
#ifndef MSI_FORMATS_LGBM_H
#define MSI_FORMATS_LGBM_H

#include "../../core/pull.h"
#include "../../core/report.h"
#include "../format.h"

#define LGBM_MAX_FINDINGS_PER_TREE 16
#define LGBM_MAX_FINDINGS 2000

enum { LGBM_INFO_NONE, LGBM_INFO_NUMERIC, LGBM_INFO_CATEGORICAL, LGBM_INFO_BAD };

typedef struct lgbm_tree {
	int64_t num_leaves, num_cat, is_linear; /* -1 absent */
	bool has_split_feature, has_threshold, has_left, has_right, has_leaf_value, has_cat_boundaries,
	    has_cat_threshold, has_decision_type, has_leaf_const, has_num_features, has_leaf_features,
	    has_leaf_coeff, has_shrinkage;
	msi_i64vec split_feature, decision_type, left, right, leaf_count, internal_count, cat_boundaries,
	    num_features, leaf_features, threshold_int, cat_threshold;
	size_t n_threshold, n_split_gain, n_leaf_value, n_leaf_weight, n_internal_value, n_internal_weight,
	    n_cat_threshold, n_leaf_const, n_leaf_coeff;
	bool has_split_gain, has_leaf_weight, has_leaf_count, has_internal_value, has_internal_weight,
	    has_internal_count;
	size_t leaf_value_nonfinite;
	bool shrinkage_nonfinite;
	size_t bad_values;
	char bad_key[32];
	unsigned keys; /* key lines seen */
} lgbm_tree;

typedef struct lgbm_ctx {
	const msi_view *v;
	ms_report *report; /* NULL: inspect only */
	size_t findings;

	/* header */
	bool first_line;
	char version[16];
	bool has_version;
	int64_t num_class, num_tree_per_iteration, label_index, max_feature_idx; /* -1 absent */
	bool has_num_class, has_ntpi, has_label_index, has_max_feature_idx;
	char objective[256];
	bool has_objective, average_output;
	msi_buf feature_names;  /* JSON array */
	int64_t n_feature_names; /* -1 absent */
	msi_buf feature_infos;  /* JSON array of strings */
	int64_t n_feature_infos;
	uint8_t *info_kind;     /* per feature: LGBM_INFO_* */
	size_t n_info_kind;
	int64_t n_monotone;     /* -1 absent */
	msi_i64vec tree_sizes;
	bool has_tree_sizes;
	uint64_t tree_sizes_sum;   /* of tree_sizes.v[0..tree_sizes_summed) */
	size_t tree_sizes_summed;
	bool crlf;

	/* trees */
	size_t num_trees, linear_trees, categorical_trees;
	uint64_t first_tree_off; /* offset of the Tree=0 line */
	uint64_t end_of_trees_off;
	bool end_of_trees;
	lgbm_tree tree;
	bool in_tree;
	int64_t tree_number;

	/* trailer */
	bool has_parameters, parameters_closed, parser_open, has_importances;
	msi_buf parameters;     /* JSON object text of [key: value] lines */
	size_t n_parameters;
	char boosting[32];
	bool has_boosting;
	char *pandas;           /* the pandas_categorical JSON text */
	size_t pandas_len;
	bool has_pandas;

	bool truncated;
} lgbm_ctx;

void lgbm_find(lgbm_ctx *c, const char *code, const char *where, const char *fmt, ...) MSI_PRINTF(4, 5);

/* lgbm_tree.c */
void lgbm_tree_reset(lgbm_tree *t);
void lgbm_tree_free(lgbm_tree *t);
/* One "key=value" line of a tree body. */
int lgbm_tree_line(lgbm_ctx *c, const char *s, size_t n);
/* Checks the finished tree number `index`. */
void lgbm_check_tree(lgbm_ctx *c, size_t index);

/* Number helpers (lgbm_tree.c). */
bool lgbm_parse_int(const char *s, size_t n, int64_t *out);
bool lgbm_parse_double(const char *s, size_t n, double *out);

/* lgbm_read.c: the whole pass. MS_OK, MS_EFORMAT (not a LightGBM model,
 * or truncated: facts are partial), or MS_ENOMEM/MS_EIO/MS_ECHANGED/MS_ELIMIT. */
int lgbm_read(lgbm_ctx *c, msi_progress *progress);
void lgbm_ctx_init(lgbm_ctx *c, const msi_view *v, ms_report *report);
void lgbm_ctx_free(lgbm_ctx *c);
void lgbm_write_facts(lgbm_ctx *c, msi_json *j);

#endif
